/* Intel 8254x registers and legacy descriptors, as used by e1000.c.
 *
 * Source: Intel "PCI/PCI-X Family of Gigabit Ethernet Controllers Software
 * Developer's Manual" (the 8254x SDM, rev. 4.0). Section numbers below are
 * that manual's. Only what the driver uses is defined: no checksum or TCP
 * segmentation offload, no VLANs, no flow control, no wake-up. */
#ifndef KEEL_E1000_HW_H
#define KEEL_E1000_HW_H

#include <stddef.h>
#include <stdint.h>

/* ---- registers (SDM §13.4, offsets into BAR 0) ---- */
#define E1000_CTRL 0x0000   /* device control, §13.4.1 */
#define E1000_STATUS 0x0008 /* device status, §13.4.2 */
#define E1000_EERD 0x0014   /* EEPROM read, §13.4.4 (absent on the 82544) */
#define E1000_FCAL 0x0028   /* flow control address low/high, type, §13.4.5-7 */
#define E1000_FCAH 0x002c
#define E1000_FCT 0x0030
#define E1000_ICR 0x00c0    /* interrupt cause read (clears on read), §13.4.17 */
#define E1000_ITR 0x00c4    /* interrupt throttling, §13.4.18 */
#define E1000_IMS 0x00d0    /* interrupt mask set/read, §13.4.20 */
#define E1000_IMC 0x00d8    /* interrupt mask clear, §13.4.21 */
#define E1000_RCTL 0x0100   /* receive control, §13.4.22 */
#define E1000_FCTTV 0x0170  /* flow control transmit timer value, §13.4.23 */
#define E1000_TCTL 0x0400   /* transmit control, §13.4.33 */
#define E1000_TIPG 0x0410   /* transmit inter-packet gap, §13.4.34 */
#define E1000_RDBAL 0x2800  /* receive ring base/length/head/tail, §13.4.25-29 */
#define E1000_RDBAH 0x2804
#define E1000_RDLEN 0x2808
#define E1000_RDH 0x2810
#define E1000_RDT 0x2818
#define E1000_RDTR 0x2820   /* receive delay timer, §13.4.30 */
#define E1000_TDBAL 0x3800  /* transmit ring base/length/head/tail, §13.4.36-40 */
#define E1000_TDBAH 0x3804
#define E1000_TDLEN 0x3808
#define E1000_TDH 0x3810
#define E1000_TDT 0x3818
#define E1000_MTA 0x5200    /* multicast table array, 128 words, §13.5.1 */
#define E1000_MTA_WORDS 128
#define E1000_RAL(n) (0x5400 + 8 * (n)) /* receive address low/high, §13.5.2-3 */
#define E1000_RAH(n) (0x5404 + 8 * (n))
#define E1000_RA_ENTRIES 16

/* CTRL bits, §13.4.1 */
#define E1000_CTRL_LRST (1u << 3)     /* link reset */
#define E1000_CTRL_ASDE (1u << 5)     /* auto-speed detection */
#define E1000_CTRL_SLU (1u << 6)      /* set link up */
#define E1000_CTRL_ILOS (1u << 7)     /* invert loss-of-signal */
#define E1000_CTRL_FRCSPD (1u << 11)  /* force speed */
#define E1000_CTRL_FRCDPLX (1u << 12) /* force duplex */
#define E1000_CTRL_RST (1u << 26)     /* device reset, self-clearing */
#define E1000_CTRL_RFCE (1u << 27)    /* receive flow control */
#define E1000_CTRL_TFCE (1u << 28)    /* transmit flow control */
#define E1000_CTRL_VME (1u << 30)     /* VLAN mode */
#define E1000_CTRL_PHY_RST (1u << 31) /* PHY reset */

/* STATUS bits, §13.4.2 */
#define E1000_STATUS_FD (1u << 0) /* full duplex */
#define E1000_STATUS_LU (1u << 1) /* link up */

/* EERD fields for the 82540/82545 layout, §13.4.4 (the 82541/82547 move
 * DONE to bit 1 and ADDR to bits 15:2; those parts are not accepted). */
#define E1000_EERD_START (1u << 0)
#define E1000_EERD_DONE (1u << 4)
#define E1000_EERD_ADDR_SHIFT 8
#define E1000_EERD_DATA_SHIFT 16

/* Interrupt causes: the same bit in ICR, IMS and IMC, §13.4.17. */
#define E1000_ICR_TXDW (1u << 0)   /* a descriptor with RS was written back */
#define E1000_ICR_LSC (1u << 2)    /* link status change */
#define E1000_ICR_RXDMT0 (1u << 4) /* free RX descriptors below RCTL.RDMTS */
#define E1000_ICR_RXO (1u << 6)    /* receiver overrun: a frame was missed */
#define E1000_ICR_RXT0 (1u << 7)   /* receive timer: a frame was stored */

/* RAH bits, §13.5.3 */
#define E1000_RAH_AV (1u << 31) /* address valid: the filter uses this entry */

/* RCTL bits, §13.4.22 */
#define E1000_RCTL_EN (1u << 1)           /* receiver enable */
#define E1000_RCTL_UPE (1u << 3)          /* unicast promiscuous */
#define E1000_RCTL_MPE (1u << 4)          /* multicast promiscuous */
#define E1000_RCTL_LPE (1u << 5)          /* long packets (> 1522 bytes) */
#define E1000_RCTL_RDMTS_HALF (0u << 8)   /* RXDMT0 when half the ring is free */
#define E1000_RCTL_BAM (1u << 15)         /* accept broadcast */
#define E1000_RCTL_BSIZE_2048 (0u << 16)  /* with BSEX=0 */
#define E1000_RCTL_BSEX (1u << 25)        /* buffer size extension (x16) */
#define E1000_RCTL_SECRC (1u << 26)       /* strip the Ethernet CRC */

/* TCTL bits, §13.4.33 */
#define E1000_TCTL_EN (1u << 1)  /* transmitter enable */
#define E1000_TCTL_PSP (1u << 3) /* pad short packets to 64 bytes */
#define E1000_TCTL_CT(x) ((uint32_t)(x) << 4)    /* collision threshold */
#define E1000_TCTL_COLD(x) ((uint32_t)(x) << 12) /* collision distance */

/* TIPG fields, §13.4.34 */
#define E1000_TIPG_IPGT(x) ((uint32_t)(x) << 0)
#define E1000_TIPG_IPGR1(x) ((uint32_t)(x) << 10)
#define E1000_TIPG_IPGR2(x) ((uint32_t)(x) << 20)

/* ---- descriptors ---- */

/* Legacy receive descriptor, SDM §3.2.3 (Table 3-1). The device writes
 * length, checksum, status, errors and special back into it. */
struct e1000_rx_desc {
	uint64_t addr;     /* physical address of the receive buffer */
	uint16_t length;   /* bytes stored in this descriptor's buffer */
	uint16_t checksum; /* packet checksum (unused: no offload) */
	uint8_t status;    /* E1000_RXD_STAT_* */
	uint8_t errors;    /* E1000_RXD_ERR_*, valid when EOP is set */
	uint16_t special;  /* VLAN tag (unused: CTRL.VME is off) */
};
_Static_assert(sizeof(struct e1000_rx_desc) == 16, "SDM §3.2.3: 16-byte RX descriptor");
_Static_assert(offsetof(struct e1000_rx_desc, length) == 8, "SDM §3.2.3: length at byte 8");
_Static_assert(offsetof(struct e1000_rx_desc, checksum) == 10, "SDM §3.2.3: checksum at byte 10");
_Static_assert(offsetof(struct e1000_rx_desc, status) == 12, "SDM §3.2.3: status at byte 12");
_Static_assert(offsetof(struct e1000_rx_desc, errors) == 13, "SDM §3.2.3: errors at byte 13");
_Static_assert(offsetof(struct e1000_rx_desc, special) == 14, "SDM §3.2.3: special at byte 14");

/* RX status, §3.2.3.1 */
#define E1000_RXD_STAT_DD (1u << 0)  /* descriptor done: the device is finished with it */
#define E1000_RXD_STAT_EOP (1u << 1) /* last descriptor of a frame */

/* RX errors, §3.2.3.2. CE/SE/SEQ/CXE/RXE mean the frame itself is bad;
 * TCPE/IPE are checksum-offload results that lwIP recomputes anyway. */
#define E1000_RXD_ERR_CE (1u << 0)  /* CRC or alignment error */
#define E1000_RXD_ERR_SE (1u << 1)  /* symbol error (TBI mode) */
#define E1000_RXD_ERR_SEQ (1u << 2) /* sequence error (TBI mode) */
#define E1000_RXD_ERR_CXE (1u << 4) /* carrier extension error */
#define E1000_RXD_ERR_RXE (1u << 7) /* RX data error (PHY RX_ER) */
#define E1000_RXD_ERR_FRAME \
	(E1000_RXD_ERR_CE | E1000_RXD_ERR_SE | E1000_RXD_ERR_SEQ | E1000_RXD_ERR_CXE | E1000_RXD_ERR_RXE)

/* Legacy transmit descriptor, SDM §3.3.3 (Table 3-8). The device writes
 * only the status byte back, and only when RS is set. */
struct e1000_tx_desc {
	uint64_t addr;    /* physical address of the frame data */
	uint16_t length;  /* bytes to send from this buffer */
	uint8_t cso;      /* checksum offset (unused: IC is clear) */
	uint8_t cmd;      /* E1000_TXD_CMD_* */
	uint8_t status;   /* E1000_TXD_STAT_*, low nibble; high nibble reserved */
	uint8_t css;      /* checksum start (unused) */
	uint16_t special; /* VLAN tag (unused: VLE is clear) */
};
_Static_assert(sizeof(struct e1000_tx_desc) == 16, "SDM §3.3.3: 16-byte TX descriptor");
_Static_assert(offsetof(struct e1000_tx_desc, length) == 8, "SDM §3.3.3: length at byte 8");
_Static_assert(offsetof(struct e1000_tx_desc, cso) == 10, "SDM §3.3.3: CSO at byte 10");
_Static_assert(offsetof(struct e1000_tx_desc, cmd) == 11, "SDM §3.3.3: CMD at byte 11");
_Static_assert(offsetof(struct e1000_tx_desc, status) == 12, "SDM §3.3.3: STA at byte 12");
_Static_assert(offsetof(struct e1000_tx_desc, css) == 13, "SDM §3.3.3: CSS at byte 13");
_Static_assert(offsetof(struct e1000_tx_desc, special) == 14, "SDM §3.3.3: special at byte 14");

/* TX command, §3.3.3.1 */
#define E1000_TXD_CMD_EOP (1u << 0)  /* last descriptor of the frame */
#define E1000_TXD_CMD_IFCS (1u << 1) /* device appends the Ethernet CRC */
#define E1000_TXD_CMD_RS (1u << 3)   /* report status: write DD back when done */

/* TX status, §3.3.3.2 */
#define E1000_TXD_STAT_DD (1u << 0) /* descriptor done */
#define E1000_TXD_STAT_EC (1u << 1) /* excess collisions: frame abandoned (half duplex) */
#define E1000_TXD_STAT_LC (1u << 2) /* late collision: frame abandoned (half duplex) */

#endif
