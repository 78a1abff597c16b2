/*
 * Host tests for kernel/logring.c: wraparound, whole-line drops with their
 * counter and notice, no interleaving, and the longest lines (longer than
 * the format buffer, longer than the ring): cut with the mark, never past
 * a buffer (ASan watches the copies).
 */
#include "tests/host/test.h"

#include "kernel/logring.h"

#include <stdarg.h>
#include <stdint.h>

static struct logring ring;

static size_t fmt(char *line, size_t cap, const char *subsys, const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	size_t n = logring_format(line, cap, subsys, f, ap);
	va_end(ap);
	return n;
}

/* The text of line i: its number repeated to a length that varies with i,
 * so records straddle the ring's end at many offsets. */
static size_t make_line(uint32_t i, char *out)
{
	size_t n = (size_t)snprintf(out, 64, "keel: t: line %u ", i);
	size_t want = 40 + i * 7 % 200;
	while (n < want)
		out[n++] = (char)('a' + i % 26);
	out[n++] = '\n';
	return n;
}

static bool line_is(const char *got, size_t n, uint32_t i)
{
	char want[LOGRING_LINE_MAX];
	size_t m = make_line(i, want);
	return n == m && memcmp(got, want, n) == 0;
}

/* Many times round the ring, reading as we go: every line comes back
 * whole, in order, with its level and time. */
static void t_wraparound(void)
{
	logring_init(&ring);
	char line[LOGRING_LINE_MAX], out[LOGRING_LINE_MAX];
	uint32_t next_read = 0, bad = 0;
	for (uint32_t i = 0; i < 20000; i++) {
		size_t n = make_line(i, line);
		CHECK(logring_put(&ring, (uint8_t)(i % 5), i * 10ull, line, n));
		if (i % 3 == 0)
			continue; /* let a backlog build up */
		struct logring_line h;
		while (logring_used(&ring) > LOGRING_BYTES / 2 && (n = logring_get(&ring, &h, out, sizeof out))) {
			bad += !line_is(out, n, next_read) || h.level != next_read % 5 || h.t != next_read * 10ull;
			next_read++;
		}
	}
	struct logring_line h;
	size_t n;
	while ((n = logring_get(&ring, &h, out, sizeof out)))
		bad += !line_is(out, n, next_read++);
	CHECK(bad == 0);
	CHECK(next_read == 20000);
	CHECK(ring.head > LOGRING_BYTES * 10); /* went round many times */
	CHECK(ring.dropped == 0 && logring_empty(&ring));
}

/* Fill the ring with no reader: the lines that do not fit are dropped
 * whole and counted; what is read back is a prefix of what was written,
 * then (after room is made) one notice naming the drops, then new lines. */
static void t_drop_when_full(void)
{
	logring_init(&ring);
	char line[LOGRING_LINE_MAX], out[LOGRING_LINE_MAX];
	uint32_t kept = 0;
	for (uint32_t i = 0; i < 2000; i++)
		kept += logring_put(&ring, 3, 0, line, make_line(i, line));
	CHECK(kept > 100 && kept < 2000);
	CHECK(ring.dropped == 2000 - kept);
	CHECK(ring.unreported == 2000 - kept);
	CHECK(LOGRING_BYTES - logring_used(&ring) < sizeof(struct logring_line) + 300); /* really full */
	/* Still full: a new line is dropped too, and counted. */
	CHECK(!logring_put(&ring, 3, 0, "keel: t: late\n", 14));
	uint32_t dropped = 2000 - kept + 1;
	CHECK(ring.unreported == dropped);
	/* Room again: the reader takes every kept line, in order. */
	struct logring_line h;
	uint32_t bad = 0, i = 0;
	size_t n;
	while ((n = logring_get(&ring, &h, out, sizeof out)))
		bad += !line_is(out, n, i++);
	CHECK(bad == 0 && i == kept);
	/* The next line is preceded by exactly one notice. */
	CHECK(logring_put(&ring, 3, 7, "keel: t: after\n", 15));
	CHECK(ring.unreported == 0 && ring.dropped == dropped);
	n = logring_get(&ring, &h, out, sizeof out);
	char want[80];
	int wn = snprintf(want, sizeof want, "keel: log: %u lines dropped (ring full)\n", dropped);
	CHECK(n == (size_t)wn && memcmp(out, want, n) == 0);
	CHECK(h.level == LOGRING_NOTICE_LEVEL);
	n = logring_get(&ring, &h, out, sizeof out);
	CHECK(n == 15 && memcmp(out, "keel: t: after\n", 15) == 0 && h.t == 7);
	CHECK(logring_get(&ring, &h, out, sizeof out) == 0);
}

/* One dropped line: the notice says "1 line". */
static void t_single_drop_notice(void)
{
	logring_init(&ring);
	char line[LOGRING_LINE_MAX], out[LOGRING_LINE_MAX];
	size_t n = make_line(1, line);
	while (logring_put(&ring, 3, 0, line, n))
		;
	struct logring_line h;
	while (logring_get(&ring, &h, out, sizeof out))
		;
	CHECK(logring_put(&ring, 3, 0, line, n));
	n = logring_get(&ring, &h, out, sizeof out);
	CHECK(n == 38 && memcmp(out, "keel: log: 1 line dropped (ring full)\n", n) == 0);
}

/* Interleaved writers (as klog from tasks and IRQs would be, each call
 * whole): every line read back is one writer's line, never a mix. */
static void t_no_interleaving(void)
{
	logring_init(&ring);
	char a[LOGRING_LINE_MAX], b[LOGRING_LINE_MAX], out[LOGRING_LINE_MAX];
	size_t na = make_line(11, a), nb = make_line(22, b);
	uint32_t bad = 0, lines = 0;
	for (int round = 0; round < 5000; round++) {
		logring_put(&ring, 3, 0, a, na);
		logring_put(&ring, 3, 0, b, nb);
		if (round % 7 == 0) {
			struct logring_line h;
			size_t n;
			while ((n = logring_get(&ring, &h, out, sizeof out))) {
				lines++;
				bad += !(line_is(out, n, 11) || line_is(out, n, 22) ||
					 (n > 11 && memcmp(out, "keel: log: ", 11) == 0));
			}
		}
	}
	CHECK(bad == 0 && lines > 1000);
}

/* The format buffer: a message longer than it is cut and marked; the
 * result is exactly cap bytes and ends in the mark, nothing past it. */
static void t_format_long(void)
{
	char big[4000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = 0;
	char *line = malloc(LOGRING_LINE_MAX); /* ASan: a write past it is caught */
	size_t n = fmt(line, LOGRING_LINE_MAX, "http", "%s", big);
	CHECK(n == LOGRING_LINE_MAX);
	CHECK(memcmp(line, "keel: http: xxx", 15) == 0);
	CHECK(memcmp(line + n - (sizeof LOGRING_CUT_MARK - 1), LOGRING_CUT_MARK, sizeof LOGRING_CUT_MARK - 1) == 0);
	/* A subsystem name longer than the buffer. */
	n = fmt(line, LOGRING_LINE_MAX, big, "short");
	CHECK(n == LOGRING_LINE_MAX && line[n - 1] == '\n');
	/* Exactly fitting and one over. */
	size_t room = LOGRING_LINE_MAX - strlen("keel: s: ") - 1; /* message bytes that fit with '\n' */
	big[room] = 0;
	n = fmt(line, LOGRING_LINE_MAX, "s", "%s", big);
	CHECK(n == LOGRING_LINE_MAX && line[n - 1] == '\n' && line[n - 2] == 'x');
	big[room] = 'x', big[room + 1] = 0;
	n = fmt(line, LOGRING_LINE_MAX, "s", "%s", big);
	CHECK(n == LOGRING_LINE_MAX && line[n - 2] == ']');
	/* Ordinary. */
	n = fmt(line, LOGRING_LINE_MAX, "access", "%d %s", 200, "GET /");
	CHECK(n == 24 && memcmp(line, "keel: access: 200 GET /\n", n) == 0);
	free(line);
}

/* A line longer than the ring (and than LOGRING_LINE_MAX) is cut with the
 * mark when queued; a reader with a short buffer gets its start and the
 * ring stays in step. */
static void t_put_longer_than_ring(void)
{
	logring_init(&ring);
	size_t huge = LOGRING_BYTES * 2;
	char *text = malloc(huge);
	memset(text, 'y', huge);
	CHECK(logring_put(&ring, 1, 0, text, huge));
	free(text);
	CHECK(logring_put(&ring, 3, 0, "keel: t: next\n", 14));
	char out[LOGRING_LINE_MAX], small[8];
	struct logring_line h;
	size_t n = logring_get(&ring, &h, out, sizeof out);
	CHECK(n == LOGRING_LINE_MAX && h.len == LOGRING_LINE_MAX);
	CHECK(memcmp(out + n - (sizeof LOGRING_CUT_MARK - 1), LOGRING_CUT_MARK, sizeof LOGRING_CUT_MARK - 1) == 0);
	CHECK(logring_put(&ring, 3, 0, "keel: t: third line\n", 20));
	n = logring_get(&ring, &h, small, sizeof small);
	CHECK(n == sizeof small && memcmp(small, "keel: t:", 8) == 0 && h.len == 14);
	n = logring_get(&ring, &h, out, sizeof out);
	CHECK(n == 20 && memcmp(out, "keel: t: third line\n", 20) == 0);
	CHECK(logring_empty(&ring));
}

static const struct test_case cases[] = {
	{ "wraparound: 20000 lines of varying length come back whole and in order", t_wraparound },
	{ "full ring: whole lines dropped and counted, one notice before the next line", t_drop_when_full },
	{ "one drop: the notice says 1 line", t_single_drop_notice },
	{ "two writers: no line is ever a mix of both", t_no_interleaving },
	{ "format: longer than the buffer is cut with the mark, never past it", t_format_long },
	{ "put: a line longer than the ring is cut; a short reader buffer stays in step", t_put_longer_than_ring },
};

int main(void)
{
	test_init("logring");
	test_run(cases, TEST_COUNT(cases));
	return test_finish();
}
