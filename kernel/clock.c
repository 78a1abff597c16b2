/* TSC and local APIC timer calibrated against the 8254 PIT, polled, so no
 * interrupt is needed yet. The reference is channel 2, whose gate and
 * output are visible in port 0x61 (PC/AT, QEMU pc and q35); QEMU microvm
 * has the PIT but no port 0x61 (it reads 0xff), so there channel 0 runs
 * instead and its output is read with the read-back command (8254
 * datasheet, "Read-Back Command": status bit 7 is OUT). The TSC is
 * assumed invariant (constant rate), which QEMU and every x86-64 server
 * CPU of the last decade provide. */
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
#define CALIBRATE_MS 3u
#define CALIBRATE_RUNS 5 /* odd: the median is one of them */
#define CALIBRATE_TRIES 3 /* rounds of runs before the rates count as implausible */
#define APIC_MAX_COUNT 0xffffffffu

#define PIT_CH0 0x40
#define PIT_CH2 0x42
#define PIT_CMD 0x43
#define PIT_LOHI_MODE0(ch) ((ch) << 6 | 0x30) /* lo/hi byte access, mode 0, binary */
#define PIT_READBACK_CH0 0xe2 /* read-back: latch status only, channel 0 */
#define PIT_STATUS_OUT 0x80
#define PIT_STATUS_NULL 0x40  /* the count written is not loaded yet */
#define PORT_B 0x61           /* bit 0 gate 2, bit 1 speaker, bit 5 OUT2 */
#define PORT_B_OUT2 0x20

/* Plausible rates: anything outside means the reference did not tick
 * (e.g. the PIT is absent and the poll ended at once). */
#define TSC_HZ_MIN 100000000ull   /* 100 MHz */
#define TSC_HZ_MAX 20000000000ull /* 20 GHz */
#define APIC_HZ_MIN 100000ull     /* 100 kHz */
/* Give up on a PIT that has not expired after ten times its period at
 * the fastest plausible TSC (about a second at 2 GHz): it is not there. */
#define TSC_WAIT_MAX (TSC_HZ_MAX / 1000 * CALIBRATE_MS * 10)

static uint64_t tsc_hz, apic_hz;
static uint64_t ns_mult;   /* ns = tsc * ns_mult >> 32 */
static uint64_t tick_mult; /* APIC ticks = ns * tick_mult >> 32 */
static uint64_t boot_wall_ns, boot_mono_ns;

static bool out2_high(void) { return inb(PORT_B) & PORT_B_OUT2; }

static bool out0_high(void)
{
	outb(PIT_CMD, PIT_READBACK_CH0);
	uint8_t status = inb(PIT_CH0);
	return (status & (PIT_STATUS_OUT | PIT_STATUS_NULL)) == PIT_STATUS_OUT;
}

/* Arm channel ch in mode 0 (OUT low until the count runs out, then high)
 * for CALIBRATE_MS; channel 2 only counts with its gate on. */
static void pit_arm(unsigned ch)
{
	const uint16_t count = PIT_HZ * CALIBRATE_MS / 1000;
	if (ch == 2)
		outb(PORT_B, (inb(PORT_B) & ~0x02) | 0x01); /* gate on, speaker off */
	outb(PIT_CMD, PIT_LOHI_MODE0(ch));
	outb(ch == 2 ? PIT_CH2 : PIT_CH0, count & 0xff);
	outb(ch == 2 ? PIT_CH2 : PIT_CH0, count >> 8);
}

/* Channel 2 through port 0x61 where it is wired: port B must not float
 * (0xff) and OUT2 must read low once mode 0 is armed. Else channel 0. */
static unsigned pit_pick(const char **name)
{
	if (inb(PORT_B) != 0xff) {
		pit_arm(2);
		if (!out2_high()) {
			*name = "PIT channel 2 via port 0x61";
			return 2;
		}
	}
	*name = "PIT channel 0 read-back";
	return 0;
}

/* TSC and APIC-timer ticks across one PIT period on channel ch. False if
 * the PIT never expired. */
static bool measure(unsigned ch, uint64_t *tsc, uint64_t *apic)
{
	bool (*expired)(void) = ch == 2 ? out2_high : out0_high;
	pit_arm(ch);
	apic_timer_start(APIC_MAX_COUNT);
	uint64_t t0 = rdtsc(), t1 = t0;
	uint32_t a0 = apic_timer_count();
	bool done = false;
	while (!done && t1 - t0 < TSC_WAIT_MAX) {
		done = expired();
		t1 = rdtsc();
	}
	uint32_t a1 = apic_timer_count();
	apic_timer_start(0);
	*tsc = t1 - t0;
	*apic = a0 - a1;
	return done;
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

/* The median of CALIBRATE_RUNS periods: a vCPU descheduled by the host
 * between arming the PIT and reading the TSC (or between expiry and the
 * read) skews one period, not the median. A host busy enough to skew most
 * of them gives implausible rates: that round is run again, up to
 * CALIBRATE_TRIES. Returns false if the PIT never expired or the rates
 * stay implausible. */
static bool calibrate(const char **ref)
{
	uint64_t tsc[CALIBRATE_RUNS], apic[CALIBRATE_RUNS];
	unsigned ch = pit_pick(ref);
	for (int round = 0; round < CALIBRATE_TRIES; round++) {
		for (int i = 0; i < CALIBRATE_RUNS; i++) {
			if (!measure(ch, &tsc[i], &apic[i])) {
				log_err("clock", "%s never expired", *ref);
				return false;
			}
		}
		tsc_hz = median(tsc, CALIBRATE_RUNS) * 1000 / CALIBRATE_MS;
		apic_hz = median(apic, CALIBRATE_RUNS) * 1000 / CALIBRATE_MS;
		if (tsc_hz >= TSC_HZ_MIN && tsc_hz <= TSC_HZ_MAX && apic_hz >= APIC_HZ_MIN)
			break;
		log_warn("clock", "%s gave implausible rates: TSC %lu Hz, APIC timer %lu Hz%s", *ref, tsc_hz,
			 apic_hz, round + 1 < CALIBRATE_TRIES ? "; measuring again" : "");
	}
	if (tsc_hz < TSC_HZ_MIN || tsc_hz > TSC_HZ_MAX || apic_hz < APIC_HZ_MIN)
		return false;
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
