/* The log ring (logring.h): records of a header and a line's text in a
 * byte ring indexed by free-running counters, so used bytes are
 * head - tail and no slot is wasted to tell full from empty. */
#include "kernel/logring.h"

#include <stdio.h>
#include <string.h>

#define HDR sizeof(struct logring_line)
#define NOTICE_MAX 64 /* "keel: log: 4294967295 lines dropped (ring full)\n" */

_Static_assert((LOGRING_BYTES & (LOGRING_BYTES - 1)) == 0, "ring size is a power of two: indexes wrap by mask");
_Static_assert(LOGRING_LINE_MAX <= UINT16_MAX, "a line's length fits its header");
_Static_assert(2 * (HDR + LOGRING_LINE_MAX) + HDR + NOTICE_MAX <= LOGRING_BYTES,
	       "a notice and the longest line fit an empty ring, with room to spare");
_Static_assert(sizeof LOGRING_CUT_MARK - 1 < LOGRING_LINE_MAX / 2, "the cut mark leaves room for text");

void logring_init(struct logring *r) { memset(r, 0, sizeof *r); }

static void copy_in(struct logring *r, const void *src, size_t n)
{
	uint32_t at = r->head & (LOGRING_BYTES - 1);
	size_t first = n < LOGRING_BYTES - at ? n : LOGRING_BYTES - at;
	memcpy(r->buf + at, src, first);
	memcpy(r->buf, (const uint8_t *)src + first, n - first);
	r->head += (uint32_t)n;
}

static void copy_out(struct logring *r, void *dst, size_t n)
{
	uint32_t at = r->tail & (LOGRING_BYTES - 1);
	size_t first = n < LOGRING_BYTES - at ? n : LOGRING_BYTES - at;
	memcpy(dst, r->buf + at, first);
	memcpy((uint8_t *)dst + first, r->buf, n - first);
	r->tail += (uint32_t)n;
}

static void put_record(struct logring *r, uint8_t level, uint64_t t, const char *text, size_t n)
{
	struct logring_line h = { .t = t, .len = (uint16_t)n, .level = level };
	copy_in(r, &h, HDR);
	copy_in(r, text, n);
	r->queued++;
}

/* A line longer than LOGRING_LINE_MAX: its start, then the cut mark. */
static size_t cut(const char *text, char *out)
{
	size_t keep = LOGRING_LINE_MAX - (sizeof LOGRING_CUT_MARK - 1);
	memcpy(out, text, keep);
	memcpy(out + keep, LOGRING_CUT_MARK, sizeof LOGRING_CUT_MARK - 1);
	return LOGRING_LINE_MAX;
}

bool logring_put(struct logring *r, uint8_t level, uint64_t t, const char *text, size_t n)
{
	char shortened[LOGRING_LINE_MAX];
	if (n > LOGRING_LINE_MAX)
		n = cut(text, shortened), text = shortened;
	char notice[NOTICE_MAX];
	size_t nn = 0;
	if (r->unreported)
		nn = (size_t)snprintf(notice, sizeof notice, "keel: log: %u line%s dropped (ring full)\n",
				      (unsigned)r->unreported, r->unreported == 1 ? "" : "s");
	size_t need = HDR + n + (nn ? HDR + nn : 0);
	if (need > LOGRING_BYTES - logring_used(r)) {
		r->dropped++;
		r->unreported++;
		return false;
	}
	if (nn) {
		put_record(r, LOGRING_NOTICE_LEVEL, t, notice, nn);
		r->unreported = 0;
	}
	put_record(r, level, t, text, n);
	return true;
}

size_t logring_get(struct logring *r, struct logring_line *h, char *out, size_t cap)
{
	if (logring_empty(r))
		return 0;
	copy_out(r, h, HDR);
	size_t n = h->len < cap ? h->len : cap;
	copy_out(r, out, n);
	r->tail += (uint32_t)(h->len - n); /* the part that did not fit out */
	return n;
}

/* "keel: SUBSYS: " at the line's start, or as much of it as fits before
 * room for the cut mark; its length, 0 if it did not all fit. */
static size_t put_prefix(char *line, size_t cap, const char *subsys)
{
	size_t room = cap - (sizeof LOGRING_CUT_MARK - 1), n = 0;
	const char *parts[3] = {"keel: ", subsys, ": "};
	for (int i = 0; i < 3; i++) {
		size_t k = strlen(parts[i]);
		memcpy(line + n, parts[i], k < room - n ? k : room - n);
		if (k >= room - n)
			return 0;
		n += k;
	}
	return n;
}

/* Too long (the prefix or the message): the line ends in the mark. */
static size_t mark_cut(char *line, size_t cap)
{
	size_t mark = sizeof LOGRING_CUT_MARK - 1;
	memcpy(line + cap - mark, LOGRING_CUT_MARK, mark);
	return cap;
}

size_t logring_format(char *line, size_t cap, const char *subsys, const char *fmt, va_list ap)
{
	size_t n = put_prefix(line, cap, subsys);
	if (!n)
		return mark_cut(line, cap);
	/* Room for the message and its '\n' (which takes the NUL's place). */
	int m = vsnprintf(line + n, cap - n, fmt, ap);
	if (m < 0) /* nothing reliable was written: no stack bytes go out */
		memset(line + n, '?', cap - n);
	if (m < 0 || (size_t)m >= cap - n)
		return mark_cut(line, cap);
	n += (size_t)m;
	line[n++] = '\n';
	return n;
}

size_t logring_format_str(char *line, size_t cap, const char *subsys, const char *msg, size_t len)
{
	size_t n = put_prefix(line, cap, subsys);
	if (!n)
		return mark_cut(line, cap);
	memcpy(line + n, msg, len < cap - n ? len : cap - n);
	if (len >= cap - n)
		return mark_cut(line, cap);
	n += len;
	line[n++] = '\n';
	return n;
}
