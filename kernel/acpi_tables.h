/* Pure ACPI table parsers: firmware bytes in, plain structs out. No
 * hardware access and no allocation, so they run on the host under the
 * sanitizers (tests/host/test_acpi_tables.c). Every function takes the
 * length of its buffer and never reads past it, whatever the bytes claim:
 * the tables come from firmware and are untrusted. Section numbers are
 * ACPI 6.5. Multi-byte fields are little-endian (§5.2). */
#ifndef KEEL_ACPI_TABLES_H
#define KEEL_ACPI_TABLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/acpi.h"
#include "kernel/irq.h"

#define ACPI_SDT_HDR_LEN 36u /* §5.2.6 System Description Table Header */
#define ACPI_RSDP_V1_LEN 20u /* §5.2.5.3: the ACPI 1.0 part, first checksum */
#define ACPI_RSDP_V2_LEN 36u /* §5.2.5.3: whole structure, extended checksum */
#define ACPI_FADT_V1_LEN 116u /* §5.2.9: ACPI 1.0 FADT, through Flags */

/* Generic Address Structure address spaces (§5.2.3.2). */
#define ACPI_GAS_SYSTEM_MEMORY 0
#define ACPI_GAS_SYSTEM_IO 1
#define ACPI_GAS_PCI_CONFIG 2

/* FADT Fixed Feature Flags (§5.2.9, Table "Fixed ACPI Description Table
 * Fixed Feature Flags"). */
#define ACPI_FADT_PWR_BUTTON (1u << 4) /* power button is a control method device */
#define ACPI_FADT_RESET_REG_SUP (1u << 10)
#define ACPI_FADT_HW_REDUCED (1u << 20) /* no fixed hardware: no PM1 blocks, no SCI_EN */

/* Interrupt polarity/trigger when an override says "conforms to the bus"
 * (§5.2.12.5): ISA is edge-triggered, active-high; the SCI is a sharable,
 * level-triggered, active-low interrupt (§5.2.9, SCI_INT). */
#define ACPI_ISA_DEFAULT_FLAGS 0u
#define ACPI_SCI_DEFAULT_FLAGS (IRQ_LEVEL | IRQ_ACTIVE_LOW)

#define ACPI_MAX_OVERRIDES 16

struct acpi_rsdp_info {
	uint8_t revision; /* 0: ACPI 1.0, 2: ACPI 2.0 and later */
	char oem_id[7];   /* printable, trailing blanks trimmed */
	uint64_t root_pa; /* XSDT if xsdt, else RSDT */
	bool xsdt;
};

/* A parsed Generic Address Structure (§5.2.3.2). */
struct acpi_gas {
	uint8_t space, bit_width, bit_offset, access_size;
	uint64_t address;
};

/* The FADT fields Keel uses (§5.2.9). Register blocks are I/O ports, 0 when
 * absent or not in system I/O space. */
struct acpi_fadt_info {
	uint8_t revision;
	uint32_t flags; /* ACPI_FADT_* */
	uint16_t sci_int;
	uint32_t smi_cmd; /* port; 0: no legacy mode, always in ACPI mode */
	uint8_t acpi_enable;
	uint16_t pm1a_evt, pm1b_evt, pm1a_cnt, pm1b_cnt;
	uint8_t pm1_evt_len; /* bytes; PM1x_EN starts at PM1x_EVT_BLK + len/2 */
	uint16_t gpe0_blk, gpe1_blk;
	uint8_t gpe0_len, gpe1_len;
	uint64_t dsdt; /* X_DSDT if set, else DSDT */
	bool has_reset; /* RESET_REG_SUP and the FADT is long enough */
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	/* §4.8.3.7 SLEEP_CONTROL_REG (hardware-reduced platforms); address 0
	 * when the FADT is too old or has none. */
	struct acpi_gas sleep_ctl;
};

/* An Interrupt Source Override (§5.2.12.5) for an ISA IRQ. */
struct acpi_override {
	uint8_t isa_irq;
	uint32_t gsi;
	uint16_t inti; /* MPS INTI flags: polarity bits 1:0, trigger bits 3:2 */
};

struct acpi_madt_info {
	uint64_t lapic_addr; /* 32-bit field, or the type 5 override */
	uint32_t flags;      /* bit 0 PCAT_COMPAT: dual 8259s present */
	int n_ioapics;
	struct acpi_ioapic ioapics[ACPI_MAX_IOAPICS];
	int n_overrides;
	struct acpi_override overrides[ACPI_MAX_OVERRIDES];
	unsigned cpus;    /* Processor Local APIC/x2APIC entries marked Enabled */
	unsigned skipped; /* entries malformed, not ISA, or beyond the static limits */
};

/* SLP_TYPx values for S5 from \_S5 (§7.4.2), already cut to 3 bits. */
struct acpi_s5 {
	uint8_t slp_typa, slp_typb;
};

/* Copy n bytes of a firmware string into dst (n + 1 bytes): non-printable
 * bytes become '?', trailing blanks are dropped, dst is NUL-terminated. */
void acpi_printable(char *dst, const void *src, size_t n);

/* The Length field of an SDT header, or 0 if avail < ACPI_SDT_HDR_LEN. */
uint32_t acpi_sdt_length(const void *hdr, size_t avail);
/* Check an SDT: header within avail, ACPI_SDT_HDR_LEN <= Length <= avail,
 * signature sig (4 chars; NULL for any) and a zero byte sum over Length.
 * Returns 0, -EOVERFLOW (truncated), -EINVAL (Length below the header),
 * -ENOENT (other signature) or -EBADMSG (checksum). */
int acpi_sdt_validate(const void *tbl, size_t avail, const char *sig);

/* Parse an RSDP at buf (avail bytes). Returns 0, -ENOENT (no signature),
 * -EOVERFLOW (truncated), -EBADMSG (checksum) or -EINVAL (no root table). */
int acpi_rsdp_parse(const void *buf, size_t avail, struct acpi_rsdp_info *out);
/* Offset of the first valid RSDP on a 16-byte boundary of buf, or -ENOENT.
 * buf must start on a 16-byte physical boundary (§5.2.5.1). */
long acpi_rsdp_scan(const void *buf, size_t len);

/* Entries of a validated RSDT (4-byte) or XSDT (8-byte) of len bytes
 * (§5.2.7, §5.2.8); acpi_root_entry returns 0 when i is out of range. */
size_t acpi_root_count(size_t len, bool xsdt);
uint64_t acpi_root_entry(const void *tbl, size_t len, bool xsdt, size_t i);

/* Parse a validated FADT of len bytes. Fields beyond len read as absent.
 * Returns 0 or -EINVAL if shorter than ACPI_FADT_V1_LEN. */
int acpi_fadt_parse(const void *tbl, size_t len, struct acpi_fadt_info *out);

/* Parse a validated MADT of len bytes; a malformed entry ends the walk and
 * is counted in skipped. Returns 0 or -EINVAL if the fixed part is short. */
int acpi_madt_parse(const void *tbl, size_t len, struct acpi_madt_info *out);
/* IRQ_LEVEL / IRQ_ACTIVE_LOW for MPS INTI flags; "conforms to the bus"
 * (and the reserved encoding) take the matching bit of bus_default. */
unsigned acpi_inti_flags(uint16_t inti, unsigned bus_default);
/* The GSI of ISA IRQ isa_irq, and its flags: from its override, else the
 * identity mapping with bus_default (§5.2.12.5). */
unsigned acpi_madt_isa_to_gsi(const struct acpi_madt_info *m, unsigned isa_irq, unsigned bus_default,
			      unsigned *flags);

/* Find Name(\_S5, Package(){a, b, ...}) in an AML byte stream (a DSDT or
 * SSDT body, after its header) and read its first two integers. Returns 0,
 * -ENOENT if there is no such name, or -EBADMSG if the only ones found are
 * malformed or not literal packages (e.g. a method). */
int acpi_aml_find_s5(const void *aml, size_t len, struct acpi_s5 *out);

/* Find Device (§19.6.31) scopes in an AML byte stream whose own _HID is
 * the string `hid` and whose own _CRS is a literal resource template
 * holding a Memory32Fixed and/or an Extended Interrupt descriptor, e.g.
 * QEMU microvm's virtio-mmio transports (_HID "LNRO0005"). Stores up to
 * max of them in out, in stream order, and returns how many were found
 * (which may exceed max). A device's "own" names are those before its
 * first nested Device; malformed scopes and templates are skipped. */
int acpi_aml_find_devices(const void *aml, size_t len, const char *hid, struct acpi_aml_device *out, int max);

/* AML primitives for byte scanners (§20.2). acpi_aml_pkg_length decodes
 * the PkgLength at p[at] (§20.2.4) into *out and returns its encoded size,
 * or 0 if it runs past len. acpi_aml_integer reads one ComputationalData
 * integer (§20.2.3: Zero, One, Ones, or a Byte/Word/DWord/QWord constant)
 * at *at, advancing *at; -EBADMSG if it is none or crosses end. */
size_t acpi_aml_pkg_length(const uint8_t *p, size_t len, size_t at, uint32_t *out);
int acpi_aml_integer(const uint8_t *p, size_t end, size_t *at, uint64_t *v);

#endif
