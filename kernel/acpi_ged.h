/* The Generic Event Device of hardware-reduced ACPI (ACPI 6.5 §5.6.9,
 * _HID "ACPI0013"), found in a DSDT by a bounded byte scan: Keel has no
 * AML interpreter. Pure code, host-tested (tests/host/test_acpi_ged.c). */
#ifndef KEEL_ACPI_GED_H
#define KEEL_ACPI_GED_H

#include <stddef.h>
#include <stdint.h>

struct acpi_ged {
	uint32_t gsi;   /* the first interrupt of _CRS's Extended Interrupt descriptor */
	unsigned flags; /* IRQ_LEVEL / IRQ_ACTIVE_LOW (irq.h) */
	uint64_t esel;  /* physical address of the 32-bit event selector _EVT reads */
};

/* Find the GED in an AML byte stream (a DSDT body, after its header): the
 * Device whose Name(_HID, "ACPI0013") it holds, the interrupt of its _CRS
 * buffer, and a SystemMemory OperationRegion of at least 4 bytes whose
 * Field starts with a 32-bit named field (QEMU's ESEL). Never reads past
 * len. Returns 0, -ENOENT (no GED) or -EBADMSG (a GED without those). */
int acpi_aml_find_ged(const void *aml, size_t len, struct acpi_ged *out);

#endif
