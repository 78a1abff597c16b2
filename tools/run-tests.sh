#!/usr/bin/env bash
# `make test`: host unit tests, fuzz targets, QEMU integration tests. Every
# test case prints one "PASS ..." or "FAIL ..." line; this script counts
# them and prints "N passed, N failed" last. A step that fails without
# printing a FAIL line of its own (a build error, a crashed harness) is
# counted as one failure, so nothing fails silently.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
log=build/test/results.log
mkdir -p build/test
: >"$log"

step() {
	local name=$1
	shift
	local before rc
	before=$(grep -c '^FAIL ' "$log")
	"$@" 2>&1 | tee -a "$log"
	rc=${PIPESTATUS[0]}
	if ((rc != 0)) && (($(grep -c '^FAIL ' "$log") == before)); then
		echo "FAIL $name: exited with status $rc" | tee -a "$log"
	fi
}

step host-build make --no-print-directory -j"$(nproc)" host-build
step host-tests make --no-print-directory host-tests
step host-fuzz make --no-print-directory host-fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-10}"
step qemu python3 tests/qemu/run.py
# The benchmark rig's smoke run: Keel (and the nginx peer if `make bench`
# built it already), 2-second loads, no timing asserted.
step bench python3 tests/bench/bench.py --smoke

passed=$(grep -c '^PASS ' "$log")
failed=$(grep -c '^FAIL ' "$log")
if ((failed)); then
	echo
	echo "failures:"
	grep '^FAIL ' "$log"
fi
echo "$passed passed, $failed failed"
((failed == 0))
