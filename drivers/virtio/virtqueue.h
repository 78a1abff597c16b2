/* Split virtqueues (virtio 1.1 §2.6): the descriptor table, the driver
 * ("available") ring and the device ("used") ring, with the driver's free
 * list and notification suppression (§2.6.7-2.6.10, VIRTIO_F_EVENT_IDX).
 *
 * One layout serves every transport: the legacy one of §2.6.2, where the
 * avail ring directly follows the descriptor table and the used ring
 * starts at the next VIRTQ_ALIGN boundary, in physically contiguous
 * pages. A legacy device (virtio-mmio version 1, §4.2.4) is told only
 * where the whole queue starts and derives the rest by this rule; modern
 * transports take the three addresses (§4.1.4.3, §4.2.2), which still
 * point into the same pages. A 256-entry queue takes 3 pages (the
 * descriptor table fills one), smaller ones 2.
 *
 * Buffers are owned per descriptor: a driver that keeps one buffer per
 * descriptor id asks virtq_peek_free() which id the next virtq_add() will
 * use, fills that id's buffer, then adds it. Not reentrant: one task uses
 * a queue; an IRQ handler may only call virtq_irq_disable(). */
#ifndef KEEL_VIRTQUEUE_H
#define KEEL_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIRTQ_MAX_SIZE 256
/* The used ring's boundary in the legacy layout (§2.6.2); legacy
 * virtio-mmio is told it (QueueAlign). A page, as Linux uses. */
#define VIRTQ_ALIGN 4096u
#define VIRTQ_MAX_PAGES 3

/* §2.6.5 The Virtqueue Descriptor Table. */
struct virtq_desc {
	uint64_t addr;  /* guest-physical buffer address */
	uint32_t len;   /* buffer length in bytes */
	uint16_t flags; /* VIRTQ_DESC_F_* */
	uint16_t next;  /* next descriptor of the chain if F_NEXT; our free-list link otherwise */
};
_Static_assert(sizeof(struct virtq_desc) == 16, "virtio 1.1 §2.6.5: descriptor is 16 bytes");
_Static_assert(offsetof(struct virtq_desc, len) == 8, "virtio 1.1 §2.6.5");
_Static_assert(offsetof(struct virtq_desc, flags) == 12, "virtio 1.1 §2.6.5");
_Static_assert(offsetof(struct virtq_desc, next) == 14, "virtio 1.1 §2.6.5");

#define VIRTQ_DESC_F_NEXT 1u  /* chain continues in `next` */
#define VIRTQ_DESC_F_WRITE 2u /* device writes (RX), otherwise device reads (TX) */

/* §2.6.6 The Virtqueue Available Ring; used_event follows ring[size]. */
struct virtq_avail {
	uint16_t flags; /* VIRTQ_AVAIL_F_NO_INTERRUPT (ignored by the device with EVENT_IDX) */
	uint16_t idx;   /* where the driver puts the next entry, free-running mod 2^16 */
	uint16_t ring[]; /* descriptor chain heads, then le16 used_event */
};
_Static_assert(sizeof(struct virtq_avail) == 4, "virtio 1.1 §2.6.6: flags, idx, then ring");
_Static_assert(offsetof(struct virtq_avail, ring) == 4, "virtio 1.1 §2.6.6");

#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u

/* §2.6.8 The Virtqueue Used Ring; avail_event follows ring[size]. */
struct virtq_used_elem {
	uint32_t id;  /* head of the chain the device finished with */
	uint32_t len; /* bytes the device wrote into it */
};
_Static_assert(sizeof(struct virtq_used_elem) == 8, "virtio 1.1 §2.6.8: used element is 8 bytes");
_Static_assert(offsetof(struct virtq_used_elem, len) == 4, "virtio 1.1 §2.6.8");

struct virtq_used {
	uint16_t flags; /* VIRTQ_USED_F_NO_NOTIFY (ignored by the driver with EVENT_IDX) */
	uint16_t idx;   /* where the device puts the next entry, free-running mod 2^16 */
	struct virtq_used_elem ring[]; /* then le16 avail_event */
};
_Static_assert(sizeof(struct virtq_used) == 4, "virtio 1.1 §2.6.8: flags, idx, then ring");
_Static_assert(offsetof(struct virtq_used, ring) == 4, "virtio 1.1 §2.6.8");

#define VIRTQ_USED_F_NO_NOTIFY 1u

/* The largest queue fits VIRTQ_MAX_PAGES: the table fills a page, the
 * avail ring the next, the used ring the third (§2.6.2's alignment). */
_Static_assert(VIRTQ_MAX_SIZE * sizeof(struct virtq_desc) + sizeof(struct virtq_avail) + VIRTQ_MAX_SIZE * 2 + 2 <=
		       (VIRTQ_MAX_PAGES - 1) * VIRTQ_ALIGN,
	       "descriptor table and avail ring fit before the used ring");
_Static_assert(sizeof(struct virtq_used) + VIRTQ_MAX_SIZE * sizeof(struct virtq_used_elem) + 2 <= VIRTQ_ALIGN,
	       "used ring fits the last page");

/* One segment of a buffer handed to the device. */
struct virtq_seg {
	uint64_t pa;        /* physical address (x86 DMA is cache-coherent) */
	uint32_t len;
	bool device_writes; /* true for receive buffers */
};

struct virtq_stats {
	uint64_t notifies;   /* doorbell writes */
	uint64_t bad_used;   /* used entries naming a descriptor we did not hand out */
};

struct virtq {
	uint16_t index; /* queue number within the device, written to the doorbell */
	uint16_t size;  /* entries, a power of two <= VIRTQ_MAX_SIZE */
	bool event_idx; /* VIRTIO_F_EVENT_IDX negotiated: use used_event/avail_event */

	volatile struct virtq_desc *desc;   /* driver writes, device reads */
	volatile struct virtq_avail *avail; /* driver writes, device reads */
	volatile struct virtq_used *used;   /* device writes, driver reads */
	uint64_t desc_pa, avail_pa, used_pa; /* desc_pa starts the queue's pages */
	uint16_t pages;                     /* contiguous pages from desc_pa */
	/* Set by the transport, one of the two: modern PCI's doorbell is 16
	 * bits wide (§4.1.4.4), virtio-mmio's QueueNotify 32 (§4.2.2). */
	volatile uint16_t *doorbell;
	volatile uint32_t *doorbell32;
	/* Set by the transport when mb() alone does not order our ring
	 * stores against the device's loads: a device register whose read
	 * has no side effects, read after mb() (see virtq_device_mb). */
	volatile const uint8_t *sync_reg;

	uint16_t free_head;  /* first free descriptor; chained through desc[].next */
	uint16_t num_free;
	uint16_t avail_idx;  /* our copy of avail->idx: entries added, maybe not yet published */
	uint16_t kicked_idx; /* avail->idx when we last decided whether to notify */
	uint16_t last_used;  /* next used->ring entry to consume */
	/* Interrupts on since virtq_irq_enable with last_used at irq_on_at
	 * (cleared by virtq_irq_disable): enabling again with nothing
	 * consumed in between needs no store and no barrier. */
	bool irq_on;
	uint16_t irq_on_at;
	uint16_t chain_len[VIRTQ_MAX_SIZE]; /* per head: descriptors the device owns through it; 0 if none */
	struct virtq_stats stats;
};

/* The size a transport gives a queue: min(the device's maximum, the
 * driver's), rounded down to a power of two (§2.6), at most
 * VIRTQ_MAX_SIZE. dev_max and wanted are at least 1. */
uint16_t virtq_fit_size(uint32_t dev_max, uint16_t wanted);
/* Allocate and initialise queue `index` with `size` entries (a power of
 * two <= VIRTQ_MAX_SIZE). 0, -EINVAL or -ENOMEM. */
int virtq_init(struct virtq *vq, uint16_t index, uint16_t size, bool event_idx);
/* Bytes from the queue's start to its used ring and to its end, in the
 * §2.6.2 layout, for `size` entries. */
uint32_t virtq_used_offset(uint16_t size);
uint32_t virtq_bytes(uint16_t size);
/* Give the ring pages back; only once the device has been reset. */
void virtq_destroy(struct virtq *vq);

/* Descriptor id the next virtq_add() will use as its head, or -ENOSPC. */
int virtq_peek_free(const struct virtq *vq);
/* The id of the free descriptor after the first n: the one a chain of
 * n + 1 added next would end in (the free list is used in order), or
 * -ENOSPC if fewer than n + 1 are free. */
int virtq_peek_free_after(const struct virtq *vq, uint16_t n);
static inline uint16_t virtq_num_free(const struct virtq *vq) { return vq->num_free; }
/* Queue a chain of n segments for the device (not yet visible to it).
 * Returns the head descriptor id, -EINVAL or -ENOSPC. */
int virtq_add(struct virtq *vq, const struct virtq_seg *segs, int n);
/* Make added chains visible and ring the doorbell if the device asked for
 * it. Returns true if it notified. */
bool virtq_publish(struct virtq *vq);

/* Reclaim the next chain the device finished with: returns its head id and
 * stores the written length in *len. -EAGAIN if there is none; -EIO if the
 * entry named a descriptor the device does not own (it is skipped and
 * counted in stats.bad_used). */
int virtq_get_used(struct virtq *vq, uint32_t *len);
/* Are there used entries not yet reclaimed? */
bool virtq_has_used(const struct virtq *vq);

/* Ask the device not to interrupt for this queue. Safe in IRQ context. */
void virtq_irq_disable(struct virtq *vq);
/* Ask for an interrupt at the next used entry, then re-check: returns true
 * if entries arrived meanwhile (virtio 1.1 §2.7.10 note), in which case
 * the caller must poll instead of waiting for an interrupt. */
bool virtq_irq_enable(struct virtq *vq);

#endif
