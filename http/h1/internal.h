/* Private to the HTTP server's files: the per-connection state shared by
 * the serve loop (server.c), the body reader (body.c) and the response
 * writer (response.c). */
#ifndef KEEL_HTTP_INTERNAL_H
#define KEEL_HTTP_INTERNAL_H

#include "http/core/chunked.h"
#include "http/core/fmt.h"
#include "http/server.h"
#include "kernel/list.h"

#define HTTP_MAX_HEADERS 64
#define HTTP_IN_INITIAL 4096   /* input buffer; grows up to the header limit */
#define HTTP_BODY_ROOM 4096    /* free space kept after the head for body reads */
#define HTTP_OUT_SIZE 8192     /* response buffer: a larger body goes out chunked */
#define HTTP_HDR_SIZE 1024     /* handler-set response headers */

/* A content coding of the response body (RFC 9110 §8.4.1), applied
 * between the handler and the wire: http/handler/gzip.c. A middleware offers one
 * by setting w->coder before it calls its handler; the writer asks it
 * once, when the head is about to be built. If it takes the response,
 * what the handler wrote so far and everything after goes through code()
 * into the writer's buffer, which then holds coded bytes; the framing is
 * the coded body's (Content-Length if it all fits at the end, else
 * chunked). */
enum http_code { HTTP_CODE_MORE, HTTP_CODE_PUSH, HTTP_CODE_END };

struct http_coder {
	/* Take this response? Status and headers are final; w->out holds the
	 * body so far, all of it if `final`. On true the coder has set its
	 * header fields and keeps its state in w->coder_state. */
	bool (*start)(struct http_rw *w, bool final);
	/* Code in[0, n) into out[0, cap): returns the bytes written, *used the
	 * input taken. The first call takes up to HTTP_OUT_SIZE bytes even
	 * with cap 0. HTTP_CODE_PUSH (all so far must reach the client:
	 * http_flush) and HTTP_CODE_END are done when a call with no input
	 * left returns less than cap. */
	size_t (*code)(struct http_rw *w, const char *in, size_t n, size_t *used, char *out, size_t cap,
		       enum http_code how);
	/* The response is over (sent, failed or abandoned): release the state. */
	void (*end)(struct http_rw *w);
};

struct http_rw {
	struct http_conn *hc;
	const struct http_coder *coder; /* offered by middleware, or NULL */
	void *coder_state;              /* the coder's (set with coder) */
	bool coding;                    /* it did: the buffer holds coded bytes */
	int status;
	bool header_sent;
	bool chunked;         /* Transfer-Encoding: chunked on the wire */
	bool head_only;       /* HEAD request: count body bytes, send none */
	bool failed;          /* a write failed or the deadline passed: stop */
	bool close;           /* the response itself ends the connection */
	bool timed_out;       /* the handler called in after its cutoff */
	bool discard;         /* a field did not fit hdrs: a 500 replaced the response,
			       * later writes and fields are refused */
	uint64_t written;     /* body bytes the handler wrote */
	int64_t length;       /* declared by http_set_content_length, or -1 */
	uint64_t cutoff;      /* end of the handler's time (0: none) */
	uint64_t deadline;    /* end of the write time: cutoff + write timeout */
	uint64_t names;       /* a bit per (first letter, length) of every name in hdrs
			       * (http_rw_start clears it): most lookups are for a
			       * field that is not there, and end at this bit */
	char hdrs[HTTP_HDR_SIZE];
	size_t hdrs_len;
	char *out;
	size_t out_len;
};

struct http_session;

/* A connection's working state while a task serves it; it lives on that
 * task's stack (server.c parks idle connections without one). */
struct http_conn {
	struct stream *st;
	struct http_session *s; /* what outlives the task: id, state (server.c) */
	uint32_t id;            /* the connection's number, for log lines */
	const struct http_config *cfg;
	/* input: [0, head_len) is the current request's head (msg points into
	 * it); raw unread bytes are [in_pos, in_len) */
	char *in;
	size_t in_cap, in_len, in_pos, head_len;
	struct http_request msg;
	/* request body */
	uint64_t body_left;     /* Content-Length bytes not yet read */
	uint64_t body_read, body_limit;
	bool body_done, continue_pending;
	int body_err;
	struct http_chunked chunk;
	size_t dec_pos, dec_end; /* decoded chunked data not yet handed out */
	uint64_t read_deadline;
	struct http_rw rw; /* its fields before rw.hdrs start zeroed too */
	/* Not zeroed when a task takes the connection (http_conn_init): the
	 * parser fills the headers it reports, and every request's match is
	 * reset before anything reads it (serve_one). Together with rw.hdrs
	 * these are most of the struct's bytes. */
	struct http_header headers[HTTP_MAX_HEADERS];
	struct mux_match match;
};

/* body.c */
void http_body_start(struct http_conn *hc);
/* Read and discard what the handler left unread, within bounds; false if
 * the connection cannot be reused (too much left, error, timeout). */
bool http_body_drain(struct http_conn *hc);
/* Make room in the input buffer and read more raw bytes: > 0, 0 at EOF,
 * < 0 error. */
ssize_t http_fill(struct http_conn *hc, uint64_t deadline);

/* response.c */
void http_rw_start(struct http_rw *w, struct http_conn *hc, uint64_t cutoff, uint64_t deadline);
/* The handler overran its cutoff: an error reply (503, or 408 for a body
 * that never came) replaces what it buffered (Go's TimeoutHandler), or,
 * if its header went out and a late write was refused, the response is
 * cut short. */
void http_rw_timeout(struct http_rw *w, int status, const char *msg);
/* Finish the response (header if not sent, remaining body, final chunk).
 * Returns false if the connection must close. */
bool http_rw_finish(struct http_rw *w);
/* Value of a header the handler set (not NUL-terminated), NULL if none.
 * With iter (0 at first), each line of that name in turn. */
const char *http_rw_header(const struct http_rw *w, const char *name, size_t *len, size_t *iter);
/* Write a complete response without a handler (400s from the parser). */
void http_rw_simple(struct http_conn *hc, int status, const char *msg, bool close);

/* date.c / status.c */
void http_date(struct http_buf *b); /* append the IMF-fixdate of now, formatted once a second */
size_t http_format_date(int64_t secs, char *out, size_t cap); /* 0 if cap is too small */
/* An IMF-fixdate (RFC 9110 §5.6.7) as seconds since the epoch into *secs
 * (negative before 1970): 0, or -EBADMSG if s[0, n) is not one. */
int http_parse_date(const char *s, size_t n, int64_t *secs);
const char *http_reason(int status);

/* server.c */
void http_count_status(int status, uint64_t latency_ns);

#endif
