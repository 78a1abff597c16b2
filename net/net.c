/* lwIP glue: the netif over struct netdev and the net poller task, the
 * NO_SYS main loop of lwIP's doc/NO_SYS_SampleCode.c moved into a task:
 *
 *   drain RX into pool pbufs -> netif->input -> sys_check_timeouts ->
 *   flush the NIC -> unmask its interrupt -> park until the IRQ, the
 *   next lwIP timer, or a task's first queued frame.
 *
 * Frames go out in bursts: the driver queues each one (linkoutput) and
 * the poller shows them to the device once per pass (netdev flush), so
 * the responses of every task that ran in between share one doorbell.
 * The first frame a task queues wakes the poller if it is parked; it runs
 * after the tasks already runnable, so no frame waits longer than one
 * round of the run queue.
 *
 * lwIP is not reentrant; the cooperative scheduler guarantees that only
 * one task is ever inside it, and IRQ handlers never call it. */
#include <errno.h>
#include <string.h>

#include "kernel/clock.h"
#include "kernel/cmdline.h"
#include "kernel/cpu.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/sched.h"
#include "kernel/shutdown.h"
#include "lwip/dhcp.h"
#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/ip4.h"
#include "lwip/prot/tcp.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "net/conn.h"
#include "net/lwip_mem.h"
#include "net/net.h"
#include "net/netdev.h"
#include "netif/ethernet.h"

#define RX_BUDGET     64 /* frames per poll before yielding to other tasks */
#define TX_GATHER_MAX 16 /* pbufs per frame: TCP sends 2-3 */
#define TX_WAIT_NS    (100 * NSEC_PER_MSEC)

static struct netif netif;
static struct netdev *dev;
static struct net_counters counters;
static struct waitq ready_wq = WAITQ_INIT(ready_wq);
static bool tx_queued; /* frames queued since the poller last flushed */

/* Send one frame. Called inside lwIP from whichever task is running it;
 * a full TX ring is waited out here (spinning: lwIP cannot be left
 * mid-call), bounded so a wedged device costs a drop, not a hang. */
static err_t linkoutput(struct netif *nif, struct pbuf *p)
{
	(void)nif;
	struct netdev_seg segs[TX_GATHER_MAX];
	int n = 0;
	for (struct pbuf *q = p; q; q = q->next) {
		if (n == TX_GATHER_MAX) {
			counters.tx_chain_long++;
			dev->stats.tx_dropped++;
			return ERR_BUF;
		}
		segs[n++] = (struct netdev_seg){q->payload, q->len};
	}
	uint64_t deadline = 0;
	for (;;) {
		int err = dev->ops->tx(dev, segs, n);
		if (err == 0) {
			if (!tx_queued) {
				tx_queued = true;
				waitq_wake_one(&dev->wq); /* the poller flushes it */
			}
			return ERR_OK;
		}
		if (err != -EAGAIN)
			return ERR_IF; /* the driver counted it */
		if (!deadline)
			deadline = clock_now() + TX_WAIT_NS;
		else if (clock_now() > deadline) {
			counters.tx_timeouts++;
			dev->stats.tx_dropped++;
			return ERR_IF; /* TCP retransmits; other protocols lose the frame */
		}
		cpu_relax();
	}
}

static err_t netif_setup(struct netif *nif)
{
	nif->name[0] = 'e';
	nif->name[1] = 'n';
	nif->mtu = 1500;
	nif->hwaddr_len = ETH_HWADDR_LEN;
	memcpy(nif->hwaddr, dev->mac, ETH_HWADDR_LEN);
	nif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
	nif->output = etharp_output;
	nif->linkoutput = linkoutput;
	/* With TCP checksum offload lwIP leaves the TCP checksum zero and the
	 * driver marks each frame for the device to fill it in. */
	NETIF_SET_CHECKSUM_CTRL(nif, NETIF_CHECKSUM_ENABLE_ALL &
					 ~((dev->offloads & NETDEV_TX_TCP_CSUM) ? NETIF_CHECKSUM_GEN_TCP : 0));
	return ERR_OK;
}

static void on_status(struct netif *nif)
{
	if (ip4_addr_isany_val(*netif_ip4_addr(nif)))
		return;
	char ip[16], mask[16], gw[16];
	ip4addr_ntoa_r(netif_ip4_addr(nif), ip, sizeof ip);
	ip4addr_ntoa_r(netif_ip4_netmask(nif), mask, sizeof mask);
	ip4addr_ntoa_r(netif_ip4_gw(nif), gw, sizeof gw);
	log_info("net", "address %s netmask %s gateway %s (%s)", ip, mask, gw,
		 dhcp_supplied_address(nif) ? "dhcp" : "static");
	waitq_wake_all(&ready_wq);
}

/* RFC 6191 §2 (as Linux does): a new SYN whose sequence number is beyond
 * what a TIME-WAIT connection with the same addresses and ports last saw
 * may start a new incarnation. lwIP instead answers it with an ACK and
 * ignores the client's RST, so a client that reuses its port soon (at a
 * few thousand connections per second it does) hangs until TIME-WAIT
 * ends. Retire such a TIME-WAIT PCB before lwIP sees the SYN. */
static void recycle_time_wait(const uint8_t *f, size_t len)
{
	const size_t eth = 14;
	if (len < eth + IP_HLEN + TCP_HLEN || f[12] != 0x08 || f[13] != 0x00)
		return;
	const struct ip_hdr *ip = (const void *)(f + eth);
	size_t ihl = (size_t)IPH_HL_BYTES(ip);
	if (IPH_PROTO(ip) != IP_PROTO_TCP || ihl < IP_HLEN || len < eth + ihl + TCP_HLEN)
		return;
	const struct tcp_hdr *th = (const void *)(f + eth + ihl);
	if ((TCPH_FLAGS(th) & (TCP_SYN | TCP_ACK | TCP_RST)) != TCP_SYN)
		return;
	const u16_t local = lwip_ntohs(th->dest), remote = lwip_ntohs(th->src); /* once, not per PCB */
	for (struct tcp_pcb *pcb = tcp_tw_pcbs; pcb; pcb = pcb->next)
		if (pcb->local_port == local && pcb->remote_port == remote &&
		    ip4_addr_get_u32(&pcb->remote_ip) == ip->src.addr &&
		    ip4_addr_get_u32(&pcb->local_ip) == ip->dest.addr) {
			if (TCP_SEQ_GT(lwip_ntohl(th->seqno), pcb->rcv_nxt)) {
				counters.tw_recycled++;
				tcp_abort(pcb); /* TIME-WAIT: freed, no RST sent */
			}
			return;
		}
}

/* lwIP walks its TIME_WAIT list for every SYN (and so does
 * recycle_time_wait): at thousands of closes a second it grows by that
 * much per second for a minute. Keep the newest KEEL_TIME_WAIT_PCBS (lwIP
 * puts new ones first) and free the rest, as its own tcp_kill_timewait
 * would one at a time; they only absorb stray segments of connections
 * both sides have closed. Checked every TW_TRIM_NS. */
#define TW_TRIM_NS (10 * NSEC_PER_MSEC)

static void trim_time_wait(void)
{
	static uint64_t next;
	uint64_t now = clock_now();
	if (now < next)
		return;
	next = now + TW_TRIM_NS;
	struct tcp_pcb *keep = tcp_tw_pcbs;
	for (int i = 1; keep && i < KEEL_TIME_WAIT_PCBS; i++)
		keep = keep->next;
	if (!keep)
		return;
	struct tcp_pcb *old = keep->next;
	keep->next = NULL;
	while (old) {
		struct tcp_pcb *next_pcb = old->next;
		tcp_free(old);
		counters.tw_trimmed++;
		old = next_pcb;
	}
}

enum rx_result { RX_DRAINED, RX_MORE, RX_NO_PBUF };

/* A pool pbuf chain of NETDEV_RX_MAX bytes has this many pbufs at most. */
#define RX_BUFS_MAX (NETDEV_RX_MAX / (PBUF_POOL_BUFSIZE - MEM_ALIGNMENT) + 2)

/* The chain's payloads as the driver's buffers; their count. */
static int rx_bufs(struct pbuf *p, struct netdev_buf *bufs)
{
	int n = 0;
	for (struct pbuf *q = p; q && n < RX_BUFS_MAX; q = q->next)
		bufs[n++] = (struct netdev_buf){ q->payload, q->len };
	return n;
}

/* Receive the next frame into a pool pbuf, or a chain of them when it is
 * longer than one (a coalesced TCP segment): *out, or NULL with
 * RX_DRAINED or RX_NO_PBUF. */
static enum rx_result rx_frame(struct pbuf **out, struct netdev_rx_info *info)
{
	static struct netdev_buf bufs[RX_BUFS_MAX]; /* one poller: not reentered */
	*out = NULL;
	struct pbuf *p = pbuf_alloc(PBUF_RAW, NETDEV_FRAME_MAX, PBUF_POOL);
	if (!p)
		return RX_NO_PBUF;
	int len = dev->ops->rx(dev, bufs, rx_bufs(p, bufs), info);
	if (len == -EMSGSIZE && info->len <= NETDEV_RX_MAX) {
		pbuf_free(p);
		if (!(p = pbuf_alloc(PBUF_RAW, (u16_t)info->len, PBUF_POOL)))
			return RX_NO_PBUF; /* the frame stays pending in the driver */
		len = dev->ops->rx(dev, bufs, rx_bufs(p, bufs), info);
	}
	if (len <= 0) { /* -EMSGSIZE again would be a driver bug: the frame is left with it */
		pbuf_free(p);
		return RX_DRAINED;
	}
	if (len > NETDEV_FRAME_MAX)
		counters.rx_large++;
	pbuf_realloc(p, (u16_t)len);
	*out = p;
	return RX_MORE;
}

/* Move up to RX_BUDGET frames from the ring into lwIP. A frame the device
 * vouches for skips lwIP's TCP/UDP checksum check (per netif, so the flags
 * are set around its input: lwIP handles it within the call, NO_SYS). */
static enum rx_result rx_batch(void)
{
	const u16_t base = netif.chksum_flags;
	for (int i = 0; i < RX_BUDGET; i++) {
		struct pbuf *p;
		struct netdev_rx_info info;
		enum rx_result r = rx_frame(&p, &info);
		if (r == RX_NO_PBUF) {
			/* Frames stay in the ring (the device applies backpressure)
			 * until reassembly or out-of-order queues give pbufs back. */
			counters.rx_no_pbuf++;
			return RX_NO_PBUF;
		}
		if (r == RX_DRAINED)
			return RX_DRAINED;
		recycle_time_wait(p->payload, p->len);
		if (info.flags & NETDEV_RX_L4_CSUM_OK)
			NETIF_SET_CHECKSUM_CTRL(&netif, base & ~(NETIF_CHECKSUM_CHECK_TCP | NETIF_CHECKSUM_CHECK_UDP));
		if (netif.input(p, &netif) != ERR_OK) {
			counters.rx_input_err++;
			pbuf_free(p);
		}
		NETIF_SET_CHECKSUM_CTRL(&netif, base);
	}
	return RX_MORE;
}

static void track_link(void)
{
	if (dev->link_up && !netif_is_link_up(&netif)) {
		log_info("net", "link up");
		netif_set_link_up(&netif);
	} else if (!dev->link_up && netif_is_link_up(&netif)) {
		log_warn("net", "link down");
		netif_set_link_down(&netif);
	}
}

static void poller(void *arg)
{
	(void)arg;
	for (;;) {
		counters.polls++;
		enum rx_result rx = rx_batch();
		sys_check_timeouts();
		trim_time_wait();
		track_link();
		tx_queued = false;
		dev->ops->flush(dev);
		if (rx == RX_MORE) {
			sched_yield();
			continue;
		}
		if (rx == RX_NO_PBUF) { /* a task's queued frame still wakes us */
			uint64_t f = irq_save();
			waitq_wait(&dev->wq, clock_now() + NSEC_PER_MSEC);
			irq_restore(f);
			continue;
		}
		uint32_t ms = sys_timeouts_sleeptime();
		uint64_t deadline =
		    ms == SYS_TIMEOUTS_SLEEPTIME_INFINITE ? 0 : clock_now() + ms * NSEC_PER_MSEC + 1;
		uint64_t f = irq_save(); /* the IRQ's wake must find us parked */
		if (!dev->ops->irq_rearm(dev))
			waitq_wait(&dev->wq, deadline);
		irq_restore(f);
	}
}

/* lwIP may hold half of the memory free at boot; the rest is for tasks,
 * connection state and the application. */
#define LWIP_BUDGET_SHARE 2
/* Connections beyond max_conns: those answered 503, queued in the listen
 * backlog, or closing. */
#define NET_CONN_HEADROOM 64

static struct cmdline_ipv4 cfg_ip;
static uint32_t cfg_gw;

static const struct cmdline_option options[] = {
    CMDLINE_IPV4_NET_ROW("ip", cfg_ip, "dhcp", "IPv4 address and prefix length, or dhcp"),
    CMDLINE_IPV4_ROW("gw", cfg_gw, "0.0.0.0", "default gateway with a static ip= (0.0.0.0: none)"),
};
CMDLINE_TABLE(net, options);

/* Power-off: what tasks queued since the poller last ran goes out. */
static void flush_at_poweroff(void) { dev->ops->flush(dev); }

int net_init(uint32_t max_conns)
{
	dev = netdev_get();
	if (!dev)
		return -ENODEV;
	uint32_t conns = max_conns + NET_CONN_HEADROOM;
	lwip_mem_init(pmm_free_pages() * PAGE_SIZE / LWIP_BUDGET_SHARE, conns + KEEL_TIME_WAIT_PCBS);
	lwip_init();
	conn_init(conns);
	log_info("net", "TCP: window %d B, send buffer %d B, MSS %d B", TCP_WND, TCP_SND_BUF, TCP_MSS);
	ip4_addr_t ip = {0}, mask = {0}, gw = {0};
	if (!cfg_ip.dhcp) {
		ip.addr = lwip_htonl(cfg_ip.addr);
		mask.addr = lwip_htonl(cfg_ip.prefix ? 0xffffffffu << (32 - cfg_ip.prefix) : 0);
		gw.addr = lwip_htonl(cfg_gw);
	}
	netif_add(&netif, &ip, &mask, &gw, NULL, netif_setup, ethernet_input);
	netif_set_status_callback(&netif, on_status);
	netif_set_default(&netif);
	netif_set_up(&netif);
	track_link();
	if (cfg_ip.dhcp) {
		log_info("net", "requesting an address by DHCP");
		dhcp_start(&netif);
	}
	if (!task_spawn("net-poller", poller, NULL, 0))
		return -ENOMEM;
	shutdown_set_final(flush_at_poweroff);
	return 0;
}

int net_wait_ready(uint64_t deadline)
{
	while (ip4_addr_isany_val(*netif_ip4_addr(&netif)))
		if (waitq_wait(&ready_wq, deadline) == -ETIMEDOUT)
			return -ETIMEDOUT;
	return 0;
}

uint32_t net_ipv4_addr(void)
{
	return lwip_ntohl(ip4_addr_get_u32(netif_ip4_addr(&netif)));
}

void net_get_counters(struct net_counters *out)
{
	*out = counters;
}
