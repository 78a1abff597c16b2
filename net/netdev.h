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
/* The largest frame rx may deliver: a device that coalesces received TCP
 * segments (virtio-net GUEST_TSO4) hands over frames near 64 KiB. lwIP
 * counts a packet's bytes in 16 bits; a host's coalesced segments stay
 * below that (Linux: 64 KiB less header room), longer ones are dropped. */
#define NETDEV_RX_MAX 65535

struct netdev_seg {
	const void *data;
	size_t len;
};

/* A buffer rx copies into. */
struct netdev_buf {
	void *data;
	size_t len;
};

/* What rx says about a frame. */
struct netdev_rx_info {
	size_t len;     /* with -EMSGSIZE: the length of the frame left pending */
	unsigned flags; /* NETDEV_RX_* */
};

/* The device vouches for the frame's TCP/UDP checksum (it verified it, or
 * the frame never crossed a wire: virtio's DATA_VALID and NEEDS_CSUM), so
 * the stack need not check it. The IP header checksum is still checked. */
#define NETDEV_RX_L4_CSUM_OK 1u

/* netdev.offloads: what the device does for the stack on transmit. */
/* The device fills in the TCP checksum of IPv4 frames: the stack leaves
 * the field zero, and the driver marks the frame for the device. */
#define NETDEV_TX_TCP_CSUM 1u

/* Every drop or failure is counted here; nothing is dropped silently. */
struct netdev_stats {
	uint64_t rx_packets, rx_bytes;
	uint64_t rx_dropped;   /* frames the device or driver discarded (too long, errors) */
	uint64_t tx_packets, tx_bytes; /* frames handed to the device (a joined one counts once) */
	uint64_t tx_ring_full; /* tx returned -EAGAIN */
	uint64_t tx_dropped;   /* frames given up on (too long, ring stuck) */
	uint64_t tx_gso_frames; /* frames of joined TCP segments the device cuts up (net/tso.h) */
	uint64_t tx_fins_folded; /* bare FINs sent as the flag of the data frame before them */
	uint64_t irqs;
	uint64_t link_changes;
};

struct netdev;

struct netdev_ops {
	/* Copy the next received frame across bufs (in order; bufs[0] holds
	 * at least NETDEV_FRAME_MAX bytes, so a driver that never delivers
	 * more uses only it), give its buffers back to the device, fill in
	 * info and return the frame length; 0 if nothing is pending. A frame
	 * longer than the buffers together stays pending: -EMSGSIZE with its
	 * length in info->len, for a retry with buffers that hold it. The
	 * buffers go back to the device at the next flush (or earlier, when
	 * the driver runs low). */
	int (*rx)(struct netdev *dev, const struct netdev_buf *bufs, int nbufs, struct netdev_rx_info *info);
	/* Gather the segments into one TX buffer and queue it for the device,
	 * which sees it at the next flush. Reclaims completed TX buffers
	 * first. Returns 0, -EAGAIN if the TX ring is still full (the driver
	 * then hands the device what it queued, so the ring drains),
	 * -EMSGSIZE if the frame exceeds NETDEV_FRAME_MAX. */
	int (*tx)(struct netdev *dev, const struct netdev_seg *segs, int nsegs);
	/* Show the device the frames tx() queued and the buffers rx() gave
	 * back, and notify it if it asked: one doorbell (an exit under a
	 * hypervisor) per burst of frames instead of one per frame. */
	void (*flush)(struct netdev *dev);
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
	unsigned offloads; /* NETDEV_TX_*, fixed once registered */
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
