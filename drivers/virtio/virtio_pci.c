/* Virtio modern PCI transport (virtio 1.1 §4.1). Section numbers are from
 * virtio 1.1. Every structure is reached through a vendor capability
 * (§4.1.4) that names a BAR, an offset and a length; all of them are
 * memory BARs here, accessed uncached with the field's natural width
 * (§4.1.3.1). Drivers reach it through the seam (virtio.h). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>

#include "drivers/virtio/virtio_pci.h"
#include "kernel/cpu.h"

#define RESET_SPINS 1000000 /* QEMU resets synchronously; real devices take microseconds */

struct virtio_pci_region {
	volatile uint8_t *base;
	uint32_t len;
};

/* Map the structure a capability describes, after checking it lies inside
 * its BAR: the capability is device data and must not send us elsewhere. */
static int virtio_pci_map_cap(struct virtio_pci *vp, uint8_t cap, struct virtio_pci_region *r)
{
	struct pci_dev *d = vp->pci;
	uint8_t bar = pci_read8(d, cap + offsetof(struct virtio_pci_cap, bar));
	uint32_t off = pci_read32(d, cap + offsetof(struct virtio_pci_cap, offset));
	uint32_t len = pci_read32(d, cap + offsetof(struct virtio_pci_cap, length));
	if (bar > 5 || d->bar_io[bar] || !d->bar[bar] || (uint64_t)off + len > d->bar_size[bar])
		return -EIO;
	if (!vp->bar_map[bar])
		vp->bar_map[bar] = pci_map_bar(d, bar);
	if (!vp->bar_map[bar])
		return -ENOMEM;
	r->base = vp->bar_map[bar] + off;
	r->len = len;
	return 0;
}

/* §4.1.4: a device may repeat a structure type; the driver should use the
 * first one of each it supports. Unknown (reserved) types are skipped. */
static int virtio_pci_find_caps(struct virtio_pci *vp, struct virtio_pci_region regions[5])
{
	for (uint8_t cap = pci_find_cap(vp->pci, PCI_CAP_VENDOR, 0); cap;
	     cap = pci_find_cap(vp->pci, PCI_CAP_VENDOR, cap)) {
		uint8_t type = pci_read8(vp->pci, cap + offsetof(struct virtio_pci_cap, cfg_type));
		uint8_t len = pci_read8(vp->pci, cap + offsetof(struct virtio_pci_cap, cap_len));
		if (type < VIRTIO_PCI_CAP_COMMON_CFG || type > VIRTIO_PCI_CAP_DEVICE_CFG ||
		    regions[type].base)
			continue;
		if (len < sizeof(struct virtio_pci_cap) ||
		    (type == VIRTIO_PCI_CAP_NOTIFY_CFG && len < VIRTIO_PCI_NOTIFY_MULT_OFF + 4))
			return -EIO;
		int err = virtio_pci_map_cap(vp, cap, &regions[type]);
		if (err)
			return err;
		if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
			vp->notify_mult = pci_read32(vp->pci, cap + VIRTIO_PCI_NOTIFY_MULT_OFF);
	}
	return 0;
}

static const struct virtio_ops virtio_pci_ops;

/* §4.1.2.3: transitional devices keep the legacy IDs, which are not
 * 0x1000 + type - 1 throughout; only the types Keel drives are listed. */
static uint16_t virtio_pci_transitional_id(uint32_t type)
{
	switch (type) {
	case VIRTIO_ID_NET: return 0x1000;
	case VIRTIO_ID_CONSOLE: return 0x1003;
	case VIRTIO_ID_RNG: return 0x1005;
	}
	return 0;
}

bool virtio_pci_match(const struct pci_dev *d, uint32_t type)
{
	uint16_t transitional = virtio_pci_transitional_id(type);
	return d->vendor == VIRTIO_PCI_VENDOR && !d->driver &&
	       (d->device == 0x1040 + type || (transitional && d->device == transitional));
}

int virtio_pci_init(struct virtio_pci *vp, struct pci_dev *pci)
{
	*vp = (struct virtio_pci){ .dev = { .ops = &virtio_pci_ops }, .pci = pci };
	struct virtio_pci_region r[5] = { 0 };
	int err = virtio_pci_find_caps(vp, r);
	if (err)
		return err;
	/* Without common config there is no modern interface (a legacy-only
	 * device); ISR and notify are needed by every device. Device config
	 * is optional: reads past its length return 0. */
	if (!r[VIRTIO_PCI_CAP_COMMON_CFG].base || !r[VIRTIO_PCI_CAP_NOTIFY_CFG].base ||
	    !r[VIRTIO_PCI_CAP_ISR_CFG].base)
		return -ENODEV;
	if (r[VIRTIO_PCI_CAP_COMMON_CFG].len < sizeof(struct virtio_pci_common_cfg) ||
	    r[VIRTIO_PCI_CAP_ISR_CFG].len < 1)
		return -EIO;
	vp->common = (volatile struct virtio_pci_common_cfg *)r[VIRTIO_PCI_CAP_COMMON_CFG].base;
	vp->notify = r[VIRTIO_PCI_CAP_NOTIFY_CFG].base;
	vp->notify_len = r[VIRTIO_PCI_CAP_NOTIFY_CFG].len;
	vp->isr = r[VIRTIO_PCI_CAP_ISR_CFG].base;
	vp->device_cfg = r[VIRTIO_PCI_CAP_DEVICE_CFG].base;
	vp->device_cfg_len = r[VIRTIO_PCI_CAP_DEVICE_CFG].len;
	vp->dev.tcg = virtio_under_tcg();
	snprintf(vp->dev.where, sizeof vp->dev.where, "%02x:%02x.%x %04x:%04x modern", pci->bus, pci->slot,
		 pci->fn, pci->vendor, pci->device);
	/* Memory decoding for the BARs, bus mastering for the device's DMA to
	 * the rings. I/O decoding stays as the firmware left it: the legacy
	 * port interface is not ours. */
	pci_enable(pci, PCI_CMD_MEM | PCI_CMD_MASTER);
	return 0;
}

/* The transport behind the seam's handle: dev is vp's first member. */
static struct virtio_pci *to_pci(struct virtio_dev *d) { return (struct virtio_pci *)d; }

static int virtio_pci_reset(struct virtio_dev *d)
{
	struct virtio_pci *vp = to_pci(d);
	vp->common->device_status = 0;
	/* §4.1.4.3.2: the reset may complete asynchronously; the device is not
	 * ours to reinitialise until status reads back 0. */
	for (int i = 0; i < RESET_SPINS; i++) {
		if (vp->common->device_status == 0)
			return 0;
		cpu_relax();
	}
	return -ETIMEDOUT;
}

static uint8_t virtio_pci_status(struct virtio_dev *d) { return to_pci(d)->common->device_status; }

static void virtio_pci_set_status(struct virtio_dev *d, uint8_t status) { to_pci(d)->common->device_status = status; }

static uint64_t virtio_pci_device_features(struct virtio_dev *d)
{
	volatile struct virtio_pci_common_cfg *c = to_pci(d)->common;
	c->device_feature_select = 0;
	uint64_t lo = c->device_feature;
	c->device_feature_select = 1;
	return (uint64_t)c->device_feature << 32 | lo;
}

static void virtio_pci_set_driver_features(struct virtio_dev *d, uint64_t f)
{
	volatile struct virtio_pci_common_cfg *c = to_pci(d)->common;
	c->driver_feature_select = 0;
	c->driver_feature = (uint32_t)f;
	c->driver_feature_select = 1;
	c->driver_feature = (uint32_t)(f >> 32);
}

static const char *virtio_pci_irq_setup(struct virtio_dev *d, irq_fn fn, void *arg)
{
	struct virtio_pci *vp = to_pci(d);
	const char *kind = pci_irq_setup(vp->pci, fn, arg);
	if (!kind)
		return NULL;
	d->msix = kind[0] == 'm' && kind[3] == '-'; /* "msi-x" */
	if (!d->msix)
		return kind;
	/* §4.1.5.1.2: with MSI-X enabled the ISR is unused and an event mapped
	 * to NO_VECTOR (the state after reset) raises no interrupt at all. All
	 * table entries share one CPU vector, so entry 0 serves config changes
	 * and every queue. The read-back is how the device refuses. */
	vp->common->msix_config = 0;
	if (vp->common->msix_config != 0)
		return NULL;
	return kind;
}

/* Point the selected queue at its three parts (§4.1.4.3). */
static void virtio_pci_queue_addrs(volatile struct virtio_pci_common_cfg *c, const struct virtq *vq)
{
	c->queue_desc_lo = (uint32_t)vq->desc_pa;
	c->queue_desc_hi = (uint32_t)(vq->desc_pa >> 32);
	c->queue_driver_lo = (uint32_t)vq->avail_pa;
	c->queue_driver_hi = (uint32_t)(vq->avail_pa >> 32);
	c->queue_device_lo = (uint32_t)vq->used_pa;
	c->queue_device_hi = (uint32_t)(vq->used_pa >> 32);
}

/* §4.1.4.4: the doorbell is at notify base + queue_notify_off *
 * notify_off_multiplier, a 16-bit register inside the notify structure. */
static int virtio_pci_doorbell(struct virtio_pci *vp, struct virtq *vq)
{
	uint64_t off = (uint64_t)vp->common->queue_notify_off * vp->notify_mult;
	if (off + 2 > vp->notify_len || (off & 1))
		return -EIO;
	vq->doorbell = (volatile uint16_t *)(vp->notify + off);
	return 0;
}

static int virtio_pci_setup_queue(struct virtio_dev *d, struct virtq *vq, uint16_t index, uint16_t max_size,
				  bool event_idx)
{
	struct virtio_pci *vp = to_pci(d);
	volatile struct virtio_pci_common_cfg *c = vp->common;
	c->queue_select = index;
	uint16_t dev_max = c->queue_size;
	if (!dev_max || c->queue_enable)
		return -ENOENT; /* §4.1.5.1.3: size 0 means the queue does not exist */
	uint16_t size = virtq_fit_size(dev_max, max_size);
	int err = virtq_init(vq, index, size, event_idx);
	if (err)
		return err;
	c->queue_size = size;
	virtio_pci_queue_addrs(c, vq);
	if (d->msix) {
		c->queue_msix_vector = 0; /* same table entry as config changes; see virtio_pci_irq_setup */
		if (c->queue_msix_vector != 0)
			err = -EIO;
	}
	if (!err)
		err = virtio_pci_doorbell(vp, vq);
	/* config_generation: a read without side effects (virtqueue.c says why). */
	vq->sync_reg = d->tcg ? &vp->common->config_generation : NULL;
	if (err) {
		virtq_destroy(vq);
		return err;
	}
	c->queue_enable = 1;
	return 0;
}

/* Reading the ISR clears it (§4.1.4.5): this is the INTx ack. */
static uint8_t virtio_pci_isr(struct virtio_dev *d) { return *to_pci(d)->isr; }

static uint8_t virtio_pci_cfg8(struct virtio_dev *d, uint32_t off)
{
	struct virtio_pci *vp = to_pci(d);
	return off < vp->device_cfg_len ? vp->device_cfg[off] : 0;
}

static uint16_t virtio_pci_cfg16(struct virtio_dev *d, uint32_t off)
{
	struct virtio_pci *vp = to_pci(d);
	if ((uint64_t)off + 2 > vp->device_cfg_len)
		return 0;
	return *(volatile const uint16_t *)(vp->device_cfg + off);
}

static uint8_t virtio_pci_cfg_generation(struct virtio_dev *d) { return to_pci(d)->common->config_generation; }

static const struct virtio_ops virtio_pci_ops = {
	.reset = virtio_pci_reset,
	.status = virtio_pci_status,
	.set_status = virtio_pci_set_status,
	.device_features = virtio_pci_device_features,
	.set_driver_features = virtio_pci_set_driver_features,
	.irq_setup = virtio_pci_irq_setup,
	.irq_ack = virtio_pci_isr,
	.setup_queue = virtio_pci_setup_queue,
	.cfg8 = virtio_pci_cfg8,
	.cfg16 = virtio_pci_cfg16,
	.cfg_generation = virtio_pci_cfg_generation,
};
