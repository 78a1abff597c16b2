/* CPU exceptions and interrupt dispatch. */
#ifndef KEEL_TRAP_H
#define KEEL_TRAP_H

#include <stdbool.h>
#include <stdint.h>

/* Saved by vectors.S; field order mirrors the pushes (last push first). */
struct trap_frame {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};
_Static_assert(sizeof(struct trap_frame) == 22 * 8, "trap frame layout is shared with vectors.S");

#define VEC_IRQ_BASE 0x20   /* first vector handed out by irq.c */
#define VEC_TIMER 0xf0      /* local APIC timer */
#define VEC_SPURIOUS 0xff   /* local APIC spurious */

void gdt_init(void);
void trap_init(void);
void trap_dispatch(struct trap_frame *f);
/* Interrupt handler table, filled by irq.c. */
void trap_set_handler(unsigned vector, void (*fn)(void *), void *arg);
/* True while an interrupt handler runs (blocking is forbidden then). */
bool trap_in_irq(void);
/* Print a frame-pointer backtrace of the caller (panic path). */
void trap_backtrace_here(void);

#endif
