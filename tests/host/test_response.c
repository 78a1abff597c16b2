/*
 * Host tests for http/h1/response.c, the HTTP/1.1 response writer.
 *
 * Each case builds a struct http_conn by hand (method, minor version and
 * keep-alive as the parser would fill them in), drives the writer the way
 * a handler and the serve loop do, and reads back what went "on the wire":
 * conn_write (tests/host/fake_resp_env.c) collects it in one buffer. A
 * small strict response parser below checks the status line and field
 * lines (RFC 9112 §4, §5) and then takes the body by the framing the head
 * announces (RFC 9112 §6.3): none (HEAD, 1xx, 204, 304), Content-Length,
 * chunked (RFC 9112 §7.1, decoded and validated) or close-delimited. The
 * clocks are virtual, so the Date field is fixed and one response is
 * compared byte for byte.
 *
 * The writer's output buffer ends right before a PROT_NONE page, and the
 * wire is parsed from a copy that does too, so an overrun of either faults.
 *
 */
#include "tests/host/test.h"

#include <errno.h>
#include <stdint.h>
#include <strings.h>

#include "http/h1/internal.h"
#include "tests/host/fake_resp_env.h"

#define NS       1000000000ull
#define T0       (1000 * NS)         /* clock_now() when a case starts */
#define WALL0    (784111777ull * NS) /* Sun, 06 Nov 1994 08:49:37 GMT: RFC 9110 §5.6.7's example */
#define DATE0    "Sun, 06 Nov 1994 08:49:37 GMT"
#define CUTOFF   (T0 + 10 * NS) /* the handler's time ends here */
#define WRITE_NS (5 * NS)       /* then the write timeout runs */
#define BIG      20000          /* more than the 8 KiB buffer: two flushes and a rest */

static struct http_config cfg;
static struct http_conn hc;
static char data[65536]; /* body bytes: letters, not periodic in any chunk size */

/* A fresh connection with one parsed request and its writer started as
 * the serve loop starts it. */
static struct http_rw *start(const char *method, int minor, bool keep_alive)
{
	fake_resp_reset(T0, WALL0);
	memset(&hc, 0, sizeof hc);
	cfg = (struct http_config){.write_ns = WRITE_NS};
	hc.st = &fake_resp_conn.st;
	hc.cfg = &cfg;
	hc.msg.method = (struct http_slice){method, strlen(method)};
	hc.msg.minor = minor;
	hc.msg.keep_alive = keep_alive;
	hc.rw.out = test_guard_region(1, HTTP_OUT_SIZE);
	http_rw_start(&hc.rw, &hc, CUTOFF, CUTOFF + WRITE_NS);
	return &hc.rw;
}

static struct http_rw *get11(void)
{
	return start("GET", 1, true);
}

/* ---- a strict HTTP/1.1 response parser ---- */

struct field {
	const char *name, *value;
	size_t nlen, vlen;
};

enum framing { FR_NONE, FR_LENGTH, FR_CHUNKED, FR_CLOSE };

struct resp {
	int status;
	const char *reason;
	size_t reason_len;
	struct field f[256];
	size_t nf;
	size_t head_len;
	enum framing framing;
	const char *body; /* decoded body */
	size_t body_len;
	size_t chunks;   /* chunks before the last-chunk */
	bool complete;   /* the framing's end was on the wire */
	size_t extra;    /* bytes on the wire after the message */
	const char *err; /* why the bytes are not a valid response */
};

static char body_buf[FAKE_RESP_WIRE_CAP];

static bool tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* field-vchar, SP or HTAB (RFC 9110 §5.5); obs-text allowed */
static bool field_char(unsigned char c)
{
	return c == '\t' || (c >= ' ' && c != 0x7f);
}

static bool fail(struct resp *r, const char *why)
{
	r->err = why;
	return false;
}

/* A line from i: 1 and *end at its CR if it ends in CRLF, 0 if the bytes
 * end first, -1 on a bare CR or LF (RFC 9112 §2.2: we send none). */
static int line(const char *p, size_t n, size_t i, size_t *end)
{
	for (; i < n; i++) {
		if (p[i] == '\n')
			return -1;
		if (p[i] == '\r') {
			if (i + 1 == n)
				return 0;
			if (p[i + 1] != '\n')
				return -1;
			*end = i;
			return 1;
		}
	}
	return 0;
}

static const struct field *field(const struct resp *r, const char *name, size_t *count)
{
	const struct field *first = NULL;
	size_t k = 0;
	for (size_t i = 0; i < r->nf; i++)
		if (r->f[i].nlen == strlen(name) && !strncasecmp(r->f[i].name, name, r->f[i].nlen)) {
			first = first ? first : &r->f[i];
			k++;
		}
	if (count)
		*count = k;
	return first;
}

static size_t count(const struct resp *r, const char *name)
{
	size_t k;
	field(r, name, &k);
	return k;
}

/* Exactly one `name` field, and its value is val. */
static bool has1(const struct resp *r, const char *name, const char *val)
{
	size_t k;
	const struct field *f = field(r, name, &k);
	return k == 1 && f->vlen == strlen(val) && !memcmp(f->value, val, f->vlen);
}

static bool chunked_body(const char *p, size_t n, size_t i, struct resp *r)
{
	/* chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF; the writer
	 * sends no extensions and no trailers, so both are errors here. */
	for (;;) {
		size_t e, size = 0;
		int l = line(p, n, i, &e);
		if (l < 0)
			return fail(r, "bare CR or LF in chunk framing");
		if (l == 0)
			goto cut;
		if (e == i || e - i > 15)
			return fail(r, "bad chunk-size length");
		for (size_t k = i; k < e; k++) {
			char c = p[k];
			int d = c >= '0' && c <= '9'   ? c - '0'
				: c >= 'a' && c <= 'f' ? c - 'a' + 10
				: c >= 'A' && c <= 'F' ? c - 'A' + 10
						       : -1;
			if (d < 0)
				return fail(r, "bad chunk-size");
			size = size * 16 + (size_t)d;
		}
		i = e + 2;
		if (size == 0) {
			/* last-chunk, then the trailer section: empty */
			l = line(p, n, i, &e);
			if (l < 0 || (l > 0 && e != i))
				return fail(r, "trailer fields or junk after last-chunk");
			if (l == 0)
				goto cut;
			r->complete = true;
			r->extra = n - (e + 2);
			return true;
		}
		size_t have = n - i < size ? n - i : size;
		memcpy(body_buf + r->body_len, p + i, have);
		r->body_len += have;
		if (have < size)
			goto cut;
		i += size;
		if (n - i < 2)
			goto cut;
		if (p[i] != '\r' || p[i + 1] != '\n')
			return fail(r, "chunk-data not followed by CRLF");
		i += 2;
		r->chunks++;
	}
cut:
	r->complete = false;
	return true;
}

/* Parse wire[0, n) as one response to a request (HEAD if head_request). */
static bool parse(const char *wire, size_t n, bool head_request, struct resp *r)
{
	memset(r, 0, sizeof *r);
	r->body = body_buf;
	const char *p = test_guarded_n(wire, n);
	size_t e, i;
	/* status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4) */
	if (line(p, n, 0, &e) != 1)
		return fail(r, "no status line");
	if (e < 13 || memcmp(p, "HTTP/1.1 ", 9) || p[12] != ' ')
		return fail(r, "bad status line");
	for (i = 9; i < 12; i++) {
		if (p[i] < '0' || p[i] > '9')
			return fail(r, "bad status code");
		r->status = r->status * 10 + (p[i] - '0');
	}
	for (i = 13; i < e; i++)
		if (!field_char((unsigned char)p[i]))
			return fail(r, "bad reason phrase");
	r->reason = p + 13;
	r->reason_len = e - 13;
	/* field-line = field-name ":" OWS field-value OWS (RFC 9112 §5) */
	for (i = e + 2;;) {
		int l = line(p, n, i, &e);
		if (l != 1)
			return fail(r, l < 0 ? "bare CR or LF in head" : "head not terminated");
		if (e == i)
			break;
		size_t c = i;
		while (c < e && tchar((unsigned char)p[c]))
			c++;
		if (c == i || c == e || p[c] != ':')
			return fail(r, "bad field name");
		size_t vs = c + 1, ve = e;
		while (vs < ve && (p[vs] == ' ' || p[vs] == '\t'))
			vs++;
		while (ve > vs && (p[ve - 1] == ' ' || p[ve - 1] == '\t'))
			ve--;
		for (size_t k = vs; k < ve; k++)
			if (!field_char((unsigned char)p[k]))
				return fail(r, "bad field value");
		if (r->nf == TEST_COUNT(r->f))
			return fail(r, "too many fields for the test");
		r->f[r->nf++] = (struct field){p + i, p + vs, c - i, ve - vs};
		i = e + 2;
	}
	i = e + 2;
	r->head_len = i;

	/* The body's length, RFC 9112 §6.3, in its order. */
	size_t nte, ncl;
	const struct field *te = field(r, "Transfer-Encoding", &nte), *cl = field(r, "Content-Length", &ncl);
	if (head_request || r->status < 200 || r->status == 204 || r->status == 304) {
		r->framing = FR_NONE;
		r->complete = true;
		r->extra = n - i;
		return true;
	}
	if (nte) {
		if (nte > 1 || ncl || te->vlen != 7 || strncasecmp(te->value, "chunked", 7))
			return fail(r, "Transfer-Encoding other than one chunked, or with Content-Length");
		r->framing = FR_CHUNKED;
		return chunked_body(p, n, i, r);
	}
	if (ncl) {
		uint64_t len = 0;
		if (ncl > 1 || !cl->vlen || cl->vlen > 19)
			return fail(r, "Content-Length repeated, empty or too long");
		for (size_t k = 0; k < cl->vlen; k++) {
			if (cl->value[k] < '0' || cl->value[k] > '9')
				return fail(r, "Content-Length not digits");
			len = len * 10 + (uint64_t)(cl->value[k] - '0');
		}
		r->framing = FR_LENGTH;
		size_t have = n - i < len ? n - i : (size_t)len;
		memcpy(body_buf, p + i, have);
		r->body_len = have;
		r->complete = have == len;
		r->extra = n - i - have;
		return true;
	}
	r->framing = FR_CLOSE; /* rule 8: the rest of the connection */
	memcpy(body_buf, p + i, n - i);
	r->body_len = n - i;
	r->complete = true;
	return true;
}

static void dump(const char *p, size_t n)
{
	fprintf(stderr, "  wire (%zu bytes): \"", n);
	for (size_t i = 0; i < n && i < 700; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '\r')
			fputs("\\r", stderr);
		else if (c == '\n')
			fputs("\\n\"\n    \"", stderr);
		else if (c < ' ' || c >= 0x7f || c == '"' || c == '\\')
			fprintf(stderr, "\\x%02x", c);
		else
			fputc(c, stderr);
	}
	fprintf(stderr, "%s\"\n", n > 700 ? "..." : "");
}

/* Parse what the fake connection received; on failure say why. */
static bool parse_wire(struct resp *r, bool head_request)
{
	if (parse(fake_resp_conn.wire, fake_resp_conn.len, head_request, r))
		return true;
	fprintf(stderr, "  response does not parse: %s\n", r->err);
	dump(fake_resp_conn.wire, fake_resp_conn.len);
	return false;
}

static bool wire_is(const char *want)
{
	size_t n = strlen(want);
	if (fake_resp_conn.len == n && !memcmp(fake_resp_conn.wire, want, n))
		return true;
	fputs("  expected:\n", stderr);
	dump(want, n);
	fputs("  got:\n", stderr);
	dump(fake_resp_conn.wire, fake_resp_conn.len);
	return false;
}

static bool wire_has(const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i + n <= fake_resp_conn.len; i++)
		if (!memcmp(fake_resp_conn.wire + i, s, n))
			return true;
	return false;
}

static bool body_is(const struct resp *r, const void *p, size_t n)
{
	return r->body_len == n && !memcmp(r->body, p, n);
}

/* A complete message and nothing after it. */
static bool whole(const struct resp *r)
{
	return r->complete && r->extra == 0;
}

/* Write data[0, n) in pieces of `piece` bytes, every call accepted. */
static bool write_pieces(struct http_rw *w, size_t n, size_t piece)
{
	bool ok = true;
	for (size_t i = 0; i < n; i += piece) {
		size_t k = n - i < piece ? n - i : piece;
		ok &= http_write(w, data + i, k) == (ssize_t)k;
	}
	return ok;
}

/* ---- a content coder: every byte twice ("x-double") ---- */

static struct {
	bool accept;
	int starts, ends;
	bool start_final;
	unsigned hows; /* bit (1 << how) for every how seen */
	char pend[2 * HTTP_OUT_SIZE];
	size_t len, off; /* pending input; position in its doubled form */
} dbl;

static bool dbl_start(struct http_rw *w, bool final)
{
	dbl.starts++;
	dbl.start_final = final;
	return dbl.accept && http_set_header(w, "Content-Encoding", "x-double") == 0;
}

static size_t dbl_code(struct http_rw *w, const char *in, size_t n, size_t *used, char *out, size_t cap,
		       enum http_code how)
{
	(void)w;
	dbl.hows |= 1u << how;
	size_t done = dbl.off / 2;
	memmove(dbl.pend, dbl.pend + done, dbl.len - done);
	dbl.len -= done;
	dbl.off -= 2 * done;
	size_t take = n < sizeof dbl.pend - dbl.len ? n : sizeof dbl.pend - dbl.len;
	if (take)
		memcpy(dbl.pend + dbl.len, in, take);
	dbl.len += take;
	*used = take;
	size_t k = 0;
	while (k < cap && dbl.off < 2 * dbl.len)
		out[k++] = dbl.pend[dbl.off++ / 2];
	return k;
}

static void dbl_end(struct http_rw *w)
{
	(void)w;
	dbl.ends++;
}

static const struct http_coder dbl_coder = {dbl_start, dbl_code, dbl_end};

static void offer_dbl(struct http_rw *w, bool accept)
{
	memset(&dbl, 0, sizeof dbl);
	dbl.accept = accept;
	w->coder = &dbl_coder;
	w->coder_state = &dbl;
}

static bool doubled(const struct resp *r, const char *p, size_t n)
{
	if (r->body_len != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (r->body[2 * i] != p[i] || r->body[2 * i + 1] != p[i])
			return false;
	return true;
}

/* ---- the oracle itself ---- */

static void t_parser(void)
{
	static const struct {
		const char *wire;
		bool ok, complete;
	} v[] = {
	    {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", true, true},
	    {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nhi", true, false},
	    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n", true, true},
	    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n", true, false},
	    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n", true, false},
	    {"HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", false, false},
	    {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n", false, false},
	    {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n", false, false},
	    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x=y\r\nhi\r\n0\r\n\r\n", false, false},
	    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhix\r\n0\r\n\r\n", false, false},
	    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: y\r\n\r\n", false, false},
	    {"HTTP/1.1 200 OK\r\nX-A : b\r\nContent-Length: 0\r\n\r\n", false, false},
	    {"HTTP/1.1 200 OK\r\nX\tA: b\r\nContent-Length: 0\r\n\r\n", false, false},
	    {"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false, false},
	    {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n", false, false},
	};
	for (size_t i = 0; i < TEST_COUNT(v); i++) {
		struct resp r;
		bool ok = parse(v[i].wire, strlen(v[i].wire), false, &r);
		if (!CHECK(ok == v[i].ok) || (ok && !CHECK(r.complete == v[i].complete)))
			fprintf(stderr, "  parser vector %zu: %s\n", i, r.err ? r.err : "accepted");
	}
}

/* ---- golden bytes ---- */

static void t_golden_small(void)
{
	struct http_rw *w = get11();
	CHECK(http_set_header(w, "X-Test", "1") == 0);
	CHECK(http_write(w, "hello", 5) == 5);
	CHECK(http_rw_finish(w));
	CHECK(wire_is("HTTP/1.1 200 OK\r\n"
		      "Date: " DATE0 "\r\n"
		      "Content-Type: text/plain; charset=utf-8\r\n"
		      "X-Test: 1\r\n"
		      "Content-Length: 5\r\n"
		      "\r\n"
		      "hello"));
	CHECK(fake_resp_conn.writes == 1); /* head and body in one segment */
	CHECK(fake_resp_conn.last_deadline == CUTOFF + WRITE_NS);
}

static void t_golden_chunked(void)
{
	struct http_rw *w = get11();
	CHECK(http_write(w, "hello", 5) == 5);
	CHECK(http_flush(w) == 0);
	CHECK(http_rw_finish(w));
	CHECK(wire_is("HTTP/1.1 200 OK\r\n"
		      "Date: " DATE0 "\r\n"
		      "Content-Type: text/plain; charset=utf-8\r\n"
		      "Transfer-Encoding: chunked\r\n"
		      "\r\n"
		      "5\r\nhello\r\n"
		      "0\r\n\r\n"));
}

/* ---- framing ---- */

static void t_small(void)
{
	struct http_rw *w = get11();
	CHECK(http_printf(w, "<p>%d</p>", 42) == 9);
	CHECK(http_rw_finish(w));
	struct resp r;
	if (!CHECK(parse_wire(&r, false)))
		return;
	CHECK(r.status == 200 && r.reason_len == 2 && !memcmp(r.reason, "OK", 2));
	CHECK(r.framing == FR_LENGTH && has1(&r, "Content-Length", "9"));
	CHECK(body_is(&r, "<p>42</p>", 9) && whole(&r));
	CHECK(has1(&r, "Content-Type", "text/html; charset=utf-8"));
	CHECK(count(&r, "Transfer-Encoding") == 0 && count(&r, "Connection") == 0);
	CHECK(http_bytes_written(w) == 9 && http_header_sent(w));
}

/* http_printf output of any length goes out whole. */
static void t_printf_long(void)
{
	static const int lens[] = {255, 256, 600, 9000};
	for (size_t i = 0; i < TEST_COUNT(lens); i++) {
		struct http_rw *w = get11();
		CHECK(http_printf(w, "[%.*s]", lens[i], data) == lens[i] + 2);
		CHECK(http_rw_finish(w));
		struct resp r;
		if (CHECK(parse_wire(&r, false)))
			CHECK(r.body_len == (size_t)lens[i] + 2 && r.body[0] == '[' &&
			      !memcmp(r.body + 1, data, (size_t)lens[i]) && r.body[lens[i] + 1] == ']' &&
			      whole(&r));
	}
}

static void t_empty(void)
{
	struct http_rw *w = get11();
	CHECK(http_rw_finish(w));
	struct resp r;
	if (!CHECK(parse_wire(&r, false)))
		return;
	CHECK(r.status == 200 && has1(&r, "Content-Length", "0") && r.body_len == 0 && whole(&r));
	CHECK(count(&r, "Content-Type") == 0); /* nothing to describe */
}

/* The buffer holds exactly 8 KiB: that much still gets a Content-Length,
 * one byte more is chunked. */
static void t_boundary(void)
{
	struct resp r;
	struct http_rw *w = get11();
	CHECK(http_write(w, data, HTTP_OUT_SIZE) == HTTP_OUT_SIZE);
	CHECK(http_rw_finish(w));
	if (CHECK(parse_wire(&r, false))) {
		CHECK(r.framing == FR_LENGTH && has1(&r, "Content-Length", "8192"));
		CHECK(body_is(&r, data, HTTP_OUT_SIZE) && whole(&r));
	}
	w = get11();
	CHECK(http_write(w, data, HTTP_OUT_SIZE + 1) == HTTP_OUT_SIZE + 1);
	CHECK(http_rw_finish(w));
	if (CHECK(parse_wire(&r, false))) {
		CHECK(r.framing == FR_CHUNKED && count(&r, "Content-Length") == 0);
		CHECK(body_is(&r, data, HTTP_OUT_SIZE + 1) && whole(&r));
	}
}

static void t_large_chunked(void)
{
	struct http_rw *w = get11();
	CHECK(http_write(w, data, BIG) == BIG);
	CHECK(http_rw_finish(w));
	struct resp r;
	if (!CHECK(parse_wire(&r, false)))
		return;
	CHECK(r.framing == FR_CHUNKED && has1(&r, "Transfer-Encoding", "chunked"));
	CHECK(count(&r, "Content-Length") == 0 && count(&r, "Connection") == 0);
	CHECK(body_is(&r, data, BIG) && whole(&r) && r.chunks >= 1);
}

/* More than the buffer holds, written at once with nothing buffered, is
 * not copied through the buffer: one chunk, as written. */
static void t_large_direct(void)
{
	struct http_rw *w = get11();
	CHECK(http_write(w, "abc", 3) == 3);
	CHECK(http_write(w, data, BIG) == BIG); /* after buffered bytes: through the buffer */
	CHECK(http_rw_finish(w));
	struct resp r;
	if (CHECK(parse_wire(&r, false)))
		CHECK(r.chunks > 1 && whole(&r));
	w = get11();
	CHECK(http_write(w, data, BIG) == BIG);
	CHECK(http_write(w, "abc", 3) == 3);
	CHECK(http_rw_finish(w));
	if (CHECK(parse_wire(&r, false)))
		CHECK(r.framing == FR_CHUNKED && r.chunks == 2 && whole(&r) && r.body_len == BIG + 3);
}

/* http_write_static: a write larger than the buffer goes to the stream's
 * write_static with the caller's own bytes; a smaller one, one after
 * buffered bytes, and anything a coder takes are copied as http_write's
 * are; the response on the wire is the same. */
static void t_static_write(void)
{
	struct resp r;
	struct http_rw *w = get11();
	CHECK(http_write_static(w, data, BIG) == BIG && http_rw_finish(w));
	CHECK(fake_resp_conn.static_writes == 1 && fake_resp_conn.static_buf == data);
	if (CHECK(parse_wire(&r, false)))
		CHECK(r.framing == FR_CHUNKED && body_is(&r, data, BIG) && whole(&r));
	w = get11(); /* as the static handler writes: the length declared */
	CHECK(http_set_content_length(w, BIG) == 0 && http_write_static(w, data, BIG) == BIG && http_rw_finish(w));
	CHECK(fake_resp_conn.static_writes == 1 && fake_resp_conn.static_buf == data);
	if (CHECK(parse_wire(&r, false)))
		CHECK(r.framing == FR_LENGTH && body_is(&r, data, BIG) && whole(&r));
	w = get11();
	CHECK(http_write_static(w, data, 100) == 100);
	CHECK(http_write_static(w, data + 100, BIG) == BIG && http_rw_finish(w)); /* after buffered bytes */
	CHECK(fake_resp_conn.static_writes == 0);
	if (CHECK(parse_wire(&r, false)))
		CHECK(body_is(&r, data, BIG + 100) && whole(&r));
	w = get11();
	offer_dbl(w, true);
	CHECK(http_write_static(w, data, 20000) == 20000 && http_rw_finish(w));
	CHECK(fake_resp_conn.static_writes == 0 && dbl.starts == 1);
	if (CHECK(parse_wire(&r, false)))
		CHECK(doubled(&r, data, 20000) && whole(&r));
}

/* Writes in odd pieces straddle every buffer boundary. */
static void t_large_pieces(void)
{
	struct http_rw *w = get11();
	CHECK(write_pieces(w, 50001, 7));
	CHECK(http_rw_finish(w));
	struct resp r;
	if (!CHECK(parse_wire(&r, false)))
		return;
	CHECK(r.framing == FR_CHUNKED && body_is(&r, data, 50001) && whole(&r));
	CHECK(http_bytes_written(w) == 50001);
}

/* HTTP/1.0 has no chunked coding: the body ends with the connection
 * (RFC 9112 §6.3 rule 8), so it must say so. */
static void t_large_http10(void)
{
	for (int ka = 0; ka < 2; ka++) {
		struct http_rw *w = start("GET", 0, ka);
		CHECK(http_write(w, data, BIG) == BIG);
		CHECK(!http_rw_finish(w));
		struct resp r;
		if (!CHECK(parse_wire(&r, false)))
			continue;
		CHECK(r.framing == FR_CLOSE && body_is(&r, data, BIG));
		CHECK(has1(&r, "Connection", "close"));
		CHECK(count(&r, "Content-Length") == 0 && count(&r, "Transfer-Encoding") == 0);
	}
}

/* ---- declared length (http_set_content_length) ---- */

static void t_declared_large(void)
{
	struct http_rw *w = get11();
	http_set_content_length(w, BIG);
	CHECK(write_pieces(w, BIG, 6000));
	CHECK(http_rw_finish(w));
	struct resp r;
	if (!CHECK(parse_wire(&r, false)))
		return;
	CHECK(r.framing == FR_LENGTH && has1(&r, "Content-Length", "20000"));
	CHECK(count(&r, "Transfer-Encoding") == 0 && count(&r, "Connection") == 0);
	CHECK(body_is(&r, data, BIG) && whole(&r));
}

/* HTTP/1.0 with a declared length need not close to end the body. */
static void t_declared_http10(void)
{
	struct http_rw *w = start("GET", 0, true);
	http_set_content_length(w, BIG);
	CHECK(http_write(w, data, BIG) == BIG);
	CHECK(http_rw_finish(w));
	struct resp r;
	if (!CHECK(parse_wire(&r, false)))
		return;
	CHECK(has1(&r, "Content-Length", "20000") && has1(&r, "Connection", "keep-alive"));
	CHECK(body_is(&r, data, BIG) && whole(&r));
}

static void t_declared_more(void)
{
	struct http_rw *w = get11();
	http_set_content_length(w, 10);
	CHECK(http_write(w, "abcdef", 6) == 6);
	CHECK(http_write(w, "ghijk", 5) == -EMSGSIZE);
	CHECK(http_write(w, "ghij", 4) == 4);
	CHECK(http_write(w, "k", 1) == -EMSGSIZE);
	CHECK(http_bytes_written(w) == 10);
	CHECK(http_rw_finish(w));
	struct resp r;
	if (CHECK(parse_wire(&r, false)))
		CHECK(has1(&r, "Content-Length", "10") && body_is(&r, "abcdefghij", 10) && whole(&r));

	/* The same past the buffer, and one write too long as a whole. */
	w = get11();
	http_set_content_length(w, 9000);
	CHECK(http_write(w, data, 9001) == -EMSGSIZE);
	CHECK(http_write(w, data, 9000) == 9000);
	CHECK(http_write(w, data, 1) == -EMSGSIZE);
	CHECK(http_rw_finish(w));
	if (CHECK(parse_wire(&r, false)))
		CHECK(has1(&r, "Content-Length", "9000") && body_is(&r, data, 9000) && whole(&r));
}

/* Fewer bytes than declared: the client can only tell by the connection
 * ending (RFC 9112 §8), so it must close. */
static void t_declared_fewer(void)
{
	struct resp r;
	struct http_rw *w = get11();
	http_set_content_length(w, 100);
	CHECK(http_write(w, data, 50) == 50);
	CHECK(!http_rw_finish(w));
	if (CHECK(parse_wire(&r, false))) {
		CHECK(has1(&r, "Content-Length", "100") && has1(&r, "Connection", "close"));
		CHECK(!r.complete && body_is(&r, data, 50));
	}
	/* ...also when the head went out before the handler stopped short. */
	w = get11();
	http_set_content_length(w, BIG);
	CHECK(http_write(w, data, 10000) == 10000);
	CHECK(http_header_sent(w));
	CHECK(!http_rw_finish(w));
	if (CHECK(parse_wire(&r, false)))
		CHECK(has1(&r, "Content-Length", "20000") && !r.complete && body_is(&r, data, 10000));
}

/* http_set_content_length() below what the handler already buffered is
 * refused: the head would say 10 and 90 bytes would sit on the wire after
 * the message, where a client takes them for the next response (RFC 9112
 * §6.3: the message ends at Content-Length). */
static void t_declared_below_buffered(void)
{
	struct http_rw *w = get11();
	CHECK(http_write(w, data, 100) == 100);
	CHECK(http_set_content_length(w, 10) == -EINVAL);
	CHECK(http_set_content_length(w, (uint64_t)INT64_MAX + 1) == -EINVAL);
	http_rw_finish(w);
	struct resp r;
	if (!CHECK(parse_wire(&r, false)))
		return;
	if (!CHECK(r.extra == 0)) {
		fprintf(stderr, "  %zu bytes after the Content-Length body:\n", r.extra);
		dump(fake_resp_conn.wire, fake_resp_conn.len);
	}
}

/* ---- no body: HEAD, 1xx, 204, 304 ---- */

static void hello(struct http_rw *w)
{
	http_set_header(w, "X-A", "a");
	http_write(w, "hello world", 11);
}

/* HEAD gets GET's head, Content-Length included (RFC 9110 §9.3.2), and
 * no body bytes (RFC 9112 §6.3 rule 1). */
static void t_head_small(void)
{
	static char get_head[1024];
	size_t get_len;
	struct resp r;
	struct http_rw *w = get11();
	hello(w);
	CHECK(http_rw_finish(w));
	if (!CHECK(parse_wire(&r, false)))
		return;
	get_len = r.head_len;
	memcpy(get_head, fake_resp_conn.wire, get_len);
	CHECK(has1(&r, "Content-Length", "11"));

	w = start("HEAD", 1, true);
	hello(w);
	CHECK(http_rw_finish(w));
	if (!CHECK(parse_wire(&r, true)))
		return;
	CHECK(fake_resp_conn.len == get_len && !memcmp(fake_resp_conn.wire, get_head, get_len));
	CHECK(r.extra == 0 && http_bytes_written(w) == 11);
}

static void t_head_large(void)
{
	for (int minor = 0; minor < 2; minor++) {
		struct http_rw *w = start("HEAD", minor, true);
		CHECK(http_write(w, data, BIG) == BIG);
		CHECK(http_rw_finish(w)); /* no body to delimit: the connection stays */
		struct resp r;
		if (!CHECK(parse_wire(&r, true)))
			continue;
		size_t k;
		const struct field *cl = field(&r, "Content-Length", &k);
		CHECK(k == 0 || (k == 1 && cl->vlen == 5 && !memcmp(cl->value, "20000", 5)));
		CHECK(r.status == 200 && r.extra == 0);
		CHECK(count(&r, "Connection") == (minor == 0) &&
		      (minor == 1 || has1(&r, "Connection", "keep-alive")));
	}
}

static void t_head_declared(void)
{
	struct http_rw *w = start("HEAD", 1, true);
	http_set_content_length(w, 12345);
	CHECK(http_rw_finish(w));
	struct resp r;
	if (CHECK(parse_wire(&r, true)))
		CHECK(has1(&r, "Content-Length", "12345") && r.extra == 0 && count(&r, "Connection") == 0);
}

/* 204 and 1xx: no body and no Content-Length or Transfer-Encoding (RFC
 * 9110 §8.6, RFC 9112 §6.1); what the handler wrote is dropped. */
static void t_204(void)
{
	static const size_t sizes[] = {0, 300, BIG};
	for (size_t i = 0; i < TEST_COUNT(sizes); i++) {
		struct http_rw *w = get11();
		http_write_header(w, 204);
		CHECK(http_write(w, data, sizes[i]) == (ssize_t)sizes[i]);
		CHECK(http_rw_finish(w));
		struct resp r;
		if (!CHECK(parse_wire(&r, false)))
			continue;
		CHECK(r.status == 204 && r.extra == 0);
		CHECK(count(&r, "Content-Length") == 0 && count(&r, "Transfer-Encoding") == 0);
		CHECK(count(&r, "Content-Type") == 0 && count(&r, "Connection") == 0);
	}
}

/* 304: no body; Content-Length only if it were the 200's (RFC 9110 §8.6),
 * which the writer cannot know, so none; validators stay (§15.4.5). */
static void t_304(void)
{
	struct http_rw *w = get11();
	CHECK(http_set_header(w, "ETag", "\"v1\"") == 0);
	http_write_header(w, 304);
	CHECK(http_write(w, "stale", 5) == 5);
	CHECK(http_rw_finish(w));
	struct resp r;
	if (!CHECK(parse_wire(&r, false)))
		return;
	CHECK(r.status == 304 && r.extra == 0 && has1(&r, "ETag", "\"v1\""));
	CHECK(count(&r, "Content-Length") == 0 && count(&r, "Transfer-Encoding") == 0);
}

static void t_1xx(void)
{
	static const int st[] = {100, 103};
	for (size_t i = 0; i < TEST_COUNT(st); i++) {
		struct http_rw *w = get11();
		http_write_header(w, st[i]);
		CHECK(http_write(w, "x", 1) == 1);
		http_rw_finish(w);
		struct resp r;
		if (!CHECK(parse_wire(&r, false)))
			continue;
		CHECK(r.status == st[i] && r.extra == 0);
		CHECK(count(&r, "Content-Length") == 0 && count(&r, "Transfer-Encoding") == 0);
	}
}

/* ---- Connection (RFC 9112 §9.3) ---- */

static void t_conn_http10_keepalive(void)
{
	struct http_rw *w = start("GET", 0, true);
	CHECK(http_write(w, "hi", 2) == 2);
	CHECK(http_rw_finish(w));
	struct resp r;
	if (CHECK(parse_wire(&r, false)))
		CHECK(has1(&r, "Connection", "keep-alive") && has1(&r, "Content-Length", "2") && whole(&r));
}

static void t_conn_http10_close(void)
{
	struct http_rw *w = start("GET", 0, false);
	CHECK(http_write(w, "hi", 2) == 2);
	CHECK(!http_rw_finish(w));
	struct resp r;
	if (CHECK(parse_wire(&r, false)))
		CHECK(has1(&r, "Connection", "close") && has1(&r, "Content-Length", "2") && whole(&r));
}

static void t_conn_http11_close(void)
{
	struct http_rw *w = start("GET", 1, false);
	CHECK(http_write(w, "hi", 2) == 2);
	CHECK(!http_rw_finish(w));
	struct resp r;
	if (CHECK(parse_wire(&r, false)))
		CHECK(has1(&r, "Connection", "close") && has1(&r, "Content-Length", "2") && whole(&r));
}

static void t_conn_http11_default(void)
{
	struct http_rw *w = get11();
	CHECK(http_write(w, "hi", 2) == 2);
	CHECK(http_rw_finish(w));
	struct resp r;
	if (CHECK(parse_wire(&r, false)))
		CHECK(count(&r, "Connection") == 0 && whole(&r));
}

/* A draining server (drain_delay) closes every connection after its
 * response, and says so, so a load balancer's pooled connection ends
 * cleanly rather than being cut under a later request. */
static void t_conn_draining(void)
{
	struct http_rw *w = get11();
	fake_resp_draining = true;
	CHECK(http_write(w, "hi", 2) == 2);
	CHECK(!http_rw_finish(w));
	struct resp r;
	if (CHECK(parse_wire(&r, false)))
		CHECK(has1(&r, "Connection", "close") && has1(&r, "Content-Length", "2") && whole(&r));
}

/* ---- header fields ---- */

/* The framing and connection fields and Date are the server's. */
static void t_server_owned(void)
{
	static const char *const names[] = {"Content-Length",
					    "content-length",
					    "Transfer-Encoding",
					    "TRANSFER-ENCODING",
					    "Connection",
					    "connection",
					    "Date",
					    "dAtE"};
	struct http_rw *w = get11();
	for (size_t i = 0; i < TEST_COUNT(names); i++) {
		CHECK(http_set_header(w, names[i], "chunked") == -EINVAL);
		CHECK(http_add_header(w, names[i], "5") == -EINVAL);
	}
	CHECK(w->hdrs_len == 0);
	CHECK(http_write(w, "hi", 2) == 2);
	CHECK(http_rw_finish(w));
	struct resp r;
	if (!CHECK(parse_wire(&r, false)))
		return;
	CHECK(has1(&r, "Date", DATE0) && has1(&r, "Content-Length", "2"));
	CHECK(count(&r, "Transfer-Encoding") == 0 && count(&r, "Connection") == 0 && whole(&r));
}

/* CR or LF in a field would end it and start another (RFC 9110 §5.5). */
static void t_crlf(void)
{
	static const char *const values[] = {"a\r\nX-Injected: 1", "a\nX-Injected: 1", "a\rb", "\r\n"};
	static const char *const names[] = {"X-A\r\nX-Injected", "X\n", "X:Y", "X Y", ""};
	struct http_rw *w = get11();
	for (size_t i = 0; i < TEST_COUNT(values); i++) {
		CHECK(http_set_header(w, "X-V", values[i]) == -EINVAL);
		CHECK(http_add_header(w, "X-V", values[i]) == -EINVAL);
	}
	for (size_t i = 0; i < TEST_COUNT(names); i++) {
		CHECK(http_set_header(w, names[i], "v") == -EINVAL);
		CHECK(http_add_header(w, names[i], "v") == -EINVAL);
	}
	CHECK(w->hdrs_len == 0);
	CHECK(http_rw_finish(w));
	struct resp r;
	CHECK(parse_wire(&r, false) && whole(&r));
	CHECK(!wire_has("Injected") && count(&r, "X-V") == 0);
}

/* A field name must be a token (RFC 9110 §5.1); the writer once refused
 * only ':' and SP. "Transfer-Encoding\t" passes the server-owned
 * check and goes out as "Transfer-Encoding\t: chunked", which a proxy must
 * turn into Transfer-Encoding (RFC 9112 §5.1: it removes whitespace before
 * the colon): the smuggled framing field the check exists to prevent. */
static void t_name_token(void)
{
	static const char *const names[] = {"Transfer-Encoding\t", "Content-Length\t", "X(A)", "X\x7f",
					    "X\xc3\xa9"};
	struct http_rw *w = get11();
	for (size_t i = 0; i < TEST_COUNT(names); i++)
		if (!CHECK(http_add_header(w, names[i], "chunked") == -EINVAL))
			fprintf(stderr, "  names[%zu] accepted\n", i);
	http_rw_finish(w);
	struct resp r;
	CHECK(parse_wire(&r, false));
}

/* Exactly one Date, the wall clock's second (RFC 9110 §6.6.1), following
 * the clock from one response to the next. */
static void t_date(void)
{
	static const struct {
		uint64_t wall;
		const char *date;
	} v[] = {
	    {WALL0, DATE0},
	    {WALL0 + NS - 1, DATE0},
	    {WALL0 + NS, "Sun, 06 Nov 1994 08:49:38 GMT"},
	    {0, "Thu, 01 Jan 1970 00:00:00 GMT"},
	    {951782400ull * NS, "Tue, 29 Feb 2000 00:00:00 GMT"},
	};
	for (size_t i = 0; i < TEST_COUNT(v); i++) {
		struct http_rw *w = get11();
		fake_resp_wall_ns = v[i].wall;
		CHECK(http_rw_finish(w));
		struct resp r;
		if (CHECK(parse_wire(&r, false)) && !CHECK(has1(&r, "Date", v[i].date)))
			fprintf(stderr, "  want Date: %s\n", v[i].date);
	}
}

static void t_set_add(void)
{
	struct http_rw *w = get11();
	size_t n, iter = 0;
	const char *v;
	CHECK(http_set_header(w, "X-A", "1") == 0);
	CHECK(http_set_header(w, "X-A", "2") == 0);
	CHECK(http_add_header(w, "X-A", "3") == 0);
	CHECK(http_add_header(w, "X-AB", "4") == 0);
	CHECK((v = http_rw_header(w, "x-a", &n, &iter)) && n == 1 && *v == '2');
	CHECK((v = http_rw_header(w, "x-a", &n, &iter)) && n == 1 && *v == '3');
	CHECK(!http_rw_header(w, "x-a", &n, &iter));
	CHECK(http_rw_finish(w));
	struct resp r;
	if (!CHECK(parse_wire(&r, false)))
		return;
	CHECK(count(&r, "X-A") == 2 && has1(&r, "X-AB", "4"));
	const struct field *f = field(&r, "X-A", NULL);
	CHECK(f->vlen == 1 && f->value[0] == '2' && f[1].vlen == 1 && f[1].value[0] == '3');

	w = get11();
	CHECK(http_add_header(w, "X-A", "1") == 0 && http_add_header(w, "X-A", "2") == 0);
	CHECK(http_set_header(w, "x-a", "3") == 0);
	CHECK(http_rw_finish(w));
	if (CHECK(parse_wire(&r, false)))
		CHECK(has1(&r, "X-A", "3"));
	CHECK(http_set_header(w, "X-Late", "1") == -EINVAL && http_add_header(w, "X-Late", "1") == -EINVAL);
}

/* A handler's Content-Type is kept; without one it is sniffed. */
static void t_content_type(void)
{
	static const struct {
		const char *set, *body, *want;
	} v[] = {
	    {"image/png", "<html>", "image/png"},         {NULL, "  <html>", "text/html; charset=utf-8"},
	    {NULL, "{\"a\":1}", "application/json"},      {NULL, "\x01\x02", "application/octet-stream"},
	    {NULL, "plain", "text/plain; charset=utf-8"},
	};
	for (size_t i = 0; i < TEST_COUNT(v); i++) {
		struct http_rw *w = get11();
		if (v[i].set)
			CHECK(http_set_header(w, "Content-Type", v[i].set) == 0);
		CHECK(http_write(w, v[i].body, strlen(v[i].body)) == (ssize_t)strlen(v[i].body));
		CHECK(http_rw_finish(w));
		struct resp r;
		if (CHECK(parse_wire(&r, false)))
			CHECK(has1(&r, "Content-Type", v[i].want));
	}
}

/* The first status wins; one outside 100..999 is ignored. */
static void t_status(void)
{
	struct resp r;
	struct http_rw *w = get11();
	http_write_header(w, 99);
	http_write_header(w, 1000);
	http_write_header(w, 201);
	http_write_header(w, 404);
	CHECK(http_status(w) == 201);
	CHECK(http_rw_finish(w));
	if (CHECK(parse_wire(&r, false)))
		CHECK(r.status == 201 && r.reason_len == 7 && !memcmp(r.reason, "Created", 7));

	w = get11();
	CHECK(http_write(w, "x", 1) == 1);
	http_write_header(w, 500); /* after a write: 200 already */
	CHECK(http_rw_finish(w));
	if (CHECK(parse_wire(&r, false)))
		CHECK(r.status == 200);

	w = get11();
	http_write_header(w, 431);
	CHECK(http_rw_finish(w));
	if (CHECK(parse_wire(&r, false)))
		CHECK(r.status == 431 && r.reason_len == 31 &&
		      !memcmp(r.reason, "Request Header Fields Too Large", 31));
}

/* ---- the head's worst case ---- */

/* Fill the handler's header space to its last byte with lines of `vlen`
 * byte values, then check the next one is refused. Returns the count. */
static size_t fill_headers(struct http_rw *w, size_t vlen)
{
	static char v[HTTP_HDR_SIZE];
	char name[16];
	size_t k = 0;
	memset(v, 'v', sizeof v);
	for (;; k++) {
		snprintf(name, sizeof name, "X-%zu", k);
		size_t line = strlen(name) + 2 + vlen + 2;
		if (w->hdrs_len + line + 5 > HTTP_HDR_SIZE - 1)
			break; /* leave room for the last line */
		v[vlen] = '\0';
		CHECK(http_add_header(w, name, v) == 0);
		v[vlen] = 'v';
	}
	/* the last line takes what is left but the NUL: "Z: " value CRLF */
	size_t left = HTTP_HDR_SIZE - 1 - w->hdrs_len;
	if (CHECK(left >= 5)) {
		v[left - 5] = '\0';
		CHECK(http_add_header(w, "Z", v) == 0);
		v[left - 5] = 'v';
	}
	CHECK(w->hdrs_len == HTTP_HDR_SIZE - 1);
	return k;
}

static bool on_wire(const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i + n <= fake_resp_conn.len; i++)
		if (!memcmp(fake_resp_conn.wire + i, s, n))
			return true;
	return false;
}

/* A handler field that does not fit is never silently missing: the
 * response becomes a 500 with Connection: close, none of the handler's
 * fields or body, a log line, and later writes are refused. */
static void t_header_overflow(void)
{
	static char v[HTTP_HDR_SIZE];
	struct http_rw *w = get11();
	memset(v, 'v', sizeof v - 1);
	CHECK(http_set_header(w, "X-Small", "kept?") == 0);
	unsigned lines = fake_resp_log_lines;
	CHECK(http_set_header(w, "X-Big", v) == -ENOSPC);
	CHECK(fake_resp_log_lines == lines + 1 && strstr(fake_resp_log, "X-Big") != NULL);
	CHECK(http_status(w) == 500); /* at once: the access log reads this */
	CHECK(http_write(w, "secret body", 11) == -EPIPE);
	CHECK(http_write(w, data, 20000) == -EPIPE);
	CHECK(http_set_header(w, "X-Late", "x") == -EINVAL);
	http_error(w, 404, "secret error");
	CHECK(!http_rw_finish(w));
	CHECK(http_write(w, "more", 4) < 0);
	struct resp r;
	if (!CHECK(parse_wire(&r, false)))
		return;
	CHECK(r.status == 500);
	CHECK(r.extra == 0);
	CHECK(r.body_len == 34 && !memcmp(r.body, "response header section too large\n", 34));
	CHECK(!on_wire("X-Small"));
	CHECK(!on_wire("secret"));
	CHECK(on_wire("Connection: close\r\n"));
}

/* Every accepted line of the handler's is on the wire, intact and in
 * order, right after Date and Content-Type. */
static bool all_headers(const struct resp *r, const struct http_rw *w, size_t first)
{
	size_t at = 0;
	for (size_t i = first; i < r->nf; i++) {
		const struct field *f = &r->f[i];
		size_t line = f->nlen + 2 + f->vlen + 2;
		if (at == w->hdrs_len)
			return true;
		if (line > w->hdrs_len - at || memcmp(w->hdrs + at, f->name, f->nlen) ||
		    memcmp(w->hdrs + at + f->nlen, ": ", 2) ||
		    memcmp(w->hdrs + at + f->nlen + 2, f->value, f->vlen))
			return false;
		at += line;
	}
	return at == w->hdrs_len;
}

/* Every variable part of the head at its longest: the longest reason,
 * a sniffed Content-Type, a 19-digit Content-Length, "Connection:
 * keep-alive", and the handler's lines filling their space, many short
 * ones or one long one. The head must carry all of it or refuse it; it
 * must never go out cut. */
static void t_head_limit(void)
{
	for (int mode = 0; mode < 4; mode++) {
		bool head = mode < 2, many = mode % 2 == 0;
		struct http_rw *w = head ? start("HEAD", 0, true) : start("GET", 1, true);
		size_t lines = fill_headers(w, many ? 1 : HTTP_HDR_SIZE);
		CHECK(many ? lines > 50 : lines == 0);
		http_write_header(w, 431);
		if (head)
			http_set_content_length(w, INT64_MAX);
		CHECK(http_write(w, "<", 1) == 1);
		if (!head)
			CHECK(http_write(w, data, BIG) == BIG); /* chunked, with a chunk-size line */
		CHECK(http_rw_finish(w));
		struct resp r;
		if (!CHECK(parse_wire(&r, head)))
			continue;
		CHECK(r.status == 431 && has1(&r, "Date", DATE0));
		CHECK(has1(&r, "Content-Type", "text/html; charset=utf-8"));
		CHECK(r.nf >= 2 && all_headers(&r, w, 2));
		if (head) {
			CHECK(has1(&r, "Content-Length", "9223372036854775807"));
			CHECK(has1(&r, "Connection", "keep-alive") && r.extra == 0);
		} else {
			CHECK(has1(&r, "Transfer-Encoding", "chunked") && whole(&r));
			CHECK(r.body_len == BIG + 1 && r.body[0] == '<' && !memcmp(r.body + 1, data, BIG));
		}
	}
}

/* ---- streaming ---- */

static void t_flush_order(void)
{
	struct http_rw *w = get11();
	struct resp r;
	CHECK(http_flush(w) == 0); /* head only: no empty chunk (it would end the body) */
	size_t len = fake_resp_conn.len;
	CHECK(http_header_sent(w) && parse_wire(&r, false) && !r.complete && r.chunks == 0);
	CHECK(http_write(w, "one ", 4) == 4 && http_flush(w) == 0);
	CHECK(fake_resp_conn.len > len);
	CHECK(parse_wire(&r, false) && !r.complete && body_is(&r, "one ", 4));
	CHECK(http_write(w, "two ", 4) == 4 && http_flush(w) == 0);
	CHECK(parse_wire(&r, false) && !r.complete && body_is(&r, "one two ", 8));
	len = fake_resp_conn.len;
	CHECK(http_flush(w) == 0 && fake_resp_conn.len == len);
	CHECK(http_write(w, "three", 5) == 5);
	CHECK(http_rw_finish(w));
	if (!CHECK(parse_wire(&r, false)))
		return;
	CHECK(r.framing == FR_CHUNKED && body_is(&r, "one two three", 13) && r.chunks == 3 && whole(&r));
}

static void t_flush_http10(void)
{
	struct http_rw *w = start("GET", 0, true);
	CHECK(http_write(w, "one ", 4) == 4 && http_flush(w) == 0);
	CHECK(http_write(w, "two", 3) == 3);
	CHECK(!http_rw_finish(w));
	struct resp r;
	if (CHECK(parse_wire(&r, false)))
		CHECK(r.framing == FR_CLOSE && has1(&r, "Connection", "close") && body_is(&r, "one two", 7));
}

static void t_flush_declared(void)
{
	struct http_rw *w = get11();
	http_set_content_length(w, 10);
	CHECK(http_write(w, "0123", 4) == 4 && http_flush(w) == 0);
	CHECK(fake_resp_conn.len > 0);
	CHECK(http_write(w, "456789", 6) == 6);
	CHECK(http_rw_finish(w));
	struct resp r;
	if (CHECK(parse_wire(&r, false)))
		CHECK(r.framing == FR_LENGTH && body_is(&r, "0123456789", 10) && whole(&r));
}

/* ---- http_error ---- */

static void t_error_replaces(void)
{
	struct http_rw *w = get11();
	CHECK(http_set_header(w, "Content-Type", "text/html") == 0);
	CHECK(http_write(w, "secret partial page", 19) == 19);
	http_error(w, 500, "boom");
	CHECK(http_status(w) == 500);
	CHECK(http_rw_finish(w));
	struct resp r;
	if (!CHECK(parse_wire(&r, false)))
		return;
	CHECK(r.status == 500 && has1(&r, "Content-Length", "5") && body_is(&r, "boom\n", 5) && whole(&r));
	CHECK(has1(&r, "Content-Type", "text/plain; charset=utf-8") &&
	      has1(&r, "X-Content-Type-Options", "nosniff"));
	CHECK(!wire_has("secret"));
}

static void t_error_declared(void)
{
	struct http_rw *w = get11();
	http_set_content_length(w, 1000);
	CHECK(http_write(w, data, 10) == 10);
	http_error(w, 404, "nf");
	CHECK(http_rw_finish(w)); /* the declared length went with the old body */
	struct resp r;
	if (CHECK(parse_wire(&r, false)))
		CHECK(r.status == 404 && has1(&r, "Content-Length", "3") && body_is(&r, "nf\n", 3) &&
		      whole(&r));
}

/* Once the head is out the status is said: http_error changes nothing. */
static void t_error_after_head(void)
{
	struct resp r;
	struct http_rw *w = get11();
	CHECK(http_write(w, data, BIG) == BIG);
	CHECK(http_header_sent(w));
	http_error(w, 500, "boom");
	CHECK(http_status(w) == 200);
	CHECK(http_rw_finish(w));
	if (CHECK(parse_wire(&r, false)))
		CHECK(r.status == 200 && body_is(&r, data, BIG) && whole(&r));
	CHECK(!wire_has("boom"));

	w = get11();
	CHECK(http_write(w, "abc", 3) == 3 && http_flush(w) == 0);
	http_error(w, 503, "boom");
	CHECK(http_rw_finish(w));
	if (CHECK(parse_wire(&r, false)))
		CHECK(r.status == 200 && body_is(&r, "abc", 3) && whole(&r));
	CHECK(!wire_has("boom"));
}

static void t_simple(void)
{
	struct resp r;
	get11();
	http_rw_simple(&hc, 400, "bad request", true);
	if (CHECK(parse_wire(&r, false))) {
		CHECK(r.status == 400 && body_is(&r, "bad request\n", 12) && whole(&r));
		CHECK(has1(&r, "Connection", "close") &&
		      has1(&r, "Content-Type", "text/plain; charset=utf-8"));
	}
	start("GET", 0, true);
	http_rw_simple(&hc, 404, "not found", false);
	if (CHECK(parse_wire(&r, false)))
		CHECK(r.status == 404 && has1(&r, "Connection", "keep-alive") &&
		      has1(&r, "Content-Length", "10"));
}

/* ---- failures ---- */

/* A conn_write that fails at any point: the writer stops (no call after
 * the failure), every later write fails, finish says close, and the wire
 * never holds a complete message. */
static void t_write_fail(void)
{
	struct http_rw *w = get11();
	CHECK(http_write(w, data, BIG) == BIG);
	CHECK(http_rw_finish(w));
	unsigned calls = fake_resp_conn.writes;
	w = get11();
	CHECK(http_write(w, data, BIG) == BIG);
	unsigned in_write = fake_resp_conn.writes; /* calls made while the handler wrote */
	CHECK(in_write >= 2 && calls > in_write);
	for (unsigned at = 1; at <= calls; at++) {
		w = get11();
		fake_resp_conn.fail_at = at;
		CHECK(http_write(w, data, BIG) == (at <= in_write ? -EPIPE : BIG));
		CHECK(!http_rw_finish(w));
		CHECK(http_write(w, "x", 1) == -EPIPE);
		CHECK(fake_resp_conn.calls_after_fail == 0);
		struct resp r;
		if (at > 1)
			CHECK(parse_wire(&r, false) && !r.complete);
		else
			CHECK(fake_resp_conn.len == 0);
	}
	/* a small response's single write */
	w = get11();
	fake_resp_conn.fail_at = 1;
	CHECK(http_write(w, "hi", 2) == 2);
	CHECK(!http_rw_finish(w));
	CHECK(fake_resp_conn.len == 0 && http_write(w, "x", 1) == -EPIPE);
}

/* Once a defect: with no write deadline (http_set_deadline(w, 0): "0 for
 * none", for event streams) a failed conn_write is reported as -ETIMEDOUT:
 * http_write tests clock_now() > w->deadline without checking the
 * deadline is set. A reset connection is -EPIPE. */
static void t_write_fail_no_deadline(void)
{
	struct http_rw *w = get11();
	http_set_deadline(w, 0);
	fake_resp_conn.fail_at = 1;
	ssize_t k = http_write(w, data, BIG);
	if (!CHECK(k == -EPIPE))
		fprintf(stderr, "  http_write returned %zd (-ETIMEDOUT is %d)\n", k, -ETIMEDOUT);
	CHECK(!http_rw_finish(w));
}

/* The handler's time is up before its head went out: its writes are
 * refused and the serve loop's 503 replaces what it buffered. */
static void t_cutoff_before_head(void)
{
	struct http_rw *w = get11();
	CHECK(http_write(w, "partial", 7) == 7);
	fake_resp_now = CUTOFF + 1;
	CHECK(http_write(w, "more", 4) == -ETIMEDOUT);
	CHECK(http_flush(w) == -ETIMEDOUT);
	http_error(w, 500, "late");
	CHECK(fake_resp_conn.len == 0);
	http_rw_timeout(w, 503, "handler timed out");
	CHECK(!http_rw_finish(w));
	struct resp r;
	if (!CHECK(parse_wire(&r, false)))
		return;
	CHECK(r.status == 503 && body_is(&r, "handler timed out\n", 18) && whole(&r));
	CHECK(has1(&r, "Connection", "close") && !wire_has("partial") && !wire_has("late"));
}

/* ...after its head went out and a late write was refused: the response
 * is cut short, never completed with a last-chunk (the client must see
 * the truncation). */
static void t_cutoff_after_head(void)
{
	struct http_rw *w = get11();
	CHECK(http_write(w, "abc", 3) == 3 && http_flush(w) == 0);
	fake_resp_now = CUTOFF + 1;
	CHECK(http_write(w, "def", 3) == -ETIMEDOUT);
	http_rw_timeout(w, 503, "handler timed out");
	CHECK(!http_rw_finish(w));
	struct resp r;
	if (!CHECK(parse_wire(&r, false)))
		return;
	CHECK(r.status == 200 && !r.complete && body_is(&r, "abc", 3));
	CHECK(!wire_has("503") && !wire_has("timed out"));
}

/* ...after its head went out, but it made no call late: what it wrote is
 * complete, and the connection closes. */
static void t_cutoff_quiet(void)
{
	struct http_rw *w = get11();
	CHECK(http_write(w, "abc", 3) == 3 && http_flush(w) == 0);
	fake_resp_now = CUTOFF + 1;
	http_rw_timeout(w, 503, "handler timed out");
	CHECK(!http_rw_finish(w));
	struct resp r;
	if (CHECK(parse_wire(&r, false)))
		CHECK(r.status == 200 && body_is(&r, "abc", 3) && whole(&r));
}

/* The write deadline passed while the response was going out. */
static void t_write_deadline(void)
{
	struct http_rw *w = get11();
	http_rw_start(w, &hc, 0, T0 + NS);
	CHECK(http_write(w, data, 9000) == 9000);
	unsigned calls = fake_resp_conn.writes;
	CHECK(calls > 0);
	fake_resp_now = T0 + 2 * NS;
	CHECK(!http_rw_finish(w));
	CHECK(fake_resp_conn.writes == calls);
	CHECK(http_write(w, "x", 1) < 0);
	struct resp r;
	if (CHECK(parse_wire(&r, false)))
		CHECK(!r.complete && r.body_len == 9000); /* more than a buffer: sent as written */
}

static void t_set_deadline(void)
{
	struct http_rw *w = get11();
	http_set_deadline(w, T0 + 100 * NS);
	CHECK(fake_resp_cutoff_calls == 1 && fake_resp_cutoff == T0 + 100 * NS);
	fake_resp_now = T0 + 50 * NS; /* past the first cutoff, before the new one */
	CHECK(http_write(w, "a", 1) == 1 && http_flush(w) == 0);
	CHECK(fake_resp_conn.last_deadline == T0 + 100 * NS + WRITE_NS);
	http_set_deadline(w, 0);
	CHECK(fake_resp_cutoff_calls == 2 && fake_resp_cutoff == 0);
	fake_resp_now = T0 + 100000 * NS;
	CHECK(http_write(w, "b", 1) == 1 && http_flush(w) == 0);
	CHECK(fake_resp_conn.last_deadline == 0);
	CHECK(http_rw_finish(w));
	struct resp r;
	if (CHECK(parse_wire(&r, false)))
		CHECK(body_is(&r, "ab", 2) && whole(&r));
}

static void t_abort(void)
{
	struct resp r;
	struct http_rw *w = get11();
	CHECK(http_write(w, "abc", 3) == 3);
	http_abort(w);
	CHECK(!http_rw_finish(w) && fake_resp_conn.writes == 0);

	w = get11();
	CHECK(http_write(w, "abc", 3) == 3 && http_flush(w) == 0);
	http_abort(w);
	CHECK(http_write(w, "def", 3) == -EPIPE);
	CHECK(!http_rw_finish(w));
	if (CHECK(parse_wire(&r, false)))
		CHECK(!r.complete && body_is(&r, "abc", 3));
}

/* ---- content coder ---- */

static void t_coder_small(void)
{
	struct http_rw *w = get11();
	offer_dbl(w, true);
	CHECK(http_set_header(w, "Content-Type", "text/plain") == 0);
	CHECK(http_write(w, "hello", 5) == 5);
	CHECK(http_rw_finish(w));
	CHECK(dbl.starts == 1 && dbl.start_final && dbl.ends == 1);
	struct resp r;
	if (!CHECK(parse_wire(&r, false)))
		return;
	CHECK(has1(&r, "Content-Encoding", "x-double") && has1(&r, "Content-Length", "10"));
	CHECK(body_is(&r, "hheelllloo", 10) && whole(&r));
}

static void t_coder_large(void)
{
	struct http_rw *w = get11();
	offer_dbl(w, true);
	CHECK(http_set_header(w, "Content-Type", "text/plain") == 0);
	CHECK(write_pieces(w, BIG, 3000));
	CHECK(http_rw_finish(w));
	CHECK(dbl.starts == 1 && !dbl.start_final && dbl.ends == 1);
	struct resp r;
	if (!CHECK(parse_wire(&r, false)))
		return;
	CHECK(has1(&r, "Content-Encoding", "x-double") && r.framing == FR_CHUNKED);
	CHECK(doubled(&r, data, BIG) && whole(&r));
}

/* Small, but coded past the buffer at the end: chunked after all. */
static void t_coder_grows(void)
{
	struct http_rw *w = get11();
	offer_dbl(w, true);
	CHECK(http_write(w, data, 6000) == 6000);
	CHECK(http_rw_finish(w));
	CHECK(dbl.starts == 1 && dbl.start_final && dbl.ends == 1);
	struct resp r;
	if (CHECK(parse_wire(&r, false)))
		CHECK(r.framing == FR_CHUNKED && doubled(&r, data, 6000) && whole(&r));
}

static void t_coder_flush(void)
{
	struct http_rw *w = get11();
	offer_dbl(w, true);
	CHECK(http_write(w, "ab", 2) == 2 && http_flush(w) == 0);
	struct resp r;
	CHECK(parse_wire(&r, false) && !r.complete && body_is(&r, "aabb", 4));
	CHECK(http_write(w, "c", 1) == 1);
	CHECK(http_rw_finish(w));
	CHECK(dbl.hows & (1u << HTTP_CODE_PUSH) && dbl.hows & (1u << HTTP_CODE_END) && dbl.ends == 1);
	if (CHECK(parse_wire(&r, false)))
		CHECK(r.framing == FR_CHUNKED && body_is(&r, "aabbcc", 6) && whole(&r));
}

static void t_coder_declined(void)
{
	struct http_rw *w = get11();
	offer_dbl(w, false);
	CHECK(http_write(w, "hello", 5) == 5);
	CHECK(http_rw_finish(w));
	CHECK(dbl.starts == 1 && dbl.ends == 0);
	struct resp r;
	if (CHECK(parse_wire(&r, false)))
		CHECK(count(&r, "Content-Encoding") == 0 && body_is(&r, "hello", 5) && whole(&r));
}

/* A write larger than the buffer asks an offered coder at once, as the
 * first flush would: taken, the body is coded; declined, it goes out as
 * written, in one chunk. */
static void t_coder_large_write(void)
{
	struct resp r;
	struct http_rw *w = get11();
	offer_dbl(w, true);
	CHECK(http_write(w, data, 20000) == 20000 && http_rw_finish(w));
	CHECK(dbl.starts == 1 && !dbl.start_final && dbl.ends == 1);
	if (CHECK(parse_wire(&r, false)))
		CHECK(r.framing == FR_CHUNKED && doubled(&r, data, 20000) && whole(&r));
	w = get11();
	offer_dbl(w, false);
	CHECK(http_write(w, data, 20000) == 20000 && http_rw_finish(w));
	CHECK(dbl.starts == 1 && dbl.ends == 0);
	if (CHECK(parse_wire(&r, false)))
		CHECK(count(&r, "Content-Encoding") == 0 && body_is(&r, data, 20000) && r.chunks == 1 && whole(&r));
}

/* HEAD is coded like GET: the same head, coded length included. */
static void t_coder_head(void)
{
	static char get_head[1024];
	struct resp r;
	struct http_rw *w = get11();
	offer_dbl(w, true);
	CHECK(http_write(w, "hello", 5) == 5 && http_rw_finish(w));
	if (!CHECK(parse_wire(&r, false)))
		return;
	size_t get_len = r.head_len;
	memcpy(get_head, fake_resp_conn.wire, get_len);
	w = start("HEAD", 1, true);
	offer_dbl(w, true);
	CHECK(http_write(w, "hello", 5) == 5 && http_rw_finish(w));
	CHECK(dbl.ends == 1);
	CHECK(fake_resp_conn.len == get_len && !memcmp(fake_resp_conn.wire, get_head, get_len));
}

static void t_coder_fail(void)
{
	struct http_rw *w = get11();
	offer_dbl(w, true);
	fake_resp_conn.fail_at = 2;
	ssize_t k = 0;
	for (int i = 0; i < 4 && k >= 0; i++)
		k = http_write(w, data, BIG);
	CHECK(k == -EPIPE);
	CHECK(!http_rw_finish(w));
	CHECK(dbl.starts == 1 && dbl.ends == 1 && fake_resp_conn.calls_after_fail == 0);
}

static const struct test_case cases[] = {
    {"oracle: the test's response parser accepts and rejects", t_parser},
    {"golden: small 200, exact bytes with the fake clock's Date", t_golden_small},
    {"golden: flushed 200, exact chunked bytes", t_golden_chunked},
    {"small body: one Content-Length, exact body", t_small},
    {"http_printf: long output goes out whole", t_printf_long},
    {"empty 200: Content-Length: 0", t_empty},
    {"8 KiB exactly: Content-Length; one byte more: chunked", t_boundary},
    {"large body on 1.1: chunked, valid chunks, last-chunk", t_large_chunked},
    {"a write larger than the buffer with nothing buffered goes out as written: one chunk", t_large_direct},
    {"large body in 7-byte writes: chunked, in order", t_large_pieces},
    {"large body on 1.0: close-delimited, Connection: close", t_large_http10},
    {"declared length, large body: no chunking, exact length", t_declared_large},
    {"declared length on 1.0 keep-alive: connection kept", t_declared_http10},
    {"declared length: writing more is -EMSGSIZE, nothing extra sent", t_declared_more},
    {"declared length: fewer bytes close the connection", t_declared_fewer},
    {"length declared below the bytes buffered: refused, nothing extra on the wire", t_declared_below_buffered},
    {"HEAD: GET's head with its Content-Length, no body", t_head_small},
    {"HEAD, large body: no body bytes, connection kept", t_head_large},
    {"HEAD with declared length: that Content-Length", t_head_declared},
    {"204: no body, no Content-Length or Transfer-Encoding", t_204},
    {"304: no body, no framing fields, validators kept", t_304},
    {"1xx: no body, no framing fields", t_1xx},
    {"HTTP/1.0 keep-alive: Connection: keep-alive", t_conn_http10_keepalive},
    {"HTTP/1.0 without keep-alive: Connection: close", t_conn_http10_close},
    {"HTTP/1.1 keep_alive false: Connection: close", t_conn_http11_close},
    {"HTTP/1.1 keep-alive: no Connection field", t_conn_http11_default},
    {"draining: Connection: close on a keep-alive request", t_conn_draining},
    {"handler-set Content-Length/Transfer-Encoding/Connection/Date refused", t_server_owned},
    {"CR/LF in values and bad names refused", t_crlf},
    {"non-token field names (\"Transfer-Encoding\\t\") refused", t_name_token},
    {"exactly one Date, following the wall clock", t_date},
    {"set replaces, add appends, http_rw_header iterates", t_set_add},
    {"Content-Type: the handler's kept, else sniffed", t_content_type},
    {"status: first wins, out of range ignored, reason phrases", t_status},
    {"head worst case: handler fields to the limit, never cut", t_head_limit},
    {"a handler field that does not fit: 500, logged, nothing of the handler's", t_header_overflow},
    {"http_flush: chunked, data arrives in order, no empty chunk", t_flush_order},
    {"http_flush on 1.0: close-delimited", t_flush_http10},
    {"http_flush with declared length: Content-Length", t_flush_declared},
    {"http_error replaces a buffered body", t_error_replaces},
    {"http_error drops a declared length", t_error_declared},
    {"http_error after the head was sent: no effect", t_error_after_head},
    {"http_rw_simple: complete error reply", t_simple},
    {"conn_write failure at every call: writes fail, finish false", t_write_fail},
    {"conn_write failure without a deadline is -EPIPE, not -ETIMEDOUT", t_write_fail_no_deadline},
    {"cutoff before the head: writes refused, 503 replaces the body", t_cutoff_before_head},
    {"cutoff after the head, late write: response cut, no last-chunk", t_cutoff_after_head},
    {"cutoff after the head, no late call: complete, then close", t_cutoff_quiet},
    {"write deadline passed: nothing more sent, finish false", t_write_deadline},
    {"http_set_deadline moves cutoff and write deadline", t_set_deadline},
    {"http_abort: nothing more sent", t_abort},
    {"coder, small body: coded Content-Length", t_coder_small},
    {"coder, large body: chunked coded body", t_coder_large},
    {"coder, small body coded past the buffer: chunked", t_coder_grows},
    {"coder with http_flush: in order, PUSH and END", t_coder_flush},
    {"coder declined: plain response, no end call", t_coder_declined},
    {"a write larger than the buffer asks the coder at once: coded if taken, one chunk as written if not",
     t_coder_large_write},
    {"coder with HEAD: GET's head", t_coder_head},
    {"http_write_static: a large write by reference, the rest as http_write", t_static_write},
    {"coder and a failed write: end called once", t_coder_fail},
};

int main(void)
{
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (char)('a' + (i * 7 + i / 31 + i / 977) % 26);
	test_init("response");
	test_run(cases, TEST_COUNT(cases));
	return test_finish();
}
