/*
 * Path and query helpers; the contract is in path.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "http/core/ctype.h"
#include "http/core/path.h"

/* pct-encoded = "%" HEXDIG HEXDIG (RFC 3986 §2.1). */
static int decode(const char *in, size_t n, char *out, size_t cap, bool plus_is_space)
{
	size_t o = 0;
	if (n > INT32_MAX)
		return -EOVERFLOW; /* the length is returned as an int */
	for (size_t i = 0; i < n; i++, o++) {
		if (o == cap)
			return -ENOBUFS;
		char c = in[i];
		if (c == '%') {
			int hi = n - i > 2 ? http_hex_value((unsigned char)in[i + 1]) : -1;
			int lo = hi >= 0 ? http_hex_value((unsigned char)in[i + 2]) : -1;
			if (lo < 0 || (hi | lo) == 0)
				return -EBADMSG;
			c = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && plus_is_space) {
			c = ' ';
		}
		out[o] = c;
	}
	return (int)o;
}

int http_percent_decode(const char *in, size_t n, char *out, size_t cap)
{
	return decode(in, n, out, cap, false);
}

/* HTML's application/x-www-form-urlencoded: '+' is an encoded SP. */
int http_query_decode(const char *in, size_t n, char *out, size_t cap)
{
	return decode(in, n, out, cap, true);
}

/*
 * Go's path.Clean, on a path made rooted: out always holds a clean rooted
 * prefix; each input segment is dropped (empty, "."), removes out's last
 * segment (".."; at the root there is none to remove), or is appended.
 */
size_t http_path_clean(const char *in, size_t n, char *out, size_t cap)
{
	size_t r = 0, w = 1;
	if (!cap)
		return 0;
	out[0] = '/';
	while (r < n) {
		size_t e = r;
		while (e < n && in[e] != '/')
			e++;
		size_t len = e - r;
		if (len == 2 && in[r] == '.' && in[r + 1] == '.') {
			while (w > 1 && out[--w] != '/')
				;
		} else if (len && !(len == 1 && in[r] == '.')) {
			if (w + (w > 1) + len > cap)
				return 0;
			if (w > 1)
				out[w++] = '/';
			memcpy(out + w, in + r, len);
			w += len;
		}
		r = e + 1;
	}
	/* net/http's cleanPath puts a trailing slash back: "/a/" names a
	 * directory, "/a" may not */
	if (n && in[n - 1] == '/' && w > 1) {
		if (w == cap)
			return 0;
		out[w++] = '/';
	}
	return w;
}

bool http_query_next(struct http_slice *q, struct http_slice *key, struct http_slice *value)
{
	while (q->n) {
		const char *amp = memchr(q->p, '&', q->n);
		size_t len = amp ? (size_t)(amp - q->p) : q->n;
		const char *piece = q->p;
		q->p += amp ? len + 1 : len;
		q->n -= amp ? len + 1 : len;
		if (!len)
			continue;
		const char *eq = memchr(piece, '=', len);
		*key = (struct http_slice){ piece, eq ? (size_t)(eq - piece) : len };
		if (eq)
			*value = (struct http_slice){ eq + 1, len - key->n - 1 };
		else
			*value = (struct http_slice){ piece + len, 0 };
		return true;
	}
	return false;
}
