/* The seam between NIC drivers and the network stack. A driver fills in a
 * struct netdev and registers it; the net poller task (poller() in
 * net/net.c) does all the work: the driver's IRQ handler only acknowledges
 * the device, masks further device interrupts and calls netdev_irq().
 *
 * Every driver op is non-blocking and is called from task context only,
 * never concurrently (one poller, cooperative tasks). */
#ifndef KEEL_NETDEV_H
#define KEEL_NETDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/sched.h"

#define NETDEV_FRAME_MAX 1514 /* Ethernet header + 1500-byte MTU, no FCS */

struct netdev_seg {
	const void *data;
	size_t len;
};

/* Every drop or failure is counted here; nothing is dropped silently. */
struct netdev_stats {
	uint64_t rx_packets, rx_bytes;
	uint64_t rx_dropped;   /* frames the device or driver discarded (too long, errors) */
	uint64_t tx_packets, tx_bytes;
	uint64_t tx_ring_full; /* tx returned -EAGAIN */
	uint64_t tx_dropped;   /* frames given up on (too long, ring stuck) */
	uint64_t irqs;
	uint64_t link_changes;
};

struct netdev;

struct netdev_ops {
	/* Copy the next received frame into buf (cap >= NETDEV_FRAME_MAX),
	 * give its buffer back to the device, and return the frame length; 0
	 * if nothing is pending. */
	int (*rx)(struct netdev *dev, void *buf, size_t cap);
	/* Gather the segments into one TX buffer and hand it to the device.
	 * Reclaims completed TX buffers first. Returns 0, -EAGAIN if the TX
	 * ring is still full, -EMSGSIZE if the frame exceeds NETDEV_FRAME_MAX. */
	int (*tx)(struct netdev *dev, const struct netdev_seg *segs, int nsegs);
	/* Unmask device interrupts after the poller found no more work.
	 * Returns true if work arrived while they were masked: the poller
	 * must then poll again instead of sleeping (the lost-interrupt race,
	 * virtio 1.1 §2.7.10). */
	bool (*irq_rearm)(struct netdev *dev);
};

struct netdev {
	const char *name; /* "virtio-net", "e1000" */
	uint8_t mac[6];
	bool link_up;
	const struct netdev_ops *ops;
	struct netdev_stats stats;
	struct waitq wq; /* the poller parks here; netdev_irq wakes it */
	void *priv;
};

/* Make the device known to the stack (one NIC for now). 0 or -EBUSY. */
int netdev_register(struct netdev *dev);
struct netdev *netdev_get(void);
/* From the driver's IRQ handler, after acking and masking the device. */
void netdev_irq(struct netdev *dev);
/* Probe the drivers in turn and register the first NIC found; NULL if
 * there is none. */
struct netdev *netdev_probe(void);

#endif
