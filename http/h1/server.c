/* The serve loop (model: net/http's (*conn).serve). One task per
 * connection:
 *
 *   idle: wait for the first byte (idle timeout) -> read the head
 *   (read-header timeout) -> parse: errors get 400/414/431/501/505 and
 *   close -> route through the mux -> handler -> finish the response ->
 *   drain the unread body -> keep-alive? shift pipelined bytes, repeat.
 *
 * One predicate, reusable(), decides keep-alive. Connections beyond
 * max_conns get a 503 from the accept loop itself and are closed.
 *
 * Two listeners, one loop: plain TCP on `port` and, when the appliance
 * supplies cfg.tls_accept, HTTPS on `tls_port`. Both hand the loop a
 * stream (net/stream.h); for HTTPS the handshake runs inside the first
 * read. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/h1/internal.h"
#include "kernel/clock.h"
#include "kernel/cmdline.h"
#include "kernel/log.h"
#include "kernel/sched.h"
#include "kernel/shutdown.h"
#include "net/conn.h"
#include "net/stream.h"

#define SHUTDOWN_POLL_NS (20 * NSEC_PER_MSEC)
/* A connection task's stack: its struct http_conn (under 4 KiB) lives
 * there, and the handler gets the default 16 KiB beside it. */
#define HTTP_TASK_STACK (TASK_STACK_DEFAULT + 4096)
_Static_assert(sizeof(struct http_conn) <= 4096, "struct http_conn outgrew its stack allowance");

const uint32_t http_latency_bounds_us[12] = {100,   250,   500,   1000,   2500,    5000,
					     10000, 25000, 50000, 100000, 1000000, UINT32_MAX};

static struct http_config cfg;
/* A listening port and what its connections are served by. */
struct http_listener {
	struct listener *l; /* NULL once closed, or never opened */
	bool tls;
	struct http_handler root;
};
static struct http_listener plain, secure;
/* A connection's lasting record: all that an idle connection keeps. */
struct http_session {
	struct stream *st;
	bool tls;    /* came in on the HTTPS listener */
	uint32_t id;
	enum http_conn_state state;
	bool parked; /* no task holds it: in `parked` or `ready` */
	bool ready;  /* in `ready`: bytes came while it was parked */
	uint64_t idle_deadline;
	struct list_node link; /* `parked` (oldest first) or `ready` */
	struct list_node all;  /* every open connection, for shutdown */
};

static char hsts_value[32]; /* "max-age=N" */
static struct list_node sessions = LIST_INIT(sessions);
static struct list_node parked = LIST_INIT(parked); /* by idle_deadline: idle_ns is fixed */
static struct list_node ready = LIST_INIT(ready);   /* parked, then readable */
static struct waitq keeper_wq = WAITQ_INIT(keeper_wq);
static struct http_stats stats;
static uint32_t next_conn_id;
static uint64_t next_request_id;
static bool shutting_down;
static bool draining; /* power button pressed, drain_delay running: still serving */

/* The server's options: the only place their defaults are written. */
static struct http_config opt;
static const char *const on_off[] = {"off", "on", NULL};
static const struct cmdline_option options[] = {
    CMDLINE_UINT_ROW("port", opt.port, 80, 1, 65535, "TCP port the HTTP server listens on"),
    CMDLINE_SECONDS_ROW("read_header_timeout", opt.read_header_ns, 5, 1, 3600,
			"seconds from a request's first byte to its blank line (then 408 and close)"),
    CMDLINE_SECONDS_ROW("read_timeout", opt.read_ns, 30, 1, 86400,
			"seconds to read a whole request, body included (then 408)"),
    CMDLINE_SECONDS_ROW(
	"write_timeout", opt.write_ns, 30, 1, 86400,
	"seconds after the handler's time to get its response out (a client that stops reading is reset)"),
    CMDLINE_SECONDS_ROW(
	"idle_timeout", opt.idle_ns, 60, 1, 86400,
	"seconds a keep-alive connection may wait for its next request (idle ones hold no task)"),
    CMDLINE_SECONDS_ROW(
	"handler_timeout", opt.handler_ns, 10, 1, 86400,
	"seconds a handler may run, its writes included (then 503, or 408 while a body is still due)"),
    CMDLINE_SECONDS_ROW("shutdown_timeout", opt.shutdown_ns, 5, 0, 3600,
			"seconds of grace for in-flight requests at power-off"),
    CMDLINE_SECONDS_ROW("drain_delay", opt.drain_ns, 0, 0, 3600,
			"seconds at power-off of still serving with /healthz 503 and Connection: close, "
			"for a load balancer to take the instance out"),
    CMDLINE_UINT_ROW("max_conns", opt.max_conns, 1000, 1, 1000000,
		     "open connections; more get 503 and are closed (memory is taken as they come)"),
    CMDLINE_UINT_ROW("max_header_bytes", opt.max_header_bytes, 65536, 1024, 1048576,
		     "bytes of the request line and headers (then 431)"),
    CMDLINE_UINT_ROW("max_uri", opt.max_uri, 8192, 64, 1048576, "bytes of a request-target (then 414)"),
    CMDLINE_UINT_ROW("max_body", opt.max_body, 1048576, 0, 4294967295,
		     "bytes of a request body unless a route sets its own limit (then 413)"),
    CMDLINE_UINT_ROW("tls_port", opt.tls_port, 443, 0, 65535,
		     "TCP port HTTPS listens on when the boot bundle has a certificate; 0: no HTTPS"),
    CMDLINE_ENUM_ROW("redirect_http", opt.redirect_http, "off", on_off,
		     "on: the plain port redirects every request to the same URL over HTTPS (301; 308 but for GET, HEAD)"),
    CMDLINE_SECONDS_ROW("hsts", opt.hsts_ns, 0, 0, 63072000,
			"Strict-Transport-Security max-age sent over HTTPS (RFC 6797); 0: none"),
};
CMDLINE_TABLE(http, options);

void http_config_from_cmdline(struct http_config *c)
{
	*c = opt;
}

static void set_state(struct http_session *s, enum http_conn_state to)
{
	enum http_conn_state from = s->state;
	if (from == to)
		return;
	stats.conns[from]--;
	stats.conns[to]++;
	s->state = to;
	if (cfg.conn_state_hook)
		cfg.conn_state_hook(s->id, from, to);
}

void http_count_status(int status, uint64_t latency_ns)
{
	stats.requests++;
	if (status >= 100 && status < 600)
		stats.by_status[status / 100]++;
	uint64_t us = latency_ns / 1000;
	for (int i = 0; i < 12; i++)
		if (us <= http_latency_bounds_us[i])
			stats.latency_le[i]++;
	stats.latency_sum_us += us;
	stats.latency_count++;
}

/* ---- a turn's buffers ---- */

/* A turn's input and response buffers, kept once freed for the next turn:
 * picolibc's malloc zeroes every block, and with a turn per keep-alive
 * request that was 12 KiB of stores per request, the largest single cost
 * on the path (make profile). At most SPARE_TURNS pairs, the peak of
 * concurrent turns. They hold what earlier connections sent and received;
 * the parser reads only [0, in_len) and the writer sends only [0, out_len). */
#define SPARE_TURNS 16

static struct { char *in, *out; } spare[SPARE_TURNS];
static unsigned nspare;

static bool buffers_get(struct http_conn *hc)
{
	if (nspare) {
		nspare--;
		hc->in = spare[nspare].in;
		hc->rw.out = spare[nspare].out;
	} else {
		hc->in = malloc(HTTP_IN_INITIAL);
		hc->rw.out = malloc(HTTP_OUT_SIZE);
	}
	hc->in_cap = HTTP_IN_INITIAL;
	return hc->in && hc->rw.out;
}

static void buffers_put(struct http_conn *hc)
{
	if (hc->in && hc->rw.out && hc->in_cap == HTTP_IN_INITIAL && nspare < SPARE_TURNS) {
		spare[nspare].in = hc->in;
		spare[nspare].out = hc->rw.out;
		nspare++;
		return;
	}
	free(hc->in);
	free(hc->rw.out);
}

void http_get_stats(struct http_stats *s)
{
	*s = stats;
	s->cached_bytes = nspare * (uint64_t)(HTTP_IN_INITIAL + HTTP_OUT_SIZE);
}

/* ---- reading the head ---- */

/* Parse what is buffered; read more until the head is complete. Returns
 * the head length, 0 if the client went away or idled out (close
 * silently), or -EBADMSG with the error reply's status in *status. */
static int read_head(struct http_conn *hc, int *status)
{
	struct http_limits lim = {cfg.max_header_bytes, cfg.max_uri, HTTP_MAX_HEADERS};
	/* A new connection gets read_header to start talking; a kept-alive
	 * one may idle, unless pipelined bytes are already here. */
	uint64_t deadline =
	    clock_now() + (hc->in_len || hc->s->state == HTTP_NEW ? cfg.read_header_ns : cfg.idle_ns);
	bool started = hc->in_len > 0;
	size_t last = 0;
	for (;;) {
		if (hc->in_len) {
			memset(&hc->msg, 0, sizeof hc->msg);
			hc->msg.headers = hc->headers;
			int r = http_parse_request(hc->in, hc->in_len, last, &lim, &hc->msg, status);
			if (r > 0)
				return r;
			if (r == HTTP_PARSE_ERROR)
				return -EBADMSG;
			last = hc->in_len;
		}
		ssize_t n = http_fill(hc, deadline);
		if (n == -ETIMEDOUT && started) {
			*status = 408;
			return -EBADMSG;
		}
		if (n <= 0)
			return 0; /* EOF, reset, idle timeout or shutdown: hang up silently */
		if (!started) {   /* the request has begun: the header clock starts */
			started = true;
			set_state(hc->s, HTTP_ACTIVE);
			deadline = clock_now() + cfg.read_header_ns;
		}
		hc->in_len += (size_t)n;
	}
}

/* Drop the finished request's bytes; pipelined ones move to the front. */
static void shift_input(struct http_conn *hc)
{
	size_t rest = hc->in_len - hc->in_pos;
	memmove(hc->in, hc->in + hc->in_pos, rest);
	hc->in_len = rest;
	hc->in_pos = hc->head_len = hc->dec_pos = hc->dec_end = 0;
	if (!rest && hc->in_cap > HTTP_IN_INITIAL) { /* give a grown buffer back */
		char *in = realloc(hc->in, HTTP_IN_INITIAL);
		if (in) {
			hc->in = in;
			hc->in_cap = HTTP_IN_INITIAL;
		}
	}
}

/* ---- one request ---- */

/* After a handler: one that overran its time gets the 503 (or its
 * streamed response is cut). Called by the mux right after the matched
 * handler, so the middleware around the mux (access log, request id)
 * sees the final status, and again by the serve loop; the first call
 * clears the cutoff, so it acts once. */
static void handler_done(struct http_req *r)
{
	struct http_rw *w = &r->conn->rw;
	if (!w->cutoff || clock_now() <= w->cutoff)
		return;
	/* Still reading a body that had not all come: the client's delay,
	 * 408 (RFC 9110 §15.5.9), not the server's 503. */
	struct http_conn *hc = r->conn;
	bool slow_body = hc->body_err == -ETIMEDOUT || (hc->body_read && !hc->body_done);
	if (slow_body)
		stats.bad_requests++;
	else
		stats.handler_timeouts++;
	log_info("http", "conn %u: handler overran its %lu ms%s", hc->s->id,
		 (w->cutoff - r->start_ns) / NSEC_PER_MSEC, slow_body ? " waiting for the request body" : "");
	http_rw_timeout(w, slow_body ? 408 : 503, slow_body ? "request body timeout" : "handler timed out");
}

/* OPTIONS * asks about the server as a whole (RFC 9110 §9.3.7): 200 with
 * an empty body, as Go's serverHandler answers, and Allow listing every
 * method some route takes. */
static void options_asterisk(struct http_rw *w, struct mux *mux)
{
	char allow[MUX_ALLOW_MAX];
	mux_methods(mux, allow);
	if (allow[0])
		http_set_header(w, "Allow", allow);
	http_set_content_length(w, 0);
	http_write_header(w, 200);
}

/* The mux as a handler (Go's ServeMux.ServeHTTP): route, then call the
 * matched handler; 301, 405 and 404 are answered here, inside whatever
 * middleware wraps the mux. */
static void mux_serve(struct http_rw *w, struct http_req *r, void *arg)
{
	struct http_conn *hc = r->conn;
	const struct http_request *m = &hc->msg;
	char location[512];
	if (m->form == HTTP_FORM_ASTERISK) /* the parser allows it for OPTIONS only */
		return options_asterisk(w, arg);
	mux_match(arg, m->method.p, m->method.n, m->host.p, m->host.n, m->path.p, m->path.n, m->query.p,
		  m->query.n, location, sizeof location, &hc->match);
	switch (hc->match.status) {
	case MUX_MATCHED: {
		const struct http_handler *h = hc->match.handler;
		h->fn(w, r, h->arg);
		handler_done(r);
		break;
	}
	case 301:
		http_set_header(w, "Location", location);
		http_error(w, 301, "moved permanently");
		break;
	case 405:
		http_set_header(w, "Allow", hc->match.allow);
		http_error(w, 405, "method not allowed");
		break;
	case 414:
		http_error(w, 414, "URI too long");
		break;
	default:
		http_error(w, 404, "not found");
	}
}

struct http_handler http_mux_handler(struct mux *m)
{
	return (struct http_handler){mux_serve, m};
}

const char *http_path_value(const struct http_req *r, const char *name, size_t *len)
{
	return mux_path_value(r->match, name, len);
}

const char *http_get_header(const struct http_req *r, const char *name, size_t *len)
{
	size_t iter = 0;
	const struct http_header *h = http_header_find(r->msg, name, &iter);
	if (!h)
		return NULL;
	if (len)
		*len = h->value.n;
	return h->value.p;
}

/* net/http's shouldReuseConnection: after the response is out, may this
 * connection carry another request? */
static bool reusable(struct http_conn *hc, bool response_ok)
{
	return response_ok && !shutting_down && hc->msg.keep_alive && http_body_drain(hc);
}

static bool serve_one(struct http_conn *hc, int head_len)
{
	hc->head_len = hc->in_pos = (size_t)head_len;
	uint64_t start = clock_now();
	struct http_req r = {
	    .msg = &hc->msg, .match = &hc->match, .id = ++next_request_id, .start_ns = start, .conn = hc};
	hc->match.status = 404; /* no route yet: a middleware asking for a path value gets none */
	hc->match.nvalues = 0;
	stream_peer(hc->st, &r.peer_ip, &r.peer_port);
	r.tls = hc->s->tls ? stream_info(hc->st) : NULL;
	uint64_t cutoff = start + cfg.handler_ns;
	http_rw_start(&hc->rw, hc, cutoff, cutoff + cfg.write_ns);
	http_body_start(hc);
	hc->read_deadline = start + cfg.read_ns;
	if (r.tls && cfg.hsts_ns) /* RFC 6797 §7.2: over HTTPS only */
		http_set_header(&hc->rw, "Strict-Transport-Security", hsts_value);
	/* A handler blocked past its time (sleeping, reading the body, waiting
	 * on the network) is woken with -ETIMEDOUT; one that computes past it
	 * is caught at its next write or when it returns. */
	sched_set_cutoff(cutoff);
	const struct http_handler *h = hc->s->tls ? &secure.root : &plain.root;
	h->fn(&hc->rw, &r, h->arg);
	sched_set_cutoff(0);
	handler_done(&r);
	bool ok = http_rw_finish(&hc->rw);
	http_count_status(http_status(&hc->rw), clock_now() - start);
	return reusable(hc, ok);
}

/* ---- connection life cycle ---- */

static void end_session(struct http_session *s, bool reset)
{
	set_state(s, HTTP_CLOSED);
	stats.conns[HTTP_CLOSED]++; /* CLOSED counts the total */
	list_remove(&s->all);
	/* A response that could not be written (the peer stopped reading, or
	 * the write deadline passed) ends with RST: a graceful close would
	 * leave lwIP trickling the queued bytes to a slow-read attacker. */
	if (reset)
		stream_abort(s->st);
	else
		stream_close(s->st);
	free(s);
}

/* From the net poller: a parked connection has bytes (or news) for us. */
static void unparked(void *arg)
{
	struct http_session *s = arg;
	s->ready = true;
	list_remove(&s->link);
	list_push_back(&ready, &s->link);
	waitq_wake_one(&keeper_wq);
}

/* Close a connection parked without a task (idle past its time, or at
 * shutdown). It never parks the caller (stream.h: close after unpark), so
 * the keeper and the shutdown walk keep their place in the lists. */
static void close_parked(struct http_session *s)
{
	list_remove(&s->link);
	stream_unpark(s->st);
	end_session(s, false);
}

/* Between requests, with nothing buffered: give the task up. False if
 * the connection is readable already (serve on) or we are shutting down. */
static bool park(struct http_session *s)
{
	if (shutting_down || !stream_park(s->st, unparked, s))
		return false;
	s->parked = true;
	s->idle_deadline = clock_now() + cfg.idle_ns;
	bool first = list_empty(&parked);
	list_push_back(&parked, &s->link); /* the latest deadline: idle_ns is fixed */
	if (first)
		waitq_wake_one(&keeper_wq); /* it waits without a deadline when none is parked */
	return true;
}

/* The keep-alive loop of one task; true if it parked the connection. */
static bool serve_requests(struct http_conn *hc)
{
	for (;;) {
		int status = 400;
		int r = read_head(hc, &status);
		if (r == 0)
			return false;
		if (r < 0) {
			const char *why = status == 408   ? "request header timeout"
					  : hc->msg.error ? hc->msg.error
							  : "bad request";
			stats.bad_requests++;
			log_info("http", "conn %u: %d %s", hc->s->id, status, why);
			set_state(hc->s, HTTP_ACTIVE);
			memset(&hc->msg, 0, sizeof hc->msg); /* a fresh head: no HEAD, no keep-alive */
			hc->msg.minor = 1;
			http_rw_simple(hc, status, why, true);
			http_count_status(status, 0);
			return false;
		}
		set_state(hc->s, HTTP_ACTIVE); /* also for a pipelined request already buffered */
		if (!serve_one(hc, r))
			return false;
		shift_input(hc);
		set_state(hc->s, HTTP_IDLE);
		if (!hc->in_len && park(hc->s))
			return true;
	}
}

/* A task's turn with a connection: from accept or from being parked, to
 * parked again or closed. Its working state lives on this stack. */
static void serve_conn(void *arg)
{
	struct http_session *s = arg;
	struct http_conn hc;
	memset(&hc, 0, offsetof(struct http_conn, rw));
	memset(&hc.rw, 0, offsetof(struct http_rw, hdrs));
	hc.st = s->st;
	hc.s = s;
	hc.id = s->id;
	hc.cfg = &cfg;
	bool no_memory = !buffers_get(&hc);
	bool kept = !no_memory && serve_requests(&hc);
	buffers_put(&hc);
	if (!kept)
		end_session(s, hc.rw.failed || no_memory);
}

/* A plain connection gets a 503; an HTTPS one is reset (a reply would
 * first need the handshake this refusal is meant to spare). */
static void refuse(struct stream *st, bool tls, const char *why)
{
	static const char busy[] =
	    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
	    "Content-Length: 12\r\nConnection: close\r\nRetry-After: 1\r\n\r\nserver busy\n";
	stats.refused_conns++;
	log_debug("http", "refusing a%s connection: %s", tls ? "n HTTPS" : "", why);
	if (tls) {
		stream_abort(st);
		return;
	}
	stream_write(st, busy, sizeof busy - 1, clock_now() + NSEC_PER_SEC);
	stream_close(st);
}

static uint32_t open_count(void)
{
	return stats.conns[HTTP_NEW] + stats.conns[HTTP_ACTIVE] + stats.conns[HTTP_IDLE];
}

/* The connection as the serve loop's stream: for HTTPS, wrapped in a
 * TLS server (NULL if the TLS layer refuses it: busy or no memory). */
static struct stream *open_stream(struct http_listener *hl, struct conn *c)
{
	struct stream *st = conn_stream(c);
	if (!hl->tls)
		return st;
	struct stream *t = cfg.tls_accept(st);
	if (!t) {
		stats.refused_conns++;
		stream_abort(st);
	}
	return t;
}

static void accept_loop(void *arg)
{
	struct http_listener *hl = arg;
	for (;;) {
		struct conn *c;
		/* Closed while this task was busy below (refusing, spawning):
		 * the listener is gone (no task was waiting in it to keep it). */
		if (!hl->l)
			return;
		int err = conn_accept(hl->l, &c, 0);
		if (err == -ECANCELED)
			return; /* the listener closed while this task waited in it: shutdown */
		if (err < 0)
			continue;
		if (open_count() >= cfg.max_conns) {
			refuse(conn_stream(c), hl->tls, "max_conns reached");
			continue;
		}
		struct stream *st = open_stream(hl, c);
		if (!st)
			continue;
		struct http_session *s = calloc(1, sizeof *s);
		if (s)
			*s = (struct http_session){.st = st, .tls = hl->tls, .id = ++next_conn_id, .state = HTTP_NEW};
		if (!s || !task_spawn("http-conn", serve_conn, s, HTTP_TASK_STACK)) {
			free(s);
			refuse(st, hl->tls, "out of memory");
			continue;
		}
		stats.conns[HTTP_NEW]++;
		list_push_back(&sessions, &s->all);
	}
}

static void close_listener(struct http_listener *hl)
{
	if (hl->l)
		conn_listener_close(hl->l);
	hl->l = NULL;
}

/* The keeper: hands parked connections that became readable to a new
 * task, and closes those idle past idle_timeout (oldest first). */
static void keeper(void *arg)
{
	(void)arg;
	for (;;) {
		struct list_node *n;
		while ((n = list_pop_front(&ready))) {
			struct http_session *s = list_entry(n, struct http_session, link);
			s->parked = s->ready = false;
			if (!task_spawn("http-conn", serve_conn, s, HTTP_TASK_STACK))
				end_session(s, true); /* out of memory: counted by the scheduler */
		}
		uint64_t now = clock_now();
		while (!list_empty(&parked)) {
			struct http_session *s = list_entry(parked.next, struct http_session, link);
			if (s->idle_deadline > now)
				break;
			close_parked(s);
		}
		if (!list_empty(&ready))
			continue; /* a wake-up while it was closing is not kept by the wait queue */
		uint64_t next = list_empty(&parked)
				    ? 0
				    : list_entry(parked.next, struct http_session, link)->idle_deadline;
		waitq_wait(&keeper_wq, next);
	}
}

/* ---- start and graceful shutdown ---- */

bool http_draining(void) { return draining || shutting_down; }

/* Power button, first drain_ns of it: keep accepting and serving, but fail
 * the health check and close each connection after its response, so a
 * load balancer takes the instance out and retires its pooled connections
 * cleanly, before any of them is refused. Idle connections stay parked: a
 * request that comes on one is served (and closes it). */
static void drain(void)
{
	draining = true;
	log_info("http", "draining for %lu s: /healthz answers 503, every response closes its connection",
		 cfg.drain_ns / NSEC_PER_SEC);
	sched_sleep(cfg.drain_ns);
}

/* Power button: drain (if drain_delay is set), stop accepting, hang up on
 * idle connections, give the in-flight requests up to shutdown_ns to
 * finish (they close after their response: reusable() says no from now
 * on). */
static void http_shutdown(void *arg)
{
	(void)arg;
	if (cfg.drain_ns)
		drain();
	shutting_down = true;
	/* New connections are refused from here on (RST), rather than accepted
	 * and left unanswered when the machine powers off. */
	close_listener(&plain);
	close_listener(&secure);
	uint64_t deadline = clock_now() + cfg.shutdown_ns;
	for (;;) {
		for (struct list_node *n = sessions.next, *next; n != &sessions; n = next) {
			next = n->next;
			struct http_session *s = list_entry(n, struct http_session, all);
			if (s->parked && !s->ready) /* idle, no task, no request: close it here */
				close_parked(s);
			else if (!s->parked && s->state != HTTP_ACTIVE)
				stream_cancel_reads(s->st); /* a request already here is still served */
		}
		if (!open_count() || clock_now() >= deadline)
			break;
		sched_sleep(SHUTDOWN_POLL_NS);
	}
	log_info("http", "stopped: %u connection%s still open", open_count(), open_count() == 1 ? "" : "s");
}

/* The appliance asked for HTTPS, on a port of its own. */
static bool https_wanted(const struct http_config *c)
{
	if (!c->tls_accept || !c->tls_port)
		return false;
	if (c->tls_port == c->port) {
		log_err("http", "tls_port=%u is also the plain port: HTTPS off", c->tls_port);
		return false;
	}
	return true;
}

static int start_listener(struct http_listener *hl, uint16_t port)
{
	int err = conn_listen(port, 128, &hl->l);
	if (err < 0) {
		log_err("http", "cannot listen on port %u: %d", port, err);
		return err;
	}
	if (!task_spawn(hl->tls ? "https-accept" : "http-accept", accept_loop, hl, 0)) {
		close_listener(hl);
		return -ENOMEM;
	}
	return 0;
}

bool http_https_serving(void) { return secure.l != NULL; }

int http_serve(const struct http_config *c, struct http_handler h)
{
	cfg = *c;
	snprintf(hsts_value, sizeof hsts_value, "max-age=%lu", cfg.hsts_ns / NSEC_PER_SEC);
	secure = (struct http_listener){.tls = true, .root = h};
	plain = (struct http_listener){.root = h};
	if (!task_spawn("http-keeper", keeper, NULL, 0))
		return -ENOMEM;
	/* HTTPS failing to start leaves plain HTTP serving, and says so; the
	 * plain port redirects only to an HTTPS port that is there. */
	if (https_wanted(&cfg) && start_listener(&secure, cfg.tls_port) < 0)
		log_err("http", "HTTPS not started: plain HTTP only");
	if (secure.l && cfg.plain_root)
		plain.root = *cfg.plain_root;
	int err = start_listener(&plain, cfg.port);
	if (err < 0) {
		close_listener(&secure);
		return err;
	}
	shutdown_register("http server", http_shutdown, NULL);
	return 0;
}
