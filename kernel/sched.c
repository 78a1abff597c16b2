/* Cooperative scheduler (model: unikraft ukschedcoop). A FIFO run queue,
 * a second one for background tasks (run only when the first is empty),
 * a deadline heap of timed sleepers and waiters, and the idle task — the
 * boot context — which halts until the next interrupt or deadline.
 *
 * WARNING: every function touching these queues runs with interrupts
 * disabled, because IRQ handlers call waitq_wake_*(). Blocking calls must
 * not be made from IRQ context (asserted).
 *
 * A task's struct sits at the top of its own stack, so a spawn is one
 * stack allocation (usually a cache hit) and nothing else. */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "kernel/clock.h"
#include "kernel/cpu.h"
#include "kernel/deadline.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/panic.h"
#include "kernel/recover.h"
#include "kernel/sched.h"
#include "kernel/trap.h"

enum task_state { TASK_RUNNABLE, TASK_RUNNING, TASK_SLEEPING, TASK_WAITING, TASK_DEAD };

static const char *const state_names[] = { "runnable", "running", "sleeping", "waiting", "dead" };

struct task {
	uint64_t rsp;               /* saved by sched_switch while not running */
	struct list_node link;      /* run queue or a wait queue */
	struct list_node all;       /* every live task, for dumps */
	struct deadline_node timer; /* in `sleepers` while a deadline is pending */
	enum task_state state;
	int wake_result;            /* 0 woken, -ETIMEDOUT */
	task_fn fn;
	void *arg;
	void *stack_top;
	size_t stack_size;
	uint32_t id;
	char name[20];
	struct recovery *recovery; /* innermost recover_point, or NULL */
	uint64_t cutoff;            /* sched_set_cutoff bound on every wait, 0 none */
	bool background;            /* queued on bgq: runs only when runq is empty */
};

extern void sched_switch(uint64_t *save_rsp, uint64_t next_rsp);

static struct task idle = { .state = TASK_RUNNING, .name = "idle" };
static struct task *current = &idle;
static struct list_node runq = LIST_INIT(runq);
static struct list_node bgq = LIST_INIT(bgq); /* runnable background tasks */
static struct list_node all_tasks = LIST_INIT(all_tasks);
static struct deadline_heap sleepers;
static struct task *zombie; /* exited; its stack is freed by the next task to run */
static struct sched_stats stats;
static uint32_t next_id = 1;

static void make_runnable(struct task *t)
{
	t->state = TASK_RUNNABLE;
	list_push_back(t->background ? &bgq : &runq, &t->link);
}

static void expire_deadlines(void)
{
	uint64_t now = clock_now();
	struct deadline_node *n;
	while ((n = deadline_min(&sleepers)) && n->when <= now) {
		deadline_pop(&sleepers);
		struct task *t = list_entry(n, struct task, timer);
		if (t->state == TASK_WAITING)
			list_remove(&t->link);
		t->wake_result = -ETIMEDOUT;
		make_runnable(t);
	}
}

/* Free the stack of a task that exited: only safe once we are off it. */
static void reap(void)
{
	if (zombie && zombie != current) {
		kstack_free(zombie->stack_top, zombie->stack_size);
		zombie = NULL;
	}
}

/* Switch to the next runnable task, or to idle. The caller has disabled
 * interrupts and already queued or parked the current task. */
static void schedule(void)
{
	/* Kernel invariant: with interrupts on, an IRQ handler's waitq_wake_*()
	 * could change the run queue under us (see the WARNING above). */
	if (irq_enabled())
		panic("schedule() called with interrupts enabled");
	expire_deadlines();
	struct list_node *n = list_pop_front(&runq);
	if (!n)
		n = list_pop_front(&bgq);
	struct task *next = n ? list_entry(n, struct task, link) : &idle;
	struct task *prev = current;
	next->state = TASK_RUNNING;
	if (next == prev)
		return;
	current = next;
	stats.switches++;
	sched_switch(&prev->rsp, next->rsp);
	reap();
}

/* First code a new task runs, entered by sched_switch's `ret`. */
static noreturn void task_start(void)
{
	reap();
	irq_enable();
	current->fn(current->arg);
	task_exit();
}

void sched_init(void)
{
	deadline_heap_init(&sleepers);
	list_push_back(&all_tasks, &idle.all);
	stats.task_bytes = TASK_STACK_DEFAULT + PAGE_SIZE;
	log_info("sched", "cooperative scheduler: %u KiB default stack + 4 KiB guard per task, task struct %zu B",
		 TASK_STACK_DEFAULT / 1024, sizeof(struct task));
}

struct task *task_spawn(const char *name, task_fn fn, void *arg, size_t stack_size)
{
	stack_size = stack_size ? (stack_size + PAGE_SIZE - 1) & ~(size_t)(PAGE_SIZE - 1) : TASK_STACK_DEFAULT;
	uint8_t *top = kstack_alloc(stack_size);
	if (!top) {
		stats.spawn_failed++;
		return NULL;
	}
	struct task *t = (struct task *)(((uintptr_t)top - sizeof(struct task)) & ~(uintptr_t)15);
	memset(t, 0, sizeof *t);
	t->fn = fn;
	t->arg = arg;
	t->stack_top = top;
	t->stack_size = stack_size;
	strncpy(t->name, name, sizeof t->name - 1);

	/* Initial frame popped by sched_switch: six zeroed callee-saved
	 * registers (rbp = 0 ends backtraces), then task_start as the return
	 * address, then a zero fake return address so task_start begins with
	 * the stack alignment of a called function. */
	uint64_t *sp = (uint64_t *)t;
	*--sp = 0;
	*--sp = (uint64_t)task_start;
	for (int i = 0; i < 6; i++)
		*--sp = 0;
	t->rsp = (uint64_t)sp;

	uint64_t f = irq_save();
	t->id = next_id++;
	list_push_back(&all_tasks, &t->all);
	stats.spawned++;
	stats.live++;
	make_runnable(t);
	irq_restore(f);
	return t;
}

noreturn void task_exit(void)
{
	irq_disable();
	assert(current != &idle);
	list_remove(&current->all);
	current->state = TASK_DEAD;
	zombie = current;
	stats.live--;
	stats.exited++;
	schedule();
	panic("dead task %u rescheduled", current->id);
}

void sched_yield(void)
{
	uint64_t f = irq_save();
	make_runnable(current);
	schedule();
	irq_restore(f);
}

/* The earlier of a wait's own deadline and the task's cutoff (0: none). */
static uint64_t bounded(uint64_t deadline)
{
	uint64_t c = current->cutoff;
	return c && (!deadline || c < deadline) ? c : deadline;
}

void sched_set_cutoff(uint64_t when) { current->cutoff = when; }

void task_set_background(struct task *t, bool on)
{
	uint64_t f = irq_save();
	if (t->background != on && t->state == TASK_RUNNABLE) { /* move it to its new queue's tail */
		list_remove(&t->link);
		list_push_back(on ? &bgq : &runq, &t->link);
	}
	t->background = on;
	irq_restore(f);
}

bool sched_others_runnable(void) { return !list_empty(&runq); }

void sched_sleep_until(uint64_t deadline)
{
	assert(!trap_in_irq() && current != &idle);
	uint64_t f = irq_save();
	current->state = TASK_SLEEPING;
	deadline_insert(&sleepers, &current->timer, bounded(deadline));
	schedule();
	irq_restore(f);
}

void sched_sleep(uint64_t ns) { sched_sleep_until(clock_now() + ns); }

const char *sched_current_name(void) { return current->name; }

void recover_push(struct recovery *r)
{
	r->outer = current->recovery;
	current->recovery = r;
}

void recover_done(struct recovery *r) { current->recovery = r->outer; }

struct recovery *sched_take_recovery(void)
{
	struct recovery *r = current == &idle ? NULL : current->recovery;
	if (r)
		current->recovery = r->outer;
	return r;
}
uint32_t sched_current_id(void) { return current->id; }

void waitq_init(struct waitq *q) { list_init(&q->waiters); }

int waitq_wait(struct waitq *q, uint64_t deadline)
{
	assert(!trap_in_irq() && current != &idle);
	uint64_t f = irq_save();
	struct task *t = current;
	t->state = TASK_WAITING;
	t->wake_result = 0;
	list_push_back(&q->waiters, &t->link);
	deadline = bounded(deadline);
	if (deadline)
		deadline_insert(&sleepers, &t->timer, deadline);
	schedule();
	irq_restore(f);
	return t->wake_result;
}

static void wake(struct task *t)
{
	list_remove(&t->link);
	if (deadline_queued(&t->timer))
		deadline_remove(&sleepers, &t->timer);
	t->wake_result = 0;
	make_runnable(t);
}

void waitq_wake_one(struct waitq *q)
{
	uint64_t f = irq_save();
	if (!list_empty(&q->waiters))
		wake(list_entry(q->waiters.next, struct task, link));
	irq_restore(f);
}

void waitq_wake_all(struct waitq *q)
{
	uint64_t f = irq_save();
	while (!list_empty(&q->waiters))
		wake(list_entry(q->waiters.next, struct task, link));
	irq_restore(f);
}

noreturn void sched_run(void)
{
	log_info("sched", "running");
	for (;;) {
		irq_disable();
		schedule(); /* returns once nothing is runnable */
		struct deadline_node *n = deadline_min(&sleepers);
		if (n)
			clock_arm(n->when);
		/* STI's one-instruction shadow: an interrupt arriving between the
		 * check above and HLT is taken at HLT and ends it. The handler of
		 * the interrupt that ends the halt runs inside the measured span,
		 * so idle_ns includes IRQ entry (acknowledge and wake: short). */
		uint64_t halted = clock_now();
		__asm__ volatile("sti; hlt" ::: "memory");
		stats.idle_ns += clock_now() - halted;
	}
}

void sched_get_stats(struct sched_stats *s)
{
	uint64_t f = irq_save();
	*s = stats;
	irq_restore(f);
}

void sched_each_task(void (*fn)(void *ctx, uint32_t id, const char *name, const char *state), void *ctx)
{
	for (struct list_node *n = all_tasks.next; n != &all_tasks; n = n->next) {
		struct task *t = list_entry(n, struct task, all);
		fn(ctx, t->id, t->name, state_names[t->state]);
	}
}
