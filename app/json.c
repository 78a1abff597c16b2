/* A strict recursive-descent JSON validator (RFC 8259 §2-§7), depth
 * bounded so hostile input cannot exhaust the task stack. */
#include <string.h>

#include "app/json.h"

#define MAX_DEPTH 16

struct js {
	const char *p, *end;
};

static void ws(struct js *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int hex4(const char *p)
{
	int v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9' ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10 : -1;
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

static size_t put_utf8(char *o, unsigned cp)
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

/* A string at s->p ('"' included); decoded into out (if non-NULL).
 * Returns the decoded length or -1. */
static long string(struct js *s, char *out, size_t cap)
{
	if (s->p >= s->end || *s->p != '"')
		return -1;
	size_t n = 0;
	for (s->p++; s->p < s->end; s->p++) {
		char tmp[4];
		size_t k = 1;
		unsigned char c = (unsigned char)*s->p;
		if (c == '"') {
			s->p++;
			if (out)
				out[n] = 0;
			return (long)n;
		}
		if (c < 0x20)
			return -1; /* §7: control characters must be escaped */
		tmp[0] = (char)c;
		if (c == '\\') {
			if (++s->p >= s->end)
				return -1;
			const char *esc = strchr("\"\\/bfnrt", *s->p);
			if (*s->p && esc) {
				tmp[0] = "\"\\/\b\f\n\r\t"[esc - "\"\\/bfnrt"];
			} else if (*s->p == 'u' && s->end - s->p > 4) {
				int cp = hex4(s->p + 1);
				if (cp < 0 || (cp >= 0xd800 && cp <= 0xdfff))
					return -1; /* surrogates: not accepted here */
				k = put_utf8(tmp, (unsigned)cp);
				s->p += 4;
			} else {
				return -1;
			}
		}
		if (out) {
			if (n + k >= cap)
				return -1;
			memcpy(out + n, tmp, k);
		}
		n += k;
	}
	return -1;
}

static int value(struct js *s, int depth);

static int number(struct js *s)
{
	const char *p = s->p;
	if (p < s->end && *p == '-')
		p++;
	if (p >= s->end || *p < '0' || *p > '9')
		return -1;
	if (*p == '0')
		p++;
	else
		while (p < s->end && *p >= '0' && *p <= '9')
			p++;
	if (p < s->end && *p == '.') {
		if (++p >= s->end || *p < '0' || *p > '9')
			return -1;
		while (p < s->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < s->end && (*p == 'e' || *p == 'E')) {
		if (++p < s->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= s->end || *p < '0' || *p > '9')
			return -1;
		while (p < s->end && *p >= '0' && *p <= '9')
			p++;
	}
	s->p = p;
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

/* Members of an object or elements of an array, after the opening bracket. */
static int members(struct js *s, int depth, char close, struct json_field *f, int nf)
{
	ws(s);
	if (s->p < s->end && *s->p == close)
		return s->p++, 0;
	for (;;) {
		ws(s);
		if (close == '}') {
			char key[64];
			const char *kstart = s->p;
			struct json_field *want = NULL;
			if (string(s, key, sizeof key) >= 0) {
				for (int i = 0; i < nf; i++)
					if (!strcmp(f[i].key, key))
						want = &f[i];
			} else { /* too long to be one we want: just validate it */
				s->p = kstart;
				if (string(s, NULL, 0) < 0)
					return -1;
			}
			ws(s);
			if (s->p >= s->end || *s->p++ != ':')
				return -1;
			ws(s);
			if (want && s->p < s->end && *s->p == '"') {
				if (string(s, want->buf, want->cap) < 0)
					return -1;
				want->found = 1;
			} else if (value(s, depth) < 0) {
				return -1;
			} else if (want) {
				want->found = -1;
			}
		} else if (value(s, depth) < 0) {
			return -1;
		}
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
	if (s->p >= s->end || depth >= MAX_DEPTH)
		return -1;
	switch (*s->p) {
	case '{': s->p++; return members(s, depth + 1, '}', NULL, 0);
	case '[': s->p++; return members(s, depth + 1, ']', NULL, 0);
	case '"': return string(s, NULL, 0) < 0 ? -1 : 0;
	case 't': return literal(s, "true");
	case 'f': return literal(s, "false");
	case 'n': return literal(s, "null");
	default: return number(s);
	}
}

int json_parse_object(const char *p, size_t n, struct json_field *fields, int nfields)
{
	struct js s = { p, p + n };
	for (int i = 0; i < nfields; i++)
		fields[i].found = 0;
	ws(&s);
	if (s.p >= s.end || *s.p != '{')
		return -1;
	s.p++;
	if (members(&s, 1, '}', fields, nfields) < 0)
		return -1;
	ws(&s);
	return s.p == s.end ? 0 : -1;
}

static size_t u_escape(char *esc, unsigned c)
{
	static const char hex[] = "0123456789abcdef";
	memcpy(esc, "\\u00", 4);
	esc[4] = hex[c >> 4];
	esc[5] = hex[c & 15];
	return 6;
}

size_t json_quote(const char *s, char *out, size_t cap)
{
	size_t n = 0;
	if (cap < 3)
		return 0;
	out[n++] = '"';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[7];
		size_t k;
		if (c == '"' || c == '\\')
			esc[0] = '\\', esc[1] = (char)c, k = 2;
		else if (c < 0x20)
			k = u_escape(esc, c);
		else
			esc[0] = (char)c, k = 1;
		if (n + k + 2 > cap)
			return 0;
		memcpy(out + n, esc, k);
		n += k;
	}
	out[n++] = '"';
	out[n] = 0;
	return n;
}
