#!/usr/bin/env bash
# usage: images/mkdisk.sh [-b BUNDLE.cpio] [-q OUT.qcow2] KERNEL.elf OUT.raw [KERNEL COMMAND LINE]
#
# A raw disk image that boots under BIOS and under UEFI through GRUB,
# built from plain files: no root, no loop device, no mount. With -q, the
# same disk as qcow2 too (qemu-img, compressed clusters). The GPT layout, in
# 512-byte sectors:
#
#   0           protective MBR, holding GRUB's boot.img (BIOS)
#   1-33        GPT header and entries (sfdisk)
#   2048-4095   1: BIOS boot partition, holding core.img (images/biosboot.py
#               does what grub-bios-setup does)
#   4096-       2: EFI system partition, FAT: EFI/BOOT/BOOTX64.EFI (UEFI),
#               boot/grub/grub.cfg, boot/keel.elf, boot/bundle.cpio (-b)
#   last 1 MiB  backup GPT
#
# Both GRUBs carry every module they need (no module directory on the
# disk) and find grub.cfg on the ESP: BIOS through the prefix (,gpt2),
# the partition on the boot drive; UEFI on the device it was loaded from.
# The ESP is sized to its files plus 4 MiB, at least 12 MiB.
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=images/grubcfg.sh
source "$here/grubcfg.sh"
die() { echo "keel: images: $*" >&2; exit 1; }

bundle='' qcow2=''
while getopts b:q: opt; do
	case $opt in
	b) bundle=$OPTARG ;;
	q) qcow2=$OPTARG ;;
	*) die "usage: $0 [-b BUNDLE.cpio] [-q OUT.qcow2] KERNEL.elf OUT.raw [CMDLINE]" ;;
	esac
done
shift $((OPTIND - 1))
(($# >= 2)) || die "usage: $0 [-b BUNDLE.cpio] [-q OUT.qcow2] KERNEL.elf OUT.raw [CMDLINE]"
[[ -z $bundle || -f $bundle ]] || die "bundle $bundle not found"
# A bundle may hold private keys: then the disk is its owner's only, too.
if [[ -n $bundle ]]; then umask 077; fi
kernel=$1 out=$2
shift 2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# GRUB's modules: grub.cfg's commands, the partition map and file system.
common=(normal serial terminal multiboot2 boot part_gpt fat)
grub-mkimage -O x86_64-efi -p /boot/grub -o "$work/BOOTX64.EFI" "${common[@]}" ||
	die "grub-mkimage (x86_64-efi) failed"
grub-mkimage -O i386-pc -p '(,gpt2)/boot/grub' -o "$work/core.img" biosdisk "${common[@]}" ||
	die "grub-mkimage (i386-pc) failed"

mkdir -p "$work/esp/EFI/BOOT" "$work/esp/boot/grub"
cp "$work/BOOTX64.EFI" "$work/esp/EFI/BOOT/"
stage_kernel "$kernel" "$work/esp/boot/keel.elf"
if [[ -n $bundle ]]; then
	cp "$bundle" "$work/esp/boot/bundle.cpio"
fi
# The command line's words, split at blanks (never glob-expanded).
read -ra words <<<"$*"
grub_cfg "$bundle" "${words[@]}" >"$work/esp/boot/grub/grub.cfg"

# Sizes in MiB (2048 sectors).
files=$(du -s --block-size=1M "$work/esp" | cut -f1)
esp=$((files + 4 < 12 ? 12 : files + 4))
total=$((2 + esp + 1))
mkfs.fat -C -n KEEL "$work/esp.img" $((esp * 1024)) >/dev/null || die "mkfs.fat failed"
# mtools: copy the tree into the FAT image file (-s recursive, -Q stop on error).
mcopy -i "$work/esp.img" -s -Q "$work/esp/EFI" "$work/esp/boot" :: || die "mcopy failed"

# Built in the work directory and moved into place whole: a failure
# leaves no half-made disk that looks like a good one.
disk=$work/disk.raw
truncate -s "${total}M" "$disk"
sfdisk --quiet --no-reread --no-tell-kernel "$disk" <<GPT || die "sfdisk failed"
label: gpt
start=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649, name="BIOS boot"
start=4096, size=$((esp * 2048)), type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI system"
GPT
dd if="$work/esp.img" of="$disk" bs=1M seek=2 conv=notrunc,sparse status=none || die "dd failed"
python3 "$here/biosboot.py" "$disk" /usr/lib/grub/i386-pc/boot.img "$work/core.img" 2048 || die "BIOS boot setup failed"
if [[ -n $qcow2 ]]; then
	qemu-img convert -c -O qcow2 "$disk" "$work/disk.qcow2" || die "qemu-img convert failed"
fi
mv -f "$disk" "$out"
echo "keel: images: $out ($(du -k --apparent-size "$out" | cut -f1) KiB, $(du -k "$out" | cut -f1) KiB allocated)"
if [[ -n $qcow2 ]]; then
	mv -f "$work/disk.qcow2" "$qcow2"
	echo "keel: images: $qcow2 ($(du -k --apparent-size "$qcow2" | cut -f1) KiB)"
fi
