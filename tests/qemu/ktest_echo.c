/* TCP services for the network tests (test=echo), driven from the host by
 * tests/qemu/netclient.py through a tap in a network namespace:
 *   port 7  echo (RFC 862): every byte read is written back, until EOF
 *   port 9  stats: one line of key=value counters, then close
 *   port 13 greeting: the server writes one line and closes first, so the
 *           guest holds the TIME_WAIT state (lwIP must recycle those PCBs)
 * The suite never returns: QEMU is stopped with the power button. */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>

#include "kernel/clock.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/sched.h"
#include "lwip/stats.h"
#include "net/conn.h"
#include "net/lwip_mem.h"
#include "net/net.h"
#include "net/netdev.h"
#include "tests/qemu/ktest.h"

#define IO_TIMEOUT (30 * NSEC_PER_SEC)

static void echo_conn(void *arg)
{
	struct conn *c = arg;
	char buf[4096];
	ssize_t n;
	while ((n = conn_read(c, buf, sizeof buf, clock_now() + IO_TIMEOUT)) > 0)
		if (conn_write(c, buf, (size_t)n, clock_now() + IO_TIMEOUT) < 0)
			break;
	if (n < 0 && n != -ECONNRESET)
		log_warn("echo", "connection ended with error %zd", n);
	conn_close(c);
}

/* Heap in use less the blocks kept for reuse (lwIP's size classes, freed
 * connections): what a leak would make grow. */
static size_t heap_live(const struct conn_stats *cs)
{
	struct lwip_mem_stats ls;
	lwip_mem_get_stats(&ls);
	return mallinfo().uordblks - (ls.held - ls.in_use) - cs->cached_bytes;
}

static void stats_conn(struct conn *c)
{
	char line[512];
	struct conn_stats cs;
	struct sched_stats ss;
	struct net_counters nc;
	const struct netdev_stats *ds = &netdev_get()->stats;
	conn_get_stats(&cs);
	sched_get_stats(&ss);
	net_get_counters(&nc);
	int n = snprintf(line, sizeof line,
			 "free_pages=%zu heap_used=%zu lwip_mem_used=%u tcp_pcbs_used=%u conns_in_use=%u tasks=%u "
			 "accepted=%lu refused=%lu rx_packets=%lu tx_packets=%lu rx_dropped=%lu tx_dropped=%lu "
			 "tx_ring_full=%lu rx_no_pbuf=%lu irqs=%lu tw_recycled=%lu\n",
			 pmm_free_pages(), heap_live(&cs), (unsigned)lwip_stats.mem.used,
			 (unsigned)lwip_stats.memp[MEMP_TCP_PCB]->used, cs.in_use, ss.live, cs.accepted,
			 cs.refused_backlog + cs.refused_pool, ds->rx_packets, ds->tx_packets, ds->rx_dropped,
			 ds->tx_dropped, ds->tx_ring_full, nc.rx_no_pbuf, ds->irqs, nc.tw_recycled);
	conn_write(c, line, (size_t)n, clock_now() + IO_TIMEOUT);
	conn_close(c);
}

static void greet_conn(struct conn *c)
{
	static const char line[] = "keel\n";
	conn_write(c, line, sizeof line - 1, clock_now() + IO_TIMEOUT);
	conn_close(c);
}

static void serve(uint16_t port, void (*handle)(struct conn *))
{
	struct listener *l;
	int err = conn_listen(port, 128, &l);
	if (err < 0) {
		log_err("ktest", "cannot listen on port %u: %d", port, err);
		return;
	}
	for (;;) {
		struct conn *c;
		if (conn_accept(l, &c, 0) == 0)
			handle(c);
	}
}

static void spawn_echo(struct conn *c)
{
	if (!task_spawn("echo-conn", echo_conn, c, 0))
		conn_abort(c);
}

static void echo_listener(void *arg)
{
	(void)arg;
	serve(7, spawn_echo);
}

static void stats_listener(void *arg)
{
	(void)arg;
	serve(9, stats_conn);
}

static void greet_listener(void *arg)
{
	(void)arg;
	serve(13, greet_conn);
}

void ktest_suite_echo(void)
{
	if (net_wait_ready(clock_now() + 30 * NSEC_PER_SEC) < 0) {
		CHECK(!"no IPv4 address within 30 s");
		return;
	}
	task_spawn("echo-listen", echo_listener, NULL, 0);
	task_spawn("stats-listen", stats_listener, NULL, 0);
	task_spawn("greet-listen", greet_listener, NULL, 0);
	log_info("ktest", "echo ready on ports 7, 9 and 13");
	for (;;)
		sched_sleep(60 * NSEC_PER_SEC);
}
