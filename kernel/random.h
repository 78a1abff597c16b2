/* Kernel entropy: an HMAC-DRBG (NIST SP 800-90A §10.1.2, BearSSL's
 * br_hmac_drbg with SHA-256) seeded from every hardware source found
 * (RDSEED, RDRAND, virtio-rng), each mixed with TSC jitter, and reseeded
 * from them periodically. TLS takes its per-engine entropy here.
 *
 * The TSC alone is never enough: without a hardware source random_ready()
 * is false and random_bytes() fails. Only non-cryptographic users (lwIP's
 * ports and DHCP ids) get random_u32_weak(), which works either way.
 *
 * WARNING: task context only, never from an IRQ handler: the DRBG state
 * is shared and unlocked (cooperative tasks on one CPU), and a reseed may
 * poll virtio-rng for up to about 100 ms. */
#ifndef KEEL_RANDOM_H
#define KEEL_RANDOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Reseed policy (random.c says why): one seed serves at most
 * RANDOM_RESEED_CALLS calls and RANDOM_RESEED_BYTES bytes of output; the
 * call that would pass either limit reseeds first. */
#define RANDOM_RESEED_BYTES (64u * 1024)
#define RANDOM_RESEED_CALLS 1024u

/* After pci_init (virtio-rng is a PCI device), before anything needs
 * entropy. Probes the sources, seeds the DRBG, logs one line. */
void random_init(void);
/* True iff a hardware source seeded the DRBG. */
bool random_ready(void);
/* n bytes of DRBG output: 0, or -ENODEV without a hardware source (the
 * buffer is then untouched). Reseeds from the hardware when due. */
int random_bytes(void *buf, size_t n);
/* For non-cryptographic uses that must work without hardware entropy
 * (lwIP's LWIP_RAND): the DRBG when ready, else a TSC-seeded xorshift. */
uint32_t random_u32_weak(void);

/* Every failure is counted, none is silent. */
struct random_stats {
	uint64_t calls, bytes;  /* random_bytes() successes and their output */
	uint64_t reseeds;       /* reseeds that mixed in fresh hardware entropy */
	uint64_t reseed_failed; /* reseeds where every hardware source failed */
	uint64_t source_failed; /* single source reads that failed (init or reseed) */
	uint64_t weak_fallback; /* random_u32_weak() answers from the xorshift */
};
const struct random_stats *random_get_stats(void);

/* ---- The seams random_init() is built from, also used by host tests. ---- */

/* A hardware source: read() fills all n bytes, or returns a negative errno
 * and the bytes must not be used. */
struct random_source {
	const char *name; /* in the "seeded from" line: "rdseed", "rdrand", "virtio-rng" */
	int (*read)(void *buf, size_t n);
};
#define RANDOM_MAX_SOURCES 4

/* Reset all state and seed from these sources (at most RANDOM_MAX_SOURCES,
 * tried in order; one that fails here is not used again), plus TSC
 * jitter. Logs the "seeded from" or "no hardware entropy" line. Returns
 * how many sources contributed. */
int random_seed_from(const struct random_source *srcs, int nsrcs);

/* Intel SDM Vol. 1 §7.3.17 / DRNG guide §5.2-5.3: run `step` (one RDRAND
 * or RDSEED: true with *v set if the carry flag was set) until n bytes are
 * filled, each word retried up to `retries` times. A word that is all
 * zeros, all ones (AMD family 15h/17h parts return ~0 with the carry set)
 * or equal to the one before it (*prev, kept across calls) means a broken
 * generator: -EIO, as is running out of retries. */
int random_cpu_fill(bool (*step)(uint64_t *v), int retries, uint64_t *prev, void *buf, size_t n);
/* The per-word check of random_cpu_fill. */
bool random_hw_word_ok(uint64_t v, uint64_t prev);

#endif
