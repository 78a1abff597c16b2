/* ACPI: table discovery (RSDP, XSDT/RSDT, FADT, MADT, DSDT \_S5 and GED),
 * the SCI, the fixed power button or the Generic Event Device's, and
 * soft-off (ACPI 6.5 §4.8, §5.2, §5.6.9, §7.4.2). */
#ifndef KEEL_ACPI_H
#define KEEL_ACPI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdnoreturn.h>

#define ACPI_MAX_IOAPICS 4

struct acpi_ioapic {
	uint8_t id;
	uint32_t addr;
	uint32_t gsi_base;
};

/* Find and parse the tables. rsdp_pa is the loader's RSDP address, or 0 to
 * scan the EBDA and BIOS area. Missing tables are logged, not fatal: the
 * callers fall back to PC defaults. */
void acpi_init(uint64_t rsdp_pa);

uint64_t acpi_lapic_addr(void);           /* MADT value, or 0xfee00000 */
int acpi_ioapic_count(void);              /* 0 if no MADT */
const struct acpi_ioapic *acpi_ioapic_get(int i);
/* Map an ISA IRQ to its GSI through the MADT overrides; *flags gets
 * IRQ_LEVEL / IRQ_ACTIVE_LOW from irq.h (ISA default: edge, active-high). */
unsigned acpi_isa_to_gsi(unsigned isa_irq, unsigned *flags);

/* A device found in the DSDT by its _HID, with the first Memory32Fixed
 * range and the first Extended Interrupt of its _CRS (ACPI 6.5 §6.4.3.4,
 * §6.4.3.6). */
struct acpi_aml_device {
	uint64_t mem_base;
	uint32_t mem_len; /* 0: no Memory32Fixed descriptor */
	uint32_t gsi;
	unsigned irq_flags; /* IRQ_LEVEL / IRQ_ACTIVE_LOW */
	bool has_irq;
};

/* Devices whose _HID is the string `hid` in the DSDT, at most max of them
 * into out. Returns how many, 0 without a DSDT. */
int acpi_find_devices(const char *hid, struct acpi_aml_device *out, int max);

/* Switch to ACPI mode if needed, route the SCI and enable the fixed power
 * button event; on hardware-reduced platforms route the Generic Event
 * Device's interrupt instead. `on_press` runs in IRQ context: it must only
 * wake a task. Returns 0 or a negative errno (no FADT, no PM1a block, no
 * GED). */
int acpi_power_button_enable(void (*on_press)(void));

/* Enter S5 through PM1a/PM1b control, or the sleep control register on
 * hardware-reduced platforms; halts if the platform ignores it. */
noreturn void acpi_poweroff(void);

#endif
