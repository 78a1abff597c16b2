/* Request bodies: Content-Length and chunked (RFC 9112 §6, §7.1), with
 * "100 Continue" sent on the first read (RFC 9110 §10.1.1), and a bounded
 * drain of whatever the handler left unread so the connection can carry
 * the next request. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/h1/internal.h"
#include "kernel/clock.h"
#include "net/stream.h"

#define DRAIN_MAX (256 * 1024)          /* more unread body than this: close instead */
#define DRAIN_NS (2 * NSEC_PER_SEC)

void http_body_start(struct http_conn *hc)
{
	hc->body_left = hc->msg.body == HTTP_BODY_LENGTH ? hc->msg.content_length : 0;
	hc->body_done = hc->msg.body == HTTP_BODY_NONE || (hc->msg.body == HTTP_BODY_LENGTH && !hc->body_left);
	hc->body_read = 0;
	hc->body_limit = hc->cfg->max_body;
	hc->body_err = 0;
	hc->continue_pending = hc->msg.expect_continue && !hc->body_done;
	memset(&hc->chunk, 0, sizeof hc->chunk);
	hc->dec_pos = hc->dec_end = hc->in_pos;
	hc->read_deadline = hc->rw.deadline; /* refined by the server */
}

void http_set_body_limit(struct http_req *r, uint64_t limit) { r->conn->body_limit = limit; }

static void rebase(struct http_slice *s, uintptr_t old, size_t n, char *new)
{
	uintptr_t p = (uintptr_t)s->p;
	if (p >= old && p < old + n)
		s->p = new + (p - old);
}

/* The input buffer moved: the parsed head's slices (and the path values
 * pointing into its path) must follow it. Addresses are compared as
 * integers: the old buffer is gone. */
static void rebase_head(struct http_conn *hc, uintptr_t old)
{
	size_t n = hc->head_len;
	struct http_request *m = &hc->msg;
	rebase(&m->method, old, n, hc->in);
	rebase(&m->target, old, n, hc->in);
	rebase(&m->path, old, n, hc->in);
	rebase(&m->query, old, n, hc->in);
	rebase(&m->host, old, n, hc->in);
	for (size_t i = 0; i < m->num_headers; i++) {
		rebase(&m->headers[i].name, old, n, hc->in);
		rebase(&m->headers[i].value, old, n, hc->in);
	}
	for (size_t i = 0; i < hc->match.nvalues; i++) {
		struct http_slice v = { hc->match.values[i].p, hc->match.values[i].n };
		rebase(&v, old, n, hc->in);
		hc->match.values[i].p = v.p;
	}
}

/* Keep the head intact (handlers hold slices into it) and append raw bytes
 * after the unread ones, growing the buffer if there is no room. */
ssize_t http_fill(struct http_conn *hc, uint64_t deadline)
{
	if (hc->in_pos == hc->in_len && hc->in_pos > hc->head_len)
		hc->in_pos = hc->in_len = hc->dec_pos = hc->dec_end = hc->head_len;
	if (hc->in_cap - hc->in_len < HTTP_BODY_ROOM) {
		size_t cap = hc->in_len + HTTP_BODY_ROOM;
		uintptr_t old = (uintptr_t)hc->in;
		char *in = realloc(hc->in, cap);
		if (!in)
			return -ENOMEM;
		hc->in = in;
		hc->in_cap = cap;
		if ((uintptr_t)in != old && hc->head_len)
			rebase_head(hc, old);
	}
	return stream_read(hc->st, hc->in + hc->in_len, hc->in_cap - hc->in_len, deadline);
}

static int send_continue(struct http_conn *hc)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	hc->continue_pending = false;
	if (stream_write(hc->st, cont, sizeof cont - 1, hc->read_deadline) < 0 ||
	    stream_flush(hc->st, hc->read_deadline) < 0)
		return -EPIPE;
	return 0;
}

static ssize_t read_length(struct http_conn *hc, char *buf, size_t len)
{
	size_t want = len < hc->body_left ? len : (size_t)hc->body_left;
	ssize_t n;
	if (hc->in_pos < hc->in_len) { /* pipelined with the head */
		n = (ssize_t)(hc->in_len - hc->in_pos < want ? hc->in_len - hc->in_pos : want);
		memcpy(buf, hc->in + hc->in_pos, (size_t)n);
		hc->in_pos += (size_t)n;
		hc->dec_pos = hc->dec_end = hc->in_pos;
	} else {
		n = stream_read(hc->st, buf, want, hc->read_deadline);
		if (n == 0)
			n = -ECONNRESET; /* EOF inside the body: the message is incomplete */
		if (n < 0)
			return n;
	}
	hc->body_left -= (uint64_t)n;
	hc->body_done = !hc->body_left;
	return n;
}

/* Decode raw bytes in place until some data or the end is available. */
static ssize_t decode_more(struct http_conn *hc)
{
	while (hc->dec_pos == hc->dec_end && !hc->body_done) {
		if (hc->in_pos == hc->in_len) {
			ssize_t r = http_fill(hc, hc->read_deadline);
			if (r == 0)
				r = -ECONNRESET;
			if (r < 0)
				return r;
			hc->in_len += (size_t)r;
		}
		size_t n = hc->in_len - hc->in_pos;
		ssize_t rest = http_chunked_decode(&hc->chunk, hc->in + hc->in_pos, &n);
		if (rest == HTTP_CHUNKED_ERROR)
			return -EBADMSG;
		hc->dec_pos = hc->in_pos;
		hc->dec_end = hc->in_pos + n;
		if (rest >= 0) { /* last chunk and trailers seen; what follows is the next request */
			hc->body_done = true;
			hc->in_len = hc->dec_end + (size_t)rest;
		} else {
			hc->in_len = hc->dec_end;
		}
		hc->in_pos = hc->dec_end;
	}
	return 0;
}

static ssize_t read_chunked(struct http_conn *hc, char *buf, size_t len)
{
	ssize_t err = decode_more(hc);
	if (err < 0)
		return err;
	size_t n = hc->dec_end - hc->dec_pos < len ? hc->dec_end - hc->dec_pos : len;
	memmove(buf, hc->in + hc->dec_pos, n);
	hc->dec_pos += n;
	return (ssize_t)n;
}

ssize_t http_read_body(struct http_req *r, void *buf, size_t len)
{
	struct http_conn *hc = r->conn;
	if (hc->body_err)
		return hc->body_err;
	if (hc->msg.body == HTTP_BODY_LENGTH && hc->msg.content_length > hc->body_limit)
		return hc->body_err = -EMSGSIZE; /* refuse before reading (and before 100) */
	if (hc->continue_pending && send_continue(hc) < 0)
		return hc->body_err = -EPIPE;
	if (!len)
		return 0;
	ssize_t n;
	if (hc->msg.body == HTTP_BODY_LENGTH)
		n = hc->body_done ? 0 : read_length(hc, buf, len);
	else if (hc->msg.body == HTTP_BODY_CHUNKED)
		n = hc->body_done && hc->dec_pos == hc->dec_end ? 0 : read_chunked(hc, buf, len);
	else
		n = 0;
	if (n > 0 && (hc->body_read += (uint64_t)n) > hc->body_limit)
		n = -EMSGSIZE;
	if (n < 0)
		hc->body_err = (int)n;
	return n;
}

bool http_body_drain(struct http_conn *hc)
{
	if (hc->body_err)
		return false;
	/* The client is waiting for our 100 before sending: it will send the
	 * body or close; RFC 9110 §10.1.1 lets us close instead of reading. */
	if (hc->continue_pending)
		return false;
	uint64_t start = hc->body_read;
	hc->read_deadline = clock_now() + DRAIN_NS;
	hc->body_limit = UINT64_MAX;
	char scratch[1024];
	while (!(hc->body_done && hc->dec_pos == hc->dec_end)) {
		if (hc->body_read - start > DRAIN_MAX)
			return false;
		struct http_req r = { .conn = hc };
		if (http_read_body(&r, scratch, sizeof scratch) <= 0)
			return hc->body_done && !hc->body_err;
	}
	return true;
}
