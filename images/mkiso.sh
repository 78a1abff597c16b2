#!/usr/bin/env bash
# usage: images/mkiso.sh KERNEL.elf OUT.iso [KERNEL COMMAND LINE]
#
# A BIOS-bootable ISO: GRUB (from Debian's grub-pc-bin) loads the kernel
# through its multiboot2 header. The command line is baked into grub.cfg.
set -euo pipefail

kernel=$1 out=$2
shift 2
cmdline=${*:-}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage/boot/grub"
cp "$kernel" "$stage/boot/keel.elf"
cat >"$stage/boot/grub/grub.cfg" <<CFG
set timeout=0
serial --unit=0 --speed=115200
terminal_output serial
menuentry "Keel" {
	multiboot2 /boot/keel.elf $cmdline
	boot
}
CFG
grub-mkrescue -o "$out" "$stage" >/dev/null 2>&1 ||
	{ echo "keel: images: grub-mkrescue failed for $out" >&2; exit 1; }
echo "keel: images: $out ($(du -k "$out" | cut -f1) KiB)"
