/* Host fake of wait queues and the clock for a single-task test (see
 * fake_sched.h). The waiter bookkeeping mirrors kernel/sched.c: a waiter
 * is queued on the waitq's list and a wake dequeues it, so a module that
 * wakes a queue nobody waits on, or wakes twice, behaves as in the kernel. */
#include <errno.h>

#include "kernel/clock.h"
#include "kernel/sched.h"
#include "tests/host/fake_sched.h"

struct waiter {
	struct list_node node; /* on the waitq while parked */
	bool woken;
};

static uint64_t now = FAKE_CLOCK_START;
static fake_sched_step_fn step;
static struct fake_sched_stats stats;

uint64_t clock_now(void)
{
	return now;
}

void fake_clock_set(uint64_t ns)
{
	if (ns > now)
		now = ns;
}

void fake_sched_set_step(fake_sched_step_fn fn)
{
	step = fn;
}

void fake_sched_stats(struct fake_sched_stats *out)
{
	*out = stats;
}

void fake_sched_reset_stats(void)
{
	stats = (struct fake_sched_stats){0};
}

void waitq_init(struct waitq *q)
{
	list_init(&q->waiters);
}

int waitq_wait(struct waitq *q, uint64_t deadline)
{
	struct waiter w = {.woken = false};
	uint64_t start = now;
	int r;
	list_push_back(&q->waiters, &w.node);
	stats.waits++;
	stats.last_deadline = deadline;
	for (;;) {
		if (w.woken) {
			stats.woken++;
			return 0;
		}
		if (deadline && now >= deadline) {
			stats.timeouts++;
			r = -ETIMEDOUT;
			break;
		}
		if (!step || (!deadline && now - start > FAKE_SCHED_HANG_NS) || !step(deadline)) {
			stats.hangs++;
			r = -ETIMEDOUT;
			break;
		}
	}
	list_remove(&w.node);
	return r;
}

static void wake(struct list_node *n)
{
	list_remove(n);
	list_entry(n, struct waiter, node)->woken = true;
}

void waitq_wake_one(struct waitq *q)
{
	if (!list_empty(&q->waiters))
		wake(q->waiters.next);
}

void waitq_wake_all(struct waitq *q)
{
	while (!list_empty(&q->waiters))
		wake(q->waiters.next);
}
