/* TSC and local APIC timer calibrated against PIT channel 2 (whose gate
 * and output are visible in port 0x61), so no interrupt is needed yet.
 * The TSC is assumed invariant (constant rate), which QEMU and every
 * x86-64 server CPU of the last decade provide. */
#include <stddef.h>

#include "kernel/apic.h"
#include "kernel/civil.h"
#include "kernel/clock.h"
#include "kernel/cpu.h"
#include "kernel/log.h"
#include "kernel/panic.h"
#include "kernel/trap.h"

#define PIT_HZ 1193182u
#define CALIBRATE_MS 10u
#define APIC_MAX_COUNT 0xffffffffu

static uint64_t tsc_hz, apic_hz;
static uint64_t ns_mult;   /* ns = tsc * ns_mult >> 32 */
static uint64_t tick_mult; /* APIC ticks = ns * tick_mult >> 32 */
static uint64_t boot_wall_ns, boot_mono_ns;

/* Run PIT channel 2 in one-shot mode for CALIBRATE_MS and count TSC and
 * APIC-timer ticks across it. */
static void calibrate(void)
{
	const uint16_t count = PIT_HZ * CALIBRATE_MS / 1000;
	outb(0x61, (inb(0x61) & ~0x02) | 0x01); /* gate on, speaker off */
	outb(0x43, 0xb0);                       /* channel 2, lo/hi, mode 0 */
	outb(0x42, count & 0xff);
	outb(0x42, count >> 8);
	apic_timer_start(APIC_MAX_COUNT);
	uint64_t t0 = rdtsc();
	uint32_t a0 = apic_timer_count();
	for (uint32_t spins = 0; !(inb(0x61) & 0x20); spins++)
		if (spins > 100000000u)
			panic("PIT channel 2 never expired: cannot calibrate the TSC");
	uint64_t t1 = rdtsc();
	uint32_t a1 = apic_timer_count();
	apic_timer_start(0);
	tsc_hz = (t1 - t0) * 1000 / CALIBRATE_MS;
	apic_hz = (uint64_t)(a0 - a1) * 1000 / CALIBRATE_MS;
	if (!tsc_hz || !apic_hz)
		panic("TSC or APIC timer does not count (%lu, %lu ticks)", t1 - t0, (uint64_t)(a0 - a1));
	ns_mult = (NSEC_PER_SEC << 32) / tsc_hz;
	tick_mult = (apic_hz << 32) / NSEC_PER_SEC;
}

static unsigned cmos(uint8_t reg)
{
	outb(0x70, reg);
	return inb(0x71);
}

static unsigned from_bcd(unsigned v, int bcd) { return bcd ? (v & 0x0f) + (v >> 4) * 10 : v; }

/* MC146818 RTC: read while no update is in progress, twice until two reads
 * agree (the update can start between the check and the reads). */
static int64_t rtc_read(void)
{
	unsigned r[6], prev[6] = { 0 };
	static const uint8_t regs[6] = { 0x00, 0x02, 0x04, 0x07, 0x08, 0x09 };
	for (int tries = 0; tries < 5; tries++) {
		for (int spin = 0; spin < 1000000 && (cmos(0x0a) & 0x80); spin++)
			cpu_relax();
		for (int i = 0; i < 6; i++)
			r[i] = cmos(regs[i]);
		if (tries && !__builtin_memcmp(r, prev, sizeof r))
			break;
		__builtin_memcpy(prev, r, sizeof r);
	}
	unsigned b = cmos(0x0b);
	int bcd = !(b & 0x04);
	unsigned hour = from_bcd(r[2] & 0x7f, bcd);
	if (!(b & 0x02) && (r[2] & 0x80)) /* 12-hour mode, PM */
		hour = (hour % 12) + 12;
	else if (!(b & 0x02) && hour == 12)
		hour = 0;
	struct civil_time t = {
		.year = 2000 + (int)from_bcd(r[5], bcd), /* RTCs in service hold years 2000-2099 */
		.month = from_bcd(r[4], bcd), .day = from_bcd(r[3], bcd),
		.hour = hour, .min = from_bcd(r[1], bcd), .sec = from_bcd(r[0], bcd),
	};
	if (t.month < 1 || t.month > 12 || t.day < 1 || t.day > 31 || t.hour > 23 || t.min > 59 || t.sec > 60) {
		log_warn("clock", "RTC holds an invalid time; wall clock starts at the epoch");
		return 0;
	}
	return civil_to_epoch(&t);
}

/* The timer interrupt only ends the idle loop's HLT; the scheduler then
 * finds the expired deadlines itself. */
static void timer_irq(void *arg) { (void)arg; }

void clock_init(void)
{
	trap_set_handler(VEC_TIMER, timer_irq, NULL);
	calibrate();
	boot_mono_ns = clock_now();
	boot_wall_ns = (uint64_t)rtc_read() * NSEC_PER_SEC;
	struct civil_time t;
	civil_from_epoch((int64_t)(boot_wall_ns / NSEC_PER_SEC), &t);
	log_info("clock", "TSC %lu.%03lu MHz, APIC timer %lu kHz, RTC %04d-%02u-%02uT%02u:%02u:%02uZ",
		 tsc_hz / 1000000, tsc_hz / 1000 % 1000, apic_hz / 1000, t.year, t.month, t.day, t.hour, t.min, t.sec);
}

uint64_t clock_now(void) { return (uint64_t)(((unsigned __int128)rdtsc() * ns_mult) >> 32); }

uint64_t clock_wall_ns(void) { return boot_wall_ns + (clock_now() - boot_mono_ns); }

uint64_t clock_tsc_hz(void) { return tsc_hz; }

void clock_arm(uint64_t deadline)
{
	uint64_t now = clock_now();
	uint64_t delta = deadline > now ? deadline - now : 0;
	/* Far deadlines are clamped: the idle loop re-arms when it wakes.
	 * Multiply-shift only: a 128-bit division would pull in libgcc. */
	unsigned __int128 ticks = (((unsigned __int128)delta * tick_mult) >> 32) + 1;
	apic_timer_start(ticks > APIC_MAX_COUNT ? APIC_MAX_COUNT : (uint32_t)ticks);
}
