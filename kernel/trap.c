/* IDT and the single dispatch point for every vector (model: xv6 trap.c).
 * Exceptions are kernel bugs (there is no user mode and no demand paging),
 * so each one prints what is needed to find it and stops the machine;
 * interrupts go to the handler irq.c registered, then EOI. */
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>

#include "kernel/apic.h"
#include "kernel/console.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/panic.h"
#include "kernel/recover.h"
#include "kernel/sched.h"
#include "kernel/trap.h"

struct idt_gate {
	uint16_t off_lo;
	uint16_t selector;
	uint8_t ist;
	uint8_t type; /* P | DPL 0 | 0xE: 64-bit interrupt gate (IF cleared) */
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t reserved;
};
_Static_assert(sizeof(struct idt_gate) == 16, "IDT gate layout (SDM Fig. 6-8)");

enum { EXC_NMI = 2, EXC_DF = 8, EXC_PF = 14 };

extern const uint64_t trap_stubs[256]; /* vectors.S */
static struct idt_gate idt[256] __attribute__((aligned(16)));
static struct {
	void (*fn)(void *);
	void *arg;
} handlers[256];
static uint64_t spurious_count, nmi_count;
static unsigned irq_depth;

bool trap_in_irq(void) { return irq_depth != 0; }

static const char *const exc_names[32] = {
	"divide error", "debug", "NMI", "breakpoint", "overflow", "bound range", "invalid opcode",
	"device not available", "double fault", "coprocessor overrun", "invalid TSS", "segment not present",
	"stack fault", "general protection", "page fault", "reserved", "x87 FPU error", "alignment check",
	"machine check", "SIMD FP exception", "virtualization", "control protection",
};

void trap_init(void)
{
	for (unsigned v = 0; v < 256; v++) {
		uint64_t a = trap_stubs[v];
		idt[v] = (struct idt_gate){
			.off_lo = (uint16_t)a, .selector = 0x08, .type = 0x8e,
			.off_mid = (uint16_t)(a >> 16), .off_hi = (uint32_t)(a >> 32),
		};
	}
	idt[EXC_DF].ist = 1;
	idt[EXC_NMI].ist = 2;
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} ptr = { sizeof idt - 1, (uint64_t)idt };
	__asm__ volatile("lidt %0" ::"m"(ptr));
}

void trap_set_handler(unsigned vector, void (*fn)(void *), void *arg)
{
	handlers[vector].arg = arg;
	handlers[vector].fn = fn;
}

/* A frame pointer is followed only while it points into mapped kernel
 * memory: a corrupt chain must not fault inside the fault report. */
static bool frame_ok(uint64_t fp)
{
	return fp >= 0xffff800000000000ul && (fp & 7) == 0 && vmm_is_mapped(fp) && vmm_is_mapped(fp + 15);
}

static void backtrace(uint64_t rip, uint64_t rbp)
{
	log_err("trap", "backtrace (addr2line -e build/keel.elf ADDR):");
	log_err("trap", "  #0 0x%016lx", rip);
	for (int i = 1; i < 32 && frame_ok(rbp); i++) {
		const uint64_t *fp = (const uint64_t *)rbp;
		if (!fp[1])
			break;
		log_err("trap", "  #%d 0x%016lx", i, fp[1] - 1); /* -1: inside the call */
		rbp = fp[0];
	}
}

void trap_backtrace_here(void)
{
	backtrace((uint64_t)__builtin_return_address(0), (uint64_t)__builtin_frame_address(0));
}

/* Runs in the faulting task after the trap returns here: unwind to its
 * recovery point. */
static noreturn void recover_trampoline(struct recovery *r) { longjmp(r->env, 1); }

/* A fault in a task that set a recovery point, with interrupts enabled
 * (so not inside a kernel critical section): resume the task at
 * recover_trampoline on its own stack instead of stopping the machine. */
static bool try_recover(struct trap_frame *f, uint64_t cr2)
{
	if (f->vector == EXC_DF || f->vector == 18 /* #MC */ || irq_depth || !(f->rflags & (1u << 9)))
		return false;
	struct recovery *r = sched_take_recovery();
	if (!r)
		return false;
	r->vector = f->vector;
	r->rip = f->rip;
	r->cr2 = cr2;
	f->rdi = (uint64_t)r;
	f->rip = (uint64_t)recover_trampoline;
	f->rsp = ((f->rsp - 256) & ~15ul) - 8; /* below the red zone, as if called */
	return true;
}

static void fault(struct trap_frame *f)
{
	uint64_t cr2;
	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	const char *name = f->vector < 32 && exc_names[f->vector] ? exc_names[f->vector] : "reserved";
	log_direct_begin(); /* the report is written at once, after what was queued */
	log_err("trap", "%s (vector %lu) error %#lx on cpu 0 in task %s", name, f->vector, f->error,
		sched_current_name());
	log_err("trap", "rip 0x%016lx cs %#lx rflags %#lx cr2 0x%016lx", f->rip, f->cs, f->rflags, cr2);
	if (f->vector == EXC_PF)
		log_err("trap", "page fault: %s %s of %#lx%s", f->error & 1 ? "protection violation" : "not-present page",
			f->error & 16 ? "on instruction fetch" : f->error & 2 ? "on write" : "on read", cr2,
			cr2 < PAGE_SIZE ? " (null pointer)" : vmm_is_guard(cr2) ? " (stack overflow: guard page)" : "");
	if (f->vector == EXC_DF)
		log_err("trap", "double fault: %s", vmm_is_guard(cr2) ? "cr2 is a stack guard page: stack overflow"
								 : "a fault while delivering a fault");
	log_err("trap", "rax %016lx rbx %016lx rcx %016lx rdx %016lx", f->rax, f->rbx, f->rcx, f->rdx);
	log_err("trap", "rsi %016lx rdi %016lx rbp %016lx rsp %016lx", f->rsi, f->rdi, f->rbp, f->rsp);
	log_err("trap", "r8  %016lx r9  %016lx r10 %016lx r11 %016lx", f->r8, f->r9, f->r10, f->r11);
	log_err("trap", "r12 %016lx r13 %016lx r14 %016lx r15 %016lx", f->r12, f->r13, f->r14, f->r15);
	backtrace(f->rip, f->rbp);
	if (try_recover(f, cr2)) {
		log_err("trap", "task %s recovers at its recovery point", sched_current_name());
		log_direct_end();
		return;
	}
	machine_halt(3);
}

void trap_dispatch(struct trap_frame *f)
{
	unsigned v = (unsigned)f->vector;
	switch (v) {
	case EXC_NMI:
		/* QEMU's "nmi" monitor command or a hardware watchdog: note it.
		 * Straight to the UART: cli does not mask an NMI, so it may
		 * land inside the log ring or the scheduler, which it must not
		 * touch (klog would do both). */
		nmi_count++;
		char line[96];
		int n = snprintf(line, sizeof line, "keel: trap: NMI #%lu at rip %#lx\n", nmi_count, f->rip);
		console_write(line, n < (int)sizeof line ? (size_t)n : sizeof line - 1);
		return;
	case VEC_SPURIOUS:
		/* Spurious vectors are not acknowledged (SDM §10.9). */
		spurious_count++;
		return;
	default:
		if (v < VEC_IRQ_BASE) {
			fault(f);
			return;
		}
		irq_depth++;
		if (handlers[v].fn)
			handlers[v].fn(handlers[v].arg);
		else
			log_warn("trap", "unexpected interrupt vector %u", v);
		apic_eoi();
		irq_depth--;
		return;
	}
}
