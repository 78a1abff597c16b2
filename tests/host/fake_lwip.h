/* Host fake of lwIP's platform (what net/lwip_port.c and net/lwip_mem.c
 * give it in the kernel) and a wire, so the real lwIP core runs in a
 * host test, as lwIP's own test/fuzz harness runs it behind a fake netif.
 *
 * Two netifs stand for the two ends: FAKE_NET_KEEL_IP (the kernel's side)
 * and FAKE_NET_PEER_IP (a remote host, played by raw lwIP pcbs in the
 * test). A packet either sends is copied onto the wire and reaches the
 * netif that owns its next hop only when the test, or a wait inside the
 * module under test (fake_sched.h), lets the world take a step. Time is
 * fake_sched's virtual clock: sys_now() derives from clock_now(), and
 * lwIP's timers run only as the fake advances it. net_rand is a fixed
 * sequence, so every run sends the same packets. */
#ifndef KEEL_FAKE_LWIP_H
#define KEEL_FAKE_LWIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lwip/ip4_addr.h"

#define FAKE_NET_KEEL_IP "10.0.0.1" /* /24 */
#define FAKE_NET_PEER_IP "10.0.1.2" /* /24 */

/* lwip_init() and the two netifs, up. Once per process. */
void fake_net_init(void);
const ip4_addr_t *fake_net_keel_ip(void);
const ip4_addr_t *fake_net_peer_ip(void);

/* Deliver the packets on the wire now, in the order sent (those they
 * cause wait for the next call). False if there were none. */
bool fake_net_deliver(void);
/* Move the clock to the earliest of lwIP's next timer, deadline and event
 * (0: none for either) and run the timers due. */
void fake_net_advance(uint64_t deadline, uint64_t event);
/* Deliver until the wire is quiet; no time passes. */
void fake_net_settle(void);
/* Let ns of virtual time pass: packets and timers. */
void fake_net_run_for(uint64_t ns);

struct fake_net_stats {
	uint64_t packets; /* put on the wire */
	uint64_t lost;    /* no netif owns the next hop */
};
void fake_net_stats(struct fake_net_stats *out);

/* lwIP heap blocks (mem_clib_malloc) not yet freed. */
size_t fake_lwip_mem_outstanding(void);
/* Make the next n lwIP allocations made by the task fail, as an exhausted
 * lwip_mem budget does; allocations inside fake_net_* (the net poller's
 * and timers' work, the wire) are not affected. 0 disarms. */
void fake_lwip_mem_fail_task(int n);

#endif
