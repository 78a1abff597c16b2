/* Kernel entropy: one HMAC-DRBG (NIST SP 800-90A §10.1.2; BearSSL's
 * br_hmac_drbg over SHA-256) fed by every hardware source found.
 *
 * Sources, in the order they are read:
 *   rdseed      Intel SDM Vol. 1 §7.3.17.2: output of the entropy
 *               conditioner, meant for seeding software DRBGs.
 *   rdrand      §7.3.17.1: the CPU's own DRBG, reseeded by that conditioner.
 *   virtio-rng  virtio 1.1 §5.4: the host's generator (getrandom under QEMU).
 *   tsc         jitter between TSC reads around a little work. Always mixed
 *               in, never counted: under a hypervisor the TSC may be
 *               emulated, coarse or known to the host, so alone it proves
 *               nothing.
 * All that answer are concatenated into one seed: HMAC is a PRF over the
 * whole input, so a weak or subverted source cannot lower the DRBG below
 * the best one among them.
 *
 * Invariants: rs.ready iff at least one hardware source contributed to the
 * initial seed; rs.live holds exactly the sources that did, and only they
 * are read on reseed. The DRBG is never generated from while !rs.ready. */
#include <errno.h>
#include <string.h>

#include "bearssl.h"
#include "drivers/virtio/virtio_rng.h"
#include "kernel/cpu.h"
#include "kernel/log.h"
#include "kernel/random.h"
#include "kernel/wipe.h"

/* SP 800-90A §10.1.2 (Table 2): a 256-bit security strength needs 256
 * bits of entropy plus a 128-bit nonce to instantiate; each source gives
 * that much, so any single one suffices. A reseed needs 256 bits. */
#define RANDOM_SEED_BYTES 48
#define RANDOM_RESEED_IN 32
#define RANDOM_JITTER_BYTES 64   /* TSC samples at seed time: one byte each */
#define RANDOM_RESEED_JITTER 8

/* DRNG Software Implementation Guide §5.2.1: RDRAND failing 10 times in a
 * row means a hardware fault, not load. RDSEED (§5.3.1) may legitimately
 * run dry while the conditioner refills, so it gets many pause-spaced
 * retries; each costs well under a microsecond. */
#define RANDOM_RDRAND_RETRIES 10
#define RANDOM_RDSEED_RETRIES 1000

static struct random_state {
	br_hmac_drbg_context drbg;
	struct random_source live[RANDOM_MAX_SOURCES]; /* the sources that seeded it */
	int nlive;
	bool ready;
	uint64_t out_since;   /* bytes generated since the last (re)seed */
	uint64_t calls_since; /* random_bytes() calls since the last (re)seed */
	bool reseed_warned;   /* a failed reseed is logged once, then counted */
	uint64_t weak;        /* xorshift state for random_u32_weak without hardware */
	struct random_stats stats;
} rs;

/* ---- CPU sources (Intel SDM Vol. 1 §7.3.17) ---- */

bool random_hw_word_ok(uint64_t v, uint64_t prev)
{
	/* 0 and ~0 are what broken parts return with the carry set (AMD
	 * family 15h/16h after resume, some family 17h firmware); a repeat of
	 * the previous word is a stuck generator (the FIPS 140-2 continuous
	 * test). A healthy 64-bit source trips either with probability 2^-63. */
	return v != 0 && v != ~(uint64_t)0 && v != prev;
}

int random_cpu_fill(bool (*step)(uint64_t *v), int retries, uint64_t *prev, void *buf, size_t n)
{
	uint8_t *p = buf;
	while (n) {
		uint64_t v;
		int tries = 1;
		/* §7.3.17.1: CF=0 means no value was available (dest is zeroed). */
		while (!step(&v)) {
			if (tries++ >= retries)
				return -EIO;
			cpu_relax();
		}
		if (!random_hw_word_ok(v, *prev))
			return -EIO;
		*prev = v;
		size_t k = n < sizeof v ? n : sizeof v;
		memcpy(p, &v, k);
		wipe(&v, sizeof v);
		p += k;
		n -= k;
	}
	return 0;
}

static bool random_rdrand_step(uint64_t *v)
{
	unsigned char ok;
	__asm__ volatile("rdrand %0; setc %1" : "=r"(*v), "=qm"(ok) : : "cc");
	return ok;
}

static bool random_rdseed_step(uint64_t *v)
{
	unsigned char ok;
	__asm__ volatile("rdseed %0; setc %1" : "=r"(*v), "=qm"(ok) : : "cc");
	return ok;
}

static uint64_t rdrand_prev, rdseed_prev; /* continuous-test history, per source */

static int random_rdrand_read(void *buf, size_t n)
{
	return random_cpu_fill(random_rdrand_step, RANDOM_RDRAND_RETRIES, &rdrand_prev, buf, n);
}

static int random_rdseed_read(void *buf, size_t n)
{
	return random_cpu_fill(random_rdseed_step, RANDOM_RDSEED_RETRIES, &rdseed_prev, buf, n);
}

/* CPUID.01H:ECX.RDRAND[bit 30]; CPUID.(EAX=07H,ECX=0):EBX.RDSEED[bit 18]
 * (SDM Vol. 2A, CPUID), leaf 7 only if the maximum leaf reaches it. */
static bool random_has_rdrand(void)
{
	uint32_t r[4];
	cpuid(1, 0, r);
	return r[2] & (1u << 30);
}

static bool random_has_rdseed(void)
{
	uint32_t r[4];
	cpuid(0, 0, r);
	if (r[0] < 7)
		return false;
	cpuid(7, 0, r);
	return r[1] & (1u << 18);
}

/* ---- TSC jitter ---- */

/* One byte per sample: the TSC after a data-dependent amount of work, so
 * each delta carries whatever timing noise (interrupts, cache, the host's
 * scheduling of this vCPU) happened in between. Mixed in, never counted. */
static void random_tsc_jitter(uint8_t *out, size_t n)
{
	volatile uint64_t sink = 0;
	uint64_t last = rdtsc();
	for (size_t i = 0; i < n; i++) {
		for (uint64_t k = 0; k < 16 + (last & 31); k++)
			sink += k ^ last;
		uint64_t t = rdtsc();
		out[i] = (uint8_t)(t ^ (t - last) ^ ((t - last) >> 8));
		last = t;
	}
}

/* ---- seeding ---- */

static void random_name_append(char *names, size_t cap, const char *name)
{
	size_t len = strlen(names), add = strlen(name) + (len ? 1 : 0);
	if (len + add >= cap)
		return;
	if (len)
		names[len++] = '+';
	memcpy(names + len, name, strlen(name) + 1);
}

int random_seed_from(const struct random_source *srcs, int nsrcs)
{
	uint8_t seed[RANDOM_MAX_SOURCES * RANDOM_SEED_BYTES + RANDOM_JITTER_BYTES];
	char names[64] = "";
	size_t len = 0;
	rs = (struct random_state){ 0 };
	for (int i = 0; i < nsrcs && i < RANDOM_MAX_SOURCES; i++) {
		int err = srcs[i].read(seed + len, RANDOM_SEED_BYTES);
		if (err) { /* broken at boot: not trusted later either */
			rs.stats.source_failed++;
			log_warn("random", "%s: first read failed (error %d): not used", srcs[i].name, err);
			continue;
		}
		len += RANDOM_SEED_BYTES;
		rs.live[rs.nlive++] = srcs[i];
		random_name_append(names, sizeof names, srcs[i].name);
	}
	random_tsc_jitter(seed + len, RANDOM_JITTER_BYTES);
	len += RANDOM_JITTER_BYTES;
	random_name_append(names, sizeof names, "tsc");
	br_hmac_drbg_init(&rs.drbg, &br_sha256_vtable, seed, len);
	wipe(seed, sizeof seed);
	rs.ready = rs.nlive > 0;
	if (rs.ready)
		log_info("random", "seeded from %s", names);
	else
		log_warn("random", "no hardware entropy source (no RDSEED/RDRAND, no virtio-rng): TLS will not start");
	return rs.nlive;
}

void random_init(void)
{
	struct random_source srcs[RANDOM_MAX_SOURCES];
	int n = 0;
	if (random_has_rdseed())
		srcs[n++] = (struct random_source){ "rdseed", random_rdseed_read };
	if (random_has_rdrand())
		srcs[n++] = (struct random_source){ "rdrand", random_rdrand_read };
	/* Probed even when the CPU has a generator: an independent source is
	 * the defence against a faulty or subverted one. */
	if (virtio_rng_probe() == 0)
		srcs[n++] = (struct random_source){ "virtio-rng", virtio_rng_read };
	random_seed_from(srcs, n);
}

bool random_ready(void) { return rs.ready; }

const struct random_stats *random_get_stats(void) { return &rs.stats; }

/* ---- output and reseeding ---- */

/* HMAC_DRBG itself may go 2^48 requests between reseeds (SP 800-90A
 * Table 2), and each generate already updates its state, so past output
 * stays safe if the state leaks later. Reseeding is for the other
 * direction: after a leak (a memory-disclosure bug), output stays
 * predictable until fresh entropy arrives. RANDOM_RESEED_CALLS bounds that
 * window to ~1000 TLS handshakes (32 bytes each); RANDOM_RESEED_BYTES
 * bounds it for bulk callers and is also HMAC_DRBG's largest request
 * (2^19 bits), so longer requests are split at it. A reseed costs 32 bytes
 * per source and one DRBG update, small beside one handshake. */
static bool random_reseed_due(size_t chunk)
{
	return rs.calls_since >= RANDOM_RESEED_CALLS || rs.out_since + chunk > RANDOM_RESEED_BYTES;
}

static void random_reseed(void)
{
	uint8_t in[RANDOM_MAX_SOURCES * RANDOM_RESEED_IN + RANDOM_RESEED_JITTER];
	size_t len = 0;
	for (int i = 0; i < rs.nlive; i++) {
		if (rs.live[i].read(in + len, RANDOM_RESEED_IN) == 0)
			len += RANDOM_RESEED_IN;
		else
			rs.stats.source_failed++;
	}
	bool fresh = len > 0;
	random_tsc_jitter(in + len, RANDOM_RESEED_JITTER);
	len += RANDOM_RESEED_JITTER;
	br_hmac_drbg_update(&rs.drbg, in, len);
	wipe(in, sizeof in);
	/* Counters restart even if every source failed: the DRBG stays as
	 * strong as its last seed, and retrying on every call would poll a
	 * dead virtio-rng for its full timeout each time. */
	rs.out_since = rs.calls_since = 0;
	if (fresh) {
		rs.stats.reseeds++;
		return;
	}
	rs.stats.reseed_failed++;
	if (!rs.reseed_warned)
		log_warn("random", "reseed: every hardware source failed; going on from the last seed "
				   "(further failures are only counted)");
	rs.reseed_warned = true;
}

int random_bytes(void *buf, size_t n)
{
	if (!rs.ready)
		return -ENODEV;
	uint8_t *p = buf;
	do {
		size_t chunk = n < RANDOM_RESEED_BYTES ? n : RANDOM_RESEED_BYTES;
		if (random_reseed_due(chunk))
			random_reseed();
		br_hmac_drbg_generate(&rs.drbg, p, chunk);
		rs.out_since += chunk;
		p += chunk;
		n -= chunk;
	} while (n);
	rs.calls_since++;
	rs.stats.calls++;
	rs.stats.bytes += (uint64_t)(p - (uint8_t *)buf);
	return 0;
}

/* xorshift64* (Vigna, "An experimental exploration of Marsaglia's xorshift
 * generators", 2014), with the TSC folded in on every call so that calls
 * spaced in time differ even to someone who saw an earlier output. Only
 * for lwIP's ports, DHCP ids and timer jitter: never for secrets. */
uint32_t random_u32_weak(void)
{
	uint32_t r;
	if (random_bytes(&r, sizeof r) == 0)
		return r;
	rs.stats.weak_fallback++;
	uint64_t x = rs.weak ^ rdtsc();
	if (!x)
		x = 0x9e3779b97f4a7c15ull;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rs.weak = x;
	return (uint32_t)((x * 0x2545f4914f6cdd1dull) >> 32);
}
