/* Console log: one line per event, "keel: <subsystem>: <message>".
 * klog() may be called from any context; after early boot the line is
 * queued and written by the log task (kernel/log.c). */
#ifndef KEEL_LOG_H
#define KEEL_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_OFF, LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void klog(enum log_level level, const char *subsys, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_err(sub, ...) klog(LOG_ERR, sub, __VA_ARGS__)
#define log_warn(sub, ...) klog(LOG_WARN, sub, __VA_ARGS__)
#define log_info(sub, ...) klog(LOG_INFO, sub, __VA_ARGS__)
#define log_debug(sub, ...) klog(LOG_DEBUG, sub, __VA_ARGS__)

/* klog with the message already formatted (msg[0, len), no '\n'): a
 * per-request line built without printf. */
void klog_str(enum log_level level, const char *subsys, const char *msg, size_t len);
/* Would a line at this level be logged? (Skip building one that would not.) */
bool log_enabled(enum log_level level);

/* Start the log task (after sched_init). Until it first runs, lines are
 * written directly, as in early boot. */
void log_start(void);
/* From a task: every queued line written out to every sink (syslog
 * included), bounded in time; before an orderly power-off. */
void log_flush(void);
/* From begin to end (nested), lines are written at once, after what was
 * queued: for a trap being reported. */
void log_direct_begin(void);
void log_direct_end(void);
/* Panic and power-off: flush what is queued, write `line` (any level),
 * and stay in direct mode for good. Interrupts off is fine. */
void log_emergency(const char *line, size_t n);

/* A console device that takes the log from now on (a virtio console):
 * write() posts a batch and may return before the device has it; sync()
 * waits until it has everything. Both must work with interrupts off. */
void log_set_console(const char *name, void (*write)(const char *s, size_t n), void (*sync)(void));
/* A remote sink (syslog): each line the level lets through, in the log
 * task; `t` is the clock_now() time it was logged at, text ends in '\n'. */
typedef void (*log_remote_fn)(enum log_level level, uint64_t t, const char *text, size_t n);
void log_set_remote(log_remote_fn fn);

struct log_stats {
	uint64_t lines;        /* lines queued through the ring */
	uint64_t dropped;      /* lines dropped: the ring was full */
	uint32_t queued_bytes; /* in the ring now */
};
void log_get_stats(struct log_stats *s);

#endif
