/* PCI configuration space: the header registers, the capability list and
 * the MSI and MSI-X capabilities, as used by pci.c and the drivers.
 *
 * Source: PCI Local Bus Specification rev. 3.0; section numbers below are
 * that document's (capability IDs are its Appendix H). The bridge's bus
 * number register is from the type 1 header of the PCI-to-PCI Bridge
 * Architecture Specification rev. 1.2. Only what Keel uses is defined. */
#ifndef KEEL_PCI_REGS_H
#define KEEL_PCI_REGS_H

#include <stdint.h>

/* ---- configuration header (type 0 unless noted), §6.1 ---- */
#define PCI_VENDOR_ID           0x00 /* 16 bits; 0xffff: no function there, §6.2.1 */
#define PCI_VENDOR_NONE         0xffffu
#define PCI_COMMAND             0x04 /* 16 bits, §6.2.2 */
#define PCI_STATUS              0x06 /* 16 bits, §6.2.3 */
#define PCI_CLASS_REV           0x08 /* class (31:24), subclass, prog-if, revision (7:0), §6.2.1 */
#define PCI_HEADER_TYPE         0x0e /* 8 bits, §6.2.1 */
#define PCI_BAR(n)              (0x10 + 4 * (n)) /* base address registers 0-5, §6.2.5.1 */
#define PCI_BAR_COUNT           6
#define PCI_CAP_PTR             0x34 /* first capability (type 0 header), §6.7 */
#define PCI_INTERRUPT_LINE      0x3c /* 8 bits: the IRQ the firmware routed INTx to, §6.2.4 */
#define PCI_INTERRUPT_LINE_NONE 0xff /* x86: unknown or not connected (§6.2.4) */
#define PCI_INTERRUPT_PIN       0x3d /* 8 bits: 0 none, 1-4 INTA#-INTD#, §6.2.4 */
/* Type 1 (PCI-to-PCI bridge) header: the bus number behind the bridge. */
#define PCI_SECONDARY_BUS 0x19

/* Command bits, §6.2.2 */
#define PCI_CMD_IO           (1u << 0)  /* decode I/O space BARs */
#define PCI_CMD_MEM          (1u << 1)  /* decode memory space BARs */
#define PCI_CMD_MASTER       (1u << 2)  /* bus master: the function may DMA */
#define PCI_CMD_INTX_DISABLE (1u << 10) /* no INTx assertion (MSI and MSI-X still work) */

/* Status bits, §6.2.3 */
#define PCI_STATUS_CAP_LIST (1u << 4) /* PCI_CAP_PTR holds a capability list */

/* Header type, §6.2.1 */
#define PCI_HEADER_LAYOUT 0x7f      /* bits 6:0: the layout of bytes 0x10-0x3f */
#define PCI_HEADER_NORMAL 0x00      /* type 0: a device */
#define PCI_HEADER_BRIDGE 0x01      /* type 1: a PCI-to-PCI bridge */
#define PCI_HEADER_MULTI  (1u << 7) /* functions 1-7 may exist (function 0 only) */

/* BAR bits, §6.2.5.1 */
#define PCI_BAR_IO            (1u << 0)           /* set: I/O space, clear: memory space */
#define PCI_BAR_IO_MASK       (~3u)               /* an I/O BAR's address bits */
#define PCI_BAR_MEM_TYPE(bar) (((bar) >> 1) & 3u) /* memory BAR: bits 2:1 */
#define PCI_BAR_MEM_TYPE_64   2u                  /* 64 bits: the next BAR holds the high half */
#define PCI_BAR_MEM_MASK      (~0xfu)             /* a memory BAR's address bits */

/* ---- capability list, §6.7 ---- */
/* Every capability starts with an ID byte and a next pointer (0: the
 * end); pointers are dword-aligned and at or above 0x40. */
#define PCI_CAP_ID       0x00
#define PCI_CAP_NEXT     0x01
#define PCI_CAP_PTR_MASK 0xfcu
#define PCI_CAP_MIN      0x40
/* Capability IDs, Appendix H */
#define PCI_CAP_MSI    0x05
#define PCI_CAP_VENDOR 0x09
#define PCI_CAP_MSIX   0x11

/* ---- MSI capability, §6.8.1: offsets from the capability ---- */
#define PCI_MSI_CTRL    0x02 /* message control, 16 bits, §6.8.1.3 */
#define PCI_MSI_ADDR_LO 0x04 /* message address, §6.8.1.4 */
#define PCI_MSI_ADDR_HI 0x08 /* message upper address (64-bit capable only), §6.8.1.5 */
#define PCI_MSI_DATA_32 0x08 /* message data, 16 bits, §6.8.1.6, without ... */
#define PCI_MSI_DATA_64 0x0c /* ... and with the upper address */

/* Message control bits, §6.8.1.3 */
#define PCI_MSI_CTRL_ENABLE     (1u << 0) /* MSI enable (INTx is then off for the function) */
#define PCI_MSI_CTRL_QSIZE_MASK (7u << 4) /* multiple message enable: log2(vectors), 6:4 */
#define PCI_MSI_CTRL_64BIT      (1u << 7) /* 64 bit address capable */

/* ---- MSI-X capability, §6.8.2: offsets from the capability ---- */
#define PCI_MSIX_CTRL  0x02 /* message control, 16 bits, §6.8.2.3 */
#define PCI_MSIX_TABLE 0x04 /* table offset and BIR, 32 bits, §6.8.2.4 */

/* Message control bits, §6.8.2.3 */
#define PCI_MSIX_CTRL_SIZE_MASK 0x7ffu     /* table size, encoded as N - 1 */
#define PCI_MSIX_CTRL_MASKALL   (1u << 14) /* function mask: every vector masked */
#define PCI_MSIX_CTRL_ENABLE    (1u << 15) /* MSI-X enable (INTx and MSI are then off) */

/* Table offset/BIR fields, §6.8.2.4: the table is at this offset (8-byte
 * aligned) into the BAR numbered by the BIR. */
#define PCI_MSIX_TABLE_BIR_MASK    7u
#define PCI_MSIX_TABLE_OFFSET_MASK (~7u)

/* One MSI-X table entry, §6.8.2.6-9, in the BAR; accessed
 * as aligned dwords only (§6.8.2). */
struct pci_msix_entry {
	uint32_t addr_lo; /* message address, §6.8.2.6 */
	uint32_t addr_hi; /* message upper address, §6.8.2.7 */
	uint32_t data;    /* message data, §6.8.2.8 */
	uint32_t ctrl;    /* vector control, §6.8.2.9 */
};
_Static_assert(sizeof(struct pci_msix_entry) == 16, "MSI-X table entry is 16 bytes (PCI 3.0 §6.8.2)");

/* Vector control bits, §6.8.2.9 */
#define PCI_MSIX_ENTRY_MASKED (1u << 0)

#endif
