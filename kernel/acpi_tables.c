/* Pure ACPI table parsing (see acpi_tables.h). Layouts are declared as
 * packed structs with their offsets asserted against the spec tables, and
 * a table is read by copying at most its length into a zeroed struct. The
 * FADT grew by appending fields from ACPI 1.0 to 6.5: a field the table
 * does not hold whole reads as 0, i.e. "absent" (FADT_FIELD). Host and
 * target are both little-endian, as ACPI is. */
#include "kernel/acpi_tables.h"

#include <errno.h>
#include <string.h>

/* §5.2.3.2 Generic Address Structure. */
struct gas {
	uint8_t space, bit_width, bit_offset, access_size;
	uint64_t address;
} __attribute__((packed));
_Static_assert(sizeof(struct gas) == 12, "GAS");

/* §5.2.5.3 RSDP Structure. */
struct rsdp {
	char signature[8]; /* "RSD PTR " */
	uint8_t checksum;  /* over the first 20 bytes */
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt;
	uint32_t length; /* from here on: revision >= 2 only */
	uint64_t xsdt;
	uint8_t ext_checksum; /* over length bytes */
	uint8_t reserved[3];
} __attribute__((packed));
_Static_assert(sizeof(struct rsdp) == ACPI_RSDP_V2_LEN, "RSDP");
_Static_assert(offsetof(struct rsdp, length) == ACPI_RSDP_V1_LEN, "RSDP v1 part");
_Static_assert(offsetof(struct rsdp, xsdt) == 24, "RSDP XsdtAddress");

/* §5.2.6 System Description Table Header. */
struct sdt_hdr {
	char signature[4];
	uint32_t length; /* whole table, header included */
	uint8_t revision, checksum;
	char oem_id[6], oem_table_id[8];
	uint32_t oem_revision, creator_id, creator_revision;
} __attribute__((packed));
_Static_assert(sizeof(struct sdt_hdr) == ACPI_SDT_HDR_LEN, "SDT header");

/* §5.2.9 FADT, Table "FADT Format", through SLEEP_STATUS_REG; the
 * hypervisor vendor identity that follows is not used. */
struct fadt {
	struct sdt_hdr hdr;
	uint32_t firmware_ctrl, dsdt;
	uint8_t reserved0, preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk;
	uint32_t pm2_cnt_blk, pm_tmr_blk, gpe0_blk, gpe1_blk;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
	uint8_t gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct gas reset_reg; /* ACPI 2.0+ from here on */
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl, x_dsdt;
	struct gas x_pm1a_evt_blk, x_pm1b_evt_blk, x_pm1a_cnt_blk, x_pm1b_cnt_blk;
	struct gas x_pm2_cnt_blk, x_pm_tmr_blk, x_gpe0_blk, x_gpe1_blk;
	struct gas sleep_control_reg, sleep_status_reg; /* ACPI 5.0+ */
} __attribute__((packed));
_Static_assert(offsetof(struct fadt, sci_int) == 46, "FADT SCI_INT");
_Static_assert(offsetof(struct fadt, smi_cmd) == 48, "FADT SMI_CMD");
_Static_assert(offsetof(struct fadt, pm1a_evt_blk) == 56, "FADT PM1a_EVT_BLK");
_Static_assert(offsetof(struct fadt, pm1_evt_len) == 88, "FADT PM1_EVT_LEN");
_Static_assert(offsetof(struct fadt, gpe0_blk_len) == 92, "FADT GPE0_BLK_LEN");
_Static_assert(offsetof(struct fadt, flags) == 112, "FADT Flags");
_Static_assert(offsetof(struct fadt, reset_reg) == ACPI_FADT_V1_LEN, "FADT RESET_REG");
_Static_assert(offsetof(struct fadt, reset_value) == 128, "FADT RESET_VALUE");
_Static_assert(offsetof(struct fadt, x_dsdt) == 140, "FADT X_DSDT");
_Static_assert(offsetof(struct fadt, x_pm1a_evt_blk) == 148, "FADT X_PM1a_EVT_BLK");
_Static_assert(offsetof(struct fadt, x_pm1a_cnt_blk) == 172, "FADT X_PM1a_CNT_BLK");
_Static_assert(offsetof(struct fadt, x_gpe0_blk) == 220, "FADT X_GPE0_BLK");
_Static_assert(offsetof(struct fadt, sleep_control_reg) == 244, "FADT SLEEP_CONTROL_REG");
_Static_assert(sizeof(struct fadt) == 268, "FADT through SLEEP_STATUS_REG");

/* §5.2.12 MADT: the fixed part, then interrupt controller structures, each
 * starting with a type byte and a length byte. */
struct madt {
	struct sdt_hdr hdr;
	uint32_t lapic_addr, flags;
} __attribute__((packed));
_Static_assert(sizeof(struct madt) == 44, "MADT");

#define MADT_LAPIC 0
#define MADT_IOAPIC 1
#define MADT_ISO 2
#define MADT_LAPIC_OVERRIDE 5
#define MADT_X2APIC 9

/* §5.2.12.2 Processor Local APIC and §5.2.12.12 Processor Local x2APIC
 * Structures: Flags bit 0 is Enabled (usable now); Online Capable (bit 1)
 * processors can only be brought up later and are not counted. */
#define MADT_LAPIC_FLAGS_OFF 4
#define MADT_X2APIC_FLAGS_OFF 8
#define MADT_CPU_ENABLED 1u

/* §5.2.12.3 I/O APIC Structure. */
struct madt_ioapic {
	uint8_t type, length, id, reserved;
	uint32_t addr, gsi_base;
} __attribute__((packed));
_Static_assert(sizeof(struct madt_ioapic) == 12, "MADT I/O APIC");

/* §5.2.12.5 Interrupt Source Override Structure. */
struct madt_iso {
	uint8_t type, length;
	uint8_t bus;    /* 0: ISA, the only value defined */
	uint8_t source; /* bus-relative IRQ */
	uint32_t gsi;
	uint16_t flags; /* MPS INTI flags */
} __attribute__((packed));
_Static_assert(sizeof(struct madt_iso) == 10, "MADT ISO");

/* §5.2.12.8 Local APIC Address Override Structure. */
struct madt_lapic_override {
	uint8_t type, length;
	uint16_t reserved;
	uint64_t addr;
} __attribute__((packed));
_Static_assert(sizeof(struct madt_lapic_override) == 12, "MADT LAPIC override");

/* MPS INTI flags (§5.2.12.5): 00 conforms to the bus, 01 active-high or
 * edge, 10 reserved, 11 active-low or level. */
#define INTI_POLARITY(f) ((f) & 3u)
#define INTI_TRIGGER(f) (((f) >> 2) & 3u)
#define INTI_HIGH_OR_EDGE 1u
#define INTI_LOW_OR_LEVEL 3u

/* AML encodings (§20.2). */
#define AML_ZERO_OP 0x00 /* §20.2.3 Data Objects Encoding */
#define AML_ONE_OP 0x01
#define AML_ONES_OP 0xff
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_QWORD_PREFIX 0x0e
#define AML_NAME_OP 0x08    /* §20.2.5.1 DefName */
#define AML_PACKAGE_OP 0x12 /* §20.2.5.4 DefPackage */
#define AML_ROOT_CHAR 0x5c  /* §20.2.2 '\' */
#define SLP_TYP_MASK 7u     /* SLP_TYPx is 3 bits wide (§4.8.4.2.1) */

static const uint8_t s5_name[4] = { '_', 'S', '5', '_' };

static uint8_t byte_sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static uint64_t le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	while (n--)
		v = v << 8 | p[n];
	return v;
}

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

void acpi_printable(char *dst, const void *src, size_t n)
{
	const uint8_t *s = src;
	size_t i;
	for (i = 0; i < n; i++)
		dst[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? (char)s[i] : '?';
	while (i > 0 && dst[i - 1] == ' ')
		i--;
	dst[i] = '\0';
}

uint32_t acpi_sdt_length(const void *hdr, size_t avail)
{
	const uint8_t *p = hdr;
	if (avail < ACPI_SDT_HDR_LEN)
		return 0;
	return (uint32_t)le(p + offsetof(struct sdt_hdr, length), 4);
}

int acpi_sdt_validate(const void *tbl, size_t avail, const char *sig)
{
	uint32_t len = acpi_sdt_length(tbl, avail);
	if (avail < ACPI_SDT_HDR_LEN)
		return -EOVERFLOW;
	if (len < ACPI_SDT_HDR_LEN)
		return -EINVAL;
	if (len > avail)
		return -EOVERFLOW;
	if (sig && memcmp(tbl, sig, 4) != 0)
		return -ENOENT;
	/* §5.2.6: "the entire table, including the checksum field, must add
	 * to zero". */
	return byte_sum(tbl, len) == 0 ? 0 : -EBADMSG;
}

/* The ACPI 2.0 part (§5.2.5.3): Length covers the whole structure and the
 * extended checksum sums it to zero. */
static int rsdp_v2_check(const uint8_t *p, size_t avail, const struct rsdp *r)
{
	if (avail < ACPI_RSDP_V2_LEN)
		return -EOVERFLOW;
	if (r->length < ACPI_RSDP_V2_LEN)
		return -EINVAL;
	if (r->length > avail)
		return -EOVERFLOW;
	return byte_sum(p, r->length) == 0 ? 0 : -EBADMSG;
}

int acpi_rsdp_parse(const void *buf, size_t avail, struct acpi_rsdp_info *out)
{
	struct rsdp r = { 0 };
	int err = 0;
	if (avail < ACPI_RSDP_V1_LEN)
		return -EOVERFLOW;
	memcpy(&r, buf, min_size(avail, sizeof r));
	if (memcmp(r.signature, "RSD PTR ", 8) != 0)
		return -ENOENT;
	if (byte_sum(buf, ACPI_RSDP_V1_LEN) != 0)
		return -EBADMSG;
	if (r.revision >= 2)
		err = rsdp_v2_check(buf, avail, &r);
	if (err < 0)
		return err;
	out->revision = r.revision;
	acpi_printable(out->oem_id, r.oem_id, sizeof r.oem_id);
	/* §5.2.5.3: XsdtAddress supersedes RsdtAddress from revision 2. */
	out->xsdt = r.revision >= 2 && r.xsdt != 0;
	out->root_pa = out->xsdt ? r.xsdt : r.rsdt;
	return out->root_pa ? 0 : -EINVAL;
}

long acpi_rsdp_scan(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	struct acpi_rsdp_info info;
	for (size_t off = 0; off + ACPI_RSDP_V1_LEN <= len; off += 16)
		if (acpi_rsdp_parse(p + off, len - off, &info) == 0)
			return (long)off;
	return -ENOENT;
}

size_t acpi_root_count(size_t len, bool xsdt)
{
	return len < ACPI_SDT_HDR_LEN ? 0 : (len - ACPI_SDT_HDR_LEN) / (xsdt ? 8 : 4);
}

uint64_t acpi_root_entry(const void *tbl, size_t len, bool xsdt, size_t i)
{
	const uint8_t *p = tbl;
	size_t esz = xsdt ? 8 : 4;
	if (i >= acpi_root_count(len, xsdt))
		return 0;
	/* XSDT entries sit at offset 36: 8-byte fields that are not 8-byte
	 * aligned, hence the byte reads. */
	return le(p + ACPI_SDT_HDR_LEN + i * esz, esz);
}

/* A PM register block: the X_ GAS when it is set and in system I/O space
 * (§5.2.9: a nonzero X_ field supersedes the 32-bit one), else the 32-bit
 * port. Keel drives these with port I/O only; 0 means unusable. */
static uint16_t io_block(struct gas x, uint32_t legacy)
{
	if (x.address != 0 && x.space == ACPI_GAS_SYSTEM_IO && x.address <= 0xffff)
		return (uint16_t)x.address;
	return legacy <= 0xffff ? (uint16_t)legacy : 0;
}

static struct acpi_gas gas_info(struct gas g)
{
	return (struct acpi_gas){ g.space, g.bit_width, g.bit_offset, g.access_size, g.address };
}

/* FADT field m if the table holds it whole, else zero ("absent"): a table
 * that ends inside a field must not yield half an address. */
#define FADT_FIELD(f, len, m) \
	(offsetof(struct fadt, m) + sizeof((f).m) <= (len) ? (f).m : (__typeof__((f).m)){ 0 })

int acpi_fadt_parse(const void *tbl, size_t len, struct acpi_fadt_info *out)
{
	struct fadt f = { 0 };
	if (len < ACPI_FADT_V1_LEN)
		return -EINVAL;
	memcpy(&f, tbl, min_size(len, sizeof f));
	uint64_t x_dsdt = FADT_FIELD(f, len, x_dsdt);
	bool reset = (f.flags & ACPI_FADT_RESET_REG_SUP) && len > offsetof(struct fadt, reset_value);
	*out = (struct acpi_fadt_info){
		.revision = f.hdr.revision,
		.flags = f.flags,
		.sci_int = f.sci_int,
		.smi_cmd = f.smi_cmd,
		.acpi_enable = f.acpi_enable,
		.pm1a_evt = io_block(FADT_FIELD(f, len, x_pm1a_evt_blk), f.pm1a_evt_blk),
		.pm1b_evt = io_block(FADT_FIELD(f, len, x_pm1b_evt_blk), f.pm1b_evt_blk),
		.pm1a_cnt = io_block(FADT_FIELD(f, len, x_pm1a_cnt_blk), f.pm1a_cnt_blk),
		.pm1b_cnt = io_block(FADT_FIELD(f, len, x_pm1b_cnt_blk), f.pm1b_cnt_blk),
		.pm1_evt_len = f.pm1_evt_len,
		.gpe0_blk = io_block(FADT_FIELD(f, len, x_gpe0_blk), f.gpe0_blk),
		.gpe1_blk = io_block(FADT_FIELD(f, len, x_gpe1_blk), f.gpe1_blk),
		.gpe0_len = f.gpe0_blk_len,
		.gpe1_len = f.gpe1_blk_len,
		.dsdt = x_dsdt ? x_dsdt : f.dsdt,
		.has_reset = reset,
		/* Without the flag RESET_REG is not defined, even if present. */
		.reset_reg = reset ? gas_info(f.reset_reg) : (struct acpi_gas){ 0 },
		.reset_value = reset ? f.reset_value : 0,
		.sleep_ctl = gas_info(FADT_FIELD(f, len, sleep_control_reg)),
	};
	return 0;
}

/* Apply one interrupt controller structure of elen bytes (elen >= 2 and
 * within the table). Types Keel does not use are skipped silently. */
static void madt_entry(struct acpi_madt_info *m, const uint8_t *e, size_t elen)
{
	struct madt_ioapic io;
	struct madt_iso iso;
	struct madt_lapic_override lo;
	switch (e[0]) {
	case MADT_LAPIC:
	case MADT_X2APIC: {
		size_t at = e[0] == MADT_LAPIC ? MADT_LAPIC_FLAGS_OFF : MADT_X2APIC_FLAGS_OFF;
		if (elen < at + 4)
			break;
		m->cpus += (le(e + at, 4) & MADT_CPU_ENABLED) != 0;
		return;
	}
	case MADT_IOAPIC:
		if (elen < sizeof io || m->n_ioapics == ACPI_MAX_IOAPICS)
			break;
		memcpy(&io, e, sizeof io);
		m->ioapics[m->n_ioapics++] = (struct acpi_ioapic){ io.id, io.addr, io.gsi_base };
		return;
	case MADT_ISO:
		/* Bus 0 (ISA) is the only one defined; sources are ISA IRQs. */
		if (elen < sizeof iso || m->n_overrides == ACPI_MAX_OVERRIDES)
			break;
		memcpy(&iso, e, sizeof iso);
		if (iso.bus != 0 || iso.source >= 16)
			break;
		m->overrides[m->n_overrides++] = (struct acpi_override){ iso.source, iso.gsi, iso.flags };
		return;
	case MADT_LAPIC_OVERRIDE:
		if (elen < sizeof lo)
			break;
		memcpy(&lo, e, sizeof lo);
		m->lapic_addr = lo.addr;
		return;
	default:
		return;
	}
	m->skipped++;
}

int acpi_madt_parse(const void *tbl, size_t len, struct acpi_madt_info *out)
{
	const uint8_t *p = tbl;
	struct madt h;
	memset(out, 0, sizeof *out);
	if (len < sizeof h)
		return -EINVAL;
	memcpy(&h, p, sizeof h);
	out->lapic_addr = h.lapic_addr;
	out->flags = h.flags;
	for (size_t off = sizeof h; off < len;) {
		size_t elen = len - off >= 2 ? p[off + 1] : 0;
		if (elen < 2 || elen > len - off) {
			out->skipped++; /* a zero length would loop forever */
			break;
		}
		madt_entry(out, p + off, elen);
		off += elen;
	}
	return 0;
}

unsigned acpi_inti_flags(uint16_t inti, unsigned bus_default)
{
	unsigned pol = INTI_POLARITY(inti), trig = INTI_TRIGGER(inti), f = 0;
	if (pol == INTI_LOW_OR_LEVEL || (pol != INTI_HIGH_OR_EDGE && (bus_default & IRQ_ACTIVE_LOW)))
		f |= IRQ_ACTIVE_LOW;
	if (trig == INTI_LOW_OR_LEVEL || (trig != INTI_HIGH_OR_EDGE && (bus_default & IRQ_LEVEL)))
		f |= IRQ_LEVEL;
	return f;
}

unsigned acpi_madt_isa_to_gsi(const struct acpi_madt_info *m, unsigned isa_irq, unsigned bus_default,
			      unsigned *flags)
{
	for (int i = 0; i < m->n_overrides; i++) {
		if (m->overrides[i].isa_irq == isa_irq) {
			*flags = acpi_inti_flags(m->overrides[i].inti, bus_default);
			return m->overrides[i].gsi;
		}
	}
	/* §5.2.12.5: without an override, ISA IRQs are identity-mapped onto
	 * the first GSIs. */
	*flags = bus_default;
	return isa_irq;
}

/* §20.2.4 PkgLength: bits 7:6 of the lead byte count the bytes that
 * follow (0-3). With none, bits 5:0 are the length; otherwise bits 3:0 are
 * its low nibble and each following byte adds 8 more bits. Returns the
 * encoding's size, or 0 if it runs past len. */
size_t acpi_aml_pkg_length(const uint8_t *p, size_t len, size_t at, uint32_t *out)
{
	size_t follow = at < len ? p[at] >> 6 : 0;
	if (at >= len || len - at < 1 + follow)
		return 0;
	if (follow == 0) {
		*out = p[at] & 0x3f;
		return 1;
	}
	*out = (uint32_t)(p[at] & 0x0f) | (uint32_t)le(p + at + 1, follow) << 4;
	return 1 + follow;
}

/* One ComputationalData integer (§20.2.3) at *at, inside [.., end). */
int acpi_aml_integer(const uint8_t *p, size_t end, size_t *at, uint64_t *v)
{
	size_t n;
	if (*at >= end)
		return -EBADMSG;
	switch (p[(*at)++]) {
	case AML_ZERO_OP: *v = 0; return 0;
	case AML_ONE_OP: *v = 1; return 0;
	case AML_ONES_OP: *v = ~(uint64_t)0; return 0;
	case AML_BYTE_PREFIX: n = 1; break;
	case AML_WORD_PREFIX: n = 2; break;
	case AML_DWORD_PREFIX: n = 4; break;
	case AML_QWORD_PREFIX: n = 8; break;
	default: return -EBADMSG;
	}
	if (end - *at < n)
		return -EBADMSG;
	*v = le(p + *at, n);
	*at += n;
	return 0;
}

/* DefPackage := PackageOp PkgLength NumElements PackageElementList
 * (§20.2.5.4) at p[at]; the first two elements are SLP_TYPa and SLP_TYPb
 * (§7.4.2). PkgLength counts itself and must stay inside the stream. */
static int s5_package(const uint8_t *p, size_t len, size_t at, struct acpi_s5 *out)
{
	uint32_t plen = 0;
	uint64_t a, b;
	size_t n = (at < len && p[at] == AML_PACKAGE_OP) ? acpi_aml_pkg_length(p, len, at + 1, &plen) : 0;
	size_t start = at + 1, end = start + plen, i = start + n + 1;
	if (n == 0 || plen < n + 1 || plen > len - start || p[start + n] < 2)
		return -EBADMSG;
	if (acpi_aml_integer(p, end, &i, &a) < 0 || acpi_aml_integer(p, end, &i, &b) < 0)
		return -EBADMSG;
	out->slp_typa = (uint8_t)(a & SLP_TYP_MASK);
	out->slp_typb = (uint8_t)(b & SLP_TYP_MASK);
	return 0;
}

int acpi_aml_find_s5(const void *aml, size_t len, struct acpi_s5 *out)
{
	const uint8_t *p = aml;
	int err = -ENOENT;
	/* A byte search, not a parse: Keel has no AML interpreter. NameOp,
	 * then "_S5_" or the root-prefixed "\_S5_" (§20.2.2), then a literal
	 * package. Anything else that merely contains the bytes is skipped. */
	for (size_t i = 0; i < len; i++) {
		size_t at = i + 1;
		if (p[i] != AML_NAME_OP)
			continue;
		if (at < len && p[at] == AML_ROOT_CHAR)
			at++;
		if (len - at < sizeof s5_name || memcmp(p + at, s5_name, sizeof s5_name) != 0)
			continue;
		err = s5_package(p, len, at + sizeof s5_name, out);
		if (err == 0)
			return 0;
	}
	return err;
}

/* ---- Devices by _HID (acpi_aml_find_devices) ---- */

#define AML_EXT_OP_PREFIX 0x5b /* §20.2.5.2: ExtOpPrefix, then DeviceOp 0x82 */
#define AML_DEVICE_OP 0x82
#define AML_STRING_PREFIX 0x0d /* §20.2.3 */
#define AML_BUFFER_OP 0x11     /* §20.2.5.4 DefBuffer */
#define AML_PARENT_CHAR 0x5e   /* §20.2.2 '^' */
#define AML_DUAL_NAME 0x2e
#define AML_MULTI_NAME 0x2f

/* Resource descriptors (§6.4): small ones keep their type in bits 6:3 of
 * the tag and their length in bits 2:0; large ones are the whole tag byte
 * followed by a 16-bit length. */
#define RES_LARGE 0x80u
#define RES_SMALL_END 0x0fu      /* §6.4.2.9 End Tag (0x79) */
#define RES_MEMORY32_FIXED 0x86u /* §6.4.3.4: info, base, length */
#define RES_EXT_IRQ 0x89u        /* §6.4.3.6: flags, count, interrupts */
#define RES_EXT_IRQ_EDGE 0x02u   /* flags bit 1: edge (else level) */
#define RES_EXT_IRQ_LOW 0x04u    /* flags bit 2: active-low (else high) */

static const uint8_t device_op[2] = { AML_EXT_OP_PREFIX, AML_DEVICE_OP };
static const uint8_t hid_name[6] = { AML_NAME_OP, '_', 'H', 'I', 'D', AML_STRING_PREFIX };
static const uint8_t crs_name[6] = { AML_NAME_OP, '_', 'C', 'R', 'S', AML_BUFFER_OP };

/* Offset of needle[0, n) in p[from, end), or end if it is not there. */
static size_t find_bytes(const uint8_t *p, size_t from, size_t end, const uint8_t *needle, size_t n)
{
	for (size_t i = from; i < end && end - i >= n; i++)
		if (memcmp(p + i, needle, n) == 0)
			return i;
	return end;
}

/* Length of the NameString (§20.2.2) at p[at], or 0 if it runs past end. */
static size_t name_string_len(const uint8_t *p, size_t end, size_t at)
{
	size_t i = at, segs = 1;
	if (i < end && p[i] == AML_ROOT_CHAR)
		i++;
	while (i < end && p[i] == AML_PARENT_CHAR)
		i++;
	if (i >= end)
		return 0;
	if (p[i] == 0) /* NullName */
		return i + 1 - at;
	if (p[i] == AML_DUAL_NAME) {
		segs = 2;
		i++;
	} else if (p[i] == AML_MULTI_NAME) {
		if (end - i < 2)
			return 0;
		segs = p[i + 1];
		i += 2;
	}
	return (end - i) / 4 >= segs ? i + 4 * segs - at : 0;
}

/* The descriptors of a resource template in p[at, end), up to its End
 * Tag; the first of each kind Keel reads is kept. A descriptor running
 * past the template ends the walk. */
static void crs_descriptors(const uint8_t *p, size_t at, size_t end, struct acpi_aml_device *d)
{
	while (at < end) {
		uint8_t tag = p[at];
		size_t body = at + 1, n = tag & 7u;
		if (tag & RES_LARGE) {
			if (end - at < 3)
				return;
			body = at + 3;
			n = (size_t)le(p + at + 1, 2);
		} else if ((tag >> 3 & 0x0fu) == RES_SMALL_END) {
			return;
		}
		if (end - body < n)
			return;
		if (tag == RES_MEMORY32_FIXED && n >= 9 && !d->mem_len) {
			d->mem_base = le(p + body + 1, 4);
			d->mem_len = (uint32_t)le(p + body + 5, 4);
		} else if (tag == RES_EXT_IRQ && n >= 6 && p[body + 1] >= 1 && !d->has_irq) {
			d->has_irq = true;
			d->gsi = (uint32_t)le(p + body + 2, 4);
			d->irq_flags = (p[body] & RES_EXT_IRQ_EDGE ? 0 : IRQ_LEVEL) |
				       (p[body] & RES_EXT_IRQ_LOW ? IRQ_ACTIVE_LOW : 0);
		}
		at = body + n;
	}
}

/* Name(_CRS, Buffer(){...}) in p[from, end): DefBuffer := BufferOp
 * PkgLength BufferSize ByteList (§19.6.10); the bytes are the template. */
static bool device_crs(const uint8_t *p, size_t from, size_t end, struct acpi_aml_device *d)
{
	size_t k = find_bytes(p, from, end, crs_name, sizeof crs_name);
	uint32_t plen = 0;
	uint64_t size;
	size_t n = k < end ? acpi_aml_pkg_length(p, end, k + sizeof crs_name, &plen) : 0;
	size_t start = k + sizeof crs_name, i = start + n;
	if (n == 0 || plen < n || plen > end - start || acpi_aml_integer(p, start + plen, &i, &size) < 0)
		return false;
	crs_descriptors(p, i, size < start + plen - i ? i + size : start + plen, d);
	return d->mem_len || d->has_irq;
}

/* Name(_HID, "hid") in p[from, end). */
static bool device_hid_is(const uint8_t *p, size_t from, size_t end, const char *hid)
{
	size_t k = find_bytes(p, from, end, hid_name, sizeof hid_name), n = strlen(hid) + 1;
	return k < end && end - (k + sizeof hid_name) >= n && memcmp(p + k + sizeof hid_name, hid, n) == 0;
}

int acpi_aml_find_devices(const void *aml, size_t len, const char *hid, struct acpi_aml_device *out, int max)
{
	const uint8_t *p = aml;
	int found = 0;
	/* A byte search, not a parse, like acpi_aml_find_s5: DefDevice :=
	 * DeviceOp PkgLength NameString TermList (§19.6.31). A device's own
	 * Name()s come before its first nested Device (QEMU and iasl emit
	 * them first); nested devices are found by the search on their own. */
	for (size_t i = find_bytes(p, 0, len, device_op, 2); i < len; i = find_bytes(p, i + 1, len, device_op, 2)) {
		uint32_t plen = 0;
		size_t start = i + 2, n = acpi_aml_pkg_length(p, len, start, &plen);
		if (n == 0 || plen < n || plen > len - start)
			continue;
		size_t end = start + plen, name = start + n, nlen = name_string_len(p, end, name);
		if (nlen == 0)
			continue;
		size_t own_end = find_bytes(p, name + nlen, end, device_op, 2);
		struct acpi_aml_device d = { 0 };
		if (!device_hid_is(p, name + nlen, own_end, hid) || !device_crs(p, name + nlen, own_end, &d))
			continue;
		if (found < max)
			out[found] = d;
		found++;
	}
	return found;
}
