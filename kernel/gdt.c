/* GDT and TSS. Long mode ignores segment bases and limits; the GDT exists
 * for the code selector and to hold the TSS, whose only job here is the
 * Interrupt Stack Table (Intel SDM Vol. 3A §7.7, §6.14.5):
 *
 *   GDT[3..4] --> TSS.ist[1] --> double-fault stack (guarded, static)
 *                 TSS.ist[2] --> NMI stack (guarded, static)
 *
 * NOTE: an IST slot is reused from its top on every entry, so a vector
 * that can nest must not share its slot with another; #DF and NMI get one
 * each, and everything else runs on the interrupted task's stack. */
#include <stddef.h>
#include <stdint.h>

#include "kernel/trap.h"

struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t ist[8]; /* ist[0] is reserved: IST index 0 means "no IST" */
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tss) == 104, "64-bit TSS layout (SDM Fig. 7-11)");
_Static_assert(offsetof(struct tss, ist[1]) == 0x24, "TSS IST1 at 0x24");

extern char ist_df_top[], ist_nmi_top[]; /* boot/entry.S */

static struct tss tss;
static uint64_t gdt[5] __attribute__((aligned(16)));

void gdt_init(void)
{
	tss.ist[1] = (uint64_t)ist_df_top;
	tss.ist[2] = (uint64_t)ist_nmi_top;
	tss.iomap_base = sizeof tss; /* no I/O permission bitmap */

	uint64_t base = (uint64_t)&tss, limit = sizeof tss - 1;
	gdt[0] = 0;
	gdt[1] = 0x00209a0000000000ul; /* 0x08: 64-bit code, DPL 0 */
	gdt[2] = 0x0000920000000000ul; /* 0x10: data */
	gdt[3] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ul << 40) /* available 64-bit TSS */
		 | ((limit >> 16) << 48) | (((base >> 24) & 0xff) << 56);
	gdt[4] = base >> 32;

	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} ptr = { sizeof gdt - 1, (uint64_t)gdt };
	__asm__ volatile("lgdt %0\n\t"
			 "pushq $0x08\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "movw $0x10, %%ax\n\t"
			 "movw %%ax, %%ds\n\t"
			 "movw %%ax, %%es\n\t"
			 "movw %%ax, %%ss\n\t"
			 "movw $0x18, %%ax\n\t"
			 "ltr %%ax"
			 :
			 : "m"(ptr)
			 : "rax", "memory");
}
