/* Host fake of the scheduler pieces a module blocks with (kernel/sched.h
 * wait queues, kernel/clock.h clock_now) for a test that is the one task.
 *
 * Time is virtual: clock_now() returns what the fake was told, starting at
 * FAKE_CLOCK_START. When the test calls something that parks in
 * waitq_wait(), there is no other task to run, so the wait runs the step
 * function the test installed instead: it stands for everything else the
 * kernel would do meanwhile (the net poller, lwIP's timers, the peer). A
 * step either makes something happen now or moves the clock to the next
 * thing that will; the wait returns 0 once a step woke it and -ETIMEDOUT
 * once the clock reached its deadline.
 *
 * A wait that nothing will ever end (no step installed, a step that
 * reports nothing left to do, or FAKE_SCHED_HANG_NS of virtual time
 * without a wake and without a deadline) returns -ETIMEDOUT and is counted
 * in hangs, which a test checks: in the kernel it would have blocked
 * forever. */
#ifndef KEEL_FAKE_SCHED_H
#define KEEL_FAKE_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#define FAKE_CLOCK_START   1000000000ull         /* 1 s: deadline 0 means "none" */
#define FAKE_SCHED_HANG_NS (600 * 1000000000ull) /* 10 virtual minutes */

/* Set the virtual clock; it never goes back. */
void fake_clock_set(uint64_t ns);

/* One step of the rest of the world while the task waits for a deadline (0:
 * none). Returns false if nothing is left that could ever happen. */
typedef bool (*fake_sched_step_fn)(uint64_t deadline);
void fake_sched_set_step(fake_sched_step_fn fn);

struct fake_sched_stats {
	uint64_t waits;    /* waitq_wait calls */
	uint64_t woken;    /* ... that returned 0 */
	uint64_t timeouts; /* ... that returned -ETIMEDOUT at their deadline */
	uint64_t hangs;    /* ... that would never have returned */
	uint64_t last_deadline;
};
/* Counters since the last reset. */
void fake_sched_stats(struct fake_sched_stats *out);
void fake_sched_reset_stats(void);

#endif
