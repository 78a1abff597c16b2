#!/usr/bin/env bash
# usage: images/mkiso.sh [-b BUNDLE.cpio] KERNEL.elf OUT.iso [KERNEL COMMAND LINE]
#
# A hybrid ISO that boots under BIOS (SeaBIOS: El Torito, or as a disk)
# and under UEFI (OVMF: the EFI system image inside it), both through
# GRUB (Debian's grub-pc-bin and grub-efi-amd64-bin), which loads the
# kernel through its multiboot2 header. The command line is baked into
# grub.cfg (images/grubcfg.sh). With -b, the boot bundle
# (images/mkbundle.sh) goes along as GRUB's module2, which Keel reads as
# the initrd under -kernel.
#
# grub-mkrescue by default installs every GRUB module of both platforms,
# locales, fonts and a theme (22 MiB); only what grub.cfg and the ISO's
# own early configs use are installed here (about 4.5 MiB, most of it the
# 2.88 MB FAT image grub-mkrescue always makes for UEFI).
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=images/grubcfg.sh
source "$here/grubcfg.sh"

bundle=
while getopts b: opt; do
	case $opt in
	b) bundle=$OPTARG ;;
	*) echo "usage: $0 [-b BUNDLE.cpio] KERNEL.elf OUT.iso [CMDLINE]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
(($# >= 2)) || { echo "usage: $0 [-b BUNDLE.cpio] KERNEL.elf OUT.iso [CMDLINE]" >&2; exit 2; }
[[ -z $bundle || -f $bundle ]] || { echo "keel: images: bundle $bundle not found" >&2; exit 1; }
# A bundle may hold private keys: then the ISO is its owner's only, too.
if [[ -n $bundle ]]; then umask 077; fi
kernel=$1 out=$2
shift 2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stage=$work/iso

mkdir -p "$stage/boot/grub"
stage_kernel "$kernel" "$stage/boot/keel.elf"
if [[ -n $bundle ]]; then
	cp "$bundle" "$stage/boot/bundle.cpio"
fi
# The command line's words, split at blanks (never glob-expanded).
read -ra words <<<"$*"
grub_cfg "$bundle" "${words[@]}" >"$stage/boot/grub/grub.cfg"

# grub.cfg's commands, the media (iso9660; fat and the partition maps for
# the disk view of the hybrid image, and because the UEFI early config
# probes every partition map it knows), and the early configs' search.
modules="normal configfile serial terminal multiboot2 boot
	iso9660 fat part_gpt part_msdos part_acorn part_amiga part_apple part_bsd
	part_dfly part_dvh part_plan part_sun part_sunpc
	search search_fs_uuid search_fs_file search_label"
# Made in the work directory and moved into place whole: a failure leaves
# no half-made ISO that looks like a good one.
grub-mkrescue --install-modules="${modules//[$'\n\t']/ }" --locales= --fonts= --themes= \
	--compress=xz -o "$work/keel.iso" "$stage" >"$work/log" 2>&1 ||
	{ cat "$work/log" >&2; echo "keel: images: grub-mkrescue failed for $out" >&2; exit 1; }
mv -f "$work/keel.iso" "$out"
echo "keel: images: $out ($(du -k --apparent-size "$out" | cut -f1) KiB)"
