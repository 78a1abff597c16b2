/* net/conn.c on the host, over the real lwIP core.
 *
 * The kernel side is conn.c on a listener at FAKE_NET_KEEL_IP:80; the
 * remote host is a raw lwIP pcb per peer below, at FAKE_NET_PEER_IP, in the
 * same lwIP instance; packets between them cross the fake wire of
 * fake_lwip.c. The test is the one task: when conn.c parks it
 * (waitq_wait), fake_sched.c runs world_step() instead, which is what the
 * net poller and the other tasks would do meanwhile: deliver packets, run
 * a scheduled peer action, or let virtual time pass to lwIP's next timer
 * or the wait's deadline. So a blocking conn_read or conn_write returns
 * exactly as in the kernel, and deadlines are checked against the clock.
 *
 * Every case ends in teardown(): all connections closed, three virtual
 * minutes for TIME_WAIT, then no pcb is left, no conn is in use, lwIP's
 * heap holds what it held before (fake_lwip_mem_outstanding) and so does
 * the process's, but for conns conn.c newly keeps for reuse: each case
 * also checks for leaks. ASan checks frees and stale pointers. */
#include "tests/host/test.h"

#include <errno.h>

#include "kernel/clock.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"
#include "net/conn.h"
#include "tests/host/fake_lwip.h"
#include "tests/host/fake_sched.h"

#define PORT 80
#define SEC  NSEC_PER_SEC
#define MSEC NSEC_PER_MSEC
/* Connections existing at once, in every case. conn.c keeps freed conns
 * for reuse and takes them before checking the cap, so the pool test's
 * cap means something only if no case ever held more. */
#define POOL 2

/* ---- malloc seam ---- */

/* conn.c takes a connection's receive ring from malloc when data arrives:
 * 8 KiB (its RING_MIN), doubled while unread data outgrows it, up to
 * TCP_WND. t_rx_nomem makes that fail; t_ring_grows watches the sizes.
 * The binary links with --wrap=malloc (host.mk, test_conn_LIBS); other
 * sizes pass through. */
#define RING_MIN 8192
void *__real_malloc(size_t n);
void *__wrap_malloc(size_t n);
static int fail_ring_allocs;
static size_t ring_peak; /* the largest ring allocated */

static bool ring_size(size_t n)
{
	for (size_t s = RING_MIN; s <= TCP_WND; s *= 2)
		if (n == s)
			return true;
	return false;
}

void *__wrap_malloc(size_t n)
{
	if (!ring_size(n))
		return __real_malloc(n);
	if (fail_ring_allocs > 0) {
		fail_ring_allocs--;
		return NULL;
	}
	ring_peak = n > ring_peak ? n : ring_peak;
	return __real_malloc(n);
}

/* ---- the remote host ---- */

struct peer {
	struct tcp_pcb *pcb; /* ours until closed, or until lwIP reports it gone */
	uint16_t port;
	bool connected, fin, dead;
	err_t err;       /* what the err callback said */
	bool reads;      /* its application reads at once: tcp_recved as data comes */
	uint32_t unread; /* received but not yet tcp_recved */
	uint8_t *rx;
	size_t rx_len;     /* bytes received (stored up to RX_CAP) */
	const uint8_t *tx; /* being sent, as tcp_sndbuf allows */
	size_t tx_len, tx_off;
	size_t chunk; /* if set, each tcp_write at most this, output at once */
};

#define RX_CAP (1u << 20)
static uint8_t rx_store[3][RX_CAP];
static struct peer peers[3];

static err_t peer_on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct peer *pe = arg;
	(void)err;
	if (!p) {
		pe->fin = true;
		return ERR_OK;
	}
	size_t room = RX_CAP - pe->rx_len;
	pbuf_copy_partial(p, pe->rx + pe->rx_len, (u16_t)(p->tot_len < room ? p->tot_len : room), 0);
	pe->rx_len += p->tot_len < room ? p->tot_len : room;
	if (pe->reads)
		tcp_recved(pcb, p->tot_len);
	else
		pe->unread += p->tot_len;
	pbuf_free(p);
	return ERR_OK;
}

static void peer_pump(struct peer *pe)
{
	while (pe->pcb && pe->tx_off < pe->tx_len) {
		size_t n = pe->tx_len - pe->tx_off;
		if (n > tcp_sndbuf(pe->pcb))
			n = tcp_sndbuf(pe->pcb);
		if (n > 0xffff)
			n = 0xffff;
		if (pe->chunk && n > pe->chunk)
			n = pe->chunk;
		if (!n || tcp_write(pe->pcb, pe->tx + pe->tx_off, (u16_t)n, TCP_WRITE_FLAG_COPY) != ERR_OK)
			break;
		pe->tx_off += n;
		if (pe->chunk)
			tcp_output(pe->pcb);
	}
	if (pe->pcb)
		tcp_output(pe->pcb);
}

static err_t peer_on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	(void)pcb;
	(void)len;
	peer_pump(arg);
	return ERR_OK;
}

static void peer_on_err(void *arg, err_t err)
{
	struct peer *pe = arg;
	pe->dead = true;
	pe->err = err;
	pe->pcb = NULL;
}

static err_t peer_on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)pcb;
	((struct peer *)arg)->connected = err == ERR_OK;
	return ERR_OK;
}

static struct peer *peer_connect(int i)
{
	struct peer *pe = &peers[i];
	CHECK(!pe->pcb); /* one connection per peer and case */
	*pe = (struct peer){.rx = rx_store[i], .reads = true};
	pe->pcb = tcp_new();
	if (!CHECK(pe->pcb) || !CHECK(tcp_bind(pe->pcb, fake_net_peer_ip(), 0) == ERR_OK))
		return pe;
	pe->port = pe->pcb->local_port;
	tcp_arg(pe->pcb, pe);
	tcp_recv(pe->pcb, peer_on_recv);
	tcp_sent(pe->pcb, peer_on_sent);
	tcp_err(pe->pcb, peer_on_err);
	tcp_nagle_disable(pe->pcb);
	CHECK(tcp_connect(pe->pcb, fake_net_keel_ip(), PORT, peer_on_connected) == ERR_OK);
	return pe;
}

static void peer_send(struct peer *pe, const void *data, size_t len)
{
	pe->tx = data;
	pe->tx_len = len;
	pe->tx_off = 0;
	peer_pump(pe);
}

static void peer_send_str(struct peer *pe, const char *s)
{
	peer_send(pe, s, strlen(s));
}

/* The peer's application reads what has arrived: the window reopens. */
static void peer_read_all(struct peer *pe)
{
	pe->reads = true;
	for (; pe->pcb && pe->unread; pe->unread -= pe->unread > 0xffff ? 0xffff : pe->unread)
		tcp_recved(pe->pcb, (u16_t)(pe->unread > 0xffff ? 0xffff : pe->unread));
}

/* FIN, but the peer still reads. */
static void peer_shutdown(struct peer *pe)
{
	CHECK(tcp_shutdown(pe->pcb, 0, 1) == ERR_OK);
}

static void peer_reset(struct peer *pe)
{
	tcp_abort(pe->pcb); /* no err callback for our own abort, so: */
	pe->pcb = NULL;
}

/* ---- the world while the task waits ---- */

static struct {
	uint64_t at;
	void (*fn)(void);
} event; /* one peer action due at a virtual time */

static void at(uint64_t delay, void (*fn)(void))
{
	event.at = clock_now() + delay;
	event.fn = fn;
}

static bool world_step(uint64_t deadline)
{
	if (fake_net_deliver())
		return true;
	if (event.fn && clock_now() >= event.at) {
		void (*fn)(void) = event.fn;
		event.fn = NULL;
		fn();
		return true;
	}
	fake_net_advance(deadline, event.fn ? event.at : 0);
	return true;
}

/* ---- per case ---- */

static struct conn_stats cstats(void)
{
	struct conn_stats s;
	conn_get_stats(&s);
	return s;
}

static struct listener *lis;
static size_t mem_baseline, heap_baseline, cached_baseline;

/* ASan's count of live heap bytes; absent in a build without it. */
extern size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));
static size_t heap_bytes(void)
{
	return __sanitizer_get_current_allocated_bytes ? __sanitizer_get_current_allocated_bytes() : 0;
}

static void setup(void)
{
	conn_init(POOL);
	mem_baseline = fake_lwip_mem_outstanding();
	heap_baseline = heap_bytes();
	cached_baseline = cstats().cached_bytes;
	fake_sched_reset_stats();
	CHECK(conn_listen(PORT, 4, &lis) == 0);
}

/* Connect peer i and accept it. */
static struct conn *open_conn(int i)
{
	struct conn *c = NULL;
	struct peer *pe = peer_connect(i);
	if (!CHECK(conn_accept(lis, &c, clock_now() + 5 * SEC) == 0))
		return NULL;
	CHECK(pe->connected);
	return c;
}

/* lwIP's pcb for the kernel's end of peer pe's connection, if it exists. */
static struct tcp_pcb *keel_pcb(const struct peer *pe)
{
	for (struct tcp_pcb *t = tcp_active_pcbs; t; t = t->next)
		if (t->local_port == PORT && t->remote_port == pe->port)
			return t;
	return NULL;
}

static uint64_t waits(void)
{
	struct fake_sched_stats s;
	fake_sched_stats(&s);
	return s.waits;
}

static void teardown(void)
{
	for (size_t i = 0; i < TEST_COUNT(peers); i++) {
		if (peers[i].pcb) {
			tcp_arg(peers[i].pcb, NULL);
			tcp_err(peers[i].pcb, NULL);
			tcp_abort(peers[i].pcb);
		}
		peers[i] = (struct peer){0};
	}
	if (lis)
		conn_listener_close(lis);
	lis = NULL;
	event.fn = NULL;
	fake_lwip_mem_fail_task(0);
	fail_ring_allocs = 0;
	fake_net_run_for(180 * SEC); /* TIME_WAIT is 2 x TCP_MSL = 60 s */
	struct fake_sched_stats s;
	fake_sched_stats(&s);
	CHECK(s.hangs == 0);
	CHECK(cstats().in_use == 0);
	CHECK(!tcp_active_pcbs && !tcp_tw_pcbs && !tcp_listen_pcbs.listen_pcbs);
	CHECK(fake_lwip_mem_outstanding() == mem_baseline);
	/* Everything else conn.c allocated (listeners, receive rings) is
	 * freed too, but for conns newly kept for reuse. */
	CHECK(heap_bytes() - heap_baseline == cstats().cached_bytes - cached_baseline);
	/* Whatever a failed case left behind must not fail the next ones. */
	while (tcp_active_pcbs || tcp_tw_pcbs) {
		struct tcp_pcb *t = tcp_active_pcbs ? tcp_active_pcbs : tcp_tw_pcbs;
		tcp_arg(t, NULL);
		tcp_err(t, NULL);
		tcp_abort(t);
	}
	fake_net_settle();
}

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 7 + i / 251);
}

static const uint8_t *pattern_buf(size_t len)
{
	static uint8_t buf[RX_CAP];
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern(i);
	return buf;
}

static bool is_pattern(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != pattern(i))
			return false;
	return true;
}

/* ---- cases ---- */

static int ready_calls;
static void *ready_arg;
static void on_ready(void *arg)
{
	ready_calls++;
	ready_arg = arg;
}

static void t_accept(void)
{
	setup();
	struct conn_stats before = cstats();
	struct conn *c = open_conn(0);
	if (c) {
		uint32_t ip;
		uint16_t port;
		conn_peer(c, &ip, &port);
		CHECK(ip == 0x0a000102 && port == peers[0].port);
		CHECK(cstats().accepted == before.accepted + 1 && cstats().in_use == 1);
		CHECK(waits() > 0); /* the handshake came while conn_accept was parked */
		conn_close(c);
		fake_net_settle();
		CHECK(peers[0].fin && !peers[0].dead);
	}
	teardown();
}

static void t_accept_timeout(void)
{
	setup();
	struct conn *c = NULL;
	uint64_t deadline = clock_now() + 2 * SEC + 123;
	CHECK(conn_accept(lis, &c, deadline) == -ETIMEDOUT);
	CHECK(clock_now() == deadline);
	CHECK(c == NULL);
	teardown();
}

static void t_read_queued(void)
{
	setup();
	struct conn *c = open_conn(0);
	if (c) {
		char buf[64];
		fake_net_run_for(SEC); /* quiet: everything acknowledged */
		size_t idle = heap_bytes();
		peer_send_str(&peers[0], "hello world");
		fake_net_settle();
		uint64_t w = waits();
		CHECK(conn_read(c, buf, 5, 0) == 5 && !memcmp(buf, "hello", 5));
		CHECK(conn_read(c, buf, sizeof buf, 0) == 6 && !memcmp(buf, " world", 6));
		CHECK(waits() == w); /* queued data: no parking */
		/* Drained, an idle connection holds no receive ring (conn.c:
		 * "allocated when data arrives, freed when drained"). */
		fake_net_run_for(SEC);
		CHECK(heap_bytes() == idle);
		conn_close(c);
	}
	teardown();
}

static void send_late(void)
{
	peer_send_str(&peers[0], "late");
}

static void t_read_blocks(void)
{
	setup();
	struct conn *c = open_conn(0);
	if (c) {
		char buf[16];
		uint64_t due = clock_now() + 700 * MSEC;
		at(700 * MSEC, send_late);
		CHECK(conn_read(c, buf, sizeof buf, 0) == 4 && !memcmp(buf, "late", 4));
		CHECK(clock_now() >= due);
		conn_close(c);
	}
	teardown();
}

static void t_read_timeout(void)
{
	setup();
	struct conn *c = open_conn(0);
	if (c) {
		char buf[16];
		uint64_t deadline = clock_now() + 3 * SEC;
		CHECK(conn_read(c, buf, sizeof buf, deadline) == -ETIMEDOUT);
		CHECK(clock_now() == deadline);
		/* Not sticky: the connection is still usable. */
		peer_send_str(&peers[0], "ok");
		CHECK(conn_read(c, buf, sizeof buf, clock_now() + SEC) == 2);
		conn_close(c);
	}
	teardown();
}

static void t_eof(void)
{
	setup();
	struct conn *c = open_conn(0);
	if (c) {
		char buf[16];
		peer_send_str(&peers[0], "bye");
		peer_shutdown(&peers[0]);
		fake_net_settle();
		CHECK(conn_read(c, buf, sizeof buf, 0) == 3); /* data before the FIN first */
		CHECK(conn_read(c, buf, sizeof buf, 0) == 0);
		CHECK(conn_read(c, buf, sizeof buf, 0) == 0);
		/* Half-close: our direction still works. */
		CHECK(conn_write(c, "after", 5, clock_now() + SEC) == 5);
		fake_net_settle();
		CHECK(peers[0].rx_len == 5 && !memcmp(peers[0].rx, "after", 5));
		conn_close(c);
		fake_net_settle();
		CHECK(peers[0].fin && !peers[0].dead);
	}
	teardown();
}

static void shut_peer0(void)
{
	peer_shutdown(&peers[0]);
}

static void t_eof_wakes_reader(void)
{
	setup();
	struct conn *c = open_conn(0);
	if (c) {
		char buf[16];
		at(200 * MSEC, shut_peer0);
		CHECK(conn_read(c, buf, sizeof buf, 0) == 0);
		conn_close(c);
	}
	teardown();
}

static void t_reset(void)
{
	setup();
	struct conn *c = open_conn(0);
	if (c) {
		char buf[16];
		uint64_t resets = cstats().resets;
		peer_send_str(&peers[0], "xyz");
		fake_net_settle();
		peer_reset(&peers[0]);
		fake_net_settle();
		CHECK(cstats().resets == resets + 1);
		CHECK(conn_read(c, buf, sizeof buf, 0) == 3); /* what had arrived is still read */
		CHECK(conn_read(c, buf, sizeof buf, 0) == -ECONNRESET);
		CHECK(conn_read(c, buf, sizeof buf, 0) == -ECONNRESET); /* sticky */
		CHECK(conn_write(c, "x", 1, 0) == -ECONNRESET);
		conn_close(c); /* the pcb is gone: only our state is freed */
		CHECK(cstats().in_use == 0);
	}
	teardown();
}

static void reset_peer0(void)
{
	peer_reset(&peers[0]);
}

static void t_reset_wakes_reader(void)
{
	setup();
	struct conn *c = open_conn(0);
	if (c) {
		char buf[16];
		at(100 * MSEC, reset_peer0);
		CHECK(conn_read(c, buf, sizeof buf, 0) == -ECONNRESET);
		conn_close(c);
	}
	teardown();
}

/* The window reopens exactly as conn_read consumes (tcp_recved), not as
 * data is copied into the ring. */
static void t_recved_credit(void)
{
	setup();
	struct conn *c = open_conn(0);
	struct tcp_pcb *kp = keel_pcb(&peers[0]);
	if (c && CHECK(kp)) {
		static char buf[8000];
		/* 7000: above lwIP's window-update threshold (4 MSS). */
		peer_send(&peers[0], pattern_buf(7000), 7000);
		fake_net_settle();
		CHECK(kp->rcv_wnd == TCP_WND - 7000);
		CHECK(conn_read(c, buf, 1000, 0) == 1000);
		CHECK(kp->rcv_wnd == TCP_WND - 6000);
		CHECK(conn_read(c, buf + 1000, sizeof buf - 1000, 0) == 6000);
		CHECK(kp->rcv_wnd == TCP_WND);
		CHECK(is_pattern((uint8_t *)buf, 7000));
		fake_net_settle(); /* the window update reaches the peer */
		CHECK(peers[0].pcb && peers[0].pcb->snd_wnd == TCP_WND);
		conn_close(c);
	}
	teardown();
}

/* 200 KB read in small pieces: the peer can send only as reads
 * reopen it. Between reads the net poller runs (as other tasks would), so
 * segments land while the ring still holds unread data, and both the
 * ring's tail (on_recv) and its head (conn_read) wrap around its end. */
static void t_read_stream(void)
{
	enum { LEN = 200000 };
	setup();
	struct conn *c = open_conn(0);
	if (c) {
		static uint8_t got[LEN];
		size_t n = 0;
		size_t chunk = 999;
		/* Segments of 1000 bytes or less, so some straddle the end of
		 * the 8 KiB ring (whole MSS-sized ones never would). */
		peers[0].chunk = 1000;
		peer_send(&peers[0], pattern_buf(LEN), LEN);
		while (n < LEN) {
			ssize_t r =
			    conn_read(c, got + n, LEN - n < chunk ? LEN - n : chunk, clock_now() + 5 * SEC);
			if (!CHECK(r > 0))
				break;
			n += (size_t)r;
			chunk = chunk == 999 ? 7001 : 999;
			if (n % 3 == 0)
				fake_net_run_for(300 * MSEC); /* delayed window updates go out */
			else
				fake_net_settle();
		}
		CHECK(n == LEN && is_pattern(got, LEN));
		CHECK(waits() > 0);
		conn_close(c);
	}
	teardown();
}

/* Unread data backs up: the ring doubles from 8 KiB to hold it (100 KB
 * needs 128 KiB, the whole window), wrapping and moving as it grows, and
 * the bytes come out intact and in order; drained, it is freed. */
static void t_ring_grows(void)
{
	enum { LEN = 100000 };
	setup();
	struct conn *c = open_conn(0);
	if (c) {
		static uint8_t got[LEN];
		fake_net_run_for(SEC); /* quiet: everything acknowledged */
		size_t idle = heap_bytes();
		const uint8_t *data = pattern_buf(LEN);
		ring_peak = 0;
		peers[0].chunk = 1000; /* segments straddle each ring's end */
		peer_send(&peers[0], data, 20000);
		fake_net_settle();
		/* Read a little first, so the ring's head is not at its start
		 * when it grows again. */
		CHECK(conn_read(c, got, 3000, 0) == 3000);
		CHECK(ring_peak == 32 * 1024);
		peer_send(&peers[0], data + 20000, LEN - 20000);
		fake_net_run_for(SEC); /* the rest arrives; nothing is read */
		CHECK(ring_peak == 128 * 1024);
		size_t n = 3000;
		while (n < LEN) {
			ssize_t r = conn_read(c, got + n, LEN - n, clock_now() + 5 * SEC);
			if (!CHECK(r > 0))
				break;
			n += (size_t)r;
		}
		CHECK(n == LEN && is_pattern(got, LEN));
		fake_net_run_for(SEC);
		CHECK(heap_bytes() == idle);
		conn_close(c);
	}
	teardown();
}

/* No memory for a receive ring: on_recv refuses the data (ERR_MEM), lwIP
 * keeps it and offers it again from its fast timer, nothing is lost. */
static void t_rx_nomem(void)
{
	setup();
	struct conn *c = open_conn(0);
	if (c) {
		char buf[16];
		uint64_t nomem = cstats().rx_nomem;
		fail_ring_allocs = 1;
		peer_send_str(&peers[0], "deferred");
		fake_net_settle();
		CHECK(cstats().rx_nomem == nomem + 1);
		CHECK(conn_park(c, on_ready, NULL)); /* nothing readable yet */
		conn_unpark(c);
		uint64_t t0 = clock_now();
		CHECK(conn_read(c, buf, sizeof buf, t0 + SEC) == 8 && !memcmp(buf, "deferred", 8));
		CHECK(clock_now() - t0 <= 250 * MSEC); /* TCP_FAST_INTERVAL */
		conn_close(c);
	}
	teardown();
}

static void t_write_small(void)
{
	setup();
	struct conn *c = open_conn(0);
	if (c) {
		const char *msg = "HTTP/1.1 204 No Content\r\n\r\n";
		CHECK(conn_write(c, msg, strlen(msg), clock_now() + SEC) == (ssize_t)strlen(msg));
		fake_net_settle(); /* sent at once, no waiting for a timer */
		CHECK(peers[0].rx_len == strlen(msg) && !memcmp(peers[0].rx, msg, strlen(msg)));
		/* Nagle is off: a second small write goes out while the first is
		 * unacknowledged (the peer delays its ACK to a 250 ms timer). */
		CHECK(conn_write(c, "a", 1, 0) == 1 && conn_write(c, "b", 1, 0) == 1);
		fake_net_settle();
		CHECK(peers[0].rx_len == strlen(msg) + 2);
		conn_close(c);
	}
	teardown();
}

/* A write beyond TCP_SND_BUF parks while the send buffer is full and is
 * woken by the sent callback as the peer acknowledges. */
static void t_write_parks(void)
{
	enum { LEN = 300000 };
	setup();
	struct conn *c = open_conn(0);
	if (c) {
		uint64_t w = waits();
		CHECK(conn_write(c, pattern_buf(LEN), LEN, 0) == LEN);
		CHECK(waits() - w >= LEN / TCP_SND_BUF);
		fake_net_run_for(SEC);
		CHECK(peers[0].rx_len == LEN && is_pattern(peers[0].rx, LEN));
		conn_close(c);
	}
	teardown();
}

/* The peer stops reading: the write times out at its deadline with a
 * prefix queued, and the connection stays usable once the peer reads. */
static void t_write_deadline(void)
{
	enum { LEN = TCP_SND_BUF + TCP_WND + 100000 };
	setup();
	struct conn *c = open_conn(0);
	if (c) {
		peers[0].reads = false;
		uint64_t deadline = clock_now() + 2 * SEC;
		CHECK(conn_write(c, pattern_buf(LEN), LEN, deadline) == -ETIMEDOUT);
		CHECK(clock_now() == deadline);
		CHECK(peers[0].rx_len <= TCP_WND); /* its window closed */
		peer_read_all(&peers[0]);
		CHECK(conn_write(c, "tail", 4, clock_now() + 10 * SEC) == 4);
		fake_net_run_for(SEC);
		size_t n = peers[0].rx_len;
		CHECK(n > TCP_WND && n - 4 < LEN);
		CHECK(is_pattern(peers[0].rx, n - 4) && !memcmp(peers[0].rx + n - 4, "tail", 4));
		conn_close(c);
	}
	teardown();
}

/* lwIP out of memory with nothing in flight: no sent callback will come,
 * so the writer retries in MEM_RETRY_NS (1 ms) sleeps. */
static void t_write_nomem(void)
{
	setup();
	struct conn *c = open_conn(0);
	if (c) {
		struct fake_sched_stats s0, s1;
		fake_sched_stats(&s0);
		uint64_t t0 = clock_now();
		fake_lwip_mem_fail_task(5);
		CHECK(conn_write(c, pattern_buf(1000), 1000, 0) == 1000);
		fake_sched_stats(&s1);
		CHECK(s1.waits - s0.waits == 5 && s1.timeouts - s0.timeouts == 5);
		CHECK(clock_now() - t0 == 5 * MSEC);
		fake_net_settle();
		CHECK(peers[0].rx_len == 1000);
		/* Still short of memory at the deadline: -ETIMEDOUT then. */
		fake_lwip_mem_fail_task(1000);
		uint64_t deadline = clock_now() + 3 * MSEC + MSEC / 2;
		CHECK(conn_write(c, "x", 1, deadline) == -ETIMEDOUT);
		CHECK(clock_now() == deadline);
		fake_lwip_mem_fail_task(0);
		conn_close(c);
	}
	teardown();
}

static void t_park_data(void)
{
	setup();
	struct conn *c = open_conn(0);
	if (c) {
		char buf[16];
		int token;
		ready_calls = 0;
		CHECK(conn_park(c, on_ready, &token));
		fake_net_run_for(5 * SEC); /* idle: keep-alive probes aside, nothing happens */
		CHECK(ready_calls == 0);
		peer_send_str(&peers[0], "x");
		fake_net_settle();
		CHECK(ready_calls == 1 && ready_arg == &token);
		peer_send_str(&peers[0], "y");
		fake_net_settle();
		CHECK(ready_calls == 1);                /* once */
		CHECK(!conn_park(c, on_ready, &token)); /* readable now */
		CHECK(conn_read(c, buf, sizeof buf, 0) == 2 && !memcmp(buf, "xy", 2));
		conn_close(c);
	}
	teardown();
}

static void t_park_eof_reset(void)
{
	setup();
	struct conn *c = open_conn(0);
	struct conn *d = open_conn(1);
	if (c && d) {
		char buf[16];
		ready_calls = 0;
		CHECK(conn_park(c, on_ready, c) && conn_park(d, on_ready, d));
		peer_shutdown(&peers[0]);
		fake_net_settle();
		CHECK(ready_calls == 1 && ready_arg == c);
		CHECK(conn_read(c, buf, sizeof buf, 0) == 0);
		peer_reset(&peers[1]);
		fake_net_settle();
		CHECK(ready_calls == 2 && ready_arg == d);
		CHECK(conn_read(d, buf, sizeof buf, 0) == -ECONNRESET);
		CHECK(!conn_park(c, on_ready, c) && !conn_park(d, on_ready, d));
	}
	if (c)
		conn_close(c);
	if (d)
		conn_close(d);
	teardown();
}

static void t_unpark(void)
{
	setup();
	struct conn *c = open_conn(0);
	if (c) {
		char buf[16];
		ready_calls = 0;
		CHECK(conn_park(c, on_ready, NULL));
		conn_unpark(c);
		peer_send_str(&peers[0], "z");
		fake_net_settle();
		CHECK(ready_calls == 0);
		CHECK(conn_read(c, buf, sizeof buf, 0) == 1);
		conn_close(c);
	}
	teardown();
}

static struct conn *cancel_target;
static void cancel_it(void)
{
	conn_cancel_reads(cancel_target);
}

static void t_cancel_reads(void)
{
	setup();
	struct conn *c = open_conn(0);
	if (c) {
		char buf[16];
		ready_calls = 0;
		CHECK(conn_park(c, on_ready, NULL));
		peer_send_str(&peers[0], "ab");
		fake_net_settle();
		conn_cancel_reads(c);
		CHECK(conn_read(c, buf, sizeof buf, 0) == 2); /* received data first */
		CHECK(conn_read(c, buf, sizeof buf, 0) == -ECANCELED);
		CHECK(!conn_park(c, on_ready, NULL));
		conn_close(c);
	}
	c = open_conn(1);
	if (c) { /* a reader parked with no deadline is woken */
		char buf[16];
		cancel_target = c;
		at(50 * MSEC, cancel_it);
		CHECK(conn_read(c, buf, sizeof buf, 0) == -ECANCELED);
		conn_close(c);
	}
	teardown();
}

/* Close with unread data: acknowledged first, so the peer sees FIN, not
 * RST (lwIP resets when rcv_wnd is not full), and every callback is
 * unhooked before tcp_close: what lwIP does with the pcb afterwards
 * (here: data arrives, it resets) reaches no conn. */
static void t_close_unhooks(void)
{
	setup();
	struct conn *c = open_conn(0);
	struct tcp_pcb *kp = keel_pcb(&peers[0]);
	if (c && CHECK(kp)) {
		peer_send_str(&peers[0], "unread");
		fake_net_settle();
		struct conn_stats before = cstats();
		conn_close(c);
		CHECK(cstats().in_use == before.in_use - 1);
		if (CHECK(keel_pcb(&peers[0]) == kp)) { /* still lwIP's, in FIN_WAIT */
			CHECK(kp->callback_arg == NULL && kp->recv == NULL && kp->sent == NULL &&
			      kp->errf == NULL);
		}
		fake_net_settle();
		CHECK(peers[0].fin && !peers[0].dead);
		peer_send_str(&peers[0], "late data");
		fake_net_settle();
		CHECK(peers[0].dead && peers[0].err == ERR_RST);
		CHECK(keel_pcb(&peers[0]) == NULL);
		CHECK(cstats().resets == before.resets && cstats().aborts == before.aborts);
	}
	teardown();
}

/* conn_abort resets the peer and frees the conn once: our own abort
 * calls no err callback (unhooked first). */
static void t_abort(void)
{
	setup();
	struct conn *c = open_conn(0);
	if (c) {
		peer_send_str(&peers[0], "pending"); /* the ring holds data: freed once */
		fake_net_settle();
		struct conn_stats before = cstats();
		conn_abort(c);
		CHECK(cstats().in_use == before.in_use - 1);
		CHECK(cstats().aborts == before.aborts && cstats().resets == before.resets);
		CHECK(keel_pcb(&peers[0]) == NULL);
		fake_net_settle();
		CHECK(peers[0].dead && peers[0].err == ERR_RST);
	}
	teardown();
}

/* A connection reset while still in the backlog is freed by the err
 * callback alone; accept and listener close must not see it again. */
static void t_backlog_reset(void)
{
	setup();
	struct conn_stats before = cstats();
	peer_connect(0);
	fake_net_settle();
	CHECK(peers[0].connected);
	CHECK(cstats().in_use == before.in_use + 1); /* queued, not accepted */
	peer_reset(&peers[0]);
	fake_net_settle();
	CHECK(cstats().in_use == before.in_use);
	CHECK(cstats().resets == before.resets + 1);
	struct conn *c = NULL;
	CHECK(conn_accept(lis, &c, clock_now() + SEC) == -ETIMEDOUT);
	teardown();
}

static void t_listener_close_backlog(void)
{
	setup();
	peer_connect(0);
	fake_net_settle();
	CHECK(peers[0].connected && cstats().in_use == 1);
	conn_listener_close(lis);
	lis = NULL;
	CHECK(cstats().in_use == 0);
	fake_net_settle();
	CHECK(peers[0].dead && peers[0].err == ERR_RST);
	peer_connect(1); /* nobody listens: refused */
	fake_net_settle();
	CHECK(!peers[1].connected && peers[1].dead && peers[1].err == ERR_RST);
	teardown();
}

static struct listener *closing;
static void close_listener(void)
{
	conn_listener_close(closing);
}

static void t_listener_close_wakes_accept(void)
{
	setup();
	struct conn *c = NULL;
	closing = lis;
	lis = NULL;
	at(100 * MSEC, close_listener);
	/* The parked acceptor returns -ECANCELED and, the last to leave,
	 * frees the listener (LeakSanitizer reports it otherwise). */
	CHECK(conn_accept(closing, &c, 0) == -ECANCELED);
	CHECK(c == NULL);
	closing = NULL; /* so the heap check below sees it if it was not freed */
	teardown();
}

static void t_pool_full(void)
{
	setup();
	struct conn *c = open_conn(0);
	struct conn *d = open_conn(1);
	uint64_t refused = cstats().refused_pool;
	peer_connect(2);
	fake_net_settle();
	CHECK(cstats().refused_pool == refused + 1);
	CHECK(peers[2].dead && peers[2].err == ERR_RST);
	CHECK(cstats().in_use == 2);
	if (c)
		conn_close(c);
	if (d)
		conn_close(d);
	teardown();
}

static const struct test_case cases[] = {
    {"accept: handshake wakes the acceptor; peer address; close sends FIN", t_accept},
    {"accept: deadline passes -> -ETIMEDOUT at the deadline", t_accept_timeout},
    {"read: queued data returned without parking, in pieces; ring freed when drained", t_read_queued},
    {"read: parks until data arrives", t_read_blocks},
    {"read: deadline -> -ETIMEDOUT at the deadline, connection still usable", t_read_timeout},
    {"read: data then EOF -> 0, sticky; writes still work (half-close)", t_eof},
    {"read: parked reader woken by FIN -> 0", t_eof_wakes_reader},
    {"reset: buffered data first, then -ECONNRESET (sticky) for read and write", t_reset},
    {"reset: parked reader woken -> -ECONNRESET", t_reset_wakes_reader},
    {"tcp_recved credited as conn_read consumes, not before", t_recved_credit},
    {"read: 200 KB read in pieces, ring wraps, intact", t_read_stream},
    {"read: unread data backs up, ring doubles to the window, intact, freed", t_ring_grows},
    {"read: no memory for the ring: data deferred by lwIP, counted, read later", t_rx_nomem},
    {"write: small writes reach the peer at once (no Nagle)", t_write_small},
    {"write: 300 KB > sndbuf parks and completes as the peer acks", t_write_parks},
    {"write: peer stops reading -> -ETIMEDOUT at the deadline, then usable", t_write_deadline},
    {"write: lwIP out of memory, nothing in flight: 1 ms retries, deadline", t_write_nomem},
    {"park: ready fires once when bytes arrive; park refuses when readable", t_park_data},
    {"park: ready fires on FIN and on reset", t_park_eof_reset},
    {"unpark: no callback after it", t_unpark},
    {"cancel_reads: data first, then -ECANCELED; wakes a parked reader", t_cancel_reads},
    {"close: unread data acked (FIN, not RST); callbacks unhooked, none after", t_close_unhooks},
    {"abort: peer gets RST, conn freed once, no err callback", t_abort},
    {"backlog: reset before accept freed by the err callback alone", t_backlog_reset},
    {"listener close: backlog reset, new connections refused", t_listener_close_backlog},
    {"listener close: parked conn_accept -> -ECANCELED, listener freed", t_listener_close_wakes_accept},
    {"pool full: connection beyond the cap is reset and counted", t_pool_full},
};

int main(void)
{
	test_init("conn");
	fake_net_init();
	fake_sched_set_step(world_step);
	test_run(cases, TEST_COUNT(cases));
	return test_finish();
}
