/* JSON in and out (contract and escaping policy in json.h).
 *
 * In: a strict recursive-descent validator (RFC 8259 §2-§8), depth
 * bounded so hostile input cannot exhaust the task stack, that decodes
 * the wanted string members. Out: one escaper, pure so that the host
 * tests and the fuzzer run the very code the appliance does, and a
 * writer that streams it through http_write in fixed-size pieces. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "app/json.h"
#include "http/core/ctype.h"

#define MAX_DEPTH   16
#define KEY_MAX     64  /* longer member names are validated, never wanted */
#define WRITE_PIECE 256 /* json_write_string's stack buffer */

struct js {
	const char *p, *end;
};

/* ---- UTF-8 (Unicode §3.9, Table 3-7) ---- */

/* The sequence at p[0, n) (n > 0): the length (1..4) of a well-formed
 * one, or minus the length (1..3) of its maximal ill-formed subpart: the
 * bytes that one U+FFFD stands for. The second byte's range depends on
 * the first so that overlong forms, surrogates (ED A0..BF) and code
 * points past U+10FFFF are ill-formed. */
static int utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	int len;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
	else
		return -1;
	for (int i = 1; i < len; i++, lo = 0x80, hi = 0xbf)
		if ((size_t)i >= n || p[i] < lo || p[i] > hi)
			return -i;
	return len;
}

static size_t put_utf8(char *o, unsigned long cp)
{
	if (cp < 0x80)
		return o[0] = (char)cp, 1;
	if (cp < 0x800)
		return o[0] = (char)(0xc0 | cp >> 6), o[1] = (char)(0x80 | (cp & 0x3f)), 2;
	if (cp < 0x10000)
		return o[0] = (char)(0xe0 | cp >> 12), o[1] = (char)(0x80 | ((cp >> 6) & 0x3f)),
		       o[2] = (char)(0x80 | (cp & 0x3f)), 3;
	return o[0] = (char)(0xf0 | cp >> 18), o[1] = (char)(0x80 | ((cp >> 12) & 0x3f)),
	       o[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), o[3] = (char)(0x80 | (cp & 0x3f)), 4;
}

/* ---- input ---- */

static void ws(struct js *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static long hex4(const char *p)
{
	long v = 0;
	for (int i = 0; i < 4; i++) {
		int d = http_hex_value((unsigned char)p[i]);
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* The escape at s->p (its backslash included) decoded into o; returns
 * its length, 0 if invalid. A \u escape is a UTF-16 code unit (§7): a
 * high surrogate must be followed by an escaped low one, the pair being
 * one character; a lone surrogate has no UTF-8 form and is refused. */
static size_t escape(struct js *s, char *o)
{
	static const char names[] = "\"\\/bfnrt", codes[] = "\"\\/\b\f\n\r\t";
	const char *p = s->p + 1, *e;
	if (p >= s->end)
		return 0;
	if ((e = memchr(names, *p, sizeof names - 1))) {
		s->p = p + 1;
		return *o = codes[e - names], 1;
	}
	if (*p != 'u' || s->end - p < 5)
		return 0;
	long cp = hex4(p + 1), lo;
	p += 5;
	if (cp < 0 || (cp >= 0xdc00 && cp <= 0xdfff))
		return 0;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (s->end - p < 6 || p[0] != '\\' || p[1] != 'u' || (lo = hex4(p + 2)) < 0xdc00 ||
		    lo > 0xdfff)
			return 0;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		p += 6;
	}
	s->p = p;
	return put_utf8(o, (unsigned long)cp);
}

/* The string at s->p (opening quote included), decoded. Its first bytes
 * go to out (if non-NULL) as long as they fit below cap, then a NUL;
 * *len is the whole decoded length (>= cap: it did not fit), *nul whether
 * it holds U+0000. 0, or -1 if it is not a valid string. */
static int string(struct js *s, char *out, size_t cap, size_t *len, bool *nul)
{
	size_t n = 0;
	*nul = false;
	if (s->p >= s->end || *s->p != '"')
		return -1;
	for (s->p++; s->p < s->end;) {
		unsigned char c = (unsigned char)*s->p;
		char tmp[4];
		size_t k;
		int q;
		if (c == '"') {
			s->p++;
			if (out)
				out[n < cap ? n : 0] = 0;
			*len = n;
			return 0;
		}
		if (c < 0x20)
			return -1; /* §7: control characters must be escaped */
		if (c == '\\') {
			if (!(k = escape(s, tmp)))
				return -1;
		} else if ((q = utf8_seq((const unsigned char *)s->p, (size_t)(s->end - s->p))) > 0) {
			memcpy(tmp, s->p, (size_t)q);
			s->p += q;
			k = (size_t)q;
		} else {
			return -1; /* §8.1: JSON text is UTF-8 */
		}
		*nul |= k == 1 && !tmp[0];
		/* n only grows: once a character is left out, all later ones are */
		if (out && n + k < cap)
			memcpy(out + n, tmp, k);
		n += k;
	}
	return -1;
}

static int value(struct js *s, int depth);

static int digits(struct js *s)
{
	const char *p = s->p;
	while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
		s->p++;
	return s->p > p ? 0 : -1;
}

/* §6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static int number(struct js *s)
{
	if (s->p < s->end && *s->p == '-')
		s->p++;
	if (s->p < s->end && *s->p == '0')
		s->p++;
	else if (digits(s) < 0)
		return -1;
	if (s->p < s->end && *s->p == '.') {
		s->p++;
		if (digits(s) < 0)
			return -1;
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		if (++s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		if (digits(s) < 0)
			return -1;
	}
	return 0;
}

static int literal(struct js *s, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n))
		return -1;
	s->p += n;
	return 0;
}

/* A wanted member's string value, decoded into its field. */
static int wanted_string(struct js *s, struct json_field *f)
{
	bool nul;
	if (string(s, f->buf, f->cap, &f->len, &nul) < 0)
		return -1;
	f->found = nul ? JSON_HAS_NUL : f->len >= f->cap ? JSON_TOO_LONG : JSON_STRING;
	if (f->found != JSON_STRING)
		f->buf[0] = 0; /* never a prefix: a cut value must not be stored */
	return 0;
}

/* One "key": value member of an object; the fields are wanted only at the
 * top level (f is NULL deeper down). Keys compare as decoded bytes, so
 * "na\u006de" is "name" and "name\u0000x" is not. */
static int member(struct js *s, int depth, struct json_field *f, int nf)
{
	char key[KEY_MAX];
	size_t klen;
	bool nul;
	struct json_field *want = NULL;
	if (string(s, key, sizeof key, &klen, &nul) < 0)
		return -1;
	for (int i = 0; i < nf && klen < sizeof key; i++)
		if (strlen(f[i].key) == klen && !memcmp(f[i].key, key, klen))
			want = &f[i];
	ws(s);
	if (s->p >= s->end || *s->p++ != ':')
		return -1;
	ws(s);
	if (want && s->p < s->end && *s->p == '"')
		return wanted_string(s, want);
	if (value(s, depth) < 0)
		return -1;
	if (want) {
		want->found = JSON_NOT_STRING;
		want->buf[0] = 0;
		want->len = 0;
	}
	return 0;
}

/* Members of an object or elements of an array, after the opening bracket. */
static int members(struct js *s, int depth, char close, struct json_field *f, int nf)
{
	ws(s);
	if (s->p < s->end && *s->p == close)
		return s->p++, 0;
	for (;;) {
		ws(s);
		if ((close == '}' ? member(s, depth, f, nf) : value(s, depth)) < 0)
			return -1;
		ws(s);
		if (s->p >= s->end)
			return -1;
		if (*s->p == close)
			return s->p++, 0;
		if (*s->p++ != ',')
			return -1;
	}
}

static int value(struct js *s, int depth)
{
	size_t len;
	bool nul;
	if (s->p >= s->end || depth >= MAX_DEPTH)
		return -1;
	switch (*s->p) {
	case '{':
		s->p++;
		return members(s, depth + 1, '}', NULL, 0);
	case '[':
		s->p++;
		return members(s, depth + 1, ']', NULL, 0);
	case '"':
		return string(s, NULL, 0, &len, &nul);
	case 't':
		return literal(s, "true");
	case 'f':
		return literal(s, "false");
	case 'n':
		return literal(s, "null");
	default:
		return number(s);
	}
}

static void clear(struct json_field *fields, int nfields)
{
	for (int i = 0; i < nfields; i++) {
		fields[i].found = JSON_ABSENT;
		fields[i].len = 0;
		fields[i].buf[0] = 0;
	}
}

int json_parse_object(const char *p, size_t n, struct json_field *fields, int nfields)
{
	struct js s = {p, p + n};
	clear(fields, nfields);
	ws(&s);
	if (s.p < s.end && *s.p == '{') {
		s.p++;
		if (members(&s, 1, '}', fields, nfields) == 0) {
			ws(&s);
			if (s.p == s.end)
				return 0;
		}
	}
	clear(fields, nfields); /* nothing from a document that is not one */
	return -EINVAL;
}

/* ---- output ---- */

/* The first character of s[0, n) (n > 0) escaped into o; returns its
 * length and sets *in to the input bytes it stands for. */
static size_t escape_char(const unsigned char *s, size_t n, size_t *in, char *o)
{
	static const char hex[] = "0123456789abcdef", ctl[] = "\b\f\n\r\t", name[] = "bfnrt";
	unsigned char c = s[0];
	const char *e;
	int q;
	*in = 1;
	if (c == '"' || c == '\\')
		return o[0] = '\\', o[1] = (char)c, 2;
	if (c >= 0x20 && c < 0x7f)
		return o[0] = (char)c, 1;
	if (c && (e = memchr(ctl, c, sizeof ctl - 1)))
		return o[0] = '\\', o[1] = name[e - ctl], 2;
	if (c < 0x80) {
		memcpy(o, "\\u00", 4);
		o[4] = hex[c >> 4], o[5] = hex[c & 15];
		return 6;
	}
	if ((q = utf8_seq(s, n)) < 0) {
		*in = (size_t)-q;
		memcpy(o, "\xef\xbf\xbd", 3); /* U+FFFD REPLACEMENT CHARACTER */
		return 3;
	}
	*in = (size_t)q;
	memcpy(o, s, (size_t)q);
	return (size_t)q;
}

size_t json_escape(const char *s, size_t n, size_t *used, char *out, size_t cap)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, o = 0;
	while (i < n) {
		char tmp[JSON_ESCAPE_WORST];
		size_t in, k = escape_char(u + i, n - i, &in, tmp);
		if (k > cap - o)
			break; /* whole characters only: the caller sends what fits */
		memcpy(out + o, tmp, k);
		o += k;
		i += in;
	}
	*used = i;
	return o;
}

size_t json_escaped_len(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t total = 0;
	for (size_t i = 0, in; i < n; i += in) {
		char tmp[JSON_ESCAPE_WORST];
		total += escape_char(u + i, n - i, &in, tmp);
	}
	return total;
}

int json_write_string(struct http_rw *w, const char *s, size_t n)
{
	char buf[WRITE_PIECE];
	size_t k = 0, used;
	buf[k++] = '"';
	for (;;) {
		/* One byte stays free for the closing quote; the rest is always
		 * at least JSON_ESCAPE_WORST, so every round makes progress. */
		k += json_escape(s, n, &used, buf + k, sizeof buf - k - 1);
		s += used;
		n -= used;
		if (!n)
			buf[k++] = '"';
		ssize_t r = http_write(w, buf, k);
		if (r < 0)
			return (int)r;
		if (!n)
			return 0;
		k = 0;
	}
}
