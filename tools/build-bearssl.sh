#!/usr/bin/env bash
# usage: CC=gcc CFLAGS='…kernel flags…' tools/build-bearssl.sh OUT.a
#
# Build BearSSL (unpacked by tools/fetch-deps.sh into build/deps/bearssl)
# into the static archive OUT.a with the kernel's code-generation flags;
# --gc-sections at link time keeps only what Keel calls.
#
# BearSSL's configuration (src/config.h), for a freestanding kernel: no
# /dev/urandom and no time() (kernel/random.c seeds every engine), the
# RDRAND seeder, AES-NI/PCLMUL and SSE2 code paths chosen at run time by
# CPUID (constant-time fallbacks otherwise), 128-bit integers and unaligned
# little-endian access (x86-64).
#
# Idempotent: the objects are rebuilt only when the flags change.
set -euo pipefail

out=$1
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
src=$root/build/deps/bearssl
objdir=$root/build/obj/bearssl
[[ -f $src/inc/bearssl.h ]] || { echo "keel: deps: bearssl source missing; run tools/fetch-deps.sh" >&2; exit 1; }

flags="$CFLAGS -w -DBR_USE_URANDOM=0 -DBR_USE_UNIX_TIME=0 -DBR_RDRAND=1 -DBR_AES_X86NI=1 \
	-DBR_SSE2=1 -DBR_INT128=1 -DBR_LE_UNALIGNED=1 -I$src/inc -I$src/src"
stamp=$objdir/.flags
if [[ -f $stamp && "$(cat "$stamp")" != "$flags" ]]; then
	rm -rf "$objdir"
fi
mkdir -p "$objdir"
echo "$flags" >"$stamp"

# From the repository top, where the flags' relative paths point. One
# compiler per CPU.
cd "$root"
(cd "$src/src" && find . -name '*.c' | sort) | SRC=$src/src CC=$CC FLAGS=$flags OBJ=$objdir xargs -P "$(nproc)" -n 16 sh -c '
	for f; do
		o=$OBJ/$(echo "${f#./}" | tr / _).o
		[ -f "$o" ] && [ "$o" -nt "$SRC/$f" ] && continue
		$CC $FLAGS -c "$SRC/$f" -o "$o" || exit 255
	done' sh
rm -f "$out.tmp"
ar rcs "$out.tmp" "$objdir"/*.o
mv "$out.tmp" "$out"
echo "  AR      $(basename "$out") ($(ls "$objdir"/*.o | wc -l) objects)"
