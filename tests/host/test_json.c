/* JSON in and out (app/json.c): the validator/extractor behind /api/users
 * and the one escaper every JSON string of the appliance goes through.
 *
 * json_write_string is tested here too: this file stands in for the
 * response writer (its struct http_rw and http_write), collecting what is
 * written, checking the piece sizes, and failing on demand. */
#include "tests/host/test.h"

#include <errno.h>
#include <string.h>

#include "app/json.h"

/* ---- a stand-in response writer ---- */

struct http_rw {
	char out[256 * 1024];
	size_t len;
	int calls;
	int fail_at;    /* this call (1-based) and later ones fail; 0: never */
	size_t biggest; /* largest single write */
};

ssize_t http_write(struct http_rw *w, const void *p, size_t n)
{
	if (++w->calls >= w->fail_at && w->fail_at)
		return -EPIPE;
	if (n > sizeof w->out - w->len)
		abort();
	memcpy(w->out + w->len, p, n);
	w->len += n;
	w->biggest = n > w->biggest ? n : w->biggest;
	return (ssize_t)n;
}

static struct http_rw rw;

static void rw_reset(int fail_at)
{
	rw.len = 0;
	rw.calls = 0;
	rw.fail_at = fail_at;
	rw.biggest = 0;
}

/* s[0, n) written with json_write_string equals the literal want. */
static bool writes(const char *s, size_t n, const char *want)
{
	rw_reset(0);
	return json_write_string(&rw, s, n) == 0 && rw.len == strlen(want) && !memcmp(rw.out, want, rw.len);
}

/* ---- input ---- */

static int parse(const char *doc, char *name, char *email, struct json_field *f)
{
	f[0] = (struct json_field){"name", name, 64, 0, 0};
	f[1] = (struct json_field){"email", email, 64, 0, 0};
	return json_parse_object(doc, strlen(doc), f, 2);
}

static void t_valid(void)
{
	char name[64], email[64];
	struct json_field f[2];
	CHECK(parse("{\"name\":\"Ada\",\"email\":\"ada@example.com\"}", name, email, f) == 0);
	CHECK(f[0].found == JSON_STRING && !strcmp(name, "Ada") && f[0].len == 3);
	CHECK(f[1].found == JSON_STRING && !strcmp(email, "ada@example.com"));
	CHECK(parse(" { \"x\" : [1, -2.5e3, true, false, null, {\"a\": {}}], \"name\" : \"B\\u00e9\\n\" } ",
		    name, email, f) == 0);
	CHECK(f[0].found == JSON_STRING && !strcmp(name, "B\xc3\xa9\n") && f[1].found == JSON_ABSENT);
	CHECK(parse("{}", name, email, f) == 0 && f[0].found == JSON_ABSENT && !name[0] && !email[0]);
	CHECK(parse("{\"name\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}", name, email, f) == 0);
	CHECK(f[0].found == JSON_STRING && !strcmp(name, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
	CHECK(parse("{\"name\":\"\\ud83d\\ude00\\/\\\"\\\\\\b\\f\\r\\t\"}", name, email, f) == 0);
	CHECK(f[0].found == JSON_STRING && !strcmp(name, "\xf0\x9f\x98\x80/\"\\\b\f\r\t"));
}

static void t_wrong_types(void)
{
	char name[64], email[64];
	struct json_field f[2];
	CHECK(parse("{\"name\": 42}", name, email, f) == 0 && f[0].found == JSON_NOT_STRING && !name[0]);
	CHECK(parse("{\"inner\": {\"name\": \"x\"}}", name, email, f) == 0 && f[0].found == JSON_ABSENT);
	/* the last of a repeated key decides */
	CHECK(parse("{\"name\":\"a\",\"name\":null}", name, email, f) == 0 && f[0].found == JSON_NOT_STRING);
	CHECK(parse("{\"name\":null,\"name\":\"b\"}", name, email, f) == 0 && !strcmp(name, "b"));
}

static void t_keys(void)
{
	char name[64], email[64];
	struct json_field f[2];
	CHECK(parse("{\"na\\u006de\":\"x\"}", name, email, f) == 0 && f[0].found == JSON_STRING);
	CHECK(parse("{\"name\\u0000junk\":\"x\"}", name, email, f) == 0 && f[0].found == JSON_ABSENT);
	CHECK(parse("{\"nam\":\"x\",\"names\":\"y\"}", name, email, f) == 0 && f[0].found == JSON_ABSENT);
	char doc[300] = "{\"";
	memset(doc + 2, 'k', 200);
	strcpy(doc + 202, "\":\"v\",\"name\":\"n\"}");
	CHECK(parse(doc, name, email, f) == 0 && f[0].found == JSON_STRING && !strcmp(name, "n"));
}

static void t_invalid(void)
{
	static const char *const bad[] = {
	    "",
	    "[]",
	    "\"s\"",
	    "{",
	    "}",
	    "{\"a\"}",
	    "{\"a\":}",
	    "{\"a\":1,}",
	    "{,}",
	    "{\"a\":01}",
	    "{\"a\":1.}",
	    "{\"a\":-}",
	    "{\"a\":1e}",
	    "{\"a\":tru}",
	    "{\"a\":\"\x01\"}",
	    "{\"a\":\"\\x\"}",
	    "{\"a\":\"\\ud800\"}",
	    "{\"a\":1} x",
	    "{'a':1}",
	    "{\"a\":[1,2}",
	    "{\"a\":\"unterminated}",
	    "{\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}", /* deeper than 16 */
	    "{\"a\":\"\\udc00\"}",
	    "{\"a\":\"\\ud800\\u0041\"}",
	    "{\"a\":\"\\ud800x\"}",
	    "{\"a\":\"\\u12\"}",
	    "{\"a\":\"\\u12g4\"}",
	    "{\"name\":\"\\ud83d\"}",
	    "{\"a\":\"\x1f\"}",
	    "{\"a\":\"\t\"}",
	};
	char name[64], email[64];
	struct json_field f[2];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (!CHECK(parse(bad[i], name, email, f) == -EINVAL))
			fprintf(stderr, "  accepted: %s\n", bad[i]);
}

/* §8.1: JSON text is UTF-8; raw bytes that are not are refused (the
 * values are stored and sent back, and must stay valid). */
static void t_invalid_utf8(void)
{
	static const char *const bad[] = {
	    "\x80",             /* lone continuation */
	    "\xc0\xaf",         /* overlong '/' */
	    "\xc1\xbf",         /* overlong */
	    "\xe0\x80\xaf",     /* overlong 3-byte */
	    "\xed\xa0\x80",     /* UTF-16 surrogate D800 */
	    "\xf0\x80\x80\xaf", /* overlong 4-byte */
	    "\xf4\x90\x80\x80", /* past U+10FFFF */
	    "\xf5\x80\x80\x80",
	    "\xff",
	    "\xfe",
	    "\xe2\x82", /* cut before the closing quote */
	    "\xc3",
	    "\xe2\x28\xa1",
	};
	char name[64], email[64], doc[64];
	struct json_field f[2];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(doc, sizeof doc, "{\"name\":\"a%sb\"}", bad[i]);
		CHECK(parse(doc, name, email, f) == -EINVAL);
		snprintf(doc, sizeof doc, "{\"k%s\":1}", bad[i]);
		CHECK(parse(doc, name, email, f) == -EINVAL);
	}
	CHECK(parse("{\"name\":\"\xed\x9f\xbf\xee\x80\x80\xf4\x8f\xbf\xbf\xc2\x80\x7f\"}", name, email, f) ==
	      0);
	CHECK(f[0].found == JSON_STRING && f[0].len == 13);
}

static void t_too_long(void)
{
	char name[4], email[64];
	struct json_field f[2] = {{"name", name, sizeof name, 0, 0}, {"email", email, sizeof email, 0, 0}};
	const char *doc = "{\"name\":\"abcd\",\"email\":\"e\"}";
	CHECK(json_parse_object(doc, strlen(doc), f, 2) == 0);
	CHECK(f[0].found == JSON_TOO_LONG && f[0].len == 4 && !name[0]); /* reported, never cut */
	CHECK(f[1].found == JSON_STRING && !strcmp(email, "e"));
	doc = "{\"name\":\"abc\"}"; /* cap - 1 bytes: fits */
	CHECK(json_parse_object(doc, strlen(doc), f, 2) == 0 && f[0].found == JSON_STRING &&
	      !strcmp(name, "abc"));
	doc = "{\"name\":\"ab\\u00e9\"}"; /* 4 bytes decoded from 1 + 1 + 6 */
	CHECK(json_parse_object(doc, strlen(doc), f, 2) == 0 && f[0].found == JSON_TOO_LONG && !name[0]);
	doc = "{\"name\":\"\\ud83d\\ude00\"}"; /* one 4-byte character */
	CHECK(json_parse_object(doc, strlen(doc), f, 2) == 0 && f[0].found == JSON_TOO_LONG);
}

static void t_nul(void)
{
	char name[64], email[64];
	struct json_field f[2];
	CHECK(parse("{\"name\":\"ab\\u0000cd\",\"email\":\"\\u0000\"}", name, email, f) == 0);
	CHECK(f[0].found == JSON_HAS_NUL && !name[0] && f[1].found == JSON_HAS_NUL && !email[0]);
}

/* Report 1 of the adversarial suite: 40 x \u0001 and 100 x \u001f. */
static void t_report_controls(void)
{
	char doc[1024] = "{\"name\":\"", name[64], email[128], want[1024] = "\"";
	for (int i = 0; i < 40; i++)
		strcat(doc, "\\u0001"), strcat(want, "\\u0001");
	strcat(doc, "\",\"email\":\"");
	for (int i = 0; i < 100; i++)
		strcat(doc, "\\u001f");
	strcat(doc, "\"}");
	strcat(want, "\"");
	struct json_field f[2] = {{"name", name, sizeof name, 0, 0}, {"email", email, sizeof email, 0, 0}};
	CHECK(json_parse_object(doc, strlen(doc), f, 2) == 0);
	CHECK(f[0].found == JSON_STRING && f[0].len == 40 && f[1].found == JSON_STRING && f[1].len == 100);
	CHECK(writes(name, strlen(name), want));
	CHECK(json_escaped_len(email, 100) == 600);
}

static void t_not_terminated(void)
{
	/* The buffer is not NUL-terminated: the parser must stop at n. */
	const char *doc = "{\"name\":\"x\"}";
	char name[64], email[64];
	struct json_field f[2] = {{"name", name, 64, 0, 0}, {"email", email, 64, 0, 0}};
	const char *g = test_guarded(doc);
	CHECK(json_parse_object(g, strlen(doc) - 1, f, 2) == -EINVAL);
	CHECK(json_parse_object(g, strlen(doc), f, 2) == 0);
	static const char *const cut[] = {"{\"a\":\"\\u00", "{\"a\":\"\\ud83d\\ude0", "{\"a\":\"\\",
					  "{\"a\":\"\xf0\x9f"};
	for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++)
		CHECK(json_parse_object(test_guarded_n(cut[i], strlen(cut[i])), strlen(cut[i]), f, 2) ==
		      -EINVAL);
}

/* ---- output ---- */

static const struct {
	const char *what, *in;
	size_t n; /* 0: strlen(in) */
	const char *out;
} escapes[] = {
    {"plain ASCII", "Ada Lovelace <ada@example.com>", 0, "Ada Lovelace <ada@example.com>"},
    {"empty", "", 0, ""},
    {"quote and backslash", "a\"b\\c", 0, "a\\\"b\\\\c"},
    {"slash is left alone", "a/b", 0, "a/b"},
    {"short control escapes", "\b\f\n\r\t", 0, "\\b\\f\\n\\r\\t"},
    {"other controls as \\u00XX", "\x01\x1f\x0b\x1b", 0, "\\u0001\\u001f\\u000b\\u001b"},
    {"NUL inside the length", "a\0b", 3, "a\\u0000b"},
    {"DEL", "\x7f", 0, "\\u007f"},
    {"2-, 3- and 4-byte UTF-8 pass through", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 0,
     "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"},
    {"U+2028 passes (valid JSON; not JavaScript-safe)", "\xe2\x80\xa8", 0, "\xe2\x80\xa8"},
    {"lone continuation -> U+FFFD", "a\x80z", 0, "a\xef\xbf\xbdz"},
    {"overlong C0 AF -> two U+FFFD", "\xc0\xaf", 0, "\xef\xbf\xbd\xef\xbf\xbd"},
    {"E0 80 80: E0 alone is the maximal subpart", "\xe0\x80\x80", 0, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
    {"surrogate ED A0 80 -> three U+FFFD", "\xed\xa0\x80", 0, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
    {"cut 3-byte sequence before ASCII -> one U+FFFD", "\xe2\x82(", 0, "\xef\xbf\xbd("},
    {"cut 4-byte sequence at the end -> one U+FFFD", "\xf0\x9f\x98", 0, "\xef\xbf\xbd"},
    {"past U+10FFFF", "\xf4\x90\x80\x80", 0, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
    {"F5 and FF", "\xf5\xff", 0, "\xef\xbf\xbd\xef\xbf\xbd"},
    {"a quote after a cut sequence is still escaped", "\xc3\"", 0, "\xef\xbf\xbd\\\""},
};

static void t_escape_table(void)
{
	for (size_t i = 0; i < TEST_COUNT(escapes); i++) {
		size_t n = escapes[i].n ? escapes[i].n : strlen(escapes[i].in), used,
		       want = strlen(escapes[i].out);
		char *out = test_guard_region(1, want); /* exactly enough: one byte more would fault */
		size_t k = json_escape(escapes[i].in, n, &used, out, want);
		char quoted[128];
		snprintf(quoted, sizeof quoted, "\"%s\"", escapes[i].out);
		bool ok = k == want && used == n && !memcmp(out, escapes[i].out, k) &&
			  json_escaped_len(escapes[i].in, n) == want && writes(escapes[i].in, n, quoted);
		if (!CHECK(ok))
			fprintf(stderr, "  case: %s\n", escapes[i].what);
	}
}

/* Every byte value alone: printable ASCII as is, '"' '\\' and controls
 * escaped, every byte >= 0x80 alone is ill-formed. */
static void t_escape_every_byte(void)
{
	for (int c = 0; c < 256; c++) {
		char in = (char)c, out[8], want[8];
		size_t used, k = json_escape(&in, 1, &used, out, sizeof out);
		if (c == '"' || c == '\\')
			snprintf(want, sizeof want, "\\%c", c);
		else if (c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t')
			snprintf(want, sizeof want, "\\%c",
				 c == '\b'   ? 'b'
				 : c == '\f' ? 'f'
				 : c == '\n' ? 'n'
				 : c == '\r' ? 'r'
					     : 't');
		else if (c < 0x20 || c == 0x7f)
			snprintf(want, sizeof want, "\\u%04x", (unsigned)c);
		else if (c < 0x80)
			snprintf(want, sizeof want, "%c", c);
		else
			strcpy(want, "\xef\xbf\xbd");
		CHECK(used == 1 && k == strlen(want) && !memcmp(out, want, k) &&
		      json_escaped_len(&in, 1) == k);
	}
}

/* The worst case, 6 bytes out per byte in, at a length far beyond any
 * stored field; json_escaped_len is exact. */
static void t_escape_worst(void)
{
	static char in[20000];
	memset(in, 0x01, sizeof in);
	CHECK(json_escaped_len(in, sizeof in) == JSON_ESCAPE_WORST * sizeof in);
	rw_reset(0);
	CHECK(json_write_string(&rw, in, sizeof in) == 0);
	CHECK(rw.len == JSON_ESCAPE_WORST * sizeof in + 2 && rw.out[0] == '"' && rw.out[rw.len - 1] == '"');
	CHECK(!memcmp(rw.out + 1 + 6 * 12345, "\\u0001", 6));
	CHECK(rw.biggest <= 256); /* streamed in pieces, not one buffer */
	memset(in, '\\', sizeof in);
	CHECK(json_escaped_len(in, sizeof in) == 2 * sizeof in);
}

/* A short output buffer takes whole characters only and says how much
 * input it took; nothing is written past cap. */
static void t_escape_short_buffer(void)
{
	const char *in = "ab\x01\xe2\x82\xac\"";
	size_t used, k;
	for (size_t cap = 0; cap <= 15; cap++) {
		char *out = test_guard_region(1, cap);
		k = json_escape(in, strlen(in), &used, out, cap);
		size_t want_used = cap < 2 ? cap : cap < 8 ? 2 : cap < 11 ? 3 : cap < 13 ? 6 : 7;
		size_t want_k = cap < 2 ? cap : cap < 8 ? 2 : cap < 11 ? 8 : cap < 13 ? 11 : 13;
		CHECK(used == want_used && k == want_k && !memcmp(out, "ab\\u0001\xe2\x82\xac\\\"", k));
	}
	/* with JSON_ESCAPE_WORST bytes there is always progress */
	char out[JSON_ESCAPE_WORST];
	k = json_escape("\x1f", 1, &used, out, sizeof out);
	CHECK(used == 1 && k == 6);
	k = json_escape("\xf0\x9f\x98\x80", 4, &used, out, 3);
	CHECK(used == 0 && k == 0);
}

/* The writer: pieces of at most 256 bytes, whole characters in each, and
 * the first http_write error is returned with nothing written after it. */
static void t_write_pieces(void)
{
	static char in[5000];
	for (size_t i = 0; i < sizeof in; i++)
		in[i] = "a\"\xe2\x82\xac\x01"[i % 6];
	rw_reset(0);
	CHECK(json_write_string(&rw, in, sizeof in) == 0);
	CHECK(rw.len == json_escaped_len(in, sizeof in) + 2 && rw.calls > 1 && rw.biggest <= 256);
	for (int fail = 1; fail <= 3; fail++) {
		rw_reset(fail);
		CHECK(json_write_string(&rw, in, sizeof in) == -EPIPE && rw.calls == fail);
	}
	CHECK(writes("", 0, "\"\""));
	/* lengths around the piece size: the closing quote must still fit */
	memset(in, 'a', sizeof in);
	for (size_t n = 240; n <= 520; n++) {
		rw_reset(0);
		CHECK(json_write_string(&rw, in, n) == 0 && rw.len == n + 2 && rw.out[n + 1] == '"');
	}
}

/* Whatever was decoded from JSON comes back out as the same JSON value. */
static void t_round_trip(void)
{
	char in[200], doc[1400], name[201], email[8];
	for (size_t i = 0; i < 200; i++) /* every ASCII byte but NUL, and some UTF-8 */
		in[i] = i < 127 ? (char)(i + 1) : "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"[(i - 127) % 9];
	size_t n = 200 - (200 - 127) % 9; /* whole characters */
	rw_reset(0);
	CHECK(json_write_string(&rw, in, n) == 0);
	snprintf(doc, sizeof doc, "{\"name\":%.*s}", (int)rw.len, rw.out);
	struct json_field f[2] = {{"name", name, sizeof name, 0, 0}, {"email", email, sizeof email, 0, 0}};
	CHECK(json_parse_object(doc, strlen(doc), f, 2) == 0 && f[0].found == JSON_STRING);
	CHECK(f[0].len == n && !memcmp(name, in, n));
}

static const struct test_case cases[] = {
    {"valid objects, escapes, surrogate pairs, raw UTF-8", t_valid},
    {"non-string members are reported, nested ones ignored, last duplicate wins", t_wrong_types},
    {"keys compare decoded, NUL included, long keys skipped", t_keys},
    {"invalid documents are rejected", t_invalid},
    {"strings that are not UTF-8 are rejected (RFC 8259 8.1)", t_invalid_utf8},
    {"a value longer than its buffer is reported, not cut", t_too_long},
    {"a value holding U+0000 is reported, not cut", t_nul},
    {"report 1: 40 x \\u0001 and 100 x \\u001f come back whole", t_report_controls},
    {"no read past the given length", t_not_terminated},
    {"escape table: controls, quotes, DEL, UTF-8, U+FFFD for ill-formed", t_escape_table},
    {"escape every single byte value", t_escape_every_byte},
    {"worst case 6x, 20000 bytes, exact length", t_escape_worst},
    {"short output buffer: whole characters only, no overrun", t_escape_short_buffer},
    {"json_write_string streams in pieces and stops at the first error", t_write_pieces},
    {"decode -> write -> decode round-trips", t_round_trip},
};

int main(void)
{
	test_init("json");
	test_run(cases, TEST_COUNT(cases));
	return test_finish();
}
