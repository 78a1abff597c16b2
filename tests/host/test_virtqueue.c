/* drivers/virtio/virtqueue.c on the host, against a fake device.
 *
 * The fake plays the device side of a split virtqueue (virtio 1.1 §2.6;
 * §2.7 in virtio 1.2): it finds the rings through the physical addresses
 * the driver would program (§4.1.4.3), takes chains from the avail ring,
 * walks their descriptors, writes used elements and decides, as the
 * negotiated features say, whether to interrupt (§2.6.7, VIRTIO_F_EVENT_IDX
 * used_event). It finds the rings as a legacy device does (§2.6.2, §4.2.4):
 * from the queue's first address alone, by the legacy layout rule, and
 * checks that the addresses a modern transport would program agree. The
 * driver's kick decisions are read from its doorbell and stats. Ring
 * pages come from tests/host/fake_pmm.c. */
#include "tests/host/test.h"

#include <errno.h>

#include "drivers/virtio/virtqueue.h"
#include "kernel/mm.h"
#include "tests/host/fake_pmm.h"

/* ---- the fake device ---- */

/* One chain as the device saw it, in chain order. */
struct fchain {
	uint16_t head;
	int n;
	uint16_t ids[VIRTQ_MAX_SIZE];
	struct virtq_desc d[VIRTQ_MAX_SIZE];
};

struct fdev {
	struct virtq *vq;
	uint16_t size;
	/* Device-side views, from the physical addresses only. */
	volatile struct virtq_desc *desc;
	volatile struct virtq_avail *avail;
	volatile struct virtq_used *used;
	bool event_idx;
	uint16_t last_avail; /* next avail entry the device takes (§2.6.6: its private index) */
	uint16_t used_idx;   /* the device's copy of used->idx */
	uint64_t irqs;       /* interrupts it raised */
};

static volatile uint16_t doorbell; /* the queue notify register (§4.1.4.4) */

/* §2.6.2 Legacy Interfaces: the avail ring follows the descriptor table;
 * the used ring starts at the next 4096-byte boundary (QueueAlign). */
static uint64_t legacy_avail(uint64_t desc, uint16_t size) { return desc + 16u * size; }
static uint64_t legacy_used(uint64_t desc, uint16_t size)
{
	return (legacy_avail(desc, size) + 4 + 2u * size + 2 + 4095) & ~(uint64_t)4095;
}

/* used_event follows avail->ring[size], avail_event used->ring[size]
 * (§2.6.6, §2.6.8): computed here from the spec's layout, not by the
 * driver's helpers. */
static volatile uint16_t *dev_used_event(struct fdev *d)
{
	return (volatile uint16_t *)((volatile uint8_t *)d->avail + 4 + 2 * d->size);
}

static volatile uint16_t *dev_avail_event(struct fdev *d)
{
	return (volatile uint16_t *)((volatile uint8_t *)d->used + 4 + 8 * d->size);
}

/* Take the next available chain; false if the driver has published none.
 * A chain longer than the queue is a loop in the descriptor table. */
static bool dev_pop(struct fdev *d, struct fchain *c)
{
	if (d->avail->idx == d->last_avail)
		return false;
	uint16_t id = d->avail->ring[d->last_avail & (d->size - 1)];
	d->last_avail++;
	c->head = id;
	c->n = 0;
	for (;;) {
		if (!CHECK(id < d->size) || !CHECK(c->n < d->size))
			return false;
		c->ids[c->n] = id;
		c->d[c->n].addr = d->desc[id].addr;
		c->d[c->n].len = d->desc[id].len;
		c->d[c->n].flags = d->desc[id].flags;
		c->d[c->n].next = d->desc[id].next;
		c->n++;
		if (!(d->desc[id].flags & VIRTQ_DESC_F_NEXT))
			return true;
		id = d->desc[id].next;
	}
}

/* Return a chain: write the element, then move idx (§2.6.8), then decide
 * whether to interrupt. With EVENT_IDX: iff used_event lies in the entries
 * just added, [old, new) mod 2^16 (§2.6.7.2 / vring_need_event), the flag
 * ignored; without: unless the driver set NO_INTERRUPT. */
static bool dev_push(struct fdev *d, uint32_t id, uint32_t len)
{
	uint16_t old = d->used_idx;
	d->used->ring[old & (d->size - 1)].id = id;
	d->used->ring[old & (d->size - 1)].len = len;
	d->used_idx++;
	d->used->idx = d->used_idx;
	bool irq = d->event_idx ? (uint16_t)(*dev_used_event(d) - old) < (uint16_t)(d->used_idx - old)
				: !(d->avail->flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
	if (irq)
		d->irqs++;
	return irq;
}

/* Initialise vq for the test and attach the device to it. */
static bool setup(struct virtq *vq, struct fdev *d, uint16_t size, bool event_idx)
{
	if (!CHECK(virtq_init(vq, 0, size, event_idx) == 0))
		return false;
	vq->index = 3;
	vq->doorbell = &doorbell;
	*d = (struct fdev){.vq = vq, .size = size, .event_idx = event_idx};
	d->desc = phys_to_virt(vq->desc_pa);
	d->avail = phys_to_virt(legacy_avail(vq->desc_pa, size));
	d->used = phys_to_virt(legacy_used(vq->desc_pa, size));
	return CHECK(vq->avail_pa == legacy_avail(vq->desc_pa, size)) &&
	       CHECK(vq->used_pa == legacy_used(vq->desc_pa, size));
}

static void teardown(struct virtq *vq)
{
	virtq_destroy(vq);
	CHECK(fake_pmm_outstanding() == 0);
}

static struct virtq_seg seg(uint64_t pa, uint32_t len, bool device_writes)
{
	return (struct virtq_seg){.pa = pa, .len = len, .device_writes = device_writes};
}

/* Move both rings `count` entries on with single buffers, as traffic would:
 * add, publish, device takes it and returns it, driver reclaims it. */
static void advance(struct virtq *vq, struct fdev *d, uint32_t count)
{
	struct virtq_seg s = seg(0x1000, 64, true);
	struct fchain c;
	uint32_t len;
	for (uint32_t i = 0; i < count; i++) {
		int id = virtq_add(vq, &s, 1);
		virtq_publish(vq);
		if (!CHECK(id >= 0) || !CHECK(dev_pop(d, &c)) || !CHECK(c.head == id))
			return;
		dev_push(d, (uint32_t)id, 0);
		if (!CHECK(virtq_get_used(vq, &len) == id))
			return;
	}
}

/* Deterministic xorshift32 for the long runs. */
static uint32_t rng_state = 2463534242u;
static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state % n;
}

/* ---- cases ---- */

static void t_init_bad_size(void)
{
	static const uint16_t sizes[] = {0, 3, 100, 257, 512};
	struct virtq vq;
	for (size_t i = 0; i < TEST_COUNT(sizes); i++)
		CHECK(virtq_init(&vq, 0, sizes[i], false) == -EINVAL);
	CHECK(fake_pmm_outstanding() == 0);
}

static void t_init_layout(void)
{
	/* 256 entries: the table fills a page, the avail ring starts the
	 * second, the used ring the third; smaller queues share the first. */
	static const struct { uint16_t size, pages; } cases[] = {{VIRTQ_MAX_SIZE, 3}, {128, 2}, {4, 2}, {1, 2}};
	for (size_t i = 0; i < TEST_COUNT(cases); i++) {
		struct virtq vq;
		uint16_t n = cases[i].size;
		if (!CHECK(virtq_init(&vq, 1, n, true) == 0))
			return;
		CHECK(vq.pages == cases[i].pages && fake_pmm_outstanding() == cases[i].pages);
		CHECK(virtq_bytes(n) <= cases[i].pages * 4096u && virtq_bytes(n) > (cases[i].pages - 1) * 4096u);
		/* §2.6.2: page-aligned start, the legacy rule for the rest (which
		 * also gives §2.6's 16-, 2- and 4-byte alignment). */
		CHECK((vq.desc_pa & 0xfff) == 0 && (vq.used_pa & 0xfff) == 0);
		CHECK(vq.avail_pa == legacy_avail(vq.desc_pa, n) && vq.used_pa == legacy_used(vq.desc_pa, n));
		CHECK(virtq_used_offset(n) == vq.used_pa - vq.desc_pa);
		CHECK(phys_to_virt(vq.desc_pa) == (void *)vq.desc && phys_to_virt(vq.used_pa) == (void *)vq.used);
		CHECK(virtq_num_free(&vq) == n);
		CHECK(virtq_peek_free(&vq) == 0);
		CHECK(vq.avail->idx == 0 && vq.used->idx == 0 && vq.avail->flags == 0);
		CHECK(!virtq_has_used(&vq));
		teardown(&vq);
	}
}

static void t_init_nomem(void)
{
	struct virtq vq;
	fake_pmm_fail_nth(1); /* the one contiguous block */
	CHECK(virtq_init(&vq, 0, 8, false) == -ENOMEM);
	CHECK(fake_pmm_outstanding() == 0);
	fake_pmm_fail_nth(0);
}

/* virtio-mmio's QueueNotify is a 32-bit register (§4.2.2): a transport
 * that sets doorbell32 gets whole 32-bit writes of the queue index. */
static void t_doorbell32(void)
{
	struct virtq vq;
	struct fdev d;
	volatile uint32_t notify = 0xffffffffu;
	if (!setup(&vq, &d, 8, false))
		return;
	vq.doorbell = NULL;
	vq.doorbell32 = &notify;
	struct virtq_seg s = seg(0x2000, 100, false);
	CHECK(virtq_add(&vq, &s, 1) == 0);
	CHECK(virtq_publish(&vq));
	CHECK(notify == 3 && vq.stats.notifies == 1);
	teardown(&vq);
}

static void t_single(void)
{
	struct virtq vq;
	struct fdev d;
	struct fchain c;
	uint32_t len = 0;
	if (!setup(&vq, &d, 16, false))
		return;
	struct virtq_seg s = seg(0xabc000, 1514, true);
	int peek = virtq_peek_free(&vq);
	int id = virtq_add(&vq, &s, 1);
	CHECK(id == peek);
	CHECK(virtq_num_free(&vq) == 15);
	CHECK(!dev_pop(&d, &c)); /* added is not published: idx has not moved */
	doorbell = 0xffff;
	CHECK(virtq_publish(&vq));
	CHECK(doorbell == 3 && vq.stats.notifies == 1); /* §4.1.4.4: the queue index */
	if (!CHECK(dev_pop(&d, &c)))
		goto out;
	CHECK(c.head == id && c.n == 1);
	CHECK(c.d[0].addr == 0xabc000 && c.d[0].len == 1514 && c.d[0].flags == VIRTQ_DESC_F_WRITE);
	CHECK(!virtq_has_used(&vq));
	CHECK(virtq_get_used(&vq, &len) == -EAGAIN);
	dev_push(&d, (uint32_t)id, 77);
	CHECK(virtq_has_used(&vq));
	CHECK(virtq_get_used(&vq, &len) == id && len == 77);
	CHECK(virtq_num_free(&vq) == 16);
	CHECK(!virtq_has_used(&vq));
	CHECK(virtq_get_used(&vq, &len) == -EAGAIN);
out:
	teardown(&vq);
}

static void t_chain(void)
{
	struct virtq vq;
	struct fdev d;
	struct fchain c;
	uint32_t len;
	if (!setup(&vq, &d, 16, false))
		return;
	/* A transmit-style chain: a header the device reads, then two
	 * buffers it writes. */
	struct virtq_seg s[3] = {seg(0x10000, 12, false), seg(0x20000, 1500, true), seg(0x30000, 64, true)};
	int id = virtq_add(&vq, s, 3);
	CHECK(virtq_num_free(&vq) == 13);
	virtq_publish(&vq);
	if (!CHECK(dev_pop(&d, &c)) || !CHECK(c.n == 3))
		goto out;
	CHECK(c.head == id);
	CHECK(c.d[0].addr == 0x10000 && c.d[0].len == 12 && c.d[0].flags == VIRTQ_DESC_F_NEXT);
	CHECK(c.d[1].addr == 0x20000 && c.d[1].len == 1500 &&
	      c.d[1].flags == (VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE));
	CHECK(c.d[2].addr == 0x30000 && c.d[2].len == 64 && c.d[2].flags == VIRTQ_DESC_F_WRITE);
	dev_push(&d, (uint32_t)id, 1564);
	CHECK(virtq_get_used(&vq, &len) == id && len == 1564);
	CHECK(virtq_num_free(&vq) == 16);

	/* After that reclaim the free list must still hold every descriptor
	 * once: fill the table with chains of 1..5 and see that no two
	 * chains share a descriptor. */
	bool seen[16] = {false};
	struct virtq_seg many[5] = {seg(1, 1, false), seg(2, 1, false), seg(3, 1, false), seg(4, 1, false),
				    seg(5, 1, false)};
	for (int n = 1; n <= 5; n++) /* 15 descriptors, then one more */
		CHECK(virtq_add(&vq, many, n) >= 0);
	CHECK(virtq_add(&vq, many, 1) >= 0);
	CHECK(virtq_num_free(&vq) == 0);
	virtq_publish(&vq);
	int total = 0;
	while (dev_pop(&d, &c)) {
		for (int i = 0; i < c.n; i++) {
			CHECK(!seen[c.ids[i]]);
			seen[c.ids[i]] = true;
			CHECK(c.d[i].addr == (uint64_t)(i + 1)); /* chain order kept */
		}
		total += c.n;
	}
	CHECK(total == 16);
out:
	teardown(&vq);
}

static void t_full(void)
{
	struct virtq vq;
	struct fdev d;
	struct fchain c;
	uint32_t len;
	if (!setup(&vq, &d, 4, false))
		return;
	struct virtq_seg s[5] = {seg(1, 1, true), seg(2, 1, true), seg(3, 1, true), seg(4, 1, true),
				 seg(5, 1, true)};
	CHECK(virtq_add(&vq, s, 0) == -EINVAL);
	CHECK(virtq_add(&vq, s, 5) == -EINVAL); /* longer than the queue: never fits */
	int ids[4];
	for (int i = 0; i < 4; i++)
		ids[i] = virtq_add(&vq, &s[i], 1);
	CHECK(ids[0] != ids[1] && ids[1] != ids[2] && ids[2] != ids[3] && ids[0] != ids[3]);
	CHECK(virtq_num_free(&vq) == 0);
	CHECK(virtq_peek_free(&vq) == -ENOSPC);
	CHECK(virtq_add(&vq, s, 1) == -ENOSPC);
	virtq_publish(&vq);
	CHECK(vq.avail->idx == 4);
	for (int i = 0; i < 4; i++)
		CHECK(dev_pop(&d, &c));
	/* Reclaim order is the used ring's, not the order of submission. */
	dev_push(&d, (uint32_t)ids[3], 30);
	dev_push(&d, (uint32_t)ids[1], 10);
	CHECK(virtq_get_used(&vq, &len) == ids[3] && len == 30);
	CHECK(virtq_get_used(&vq, &len) == ids[1] && len == 10);
	CHECK(virtq_num_free(&vq) == 2);
	CHECK(virtq_add(&vq, s, 3) == -ENOSPC); /* a chain needs all its descriptors free */
	CHECK(virtq_num_free(&vq) == 2);
	/* The two freed descriptors come back, each once, as peek says. */
	int peek = virtq_peek_free(&vq);
	int a = virtq_add(&vq, s, 1);
	CHECK(a == peek);
	peek = virtq_peek_free(&vq);
	int b = virtq_add(&vq, s, 1);
	CHECK(b == peek);
	CHECK((a == ids[1] && b == ids[3]) || (a == ids[3] && b == ids[1]));
	CHECK(virtq_add(&vq, s, 1) == -ENOSPC);
	teardown(&vq);
}

/* Out-of-order completion with chains in flight across many wraps of the
 * 16-bit indices: every reclaim must name the chain the device returned,
 * in used-ring order, and the free count must never drift. */
static void t_wrap(void)
{
	enum { SIZE = 16 };
	struct virtq vq;
	struct fdev d;
	if (!setup(&vq, &d, SIZE, false))
		return;
	uint64_t token[SIZE] = {0}; /* per head: first segment's address, 0 while free */
	int chain_n[SIZE] = {0};
	struct fchain held[SIZE]; /* taken by the device, not yet returned */
	int nheld = 0;
	uint16_t expect_id[SIZE];
	uint32_t expect_len[SIZE];
	uint64_t next_token = 1, added = 0, pushed = 0;
	int bad = 0;
	while (added < 3 * 65536 + 1234 && bad < 5) {
		/* Driver: a batch of chains of 1..3 segments. */
		int batch = 1 + (int)rnd(4);
		for (int i = 0; i < batch; i++) {
			int n = 1 + (int)rnd(3);
			struct virtq_seg s[3];
			for (int k = 0; k < n; k++)
				s[k] = seg(next_token << 8 | (uint64_t)k, (uint32_t)(k + 1), k > 0);
			int peek = virtq_peek_free(&vq);
			if (n > virtq_num_free(&vq)) {
				bad += !CHECK(virtq_add(&vq, s, n) == -ENOSPC);
				continue;
			}
			int id = virtq_add(&vq, s, n);
			if (!CHECK(id >= 0 && id == peek && token[id] == 0)) {
				bad++;
				continue;
			}
			token[id] = next_token++ << 8;
			chain_n[id] = n;
			added++;
		}
		virtq_publish(&vq);
		/* Device: take everything, check it, return a random subset in a
		 * random order. */
		while (nheld < SIZE && dev_pop(&d, &held[nheld])) {
			struct fchain *h = &held[nheld++];
			bad += !CHECK(h->head < SIZE && h->n == chain_n[h->head] &&
				      h->d[0].addr == token[h->head]);
		}
		int ret = (int)rnd((uint32_t)nheld + 1);
		for (int i = 0; i < ret; i++) {
			int pick = (int)rnd((uint32_t)nheld);
			expect_id[i] = held[pick].head;
			expect_len[i] = (uint32_t)(token[held[pick].head] >> 8) & 0xffff;
			dev_push(&d, held[pick].head, expect_len[i]);
			pushed++;
			held[pick] = held[--nheld];
		}
		/* Driver: reclaim exactly those, in the device's order. */
		for (int i = 0; i < ret; i++) {
			uint32_t len = 0;
			int id = virtq_get_used(&vq, &len);
			if (!CHECK(id == expect_id[i] && len == expect_len[i])) {
				bad++;
				break;
			}
			token[id] = 0;
		}
		uint32_t len;
		bad += !CHECK(virtq_get_used(&vq, &len) == -EAGAIN);
		int in_flight = 0;
		for (int i = 0; i < SIZE; i++)
			in_flight += token[i] ? chain_n[i] : 0;
		bad += !CHECK(virtq_num_free(&vq) + in_flight == SIZE);
	}
	CHECK(added > 3 * 65536);
	CHECK(vq.avail->idx == (uint16_t)added); /* wrapped three times */
	CHECK(pushed > 3 * 65536 && vq.used->idx == (uint16_t)pushed && vq.last_used == (uint16_t)pushed);
	CHECK(vq.stats.bad_used == 0);
	teardown(&vq);
}

/* Device data is not trusted (virtqueue.h): a used entry naming a
 * descriptor the device does not own is skipped and counted, and the free
 * list is left intact. */
static void t_bad_used(void)
{
	struct virtq vq;
	struct fdev d;
	struct fchain c;
	uint32_t len;
	if (!setup(&vq, &d, 8, false))
		return;
	struct virtq_seg s[2] = {seg(0x1000, 10, false), seg(0x2000, 20, true)};
	int chain = virtq_add(&vq, s, 2);
	virtq_publish(&vq);
	CHECK(dev_pop(&d, &c) && c.n == 2);
	uint16_t second = c.ids[1];
	int never = virtq_peek_free(&vq); /* a free descriptor the device never got */

	dev_push(&d, 8, 1); /* out of range */
	CHECK(virtq_get_used(&vq, &len) == -EIO);
	dev_push(&d, (uint32_t)never, 1);
	CHECK(virtq_get_used(&vq, &len) == -EIO);
	dev_push(&d, second, 1); /* inside a chain, not its head */
	CHECK(virtq_get_used(&vq, &len) == -EIO);
	CHECK(vq.stats.bad_used == 3);
	CHECK(virtq_num_free(&vq) == 6);
	dev_push(&d, (uint32_t)chain, 30); /* the genuine one still works */
	CHECK(virtq_get_used(&vq, &len) == chain && len == 30);
	CHECK(virtq_num_free(&vq) == 8);
	dev_push(&d, (uint32_t)chain, 30); /* a repeat: no longer the device's */
	CHECK(virtq_get_used(&vq, &len) == -EIO);
	CHECK(vq.stats.bad_used == 4);
	CHECK(virtq_num_free(&vq) == 8);
	/* All eight descriptors still come out once each. */
	bool seen[8] = {false};
	for (int i = 0; i < 8; i++) {
		int id = virtq_add(&vq, s, 1);
		if (CHECK(id >= 0 && id < 8))
			CHECK(!seen[id]);
		if (id >= 0 && id < 8)
			seen[id] = true;
	}
	teardown(&vq);
}

/* Without EVENT_IDX the device's only hint is VIRTQ_USED_F_NO_NOTIFY
 * (§2.6.10.1), and one publish covers a batch. */
static void t_kick_flag(void)
{
	struct virtq vq;
	struct fdev d;
	struct fchain c;
	if (!setup(&vq, &d, 8, false))
		return;
	struct virtq_seg s = seg(0x1000, 10, true);
	CHECK(!virtq_publish(&vq)); /* nothing new: no doorbell */
	CHECK(vq.stats.notifies == 0);
	for (int i = 0; i < 3; i++)
		virtq_add(&vq, &s, 1);
	CHECK(virtq_publish(&vq));
	CHECK(vq.stats.notifies == 1 && vq.avail->idx == 3);
	CHECK(!virtq_publish(&vq));

	d.used->flags = VIRTQ_USED_F_NO_NOTIFY; /* the device is polling */
	doorbell = 0xffff;
	virtq_add(&vq, &s, 1);
	CHECK(!virtq_publish(&vq));
	CHECK(doorbell == 0xffff && vq.stats.notifies == 1);
	CHECK(vq.avail->idx == 4); /* published all the same */
	int got = 0;
	while (dev_pop(&d, &c))
		got++;
	CHECK(got == 4);

	d.used->flags = 0;
	virtq_add(&vq, &s, 1);
	CHECK(virtq_publish(&vq));
	CHECK(doorbell == 3 && vq.stats.notifies == 2);
	teardown(&vq);
}

/* With EVENT_IDX the driver notifies iff the device's avail_event lies in
 * the entries this publish exposed (§2.6.10.2), the flag ignored. Rows
 * straddle the 16-bit wrap; expectations are worked out by hand. */
static void t_kick_event_idx_wrap(void)
{
	static const struct {
		uint16_t old; /* avail idx before the publish */
		int added;
		uint16_t avail_event;
		bool notify;
	} rows[] = {
	    {65534, 4, 65533, false},                      /* asked about an entry already published */
	    {65534, 4, 65534, true},                       /* the first one exposed */
	    {65534, 4, 65535, true},  {65534, 4, 0, true}, /* past the wrap */
	    {65534, 4, 1, true},                           /* the last one exposed (new idx is 2) */
	    {65534, 4, 2, false},                          /* the next entry, not yet added */
	    {65535, 1, 65535, true},  {65535, 1, 0, false},     {0, 2, 65535, false},
	    {0, 2, 1, true},          {65532, 8, 32768, false}, /* half the index space away */
	};
	for (size_t i = 0; i < TEST_COUNT(rows); i++) {
		struct virtq vq;
		struct fdev d;
		if (!setup(&vq, &d, 8, true))
			return;
		advance(&vq, &d, rows[i].old);
		uint64_t before = vq.stats.notifies;
		*dev_avail_event(&d) = rows[i].avail_event;
		d.used->flags = rows[i].notify ? VIRTQ_USED_F_NO_NOTIFY : 0; /* ignored with EVENT_IDX */
		doorbell = 0xffff;
		struct virtq_seg s = seg(0x1000, 10, true);
		for (int k = 0; k < rows[i].added; k++)
			CHECK(virtq_add(&vq, &s, 1) >= 0);
		bool kicked = virtq_publish(&vq);
		if (!CHECK(kicked == rows[i].notify))
			fprintf(stderr, "  row %zu: old %u +%d avail_event %u\n", i, rows[i].old,
				rows[i].added, rows[i].avail_event);
		CHECK(vq.stats.notifies - before == (rows[i].notify ? 1u : 0u));
		CHECK(doorbell == (rows[i].notify ? 3 : 0xffff));
		CHECK(vq.avail->idx == (uint16_t)(rows[i].old + rows[i].added));
		CHECK(!virtq_publish(&vq)); /* nothing new since */
		teardown(&vq);
	}
}

/* Without EVENT_IDX interrupts follow VIRTQ_AVAIL_F_NO_INTERRUPT. An entry
 * the device adds while they are off raises none; virtq_irq_enable must
 * then report it, or it would wait for an interrupt that never comes
 * (the re-check after enabling, §2.6.14 note; unikraft's
 * virtqueue_intr_enable does the same). */
static void t_irq_flag(void)
{
	struct virtq vq;
	struct fdev d;
	struct fchain c;
	uint32_t len;
	if (!setup(&vq, &d, 8, false))
		return;
	struct virtq_seg s = seg(0x1000, 10, true);
	for (int i = 0; i < 4; i++)
		virtq_add(&vq, &s, 1);
	virtq_publish(&vq);
	CHECK(dev_pop(&d, &c) && dev_push(&d, c.head, 1)); /* enabled from the start */
	virtq_irq_disable(&vq);
	CHECK(d.avail->flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
	CHECK(dev_pop(&d, &c) && !dev_push(&d, c.head, 1)); /* while the poller drains */
	CHECK(d.irqs == 1);
	/* The poller drains, then re-enables; an entry slips in between. */
	while (virtq_get_used(&vq, &len) >= 0)
		;
	CHECK(dev_pop(&d, &c) && !dev_push(&d, c.head, 1));
	CHECK(virtq_irq_enable(&vq)); /* caught by the re-check */
	CHECK(d.irqs == 1);
	CHECK(virtq_get_used(&vq, &len) == c.head);
	CHECK(!virtq_irq_enable(&vq)); /* nothing pending: safe to wait */
	CHECK(dev_pop(&d, &c) && dev_push(&d, c.head, 1));
	CHECK(d.irqs == 2);
	teardown(&vq);
}

/* With EVENT_IDX: one interrupt per batch (used_event = the next entry the
 * driver will read), none while disabled, the re-check on enable, all
 * across the wrap of the used index. */
static void t_irq_event_idx_wrap(void)
{
	struct virtq vq;
	struct fdev d;
	struct fchain c;
	uint32_t len;
	if (!setup(&vq, &d, 8, true))
		return;
	advance(&vq, &d, 65533); /* used idx and last_used now 65533 */
	struct virtq_seg s = seg(0x1000, 10, true);
	for (int i = 0; i < 8; i++)
		virtq_add(&vq, &s, 1);
	virtq_publish(&vq);
	uint64_t base = d.irqs;

	CHECK(!virtq_irq_enable(&vq));
	CHECK(*dev_used_event(&d) == 65533);
	CHECK(dev_pop(&d, &c) && dev_push(&d, c.head, 1));  /* entry 65533: interrupt */
	CHECK(dev_pop(&d, &c) && !dev_push(&d, c.head, 1)); /* 65534: same batch, none */
	CHECK(d.irqs == base + 1);
	CHECK(virtq_get_used(&vq, &len) >= 0 && virtq_get_used(&vq, &len) >= 0);
	CHECK(!virtq_irq_enable(&vq));
	CHECK(*dev_used_event(&d) == 65535);
	CHECK(dev_pop(&d, &c) && dev_push(&d, c.head, 1));  /* 65535 */
	CHECK(dev_pop(&d, &c) && !dev_push(&d, c.head, 1)); /* 0, after the wrap */
	CHECK(d.irqs == base + 2);
	CHECK(virtq_get_used(&vq, &len) >= 0 && virtq_get_used(&vq, &len) >= 0);
	CHECK(vq.last_used == 1);

	/* Disabled: used_event is parked one behind, 65535 entries away. */
	virtq_irq_disable(&vq);
	CHECK(*dev_used_event(&d) == 0);
	CHECK(dev_pop(&d, &c) && !dev_push(&d, c.head, 1));
	CHECK(dev_pop(&d, &c) && !dev_push(&d, c.head, 1));
	CHECK(d.irqs == base + 2);
	/* Entries that arrived while disabled are reported by the enable. */
	CHECK(virtq_irq_enable(&vq));
	CHECK(virtq_get_used(&vq, &len) >= 0 && virtq_get_used(&vq, &len) >= 0);
	CHECK(!virtq_irq_enable(&vq));
	CHECK(dev_pop(&d, &c) && dev_push(&d, c.head, 1));
	CHECK(d.irqs == base + 3);
	teardown(&vq);
}

/* Enabling again with interrupts still on and nothing consumed since
 * stores nothing and reads no register (the poller parks often between
 * batches); after a consumption or a disable it does the whole step. */
static void t_irq_enable_again(void)
{
	struct virtq vq;
	struct fdev d;
	struct fchain c;
	uint32_t len;
	static volatile uint8_t reg;
	if (!setup(&vq, &d, 8, true))
		return;
	vq.sync_reg = &reg;
	struct virtq_seg s = seg(0x1000, 10, true);
	for (int i = 0; i < 4; i++)
		virtq_add(&vq, &s, 1);
	virtq_publish(&vq);
	CHECK(!virtq_irq_enable(&vq));
	*dev_used_event(&d) = 0x5555; /* a marker: a store by the driver would change it */
	CHECK(!virtq_irq_enable(&vq) && *dev_used_event(&d) == 0x5555);
	*dev_used_event(&d) = 0;
	CHECK(dev_pop(&d, &c) && dev_push(&d, c.head, 1));
	CHECK(virtq_irq_enable(&vq)); /* the fast path still reports what is there */
	CHECK(virtq_get_used(&vq, &len) >= 0);
	CHECK(!virtq_irq_enable(&vq) && *dev_used_event(&d) == vq.last_used); /* consumed: enabled anew */
	virtq_irq_disable(&vq);
	CHECK(!virtq_irq_enable(&vq) && *dev_used_event(&d) == vq.last_used && vq.avail->flags == 0);
	teardown(&vq);
}

/* virtq_peek_free_after names the descriptors a chain added next takes,
 * in order, whatever order completions put the free list in. */
static void t_peek_free_after(void)
{
	struct virtq vq;
	struct fdev d;
	struct fchain c;
	uint32_t len;
	if (!setup(&vq, &d, 8, false))
		return;
	struct virtq_seg s = seg(0x1000, 10, false), segs[8];
	for (int i = 0; i < 5; i++) /* scramble the free list: add 5, complete 1, 3, 0 */
		virtq_add(&vq, &s, 1);
	virtq_publish(&vq);
	for (int i = 0; i < 5; i++)
		CHECK(dev_pop(&d, &c));
	dev_push(&d, 1, 1), dev_push(&d, 3, 1), dev_push(&d, 0, 1);
	for (int i = 0; i < 3; i++)
		CHECK(virtq_get_used(&vq, &len) >= 0);
	int ids[6];
	for (uint16_t k = 0; k < 6; k++)
		ids[k] = virtq_peek_free_after(&vq, k);
	CHECK(virtq_peek_free_after(&vq, 6) == -ENOSPC);
	for (int k = 0; k < 6; k++)
		segs[k] = s;
	CHECK(virtq_add(&vq, segs, 6) == ids[0]);
	virtq_publish(&vq);
	CHECK(dev_pop(&d, &c) && c.n == 6);
	for (int k = 0; k < 6; k++)
		CHECK(c.ids[k] == ids[k]);
	teardown(&vq);
}

/* A transport-supplied sync register is read after the fence; the queue
 * works the same with one (virtq_device_mb). */
static void t_sync_reg(void)
{
	static const uint8_t reg = 0;
	struct virtq vq;
	struct fdev d;
	struct fchain c;
	uint32_t len;
	if (!setup(&vq, &d, 8, true))
		return;
	vq.sync_reg = &reg;
	struct virtq_seg s = seg(0x1000, 10, true);
	int id = virtq_add(&vq, &s, 1);
	*dev_avail_event(&d) = 0;
	CHECK(virtq_publish(&vq));
	CHECK(dev_pop(&d, &c) && c.head == id);
	CHECK(!virtq_irq_enable(&vq));
	CHECK(dev_push(&d, c.head, 5));
	CHECK(virtq_get_used(&vq, &len) == id && len == 5);
	teardown(&vq);
}

/* A transport's queue size: the smaller maximum, rounded down to a power
 * of two, never above VIRTQ_MAX_SIZE, against a reference loop. */
static void t_fit_size(void)
{
	CHECK(virtq_fit_size(1, 256) == 1 && virtq_fit_size(256, 4) == 4 && virtq_fit_size(3, 256) == 2);
	CHECK(virtq_fit_size(1024, 256) == 256 && virtq_fit_size(1024, 200) == 128);
	CHECK(virtq_fit_size(65535, 65535) == VIRTQ_MAX_SIZE && virtq_fit_size(0xffffffffu, 1) == 1);
	for (uint32_t dev = 1; dev <= 1024; dev++)
		for (uint16_t want = 1; want <= 300; want++) {
			uint32_t n = dev < want ? dev : want, ref = 1;
			while (ref * 2 <= n && ref * 2 <= VIRTQ_MAX_SIZE)
				ref *= 2;
			if (!CHECK(virtq_fit_size(dev, want) == ref))
				return;
		}
}

static const struct test_case cases[] = {
    {"fit_size: min of the two maxima, a power of two, at most 256", t_fit_size},
    {"init: size not a power of two or above 256 is -EINVAL", t_init_bad_size},
    {"init: §2.6.2 legacy layout in 2-3 contiguous zeroed pages, all descriptors free; destroy frees them",
     t_init_layout},
    {"init: the page allocation failing is -ENOMEM with nothing leaked", t_init_nomem},
    {"doorbell32: a 32-bit notify register gets the queue index", t_doorbell32},
    {"single buffer: invisible until published, one notify, reclaimed with its length", t_single},
    {"chain of 3: NEXT/WRITE flags and order as added; free list intact after reclaim", t_chain},
    {"full ring: -ENOSPC, -EINVAL for 0 or > size, reclaim in used order frees those ids", t_full},
    {"wrap: 3 x 2^16 chains completed out of order, in flight across the wrap", t_wrap},
    {"bad used entries (out of range, free, mid-chain, repeat) are -EIO and counted", t_bad_used},
    {"kick without EVENT_IDX: one per batch, none while the device sets NO_NOTIFY", t_kick_flag},
    {"kick with EVENT_IDX: avail_event inside the published range, across the wrap", t_kick_event_idx_wrap},
    {"irq without EVENT_IDX: NO_INTERRUPT honoured; enable re-checks the used ring", t_irq_flag},
    {"irq with EVENT_IDX: once per batch, none while disabled, re-check, across the wrap",
     t_irq_event_idx_wrap},
    {"sync register set: publish and enable still work", t_sync_reg},
    {"irq enable again with nothing consumed: no store; after a consumption or a disable: a full enable",
     t_irq_enable_again},
    {"peek_free_after: the ids a chain added next takes, in order, after completions reordered the free list",
     t_peek_free_after},
};

int main(void)
{
	test_init("virtqueue");
	test_run(cases, TEST_COUNT(cases));
	return test_finish();
}
