/* The network stack: lwIP (NO_SYS, raw API) on the registered netdev,
 * driven by one net poller task. */
#ifndef KEEL_NET_H
#define KEEL_NET_H

#include <stdint.h>

/* Bring up lwIP on the NIC found by netdev_probe(): static address or
 * DHCP per the ip= and gw= options, then start the poller. max_conns: the
 * TCP connections the application may hold at once (lwIP's budget is
 * sized for them). -ENODEV without NIC. */
int net_init(uint32_t max_conns);
/* Wait until the interface has an IPv4 address; 0 or -ETIMEDOUT. */
int net_wait_ready(uint64_t deadline);
/* Interface address in host byte order (10.0.2.15 is 0x0a00020f; 0
 * before DHCP completes). */
uint32_t net_ipv4_addr(void);

struct net_counters {
	uint64_t rx_no_pbuf;    /* RX frames left in the ring: pbuf pool empty */
	uint64_t rx_input_err;  /* frames lwIP refused (counted, freed) */
	uint64_t rx_large;      /* frames longer than NETDEV_FRAME_MAX (coalesced TCP segments) */
	uint64_t tx_chain_long; /* pbuf chains too long to gather (dropped) */
	uint64_t tx_timeouts;   /* TX ring stayed full past the wait bound */
	uint64_t tw_recycled;   /* TIME-WAIT PCBs retired by a newer SYN (RFC 6191) */
	uint64_t tw_trimmed;    /* oldest TIME-WAIT PCBs freed beyond KEEL_TIME_WAIT_PCBS */
	uint64_t polls;
};
void net_get_counters(struct net_counters *out);

#endif
