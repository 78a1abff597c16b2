/*
 * kernel/ipv4.h: ipv4_format against snprintf's "%u.%u.%u.%u" for every
 * byte value in every position, the longest and shortest addresses, and
 * random ones; the text is NUL-terminated and its length returned.
 */
#include "tests/host/test.h"

#include <stdio.h>

#include "kernel/ipv4.h"

static bool same_as_printf(uint32_t a)
{
	char want[32], got[IPV4_STR_MAX + 8];
	memset(got, 'x', sizeof got);
	int n = snprintf(want, sizeof want, "%u.%u.%u.%u", a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255);
	size_t len = ipv4_format(a, got);
	return len == (size_t)n && !strcmp(got, want) && got[IPV4_STR_MAX] == 'x';
}

static void t_every_byte(void)
{
	for (uint32_t b = 0; b < 256; b++)
		for (int shift = 0; shift < 32; shift += 8)
			CHECK(same_as_printf(b << shift | (0x01010101u & ~(0xffu << shift))));
}

static void t_extremes(void)
{
	char s[IPV4_STR_MAX];
	CHECK(ipv4_format(0xffffffffu, s) == 15 && !strcmp(s, "255.255.255.255"));
	CHECK(ipv4_format(0, s) == 7 && !strcmp(s, "0.0.0.0"));
	CHECK(ipv4_format(0x0a00020fu, s) == 9 && !strcmp(s, "10.0.2.15"));
}

static void t_random(void)
{
	uint32_t x = 2463534242u;
	for (int i = 0; i < 100000; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		CHECK(same_as_printf(x));
	}
}

static const struct test_case cases[] = {
	{ "every byte value in every position, as printf's %u.%u.%u.%u", t_every_byte },
	{ "255.255.255.255 (the longest), 0.0.0.0, 10.0.2.15", t_extremes },
	{ "100,000 random addresses, as printf's", t_random },
};

int main(void)
{
	test_init("ipv4");
	test_run(cases, TEST_COUNT(cases));
	return test_finish();
}
