/* Interrupt controllers. Local APIC in xAPIC MMIO mode (SDM Vol. 3A ch. 10),
 * IOAPICs from the MADT (82093AA datasheet §3.2), and the legacy 8259 pair
 * remapped away from the exception vectors and fully masked so a stray
 * PIC interrupt cannot masquerade as a CPU exception. */
#include <errno.h>
#include <stdint.h>

#include "kernel/acpi.h"
#include "kernel/apic.h"
#include "kernel/cpu.h"
#include "kernel/irq.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/panic.h"
#include "kernel/trap.h"

#define LAPIC_ID 0x020
#define LAPIC_TPR 0x080
#define LAPIC_EOI 0x0b0
#define LAPIC_SVR 0x0f0
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3e0
#define LVT_MASKED (1u << 16)
#define SVR_ENABLE (1u << 8)
#define MSR_APIC_BASE 0x1b

#define IOAPIC_VER 0x01
#define IOAPIC_REDTBL(n) (0x10 + 2 * (n))
#define RTE_ACTIVE_LOW (1u << 13)
#define RTE_LEVEL (1u << 15)
#define RTE_MASKED (1u << 16)

struct ioapic {
	volatile uint32_t *regs; /* IOREGSEL at +0, IOWIN at +0x10 */
	uint32_t gsi_base, count;
};

static volatile uint32_t *lapic;
static uint32_t lapic_id;
static struct ioapic ioapics[ACPI_MAX_IOAPICS];
static int nioapics;

static uint32_t lapic_read(uint32_t reg) { return lapic[reg / 4]; }
static void lapic_write(uint32_t reg, uint32_t v) { lapic[reg / 4] = v; }

static uint32_t ioapic_read(struct ioapic *io, uint32_t reg)
{
	io->regs[0] = reg;
	return io->regs[4];
}

static void ioapic_write(struct ioapic *io, uint32_t reg, uint32_t v)
{
	io->regs[0] = reg;
	io->regs[4] = v;
}

static void pic_disable(void)
{
	/* ICW1-4: cascade, vectors 0x20/0x28, then mask every line. */
	outb(0x20, 0x11);
	outb(0xa0, 0x11);
	outb(0x21, 0x20);
	outb(0xa1, 0x28);
	outb(0x21, 0x04);
	outb(0xa1, 0x02);
	outb(0x21, 0x01);
	outb(0xa1, 0x01);
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}

static void ioapic_add(uint64_t pa, uint32_t gsi_base)
{
	if (nioapics == ACPI_MAX_IOAPICS)
		return;
	struct ioapic *io = &ioapics[nioapics];
	io->regs = vmm_map_phys(pa, 0x20, VMM_UNCACHED);
	if (!io->regs)
		panic("cannot map IOAPIC at %#lx", pa);
	io->gsi_base = gsi_base;
	io->count = ((ioapic_read(io, IOAPIC_VER) >> 16) & 0xff) + 1;
	for (uint32_t i = 0; i < io->count; i++)
		ioapic_write(io, IOAPIC_REDTBL(i), RTE_MASKED);
	nioapics++;
	log_info("apic", "IOAPIC at %#lx: GSIs %u-%u", pa, gsi_base, gsi_base + io->count - 1);
}

void apic_init(void)
{
	pic_disable();
	uint64_t base = rdmsr(MSR_APIC_BASE);
	wrmsr(MSR_APIC_BASE, base | (1u << 11)); /* global enable */
	uint64_t pa = acpi_lapic_addr();
	lapic = vmm_map_phys(pa, PAGE_SIZE, VMM_UNCACHED);
	if (!lapic)
		panic("cannot map the local APIC");
	lapic_id = lapic_read(LAPIC_ID) >> 24;
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT1, 4u << 8); /* NMI delivery, as the BIOS wires LINT1 */
	lapic_write(LAPIC_SVR, SVR_ENABLE | VEC_SPURIOUS);
	lapic_write(LAPIC_TIMER_DIV, 0x3); /* divide by 16 */

	for (int i = 0; i < acpi_ioapic_count(); i++)
		ioapic_add(acpi_ioapic_get(i)->addr, acpi_ioapic_get(i)->gsi_base);
	if (!nioapics)
		ioapic_add(0xfec00000, 0); /* PC default without a MADT */
	log_info("apic", "local APIC id %u at %#lx, legacy PIC masked", lapic_id, pa);
}

void apic_eoi(void) { lapic_write(LAPIC_EOI, 0); }
uint32_t apic_id(void) { return lapic_id; }

int apic_route_gsi(unsigned gsi, uint8_t vector, unsigned flags)
{
	for (int i = 0; i < nioapics; i++) {
		struct ioapic *io = &ioapics[i];
		if (gsi < io->gsi_base || gsi >= io->gsi_base + io->count)
			continue;
		uint32_t pin = gsi - io->gsi_base;
		uint32_t lo = vector | ((flags & IRQ_LEVEL) ? RTE_LEVEL : 0) | ((flags & IRQ_ACTIVE_LOW) ? RTE_ACTIVE_LOW : 0);
		uint64_t f = irq_save();
		ioapic_write(io, IOAPIC_REDTBL(pin) + 1, lapic_id << 24); /* physical destination */
		ioapic_write(io, IOAPIC_REDTBL(pin), lo);                 /* fixed delivery, unmasked */
		irq_restore(f);
		return 0;
	}
	return -ENODEV;
}

void apic_timer_start(uint32_t count)
{
	lapic_write(LAPIC_LVT_TIMER, VEC_TIMER); /* one-shot */
	lapic_write(LAPIC_TIMER_INIT, count);
}

uint32_t apic_timer_count(void) { return lapic_read(LAPIC_TIMER_CUR); }
