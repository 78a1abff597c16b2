/* NIC driver suite (test=nic), for whichever driver netdev_probe() found.
 * QEMU's user-mode network answers ARP and ICMP echo for its gateway
 * 10.0.2.2, so raw frames exercise TX, RX, ring wrap-around, interrupts
 * and the counters without any IP stack in the guest. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "kernel/clock.h"
#include "kernel/cpu.h"
#include "kernel/log.h"
#include "net/netdev.h"
#include "tests/qemu/ktest.h"

#define GUEST_IP 0x0a00020f /* 10.0.2.15 */
#define GATEWAY_IP 0x0a000202
#define PING_ID 0x4b45
#define WAIT_NS (5 * NSEC_PER_SEC) /* per reply; the harness bounds the whole run */

static struct netdev *dev;
static uint8_t gw_mac[6];
static uint64_t frames_sent;
static int pings_answered;

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)), put16(p + 2, (uint16_t)v); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }

static uint16_t inet_checksum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += get16(p + i);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void send_frame(const uint8_t *f, size_t n)
{
	struct netdev_seg seg = { f, n };
	int err;
	while ((err = dev->ops->tx(dev, &seg, 1)) == -EAGAIN)
		sched_yield(); /* the ring drains as the device completes */
	dev->ops->flush(dev);
	CHECK(err == 0);
	frames_sent += err == 0;
}

/* Receive frames until `match` accepts one or the deadline passes; sleeps
 * on the device's interrupt in between. */
static bool receive(bool (*match)(const uint8_t *f, int n), uint64_t deadline)
{
	static uint8_t buf[2048];
	const struct netdev_buf b = { buf, sizeof buf };
	while (clock_now() < deadline) {
		struct netdev_rx_info info;
		int n = dev->ops->rx(dev, &b, 1, &info);
		if (n > 0 && match(buf, n))
			return true;
		if (n > 0)
			continue;
		dev->ops->flush(dev); /* the buffers rx() gave back */
		uint64_t f = irq_save(); /* see sched.h: IRQ-set conditions */
		if (!dev->ops->irq_rearm(dev))
			waitq_wait(&dev->wq, deadline);
		irq_restore(f);
	}
	return false;
}

static size_t eth_header(uint8_t *f, const uint8_t *dst, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, dev->mac, 6);
	put16(f + 12, type);
	return 14;
}

static bool is_arp_reply(const uint8_t *f, int n)
{
	if (n < 42 || get16(f + 12) != 0x0806 || get16(f + 20) != 2 || get32(f + 28) != GATEWAY_IP)
		return false;
	memcpy(gw_mac, f + 22, 6);
	return true;
}

static bool is_echo_reply(const uint8_t *f, int n)
{
	if (n < 42 || get16(f + 12) != 0x0800 || f[23] != 1 || get32(f + 26) != GATEWAY_IP)
		return false;
	const uint8_t *icmp = f + 14 + (f[14] & 0xf) * 4;
	if (icmp[0] != 0 || get16(icmp + 4) != PING_ID)
		return false;
	pings_answered++;
	return true;
}

static void test_registered(void)
{
	dev = netdev_get();
	CHECK(dev != NULL);
	if (!dev)
		return;
	static const uint8_t zero[6];
	CHECK(memcmp(dev->mac, zero, 6) != 0 && !(dev->mac[0] & 1)); /* unicast, set */
	log_info("ktest", "nic: driver %s", dev->name);
}

static void test_arp(void)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t f[60] = { 0 }; /* padded to the Ethernet minimum */
	uint8_t *a = f + eth_header(f, bcast, 0x0806);
	put16(a, 1);          /* hardware: Ethernet */
	put16(a + 2, 0x0800); /* protocol: IPv4 */
	a[4] = 6, a[5] = 4;
	put16(a + 6, 1); /* request */
	memcpy(a + 8, dev->mac, 6);
	put32(a + 14, GUEST_IP);
	put32(a + 24, GATEWAY_IP);
	send_frame(f, sizeof f);
	CHECK(receive(is_arp_reply, clock_now() + WAIT_NS));
}

static size_t echo_request(uint8_t *f, uint16_t seq)
{
	uint8_t *ip = f + eth_header(f, gw_mac, 0x0800);
	uint8_t *icmp = ip + 20;
	const size_t payload = 56;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + 8 + payload));
	ip[8] = 64; /* TTL */
	ip[9] = 1;  /* ICMP */
	put32(ip + 12, GUEST_IP);
	put32(ip + 16, GATEWAY_IP);
	put16(ip + 10, inet_checksum(ip, 20));
	icmp[0] = 8; /* echo request */
	icmp[1] = 0;
	put16(icmp + 2, 0);
	put16(icmp + 4, PING_ID);
	put16(icmp + 6, seq);
	for (size_t i = 0; i < payload; i++)
		icmp[8 + i] = (uint8_t)(seq + i);
	put16(icmp + 2, inet_checksum(icmp, 8 + payload));
	return 14 + 20 + 8 + payload;
}

/* More pings than either ring holds, in bursts, so both rings wrap and the
 * TX path meets a full ring. */
static void test_pings(void)
{
	static uint8_t f[128];
	const int total = 600, burst = 40;
	pings_answered = 0;
	for (int sent = 0; sent < total; sent += burst) {
		for (int i = 0; i < burst; i++)
			send_frame(f, echo_request(f, (uint16_t)(sent + i)));
		while (pings_answered < sent + burst && receive(is_echo_reply, clock_now() + WAIT_NS))
			;
	}
	CHECK(pings_answered == total);
}

static void test_oversized_frame(void)
{
	static uint8_t big[NETDEV_FRAME_MAX + 1];
	struct netdev_seg seg = { big, sizeof big };
	uint64_t packets = dev->stats.tx_packets;
	CHECK(dev->ops->tx(dev, &seg, 1) == -EMSGSIZE);
	CHECK(dev->stats.tx_packets == packets);
}

static void test_counters(void)
{
	const struct netdev_stats *s = &dev->stats;
	log_info("ktest", "nic: rx %lu pkts %lu B dropped %lu; tx %lu pkts %lu B ring-full %lu dropped %lu; irqs %lu",
		 s->rx_packets, s->rx_bytes, s->rx_dropped, s->tx_packets, s->tx_bytes, s->tx_ring_full,
		 s->tx_dropped, s->irqs);
	CHECK(s->tx_packets == frames_sent);
	CHECK(s->rx_packets >= (uint64_t)pings_answered + 1);
	CHECK(s->rx_dropped == 0);
	CHECK(s->tx_dropped == 1); /* the oversized frame, and nothing else */
	CHECK(s->irqs > 0); /* the waits above were ended by interrupts */
}

void ktest_suite_nic(void)
{
	ktest_run_case("a NIC is registered with a unicast MAC", test_registered);
	if (!dev)
		return;
	ktest_run_case("ARP request to the gateway is answered", test_arp);
	ktest_run_case("600 pings in bursts of 40 are all answered", test_pings);
	ktest_run_case("an oversized frame is refused, not sent", test_oversized_frame);
	ktest_run_case("counters match the traffic, no drops, interrupts seen", test_counters);
}
