/* Interrupt routing: GSIs through the IOAPIC, vectors for MSI, EOI to the
 * local APIC. Handlers run with interrupts disabled and must only
 * acknowledge their device and wake a task (no allocation, no lwIP). */
#ifndef KEEL_IRQ_H
#define KEEL_IRQ_H

#include <stdint.h>

#define IRQ_LEVEL 1u      /* level-triggered (default: edge) */
#define IRQ_ACTIVE_LOW 2u /* active-low polarity (default: active-high) */

typedef void (*irq_fn)(void *arg);

/* Route a global system interrupt to a fresh vector; returns the vector or
 * a negative errno. */
int irq_register_gsi(unsigned gsi, unsigned flags, irq_fn fn, void *arg);
/* Route a legacy ISA IRQ, applying the MADT interrupt source overrides. */
int irq_register_isa(unsigned isa_irq, irq_fn fn, void *arg);
/* A vector with no IOAPIC route, for MSI/MSI-X. */
int irq_alloc_vector(irq_fn fn, void *arg);

#endif
