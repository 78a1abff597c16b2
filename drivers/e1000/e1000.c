/* Intel 8254x gigabit Ethernet ("e1000") as QEMU emulates it:
 *
 *   qemu-system-x86_64 ... -netdev user,id=n0 -device e1000,netdev=n0
 *
 * Section numbers are those of Intel's "PCI/PCI-X Family of Gigabit
 * Ethernet Controllers Software Developer's Manual" (the 8254x SDM).
 *
 * Two rings of 256 legacy descriptors, each ring one 4 KiB page, each
 * descriptor owning one 2 KiB DMA buffer (two per page), all allocated at
 * boot. Frames are copied out of RX buffers and into TX buffers, so a
 * buffer never leaves the driver and nothing is allocated per packet.
 *
 * Ownership follows the head/tail registers (§3.2.6, §3.4): the device
 * owns RX descriptors from RDH up to RDT-1 and fills them in order,
 * setting DD in each; the driver consumes them from rx_next, then moves
 * RDT up behind itself. For TX the driver fills descriptors at TDT and
 * the device sends from TDH up to TDT-1, setting DD as it finishes each.
 *
 * Interrupts (INTx; the 82540EM has no MSI): the handler reads ICR, which
 * acknowledges, masks the device with IMC and wakes the net poller. The
 * poller drains the rings and calls irq_rearm, which unmasks and re-checks
 * the rings, so a frame that lands in between is never stranded. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "drivers/e1000/e1000.h"
#include "drivers/e1000/e1000_hw.h"
#include "drivers/pci/pci.h"
#include "kernel/clock.h"
#include "kernel/cpu.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "net/netdev.h"

#define E1000_NDESC 256     /* descriptors per ring */
#define E1000_BUF_SIZE 2048 /* RCTL.BSIZE; two buffers per page */
#define E1000_BUFS_PER_PAGE (PAGE_SIZE / E1000_BUF_SIZE)
#define E1000_RING_BYTES (E1000_NDESC * sizeof(struct e1000_rx_desc))
#define E1000_POOL_PAGES (2 + 2 * E1000_NDESC / E1000_BUFS_PER_PAGE) /* two rings + their buffers */
#define E1000_ETH_HLEN 14
#define E1000_RX_POST_BATCH 16 /* RDT writes are MMIO: hand descriptors back in batches */
#define E1000_RESET_TIMEOUT_NS (10 * NSEC_PER_MSEC)
#define E1000_EERD_TIMEOUT_NS (10 * NSEC_PER_MSEC)
#define E1000_EEPROM_LOAD_TIMEOUT_NS (10 * NSEC_PER_MSEC)

/* The causes the poller cares about (§13.4.20): a frame stored, the
 * free-descriptor threshold crossed, a missed frame, link up/down, a sent
 * descriptor written back. */
#define E1000_IRQ_CAUSES (E1000_ICR_RXT0 | E1000_ICR_RXDMT0 | E1000_ICR_RXO | E1000_ICR_LSC | E1000_ICR_TXDW)

/* Interrupt throttling (§13.4.18): at least ITR x 256 ns between two
 * interrupts. 195 is ~50 us, at most ~20,000 interrupts/s. The handler
 * already masks the device until the poller has drained both rings, so a
 * busy link costs one interrupt per burst; ITR only bounds how fast new
 * bursts can interrupt, and a low value keeps request latency low. The
 * SDM suggests 651-5580 (6,000-700/s) for bulk throughput. QEMU 7.2 with
 * its default "mitigation" enforces at least 500 (128 us) whatever we
 * write, so under QEMU this value only matters if it is larger. */
#define E1000_ITR_INTERVAL 195

_Static_assert((E1000_NDESC & (E1000_NDESC - 1)) == 0, "ring indices wrap with a mask");
_Static_assert(E1000_RING_BYTES == PAGE_SIZE, "one page per descriptor ring");
_Static_assert(E1000_RING_BYTES % 128 == 0, "RDLEN/TDLEN must be a multiple of 128 bytes (§13.4.27, §13.4.38)");
_Static_assert(PAGE_SIZE % E1000_BUF_SIZE == 0, "buffers tile a page");
_Static_assert(E1000_BUF_SIZE >= NETDEV_FRAME_MAX, "a whole frame fits in one buffer");

/* Parts whose registers, EERD layout and legacy descriptors match for all
 * this driver uses. Not accepted: the 82544GC (QEMU e1000-82544gc) has no
 * EERD and other TIPG defaults, and the 82574L (8086:10d3, QEMU e1000e) is
 * a PCIe part with MSI-X, IVAR routing and different ICR semantics. */
static const struct {
	uint16_t device;
	const char *model;
} e1000_ids[] = {
	{ 0x100e, "82540EM" }, /* QEMU -device e1000 */
	{ 0x100f, "82545EM" }, /* QEMU -device e1000-82545em */
};

struct e1000 {
	struct netdev dev;
	struct pci_dev *pci;
	const char *model;
	volatile uint8_t *regs;             /* BAR 0, uncached */
	volatile struct e1000_rx_desc *rx;  /* RX ring: device fills RDH..RDT-1 */
	volatile struct e1000_tx_desc *tx;  /* TX ring: device sends TDH..TDT-1 */
	uint64_t rx_ring_pa, tx_ring_pa;    /* the rings' physical pages (0: none) */
	/* Each descriptor's buffer as the kernel sees it. Addresses are never
	 * read back from descriptors: those are device-writable memory. */
	uint8_t *rx_buf[E1000_NDESC];
	uint8_t *tx_buf[E1000_NDESC];
	uint16_t rx_next;     /* next RX descriptor to complete (DD) */
	uint16_t rx_unposted; /* consumed, not yet handed back through RDT */
	bool rx_skip;         /* inside an already-dropped frame: skip to its EOP */
	uint16_t tx_next;     /* next free TX descriptor */
	uint16_t tx_posted;   /* the last value written to TDT */
	uint16_t tx_clean;    /* oldest TX descriptor not yet reclaimed */
	volatile uint32_t rxo_events; /* ICR.RXO seen (IRQ context or IRQs off) */
	uint32_t rxo_counted;         /* of those, already added to rx_dropped */
	bool link_logged;             /* link state last reported on the console */
	volatile bool live;           /* interrupts may reach netdev_irq() */
};

static struct e1000 e1000_nic; /* one NIC: netdev_register takes one */

static uint32_t e1000_read(const struct e1000 *nic, uint32_t reg)
{
	return *(volatile uint32_t *)(nic->regs + reg);
}

static void e1000_write(struct e1000 *nic, uint32_t reg, uint32_t val)
{
	*(volatile uint32_t *)(nic->regs + reg) = val;
}

static void e1000_delay_ns(uint64_t ns)
{
	uint64_t until = clock_now() + ns;
	while (clock_now() < until)
		cpu_relax();
}

/* Poll `reg` until (value & mask) == want; false after timeout_ns. The
 * last value read is stored in *val if val is not NULL. */
static bool e1000_poll(const struct e1000 *nic, uint32_t reg, uint32_t mask, uint32_t want, uint64_t timeout_ns,
		       uint32_t *val)
{
	uint64_t deadline = clock_now() + timeout_ns;
	uint32_t v;
	bool ok;
	while (!(ok = ((v = e1000_read(nic, reg)) & mask) == want) && clock_now() < deadline)
		cpu_relax();
	if (val)
		*val = v;
	return ok;
}

/* ---- bring-up ---- */

/* Global reset (§13.4.1 CTRL.RST): every register except PCI config space
 * returns to its power-on value and the MAC address is reloaded from the
 * EEPROM. The receiver and transmitter are stopped first so no frame is
 * cut mid-DMA, and interrupts are masked on both sides because reset does
 * not retract an interrupt the device already raised. */
static int e1000_reset(struct e1000 *nic)
{
	e1000_write(nic, E1000_IMC, ~0u);
	e1000_write(nic, E1000_RCTL, 0);
	e1000_write(nic, E1000_TCTL, 0);
	e1000_write(nic, E1000_CTRL, e1000_read(nic, E1000_CTRL) | E1000_CTRL_RST);
	e1000_delay_ns(1000); /* §13.4.1: touch no register for ~1 us after setting RST */
	if (!e1000_poll(nic, E1000_CTRL, E1000_CTRL_RST, 0, E1000_RESET_TIMEOUT_NS, NULL))
		return -ETIMEDOUT;
	e1000_write(nic, E1000_IMC, ~0u);
	(void)e1000_read(nic, E1000_ICR); /* discard causes latched before the reset */
	return 0;
}

/* General configuration (§14.3): with the internal copper PHY the MAC
 * takes speed and duplex from the PHY's auto-negotiation (ASDE), SLU lets
 * the link come up, and LRST, PHY_RST, ILOS and the force bits must be
 * clear. No VLANs. No flow control, for which §14.3 says to write 0 to
 * FCAL, FCAH, FCT and FCTTV. */
static void e1000_link_setup(struct e1000 *nic)
{
	uint32_t ctrl = e1000_read(nic, E1000_CTRL);
	ctrl |= E1000_CTRL_SLU | E1000_CTRL_ASDE;
	ctrl &= ~(E1000_CTRL_LRST | E1000_CTRL_PHY_RST | E1000_CTRL_ILOS | E1000_CTRL_FRCSPD | E1000_CTRL_FRCDPLX |
		  E1000_CTRL_VME);
	e1000_write(nic, E1000_CTRL, ctrl);
	e1000_write(nic, E1000_FCAL, 0);
	e1000_write(nic, E1000_FCAH, 0);
	e1000_write(nic, E1000_FCT, 0);
	e1000_write(nic, E1000_FCTTV, 0);
	nic->dev.link_up = e1000_read(nic, E1000_STATUS) & E1000_STATUS_LU;
}

static bool e1000_mac_valid(const uint8_t mac[6])
{
	static const uint8_t zero[6];
	return memcmp(mac, zero, 6) != 0 && !(mac[0] & 1); /* set, and unicast */
}

/* Receive address 0, which the device loads from the EEPROM at reset
 * (§13.5.2-3; QEMU fills it from -device ...,mac=). */
static bool e1000_mac_from_ra(struct e1000 *nic, uint8_t mac[6])
{
	uint32_t lo = e1000_read(nic, E1000_RAL(0)), hi = e1000_read(nic, E1000_RAH(0));
	for (int i = 0; i < 4; i++)
		mac[i] = (uint8_t)(lo >> (8 * i));
	mac[4] = (uint8_t)hi;
	mac[5] = (uint8_t)(hi >> 8);
	return (hi & E1000_RAH_AV) && e1000_mac_valid(mac);
}

/* One EEPROM word through EERD (§13.4.4): no EECD handshake needed. */
static int e1000_eeprom_read(struct e1000 *nic, uint8_t word, uint16_t *out)
{
	uint32_t v;
	e1000_write(nic, E1000_EERD, E1000_EERD_START | (uint32_t)word << E1000_EERD_ADDR_SHIFT);
	if (!e1000_poll(nic, E1000_EERD, E1000_EERD_DONE, E1000_EERD_DONE, E1000_EERD_TIMEOUT_NS, &v))
		return -ETIMEDOUT;
	*out = (uint16_t)(v >> E1000_EERD_DATA_SHIFT);
	return 0;
}

/* The Ethernet address is EEPROM words 0-2, low byte first (§5.6.1). */
static bool e1000_mac_from_eeprom(struct e1000 *nic, uint8_t mac[6])
{
	for (uint8_t w = 0; w < 3; w++) {
		uint16_t v;
		if (e1000_eeprom_read(nic, w, &v) < 0)
			return false;
		mac[2 * w] = (uint8_t)v;
		mac[2 * w + 1] = (uint8_t)(v >> 8);
	}
	return e1000_mac_valid(mac);
}

/* The reset reloads RAL0/RAH0 from the EEPROM in the background, which
 * takes a few milliseconds on silicon (QEMU keeps them): wait for AV, but
 * not forever, since an unprogrammed EEPROM never sets it. */
static int e1000_read_mac(struct e1000 *nic)
{
	uint8_t *mac = nic->dev.mac;
	e1000_poll(nic, E1000_RAH(0), E1000_RAH_AV, E1000_RAH_AV, E1000_EEPROM_LOAD_TIMEOUT_NS, NULL);
	if (e1000_mac_from_ra(nic, mac))
		return 0;
	log_warn("e1000", "RAL0/RAH0 hold no valid address; reading the EEPROM");
	return e1000_mac_from_eeprom(nic, mac) ? 0 : -EIO;
}

/* Receive filters (§14.4): the multicast table is undefined after reset
 * and must be zeroed; only receive address 0 (our MAC) is valid, since
 * CTRL.RST on QEMU leaves stale RA entries from a boot ROM. */
static void e1000_filters_init(struct e1000 *nic)
{
	const uint8_t *m = nic->dev.mac;
	for (int i = 0; i < E1000_MTA_WORDS; i++)
		e1000_write(nic, E1000_MTA + 4 * i, 0);
	for (int i = 1; i < E1000_RA_ENTRIES; i++) {
		e1000_write(nic, E1000_RAH(i), 0); /* AV off first: never match a half-written entry */
		e1000_write(nic, E1000_RAL(i), 0);
	}
	e1000_write(nic, E1000_RAL(0), (uint32_t)m[0] | (uint32_t)m[1] << 8 | (uint32_t)m[2] << 16 | (uint32_t)m[3] << 24);
	e1000_write(nic, E1000_RAH(0), (uint32_t)m[4] | (uint32_t)m[5] << 8 | E1000_RAH_AV);
}

static void e1000_free_page(const void *va)
{
	if (va)
		pmm_free(virt_to_phys(va));
}

static void e1000_rings_free(struct e1000 *nic)
{
	if (nic->rx_ring_pa)
		pmm_free(nic->rx_ring_pa);
	if (nic->tx_ring_pa)
		pmm_free(nic->tx_ring_pa);
	nic->rx_ring_pa = nic->tx_ring_pa = 0;
	nic->rx = NULL;
	nic->tx = NULL;
	for (int i = 0; i < E1000_NDESC; i += E1000_BUFS_PER_PAGE) {
		e1000_free_page(nic->rx_buf[i]);
		e1000_free_page(nic->tx_buf[i]);
	}
	memset(nic->rx_buf, 0, sizeof nic->rx_buf);
	memset(nic->tx_buf, 0, sizeof nic->tx_buf);
}

/* One ring's buffers, two per zeroed page. */
static int e1000_bufs_alloc(uint8_t **bufs)
{
	for (int i = 0; i < E1000_NDESC; i += E1000_BUFS_PER_PAGE) {
		uint64_t pa = pmm_alloc();
		if (!pa)
			return -ENOMEM;
		for (int j = 0; j < (int)E1000_BUFS_PER_PAGE; j++)
			bufs[i + j] = (uint8_t *)phys_to_virt(pa) + j * E1000_BUF_SIZE;
	}
	return 0;
}

/* All DMA memory, once, at boot; each descriptor gets its buffer's
 * physical address for good. On failure the caller frees what was
 * allocated. */
static int e1000_rings_alloc(struct e1000 *nic)
{
	uint64_t rx = nic->rx_ring_pa = pmm_alloc(), tx = nic->tx_ring_pa = pmm_alloc();
	nic->rx = rx ? phys_to_virt(rx) : NULL;
	nic->tx = tx ? phys_to_virt(tx) : NULL;
	if (!rx || !tx || e1000_bufs_alloc(nic->rx_buf) < 0 || e1000_bufs_alloc(nic->tx_buf) < 0)
		return -ENOMEM;
	for (int i = 0; i < E1000_NDESC; i++) {
		nic->rx[i].addr = virt_to_phys(nic->rx_buf[i]);
		nic->tx[i].addr = virt_to_phys(nic->tx_buf[i]);
	}
	return 0;
}

/* Receive initialization (§14.4). RDT = NDESC-1 hands all but one
 * descriptor to the device: RDH == RDT must mean "no buffers", so one
 * slot always stays with the driver. RDTR stays 0: the SDM warns against
 * the receive delay timer and recommends ITR instead (§13.4.30). LPE off
 * makes the MAC discard frames over 1522 bytes, so every accepted frame
 * fits one 2 KiB buffer. */
static void e1000_rx_init(struct e1000 *nic)
{
	uint64_t ring = nic->rx_ring_pa;
	nic->rx_next = 0;
	nic->rx_unposted = 0;
	nic->rx_skip = false;
	e1000_write(nic, E1000_RDBAL, (uint32_t)ring);
	e1000_write(nic, E1000_RDBAH, (uint32_t)(ring >> 32));
	e1000_write(nic, E1000_RDLEN, E1000_RING_BYTES);
	e1000_write(nic, E1000_RDH, 0);
	wmb(); /* buffer addresses in memory before the device may fetch descriptors */
	e1000_write(nic, E1000_RDT, E1000_NDESC - 1);
	e1000_write(nic, E1000_RDTR, 0);
	e1000_write(nic, E1000_RCTL, E1000_RCTL_EN | E1000_RCTL_BAM | E1000_RCTL_RDMTS_HALF | E1000_RCTL_BSIZE_2048 |
					     E1000_RCTL_SECRC);
}

/* Transmit initialization (§14.5): empty ring (TDH == TDT), padding of
 * short frames, the recommended collision threshold (0Fh) and the
 * full-duplex collision distance (40h; QEMU is always full duplex, and a
 * half-duplex gigabit link is not a target), and the IEEE 802.3 IPG
 * values for copper (§13.4.34: IPGT 10, IPGR1 8, IPGR2 6). */
static void e1000_tx_init(struct e1000 *nic)
{
	uint64_t ring = nic->tx_ring_pa;
	nic->tx_next = 0;
	nic->tx_clean = 0;
	nic->tx_posted = 0;
	e1000_write(nic, E1000_TDBAL, (uint32_t)ring);
	e1000_write(nic, E1000_TDBAH, (uint32_t)(ring >> 32));
	e1000_write(nic, E1000_TDLEN, E1000_RING_BYTES);
	e1000_write(nic, E1000_TDH, 0);
	e1000_write(nic, E1000_TDT, 0);
	e1000_write(nic, E1000_TIPG, E1000_TIPG_IPGT(10) | E1000_TIPG_IPGR1(8) | E1000_TIPG_IPGR2(6));
	e1000_write(nic, E1000_TCTL, E1000_TCTL_EN | E1000_TCTL_PSP | E1000_TCTL_CT(0x0f) | E1000_TCTL_COLD(0x40));
}

/* ---- interrupts ---- */

/* Record what ICR reported. Runs in the IRQ handler or with interrupts
 * disabled, so these fields have one writer at a time. */
static void e1000_note_causes(struct e1000 *nic, uint32_t icr)
{
	if (icr & E1000_ICR_RXO)
		nic->rxo_events++;
	if (icr & E1000_ICR_LSC) {
		nic->dev.stats.link_changes++;
		nic->dev.link_up = e1000_read(nic, E1000_STATUS) & E1000_STATUS_LU;
	}
}

static void e1000_irq(void *arg)
{
	struct e1000 *nic = arg;
	/* Reading ICR acknowledges every cause it reports and drops the
	 * INTx line (§13.4.17). */
	uint32_t icr = e1000_read(nic, E1000_ICR);
	if (!icr || !nic->live)
		return; /* INTx is shared: another device raised the line */
	/* Masked until the poller has drained the rings and calls irq_rearm:
	 * one interrupt per burst instead of one per frame. A cause that
	 * lands between the ICR read and this write stays latched in ICR and
	 * is found by irq_rearm's ring checks. */
	e1000_write(nic, E1000_IMC, ~0u);
	e1000_note_causes(nic, icr);
	netdev_irq(&nic->dev);
}

/* ---- receive ---- */

/* Hand consumed descriptors back. RDT names the first descriptor the
 * device may not fill (§13.4.29), so it trails rx_next by one: the last
 * consumed descriptor is the one slot the driver keeps. */
static void e1000_rx_post(struct e1000 *nic)
{
	if (!nic->rx_unposted)
		return;
	nic->rx_unposted = 0;
	wmb(); /* cleared status bytes reach memory before the device may refill them */
	e1000_write(nic, E1000_RDT, (nic->rx_next + E1000_NDESC - 1) & (E1000_NDESC - 1));
}

/* Finished with rx_next: clear its status (the device ORs DD and EOP into
 * whatever is there; QEMU does, so a stale DD would fake a completion) and
 * queue it for the next RDT write. */
static void e1000_rx_consume(struct e1000 *nic)
{
	nic->rx[nic->rx_next].status = 0;
	nic->rx_next = (nic->rx_next + 1) & (E1000_NDESC - 1);
	if (++nic->rx_unposted >= E1000_RX_POST_BATCH)
		e1000_rx_post(nic);
}

/* Copy out the frame in descriptor `i` if it is a good one; return its
 * length, or 0 after counting a drop. Errors are valid only with EOP
 * (§3.2.3.2). A frame without EOP spans descriptors: with 2 KiB buffers
 * and LPE off that means the device broke its 1522-byte limit, so the
 * whole chain is dropped, counted once, by skipping up to its EOP. */
static int e1000_rx_take(struct e1000 *nic, int i, void *buf, size_t cap)
{
	volatile struct e1000_rx_desc *d = &nic->rx[i];
	uint8_t status = d->status, errors = d->errors;
	size_t len = d->length;
	if (nic->rx_skip) {
		nic->rx_skip = !(status & E1000_RXD_STAT_EOP);
		return 0;
	}
	if (!(status & E1000_RXD_STAT_EOP)) {
		nic->rx_skip = true;
		nic->dev.stats.rx_dropped++;
		return 0;
	}
	if ((errors & E1000_RXD_ERR_FRAME) || len < E1000_ETH_HLEN || len > NETDEV_FRAME_MAX || len > cap) {
		nic->dev.stats.rx_dropped++; /* bad CRC/symbols, runt, or longer than the MTU allows */
		return 0;
	}
	memcpy(buf, nic->rx_buf[i], len);
	nic->dev.stats.rx_packets++;
	nic->dev.stats.rx_bytes += len;
	return (int)len;
}

static bool e1000_rx_pending(const struct e1000 *nic)
{
	return nic->rx[nic->rx_next].status & E1000_RXD_STAT_DD;
}

/* netdev op: next good frame, or 0. Bad frames are consumed and counted
 * along the way, at most one ring's worth per call. Frames never exceed
 * NETDEV_FRAME_MAX, so bufs[0] always holds them. */
static int e1000_rx(struct netdev *dev, const struct netdev_buf *bufs, int nbufs, struct netdev_rx_info *info)
{
	struct e1000 *nic = dev->priv;
	void *buf = bufs[0].data;
	size_t cap = nbufs > 0 ? bufs[0].len : 0;
	*info = (struct netdev_rx_info){ 0 };
	int len = 0;
	for (int budget = E1000_NDESC; !len && budget > 0 && e1000_rx_pending(nic); budget--) {
		rmb(); /* DD first, then the length, errors and buffer it vouches for */
		len = e1000_rx_take(nic, nic->rx_next, buf, cap);
		e1000_rx_consume(nic);
	}
	if (!len)
		e1000_rx_post(nic); /* ring drained: give back the partial batch now */
	info->len = (size_t)len;
	return len;
}

/* ---- transmit ---- */

/* Reclaim descriptors the device has finished: every one has RS, so DD
 * appears on each, in ring order (§3.3.3.2). Returns how many. */
static int e1000_tx_reclaim(struct e1000 *nic)
{
	int n = 0;
	while (nic->tx_clean != nic->tx_next) {
		volatile struct e1000_tx_desc *d = &nic->tx[nic->tx_clean];
		uint8_t status = d->status;
		if (!(status & E1000_TXD_STAT_DD))
			break;
		if (status & (E1000_TXD_STAT_EC | E1000_TXD_STAT_LC))
			nic->dev.stats.tx_dropped++; /* abandoned after collisions (half duplex only) */
		d->status = 0;
		nic->tx_clean = (nic->tx_clean + 1) & (E1000_NDESC - 1);
		n++;
	}
	return n;
}

/* Move TDT past the queued descriptors: the device sends up to it. */
static void e1000_tx_post(struct e1000 *nic)
{
	if (nic->tx_posted == nic->tx_next)
		return;
	nic->tx_posted = nic->tx_next;
	wmb(); /* frames and descriptors in memory before the device sees the new tail */
	e1000_write(nic, E1000_TDT, nic->tx_next);
}

/* netdev op: copy the segments into the next descriptor's buffer, queued
 * for the next TDT write. One slot stays empty so TDH == TDT always means
 * idle. */
static int e1000_tx(struct netdev *dev, const struct netdev_seg *segs, int nsegs)
{
	struct e1000 *nic = dev->priv;
	size_t total = 0;
	for (int i = 0; i < nsegs; i++)
		total += segs[i].len;
	if (total > NETDEV_FRAME_MAX || total < E1000_ETH_HLEN) {
		dev->stats.tx_dropped++;
		return total > NETDEV_FRAME_MAX ? -EMSGSIZE : -EINVAL;
	}
	e1000_tx_reclaim(nic);
	uint16_t next = (nic->tx_next + 1) & (E1000_NDESC - 1);
	if (next == nic->tx_clean) {
		e1000_tx_post(nic); /* what is queued must reach the device to drain */
		dev->stats.tx_ring_full++;
		return -EAGAIN;
	}
	uint8_t *p = nic->tx_buf[nic->tx_next];
	for (int i = 0; i < nsegs; i++) {
		memcpy(p, segs[i].data, segs[i].len);
		p += segs[i].len;
	}
	volatile struct e1000_tx_desc *d = &nic->tx[nic->tx_next];
	d->length = (uint16_t)total;
	d->cso = 0;
	d->cmd = E1000_TXD_CMD_EOP | E1000_TXD_CMD_IFCS | E1000_TXD_CMD_RS;
	d->status = 0;
	d->css = 0;
	d->special = 0;
	nic->tx_next = next;
	dev->stats.tx_packets++;
	dev->stats.tx_bytes += total;
	return 0;
}

/* ---- poller handshake ---- */

/* Frames the device missed for lack of descriptors. Each RXO means at
 * least one; the exact count is in MPC (§13.7), but MPC clears on read on
 * silicon and not in QEMU 7.2, so neither reading of it is portable. */
static void e1000_count_overruns(struct e1000 *nic)
{
	uint32_t seen = nic->rxo_events;
	nic->dev.stats.rx_dropped += seen - nic->rxo_counted;
	nic->rxo_counted = seen;
}

static void e1000_log_link(struct e1000 *nic)
{
	bool up = nic->dev.link_up;
	if (up != nic->link_logged)
		log_info("e1000", "link %s", up ? "up" : "down");
	nic->link_logged = up;
}

/* netdev op: unmask, then look again (the lost-interrupt race). Causes
 * latched while masked are read off first: the ring checks below see
 * their work, and the unmask then does not raise an interrupt for frames
 * this poll has already taken. Anything arriving after the ICR read stays
 * latched and interrupts as soon as IMS is written. */
static bool e1000_irq_rearm(struct netdev *dev)
{
	struct e1000 *nic = dev->priv;
	e1000_rx_post(nic); /* before the unmask: fresh buffers may let queued frames in at once */
	uint64_t flags = irq_save(); /* the handler also reads ICR and writes the link fields */
	e1000_note_causes(nic, e1000_read(nic, E1000_ICR));
	e1000_write(nic, E1000_IMS, E1000_IRQ_CAUSES);
	irq_restore(flags);
	mb(); /* unmask before the ring reads, or a frame could slip between them */
	e1000_count_overruns(nic);
	e1000_log_link(nic);
	bool tx_done = e1000_tx_reclaim(nic) > 0; /* ring space for a sender that got -EAGAIN */
	return e1000_rx_pending(nic) || tx_done;
}

/* netdev op: one TDT write for the frames queued since the last, and the
 * consumed RX descriptors back through RDT. */
static void e1000_flush(struct netdev *dev)
{
	struct e1000 *nic = dev->priv;
	e1000_rx_post(nic);
	e1000_tx_post(nic);
}

static const struct netdev_ops e1000_ops = {
	.rx = e1000_rx,
	.tx = e1000_tx,
	.flush = e1000_flush,
	.irq_rearm = e1000_irq_rearm,
};

/* ---- probe ---- */

static int e1000_start(struct e1000 *nic)
{
	int err;
	nic->regs = pci_map_bar(nic->pci, 0);
	if (!nic->regs)
		return -ENXIO;
	if ((err = e1000_reset(nic)) < 0)
		return err;
	e1000_link_setup(nic);
	if ((err = e1000_read_mac(nic)) < 0)
		return err;
	e1000_filters_init(nic);
	if ((err = e1000_rings_alloc(nic)) < 0)
		return err;
	pci_enable(nic->pci, PCI_CMD_MASTER); /* DMA only once the rings are ours */
	e1000_rx_init(nic);
	e1000_tx_init(nic);
	e1000_write(nic, E1000_ITR, E1000_ITR_INTERVAL);
	return 0;
}

static void e1000_report(const struct e1000 *nic, const char *irq)
{
	const struct pci_dev *p = nic->pci;
	log_info("e1000", "%s at %02x:%02x.%x, irq %s %u; rx/tx rings %d x %d B, %lu KiB DMA; ITR %u (<= %u irq/s)",
		 nic->model, p->bus, p->slot, p->fn, irq, p->irq_line, E1000_NDESC, E1000_BUF_SIZE,
		 (unsigned long)E1000_POOL_PAGES * PAGE_SIZE / 1024, E1000_ITR_INTERVAL,
		 (unsigned)(NSEC_PER_SEC / (E1000_ITR_INTERVAL * 256ul)));
}

static int e1000_init(struct e1000 *nic, struct pci_dev *pci, const char *model)
{
	int err;
	const char *irq = NULL;
	nic->pci = pci;
	nic->model = model;
	/* Memory decoding for BAR 0, but no bus mastering until after the
	 * reset: nothing a boot ROM left running may DMA into pages we are
	 * about to hand out. */
	pci_write16(pci, PCI_COMMAND, (uint16_t)((pci_read16(pci, PCI_COMMAND) & ~PCI_CMD_MASTER) | PCI_CMD_MEM));
	if ((err = e1000_start(nic)) < 0)
		goto fail;
	irq = pci_irq_setup(pci, e1000_irq, nic);
	if (!irq) {
		err = -EIO;
		goto fail;
	}
	nic->dev.name = "e1000";
	nic->dev.ops = &e1000_ops;
	nic->dev.priv = nic;
	nic->link_logged = nic->dev.link_up;
	if ((err = netdev_register(&nic->dev)) < 0) /* initialises dev->wq: before any netdev_irq */
		goto fail;
	pci->driver = "e1000";
	e1000_report(nic, irq);
	nic->live = true;
	e1000_write(nic, E1000_IMS, E1000_IRQ_CAUSES);
	return 0;
fail:
	/* The handler, if registered, stays harmless: live is false. */
	if (nic->regs)
		e1000_reset(nic); /* stop DMA before its pages go back */
	pci_write16(pci, PCI_COMMAND, (uint16_t)(pci_read16(pci, PCI_COMMAND) & ~PCI_CMD_MASTER));
	e1000_rings_free(nic);
	log_err("e1000", "%s at %02x:%02x.%x: init failed (%d)", model, pci->bus, pci->slot, pci->fn, err);
	return err;
}

int e1000_probe(void)
{
	if (netdev_get())
		return -EBUSY; /* one NIC at a time (netdev_register) */
	for (size_t i = 0; i < sizeof e1000_ids / sizeof e1000_ids[0]; i++) {
		struct pci_dev *pci = pci_find(0x8086, e1000_ids[i].device);
		if (pci)
			return e1000_init(&e1000_nic, pci, e1000_ids[i].model);
	}
	return -ENODEV;
}
