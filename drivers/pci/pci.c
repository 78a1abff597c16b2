/* PCI bus walk through configuration mechanism #1 (ports 0xcf8/0xcfc, PCI
 * Local Bus spec 3.0 §3.2.2.3.2). The walk starts at bus 0 and follows
 * PCI-to-PCI bridges, so boot does not probe 256 empty buses. BARs are
 * sized by the write-ones protocol (§6.2.5.1) with decoding turned off. */
#include <errno.h>
#include <stddef.h>

#include "drivers/pci/pci.h"
#include "kernel/apic.h"
#include "kernel/cpu.h"
#include "kernel/log.h"
#include "kernel/mm.h"

#define CFG_ADDR 0xcf8
#define CFG_DATA 0xcfc
#define CFG_ENABLE 0x80000000u /* CONFIG_ADDRESS bit 31: this is a configuration access */

static struct pci_dev devs[PCI_MAX_DEVICES];
static int ndevs;

static uint32_t cfg_addr(const struct pci_dev *d, uint16_t off)
{
	return CFG_ENABLE | (uint32_t)d->bus << 16 | (uint32_t)d->slot << 11 | (uint32_t)d->fn << 8 |
	       (off & 0xfc);
}

uint32_t pci_read32(const struct pci_dev *d, uint16_t off)
{
	outl(CFG_ADDR, cfg_addr(d, off));
	return inl(CFG_DATA);
}

uint16_t pci_read16(const struct pci_dev *d, uint16_t off) { return (uint16_t)(pci_read32(d, off) >> ((off & 2) * 8)); }
uint8_t pci_read8(const struct pci_dev *d, uint16_t off) { return (uint8_t)(pci_read32(d, off) >> ((off & 3) * 8)); }

void pci_write32(const struct pci_dev *d, uint16_t off, uint32_t v)
{
	outl(CFG_ADDR, cfg_addr(d, off));
	outl(CFG_DATA, v);
}

void pci_write16(const struct pci_dev *d, uint16_t off, uint16_t v)
{
	outl(CFG_ADDR, cfg_addr(d, off));
	outw(CFG_DATA + (off & 2), v);
}

static void size_bars(struct pci_dev *d)
{
	uint16_t cmd = pci_read16(d, PCI_COMMAND);
	pci_write16(d, PCI_COMMAND, cmd & ~(PCI_CMD_IO | PCI_CMD_MEM)); /* no decoding while sizing */
	for (int i = 0; i < PCI_BAR_COUNT; i++) {
		uint16_t off = PCI_BAR(i);
		uint32_t orig = pci_read32(d, off);
		pci_write32(d, off, 0xffffffff);
		uint32_t mask = pci_read32(d, off);
		pci_write32(d, off, orig);
		if (!mask)
			continue;
		if (orig & PCI_BAR_IO) {
			d->bar_io[i] = true;
			d->bar[i] = orig & PCI_BAR_IO_MASK;
			d->bar_size[i] = (uint16_t)(~(mask & PCI_BAR_IO_MASK) + 1);
			continue;
		}
		uint64_t base = orig & PCI_BAR_MEM_MASK, size_mask = mask & PCI_BAR_MEM_MASK;
		bool is64 = PCI_BAR_MEM_TYPE(orig) == PCI_BAR_MEM_TYPE_64;
		if (is64 && i < PCI_BAR_COUNT - 1) { /* the next BAR is the high half */
			uint32_t hi = pci_read32(d, off + 4);
			pci_write32(d, off + 4, 0xffffffff);
			size_mask |= (uint64_t)pci_read32(d, off + 4) << 32;
			pci_write32(d, off + 4, hi);
			base |= (uint64_t)hi << 32;
		} else {
			size_mask |= 0xffffffff00000000ul;
		}
		d->bar[i] = base;
		d->bar_size[i] = ~size_mask + 1;
		if (is64)
			i++;
	}
	pci_write16(d, PCI_COMMAND, cmd);
}

static void scan_bus(uint8_t bus);

static void add_function(uint8_t bus, uint8_t slot, uint8_t fn)
{
	struct pci_dev probe = { .bus = bus, .slot = slot, .fn = fn };
	uint32_t id = pci_read32(&probe, PCI_VENDOR_ID);
	if ((id & 0xffff) == PCI_VENDOR_NONE)
		return;
	uint32_t class = pci_read32(&probe, PCI_CLASS_REV);
	uint8_t header = pci_read8(&probe, PCI_HEADER_TYPE) & PCI_HEADER_LAYOUT;
	if (header == PCI_HEADER_BRIDGE) { /* walk what is behind it */
		scan_bus(pci_read8(&probe, PCI_SECONDARY_BUS));
		return;
	}
	if (header != PCI_HEADER_NORMAL)
		return;
	if (ndevs == PCI_MAX_DEVICES) {
		log_warn("pci", "more than %d functions; ignoring %02x:%02x.%x", PCI_MAX_DEVICES, bus, slot, fn);
		return;
	}
	struct pci_dev *d = &devs[ndevs++];
	*d = probe;
	d->vendor = (uint16_t)id;
	d->device = (uint16_t)(id >> 16);
	d->class = (uint8_t)(class >> 24);
	d->subclass = (uint8_t)(class >> 16);
	d->prog_if = (uint8_t)(class >> 8);
	d->irq_line = pci_read8(d, PCI_INTERRUPT_LINE);
	d->irq_pin = pci_read8(d, PCI_INTERRUPT_PIN);
	size_bars(d);
	log_debug("pci", "%02x:%02x.%x %04x:%04x class %02x%02x irq %u", bus, slot, fn, d->vendor, d->device,
		  d->class, d->subclass, d->irq_line);
}

static void scan_bus(uint8_t bus)
{
	for (uint8_t slot = 0; slot < 32; slot++) {
		struct pci_dev probe = { .bus = bus, .slot = slot };
		if (pci_read16(&probe, PCI_VENDOR_ID) == PCI_VENDOR_NONE)
			continue;
		int fns = (pci_read8(&probe, PCI_HEADER_TYPE) & PCI_HEADER_MULTI) ? 8 : 1;
		for (uint8_t fn = 0; fn < fns; fn++)
			add_function(bus, slot, fn);
	}
}

void pci_init(void)
{
	scan_bus(0);
	log_info("pci", "%d functions found", ndevs);
}

int pci_count(void) { return ndevs; }
struct pci_dev *pci_get(int i) { return i < ndevs ? &devs[i] : NULL; }

struct pci_dev *pci_find(uint16_t vendor, uint16_t device)
{
	for (int i = 0; i < ndevs; i++)
		if (devs[i].vendor == vendor && devs[i].device == device && !devs[i].driver)
			return &devs[i];
	return NULL;
}

uint8_t pci_find_cap(const struct pci_dev *d, uint8_t id, uint8_t after)
{
	if (!(pci_read16(d, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	uint8_t off = after ? pci_read8(d, after + PCI_CAP_NEXT) : pci_read8(d, PCI_CAP_PTR);
	/* 48 capabilities fill 0x40-0xff: a looped list must end */
	for (int guard = 0; off >= PCI_CAP_MIN && guard < 48; guard++) {
		off &= PCI_CAP_PTR_MASK;
		if (pci_read8(d, off + PCI_CAP_ID) == id)
			return off;
		off = pci_read8(d, off + PCI_CAP_NEXT);
	}
	return 0;
}

void pci_enable(const struct pci_dev *d, uint16_t cmd_bits)
{
	pci_write16(d, PCI_COMMAND, pci_read16(d, PCI_COMMAND) | cmd_bits);
}

volatile void *pci_map_bar(const struct pci_dev *d, int bar)
{
	if (bar < 0 || bar >= PCI_BAR_COUNT || d->bar_io[bar] || !d->bar[bar])
		return NULL;
	return vmm_map_phys(d->bar[bar], d->bar_size[bar], VMM_UNCACHED);
}

/* The MSI message for a fixed, edge interrupt to this CPU (Intel SDM
 * Vol. 3A §10.11.1-2): the address names the local APIC, the data the
 * vector; delivery mode fixed and trigger edge are the zero bits. */
#define MSI_ADDR_BASE 0xfee00000u /* the local APICs' message window */
#define MSI_ADDR_DEST_SHIFT 12    /* destination APIC ID, bits 19:12 */

static uint32_t msi_addr(void) { return MSI_ADDR_BASE | apic_id() << MSI_ADDR_DEST_SHIFT; }

static bool setup_msix(struct pci_dev *d, uint8_t cap, int vector)
{
	uint16_t ctrl = pci_read16(d, cap + PCI_MSIX_CTRL);
	uint32_t table = pci_read32(d, cap + PCI_MSIX_TABLE);
	int bir = table & PCI_MSIX_TABLE_BIR_MASK, entries = (ctrl & PCI_MSIX_CTRL_SIZE_MASK) + 1;
	if (bir >= PCI_BAR_COUNT || d->bar_io[bir] || !d->bar[bir])
		return false;
	pci_enable(d, PCI_CMD_MEM);
	volatile struct pci_msix_entry *t =
		vmm_map_phys(d->bar[bir] + (table & PCI_MSIX_TABLE_OFFSET_MASK),
			     (size_t)entries * sizeof(struct pci_msix_entry), VMM_UNCACHED);
	if (!t)
		return false;
	/* Enabled but function-masked while the table is filled (§6.8.2.3),
	 * so no entry fires half-written. */
	pci_write16(d, cap + PCI_MSIX_CTRL, ctrl | PCI_MSIX_CTRL_ENABLE | PCI_MSIX_CTRL_MASKALL);
	for (int i = 0; i < entries; i++) {
		t[i].addr_lo = msi_addr();
		t[i].addr_hi = 0;
		t[i].data = (uint32_t)vector;
		t[i].ctrl = 0; /* not PCI_MSIX_ENTRY_MASKED */
	}
	pci_write16(d, cap + PCI_MSIX_CTRL, (ctrl | PCI_MSIX_CTRL_ENABLE) & ~PCI_MSIX_CTRL_MASKALL);
	return true;
}

static void setup_msi(struct pci_dev *d, uint8_t cap, int vector)
{
	uint16_t ctrl = pci_read16(d, cap + PCI_MSI_CTRL);
	bool is64 = ctrl & PCI_MSI_CTRL_64BIT;
	pci_write32(d, cap + PCI_MSI_ADDR_LO, msi_addr());
	if (is64)
		pci_write32(d, cap + PCI_MSI_ADDR_HI, 0);
	pci_write16(d, cap + (is64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32), (uint16_t)vector);
	/* multiple message enable 0: one vector (§6.8.1.3) */
	pci_write16(d, cap + PCI_MSI_CTRL, (ctrl & ~PCI_MSI_CTRL_QSIZE_MASK) | PCI_MSI_CTRL_ENABLE);
}

const char *pci_irq_setup(struct pci_dev *d, irq_fn fn, void *arg)
{
	uint8_t msix = pci_find_cap(d, PCI_CAP_MSIX, 0), msi = pci_find_cap(d, PCI_CAP_MSI, 0);
	if (msix || msi) {
		int v = irq_alloc_vector(fn, arg);
		if (v < 0)
			return NULL;
		pci_enable(d, PCI_CMD_INTX_DISABLE);
		if (msix && setup_msix(d, msix, v))
			return "msi-x";
		if (msi) {
			setup_msi(d, msi, v);
			return "msi";
		}
		return NULL;
	}
	/* INTx: the firmware's interrupt line, routed like an ISA IRQ so the
	 * MADT overrides supply trigger mode and polarity. PCI INTx is shared
	 * and level-triggered, so handlers must check their device's cause. */
	if (!d->irq_pin || d->irq_line == PCI_INTERRUPT_LINE_NONE ||
	    irq_register_isa(d->irq_line, fn, arg) < 0)
		return NULL;
	return "intx";
}
