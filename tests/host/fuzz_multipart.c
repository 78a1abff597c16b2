/*
 * libFuzzer target for http/core/multipart.c.
 *
 * Input: two bytes choosing the boundary and the split seed, then the
 * body, in which bytes 0x01..0x08 stand for tokens (a delimiter, a
 * dash-boundary, CRLF, a Content-Disposition line, ...) so that mutations
 * reach part headers and delimiters without a dictionary.
 *
 * The body is parsed three times: whole, one byte at a time, and in
 * random pieces. Beyond "no crash, no sanitizer report" every run must
 * give the same callbacks (part data compared as one concatenation per
 * part) and return codes; callbacks come in begin/data/end order with
 * no empty data; no part's data holds the delimiter or starts with the
 * dash-boundary; MULTIPART_DONE and finish 0 go together, and finish
 * repeats an error or says -EBADMSG when the body stopped short. The body is also
 * given to multipart_boundary as a Content-Type value, whose result, if
 * any, must be a valid boundary that multipart_init accepts.
 */
#include "http/core/multipart.h"
#include "tests/host/fuzz.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const boundaries[] = { "XyZ", "-", "a b", "0123456789012345678901234567890123456789" };

enum { EV_NAME, EV_FILE, EV_NOFILE, EV_CTYPE, EV_DATA, EV_END };

struct ev {
	int type;
	size_t off, len; /* bytes in the arena */
};

struct rec {
	char *arena;
	size_t len, cap;
	struct ev *ev;
	size_t nev, evcap;
	bool in_part;
};

static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return p;
	*cap = need * 2;
	p = realloc(p, *cap * size);
	INVARIANT(p != NULL);
	return p;
}

static void add(struct rec *r, int type, const char *p, size_t n)
{
	r->arena = grow(r->arena, &r->cap, r->len + n + 1, 1);
	if (n)
		memcpy(r->arena + r->len, p, n);
	if (type == EV_DATA && r->nev && r->ev[r->nev - 1].type == EV_DATA) {
		r->ev[r->nev - 1].len += n; /* merge: splits slice data differently */
	} else {
		r->ev = grow(r->ev, &r->evcap, r->nev + 1, sizeof(*r->ev));
		r->ev[r->nev++] = (struct ev){ type, r->len, n };
	}
	r->len += n;
}

static void clean_text(const char *p, size_t n)
{
	INVARIANT(n <= MULTIPART_HEADER_MAX);
	for (size_t i = 0; i < n; i++)
		INVARIANT(p[i] != '\r' && p[i] != '\n' && p[i] != '\0');
}

static int on_begin(void *ctx, const char *name, size_t name_len, const char *filename, size_t filename_len,
		    const char *ctype, size_t ctype_len)
{
	struct rec *r = ctx;

	INVARIANT(!r->in_part && name != NULL && ctype != NULL && ctype_len > 0);
	clean_text(name, name_len);
	clean_text(ctype, ctype_len);
	add(r, EV_NAME, name, name_len);
	if (filename) {
		clean_text(filename, filename_len);
		add(r, EV_FILE, filename, filename_len);
	} else {
		INVARIANT(filename_len == 0);
		add(r, EV_NOFILE, NULL, 0);
	}
	add(r, EV_CTYPE, ctype, ctype_len);
	r->in_part = true;
	return 0;
}

static int on_data(void *ctx, const char *p, size_t n)
{
	struct rec *r = ctx;

	INVARIANT(r->in_part && n > 0);
	add(r, EV_DATA, p, n);
	return 0;
}

static int on_end(void *ctx)
{
	struct rec *r = ctx;

	INVARIANT(r->in_part);
	add(r, EV_END, NULL, 0);
	r->in_part = false;
	return 0;
}

static const struct multipart_callbacks cbs = { on_begin, on_data, on_end };

struct result {
	int ret, fin;
	struct rec rec;
};

/* Feed body in pieces: step 0 whole, 1 bytes, else random from seed. */
static void run(struct result *res, const char *bnd, const char *body, size_t len, int step, uint32_t seed)
{
	struct multipart m;
	size_t off = 0;

	memset(res, 0, sizeof(*res));
	INVARIANT(multipart_init(&m, bnd, strlen(bnd)) == 0);
	do {
		size_t k = len - off;

		if (step == 1)
			k = k ? 1 : 0;
		else if (step > 1) {
			seed = seed * 1103515245u + 12345u;
			k = k < 1 + (seed >> 16) % 97 ? k : 1 + (seed >> 16) % 97;
		}
		res->ret = multipart_feed(&m, body + off, k, &cbs, &res->rec);
		INVARIANT(res->ret == MULTIPART_MORE || res->ret == MULTIPART_DONE || res->ret == -EBADMSG ||
			  res->ret == -EMSGSIZE);
		off += k;
	} while (off < len);
	res->fin = multipart_finish(&m);
}

static bool starts(const char *p, size_t n, const char *s)
{
	return n >= strlen(s) && !memcmp(p, s, strlen(s));
}

static void check(const struct result *r, const char *bnd, size_t body_len)
{
	char delim[4 + MULTIPART_BOUNDARY_MAX + 1];
	size_t data = 0;

	snprintf(delim, sizeof(delim), "\r\n--%s", bnd);
	INVARIANT((r->ret == MULTIPART_DONE) == (r->fin == 0));
	INVARIANT(r->ret >= 0 || r->fin == r->ret);
	INVARIANT(r->ret != MULTIPART_MORE || r->fin == -EBADMSG);
	for (size_t i = 0; i < r->rec.nev; i++) {
		const struct ev *e = &r->rec.ev[i];
		const char *p = r->rec.arena + e->off;

		if (e->type != EV_DATA)
			continue;
		data += e->len;
		INVARIANT(!starts(p, e->len, delim + 2));
		for (size_t j = 0; j < e->len; j++)
			INVARIANT(!starts(p + j, e->len - j, delim));
	}
	INVARIANT(data <= body_len);
}

static bool same(const struct result *a, const struct result *b)
{
	if (a->ret != b->ret || a->fin != b->fin || a->rec.nev != b->rec.nev)
		return false;
	for (size_t i = 0; i < a->rec.nev; i++) {
		const struct ev *x = &a->rec.ev[i], *y = &b->rec.ev[i];
		if (x->type != y->type || x->len != y->len ||
		    memcmp(a->rec.arena + x->off, b->rec.arena + y->off, x->len))
			return false;
	}
	return true;
}

static void release(struct result *r)
{
	free(r->rec.arena);
	free(r->rec.ev);
}

/* Expand token bytes 0x01..0x08 (see top). */
static char *expand(const uint8_t *p, size_t n, const char *bnd, size_t *out_len)
{
	char delim[80], dash[80];
	const char *tok[9] = { NULL, delim, dash, "\r\n", "Content-Disposition: form-data; name=\"f\"",
			       "; filename=\"a.bin\"", "Content-Type: text/plain", "--", "\r\n\r\n" };
	size_t len = 0, cap = n * 48 + 1;
	char *s = malloc(cap);

	INVARIANT(s != NULL);
	snprintf(delim, sizeof(delim), "\r\n--%s", bnd);
	snprintf(dash, sizeof(dash), "--%s", bnd);
	for (size_t i = 0; i < n; i++) {
		if (p[i] >= 1 && p[i] <= 8) {
			size_t k = strlen(tok[p[i]]);
			memcpy(s + len, tok[p[i]], k);
			len += k;
		} else {
			s[len++] = (char)p[i];
		}
	}
	*out_len = len;
	return s;
}

static void fuzz_boundary(const char *p, size_t n)
{
	static const char pre[] = "multipart/form-data; boundary=";
	char *ct = malloc(sizeof(pre) + n), out[MULTIPART_BOUNDARY_MAX + 1];
	struct multipart m;
	size_t len;

	INVARIANT(ct != NULL);
	memcpy(ct, pre, sizeof(pre) - 1);
	memcpy(ct + sizeof(pre) - 1, p, n);
	for (int i = 0; i < 2; i++) {
		const char *s = i ? ct : p;
		size_t sn = i ? sizeof(pre) - 1 + n : n;

		if (multipart_boundary(s, sn, out, sizeof(out), &len) < 0)
			continue;
		INVARIANT(len >= 1 && len <= MULTIPART_BOUNDARY_MAX && out[len] == '\0');
		INVARIANT(strlen(out) == len && out[len - 1] != ' ');
		INVARIANT(multipart_init(&m, out, len) == 0);
	}
	free(ct);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct result one, other;
	const char *bnd;
	size_t len;
	char *body;

	if (size < 2)
		return 0;
	bnd = boundaries[data[0] % 4];
	body = expand(data + 2, size - 2, bnd, &len);
	fuzz_boundary(body, len);

	run(&one, bnd, body, len, 0, 0);
	check(&one, bnd, len);
	for (int step = 1; step <= 2; step++) {
		run(&other, bnd, body, len, step, data[1] * 2654435761u);
		INVARIANT(same(&one, &other));
		release(&other);
	}
	release(&one);
	free(body);
	return 0;
}
