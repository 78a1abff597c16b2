/* The HTTP/1.1 server: the net/http analogue. One task per connection runs
 * the keep-alive serve loop (read head -> parse -> route -> handler ->
 * finish response -> next request or close); a handler sees a request and
 * a response writer and never knows the transport.
 *
 * Handlers run in the connection's task and may block (read the body,
 * write, sleep); they must not spin: the scheduler is cooperative. */
#ifndef KEEL_HTTP_SERVER_H
#define KEEL_HTTP_SERVER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "http/core/parse.h"
#include "http/handler/mux.h"

struct http_rw;  /* response writer */
struct stream;
struct http_req; /* request as handlers see it */

typedef void (*http_handler_fn)(struct http_rw *w, struct http_req *r, void *arg);

/* A handler and its argument; middleware wraps one in another. */
struct http_handler {
	http_handler_fn fn;
	void *arg;
};

struct http_req {
	const struct http_request *msg; /* parsed head: method, path, query, headers */
	const struct mux_match *match;  /* path values of the matched pattern */
	uint32_t peer_ip;               /* host byte order */
	uint16_t peer_port;
	uint64_t id;                    /* per-server request number (X-Request-Id) */
	uint64_t start_ns;
	/* NULL over plain TCP; over TLS what the access log shows of it:
	 * "TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256 http/1.1 new|resumed" */
	const char *tls;
	struct http_conn *conn;         /* private: the body reader lives here */
};

/* ---- request ---- */

/* Read the request body (Content-Length or chunked, decoded): > 0 bytes,
 * 0 at its end, < 0 error: -EMSGSIZE beyond the route's body limit (answer
 * 413), -EBADMSG malformed chunked framing (400), -ETIMEDOUT, or a
 * connection error. The first read sends "100 Continue" if the client
 * asked for it (RFC 9110 §10.1.1). */
ssize_t http_read_body(struct http_req *r, void *buf, size_t len);
/* Bytes a handler may read from this request's body (default: the
 * server's max_body; a route may lower it). */
void http_set_body_limit(struct http_req *r, uint64_t limit);
/* Value of a path wildcard, NULL if the pattern has none by that name. */
const char *http_path_value(const struct http_req *r, const char *name, size_t *len);
/* First value of a request header (case-insensitive name), or NULL. */
const char *http_get_header(const struct http_req *r, const char *name, size_t *len);

/* ---- response writer ---- */

/* Set (replace) or add a response header. Names and values are copied.
 * -EINVAL once the header has been sent, for a name that is not a token,
 * a value with a control byte (CR, LF, NUL...) or a field the server owns
 * (Content-Length, Transfer-Encoding, Connection, Date). -ENOSPC when the
 * handler's fields outgrow their 1 KiB: the response then becomes a 500
 * (logged), so a field is never silently missing. */
int http_set_header(struct http_rw *w, const char *name, const char *value);
int http_add_header(struct http_rw *w, const char *name, const char *value);
/* Declare the body length up front (large bodies then go out without
 * chunking). Writing more is an error; fewer closes the connection. */
int http_set_content_length(struct http_rw *w, uint64_t n);
/* Send the status line and headers (implicitly 200 on the first write). */
void http_write_header(struct http_rw *w, int status);
/* Buffered body output: the whole response goes out in one write with a
 * Content-Length when it fits the buffer; otherwise it is chunked. Returns
 * n, or < 0 once the connection failed or the handler's time is up. */
ssize_t http_write(struct http_rw *w, const void *p, size_t n);
/* http_write for bytes that stay unchanged in place for as long as the
 * machine runs (the image's files, the boot bundle, .rodata): a write that
 * bypasses the buffer (larger than it, nothing buffered, no content coder
 * taking the response) goes to the connection by reference, with no copy
 * into the buffer or the TCP send buffer; any other is http_write's. */
ssize_t http_write_static(struct http_rw *w, const void *p, size_t n);
/* Formatted body output, never truncated: returns the bytes written, or
 * < 0 (http_write's error, -ENOMEM if output over 255 bytes found no
 * heap). Not for JSON strings: those go through json_write_string
 * (app/json.h), which escapes them. */
int http_printf(struct http_rw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Move the end of this handler's time (handler_timeout after the request
 * began) to `cutoff`, a clock_now() time, 0 for none; the write timeout
 * then runs from there. For long-lived responses such as event streams
 * (Go: ResponseController.SetWriteDeadline). Past the cutoff the handler's
 * sleeps and reads end with -ETIMEDOUT and its writes are refused. */
void http_set_deadline(struct http_rw *w, uint64_t cutoff);
/* Push everything buffered to the client now (streaming, SSE). */
int http_flush(struct http_rw *w);
/* A complete error reply: status, text/plain body `msg` (never request
 * bytes), unless the header was already sent. */
void http_error(struct http_rw *w, int status, const char *msg);
/* Give up on the response: nothing more is sent and the connection
 * closes (the client sees a truncated body). */
void http_abort(struct http_rw *w);
bool http_header_sent(const struct http_rw *w);
int http_status(const struct http_rw *w);
uint64_t http_bytes_written(const struct http_rw *w);

/* ---- server ---- */

enum http_conn_state { HTTP_NEW, HTTP_ACTIVE, HTTP_IDLE, HTTP_CLOSED, HTTP_NSTATES };

struct http_config {
	uint16_t port;
	uint32_t max_conns;          /* beyond it: 503 and close */
	uint64_t read_header_ns;     /* first byte of a request to its blank line */
	uint64_t read_ns;            /* whole request, body included */
	uint64_t write_ns;           /* whole response */
	uint64_t idle_ns;            /* keep-alive wait for the next request */
	uint64_t handler_ns;         /* handler run time before 503 */
	uint64_t shutdown_ns;        /* in-flight requests' grace at power-off */
	uint64_t drain_ns;           /* power-off: serve on, health check failing, first */
	size_t max_header_bytes;     /* -> 431 */
	size_t max_uri;              /* -> 414 */
	uint64_t max_body;           /* default per-route body limit -> 413 */
	uint16_t tls_port;           /* HTTPS, when tls_accept is set; 0: none */
	int redirect_http;           /* the plain port answers 301 to https:// */
	uint64_t hsts_ns;            /* Strict-Transport-Security max-age over HTTPS; 0: none */
	/* Wrap a new TCP stream accepted on tls_port in a TLS server stream
	 * (tls/tls.h's tls_accept), NULL to refuse it. The appliance sets it
	 * when HTTPS can start. */
	struct stream *(*tls_accept)(struct stream *tcp);
	/* The plain port's handler when it differs from the HTTPS one
	 * (redirect_http: middleware around http_https_redirect); NULL: the
	 * same root serves both. */
	const struct http_handler *plain_root;
	void (*conn_state_hook)(uint32_t conn_id, enum http_conn_state from, enum http_conn_state to);
};

/* The configuration the command line asked for (port=, the timeouts and
 * limits; defaults where it said nothing): see the table in h1/server.c. */
void http_config_from_cmdline(struct http_config *c);
/* Start serving: every request goes to `root` (usually middleware around
 * http_mux_handler). Registers the graceful-shutdown hook. */
int http_serve(const struct http_config *c, struct http_handler root);
/* http_serve started the HTTPS listener. */
bool http_https_serving(void);
/* The power button was pressed: the server is draining (drain_delay) or
 * stopping. A health check should fail now; every response carries
 * Connection: close. */
bool http_draining(void);
/* The plain port's handler under redirect_http=on: the same path and
 * query on https://host[:port] (arg: the HTTPS port as a uintptr_t), 301
 * for GET and HEAD, 308 for other methods (which must not turn into a
 * GET); 400 without a Host, 414 if the URL would not fit a header. */
void http_https_redirect(struct http_rw *w, struct http_req *r, void *arg);
/* A handler routing through mux, whose registered handlers are struct
 * http_handler pointers; answers 301/404/405/414 itself. */
struct http_handler http_mux_handler(struct mux *mux);

struct http_stats {
	uint32_t conns[HTTP_NSTATES]; /* current count per state (CLOSED: total) */
	uint64_t requests, refused_conns, bad_requests, handler_timeouts;
	uint64_t by_status[6];        /* 1xx..5xx; [0] unused */
	uint64_t latency_le[12];      /* cumulative histogram, bounds in http_latency_bounds_us */
	uint64_t latency_sum_us, latency_count;
	uint64_t cached_bytes;        /* spare buffers kept for the next connection turn */
};
extern const uint32_t http_latency_bounds_us[12];
void http_get_stats(struct http_stats *s);

#endif
