/* ACPI, hardware side: find the tables (parsed by acpi_tables.c), then
 * drive the fixed hardware: the legacy-to-ACPI mode switch, the SCI, the
 * fixed power button and S5 soft-off; on hardware-reduced platforms the
 * Generic Event Device's power-down event and the sleep control register
 * instead. Section numbers are ACPI 6.5.
 *
 * NOTE: Keel has no AML interpreter. \_S5 is read as a literal package,
 * the GED is found by a byte scan (acpi_ged.c), only the power button
 * event is handled, and every GPE is left disabled (nothing could run the
 * _Lxx/_Exx methods that service them).
 *
 * Under QEMU's pc machine (PIIX4 PM, SeaBIOS) the SCI is ISA IRQ 9, which
 * the MADT overrides to GSI 9 level/active-high; SMI_CMD 0xb2 with
 * ACPI_ENABLE 0xf1 sets SCI_EN; the monitor's system_powerdown sets
 * PWRBTN_STS; SLP_TYP 0 with SLP_EN makes QEMU exit with status 0. Under
 * microvm (hardware-reduced) system_powerdown sets 0x2 (bit 1) in the GED's
 * event selector at 0xfea00000 and pulses GSI 9 (edge, active-high);
 * writing SLP_TYP 5 with SLP_EN to the sleep control register at
 * 0xfea00200 makes QEMU exit with status 0.
 *
 * acpi_init needs vmm_init (tables are mapped with vmm_map_phys) and must
 * precede apic_init, which asks for the LAPIC and IOAPIC addresses. */
#include "kernel/acpi.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "kernel/acpi_ged.h"
#include "kernel/acpi_tables.h"
#include "kernel/cpu.h"
#include "kernel/irq.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/panic.h"

#define LAPIC_DEFAULT_ADDR 0xfee00000u
#define TABLE_MAX_LEN (4u << 20) /* sanity bound on a header's Length */

/* §5.2.5.1: the RSDP sits on a 16-byte boundary in the first KiB of the
 * EBDA, whose real-mode segment the BIOS data area holds at 0x40E, or in
 * the BIOS ROM area. */
#define BDA_EBDA_SEGMENT 0x40eu
#define EBDA_SCAN_LEN 1024u
#define CONV_MEM_END 0xa0000u
#define BIOS_AREA 0xe0000u
#define BIOS_AREA_LEN 0x20000u

/* PM1 registers are 16 bits wide (§4.8.4.1, §4.8.4.2). Status bits are
 * write-1-to-clear; PM1x_EN sits at PM1x_EVT_BLK + PM1_EVT_LEN / 2. */
#define PM1_PWRBTN (1u << 8)   /* PWRBTN_STS (§4.8.4.1.1), PWRBTN_EN (§4.8.4.1.2) */
#define PM1_STS_ALL 0xc731u    /* every defined status bit: TMR BM GBL PWRBTN SLPBTN RTC PCIEXP_WAKE WAK */
#define PM1_SCI_EN (1u << 0)   /* PM1_CNT (§4.8.4.2.1) */
#define PM1_SLP_TYP_SHIFT 10
#define PM1_SLP_TYP (7u << 10)
#define PM1_SLP_EN (1u << 13)

/* QEMU's GED event selector bits (hw/acpi/generic_event_device.h:
 * MEM_HOTPLUG 0x1, PWR_DOWN 0x2, NVDIMM_HOTPLUG 0x4; microvm's _EVT tests
 * Local0 & 0x02 before Notify(PWRB, 0x80)). The power-down event is the
 * only one Keel handles. Reading ESEL clears it. */
#define GED_PWR_DOWN_EVT 0x2u
/* §4.8.3.7 sleep control register: SLP_TYPx in bits 4:2, SLP_EN bit 5. */
#define SLEEP_CTL_TYP_SHIFT 2
#define SLEEP_CTL_SLP_EN (1u << 5)

/* Fixed-hardware I/O goes over LPC at about 1 us per access, so counting
 * PM1_CNT reads bounds a wait to ~1 s without a timer. */
#define PM_SPIN_READS 1000000u

static struct {
	bool have_fadt, have_madt, have_s5;
	struct acpi_fadt_info fadt;
	struct acpi_madt_info madt; /* zeroed without a MADT: identity ISA map */
	struct acpi_s5 s5;
	const char *s5_src;
	const uint8_t *root; /* validated RSDT/XSDT, for the SSDT pass */
	uint32_t root_len;
	bool xsdt;
	void (*on_press)(void);
	unsigned sci_spurious; /* SCIs without PWRBTN_STS (GED interrupts without its event): noise */
	bool have_ged;
	struct acpi_ged ged;
	volatile uint32_t *esel; /* mapped on arming */
} st;

/* A fixed-size log line; text beyond it is cut. */
struct line {
	char s[200];
	size_t n;
};

static void line_add(struct line *l, const char *s)
{
	while (*s && l->n + 1 < sizeof l->s)
		l->s[l->n++] = *s++;
	l->s[l->n] = '\0';
}

static void line_addu(struct line *l, uint64_t v, unsigned base)
{
	char buf[24];
	size_t i = sizeof buf - 1;
	buf[i] = '\0';
	do
		buf[--i] = "0123456789abcdef"[v % base];
	while ((v /= base) != 0);
	if (base == 16)
		line_add(l, "0x");
	line_add(l, buf + i);
}

/* Map a whole table: the header first, for its Length, then all of it.
 * Returns NULL (logged) for anything that fails acpi_sdt_validate. */
static const uint8_t *map_table(uint64_t pa, const char *sig, uint32_t *len)
{
	const uint8_t *hdr = pa ? vmm_map_phys(pa, ACPI_SDT_HDR_LEN, 0) : NULL;
	uint32_t n = hdr ? acpi_sdt_length(hdr, ACPI_SDT_HDR_LEN) : 0;
	const uint8_t *t = (n >= ACPI_SDT_HDR_LEN && n <= TABLE_MAX_LEN) ? vmm_map_phys(pa, n, 0) : NULL;
	int err = t ? acpi_sdt_validate(t, n, sig) : -EINVAL;
	if (err < 0) {
		log_warn("acpi", "%s at %#lx rejected (%d)", sig ? sig : "table", (unsigned long)pa, err);
		return NULL;
	}
	*len = n;
	return t;
}

static uint64_t rsdp_scan(uint64_t pa, size_t len)
{
	const uint8_t *p = vmm_map_phys(pa, len, 0);
	long off = p ? acpi_rsdp_scan(p, len) : -ENOMEM;
	return off < 0 ? 0 : pa + (uint64_t)off;
}

static uint64_t rsdp_find(void)
{
	const uint8_t *bda = vmm_map_phys(BDA_EBDA_SEGMENT, 2, 0);
	uint64_t ebda = bda ? (uint64_t)(bda[0] | bda[1] << 8) << 4 : 0;
	uint64_t pa = 0;
	if (ebda != 0 && ebda + EBDA_SCAN_LEN <= CONV_MEM_END)
		pa = rsdp_scan(ebda, EBDA_SCAN_LEN);
	return pa ? pa : rsdp_scan(BIOS_AREA, BIOS_AREA_LEN);
}

static void find_s5(const uint8_t *t, uint32_t len, const char *src)
{
	int err = acpi_aml_find_s5(t + ACPI_SDT_HDR_LEN, len - ACPI_SDT_HDR_LEN, &st.s5);
	if (err == 0) {
		st.have_s5 = true;
		st.s5_src = src;
	} else if (err != -ENOENT) {
		log_warn("acpi", "%s: \\_S5 is not a literal package (%d)", src, err);
	}
}

static void parse_fadt(const uint8_t *t, uint32_t len)
{
	if (st.have_fadt || acpi_fadt_parse(t, len, &st.fadt) < 0)
		return;
	st.have_fadt = true;
	log_debug("acpi", "FADT rev %u: SCI %u, SMI_CMD %#x/%#x, PM1a evt %#x cnt %#x, PM1b evt %#x cnt %#x",
		  st.fadt.revision, st.fadt.sci_int, st.fadt.smi_cmd, st.fadt.acpi_enable, st.fadt.pm1a_evt,
		  st.fadt.pm1a_cnt, st.fadt.pm1b_evt, st.fadt.pm1b_cnt);
	if (st.fadt.has_reset)
		log_debug("acpi", "reset register: space %u address %#lx value %#x", st.fadt.reset_reg.space,
			  (unsigned long)st.fadt.reset_reg.address, st.fadt.reset_value);
}

/* One root table entry: validate it, name it in the summary line, and
 * parse the ones Keel uses. The first FADT and MADT win. */
static void note_table(uint64_t pa, struct line *names)
{
	uint32_t len;
	char sig[5];
	const uint8_t *t = map_table(pa, NULL, &len);
	line_add(names, " ");
	if (!t) {
		line_add(names, "?");
		return;
	}
	acpi_printable(sig, t, 4);
	line_add(names, sig);
	log_debug("acpi", "%s at %#lx, %u bytes, rev %u", sig, (unsigned long)pa, len, t[8]);
	if (memcmp(t, "FACP", 4) == 0)
		parse_fadt(t, len);
	else if (memcmp(t, "APIC", 4) == 0 && !st.have_madt)
		st.have_madt = acpi_madt_parse(t, len, &st.madt) == 0;
}

static bool walk_root(uint64_t rsdp_pa)
{
	struct acpi_rsdp_info r;
	struct line names = { .n = 0 };
	const uint8_t *p = vmm_map_phys(rsdp_pa, ACPI_RSDP_V2_LEN, 0);
	int err = p ? acpi_rsdp_parse(p, ACPI_RSDP_V2_LEN, &r) : -ENOMEM;
	if (err < 0) {
		log_warn("acpi", "no valid RSDP at %#lx (%d): using PC defaults", (unsigned long)rsdp_pa, err);
		return false;
	}
	st.xsdt = r.xsdt;
	st.root = map_table(r.root_pa, r.xsdt ? "XSDT" : "RSDT", &st.root_len);
	if (!st.root)
		return false;
	for (size_t i = 0; i < acpi_root_count(st.root_len, st.xsdt); i++)
		note_table(acpi_root_entry(st.root, st.root_len, st.xsdt, i), &names);
	log_info("acpi", "RSDP rev %u OEM %s, tables:%s", r.revision, r.oem_id, names.s);
	return true;
}

/* \_S5 normally lives in the DSDT; some firmware (older QEMU among them)
 * declares it in an SSDT. A name is defined once, so the first one found
 * is the only one. */
static void load_s5(void)
{
	uint32_t len;
	const uint8_t *t = map_table(st.fadt.dsdt, "DSDT", &len);
	if (t)
		find_s5(t, len, "DSDT");
	for (size_t i = 0; !st.have_s5 && i < acpi_root_count(st.root_len, st.xsdt); i++) {
		uint64_t pa = acpi_root_entry(st.root, st.root_len, st.xsdt, i);
		const uint8_t *h = pa ? vmm_map_phys(pa, ACPI_SDT_HDR_LEN, 0) : NULL;
		if (h && memcmp(h, "SSDT", 4) == 0 && (t = map_table(pa, "SSDT", &len)) != NULL)
			find_s5(t, len, "SSDT");
	}
	if (st.have_s5)
		log_info("acpi", "\\_S5 in %s: SLP_TYPa %u SLP_TYPb %u", st.s5_src, st.s5.slp_typa, st.s5.slp_typb);
	else
		log_warn("acpi", "no \\_S5 found: soft-off will use SLP_TYP 0");
}

/* Hardware-reduced platforms (§4.1) signal the power button through the
 * Generic Event Device (§5.6.9) declared in the DSDT. */
static void load_ged(void)
{
	uint32_t len;
	const uint8_t *t = map_table(st.fadt.dsdt, "DSDT", &len);
	int err = t ? acpi_aml_find_ged(t + ACPI_SDT_HDR_LEN, len - ACPI_SDT_HDR_LEN, &st.ged) : -ENOENT;
	if (err < 0) {
		log_warn("acpi", "hardware-reduced ACPI without a usable Generic Event Device (%d): no power button",
			 err);
		return;
	}
	st.have_ged = true;
	log_info("acpi", "Generic Event Device: GSI %u %s/%s, event selector at %#lx", st.ged.gsi,
		 st.ged.flags & IRQ_LEVEL ? "level" : "edge", st.ged.flags & IRQ_ACTIVE_LOW ? "low" : "high",
		 (unsigned long)st.ged.esel);
}

/* Keel runs on the boot CPU only: application processors are never sent
 * INIT-SIPI-SIPI and stay in the wait-for-SIPI state the firmware left. */
static void log_cpus(void)
{
	unsigned n = st.madt.cpus;
	if (n <= 1)
		log_info("acpi", "%u vCPU present; Keel runs on the boot CPU", n ? n : 1);
	else
		log_info("acpi", "%u vCPUs present; Keel runs on the boot CPU, %u stay%s parked (never started)", n,
			 n - 1, n == 2 ? "s" : "");
}

static void log_madt(void)
{
	struct line l = { .n = 0 };
	const struct acpi_madt_info *m = &st.madt;
	for (int i = 0; i < m->n_ioapics; i++) {
		line_add(&l, i ? ", IOAPIC " : "IOAPIC ");
		line_addu(&l, m->ioapics[i].id, 10);
		line_add(&l, " at ");
		line_addu(&l, m->ioapics[i].addr, 16);
		line_add(&l, " GSI base ");
		line_addu(&l, m->ioapics[i].gsi_base, 10);
	}
	line_add(&l, m->n_overrides ? "; ISA overrides:" : "; no ISA overrides");
	for (int i = 0; i < m->n_overrides; i++) {
		unsigned f = acpi_inti_flags(m->overrides[i].inti, ACPI_ISA_DEFAULT_FLAGS);
		line_add(&l, " ");
		line_addu(&l, m->overrides[i].isa_irq, 10);
		line_add(&l, "->");
		line_addu(&l, m->overrides[i].gsi, 10);
		line_add(&l, f & IRQ_LEVEL ? " level" : " edge");
		line_add(&l, f & IRQ_ACTIVE_LOW ? "/low" : "/high");
	}
	log_info("acpi", "MADT: LAPIC %#lx, %s", (unsigned long)acpi_lapic_addr(), l.s);
	if (m->skipped)
		log_warn("acpi", "MADT: %u entries skipped (malformed, non-ISA or over the limits)", m->skipped);
}

void acpi_init(uint64_t rsdp_pa)
{
	if (rsdp_pa == 0)
		rsdp_pa = rsdp_find();
	if (rsdp_pa == 0) {
		log_warn("acpi", "no RSDP found: using PC defaults");
		return;
	}
	if (!walk_root(rsdp_pa))
		return;
	if (st.have_madt) {
		log_madt();
		log_cpus();
	} else {
		log_warn("acpi", "no MADT: LAPIC at %#x, identity ISA IRQs", LAPIC_DEFAULT_ADDR);
	}
	if (!st.have_fadt) {
		log_warn("acpi", "no FADT: no power button, no soft-off");
		return;
	}
	load_s5();
	if (st.fadt.flags & ACPI_FADT_HW_REDUCED)
		load_ged();
}

uint64_t acpi_lapic_addr(void)
{
	return st.have_madt && st.madt.lapic_addr ? st.madt.lapic_addr : LAPIC_DEFAULT_ADDR;
}

int acpi_ioapic_count(void) { return st.madt.n_ioapics; }

const struct acpi_ioapic *acpi_ioapic_get(int i)
{
	return i >= 0 && i < st.madt.n_ioapics ? &st.madt.ioapics[i] : NULL;
}

unsigned acpi_isa_to_gsi(unsigned isa_irq, unsigned *flags)
{
	unsigned f;
	unsigned gsi = acpi_madt_isa_to_gsi(&st.madt, isa_irq, ACPI_ISA_DEFAULT_FLAGS, &f);
	if (flags)
		*flags = f;
	return gsi;
}

/* Absent blocks (port 0) read as 0 and swallow writes, so PM1a/PM1b pairs
 * are handled alike. */
static uint16_t pm_in(uint16_t port) { return port ? inw(port) : 0; }

static void pm_out(uint16_t port, uint16_t v)
{
	if (port)
		outw(port, v);
}

static uint16_t pm1_en(uint16_t evt) { return evt ? (uint16_t)(evt + st.fadt.pm1_evt_len / 2) : 0; }

/* §4.8.3.1.1.1 fixed power button: a press sets PWRBTN_STS, which keeps
 * the level-triggered SCI asserted until written with 1 (§4.8.4.1.1). Runs
 * in IRQ context: on_press only wakes a task. */
static void sci_handler(void *arg)
{
	(void)arg;
	if (!((pm_in(st.fadt.pm1a_evt) | pm_in(st.fadt.pm1b_evt)) & PM1_PWRBTN)) {
		st.sci_spurious++;
		return;
	}
	pm_out(st.fadt.pm1a_evt, PM1_PWRBTN);
	pm_out(st.fadt.pm1b_evt, PM1_PWRBTN);
	st.on_press();
}

/* §4.8.3.4 Legacy/ACPI Select: SCI_EN set means the OS already owns the
 * fixed hardware; otherwise the SMI handler hands it over on ACPI_ENABLE
 * and sets SCI_EN as its last act. */
static int enter_acpi_mode(void)
{
	uint16_t cnt = st.fadt.pm1a_cnt;
	if (inw(cnt) & PM1_SCI_EN)
		return 0;
	if (st.fadt.smi_cmd == 0 || st.fadt.smi_cmd > 0xffff || st.fadt.acpi_enable == 0) {
		log_err("acpi", "SCI_EN is clear and there is no SMI_CMD to set it");
		return -EIO;
	}
	outb((uint16_t)st.fadt.smi_cmd, st.fadt.acpi_enable);
	for (unsigned i = 0; i < PM_SPIN_READS; i++)
		if (inw(cnt) & PM1_SCI_EN)
			return 0;
	log_err("acpi", "SCI_EN still clear after ACPI_ENABLE");
	return -ETIMEDOUT;
}

/* §4.8.5.1 GPE blocks: status bytes in the first half (write-1-to-clear),
 * enable bytes in the second. */
static void gpe_quiesce(uint16_t blk, uint8_t len)
{
	for (unsigned i = 0; blk && i < len / 2u; i++) {
		outb((uint16_t)(blk + len / 2u + i), 0);
		outb((uint16_t)(blk + i), 0xff);
	}
}

/* Disable every event and clear what is pending, so the level-triggered
 * SCI is quiet until the power button is armed: an enabled event nobody
 * services would hold it asserted forever. */
static void events_quiesce(void)
{
	pm_out(pm1_en(st.fadt.pm1a_evt), 0);
	pm_out(pm1_en(st.fadt.pm1b_evt), 0);
	pm_out(st.fadt.pm1a_evt, pm_in(st.fadt.pm1a_evt) & PM1_STS_ALL);
	pm_out(st.fadt.pm1b_evt, pm_in(st.fadt.pm1b_evt) & PM1_STS_ALL);
	gpe_quiesce(st.fadt.gpe0_blk, st.fadt.gpe0_len);
	gpe_quiesce(st.fadt.gpe1_blk, st.fadt.gpe1_len);
}

/* SCI_INT is an ISA IRQ on PC-compatible systems (a GSI without 8259s,
 * which no override names): its override applies, else the SCI defaults. */
static int route_sci(void)
{
	unsigned flags;
	unsigned gsi = acpi_madt_isa_to_gsi(&st.madt, st.fadt.sci_int, ACPI_SCI_DEFAULT_FLAGS, &flags);
	int vec = irq_register_gsi(gsi, flags, sci_handler, NULL);
	if (vec < 0) {
		log_err("acpi", "cannot route the SCI (GSI %u): %d", gsi, vec);
		return vec;
	}
	log_info("acpi", "power button armed: SCI IRQ %u -> GSI %u %s/%s, vector %d", st.fadt.sci_int, gsi,
		 flags & IRQ_LEVEL ? "level" : "edge", flags & IRQ_ACTIVE_LOW ? "low" : "high", vec);
	return 0;
}

static int pm1_usable(void)
{
	if (!st.have_fadt)
		return -ENODEV;
	if (!st.fadt.pm1a_evt || !st.fadt.pm1a_cnt || st.fadt.pm1_evt_len < 4) {
		log_warn("acpi", "no usable PM1a event/control block");
		return -ENODEV;
	}
	if (st.fadt.flags & ACPI_FADT_PWR_BUTTON)
		log_warn("acpi", "FADT says the power button is a control method device; arming the fixed one");
	return 0;
}

/* §5.6.9 GED: its interrupt says "read the event selector"; QEMU clears
 * the selector on that 32-bit read. Runs in IRQ context. */
static void ged_handler(void *arg)
{
	(void)arg;
	if (*st.esel & GED_PWR_DOWN_EVT)
		st.on_press();
	else
		st.sci_spurious++;
}

static int ged_arm(void)
{
	st.esel = vmm_map_phys(st.ged.esel, sizeof(uint32_t), VMM_UNCACHED);
	if (!st.esel)
		return -ENOMEM;
	(void)*st.esel; /* drop an event from before boot */
	int vec = irq_register_gsi(st.ged.gsi, st.ged.flags, ged_handler, NULL);
	if (vec < 0) {
		log_err("acpi", "cannot route the Generic Event Device (GSI %u): %d", st.ged.gsi, vec);
		return vec;
	}
	log_info("acpi", "power button armed: Generic Event Device GSI %u, vector %d", st.ged.gsi, vec);
	return 0;
}

int acpi_power_button_enable(void (*on_press)(void))
{
	if (on_press && st.have_fadt && (st.fadt.flags & ACPI_FADT_HW_REDUCED)) {
		st.on_press = on_press; /* before the interrupt can fire */
		return st.have_ged ? ged_arm() : -ENODEV;
	}
	int err = on_press ? pm1_usable() : -EINVAL;
	if (err == 0) {
		st.on_press = on_press; /* before the SCI can fire */
		err = enter_acpi_mode();
	}
	if (err == 0) {
		events_quiesce();
		err = route_sci();
	}
	if (err == 0) {
		pm_out(pm1_en(st.fadt.pm1a_evt), PM1_PWRBTN);
		pm_out(pm1_en(st.fadt.pm1b_evt), PM1_PWRBTN);
	}
	return err;
}

/* §4.8.3.2 Sleeping/Wake Control, §7.4.2: program SLP_TYPx in both
 * control blocks, then set SLP_EN in each (ACPICA's order, which split
 * PM1a/PM1b chipsets need), preserving the other bits (SCI_EN). */
static void sleep_type(uint16_t cnt, uint8_t typ, uint16_t extra)
{
	uint16_t v = (uint16_t)(pm_in(cnt) & ~(PM1_SLP_TYP | PM1_SLP_EN));
	pm_out(cnt, (uint16_t)(v | (unsigned)typ << PM1_SLP_TYP_SHIFT | extra));
}

/* §4.8.3.7: on hardware-reduced platforms one write of SLP_TYPa and
 * SLP_EN to the sleep control register (an 8-bit register, in memory or
 * I/O space) enters the state. */
static void sleep_ctl_s5(void)
{
	const struct acpi_gas *g = &st.fadt.sleep_ctl;
	uint8_t v = (uint8_t)(st.s5.slp_typa << SLEEP_CTL_TYP_SHIFT | SLEEP_CTL_SLP_EN);
	volatile uint8_t *r;
	log_info("acpi", "entering S5: SLP_TYPa %u through the sleep control register (%s), %u spurious GED interrupts",
		 st.s5.slp_typa, st.have_s5 ? st.s5_src : "no \\_S5: default", st.sci_spurious);
	if (g->space == ACPI_GAS_SYSTEM_IO && g->address <= 0xffff)
		outb((uint16_t)g->address, v);
	else if (g->space == ACPI_GAS_SYSTEM_MEMORY && (r = vmm_map_phys(g->address, 1, VMM_UNCACHED)) != NULL)
		*r = v;
	for (unsigned i = 0; i < PM_SPIN_READS; i++)
		cpu_relax();
	log_err("acpi", "still running after the S5 request");
}

noreturn void acpi_poweroff(void)
{
	uint16_t a = st.have_fadt ? st.fadt.pm1a_cnt : 0, b = st.have_fadt ? st.fadt.pm1b_cnt : 0;
	irq_disable();
	log_emergency("", 0); /* every queued line out before the power goes */
	if (st.have_fadt && (st.fadt.flags & ACPI_FADT_HW_REDUCED) && st.fadt.sleep_ctl.address) {
		sleep_ctl_s5();
	} else if (a) {
		log_info("acpi", "entering S5: SLP_TYPa %u SLP_TYPb %u (%s), %u spurious SCIs", st.s5.slp_typa,
			 st.s5.slp_typb, st.have_s5 ? st.s5_src : "no \\_S5: default", st.sci_spurious);
		sleep_type(a, st.s5.slp_typa, 0);
		sleep_type(b, st.s5.slp_typb, 0);
		sleep_type(a, st.s5.slp_typa, PM1_SLP_EN);
		sleep_type(b, st.s5.slp_typb, PM1_SLP_EN);
		for (unsigned i = 0; i < PM_SPIN_READS; i++)
			(void)inw(a);
		log_err("acpi", "still running after the S5 request");
	} else {
		log_err("acpi", "no PM1a control block: cannot enter S5");
	}
	machine_halt(0);
}

/* Devices are described in the DSDT (QEMU's microvm puts its virtio-mmio
 * transports there); SSDTs are not searched. */
int acpi_find_devices(const char *hid, struct acpi_aml_device *out, int max)
{
	uint32_t len;
	const uint8_t *t = st.have_fadt ? map_table(st.fadt.dsdt, "DSDT", &len) : NULL;
	if (!t)
		return 0;
	int n = acpi_aml_find_devices(t + ACPI_SDT_HDR_LEN, len - ACPI_SDT_HDR_LEN, hid, out, max);
	if (n > max)
		log_warn("acpi", "DSDT: %d %s devices, the first %d used", n, hid, max);
	return n < max ? n : max;
}
