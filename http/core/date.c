/* HTTP-date in IMF-fixdate form (RFC 9110 §5.6.7), e.g.
 * "Sun, 06 Nov 1994 08:49:37 GMT", formatted once per second. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "http/h1/internal.h"
#include "kernel/civil.h"
#include "kernel/clock.h"

static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

size_t http_format_date(int64_t secs, char *out, size_t cap)
{
	struct civil_time t;
	civil_from_epoch(secs, &t);
	int n = snprintf(out, cap, "%s, %02u %s %04d %02u:%02u:%02u GMT", days[t.wday], t.day, months[t.month - 1],
			 t.year, t.hour, t.min, t.sec);
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

size_t http_date(char *out, size_t cap)
{
	static int64_t cached_secs = -1;
	static char cached[32];
	static size_t cached_len;
	int64_t secs = (int64_t)(clock_wall_ns() / NSEC_PER_SEC);
	if (secs != cached_secs) {
		cached_len = http_format_date(secs, cached, sizeof cached);
		cached_secs = secs;
	}
	if (cached_len >= cap)
		return 0;
	memcpy(out, cached, cached_len);
	return cached_len;
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
