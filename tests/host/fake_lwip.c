/* lwIP platform fake and wire for host tests (see fake_lwip.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernel/clock.h"
#include "lwip/init.h"
#include "lwip/ip4.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/sys.h"
#include "lwip/timeouts.h"
#include "net/lwip_mem.h"
#include "tests/host/fake_lwip.h"
#include "tests/host/fake_sched.h"

/* ---- platform: net/lwip_port.c and net/lwip_mem.c in the kernel ---- */

static size_t mem_blocks;
static int mem_fail_task;
static int in_world; /* > 0 inside fake_net_*: lwIP runs as the net poller */

u32_t sys_now(void)
{
	return (u32_t)(clock_now() / NSEC_PER_MSEC);
}

/* Fixed xorshift sequence: ports and sequence numbers repeat run to run. */
uint32_t net_rand(void)
{
	static uint32_t s = 0x2545f491u;
	s ^= s << 13;
	s ^= s >> 17;
	s ^= s << 5;
	return s;
}

void net_lwip_diag(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

void net_lwip_assert(const char *msg, const char *file, int line)
{
	fprintf(stderr, "lwIP assertion \"%s\" failed at %s:%d\n", msg, file, line);
	abort();
}

static bool mem_refuse(void)
{
	return !in_world && mem_fail_task > 0 && mem_fail_task-- > 0;
}

void *lwip_mem_malloc(size_t n)
{
	void *p = mem_refuse() ? NULL : malloc(n);
	mem_blocks += p != NULL;
	return p;
}

void *lwip_mem_calloc(size_t count, size_t size)
{
	void *p = mem_refuse() ? NULL : calloc(count, size);
	mem_blocks += p != NULL;
	return p;
}

void lwip_mem_free(void *p)
{
	mem_blocks -= p != NULL;
	free(p);
}

size_t fake_lwip_mem_outstanding(void)
{
	return mem_blocks;
}

void fake_lwip_mem_fail_task(int n)
{
	mem_fail_task = n;
}

/* ---- the wire ---- */

struct packet {
	struct packet *next;
	struct pbuf *p;
	struct netif *to;
};

static struct netif keel_if, peer_if;
static ip4_addr_t keel_ip, peer_ip;
static struct packet *wire_head, **wire_tail = &wire_head;
static struct fake_net_stats stats;

const ip4_addr_t *fake_net_keel_ip(void)
{
	return &keel_ip;
}
const ip4_addr_t *fake_net_peer_ip(void)
{
	return &peer_ip;
}

void fake_net_stats(struct fake_net_stats *out)
{
	*out = stats;
}

/* netif->output: the caller keeps p, so the wire carries a copy. Both
 * subnets are on-link, so the next hop is the destination. */
static err_t wire_output(struct netif *n, struct pbuf *p, const ip4_addr_t *next_hop)
{
	(void)n;
	stats.packets++;
	struct netif *to = ip4_addr_cmp(next_hop, &keel_ip)   ? &keel_if
			   : ip4_addr_cmp(next_hop, &peer_ip) ? &peer_if
							      : NULL;
	if (!to) {
		stats.lost++;
		return ERR_OK;
	}
	in_world++; /* the wire's own copy is not the task's allocation */
	struct pbuf *q = pbuf_alloc(PBUF_RAW, p->tot_len, PBUF_RAM);
	struct packet *pkt = malloc(sizeof *pkt);
	in_world--;
	if (!q || !pkt || pbuf_copy(q, p) != ERR_OK) {
		if (q)
			pbuf_free(q);
		free(pkt);
		return ERR_MEM;
	}
	*pkt = (struct packet){.p = q, .to = to};
	*wire_tail = pkt;
	wire_tail = &pkt->next;
	return ERR_OK;
}

static err_t wire_netif_init(struct netif *n)
{
	n->name[0] = 'w';
	n->name[1] = n == &keel_if ? 'k' : 'p';
	n->output = wire_output;
	n->mtu = 1500;
	n->flags = NETIF_FLAG_LINK_UP;
	return ERR_OK;
}

void fake_net_init(void)
{
	ip4_addr_t mask, gw;
	lwip_init();
	ip4addr_aton(FAKE_NET_KEEL_IP, &keel_ip);
	ip4addr_aton(FAKE_NET_PEER_IP, &peer_ip);
	ip4addr_aton("255.255.255.0", &mask);
	ip4_addr_set_zero(&gw);
	netif_add(&keel_if, &keel_ip, &mask, &gw, NULL, wire_netif_init, ip4_input);
	netif_add(&peer_if, &peer_ip, &mask, &gw, NULL, wire_netif_init, ip4_input);
	netif_set_up(&keel_if);
	netif_set_up(&peer_if);
}

bool fake_net_deliver(void)
{
	struct packet *batch = wire_head;
	if (!batch)
		return false;
	wire_head = NULL;
	wire_tail = &wire_head;
	in_world++;
	while (batch) {
		struct packet *pkt = batch;
		batch = pkt->next;
		if (pkt->to->input(pkt->p, pkt->to) != ERR_OK) /* ip4_input frees it otherwise */
			pbuf_free(pkt->p);
		free(pkt);
	}
	in_world--;
	return true;
}

void fake_net_advance(uint64_t deadline, uint64_t event)
{
	uint32_t ms = sys_timeouts_sleeptime();
	uint64_t t =
	    ms == SYS_TIMEOUTS_SLEEPTIME_INFINITE ? UINT64_MAX : ((uint64_t)sys_now() + ms) * NSEC_PER_MSEC;
	if (deadline && deadline < t)
		t = deadline;
	if (event && event < t)
		t = event;
	if (t != UINT64_MAX)
		fake_clock_set(t);
	in_world++;
	sys_check_timeouts();
	in_world--;
}

void fake_net_settle(void)
{
	while (fake_net_deliver())
		;
}

void fake_net_run_for(uint64_t ns)
{
	uint64_t end = clock_now() + ns;
	for (;;) {
		if (fake_net_deliver())
			continue;
		if (clock_now() >= end)
			return;
		fake_net_advance(end, 0);
	}
}
