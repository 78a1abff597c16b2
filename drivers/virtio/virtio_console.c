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
 * is copied into one device-readable page and goes out as one descriptor,
 * one doorbell (a VM exit) per batch where the UART costs one per byte.
 * Polled like virtio-rng: the write spins on the used ring until the
 * device has taken the buffer (QEMU does so while handling the doorbell)
 * or a deadline passes, so it works with interrupts off, for a panic. No
 * interrupts are asked for (§2.6.7). */
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
/* One buffer is ever in flight; the smallest queue takes two pages anyway. */
#define VIRTIO_CONSOLE_QUEUE_MAX 4
/* §5.3.3: SIZE, MULTIPORT and EMERG_WRITE are not needed for output on
 * port 0; VERSION_1 keeps the modern layouts. */
#define VIRTIO_CONSOLE_WANTED VIRTIO_F_VERSION_1
/* A batch's budget. QEMU takes the buffer while handling the doorbell; a
 * backend that blocks must not stop the machine, so the batch is dropped. */
#define VIRTIO_CONSOLE_TIMEOUT_NS (100 * NSEC_PER_MSEC)

struct virtio_console {
	struct virtio_dev *dev;
	struct virtq vq;
	uint64_t features; /* negotiated */
	uint64_t buf_pa;   /* the one buffer: a page the device reads */
	bool inflight;     /* the device owns the buffer (a write timed out) */
	bool ready;
	struct virtio_console_stats stats;
};

static struct virtio_console con;

/* Spin until the device returns the buffer or `deadline` passes. */
static int virtio_console_wait(struct virtio_console *c, uint64_t deadline)
{
	while (!virtq_has_used(&c->vq)) {
		if (clock_now() > deadline)
			return -ETIMEDOUT; /* still inflight: the next write waits for it first */
		cpu_relax();
	}
	uint32_t len;
	int id = virtq_get_used(&c->vq, &len);
	(void)virtio_irq_ack(c->dev); /* deasserts a stray INTx or mmio line (§4.1.4.5, §4.2.2) */
	if (id < 0)
		return -EIO; /* named no buffer of ours: ours may still be with the device */
	c->inflight = false;
	return 0;
}

/* One chunk of at most a page: copied, posted, waited for. */
static int virtio_console_chunk(struct virtio_console *c, const char *s, size_t n, uint64_t deadline)
{
	if (c->inflight) {
		int err = virtio_console_wait(c, deadline);
		if (err)
			return err;
	}
	memcpy(phys_to_virt(c->buf_pa), s, n);
	/* §5.3.6.1: transmit buffers are device-readable. */
	struct virtq_seg seg = { c->buf_pa, (uint32_t)n, false };
	int id = virtq_add(&c->vq, &seg, 1);
	if (id < 0)
		return id;
	c->inflight = true;
	virtq_publish(&c->vq);
	c->stats.batches++;
	return virtio_console_wait(c, deadline);
}

void virtio_console_write(const char *s, size_t n)
{
	if (!con.ready)
		return;
	uint64_t deadline = clock_now() + VIRTIO_CONSOLE_TIMEOUT_NS;
	while (n) {
		size_t k = n < PAGE_SIZE ? n : PAGE_SIZE;
		int err = virtio_console_chunk(&con, s, k, deadline);
		if (err) {
			con.stats.failed++;
			return;
		}
		con.stats.bytes += k;
		s += k;
		n -= k;
	}
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
	if (c->buf_pa)
		pmm_free(c->buf_pa);
	c->buf_pa = 0;
	if (c->vq.desc)
		virtq_destroy(&c->vq);
}

/* §3.1.1 step 7: port 0's transmitq and its buffer; no interrupt. */
static int virtio_console_setup(struct virtio_console *c)
{
	int err = virtio_setup_queue(c->dev, &c->vq, VIRTIO_CONSOLE_TRANSMITQ, VIRTIO_CONSOLE_QUEUE_MAX, false);
	if (err)
		return err;
	virtq_irq_disable(&c->vq); /* polled (§2.6.7; no EVENT_IDX: the flag is what it reads) */
	c->buf_pa = pmm_alloc();
	return c->buf_pa ? 0 : -ENOMEM;
}

/* §3.1.1 Device Initialization, one step per comment. */
static int virtio_console_start(struct virtio_dev *dev, void *arg)
{
	struct virtio_console *c = arg;
	*c = (struct virtio_console){ .dev = dev };
	/* 1-6. Reset, ACKNOWLEDGE, DRIVER, features: VERSION_1 only. */
	int err = virtio_begin(dev, VIRTIO_CONSOLE_WANTED, &c->features);
	/* 7. Device-specific setup: the transmit queue and the buffer page. */
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
	log_info("virtio-console", "%s, polled, port 0, queue of %u%s", con.dev->where, con.vq.size,
		 con.dev->tcg ? "; QEMU TCG: ring barriers via register read" : "");
	log_set_console("virtio-console", virtio_console_write);
	return 0;
}
