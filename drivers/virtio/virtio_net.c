/* virtio-net (virtio 1.1 §5.1), one receive and one transmit queue, over
 * the transport seam (virtio.h). Section numbers are from virtio 1.1.
 *
 * QEMU: -netdev user,id=n0 -device virtio-net-pci,netdev=n0[,disable-legacy=on]
 * (device 1af4:1041 modern-only, or 1af4:1000 transitional; either way only
 * the modern capabilities are used, never the legacy I/O ports), or on
 * -M microvm: -device virtio-net-device,netdev=n0 (virtio-mmio, legacy
 * unless -global virtio-mmio.force-legacy=false).
 *
 * Buffers are per descriptor: descriptor i of a queue owns the 2 KiB
 * buffer i of that queue's pool (two per page, so no buffer crosses a page
 * and pages need not be contiguous). With MRG_RXBUF a received frame spans
 * num_buffers of them (a coalesced TCP segment with GUEST_TSO4, up to
 * 64 KiB); they are held until the frame is copied out, then go straight
 * back to the device, so the RX ring stays full. TX frames are copied in
 * behind a virtio_net_hdr, zeroed but for the checksum request on TCP
 * frames when CSUM is negotiated; completed TX descriptors are reclaimed
 * lazily at the start of each tx call.
 *
 * Interrupts: RX interrupts once per batch (the IRQ handler masks both
 * queues, the poller drains, irq_rearm unmasks). TX completions need no
 * interrupt, since reclaim is lazy, except when the ring is full: then we
 * ask for one so the poller learns when it can send again.
 *
 * WARNING: the poller must call irq_rearm and park on dev->wq with
 * interrupts disabled (irq_save), as sched.h requires of any condition an
 * IRQ handler sets: an interrupt between an unmask that found no work and
 * the wait would otherwise mask the device again and wake nobody. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "drivers/virtio/virtio.h"
#include "drivers/virtio/virtio_net.h"
#include "drivers/virtio/virtqueue.h"
#include "kernel/cpu.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/panic.h"
#include "net/netdev.h"
#include "net/tso.h"

/* §5.1.3 Feature bits. */
#define VIRTIO_NET_F_CSUM (1ull << 0)       /* the device fills in checksums we mark */
#define VIRTIO_NET_F_GUEST_CSUM (1ull << 1) /* we accept frames with partial checksums */
#define VIRTIO_NET_F_MAC (1ull << 5)
#define VIRTIO_NET_F_GUEST_TSO4 (1ull << 7) /* we accept coalesced TCPv4 segments */
#define VIRTIO_NET_F_HOST_TSO4 (1ull << 11) /* the device segments TCPv4 frames we join */
#define VIRTIO_NET_F_MRG_RXBUF (1ull << 15) /* a received frame may span several buffers */
#define VIRTIO_NET_F_STATUS (1ull << 16)

/* Offloads: TX checksums (CSUM), RX checksums (GUEST_CSUM), and large
 * receives (GUEST_TSO4), which need merged RX buffers (MRG_RXBUF: else
 * every buffer would have to hold 64 KiB, §5.1.6.3.1) and GUEST_CSUM
 * (§5.1.3.1). QEMU offers them with a tap backend (its vnet header), not
 * with user networking. Refused: segmentation on send (HOST_TSO4: lwIP
 * never builds a segment larger than the peer's MSS), the control queue
 * and multiqueue. */
#define VIRTIO_NET_WANTED                                                                                   \
	(VIRTIO_F_VERSION_1 | VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS | VIRTIO_F_EVENT_IDX | VIRTIO_NET_F_CSUM | \
	 VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_MRG_RXBUF | VIRTIO_NET_F_GUEST_TSO4 | VIRTIO_NET_F_HOST_TSO4)

#define VIRTIO_NET_S_LINK_UP 1u /* §5.1.4 status */

#define VIRTIO_NET_RXQ 0 /* §5.1.2: receiveq1 */
#define VIRTIO_NET_TXQ 1 /* §5.1.2: transmitq1 */

/* §5.1.4 Device configuration layout (the fields we may read). */
struct virtio_net_config {
	uint8_t mac[6];               /* valid with VIRTIO_NET_F_MAC */
	uint16_t status;              /* VIRTIO_NET_S_*, valid with VIRTIO_NET_F_STATUS */
	uint16_t max_virtqueue_pairs; /* with VIRTIO_NET_F_MQ */
	uint16_t mtu;                 /* with VIRTIO_NET_F_MTU */
};
_Static_assert(sizeof(struct virtio_net_config) == 12, "virtio 1.1 §5.1.4: fields up to mtu");
_Static_assert(offsetof(struct virtio_net_config, status) == 6, "virtio 1.1 §5.1.4");
_Static_assert(offsetof(struct virtio_net_config, mtu) == 10, "virtio 1.1 §5.1.4");

/* §5.1.6 Device Operation: the header in front of every frame. With
 * VERSION_1 it is always 12 bytes, num_buffers included, whether or not
 * MRG_RXBUF is negotiated; a legacy device without MRG_RXBUF uses the 10
 * bytes before num_buffers (§5.1.6.1, legacy interface). */
struct virtio_net_hdr {
	uint8_t flags;        /* VIRTIO_NET_HDR_F_*: zero without checksum offload */
	uint8_t gso_type;     /* VIRTIO_NET_HDR_GSO_NONE without segmentation offload */
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers; /* RX only; should be 1 without MRG_RXBUF, which older hosts did not set */
};
_Static_assert(sizeof(struct virtio_net_hdr) == 12, "virtio 1.1 §5.1.6: header is 12 bytes with VERSION_1");
_Static_assert(offsetof(struct virtio_net_hdr, gso_type) == 1, "virtio 1.1 §5.1.6");
_Static_assert(offsetof(struct virtio_net_hdr, csum_start) == 6, "virtio 1.1 §5.1.6");
_Static_assert(offsetof(struct virtio_net_hdr, num_buffers) == 10, "virtio 1.1 §5.1.6");

#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1u /* checksum over csum_start.., stored at +csum_offset, pending */
#define VIRTIO_NET_HDR_F_DATA_VALID 2u /* RX: the device validated the checksum (§5.1.6.4) */
#define VIRTIO_NET_HDR_GSO_NONE 0u
#define VIRTIO_NET_HDR_GSO_TCPV4 1u

#define VIRTIO_NET_QUEUE_MAX VIRTQ_MAX_SIZE
/* Segments in one joined TX frame: 44 of 1,460 B fill an IPv4 datagram. */
#define VIRTIO_NET_TSO_SEGS 44
#define VIRTIO_NET_BUF_SIZE 2048u
#define VIRTIO_NET_BUFS_PER_PAGE (PAGE_SIZE / VIRTIO_NET_BUF_SIZE)
#define VIRTIO_NET_POOL_PAGES (VIRTIO_NET_QUEUE_MAX / VIRTIO_NET_BUFS_PER_PAGE)
#define VIRTIO_NET_HDR_LEN sizeof(struct virtio_net_hdr)
#define VIRTIO_NET_LEGACY_HDR_LEN offsetof(struct virtio_net_hdr, num_buffers)
#define VIRTIO_NET_ETH_HLEN 14u
/* Buffers one merged frame of NETDEV_RX_MAX bytes spans at most. */
#define VIRTIO_NET_RX_MERGE_MAX ((VIRTIO_NET_HDR_LEN + NETDEV_RX_MAX + VIRTIO_NET_BUF_SIZE - 1) / VIRTIO_NET_BUF_SIZE)

/* §5.1.6.3.1: without MRG_RXBUF or guest offloads each RX buffer must hold
 * header + 1514-byte frame (1526 bytes); TX frames never exceed that. */
_Static_assert(VIRTIO_NET_BUF_SIZE >= VIRTIO_NET_HDR_LEN + NETDEV_FRAME_MAX,
	       "RX/TX buffer holds a full frame");
_Static_assert(PAGE_SIZE % VIRTIO_NET_BUF_SIZE == 0, "buffers never straddle a page");

struct virtio_net {
	struct netdev nd;
	struct virtio_dev *dev;
	struct virtq rxq, txq;
	uint64_t features;                             /* negotiated */
	uint32_t hdr_len;                              /* VIRTIO_NET_HDR_LEN, or the legacy one */
	uint64_t rx_pool[VIRTIO_NET_POOL_PAGES];       /* physical pages of RX buffers */
	uint64_t tx_pool[VIRTIO_NET_POOL_PAGES];
	/* The received frame being gathered: its buffers, taken off the used
	 * ring but not yet given back, until it is copied out or dropped. */
	struct {
		uint16_t id[VIRTIO_NET_RX_MERGE_MAX];
		uint32_t len[VIRTIO_NET_RX_MERGE_MAX];
		int have, want; /* buffers held; buffers the frame has (num_buffers) */
		bool bad;       /* some buffer failed a check: drop the whole frame */
	} rxf;
	/* The TX frame being joined (net/tso.h): its segments sit in TX
	 * buffers of the descriptors a chain added next will take, in
	 * free-list order, and reach the ring as one chain when it ends. */
	struct {
		struct tso_frame t;
		uint16_t id[VIRTIO_NET_TSO_SEGS];
		uint16_t len[VIRTIO_NET_TSO_SEGS]; /* payload bytes of each */
		uint16_t n;                         /* segments held; 0: none */
	} txj;
	const char *irq_kind;
	volatile bool ready; /* queues live: the IRQ handler may touch them */
	bool tx_stalled;     /* tx returned -EAGAIN: a TX completion interrupt is wanted */
	bool link_logged;    /* link state as last logged (the IRQ handler does not log) */
};

static struct virtio_net vnet; /* one NIC for now (netdev_register allows one) */

static uint64_t virtio_net_buf_pa(const uint64_t *pool, int id)
{
	return pool[id / VIRTIO_NET_BUFS_PER_PAGE] +
	       (uint64_t)(id % VIRTIO_NET_BUFS_PER_PAGE) * VIRTIO_NET_BUF_SIZE;
}

static bool virtio_net_has(const struct virtio_net *vn, uint64_t f) { return (vn->features & f) == f; }

/* ---- link state ---- */

static bool virtio_net_link_up(const struct virtio_net *vn)
{
	/* §5.1.4: without VIRTIO_NET_F_STATUS the link is assumed up. */
	if (!virtio_net_has(vn, VIRTIO_NET_F_STATUS))
		return true;
	return virtio_cfg16(vn->dev, offsetof(struct virtio_net_config, status)) & VIRTIO_NET_S_LINK_UP;
}

/* IRQ context: one config read and two stores, no logging. */
static void virtio_net_link_update(struct virtio_net *vn)
{
	bool up = virtio_net_link_up(vn);
	if (up == vn->nd.link_up)
		return;
	vn->nd.link_up = up;
	vn->nd.stats.link_changes++;
}

static void virtio_net_link_log(struct virtio_net *vn)
{
	if (vn->link_logged == vn->nd.link_up)
		return;
	vn->link_logged = vn->nd.link_up;
	log_info("virtio-net", "link %s", vn->link_logged ? "up" : "down");
}

/* ---- interrupt ---- */

/* Acknowledge, mask, wake the poller; nothing else in IRQ context.
 *
 * The ack race is harmless: a notification the device raises between the
 * ack (ISR read, or MSI-X delivery) and the masking below interrupts
 * again (one extra wake), and a used entry it adds after the masking is
 * found by the poller, which drains until empty and re-checks after it
 * unmasks (irq_rearm). */
static void virtio_net_irq(void *arg)
{
	struct virtio_net *vn = arg;
	/* INTx, MSI or an mmio line: the ack (PCI: reading the ISR,
	 * §4.1.4.5; mmio: InterruptACK, §4.2.2) tells us whether a shared
	 * line is ours. It comes first, even before the queues exist: a
	 * level-triggered line left asserted would storm. With MSI-X the ISR
	 * is unused (§4.1.5.1.2) and not read. */
	bool msix = vn->dev->msix;
	uint8_t isr = msix ? 0 : virtio_irq_ack(vn->dev);
	if (!vn->ready)
		return;
	if (!msix && !(isr & (VIRTIO_ISR_QUEUE | VIRTIO_ISR_CONFIG)))
		return;
	/* A config change is flagged in the ISR; with MSI-X our one vector
	 * carries config changes too, unflagged, so re-read the link state
	 * (one config read per interrupt, and interrupts come per batch). */
	if (msix || (isr & VIRTIO_ISR_CONFIG))
		virtio_net_link_update(vn);
	virtq_irq_disable(&vn->rxq);
	virtq_irq_disable(&vn->txq);
	netdev_irq(&vn->nd);
}

/* ---- receive ---- */

/* Give every free RX descriptor its buffer again; visible to the device
 * only after virtq_publish. */
static void virtio_net_rx_fill(struct virtio_net *vn)
{
	int id;
	while ((id = virtq_peek_free(&vn->rxq)) >= 0) {
		struct virtq_seg seg = { virtio_net_buf_pa(vn->rx_pool, id), VIRTIO_NET_BUF_SIZE, true };
		virtq_add(&vn->rxq, &seg, 1);
	}
}

static const uint8_t *virtio_net_rx_buf(const struct virtio_net *vn, int id)
{
	return phys_to_virt(virtio_net_buf_pa(vn->rx_pool, id));
}

/* The buffers a frame whose first buffer is `id` spans: num_buffers with
 * MRG_RXBUF (§5.1.6.4), else 1. 0 if the header says nonsense. */
static int virtio_net_rx_count(const struct virtio_net *vn, int id, uint32_t len)
{
	if (!virtio_net_has(vn, VIRTIO_NET_F_MRG_RXBUF))
		return 1;
	if (len < vn->hdr_len)
		return 0;
	uint16_t n = ((const struct virtio_net_hdr *)virtio_net_rx_buf(vn, id))->num_buffers;
	return n >= 1 && n <= VIRTIO_NET_RX_MERGE_MAX ? n : 0;
}

/* Take used buffers until vn->rxf holds a whole frame. Returns false if
 * the used ring ran dry first (what was taken stays held for next time). */
static bool virtio_net_rx_gather(struct virtio_net *vn)
{
	/* Bounded: each pass consumes one used entry. */
	for (int pass = 0; pass < vn->rxq.size && (!vn->rxf.have || vn->rxf.have < vn->rxf.want); pass++) {
		uint32_t len;
		int id = virtq_get_used(&vn->rxq, &len);
		if (id == -EAGAIN)
			return false;
		if (id < 0) { /* a bad used entry: skipped; its buffer stays with the device */
			vn->nd.stats.rx_dropped++;
			continue;
		}
		int i = vn->rxf.have++;
		vn->rxf.id[i] = (uint16_t)id;
		vn->rxf.len[i] = len;
		if (len > VIRTIO_NET_BUF_SIZE)
			vn->rxf.bad = true;
		if (i == 0 && !(vn->rxf.want = virtio_net_rx_count(vn, id, len))) {
			vn->rxf.want = 1; /* drop this buffer alone */
			vn->rxf.bad = true;
		}
	}
	return vn->rxf.have && vn->rxf.have >= vn->rxf.want;
}

/* Check the gathered frame's header against what we negotiated (device
 * data); its length behind the header, or 0 to drop it. Sets *flags. */
static size_t virtio_net_rx_check(const struct virtio_net *vn, unsigned *flags)
{
	const struct virtio_net_hdr *hdr = (const struct virtio_net_hdr *)virtio_net_rx_buf(vn, vn->rxf.id[0]);
	size_t total = 0;
	for (int i = 0; i < vn->rxf.have; i++)
		total += vn->rxf.len[i];
	bool tso = virtio_net_has(vn, VIRTIO_NET_F_GUEST_TSO4), csum = virtio_net_has(vn, VIRTIO_NET_F_GUEST_CSUM);
	if (vn->rxf.bad || vn->rxf.len[0] < vn->hdr_len || total < vn->hdr_len + VIRTIO_NET_ETH_HLEN)
		return 0;
	total -= vn->hdr_len;
	/* A coalesced TCP segment only if we took GUEST_TSO4 (§5.1.6.4.1). */
	if (total > (tso ? NETDEV_RX_MAX : NETDEV_FRAME_MAX) ||
	    !(hdr->gso_type == VIRTIO_NET_HDR_GSO_NONE || (tso && hdr->gso_type == VIRTIO_NET_HDR_GSO_TCPV4)))
		return 0;
	/* A partial checksum only with GUEST_CSUM, and inside the frame. It
	 * left a host that trusts the data (§5.1.6.4: the device may hand us
	 * its own partial checksums), so like DATA_VALID it needs no check. */
	if (hdr->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (!csum || (size_t)hdr->csum_start + hdr->csum_offset + 2 > total)
			return 0;
		*flags |= NETDEV_RX_L4_CSUM_OK;
	}
	if (csum && (hdr->flags & VIRTIO_NET_HDR_F_DATA_VALID))
		*flags |= NETDEV_RX_L4_CSUM_OK;
	return total;
}

/* Copy the gathered frame (behind its header) across bufs, which hold it. */
static void virtio_net_rx_copy(const struct virtio_net *vn, const struct netdev_buf *bufs)
{
	size_t out = 0, off = 0; /* position in bufs[out] */
	for (int i = 0; i < vn->rxf.have; i++) {
		const uint8_t *src = virtio_net_rx_buf(vn, vn->rxf.id[i]);
		size_t n = vn->rxf.len[i];
		if (i == 0) {
			src += vn->hdr_len;
			n -= vn->hdr_len;
		}
		while (n) {
			size_t room = bufs[out].len - off, k = n < room ? n : room;
			memcpy((uint8_t *)bufs[out].data + off, src, k);
			src += k;
			n -= k;
			off += k;
			if (off == bufs[out].len) {
				out++;
				off = 0;
			}
		}
	}
}

/* The held frame is done with: its buffers are queued again at once, and
 * published at the next flush, or now if half the ring waits for one
 * (large coalesced frames take many buffers each). */
static void virtio_net_rx_release(struct virtio_net *vn)
{
	vn->rxf.have = vn->rxf.want = 0;
	vn->rxf.bad = false;
	virtio_net_rx_fill(vn);
	if ((uint16_t)(vn->rxq.avail_idx - vn->rxq.kicked_idx) >= vn->rxq.size / 2)
		virtq_publish(&vn->rxq);
}

static int virtio_net_rx(struct netdev *nd, const struct netdev_buf *bufs, int nbufs, struct netdev_rx_info *info)
{
	struct virtio_net *vn = nd->priv;
	virtio_net_link_log(vn);
	size_t cap = 0;
	for (int i = 0; i < nbufs; i++)
		cap += bufs[i].len;
	/* Bounded: each pass releases one frame, dropped ones included. */
	for (int pass = 0; pass < vn->rxq.size; pass++) {
		*info = (struct netdev_rx_info){ 0 };
		if (!virtio_net_rx_gather(vn))
			return 0;
		size_t n = virtio_net_rx_check(vn, &info->flags);
		if (!n) {
			nd->stats.rx_dropped++;
			virtio_net_rx_release(vn);
			continue;
		}
		info->len = n;
		if (n > cap)
			return -EMSGSIZE; /* held until the caller brings room */
		virtio_net_rx_copy(vn, bufs);
		virtio_net_rx_release(vn);
		nd->stats.rx_packets++;
		nd->stats.rx_bytes += n;
		return (int)n;
	}
	return 0;
}

/* ---- transmit ---- */

/* Return completed TX descriptors to the free list. */
static void virtio_net_tx_reclaim(struct virtio_net *vn)
{
	uint32_t len;
	int id;
	while ((id = virtq_get_used(&vn->txq, &len)) != -EAGAIN)
		if (id < 0) /* a completion we cannot match: the frame's fate is unknown */
			vn->nd.stats.tx_dropped++;
}

/* The TX ring is full: ask for an interrupt at the next completion, so the
 * poller is woken when it can send again. Returns true if completions
 * arrived meanwhile and were reclaimed, freeing space. */
static bool virtio_net_tx_stall(struct virtio_net *vn)
{
	vn->tx_stalled = true;
	if (!virtq_irq_enable(&vn->txq))
		return false;
	virtio_net_tx_reclaim(vn);
	return virtq_num_free(&vn->txq) > 0;
}

/* Total frame length, or 0 if it is empty or longer than a frame. */
static size_t virtio_net_tx_len(const struct netdev_seg *segs, int nsegs)
{
	size_t total = 0;
	for (int i = 0; i < nsegs; i++) {
		if (segs[i].len > NETDEV_FRAME_MAX - total)
			return 0;
		total += segs[i].len;
	}
	return total;
}

/* With VIRTIO_NET_F_CSUM the stack leaves TCP checksums zero
 * (NETDEV_TX_TCP_CSUM): mark a TCP/IPv4 frame for the device, which sums
 * from csum_start to the end and stores the result at csum_offset, the
 * field holding the pseudo-header sum (§5.1.6.2; tso_csum_partial). */
static void virtio_net_tx_csum(struct virtio_net_hdr *hdr, uint8_t *f, size_t len)
{
	size_t start = tso_csum_partial(f, len);
	if (!start)
		return;
	hdr->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	hdr->csum_start = (uint16_t)start;
	hdr->csum_offset = 16; /* the TCP header's checksum field */
}

/* Add the frame of `len` bytes in TX buffer `id` to the ring, alone,
 * marked for checksum offload. */
static void virtio_net_tx_add(struct virtio_net *vn, int id, size_t len)
{
	uint64_t pa = virtio_net_buf_pa(vn->tx_pool, id);
	uint8_t *p = phys_to_virt(pa);
	if (virtio_net_has(vn, VIRTIO_NET_F_CSUM))
		virtio_net_tx_csum((struct virtio_net_hdr *)p, p + vn->hdr_len, len);
	struct virtq_seg seg = { pa, (uint32_t)(vn->hdr_len + len), false };
	virtq_add(&vn->txq, &seg, 1);
	vn->nd.stats.tx_packets++;
	vn->nd.stats.tx_bytes += len;
}

/* The joined frame goes to the ring as one chain: the first segment's
 * buffer, header and all, then each later segment's payload. The device
 * cuts it at gso_size (§5.1.6.2) into the segments lwIP sent. */
static void virtio_net_tx_emit(struct virtio_net *vn)
{
	uint16_t n = vn->txj.n;
	if (!n)
		return;
	vn->txj.n = 0;
	const struct tso_frame *t = &vn->txj.t;
	uint64_t pa = virtio_net_buf_pa(vn->tx_pool, vn->txj.id[0]);
	uint8_t *p = phys_to_virt(pa);
	size_t len = tso_finish(t, p + vn->hdr_len);
	if (n == 1) {
		virtio_net_tx_add(vn, vn->txj.id[0], len);
		return;
	}
	struct virtio_net_hdr *h = (struct virtio_net_hdr *)p;
	virtio_net_tx_csum(h, p + vn->hdr_len, len);
	h->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	h->gso_size = (uint16_t)t->head.payload;
	h->hdr_len = (uint16_t)t->head.hdr_len;
	struct virtq_seg segs[VIRTIO_NET_TSO_SEGS];
	segs[0] = (struct virtq_seg){ pa, (uint32_t)(vn->hdr_len + t->head.hdr_len + t->head.payload), false };
	for (uint16_t i = 1; i < n; i++)
		segs[i] = (struct virtq_seg){ virtio_net_buf_pa(vn->tx_pool, vn->txj.id[i]) + vn->hdr_len + t->head.hdr_len,
					      vn->txj.len[i], false };
	int head = virtq_add(&vn->txq, segs, n);
	if (head != vn->txj.id[0]) /* the chain took other descriptors than the buffers it names */
		panic("virtio-net: joined frame's head %d, expected %u", head, vn->txj.id[0]);
	vn->nd.stats.tx_gso_frames++;
	vn->nd.stats.tx_packets++; /* as the device's other side counts it: one frame */
	vn->nd.stats.tx_bytes += len;
}

/* The TX buffer for the next frame: the free descriptor after those the
 * joined frame holds. If there is none the joined frame goes to the ring,
 * and if the ring is full what it has goes to the device to drain it.
 * Completed chains are reclaimed only while no frame is being joined: they
 * go back to the head of the free list, ahead of the buffers it holds. */
static int virtio_net_tx_slot(struct virtio_net *vn)
{
	int id = virtq_peek_free_after(&vn->txq, vn->txj.n);
	if (id >= 0)
		return id;
	virtio_net_tx_emit(vn);
	virtio_net_tx_reclaim(vn);
	if ((id = virtq_peek_free(&vn->txq)) >= 0)
		return id;
	virtq_publish(&vn->txq);
	return virtio_net_tx_stall(vn) ? virtq_peek_free(&vn->txq) : -EAGAIN;
}

/* The frame of `len` bytes now in TX buffer `id`: joined to the frame
 * being built, or folded into it (a bare FIN after its data), or that one
 * ends and this one starts the next, or (not a TCP data segment, or no
 * HOST_TSO4) it goes to the ring alone. */
static void virtio_net_tx_queue(struct virtio_net *vn, int id, size_t len)
{
	uint8_t *f = (uint8_t *)phys_to_virt(virtio_net_buf_pa(vn->tx_pool, id)) + vn->hdr_len;
	struct tso_seg s;
	bool tso = virtio_net_has(vn, VIRTIO_NET_F_HOST_TSO4) && tso_parse(f, len, &s);
	if (tso && vn->txj.n && tso_continues(&vn->txj.t, f, &s, VIRTIO_NET_TSO_SEGS)) {
		tso_join(&vn->txj.t, f, &s);
		vn->txj.id[vn->txj.n] = (uint16_t)id;
		vn->txj.len[vn->txj.n++] = (uint16_t)s.payload;
		return;
	}
	if (vn->txj.n && tso_fin_follows(&vn->txj.t, f, len)) {
		tso_fold_fin(&vn->txj.t); /* its buffer stays free: the next frame takes it */
		vn->nd.stats.tx_fins_folded++;
		return;
	}
	virtio_net_tx_emit(vn); /* its descriptors precede id on the free list */
	if (!tso) {
		virtio_net_tx_add(vn, id, len);
		return;
	}
	tso_start(&vn->txj.t, f, &s);
	vn->txj.id[0] = (uint16_t)id;
	vn->txj.len[0] = (uint16_t)s.payload;
	vn->txj.n = 1;
}

static int virtio_net_tx(struct netdev *nd, const struct netdev_seg *segs, int nsegs)
{
	struct virtio_net *vn = nd->priv;
	if (!vn->txj.n)
		virtio_net_tx_reclaim(vn);
	size_t total = virtio_net_tx_len(segs, nsegs);
	if (!total) {
		nd->stats.tx_dropped++;
		return nsegs > 0 ? -EMSGSIZE : -EINVAL;
	}
	int id = virtio_net_tx_slot(vn);
	if (id < 0) {
		nd->stats.tx_ring_full++;
		return -EAGAIN;
	}
	if (vn->tx_stalled) { /* space again: back to lazy reclaim, no TX interrupts */
		vn->tx_stalled = false;
		virtq_irq_disable(&vn->txq);
	}
	uint8_t *p = phys_to_virt(virtio_net_buf_pa(vn->tx_pool, id));
	memset(p, 0, vn->hdr_len); /* §5.1.6.2: no GSO; no checksum unless marked */
	for (size_t off = vn->hdr_len, i = 0; i < (size_t)nsegs; off += segs[i].len, i++)
		memcpy(p + off, segs[i].data, segs[i].len);
	virtio_net_tx_queue(vn, id, total); /* counted when it reaches the ring */
	return 0;
}

/* ---- interrupt re-arm ---- */

static bool virtio_net_irq_rearm(struct netdev *nd)
{
	struct virtio_net *vn = nd->priv;
	bool tx_work = false;
	if (vn->tx_stalled) {
		virtio_net_tx_reclaim(vn);
		if (virtq_num_free(&vn->txq)) { /* room now: the poller retries at once */
			vn->tx_stalled = false;
			tx_work = true;
		} else { /* still full: wake us at the next completion */
			tx_work = virtq_irq_enable(&vn->txq);
		}
	}
	/* The RX re-check after unmasking is the §2.6.14 lost-interrupt guard. */
	bool rx_work = virtq_irq_enable(&vn->rxq);
	return rx_work || tx_work;
}

static void virtio_net_flush(struct netdev *nd)
{
	struct virtio_net *vn = nd->priv;
	virtio_net_tx_emit(vn);
	virtq_publish(&vn->rxq);
	virtq_publish(&vn->txq);
}

static const struct netdev_ops virtio_net_ops = {
	.rx = virtio_net_rx,
	.tx = virtio_net_tx,
	.flush = virtio_net_flush,
	.irq_rearm = virtio_net_irq_rearm,
};

/* ---- setup ---- */

static void virtio_net_free_pool(uint64_t *pool)
{
	for (unsigned i = 0; i < VIRTIO_NET_POOL_PAGES; i++) {
		if (pool[i])
			pmm_free(pool[i]);
		pool[i] = 0;
	}
}

static int virtio_net_alloc_pool(uint64_t *pool, uint16_t bufs)
{
	for (unsigned i = 0; i < (bufs + VIRTIO_NET_BUFS_PER_PAGE - 1) / VIRTIO_NET_BUFS_PER_PAGE; i++)
		if (!(pool[i] = pmm_alloc()))
			return -ENOMEM;
	return 0;
}

/* §2.4.1: a multi-byte config read is consistent only if the generation
 * did not change across it. Bounded: device data. */
static void virtio_net_read_mac(struct virtio_net *vn)
{
	const uint32_t mac = offsetof(struct virtio_net_config, mac);
	for (int tries = 0; tries < 16; tries++) {
		uint8_t gen = virtio_cfg_generation(vn->dev);
		for (uint32_t i = 0; i < 6; i++)
			vn->nd.mac[i] = virtio_cfg8(vn->dev, mac + i);
		if (gen == virtio_cfg_generation(vn->dev))
			return;
	}
}

static void virtio_net_config(struct virtio_net *vn)
{
	if (virtio_net_has(vn, VIRTIO_NET_F_MAC)) {
		virtio_net_read_mac(vn);
	} else { /* §5.1.5: no MAC offered: a random, locally administered unicast one */
		uint64_t r = rdtsc() * 0x9e3779b97f4a7c15ull;
		for (int i = 0; i < 6; i++)
			vn->nd.mac[i] = (uint8_t)(r >> (8 * i));
		vn->nd.mac[0] = (uint8_t)((vn->nd.mac[0] & 0xfe) | 0x02);
	}
	vn->nd.link_up = virtio_net_link_up(vn);
	vn->link_logged = vn->nd.link_up; /* netdev_register logs the initial state */
}

/* §3.1.1 step 7 and §5.1.5: interrupt, queues, buffers, configuration. */
static int virtio_net_setup(struct virtio_net *vn)
{
	bool event_idx = virtio_net_has(vn, VIRTIO_F_EVENT_IDX);
	vn->irq_kind = virtio_irq_setup(vn->dev, virtio_net_irq, vn);
	if (!vn->irq_kind)
		return -EIO;
	int err = virtio_setup_queue(vn->dev, &vn->rxq, VIRTIO_NET_RXQ, VIRTIO_NET_QUEUE_MAX, event_idx);
	if (!err)
		err = virtio_setup_queue(vn->dev, &vn->txq, VIRTIO_NET_TXQ, VIRTIO_NET_QUEUE_MAX, event_idx);
	if (!err)
		err = virtio_net_alloc_pool(vn->rx_pool, vn->rxq.size);
	if (!err)
		err = virtio_net_alloc_pool(vn->tx_pool, vn->txq.size);
	if (err)
		return err;
	/* Populate RX now; idx is published (and the device notified) only
	 * after DRIVER_OK (§3.1.1: no notifications before it). */
	virtio_net_rx_fill(vn);
	/* TX completions are reclaimed lazily: no interrupts until the ring fills. */
	virtq_irq_disable(&vn->txq);
	virtio_net_config(vn);
	return 0;
}

/* Give up on the device: reset it first, so it forgets the ring addresses
 * before their pages go back to the allocator, then mark it FAILED. */
static void virtio_net_abort(struct virtio_net *vn)
{
	vn->ready = false;
	bool quiet = virtio_reset(vn->dev) == 0;
	virtio_fail(vn->dev);
	if (!quiet)
		return; /* the device may still DMA: leak rather than reuse the pages */
	virtio_net_free_pool(vn->rx_pool);
	virtio_net_free_pool(vn->tx_pool);
	if (vn->rxq.desc)
		virtq_destroy(&vn->rxq);
	if (vn->txq.desc)
		virtq_destroy(&vn->txq);
}

/* The features to accept of those offered: GUEST_TSO4 only with
 * GUEST_CSUM (§5.1.3.1) and MRG_RXBUF (our RX buffers are 2 KiB). */
static uint64_t virtio_net_wanted(struct virtio_dev *dev)
{
	uint64_t want = VIRTIO_NET_WANTED & dev->ops->device_features(dev);
	uint64_t needs = VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_MRG_RXBUF;
	if ((want & needs) != needs)
		want &= ~VIRTIO_NET_F_GUEST_TSO4;
	/* §5.1.3.1: HOST_TSO4 requires CSUM. A joined frame is a descriptor
	 * chain whose header shares the first buffer: VERSION_1 only (legacy
	 * devices need ANY_LAYOUT for that). */
	if (!(want & VIRTIO_NET_F_CSUM) || !(want & VIRTIO_F_VERSION_1))
		want &= ~VIRTIO_NET_F_HOST_TSO4;
	return want;
}

/* §3.1.1 Device Initialization, one step per comment. The transport is
 * found and mapped (virtio_probe); no device register is written yet. */
static int virtio_net_start(struct virtio_dev *dev, void *arg)
{
	struct virtio_net *vn = arg;
	*vn = (struct virtio_net){ .nd = { .name = "virtio-net", .ops = &virtio_net_ops, .priv = vn }, .dev = dev };
	/* 1-6. Reset, ACKNOWLEDGE, DRIVER, features: a modern device must
	 * offer VERSION_1; a legacy one (virtio-mmio v1) uses the legacy
	 * header. */
	int err = virtio_begin(dev, virtio_net_wanted(dev), &vn->features);
	/* §5.1.6.1: a legacy device has num_buffers only with MRG_RXBUF. */
	vn->hdr_len = dev->legacy && !virtio_net_has(vn, VIRTIO_NET_F_MRG_RXBUF) ? VIRTIO_NET_LEGACY_HDR_LEN
										   : VIRTIO_NET_HDR_LEN;
	vn->nd.offloads = virtio_net_has(vn, VIRTIO_NET_F_CSUM) ? NETDEV_TX_TCP_CSUM : 0;
	/* 7. Device-specific setup: interrupt, virtqueues, RX buffers, config. */
	if (!err)
		err = virtio_net_setup(vn);
	if (err) {
		virtio_net_abort(vn);
		return err;
	}
	/* 8. DRIVER_OK: the device is live. The handler may run from here. */
	vn->ready = true;
	err = virtio_driver_ok(dev);
	if (err) {
		virtio_net_abort(vn);
		return err;
	}
	virtq_publish(&vn->rxq); /* expose the RX buffers and kick */
	return 0;
}

static void virtio_net_report(const struct virtio_net *vn)
{
	size_t pool_kib = (size_t)(vn->rxq.size + vn->txq.size) * VIRTIO_NET_BUF_SIZE / 1024;
	log_info("virtio-net", "%s, irq %s, features%s%s%s%s%s%s%s%s%s (0x%lx)", vn->dev->where, vn->irq_kind,
		 virtio_net_has(vn, VIRTIO_F_VERSION_1) ? " VERSION_1" : "",
		 virtio_net_has(vn, VIRTIO_NET_F_MAC) ? " MAC" : "",
		 virtio_net_has(vn, VIRTIO_NET_F_STATUS) ? " STATUS" : "",
		 virtio_net_has(vn, VIRTIO_F_EVENT_IDX) ? " EVENT_IDX" : "",
		 virtio_net_has(vn, VIRTIO_NET_F_CSUM) ? " CSUM" : "",
		 virtio_net_has(vn, VIRTIO_NET_F_GUEST_CSUM) ? " GUEST_CSUM" : "",
		 virtio_net_has(vn, VIRTIO_NET_F_MRG_RXBUF) ? " MRG_RXBUF" : "",
		 virtio_net_has(vn, VIRTIO_NET_F_GUEST_TSO4) ? " GUEST_TSO4" : "",
		 virtio_net_has(vn, VIRTIO_NET_F_HOST_TSO4) ? " HOST_TSO4" : "", (unsigned long)vn->features);
	log_info("virtio-net", "rx %u x %u B, tx %u x %u B buffers (%zu KiB), %u ring pages%s", vn->rxq.size,
		 VIRTIO_NET_BUF_SIZE, vn->txq.size, VIRTIO_NET_BUF_SIZE, pool_kib, vn->rxq.pages + vn->txq.pages,
		 vn->dev->tcg ? "; QEMU TCG: ring barriers via register read" : "");
}

int virtio_net_probe(void)
{
	int err = virtio_probe("virtio-net", VIRTIO_ID_NET, virtio_net_start, &vnet);
	if (err)
		return err;
	virtio_net_report(&vnet);
	return netdev_register(&vnet.nd);
}
