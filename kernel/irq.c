/* Vector allocation and routing. Vectors are handed out upwards from
 * VEC_IRQ_BASE; the local APIC timer and spurious vectors sit at the top.
 * Registration happens at boot (drivers' init), so running out is a
 * configuration error reported to the caller. */
#include <errno.h>

#include "kernel/acpi.h"
#include "kernel/apic.h"
#include "kernel/irq.h"
#include "kernel/log.h"
#include "kernel/trap.h"

static unsigned next_vector = VEC_IRQ_BASE;

int irq_alloc_vector(irq_fn fn, void *arg)
{
	if (next_vector >= VEC_TIMER)
		return -ENOSPC;
	unsigned v = next_vector++;
	trap_set_handler(v, fn, arg);
	return (int)v;
}

int irq_register_gsi(unsigned gsi, unsigned flags, irq_fn fn, void *arg)
{
	int v = irq_alloc_vector(fn, arg);
	if (v < 0)
		return v;
	int err = apic_route_gsi(gsi, (uint8_t)v, flags);
	if (err < 0) {
		log_err("irq", "GSI %u is on no IOAPIC", gsi);
		return err;
	}
	log_debug("irq", "GSI %u -> vector %d (%s, active-%s)", gsi, v, flags & IRQ_LEVEL ? "level" : "edge",
		  flags & IRQ_ACTIVE_LOW ? "low" : "high");
	return v;
}

int irq_register_isa(unsigned isa_irq, irq_fn fn, void *arg)
{
	unsigned flags = 0;
	unsigned gsi = acpi_isa_to_gsi(isa_irq, &flags);
	return irq_register_gsi(gsi, flags, fn, arg);
}
