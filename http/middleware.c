/* Middleware constructors (see middleware.h). A wrapper is a struct
 * http_handler whose arg is the inner handler. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernel/clock.h"
#include "../kernel/log.h"
#include "../kernel/recover.h"
#include "middleware.h"

static struct http_handler *wrap(http_handler_fn fn, struct http_handler *inner)
{
	struct http_handler *h = malloc(sizeof *h);
	if (!h)
		return inner; /* boot-time OOM: serve without this layer */
	h->fn = fn;
	h->arg = inner;
	return h;
}

static void call(struct http_handler *h, struct http_rw *w, struct http_req *r) { h->fn(w, r, h->arg); }

static void access_log(struct http_rw *w, struct http_req *r, void *arg)
{
	call(arg, w, r);
	uint64_t us = (clock_now() - r->start_ns) / 1000;
	uint32_t ip = r->peer_ip;
	log_info("access", "%u.%u.%u.%u %.*s %.*s %d %lu B %lu.%03lu ms id=%lu", ip >> 24, (ip >> 16) & 0xff,
		 (ip >> 8) & 0xff, ip & 0xff, (int)r->msg->method.n, r->msg->method.p,
		 (int)(r->msg->path.n > 200 ? 200 : r->msg->path.n), r->msg->path.p, http_status(w),
		 http_bytes_written(w), us / 1000, us % 1000, r->id);
}

struct http_handler *http_with_access_log(struct http_handler *inner) { return wrap(access_log, inner); }

static bool sane_id(const char *p, size_t n)
{
	if (!n || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(p[i] == '-' || p[i] == '_' || p[i] == '.' || (p[i] >= '0' && p[i] <= '9') ||
		      ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'z')))
			return false;
	return true;
}

static void request_id(struct http_rw *w, struct http_req *r, void *arg)
{
	char id[72];
	size_t n;
	const char *theirs = http_get_header(r, "X-Request-Id", &n);
	if (theirs && sane_id(theirs, n))
		snprintf(id, sizeof id, "%.*s", (int)n, theirs);
	else
		snprintf(id, sizeof id, "keel-%lu", r->id);
	http_set_header(w, "X-Request-Id", id);
	call(arg, w, r);
}

struct http_handler *http_with_request_id(struct http_handler *inner) { return wrap(request_id, inner); }

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

struct http_handler *http_with_recovery(struct http_handler *inner) { return wrap(recovery, inner); }
