/* The console log: klog() formats a line and, once the log task runs,
 * queues it in the log ring (kernel/logring.h); the log task, a
 * background task (it runs only when no other task is runnable), drains
 * the ring in batches to the sinks. So a request's access line costs a
 * format and a copy on the request path, and the device writes (an exit
 * per byte on an emulated UART) happen when the machine is otherwise idle.
 *
 * Sinks: the serial console (kernel/console.c) by default; a virtio
 * console when one is set (log_set_console): it then takes every line and
 * the serial console keeps warnings and errors; and a remote sink (syslog,
 * log_set_remote), which sees every line too.
 *
 * Direct mode: before the log task first runs (early boot), and while a
 * trap, a panic or power-off is being reported (log_direct_begin), a line
 * is written at once, after whatever is still queued, to the serial
 * console and the virtio console; never to the remote sink (lwIP is not
 * for interrupt context). A crash thus never loses its last lines.
 *
 * The log task waits LOG_COALESCE_NS after a wake so lines gather into
 * batches. It is a background task until a line takes the ring past half
 * full; then it is raised to a normal one (its turn among the others)
 * until it has drained. When the
 * sinks cannot keep up even so (the UART under full load), the ring fills
 * and lines are dropped: counted (log_get_stats, /metrics) and marked in
 * the log by a "keel: log: N lines dropped (ring full)" line. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/clock.h"
#include "kernel/cmdline.h"
#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/log.h"
#include "kernel/logring.h"
#include "kernel/sched.h"

/* Batch bytes per sink write: a virtio console takes a batch in one
 * descriptor; the UART costs an exit per byte anyway, so smaller batches
 * let the log task yield sooner to tasks that became runnable. */
#define BATCH_VIRTIO 4096
#define BATCH_UART 1024
/* Once woken, the log task lets lines gather this long before it drains,
 * so a batch holds many lines and klog's wake finds no waiter meanwhile.
 * Short enough that an idle machine's lines still show up at once. */
#define LOG_COALESCE_NS (5 * NSEC_PER_MSEC)
#define LOG_FLUSH_MAX_NS (2 * NSEC_PER_SEC) /* log_flush: a stuck sink must not hold up power-off */

/* The log= option; until cmdline_defaults() has run (first thing at
 * boot), warnings and errors only, so a bad option table is reported. */
static enum log_level level = LOG_WARN;

/* Index = enum log_level. */
static const char *const level_names[] = {"off", "err", "warn", "info", "debug", NULL};
_Static_assert(LOG_DEBUG == 4, "level_names follows enum log_level");
_Static_assert(LOGRING_NOTICE_LEVEL == LOG_WARN, "drop notices are warnings");

static const struct cmdline_option options[] = {
    CMDLINE_ENUM_ROW("log", level, "info", level_names,
		     "console log level (info: one line per request and event; debug: more)"),
};
CMDLINE_TABLE(log, options);

static struct logring *ring; /* from the heap at log_start: 64 KiB the image need not carry */
static struct waitq log_wq = WAITQ_INIT(log_wq);
static struct task *log_task_p;
static bool async;        /* the log task runs: lines go through the ring */
static bool raised;       /* the log task is a normal task: the ring passed half full */
static bool in_drain;     /* the log task has lines out of the ring, on their way to the sinks */
static int direct_depth;  /* >0: lines are written at once (log_direct_begin) */
static bool vcon_busy;    /* the log task is inside vcon_write */
static void (*vcon_write)(const char *s, size_t n);
static void (*vcon_sync)(void);
static log_remote_fn remote;

/* Interrupts disabled: a line at once to the serial console and the
 * virtio console (unless the log task is in the middle of a write to it). */
static void write_direct(const char *line, size_t n)
{
	console_write(line, n);
	if (vcon_write && !vcon_busy)
		vcon_write(line, n);
}

/* Interrupts disabled: everything queued, in order, written directly, and
 * (with `line`, n > 0) one more line; then the virtio console has taken it
 * all before this returns, for the machine may stop next. A trap inside
 * the log task's own console write (vcon_busy) leaves the console alone:
 * the serial console has the lines, and the batches already posted may be
 * lost. */
static void flush_direct(const char *more, size_t more_n)
{
	char line[LOGRING_LINE_MAX];
	struct logring_line h;
	size_t n;
	while (ring && (n = logring_get(ring, &h, line, sizeof line)))
		write_direct(line, n);
	if (more_n)
		write_direct(more, more_n);
	if (vcon_write && !vcon_busy)
		vcon_sync();
}

/* A formatted line, to the ring or (direct mode) to the consoles. */
static void emit(enum log_level l, const char *line, size_t n)
{
	uint64_t f = irq_save(); /* one line stays one line */
	if (!async || direct_depth) {
		flush_direct(line, n);
	} else {
		logring_put(ring, (uint8_t)l, clock_now(), line, n);
		if (!raised && logring_used(ring) > LOGRING_BYTES / 2) {
			raised = true; /* a busy machine must not starve the log */
			task_set_background(log_task_p, false);
		}
		waitq_wake_one(&log_wq);
	}
	irq_restore(f);
}

void klog(enum log_level l, const char *subsys, const char *fmt, ...)
{
	if (l > level)
		return;
	char line[LOGRING_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	size_t n = logring_format(line, sizeof line, subsys, fmt, ap);
	va_end(ap);
	emit(l, line, n);
}

void klog_str(enum log_level l, const char *subsys, const char *msg, size_t len)
{
	if (l > level)
		return;
	char line[LOGRING_LINE_MAX];
	emit(l, line, logring_format_str(line, sizeof line, subsys, msg, len));
}

bool log_enabled(enum log_level l) { return l <= level; }

void log_direct_begin(void)
{
	uint64_t f = irq_save();
	direct_depth++;
	flush_direct(NULL, 0);
	irq_restore(f);
}

void log_direct_end(void)
{
	uint64_t f = irq_save();
	direct_depth--;
	irq_restore(f);
}

void log_emergency(const char *line, size_t n)
{
	uint64_t f = irq_save();
	direct_depth++; /* for good: the machine is stopping */
	flush_direct(line, n);
	irq_restore(f);
}

/* ---- the log task ---- */

static void batch_write(const char *s, size_t n)
{
	if (!vcon_write) {
		console_write(s, n);
		return;
	}
	vcon_busy = true;
	vcon_write(s, n);
	vcon_busy = false;
}

/* Drain the ring: each line to the remote sink, warnings also straight
 * to the serial console when a virtio console has the log, and batches
 * to the console sink. Between batches, other tasks go first; no line is
 * held out of the ring across that yield (a power-off meanwhile flushes
 * the ring, and would miss it). */
static void drain(void)
{
	static char batch[BATCH_VIRTIO];
	struct logring_line h;
	size_t n, used = 0, cap = vcon_write ? BATCH_VIRTIO : BATCH_UART;
	_Static_assert(BATCH_UART >= 2 * LOGRING_LINE_MAX, "a batch holds any line");
	for (;;) {
		if (used + LOGRING_LINE_MAX > cap) {
			batch_write(batch, used);
			used = 0;
			if (sched_others_runnable())
				sched_yield();
		}
		uint64_t f = irq_save();
		n = logring_get(ring, &h, batch + used, LOGRING_LINE_MAX);
		irq_restore(f);
		if (!n)
			break;
		if (remote)
			remote(h.level, h.t, batch + used, n);
		if (vcon_write && h.level <= LOG_WARN)
			console_write(batch + used, n);
		used += n;
	}
	if (used)
		batch_write(batch, used);
}

static void log_task(void *arg)
{
	(void)arg;
	uint64_t f = irq_save();
	async = true; /* the task is running: lines may wait for it from now on */
	for (;;) {
		while (logring_empty(ring))
			waitq_wait(&log_wq, 0);
		irq_restore(f);
		sched_sleep(LOG_COALESCE_NS);
		in_drain = true;
		drain();
		in_drain = false;
		f = irq_save();
		raised = false;
		task_set_background(log_task_p, true);
		irq_restore(f);
		f = irq_save();
	}
}

/* From a task: the log task, raised to normal priority, writes out every
 * queued line to every sink (syslog included, which log_emergency leaves
 * out), within LOG_FLUSH_MAX_NS. Before an orderly power-off. */
void log_flush(void)
{
	if (!async || !ring)
		return;
	uint64_t end = clock_now() + LOG_FLUSH_MAX_NS;
	uint64_t f = irq_save();
	raised = true;
	task_set_background(log_task_p, false);
	waitq_wake_one(&log_wq);
	irq_restore(f);
	while ((!logring_empty(ring) || in_drain) && clock_now() < end)
		sched_sleep(NSEC_PER_MSEC);
	f = irq_save();
	if (vcon_write && !vcon_busy) {
		vcon_busy = true; /* a trap meanwhile leaves the queue alone */
		vcon_sync();      /* the last batches are out of the device's buffers */
		vcon_busy = false;
	}
	irq_restore(f);
}

void log_start(void)
{
	ring = malloc(sizeof *ring);
	if (!ring) {
		log_err("log", "no memory for the log ring: lines are written directly");
		return;
	}
	logring_init(ring);
	log_task_p = task_spawn("log", log_task, NULL, 0);
	if (log_task_p)
		task_set_background(log_task_p, true);
	else
		log_err("log", "cannot start the log task: lines are written directly");
}

void log_set_console(const char *name, void (*write)(const char *s, size_t n), void (*sync)(void))
{
	log_info("log", "the log continues on %s; the serial console keeps warnings and errors", name);
	uint64_t f = irq_save();
	flush_direct(NULL, 0); /* what was queued for the serial console goes there first */
	vcon_write = write;
	vcon_sync = sync;
	irq_restore(f);
}

void log_set_remote(log_remote_fn fn) { remote = fn; }

void log_get_stats(struct log_stats *s)
{
	*s = (struct log_stats){0};
	if (!ring)
		return;
	uint64_t f = irq_save();
	s->lines = ring->queued;
	s->dropped = ring->dropped;
	s->queued_bytes = logring_used(ring);
	irq_restore(f);
}
