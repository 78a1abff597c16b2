/*
 * http/core/chunked.c: the chunked transfer coding decoder (RFC 9112 §7.1).
 * Every vector is decoded in one piece, at every truncation point, byte by
 * byte, and in random splits; all must agree. Inputs end right before a
 * PROT_NONE page, so reading past the given length faults.
 */
#include "tests/host/test.h"

#include <stdint.h>

#include "http/core/chunked.h"

/* A writable copy of s[0, n) whose last byte is the last before a
 * PROT_NONE page (the decoder works in place). */
static char *guard(const char *s, size_t n) { return memcpy(test_guard_region(0, n), s, n); }

/* The outcome of decoding a whole input, however it was fed. */
struct result {
	int status;          /* HTTP_CHUNKED_ERROR, HTTP_CHUNKED_INCOMPLETE, 0 done */
	char data[32768];    /* decoded chunk data */
	size_t data_n;
	char rest[256];      /* bytes after the body */
	size_t rest_n;
};

/* Feed in[0, n) to the decoder in pieces of the sizes in cuts (0 ends
 * them; what is left goes last), each piece in its own guarded buffer. */
static void feed(const char *in, size_t n, const size_t *cuts, struct result *res)
{
	struct http_chunked d = { 0 };
	memset(res, 0, sizeof *res);
	res->status = HTTP_CHUNKED_INCOMPLETE;
	size_t off = 0;
	for (size_t i = 0; off < n || i == 0; i++) {
		size_t k = cuts && cuts[i] && cuts[i] < n - off ? cuts[i] : n - off;
		char *b = guard(in + off, k);
		size_t len = k;
		ptrdiff_t r = http_chunked_decode(&d, b, &len);
		if (len > k || res->data_n + len > sizeof res->data)
			abort();
		memcpy(res->data + res->data_n, b, len);
		res->data_n += len;
		off += k;
		if (r == HTTP_CHUNKED_ERROR) {
			res->status = HTTP_CHUNKED_ERROR;
			return;
		}
		if (r >= 0) {
			/* done: this piece's rest, then every later byte */
			res->status = 0;
			size_t more = n - off;
			if ((size_t)r + len > k || (size_t)r + more > sizeof res->rest)
				abort();
			memcpy(res->rest, b + len, (size_t)r);
			memcpy(res->rest + r, in + off, more);
			res->rest_n = (size_t)r + more;
			return;
		}
		if (k == 0)
			return;
	}
}

static bool same(const struct result *a, const struct result *b)
{
	return a->status == b->status && a->data_n == b->data_n && !memcmp(a->data, b->data, a->data_n) &&
	       a->rest_n == b->rest_n && !memcmp(a->rest, b->rest, a->rest_n);
}

struct vector {
	const char *name, *in;
	size_t len;
	int status;        /* 0 valid, HTTP_CHUNKED_ERROR, HTTP_CHUNKED_INCOMPLETE */
	const char *data;  /* decoded, if valid */
	size_t rest;       /* bytes after the body, if valid */
};

#define OK(name, in, data, rest) { name, in, sizeof(in) - 1, 0, data, rest }
#define BAD(name, in) { name, in, sizeof(in) - 1, HTTP_CHUNKED_ERROR, NULL, 0 }
#define MORE(name, in) { name, in, sizeof(in) - 1, HTTP_CHUNKED_INCOMPLETE, NULL, 0 }

static const struct vector vectors[] = {
	OK("one chunk", "3\r\nabc\r\n0\r\n\r\n", "abc", 0),
	OK("two chunks", "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n", "abcdefg", 0),
	OK("empty body", "0\r\n\r\n", "", 0),
	OK("hex sizes, both cases", "a\r\n0123456789\r\nB\r\nabcdefghijk\r\n0\r\n\r\n",
	  "0123456789abcdefghijk", 0),
	OK("leading zeros", "0003\r\nabc\r\n000\r\n\r\n", "abc", 0),
	OK("many leading zeros do not overflow", "000000000000000000000000003\r\nabc\r\n0\r\n\r\n", "abc", 0),
	OK("data holds CRLF", "4\r\n\r\n\r\n\r\n0\r\n\r\n", "\r\n\r\n", 0),
	OK("data holds NUL", "2\r\n\0\0\r\n0\r\n\r\n", "\0\0", 0),
	OK("extension name", "3;foo\r\nabc\r\n0\r\n\r\n", "abc", 0),
	OK("extension token value", "3;foo=bar\r\nabc\r\n0;last\r\n\r\n", "abc", 0),
	OK("extensions, several", "3;a;b=c;d=\"e\"\r\nabc\r\n0\r\n\r\n", "abc", 0),
	OK("extension quoted with escapes", "3;n=\"a b;\\\"c\\\\\"\r\nabc\r\n0\r\n\r\n", "abc", 0),
	OK("extension BWS (RFC 9112 §7.1.1)", "3 ;\tn = v ; m\r\nabc\r\n0\r\n\r\n", "abc", 0),
	OK("extension obs-text in quotes", "3;n=\"\x80\xff\"\r\nabc\r\n0\r\n\r\n", "abc", 0),
	OK("trailer fields", "3\r\nabc\r\n0\r\nExpires: never\r\nX-Sum:  1\t2 \r\n\r\n", "abc", 0),
	OK("empty trailer value", "0\r\nA:\r\n\r\n", "", 0),
	OK("bytes after the body", "1\r\nx\r\n0\r\n\r\nGET / HTTP/1.1\r\n", "x", 16),
	OK("2^63-1 size then cut", "0\r\n\r\n7fffffffffffffff\r\n", "", 18),
	MORE("largest chunk-size", "7fffffffffffffff\r\nabc"),
	MORE("missing last chunk", "3\r\nabc\r\n"),
	MORE("missing final CRLF", "3\r\nabc\r\n0\r\n"),
	MORE("missing final CRLF after trailer", "0\r\nA: b\r\n"),
	BAD("empty", "\r\n"),
	BAD("not hex", "g\r\n"),
	BAD("0x prefix", "0x3\r\nabc\r\n"),
	BAD("negative", "-1\r\n"),
	BAD("size with sign", "+3\r\nabc\r\n"),
	BAD("SP before size", " 3\r\nabc\r\n"),
	BAD("SP after size without extension", "3 \r\nabc\r\n0\r\n\r\n"),
	BAD("size 2^63 overflows", "8000000000000000\r\n"),
	BAD("size 2^64 overflows", "10000000000000000\r\n"),
	BAD("bare LF after size", "3\nabc\r\n0\r\n\r\n"),
	BAD("bare CR after size", "3\rabc\r\n0\r\n\r\n"),
	BAD("data too long", "3\r\nabcd\r\n0\r\n\r\n"),
	BAD("data then bare LF", "3\r\nabc\n0\r\n\r\n"),
	BAD("data then CR only", "3\r\nabc\r0\r\n\r\n"),
	BAD("extension without name", "3;\r\nabc\r\n"),
	BAD("extension name not token", "3;a(b\r\nabc\r\n"),
	BAD("extension empty name with value", "3;=v\r\nabc\r\n"),
	BAD("extension empty value", "3;a=\r\nabc\r\n"),
	BAD("extension two words", "3;a b\r\nabc\r\n"),
	BAD("extension value then word", "3;a=b c\r\nabc\r\n"),
	BAD("extension BWS before CRLF", "3;a \r\nabc\r\n"),
	BAD("extension quoted not closed", "3;a=\"b\r\nabc\r\n"),
	BAD("extension quoted CTL", "3;a=\"\x01\"\r\nabc\r\n"),
	BAD("extension bare LF", "3;a=b\nabc\r\n"),
	BAD("last chunk bare LF", "0\n\r\n"),
	BAD("final bare LF", "0\r\n\n"),
	BAD("final CR without LF", "0\r\n\rx"),
	BAD("trailer obs-fold", "0\r\nA: b\r\n c\r\n\r\n"),
	BAD("trailer SP before colon", "0\r\nA : b\r\n\r\n"),
	BAD("trailer no colon", "0\r\nAb\r\n\r\n"),
	BAD("trailer empty name", "0\r\n: b\r\n\r\n"),
	BAD("trailer CTL in value", "0\r\nA: \x01\r\n\r\n"),
	BAD("trailer NUL in value", "0\r\nA: \0\r\n\r\n"),
	BAD("trailer bare LF", "0\r\nA: b\n\r\n"),
	BAD("trailer bare CR", "0\r\nA: b\rc\r\n\r\n"),
	BAD("trailer starts with SP", "0\r\n A: b\r\n\r\n"),
};

static void check_vector(const struct vector *v)
{
	struct result one, r;
	feed(v->in, v->len, NULL, &one);
	if (!CHECK(one.status == v->status))
		fprintf(stderr, "  %s: status %d\n", v->name, one.status);
	if (v->status == 0) {
		CHECK(one.data_n == strlen(v->data) || !strcmp(v->name, "data holds NUL"));
		CHECK(!memcmp(one.data, v->data, one.data_n));
		CHECK(one.rest_n == v->rest && !memcmp(one.rest, v->in + v->len - v->rest, v->rest));
	}
	/* incomplete N: every truncation of a valid body needs more, with the
	 * data so far decoded; of an invalid one, needs more or fails */
	for (size_t n = 0; n < v->len; n++) {
		feed(v->in, n, NULL, &r);
		if (v->status == 0 && n >= v->len - v->rest) { /* the body is complete */
			CHECK(r.status == 0 && r.rest_n == n - (v->len - v->rest));
			continue;
		}
		if (!CHECK(r.status == HTTP_CHUNKED_INCOMPLETE || (v->status == HTTP_CHUNKED_ERROR && r.status == HTTP_CHUNKED_ERROR)))
			fprintf(stderr, "  %s: incomplete %zu: status %d\n", v->name, n, r.status);
		CHECK(r.data_n <= one.data_n && !memcmp(r.data, one.data, r.data_n));
	}
	/* byte by byte */
	size_t ones[1024];
	for (size_t i = 0; i < TEST_COUNT(ones); i++)
		ones[i] = 1;
	feed(v->in, v->len, v->len < TEST_COUNT(ones) ? ones : NULL, &r);
	CHECK(same(&one, &r));
	/* random splits */
	unsigned seed = 7;
	for (int round = 0; round < 200; round++) {
		size_t cuts[1024];
		for (size_t i = 0; i < TEST_COUNT(cuts) - 1; i++) {
			seed = seed * 1103515245 + 12345;
			cuts[i] = 1 + (seed >> 16) % 9;
		}
		cuts[TEST_COUNT(cuts) - 1] = 0;
		feed(v->in, v->len, cuts, &r);
		if (!CHECK(same(&one, &r)))
			break;
	}
}

static char row_name[200];

static void t_vectors(void)
{
	for (size_t i = 0; i < TEST_COUNT(vectors); i++) {
		if (i)
			test_end();
		int st = vectors[i].status;
		const char *what = st == 0 ? "valid" : st == HTTP_CHUNKED_ERROR ? "invalid" : "incomplete";
		snprintf(row_name, sizeof row_name, "%s: %s", what, vectors[i].name);
		test_begin(row_name);
		check_vector(&vectors[i]);
	}
}

/* Once done, further bytes belong to the next message; once failed, the
 * decoder stays failed. */
static void t_sticky(void)
{
	struct http_chunked d = { 0 };
	char b[32];
	size_t n = 5;
	memcpy(b, "0\r\n\r\n", 5);
	CHECK(http_chunked_decode(&d, b, &n) == 0 && n == 0);
	memcpy(b, "xyz", 3);
	n = 3;
	CHECK(http_chunked_decode(&d, b, &n) == 3 && n == 0 && !memcmp(b, "xyz", 3));
	n = 0;
	CHECK(http_chunked_decode(&d, b, &n) == 0 && n == 0);

	struct http_chunked e = { 0 };
	memcpy(b, "z\r\n", 3);
	n = 3;
	CHECK(http_chunked_decode(&e, b, &n) == HTTP_CHUNKED_ERROR);
	memcpy(b, "0\r\n\r\n", 5);
	n = 5;
	CHECK(http_chunked_decode(&e, b, &n) == HTTP_CHUNKED_ERROR && n == 0);
}

static void t_empty_input(void)
{
	struct http_chunked d = { 0 };
	size_t n = 0;
	CHECK(http_chunked_decode(&d, guard("", 0), &n) == HTTP_CHUNKED_INCOMPLETE && n == 0);
}

/* Extensions are bounded: a client cannot stream an endless size line. */
static void t_ext_limit(void)
{
	static char buf[HTTP_CHUNK_EXT_MAX + 64];
	struct result r;
	size_t n = (size_t)sprintf(buf, "1;a=");
	memset(buf + n, 'b', HTTP_CHUNK_EXT_MAX - n + 1);
	n = HTTP_CHUNK_EXT_MAX + 1;
	n += (size_t)sprintf(buf + n, "\r\nx\r\n0\r\n\r\n");
	feed(buf, n, NULL, &r);
	CHECK(r.status == 0 && r.data_n == 1);
	buf[HTTP_CHUNK_EXT_MAX + 1] = 'b';
	buf[HTTP_CHUNK_EXT_MAX + 2] = '\r';
	buf[HTTP_CHUNK_EXT_MAX + 3] = '\n';
	feed(buf, HTTP_CHUNK_EXT_MAX + 2, NULL, &r);
	CHECK(r.status == HTTP_CHUNKED_ERROR);
}

/* The trailer section is bounded likewise. */
static void t_trailer_limit(void)
{
	static char buf[HTTP_CHUNK_TRAILER_MAX + 64];
	struct result r;
	size_t n = (size_t)sprintf(buf, "0\r\n");
	while (n < HTTP_CHUNK_TRAILER_MAX)
		n += (size_t)sprintf(buf + n, "X-Filler: %04zu\r\n", n);
	feed(buf, n, NULL, &r);
	CHECK(r.status == HTTP_CHUNKED_INCOMPLETE);
	memcpy(buf + n, "\r\n", 2);
	feed(buf, n + 2, NULL, &r);
	CHECK(r.status == HTTP_CHUNKED_ERROR); /* HTTP_CHUNK_TRAILER_MAX + a few bytes */
	n = (size_t)sprintf(buf, "0\r\n");
	while (n < HTTP_CHUNK_TRAILER_MAX - 100)
		n += (size_t)sprintf(buf + n, "X-Filler: %04zu\r\n", n);
	n += (size_t)sprintf(buf + n, "\r\n");
	feed(buf, n, NULL, &r);
	CHECK(r.status == 0);
}

/* A large body in many chunks, decoded in place; data matches. */
static void t_large(void)
{
	static char in[40000], want[20000];
	size_t n = 0, w = 0;
	unsigned seed = 3;
	while (w < sizeof want - 600) {
		seed = seed * 1103515245 + 12345;
		size_t k = 1 + (seed >> 16) % 500;
		n += (size_t)sprintf(in + n, "%zx\r\n", k);
		for (size_t i = 0; i < k; i++, w++, n++)
			want[w] = in[n] = (char)('a' + w % 26);
		memcpy(in + n, "\r\n", 2);
		n += 2;
	}
	n += (size_t)sprintf(in + n, "0\r\n\r\n");
	struct result one, r;
	feed(in, n, NULL, &one);
	CHECK(one.status == 0 && one.data_n == w && !memcmp(one.data, want, w));
	size_t cuts[] = { 1, 2, 3, 4096, 7, 1000, 1, 1, 0 };
	feed(in, n, cuts, &r);
	CHECK(same(&one, &r));
}

static const struct test_case cases[] = {
	{ "done and error states are sticky", t_sticky },
	{ "empty input needs more", t_empty_input },
	{ "chunk-ext length limit", t_ext_limit },
	{ "trailer section length limit", t_trailer_limit },
	{ "large body in random chunks", t_large },
};

int main(void)
{
	test_init("chunked");
	t_vectors();
	test_end();
	test_run(cases, TEST_COUNT(cases));
	return test_finish();
}
