/*
 * Keel entry: PVH and multiboot2 loaders land here in 32-bit protected mode.
 *
 * Loader contracts (CPU state on entry):
 *   PVH (Xen arch-x86/hvm/start_info.h): EBX = physical address of
 *     struct hvm_start_info (magic 0x336ec578), paging off, IRQs off,
 *     flat 4 GiB CS/DS, no usable stack.  QEMU -kernel uses this.
 *   multiboot2 (spec §3.3): EAX = 0x36d76289, EBX = physical address of
 *     the boot information, paging off, IRQs off, no usable stack. GRUB.
 * A wrong magic means we do not know what loaded us: cli; hlt.
 *
 * Both paths build no page tables of their own: the static tables below
 * identity-map the first GiB (the code running here), alias it at the
 * direct map (0xffff800000000000, used by early C code to read loader
 * data) and at the kernel window (0xffffffff80000000). vmm_init() replaces
 * them with 4 KiB-granular tables once memory is known.
 */
#include "boot/layout.h"

#define PVH_MAGIC	0x336ec578
#define MB2_MAGIC	0x36d76289
#define MB2_HDR_MAGIC	0xe85250d6

#define CR0_MP		(1 << 1)
#define CR0_EM		(1 << 2)
#define CR0_TS		(1 << 3)
#define CR0_PG		(1 << 31)
#define CR4_PAE		(1 << 5)
#define CR4_OSFXSR	(1 << 9)
#define CR4_OSXMMEXCPT	(1 << 10)
#define MSR_EFER	0xc0000080
#define EFER_LME	(1 << 8)
#define EFER_NXE	(1 << 11)

#define PHYS(sym)	((sym) - KERNEL_BASE)

/* ---- loader headers ------------------------------------------------- */

	.section .multiboot2, "a"
	.align 8
mb2_header:
	.long MB2_HDR_MAGIC
	.long 0				/* architecture: i386 protected mode */
	.long mb2_header_end - mb2_header
	.long -(MB2_HDR_MAGIC + 0 + (mb2_header_end - mb2_header))
	.align 8			/* entry address tag (§3.1.6) */
	.short 3, 0
	.long 12
	.long _start_mb2
	.align 8			/* end tag */
	.short 0, 0
	.long 8
mb2_header_end:

	.section .note.Xen, "a", @note
	.align 4
	.long 4				/* name size: "Xen\0" */
	.long 4				/* descriptor size */
	.long 18			/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.align 4
	.long _start_pvh

/* ---- 32-bit entry ---------------------------------------------------- */

	.section .boot.text, "ax"
	.code32
	.globl _start_pvh
_start_pvh:
	cli
	cmpl $PVH_MAGIC, (%ebx)
	jne bad_loader
	movl $BOOT_PVH, %edi
	movl %ebx, %esi
	jmp common32

	.globl _start_mb2
_start_mb2:
	cli
	cmpl $MB2_MAGIC, %eax
	jne bad_loader
	movl $BOOT_MB2, %edi
	movl %ebx, %esi
	jmp common32

bad_loader:
	cli
1:	hlt
	jmp 1b

common32:
	/* Long mode (CPUID 0x80000001 EDX bit 29) is required; NX (bit 20)
	 * is used when present and recorded for vmm_init. */
	movl $0x80000001, %eax
	cpuid
	btl $29, %edx
	jnc bad_loader
	xorl %ebx, %ebx
	btl $20, %edx
	jnc 1f
	movl $1, %ebx
1:	movl %ebx, PHYS(boot_nx_supported)

	movl %cr4, %eax
	orl $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
	movl %eax, %cr4
	movl $boot_pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	testl %ebx, %ebx
	jz 1f
	orl $EFER_NXE, %eax
1:	wrmsr
	/* Paging on; SSE usable by picolibc: MP set, EM and TS clear. */
	movl %cr0, %eax
	andl $~(CR0_EM | CR0_TS), %eax
	orl $(CR0_PG | CR0_MP), %eax
	movl %eax, %cr0
	lgdt boot_gdt_ptr
	ljmp $0x08, $start64

	.code64
start64:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	xorw %ax, %ax
	movw %ax, %fs
	movw %ax, %gs
	movabsq $high64, %rax
	jmp *%rax

/* ---- boot page tables and GDT (physical addresses, 4 KiB aligned) ---- */

	.section .boot.data, "aw"
	.align 4096
boot_pml4:
	.quad boot_pdpt_low + 0x3		/* [0]   identity, P|W */
	.fill 255, 8, 0
	.quad boot_pdpt_low + 0x3		/* [256] direct map */
	.fill 254, 8, 0
	.quad boot_pdpt_high + 0x3		/* [511] kernel window */
boot_pdpt_low:
	.quad boot_pd + 0x3
	.fill 511, 8, 0
boot_pdpt_high:
	.fill 510, 8, 0
	.quad boot_pd + 0x3			/* [510] = -2 GiB */
	.quad 0
boot_pd:					/* 512 x 2 MiB, P|W|PS */
	.set i, 0
	.rept 512
	.quad (i << 21) + 0x83
	.set i, i + 1
	.endr

	.align 16
boot_gdt:
	.quad 0
	.quad 0x00209a0000000000		/* 0x08: 64-bit code, DPL 0 */
	.quad 0x0000920000000000		/* 0x10: data */
boot_gdt_end:
boot_gdt_ptr:
	.short boot_gdt_end - boot_gdt - 1
	.long boot_gdt

/* ---- 64-bit, higher half ---------------------------------------------- */

	.text
high64:
	movabsq $boot_stack_top, %rsp
	xorl %ebp, %ebp			/* terminates frame-pointer backtraces */
	/* EDI = loader kind, ESI = physical info pointer (zero-extended). */
	movl %esi, %esi
	call kmain
1:	cli
	hlt
	jmp 1b

	.data
	.globl boot_nx_supported
	.align 4
boot_nx_supported:
	.long 0

	/* Statically allocated stacks, each above a guard page that vmm_init
	 * leaves unmapped: the boot stack (which becomes the idle task's) and
	 * the IST stacks for double fault and NMI (see kernel/gdt.c). */
	.section .bss.stacks, "aw", @nobits
	.align 4096
	.globl boot_stack_guard, boot_stack_top
	.globl ist_df_guard, ist_df_top, ist_nmi_guard, ist_nmi_top
boot_stack_guard:
	.skip 4096
	.skip BOOT_STACK_SIZE
boot_stack_top:
ist_df_guard:
	.skip 4096
	.skip IST_STACK_SIZE
ist_df_top:
ist_nmi_guard:
	.skip 4096
	.skip IST_STACK_SIZE
ist_nmi_top:
