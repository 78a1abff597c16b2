/* Local APIC (timer, EOI) and IOAPIC routing; the 8259 PICs are masked. */
#ifndef KEEL_APIC_H
#define KEEL_APIC_H

#include <stdint.h>

void apic_init(void);
void apic_eoi(void);
uint32_t apic_id(void);
/* Route a GSI to `vector` on this CPU; flags from irq.h. 0 or -errno. */
int apic_route_gsi(unsigned gsi, uint8_t vector, unsigned flags);

/* Local APIC timer, divide-by-16 one-shot on VEC_TIMER. */
void apic_timer_start(uint32_t count);
uint32_t apic_timer_count(void);

#endif
