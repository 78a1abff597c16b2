/* The transport-independent part of virtio (virtio.h): the status and
 * feature steps of §3.1.1 over a transport's operations, and the probe
 * that offers PCI and virtio-mmio devices to a driver. Section numbers
 * are from virtio 1.1. */
#include "drivers/virtio/virtio.h"

#include <errno.h>

#include "drivers/pci/pci.h"
#include "drivers/virtio/virtio_mmio.h"
#include "drivers/virtio/virtio_pci.h"
#include "kernel/cpu.h"
#include "kernel/log.h"

/* Transport state of the devices drivers run: one per started device
 * (Keel drives a NIC, an entropy source and a console), plus the one
 * being tried. */
#define VIRTIO_POOL 4

static union virtio_transport {
	struct virtio_dev dev; /* each transport's first member */
	struct virtio_pci pci;
	struct virtio_mmio mmio;
} pool[VIRTIO_POOL];
static int pool_used;

void virtio_add_status(struct virtio_dev *d, uint8_t bits)
{
	d->ops->set_status(d, (uint8_t)(d->ops->status(d) | bits));
}

void virtio_fail(struct virtio_dev *d)
{
	virtio_add_status(d, VIRTIO_STATUS_FAILED);
}

int virtio_negotiate(struct virtio_dev *d, uint64_t wanted, uint64_t *out)
{
	/* A modern device offers VERSION_1 and a driver of it must accept it
	 * (§6.1); without it the device would expect the legacy layouts. A
	 * legacy device shows 32 bits, so never offers it (§4.2.4). */
	uint64_t required = d->legacy ? 0 : VIRTIO_F_VERSION_1;
	uint64_t accept = d->ops->device_features(d) & (wanted | required);
	if ((accept & required) != required)
		return -ENOTSUP;
	d->ops->set_driver_features(d, accept);
	if (!d->legacy) {
		virtio_add_status(d, VIRTIO_STATUS_FEATURES_OK);
		/* §3.1.1 step 6: the device clears FEATURES_OK if it cannot
		 * work with the subset we accepted; only the re-read tells us.
		 * §3.1.2: legacy devices have no FEATURES_OK at all. */
		if (!(d->ops->status(d) & VIRTIO_STATUS_FEATURES_OK))
			return -EIO;
	}
	*out = accept;
	return 0;
}

int virtio_begin(struct virtio_dev *d, uint64_t wanted, uint64_t *features)
{
	/* 1. Reset the device. */
	int err = virtio_reset(d);
	if (err)
		return err;
	/* 2. ACKNOWLEDGE: we have noticed the device. */
	virtio_add_status(d, VIRTIO_STATUS_ACKNOWLEDGE);
	/* 3. DRIVER: we know how to drive it. */
	virtio_add_status(d, VIRTIO_STATUS_DRIVER);
	/* 4-6. Read the offered features, write our subset, set FEATURES_OK
	 * and re-read it. */
	return virtio_negotiate(d, wanted, features);
}

int virtio_driver_ok(struct virtio_dev *d)
{
	virtio_add_status(d, VIRTIO_STATUS_DRIVER_OK);
	/* §2.1.1: the device may have hit an error in the driver's setup. */
	return virtio_status(d) & VIRTIO_STATUS_NEEDS_RESET ? -EIO : 0;
}

/* QEMU's TCG announces itself in the hypervisor CPUID leaf. */
bool virtio_under_tcg(void)
{
	uint32_t r[4];
	cpuid(1, 0, r);
	if (!(r[2] & (1u << 31))) /* no hypervisor: leaf 0x40000000 is not defined */
		return false;
	cpuid(0x40000000, 0, r);
	return r[1] == 0x54474354 && r[2] == 0x43544743 && r[3] == 0x47435447; /* "TCGTCGTCGTCG" */
}

static int probe_pci(const char *name, uint32_t type, int (*start)(struct virtio_dev *, void *), void *arg)
{
	int err = -ENODEV;
	for (int i = 0; i < pci_count(); i++) {
		struct pci_dev *d = pci_get(i);
		if (!virtio_pci_match(d, type))
			continue;
		err = virtio_pci_init(&pool[pool_used].pci, d);
		if (!err)
			err = start(&pool[pool_used].dev, arg);
		if (err) { /* try the next one */
			log_warn(name, "%02x:%02x.%x: %s (error %d)", d->bus, d->slot, d->fn,
				 err == -ENODEV ? "no virtio 1.0 interface (legacy-only device), skipped"
						: "initialisation failed, device marked FAILED",
				 err);
			continue;
		}
		d->driver = name;
		return 0;
	}
	return err;
}

static int probe_mmio(const char *name, uint32_t type, int (*start)(struct virtio_dev *, void *), void *arg)
{
	int err = -ENODEV;
	struct virtio_mmio_slot *s;
	for (int i = 0; (s = virtio_mmio_slot(i)); i++) {
		if (s->device_id != type || s->driver)
			continue;
		virtio_mmio_open(&pool[pool_used].mmio, s);
		err = start(&pool[pool_used].dev, arg);
		if (err) {
			log_warn(name, "mmio %#lx: initialisation failed, device marked FAILED (error %d)",
				 (unsigned long)s->base, err);
			continue;
		}
		s->driver = name;
		return 0;
	}
	return err;
}

int virtio_probe(const char *name, uint32_t type, int (*start)(struct virtio_dev *dev, void *arg), void *arg)
{
	if (pool_used == VIRTIO_POOL)
		return -ENOSPC;
	int err = probe_pci(name, type, start, arg);
	if (err) {
		int mmio_err = probe_mmio(name, type, start, arg);
		if (mmio_err != -ENODEV) /* keep a PCI failure when there is no mmio device */
			err = mmio_err;
	}
	if (!err)
		pool_used++;
	return err;
}
