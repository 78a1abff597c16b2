/* The log ring: a fixed-size byte ring of whole log lines, between klog()
 * (any context, interrupts disabled around each call) and the log task
 * that drains it in batches (kernel/log.c).
 *
 * Invariants: the ring holds whole records only, each a struct
 * logring_line header followed by its text; a line is queued whole or not
 * at all, so lines never interleave and a reader never sees half a line.
 * When a line does not fit it is dropped and counted; the next line that
 * fits is preceded by one notice line, "keel: log: N lines dropped (ring
 * full)", so a gap in the log is always marked where it happened.
 *
 * Pure module: no locking, no allocation, no kernel services (the caller
 * serialises; tests/host/test_logring.c runs it on the host). */
#ifndef KEEL_LOGRING_H
#define KEEL_LOGRING_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes of the ring: at about 120 bytes per access line (header included)
 * that is some 500 requests of backlog. A power of two. */
#define LOGRING_BYTES (64u * 1024)
/* Longest line text, its '\n' included; longer lines are cut and end in
 * LOGRING_CUT_MARK. It is also the size of klog's format buffer. */
#define LOGRING_LINE_MAX 320
/* The end of a line that was cut, '\n' included. */
#define LOGRING_CUT_MARK " [truncated]\n"

/* The level a drop notice is queued at (enum log_level's LOG_WARN). */
#define LOGRING_NOTICE_LEVEL 2

struct logring_line {
	uint64_t t;     /* when it was queued (the caller's clock) */
	uint16_t len;   /* text bytes that follow, '\n' included */
	uint8_t level;  /* enum log_level */
};

struct logring {
	uint32_t head, tail;  /* free-running: bytes ever written, bytes ever read */
	uint64_t queued;      /* lines queued, notices included */
	uint64_t dropped;     /* lines dropped because they did not fit */
	uint32_t unreported;  /* of those, dropped since the last notice went in */
	uint8_t buf[LOGRING_BYTES];
};

void logring_init(struct logring *r);
/* Queue one line of n bytes (it should end in '\n'; a longer one than
 * LOGRING_LINE_MAX is cut and marked). Preceded by a drop notice when
 * lines were dropped before it. true if queued; false if dropped (then
 * counted in `dropped` and `unreported`). */
bool logring_put(struct logring *r, uint8_t level, uint64_t t, const char *text, size_t n);
/* Take the oldest line: its header into *h and its text into out (cap >=
 * LOGRING_LINE_MAX holds any line; a shorter buffer gets the start of it).
 * Returns the bytes copied, 0 when the ring is empty. */
size_t logring_get(struct logring *r, struct logring_line *h, char *out, size_t cap);
static inline bool logring_empty(const struct logring *r) { return r->head == r->tail; }
static inline uint32_t logring_used(const struct logring *r) { return r->head - r->tail; }

/* Format "keel: <subsys>: <message>\n" into line[cap] (cap > the cut
 * mark): a message that does not fit is cut and ends in LOGRING_CUT_MARK.
 * Returns the length, '\n' included; never writes past cap. */
size_t logring_format(char *line, size_t cap, const char *subsys, const char *fmt, va_list ap);
/* The same with a message already formatted: msg[0, len). */
size_t logring_format_str(char *line, size_t cap, const char *subsys, const char *msg, size_t len);

#endif
