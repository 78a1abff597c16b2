#!/usr/bin/env python3
"""usage: images/biosboot.py DISK BOOT.img CORE.img BIOS_BOOT_LBA

What `grub-bios-setup` does for a GPT disk, on a plain file: no device
map, no loop device, no root. GRUB's BIOS path is three pieces:

  boot.img   the 512-byte MBR code. The BIOS runs it; it reads one sector,
             core.img's first, from the LBA at KERNEL_SECTOR.
  core.img   grub-mkimage -O i386-pc: its first sector is diskboot.img,
             which reads the rest of core.img as its block list says
             (start LBA, sector count, load segment), then runs it.
  the BIOS boot partition (GPT type 21686148-6449-6E6F-744E-656564454649)
             holds core.img, contiguous, so one block list entry covers it.

Offsets are GRUB 2.06's include/grub/i386/pc/boot.h and the block list
struct grub_pc_bios_boot_blocklist (include/grub/offsets.h); what is
written where follows util/setup.c (write_rootdev, save_blocklists).
"""
import struct
import sys

SECTOR = 512
# boot.img fields (boot.h)
KERNEL_SECTOR = 0x5C  # u64: LBA of core.img's first sector
BOOT_DRIVE = 0x64  # u8: 0xff = the drive the BIOS booted from (in DL)
DRIVE_CHECK = 0x66  # a 2-byte jmp; setup.c makes it two NOPs on hard disks
# (the BIOS-drive workaround for BIOSes passing DL 0 or 1 for a hard disk)
NT_MAGIC = 0x1B8  # from here to PART_END: disk signature and partition
PART_END = 0x1FE  # table, kept from the disk (GPT's protective MBR)
# diskboot.img (core.img's first sector): block lists grow down from its
# end, 12 bytes each: u64 start LBA, u16 sectors, u16 load segment.
BLOCKLIST = struct.Struct("<QHH")
FIRST_BLOCK = SECTOR - BLOCKLIST.size
# setup.c: the rest of core.img loads at segment KERNEL_SEG (0x800) plus
# the sector diskboot.img itself fills (0x20 paragraphs).
FIRST_SEGMENT = 0x800 + (SECTOR >> 4)
# setup.c's limit: core.img runs from GRUB_KERNEL_I386_PC_LINK_ADDR
# (0x9000) and must end below 0x78000.
MAX_SECTORS = (0x78000 - 0x9000) // SECTOR


def main(disk, boot_path, core_path, lba):
    lba = int(lba)
    boot = bytearray(open(boot_path, "rb").read())
    core = bytearray(open(core_path, "rb").read())
    if len(boot) != SECTOR:
        sys.exit(f"biosboot: {boot_path} is not one sector")
    core += bytes(-len(core) % SECTOR)
    sectors = len(core) // SECTOR
    if not 2 <= sectors <= MAX_SECTORS:
        sys.exit(f"biosboot: core.img is {sectors} sectors (GRUB loads 2..{MAX_SECTORS})")
    # The first block list entry was GRUB's placeholder; the next one must
    # be the terminator (len 0), as setup.c leaves it.
    BLOCKLIST.pack_into(core, FIRST_BLOCK, lba + 1, sectors - 1, FIRST_SEGMENT)
    BLOCKLIST.pack_into(core, FIRST_BLOCK - BLOCKLIST.size, 0, 0, 0)
    with open(disk, "r+b") as f:
        mbr = f.read(SECTOR)
        if mbr[PART_END:SECTOR] != b"\x55\xaa" or mbr[0x1C2] != 0xEE:
            sys.exit(f"biosboot: {disk} has no GPT protective MBR")
        boot[NT_MAGIC:PART_END] = mbr[NT_MAGIC:PART_END]
        struct.pack_into("<Q", boot, KERNEL_SECTOR, lba)
        boot[BOOT_DRIVE] = 0xFF
        boot[DRIVE_CHECK:DRIVE_CHECK + 2] = b"\x90\x90"
        f.seek(lba * SECTOR)
        f.write(core)
        f.seek(0)
        f.write(boot)


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__.splitlines()[0])
    main(*sys.argv[1:])
