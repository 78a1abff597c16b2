/* The response writer (model: net/http's response + chunkWriter). Body
 * bytes collect in an 8 KiB buffer; the header goes out with the first
 * flush, which decides the framing:
 *   - the handler finished and everything is buffered: Content-Length
 *   - HTTP/1.1 and more to come: Transfer-Encoding: chunked
 *   - HTTP/1.0 and more to come: close-delimited (RFC 9112 §6.3 rule 8)
 * HEAD, 1xx, 204 and 304 carry no body (RFC 9110 §6.4.1). A content coder
 * offered by middleware (http/handler/gzip.c) may take the response at the first
 * flush; from then on the buffer holds coded bytes, and the length in the
 * head is the coded one. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/core/ctype.h"
#include "http/core/fmt.h"
#include "http/h1/internal.h"
#include "kernel/clock.h"
#include "kernel/log.h"
#include "kernel/sched.h"
#include "net/stream.h"

static bool no_body_status(int status) { return status < 200 || status == 204 || status == 304; }

void http_rw_start(struct http_rw *w, struct http_conn *hc, uint64_t cutoff, uint64_t deadline)
{
	char *out = w->out;
	memset(w, 0, offsetof(struct http_rw, hdrs));
	w->hdrs_len = 0;
	w->out = out;
	w->out_len = 0;
	w->hc = hc;
	w->cutoff = cutoff;
	w->deadline = deadline;
	w->length = -1;
	w->head_only = hc->msg.method.n == 4 && !memcmp(hc->msg.method.p, "HEAD", 4);
}

/* A field name is a token; a value is field-vchars, SP and HTAB (RFC 9110
 * §5.1, §5.5): no CR, LF or other control byte can split or end the head,
 * and no "Transfer-Encoding\t" can get past server_owned(). Their
 * lengths, or -1 if they are not (an empty name). */
static long name_len(const char *s)
{
	const char *p = s;
	while (http_is_tchar((unsigned char)*p))
		p++;
	return *p || p == s ? -1 : (long)(p - s);
}

static long value_len(const char *s)
{
	size_t n = strlen(s);
	return http_field_chars(s, n) ? (long)n : -1;
}

/* Headers the server owns: a handler cannot set them (framing is decided
 * here, and a smuggled Transfer-Encoding must be impossible). */
static bool server_owned(const char *name, size_t n)
{
	switch (n) { /* by length first: this runs for every field a handler sets */
	case 4: return http_eq_word(name, n, "Date");
	case 10: return http_eq_word(name, n, "Connection");
	case 14: return http_eq_word(name, n, "Content-Length");
	case 17: return http_eq_word(name, n, "Transfer-Encoding");
	default: return false;
	}
}

static uint64_t name_bit(const char *name, size_t n)
{
	return 1ull << ((http_lower((unsigned char)name[0]) + n) & 63);
}

/* Offset of the first line for `name` at or after `from` in the handler's
 * headers, its length in *line; -1 if there is none. */
static long find_header(const struct http_rw *w, const char *name, size_t from, size_t *line)
{
	size_t nlen = strlen(name);
	if (!nlen || !(w->names & name_bit(name, nlen)))
		return -1;
	for (size_t i = from; i < w->hdrs_len; i += *line) {
		const char *eol = memchr(w->hdrs + i, '\n', w->hdrs_len - i);
		*line = (size_t)(eol - (w->hdrs + i)) + 1;
		if (*line > nlen && w->hdrs[i + nlen] == ':' && http_eq_nocase(w->hdrs + i, name, nlen))
			return (long)i;
	}
	return -1;
}

static void remove_header(struct http_rw *w, const char *name)
{
	size_t line;
	for (long i; (i = find_header(w, name, 0, &line)) >= 0;) {
		memmove(w->hdrs + i, w->hdrs + i + line, w->hdrs_len - (size_t)i - line);
		w->hdrs_len -= line;
	}
}

/* A field did not fit (http_add_header): rather than a response without
 * it, the client gets a 500 and the connection closes. It takes effect at
 * once, so the status the access log reads is the one sent, and whatever
 * the handler writes or sets after this is refused (w->discard). A coder
 * that has not started never starts; one starting (its own fields did not
 * fit) is ended by start_coding(). */
static void header_overflow(struct http_rw *w)
{
	static const char msg[] = "response header section too large\n",
			  fields[] = "Content-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n";
	_Static_assert(sizeof fields <= HTTP_HDR_SIZE, "the 500's fields fit");
	memcpy(w->hdrs, fields, sizeof fields - 1);
	w->hdrs_len = sizeof fields - 1;
	w->names = ~0ull;
	w->status = 500;
	w->length = w->written = sizeof msg - 1;
	w->close = w->discard = true;
	memcpy(w->out, msg, sizeof msg - 1);
	w->out_len = sizeof msg - 1;
}

/* A field the handler may set now: the lengths of its name and value,
 * or false. */
static bool settable(const struct http_rw *w, const char *name, const char *value, size_t *nlen, size_t *vlen)
{
	long n, v;
	if (w->header_sent || w->discard || (n = name_len(name)) < 0 || (v = value_len(value)) < 0 ||
	    server_owned(name, (size_t)n))
		return false;
	*nlen = (size_t)n;
	*vlen = (size_t)v;
	return true;
}

/* Append "name: value\r\n". A byte of the space stays free, as it always
 * has (the limit handlers see is HTTP_HDR_SIZE - 1). */
static int add_line(struct http_rw *w, const char *name, size_t nlen, const char *value, size_t vlen)
{
	struct http_buf b = http_buf_init(w->hdrs + w->hdrs_len, sizeof w->hdrs - 1 - w->hdrs_len);
	http_buf_put(&b, name, nlen);
	http_buf_put(&b, ": ", 2);
	http_buf_put(&b, value, vlen);
	http_buf_put(&b, "\r\n", 2);
	if (b.over) {
		/* The response would go out without a field its handler set:
		 * it becomes a 500 now, whether or not the handler looks at
		 * this result. */
		log_warn("http", "conn %u: response header %s does not fit the %d B for handler fields: 500",
			 w->hc->id, name, HTTP_HDR_SIZE);
		header_overflow(w);
		return -ENOSPC;
	}
	w->hdrs_len += b.len;
	w->names |= name_bit(name, nlen);
	return 0;
}

int http_add_header(struct http_rw *w, const char *name, const char *value)
{
	size_t nlen, vlen;
	if (!settable(w, name, value, &nlen, &vlen))
		return -EINVAL;
	return add_line(w, name, nlen, value, vlen);
}

int http_set_header(struct http_rw *w, const char *name, const char *value)
{
	size_t nlen, vlen;
	if (!settable(w, name, value, &nlen, &vlen))
		return -EINVAL; /* and the field keeps its value */
	remove_header(w, name);
	return add_line(w, name, nlen, value, vlen);
}

static bool has_header(const struct http_rw *w, const char *name)
{
	size_t line;
	return find_header(w, name, 0, &line) >= 0;
}

const char *http_rw_header(const struct http_rw *w, const char *name, size_t *len, size_t *iter)
{
	size_t line, skip = strlen(name) + 2; /* "Name: " */
	long i = find_header(w, name, iter ? *iter : 0, &line);
	if (i < 0)
		return NULL;
	if (iter)
		*iter = (size_t)i + line;
	*len = line - skip - 2; /* and "\r\n" */
	return w->hdrs + i + skip;
}

void http_write_header(struct http_rw *w, int status)
{
	if (!w->header_sent && !w->status && status >= 100 && status <= 999)
		w->status = status;
}

/* Content-Type when the handler set none (a small WHATWG-sniff subset). */
static const char *sniff(const char *p, size_t n)
{
	while (n && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++, n--;
	if (n && *p == '<')
		return "text/html; charset=utf-8";
	if (n && (*p == '{' || *p == '['))
		return "application/json";
	for (size_t i = 0; i < n && i < 512; i++)
		if ((unsigned char)p[i] < 0x20 && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
			return "application/octet-stream";
	return "text/plain; charset=utf-8";
}

/* Status line and headers. `final`: the handler is done and every body
 * byte is in the buffer, so the length is known. A declared length is the
 * handler's; a coded body's is known only once it is all coded. body[0, n)
 * is what goes out first, for sniffing a Content-Type the handler did not
 * set. cap holds the handler's fields (HTTP_HDR_SIZE - 1 at most) and the
 * lines added here (under 300 bytes), so nothing is ever cut. */
static size_t build_head(struct http_rw *w, char *h, size_t cap, bool final, const char *body, size_t n)
{
	struct http_conn *hc = w->hc;
	if (!w->status)
		w->status = 200;
	bool bodyless = no_body_status(w->status), declared = w->length >= 0 && !w->coding;
	if (!final && !bodyless && !w->head_only && !declared) {
		if (hc->msg.minor >= 1)
			w->chunked = true;
		else
			w->close = true;
	}
	if (!hc->msg.keep_alive || http_draining())
		w->close = true;
	struct http_buf b = http_buf_init(h, cap);
	http_buf_str(&b, "HTTP/1.1 ");
	http_buf_dec(&b, (uint64_t)w->status, 3);
	http_buf_put(&b, " ", 1);
	http_buf_str(&b, http_reason(w->status));
	http_buf_str(&b, "\r\nDate: ");
	http_date(&b);
	http_buf_put(&b, "\r\n", 2);
	if (n && !bodyless && !has_header(w, "Content-Type")) {
		http_buf_str(&b, "Content-Type: ");
		http_buf_str(&b, sniff(body, n));
		http_buf_put(&b, "\r\n", 2);
	}
	http_buf_put(&b, w->hdrs, w->hdrs_len);
	if (w->chunked) {
		http_buf_str(&b, "Transfer-Encoding: chunked\r\n");
	} else if (!bodyless && (final || declared)) {
		http_buf_str(&b, "Content-Length: ");
		http_buf_dec(&b, declared ? (uint64_t)w->length : w->coding ? w->out_len : w->written, 0);
		http_buf_put(&b, "\r\n", 2);
	}
	if (w->close)
		http_buf_str(&b, "Connection: close\r\n");
	else if (hc->msg.minor == 0)
		http_buf_str(&b, "Connection: keep-alive\r\n");
	http_buf_put(&b, "\r\n", 2);
	return b.len;
}

/* fixed: p[0, n) is http_write_static's (sent by reference). */
static int rw_send(struct http_rw *w, const void *p, size_t n, bool fixed)
{
	if (w->failed)
		return -EPIPE;
	if (w->deadline && clock_now() > w->deadline) {
		w->failed = true;
		return -ETIMEDOUT;
	}
	if ((fixed ? stream_write_static : stream_write)(w->hc->st, p, n, w->deadline) < 0) {
		w->failed = true;
		return -EPIPE;
	}
	return 0;
}

/* Put the head (if unsent) and body bytes p[0, n) on the wire, framed
 * as a chunk if the response is chunked; fixed as rw_send's. */
static int send_body(struct http_rw *w, const char *p, size_t n, bool final, bool fixed)
{
	char head[HTTP_HDR_SIZE + 512];
	size_t hn = 0;
	if (!w->header_sent) {
		hn = build_head(w, head, sizeof head, final, p, n);
		w->header_sent = true;
	}
	bool body = n && !w->head_only && !no_body_status(w->status);
	if (body && w->chunked) {
		struct http_buf b = http_buf_init(head + hn, sizeof head - hn);
		http_buf_hex(&b, n);
		http_buf_put(&b, "\r\n", 2);
		hn += b.len;
	}
	if (!body)
		return hn ? rw_send(w, head, hn, false) : 0;
	/* Head and body in one write: small responses leave in one segment. */
	if (hn + n + 2 <= sizeof head) {
		memcpy(head + hn, p, n);
		hn += n;
		if (w->chunked)
			memcpy(head + hn, "\r\n", 2), hn += 2;
		return rw_send(w, head, hn, false);
	}
	int err = hn ? rw_send(w, head, hn, false) : 0;
	if (!err)
		err = rw_send(w, p, n, fixed);
	if (!err && w->chunked)
		err = rw_send(w, "\r\n", 2, false);
	return err;
}

/* Put the head (if unsent) and the buffered body on the wire. */
static int send_buffer(struct http_rw *w, bool final)
{
	int err = send_body(w, w->out, w->out_len, final, false);
	w->out_len = 0;
	return err;
}

/* Ask the offered coder; it takes the response or is dropped. What the
 * handler wrote so far moves into it (its first call takes a whole
 * buffer with no output room), so the buffer can take coded bytes. */
static void start_coding(struct http_rw *w, bool final)
{
	size_t used;
	bool took = w->coder->start(w, final);
	if (took && w->discard) /* its fields did not fit: the 500 goes out uncoded */
		w->coder->end(w);
	if (!took || w->discard) {
		w->coder = NULL;
		return;
	}
	w->coding = true;
	w->coder->code(w, w->out, w->out_len, &used, NULL, 0, HTTP_CODE_MORE);
	w->out_len = 0;
}

/* Code p[0, n) into the buffer, sending the buffer whenever it fills. */
static int code_body(struct http_rw *w, const char *p, size_t n, enum http_code how)
{
	for (;;) {
		size_t used, room = HTTP_OUT_SIZE - w->out_len;
		size_t k = w->coder->code(w, p, n, &used, w->out + w->out_len, room, how);
		w->out_len += k;
		p += used;
		n -= used;
		if (!n && (how == HTTP_CODE_MORE || k < room))
			return 0;
		if (w->out_len == HTTP_OUT_SIZE && send_buffer(w, false) < 0)
			return -EPIPE;
	}
}

/* The buffer is full (MORE), the handler flushes (PUSH) or is done (END):
 * the head, if unsent, then the body so far go out. */
static int flush(struct http_rw *w, enum http_code how)
{
	bool final = how == HTTP_CODE_END && !w->header_sent;
	if (w->coder && !w->coding && !w->discard)
		start_coding(w, final);
	if (w->coding && how != HTTP_CODE_MORE && code_body(w, NULL, 0, how) < 0)
		return -EPIPE;
	return send_buffer(w, final);
}

int http_set_content_length(struct http_rw *w, uint64_t n)
{
	if (w->header_sent || n > INT64_MAX || n < w->written)
		return -EINVAL; /* bytes beyond a shorter length would read as the next response */
	w->length = (int64_t)n;
	return 0;
}

/* A handler call after the handler's cutoff: refused (late writes must
 * not reach a client that is, or will be, told 503). */
static bool late(struct http_rw *w)
{
	if (w->cutoff && clock_now() > w->cutoff)
		w->timed_out = true;
	return w->timed_out;
}

void http_set_deadline(struct http_rw *w, uint64_t cutoff)
{
	w->cutoff = cutoff;
	w->deadline = cutoff ? cutoff + w->hc->cfg->write_ns : 0;
	sched_set_cutoff(cutoff);
}

/* http_write and http_write_static (fixed). */
static ssize_t write_body(struct http_rw *w, const void *p, size_t n, bool fixed)
{
	if (w->failed || w->discard)
		return -EPIPE;
	if (late(w))
		return -ETIMEDOUT;
	if (w->length >= 0 && w->written + n > (uint64_t)w->length)
		return -EMSGSIZE; /* more than declared: the framing would break */
	if (!w->status)
		w->status = 200;
	/* More than the buffer holds, with nothing buffered, goes to the
	 * stream as it is (as Go's bufio.Writer does): one copy fewer. An
	 * offered coder is asked first, as the buffer's first flush would ask
	 * it, and the framing is what that flush would have chosen. */
	if (n > HTTP_OUT_SIZE && !w->out_len && !w->head_only && !no_body_status(w->status)) {
		if (w->coder && !w->coding)
			start_coding(w, false); /* it takes the response, or is dropped */
		if (w->discard) /* the coder's fields overflowed: a 500 replaced the response */
			return -EPIPE;
		if (!w->coder) {
			if (send_body(w, p, n, false, fixed) < 0)
				return w->failed && w->deadline && clock_now() > w->deadline ? -ETIMEDOUT : -EPIPE;
			w->written += n;
			return (ssize_t)n;
		}
	}
	const char *src = p;
	for (size_t left = n; left;) {
		if ((w->out_len == HTTP_OUT_SIZE && flush(w, HTTP_CODE_MORE) < 0) ||
		    (w->coding && code_body(w, src, left, HTTP_CODE_MORE) < 0))
			return w->failed && w->deadline && clock_now() > w->deadline ? -ETIMEDOUT : -EPIPE;
		if (w->discard) /* the coder's fields overflowed in that flush */
			return -EPIPE;
		if (w->coding)
			break;
		size_t k = HTTP_OUT_SIZE - w->out_len < left ? HTTP_OUT_SIZE - w->out_len : left;
		memcpy(w->out + w->out_len, src, k);
		w->out_len += k;
		src += k;
		left -= k;
	}
	w->written += n;
	return (ssize_t)n;
}

ssize_t http_write(struct http_rw *w, const void *p, size_t n) { return write_body(w, p, n, false); }

ssize_t http_write_static(struct http_rw *w, const void *p, size_t n) { return write_body(w, p, n, true); }

/* Output of up to PRINTF_STACK - 1 bytes (every line the appliance prints
 * today) is formatted on the stack; longer output is formatted a second
 * time into a heap buffer of exactly its size, so it goes out whole.
 * Streaming through a custom FILE would avoid that, but the means is
 * libc-specific (picolibc's FDEV_SETUP_STREAM, glibc's fopencookie) and
 * this file is also built against glibc by the host tests. */
#define PRINTF_STACK 256

int http_printf(struct http_rw *w, const char *fmt, ...)
{
	char buf[PRINTF_STACK], *p = buf;
	va_list ap, again;
	va_start(ap, fmt);
	va_copy(again, ap);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	ssize_t r = n < 0 ? -EINVAL : 0;
	if (!r && (size_t)n >= sizeof buf) {
		p = malloc((size_t)n + 1);
		r = !p ? -ENOMEM : vsnprintf(p, (size_t)n + 1, fmt, again) != n ? -EINVAL : 0;
	}
	va_end(again);
	va_end(ap);
	if (!r)
		r = http_write(w, p, (size_t)n);
	if (p != buf)
		free(p);
	return r < 0 ? (int)r : n;
}

/* What the stream buffers (a TLS record being filled) goes out too. */
static int push(struct http_rw *w)
{
	if (!w->failed && stream_flush(w->hc->st, w->deadline) < 0)
		w->failed = true;
	return w->failed ? -EPIPE : 0;
}

int http_flush(struct http_rw *w)
{
	if (late(w))
		return -ETIMEDOUT;
	int r = flush(w, HTTP_CODE_PUSH);
	return r < 0 ? r : push(w);
}

void http_error(struct http_rw *w, int status, const char *msg)
{
	if (w->header_sent || late(w) || w->discard)
		return;
	w->out_len = 0;
	w->written = 0;
	w->length = -1;
	w->status = status;
	http_set_header(w, "Content-Type", "text/plain; charset=utf-8");
	http_set_header(w, "X-Content-Type-Options", "nosniff");
	http_write(w, msg, strlen(msg));
	http_write(w, "\n", 1);
}

void http_abort(struct http_rw *w)
{
	w->failed = true;
	w->close = true;
}

void http_rw_timeout(struct http_rw *w, int status, const char *msg)
{
	w->cutoff = 0;
	w->close = true;
	if (w->header_sent) {
		w->failed = w->timed_out;
		return;
	}
	w->timed_out = false;
	http_error(w, status, msg);
}

bool http_header_sent(const struct http_rw *w) { return w->header_sent; }
int http_status(const struct http_rw *w) { return w->status ? w->status : 200; }
uint64_t http_bytes_written(const struct http_rw *w) { return w->written; }

bool http_rw_finish(struct http_rw *w)
{
	if (w->length >= 0 && w->written != (uint64_t)w->length && !w->head_only &&
	    !no_body_status(w->status ? w->status : 200))
		w->close = true; /* short body: the client sees the connection end */
	if (!w->failed) {
		flush(w, HTTP_CODE_END);
		if (w->chunked && !w->failed)
			rw_send(w, "0\r\n\r\n", 5, false); /* last-chunk, no trailers */
		push(w);
	}
	if (w->coding)
		w->coder->end(w);
	return !w->failed && !w->close;
}

void http_rw_simple(struct http_conn *hc, int status, const char *msg, bool close)
{
	struct http_rw *w = &hc->rw;
	http_rw_start(w, hc, 0, clock_now() + hc->cfg->write_ns);
	if (close)
		w->close = true;
	http_error(w, status, msg);
	http_rw_finish(w);
}
