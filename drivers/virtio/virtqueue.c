/* Split virtqueue, driver side (virtio 1.1 §2.6). Section numbers below
 * are from virtio 1.1; later revisions renumber them. */
#include <errno.h>
#include <stddef.h>

#include "drivers/virtio/virtqueue.h"
#include "kernel/cpu.h"
#include "kernel/mm.h"

/* used_event sits after the avail ring, avail_event after the used ring
 * (§2.6.6, §2.6.8); both exist only with VIRTIO_F_EVENT_IDX, but the
 * layout (virtq_bytes) has room for them either way. Addressed as bytes: the used ring's elements are
 * not uint16_t, and type-punning them would break strict aliasing. */
static volatile uint16_t *virtq_used_event(struct virtq *vq) { return &vq->avail->ring[vq->size]; }
static volatile uint16_t *virtq_avail_event(struct virtq *vq)
{
	volatile uint8_t *ring = (volatile uint8_t *)vq->used + offsetof(struct virtq_used, ring);
	return (volatile uint16_t *)(ring + vq->size * sizeof(struct virtq_used_elem));
}

/* §2.6.7, §2.6.10: has the index moved past `event` in the step from
 * `old` to `new`? All arithmetic is mod 2^16, as the indices wrap. */
static bool virtq_need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

/* A store-then-load barrier against the device. Twice the ring protocol
 * stores one index and then loads the other side's (publish: avail idx,
 * then avail_event; re-enable: used_event, then used idx) while the device
 * does the mirror image; if each side's load may pass its own store, both
 * miss the other's update and a notification is lost for good.
 *
 * mb() suffices on hardware and under KVM. QEMU's TCG before 8.1 drops
 * guest fences when there is one vCPU (QEMU commit c914d46d0a64, "Do not
 * elide memory barriers for !CF_PARALLEL in system mode"), yet the device runs
 * in QEMU's I/O thread in parallel. A register read there is a real exit
 * that takes QEMU's global lock, which the device code also holds: it
 * orders our stores and loads against the device completely. */
static void virtq_device_mb(const struct virtq *vq)
{
	mb();
	if (vq->sync_reg)
		(void)*vq->sync_reg;
}

uint32_t virtq_used_offset(uint16_t size)
{
	uint32_t avail_end = size * (uint32_t)sizeof(struct virtq_desc) + (uint32_t)sizeof(struct virtq_avail) +
			     size * 2u + 2u; /* ring[size], then used_event */
	return (avail_end + VIRTQ_ALIGN - 1) & ~(VIRTQ_ALIGN - 1);
}

uint32_t virtq_bytes(uint16_t size)
{
	return virtq_used_offset(size) + (uint32_t)sizeof(struct virtq_used) +
	       size * (uint32_t)sizeof(struct virtq_used_elem) + 2u; /* ring[size], then avail_event */
}

uint16_t virtq_fit_size(uint32_t dev_max, uint16_t wanted)
{
	uint32_t n = dev_max < wanted ? dev_max : wanted;
	uint16_t p = 1;
	while (p <= n / 2 && p < VIRTQ_MAX_SIZE)
		p = (uint16_t)(p * 2);
	return p;
}

int virtq_init(struct virtq *vq, uint16_t index, uint16_t size, bool event_idx)
{
	if (!size || size > VIRTQ_MAX_SIZE || (size & (size - 1)))
		return -EINVAL; /* §2.6: queue size is a power of two; our pages hold 256 */
	*vq = (struct virtq){ .index = index, .size = size, .event_idx = event_idx };
	/* §2.6.2 layout in zeroed contiguous pages: page alignment is above
	 * the 16/2/4 bytes §2.6 asks of the table and rings. */
	vq->pages = (uint16_t)((virtq_bytes(size) + PAGE_SIZE - 1) / PAGE_SIZE);
	vq->desc_pa = pmm_alloc_contig(vq->pages);
	if (!vq->desc_pa)
		return -ENOMEM;
	vq->avail_pa = vq->desc_pa + size * sizeof(struct virtq_desc);
	vq->used_pa = vq->desc_pa + virtq_used_offset(size);
	vq->desc = phys_to_virt(vq->desc_pa);
	vq->avail = phys_to_virt(vq->avail_pa);
	vq->used = phys_to_virt(vq->used_pa);
	for (uint16_t i = 0; i < size; i++) /* every descriptor starts on the free list */
		vq->desc[i].next = (uint16_t)(i + 1);
	vq->free_head = 0;
	vq->num_free = size;
	return 0;
}

void virtq_destroy(struct virtq *vq)
{
	if (vq->desc_pa)
		pmm_free_contig(vq->desc_pa, vq->pages);
	vq->desc_pa = vq->avail_pa = vq->used_pa = 0;
	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
	vq->num_free = 0;
}

int virtq_peek_free(const struct virtq *vq) { return vq->num_free ? vq->free_head : -ENOSPC; }

int virtq_peek_free_after(const struct virtq *vq, uint16_t n)
{
	if (n >= vq->num_free)
		return -ENOSPC;
	uint16_t id = vq->free_head;
	while (n--)
		id = vq->desc[id].next;
	return id;
}

int virtq_add(struct virtq *vq, const struct virtq_seg *segs, int n)
{
	if (n <= 0 || n > vq->size)
		return -EINVAL;
	if (n > vq->num_free)
		return -ENOSPC;
	uint16_t head = vq->free_head, id = head;
	for (int i = 0; i < n; i++) { /* §2.6.13.1: fill the chain from the free list */
		volatile struct virtq_desc *d = &vq->desc[id];
		bool more = i + 1 < n;
		d->addr = segs[i].pa;
		d->len = segs[i].len;
		d->flags = (uint16_t)((segs[i].device_writes ? VIRTQ_DESC_F_WRITE : 0) |
				      (more ? VIRTQ_DESC_F_NEXT : 0));
		/* d->next already links to the next free descriptor: it doubles
		 * as the chain link, so only the last one needs no update. */
		id = d->next;
	}
	vq->free_head = id;
	vq->num_free = (uint16_t)(vq->num_free - n);
	vq->chain_len[head] = (uint16_t)n;
	/* §2.6.13: descriptors, then the ring entry naming them. The device
	 * reads neither before idx moves (the barrier in virtq_publish covers
	 * both), but keeping each step ordered costs one sfence and leaves no
	 * reasoning about which stores the device might see early. */
	wmb();
	vq->avail->ring[vq->avail_idx & (vq->size - 1)] = head;
	vq->avail_idx++;
	return head;
}

bool virtq_publish(struct virtq *vq)
{
	uint16_t old = vq->kicked_idx, new_idx = vq->avail_idx;
	if (old == new_idx)
		return false;
	/* §2.6.13.3: ring entries must be visible before the idx that exposes them. */
	wmb();
	vq->avail->idx = new_idx;
	/* §2.6.13.4: the idx store must be visible before we read the device's
	 * suppression hint. x86 lets a load pass an earlier store, so only a
	 * full fence prevents reading a stale avail_event while the device,
	 * having seen the old idx, goes to sleep waiting for our notify. */
	virtq_device_mb(vq);
	vq->kicked_idx = new_idx;
	bool notify = vq->event_idx ? virtq_need_event(*virtq_avail_event(vq), new_idx, old)
				    : !(vq->used->flags & VIRTQ_USED_F_NO_NOTIFY);
	if (!notify)
		return false;
	/* §4.1.4.4, §4.2.2: without NOTIFICATION_DATA the value is the queue index. */
	if (vq->doorbell32)
		*vq->doorbell32 = vq->index;
	else
		*vq->doorbell = vq->index;
	vq->stats.notifies++;
	return true;
}

bool virtq_has_used(const struct virtq *vq) { return vq->used->idx != vq->last_used; }

/* Return a finished chain to the free list. Its links are ours: the
 * descriptor table is read-only to the device (§2.6.5). */
static void virtq_free_chain(struct virtq *vq, uint16_t head)
{
	uint16_t n = vq->chain_len[head], tail = head;
	for (uint16_t i = 1; i < n; i++)
		tail = vq->desc[tail].next;
	vq->desc[tail].next = vq->free_head;
	vq->free_head = head;
	vq->num_free = (uint16_t)(vq->num_free + n);
	vq->chain_len[head] = 0;
}

int virtq_get_used(struct virtq *vq, uint32_t *len)
{
	if (vq->used->idx == vq->last_used)
		return -EAGAIN;
	/* §2.6.8: the device writes the element before it moves idx, so read
	 * idx first and the element after it. */
	rmb();
	volatile struct virtq_used_elem *e = &vq->used->ring[vq->last_used & (vq->size - 1)];
	uint32_t id = e->id;
	*len = e->len;
	vq->last_used++;
	/* Device data: an id out of range, or one it does not own (a repeat),
	 * would corrupt the free list. Skip the entry; the caller counts it. */
	if (id >= vq->size || !vq->chain_len[id]) {
		vq->stats.bad_used++;
		return -EIO;
	}
	virtq_free_chain(vq, (uint16_t)id);
	return (int)id;
}

void virtq_irq_disable(struct virtq *vq)
{
	vq->irq_on = false;
	/* Without EVENT_IDX the flag is the device's only hint (§2.6.7); with
	 * it the device ignores the flag and reads used_event instead. */
	vq->avail->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	/* One behind what we have consumed: the device interrupts when its used
	 * idx crosses used_event, which is then 65535 entries away. At worst,
	 * if the poller consumes that many without re-enabling, one spurious
	 * interrupt. Whole 16-bit stores, no read-modify-write, so this is
	 * safe against the task-side enable it may interrupt. */
	if (vq->event_idx)
		*virtq_used_event(vq) = (uint16_t)(vq->last_used - 1);
}

bool virtq_irq_enable(struct virtq *vq)
{
	/* Still on, and used_event still names the next entry (EVENT_IDX):
	 * the device interrupts for the next entry as it would after a new
	 * enable, and the entries it added before that are visible now. */
	if (vq->irq_on && vq->irq_on_at == vq->last_used)
		return virtq_has_used(vq);
	/* Marked on before the stores: an IRQ in between (tx_stall enables
	 * with interrupts on) marks it off again, and the worst left is a
	 * queue that is on while marked off, which the next enable redoes. */
	vq->irq_on = true;
	vq->irq_on_at = vq->last_used;
	barrier();
	vq->avail->flags = 0;
	/* §2.6.7: interrupt as soon as the device adds the entry we would read
	 * next, i.e. once per batch: the IRQ handler disables again. */
	if (vq->event_idx)
		*virtq_used_event(vq) = vq->last_used;
	/* The enable must be visible before we re-read used->idx (a store then
	 * a load: only a full fence orders them on x86). Otherwise the device
	 * could add an entry, see interrupts still off, and we would read the
	 * old idx: an entry nobody is told about (§2.6.14 note). */
	virtq_device_mb(vq);
	return virtq_has_used(vq);
}
