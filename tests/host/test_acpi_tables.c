/*
 * Host tests for kernel/acpi_tables.c.
 *
 * Every table is built here byte by byte at the offsets the ACPI 6.5
 * tables give (not through the parser's structs, so a layout mistake there
 * shows up), checksummed, and parsed from a copy that ends right before a
 * PROT_NONE page: one byte read past a firmware buffer faults. The
 * truncation cases feed every prefix of a valid blob the same way.
 */
#include "tests/host/test.h"

#include "kernel/acpi_tables.h"

#include <errno.h>
#include <stdint.h>

/* ---- Byte builders. ---- */

static void put16(uint8_t *p, size_t off, uint16_t v)
{
	p[off] = (uint8_t)v;
	p[off + 1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, size_t off, uint32_t v)
{
	put16(p, off, (uint16_t)v);
	put16(p, off + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, size_t off, uint64_t v)
{
	put32(p, off, (uint32_t)v);
	put32(p, off + 4, (uint32_t)(v >> 32));
}

/* Set byte `at` so that bytes [0, n) sum to zero. */
static void fix_sum(uint8_t *p, size_t n, size_t at)
{
	uint8_t s = 0;
	p[at] = 0;
	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	p[at] = (uint8_t)-s;
}

/* §5.2.6 header; the caller fills the body, then sdt_seal. */
static void sdt_init(uint8_t *t, const char *sig, uint8_t rev)
{
	memcpy(t, sig, 4);
	t[8] = rev;
	memcpy(t + 10, "BOCHS ", 6);
	memcpy(t + 16, "BXPC    ", 8);
}

static void sdt_seal(uint8_t *t, uint32_t len)
{
	put32(t, 4, len);
	fix_sum(t, len, 9);
}

/* §5.2.3.2 Generic Address Structure at off. */
static void put_gas(uint8_t *p, size_t off, uint8_t space, uint8_t width, uint64_t addr)
{
	p[off] = space;
	p[off + 1] = width;
	put64(p, off + 4, addr);
}

/* Copy n bytes so that they end right before a PROT_NONE page; valid until
 * the next call. */
static const uint8_t *guard(const void *src, size_t n) { return (const uint8_t *)test_guarded_n(src, n); }

/* ---- SDT header. ---- */

static void t_sdt_valid(void)
{
	uint8_t t[48] = {0};

	sdt_init(t, "TEST", 1);
	t[40] = 0x5a;
	sdt_seal(t, sizeof(t));
	CHECK(acpi_sdt_length(guard(t, sizeof(t)), sizeof(t)) == sizeof(t));
	CHECK(acpi_sdt_validate(guard(t, sizeof(t)), sizeof(t), "TEST") == 0);
	CHECK(acpi_sdt_validate(guard(t, sizeof(t)), sizeof(t), NULL) == 0);
	/* Bytes after Length are not the table's business. */
	CHECK(acpi_sdt_validate(t, sizeof(t), NULL) == 0);
}

static void t_sdt_bad_checksum(void)
{
	uint8_t t[48] = {0};

	sdt_init(t, "TEST", 1);
	sdt_seal(t, sizeof(t));
	t[44] ^= 0x01; /* body corrupted after sealing */
	CHECK(acpi_sdt_validate(guard(t, sizeof(t)), sizeof(t), "TEST") == -EBADMSG);
	t[44] ^= 0x01;
	t[9] ^= 0x80; /* the checksum itself */
	CHECK(acpi_sdt_validate(guard(t, sizeof(t)), sizeof(t), "TEST") == -EBADMSG);
}

static void t_sdt_lengths(void)
{
	uint8_t t[48] = {0};

	sdt_init(t, "TEST", 1);
	sdt_seal(t, sizeof(t));
	/* The buffer holds fewer bytes than Length claims. */
	CHECK(acpi_sdt_validate(guard(t, 47), 47, "TEST") == -EOVERFLOW);
	/* Not even a header. */
	CHECK(acpi_sdt_validate(guard(t, 35), 35, NULL) == -EOVERFLOW);
	CHECK(acpi_sdt_length(guard(t, 35), 35) == 0);
	CHECK(acpi_sdt_validate(guard(t, 0), 0, NULL) == -EOVERFLOW);
	/* Length below the header size, and a huge one. */
	sdt_seal(t, 20);
	CHECK(acpi_sdt_validate(guard(t, sizeof(t)), sizeof(t), NULL) == -EINVAL);
	put32(t, 4, 0xffffffffu);
	CHECK(acpi_sdt_validate(guard(t, sizeof(t)), sizeof(t), NULL) == -EOVERFLOW);
}

static void t_sdt_signature(void)
{
	uint8_t t[36] = {0};

	sdt_init(t, "APIC", 1);
	sdt_seal(t, sizeof(t));
	CHECK(acpi_sdt_validate(guard(t, sizeof(t)), sizeof(t), "FACP") == -ENOENT);
	CHECK(acpi_sdt_validate(guard(t, sizeof(t)), sizeof(t), "APIC") == 0);
}

static void t_printable(void)
{
	char out[9];

	acpi_printable(out, "BOCHS ", 6);
	CHECK(strcmp(out, "BOCHS") == 0);
	acpi_printable(out,
		       "A\x01"
		       "B\xff  ",
		       6);
	CHECK(strcmp(out, "A?B?") == 0);
	acpi_printable(out, "      ", 6);
	CHECK(strcmp(out, "") == 0);
	acpi_printable(out, "FACP", 4);
	CHECK(strcmp(out, "FACP") == 0);
}

/* ---- RSDP (§5.2.5.3). ---- */

static void rsdp_build(uint8_t r[36], uint8_t rev, uint32_t rsdt, uint64_t xsdt)
{
	memset(r, 0, 36);
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, "BOCHS ", 6);
	r[15] = rev;
	put32(r, 16, rsdt);
	if (rev >= 2) {
		put32(r, 20, 36);
		put64(r, 24, xsdt);
	}
	fix_sum(r, 20, 8);
	if (rev >= 2)
		fix_sum(r, 36, 32);
}

static void t_rsdp_v1(void)
{
	uint8_t r[36];
	struct acpi_rsdp_info info;

	rsdp_build(r, 0, 0x7fe1234, 0);
	if (!CHECK(acpi_rsdp_parse(guard(r, 20), 20, &info) == 0))
		return;
	CHECK(info.revision == 0);
	CHECK(!info.xsdt);
	CHECK(info.root_pa == 0x7fe1234);
	CHECK(strcmp(info.oem_id, "BOCHS") == 0);
}

static void t_rsdp_v2(void)
{
	uint8_t r[36];
	struct acpi_rsdp_info info;

	rsdp_build(r, 2, 0x7fe1234, 0x1234567890ull);
	if (!CHECK(acpi_rsdp_parse(guard(r, 36), 36, &info) == 0))
		return;
	CHECK(info.revision == 2);
	CHECK(info.xsdt);
	CHECK(info.root_pa == 0x1234567890ull);
}

static void t_rsdp_v2_no_xsdt(void)
{
	uint8_t r[36];
	struct acpi_rsdp_info info;

	rsdp_build(r, 2, 0x7fe1234, 0);
	if (!CHECK(acpi_rsdp_parse(guard(r, 36), 36, &info) == 0))
		return;
	CHECK(!info.xsdt);
	CHECK(info.root_pa == 0x7fe1234);
}

static void t_rsdp_checksums(void)
{
	uint8_t r[36];
	struct acpi_rsdp_info info;

	rsdp_build(r, 2, 0x1000, 0x2000);
	r[32] ^= 0x10; /* extended checksum only: the v1 part still sums */
	CHECK(acpi_rsdp_parse(guard(r, 36), 36, &info) == -EBADMSG);

	rsdp_build(r, 2, 0x1000, 0x2000);
	r[8] ^= 0x10; /* v1 checksum */
	CHECK(acpi_rsdp_parse(guard(r, 36), 36, &info) == -EBADMSG);

	rsdp_build(r, 0, 0x1000, 0);
	r[16] ^= 0x01; /* RsdtAddress changed after sealing */
	CHECK(acpi_rsdp_parse(guard(r, 20), 20, &info) == -EBADMSG);
}

static void t_rsdp_malformed(void)
{
	uint8_t r[36];
	struct acpi_rsdp_info info;

	rsdp_build(r, 0, 0x1000, 0);
	r[0] = 'r';
	CHECK(acpi_rsdp_parse(guard(r, 36), 36, &info) == -ENOENT);

	/* v2 with only the v1 part in the buffer. */
	rsdp_build(r, 2, 0x1000, 0x2000);
	CHECK(acpi_rsdp_parse(guard(r, 20), 20, &info) == -EOVERFLOW);
	CHECK(acpi_rsdp_parse(guard(r, 19), 19, &info) == -EOVERFLOW);

	/* Length beyond the buffer, and below the structure size. */
	put32(r, 20, 0xffffffffu);
	fix_sum(r, 36, 32);
	CHECK(acpi_rsdp_parse(guard(r, 36), 36, &info) == -EOVERFLOW);
	put32(r, 20, 20);
	fix_sum(r, 36, 32);
	CHECK(acpi_rsdp_parse(guard(r, 36), 36, &info) == -EINVAL);

	/* No root table at all. */
	rsdp_build(r, 0, 0, 0);
	CHECK(acpi_rsdp_parse(guard(r, 20), 20, &info) == -EINVAL);
}

static void t_rsdp_scan(void)
{
	static uint8_t area[4096];
	uint8_t r[36];

	memset(area, 0xa5, sizeof(area));
	/* A signature off the 16-byte grid, and one with a bad checksum. */
	rsdp_build(r, 0, 0x1000, 0);
	memcpy(area + 0x108, r, 20);
	r[8] ^= 1;
	memcpy(area + 0x200, r, 20);
	CHECK(acpi_rsdp_scan(guard(area, sizeof(area)), sizeof(area)) == -ENOENT);

	rsdp_build(r, 2, 0x1000, 0x2000);
	memcpy(area + 0x7f0, r, 36);
	CHECK(acpi_rsdp_scan(guard(area, sizeof(area)), sizeof(area)) == 0x7f0);
}

static void t_rsdp_scan_at_end(void)
{
	static uint8_t area[4096];
	uint8_t r[36];

	/* A v1 RSDP in the last full slot, then a v2 one cut by the end. */
	memset(area, 0, sizeof(area));
	rsdp_build(r, 0, 0x1000, 0);
	memcpy(area + sizeof(area) - 32, r, 20);
	CHECK(acpi_rsdp_scan(guard(area, sizeof(area)), sizeof(area)) == (long)sizeof(area) - 32);

	memset(area, 0, sizeof(area));
	rsdp_build(r, 2, 0x1000, 0x2000);
	memcpy(area + sizeof(area) - 32, r, 32);
	CHECK(acpi_rsdp_scan(guard(area, sizeof(area)), sizeof(area)) == -ENOENT);
	CHECK(acpi_rsdp_scan(guard(area, 0), 0) == -ENOENT);
}

/* ---- RSDT / XSDT (§5.2.7, §5.2.8). ---- */

static void t_rsdt_entries(void)
{
	uint8_t t[36 + 3 * 4] = {0};
	const uint8_t *g;

	sdt_init(t, "RSDT", 1);
	put32(t, 36, 0x7fe0000);
	put32(t, 40, 0x7fe1000);
	put32(t, 44, 0xfffffff0u);
	sdt_seal(t, sizeof(t));
	g = guard(t, sizeof(t));
	CHECK(acpi_root_count(sizeof(t), false) == 3);
	CHECK(acpi_root_entry(g, sizeof(t), false, 0) == 0x7fe0000);
	CHECK(acpi_root_entry(g, sizeof(t), false, 2) == 0xfffffff0u);
	CHECK(acpi_root_entry(g, sizeof(t), false, 3) == 0);
}

static void t_xsdt_entries(void)
{
	/* Two whole entries and three stray bytes, which are no entry. */
	uint8_t t[36 + 2 * 8 + 3] = {0};
	const uint8_t *g;

	sdt_init(t, "XSDT", 1);
	put64(t, 36, 0x100000000ull);
	put64(t, 44, 0x7fe2000);
	sdt_seal(t, sizeof(t));
	g = guard(t, sizeof(t));
	CHECK(acpi_root_count(sizeof(t), true) == 2);
	CHECK(acpi_root_entry(g, sizeof(t), true, 0) == 0x100000000ull);
	CHECK(acpi_root_entry(g, sizeof(t), true, 1) == 0x7fe2000);
	CHECK(acpi_root_entry(g, sizeof(t), true, 2) == 0);
	CHECK(acpi_root_count(36, true) == 0);
	CHECK(acpi_root_count(10, false) == 0);
}

/* ---- FADT (§5.2.9). ---- */

/* The legacy part, as QEMU's PIIX4 describes it: PM base 0x600. */
static void fadt_legacy(uint8_t *f, uint8_t rev)
{
	sdt_init(f, "FACP", rev);
	put32(f, 40, 0x7fe3000);               /* DSDT */
	put16(f, 46, 9);                       /* SCI_INT */
	put32(f, 48, 0xb2);                    /* SMI_CMD */
	f[52] = 0xf1;                          /* ACPI_ENABLE */
	f[53] = 0xf0;                          /* ACPI_DISABLE */
	put32(f, 56, 0x600);                   /* PM1a_EVT_BLK */
	put32(f, 64, 0x604);                   /* PM1a_CNT_BLK */
	put32(f, 76, 0x608);                   /* PM_TMR_BLK */
	put32(f, 80, 0xafe0);                  /* GPE0_BLK */
	f[88] = 4;                             /* PM1_EVT_LEN */
	f[89] = 2;                             /* PM1_CNT_LEN */
	f[91] = 4;                             /* PM_TMR_LEN */
	f[92] = 4;                             /* GPE0_BLK_LEN */
	put32(f, 112, (1u << 10) | (1u << 0)); /* RESET_REG_SUP | WBINVD */
}

static void t_fadt_rev1(void)
{
	uint8_t f[116] = {0};
	struct acpi_fadt_info info;

	fadt_legacy(f, 1);
	sdt_seal(f, sizeof(f));
	if (!CHECK(acpi_fadt_parse(guard(f, sizeof(f)), sizeof(f), &info) == 0))
		return;
	CHECK(info.revision == 1);
	CHECK(info.sci_int == 9);
	CHECK(info.smi_cmd == 0xb2 && info.acpi_enable == 0xf1);
	CHECK(info.pm1a_evt == 0x600 && info.pm1a_cnt == 0x604);
	CHECK(info.pm1b_evt == 0 && info.pm1b_cnt == 0);
	CHECK(info.pm1_evt_len == 4);
	CHECK(info.gpe0_blk == 0xafe0 && info.gpe0_len == 4);
	CHECK(info.gpe1_blk == 0 && info.gpe1_len == 0);
	CHECK(info.dsdt == 0x7fe3000);
	/* RESET_REG_SUP is set, but a 1.0 FADT ends before RESET_REG. */
	CHECK(!info.has_reset);
}

static void t_fadt_rev5(void)
{
	uint8_t f[268] = {0};
	struct acpi_fadt_info info;

	fadt_legacy(f, 5);
	put_gas(f, 116, ACPI_GAS_SYSTEM_IO, 8, 0xcf9); /* RESET_REG */
	f[128] = 0x06;                                 /* RESET_VALUE */
	f[131] = 1;                                    /* minor version */
	put64(f, 140, 0x17fe3000ull);                  /* X_DSDT wins */
	/* X_ blocks at other ports than the legacy fields: X_ must win. */
	put_gas(f, 148, ACPI_GAS_SYSTEM_IO, 32, 0xb000); /* X_PM1a_EVT_BLK */
	put_gas(f, 160, ACPI_GAS_SYSTEM_IO, 32, 0xb100); /* X_PM1b_EVT_BLK */
	put_gas(f, 172, ACPI_GAS_SYSTEM_IO, 16, 0xb004); /* X_PM1a_CNT_BLK */
	put_gas(f, 220, ACPI_GAS_SYSTEM_IO, 32, 0xb020); /* X_GPE0_BLK */
	put_gas(f, 244, ACPI_GAS_SYSTEM_MEMORY, 8, 0xfea00200); /* SLEEP_CONTROL_REG (microvm's) */
	sdt_seal(f, sizeof(f));
	if (!CHECK(acpi_fadt_parse(guard(f, sizeof(f)), sizeof(f), &info) == 0))
		return;
	CHECK(info.revision == 5);
	CHECK(info.pm1a_evt == 0xb000 && info.pm1b_evt == 0xb100);
	CHECK(info.pm1a_cnt == 0xb004);
	CHECK(info.pm1b_cnt == 0); /* neither field set */
	CHECK(info.gpe0_blk == 0xb020);
	CHECK(info.dsdt == 0x17fe3000ull);
	CHECK(info.has_reset);
	CHECK(info.reset_reg.space == ACPI_GAS_SYSTEM_IO);
	CHECK(info.reset_reg.bit_width == 8);
	CHECK(info.reset_reg.address == 0xcf9);
	CHECK(info.reset_value == 0x06);
	CHECK(info.sleep_ctl.space == ACPI_GAS_SYSTEM_MEMORY && info.sleep_ctl.bit_width == 8);
	CHECK(info.sleep_ctl.address == 0xfea00200);
	/* A table that ends inside SLEEP_CONTROL_REG has none. */
	sdt_seal(f, 255);
	if (CHECK(acpi_fadt_parse(guard(f, 255), 255, &info) == 0))
		CHECK(info.sleep_ctl.address == 0 && info.sleep_ctl.space == 0);
}

static void t_fadt_x_fields_unusable(void)
{
	uint8_t f[244] = {0};
	struct acpi_fadt_info info;

	fadt_legacy(f, 3);
	/* Memory space, an I/O address beyond 16 bits, and a zero address:
	 * each falls back to its 32-bit field. */
	put_gas(f, 148, ACPI_GAS_SYSTEM_MEMORY, 32, 0xfed80000ull);
	put_gas(f, 172, ACPI_GAS_SYSTEM_IO, 16, 0x10004);
	put_gas(f, 220, ACPI_GAS_SYSTEM_IO, 32, 0);
	put32(f, 68, 0x10000); /* PM1b_CNT_BLK: no 16-bit port either */
	sdt_seal(f, sizeof(f));
	if (!CHECK(acpi_fadt_parse(guard(f, sizeof(f)), sizeof(f), &info) == 0))
		return;
	CHECK(info.pm1a_evt == 0x600);
	CHECK(info.pm1a_cnt == 0x604);
	CHECK(info.gpe0_blk == 0xafe0);
	CHECK(info.pm1b_cnt == 0);
	CHECK(info.dsdt == 0x7fe3000); /* X_DSDT is 0 */
}

static void t_fadt_short(void)
{
	uint8_t f[276] = {0};
	struct acpi_fadt_info info;

	fadt_legacy(f, 1);
	CHECK(acpi_fadt_parse(guard(f, 115), 115, &info) == -EINVAL);
	CHECK(acpi_fadt_parse(guard(f, 0), 0, &info) == -EINVAL);

	/* Cut inside X_PM1a_EVT_BLK: the partial GAS must read as absent,
	 * never as a half-read address. */
	fadt_legacy(f, 3);
	put_gas(f, 148, ACPI_GAS_SYSTEM_IO, 32, 0xb000);
	if (!CHECK(acpi_fadt_parse(guard(f, 155), 155, &info) == 0))
		return;
	CHECK(info.pm1a_evt == 0x600);

	/* Every length from 1.0 to 6.5 parses without a stray read. */
	put_gas(f, 116, ACPI_GAS_SYSTEM_IO, 8, 0xcf9);
	for (size_t n = 116; n <= sizeof(f); n++) {
		if (!CHECK(acpi_fadt_parse(guard(f, n), n, &info) == 0))
			return;
		CHECK(info.has_reset == (n >= 129));
		CHECK(info.pm1a_evt == (n >= 160 ? 0xb000 : 0x600));
	}
}

/* ---- MADT (§5.2.12). ---- */

struct blob {
	uint8_t b[512];
	size_t n;
};

static void madt_begin(struct blob *m, uint32_t lapic)
{
	memset(m, 0, sizeof(*m));
	sdt_init(m->b, "APIC", 1);
	put32(m->b, 36, lapic);
	put32(m->b, 40, 1); /* PCAT_COMPAT */
	m->n = 44;
}

static uint8_t *madt_entry(struct blob *m, uint8_t type, uint8_t len)
{
	uint8_t *e = m->b + m->n;
	e[0] = type;
	e[1] = len;
	m->n += len;
	return e;
}

static void madt_lapic(struct blob *m, uint8_t uid, uint8_t id)
{
	uint8_t *e = madt_entry(m, 0, 8);
	e[2] = uid;
	e[3] = id;
	put32(e, 4, 1); /* enabled */
}

static void madt_ioapic(struct blob *m, uint8_t id, uint32_t addr, uint32_t base)
{
	uint8_t *e = madt_entry(m, 1, 12);
	e[2] = id;
	put32(e, 4, addr);
	put32(e, 8, base);
}

static void madt_iso(struct blob *m, uint8_t bus, uint8_t src, uint32_t gsi, uint16_t flags)
{
	uint8_t *e = madt_entry(m, 2, 10);
	e[2] = bus;
	e[3] = src;
	put32(e, 4, gsi);
	put16(e, 8, flags);
}

/* QEMU 7.2 pc: hw/i386/acpi-common.c acpi_build_madt(). */
static void madt_qemu(struct blob *m)
{
	uint8_t *nmi;

	madt_begin(m, 0xfee00000u);
	madt_lapic(m, 0, 0);
	madt_ioapic(m, 0, 0xfec00000u, 0);
	madt_iso(m, 0, 0, 2, 0);   /* IRQ0 -> GSI2, conforms: ISA edge */
	madt_iso(m, 0, 5, 5, 0xd); /* PCI link IRQs: level, active-high */
	madt_iso(m, 0, 9, 9, 0xd); /* the SCI */
	madt_iso(m, 0, 10, 10, 0xd);
	madt_iso(m, 0, 11, 11, 0xd);
	nmi = madt_entry(m, 4, 6); /* local APIC NMI on LINT1 */
	nmi[2] = 0xff;
	nmi[5] = 1;
	sdt_seal(m->b, (uint32_t)m->n);
}

static void t_madt_qemu(void)
{
	struct blob m;
	struct acpi_madt_info info;
	unsigned flags = 99;

	madt_qemu(&m);
	if (!CHECK(acpi_madt_parse(guard(m.b, m.n), m.n, &info) == 0))
		return;
	CHECK(info.lapic_addr == 0xfee00000u);
	CHECK(info.flags == 1);
	CHECK(info.n_ioapics == 1);
	CHECK(info.ioapics[0].id == 0);
	CHECK(info.ioapics[0].addr == 0xfec00000u);
	CHECK(info.ioapics[0].gsi_base == 0);
	CHECK(info.n_overrides == 5);
	CHECK(info.skipped == 0);
	CHECK(info.cpus == 1);

	CHECK(acpi_madt_isa_to_gsi(&info, 0, ACPI_ISA_DEFAULT_FLAGS, &flags) == 2);
	CHECK(flags == 0); /* edge, active-high */
	CHECK(acpi_madt_isa_to_gsi(&info, 9, ACPI_ISA_DEFAULT_FLAGS, &flags) == 9);
	CHECK(flags == IRQ_LEVEL); /* level, active-high */
	/* The SCI: explicit override flags beat the SCI defaults. */
	CHECK(acpi_madt_isa_to_gsi(&info, 9, ACPI_SCI_DEFAULT_FLAGS, &flags) == 9);
	CHECK(flags == IRQ_LEVEL);
	/* No override: identity with the bus defaults. */
	CHECK(acpi_madt_isa_to_gsi(&info, 4, ACPI_ISA_DEFAULT_FLAGS, &flags) == 4);
	CHECK(flags == 0);
	CHECK(acpi_madt_isa_to_gsi(&info, 2, ACPI_ISA_DEFAULT_FLAGS, &flags) == 2);
}

static void t_madt_sci_without_override(void)
{
	struct blob m;
	struct acpi_madt_info info;
	unsigned flags = 0;

	madt_begin(&m, 0xfee00000u);
	madt_ioapic(&m, 0, 0xfec00000u, 0);
	madt_iso(&m, 0, 0, 2, 0);
	madt_iso(&m, 0, 9, 20, 0); /* conforms: SCI defaults apply */
	sdt_seal(m.b, (uint32_t)m.n);
	if (!CHECK(acpi_madt_parse(guard(m.b, m.n), m.n, &info) == 0))
		return;
	CHECK(acpi_madt_isa_to_gsi(&info, 9, ACPI_SCI_DEFAULT_FLAGS, &flags) == 20);
	CHECK(flags == (IRQ_LEVEL | IRQ_ACTIVE_LOW));
	CHECK(acpi_madt_isa_to_gsi(&info, 9, ACPI_ISA_DEFAULT_FLAGS, &flags) == 20);
	CHECK(flags == 0);

	/* No MADT at all: a zeroed info maps everything to itself. */
	memset(&info, 0, sizeof(info));
	CHECK(acpi_madt_isa_to_gsi(&info, 9, ACPI_SCI_DEFAULT_FLAGS, &flags) == 9);
	CHECK(flags == (IRQ_LEVEL | IRQ_ACTIVE_LOW));
}

static void t_inti_flags(void)
{
	const unsigned isa = ACPI_ISA_DEFAULT_FLAGS, sci = ACPI_SCI_DEFAULT_FLAGS;
	const unsigned lvl = IRQ_LEVEL, low = IRQ_ACTIVE_LOW;

	/* polarity bits 1:0, trigger bits 3:2 */
	CHECK(acpi_inti_flags(0x0, isa) == 0);
	CHECK(acpi_inti_flags(0x0, sci) == (lvl | low));
	CHECK(acpi_inti_flags(0x5, sci) == 0);           /* high, edge */
	CHECK(acpi_inti_flags(0xd, isa) == lvl);         /* high, level */
	CHECK(acpi_inti_flags(0xf, isa) == (lvl | low)); /* low, level */
	CHECK(acpi_inti_flags(0x3, isa) == low);         /* low, conforming */
	CHECK(acpi_inti_flags(0xc, isa) == lvl);         /* conforming, level */
	CHECK(acpi_inti_flags(0x1, sci) == lvl);         /* high, conforming */
	/* Reserved encodings (10b) fall back to the bus. */
	CHECK(acpi_inti_flags(0x2, isa) == 0);
	CHECK(acpi_inti_flags(0x8, sci) == (lvl | low));
	/* Bits above 3 are reserved and ignored. */
	CHECK(acpi_inti_flags(0xfff0, isa) == 0);
}

static void t_madt_lapic_override(void)
{
	struct blob m;
	struct acpi_madt_info info;
	uint8_t *e;

	madt_begin(&m, 0xfee00000u);
	e = madt_entry(&m, 5, 12);
	put64(e, 4, 0x1fee00000ull);
	madt_ioapic(&m, 2, 0xfec00000u, 0);
	madt_ioapic(&m, 3, 0xfec01000u, 24);
	sdt_seal(m.b, (uint32_t)m.n);
	if (!CHECK(acpi_madt_parse(guard(m.b, m.n), m.n, &info) == 0))
		return;
	CHECK(info.lapic_addr == 0x1fee00000ull);
	CHECK(info.n_ioapics == 2);
	CHECK(info.ioapics[1].id == 3 && info.ioapics[1].gsi_base == 24);
}

static void t_madt_malformed(void)
{
	struct blob m;
	struct acpi_madt_info info;

	/* A zero-length entry must end the walk, not loop on it. */
	madt_begin(&m, 0xfee00000u);
	madt_ioapic(&m, 0, 0xfec00000u, 0);
	madt_entry(&m, 1, 0);
	m.n += 12;
	sdt_seal(m.b, (uint32_t)m.n);
	CHECK(acpi_madt_parse(guard(m.b, m.n), m.n, &info) == 0);
	CHECK(info.n_ioapics == 1 && info.skipped == 1);

	/* An entry running past the table. */
	madt_begin(&m, 0xfee00000u);
	madt_iso(&m, 0, 0, 2, 0);
	madt_entry(&m, 2, 10);
	m.n -= 4;
	sdt_seal(m.b, (uint32_t)m.n);
	CHECK(acpi_madt_parse(guard(m.b, m.n), m.n, &info) == 0);
	CHECK(info.n_overrides == 1 && info.skipped == 1);

	/* A lone trailing byte (no room for a length byte). */
	madt_begin(&m, 0xfee00000u);
	m.b[m.n++] = 1;
	sdt_seal(m.b, (uint32_t)m.n);
	CHECK(acpi_madt_parse(guard(m.b, m.n), m.n, &info) == 0);
	CHECK(info.skipped == 1);

	/* Entries too short for their type, and a non-ISA override: skipped,
	 * the walk goes on. */
	madt_begin(&m, 0xfee00000u);
	madt_entry(&m, 1, 8);       /* I/O APIC needs 12 */
	madt_entry(&m, 2, 6);       /* ISO needs 10 */
	madt_entry(&m, 5, 4);       /* LAPIC override needs 12 */
	madt_iso(&m, 1, 3, 3, 0);   /* bus 1 is not ISA */
	madt_iso(&m, 0, 16, 16, 0); /* not an ISA IRQ */
	madt_ioapic(&m, 0, 0xfec00000u, 0);
	sdt_seal(m.b, (uint32_t)m.n);
	CHECK(acpi_madt_parse(guard(m.b, m.n), m.n, &info) == 0);
	CHECK(info.skipped == 5);
	CHECK(info.n_ioapics == 1 && info.n_overrides == 0);
	CHECK(info.lapic_addr == 0xfee00000u);

	/* Fixed part cut short. */
	CHECK(acpi_madt_parse(guard(m.b, 43), 43, &info) == -EINVAL);
	CHECK(info.n_ioapics == 0);
}

static void t_madt_limits(void)
{
	struct blob m;
	struct acpi_madt_info info;

	madt_begin(&m, 0xfee00000u);
	for (int i = 0; i < ACPI_MAX_IOAPICS + 2; i++)
		madt_ioapic(&m, (uint8_t)i, 0xfec00000u + 0x1000u * (unsigned)i, 24u * (unsigned)i);
	for (int i = 0; i < ACPI_MAX_OVERRIDES + 3; i++)
		madt_iso(&m, 0, (uint8_t)(i % 16), (uint32_t)i, 0);
	sdt_seal(m.b, (uint32_t)m.n);
	if (!CHECK(m.n <= sizeof(m.b)))
		return;
	CHECK(acpi_madt_parse(guard(m.b, m.n), m.n, &info) == 0);
	CHECK(info.n_ioapics == ACPI_MAX_IOAPICS);
	CHECK(info.n_overrides == ACPI_MAX_OVERRIDES);
	CHECK(info.skipped == 2 + 3);
}

static void t_madt_truncations(void)
{
	struct blob m;
	struct acpi_madt_info info;

	madt_qemu(&m);
	for (size_t n = 0; n <= m.n; n++) {
		int err = acpi_madt_parse(guard(m.b, n), n, &info);
		CHECK(n < 44 ? err == -EINVAL : err == 0);
		CHECK(info.n_ioapics <= 1 && info.n_overrides <= 5);
	}
}

/* ---- AML \_S5 (§7.4.2, §20.2). ---- */

/* QEMU's DSDT: Scope(\) { Name(_S5, Package(4){0, 0, 0, 0}) } */
static const uint8_t s5_qemu[] = {
    0x10, 0x0f, 0x5c, 0x00,                   /* Scope(\), PkgLength 15 */
    0x08, '_',  'S',  '5',  '_',              /* Name(_S5, */
    0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00, /* Package(4){0,0,0,0}) */
};

static int find_s5(const uint8_t *aml, size_t len, struct acpi_s5 *s5)
{
	memset(s5, 0xee, sizeof(*s5));
	return acpi_aml_find_s5(guard(aml, len), len, s5);
}

static void t_s5_zero_ops(void)
{
	struct acpi_s5 s5;

	CHECK(find_s5(s5_qemu, sizeof(s5_qemu), &s5) == 0);
	CHECK(s5.slp_typa == 0 && s5.slp_typb == 0);
}

static void t_s5_byte_prefix(void)
{
	/* iasl's usual form: Name(_S5_, Package(){0x05, 0x07, Zero, Zero}) */
	static const uint8_t aml[] = {
	    0xa0, 0x08, 0x5c, '_', 'S', '5',  '_', /* noise: If(...) */
	    0x08, '_',  'S',  '5', '_', 0x12, 0x08, 0x04, 0x0a, 0x05, 0x0a, 0x07, 0x00, 0x00, 0x70,
	};
	static const uint8_t word[] = {
	    0x08, '_', 'S', '5', '_', 0x12, 0x0a, 0x02, 0x0b, 0x06, 0x00, 0x0c, 0x0f, 0x00, 0x00, 0x00,
	};
	static const uint8_t ones[] = {
	    0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x02, 0x01, 0xff,
	};
	struct acpi_s5 s5;

	CHECK(find_s5(aml, sizeof(aml), &s5) == 0);
	CHECK(s5.slp_typa == 5 && s5.slp_typb == 7);
	/* WordPrefix 6, DWordPrefix 15 cut to the 3-bit field. */
	CHECK(find_s5(word, sizeof(word), &s5) == 0);
	CHECK(s5.slp_typa == 6 && s5.slp_typb == 7);
	CHECK(find_s5(ones, sizeof(ones), &s5) == 0);
	CHECK(s5.slp_typa == 1 && s5.slp_typb == 7);
}

static void t_s5_root_prefix(void)
{
	static const uint8_t aml[] = {
	    0x08, 0x5c, '_', 'S', '5', '_', 0x12, 0x07, 0x04, 0x0a, 0x05, 0x00, 0x00, 0x00,
	};
	struct acpi_s5 s5;

	CHECK(find_s5(aml, sizeof(aml), &s5) == 0);
	CHECK(s5.slp_typa == 5 && s5.slp_typb == 0);
}

static void t_s5_multibyte_pkglength(void)
{
	/* 2-byte PkgLength 0x45 = 69 (lead 0x45 & 0x0f | 0x04 << 4), then a
	 * 3-byte one (lead bits 7:6 = 2) for a longer package. */
	uint8_t aml[128] = {0x08, '_', 'S', '5', '_', 0x12, 0x45, 0x04, 0x04, 0x0a, 0x03, 0x0a, 0x04};
	struct acpi_s5 s5;
	size_t n = 6 + 69; /* the package ends exactly at the buffer's end */

	CHECK(find_s5(aml, n, &s5) == 0);
	CHECK(s5.slp_typa == 3 && s5.slp_typb == 4);
	CHECK(find_s5(aml, n - 1, &s5) == -EBADMSG); /* package past the end */

	memcpy(aml,
	       (const uint8_t[]){0x08, '_', 'S', '5', '_', 0x12, 0x86, 0x06, 0x00, 0x04, 0x01, 0x0a, 0x02},
	       13);
	n = 6 + 0x66;
	CHECK(find_s5(aml, n, &s5) == 0);
	CHECK(s5.slp_typa == 1 && s5.slp_typb == 2);
}

static void t_s5_missing(void)
{
	/* _S5_ only inside a method call and a string, _S4_ declared: no
	 * NameOp before "_S5_" anywhere. */
	static const uint8_t aml[] = {
	    0x14, 0x0a, '_',  'P',  'T', 'S', 0x01, '_', 'S',  '5',  '_',  0x00, 0x0d, '_',  'S',
	    '5',  '_',  0x00, 0x08, '_', 'S', '4',  '_', 0x12, 0x06, 0x04, 0x0a, 0x02, 0x0a, 0x02,
	};
	struct acpi_s5 s5;

	CHECK(find_s5(aml, sizeof(aml), &s5) == -ENOENT);
	CHECK(find_s5(aml, 0, &s5) == -ENOENT);
}

static void t_s5_malformed(void)
{
	/* Name(_S5, 5): an integer, not a package. */
	static const uint8_t integer[] = {0x08, '_', 'S', '5', '_', 0x0a, 0x05};
	/* A package with one element. */
	static const uint8_t one[] = {
	    0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x01, 0x0a, 0x05,
	};
	/* PkgLength 3 claims less than its elements take. */
	static const uint8_t short_pkg[] = {
	    0x08, '_', 'S', '5', '_', 0x12, 0x03, 0x02, 0x0a, 0x05, 0x0a, 0x05,
	};
	/* An element that is not an integer (a string). */
	static const uint8_t string[] = {
	    0x08, '_', 'S', '5', '_', 0x12, 0x07, 0x02, 0x0d, 'a', 0x00, 0x00, 0x00,
	};
	/* PkgLength 0 cannot even hold itself. */
	static const uint8_t zero[] = {0x08, '_', 'S', '5', '_', 0x12, 0x00, 0x02};
	struct acpi_s5 s5;

	CHECK(find_s5(integer, sizeof(integer), &s5) == -EBADMSG);
	CHECK(find_s5(one, sizeof(one), &s5) == -EBADMSG);
	CHECK(find_s5(short_pkg, sizeof(short_pkg), &s5) == -EBADMSG);
	CHECK(find_s5(string, sizeof(string), &s5) == -EBADMSG);
	CHECK(find_s5(zero, sizeof(zero), &s5) == -EBADMSG);
}

static void t_s5_second_candidate(void)
{
	/* A malformed match first, then the real declaration. */
	static const uint8_t aml[] = {
	    0x08, '_', 'S',  '5',  '_',  0x0a, 0x01, 0x08, '_',  'S',
	    '5',  '_', 0x12, 0x07, 0x04, 0x0a, 0x07, 0x00, 0x00, 0x00,
	};
	struct acpi_s5 s5;

	CHECK(find_s5(aml, sizeof(aml), &s5) == 0);
	CHECK(s5.slp_typa == 7 && s5.slp_typb == 0);
}

static void t_s5_at_end(void)
{
	struct acpi_s5 s5;

	/* Every prefix of QEMU's blob: the full one parses, each shorter one
	 * ends inside the declaration and must fail without reading past. */
	for (size_t n = 0; n <= sizeof(s5_qemu); n++) {
		int err = find_s5(s5_qemu, n, &s5);
		if (n == sizeof(s5_qemu))
			CHECK(err == 0);
		else if (n < 9)
			CHECK(err == -ENOENT); /* "_S5_" not complete yet */
		else
			CHECK(err == -EBADMSG);
	}
	/* The name is the stream's last bytes. */
	CHECK(find_s5((const uint8_t *)"\x08_S5_", 5, &s5) == -EBADMSG);
	CHECK(find_s5((const uint8_t *)"\x08\\_S5", 5, &s5) == -ENOENT);
	CHECK(find_s5((const uint8_t *)"\x08", 1, &s5) == -ENOENT);
	CHECK(find_s5((const uint8_t *)"\x08\\", 2, &s5) == -ENOENT);
}

/* §5.2.12.2 and §5.2.12.12: Enabled processors count, Online Capable
 * and disabled ones do not; a short entry is skipped, not read past. */
static void t_madt_cpus(void)
{
	struct blob m;
	struct acpi_madt_info info;
	uint8_t *e;

	madt_begin(&m, 0xfee00000u);
	madt_lapic(&m, 0, 0);
	madt_lapic(&m, 1, 1);
	put32(madt_entry(&m, 0, 8), 4, 0);      /* disabled */
	put32(madt_entry(&m, 0, 8), 4, 2);      /* Online Capable only */
	e = madt_entry(&m, 9, 16);              /* x2APIC, enabled */
	put32(e, 4, 0x100);
	put32(e, 8, 1);
	put32(madt_entry(&m, 9, 16), 8, 0);     /* x2APIC, disabled */
	madt_entry(&m, 0, 6);                   /* too short for its Flags */
	madt_ioapic(&m, 0, 0xfec00000u, 0);
	sdt_seal(m.b, (uint32_t)m.n);
	if (!CHECK(acpi_madt_parse(guard(m.b, m.n), m.n, &info) == 0))
		return;
	CHECK(info.cpus == 3);
	CHECK(info.skipped == 1);
	CHECK(info.n_ioapics == 1);
}

static const struct test_case cases[] = {
    {"SDT valid checksum", t_sdt_valid},
    {"SDT corrupted checksum", t_sdt_bad_checksum},
    {"SDT truncated and bad lengths", t_sdt_lengths},
    {"SDT signature", t_sdt_signature},
    {"printable OEM strings", t_printable},
    {"RSDP v1", t_rsdp_v1},
    {"RSDP v2 uses XSDT", t_rsdp_v2},
    {"RSDP v2 without XSDT uses RSDT", t_rsdp_v2_no_xsdt},
    {"RSDP checksums", t_rsdp_checksums},
    {"RSDP malformed", t_rsdp_malformed},
    {"RSDP scan skips unaligned and bad copies", t_rsdp_scan},
    {"RSDP scan at the area's end", t_rsdp_scan_at_end},
    {"RSDT entries", t_rsdt_entries},
    {"XSDT unaligned 64-bit entries", t_xsdt_entries},
    {"FADT rev 1 (116 bytes): legacy blocks", t_fadt_rev1},
    {"FADT rev 5 (268 bytes): X_ blocks, RESET_REG, SLEEP_CONTROL_REG", t_fadt_rev5},
    {"FADT X_ blocks outside 16-bit I/O fall back", t_fadt_x_fields_unusable},
    {"FADT short and every length", t_fadt_short},
    {"MADT QEMU pc: IRQ0->GSI2 edge, IRQ9 level high", t_madt_qemu},
    {"MADT SCI conforming override and no MADT", t_madt_sci_without_override},
    {"MPS INTI flags", t_inti_flags},
    {"MADT local APIC address override, two IOAPICs", t_madt_lapic_override},
    {"MADT malformed entries", t_madt_malformed},
    {"MADT static limits", t_madt_limits},
    {"MADT every truncation", t_madt_truncations},
    {"MADT enabled processors counted", t_madt_cpus},
    {"AML _S5 ZeroOp (QEMU)", t_s5_zero_ops},
    {"AML _S5 BytePrefix/WordPrefix/OnesOp", t_s5_byte_prefix},
    {"AML \\_S5 root prefix", t_s5_root_prefix},
    {"AML _S5 multi-byte PkgLength", t_s5_multibyte_pkglength},
    {"AML _S5 missing", t_s5_missing},
    {"AML _S5 malformed", t_s5_malformed},
    {"AML _S5 second candidate", t_s5_second_candidate},
    {"AML _S5 at the very end of the buffer", t_s5_at_end},
};

int main(void)
{
	test_init("acpi_tables");
	test_run(cases, TEST_COUNT(cases));
	return test_finish();
}
