#!/usr/bin/env bash
# usage: tools/build-picolibc.sh
#
# Build picolibc (unpacked by tools/fetch-deps.sh into build/deps/picolibc)
# for the kernel's code model and install it so that
#   build/deps/picolibc/include   and   build/deps/picolibc/lib/libc.a
# exist. The install shares the directory with the source: picolibc's source
# tree has no top-level include/ or lib/, and re-fetching a new version wipes
# both together, which also forces a rebuild.
#
# Idempotent: the stamp records the source stamp, cross file and options; a
# run with all three unchanged and the outputs present does nothing.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
src=$root/build/deps/picolibc
builddir=$root/build/deps/picolibc-build
cross=$root/build/picolibc-cross.ini
stamp=$src/.keel-built
log=$builddir/keel-build.log

die() {
	echo "keel: deps: $*" >&2
	exit 1
}

# Serialise with any other fetch-deps/build-picolibc run in this tree
# (parallel make, two people building at once): they share build/apt and
# build/deps, and the second run must see the first one's stamps.
mkdir -p "$root/build"
exec 9>"$root/build/.deps.flock"
flock 9

[[ -f $src/.keel-fetched ]] || die "picolibc source missing in $src; run tools/fetch-deps.sh first"

# Same code-generation flags as the kernel (KERNEL_CFLAGS in the Makefile):
# -mcmodel=kernel and no red zone so libc code can be linked into, and called
# from, kernel context; -ffunction/-fdata-sections so --gc-sections keeps
# only what Keel uses.
cross_file="[binaries]
c = 'gcc'
ar = 'ar'
strip = 'strip'

[host_machine]
system = 'none'
cpu_family = 'x86_64'
cpu = 'x86_64'
endian = 'little'

[built-in options]
c_args = ['-m64', '-march=x86-64', '-mno-red-zone', '-mcmodel=kernel', '-fno-pic', '-fno-pie', '-fno-stack-protector', '-ffreestanding', '-O2', '-g', '-ffunction-sections', '-fdata-sections']

[properties]
# Nothing built for this target can run on the build machine.
needs_exe_wrapper = true
skip_sanity_check = true
"

options=(
	# plain: no buildtype flags of meson's own, so c_args above decide
	# optimisation; picolibc's default (minsize) would also select its
	# size-over-speed code paths (__PREFER_SIZE_OVER_SPEED).
	--buildtype=plain
	--prefix="$src"
	--libdir=lib
	--includedir=include
	# By default picolibc installs picolibc.specs into the host gcc's own
	# directory (outside the tree); Keel links without specs.
	-Dspecsdir=none
	-Dmultilib=false
	-Dpicocrt=false
	-Dsemihost=false
	-Dtests=false
	-Dtinystdio=true
	-Dthread-local-storage=false
	-Dsingle-thread=true
	-Dposix-console=false
	-Dio-long-long=true
	-Dformat-default=double
	-Derrno-function=false
	-Dnewlib-global-errno=true
)

want_stamp="$(<"$src/.keel-fetched")
$cross_file
${options[*]}"

if [[ -f $stamp && $(<"$stamp") == "$want_stamp" && -f $src/lib/libc.a && -d $src/include ]]; then
	exit 0
fi

rm -rf -- "$builddir" "${src:?}/include" "${src:?}/lib" "$stamp"
mkdir -p "$builddir"
printf '%s' "$cross_file" >"$cross"

# Quiet on success; on failure show the end of the log, which holds the
# meson/ninja/compiler output.
run() {
	if ! "$@" >>"$log" 2>&1; then
		tail -n 30 "$log" >&2
		die "picolibc build failed at: $*; full log: $log"
	fi
}
run meson setup --cross-file "$cross" "${options[@]}" "$builddir" "$src"
# meson install builds first.
run meson install -C "$builddir"

[[ -f $src/lib/libc.a && -f $src/include/stdio.h ]] ||
	die "picolibc installed, but not as $src/lib/libc.a and $src/include/stdio.h; see $log"

printf '%s' "$want_stamp" >"$stamp"
echo "keel: deps: picolibc built ($src/lib/libc.a)"
