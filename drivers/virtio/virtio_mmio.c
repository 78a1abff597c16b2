/* virtio-mmio transport (virtio 1.1 §4.2), modern (version 2) and legacy
 * (version 1, §4.2.4), and the discovery of its transports. Section
 * numbers are from virtio 1.1. Registers are 32-bit, read and written
 * whole (§4.2.2.2); device configuration is read at its fields' widths. */
#include "drivers/virtio/virtio_mmio.h"

#include <errno.h>
#include <stdio.h>

#include "drivers/virtio/virtio_mmio_cmdline.h"
#include "kernel/acpi.h"
#include "kernel/cpu.h"
#include "kernel/log.h"
#include "kernel/mm.h"

#define RESET_SPINS 1000000    /* QEMU resets synchronously */
#define MMIO_HID    "LNRO0005" /* the _HID Linux and QEMU give a virtio-mmio transport */
/* Interrupts of transports named on the command line: QEMU raises a
 * level, and a level-triggered pin also serves an edge source. */
#define CMDLINE_IRQ_FLAGS IRQ_LEVEL

static struct virtio_mmio_slot slots[VIRTIO_MMIO_MAX];
static int nslots;

/* ---- the transport ---- */

static struct virtio_mmio *to_mmio(struct virtio_dev *d)
{
	return (struct virtio_mmio *)d;
}

static int virtio_mmio_reset(struct virtio_dev *d)
{
	volatile struct virtio_mmio_regs *r = to_mmio(d)->regs;
	r->status = 0;
	/* §4.2.3.1: as with PCI, the device is ours again once status reads 0. */
	for (int i = 0; i < RESET_SPINS; i++) {
		if (r->status == 0)
			return 0;
		cpu_relax();
	}
	return -ETIMEDOUT;
}

static uint8_t virtio_mmio_status(struct virtio_dev *d)
{
	return (uint8_t)to_mmio(d)->regs->status;
}

static void virtio_mmio_set_status(struct virtio_dev *d, uint8_t status)
{
	to_mmio(d)->regs->status = status;
}

static uint64_t virtio_mmio_device_features(struct virtio_dev *d)
{
	volatile struct virtio_mmio_regs *r = to_mmio(d)->regs;
	r->device_features_sel = 0;
	uint64_t lo = r->device_features;
	if (d->legacy) /* §4.2.4: 32 feature bits; QEMU complains about selector 1 */
		return lo;
	r->device_features_sel = 1;
	return (uint64_t)r->device_features << 32 | lo;
}

static void virtio_mmio_set_driver_features(struct virtio_dev *d, uint64_t f)
{
	volatile struct virtio_mmio_regs *r = to_mmio(d)->regs;
	r->driver_features_sel = 0;
	r->driver_features = (uint32_t)f;
	if (d->legacy)
		return;
	r->driver_features_sel = 1;
	r->driver_features = (uint32_t)(f >> 32);
}

/* One line: the transport's GSI through the IOAPIC. InterruptStatus says
 * why (§4.2.2), and the line stays asserted until InterruptACK. */
static const char *virtio_mmio_irq_setup(struct virtio_dev *d, irq_fn fn, void *arg)
{
	struct virtio_mmio *vm = to_mmio(d);
	if (irq_register_gsi(vm->slot->gsi, vm->slot->irq_flags, fn, arg) < 0)
		return NULL;
	snprintf(vm->irq_kind, sizeof vm->irq_kind, "gsi %u", (unsigned)vm->slot->gsi);
	return vm->irq_kind;
}

static uint8_t virtio_mmio_irq_ack(struct virtio_dev *d)
{
	volatile struct virtio_mmio_regs *r = to_mmio(d)->regs;
	uint32_t why = r->interrupt_status;
	if (why)
		r->interrupt_ack = why; /* §4.2.2: deasserts the line for these causes */
	return (uint8_t)(why & (VIRTIO_ISR_QUEUE | VIRTIO_ISR_CONFIG));
}

/* §4.2.3.2 steps 5-7 (modern): size, the three addresses, ready. */
static int queue_modern(volatile struct virtio_mmio_regs *r, const struct virtq *vq)
{
	r->queue_num = vq->size;
	r->queue_desc_lo = (uint32_t)vq->desc_pa;
	r->queue_desc_hi = (uint32_t)(vq->desc_pa >> 32);
	r->queue_driver_lo = (uint32_t)vq->avail_pa;
	r->queue_driver_hi = (uint32_t)(vq->avail_pa >> 32);
	r->queue_device_lo = (uint32_t)vq->used_pa;
	r->queue_device_hi = (uint32_t)(vq->used_pa >> 32);
	r->queue_ready = 1;
	return r->queue_ready == 1 ? 0 : -EIO;
}

/* §4.2.4 legacy steps 5-7: size, used-ring alignment, first page. The
 * rest follows from virtqueue.h's layout, which is §2.6.2's. */
static int queue_legacy(volatile struct virtio_mmio_regs *r, const struct virtq *vq)
{
	if (vq->desc_pa / PAGE_SIZE > UINT32_MAX)
		return -EIO;            /* a page number the register cannot hold */
	r->guest_page_size = PAGE_SIZE; /* before queue_pfn, which counts in it */
	r->queue_num = vq->size;
	r->queue_align = VIRTQ_ALIGN;
	r->queue_pfn = (uint32_t)(vq->desc_pa / PAGE_SIZE);
	return 0;
}

static int virtio_mmio_setup_queue(struct virtio_dev *d, struct virtq *vq, uint16_t index, uint16_t max_size,
				   bool event_idx)
{
	struct virtio_mmio *vm = to_mmio(d);
	volatile struct virtio_mmio_regs *r = vm->regs;
	r->queue_sel = index;
	/* §4.2.3.2 steps 2-3: the queue must be unused; size 0 means it does
	 * not exist. */
	uint32_t dev_max = r->queue_num_max;
	if (!dev_max || (d->legacy ? r->queue_pfn : r->queue_ready))
		return -ENOENT;
	int err = virtq_init(vq, index, virtq_fit_size(dev_max, max_size), event_idx);
	if (err)
		return err;
	err = d->legacy ? queue_legacy(r, vq) : queue_modern(r, vq);
	if (err) {
		virtq_destroy(vq);
		return err;
	}
	vq->doorbell32 = &r->queue_notify;
	/* A device-configuration byte: a read without side effects that still
	 * exits to QEMU (virtqueue.c says why it must). */
	vq->sync_reg = d->tcg ? &r->config[0] : NULL;
	return 0;
}

static uint8_t virtio_mmio_cfg8(struct virtio_dev *d, uint32_t off)
{
	struct virtio_mmio *vm = to_mmio(d);
	return off < vm->cfg_len ? vm->regs->config[off] : 0;
}

static uint16_t virtio_mmio_cfg16(struct virtio_dev *d, uint32_t off)
{
	struct virtio_mmio *vm = to_mmio(d);
	if ((uint64_t)off + 2 > vm->cfg_len || (off & 1))
		return 0;
	return *(volatile const uint16_t *)(vm->regs->config + off);
}

/* §4.2.4: the legacy layout has no generation; one read pass is all. */
static uint8_t virtio_mmio_cfg_generation(struct virtio_dev *d)
{
	return d->legacy ? 0 : (uint8_t)to_mmio(d)->regs->config_generation;
}

static const struct virtio_ops virtio_mmio_ops = {
    .reset = virtio_mmio_reset,
    .status = virtio_mmio_status,
    .set_status = virtio_mmio_set_status,
    .device_features = virtio_mmio_device_features,
    .set_driver_features = virtio_mmio_set_driver_features,
    .irq_setup = virtio_mmio_irq_setup,
    .irq_ack = virtio_mmio_irq_ack,
    .setup_queue = virtio_mmio_setup_queue,
    .cfg8 = virtio_mmio_cfg8,
    .cfg16 = virtio_mmio_cfg16,
    .cfg_generation = virtio_mmio_cfg_generation,
};

void virtio_mmio_open(struct virtio_mmio *vm, struct virtio_mmio_slot *slot)
{
	*vm = (struct virtio_mmio){
	    .dev = {.ops = &virtio_mmio_ops, .legacy = slot->version == 1, .tcg = virtio_under_tcg()},
	    .slot = slot,
	    .regs = slot->regs,
	    .cfg_len = slot->size - offsetof(struct virtio_mmio_regs, config),
	};
	snprintf(vm->dev.where, sizeof vm->dev.where, "mmio %#lx v%u %s", (unsigned long)slot->base,
		 (unsigned)slot->version, vm->dev.legacy ? "legacy" : "modern");
}

/* ---- discovery ---- */

struct virtio_mmio_slot *virtio_mmio_slot(int i)
{
	return i >= 0 && i < nslots ? &slots[i] : NULL;
}

/* Map one transport and keep it if it is a virtio-mmio device: the magic
 * value, a version this file drives, and a device ID (0 is an empty slot,
 * §4.2.2: QEMU has 8 or 24 of them). A base seen before is the same
 * transport described twice (DSDT and command line). */
static void slot_add(uint64_t base, uint64_t size, uint32_t gsi, unsigned irq_flags, const char *src)
{
	for (int i = 0; i < nslots; i++)
		if (slots[i].base == base)
			return;
	if (nslots == VIRTIO_MMIO_MAX || size < sizeof(struct virtio_mmio_regs)) {
		log_warn("virtio-mmio", "%#lx (%s): %s, skipped", (unsigned long)base, src,
			 nslots == VIRTIO_MMIO_MAX ? "too many transports" : "region too small");
		return;
	}
	volatile struct virtio_mmio_regs *r = vmm_map_phys(base, size, VMM_UNCACHED);
	uint32_t magic = r ? r->magic : 0, version = r ? r->version : 0;
	if (magic != VIRTIO_MMIO_MAGIC || (version != 1 && version != 2)) {
		log_warn("virtio-mmio",
			 "%#lx (%s): magic %#x version %u: not a virtio-mmio transport, skipped",
			 (unsigned long)base, src, magic, version);
		return;
	}
	if (r->device_id == 0)
		return;
	slots[nslots++] = (struct virtio_mmio_slot){.base = base,
						    .size = size,
						    .gsi = gsi,
						    .irq_flags = irq_flags,
						    .version = version,
						    .device_id = r->device_id,
						    .regs = r};
}

/* One line for all: where each transport is and what it holds. */
static void log_slots(int from_acpi)
{
	char line[200];
	size_t n = 0;
	for (int i = 0; i < nslots && n < sizeof line; i++)
		n += (size_t)snprintf(line + n, sizeof line - n, "%s %#lx gsi %u v%u id %u", i ? "," : "",
				      (unsigned long)slots[i].base, (unsigned)slots[i].gsi,
				      (unsigned)slots[i].version, (unsigned)slots[i].device_id);
	log_info("virtio-mmio", "%d device%s (%d from ACPI, %d from the command line):%s", nslots,
		 nslots == 1 ? "" : "s", from_acpi, nslots - from_acpi, line);
}

void virtio_mmio_init(void)
{
	struct acpi_aml_device acpi[VIRTIO_MMIO_MAX];
	int n = acpi_find_devices(MMIO_HID, acpi, VIRTIO_MMIO_MAX);
	for (int i = 0; i < n; i++) {
		if (acpi[i].mem_len && acpi[i].has_irq)
			slot_add(acpi[i].mem_base, acpi[i].mem_len, acpi[i].gsi, acpi[i].irq_flags, "ACPI");
		else
			log_warn("virtio-mmio", "DSDT: an %s device without memory and interrupt, skipped",
				 MMIO_HID);
	}
	int from_acpi = nslots;
	const struct virtio_mmio_spec *s;
	for (int i = 0; (s = virtio_mmio_cmdline_get(i)); i++)
		slot_add(s->base, s->size, s->gsi, CMDLINE_IRQ_FLAGS, "virtio_mmio.device=");
	if (nslots)
		log_slots(from_acpi);
}
