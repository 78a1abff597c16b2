/*
 * A bounded string builder for the bytes HTTP puts on every response: the
 * status line, header lines, dates, lengths. It replaces snprintf on that
 * path, where formatting cost more guest instructions than parsing the
 * request (make profile, tests/bench/profile.py --insns).
 *
 * An append that does not fit writes nothing and sets `over`; every later
 * append is refused too, so a caller checks once at the end and never
 * sends a head cut in the middle of a line. No NUL is written. Pure: no
 * libc but memcpy.
 */
#ifndef KEEL_HTTP_FMT_H
#define KEEL_HTTP_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct http_buf {
	char *p;
	size_t len, cap;
	bool over; /* an append did not fit; p[0, len) is what did */
};

static inline struct http_buf http_buf_init(char *p, size_t cap) { return (struct http_buf){ p, 0, cap, false }; }

static inline void http_buf_put(struct http_buf *b, const void *s, size_t n)
{
	if (b->over || n > b->cap - b->len) {
		b->over = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static inline void http_buf_str(struct http_buf *b, const char *s) { http_buf_put(b, s, strlen(s)); }

/* v in decimal, zero-padded to at least `width` digits (at most 20). */
static inline void http_buf_dec(struct http_buf *b, uint64_t v, unsigned width)
{
	char d[20];
	unsigned n = 0;
	do {
		d[sizeof d - ++n] = (char)('0' + v % 10);
		v /= 10;
	} while (v && n < sizeof d);
	while (n < width && n < sizeof d)
		d[sizeof d - ++n] = '0';
	http_buf_put(b, d + sizeof d - n, n);
}

/* v in lower-case hexadecimal, no leading zeros (chunk-size, RFC 9112 §7.1). */
static inline void http_buf_hex(struct http_buf *b, uint64_t v)
{
	char d[16];
	unsigned n = 0;
	do {
		d[sizeof d - ++n] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	http_buf_put(b, d + sizeof d - n, n);
}

#endif
