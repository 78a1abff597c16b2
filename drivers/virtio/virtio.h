/* The virtio transport seam: what a device driver (virtio_net.c,
 * virtio_rng.c) needs of the bus its device sits on, as a small table of
 * operations with one implementation per transport: modern PCI
 * (virtio_pci.c, virtio 1.1 §4.1) and virtio-mmio, modern or legacy
 * (virtio_mmio.c, §4.2). Drivers see only this header; the generic steps
 * of §3.1.1 (status bits, feature negotiation) are written once here, over
 * the operations. Section numbers are from virtio 1.1. */
#ifndef KEEL_VIRTIO_H
#define KEEL_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#include "drivers/virtio/virtqueue.h"
#include "kernel/irq.h"

/* §5 Device Types. */
#define VIRTIO_ID_NET 1
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG 4

/* §2.1 Device Status Field. */
#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER      2u
#define VIRTIO_STATUS_DRIVER_OK   4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_NEEDS_RESET 64u
#define VIRTIO_STATUS_FAILED      128u

/* §6 Reserved Feature Bits (device-independent). */
#define VIRTIO_F_EVENT_IDX (1ull << 29) /* VIRTIO_RING_F_EVENT_IDX */
#define VIRTIO_F_VERSION_1 (1ull << 32)

/* Interrupt cause bits: the PCI ISR (§4.1.4.5) and virtio-mmio's
 * InterruptStatus (§4.2.2) agree on them. */
#define VIRTIO_ISR_QUEUE  1u
#define VIRTIO_ISR_CONFIG 2u

struct virtio_dev;

struct virtio_ops {
	/* Write 0 to the status and wait until it reads back 0 (§2.1.2). 0 or -ETIMEDOUT. */
	int (*reset)(struct virtio_dev *d);
	uint8_t (*status)(struct virtio_dev *d);
	void (*set_status)(struct virtio_dev *d, uint8_t status);
	/* All feature bits the device offers; a legacy device has only 32. */
	uint64_t (*device_features)(struct virtio_dev *d);
	void (*set_driver_features)(struct virtio_dev *d, uint64_t features);
	/* Route the device's interrupt to fn(arg). Returns the kind for the
	 * log line ("msi-x", "intx", "gsi 47"), or NULL. */
	const char *(*irq_setup)(struct virtio_dev *d, irq_fn fn, void *arg);
	/* Read and acknowledge the interrupt cause (VIRTIO_ISR_*): this
	 * deasserts a level-triggered line. Never with MSI-X. */
	uint8_t (*irq_ack)(struct virtio_dev *d);
	/* Size queue `index` as min(device max, max_size) rounded down to a
	 * power of two, allocate it (virtq_init), tell the device where it
	 * is, set its doorbell and enable it. 0, -ENOENT if the device has no
	 * such queue, -ENOMEM, or -EIO if the device refuses. */
	int (*setup_queue)(struct virtio_dev *d, struct virtq *vq, uint16_t index, uint16_t max_size,
			   bool event_idx);
	/* Device configuration reads; 0 past its end. */
	uint8_t (*cfg8)(struct virtio_dev *d, uint32_t off);
	uint16_t (*cfg16)(struct virtio_dev *d, uint32_t off);
	/* §2.4.1 config generation (0 where the transport has none: legacy). */
	uint8_t (*cfg_generation)(struct virtio_dev *d);
};

struct virtio_dev {
	const struct virtio_ops *ops;
	bool legacy;    /* legacy interface (virtio-mmio version 1): no VERSION_1, legacy layouts */
	bool msix;      /* interrupts by MSI-X: no cause register, config changes unflagged */
	bool tcg;       /* QEMU TCG: queues order through a register read (virtqueue.c) */
	char where[48]; /* for log lines: "00:02.0 1af4:1000 modern", "mmio 0xfeb02e00 v1 legacy" */
};

static inline int virtio_reset(struct virtio_dev *d)
{
	return d->ops->reset(d);
}
static inline uint8_t virtio_status(struct virtio_dev *d)
{
	return d->ops->status(d);
}
static inline const char *virtio_irq_setup(struct virtio_dev *d, irq_fn fn, void *arg)
{
	return d->ops->irq_setup(d, fn, arg);
}
static inline uint8_t virtio_irq_ack(struct virtio_dev *d)
{
	return d->ops->irq_ack(d);
}
static inline int virtio_setup_queue(struct virtio_dev *d, struct virtq *vq, uint16_t index,
				     uint16_t max_size, bool event_idx)
{
	return d->ops->setup_queue(d, vq, index, max_size, event_idx);
}
static inline uint8_t virtio_cfg8(struct virtio_dev *d, uint32_t off)
{
	return d->ops->cfg8(d, off);
}
static inline uint16_t virtio_cfg16(struct virtio_dev *d, uint32_t off)
{
	return d->ops->cfg16(d, off);
}
static inline uint8_t virtio_cfg_generation(struct virtio_dev *d)
{
	return d->ops->cfg_generation(d);
}

/* §3.1.1: each step adds its bit to those already set. */
void virtio_add_status(struct virtio_dev *d, uint8_t bits);
/* Tell the device the driver gave up (status FAILED). */
void virtio_fail(struct virtio_dev *d);
/* Steps 4-6 of §3.1.1: accept `wanted` & offered and write it. A modern
 * device must offer VERSION_1 (-ENOTSUP otherwise); then FEATURES_OK is
 * set and re-read (-EIO if the device refused it). A legacy device has
 * neither VERSION_1 nor FEATURES_OK (§3.1.2). Stores the set in *out. */
int virtio_negotiate(struct virtio_dev *d, uint64_t wanted, uint64_t *out);
/* §3.1.1 Device Initialization, steps 1-6, for every driver: reset,
 * ACKNOWLEDGE, DRIVER, then the features as virtio_negotiate. The driver
 * then does step 7, its own setup, and calls virtio_driver_ok. 0 or the
 * first error. */
int virtio_begin(struct virtio_dev *d, uint64_t wanted, uint64_t *features);
/* Step 8: DRIVER_OK, the device is live (no notifications before it).
 * -EIO if the device flagged an error in the setup (NEEDS_RESET). */
int virtio_driver_ok(struct virtio_dev *d);

/* Is this QEMU's TCG (the hypervisor CPUID leaf says so)? */
bool virtio_under_tcg(void);

/* Offer each unclaimed device of `type` (PCI functions first, then
 * virtio-mmio transports), with its transport initialised, to
 * start(dev, arg) until one starts; that one is claimed for `name` and
 * keeps its transport state (a small static pool here) for good. A
 * failure is logged and the next device tried. Returns 0, or the last
 * error (-ENODEV if there was no device, -ENOSPC if the pool is used up). */
int virtio_probe(const char *name, uint32_t type, int (*start)(struct virtio_dev *dev, void *arg), void *arg);

#endif
