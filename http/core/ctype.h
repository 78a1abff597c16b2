/*
 * Character classes of HTTP's grammar, the one copy every file under http/
 * uses. Pure: no libc, no locale.
 *
 * Everything here is ASCII. HTTP's case-insensitive parts (field names,
 * RFC 9110 §5.1; parameter names, §5.6.6; connection options, §7.6.1;
 * transfer codings, RFC 9112 §7; URI schemes and hosts, RFC 3986 §3.1,
 * §3.2.2; quoted ABNF strings, RFC 5234 §2.3) fold A-Z onto a-z and
 * nothing else, whatever a libc's tolower() would do with obs-text.
 *
 * Bytes are passed as unsigned char, so a char >= 0x80 is never negative.
 */
#ifndef KEEL_HTTP_CTYPE_H
#define KEEL_HTTP_CTYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/ctype.h"

/* DIGIT = %x30-39 (RFC 5234 Appendix B.1). */
static inline bool http_is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* ALPHA = %x41-5A / %x61-7A (RFC 5234 Appendix B.1). */
static inline bool http_is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* The value of a HEXDIG = DIGIT / "A" / "B" / "C" / "D" / "E" / "F" (RFC
 * 5234 Appendix B.1; quoted strings in ABNF are case-insensitive, §2.3, so
 * a-f too), or -1 if c is none: chunk-size (RFC 9112 §7.1), pct-encoded
 * (RFC 3986 §2.1). The kernel's parsers read hex with the same function. */
static inline int http_hex_value(unsigned char c) { return ctype_hex_value(c); }

/* Is c a HEXDIG (as above)? */
static inline bool http_is_hexdig(unsigned char c) { return http_hex_value(c) >= 0; }

/* One byte of OWS, RWS or BWS: SP / HTAB (RFC 9110 §5.6.3). The same two
 * bytes are WSP (RFC 5234 Appendix B.1), which MIME's transport-padding
 * (RFC 2046 §5.1.1) and header folding (RFC 5322 §2.2.3) are made of. */
static inline bool http_is_ows(unsigned char c) { return c == ' ' || c == '\t'; }

/* tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
 *         "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA   (RFC 9110 §5.6.2)
 * The characters of a token: method, field name, transfer coding,
 * parameter name, chunk extension. */
static inline bool http_is_tchar(unsigned char c)
{
	/* One bit per byte value, as the class is tested for every byte of
	 * every field name: digits, letters and the fifteen marks above. */
	static const uint32_t tchar[8] = {
		0, 0x03ff6cfa, 0xc7fffffe, 0x57ffffff, 0, 0, 0, 0,
	};
	return tchar[c >> 5] >> (c & 31) & 1;
}

/* A byte of a field value (RFC 9110 §5.5): field-vchar = VCHAR / obs-text,
 * or the SP / HTAB between them; no NUL, CR, LF, other CTL or DEL. Also
 * qdtext and quoted-pair's second byte, less '"' and '\' (§5.6.4). */
static inline bool http_is_field_char(unsigned char c) { return c == '\t' || (c >= ' ' && c != 0x7f); }

/* Are all n bytes at p http_is_field_char? Eight at a time: a word with
 * no byte below SP and none equal to DEL passes whole (the usual case);
 * from a word with one (HTAB, or a byte that fails) on, byte by byte. The
 * two word tests are exact as to whether such a byte exists (Hacker's
 * Delight §6-1, "find a byte less than n", n <= 128, and "a zero byte"
 * of the word XOR DEL). */
static inline bool http_field_chars(const char *p, size_t n)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t x, del;
		__builtin_memcpy(&x, p + i, 8); /* one unaligned load */
		del = x ^ (0x7f * ones);
		if (((x - 0x20 * ones) & ~x & highs) | ((del - ones) & ~del & highs))
			break;
	}
	for (; i < n; i++)
		if (!http_is_field_char((unsigned char)p[i]))
			return false;
	return true;
}

/* ASCII lower case (see the top of this file). */
static inline unsigned char http_lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; }

/* Are the n bytes at a and b equal but for ASCII case? NUL is an ordinary
 * byte here, unlike in strncasecmp(). */
static inline bool http_eq_nocase(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (http_lower((unsigned char)a[i]) != http_lower((unsigned char)b[i]))
			return false;
	return true;
}

/* Is the slice p[0..n) the NUL-terminated word, but for ASCII case? */
static inline bool http_eq_word(const char *p, size_t n, const char *word)
{
	for (size_t i = 0; i < n; i++)
		if (!word[i] || http_lower((unsigned char)p[i]) != http_lower((unsigned char)word[i]))
			return false;
	return !word[n];
}

#endif
