/* Middleware constructors (see middleware.h). A wrapper is a struct
 * http_handler whose arg is the inner handler. */
#include <stdlib.h>
#include <string.h>

#include "http/core/ctype.h"
#include "http/core/fmt.h"
#include "http/handler/middleware.h"
#include "kernel/clock.h"
#include "kernel/ipv4.h"
#include "kernel/log.h"
#include "kernel/recover.h"
#include "net/stream.h"

/* A handler calling fn with arg (usually the inner handler); NULL when
 * out of memory or when inner is NULL (a failure further in). */
static struct http_handler *wrap(http_handler_fn fn, void *arg, struct http_handler *inner)
{
	struct http_handler *h = inner && arg ? malloc(sizeof *h) : NULL;
	if (!h)
		return NULL;
	h->fn = fn;
	h->arg = arg;
	return h;
}

static void call(struct http_handler *h, struct http_rw *w, struct http_req *r) { h->fn(w, r, h->arg); }

/* "10.0.2.2 GET /path 200 1000 B 0.153 ms id=7", and over TLS the
 * version, suite, ALPN protocol and new or resumed session. The method is
 * cut at 32 bytes and the path at 200, so the line always fits `line`;
 * the log cuts it (with its mark) to LOGRING_LINE_MAX. Built without
 * printf: it is on every request. */
#define ACCESS_LINE_MAX (IPV4_STR_MAX + 32 + 1 + 200 + 1 + 20 + 1 + 20 + 3 + 20 + 1 + 3 + 7 + 20 + 1 + STREAM_INFO_MAX)
static void access_log(struct http_rw *w, struct http_req *r, void *arg)
{
	call(arg, w, r);
	if (!log_enabled(LOG_INFO))
		return;
	uint64_t us = (clock_now() - r->start_ns) / 1000;
	char line[ACCESS_LINE_MAX], ip[IPV4_STR_MAX];
	struct http_buf b = http_buf_init(line, sizeof line);
	http_buf_put(&b, ip, ipv4_format(r->peer_ip, ip));
	http_buf_put(&b, " ", 1);
	http_buf_put(&b, r->msg->method.p, r->msg->method.n > 32 ? 32 : r->msg->method.n);
	http_buf_put(&b, " ", 1);
	http_buf_put(&b, r->msg->path.p, r->msg->path.n > 200 ? 200 : r->msg->path.n);
	http_buf_put(&b, " ", 1);
	http_buf_dec(&b, (uint64_t)http_status(w), 0);
	http_buf_put(&b, " ", 1);
	http_buf_dec(&b, http_bytes_written(w), 0);
	http_buf_put(&b, " B ", 3);
	http_buf_dec(&b, us / 1000, 0);
	http_buf_put(&b, ".", 1);
	http_buf_dec(&b, us % 1000, 3);
	http_buf_put(&b, " ms id=", 7);
	http_buf_dec(&b, r->id, 0);
	if (r->tls) {
		http_buf_put(&b, " ", 1);
		http_buf_str(&b, r->tls);
	}
	klog_str(LOG_INFO, "access", line, b.len);
}

struct http_handler *http_with_access_log(struct http_handler *inner) { return wrap(access_log, inner, inner); }

static bool sane_id(const char *p, size_t n)
{
	if (!n || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(p[i] == '-' || p[i] == '_' || p[i] == '.' || http_is_digit((unsigned char)p[i]) ||
		      http_is_alpha((unsigned char)p[i])))
			return false;
	return true;
}

static void request_id(struct http_rw *w, struct http_req *r, void *arg)
{
	char id[72];
	size_t n;
	const char *theirs = http_get_header(r, "X-Request-Id", &n);
	struct http_buf b = http_buf_init(id, sizeof id - 1);
	if (theirs && sane_id(theirs, n)) {
		http_buf_put(&b, theirs, n);
	} else {
		http_buf_str(&b, "keel-");
		http_buf_dec(&b, r->id, 0);
	}
	id[b.len] = '\0';
	http_set_header(w, "X-Request-Id", id);
	call(arg, w, r);
}

struct http_handler *http_with_request_id(struct http_handler *inner) { return wrap(request_id, inner, inner); }

/* A handler that faults (null pointer, division by zero...) answers 500
 * and the server keeps serving; the fault report is on the console. */
static void recovery(struct http_rw *w, struct http_req *r, void *arg)
{
	struct recovery rec;
	if (recover_point(&rec) == 0) {
		call(arg, w, r);
		recover_done(&rec);
		return;
	}
	log_err("http", "request %lu: handler faulted (vector %lu at %#lx); answering 500", r->id, rec.vector,
		rec.rip);
	if (http_header_sent(w))
		http_abort(w); /* too late for a status: cut the response short */
	else
		http_error(w, 500, "internal server error");
}

struct http_handler *http_with_recovery(struct http_handler *inner) { return wrap(recovery, inner, inner); }

/* ---- per-client rate limiting: a token bucket per IPv4 address ---- */

#define RL_SLOTS 256 /* clients tracked at once; the least recently seen is evicted */

struct bucket {
	uint32_t ip;
	uint64_t tokens_milli; /* tokens x 1000 */
	uint64_t last_ns;
};

struct rate_limit {
	struct http_handler *inner;
	uint32_t rate, burst; /* tokens per second, bucket size */
	struct bucket slots[RL_SLOTS];
};

static struct bucket *bucket_for(struct rate_limit *rl, uint32_t ip, uint64_t now)
{
	struct bucket *oldest = &rl->slots[0];
	for (int i = 0; i < RL_SLOTS; i++) {
		struct bucket *b = &rl->slots[(ip * 2654435761u + (uint32_t)i) % RL_SLOTS];
		if (b->ip == ip && b->last_ns)
			return b;
		if (b->last_ns < oldest->last_ns)
			oldest = b;
		if (!b->last_ns)
			break;
	}
	*oldest = (struct bucket){ ip, (uint64_t)rl->burst * 1000, now };
	return oldest;
}

static void rate_limited(struct http_rw *w, struct http_req *r, void *arg)
{
	struct rate_limit *rl = arg;
	uint64_t now = clock_now();
	struct bucket *b = bucket_for(rl, r->peer_ip, now);
	uint64_t refill = (now - b->last_ns) * rl->rate / 1000000; /* milli-tokens */
	b->tokens_milli = b->tokens_milli + refill > (uint64_t)rl->burst * 1000 ? (uint64_t)rl->burst * 1000
										  : b->tokens_milli + refill;
	b->last_ns = now;
	if (b->tokens_milli < 1000) {
		http_set_header(w, "Retry-After", "1");
		return http_error(w, 429, "too many requests");
	}
	b->tokens_milli -= 1000;
	call(rl->inner, w, r);
}

struct http_handler *http_with_rate_limit(struct http_handler *inner, uint32_t rate, uint32_t burst)
{
	struct rate_limit *rl = inner ? calloc(1, sizeof *rl) : NULL;
	if (!rl)
		return NULL;
	rl->inner = inner;
	rl->rate = rate;
	rl->burst = burst ? burst : rate;
	struct http_handler *h = wrap(rate_limited, rl, inner);
	if (!h)
		free(rl);
	return h;
}

/* ---- CORS (Fetch standard §3.2): any origin may read the responses ---- */

static void cors(struct http_rw *w, struct http_req *r, void *arg)
{
	if (http_get_header(r, "Origin", NULL)) {
		http_set_header(w, "Access-Control-Allow-Origin", "*");
		http_add_header(w, "Vary", "Origin");
	}
	call(arg, w, r);
}

struct http_handler *http_with_cors(struct http_handler *inner) { return wrap(cors, inner, inner); }

/* The answer to a CORS preflight (OPTIONS with Access-Control-Request-Method). */
void http_cors_preflight(struct http_rw *w, struct http_req *r, void *arg)
{
	(void)r, (void)arg;
	http_set_header(w, "Access-Control-Allow-Origin", "*");
	http_set_header(w, "Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, DELETE, OPTIONS");
	http_set_header(w, "Access-Control-Allow-Headers", "Content-Type, X-Request-Id");
	http_set_header(w, "Access-Control-Max-Age", "600");
	http_write_header(w, 204);
}
