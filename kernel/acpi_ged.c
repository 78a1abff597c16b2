/* The Generic Event Device found by a byte scan (see acpi_ged.h). QEMU 7.2
 * (hw/acpi/generic_event_device.c, build_ged_aml) emits for microvm:
 *
 *   5b 82 4c 06 "GED_"                       Device (GED_), PkgLength 108
 *     08 "_HID" 0d "ACPI0013" 00             Name (_HID, "ACPI0013")
 *     08 "_UID" 0d "GED" 00                  Name (_UID, "GED")
 *     08 "_CRS" 11 0e 0a 0b                  Name (_CRS, Buffer (11) {
 *       89 06 00 03 01 09 00 00 00             Interrupt (Consumer, Edge,
 *       79 00                                    ActiveHigh, Exclusive) {9} })
 *     5b 80 "EREG" 00 0c 000000a0fe 0a 04    OperationRegion (EREG,
 *                                              SystemMemory, 0xfea00000, 4)
 *     5b 81 0b "EREG" 43 "ESEL" 20           Field (EREG, DWordAcc, ...)
 *                                              { ESEL, 32 }
 *     14 1d "_EVT" ...                       Method (_EVT): Local0 = ESEL ...
 *
 * Each piece is matched by its opcode bytes and checked against the
 * lengths it declares and the Device's extent; a byte pattern inside data
 * that happens to look like one fails those checks or is skipped. Every
 * loop is bounded by the stream length. Section numbers are ACPI 6.5. */
#include "kernel/acpi_ged.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "kernel/acpi_tables.h"
#include "kernel/irq.h"

#define AML_NAME_OP 0x08        /* §20.2.5.1 DefName */
#define AML_STRING_PREFIX 0x0d  /* §20.2.3 */
#define AML_BUFFER_OP 0x11      /* §20.2.5.4 DefBuffer */
#define AML_EXT_OP 0x5b
#define AML_OPREGION_OP 0x80    /* after 0x5b: §20.2.5.2 DefOpRegion */
#define AML_FIELD_OP 0x81       /* after 0x5b: §20.2.5.2 DefField */
#define AML_DEVICE_OP 0x82      /* after 0x5b: §20.2.5.2 DefDevice */
#define AML_ROOT_CHAR 0x5c      /* §20.2.2 NameString prefixes */
#define AML_PARENT_CHAR 0x5e
#define AML_DUAL_NAME 0x2e
#define AML_MULTI_NAME 0x2f
#define AML_SYSTEM_MEMORY 0x00  /* RegionSpace (§19.6.100) */
#define NAMESEG_LEN 4
#define ESEL_BITS 32

/* §6.4.3.6 Extended Interrupt Descriptor: 0x89, 16-bit length, flags
 * (bit 1 edge, bit 2 active-low), table length, then 32-bit interrupts. */
#define RES_LARGE 0x80
#define RES_EXT_IRQ 0x89
#define RES_END_TAG 0x0f /* small item name (§6.4.2.9) */
#define EXT_IRQ_EDGE (1u << 1)
#define EXT_IRQ_LOW (1u << 2)
#define EXT_IRQ_MIN_LEN 6 /* flags, count, one interrupt */

static const uint8_t ged_hid[] = { AML_NAME_OP, '_', 'H', 'I', 'D', AML_STRING_PREFIX,
				   'A', 'C', 'P', 'I', '0', '0', '1', '3', 0 };
static const uint8_t crs_name[] = { AML_NAME_OP, '_', 'C', 'R', 'S', AML_BUFFER_OP };

/* A span of the stream: bytes [start, end) of p. */
struct span {
	const uint8_t *p;
	size_t start, end;
};

static bool has(const struct span *s, size_t at, size_t n) { return at <= s->end && s->end - at >= n; }

static bool match(const struct span *s, size_t at, const void *bytes, size_t n)
{
	return has(s, at, n) && memcmp(s->p + at, bytes, n) == 0;
}

static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

/* §20.2.2 NameSeg: a lead character A-Z or '_', then A-Z, 0-9 or '_'. */
static bool nameseg(const struct span *s, size_t at)
{
	if (!has(s, at, NAMESEG_LEN))
		return false;
	for (size_t i = 0; i < NAMESEG_LEN; i++) {
		uint8_t c = s->p[at + i];
		if (!((c >= 'A' && c <= 'Z') || c == '_' || (i && c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

/* The size of the NameString at `at` (§20.2.2), or 0 if it is not one. */
static size_t name_string(const struct span *s, size_t at)
{
	size_t i = at, segs = 1;
	if (has(s, i, 1) && s->p[i] == AML_ROOT_CHAR)
		i++;
	else
		while (has(s, i, 1) && s->p[i] == AML_PARENT_CHAR && i - at < 32)
			i++;
	if (has(s, i, 2) && s->p[i] == AML_MULTI_NAME) {
		segs = s->p[i + 1];
		i += 2;
	} else if (has(s, i, 1) && s->p[i] == AML_DUAL_NAME) {
		segs = 2;
		i++;
	}
	for (size_t k = 0; k < segs; k++, i += NAMESEG_LEN)
		if (!nameseg(s, i))
			return 0;
	return segs ? i - at : 0;
}

/* An object whose opcode ends at `at` and whose PkgLength follows: the
 * span from after the PkgLength to its end, if that fits inside s. */
static bool package(const struct span *s, size_t at, struct span *body)
{
	uint32_t plen;
	size_t n = acpi_aml_pkg_length(s->p, s->end, at, &plen);
	if (n == 0 || plen < n || !has(s, at, plen))
		return false;
	*body = (struct span){ s->p, at + n, at + plen };
	return true;
}

/* The innermost Device (§20.2.5.2 DefDevice := 0x5b 0x82 PkgLength
 * NameString TermList) of s whose TermList holds offset `at`. */
static bool device_around(const struct span *s, size_t at, struct span *dev)
{
	bool found = false;
	for (size_t i = s->start; i + 2 <= at; i++) {
		struct span d;
		size_t name;
		if (s->p[i] != AML_EXT_OP || s->p[i + 1] != AML_DEVICE_OP || !package(s, i + 2, &d))
			continue;
		name = name_string(&d, d.start);
		if (name && d.start + name <= at && at < d.end) {
			*dev = (struct span){ s->p, d.start + name, d.end };
			found = true;
		}
	}
	return found;
}

/* The first interrupt of a resource template (§6.4): small items are a
 * tag byte with 3 length bits, large items a tag and a 16-bit length. */
static bool crs_interrupt(const struct span *r, struct acpi_ged *out)
{
	for (size_t i = r->start; has(r, i, 1);) {
		uint8_t tag = r->p[i];
		if (!(tag & RES_LARGE)) {
			if (((tag >> 3) & 0x0f) == RES_END_TAG)
				return false;
			i += 1 + (tag & 7u);
			continue;
		}
		if (!has(r, i, 3))
			return false;
		size_t n = (size_t)r->p[i + 1] | (size_t)r->p[i + 2] << 8;
		if (!has(r, i + 3, n))
			return false;
		if (tag == RES_EXT_IRQ && n >= EXT_IRQ_MIN_LEN && r->p[i + 4] >= 1) {
			uint8_t f = r->p[i + 3];
			out->gsi = le32(r->p + i + 5);
			out->flags = (f & EXT_IRQ_EDGE ? 0 : IRQ_LEVEL) | (f & EXT_IRQ_LOW ? IRQ_ACTIVE_LOW : 0);
			return true;
		}
		i += 3 + n;
	}
	return false;
}

/* Name(_CRS, Buffer(size){...}) in the device: DefBuffer := BufferOp
 * PkgLength BufferSize ByteList (§20.2.5.4). */
static bool find_crs(const struct span *dev, struct acpi_ged *out)
{
	for (size_t i = dev->start; has(dev, i, sizeof crs_name); i++) {
		struct span buf;
		uint64_t size;
		if (!match(dev, i, crs_name, sizeof crs_name) || !package(dev, i + sizeof crs_name, &buf))
			continue;
		if (acpi_aml_integer(buf.p, buf.end, &buf.start, &size) < 0)
			continue;
		if (size < buf.end - buf.start)
			buf.end = buf.start + (size_t)size;
		if (crs_interrupt(&buf, out))
			return true;
	}
	return false;
}

/* DefField := 0x5b 0x81 PkgLength NameString(region) FieldFlags
 * FieldList; its first element a NamedField (NameSeg PkgLength-encoded
 * bit width) of 32 bits, at bit 0 of the region. */
static bool field_starts_esel(const struct span *dev, const uint8_t *region)
{
	for (size_t i = dev->start; has(dev, i, 2); i++) {
		struct span f;
		uint32_t bits;
		if (dev->p[i] != AML_EXT_OP || dev->p[i + 1] != AML_FIELD_OP || !package(dev, i + 2, &f))
			continue;
		if (!match(&f, f.start, region, NAMESEG_LEN) || !nameseg(&f, f.start + NAMESEG_LEN + 1))
			continue;
		size_t at = f.start + 2 * NAMESEG_LEN + 1;
		if (acpi_aml_pkg_length(f.p, f.end, at, &bits) && bits == ESEL_BITS)
			return true;
	}
	return false;
}

/* DefOpRegion := 0x5b 0x80 NameSeg RegionSpace RegionOffset RegionLen
 * (§20.2.5.2), in SystemMemory, at least 4 bytes, with an ESEL field. */
static bool find_esel(const struct span *dev, struct acpi_ged *out)
{
	for (size_t i = dev->start; has(dev, i, 2 + NAMESEG_LEN + 1); i++) {
		uint64_t addr, size;
		size_t at = i + 2 + NAMESEG_LEN + 1;
		if (dev->p[i] != AML_EXT_OP || dev->p[i + 1] != AML_OPREGION_OP || !nameseg(dev, i + 2) ||
		    dev->p[at - 1] != AML_SYSTEM_MEMORY)
			continue;
		if (acpi_aml_integer(dev->p, dev->end, &at, &addr) < 0 ||
		    acpi_aml_integer(dev->p, dev->end, &at, &size) < 0 || size < ESEL_BITS / 8 || addr == 0)
			continue;
		if (field_starts_esel(dev, dev->p + i + 2)) {
			out->esel = addr;
			return true;
		}
	}
	return false;
}

int acpi_aml_find_ged(const void *aml, size_t len, struct acpi_ged *out)
{
	const struct span all = { aml, 0, len };
	int err = -ENOENT;
	for (size_t i = 0; has(&all, i, sizeof ged_hid); i++) {
		struct span dev;
		struct acpi_ged g;
		if (!match(&all, i, ged_hid, sizeof ged_hid))
			continue;
		err = -EBADMSG;
		if (device_around(&all, i, &dev) && find_crs(&dev, &g) && find_esel(&dev, &g)) {
			*out = g;
			return 0;
		}
	}
	return err;
}
