/*
 * Host tests for kernel/acpi_ged.c: the Generic Event Device byte scan.
 *
 * The reference input is the DSDT body (after its 36-byte header) QEMU
 * 7.2.22 generates for `-M microvm`, dumped from a guest. Hand-built
 * variants change one piece at a time. Every input is scanned from a copy
 * that ends right before a PROT_NONE page, so one byte read past the
 * buffer faults, and every prefix of the reference is scanned too.
 */
#include "tests/host/test.h"

#include "kernel/acpi_ged.h"
#include "kernel/irq.h"

#include <errno.h>
#include <stdint.h>

/* \_SB { FWCF, COM1, RTC_, GED_, PWRB }, then \_S5. */
static const uint8_t microvm[] = {
	0x10, 0x4a, 0x11, 0x5f, 0x53, 0x42, 0x5f, 0x5b, 0x82, 0x2e, 0x46, 0x57,
	0x43, 0x46, 0x08, 0x5f, 0x48, 0x49, 0x44, 0x0d, 0x51, 0x45, 0x4d, 0x55,
	0x30, 0x30, 0x30, 0x32, 0x00, 0x08, 0x5f, 0x53, 0x54, 0x41, 0x0a, 0x0b,
	0x08, 0x5f, 0x43, 0x52, 0x53, 0x11, 0x0d, 0x0a, 0x0a, 0x47, 0x01, 0x10,
	0x05, 0x10, 0x05, 0x01, 0x0c, 0x79, 0x00, 0x5b, 0x82, 0x32, 0x43, 0x4f,
	0x4d, 0x31, 0x08, 0x5f, 0x48, 0x49, 0x44, 0x0c, 0x41, 0xd0, 0x05, 0x01,
	0x08, 0x5f, 0x55, 0x49, 0x44, 0x01, 0x08, 0x5f, 0x53, 0x54, 0x41, 0x0a,
	0x0f, 0x08, 0x5f, 0x43, 0x52, 0x53, 0x11, 0x10, 0x0a, 0x0d, 0x47, 0x01,
	0xf8, 0x03, 0xf8, 0x03, 0x00, 0x08, 0x22, 0x10, 0x00, 0x79, 0x00, 0x5b,
	0x82, 0x25, 0x52, 0x54, 0x43, 0x5f, 0x08, 0x5f, 0x48, 0x49, 0x44, 0x0c,
	0x41, 0xd0, 0x0b, 0x00, 0x08, 0x5f, 0x43, 0x52, 0x53, 0x11, 0x10, 0x0a,
	0x0d, 0x47, 0x01, 0x70, 0x00, 0x70, 0x00, 0x01, 0x08, 0x22, 0x00, 0x01,
	0x79, 0x00, 0x5b, 0x82, 0x4c, 0x06, 0x47, 0x45, 0x44, 0x5f, 0x08, 0x5f,
	0x48, 0x49, 0x44, 0x0d, 0x41, 0x43, 0x50, 0x49, 0x30, 0x30, 0x31, 0x33,
	0x00, 0x08, 0x5f, 0x55, 0x49, 0x44, 0x0d, 0x47, 0x45, 0x44, 0x00, 0x08,
	0x5f, 0x43, 0x52, 0x53, 0x11, 0x0e, 0x0a, 0x0b, 0x89, 0x06, 0x00, 0x03,
	0x01, 0x09, 0x00, 0x00, 0x00, 0x79, 0x00, 0x5b, 0x80, 0x45, 0x52, 0x45,
	0x47, 0x00, 0x0c, 0x00, 0x00, 0xa0, 0xfe, 0x0a, 0x04, 0x5b, 0x81, 0x0b,
	0x45, 0x52, 0x45, 0x47, 0x43, 0x45, 0x53, 0x45, 0x4c, 0x20, 0x14, 0x1d,
	0x5f, 0x45, 0x56, 0x54, 0x09, 0x70, 0x45, 0x53, 0x45, 0x4c, 0x60, 0xa0,
	0x10, 0x93, 0x7b, 0x60, 0x0a, 0x02, 0x00, 0x0a, 0x02, 0x86, 0x50, 0x57,
	0x52, 0x42, 0x0a, 0x80, 0x5b, 0x82, 0x19, 0x50, 0x57, 0x52, 0x42, 0x08,
	0x5f, 0x48, 0x49, 0x44, 0x0d, 0x50, 0x4e, 0x50, 0x30, 0x43, 0x30, 0x43,
	0x00, 0x08, 0x5f, 0x55, 0x49, 0x44, 0x00, 0x10, 0x10, 0x5c, 0x00, 0x08,
	0x5f, 0x53, 0x35, 0x5f, 0x12, 0x07, 0x04, 0x0a, 0x05, 0x00, 0x00, 0x00,
};

#define GED_AT 146    /* 5b 82 4c 06 "GED_" */
#define GED_END 256 /* one past the Device's last byte */

static int find(const uint8_t *aml, size_t len, struct acpi_ged *g)
{
	memset(g, 0xee, sizeof(*g));
	return acpi_aml_find_ged(test_guarded_n(aml, len), len, g);
}

/* Offset of the first occurrence of the n bytes at pat in the reference's
 * GED (other devices have a _CRS too). */
static size_t at(const void *pat, size_t n)
{
	for (size_t i = GED_AT; i + n <= sizeof(microvm); i++)
		if (memcmp(microvm + i, pat, n) == 0)
			return i;
	return sizeof(microvm);
}

static void t_qemu_microvm(void)
{
	struct acpi_ged g;
	if (!CHECK(find(microvm, sizeof(microvm), &g) == 0))
		return;
	CHECK(g.gsi == 9);
	CHECK(g.flags == 0); /* Interrupt (Consumer, Edge, ActiveHigh) */
	CHECK(g.esel == 0xfea00000u);
}

/* Every prefix: nothing read past it; the GED is found exactly when its
 * whole Device is inside. */
static void t_truncations(void)
{
	struct acpi_ged g;
	for (size_t n = 0; n <= sizeof(microvm); n++) {
		int err = find(microvm, n, &g);
		if (n >= GED_END)
			CHECK(err == 0 && g.gsi == 9 && g.esel == 0xfea00000u);
		else if (n >= at("\x08_HID\x0d" "ACPI0013", 14) + 15)
			CHECK(err == -EBADMSG);
		else
			CHECK(err == -ENOENT);
	}
}

static void t_no_ged(void)
{
	uint8_t b[sizeof(microvm)];
	struct acpi_ged g;
	memcpy(b, microvm, sizeof(b));
	b[at("ACPI0013", 8) + 7] = '4'; /* ACPI0014 */
	CHECK(find(b, sizeof(b), &g) == -ENOENT);
	CHECK(find(b, 0, &g) == -ENOENT);
}

/* Interrupt flags: bit 1 edge (clear: level), bit 2 active-low. */
static void t_level_low(void)
{
	uint8_t b[sizeof(microvm)];
	struct acpi_ged g;
	size_t irq = at("\x89\x06\x00\x03\x01\x09", 6);
	memcpy(b, microvm, sizeof(b));
	b[irq + 3] = 0x05; /* consumer, level, active-low */
	b[irq + 5] = 40;   /* GSI 40: the second IOAPIC */
	if (CHECK(find(b, sizeof(b), &g) == 0))
		CHECK(g.gsi == 40 && g.flags == (IRQ_LEVEL | IRQ_ACTIVE_LOW));
}

/* One piece broken at a time: each makes the GED unusable, none is read
 * past the buffer. */
static void t_malformed(void)
{
	static const struct {
		const char *what;
		const char *pat;
		size_t patlen, off;
		uint8_t val;
	} cases[] = {
	    {"Device PkgLength past the stream", "\x5b\x82\x4c\x06", 4, 3, 0x7f},
	    {"Device PkgLength ends before _HID", "\x5b\x82\x4c\x06", 4, 2, 0x06},
	    {"Device name not a NameSeg", "\x5b\x82\x4c\x06GED_", 8, 4, '1'},
	    {"no _CRS name", "_CRS", 4, 3, 'X'},
	    {"_CRS holds no Interrupt descriptor", "\x89\x06\x00\x03", 4, 0, 0x86},
	    {"Interrupt descriptor with no interrupts", "\x89\x06\x00\x03\x01", 5, 4, 0},
	    {"Interrupt descriptor length past the buffer", "\x89\x06\x00\x03", 4, 1, 0x40},
	    {"_CRS BufferSize cuts the descriptor", "\x11\x0e\x0a\x0b", 4, 3, 0x05},
	    {"region in SystemIO", "\x5b\x80" "EREG\x00", 7, 6, 0x01},
	    {"region of 2 bytes", "\x0a\x04\x5b\x81", 4, 1, 0x02},
	    {"region offset not an integer", "\x5b\x80" "EREG\x00\x0c", 8, 7, 0x5b},
	    {"Field names another region", "\x5b\x81\x0b" "EREG", 7, 6, 'X'},
	    {"first field 8 bits wide", "ESEL\x20", 5, 4, 0x08},
	    {"first field name not a NameSeg", "ESEL\x20", 5, 0, '0'},
	};
	for (size_t i = 0; i < TEST_COUNT(cases); i++) {
		uint8_t b[sizeof(microvm)];
		struct acpi_ged g;
		size_t off = at(cases[i].pat, cases[i].patlen);
		if (!CHECK(off < sizeof(microvm)))
			continue;
		memcpy(b, microvm, sizeof(b));
		b[off + cases[i].off] = cases[i].val;
		int err = find(b, sizeof(b), &g);
		if (err != -EBADMSG)
			fprintf(stderr, "  %s: %d\n", cases[i].what, err);
		CHECK(err == -EBADMSG);
	}
}

/* The _HID belongs to the innermost Device around it: an outer Device's
 * own region does not count. Outer (OUTR) { OperationRegion (OREG, ...)
 * Field(OREG) {OSEL, 32}, GED_ {...} }, built from the reference bytes. */
static void t_nested(void)
{
	static const uint8_t outer_head[] = {
	    0x5b, 0x80, 'O', 'R', 'E', 'G', 0x00, 0x0c, 0x00, 0x10, 0x00, 0xfe, 0x0a, 0x04,
	    0x5b, 0x81, 0x0b, 'O', 'R', 'E', 'G', 0x43, 'O', 'S', 'E', 'L', 0x20,
	};
	uint8_t b[256];
	struct acpi_ged g;
	size_t dev = GED_END - GED_AT, body = 4 + sizeof(outer_head) + dev, n = 0;
	if (!CHECK(body + 1 < 0x1000))
		return;
	b[n++] = 0x5b;
	b[n++] = 0x82;
	b[n++] = (uint8_t)(0x40 | ((body + 2) & 0x0f)); /* two-byte PkgLength counts itself */
	b[n++] = (uint8_t)((body + 2) >> 4);
	memcpy(b + n, "OUTR", 4);
	n += 4;
	memcpy(b + n, outer_head, sizeof(outer_head));
	n += sizeof(outer_head);
	memcpy(b + n, microvm + GED_AT, dev);
	n += dev;
	if (CHECK(find(b, n, &g) == 0))
		CHECK(g.esel == 0xfea00000u && g.gsi == 9);
	/* With the GED's own region gone, the outer one must not stand in. */
	b[n - dev + (at("\x5b\x80" "EREG", 6) - GED_AT) + 6] = 0x01; /* SystemIO */
	CHECK(find(b, n, &g) == -EBADMSG);
}

/* Every byte of the reference replaced by a few values: whatever the
 * result, the scan stays inside the buffer (the guard page faults). */
static void t_mutations(void)
{
	static const uint8_t vals[] = { 0x00, 0x0c, 0x3f, 0x5b, 0x7f, 0x80, 0xff };
	uint8_t b[sizeof(microvm)];
	struct acpi_ged g;
	for (size_t i = 0; i < sizeof(microvm); i++)
		for (size_t k = 0; k < sizeof(vals); k++) {
			memcpy(b, microvm, sizeof(b));
			b[i] = vals[k];
			int err = find(b, sizeof(b), &g);
			CHECK(err == 0 || err == -ENOENT || err == -EBADMSG);
		}
}

static const struct test_case cases[] = {
    {"QEMU 7.2 microvm DSDT: GSI 9 edge/high, ESEL 0xfea00000", t_qemu_microvm},
    {"every truncation of the microvm DSDT", t_truncations},
    {"no ACPI0013 device", t_no_ged},
    {"level, active-low interrupt on a high GSI", t_level_low},
    {"malformed pieces", t_malformed},
    {"innermost Device owns the _HID", t_nested},
    {"every byte mutated stays in bounds", t_mutations},
};

int main(void)
{
	test_init("acpi_ged");
	test_run(cases, TEST_COUNT(cases));
	return test_finish();
}
