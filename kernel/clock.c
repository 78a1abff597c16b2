/* TSC and local APIC timer calibrated against the 8254 PIT, polled, so no
 * interrupt is needed yet. Channel 0 runs as a rate generator and its
 * count is read with the counter-latch command (8254 datasheet), which
 * works on every machine with a PIT, QEMU's microvm included (which has
 * no port 0x61, so no channel 2 gate). The rates come from two samples a
 * few milliseconds apart, each a PIT count and an APIC timer count with
 * the TSC read on both sides: a vCPU descheduled by the host between the
 * samples changes nothing (all three clocks run on), and of several tries
 * per sample the one whose TSC reads are closest is kept, so a deschedule
 * inside a sample is not taken either. The TSC is assumed invariant
 * (constant rate), which QEMU and every x86-64 server CPU of the last
 * decade provide. */
#include <stdbool.h>
#include <stddef.h>

#include "kernel/apic.h"
#include "kernel/civil.h"
#include "kernel/clock.h"
#include "kernel/cpu.h"
#include "kernel/log.h"
#include "kernel/shutdown.h"
#include "kernel/trap.h"

#define PIT_HZ 1193182u
#define CALIBRATE_MS 5u
#define CALIBRATE_TICKS (PIT_HZ * CALIBRATE_MS / 1000) /* well inside the 65536-tick wrap */
#define CALIBRATE_RUNS 3 /* odd: the median is one of them */
#define SAMPLE_TRIES 8
#define APIC_MAX_COUNT 0xffffffffu

#define PIT_CH0 0x40
#define PIT_CMD 0x43
#define PIT_CH0_RATE 0x34  /* channel 0, lo/hi byte access, mode 2 (rate generator), binary */
#define PIT_CH0_LATCH 0x00 /* counter latch command, channel 0 */

/* Plausible rates: anything outside means the reference did not tick. */
#define TSC_HZ_MIN 100000000ull   /* 100 MHz */
#define TSC_HZ_MAX 20000000000ull /* 20 GHz */
#define APIC_HZ_MIN 100000ull     /* 100 kHz */
/* Give up on a PIT that has not counted CALIBRATE_TICKS after ten times
 * that at the fastest plausible TSC (about a second at 2 GHz): it is not
 * there (its ports read 0xff, a count that never moves). */
#define TSC_WAIT_MAX (TSC_HZ_MAX / 1000 * CALIBRATE_MS * 10)

static uint64_t tsc_hz, apic_hz;
static uint64_t ns_mult;   /* ns = tsc * ns_mult >> 32 */
static uint64_t tick_mult; /* APIC ticks = ns * tick_mult >> 32 */
static uint64_t boot_wall_ns, boot_mono_ns;

static uint16_t pit_count(void)
{
	outb(PIT_CMD, PIT_CH0_LATCH);
	uint8_t lo = inb(PIT_CH0);
	return (uint16_t)(lo | inb(PIT_CH0) << 8);
}

struct sample {
	uint64_t tsc;  /* midway between the two TSC reads */
	uint16_t pit;  /* counts down, modulo 65536 */
	uint32_t apic; /* counts down */
};

/* Of SAMPLE_TRIES, the sample whose two TSC reads are closest. */
static struct sample sample(void)
{
	struct sample best = { 0 };
	uint64_t best_gap = UINT64_MAX;
	for (int i = 0; i < SAMPLE_TRIES; i++) {
		uint64_t t0 = rdtsc();
		uint16_t pit = pit_count();
		uint32_t apic = apic_timer_count();
		uint64_t t1 = rdtsc();
		if (t1 - t0 < best_gap) {
			best_gap = t1 - t0;
			best = (struct sample){ t0 + (t1 - t0) / 2, pit, apic };
		}
	}
	return best;
}

/* TSC and APIC-timer rates over at least CALIBRATE_TICKS of the PIT. False
 * if the PIT did not count. */
static bool measure(uint64_t *tsc, uint64_t *apic)
{
	outb(PIT_CMD, PIT_CH0_RATE);
	outb(PIT_CH0, 0); /* count 0: 65536, the longest period */
	outb(PIT_CH0, 0);
	apic_timer_start(APIC_MAX_COUNT);
	struct sample a = sample(), b = a;
	uint16_t ticks = 0;
	while (ticks < CALIBRATE_TICKS && rdtsc() - a.tsc < TSC_WAIT_MAX) {
		b = sample();
		ticks = (uint16_t)(a.pit - b.pit);
	}
	apic_timer_start(0);
	if (ticks < CALIBRATE_TICKS)
		return false;
	*tsc = (b.tsc - a.tsc) * PIT_HZ / ticks;
	*apic = (uint64_t)(a.apic - b.apic) * PIT_HZ / ticks;
	return true;
}

static uint64_t median(uint64_t *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			uint64_t t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[n / 2];
}

/* The median of CALIBRATE_RUNS measurements. Returns false if the PIT
 * did not count or the rates are implausible. */
static bool calibrate(const char **ref)
{
	uint64_t tsc[CALIBRATE_RUNS], apic[CALIBRATE_RUNS];
	*ref = "PIT channel 0 count";
	for (int i = 0; i < CALIBRATE_RUNS; i++) {
		if (!measure(&tsc[i], &apic[i])) {
			log_err("clock", "%s does not move: no PIT", *ref);
			return false;
		}
	}
	tsc_hz = median(tsc, CALIBRATE_RUNS);
	apic_hz = median(apic, CALIBRATE_RUNS);
	if (tsc_hz < TSC_HZ_MIN || tsc_hz > TSC_HZ_MAX || apic_hz < APIC_HZ_MIN) {
		log_err("clock", "%s gave implausible rates: TSC %lu Hz, APIC timer %lu Hz", *ref, tsc_hz, apic_hz);
		return false;
	}
	ns_mult = (NSEC_PER_SEC << 32) / tsc_hz;
	tick_mult = (apic_hz << 32) / NSEC_PER_SEC;
	return true;
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
	const char *ref;
	trap_set_handler(VEC_TIMER, timer_irq, NULL);
	if (!calibrate(&ref))
		shutdown_fatal("no usable timer to calibrate the TSC against: give the machine an i8254 PIT "
			       "(QEMU: drop pit=off from -M)");
	boot_mono_ns = clock_now();
	boot_wall_ns = (uint64_t)rtc_read() * NSEC_PER_SEC;
	struct civil_time t;
	civil_from_epoch((int64_t)(boot_wall_ns / NSEC_PER_SEC), &t);
	log_info("clock", "TSC %lu.%03lu MHz, APIC timer %lu kHz (against %s), RTC %04d-%02u-%02uT%02u:%02u:%02uZ",
		 tsc_hz / 1000000, tsc_hz / 1000 % 1000, apic_hz / 1000, ref, t.year, t.month, t.day, t.hour, t.min, t.sec);
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
