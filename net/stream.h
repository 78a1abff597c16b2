/* A byte stream with deadlines: what the HTTP server reads requests from
 * and writes responses to, whatever carries them. net/conn.c (plain TCP)
 * is one implementation, tls/conn.c (TLS over a TCP stream) another;
 * http/ sees only this.
 *
 * The contract is net/conn.h's: deadlines are absolute clock_now() times
 * (0: none); errors are negative errno values and sticky.
 *
 *   read     > 0 bytes, 0 at the end of the stream, < 0 error
 *   write    all len bytes, or < 0 (on -ETIMEDOUT an unknown prefix may
 *            have been sent); the bytes may wait in the stream's buffer
 *            until flush (TLS fills records)
 *   write_static   the same, for bytes that stay unchanged in place for as
 *            long as the machine runs (the image's files, the boot bundle,
 *            .rodata): the stream may send them by reference instead of
 *            copying them. Optional (NULL: write); TLS encrypts anyway
 *   flush    everything written is on its way to the peer: 0 or < 0
 *   close    graceful end (TLS: close_notify, then FIN); frees the stream.
 *            It may wait briefly for room to send, except after unpark
 *   abort    reset (RST), nothing more is sent; frees the stream
 *   cancel_reads   reads return -ECANCELED once what is buffered is
 *                  consumed, and a parked reader wakes (graceful shutdown)
 *   park     an idle stream waits without a task: false if it is readable
 *            now; otherwise ready(arg) is called once, from the net
 *            poller, when it becomes readable (see conn_park)
 *   unpark   withdraw that callback, before closing a parked stream from
 *            a task that does not own it (idle timeout, shutdown): that
 *            close never waits
 *   peer     the remote IPv4 address (host order) and port
 *   info     what the access log says about the stream: NULL for plain
 *            TCP, else e.g. "TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256 h2 new",
 *            at most STREAM_INFO_MAX bytes */
#ifndef KEEL_STREAM_H
#define KEEL_STREAM_H

#define STREAM_INFO_MAX 71

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct stream;

struct stream_ops {
	ssize_t (*read)(struct stream *s, void *buf, size_t len, uint64_t deadline);
	ssize_t (*write)(struct stream *s, const void *buf, size_t len, uint64_t deadline);
	ssize_t (*write_static)(struct stream *s, const void *buf, size_t len, uint64_t deadline);
	int (*flush)(struct stream *s, uint64_t deadline);
	void (*close)(struct stream *s);
	void (*abort)(struct stream *s);
	void (*cancel_reads)(struct stream *s);
	bool (*park)(struct stream *s, void (*ready)(void *arg), void *arg);
	void (*unpark)(struct stream *s);
	void (*peer)(const struct stream *s, uint32_t *ip, uint16_t *port);
	const char *(*info)(const struct stream *s);
};

/* Embedded first in each implementation's connection struct. */
struct stream {
	const struct stream_ops *ops;
};

static inline ssize_t stream_read(struct stream *s, void *buf, size_t len, uint64_t deadline)
{
	return s->ops->read(s, buf, len, deadline);
}

static inline ssize_t stream_write(struct stream *s, const void *buf, size_t len, uint64_t deadline)
{
	return s->ops->write(s, buf, len, deadline);
}

static inline ssize_t stream_write_static(struct stream *s, const void *buf, size_t len, uint64_t deadline)
{
	return (s->ops->write_static ? s->ops->write_static : s->ops->write)(s, buf, len, deadline);
}

static inline int stream_flush(struct stream *s, uint64_t deadline) { return s->ops->flush(s, deadline); }
static inline void stream_close(struct stream *s) { s->ops->close(s); }
static inline void stream_abort(struct stream *s) { s->ops->abort(s); }
static inline void stream_cancel_reads(struct stream *s) { s->ops->cancel_reads(s); }

static inline bool stream_park(struct stream *s, void (*ready)(void *arg), void *arg)
{
	return s->ops->park(s, ready, arg);
}

static inline void stream_unpark(struct stream *s) { s->ops->unpark(s); }

static inline void stream_peer(const struct stream *s, uint32_t *ip, uint16_t *port)
{
	s->ops->peer(s, ip, port);
}

static inline const char *stream_info(const struct stream *s) { return s->ops->info(s); }

#endif
