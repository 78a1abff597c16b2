# shellcheck shell=bash
# Sourced by images/mkiso.sh and images/mkdisk.sh: the pieces both make.
#
# grub_cfg BUNDLE_NAME_OR_EMPTY CMDLINE... prints the grub.cfg that boots
# /boot/keel.elf through multiboot2 (and /boot/bundle.cpio as its module2
# when the first argument is non-empty) on the serial console, at once.
# Each command-line word is single-quoted, so GRUB's script parser takes
# $, ;, # or quotes in an option as text; the multiboot2 loader joins the
# words with spaces, which is the command line Keel reads.
grub_cfg() {
	local module=$1 word args=""
	shift
	for word in "$@"; do
		args+=" '${word//\'/\'\\\'\'}'"
	done
	cat <<CFG
set timeout=0
serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
menuentry "Keel" {
	multiboot2 /boot/keel.elf$args
${module:+	module2 /boot/bundle.cpio
}	boot
}
CFG
}

# stage_kernel KERNEL.elf DEST: the kernel without its debug sections
# (2.2 MB -> about 0.4 MB; the loaders read only its PT_LOAD segments, and
# the symbols stay).
stage_kernel() {
	objcopy --strip-debug "$1" "$2"
}
