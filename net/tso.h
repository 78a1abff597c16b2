/* Large sends below lwIP: consecutive TCP/IPv4 segments of one connection,
 * as lwIP emits them one MSS at a time, are joined into one frame that a
 * NIC with TCP segmentation offload (virtio-net HOST_TSO4) cuts up again,
 * so the host handles a 64 KiB frame instead of 44 small ones.
 *
 * lwIP 2.1 sizes segments by a per-connection MSS that also drives its
 * congestion window and what it advertises, and a pbuf has no gso_size,
 * so the join happens where frames leave: the driver keeps the frame it is
 * building until the next one either continues it (tso_continues) or not,
 * and fixes its headers up when it goes to the device (tso_finish).
 *
 * A segment joins only if the device can cut the result back into exactly
 * what lwIP sent: same Ethernet, IP and TCP header bytes but for the IP
 * length, ID and checksum, the TCP sequence number and PSH; next in
 * sequence; every segment before it a full gso_size; no SYN, FIN, RST or
 * URG; no IP options. (RFC 9293 §3.1 for the header, virtio 1.1 §5.1.6.2
 * for what the device does with gso_size.)
 *
 * A bare FIN that follows the frame (the connection closing right after
 * its last data, as a Connection: close response does) is folded into it:
 * one segment with data and FIN instead of two (tso_fin_follows).
 *
 * Every frame a NIC checksums itself (virtio-net CSUM, as a Linux
 * CHECKSUM_PARTIAL frame) carries the pseudo-header sum in its TCP
 * checksum field: tso_csum_partial, joined or not.
 *
 * Pure module: no allocation, no kernel services (tests/host/test_tso.c). */
#ifndef KEEL_NET_TSO_H
#define KEEL_NET_TSO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TSO_ETH_HLEN 14u
/* The joined frame's IP datagram stays within the IPv4 total length. */
#define TSO_IP_MAX 65535u

/* A TCP/IPv4 data segment that may start or continue a joined frame. */
struct tso_seg {
	size_t hdr_len;  /* Ethernet + IP + TCP headers */
	size_t payload;  /* TCP payload bytes */
	uint32_t seq;    /* its sequence number */
};

/* Is the Ethernet frame f[0, len) a segment that may take part (IPv4
 * without options, TCP with data, only ACK and PSH set)? Fills *s. */
bool tso_parse(const uint8_t *f, size_t len, struct tso_seg *s);

/* The frame being built: its first segment's bytes, what it holds so
 * far, and whether it can grow. */
struct tso_frame {
	const uint8_t *first; /* the first segment's frame (its headers) */
	struct tso_seg head;  /* the first segment */
	size_t payload;       /* payload bytes of every segment joined */
	uint16_t segs;        /* segments joined */
	bool full_sized;      /* every segment so far carried head.payload bytes */
	bool psh;             /* some segment had PSH */
	bool fin;             /* a FIN folded in: the last segment carries it */
};

void tso_start(struct tso_frame *t, const uint8_t *f, const struct tso_seg *s);
/* May the segment b (frame bytes, parsed into *s) be joined after t's
 * segments, making at most max_segs? */
bool tso_continues(const struct tso_frame *t, const uint8_t *b, const struct tso_seg *s, unsigned max_segs);
/* Record that b was joined. */
void tso_join(struct tso_frame *t, const uint8_t *b, const struct tso_seg *s);
/* Is the Ethernet frame b[0, len) a bare FIN (ACK, FIN, maybe PSH; no
 * data) of t's connection, next in sequence after t's data, with its
 * headers? Then tso_fold_fin, and b is not sent. */
bool tso_fin_follows(const struct tso_frame *t, const uint8_t *b, size_t len);
void tso_fold_fin(struct tso_frame *t);
/* Rewrite the first segment's headers, in place at f, for the whole
 * frame: IP total length and header checksum (if segments were joined),
 * TCP PSH and FIN. Its length (all headers plus every payload byte). */
size_t tso_finish(const struct tso_frame *t, uint8_t *f);

/* If the Ethernet frame f[0, len) is TCP/IPv4 (IP options allowed), store
 * the sum of its pseudo-header (addresses, protocol, TCP length;
 * uncomplemented, RFC 9293 §3.1) in its TCP checksum field, for a device
 * that sums the segment from there on, and return the TCP header's offset
 * in f; 0 if it is not such a frame. */
size_t tso_csum_partial(uint8_t *f, size_t len);

#endif
