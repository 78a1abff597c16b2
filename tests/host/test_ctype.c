/*
 * http/core/ctype.h: every class over all 256 byte values, against the
 * ABNF rule written out as a string of its members (RFC 9110 §5.6.2,
 * §5.6.3, §5.5; RFC 5234 Appendix B.1), plus the case-insensitive
 * comparisons, which fold ASCII letters and nothing else.
 */
#include "tests/host/test.h"

#include "http/core/ctype.h"

#define DIGIT "0123456789"
#define ALPHA "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

/* Is c one of the bytes of set? NUL never is. */
static bool in(unsigned c, const char *set) { return c && strchr(set, (int)c); }

static void t_digit(void)
{
	for (unsigned c = 0; c < 256; c++)
		CHECK(http_is_digit((unsigned char)c) == in(c, DIGIT));
}

static void t_alpha(void)
{
	for (unsigned c = 0; c < 256; c++)
		CHECK(http_is_alpha((unsigned char)c) == in(c, ALPHA));
}

static void t_hexdig(void)
{
	for (unsigned c = 0; c < 256; c++) {
		const char *hex = "0123456789abcdef", *HEX = "0123456789ABCDEF";
		const char *l = c ? strchr(hex, (int)c) : NULL, *u = c ? strchr(HEX, (int)c) : NULL;
		int want = l ? (int)(l - hex) : u ? (int)(u - HEX) : -1;
		CHECK(http_is_hexdig((unsigned char)c) == (want >= 0));
		CHECK(http_hex_value((unsigned char)c) == want);
	}
}

/* tchar, RFC 9110 §5.6.2. */
static void t_tchar(void)
{
	for (unsigned c = 0; c < 256; c++)
		CHECK(http_is_tchar((unsigned char)c) == in(c, "!#$%&'*+-.^_`|~" DIGIT ALPHA));
}

/* OWS bytes, RFC 9110 §5.6.3. */
static void t_ows(void)
{
	for (unsigned c = 0; c < 256; c++)
		CHECK(http_is_ows((unsigned char)c) == in(c, " \t"));
}

/* field-vchar = VCHAR / obs-text, and SP / HTAB (RFC 9110 §5.5). */
static void t_field_char(void)
{
	for (unsigned c = 0; c < 256; c++) {
		bool vchar = c >= 0x21 && c <= 0x7e, obs_text = c >= 0x80;
		CHECK(http_is_field_char((unsigned char)c) == (vchar || obs_text || c == ' ' || c == '\t'));
	}
}

/* http_field_chars against the byte class: every byte value at every
 * offset of a 24-byte run (three words), at every starting alignment, and
 * random runs with a few low or high bytes mixed in. */
static bool field_chars_slow(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!http_is_field_char((unsigned char)p[i]))
			return false;
	return true;
}

static void t_field_chars(void)
{
	char buf[40];
	for (size_t start = 0; start < 8; start++)
		for (size_t at = 0; at < 24; at++)
			for (unsigned c = 0; c < 256; c++) {
				memset(buf, 'a', sizeof buf);
				buf[start + at] = (char)c;
				CHECK(http_field_chars(buf + start, 24) == http_is_field_char((unsigned char)c));
				CHECK(http_field_chars(buf + start, at) == true); /* the byte just past the end */
			}
	for (size_t n = 0; n <= sizeof buf; n++) { /* runs that end at the array's end: no read past it */
		memset(buf, 'a', sizeof buf);
		CHECK(http_field_chars(buf + sizeof buf - n, n));
		if (n) {
			buf[sizeof buf - 1] = 0x7f;
			CHECK(!http_field_chars(buf + sizeof buf - n, n));
		}
	}
	uint32_t seed = 12345;
	for (int round = 0; round < 20000; round++) {
		size_t n = round % 40;
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			unsigned r = seed >> 16;
			buf[i] = (char)(r % 50 == 0 ? r % 0x21 : r % 50 == 1 ? 0x7f : r % 50 == 2 ? 0x80 + r % 0x80
											   : 0x20 + r % 0x5f);
		}
		CHECK(http_field_chars(buf, n) == field_chars_slow(buf, n));
	}
}

static void t_lower(void)
{
	for (unsigned c = 0; c < 256; c++) {
		const char *u = in(c, ALPHA) && c < 'a' ? strchr(ALPHA, (int)c) : NULL;
		CHECK(http_lower((unsigned char)c) == (u ? (unsigned)u[26] : c));
	}
}

static void t_eq_nocase(void)
{
	CHECK(http_eq_nocase("Content-Length", "content-length", 14));
	CHECK(http_eq_nocase("abc", "abd", 2));
	CHECK(!http_eq_nocase("abc", "abd", 3));
	CHECK(http_eq_nocase("", "", 0));
	CHECK(http_eq_nocase("a\0B", "A\0b", 3)); /* NUL is a byte like any other */
	CHECK(!http_eq_nocase("a\0b", "a\0c", 3));
	CHECK(!http_eq_nocase("\xc0", "\xe0", 1)); /* only ASCII folds */
	CHECK(!http_eq_nocase("[", "{", 1));       /* 0x5b | 0x20 is 0x7b: not a letter */
	CHECK(!http_eq_nocase("@", "`", 1));
}

static void t_eq_word(void)
{
	CHECK(http_eq_word("CHUNKED", 7, "chunked"));
	CHECK(http_eq_word("chunked", 7, "Chunked"));
	CHECK(!http_eq_word("chunked", 6, "chunked"));   /* a prefix is not the word */
	CHECK(!http_eq_word("chunkedx", 8, "chunked"));  /* nor is a longer slice */
	CHECK(!http_eq_word("chunk\0d", 7, "chunk"));
	CHECK(http_eq_word("", 0, ""));
	CHECK(!http_eq_word("", 0, "x"));
	CHECK(!http_eq_word("x", 1, ""));
}

static const struct test_case cases[] = {
	{ "DIGIT is 0-9", t_digit },
	{ "ALPHA is A-Z a-z", t_alpha },
	{ "HEXDIG and its value, either case", t_hexdig },
	{ "tchar is RFC 9110 5.6.2's set", t_tchar },
	{ "OWS bytes are SP and HTAB", t_ows },
	{ "field value bytes: VCHAR, obs-text, SP, HTAB", t_field_char },
	{ "field value runs, eight bytes at a time: as the byte class, at every offset and alignment", t_field_chars },
	{ "lower-casing folds A-Z only", t_lower },
	{ "eq_nocase folds ASCII letters only, NUL included", t_eq_nocase },
	{ "eq_word matches the whole word only", t_eq_word },
};

int main(void)
{
	test_init("ctype");
	test_run(cases, TEST_COUNT(cases));
	return test_finish();
}
