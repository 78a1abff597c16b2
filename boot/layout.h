/* Constants shared by the entry stub, the linker script and C. */
#ifndef KEEL_LAYOUT_H
#define KEEL_LAYOUT_H

#define KERNEL_BASE 0xffffffff80000000
#define KERNEL_PHYS 0x100000
#define BOOT_STACK_SIZE 16384
#define IST_STACK_SIZE 8192

#define BOOT_PVH 1 /* EBX: struct hvm_start_info */
#define BOOT_MB2 2 /* EBX: multiboot2 information */

#endif
