/* Cooperative tasks: the goroutine analogue. A task runs until it blocks
 * (sleep, wait queue, yield, exit); interrupts only make tasks runnable.
 * One CPU, so disabling interrupts is the only lock. */
#ifndef KEEL_SCHED_H
#define KEEL_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdnoreturn.h>

#include "kernel/list.h"

#define TASK_STACK_DEFAULT (16u * 1024)

struct task;
typedef void (*task_fn)(void *arg);

/* The boot context becomes the idle task; call once, before any spawn. */
void sched_init(void);
/* Hand the CPU to tasks; the caller becomes the idle loop. */
noreturn void sched_run(void);

/* Start fn(arg) in a new task with a guarded stack of stack_size bytes
 * (0: TASK_STACK_DEFAULT). Returns NULL when memory is exhausted. When fn
 * returns the task exits and its stack is reclaimed. */
struct task *task_spawn(const char *name, task_fn fn, void *arg, size_t stack_size);
noreturn void task_exit(void);

void sched_yield(void);
void sched_sleep(uint64_t ns);
void sched_sleep_until(uint64_t deadline); /* clock_now() time */
const char *sched_current_name(void);
/* Bound every later sleep and wait of the current task by `when`
 * (clock_now time; 0 lifts the bound): sleeps end and waits return
 * -ETIMEDOUT then, as if each had been given that deadline. The HTTP
 * server uses it to stop a handler that overruns its time. */
void sched_set_cutoff(uint64_t when);
/* Make t a background task (or a normal one again): it runs only when no
 * other task is runnable (the log drain). It can starve under load, so
 * its work must tolerate that or be raised back. Safe in IRQ context. */
void task_set_background(struct task *t, bool on);
/* Is a task other than the current one (and the background ones) runnable?
 * A background task yields between chunks of work when it is. */
bool sched_others_runnable(void);
/* For the trap handler: pop the current task's innermost recovery point
 * (NULL if none, or in the idle task). */
struct recovery *sched_take_recovery(void);
uint32_t sched_current_id(void);

/* Wait queue: tasks park on it until woken or their deadline passes.
 *
 * No wakeup is lost as long as the waiter tests its condition and calls
 * waitq_wait() without blocking in between: a wake from another task cannot
 * run in that window (tasks are cooperative). A condition set by an
 * interrupt handler must be tested with interrupts disabled (irq_save)
 * and waited on before restoring them; waitq_wait keeps them disabled
 * until the task is queued, so the handler's wake finds it. */
struct waitq {
	struct list_node waiters;
};
#define WAITQ_INIT(q) { LIST_INIT((q).waiters) }

void waitq_init(struct waitq *q);
/* Returns 0 when woken, -ETIMEDOUT when `deadline` (clock_now time, 0 for
 * none) passed first. */
int waitq_wait(struct waitq *q, uint64_t deadline);
/* Wake the longest waiter / all waiters. Safe in IRQ context. */
void waitq_wake_one(struct waitq *q);
void waitq_wake_all(struct waitq *q);

struct sched_stats {
	uint32_t live;       /* tasks not yet exited, idle excluded */
	uint64_t spawned, exited, switches, spawn_failed;
	size_t task_bytes;   /* memory per task: stack + guard page */
	uint64_t idle_ns;    /* clock_now() time spent halted in the idle loop */
};
void sched_get_stats(struct sched_stats *s);
/* One call per task (for /debug/tasks and the panic report). */
void sched_each_task(void (*fn)(void *ctx, uint32_t id, const char *name, const char *state), void *ctx);

#endif
