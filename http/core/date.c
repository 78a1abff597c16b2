/* HTTP-date in IMF-fixdate form (RFC 9110 §5.6.7), e.g.
 * "Sun, 06 Nov 1994 08:49:37 GMT", formatted once per second. */
#include <errno.h>
#include <string.h>

#include "http/core/fmt.h"
#include "http/h1/internal.h"
#include "kernel/civil.h"
#include "kernel/clock.h"

static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/* IMF-fixdate has a four-digit year: 0000-9999, else *b is marked over. */
static void put_date(struct http_buf *b, int64_t secs)
{
	struct civil_time t;
	civil_from_epoch(secs, &t);
	if (t.year < 0 || t.year > 9999) {
		b->over = true;
		return;
	}
	http_buf_put(b, days[t.wday], 3);
	http_buf_put(b, ", ", 2);
	http_buf_dec(b, t.day, 2);
	http_buf_put(b, " ", 1);
	http_buf_put(b, months[t.month - 1], 3);
	http_buf_put(b, " ", 1);
	http_buf_dec(b, (uint64_t)t.year, 4);
	http_buf_put(b, " ", 1);
	http_buf_dec(b, t.hour, 2);
	http_buf_put(b, ":", 1);
	http_buf_dec(b, t.min, 2);
	http_buf_put(b, ":", 1);
	http_buf_dec(b, t.sec, 2);
	http_buf_put(b, " GMT", 4);
}

size_t http_format_date(int64_t secs, char *out, size_t cap)
{
	struct http_buf b = http_buf_init(out, cap ? cap - 1 : 0);
	put_date(&b, secs);
	if (b.over || !cap)
		return 0;
	out[b.len] = '\0';
	return b.len;
}

void http_date(struct http_buf *b)
{
	static int64_t cached_secs = -1;
	static char cached[32];
	static size_t cached_len;
	int64_t secs = (int64_t)(clock_wall_ns() / NSEC_PER_SEC);
	if (secs != cached_secs) {
		cached_len = http_format_date(secs, cached, sizeof cached);
		cached_secs = secs;
	}
	http_buf_put(b, cached, cached_len);
}

/* Only IMF-fixdate, the form we generate: RFC 9110 §5.6.7 says recipients
 * should also accept two obsolete forms, which we treat as unknown (the
 * request is then served unconditionally). */
int http_parse_date(const char *s, size_t n, int64_t *secs)
{
	if (n != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' || s[19] != ':' ||
	    s[22] != ':' || s[25] != ' ' || memcmp(s + 26, "GMT", 3))
		return -EBADMSG;
	static const int digits[] = { 5, 6, 12, 13, 14, 15, 17, 18, 20, 21, 23, 24 };
	for (size_t i = 0; i < sizeof digits / sizeof digits[0]; i++)
		if (s[digits[i]] < '0' || s[digits[i]] > '9')
			return -EBADMSG;
#define D2(i) ((unsigned)(s[i] - '0') * 10 + (unsigned)(s[(i) + 1] - '0'))
	struct civil_time t = { .day = D2(5), .year = (int)(D2(12) * 100 + D2(14)),
				.hour = D2(17), .min = D2(20), .sec = D2(23) };
#undef D2
	for (unsigned m = 0; m < 12; m++)
		if (!memcmp(s + 8, months[m], 3))
			t.month = m + 1;
	if (!t.month || !t.day || t.day > 31 || t.hour > 23 || t.min > 59 || t.sec > 60)
		return -EBADMSG;
	*secs = civil_to_epoch(&t);
	return 0;
}
