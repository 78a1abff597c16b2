#!/usr/bin/env bash
# usage: [SITE=dir] [CERT=file KEY=file] [TLS_DIR=dir] [CMDLINE='k=v ...'] \
#        images/mkbundle.sh OUT.cpio
#
# A boot bundle (kernel/bundle.h): a cpio archive in the newc format that
# Keel reads at boot, passed as the initrd (qemu -kernel keel.elf -initrd
# OUT.cpio) or as a GRUB module2. `make bundle` calls this.
#
#   SITE     a directory: its tree becomes site/, replacing the embedded site
#   CERT KEY PEM certificate chain and private key: tls/default.crt, .key
#   TLS_DIR  every NAME.crt with its NAME.key (NAME: the host name it
#            serves, for SNI): tls/NAME.crt, tls/NAME.key
#   CMDLINE  options, as on the kernel command line: the file cmdline (the
#            loader's command line is applied after it and wins)
#
# The bundle holds private keys: it is written readable by its owner only
# (umask 077). Names are sorted; the files keep their modification times
# unless SOURCE_DATE_EPOCH is set (then every time is that, for
# reproducible bundles).
set -euo pipefail
umask 077

die() { echo "keel: bundle: $*" >&2; exit 1; }

(($# == 1)) || die "usage: [SITE=dir] [CERT=f KEY=f] [TLS_DIR=dir] [CMDLINE='...'] $0 OUT.cpio"
out=$1
command -v cpio >/dev/null || die "cpio is not installed (tools/install-tools.sh installs it)"
[[ -n ${SITE:-}${CERT:-}${KEY:-}${TLS_DIR:-}${CMDLINE:-} ]] ||
	die "nothing to bundle: give SITE, CERT and KEY, TLS_DIR or CMDLINE"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# A certificate and its key, checked to be PEM of the right kind so that
# swapped or empty files fail here rather than at boot.
add_pair() { # CERT KEY NAME
	[[ -f $1 ]] || die "certificate $1 not found"
	[[ -f $2 ]] || die "key $2 not found (every certificate needs its key)"
	grep -q -- '-----BEGIN CERTIFICATE-----' "$1" || die "$1 is not a PEM certificate"
	grep -q -E -- '-----BEGIN ([A-Z]+ )?PRIVATE KEY-----' "$2" || die "$2 is not a PEM private key"
	[[ -e $stage/tls/$3.crt ]] && die "tls/$3.crt given twice"
	mkdir -p "$stage/tls"
	cp "$1" "$stage/tls/$3.crt"
	cp "$2" "$stage/tls/$3.key"
}

if [[ -n ${CERT:-}${KEY:-} ]]; then
	[[ -n ${CERT:-} && -n ${KEY:-} ]] || die "CERT and KEY go together"
	add_pair "$CERT" "$KEY" default
fi

if [[ -n ${TLS_DIR:-} ]]; then
	[[ -d $TLS_DIR ]] || die "TLS_DIR $TLS_DIR is not a directory"
	shopt -s nullglob
	for key in "$TLS_DIR"/*.key; do
		[[ -f ${key%.key}.crt ]] || die "$key has no certificate ${key%.key}.crt"
	done
	for crt in "$TLS_DIR"/*.crt; do
		add_pair "$crt" "${crt%.crt}.key" "$(basename "${crt%.crt}")"
	done
	shopt -u nullglob
fi

if [[ -n ${SITE:-} ]]; then
	[[ -d $SITE ]] || die "SITE $SITE is not a directory"
	# The kernel's rule for site names, as tools/embed-site.py's.
	bad=$(cd "$SITE" && find . -type f | LC_ALL=C grep -v '^\./[A-Za-z0-9._~/-]*$' || true)
	[[ -z $bad ]] || die "only letters, digits and ._~/- in site file names: ${bad//$'\n'/ }"
	[[ -n $(find "$SITE" -type f) ]] || die "SITE $SITE has no files"
	mkdir -p "$stage/site"
	cp -R "$SITE/." "$stage/site/"
fi

if [[ -n ${CMDLINE:-} ]]; then
	printf '%s\n' "$CMDLINE" >"$stage/cmdline"
fi

if [[ -n ${SOURCE_DATE_EPOCH:-} ]]; then
	find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
fi

mkdir -p "$(dirname "$out")"
tmp=$out.tmp.$$
# Sorted names without "./"; owner and inode numbers fixed (they mean
# nothing to Keel), so the same inputs give the same bytes.
(cd "$stage" && find . -mindepth 1 | sed 's|^\./||' | LC_ALL=C sort |
	cpio -o -H newc --quiet --reproducible -R 0:0) >"$tmp" || { rm -f "$tmp"; die "cpio failed"; }
mv "$tmp" "$out"
files=$(find "$stage" -type f | wc -l)
echo "keel: bundle: $out ($files files, $(du -k "$out" | cut -f1) KiB)"
