/* A TLS server connection as a stream (net/stream.h) over a TCP stream.
 * The engine pump is BearSSL's ssl_io.c run_until() made cooperative:
 * the lower stream parks the task instead of blocking, and every wait
 * has the caller's deadline (and, until the handshake completes, the
 * handshake's).
 *
 * Memory: the engine state (br_ssl_server_context, 4 KiB) lives as long
 * as the connection; the record buffers (16.3 KiB in, 8.3 KiB out) only
 * while it is busy. An idle keep-alive connection gives them back when
 * it parks (see release()), so it costs the context and no buffer. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/clock.h"
#include "kernel/ipv4.h"
#include "kernel/list.h"
#include "kernel/log.h"
#include "kernel/random.h"
#include "kernel/wipe.h"
#include "net/stream.h"
#include "tls/internal.h"

/* Incoming records up to the protocol's 16 KiB: a client may send one
 * that large and we cannot make it send less (few clients offer the
 * max_fragment_length extension). Outgoing records of 8 KiB: half the
 * memory, and a record no larger than a few TCP segments is decrypted by
 * the client sooner. */
#define IBUF_LEN BR_SSL_BUFSIZE_INPUT
#define OBUF_LEN (8192 + 85) /* + BearSSL's MAX_OUT_OVERHEAD (ssl_engine.c) */
#define BUF_LEN (IBUF_LEN + OBUF_LEN)
#define SPARE_BUFS 8         /* released buffers kept for the next busy connection */
#define CLOSE_NS (NSEC_PER_SEC / 2) /* to put our close_notify on the wire */
/* At tls_max_handshakes, a handshake older than this makes room for a new
 * connection; a younger one is still likely a real client's. */
#define EVICT_AGE_NS NSEC_PER_SEC
#define ENGINE_IO_INOUT 3    /* BearSSL's private BR_IO_INOUT (src/inner.h): both ways open */

/* release() reads these private fields of BearSSL 0.6's engine: a new
 * version that moves them stops the build here. */
_Static_assert(offsetof(br_ssl_engine_context, ibuf) == 8 && offsetof(br_ssl_engine_context, obuf) == 16 &&
		   offsetof(br_ssl_engine_context, ixa) == 48 && offsetof(br_ssl_engine_context, ixc) == 64 &&
		   offsetof(br_ssl_engine_context, oxa) == 72 && offsetof(br_ssl_engine_context, oxc) == 88 &&
		   offsetof(br_ssl_engine_context, iomode) == 96,
	       "BearSSL's engine layout changed: review release()");

struct tls_conn {
	struct stream st; /* first: the stream the HTTP server sees */
	struct tls_chooser chooser;
	br_ssl_server_context sc;
	struct stream *lower;
	unsigned char *buf;     /* record buffers; NULL while parked idle */
	uint64_t hs_start;      /* accepted at */
	struct list_node hs_link; /* in `handshakes` while it may be evicted */
	bool handshaking;       /* counted in stats.handshaking */
	bool established;       /* the handshake completed */
	bool evicted;           /* its reads were cancelled to make room */
	bool quiet;             /* closed by another task: no close_notify */
	int err;                /* sticky: 0 while healthy */
	char info[STREAM_INFO_MAX + 1]; /* for the access log */
};

const char *const tls_fail_names[TLS_NFAIL] = {"timeout", "closed", "version", "cipher", "alert",
					      "protocol", "evicted", "busy", "memory"};

static struct tls_stats stats;
static struct list_node handshakes = LIST_INIT(handshakes); /* oldest first */
static uint32_t evictable;                                  /* on that list */
static unsigned char *spare[SPARE_BUFS];
static unsigned nspare;
static const struct stream_ops tls_ops;

static struct tls_conn *of(const struct stream *s) { return (struct tls_conn *)s; }

void tls_get_stats(struct tls_stats *out)
{
	*out = stats;
	out->conn_bytes = sizeof(struct tls_conn);
	out->buffer_bytes = BUF_LEN;
	out->cached_bytes = nspare * BUF_LEN;
}

/* ---- record buffers ---- */

static unsigned char *buf_get(void) { return nspare ? spare[--nspare] : malloc(BUF_LEN); }

static void buf_put(unsigned char *b)
{
	if (nspare < SPARE_BUFS)
		spare[nspare++] = b;
	else
		free(b);
}

/* Give the buffers back while the engine holds nothing in them: no
 * partial incoming record, no outgoing bytes, handshake over. BearSSL has
 * no call for this (br_ssl_engine_set_buffer resets the session), so it
 * reads the engine's record indices: [ixa, ixb) unread plaintext and ixc
 * header bytes still due (0, 0, 5: waiting for a new record's header),
 * [oxa, oxc) output gathered or to send (equal: nothing). Between
 * records nothing else refers into the buffers: the handshake pointers
 * (hbuf_in/out) are recomputed before use (ssl_engine.c jump_handshake,
 * br_ssl_engine_flush_record). The BearSSL version is pinned
 * (tools/deps.lock), so these fields cannot move under us. */
static bool release(struct tls_conn *t)
{
	const br_ssl_engine_context *e = &t->sc.eng;
	if (!t->buf)
		return true;
	if (!t->established || e->iomode != ENGINE_IO_INOUT || e->ixa || e->ixb || e->ixc != 5 || e->oxa != e->oxc)
		return false;
	buf_put(t->buf);
	t->buf = NULL;
	stats.idle_released++;
	return true;
}

static int attach(struct tls_conn *t)
{
	if (t->buf)
		return 0;
	unsigned char *b = buf_get();
	if (!b)
		return -ENOMEM;
	/* Same buffers' positions: the indices already describe empty ones. */
	br_ssl_engine_context *e = &t->sc.eng;
	e->ibuf = b;
	e->obuf = b + IBUF_LEN;
	t->buf = b;
	stats.idle_released--;
	return 0;
}

/* ---- ends of a connection ---- */

/* BearSSL's error for a failed handshake, as a reason. A refusal the
 * server decides on is an alert it sent (ssl_hs_server.t0's fail-alert):
 * its code says why (RFC 5246 §7.2.2). */
static enum tls_fail fail_reason(int e)
{
	if (e >= BR_ERR_SEND_FATAL_ALERT) {
		switch (e - BR_ERR_SEND_FATAL_ALERT) {
		case BR_ALERT_PROTOCOL_VERSION:
			return TLS_FAIL_VERSION;
		case BR_ALERT_HANDSHAKE_FAILURE:
		case BR_ALERT_INSUFFICIENT_SECURITY:
			return TLS_FAIL_CIPHER;
		default:
			return TLS_FAIL_PROTOCOL;
		}
	}
	if (e >= BR_ERR_RECV_FATAL_ALERT)
		return TLS_FAIL_ALERT;
	switch (e) {
	case BR_ERR_OK: /* the client's close_notify before the handshake ended */
	case BR_ERR_IO:
		return TLS_FAIL_CLOSED;
	case BR_ERR_UNSUPPORTED_VERSION:
	case BR_ERR_BAD_VERSION:
	case BR_ERR_UNKNOWN_TYPE: /* not a TLS record at all */
		return TLS_FAIL_VERSION;
	case BR_ERR_BAD_CIPHER_SUITE:
	case BR_ERR_INVALID_ALGORITHM:
	case BR_ERR_NO_CLIENT_AUTH:
		return TLS_FAIL_CIPHER;
	default:
		return TLS_FAIL_PROTOCOL;
	}
}

static void log_end(const struct tls_conn *t, const char *what, int e)
{
	uint32_t ip;
	uint16_t port;
	char alert[32] = "";
	stream_peer(t->lower, &ip, &port);
	if (e >= BR_ERR_SEND_FATAL_ALERT)
		snprintf(alert, sizeof alert, ", alert %d sent", e - BR_ERR_SEND_FATAL_ALERT);
	else if (e >= BR_ERR_RECV_FATAL_ALERT)
		snprintf(alert, sizeof alert, ", alert %d received", e - BR_ERR_RECV_FATAL_ALERT);
	char addr[IPV4_STR_MAX];
	ipv4_format(ip, addr);
	log_info("tls", "%s:%u: %s (BearSSL error %d%s)", addr, port, what, e % 256, alert);
}

/* The handshake is over, one way or the other: it stops counting. */
static void handshake_over(struct tls_conn *t)
{
	t->handshaking = false;
	stats.handshaking--;
	if (!t->evicted) {
		list_remove(&t->hs_link);
		evictable--;
	}
}

/* It ended without a session: counted once, by reason, and logged. The
 * connection is finished (err). */
static int handshake_failed(struct tls_conn *t, enum tls_fail why, int e, int err)
{
	handshake_over(t);
	if (t->evicted)
		why = TLS_FAIL_EVICTED;
	stats.failed[why]++;
	char what[48];
	snprintf(what, sizeof what, "handshake failed: %s", tls_fail_names[why]);
	log_end(t, what, e);
	return t->err = err;
}

static void handshake_done(struct tls_conn *t)
{
	br_ssl_engine_context *e = &t->sc.eng;
	br_ssl_session_parameters sp;
	br_ssl_engine_get_session_parameters(e, &sp);
	const char *proto = br_ssl_engine_get_selected_protocol(e);
	/* No certificate was chosen: the session came from the cache. */
	bool resumed = !t->chooser.cert;
	snprintf(t->info, sizeof t->info, "TLSv1.2 %s %s %s", tls_suite_name(sp.cipher_suite),
		 proto ? proto : "-", resumed ? "resumed" : "new");
	handshake_over(t);
	t->established = true;
	stats.handshakes++;
	stats.resumed += resumed;
}

/* An established connection broke on our side or by a fatal alert (not a
 * plain hang-up): counted and logged once; err is sticky. */
static int broken(struct tls_conn *t, int err, int e)
{
	if (t->handshaking)
		return handshake_failed(t, e ? fail_reason(e) : TLS_FAIL_PROTOCOL, e, err);
	if (!t->err) {
		stats.broken++;
		log_end(t, err == -ENOMEM ? "no memory for record buffers" : "connection failed", e);
	}
	return t->err = err;
}

/* The engine closed: 1 after the client's close_notify (every read then
 * sees the end of the stream), else the error. */
static int engine_closed(struct tls_conn *t)
{
	int e = br_ssl_engine_last_error(&t->sc.eng);
	if (t->handshaking)
		return handshake_failed(t, fail_reason(e), e, -ECONNRESET);
	return e == BR_ERR_OK ? 1 : broken(t, -ECONNRESET, e);
}

/* The lower stream failed or ended: the engine cannot go on, except
 * after a read that timed out (nothing was taken from the stream). */
static int lower_failed(struct tls_conn *t, ssize_t r)
{
	int err = r ? (int)r : -ECONNRESET; /* EOF inside TLS: no close_notify */
	if (err == -ETIMEDOUT && t->established)
		return err; /* a late peer: the session is still usable */
	if (t->handshaking)
		return handshake_failed(t, err == -ETIMEDOUT ? TLS_FAIL_TIMEOUT : TLS_FAIL_CLOSED, BR_ERR_IO, err);
	return t->err = err; /* the peer went away: not the connection's fault */
}

/* ---- the engine pump ---- */

/* Run the engine until one of `want` (BR_SSL_SENDAPP, BR_SSL_RECVAPP) is
 * possible: 0, 1 if the client closed cleanly, < 0 error. Records the
 * engine has to send go out first (ssl_io.c's order). */
static int pump(struct tls_conn *t, unsigned want, uint64_t deadline)
{
	br_ssl_engine_context *e = &t->sc.eng;
	if (t->err)
		return t->err;
	if (attach(t) < 0)
		return broken(t, -ENOMEM, BR_ERR_OK);
	bool flushed = false; /* and nothing moved since */
	for (;;) {
		unsigned st = br_ssl_engine_current_state(e);
		if (st & BR_SSL_CLOSED)
			return engine_closed(t);
		if (t->handshaking && (st & (BR_SSL_SENDAPP | BR_SSL_RECVAPP)))
			handshake_done(t);
		uint64_t dl = deadline;
		if (t->handshaking && (!dl || t->hs_start + tls_opt.handshake_ns < dl))
			dl = t->hs_start + tls_opt.handshake_ns;
		size_t len;
		if (st & BR_SSL_SENDREC) {
			unsigned char *rec = br_ssl_engine_sendrec_buf(e, &len);
			ssize_t n = stream_write(t->lower, rec, len, dl);
			if (n <= 0) /* sticky even on a timeout: part of the record may be out */
				return t->err = lower_failed(t, n);
			br_ssl_engine_sendrec_ack(e, (size_t)n);
			flushed = false;
			continue;
		}
		if (st & want)
			return 0;
		/* Application data blocks the way out: only a renegotiation
		 * could do that, and it is refused (ssl_io.c fails here too). */
		if (st & BR_SSL_RECVAPP)
			return broken(t, -EPROTO, BR_ERR_OK);
		if (st & BR_SSL_RECVREC) {
			unsigned char *rec = br_ssl_engine_recvrec_buf(e, &len);
			ssize_t n = stream_read(t->lower, rec, len, dl);
			if (n <= 0)
				return lower_failed(t, n);
			br_ssl_engine_recvrec_ack(e, (size_t)n);
			flushed = false;
			continue;
		}
		/* Neither way can move: push a partial record out. If that
		 * changes nothing the engine is stuck: fail rather than spin. */
		if (flushed)
			return broken(t, -EPROTO, BR_ERR_OK);
		br_ssl_engine_flush(e, 0);
		flushed = true;
	}
}

/* ---- the stream ---- */

static ssize_t tls_read(struct stream *s, void *buf, size_t len, uint64_t deadline)
{
	struct tls_conn *t = of(s);
	int r = pump(t, BR_SSL_RECVAPP, deadline);
	if (r)
		return r > 0 ? 0 : r;
	size_t n;
	unsigned char *app = br_ssl_engine_recvapp_buf(&t->sc.eng, &n);
	n = n < len ? n : len;
	memcpy(buf, app, n);
	br_ssl_engine_recvapp_ack(&t->sc.eng, n);
	return (ssize_t)n;
}

static ssize_t tls_write(struct stream *s, const void *buf, size_t len, uint64_t deadline)
{
	struct tls_conn *t = of(s);
	const unsigned char *p = buf;
	for (size_t done = 0; done < len;) {
		int r = pump(t, BR_SSL_SENDAPP, deadline);
		if (r)
			return r > 0 ? -EPIPE : r;
		size_t n;
		unsigned char *app = br_ssl_engine_sendapp_buf(&t->sc.eng, &n);
		n = n < len - done ? n : len - done;
		memcpy(app, p + done, n);
		br_ssl_engine_sendapp_ack(&t->sc.eng, n);
		done += n;
	}
	return (ssize_t)len;
}

static int tls_flush(struct stream *s, uint64_t deadline)
{
	struct tls_conn *t = of(s);
	if (t->err)
		return t->err;
	if (attach(t) < 0) /* the engine's buffer pointers are only valid attached */
		return broken(t, -ENOMEM, BR_ERR_OK);
	br_ssl_engine_flush(&t->sc.eng, 0);
	int r = pump(t, BR_SSL_SENDAPP | BR_SSL_RECVAPP, deadline);
	return r > 0 ? -EPIPE : r;
}

/* Count an unfinished handshake as the client's hang-up, while the lower
 * stream (its peer address, for the log line) is still there. */
static void tls_end(struct tls_conn *t)
{
	if (t->handshaking)
		handshake_failed(t, TLS_FAIL_CLOSED, BR_ERR_IO, -ENOTCONN);
}

static void tls_free(struct tls_conn *t)
{
	if (t->buf)
		buf_put(t->buf);
	else
		stats.idle_released--;
	stats.open--;
	wipe(&t->sc, sizeof t->sc); /* session keys do not linger in freed memory */
	free(t);
}

/* close_notify (RFC 5246 §7.2.1) goes out; the client's reply is not
 * awaited (the TCP close that follows discards it). Not for a connection
 * closed by another task (quiet: idle timeout, shutdown): waiting for
 * room to send would park that task, so such a connection just ends, as
 * nginx ends timed-out ones. */
static void tls_close(struct stream *s)
{
	struct tls_conn *t = of(s);
	br_ssl_engine_context *e = &t->sc.eng;
	if (!t->err && t->established && !t->quiet && attach(t) == 0) {
		br_ssl_engine_close(e);
		uint64_t dl = clock_now() + CLOSE_NS;
		size_t len;
		unsigned char *rec;
		while ((rec = br_ssl_engine_sendrec_buf(e, &len))) {
			ssize_t n = stream_write(t->lower, rec, len, dl);
			if (n <= 0)
				break;
			br_ssl_engine_sendrec_ack(e, (size_t)n);
		}
	}
	tls_end(t);
	stream_close(t->lower);
	tls_free(t);
}

static void tls_abort(struct stream *s)
{
	struct tls_conn *t = of(s);
	tls_end(t);
	stream_abort(t->lower);
	tls_free(t);
}

static void tls_cancel_reads(struct stream *s) { stream_cancel_reads(of(s)->lower); }

static bool tls_park(struct stream *s, void (*ready)(void *arg), void *arg)
{
	struct tls_conn *t = of(s);
	return !t->err && release(t) && stream_park(t->lower, ready, arg);
}

/* Unpark precedes closing a parked stream from another task (stream.h):
 * that close must not wait. */
static void tls_unpark(struct stream *s)
{
	of(s)->quiet = true;
	stream_unpark(of(s)->lower);
}

static void tls_peer(const struct stream *s, uint32_t *ip, uint16_t *port) { stream_peer(of(s)->lower, ip, port); }

static const char *tls_info(const struct stream *s) { return of(s)->info[0] ? of(s)->info : "TLS"; }

static const struct stream_ops tls_ops = {
    .read = tls_read,
    .write = tls_write,
    .flush = tls_flush,
    .close = tls_close,
    .abort = tls_abort,
    .cancel_reads = tls_cancel_reads,
    .park = tls_park,
    .unpark = tls_unpark,
    .peer = tls_peer,
    .info = tls_info,
};

/* ---- a new connection ---- */

/* At the cap, the oldest handshake makes room if it has had its second:
 * idle connections then cannot hold every slot for tls_handshake_timeout
 * (an attacker must open them faster than real clients finish). Its
 * reads end with -ECANCELED and its task closes it. */
static bool make_room(void)
{
	if (evictable < tls_opt.max_handshakes)
		return true;
	struct tls_conn *old = list_entry(handshakes.next, struct tls_conn, hs_link);
	if (clock_now() - old->hs_start < EVICT_AGE_NS)
		return false;
	list_remove(&old->hs_link);
	evictable--;
	old->evicted = true;
	stream_cancel_reads(old->lower);
	return true;
}

struct stream *tls_accept(struct stream *lower)
{
	if (!make_room()) {
		stats.failed[TLS_FAIL_BUSY]++;
		return NULL;
	}
	/* tls_init made sure the DRBG is seeded, so random_bytes succeeds. */
	unsigned char seed[32];
	if (random_bytes(seed, sizeof seed) < 0)
		return NULL;
	struct tls_conn *t = calloc(1, sizeof *t);
	unsigned char *b = t ? buf_get() : NULL;
	if (!b) {
		free(t);
		stats.failed[TLS_FAIL_MEMORY]++;
		return NULL;
	}
	t->st.ops = &tls_ops;
	t->lower = lower;
	t->buf = b;
	t->hs_start = clock_now();
	tls_policy_apply(&t->sc, &t->chooser);
	br_ssl_engine_set_buffers_bidi(&t->sc.eng, b, IBUF_LEN, b + IBUF_LEN, OBUF_LEN);
	br_ssl_engine_inject_entropy(&t->sc.eng, seed, sizeof seed);
	wipe(seed, sizeof seed);
	stats.open++;
	stats.handshaking++;
	t->handshaking = true;
	list_push_back(&handshakes, &t->hs_link);
	evictable++;
	if (!br_ssl_server_reset(&t->sc)) /* only on a bad configuration */
		broken(t, -EPROTO, br_ssl_engine_last_error(&t->sc.eng));
	return &t->st;
}
