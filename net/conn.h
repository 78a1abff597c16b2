/* Blocking TCP connections for tasks: the netpoller analogue. A task that
 * reads parks on the connection until lwIP's recv callback or its
 * deadline wakes it; a writer parks while the send buffer is full.
 *
 * Deadlines are absolute clock_now() times; 0 means none. Errors are
 * negative errno values and are sticky: once a connection reports
 * -ECONNRESET, every later call does too.
 *
 *   -ETIMEDOUT    the deadline passed (the connection is still usable)
 *   -ECONNRESET   the peer reset the connection
 *   -ECONNABORTED lwIP gave up on it (retransmission limit, out of memory)
 *   -ENOTCONN     it was shut down or closed on this side
 *   -ENOMEM       no memory to queue data (after waiting to the deadline)
 *   -ECANCELED    reads were cancelled (conn_cancel_reads), or the
 *                 listener closed (conn_accept)
 *
 * A connection is also a struct stream (net/stream.h), the shape the
 * HTTP server and the TLS layer use: conn_stream gives it. */
#ifndef KEEL_CONN_H
#define KEEL_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct conn;
struct listener;

/* Listen on port (all addresses). backlog bounds connections accepted by
 * lwIP but not yet by conn_accept; beyond it, new ones are reset. */
int conn_listen(uint16_t port, int backlog, struct listener **out);
int conn_accept(struct listener *l, struct conn **out, uint64_t deadline);
/* Stop listening: new connection attempts are refused (RST) and those in
 * the backlog are reset. Tasks parked in conn_accept return -ECANCELED;
 * l is freed once none is left, so it must not be used after this. */
void conn_listener_close(struct listener *l);

/* Read at most len bytes: > 0 bytes read, 0 at end of stream (the peer
 * closed its side), < 0 error. */
ssize_t conn_read(struct conn *c, void *buf, size_t len, uint64_t deadline);
/* Write all len bytes (parks while the send buffer is full): len, or < 0.
 * On -ETIMEDOUT an unknown prefix may have been queued. */
ssize_t conn_write(struct conn *c, const void *buf, size_t len, uint64_t deadline);
/* The same for bytes that stay unchanged in place for as long as the
 * machine runs (stream.h's write_static): lwIP's segments point at them
 * until they are acknowledged, instead of holding a copy. */
ssize_t conn_write_static(struct conn *c, const void *buf, size_t len, uint64_t deadline);
/* Graceful close: unread data is discarded (and acknowledged, so the peer
 * sees FIN, not RST); queued output is still delivered by lwIP. Frees c. */
void conn_close(struct conn *c);
/* Reset the connection (RST) and free c. */
void conn_abort(struct conn *c);

/* Make reads return -ECANCELED once the received data is consumed, and
 * wake a reader parked now (graceful shutdown of idle connections). */
void conn_cancel_reads(struct conn *c);

/* Park a connection without a task (an idle keep-alive connection then
 * costs no stack): false if it is readable now (data, end of stream, an
 * error, cancelled reads); otherwise ready(arg) is called once, from the
 * net poller, when it becomes readable, and true is returned. ready must
 * not block: it hands the connection to a task. conn_unpark withdraws
 * the callback (before closing a parked connection). */
bool conn_park(struct conn *c, void (*ready)(void *arg), void *arg);
void conn_unpark(struct conn *c);

/* The connection as a stream (net/stream.h); closing the stream closes
 * the connection. */
struct stream *conn_stream(struct conn *c);

/* Peer address (IPv4, host byte order) and port. */
void conn_peer(const struct conn *c, uint32_t *ip, uint16_t *port);

struct conn_stats {
	uint32_t pool_size, in_use;
	size_t cached_bytes;  /* freed connections kept for reuse */
	uint64_t accepted, refused_backlog, refused_pool, resets, aborts;
	uint64_t rx_nomem;    /* data deferred: no memory for a receive ring */
	uint64_t rx_overflow; /* peer overran our window: connection reset */
};
void conn_get_stats(struct conn_stats *out);
/* Cap the connections that may exist at once (called once by net_init);
 * they are allocated as needed. */
void conn_init(uint32_t max_conns);

#endif
