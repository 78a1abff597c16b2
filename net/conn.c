/* Connections over lwIP's raw TCP API (model: lwIP tcpecho_raw.c). lwIP
 * callbacks run in the net poller (or in whichever task is inside lwIP) and
 * do no protocol work: they queue data and state on the struct conn and
 * wake the task parked on it.
 *
 * Received data is copied out of lwIP's pbufs at once into a per-connection
 * ring (allocated when data arrives, freed when drained): pool pbufs are
 * needed to receive anything, ACKs included, so a connection whose task is
 * busy writing must not sit on them. The ring starts at RING_MIN bytes and
 * doubles while unread data outgrows it, until it holds TCP_WND: a request
 * head costs 8 KiB, only a reader that falls behind a bulk upload holds
 * the whole window, and an idle connection holds nothing. The window
 * guarantees the ring never needs more than TCP_WND: lwIP trims segments
 * to it, and it reopens only as conn_read consumes (tcp_recved).
 *
 * Ownership: a struct conn belongs to its listener's backlog until
 * accepted, then to the task that accepted it until conn_close/abort. The
 * tcp_pcb belongs to lwIP; c->pcb is cleared when lwIP frees it (err
 * callback) or when we hand it back (close/abort). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/clock.h"
#include "kernel/list.h"
#include "kernel/log.h"
#include "kernel/sched.h"
#include "lwip/tcp.h"
#include "net/conn.h"
#include "net/stream.h"

#define MEM_RETRY_NS NSEC_PER_MSEC /* back-off when lwIP's heap is exhausted */

#define RING_MIN (8 * 1024)
#define RING_CAP(c) ((uint32_t)RING_MIN << (c)->ring_order)

struct conn {
	struct stream st;       /* first: the stream the HTTP server sees */
	struct tcp_pcb *pcb;
	uint8_t *ring;          /* RING_CAP bytes for received, unread data; NULL when empty */
	uint32_t ring_head, ring_len;
	bool rx_eof;            /* the peer's FIN arrived */
	bool cancelled;         /* conn_cancel_reads: no more waiting for data */
	uint8_t ring_order;     /* the ring holds RING_MIN << ring_order bytes (in padding: no growth) */
	int err;                /* sticky error, 0 while healthy */
	struct waitq rwq, wwq;  /* readers / writers parked on this connection */
	struct listener *backlog_of; /* set while queued, unaccepted */
	void (*ready)(void *arg);   /* conn_park: called once when readable */
	void *ready_arg;
	struct list_node link;  /* free pool or listener backlog */
	uint32_t peer_ip;
	uint16_t peer_port;
};

struct listener {
	struct tcp_pcb *pcb;    /* NULL once closed */
	struct list_node backlog;
	int queued, max_queued;
	int accepting;          /* tasks parked in conn_accept */
	struct waitq wq;
};

/* Connections are allocated as they come and kept, once freed, on a free
 * list at its peak; pool_size caps how many exist. */
static struct list_node free_conns = LIST_INIT(free_conns);
static uint32_t allocated;
static struct conn_stats stats;

void conn_init(uint32_t max_conns) { stats.pool_size = max_conns; }

static const struct stream_ops conn_ops;

static struct conn *conn_alloc(void)
{
	struct list_node *n = list_pop_front(&free_conns);
	if (!n && allocated < stats.pool_size) {
		struct conn *fresh = malloc(sizeof *fresh);
		if (fresh) {
			allocated++;
			n = &fresh->link;
		}
	}
	if (!n)
		return NULL;
	struct conn *c = list_entry(n, struct conn, link);
	memset(c, 0, sizeof *c);
	c->st.ops = &conn_ops;
	list_init(&c->link);
	waitq_init(&c->rwq);
	waitq_init(&c->wwq);
	stats.in_use++;
	return c;
}

static void conn_release(struct conn *c)
{
	free(c->ring);
	c->ring = NULL;
	stats.in_use--;
	list_push_back(&free_conns, &c->link);
}

/* Something for a reader: data, end of stream, an error, a cancel. A
 * parked connection's callback runs once, here. */
static void readable(struct conn *c)
{
	waitq_wake_all(&c->rwq);
	if (c->ready) {
		void (*ready)(void *) = c->ready;
		c->ready = NULL;
		ready(c->ready_arg);
	}
}

static void wake_all(struct conn *c)
{
	readable(c);
	waitq_wake_all(&c->wwq);
}

/* Detach from the pcb: after this lwIP calls none of our callbacks. */
static void unhook(struct tcp_pcb *pcb)
{
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_sent(pcb, NULL);
	tcp_err(pcb, NULL);
}

/* ---- lwIP callbacks (no blocking, no protocol work) ---- */

/* Copy the n oldest unread bytes to buf, leaving them unread. */
static void ring_peek(const struct conn *c, uint8_t *buf, size_t n)
{
	size_t first = RING_CAP(c) - c->ring_head < n ? RING_CAP(c) - c->ring_head : n;
	memcpy(buf, c->ring + c->ring_head, first);
	memcpy(buf + first, c->ring, n - first);
}

/* Room for n more bytes (ring_len + n <= TCP_WND): allocate the ring, or
 * move its data into one doubled until it fits. 0 or -ENOMEM (the old
 * ring is kept). */
static int ring_reserve(struct conn *c, uint32_t n)
{
	uint32_t need = c->ring_len + n;
	if (c->ring && need <= RING_CAP(c))
		return 0;
	uint8_t order = c->ring ? c->ring_order : 0;
	while ((uint32_t)RING_MIN << order < need)
		order++;
	uint8_t *ring = malloc((size_t)RING_MIN << order);
	if (!ring)
		return -ENOMEM;
	if (c->ring) {
		ring_peek(c, ring, c->ring_len);
		free(c->ring);
	}
	c->ring = ring;
	c->ring_order = order;
	c->ring_head = 0;
	return 0;
}

/* Append a pbuf chain to the ring (the caller reserved the room). */
static void ring_put(struct conn *c, struct pbuf *p)
{
	uint32_t tail = (c->ring_head + c->ring_len) % RING_CAP(c);
	uint32_t first = RING_CAP(c) - tail < p->tot_len ? RING_CAP(c) - tail : p->tot_len;
	pbuf_copy_partial(p, c->ring + tail, (u16_t)first, 0);
	pbuf_copy_partial(p, c->ring, (u16_t)(p->tot_len - first), (u16_t)first);
	c->ring_len += p->tot_len;
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	(void)pcb;
	(void)err; /* always ERR_OK in lwIP 2.1 */
	struct conn *c = arg;
	if (!p) {
		c->rx_eof = true;
	} else {
		if (c->ring_len + p->tot_len > TCP_WND) { /* the peer ignored our window */
			stats.rx_overflow++;
			pbuf_free(p);
			tcp_abort(c->pcb); /* calls on_err */
			return ERR_ABRT;
		}
		if (ring_reserve(c, p->tot_len) < 0) {
			stats.rx_nomem++;
			return ERR_MEM; /* lwIP keeps the data and offers it again later */
		}
		ring_put(c, p);
		pbuf_free(p);
	}
	readable(c);
	return ERR_OK;
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	(void)pcb;
	(void)len;
	waitq_wake_all(&((struct conn *)arg)->wwq);
	return ERR_OK;
}

/* lwIP has already freed the pcb. */
static void on_err(void *arg, err_t err)
{
	struct conn *c = arg;
	c->pcb = NULL;
	c->err = err == ERR_RST ? -ECONNRESET : -ECONNABORTED;
	if (err == ERR_RST)
		stats.resets++;
	else
		stats.aborts++;
	if (c->backlog_of) { /* nobody owns it yet */
		c->backlog_of->queued--;
		list_remove(&c->link);
		conn_release(c);
		return;
	}
	wake_all(c);
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct listener *l = arg;
	if (err != ERR_OK || !pcb)
		return ERR_VAL;
	struct conn *c = l->queued < l->max_queued ? conn_alloc() : NULL;
	if (!c) {
		if (l->queued >= l->max_queued)
			stats.refused_backlog++;
		else
			stats.refused_pool++;
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	c->pcb = pcb;
	c->peer_ip = lwip_ntohl(ip4_addr_get_u32(&pcb->remote_ip));
	c->peer_port = pcb->remote_port;
	tcp_arg(pcb, c);
	tcp_recv(pcb, on_recv);
	tcp_sent(pcb, on_sent);
	tcp_err(pcb, on_err);
	/* Callers buffer whole responses and write them at once, so Nagle
	 * would only delay the last segment of each. */
	tcp_nagle_disable(pcb);
	tcp_backlog_delayed(pcb); /* counts against the listener until accepted */
	c->backlog_of = l;
	list_push_back(&l->backlog, &c->link);
	l->queued++;
	stats.accepted++;
	waitq_wake_one(&l->wq);
	return ERR_OK;
}

/* ---- listening ---- */

int conn_listen(uint16_t port, int backlog, struct listener **out)
{
	struct listener *l = calloc(1, sizeof *l);
	struct tcp_pcb *pcb = tcp_new();
	if (!l || !pcb) {
		free(l);
		if (pcb)
			tcp_abort(pcb);
		return -ENOMEM;
	}
	if (tcp_bind(pcb, IP_ANY_TYPE, port) != ERR_OK) {
		tcp_abort(pcb);
		free(l);
		return -EADDRINUSE;
	}
	l->pcb = tcp_listen_with_backlog(pcb, (u8_t)(backlog > 255 ? 255 : backlog));
	if (!l->pcb) {
		tcp_abort(pcb);
		free(l);
		return -ENOMEM;
	}
	list_init(&l->backlog);
	waitq_init(&l->wq);
	l->max_queued = backlog;
	tcp_arg(l->pcb, l);
	tcp_accept(l->pcb, on_accept);
	*out = l;
	return 0;
}

int conn_accept(struct listener *l, struct conn **out, uint64_t deadline)
{
	while (list_empty(&l->backlog)) {
		if (!l->pcb) { /* closed: the last task to leave frees it */
			if (!l->accepting)
				free(l);
			return -ECANCELED;
		}
		l->accepting++;
		int r = waitq_wait(&l->wq, deadline);
		l->accepting--;
		if (r == -ETIMEDOUT)
			return -ETIMEDOUT;
	}
	struct conn *c = list_entry(list_pop_front(&l->backlog), struct conn, link);
	l->queued--;
	c->backlog_of = NULL;
	tcp_backlog_accepted(c->pcb);
	*out = c;
	return 0;
}

void conn_listener_close(struct listener *l)
{
	while (!list_empty(&l->backlog)) {
		struct conn *c = list_entry(list_pop_front(&l->backlog), struct conn, link);
		c->backlog_of = NULL;
		conn_abort(c);
	}
	tcp_arg(l->pcb, NULL);
	tcp_accept(l->pcb, NULL);
	tcp_close(l->pcb); /* a listening pcb closes at once: new SYNs get RST */
	l->pcb = NULL;
	if (l->accepting)
		waitq_wake_all(&l->wq); /* they return -ECANCELED; the last frees l */
	else
		free(l);
}

/* ---- data ---- */

/* Tell lwIP the application consumed n bytes, reopening the window. */
static void ack_consumed(struct conn *c, size_t n)
{
	for (; c->pcb && n; n -= n > 0xffff ? 0xffff : n)
		tcp_recved(c->pcb, (u16_t)(n > 0xffff ? 0xffff : n));
}

/* Copy up to len bytes out of the ring; an emptied ring is freed, so an
 * idle connection holds no buffer. */
static size_t ring_get(struct conn *c, uint8_t *buf, size_t len)
{
	size_t n = len < c->ring_len ? len : c->ring_len;
	ring_peek(c, buf, n);
	c->ring_head = (uint32_t)((c->ring_head + n) % RING_CAP(c));
	c->ring_len -= (uint32_t)n;
	if (!c->ring_len) {
		free(c->ring);
		c->ring = NULL;
		c->ring_order = 0;
		c->ring_head = 0;
	}
	return n;
}

ssize_t conn_read(struct conn *c, void *buf, size_t len, uint64_t deadline)
{
	for (;;) {
		if (c->ring_len) {
			size_t n = ring_get(c, buf, len);
			ack_consumed(c, n);
			return (ssize_t)n;
		}
		if (c->rx_eof)
			return 0;
		if (c->err)
			return c->err;
		if (c->cancelled)
			return -ECANCELED;
		if (!c->pcb)
			return -ENOTCONN;
		if (waitq_wait(&c->rwq, deadline) == -ETIMEDOUT)
			return -ETIMEDOUT;
	}
}

/* Park until lwIP has room for more output. With nothing in flight no
 * sent callback will come, so a shortage of lwIP memory is waited out in
 * short sleeps instead. */
static int wait_for_room(struct conn *c, uint64_t deadline)
{
	tcp_output(c->pcb);
	uint64_t until = deadline;
	if (!c->pcb->unacked && !c->pcb->unsent) {
		until = clock_now() + MEM_RETRY_NS;
		if (deadline && deadline < until)
			until = deadline;
	}
	int r = waitq_wait(&c->wwq, until);
	/* A timeout before `until` is the task's cutoff (sched_set_cutoff). */
	if (r == -ETIMEDOUT && (until == deadline || clock_now() < until))
		return -ETIMEDOUT;
	return 0;
}

/* conn_write's loop; `copy`: TCP_WRITE_FLAG_COPY, else lwIP refers to
 * the bytes (PBUF_ROM) until they are acknowledged. */
static ssize_t write_all(struct conn *c, const void *buf, size_t len, uint64_t deadline, bool copy)
{
	const uint8_t *p = buf;
	size_t done = 0;
	u8_t flags = copy ? TCP_WRITE_FLAG_COPY : 0;
	while (done < len) {
		if (c->err)
			return c->err;
		if (!c->pcb)
			return -ENOTCONN;
		size_t room = tcp_sndbuf(c->pcb);
		size_t n = len - done < room ? len - done : room;
		err_t err = n && tcp_sndqueuelen(c->pcb) < TCP_SND_QUEUELEN
				    ? tcp_write(c->pcb, p + done, (u16_t)n,
						flags | (done + n < len ? TCP_WRITE_FLAG_MORE : 0))
				    : ERR_MEM;
		if (err == ERR_OK) {
			done += n;
			continue;
		}
		if (err != ERR_MEM)
			return -ECONNABORTED;
		if (wait_for_room(c, deadline) < 0)
			return -ETIMEDOUT;
	}
	if (c->pcb)
		tcp_output(c->pcb);
	return (ssize_t)done;
}

ssize_t conn_write(struct conn *c, const void *buf, size_t len, uint64_t deadline)
{
	return write_all(c, buf, len, deadline, true);
}

ssize_t conn_write_static(struct conn *c, const void *buf, size_t len, uint64_t deadline)
{
	return write_all(c, buf, len, deadline, false);
}

void conn_close(struct conn *c)
{
	if (c->pcb) {
		ack_consumed(c, c->ring_len); /* unread data is dropped, but FIN, not RST */
		unhook(c->pcb);
		if (tcp_close(c->pcb) != ERR_OK) /* only ERR_MEM: no memory for the FIN */
			tcp_abort(c->pcb);
		c->pcb = NULL;
	}
	conn_release(c);
}

void conn_abort(struct conn *c)
{
	if (c->pcb) {
		unhook(c->pcb);
		tcp_abort(c->pcb);
		c->pcb = NULL;
	}
	conn_release(c);
}

void conn_cancel_reads(struct conn *c)
{
	c->cancelled = true;
	readable(c);
}

bool conn_park(struct conn *c, void (*ready)(void *arg), void *arg)
{
	if (c->ring_len || c->rx_eof || c->err || c->cancelled || !c->pcb)
		return false;
	c->ready = ready;
	c->ready_arg = arg;
	return true;
}

void conn_unpark(struct conn *c) { c->ready = NULL; }

void conn_peer(const struct conn *c, uint32_t *ip, uint16_t *port)
{
	*ip = c->peer_ip;
	*port = c->peer_port;
}

void conn_get_stats(struct conn_stats *out)
{
	*out = stats;
	out->cached_bytes = (allocated - stats.in_use) * sizeof(struct conn);
}

/* ---- the stream interface (net/stream.h) ---- */

static struct conn *of(const struct stream *s) { return (struct conn *)s; }

static ssize_t st_read(struct stream *s, void *buf, size_t len, uint64_t deadline)
{
	return conn_read(of(s), buf, len, deadline);
}

static ssize_t st_write(struct stream *s, const void *buf, size_t len, uint64_t deadline)
{
	return conn_write(of(s), buf, len, deadline);
}

static ssize_t st_write_static(struct stream *s, const void *buf, size_t len, uint64_t deadline)
{
	return conn_write_static(of(s), buf, len, deadline);
}

/* conn_write hands every write to lwIP and pushes it out (tcp_output):
 * nothing waits here. */
static int st_flush(struct stream *s, uint64_t deadline)
{
	(void)deadline;
	return of(s)->err;
}

static void st_close(struct stream *s) { conn_close(of(s)); }
static void st_abort(struct stream *s) { conn_abort(of(s)); }
static void st_cancel_reads(struct stream *s) { conn_cancel_reads(of(s)); }

static bool st_park(struct stream *s, void (*ready)(void *arg), void *arg)
{
	return conn_park(of(s), ready, arg);
}

static void st_unpark(struct stream *s) { conn_unpark(of(s)); }

static void st_peer(const struct stream *s, uint32_t *ip, uint16_t *port) { conn_peer(of(s), ip, port); }

static const char *st_info(const struct stream *s)
{
	(void)s;
	return NULL;
}

static const struct stream_ops conn_ops = {
    .read = st_read,
    .write = st_write,
    .write_static = st_write_static,
    .flush = st_flush,
    .close = st_close,
    .abort = st_abort,
    .cancel_reads = st_cancel_reads,
    .park = st_park,
    .unpark = st_unpark,
    .peer = st_peer,
    .info = st_info,
};

struct stream *conn_stream(struct conn *c) { return &c->st; }
