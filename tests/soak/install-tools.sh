#!/usr/bin/env bash
# Install the Debian packages only `make soak` needs (slowhttptest, for the
# slowloris and slow-body attacks), on top of tools/install-tools.sh.
#
# Idempotent in the same way: dpkg is asked which packages are missing and
# only those are installed, so a machine that has them stays silent and
# touches no network. `make test` never runs this.
set -euo pipefail

# One package per word; extend here.
KEEL_SOAK_PACKAGES="slowhttptest"

missing=()
for pkg in $KEEL_SOAK_PACKAGES; do
	# db:Status-Status is exactly "installed" only for a fully configured
	# package; half-installed or config-files states count as missing.
	status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
	[[ $status == installed ]] || missing+=("$pkg")
done

((${#missing[@]} == 0)) && exit 0

if ((EUID != 0)); then
	echo "keel: soak tools: missing ${missing[*]}; run tests/soak/install-tools.sh as root" >&2
	exit 1
fi

echo "keel: soak tools: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists only now that an install needs them.
if ! apt-get update -q >/dev/null; then
	echo "keel: soak tools: apt-get update failed" >&2
	exit 1
fi
if ! apt-get install -y -q --no-install-recommends "${missing[@]}"; then
	echo "keel: soak tools: apt-get install failed for: ${missing[*]}" >&2
	exit 1
fi
