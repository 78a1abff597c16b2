/* virtio-rng, the entropy device (virtio 1.1 §5.4), over the transport
 * seam (virtio.h). Section numbers are from virtio 1.1.
 *
 * QEMU: -device virtio-rng-pci[,disable-legacy=on] (device 1af4:1005
 * transitional, or 1af4:1044 modern-only; only the modern capabilities are
 * used), or on -M microvm -device virtio-rng-device (virtio-mmio, legacy
 * or modern); its default backend is QEMU's own getrandom-based generator.
 *
 * One queue, one page-sized device-writable buffer, one request in flight.
 * Polled: the driver posts the buffer, rings the doorbell and spins on the
 * used ring until the device answers or a deadline passes. That is fine
 * here because the only reader is kernel/random.c, which asks for a few
 * dozen bytes at boot and once per DRBG reseed (thousands of TLS
 * handshakes apart), and QEMU answers within microseconds; an interrupt
 * path would cost a vector, a wait queue and the lost-wakeup care of
 * virtio_net.c for nothing. Device interrupts are suppressed
 * (VIRTQ_AVAIL_F_NO_INTERRUPT, §2.6.7) so a level-triggered INTx is never
 * left asserted on a shared line. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "drivers/virtio/virtio.h"
#include "drivers/virtio/virtio_rng.h"
#include "drivers/virtio/virtqueue.h"
#include "kernel/clock.h"
#include "kernel/cpu.h"
#include "kernel/log.h"
#include "kernel/mm.h"

#define VIRTIO_RNG_REQUESTQ 0 /* §5.4.2: requestq, the only queue */
/* One request is ever in flight; the smallest queue takes two pages anyway. */
#define VIRTIO_RNG_QUEUE_MAX 4
/* §5.4.3: no device-specific feature bits; VERSION_1 keeps the modern
 * layouts (virtio_negotiate requires it of a modern device). */
#define VIRTIO_RNG_WANTED VIRTIO_F_VERSION_1
/* A whole read's budget. QEMU answers in microseconds; a rate-limited
 * backend (max-bytes/period) may stall for its period, and then boot must
 * go on without this source rather than wait. */
#define VIRTIO_RNG_TIMEOUT_NS (100 * NSEC_PER_MSEC)

struct virtio_rng_stats {
	uint64_t requests; /* buffers posted */
	uint64_t bytes;    /* random bytes received */
	uint64_t short_reads; /* §5.4.6.2: the device may fill less than the buffer */
	uint64_t timeouts;
	uint64_t bad_used; /* used entries that named no buffer of ours */
};

struct virtio_rng {
	struct virtio_dev *dev;
	struct virtq vq;
	uint64_t features; /* negotiated */
	uint64_t buf_pa;   /* the one buffer: a page the device writes */
	uint32_t posted;   /* length of the buffer the device holds, if inflight */
	bool inflight;     /* the device owns the buffer (a request timed out or is pending) */
	bool ready;
	struct virtio_rng_stats stats;
};

static struct virtio_rng rng;

/* ---- requests ---- */

/* Post the buffer for `len` bytes and notify. §5.4.6.1: the driver MUST
 * NOT place driver-readable buffers in the queue, so the single segment is
 * device-writable. */
static int virtio_rng_post(struct virtio_rng *r, uint32_t len)
{
	struct virtq_seg seg = { r->buf_pa, len, true };
	int id = virtq_add(&r->vq, &seg, 1);
	if (id < 0)
		return id;
	r->inflight = true;
	r->posted = len;
	r->stats.requests++;
	virtq_publish(&r->vq);
	return 0;
}

/* Spin until the device returns the buffer or `deadline` passes. Returns
 * the bytes written (0 is possible), -ETIMEDOUT or -EIO. */
static int virtio_rng_wait(struct virtio_rng *r, uint64_t deadline)
{
	while (!virtq_has_used(&r->vq)) {
		if (clock_now() > deadline) {
			r->stats.timeouts++;
			return -ETIMEDOUT; /* still inflight: the next read collects it first */
		}
		cpu_relax();
	}
	uint32_t len;
	int id = virtq_get_used(&r->vq, &len);
	(void)virtio_irq_ack(r->dev); /* deasserts a stray INTx or mmio line (§4.1.4.5, §4.2.2) */
	if (id < 0) { /* device data naming no buffer of ours: ours may still be with it */
		r->stats.bad_used++;
		return -EIO;
	}
	r->inflight = false;
	/* §5.4.6.1: the driver MUST examine the written length; device data,
	 * so never trust it past what we posted. */
	return (int)(len < r->posted ? len : r->posted);
}

/* One request for up to `want` (<= PAGE_SIZE) bytes into the buffer page.
 * A buffer left with the device by an earlier timeout is waited for first:
 * reposting the page while the device may still write it would race. */
static int virtio_rng_request(struct virtio_rng *r, size_t want, uint64_t deadline)
{
	if (!r->inflight) {
		int err = virtio_rng_post(r, (uint32_t)want);
		if (err)
			return err;
	}
	int got = virtio_rng_wait(r, deadline);
	if (got >= 0 && (size_t)got < want)
		r->stats.short_reads++;
	return got < 0 || (size_t)got <= want ? got : (int)want;
}

int virtio_rng_read(void *buf, size_t n)
{
	if (!rng.ready)
		return -ENODEV;
	uint64_t deadline = clock_now() + VIRTIO_RNG_TIMEOUT_NS;
	uint8_t *out = buf;
	/* Bounded by the deadline even if the device keeps answering with 0
	 * bytes (§5.4.6.2 only promises "one or more", and it is device data). */
	while (n) {
		size_t want = n < PAGE_SIZE ? n : PAGE_SIZE;
		int got = virtio_rng_request(&rng, want, deadline);
		if (got < 0)
			return got;
		memcpy(out, phys_to_virt(rng.buf_pa), (size_t)got);
		out += got;
		n -= (size_t)got;
		rng.stats.bytes += (uint64_t)got;
		if (n && clock_now() > deadline) {
			rng.stats.timeouts++;
			return -ETIMEDOUT;
		}
	}
	return 0;
}

/* ---- setup ---- */

/* Give up on the device: reset it first, so it forgets the ring and buffer
 * addresses before their pages go back to the allocator, then mark it
 * FAILED (§2.1.1). */
static void virtio_rng_abort(struct virtio_rng *r)
{
	r->ready = false;
	bool quiet = virtio_reset(r->dev) == 0;
	virtio_fail(r->dev);
	if (!quiet)
		return; /* the device may still DMA: leak rather than reuse the pages */
	if (r->buf_pa)
		pmm_free(r->buf_pa);
	r->buf_pa = 0;
	if (r->vq.desc)
		virtq_destroy(&r->vq);
}

/* §3.1.1 step 7 and §5.4.5: the one queue and its buffer; no interrupt. */
static int virtio_rng_setup(struct virtio_rng *r)
{
	int err = virtio_setup_queue(r->dev, &r->vq, VIRTIO_RNG_REQUESTQ, VIRTIO_RNG_QUEUE_MAX, false);
	if (err)
		return err;
	/* Polled: ask the device never to interrupt for this queue (§2.6.7;
	 * EVENT_IDX is not negotiated, so the flag is what it reads). */
	virtq_irq_disable(&r->vq);
	r->buf_pa = pmm_alloc();
	return r->buf_pa ? 0 : -ENOMEM;
}

/* §3.1.1 Device Initialization, one step per comment. The transport is
 * found and mapped (virtio_probe); no device register is written yet. */
static int virtio_rng_start(struct virtio_dev *dev, void *arg)
{
	struct virtio_rng *r = arg;
	*r = (struct virtio_rng){ .dev = dev };
	/* 1-6. Reset, ACKNOWLEDGE, DRIVER, features: VERSION_1 only (§5.4.3
	 * defines none). */
	int err = virtio_begin(dev, VIRTIO_RNG_WANTED, &r->features);
	/* 7. Device-specific setup: the request queue and the buffer page. */
	if (!err)
		err = virtio_rng_setup(r);
	/* 8. DRIVER_OK: the device is live; requests may be posted from here. */
	if (!err)
		err = virtio_driver_ok(dev);
	if (err) {
		virtio_rng_abort(r);
		return err;
	}
	r->ready = true;
	return 0;
}

int virtio_rng_probe(void)
{
	int err = virtio_probe("virtio-rng", VIRTIO_ID_RNG, virtio_rng_start, &rng);
	if (err)
		return err;
	log_info("virtio-rng", "%s, polled, queue of %u%s", rng.dev->where, rng.vq.size,
		 rng.dev->tcg ? "; QEMU TCG: ring barriers via register read" : "");
	return 0;
}
