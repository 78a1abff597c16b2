/* virtio over memory-mapped registers (virtio 1.1 §4.2), the transport of
 * QEMU's microvm machine and of VMMs without PCI (Firecracker). Both
 * register layouts are driven: version 2, the modern interface, and
 * version 1, the legacy one (§4.2.4), which QEMU 7.2's virtio-mmio still
 * gives by default (its force-legacy property is on):
 *
 *   qemu-system-x86_64 -M microvm -device virtio-net-device,netdev=n0 \
 *       [-global virtio-mmio.force-legacy=false]
 *
 * Transports are found at boot (virtio_mmio_init) in the DSDT (_HID
 * "LNRO0005", microvm's default) and on the command line
 * (virtio_mmio.device=, microvm with acpi=off), then claimed by drivers
 * through virtio_probe (virtio.h). One implementation of the seam. */
#ifndef KEEL_VIRTIO_MMIO_H
#define KEEL_VIRTIO_MMIO_H

#include <stddef.h>
#include <stdint.h>

#include "drivers/virtio/virtio.h"

#define VIRTIO_MMIO_MAGIC 0x74726976u /* "virt", little-endian */
#define VIRTIO_MMIO_MAX   16          /* transports kept */

/* §4.2.2 MMIO Device Register Layout; the legacy-only registers are those
 * of §4.2.4. Every register is 32 bits wide and accessed as such
 * (§4.2.2.2); device configuration starts at 0x100. */
struct virtio_mmio_regs {
	uint32_t magic;               /* 0x000 VIRTIO_MMIO_MAGIC */
	uint32_t version;             /* 0x004 2: modern, 1: legacy */
	uint32_t device_id;           /* 0x008 §5 device type; 0: an empty slot */
	uint32_t vendor_id;           /* 0x00c */
	uint32_t device_features;     /* 0x010 the 32 bits device_features_sel selects */
	uint32_t device_features_sel; /* 0x014 */
	uint32_t reserved0[2];
	uint32_t driver_features;     /* 0x020 */
	uint32_t driver_features_sel; /* 0x024 */
	uint32_t guest_page_size;     /* 0x028 legacy: the unit of queue_pfn */
	uint32_t reserved1;
	uint32_t queue_sel;     /* 0x030 the queue_* registers address this queue */
	uint32_t queue_num_max; /* 0x034 0: no such queue */
	uint32_t queue_num;     /* 0x038 */
	uint32_t queue_align;   /* 0x03c legacy: the used ring's boundary */
	uint32_t queue_pfn;     /* 0x040 legacy: the queue's first page; 0: not in use */
	uint32_t queue_ready;   /* 0x044 modern */
	uint32_t reserved2[2];
	uint32_t queue_notify; /* 0x050 write the queue index */
	uint32_t reserved3[3];
	uint32_t interrupt_status; /* 0x060 VIRTIO_ISR_* */
	uint32_t interrupt_ack;    /* 0x064 write the bits handled */
	uint32_t reserved4[2];
	uint32_t status; /* 0x070 §2.1 device status; 0 resets */
	uint32_t reserved5[3];
	uint32_t queue_desc_lo, queue_desc_hi; /* 0x080 modern */
	uint32_t reserved6[2];
	uint32_t queue_driver_lo, queue_driver_hi; /* 0x090 modern: avail ring */
	uint32_t reserved7[2];
	uint32_t queue_device_lo, queue_device_hi; /* 0x0a0 modern: used ring */
	uint32_t reserved8[21];
	uint32_t config_generation; /* 0x0fc modern */
	uint8_t config[];           /* 0x100 device-specific */
};
_Static_assert(offsetof(struct virtio_mmio_regs, device_features) == 0x010, "virtio 1.1 §4.2.2");
_Static_assert(offsetof(struct virtio_mmio_regs, driver_features) == 0x020, "virtio 1.1 §4.2.2");
_Static_assert(offsetof(struct virtio_mmio_regs, guest_page_size) == 0x028, "virtio 1.1 §4.2.4");
_Static_assert(offsetof(struct virtio_mmio_regs, queue_sel) == 0x030, "virtio 1.1 §4.2.2");
_Static_assert(offsetof(struct virtio_mmio_regs, queue_align) == 0x03c, "virtio 1.1 §4.2.4");
_Static_assert(offsetof(struct virtio_mmio_regs, queue_pfn) == 0x040, "virtio 1.1 §4.2.4");
_Static_assert(offsetof(struct virtio_mmio_regs, queue_ready) == 0x044, "virtio 1.1 §4.2.2");
_Static_assert(offsetof(struct virtio_mmio_regs, queue_notify) == 0x050, "virtio 1.1 §4.2.2");
_Static_assert(offsetof(struct virtio_mmio_regs, interrupt_status) == 0x060, "virtio 1.1 §4.2.2");
_Static_assert(offsetof(struct virtio_mmio_regs, status) == 0x070, "virtio 1.1 §4.2.2");
_Static_assert(offsetof(struct virtio_mmio_regs, queue_desc_lo) == 0x080, "virtio 1.1 §4.2.2");
_Static_assert(offsetof(struct virtio_mmio_regs, queue_driver_lo) == 0x090, "virtio 1.1 §4.2.2");
_Static_assert(offsetof(struct virtio_mmio_regs, queue_device_lo) == 0x0a0, "virtio 1.1 §4.2.2");
_Static_assert(offsetof(struct virtio_mmio_regs, config_generation) == 0x0fc, "virtio 1.1 §4.2.2");
_Static_assert(offsetof(struct virtio_mmio_regs, config) == 0x100, "virtio 1.1 §4.2.2");

/* A transport found at boot. */
struct virtio_mmio_slot {
	uint64_t base;
	uint64_t size;
	uint32_t gsi;
	unsigned irq_flags; /* IRQ_LEVEL / IRQ_ACTIVE_LOW */
	uint32_t version, device_id;
	volatile struct virtio_mmio_regs *regs;
	const char *driver; /* the driver that claimed it, or NULL */
};

struct virtio_mmio {
	struct virtio_dev dev; /* first: the seam's view of this transport */
	struct virtio_mmio_slot *slot;
	volatile struct virtio_mmio_regs *regs;
	uint64_t cfg_len;  /* bytes of device configuration mapped */
	char irq_kind[16]; /* irq_setup's answer, "gsi 47" */
};

/* Find the transports (DSDT, then virtio_mmio.device=), map them and read
 * their identity; logs one line if there are any. After acpi_init and
 * cmdline parsing, before the drivers probe. */
void virtio_mmio_init(void);
/* The transports found: i from 0 while the result is not NULL. */
struct virtio_mmio_slot *virtio_mmio_slot(int i);
/* Make vm the seam's handle on slot's device; no register is written. */
void virtio_mmio_open(struct virtio_mmio *vm, struct virtio_mmio_slot *slot);

#endif
