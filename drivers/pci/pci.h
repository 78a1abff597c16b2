/* PCI configuration space (mechanism #1), enumeration, BAR mapping and
 * interrupt setup (MSI-X, then MSI, then INTx through the IOAPIC). */
#ifndef KEEL_PCI_H
#define KEEL_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "drivers/pci/pci_regs.h" /* register offsets and bits, for pci_read* / pci_write* */
#include "kernel/irq.h"

#define PCI_MAX_DEVICES 64

struct pci_dev {
	uint8_t bus, slot, fn;
	uint16_t vendor, device;
	uint8_t class, subclass, prog_if;
	uint8_t irq_line, irq_pin;
	uint64_t bar[PCI_BAR_COUNT]; /* physical address (or I/O port) */
	uint64_t bar_size[PCI_BAR_COUNT];
	bool bar_io[PCI_BAR_COUNT];
	const char *driver;   /* set by the driver that claims it */
};

void pci_init(void);
int pci_count(void);
struct pci_dev *pci_get(int i);
/* Next unclaimed device with this vendor/device id, or NULL. */
struct pci_dev *pci_find(uint16_t vendor, uint16_t device);

uint8_t pci_read8(const struct pci_dev *d, uint16_t off);
uint16_t pci_read16(const struct pci_dev *d, uint16_t off);
uint32_t pci_read32(const struct pci_dev *d, uint16_t off);
void pci_write16(const struct pci_dev *d, uint16_t off, uint16_t v);
void pci_write32(const struct pci_dev *d, uint16_t off, uint32_t v);

/* Offset of the first capability `id` at or after `after` (0: from the
 * start of the list), or 0. */
uint8_t pci_find_cap(const struct pci_dev *d, uint8_t id, uint8_t after);
/* Set command bits (PCI_CMD_*). */
void pci_enable(const struct pci_dev *d, uint16_t cmd_bits);
/* Uncached mapping of a memory BAR; NULL for I/O BARs or failure. */
volatile void *pci_map_bar(const struct pci_dev *d, int bar);

/* One interrupt for the device: MSI-X entry 0 if present (all other
 * entries get the same vector), else MSI, else INTx. Returns the kind used
 * ("msi-x", "msi", "intx") or NULL on failure. */
const char *pci_irq_setup(struct pci_dev *d, irq_fn fn, void *arg);

#endif
