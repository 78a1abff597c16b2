#!/usr/bin/env bash
# usage: images/mkiso.sh [-b BUNDLE.cpio] KERNEL.elf OUT.iso [KERNEL COMMAND LINE]
#
# A BIOS-bootable ISO: GRUB (from Debian's grub-pc-bin) loads the kernel
# through its multiboot2 header. The command line is baked into grub.cfg.
# With -b, the boot bundle (images/mkbundle.sh) goes along as GRUB's
# module2, which Keel reads as the initrd under -kernel.
set -euo pipefail

bundle=
while getopts b: opt; do
	case $opt in
	b) bundle=$OPTARG ;;
	*) echo "usage: $0 [-b BUNDLE.cpio] KERNEL.elf OUT.iso [CMDLINE]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
# A bundle may hold private keys: then the ISO is its owner's only, too.
if [[ -n $bundle ]]; then umask 077; fi
kernel=$1 out=$2
shift 2
cmdline=${*:-}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage/boot/grub"
cp "$kernel" "$stage/boot/keel.elf"
module=
if [[ -n $bundle ]]; then
	cp "$bundle" "$stage/boot/bundle.cpio"
	module="module2 /boot/bundle.cpio"
fi
cat >"$stage/boot/grub/grub.cfg" <<CFG
set timeout=0
serial --unit=0 --speed=115200
terminal_output serial
menuentry "Keel" {
	multiboot2 /boot/keel.elf $cmdline
	$module
	boot
}
CFG
grub-mkrescue -o "$out" "$stage" >/dev/null 2>&1 ||
	{ echo "keel: images: grub-mkrescue failed for $out" >&2; exit 1; }
echo "keel: images: $out ($(du -k "$out" | cut -f1) KiB)"
