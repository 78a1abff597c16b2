/*
 * libFuzzer target for app/json.c: the escaper every JSON string of the
 * appliance goes through, its streaming writer, and the object parser.
 *
 * The whole input is a string to escape. Beyond "no crash, no sanitizer
 * report" it checks that
 *   - json_escaped_len is exact, json_escape writes exactly that into a
 *     buffer of exactly that size, and in short buffers whole characters
 *     only, the pieces adding up to the same text;
 *   - json_write_string sends '"' + that + '"' in pieces of at most 256
 *     bytes, and stops at the first failed http_write, returning its error;
 *   - the output is one valid JSON string (RFC 8259 §7, checked by the
 *     strict decoder below, written apart from json.c) with no raw control
 *     byte or DEL, whose decoded bytes are the input with each maximal
 *     ill-formed UTF-8 subpart replaced by U+FFFD (reference below, also
 *     apart from json.c): so valid UTF-8 round-trips exactly;
 *   - json_parse_object reads it back to those same bytes.
 * The input is also parsed as a JSON document: whatever string it yields
 * must be NUL-terminated UTF-8 within its buffer and survive the same
 * write -> parse round trip.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/json.h"
#include "tests/host/fuzz.h"

#define MAX_IN    8192
#define PIECE_MAX 256 /* json_write_string's stack buffer */

/* ---- a stand-in response writer ---- */

struct http_rw {
	char out[2 + JSON_ESCAPE_WORST * MAX_IN];
	size_t len;
	int calls, fail_at; /* fail_at: this call and later ones fail; 0: never */
};

ssize_t http_write(struct http_rw *w, const void *p, size_t n)
{
	INVARIANT(n > 0 && n <= PIECE_MAX);
	if (++w->calls >= w->fail_at && w->fail_at)
		return -EPIPE;
	INVARIANT(n <= sizeof w->out - w->len);
	memcpy(w->out + w->len, p, n);
	w->len += n;
	return (ssize_t)n;
}

static struct http_rw rw;

/* ---- reference UTF-8 (by code point value, not by byte table) ---- */

/* Could b[0, k) begin a well-formed UTF-8 sequence? The k bytes fix the
 * top bits of the code point; some completion must land in the range
 * that sequence length encodes, outside the surrogates. */
static bool valid_prefix(const unsigned char *b, size_t k)
{
	size_t len = b[0] >= 0xf0 && b[0] < 0xf8   ? 4
		     : b[0] >= 0xe0 && b[0] < 0xf0 ? 3
		     : b[0] >= 0xc0 && b[0] < 0xe0 ? 2
						   : 0;
	static const uint32_t lo_of[] = {0, 0, 0x80, 0x800, 0x10000},
			      hi_of[] = {0, 0, 0x7ff, 0xffff, 0x10ffff};
	if (!len || k > len)
		return false;
	uint32_t v = b[0] & (0xff >> (len + 1));
	for (size_t i = 1; i < k; i++) {
		if ((b[i] & 0xc0) != 0x80)
			return false;
		v = v << 6 | (b[i] & 0x3f);
	}
	unsigned free_bits = 6 * (unsigned)(len - k);
	uint32_t vmin = v << free_bits, vmax = vmin | ((1u << free_bits) - 1);
	if (vmax < lo_of[len] || vmin > hi_of[len])
		return false;
	/* the only hole in a range is the surrogates, D800..DFFF */
	return !(vmin >= 0xd800 && vmax <= 0xdfff);
}

/* s[0, n) with each maximal ill-formed subpart replaced by U+FFFD. */
static size_t reference(const unsigned char *s, size_t n, unsigned char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		if (s[i] < 0x80) {
			out[o++] = s[i++];
			continue;
		}
		size_t k = 1;
		while (i + k < n && k < 4 && valid_prefix(s + i, k + 1))
			k++;
		size_t len = s[i] >= 0xf0 ? 4 : s[i] >= 0xe0 ? 3 : 2;
		if (valid_prefix(s + i, 1) && k == len) {
			memcpy(out + o, s + i, k); /* complete and well-formed */
			o += k;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
		}
		i += k;
	}
	return o;
}

static bool is_utf8(const unsigned char *s, size_t n)
{
	for (size_t i = 0, len; i < n; i += len) {
		len = s[i] < 0x80 ? 1 : s[i] >= 0xf0 ? 4 : s[i] >= 0xe0 ? 3 : 2;
		if (len > 1 && (len > n - i || !valid_prefix(s + i, len)))
			return false;
	}
	return true;
}

/* ---- a strict JSON string decoder (RFC 8259 §7) ---- */

static int hexval(unsigned char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

static long u4(const unsigned char *p, size_t left)
{
	if (left < 6 || p[0] != '\\' || p[1] != 'u')
		return -1;
	long v = 0;
	for (int i = 2; i < 6; i++) {
		int d = hexval(p[i]);
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

static size_t put_cp(unsigned char *o, uint32_t cp)
{
	if (cp < 0x80)
		return o[0] = (unsigned char)cp, 1;
	if (cp < 0x800)
		return o[0] = (unsigned char)(0xc0 | cp >> 6), o[1] = (unsigned char)(0x80 | (cp & 0x3f)), 2;
	if (cp < 0x10000)
		return o[0] = (unsigned char)(0xe0 | cp >> 12),
		       o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f)),
		       o[2] = (unsigned char)(0x80 | (cp & 0x3f)), 3;
	return o[0] = (unsigned char)(0xf0 | cp >> 18), o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f)),
	       o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f)), o[3] = (unsigned char)(0x80 | (cp & 0x3f)), 4;
}

/* Decode the JSON string p[0, n) (quotes included, nothing after); the
 * decoded length, or -1 if it is not exactly one valid string. */
static long decode(const unsigned char *p, size_t n, unsigned char *out)
{
	size_t o = 0, i = 1;
	if (n < 2 || p[0] != '"' || !is_utf8(p, n))
		return -1;
	while (i < n - 1) {
		unsigned char c = p[i];
		if (c == '"' || c < 0x20)
			return -1; /* unescaped quote before the end, or a raw control */
		if (c != '\\') {
			out[o++] = c;
			i++;
			continue;
		}
		if (i + 1 >= n - 1)
			return -1;
		const char *e = strchr("\"\\/bfnrt", p[i + 1]);
		if (p[i + 1] && e) {
			out[o++] = (unsigned char)"\"\\/\b\f\n\r\t"[e - "\"\\/bfnrt"];
			i += 2;
			continue;
		}
		long cp = u4(p + i, n - 1 - i), lo;
		if (cp < 0 || (cp >= 0xdc00 && cp <= 0xdfff))
			return -1;
		i += 6;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if ((lo = u4(p + i, n - 1 - i)) < 0xdc00 || lo > 0xdfff)
				return -1;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			i += 6;
		}
		o += put_cp(out + o, (uint32_t)cp);
	}
	return i == n - 1 && p[i] == '"' ? (long)o : -1;
}

/* ---- the checks ---- */

static unsigned char want[3 * MAX_IN], got[3 * MAX_IN];

/* json_escape into pieces of `cap` bytes: the same text, whole characters. */
static void check_pieces(const char *s, size_t n, const char *full, size_t cap)
{
	char *piece = malloc(cap ? cap : 1);
	size_t at = 0, used;
	INVARIANT(piece);
	while (n) {
		size_t k = json_escape(s, n, &used, piece, cap);
		INVARIANT(k <= cap && used <= n && !memcmp(piece, full + at, k));
		INVARIANT(cap < JSON_ESCAPE_WORST ? used || !k : used > 0);
		if (!used)
			break; /* cap too small for the next character */
		at += k, s += used, n -= used;
	}
	free(piece);
}

/* The string written by json_write_string is read back by the parser. */
static void check_parse_back(const char *json, size_t len, const unsigned char *dec, size_t dlen)
{
	size_t cap = dlen + 1;
	char *doc = malloc(len + 16), *buf = malloc(cap);
	INVARIANT(doc && buf);
	memcpy(doc, "{\"name\":", 8);
	memcpy(doc + 8, json, len);
	doc[8 + len] = '}';
	struct json_field f = {"name", buf, cap, 0, 0};
	INVARIANT(json_parse_object(doc, len + 9, &f, 1) == 0);
	if (memchr(dec, 0, dlen))
		INVARIANT(f.found == JSON_HAS_NUL && !buf[0]);
	else
		INVARIANT(f.found == JSON_STRING && f.len == dlen && !memcmp(buf, dec, dlen) && !buf[dlen]);
	if (dlen) { /* one byte less room: reported, never cut */
		f.cap = dlen;
		INVARIANT(json_parse_object(doc, len + 9, &f, 1) == 0);
		INVARIANT(f.found == (memchr(dec, 0, dlen) ? JSON_HAS_NUL : JSON_TOO_LONG) && !buf[0]);
	}
	free(doc);
	free(buf);
}

static void check_escape(const char *s, size_t n, int fail_at, size_t cap)
{
	size_t len = json_escaped_len(s, n), used;
	char *full = malloc(len ? len : 1); /* exactly: ASan sees one byte more */
	INVARIANT(full);
	INVARIANT(len <= JSON_ESCAPE_WORST * n);
	INVARIANT(json_escape(s, n, &used, full, len) == len && used == n);
	for (size_t i = 0; i < len; i++)
		INVARIANT((unsigned char)full[i] >= 0x20 && full[i] != 0x7f);
	check_pieces(s, n, full, cap);

	rw.len = 0, rw.calls = 0, rw.fail_at = 0;
	INVARIANT(json_write_string(&rw, s, n) == 0);
	INVARIANT(rw.len == len + 2 && rw.out[0] == '"' && !memcmp(rw.out + 1, full, len) &&
		  rw.out[len + 1] == '"');
	long dlen = decode((const unsigned char *)rw.out, rw.len, got);
	size_t rlen = reference((const unsigned char *)s, n, want);
	INVARIANT(dlen >= 0 && (size_t)dlen == rlen && !memcmp(got, want, rlen));
	if (is_utf8((const unsigned char *)s, n))
		INVARIANT(rlen == n && !memcmp(got, s, n));
	check_parse_back(rw.out, rw.len, got, (size_t)dlen);

	if (fail_at) {
		int calls = rw.calls;
		rw.len = 0, rw.calls = 0, rw.fail_at = fail_at;
		int r = json_write_string(&rw, s, n);
		INVARIANT(fail_at <= calls ? r == -EPIPE && rw.calls == fail_at : r == 0);
	}
	free(full);
}

/* The input as a document: what the parser extracts must be whole,
 * terminated, UTF-8 without NUL, and survive write -> parse. */
static void check_document(const char *p, size_t n)
{
	char name[64], email[8];
	struct json_field f[2] = {{"name", name, sizeof name, 0, 0}, {"email", email, sizeof email, 0, 0}};
	int r = json_parse_object(p, n, f, 2);
	INVARIANT(r == 0 || r == -EINVAL);
	for (int i = 0; i < 2; i++) {
		INVARIANT(memchr(f[i].buf, 0, f[i].cap));
		if (r < 0 || f[i].found != JSON_STRING) {
			INVARIANT(!f[i].buf[0]);
			continue;
		}
		INVARIANT(f[i].len < f[i].cap && strlen(f[i].buf) == f[i].len);
		INVARIANT(is_utf8((const unsigned char *)f[i].buf, f[i].len));
		rw.len = 0, rw.calls = 0, rw.fail_at = 0;
		INVARIANT(json_write_string(&rw, f[i].buf, f[i].len) == 0);
		check_parse_back(rw.out, rw.len, (const unsigned char *)f[i].buf, f[i].len);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > MAX_IN)
		return 0;
	/* The last byte, if any, also picks the failing write and the piece
	 * size; it stays part of the string. */
	unsigned knob = size ? data[size - 1] : 0;
	check_escape((const char *)data, size, (int)(knob % 5), knob % 17);
	check_document((const char *)data, size);
	return 0;
}
