/*
 * http/core/parse.c: the request head parser. Table-driven: every rule of RFC
 * 9110/9112 the parser enforces has a row, valid and invalid. Every input
 * is placed so its last byte is followed by a PROT_NONE page, so any read
 * past len faults. Every valid head must give -2 at each truncation point
 * ("incomplete N"), and every prefix of an invalid one -2 or the same error.
 */
#include "tests/host/test.h"

#include <stdint.h>

#include "http/core/parse.h"

#define MAX_HEADERS 16

/* Room for t_slowloris's many lines; most tests allow MAX_HEADERS. */
static struct http_header headers[16384];
static struct http_request req;
static int status;
/* The server's defaults (max_header_bytes=, max_uri=). */
#define MAX_HEAD 65536
#define MAX_URI 8192
static const struct http_limits deflim = { MAX_HEAD, MAX_URI, MAX_HEADERS };

/* Copy s[0, n) so that its last byte is the last before a PROT_NONE page
 * (test_guarded keeps a NUL there, which would hide a one-byte over-read). */
static const char *guard(const char *s, size_t n) { return test_guarded_n(s, n); }

static const char *last_buf; /* where parse_lim put its input */

static int parse_lim(const char *s, size_t n, size_t last_len, const struct http_limits *lim)
{
	const char *b = last_buf = guard(s, n);
	memset(&req, 0xa5, sizeof req); /* the parser must set every field */
	req.headers = headers;
	status = 0;
	return http_parse_request(b, n, last_len, lim, &req, &status);
}

static int parse(const char *s) { return parse_lim(s, strlen(s), 0, &deflim); }

static bool slice_is(struct http_slice s, const char *lit)
{
	return s.n == strlen(lit) && (s.n == 0 || !memcmp(s.p, lit, s.n));
}

/* ---- valid requests ---- */

struct ok_case {
	const char *name, *in;
	size_t tail;                /* bytes after the head (body, next request) */
	const char *method, *path, *query, *host; /* NULL: not checked */
	enum http_form form;
	bool v10;                   /* HTTP/1.0 */
	bool close;                 /* keep_alive false */
	enum http_body body;
	uint64_t length;
	bool expect;
	size_t nhdr;                /* expected num_headers, if nonzero */
};

#define H "Host: example.com\r\n"

static const struct ok_case ok_cases[] = {
	{ "simple GET", "GET / HTTP/1.1\r\n" H "\r\n", .method = "GET", .path = "/", .query = "",
	  .host = "example.com", .nhdr = 1 },
	{ "path and query", "GET /a/b?x=1&y=2 HTTP/1.1\r\n" H "\r\n", .path = "/a/b", .query = "x=1&y=2" },
	{ "empty query", "GET /a? HTTP/1.1\r\n" H "\r\n", .path = "/a", .query = "" },
	{ "second ? is query data", "GET /a?b?c HTTP/1.1\r\n" H "\r\n", .path = "/a", .query = "b?c" },
	{ "RFC 3986 unwise chars accepted in target", "GET /{a}|b\"^`\\ HTTP/1.1\r\n" H "\r\n",
	  .path = "/{a}|b\"^`\\" },
	{ "percent-encoding left raw", "GET /%7e%zz HTTP/1.1\r\n" H "\r\n", .path = "/%7e%zz" },
	{ "extension method token", "M-SEARCH! / HTTP/1.1\r\n" H "\r\n", .method = "M-SEARCH!" },
	{ "lower-case method is another token", "get / HTTP/1.1\r\n" H "\r\n", .method = "get" },
	{ "HTTP/1.0 without Host", "GET /x HTTP/1.0\r\n\r\n", .v10 = true, .close = true, .host = "" },
	{ "HTTP/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", .v10 = true },
	{ "HTTP/1.0 keep-alive, close", "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
	  .v10 = true, .close = true },
	{ "HTTP/1.2 processed as 1.1 (RFC 9112 §2.3)", "GET / HTTP/1.2\r\n" H "\r\n", .tail = 0 },
	{ "HTTP/1.9 processed as 1.1", "GET / HTTP/1.9\r\n" H "\r\n", .tail = 0 },
	{ "Connection: close", "GET / HTTP/1.1\r\n" H "Connection: close\r\n\r\n", .close = true },
	{ "Connection: CLOSE in a list", "GET / HTTP/1.1\r\n" H "Connection: Upgrade ,  CLOSE\r\n\r\n",
	  .close = true },
	{ "Connection: close on a second line",
	  "GET / HTTP/1.1\r\n" H "Connection: x\r\nConnection: close\r\n\r\n", .close = true },
	{ "Connection: closed is not close", "GET / HTTP/1.1\r\n" H "Connection: closed\r\n\r\n", .tail = 0 },
	{ "Expect: 100-continue", "PUT / HTTP/1.1\r\n" H "Expect: 100-Continue\r\nContent-Length: 1\r\n\r\nx",
	  .tail = 1, .method = "PUT", .body = HTTP_BODY_LENGTH, .length = 1, .expect = true },
	{ "Expect ignored in HTTP/1.0 (RFC 9110 §10.1.1)", "PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n",
	  .v10 = true, .close = true },
	{ "unknown expectation ignored", "GET / HTTP/1.1\r\n" H "Expect: foo\r\n\r\n", .tail = 0 },
	{ "leading CRLFs skipped (RFC 9112 §2.2)", "\r\n\r\nGET / HTTP/1.1\r\n" H "\r\n", .path = "/" },
	{ "header OWS trimmed", "GET / HTTP/1.1\r\nHost: \t example.com \t \r\n\r\n", .host = "example.com" },
	{ "header value HTAB and obs-text", "GET / HTTP/1.1\r\n" H "X: a\tb \x80\xff\r\n\r\n", .nhdr = 2 },
	{ "empty header value", "GET / HTTP/1.1\r\n" H "X:\r\nY: \r\n\r\n", .nhdr = 3 },
	{ "empty Host in HTTP/1.1", "GET / HTTP/1.1\r\nHost:\r\n\r\n", .host = "" },
	{ "Host with port", "GET / HTTP/1.1\r\nHost: a.b:8080\r\n\r\n", .host = "a.b:8080" },
	{ "Host with empty port", "GET / HTTP/1.1\r\nHost: a.b:\r\n\r\n", .host = "a.b:" },
	{ "Host IPv4", "GET / HTTP/1.1\r\nHost: 10.0.2.15:80\r\n\r\n", .host = "10.0.2.15:80" },
	{ "Host IPv6", "GET / HTTP/1.1\r\nHost: [2001:db8::1]:80\r\n\r\n", .host = "[2001:db8::1]:80" },
	{ "Host IPv6 with IPv4 tail", "GET / HTTP/1.1\r\nHost: [::ffff:10.0.0.1]\r\n\r\n", .tail = 0 },
	{ "Host IPv6 full", "GET / HTTP/1.1\r\nHost: [1:2:3:4:5:6:7:8]\r\n\r\n", .tail = 0 },
	{ "Host IPvFuture", "GET / HTTP/1.1\r\nHost: [v1.x:y]\r\n\r\n", .tail = 0 },
	{ "Host pct-encoded and sub-delims", "GET / HTTP/1.1\r\nHost: %41b!$&'()*+,;=_~-.c\r\n\r\n",
	  .tail = 0 },
	{ "Content-Length", "POST / HTTP/1.1\r\n" H "Content-Length: 5\r\n\r\nhello", .tail = 5,
	  .method = "POST", .body = HTTP_BODY_LENGTH, .length = 5 },
	{ "Content-Length 0", "POST / HTTP/1.1\r\n" H "Content-Length: 0\r\n\r\n", .body = HTTP_BODY_LENGTH },
	{ "Content-Length leading zeros", "POST / HTTP/1.1\r\n" H "Content-Length: 00007\r\n\r\n",
	  .body = HTTP_BODY_LENGTH, .length = 7 },
	{ "Content-Length 2^63-1", "POST / HTTP/1.1\r\n" H "Content-Length: 9223372036854775807\r\n\r\n",
	  .body = HTTP_BODY_LENGTH, .length = INT64_MAX },
	{ "Content-Length identical list (RFC 9110 §8.6)",
	  "POST / HTTP/1.1\r\n" H "Content-Length: 3 , 3,3\r\n\r\n", .body = HTTP_BODY_LENGTH, .length = 3 },
	{ "Content-Length identical lines",
	  "POST / HTTP/1.1\r\n" H "Content-Length: 3\r\ncontent-length: 3\r\n\r\n",
	  .body = HTTP_BODY_LENGTH, .length = 3 },
	{ "chunked", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n",
	  .body = HTTP_BODY_CHUNKED },
	{ "Chunked, case-insensitive", "POST / HTTP/1.1\r\n" H "transfer-encoding: CHUNKED\r\n\r\n",
	  .body = HTTP_BODY_CHUNKED },
	{ "chunked with empty list elements", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: ,chunked, \r\n\r\n",
	  .body = HTTP_BODY_CHUNKED },
	{ "OPTIONS *", "OPTIONS * HTTP/1.1\r\n" H "\r\n", .method = "OPTIONS", .form = HTTP_FORM_ASTERISK,
	  .path = "", .host = "example.com" },
	{ "CONNECT authority-form", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
	  .form = HTTP_FORM_AUTHORITY, .host = "example.com:443", .path = "" },
	{ "CONNECT IPv6", "CONNECT [::1]:8443 HTTP/1.1\r\nHost: x\r\n\r\n", .form = HTTP_FORM_AUTHORITY,
	  .host = "[::1]:8443" },
	{ "absolute-form overrides Host (RFC 9112 §3.2.2)",
	  "GET http://a.example:81/p?q HTTP/1.1\r\n" H "\r\n",
	  .form = HTTP_FORM_ABSOLUTE, .host = "a.example:81", .path = "/p", .query = "q" },
	{ "absolute-form scheme case-insensitive", "GET HtTpS://a.example/p HTTP/1.1\r\n" H "\r\n",
	  .form = HTTP_FORM_ABSOLUTE, .host = "a.example", .path = "/p" },
	{ "absolute-form empty path is /", "GET http://a.example HTTP/1.1\r\n" H "\r\n",
	  .form = HTTP_FORM_ABSOLUTE, .host = "a.example", .path = "/", .query = "" },
	{ "absolute-form empty path with query", "GET http://a.example?x=1 HTTP/1.1\r\n" H "\r\n",
	  .form = HTTP_FORM_ABSOLUTE, .path = "/", .query = "x=1" },
	{ "absolute-form IPv6", "GET http://[::1]:8080/ HTTP/1.1\r\n" H "\r\n", .form = HTTP_FORM_ABSOLUTE,
	  .host = "[::1]:8080" },
	{ "pipelined: only the first head", "GET /1 HTTP/1.1\r\n" H "\r\nGET /2 HTTP/1.1\r\n" H "\r\n",
	  .tail = sizeof("GET /2 HTTP/1.1\r\n" H "\r\n") - 1, .path = "/1" },
};

static void check_ok(const struct ok_case *c, const char *buf, size_t len, int r)
{
	size_t head = len - c->tail;
	if (!CHECK(r == (int)head)) {
		fprintf(stderr, "  %s: got %d status %d\n", c->name, r, status);
		return;
	}
	if (c->method)
		CHECK(slice_is(req.method, c->method));
	if (c->path)
		CHECK(slice_is(req.path, c->path));
	if (c->query)
		CHECK(slice_is(req.query, c->query));
	if (c->host)
		CHECK(slice_is(req.host, c->host));
	CHECK(req.form == c->form);
	CHECK(req.minor == (c->v10 ? 0 : 1));
	CHECK(req.keep_alive == !c->close);
	CHECK(req.body == c->body);
	CHECK(req.content_length == c->length);
	CHECK(req.expect_continue == c->expect);
	if (c->nhdr)
		CHECK(req.num_headers == c->nhdr);
	CHECK(req.headers == headers);
	/* every slice points into the head (or is the static "/") */
	struct http_slice s[] = { req.method, req.target, req.query, req.host };
	for (size_t i = 0; i < TEST_COUNT(s); i++)
		CHECK(s[i].p >= buf && s[i].p + s[i].n <= buf + head);
	CHECK((req.path.p >= buf && req.path.p + req.path.n <= buf + head) || slice_is(req.path, "/"));
	for (size_t i = 0; i < req.num_headers; i++)
		CHECK(req.headers[i].value.p >= buf &&
		      req.headers[i].value.p + req.headers[i].value.n <= buf + head);
}

static void run_ok(const struct ok_case *c)
{
	size_t len = strlen(c->in), head = len - c->tail;
	int r = parse_lim(c->in, len, 0, &deflim);
	check_ok(c, last_buf, len, r);
	/* incomplete N: every truncation of the head needs more */
	for (size_t n = 0; n < head; n++) {
		r = parse_lim(c->in, n, 0, &deflim);
		if (!CHECK(r == HTTP_PARSE_INCOMPLETE))
			fprintf(stderr, "  incomplete %zu: got %d (%s)\n", n, r, r == HTTP_PARSE_ERROR ? req.error : "");
	}
	/* byte by byte with last_len, as a server reading one byte at a time */
	for (size_t n = 1; n <= len; n++) {
		r = parse_lim(c->in, n, n - 1, &deflim);
		if (r != HTTP_PARSE_INCOMPLETE)
			break;
	}
	check_ok(c, last_buf, len, r);
}

/* A table row's case name; test_end() prints it before the next row. */
static char row_name[200];

static void t_ok_table(void)
{
	/* one PASS/FAIL line per row */
	for (size_t i = 0; i < TEST_COUNT(ok_cases); i++) {
		if (i)
			test_end();
		snprintf(row_name, sizeof row_name, "valid: %s", ok_cases[i].name);
		test_begin(row_name);
		run_ok(&ok_cases[i]);
	}
}

/* ---- invalid requests ---- */

struct bad_case {
	const char *name, *in;
	int status;
	size_t len; /* of the literal: some rows hold a NUL */
};

#define BAD(name, in, status) { name, in, status, sizeof(in) - 1 }

static const struct bad_case bad_cases[] = {
	/* request line, RFC 9112 §3 */
	BAD("method not a token", "G(T / HTTP/1.1\r\n" H "\r\n", 400),
	BAD("method with CTL", "GE\x01T / HTTP/1.1\r\n" H "\r\n", 400),
	BAD("empty method (line starts with SP)", " / HTTP/1.1\r\n" H "\r\n", 400),
	BAD("HTAB after method (smuggling risk)", "GET\t/ HTTP/1.1\r\n" H "\r\n", 400),
	BAD("two SP after method", "GET  / HTTP/1.1\r\n" H "\r\n", 400),
	BAD("two SP after target", "GET /  HTTP/1.1\r\n" H "\r\n", 400),
	BAD("HTAB after target", "GET /\tHTTP/1.1\r\n" H "\r\n", 400),
	BAD("VT after target", "GET /\vHTTP/1.1\r\n" H "\r\n", 400),
	BAD("SP after version", "GET / HTTP/1.1 \r\n" H "\r\n", 400),
	BAD("no version (HTTP/0.9 style)", "GET /\r\n\r\n", 400),
	BAD("no target", "GET HTTP/1.1\r\n" H "\r\n", 400),
	BAD("method only", "GET\r\n\r\n", 400),
	BAD("lower-case http (RFC 9112 §2.3)", "GET / http/1.1\r\n" H "\r\n", 400),
	BAD("version HTTP/1", "GET / HTTP/1\r\n" H "\r\n", 400),
	BAD("version HTTP/1.", "GET / HTTP/1.\r\n" H "\r\n", 400),
	BAD("version HTTP/1.x", "GET / HTTP/1.x\r\n" H "\r\n", 400),
	BAD("version HTTP/1.10", "GET / HTTP/1.10\r\n" H "\r\n", 400),
	BAD("version HTTP/11.1", "GET / HTTP/11.1\r\n" H "\r\n", 400),
	BAD("version garbage", "GET / FOO\r\n" H "\r\n", 400),
	BAD("HTTP/2.0 -> 505", "GET / HTTP/2.0\r\n" H "\r\n", 505),
	BAD("HTTP/0.9 -> 505", "GET / HTTP/0.9\r\n" H "\r\n", 505),
	BAD("HTTP/3.1 -> 505", "GET / HTTP/3.1\r\n" H "\r\n", 505),
	/* line endings, RFC 9112 §2.2 */
	BAD("bare LF everywhere", "GET / HTTP/1.1\nHost: a\n\n", 400),
	BAD("bare LF ending the head", "GET / HTTP/1.1\r\nHost: a\r\n\n", 400),
	BAD("bare LF after a header", "GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", 400),
	BAD("bare LF before the request line", "\nGET / HTTP/1.1\r\n" H "\r\n", 400),
	BAD("bare CR after version", "GET / HTTP/1.1\rHost: a\r\n\r\n", 400),
	BAD("bare CR in a value", "GET / HTTP/1.1\r\n" H "X: a\rb\r\n\r\n", 400),
	BAD("CR CR LF", "GET / HTTP/1.1\r\r\n" H "\r\n", 400),
	/* request-target, RFC 9112 §3.2 */
	BAD("target CTL", "GET /a\x01 HTTP/1.1\r\n" H "\r\n", 400),
	BAD("target DEL", "GET /a\x7f HTTP/1.1\r\n" H "\r\n", 400),
	BAD("target NUL", "GET /a\0b HTTP/1.1\r\n" H "\r\n", 400),
	BAD("target raw UTF-8", "GET /caf\xc3\xa9 HTTP/1.1\r\n" H "\r\n", 400),
	BAD("target fragment", "GET /a#b HTTP/1.1\r\n" H "\r\n", 400),
	BAD("asterisk with GET", "GET * HTTP/1.1\r\n" H "\r\n", 400),
	BAD("asterisk plus more", "OPTIONS *a HTTP/1.1\r\n" H "\r\n", 400),
	BAD("authority-form with GET", "GET example.com:80 HTTP/1.1\r\n" H "\r\n", 400),
	BAD("CONNECT origin-form", "CONNECT / HTTP/1.1\r\n" H "\r\n", 400),
	BAD("CONNECT without port", "CONNECT example.com HTTP/1.1\r\n" H "\r\n", 400),
	BAD("CONNECT empty port", "CONNECT example.com: HTTP/1.1\r\n" H "\r\n", 400),
	BAD("CONNECT empty host", "CONNECT :443 HTTP/1.1\r\n" H "\r\n", 400),
	BAD("CONNECT absolute-form", "CONNECT http://a:1/ HTTP/1.1\r\n" H "\r\n", 400),
	BAD("absolute-form unknown scheme", "GET ftp://a/ HTTP/1.1\r\n" H "\r\n", 400),
	BAD("absolute-form no //", "GET http:/a HTTP/1.1\r\n" H "\r\n", 400),
	BAD("absolute-form empty host (RFC 9110 §4.2.1)", "GET http:///a HTTP/1.1\r\n" H "\r\n", 400),
	BAD("absolute-form userinfo (RFC 9110 §4.2.4)", "GET http://u:p@a/ HTTP/1.1\r\n" H "\r\n", 400),
	BAD("absolute-form bad port", "GET http://a:8x/ HTTP/1.1\r\n" H "\r\n", 400),
	BAD("absolute-form port > 65535", "GET http://a:65536/ HTTP/1.1\r\n" H "\r\n", 400),
	BAD("absolute-form unclosed IPv6", "GET http://[::1/ HTTP/1.1\r\n" H "\r\n", 400),
	/* header fields, RFC 9112 §5, RFC 9110 §5.5 */
	BAD("SP before colon (RFC 9112 §5.1)", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
	BAD("HTAB before colon", "GET / HTTP/1.1\r\n" H "X\t: a\r\n\r\n", 400),
	BAD("obs-fold (RFC 9112 §5.2)", "GET / HTTP/1.1\r\n" H "X: a\r\n b\r\n\r\n", 400),
	BAD("obs-fold with HTAB", "GET / HTTP/1.1\r\n" H "X: a\r\n\tb\r\n\r\n", 400),
	BAD("SP before the first header", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400),
	BAD("empty field name", "GET / HTTP/1.1\r\n" H ": a\r\n\r\n", 400),
	BAD("field name not a token", "GET / HTTP/1.1\r\n" H "X(y): a\r\n\r\n", 400),
	BAD("field line without colon", "GET / HTTP/1.1\r\n" H "Xy\r\n\r\n", 400),
	BAD("field name non-ASCII", "GET / HTTP/1.1\r\n" H "X\xc3\xa9: a\r\n\r\n", 400),
	BAD("NUL in value", "GET / HTTP/1.1\r\n" H "X: a\0b\r\n\r\n", 400),
	BAD("CTL in value", "GET / HTTP/1.1\r\n" H "X: a\x1b b\r\n\r\n", 400),
	BAD("DEL in value", "GET / HTTP/1.1\r\n" H "X: a\x7f\r\n\r\n", 400),
	/* Host, RFC 9112 §3.2 */
	BAD("HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n", 400),
	BAD("two Host lines", "GET / HTTP/1.1\r\n" H "host: example.com\r\n\r\n", 400),
	BAD("two Host lines in HTTP/1.0", "GET / HTTP/1.0\r\n" H H "\r\n", 400),
	BAD("Host list", "GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", 400),
	BAD("Host with SP", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
	BAD("Host with path", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400),
	BAD("Host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400),
	BAD("Host bad port", "GET / HTTP/1.1\r\nHost: a:b\r\n\r\n", 400),
	BAD("Host port too big", "GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n", 400),
	BAD("Host port too long", "GET / HTTP/1.1\r\nHost: a:000080\r\n\r\n", 400),
	BAD("Host bad pct-encoding", "GET / HTTP/1.1\r\nHost: a%4\r\n\r\n", 400),
	BAD("Host bad IPv6", "GET / HTTP/1.1\r\nHost: [1::2::3]\r\n\r\n", 400),
	BAD("Host IPv6 too many groups", "GET / HTTP/1.1\r\nHost: [1:2:3:4:5:6:7:8:9]\r\n\r\n", 400),
	BAD("Host IPv6 short without ::", "GET / HTTP/1.1\r\nHost: [1:2:3]\r\n\r\n", 400),
	BAD("Host IPv6 bad IPv4 tail", "GET / HTTP/1.1\r\nHost: [::1.2.3.256]\r\n\r\n", 400),
	BAD("Host IPv6 leading zero octet", "GET / HTTP/1.1\r\nHost: [::1.2.3.04]\r\n\r\n", 400),
	BAD("Host IPv6 unclosed", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400),
	BAD("Host junk after IPv6", "GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n", 400),
	BAD("Host empty IP-literal", "GET / HTTP/1.1\r\nHost: []\r\n\r\n", 400),
	BAD("invalid Host even with absolute-form", "GET http://a/ HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
	BAD("absolute-form still needs Host in 1.1", "GET http://a/ HTTP/1.1\r\n\r\n", 400),
	/* Content-Length, RFC 9110 §8.6 */
	BAD("Content-Length with sign", "POST / HTTP/1.1\r\n" H "Content-Length: +5\r\n\r\n", 400),
	BAD("Content-Length negative", "POST / HTTP/1.1\r\n" H "Content-Length: -5\r\n\r\n", 400),
	BAD("Content-Length hex", "POST / HTTP/1.1\r\n" H "Content-Length: 0x5\r\n\r\n", 400),
	BAD("Content-Length inner SP", "POST / HTTP/1.1\r\n" H "Content-Length: 5 5\r\n\r\n", 400),
	BAD("Content-Length empty", "POST / HTTP/1.1\r\n" H "Content-Length:\r\n\r\n", 400),
	BAD("Content-Length empty element", "POST / HTTP/1.1\r\n" H "Content-Length: 5,\r\n\r\n", 400),
	BAD("Content-Length differing list", "POST / HTTP/1.1\r\n" H "Content-Length: 5, 6\r\n\r\n", 400),
	BAD("Content-Length differing lines",
	  "POST / HTTP/1.1\r\n" H "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", 400),
	BAD("Content-Length same value other spelling",
	  "POST / HTTP/1.1\r\n" H "Content-Length: 5, 05\r\n\r\n", 400),
	BAD("Content-Length 2^63", "POST / HTTP/1.1\r\n" H "Content-Length: 9223372036854775808\r\n\r\n",
	  400),
	BAD("Content-Length 2^64 overflow",
	  "POST / HTTP/1.1\r\n" H "Content-Length: 18446744073709551616\r\n\r\n", 400),
	/* Transfer-Encoding, RFC 9112 §6 */
	BAD("TE and CL (RFC 9112 §6.1)",
	  "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400),
	BAD("CL and TE", "POST / HTTP/1.1\r\n" H "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
	  400),
	BAD("TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
	BAD("TE gzip only: chunked not final (§6.3)",
	  "POST / HTTP/1.1\r\n" H "Transfer-Encoding: gzip\r\n\r\n", 400),
	BAD("TE chunked, gzip", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked, gzip\r\n\r\n", 400),
	BAD("TE empty", "POST / HTTP/1.1\r\n" H "Transfer-Encoding:\r\n\r\n", 400),
	BAD("TE chunked twice (§7.1)", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked, chunked\r\n\r\n",
	  400),
	BAD("TE chunked on two lines",
	  "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
	BAD("TE chunked with parameter", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked;a=b\r\n\r\n",
	  400),
	BAD("TE malformed", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked x\r\n\r\n", 400),
	BAD("TE gzip, chunked -> 501", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: gzip, chunked\r\n\r\n",
	  501),
	BAD("TE identity, chunked -> 501",
	  "POST / HTTP/1.1\r\n" H "Transfer-Encoding: identity, chunked\r\n\r\n", 501),
	BAD("TE gzip line then chunked line -> 501",
	  "POST / HTTP/1.1\r\n" H "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", 501),
	BAD("TE coding with parameters -> 501",
	  "POST / HTTP/1.1\r\n" H "Transfer-Encoding: x;q=\"a,b\" ; r = s, chunked\r\n\r\n", 501),
};

static void t_bad_table(void)
{
	for (size_t i = 0; i < TEST_COUNT(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		if (i)
			test_end();
		snprintf(row_name, sizeof row_name, "invalid %d: %s", c->status, c->name);
		test_begin(row_name);
		size_t len = c->len;
		int r = parse_lim(c->in, len, 0, &deflim);
		const char *buf = last_buf;
		if (!CHECK(r == HTTP_PARSE_ERROR && status == c->status))
			fprintf(stderr, "  %s: got %d status %d\n", c->name, r, status);
		CHECK(req.error && (req.error < buf || req.error >= buf + len));
		/* a prefix is incomplete or already the same error */
		for (size_t n = 0; n < len; n++) {
			r = parse_lim(c->in, n, 0, &deflim);
			if (!CHECK(r == HTTP_PARSE_INCOMPLETE || (r == HTTP_PARSE_ERROR && status == c->status)))
				fprintf(stderr, "  prefix %zu: got %d status %d\n", n, r, status);
		}
		/* byte by byte with last_len gives the same error */
		for (size_t n = 1; n <= len; n++)
			if ((r = parse_lim(c->in, n, n - 1, &deflim)) != HTTP_PARSE_INCOMPLETE)
				break;
		CHECK(r == HTTP_PARSE_ERROR && status == c->status);
	}
}

/* ---- limits ---- */

static void t_empty(void)
{
	CHECK(parse_lim("", 0, 0, &deflim) == HTTP_PARSE_INCOMPLETE);
	CHECK(parse_lim("\r\n\r\n", 4, 0, &deflim) == HTTP_PARSE_INCOMPLETE);
}

static void t_max_headers(void)
{
	struct http_limits lim = { MAX_HEAD, MAX_URI, 2 };
	const char *two = "GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\n";
	CHECK(parse_lim(two, strlen(two), 0, &lim) == (int)strlen(two));
	const char *three = "GET / HTTP/1.1\r\nHost: a\r\nX: y\r\nZ";
	/* 431 as soon as a third line starts, before the head is complete */
	CHECK(parse_lim(three, strlen(three), 0, &lim) == HTTP_PARSE_ERROR && status == 431);
	lim.max_headers = 0;
	const char *none = "GET / HTTP/1.0\r\n\r\n";
	CHECK(parse_lim(none, strlen(none), 0, &lim) == (int)strlen(none));
}

static void t_max_header_bytes(void)
{
	const char *r = "GET / HTTP/1.1\r\nHost: a\r\n\r\n"; /* 27 bytes */
	size_t len = strlen(r);
	struct http_limits lim = { len, MAX_URI, MAX_HEADERS };
	CHECK(parse_lim(r, len, 0, &lim) == (int)len);          /* exactly at the limit */
	lim.max_header_bytes = len - 1;
	CHECK(parse_lim(r, len, 0, &lim) == HTTP_PARSE_ERROR && status == 431); /* one byte over */
	CHECK(parse_lim(r, len - 1, 0, &lim) == HTTP_PARSE_INCOMPLETE);               /* at the limit, incomplete */
	/* a body after a head within the limit does not count */
	const char *b = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n";
	char big[256];
	snprintf(big, sizeof big, "%s%0100d", b, 0);
	lim.max_header_bytes = strlen(b);
	CHECK(parse_lim(big, strlen(big), 0, &lim) == (int)strlen(b));
	CHECK(parse_lim(big, strlen(big), strlen(b) - 1, &lim) == (int)strlen(b));
}

/* A slow client sending an endless header gets 431 once it passes the
 * limit, not a -2 that would have the caller buffer forever. */
static void t_slowloris(void)
{
	static char buf[70000];
	size_t n = (size_t)snprintf(buf, sizeof buf, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
	memset(buf + n, 'a', sizeof buf - n);
	int r = parse_lim(buf, 65536, 0, &deflim);
	CHECK(r == HTTP_PARSE_INCOMPLETE);
	r = parse_lim(buf, 65537, 65536, &deflim);
	CHECK(r == HTTP_PARSE_ERROR && status == 431);
	/* the same with endless short header lines */
	size_t i = n - 3;
	while (i + 6 <= sizeof buf) {
		memcpy(buf + i, "a:b\r\n", 5);
		i += 5;
	}
	struct http_limits lim = { MAX_HEAD, MAX_URI, MAX_HEADERS };
	r = parse_lim(buf, 200, 0, &lim);
	CHECK(r == HTTP_PARSE_ERROR && status == 431);
	lim.max_headers = TEST_COUNT(headers); /* the bytes run out first */
	r = parse_lim(buf, 65537, 0, &lim);
	CHECK(r == HTTP_PARSE_ERROR && status == 431);
}

static void t_max_uri(void)
{
	static char buf[20000];
	memcpy(buf, "GET /", 5);
	memset(buf + 5, 'a', sizeof buf - 5);
	size_t head = (size_t)snprintf(buf + 8192, 100, " HTTP/1.1\r\nHost: a\r\n\r\n") + 8192;
	CHECK(parse_lim(buf, head, 0, &deflim) == (int)head); /* target of 8188 bytes */
	memset(buf + 4, '/', 8192 - 4);
	CHECK(parse_lim(buf, head, 0, &deflim) == (int)head);
	/* 8193 bytes: 414 as soon as the 8193rd arrives, line incomplete */
	memset(buf, 'a', sizeof buf);
	memcpy(buf, "GET /", 5);
	CHECK(parse_lim(buf, 4 + 8192, 0, &deflim) == HTTP_PARSE_INCOMPLETE);
	CHECK(parse_lim(buf, 4 + 8193, 0, &deflim) == HTTP_PARSE_ERROR && status == 414);
	CHECK(parse_lim(buf, 4 + 8193, 4 + 8000, &deflim) == HTTP_PARSE_ERROR && status == 414);
	struct http_limits lim = { MAX_HEAD, 3, MAX_HEADERS };
	CHECK(parse_lim("GET /ab HTTP/1.1\r\nHost: a\r\n\r\n", 29, 0, &lim) == 29);
	CHECK(parse_lim("GET /abc HTTP/1.1\r\nHost: a\r\n\r\n", 30, 0, &lim) == HTTP_PARSE_ERROR && status == 414);
	CHECK(parse_lim("GET /abc", 8, 0, &lim) == HTTP_PARSE_ERROR && status == 414);
}

/* Whatever last_len the caller passes from earlier -2 calls, the final
 * answer is the same as a one-shot parse. */
static void t_random_splits(void)
{
	unsigned seed = 1;
	for (size_t i = 0; i < TEST_COUNT(ok_cases) + TEST_COUNT(bad_cases); i++) {
		size_t nok = TEST_COUNT(ok_cases);
		const char *in = i < nok ? ok_cases[i].in : bad_cases[i - nok].in;
		size_t len = strlen(in);
		int want = parse_lim(in, len, 0, &deflim), want_status = status;
		for (int round = 0; round < 50; round++) {
			size_t n = 0, last = 0;
			int r = -2;
			while (r == HTTP_PARSE_INCOMPLETE && n < len) {
				seed = seed * 1103515245 + 12345;
				n += 1 + (seed >> 16) % 8;
				if (n > len)
					n = len;
				r = parse_lim(in, n, last, &deflim);
				last = n;
			}
			if (!CHECK(r == want && (r != HTTP_PARSE_ERROR || status == want_status)))
				fprintf(stderr, "  %s: got %d want %d\n", in, r, want);
		}
	}
}

/* ---- helpers ---- */

static void t_header_find(void)
{
	const char *in = "GET / HTTP/1.1\r\nHost: a\r\nAccept: x\r\nX-A: 1\r\naccept: y\r\n\r\n";
	if (!CHECK(parse(in) > 0))
		return;
	CHECK(req.num_headers == 4);
	CHECK(slice_is(req.headers[1].name, "Accept") && slice_is(req.headers[1].value, "x"));
	const struct http_header *h = http_header_find(&req, "ACCEPT", NULL);
	CHECK(h && slice_is(h->value, "x"));
	size_t it = 0;
	h = http_header_find(&req, "accept", &it);
	CHECK(h && slice_is(h->value, "x") && it == 2);
	h = http_header_find(&req, "accept", &it);
	CHECK(h && slice_is(h->value, "y") && it == 4);
	CHECK(!http_header_find(&req, "accept", &it));
	CHECK(!http_header_find(&req, "accep", NULL));
	CHECK(!http_header_find(&req, "x-a-", NULL));
}

static bool has(const char *list, const char *tok)
{
	return http_token_list_has((struct http_slice){ list, strlen(list) }, tok);
}

static void t_token_list(void)
{
	CHECK(has("keep-alive", "keep-alive"));
	CHECK(has("Keep-Alive", "keep-alive"));
	CHECK(has("upgrade, keep-alive", "keep-alive"));
	CHECK(has(" ,, upgrade ,\tKEEP-ALIVE\t, ", "keep-alive"));
	CHECK(!has("keep-alive2", "keep-alive"));
	CHECK(!has("keep", "keep-alive"));
	CHECK(!has("", "close"));
	CHECK(!has(",,", "close"));
	CHECK(has("gzip;q=0.5", "gzip"));
	CHECK(has("br, gzip ; q=1", "gzip"));
	CHECK(!has("gzip;q=0", "gzip"));
	CHECK(!has("gzip;Q=0.000", "gzip"));
	CHECK(has("gzip;q=0.001", "gzip"));
	CHECK(has("x;a=\"gzip, y\", gzip", "gzip"));
	CHECK(!has("x;a=\"gzip, gzip\"", "gzip"));
	CHECK(!has("\"gzip\"", "gzip"));
	CHECK(!has("gzip;", "gzip"));   /* malformed parameters: not counted */
}

static const struct test_case cases[] = {
	{ "empty buffer and blank lines need more", t_empty },
	{ "header count limit -> 431, early", t_max_headers },
	{ "header bytes limit -> 431", t_max_header_bytes },
	{ "slowloris: endless head -> 431 at the limit", t_slowloris },
	{ "URI limit -> 414, early", t_max_uri },
	{ "random splits with last_len match one-shot", t_random_splits },
	{ "http_header_find", t_header_find },
	{ "http_token_list_has", t_token_list },
};

int main(void)
{
	test_init("parse");
	t_ok_table();
	test_end();
	t_bad_table();
	test_end();
	test_run(cases, TEST_COUNT(cases));
	return test_finish();
}
