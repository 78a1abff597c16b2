/* Recovering a task from a CPU fault: Go's recover() for handlers.
 *
 *     struct recovery rec;
 *     if (recover_point(&rec) == 0) {      // setjmp-like: 0 the first time
 *             risky();
 *             recover_done(&rec);
 *     } else {
 *             // risky() faulted: the report is on the console
 *     }
 *
 * Only faults in task context with interrupts enabled are recovered (the
 * kernel's own critical sections run with them disabled, so a fault there
 * stays fatal), and never a double fault or machine check. WARNING: state
 * the faulting code was changing is left as it was; use this around
 * application code, not around kernel subsystems. */
#ifndef KEEL_RECOVER_H
#define KEEL_RECOVER_H

#include <setjmp.h>

struct recovery {
	jmp_buf env;
	struct recovery *outer;
	unsigned long vector, rip, cr2; /* what happened, for the caller's log */
};

#define recover_point(r) (recover_push(r), setjmp((r)->env))
void recover_push(struct recovery *r);
void recover_done(struct recovery *r);

#endif
