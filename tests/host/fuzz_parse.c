/*
 * libFuzzer target for http/core/parse.c: parse arbitrary bytes and check the
 * contract's invariants, plus agreement between one-shot, truncated and
 * resumed (last_len) parses of the same bytes.
 *
 * The first input byte picks a mode, so short mutations reach deep states:
 *   bit 0:    turn every LF into CRLF (lines end correctly without luck)
 *   bits 1-3: start from one of seven valid head templates (0: none):
 *             the input then adds header lines, the blank line, a body
 *   bit 4:    tiny limits (64-byte head, 16-byte target, 4 headers)
 *   bits 5-7: where to split for the truncation and last_len checks
 * Each parsed buffer is malloc'ed at its exact size, so ASan sees any read
 * past len.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/core/parse.h"
#include "tests/host/fuzz.h"

#define MAX_HEADERS 32

static struct http_header headers[MAX_HEADERS];

static int parse(const char *buf, size_t len, size_t last, const struct http_limits *lim,
		 struct http_request *req, int *status)
{
	memset(req, 0x5a, sizeof *req);
	req->headers = headers;
	*status = 0;
	return http_parse_request(buf, len, last, lim, req, status);
}

static int inside(struct http_slice s, const char *buf, size_t n)
{
	return s.p >= buf && s.p + s.n <= buf + n;
}

static int is_token(struct http_slice s)
{
	if (!s.n)
		return 0;
	for (size_t i = 0; i < s.n; i++)
		if (!http_is_tchar((unsigned char)s.p[i]))
			return 0;
	return 1;
}

/* What a successful parse promises. */
static void check_ok(const char *buf, size_t len, int r, const struct http_limits *lim,
		     const struct http_request *req)
{
	size_t n = (size_t)r;
	size_t max = lim->max_header_bytes;
	INVARIANT(n <= len && n <= max && n >= 4);
	INVARIANT(!memcmp(buf + n - 4, "\r\n\r\n", 4));
	INVARIANT(is_token(req->method));
	INVARIANT(inside(req->method, buf, n) && inside(req->target, buf, n) && inside(req->query, buf, n));
	INVARIANT(inside(req->host, buf, n));
	INVARIANT(inside(req->path, buf, n) || (req->path.n == 1 && req->path.p[0] == '/'));
	INVARIANT(req->target.n >= 1 && req->target.n <= lim->max_uri);
	INVARIANT(req->minor == 0 || req->minor == 1);
	INVARIANT(req->form <= HTTP_FORM_ASTERISK);
	if (req->form == HTTP_FORM_ORIGIN || req->form == HTTP_FORM_ABSOLUTE)
		INVARIANT(req->path.n >= 1 && req->path.p[0] == '/');
	else
		INVARIANT(req->path.n == 0 && req->query.n == 0);
	INVARIANT(req->body <= HTTP_BODY_CHUNKED);
	INVARIANT(req->body == HTTP_BODY_LENGTH || req->content_length == 0);
	INVARIANT(req->content_length <= INT64_MAX);
	INVARIANT(req->body != HTTP_BODY_CHUNKED || req->minor == 1);
	INVARIANT(!req->expect_continue || req->minor == 1);
	INVARIANT(req->headers == headers && req->num_headers <= lim->max_headers);
	for (size_t i = 0; i < req->num_headers; i++) {
		const struct http_header *h = &req->headers[i];
		INVARIANT(is_token(h->name) && inside(h->name, buf, n) && inside(h->value, buf, n));
		for (size_t j = 0; j < h->value.n; j++)
			INVARIANT(http_is_field_char((unsigned char)h->value.p[j]));
		INVARIANT(!h->value.n || (h->value.p[0] != ' ' && h->value.p[h->value.n - 1] != ' '));
	}
}

static char *copy(const char *s, size_t n)
{
	char *b = malloc(n ? n : 1);
	INVARIANT(b != NULL);
	memcpy(b, s, n);
	return b;
}

/* Valid heads without their final blank line, one per framing or form;
 * two end inside a framing header's value, so the input writes it. */
static const char *const templates[8] = {
	"",
	"GET / HTTP/1.1\r\nHost: a\r\n",
	"POST /u?x=1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n",
	"PUT /u HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: ",
	"OPTIONS * HTTP/1.1\r\nHost: a\r\n",
	"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n",
	"GET http://a:8080/p?q HTTP/1.1\r\nHost: b\r\nConnection: close\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ",
};

/* The input as the mode says to present it. */
static char *build(const uint8_t *data, size_t size, uint8_t mode, size_t *len)
{
	const char *prefix = templates[(mode >> 1) & 7];
	size_t n = strlen(prefix);
	char *b = malloc(n + 2 * size + 1);
	INVARIANT(b != NULL);
	memcpy(b, prefix, n);
	for (size_t i = 0; i < size; i++) {
		if ((mode & 1) && data[i] == '\n')
			b[n++] = '\r';
		b[n++] = (char)data[i];
	}
	*len = n;
	char *exact = copy(b, n);
	free(b);
	return exact;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	uint8_t mode = data[0];
	size_t len;
	char *buf = build(data + 1, size - 1, mode, &len);
	struct http_limits lim = { 65536, 8192, MAX_HEADERS }; /* the server's defaults */
	if (mode & 16)
		lim = (struct http_limits){ 64, 16, 4 };
	size_t max = lim.max_header_bytes;
	struct http_request req, req2;
	int st, st2;

	int r = parse(buf, len, 0, &lim, &req, &st);
	if (r > 0)
		check_ok(buf, len, r, &lim, &req);
	else if (r == HTTP_PARSE_ERROR)
		INVARIANT((st == 400 || st == 414 || st == 431 || st == 501 || st == 505) && req.error &&
			(req.error < buf || req.error >= buf + len));
	else
		INVARIANT(r == HTTP_PARSE_INCOMPLETE && len <= max);

	/* a prefix: incomplete, or the same verdict; then resuming from it
	 * with last_len gives the one-shot result */
	size_t k = len * (mode >> 5) / 7;
	char *pre = copy(buf, k);
	int rk = parse(pre, k, 0, &lim, &req2, &st2);
	free(pre);
	if (rk == HTTP_PARSE_INCOMPLETE) {
		INVARIANT(r == HTTP_PARSE_INCOMPLETE || r == HTTP_PARSE_ERROR || (size_t)r > k);
		int rr = parse(buf, len, k, &lim, &req2, &st2);
		/* parse.h: with last_len, an error in the unfinished last
		 * header line may wait for its line end */
		if (rr == HTTP_PARSE_INCOMPLETE && r == HTTP_PARSE_ERROR)
			INVARIANT((st == 400 || st == 431) && !memchr(buf + k, '\n', len - k) &&
				memchr(buf, '\n', k) && len <= max);
		else
			INVARIANT(rr == r && (r != HTTP_PARSE_ERROR || st2 == st));
	} else {
		INVARIANT(rk == r && (r != HTTP_PARSE_ERROR || st2 == st));
	}

	/* the head alone parses to the same length */
	if (r > 0) {
		char *head = copy(buf, (size_t)r);
		INVARIANT(parse(head, (size_t)r, 0, &lim, &req2, &st2) == r);
		free(head);
	}
	free(buf);
	return 0;
}
