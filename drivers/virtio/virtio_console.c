/* virtio-console, the log's console device (virtio 1.1 §5.3), over the
 * transport seam (virtio.h). Section numbers are from virtio 1.1.
 *
 * QEMU: -device virtio-serial-pci -chardev file,id=c0,path=log.txt
 * -device virtconsole,chardev=c0 (device 1af4:1003 transitional, or
 * 1af4:1043 with disable-legacy=on), or on -M microvm
 * -device virtio-serial-device -device virtconsole,chardev=c0.
 *
 * Output only, port 0 only: VIRTIO_CONSOLE_F_MULTIPORT is not negotiated,
 * so port 0's transmitq is queue 1 (§5.3.2) and nothing else is set up.
 * The log task (kernel/log.c) hands it a batch of whole lines; the batch
 * is copied into one of two device-readable pages and goes out as one
 * descriptor, one doorbell (a VM exit) per batch where the UART costs one
 * per byte. The write returns once the buffer is posted: QEMU takes it
 * in its main loop (the doorbell is an ioeventfd there), which under load
 * is hundreds of microseconds later, and a machine with one CPU must not
 * spin through that. A write waits only for a free page; virtio_console_sync
 * waits until the device has everything, for a crash report or power-off.
 * Both poll the used ring with a deadline, so they work with interrupts
 * off. No interrupts are asked for (§2.6.7). */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "drivers/virtio/virtio.h"
#include "drivers/virtio/virtio_console.h"
#include "drivers/virtio/virtqueue.h"
#include "kernel/clock.h"
#include "kernel/cpu.h"
#include "kernel/log.h"
#include "kernel/mm.h"

#define VIRTIO_CONSOLE_TRANSMITQ 1 /* §5.3.2: port 0's transmitq */
/* Buffers: one filling while the other is with the device. */
#define VIRTIO_CONSOLE_BUFS 2
/* A descriptor per buffer; the smallest queue takes two pages anyway. */
#define VIRTIO_CONSOLE_QUEUE_MAX 4
_Static_assert(VIRTIO_CONSOLE_BUFS <= VIRTIO_CONSOLE_QUEUE_MAX, "every buffer can be posted at once");
/* §5.3.3: SIZE, MULTIPORT and EMERG_WRITE are not needed for output on
 * port 0; VERSION_1 keeps the modern layouts. */
#define VIRTIO_CONSOLE_WANTED VIRTIO_F_VERSION_1
/* A write's or a sync's budget: a backend that blocks must not stop the
 * machine, so what does not go in time is dropped. */
#define VIRTIO_CONSOLE_TIMEOUT_NS (100 * NSEC_PER_MSEC)

struct virtio_console {
	struct virtio_dev *dev;
	struct virtq vq;
	uint64_t features;                         /* negotiated */
	uint64_t buf_pa[VIRTIO_CONSOLE_BUFS];      /* pages the device reads */
	uint32_t held[VIRTIO_CONSOLE_BUFS];        /* bytes of each the device owns; 0: free */
	uint8_t buf_of[VIRTIO_CONSOLE_QUEUE_MAX];  /* descriptor id -> buffer */
	bool ready;
	struct virtio_console_stats stats;
};

static struct virtio_console con;

/* Take back the buffers the device has used. An entry naming no chain of
 * ours is skipped and counted (virtq_get_used has dropped it). */
static void virtio_console_reclaim(struct virtio_console *c)
{
	while (virtq_has_used(&c->vq)) {
		uint32_t len;
		int id = virtq_get_used(&c->vq, &len);
		(void)virtio_irq_ack(c->dev); /* deasserts a stray INTx or mmio line (§4.1.4.5, §4.2.2) */
		if (id < 0) {
			c->stats.failed++;
			continue;
		}
		uint8_t b = c->buf_of[id];
		c->stats.bytes += c->held[b];
		c->held[b] = 0;
	}
}

/* A free buffer with a descriptor to post it in (a queue may be smaller
 * than VIRTIO_CONSOLE_BUFS), or -1. */
static int virtio_console_free_buf(const struct virtio_console *c)
{
	if (!virtq_num_free(&c->vq))
		return -1;
	for (int b = 0; b < VIRTIO_CONSOLE_BUFS; b++)
		if (!c->held[b])
			return b;
	return -1;
}

static bool virtio_console_idle(const struct virtio_console *c)
{
	for (int b = 0; b < VIRTIO_CONSOLE_BUFS; b++)
		if (c->held[b])
			return false;
	return true;
}

/* Spin until a buffer is free (all: until every one is) or `deadline`
 * passes. */
static int virtio_console_wait(struct virtio_console *c, bool all, uint64_t deadline)
{
	for (;;) {
		virtio_console_reclaim(c);
		if (all ? virtio_console_idle(c) : virtio_console_free_buf(c) >= 0)
			return 0;
		if (clock_now() > deadline)
			return -ETIMEDOUT; /* still the device's: a later call waits for it first */
		cpu_relax();
	}
}

/* One chunk of at most a page: copied into a free buffer and posted. */
static int virtio_console_chunk(struct virtio_console *c, const char *s, size_t n, uint64_t deadline)
{
	int err = virtio_console_wait(c, false, deadline);
	if (err)
		return err;
	int b = virtio_console_free_buf(c);
	memcpy(phys_to_virt(c->buf_pa[b]), s, n);
	/* §5.3.6.1: transmit buffers are device-readable. */
	struct virtq_seg seg = { c->buf_pa[b], (uint32_t)n, false };
	int id = virtq_add(&c->vq, &seg, 1);
	if (id < 0)
		return id;
	c->buf_of[id] = (uint8_t)b;
	c->held[b] = (uint32_t)n;
	virtq_publish(&c->vq);
	c->stats.batches++;
	return 0;
}

void virtio_console_write(const char *s, size_t n)
{
	if (!con.ready)
		return;
	uint64_t deadline = clock_now() + VIRTIO_CONSOLE_TIMEOUT_NS;
	while (n) {
		size_t k = n < PAGE_SIZE ? n : PAGE_SIZE;
		if (virtio_console_chunk(&con, s, k, deadline)) {
			con.stats.failed++;
			return;
		}
		s += k;
		n -= k;
	}
}

void virtio_console_sync(void)
{
	if (con.ready && virtio_console_wait(&con, true, clock_now() + VIRTIO_CONSOLE_TIMEOUT_NS))
		con.stats.failed++;
}

void virtio_console_get_stats(struct virtio_console_stats *out) { *out = con.stats; }

/* ---- setup ---- */

/* Give up on the device: reset it first, so it forgets the ring and buffer
 * addresses before their pages go back to the allocator (§2.1.1). */
static void virtio_console_abort(struct virtio_console *c)
{
	c->ready = false;
	bool quiet = virtio_reset(c->dev) == 0;
	virtio_fail(c->dev);
	if (!quiet)
		return; /* the device may still DMA: leak rather than reuse the pages */
	for (int b = 0; b < VIRTIO_CONSOLE_BUFS; b++) {
		if (c->buf_pa[b])
			pmm_free(c->buf_pa[b]);
		c->buf_pa[b] = 0;
	}
	if (c->vq.desc)
		virtq_destroy(&c->vq);
}

/* §3.1.1 step 7: port 0's transmitq and its buffers; no interrupt. */
static int virtio_console_setup(struct virtio_console *c)
{
	int err = virtio_setup_queue(c->dev, &c->vq, VIRTIO_CONSOLE_TRANSMITQ, VIRTIO_CONSOLE_QUEUE_MAX, false);
	if (err)
		return err;
	virtq_irq_disable(&c->vq); /* polled (§2.6.7; no EVENT_IDX: the flag is what it reads) */
	for (int b = 0; b < VIRTIO_CONSOLE_BUFS; b++)
		if (!(c->buf_pa[b] = pmm_alloc()))
			return -ENOMEM;
	return 0;
}

/* §3.1.1 Device Initialization, one step per comment. */
static int virtio_console_start(struct virtio_dev *dev, void *arg)
{
	struct virtio_console *c = arg;
	*c = (struct virtio_console){ .dev = dev };
	/* 1-6. Reset, ACKNOWLEDGE, DRIVER, features: VERSION_1 only. */
	int err = virtio_begin(dev, VIRTIO_CONSOLE_WANTED, &c->features);
	/* 7. Device-specific setup: the transmit queue and the buffer pages. */
	if (!err)
		err = virtio_console_setup(c);
	/* 8. DRIVER_OK: the device is live. */
	if (!err)
		err = virtio_driver_ok(dev);
	if (err) {
		virtio_console_abort(c);
		return err;
	}
	c->ready = true;
	return 0;
}

int virtio_console_probe(void)
{
	int err = virtio_probe("virtio-console", VIRTIO_ID_CONSOLE, virtio_console_start, &con);
	if (err)
		return err;
	log_info("virtio-console", "%s, polled, port 0, queue of %u, %d buffers%s", con.dev->where, con.vq.size,
		 VIRTIO_CONSOLE_BUFS,
		 con.dev->tcg ? "; QEMU TCG: ring barriers via register read" : "");
	log_set_console("virtio-console", virtio_console_write, virtio_console_sync);
	return 0;
}
