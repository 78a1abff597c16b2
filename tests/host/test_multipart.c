/*
 * Host tests for http/core/multipart.c.
 *
 * Most cases are rows of a table: a body, the boundary, and what parsing
 * it must give: the last feed's return, multipart_finish's, and the
 * callbacks rendered as one string:
 *     part_begin  "[name|filename|ctype]"   (filename "(null)" if absent)
 *     part_data   the bytes themselves, consecutive calls merged
 *     part_end    "$"
 * Every row is fed whole, one byte at a time, and in random splits (fixed
 * seeds), and every way must give exactly that. Each piece fed is copied
 * so that its last byte is the last before a PROT_NONE page (no NUL after
 * it), so reading one byte past what was fed faults.
 */
#include "tests/host/test.h"

#include "http/core/multipart.h"

#include <errno.h>
#include <stdint.h>

#define B "--bnd"                               /* dash-boundary of boundary "bnd" */
#define CD(n) "Content-Disposition: form-data; name=\"" n "\"\r\n"
#define S(lit) lit, sizeof(lit) - 1             /* a literal with its length: NULs allowed */

/* ---- Pieces at a guard page. ---- */

/* Copy n bytes so that they end right before a PROT_NONE page. */
static const char *at_guard(const char *p, size_t n) { return test_guarded_n(p, n); }

/* ---- Callback log. ---- */

struct log {
	char text[8192];
	size_t len;
	bool overflow, empty_data, data_outside;
	bool in_part;
	int abort_at;   /* callback number (1-based) that returns non-zero, 0: none */
	int calls;
};

static void put(struct log *l, const char *p, size_t n)
{
	if (n > sizeof(l->text) - 1 - l->len) {
		l->overflow = true;
		n = sizeof(l->text) - 1 - l->len;
	}
	memcpy(l->text + l->len, p, n);
	l->len += n;
	l->text[l->len] = '\0';
}

static int verdict(struct log *l) { return ++l->calls == l->abort_at; }

static int on_begin(void *ctx, const char *name, size_t name_len, const char *filename, size_t filename_len,
		    const char *ctype, size_t ctype_len)
{
	struct log *l = ctx;

	put(l, "[", 1);
	put(l, name, name_len);
	put(l, "|", 1);
	if (filename)
		put(l, filename, filename_len);
	else
		put(l, "(null)", 6);
	put(l, "|", 1);
	put(l, ctype, ctype_len);
	put(l, "]", 1);
	l->in_part = true;
	return verdict(l);
}

static int on_data(void *ctx, const char *p, size_t n)
{
	struct log *l = ctx;

	if (n == 0)
		l->empty_data = true;
	if (!l->in_part)
		l->data_outside = true;
	put(l, p, n);
	return verdict(l);
}

static int on_end(void *ctx)
{
	struct log *l = ctx;

	put(l, "$", 1);
	l->in_part = false;
	return verdict(l);
}

static const struct multipart_callbacks cbs = { on_begin, on_data, on_end };

/* ---- Feeding. ---- */

struct result {
	int ret, fin;
	struct log log;
};

static uint64_t rng_state;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 32);
}

enum split { WHOLE, BYTES, RANDOM };

static size_t piece(enum split how, size_t left)
{
	size_t k = how == WHOLE ? left : how == BYTES ? 1 : 1 + rng() % (rng() % 4 ? 8 : 200);
	return k < left ? k : left;
}

/* Parse body with boundary, fed in pieces; abort_at as in struct log. */
static void run(struct result *r, const char *bnd, const char *body, size_t len, enum split how,
		int abort_at)
{
	struct multipart m;
	size_t off = 0;

	memset(r, 0, sizeof(*r));
	r->log.abort_at = abort_at;
	multipart_init(&m, bnd, strlen(bnd));
	r->ret = multipart_feed(&m, at_guard("", 0), 0, &cbs, &r->log);
	while (off < len) {
		size_t k = piece(how, len - off);
		r->ret = multipart_feed(&m, at_guard(body + off, k), k, &cbs, &r->log);
		off += k;
	}
	r->fin = multipart_finish(&m);
}

/* Check every way of feeding gives want_*. */
static void expect(const char *bnd, const char *body, size_t len, int ret, int fin, const char *log)
{
	for (int i = 0; i < 2 + 24; i++) {
		enum split how = i == 0 ? WHOLE : i == 1 ? BYTES : RANDOM;
		struct result r;

		rng_state = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
		run(&r, bnd, body, len, how, 0);
		if (!CHECK(r.ret == ret) | !CHECK(r.fin == fin) |
		    !CHECK(strcmp(r.log.text, log) == 0) | !CHECK(!r.log.overflow) |
		    !CHECK(!r.log.empty_data) | !CHECK(!r.log.data_outside)) {
			fprintf(stderr, "  split %d: ret %d fin %d log \"%s\"\n", i, r.ret, r.fin, r.log.text);
			return;
		}
	}
}

/* ---- Table of bodies. ---- */

struct row {
	const char *name;
	const char *body;
	size_t len;
	int ret, fin;           /* last feed, multipart_finish */
	const char *log;
	const char *bnd;        /* NULL: "bnd" */
};

#define OK MULTIPART_DONE, 0                     /* complete body */
#define OPEN MULTIPART_MORE, -EBADMSG            /* no close delimiter (yet) */
#define BAD -EBADMSG, -EBADMSG

static const struct row rows[] = {
	/* Well-formed bodies. */
	{ "single part", S(B "\r\n" CD("a") "\r\nhello\r\n" B "--\r\n"), OK, "[a|(null)|text/plain]hello$", NULL },
	{ "several parts",
	  S(B "\r\n" CD("a") "\r\n1\r\n" B "\r\n" CD("b") "\r\n22\r\n" B "\r\n" CD("c") "\r\n333\r\n" B "--"), OK,
	  "[a|(null)|text/plain]1$[b|(null)|text/plain]22$[c|(null)|text/plain]333$", NULL },
	{ "file part with filename and content type",
	  S(B "\r\nContent-Disposition: form-data; name=\"up\"; filename=\"a.png\"\r\n"
	      "Content-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n\r\n" B "--\r\n"), OK,
	  "[up|a.png|image/png]\x89PNG\r\n\x1a\n$", NULL },
	{ "empty filename is not an absent one",
	  S(B "\r\nContent-Disposition: form-data; name=\"f\"; filename=\"\"\r\n"
	      "Content-Type: application/octet-stream\r\n\r\n\r\n" B "--\r\n"), OK,
	  "[f||application/octet-stream]$", NULL },
	{ "empty part", S(B "\r\n" CD("e") "\r\n\r\n" B "--\r\n"), OK, "[e|(null)|text/plain]$", NULL },
	{ "part with no body section (headers then delimiter)", S(B "\r\n" CD("e") "\r\n" B "--"), OK,
	  "[e|(null)|text/plain]$", NULL },
	{ "empty parts in a row",
	  S(B "\r\n" CD("a") "\r\n\r\n" B "\r\n" CD("b") "\r\n" B "\r\n" CD("c") "\r\n\r\n" B "--"), OK,
	  "[a|(null)|text/plain]$[b|(null)|text/plain]$[c|(null)|text/plain]$", NULL },
	{ "body that starts like a boundary", S(B "\r\n" CD("a") "\r\n--bn--x\r\n" B "--"), OK,
	  "[a|(null)|text/plain]--bn--x$", NULL },
	{ "body that starts with CRLF", S(B "\r\n" CD("a") "\r\n\r\nx\r\n" B "--"), OK,
	  "[a|(null)|text/plain]\r\nx$", NULL },
	{ "binary data with NULs", S(B "\r\n" CD("z") "\r\n\0a\0\r\0\n\0\r\n" B "--"), OK,
	  "[z|(null)|text/plain]\0a\0\r\0\n\0$", NULL },
	{ "empty form", S(B "--\r\n"), OK, "", NULL },

	/* Boundary-like text inside data. */
	{ "dash-boundary without CRLF", S(B "\r\n" CD("a") "\r\nx--bnd y" B "\r\n" B "--"), OK,
	  "[a|(null)|text/plain]x--bnd y--bnd$", NULL },
	{ "delimiter prefixes", S(B "\r\n" CD("a") "\r\n\r\n--bn\r\n--b\r\n--\r\n-\r\n\r\r\n" B "--"), OK,
	  "[a|(null)|text/plain]\r\n--bn\r\n--b\r\n--\r\n-\r\n\r$", NULL },
	{ "LF or CR alone before a dash-boundary", S(B "\r\n" CD("a") "\r\na\n" B "b\r" B "\r\n" B "--"), OK,
	  "[a|(null)|text/plain]a\n--bndb\r--bnd$", NULL },
	{ "CRLF at the very end of data", S(B "\r\n" CD("a") "\r\nhello\r\n\r\n" B "--"), OK,
	  "[a|(null)|text/plain]hello\r\n$", NULL },
	{ "CR at the very end of data", S(B "\r\n" CD("a") "\r\nhello\r\r\n" B "--"), OK,
	  "[a|(null)|text/plain]hello\r$", NULL },
	{ "longer boundary is still a delimiter", S(B "\r\n" CD("a") "\r\nx\r\n" B "x\r\n"), BAD,
	  "[a|(null)|text/plain]x$", NULL },

	/* Preamble, epilogue, padding. */
	{ "preamble and epilogue",
	  S("This is the preamble. --bnd\r\nstill preamble\r\n" B "\r\n" CD("a") "\r\nv\r\n" B
	    "--\r\nepilogue\r\n" B "\r\nnot parsed\r\n"),
	  OK, "[a|(null)|text/plain]v$", NULL },
	{ "empty preamble line", S("\r\n" B "\r\n" CD("a") "\r\nv\r\n" B "--"), OK, "[a|(null)|text/plain]v$", NULL },
	{ "epilogue right after the close delimiter", S(B "\r\n" CD("a") "\r\nv\r\n" B "--garbage\r\n--"), OK,
	  "[a|(null)|text/plain]v$", NULL },
	{ "transport padding after boundaries", S(B " \t \r\n" CD("a") "\r\nv\r\n" B "\t\r\n" CD("b") "\r\nw\r\n" B "--"),
	  OK, "[a|(null)|text/plain]v$[b|(null)|text/plain]w$", NULL },

	/* Truncated bodies. */
	{ "empty body", S(""), OPEN, "", NULL },
	{ "missing close delimiter", S(B "\r\n" CD("a") "\r\nhello"), OPEN, "[a|(null)|text/plain]hello", NULL },
	{ "truncated inside a delimiter", S(B "\r\n" CD("a") "\r\nhello\r\n--bn"), OPEN, "[a|(null)|text/plain]hello", NULL },
	{ "truncated after a delimiter", S(B "\r\n" CD("a") "\r\nhello\r\n" B), OPEN, "[a|(null)|text/plain]hello$", NULL },
	{ "truncated in the close delimiter", S(B "\r\n" CD("a") "\r\nhello\r\n" B "-"), OPEN,
	  "[a|(null)|text/plain]hello$", NULL },
	{ "truncated in a header section", S(B "\r\n" CD("a")), OPEN, "", NULL },
	{ "wrong boundary", S("--other\r\n" CD("a") "\r\nhello\r\n--other--\r\n"), OPEN, "", NULL },

	/* Header sections. */
	{ "header names and type case-insensitive",
	  S(B "\r\ncOnTeNt-DiSpOsItIoN: FORM-DATA; NAME=tok\r\nCONTENT-TYPE: text/csv\r\n\r\nv\r\n" B "--"), OK,
	  "[tok|(null)|text/csv]v$", NULL },
	{ "content type with parameters",
	  S(B "\r\n" CD("a") "Content-Type:  text/plain; charset=utf-8 \t\r\n\r\nv\r\n" B "--"), OK,
	  "[a|(null)|text/plain; charset=utf-8]v$", NULL },
	{ "other header fields ignored",
	  S(B "\r\nContent-Transfer-Encoding: 8bit\r\n" CD("a") "X-Thing: ;;\"\r\n\r\nv\r\n" B "--"), OK,
	  "[a|(null)|text/plain]v$", NULL },
	{ "quoted names with escapes and separators",
	  S(B "\r\nContent-Disposition: form-data; name=\"a\\\"b;c=d\\\\\"; filename=\"C:\\dir\\f.txt\"\r\n\r\nv\r\n" B
	      "--"),
	  OK, "[a\"b;c=d\\|C:\\dir\\f.txt|text/plain]v$", NULL },
	{ "UTF-8 filename, filename* ignored",
	  S(B "\r\nContent-Disposition: form-data;name=\"f\";filename*=UTF-8''x;filename=\"\xc3\xa9.txt\"\r\n\r\nv\r\n" B
	      "--"),
	  OK, "[f|\xc3\xa9.txt|text/plain]v$", NULL },
	{ "empty name", S(B "\r\n" CD("") "\r\nv\r\n" B "--"), OK, "[|(null)|text/plain]v$", NULL },
	{ "folded header line",
	  S(B "\r\nContent-Disposition: form-data;\r\n name=\"a\";\r\n\tfilename=\"b\"\r\n\r\nv\r\n" B "--"), OK,
	  "[a|b|text/plain]v$", NULL },
	{ "parameter whitespace and empty parameters",
	  S(B "\r\nContent-Disposition:form-data ;; name = \"a\" ; \r\n\r\nv\r\n" B "--"), OK,
	  "[a|(null)|text/plain]v$", NULL },

	/* Malformed bodies. */
	{ "garbage after boundary", S(B "x\r\n" CD("a") "\r\nv\r\n" B "--"), BAD, "", NULL },
	{ "bare LF after boundary", S(B "\n" CD("a") "\r\nv\r\n" B "--"), BAD, "", NULL },
	{ "CR without LF after boundary", S(B "\rx"), BAD, "", NULL },
	{ "one dash after boundary", S(B "\r\n" CD("a") "\r\nv\r\n" B "-x"), BAD, "[a|(null)|text/plain]v$", NULL },
	{ "padding then garbage", S(B "  x\r\n"), BAD, "", NULL },
	{ "no header section", S(B "\r\n\r\nv\r\n" B "--"), BAD, "", NULL },
	{ "no Content-Disposition", S(B "\r\nContent-Type: text/plain\r\n\r\nv\r\n" B "--"), BAD, "", NULL },
	{ "header line without colon", S(B "\r\n" CD("a") "junk\r\n\r\nv\r\n" B "--"), BAD, "", NULL },
	{ "space before colon", S(B "\r\nContent-Disposition : form-data; name=a\r\n\r\n" B "--"), BAD, "", NULL },
	{ "bare LF ending a header line", S(B "\r\nContent-Disposition: form-data; name=a\n\r\n" B "--"), BAD, "", NULL },
	{ "lone CR in a header value", S(B "\r\nContent-Disposition: form-data; name=a\rb\r\n\r\n" B "--"), BAD, "", NULL },
	{ "NUL in a header value", S(B "\r\nContent-Disposition: form-data; name=\"a\0\"\r\n\r\n" B "--"), BAD, "", NULL },
	{ "fold before the first header", S(B "\r\n " CD("a") "\r\n" B "--"), BAD, "", NULL },
	{ "disposition not form-data", S(B "\r\nContent-Disposition: attachment; name=a\r\n\r\n" B "--"), BAD, "", NULL },
	{ "disposition without name", S(B "\r\nContent-Disposition: form-data; filename=a\r\n\r\n" B "--"), BAD, "", NULL },
	{ "disposition without semicolon", S(B "\r\nContent-Disposition: form-data name=a\r\n\r\n" B "--"), BAD, "", NULL },
	{ "unterminated quoted name", S(B "\r\nContent-Disposition: form-data; name=\"a\r\n\r\n" B "--"), BAD, "", NULL },
	{ "escaped closing quote", S(B "\r\nContent-Disposition: form-data; name=\"a\\\"\r\n\r\n" B "--"), BAD, "", NULL },
	{ "non-token unquoted name", S(B "\r\nContent-Disposition: form-data; name=a/b\r\n\r\n" B "--"), BAD, "", NULL },
	{ "empty unquoted name", S(B "\r\nContent-Disposition: form-data; name=\r\n\r\n" B "--"), BAD, "", NULL },
	{ "duplicate name parameter", S(B "\r\nContent-Disposition: form-data; name=a; NAME=b\r\n\r\n" B "--"), BAD,
	  "", NULL },
	{ "duplicate Content-Disposition", S(B "\r\n" CD("a") CD("b") "\r\n" B "--"), BAD, "", NULL },
	{ "duplicate Content-Type", S(B "\r\n" CD("a") "Content-Type: a/b\r\ncontent-type: c/d\r\n\r\n" B "--"),
	  BAD, "", NULL },
	{ "empty Content-Type", S(B "\r\n" CD("a") "Content-Type: \r\n\r\n" B "--"), BAD, "", NULL },
	{ "bad header in a later part", S(B "\r\n" CD("a") "\r\nv\r\n" B "\r\nBad\r\n\r\nw\r\n" B "--"), BAD,
	  "[a|(null)|text/plain]v$", NULL },

	/* Other boundaries. */
	{ "boundary with bchars and a space",
	  S("--a'()+_,-./:=? z\r\n" CD("a") "\r\n--a'()+_,-./:=? v\r\n--a'()+_,-./:=? z--"), OK,
	  "[a|(null)|text/plain]--a'()+_,-./:=? v$", "a'()+_,-./:=? z" },
	{ "boundary of dashes", S("-----\r\n" CD("a") "\r\na-----x\r\n-----\r\n" CD("b") "\r\n---\r\n-------"), OK,
	  "[a|(null)|text/plain]a-----x$[b|(null)|text/plain]---$", "---" },
	{ "data that starts with the dash-boundary ends the part", S("-----\r\n" CD("a") "\r\n-----x"), BAD,
	  "[a|(null)|text/plain]$", "---" },
	{ "one-character boundary", S("--x\r\n" CD("a") "\r\nx-x\r\n--\r\n--x--"), OK, "[a|(null)|text/plain]x-x\r\n--$",
	  "x" },
};

static void t_rows(void)
{
	for (size_t i = 0; i < TEST_COUNT(rows); i++) {
		const struct row *r = &rows[i];

		test_begin(r->name);
		expect(r->bnd ? r->bnd : "bnd", r->body, r->len, r->ret, r->fin, r->log);
		test_end();
	}
}

/* ---- Cases that build their input. ---- */

/* A header section of exactly MULTIPART_HEADER_MAX bytes (empty line
 * included) is accepted; one byte more is not. */
static void header_of(char *buf, size_t section, size_t *len)
{
	const char *head = B "\r\n" CD("a") "X: ";
	size_t n = strlen(head), pad = section - (strlen(CD("a")) + strlen("X: ") + 4);

	memcpy(buf, head, n);
	memset(buf + n, 'p', pad);
	n += pad;
	memcpy(buf + n, "\r\n\r\nv\r\n" B "--", 14);
	*len = n + 14;
}

static void t_header_limit(void)
{
	static char buf[MULTIPART_HEADER_MAX + 64];
	size_t len;

	header_of(buf, MULTIPART_HEADER_MAX, &len);
	expect("bnd", buf, len, OK, "[a|(null)|text/plain]v$");
	header_of(buf, MULTIPART_HEADER_MAX + 1, &len);
	expect("bnd", buf, len, -EMSGSIZE, -EMSGSIZE, "");
}

static void t_header_unterminated(void)
{
	static char buf[4000];

	memcpy(buf, B "\r\nX: ", 9);
	memset(buf + 9, 'p', sizeof(buf) - 9);
	expect("bnd", buf, sizeof(buf), -EMSGSIZE, -EMSGSIZE, "");
}

static void t_long_boundary(void)
{
	char bnd[MULTIPART_BOUNDARY_MAX + 2], body[512], log[128];
	struct multipart m;
	int n;

	memset(bnd, 'q', MULTIPART_BOUNDARY_MAX);
	bnd[MULTIPART_BOUNDARY_MAX] = '\0';
	/* The part's data is the dash-boundary less its last byte. */
	n = snprintf(body, sizeof(body), "--%s\r\n" CD("a") "\r\n--%.69s\r\n--%s--", bnd, bnd, bnd);
	snprintf(log, sizeof(log), "[a|(null)|text/plain]--%.69s$", bnd);
	expect(bnd, body, (size_t)n, OK, log);
	bnd[MULTIPART_BOUNDARY_MAX] = 'q';
	CHECK(multipart_init(&m, bnd, MULTIPART_BOUNDARY_MAX + 1) == -EINVAL);
	CHECK(multipart_feed(&m, "--", 2, &cbs, NULL) == -EINVAL);
}

static void t_init_rejects(void)
{
	static const char *const bad[] = { "", "a b ", "a\rb", "a\"b", "a;b", "a\\b" };
	struct multipart m;

	for (size_t i = 0; i < TEST_COUNT(bad); i++) {
		CHECK(multipart_init(&m, bad[i], strlen(bad[i])) == -EINVAL);
		CHECK(multipart_finish(&m) == -EINVAL);
	}
	CHECK(multipart_init(&m, "a b", 3) == 0);
}

/* Each callback's non-zero return stops the parse at once. */
static void t_abort(void)
{
	static const char body[] = B "\r\n" CD("a") "\r\nxy\r\n" B "--";
	static const char *const logs[] = { "[a|(null)|text/plain]", "[a|(null)|text/plain]x",
					    "[a|(null)|text/plain]xy$" };

	for (int at = 1; at <= 3; at++) {
		struct result r;

		/* Byte by byte the data arrives in two calls, "x" and "y". */
		run(&r, "bnd", body, sizeof(body) - 1, at == 3 ? WHOLE : BYTES, at);
		CHECK(r.ret == -ECANCELED);
		CHECK(r.fin == -ECANCELED);
		CHECK(strcmp(r.log.text, logs[at - 1]) == 0);
		CHECK(r.log.calls == at);
	}
}

/* MULTIPART_DONE and errors are sticky; feeding nothing changes nothing. */
static void t_sticky(void)
{
	static const char done[] = B "--";
	struct multipart m;
	struct log l = { .len = 0 };

	multipart_init(&m, "bnd", 3);
	CHECK(multipart_feed(&m, done, 5, &cbs, &l) == MULTIPART_MORE);
	CHECK(multipart_feed(&m, done + 5, 2, &cbs, &l) == MULTIPART_DONE);
	CHECK(multipart_feed(&m, "\r\n--bnd\r\nbad\r\n\r\n", 16, &cbs, &l) == MULTIPART_DONE);
	CHECK(multipart_feed(&m, "", 0, &cbs, &l) == MULTIPART_DONE);
	CHECK(multipart_finish(&m) == 0);
	multipart_init(&m, "bnd", 3);
	CHECK(multipart_feed(&m, "--bndx", 6, &cbs, &l) == -EBADMSG);
	CHECK(multipart_feed(&m, "--bnd--", 7, &cbs, &l) == -EBADMSG);
	CHECK(multipart_finish(&m) == -EBADMSG);
	CHECK(l.calls == 0);
}

/* Data is released as soon as it cannot be part of a delimiter. */
static void t_prompt(void)
{
	static const char head[] = B "\r\n" CD("a") "\r\n";
	struct multipart m;
	struct log l = { .len = 0 };
	static const struct multipart_callbacks nil = { NULL, NULL, NULL };

	multipart_init(&m, "bnd", 3);
	multipart_feed(&m, head, sizeof(head) - 1, &cbs, &l);
	l.len = 0;
	multipart_feed(&m, "abc\r\n--bn", 9, &cbs, &l);
	CHECK(l.len == 3 && memcmp(l.text, "abc", 3) == 0); /* "\r\n--bn" held */
	multipart_feed(&m, "x", 1, &cbs, &l);
	CHECK(l.len == 10 && memcmp(l.text, "abc\r\n--bnx", 10) == 0);
	multipart_feed(&m, "\r", 1, &cbs, &l);
	CHECK(l.len == 10);
	multipart_feed(&m, "\r", 1, &cbs, &l);
	CHECK(l.len == 11 && l.text[10] == '\r');
	/* NULL callbacks are allowed. */
	CHECK(multipart_feed(&m, "\n--bnd--", 8, &nil, NULL) == MULTIPART_DONE);
}

/* ---- A 5 MB upload: exact data, bounded holdback. ---- */

struct big {
	const char *want;
	size_t want_len, got;
	bool mismatch;
	int begins, ends;
};

static int big_begin(void *ctx, const char *name, size_t name_len, const char *filename, size_t filename_len,
		     const char *ctype, size_t ctype_len)
{
	struct big *b = ctx;

	(void)ctype;
	(void)ctype_len;
	b->begins++;
	if (name_len != 4 || memcmp(name, "file", 4) || filename_len != 7 || memcmp(filename, "big.bin", 7))
		b->mismatch = true;
	return 0;
}

static int big_data(void *ctx, const char *p, size_t n)
{
	struct big *b = ctx;

	if (n > b->want_len - b->got || memcmp(p, b->want + b->got, n))
		b->mismatch = true;
	else
		b->got += n;
	return 0;
}

static int big_end(void *ctx)
{
	((struct big *)ctx)->ends++;
	return 0;
}

static bool contains(const char *h, size_t hn, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; i + n <= hn; i++)
		if (h[i] == needle[0] && !memcmp(h + i, needle, n))
			return true;
	return false;
}

static void t_big_upload(void)
{
	static const char bnd[] = "------------------------d74496d66958873e";
	static const char alpha[] = "\r\n-d7\r\n--ab";
	const size_t data_len = 5 * 1024 * 1024;
	char head[256], tail[128], delim[128];
	size_t hn, tn, total, off = 0, dlen = 4 + strlen(bnd);
	char *body;
	struct big b = { .want_len = data_len };
	static const struct multipart_callbacks big_cbs = { big_begin, big_data, big_end };
	struct multipart m;
	int ret = MULTIPART_MORE;

	hn = (size_t)snprintf(head, sizeof(head),
			      "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n"
			      "Content-Type: application/octet-stream\r\n\r\n",
			      bnd);
	tn = (size_t)snprintf(tail, sizeof(tail), "\r\n--%s--\r\n", bnd);
	snprintf(delim, sizeof(delim), "\r\n--%s", bnd);
	total = hn + data_len + tn;
	body = malloc(total);
	if (!CHECK(body != NULL))
		return;
	/* Data dense in CR, LF, dashes and boundary prefixes; no 'e', the
	 * boundary's last byte, so no near-delimiter becomes a delimiter. */
	rng_state = 42;
	for (size_t i = 0; i < data_len; i++) {
		uint32_t x = rng();
		char c = x % 3 ? alpha[x % (sizeof(alpha) - 1)] : (char)(x >> 8);
		body[hn + i] = c == 'e' ? 'E' : c;
		if (x % 997 == 0 && i + dlen < data_len) { /* a near-delimiter */
			memcpy(body + hn + i, tail, dlen - 1);
			i += dlen - 2;
		}
	}
	memcpy(body, head, hn);
	memcpy(body + hn + data_len, tail, tn);
	b.want = body + hn;
	CHECK(!contains(b.want, data_len, delim));

	multipart_init(&m, bnd, strlen(bnd));
	while (off < total && ret == MULTIPART_MORE) {
		size_t k = 1 + rng() % 2920;
		k = k < total - off ? k : total - off;
		ret = multipart_feed(&m, body + off, k, &big_cbs, &b);
		off += k;
		/* Data fed so far, less what was released, stays under dlen. */
		if (off > hn && off <= hn + data_len)
			CHECK(off - hn - b.got < dlen);
	}
	CHECK(ret == MULTIPART_DONE);
	CHECK(multipart_finish(&m) == 0);
	CHECK(!b.mismatch);
	CHECK(b.got == data_len);
	CHECK(b.begins == 1 && b.ends == 1);
	free(body);
}

/* ---- multipart_boundary. ---- */

struct brow {
	const char *name;
	const char *ct;
	const char *want;       /* NULL: -EBADMSG */
	size_t cap;             /* 0: 80 */
};

static const struct brow brows[] = {
	{ "boundary: token", "multipart/form-data; boundary=abc", "abc", 0 },
	{ "boundary: quoted", "multipart/form-data; boundary=\"a b:c?\"", "a b:c?", 0 },
	{ "boundary: case-insensitive names", "Multipart/Form-Data;BOUNDARY=XyZ", "XyZ", 0 },
	{ "boundary: among other parameters",
	  "multipart/form-data; charset=utf-8; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW; x=\"y;z\"",
	  "----WebKitFormBoundary7MA4YWxkTrZu0gW", 0 },
	{ "boundary: whitespace", " \tmultipart/form-data ; boundary = abc \t", "abc", 0 },
	{ "boundary: trailing semicolon", "multipart/form-data; boundary=abc;", "abc", 0 },
	{ "boundary: 70 characters",
	  "multipart/form-data; boundary=0123456789012345678901234567890123456789012345678901234567890123456789",
	  "0123456789012345678901234567890123456789012345678901234567890123456789", 0 },
	{ "boundary: 71 characters",
	  "multipart/form-data; boundary=01234567890123456789012345678901234567890123456789012345678901234567890",
	  NULL, 0 },
	{ "boundary: exact fit in cap", "multipart/form-data; boundary=abc", "abc", 4 },
	{ "boundary: cap too small", "multipart/form-data; boundary=abc", NULL, 3 },
	{ "boundary: missing", "multipart/form-data", NULL, 0 },
	{ "boundary: missing among others", "multipart/form-data; charset=utf-8", NULL, 0 },
	{ "boundary: empty", "multipart/form-data; boundary=", NULL, 0 },
	{ "boundary: empty quoted", "multipart/form-data; boundary=\"\"", NULL, 0 },
	{ "boundary: trailing space", "multipart/form-data; boundary=\"ab \"", NULL, 0 },
	{ "boundary: not a bchar", "multipart/form-data; boundary=\"a@b\"", NULL, 0 },
	{ "boundary: not a token", "multipart/form-data; boundary=a@b", NULL, 0 },
	{ "boundary: unterminated quote", "multipart/form-data; boundary=\"abc", NULL, 0 },
	{ "boundary: duplicate", "multipart/form-data; boundary=a; boundary=b", NULL, 0 },
	{ "boundary: no semicolon", "multipart/form-data boundary=abc", NULL, 0 },
	{ "boundary: other subtype", "multipart/mixed; boundary=abc", NULL, 0 },
	{ "boundary: other type", "text/plain; boundary=abc", NULL, 0 },
	{ "boundary: subtype prefix", "multipart/form-dataX; boundary=abc", NULL, 0 },
	{ "boundary: empty value", "", NULL, 0 },
};

static void t_brows(void)
{
	for (size_t i = 0; i < TEST_COUNT(brows); i++) {
		const struct brow *r = &brows[i];
		char out[80];
		size_t len = 12345, cap = r->cap ? r->cap : sizeof(out);
		const char *ct = test_guarded(r->ct);
		int rc = multipart_boundary(ct, strlen(ct), out, cap, &len);

		test_begin(r->name);
		if (r->want) {
			if (CHECK(rc == 0))
				CHECK(len == strlen(r->want) && strcmp(out, r->want) == 0);
		} else {
			CHECK(rc == -EBADMSG);
			CHECK(len == 12345);
		}
		test_end();
	}
}

static const struct test_case cases[] = {
	{ "header section at the limit and one over", t_header_limit },
	{ "header section without end", t_header_unterminated },
	{ "70-character boundary, 71 refused", t_long_boundary },
	{ "init refuses bad boundaries", t_init_rejects },
	{ "callback abort", t_abort },
	{ "done and error are sticky", t_sticky },
	{ "data released promptly", t_prompt },
	{ "5 MB upload in random segments", t_big_upload },
};

int main(void)
{
	test_init("multipart");
	t_rows();
	t_brows();
	test_run(cases, TEST_COUNT(cases));
	return test_finish();
}
