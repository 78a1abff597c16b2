/* gzip on the fly for compressible responses (RFC 9110 §8.4.1.3, RFC 1952):
 * a middleware that offers the response writer a content coder (see
 * struct http_coder in internal.h). The coder takes a response when, at
 * its first flush:
 *   - the status has content: not 1xx, 204, 206 or 304 (a 304 gets the
 *     Vary only);
 *   - the handler set no Content-Encoding (the static files answer with
 *     their own precompressed variants) and a compressible Content-Type:
 *     any text/ type but event streams (a few bytes per flush: a sync flush
 *     each would make them larger), JSON, JavaScript, XML, SVG;
 *   - the body is not known to be under GZIP_MIN_BODY bytes;
 *   - the client accepts gzip (Accept-Encoding, q > 0, RFC 9110 §12.5.3)
 *     and asked for no Range;
 *   - a compressor is free: a pool sized at boot, each 30 KiB (too much
 *     for a 16 KiB task stack, too much to keep per connection). When all
 *     are busy the response goes out as it is, counted in no_compressor.
 * Every response that would be compressed for a client that accepts gzip
 * says Vary: Accept-Encoding (§12.5.5), whether or not this one is.
 * HEAD is coded like GET (and the output dropped), so both carry the same
 * Content-Encoding and, for small bodies, the same Content-Length. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/core/ctype.h"
#include "http/core/deflate.h"
#include "http/h1/internal.h"
#include "http/handler/middleware.h"
#include "kernel/log.h"

#define GZIP_MIN_BODY 256 /* smaller: 18 bytes of framing and the CPU buy little */

_Static_assert(HTTP_OUT_SIZE <= DEFLATE_WINDOW, "the coder's first call must take a whole buffer");

struct slot {
	struct deflate z;
	struct gzip *owner;
};

struct gzip {
	struct http_handler *inner;
	struct slot **free; /* the idle compressors */
	unsigned nfree;
};

static struct http_gzip_stats stats;

void http_gzip_get_stats(struct http_gzip_stats *s) { *s = stats; }

static bool compressible(const struct http_rw *w)
{
	size_t n, t = 0;
	const char *ct = http_rw_header(w, "Content-Type", &n, NULL);
	if (!ct)
		return false;
	while (t < n && ct[t] != ';' && ct[t] != ' ' && ct[t] != '\t')
		t++; /* the media type, without parameters */
	if (t > 5 && http_eq_nocase(ct, "text/", 5))
		return !http_eq_word(ct, t, "text/event-stream");
	/* and suffixes: image/svg+xml, application/problem+json... */
	return http_eq_word(ct, t, "application/json") || http_eq_word(ct, t, "application/javascript") ||
	       http_eq_word(ct, t, "application/xml") || (t > 5 && http_eq_nocase(ct + t - 5, "+json", 5)) ||
	       (t > 4 && http_eq_nocase(ct + t - 4, "+xml", 4));
}

static void vary(struct http_rw *w)
{
	size_t n, iter = 0;
	for (const char *v; (v = http_rw_header(w, "Vary", &n, &iter));)
		if (http_token_list_has((struct http_slice){ v, n }, "accept-encoding"))
			return;
	http_add_header(w, "Vary", "Accept-Encoding");
}

/* A strong validator promises byte-identical content (RFC 9110 §8.8.1),
 * and the coded bytes are not: they change with the handler's flushes and
 * with this compressor. A weak one still answers If-None-Match (weak
 * comparison, §13.1.2) with 304, and never satisfies If-Range (§13.1.5),
 * so no range of the identity body is ever spliced onto this one. False
 * if the ETag is too long to rewrite here (then no gzip). */
static bool weaken_etag(struct http_rw *w)
{
	size_t n;
	const char *e = http_rw_header(w, "ETag", &n, NULL);
	char weak[128];
	if (!e || (n >= 2 && e[0] == 'W' && e[1] == '/'))
		return true;
	if (n + 3 > sizeof weak)
		return false;
	snprintf(weak, sizeof weak, "W/%.*s", (int)n, e);
	return http_set_header(w, "ETag", weak) == 0;
}

/* coder_state is the pool when the client accepts gzip, else NULL; once
 * the coder took the response, its compressor. */
static bool gz_start(struct http_rw *w, bool final)
{
	struct gzip *g = w->coder_state;
	int status = http_status(w);
	bool small = final && w->out_len < GZIP_MIN_BODY;
	size_t n;
	if (status < 200 || status == 204 || status == 206 || (small && status != 304) ||
	    http_rw_header(w, "Content-Encoding", &n, NULL) || !compressible(w))
		return false;
	vary(w); /* a 304 too: it says what the 200 would (RFC 9110 §15.4.5) */
	if (!g || status == 304)
		return false;
	if (!g->nfree) {
		stats.no_compressor++;
		return false;
	}
	if (!weaken_etag(w) || http_set_header(w, "Content-Encoding", "gzip") < 0)
		return false;
	struct slot *s = g->free[--g->nfree];
	deflate_init(&s->z, true);
	w->coder_state = s;
	stats.responses++;
	return true;
}

static size_t gz_code(struct http_rw *w, const char *in, size_t n, size_t *used, char *out, size_t cap,
		      enum http_code how)
{
	struct slot *s = w->coder_state;
	*used = deflate_feed(&s->z, in, n);
	enum deflate_flush f = *used < n          ? DEFLATE_NO_FLUSH /* a flush only after all the input */
			       : how == HTTP_CODE_END  ? DEFLATE_FINISH
			       : how == HTTP_CODE_PUSH ? DEFLATE_SYNC_FLUSH
						       : DEFLATE_NO_FLUSH;
	size_t k = cap ? deflate_run(&s->z, out, cap, f) : 0;
	stats.bytes_in += *used;
	stats.bytes_out += k;
	return k;
}

static void gz_end(struct http_rw *w)
{
	struct slot *s = w->coder_state;
	s->owner->free[s->owner->nfree++] = s;
}

static const struct http_coder gzip_coder = { gz_start, gz_code, gz_end };

bool http_accepts_gzip(const struct http_req *r)
{
	size_t iter = 0;
	for (const struct http_header *h; (h = http_header_find(r->msg, "Accept-Encoding", &iter));)
		if (http_token_list_has(h->value, "gzip") || http_token_list_has(h->value, "x-gzip"))
			return true; /* §8.4.1.3: x-gzip is the same coding */
	return false;
}

static void gzip_mw(struct http_rw *w, struct http_req *r, void *arg)
{
	struct gzip *g = arg;
	if (!http_get_header(r, "Range", NULL)) {
		w->coder = &gzip_coder;
		w->coder_state = http_accepts_gzip(r) ? g : NULL;
	}
	g->inner->fn(w, r, g->inner->arg);
}

struct http_handler *http_with_gzip(struct http_handler *inner, unsigned compressors)
{
	if (!inner)
		return NULL;
	struct http_handler *h = malloc(sizeof *h);
	struct gzip *g = malloc(sizeof *g);
	struct slot *slots = calloc(compressors, sizeof *slots), **idle = calloc(compressors, sizeof *idle);
	if (!h || !g || !slots || !idle) {
		log_err("gzip", "no memory for %u compressors of %zu B", compressors, sizeof *slots);
		free(h), free(g), free(slots), free(idle);
		return NULL;
	}
	for (unsigned i = 0; i < compressors; i++) {
		slots[i].owner = g;
		idle[i] = &slots[i];
	}
	*g = (struct gzip){ inner, idle, compressors };
	*h = (struct http_handler){ gzip_mw, g };
	log_info("gzip", "%u compressors of %zu B", compressors, sizeof *slots);
	return h;
}
