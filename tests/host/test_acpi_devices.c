/*
 * Host tests for acpi_aml_find_devices (kernel/acpi_tables.c): devices by
 * _HID in a DSDT body, with the Memory32Fixed range and the Extended
 * Interrupt of their _CRS, as QEMU's microvm describes its virtio-mmio
 * transports (_HID "LNRO0005").
 *
 * The AML is built here byte by byte from the ACPI 6.5 encodings (§20.2,
 * §6.4), shaped like QEMU 7.2's microvm DSDT: Scope (\_SB) holding a
 * device with an EISAID _HID, the GED (ACPI0013, an interrupt only), a
 * power button and the transports, then \_S5. Every prefix of it and
 * every one-byte corruption is scanned from a copy that ends right before
 * a PROT_NONE page: firmware bytes never send the scanner out of bounds.
 */
#include "tests/host/test.h"

#include "kernel/acpi_tables.h"

#include <stdint.h>

struct aml {
	uint8_t b[2048];
	size_t n;
};

static void emit(struct aml *a, const void *p, size_t n)
{
	if (a->n + n > sizeof a->b)
		abort();
	memcpy(a->b + a->n, p, n);
	a->n += n;
}

static void emit_u32(struct aml *a, uint32_t v)
{
	uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	emit(a, le, 4);
}

/* op, PkgLength (§20.2.4: it counts itself), body. */
static void wrap(struct aml *a, const void *op, size_t oplen, const struct aml *body)
{
	size_t len = body->n + 1;
	emit(a, op, oplen);
	if (len < 64) {
		uint8_t one = (uint8_t)len;
		emit(a, &one, 1);
	} else {
		len++;
		uint8_t two[2] = {(uint8_t)(0x40 | (len & 0x0f)), (uint8_t)(len >> 4)};
		emit(a, two, 2);
	}
	emit(a, body->b, body->n);
}

/* Name (name4, "str") */
static void name_string(struct aml *a, const char *name4, const char *str)
{
	emit(a, "\x08", 1);
	emit(a, name4, 4);
	emit(a, "\x0d", 1);
	emit(a, str, strlen(str) + 1);
}

struct res {
	bool mem, irq;
	uint32_t base, len, gsi;
	uint8_t flags; /* Extended Interrupt flags byte */
};

/* Name (_CRS, ResourceTemplate () { Memory32Fixed, Interrupt, EndTag }) */
static void name_crs(struct aml *a, const struct res *r)
{
	struct aml tmpl = {.n = 0}, buf = {.n = 0};
	if (r->mem) {
		emit(&tmpl, "\x86\x09\x00\x01", 4); /* §6.4.3.4, read-write */
		emit_u32(&tmpl, r->base);
		emit_u32(&tmpl, r->len);
	}
	if (r->irq) {
		uint8_t head[5] = {0x89, 0x06, 0x00, r->flags, 1}; /* §6.4.3.6, one interrupt */
		emit(&tmpl, head, 5);
		emit_u32(&tmpl, r->gsi);
	}
	emit(&tmpl, "\x79\x00", 2); /* §6.4.2.9 End Tag */
	uint8_t size[2] = {0x0a, (uint8_t)tmpl.n};
	emit(&buf, size, 2);
	emit(&buf, tmpl.b, tmpl.n);
	emit(a, "\x08_CRS", 5);
	wrap(a, "\x11", 1, &buf);
}

/* Device (name4) { _HID, _UID, _CCA, _CRS, then `nested` } */
static void device(struct aml *a, const char *name4, const char *hid, const struct res *r,
		   const struct aml *nested)
{
	struct aml body = {.n = 0};
	emit(&body, name4, 4);
	if (hid)
		name_string(&body, "_HID", hid);
	emit(&body, "\x08_UID\x0a\x17\x08_CCA\x01", 12);
	if (r)
		name_crs(&body, r);
	if (nested)
		emit(&body, nested->b, nested->n);
	wrap(a, "\x5b\x82", 2, &body);
}

#define LEVEL_HIGH 0x01 /* consumer, level, active-high, exclusive: QEMU's */
static const struct res vr23 = {true, true, 0xfeb02e00, 0x200, 47, LEVEL_HIGH};
static const struct res vr22 = {true, true, 0xfeb02c00, 0x200, 46, LEVEL_HIGH};

/* The microvm-shaped DSDT body. */
static void microvm(struct aml *a)
{
	struct aml sb = {.n = 0};
	emit(&sb, "_SB_", 4);
	/* RTC: _HID is an EISAID integer (0x0c prefix), not a string. */
	emit(&sb, "\x5b\x82\x0fRTC_\x08_HID\x0c\x41\xd0\x0b\x00", 17);
	static const struct res ged = {false, true, 0, 0, 9, 0x03}; /* edge */
	device(&sb, "GED_", "ACPI0013", &ged, NULL);
	device(&sb, "PWRB", "PNP0C0C", NULL, NULL);
	device(&sb, "VR23", "LNRO0005", &vr23, NULL);
	device(&sb, "VR22", "LNRO0005", &vr22, NULL);
	wrap(a, "\x10", 1, &sb);
	emit(a, "\x08\\_S5_\x12\x07\x04\x0a\x05\x00\x00\x00", 14);
}

static int scan(const struct aml *a, size_t n, const char *hid, struct acpi_aml_device *out, int max)
{
	return acpi_aml_find_devices(test_guarded_n(a->b, n), n, hid, out, max);
}

static void t_microvm(void)
{
	struct aml a = {.n = 0};
	struct acpi_aml_device d[4];
	microvm(&a);
	if (!CHECK(scan(&a, a.n, "LNRO0005", d, 4) == 2))
		return;
	CHECK(d[0].mem_base == 0xfeb02e00 && d[0].mem_len == 0x200 && d[0].has_irq && d[0].gsi == 47);
	CHECK(d[0].irq_flags == IRQ_LEVEL);
	CHECK(d[1].mem_base == 0xfeb02c00 && d[1].gsi == 46 && d[1].irq_flags == IRQ_LEVEL);
	/* The GED: an interrupt, edge-triggered, and no memory. */
	CHECK(scan(&a, a.n, "ACPI0013", d, 4) == 1);
	CHECK(d[0].has_irq && d[0].gsi == 9 && d[0].irq_flags == 0 && d[0].mem_len == 0);
	/* A device without _CRS is not reported; no prefix matches. */
	CHECK(scan(&a, a.n, "PNP0C0C", d, 4) == 0);
	CHECK(scan(&a, a.n, "LNRO000", d, 4) == 0 && scan(&a, a.n, "LNRO00051", d, 4) == 0);
	CHECK(scan(&a, a.n, "QEMU0002", d, 4) == 0);
}

static void t_flags_and_max(void)
{
	struct aml a = {.n = 0};
	struct acpi_aml_device d[2] = {{0}};
	static const struct res low_edge = {true, true, 0xd0000000, 0x1000, 5, 0x07}; /* edge, active-low */
	for (int i = 0; i < 3; i++)
		device(&a, "VRxx", "LNRO0005", &low_edge, NULL);
	CHECK(scan(&a, a.n, "LNRO0005", d, 1) == 3); /* all counted, */
	CHECK(d[1].gsi == 0);                        /* only max stored */
	CHECK(d[0].irq_flags == IRQ_ACTIVE_LOW && d[0].mem_base == 0xd0000000 && d[0].mem_len == 0x1000);
	CHECK(scan(&a, a.n, "LNRO0005", d, 0) == 3);
}

/* A device's own names come before its first nested device: an outer
 * device's scan does not take an inner one's _HID or _CRS. */
static void t_nested(void)
{
	struct aml inner = {.n = 0}, a = {.n = 0};
	struct acpi_aml_device d[4];
	device(&inner, "VR00", "LNRO0005", &vr23, NULL);
	device(&a, "BUS0", "PNP0A05", NULL, &inner); /* another kind, holding one transport */
	if (CHECK(scan(&a, a.n, "LNRO0005", d, 4) == 1))
		CHECK(d[0].mem_base == 0xfeb02e00);
	struct aml b = {.n = 0};
	device(&b, "VR01", "LNRO0005", &vr22, &inner); /* a transport holding another */
	if (CHECK(scan(&b, b.n, "LNRO0005", d, 4) == 2))
		CHECK(d[0].mem_base == 0xfeb02c00 && d[1].mem_base == 0xfeb02e00);
	struct aml c = {.n = 0};
	device(&c, "VR02", "LNRO0005", NULL, &inner); /* the outer has no _CRS of its own */
	if (CHECK(scan(&c, c.n, "LNRO0005", d, 4) == 1))
		CHECK(d[0].mem_base == 0xfeb02e00);
}

/* _CRS as a method (it would need an interpreter), a descriptor running
 * past its template, a BufferSize beyond the buffer, a device whose
 * PkgLength passes the end of the stream. */
static void t_malformed(void)
{
	struct acpi_aml_device d[4];
	struct aml a = {.n = 0}, body = {.n = 0};
	emit(&body, "VR00", 4);
	name_string(&body, "_HID", "LNRO0005");
	emit(&body, "\x14\x09_CRS\x00\xa4\x0a\x00", 9); /* Method (_CRS) { Return (0) } */
	wrap(&a, "\x5b\x82", 2, &body);
	CHECK(scan(&a, a.n, "LNRO0005", d, 4) == 0);

	struct aml b = {.n = 0};
	device(&b, "VR00", "LNRO0005", &vr23, NULL);
	size_t mem = 0; /* the Memory32Fixed descriptor */
	while (mem + 3 <= b.n && memcmp(b.b + mem, "\x86\x09\x00", 3) != 0)
		mem++;
	if (!CHECK(mem + 3 <= b.n))
		return;
	struct aml c = b;
	c.b[mem + 1] = 0x40; /* Memory32Fixed claims 64 bytes: past the template, ignored with the rest */
	CHECK(scan(&c, c.n, "LNRO0005", d, 4) == 0);
	c = b;
	c.b[mem - 1] = 0xff; /* BufferSize 255, past the buffer: the buffer's end bounds the walk */
	if (CHECK(scan(&c, c.n, "LNRO0005", d, 4) == 1))
		CHECK(d[0].mem_base == 0xfeb02e00 && d[0].gsi == 47);
	c = b;
	c.b[2] = 0x3f; /* the device's PkgLength past the stream: skipped */
	CHECK(scan(&c, c.n, "LNRO0005", d, 4) == 0);
}

/* Every prefix, and every byte of the stream set to each of a few values
 * that are opcodes or lengths: no read past the end (guard page, ASan),
 * never more devices than the stream holds. */
static void t_truncated_and_corrupt(void)
{
	struct aml a = {.n = 0};
	struct acpi_aml_device d[4];
	microvm(&a);
	for (size_t n = 0; n <= a.n; n++) {
		int got = scan(&a, n, "LNRO0005", d, 4);
		CHECK(got >= 0 && got <= 2);
	}
	static const uint8_t vals[] = {0x00, 0x3f, 0x40, 0x5b, 0x7f, 0x82, 0x86, 0x89, 0xc0, 0xff};
	for (size_t i = 0; i < a.n; i++) {
		for (size_t v = 0; v < TEST_COUNT(vals); v++) {
			struct aml c = a;
			c.b[i] = vals[v];
			int got = scan(&c, c.n, "LNRO0005", d, 4);
			CHECK(got >= 0 && got <= 3); /* a corrupt byte may forge one device header, no more */
		}
	}
}

static const struct test_case cases[] = {
    {"microvm-shaped DSDT: both LNRO0005 transports, their ranges and GSIs; the GED's edge IRQ", t_microvm},
    {"edge/active-low flags decoded; more devices than max are counted, max stored", t_flags_and_max},
    {"nested devices: each has only its own _HID and _CRS", t_nested},
    {"a _CRS method, an overlong descriptor or BufferSize, a PkgLength past the end", t_malformed},
    {"every prefix and one-byte corruption of the stream: bounded reads, sane counts",
     t_truncated_and_corrupt},
};

int main(void)
{
	test_init("acpi_devices");
	test_run(cases, TEST_COUNT(cases));
	return test_finish();
}
