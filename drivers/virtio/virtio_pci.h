/* Virtio 1.0+ "modern" PCI transport (virtio 1.1 §4.1): the common,
 * notify, ISR and device configuration structures found through vendor
 * capabilities, the status handshake, feature negotiation and queue setup.
 * The legacy I/O-port interface is never used, even on transitional
 * devices. One implementation of the transport seam (virtio.h). */
#ifndef KEEL_VIRTIO_PCI_H
#define KEEL_VIRTIO_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drivers/pci/pci.h"
#include "drivers/virtio/virtio.h"

#define VIRTIO_PCI_VENDOR 0x1af4

/* §4.1.4 Virtio Structure PCI Capabilities: cfg_type values. */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG 3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4

/* §4.1.4 The vendor capability, as it sits in PCI configuration space. */
struct virtio_pci_cap {
	uint8_t cap_vndr; /* PCI_CAP_VENDOR */
	uint8_t cap_next;
	uint8_t cap_len;
	uint8_t cfg_type; /* VIRTIO_PCI_CAP_* */
	uint8_t bar;      /* which BAR holds the structure */
	uint8_t padding[3];
	uint32_t offset;  /* within the BAR */
	uint32_t length;  /* of the structure */
};
_Static_assert(sizeof(struct virtio_pci_cap) == 16, "virtio 1.1 §4.1.4: virtio_pci_cap is 16 bytes");
_Static_assert(offsetof(struct virtio_pci_cap, cfg_type) == 3, "virtio 1.1 §4.1.4");
_Static_assert(offsetof(struct virtio_pci_cap, bar) == 4, "virtio 1.1 §4.1.4");
_Static_assert(offsetof(struct virtio_pci_cap, offset) == 8, "virtio 1.1 §4.1.4");
_Static_assert(offsetof(struct virtio_pci_cap, length) == 12, "virtio 1.1 §4.1.4");
#define VIRTIO_PCI_NOTIFY_MULT_OFF 16 /* §4.1.4.4: le32 notify_off_multiplier follows the notify cap */

/* §4.1.4.3 Common configuration structure. 64-bit queue addresses are
 * split into halves: §4.1.3.1 lets the driver access them as two 32-bit
 * parts, and QEMU rejects 8-byte MMIO accesses to this structure. */
struct virtio_pci_common_cfg {
	uint32_t device_feature_select; /* selects which 32 bits device_feature shows */
	uint32_t device_feature;        /* read-only */
	uint32_t driver_feature_select;
	uint32_t driver_feature;
	uint16_t msix_config;           /* MSI-X table entry for config changes */
	uint16_t num_queues;            /* read-only */
	uint8_t device_status;          /* VIRTIO_STATUS_*; writing 0 resets */
	uint8_t config_generation;      /* read-only; changes when device config does */
	uint16_t queue_select;          /* the queue_* fields below address this queue */
	uint16_t queue_size;            /* device maximum on reset; the driver may lower it */
	uint16_t queue_msix_vector;
	uint16_t queue_enable;
	uint16_t queue_notify_off;      /* read-only: doorbell offset, in multiplier units */
	uint32_t queue_desc_lo, queue_desc_hi;     /* descriptor table */
	uint32_t queue_driver_lo, queue_driver_hi; /* available ring */
	uint32_t queue_device_lo, queue_device_hi; /* used ring */
};
_Static_assert(sizeof(struct virtio_pci_common_cfg) == 56, "virtio 1.1 §4.1.4.3: common cfg is 56 bytes");
_Static_assert(offsetof(struct virtio_pci_common_cfg, msix_config) == 16, "virtio 1.1 §4.1.4.3");
_Static_assert(offsetof(struct virtio_pci_common_cfg, device_status) == 20, "virtio 1.1 §4.1.4.3");
_Static_assert(offsetof(struct virtio_pci_common_cfg, queue_select) == 22, "virtio 1.1 §4.1.4.3");
_Static_assert(offsetof(struct virtio_pci_common_cfg, queue_notify_off) == 30, "virtio 1.1 §4.1.4.3");
_Static_assert(offsetof(struct virtio_pci_common_cfg, queue_desc_lo) == 32, "virtio 1.1 §4.1.4.3");
_Static_assert(offsetof(struct virtio_pci_common_cfg, queue_driver_lo) == 40, "virtio 1.1 §4.1.4.3");
_Static_assert(offsetof(struct virtio_pci_common_cfg, queue_device_lo) == 48, "virtio 1.1 §4.1.4.3");

#define VIRTIO_MSI_NO_VECTOR 0xffffu

struct virtio_pci {
	struct virtio_dev dev; /* first: the seam's view of this transport */
	struct pci_dev *pci;
	volatile struct virtio_pci_common_cfg *common;
	volatile uint8_t *notify; /* base of the notify structure */
	uint32_t notify_len, notify_mult;
	volatile uint8_t *isr;
	volatile uint8_t *device_cfg; /* device-specific layout, e.g. virtio_net_config */
	uint32_t device_cfg_len;
	volatile uint8_t *bar_map[6]; /* each BAR mapped at most once */
};

/* Is d an unclaimed virtio function of device type `type` (§4.1.2: the
 * modern ID 0x1040 + type, or the transitional ID of §4.1.2.3)? */
bool virtio_pci_match(const struct pci_dev *d, uint32_t type);
/* Locate the modern capabilities, map them and enable memory decoding and
 * bus mastering; vp->dev is then ready for the seam's operations. No
 * device register is written. -ENODEV if the function has no modern
 * interface, -EIO if a capability points outside its BAR, -ENOMEM if
 * mapping fails. */
int virtio_pci_init(struct virtio_pci *vp, struct pci_dev *pci);

#endif
