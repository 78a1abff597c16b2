/* The appliance's routes. To add one: write a handler
 *     static void hello(struct http_rw *w, struct http_req *r, void *arg)
 * and a row in `routes` below with its pattern ("GET /hello/{name}").
 * Patterns follow Go 1.22's ServeMux; a conflict stops the boot with a
 * message naming both patterns. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "app/app.h"
#include "app/handlers.h"
#include "http/core/path.h"
#include "http/handler/middleware.h"
#include "http/handler/static.h"
#include "http/server.h"
#include "kernel/clock.h"
#include "kernel/log.h"
#include "kernel/sched.h"

#define ECHO_MAX_BODY (64ull << 20)
#define GZIP_COMPRESSORS 8 /* responses gzipped at once; more go out as they are */

/* 200 while serving; 503 once the power button was pressed, so a load
 * balancer's health check takes the instance out while it drains. */
static void healthz(struct http_rw *w, struct http_req *r, void *arg)
{
	(void)r, (void)arg;
	http_set_header(w, "Content-Type", "text/plain; charset=utf-8");
	http_set_header(w, "Cache-Control", "no-store");
	if (http_draining()) {
		http_write_header(w, 503);
		http_write(w, "draining\n", 9);
		return;
	}
	http_write(w, "ok\n", 3);
}

/* The error reply for http_read_body's failure n (< 0), if any. */
static void body_error(struct http_rw *w, ssize_t n, const char *too_large)
{
	if (n == -EMSGSIZE)
		http_error(w, 413, too_large);
	else if (n == -EBADMSG)
		http_error(w, 400, "malformed chunked body");
	else if (n == -ETIMEDOUT)
		http_error(w, 408, "request body timeout");
	else if (n < 0)
		http_error(w, 400, "request body incomplete");
}

/* POST /echo: the request body back, streamed (memory stays bounded). */
static void echo(struct http_rw *w, struct http_req *r, void *arg)
{
	(void)arg;
	char buf[4096];
	size_t ctlen;
	const char *ct = http_get_header(r, "Content-Type", &ctlen);
	char ctype[128];
	if (ct && ctlen < sizeof ctype) {
		memcpy(ctype, ct, ctlen);
		ctype[ctlen] = 0;
		http_set_header(w, "Content-Type", ctype);
	} else {
		http_set_header(w, "Content-Type", "application/octet-stream");
	}
	http_set_body_limit(r, ECHO_MAX_BODY);
	ssize_t n;
	while ((n = http_read_body(r, buf, sizeof buf)) > 0)
		if (http_write(w, buf, (size_t)n) < 0)
			return;
	body_error(w, n, "request body too large (limit 64 MiB)");
}

/* POST /bytes: reads the request body (at most 1 GiB) and answers its
 * length, discarding it: the upload half of the bulk-transfer target. */
static void bytes_sink(struct http_rw *w, struct http_req *r, void *arg)
{
	(void)arg;
	char buf[8192];
	uint64_t total = 0;
	ssize_t n;
	http_set_body_limit(r, 1ull << 30);
	while ((n = http_read_body(r, buf, sizeof buf)) > 0)
		total += (uint64_t)n;
	if (n < 0)
		return body_error(w, n, "request body too large (limit 1 GiB)");
	http_set_header(w, "Content-Type", "application/json");
	http_printf(w, "{\"bytes\":%lu}\n", total);
}

struct task_dump {
	struct http_rw *w;
};

static void dump_task(void *ctx, uint32_t id, const char *name, const char *state)
{
	struct task_dump *d = ctx;
	http_printf(d->w, "task %u [%s]: %s\n", id, state, name);
}

/* GET /debug/tasks: the goroutine-dump analogue. */
static void debug_tasks(struct http_rw *w, struct http_req *r, void *arg)
{
	(void)r, (void)arg;
	struct sched_stats s;
	sched_get_stats(&s);
	http_set_header(w, "Content-Type", "text/plain; charset=utf-8");
	http_printf(w, "%u tasks (%lu spawned, %lu exited), %lu context switches\n\n", s.live + 1, s.spawned,
		    s.exited, s.switches);
	struct task_dump d = { w };
	sched_each_task(dump_task, &d);
}

/* GET /debug/fault: a handler that dereferences a null pointer, to show
 * (and test) that a faulting handler costs one 500, not the appliance. */
static void debug_fault(struct http_rw *w, struct http_req *r, void *arg)
{
	(void)w, (void)r, (void)arg;
	*(volatile int *)0 = 1;
}

static long query_int(const struct http_req *r, const char *key, long def, long lo, long hi)
{
	struct http_slice q = r->msg->query, k, v;
	size_t klen = strlen(key);
	while (http_query_next(&q, &k, &v)) {
		if (k.n != klen || memcmp(k.p, key, klen))
			continue;
		long x = 0;
		for (size_t i = 0; i < v.n; i++) {
			if (v.p[i] < '0' || v.p[i] > '9' || x > hi)
				return def;
			x = x * 10 + (v.p[i] - '0');
		}
		return v.n && x >= lo && x <= hi ? x : def;
	}
	return def;
}

/* GET /events?n=10&interval_ms=1000: server-sent events, flushed one by
 * one (curl -N shows them as they come). */
static void events(struct http_rw *w, struct http_req *r, void *arg)
{
	(void)arg;
	long n = query_int(r, "n", 10, 1, 1000), every = query_int(r, "interval_ms", 1000, 10, 60000);
	http_set_header(w, "Content-Type", "text/event-stream");
	http_set_header(w, "Cache-Control", "no-store");
	for (long i = 1; i <= n; i++) {
		/* The stream outlives handler_timeout by design: each tick grants
		 * itself time to the next one (plus a second), so a client that
		 * stops reading is still dropped a write timeout later. */
		http_set_deadline(w, clock_now() + (uint64_t)(every + 1000) * NSEC_PER_MSEC);
		if (i > 1)
			sched_sleep((uint64_t)every * NSEC_PER_MSEC);
		http_printf(w, "id: %ld\ndata: tick %ld at %lu ms\n\n", i, i, clock_now() / NSEC_PER_MSEC);
		if (http_flush(w) < 0)
			return; /* the client went away */
	}
}

/* GET /debug/sleep?ms=N: answers after N ms (at most a minute), to see
 * handler_timeout at work: an overrun is woken and answered 503. */
static void debug_sleep(struct http_rw *w, struct http_req *r, void *arg)
{
	(void)arg;
	long ms = query_int(r, "ms", 1000, 0, 60000);
	sched_sleep((uint64_t)ms * NSEC_PER_MSEC);
	http_set_header(w, "Content-Type", "text/plain; charset=utf-8");
	http_printf(w, "slept %ld ms\n", ms);
}

/* GET /bytes/{n}: n zero bytes (at most 1 GiB), streamed from 16 KiB of
 * zeros (in .bss: no bytes in the image): a bulk-transfer target for load
 * generators and throughput tests. The pieces, larger than the response
 * buffer, go out by reference (http_write_static), so the zeros must never
 * be written: lwIP's segments point at them until they are acknowledged. */
static void bytes(struct http_rw *w, struct http_req *r, void *arg)
{
	(void)arg;
	static char zeros[16384]; /* twice the response buffer (HTTP_OUT_SIZE) */
	size_t len;
	const char *v = http_path_value(r, "n", &len);
	uint64_t n = 0;
	bool ok = len && len <= 10; /* ten digits cannot overflow */
	for (size_t i = 0; ok && i < len; i++) {
		ok = v[i] >= '0' && v[i] <= '9';
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	if (!ok || n > (1ull << 30)) {
		http_error(w, 400, "n must be a byte count up to 1073741824");
		return;
	}
	http_set_header(w, "Content-Type", "application/octet-stream");
	http_set_content_length(w, n);
	for (uint64_t left = n; left;) {
		size_t k = left < sizeof zeros ? (size_t)left : sizeof zeros;
		if (http_write_static(w, zeros, k) < 0)
			return;
		left -= k;
	}
}

static struct http_handler h_bytes = { bytes, NULL }, h_bytes_sink = { bytes_sink, NULL },
			   h_sleep = { debug_sleep, NULL };
static struct http_handler h_healthz = { healthz, NULL }, h_echo = { echo, NULL },
			   h_tasks = { debug_tasks, NULL }, h_fault = { debug_fault, NULL }, h_events = { events, NULL },
			   h_metrics = { app_metrics, NULL }, h_static = { http_static, NULL },
			   h_users_list = { app_users_list, NULL }, h_users_create = { app_users_create, NULL },
			   h_user_get = { app_user_get, NULL }, h_user_put = { app_user_put, NULL },
			   h_user_delete = { app_user_delete, NULL }, h_upload = { app_upload, NULL },
			   h_preflight = { http_cors_preflight, NULL };

/* cors: the resource may be read by pages of any origin. */
static const struct {
	const char *pattern;
	struct http_handler *h;
	bool cors;
} routes[] = {
	{ "GET /", &h_static, false },
	{ "GET /healthz", &h_healthz, false },
	{ "GET /metrics", &h_metrics, false },
	{ "GET /debug/tasks", &h_tasks, false },
	{ "GET /debug/fault", &h_fault, false },
	{ "GET /debug/sleep", &h_sleep, false },
	{ "POST /echo", &h_echo, false },
	{ "GET /events", &h_events, false },
	{ "GET /bytes/{n}", &h_bytes, false },
	{ "POST /bytes", &h_bytes_sink, false },
	{ "GET /api/users", &h_users_list, true },
	{ "POST /api/users", &h_users_create, true },
	{ "GET /api/users/{id}", &h_user_get, true },
	{ "PUT /api/users/{id}", &h_user_put, true },
	{ "DELETE /api/users/{id}", &h_user_delete, true },
	{ "POST /upload", &h_upload, false },
	{ "OPTIONS /api/", &h_preflight, true },
};

int app_routes(struct mux *mux, unsigned rate_limit)
{
	mux_init(mux);
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		char err[160];
		struct http_handler *h = routes[i].cors ? http_with_cors(routes[i].h) : routes[i].h;
		if (rate_limit)
			h = http_with_rate_limit(h, rate_limit, rate_limit);
		if (!h) {
			log_err("app", "route \"%s\": no memory for its middleware", routes[i].pattern);
			return -ENOMEM;
		}
		if (mux_handle(mux, routes[i].pattern, h, err, sizeof err) < 0) {
			log_err("app", "route \"%s\": %s", routes[i].pattern, err);
			return -EINVAL;
		}
	}
	return 0;
}

/* The middleware around the whole mux: request id, access log, fault
 * recovery, gzip (outermost first). NULL when out of memory. */
struct http_handler *app_wrap(struct http_handler *h)
{
	h = http_with_gzip(h, GZIP_COMPRESSORS);
	return http_with_request_id(http_with_access_log(http_with_recovery(h)));
}
