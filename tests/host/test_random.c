/*
 * Host tests for kernel/random.c: the RDRAND/RDSEED word checks and retry
 * loop over fake instruction steps, and seeding, reseed policy and failure
 * handling over fake sources, with BearSSL's real HMAC-DRBG underneath.
 * The TSC jitter is real (the host's), so outputs are compared with each
 * other, never with fixed vectors.
 */
#include "tests/host/test.h"

#include <errno.h>
#include <stdint.h>

#include "kernel/random.h"
#include "tests/host/fake_random_env.h"

/* ---- fake instruction steps for random_cpu_fill ---- */

static uint64_t step_next;  /* next value a healthy step returns */
static int step_fail_first; /* that many calls clear the carry first */
static int step_calls;

static bool step_counter(uint64_t *v)
{
	step_calls++;
	if (step_fail_first > 0) {
		step_fail_first--;
		*v = 0; /* SDM: dest is zeroed when CF=0 */
		return false;
	}
	*v = step_next;
	step_next += 0x0101010101010101ull;
	return true;
}

static bool step_all_ones(uint64_t *v) /* the AMD failure: CF=1, value ~0 */
{
	*v = ~(uint64_t)0;
	return true;
}

static bool step_stuck(uint64_t *v)
{
	*v = 0x1234567890abcdefull;
	return true;
}

static void step_reset(int fail_first)
{
	step_next = 0x0102030405060708ull;
	step_fail_first = fail_first;
	step_calls = 0;
}

static void t_word_checks(void)
{
	CHECK(random_hw_word_ok(0x5a5a5a5a5a5a5a5aull, 0));
	CHECK(!random_hw_word_ok(0, 1));
	CHECK(!random_hw_word_ok(~(uint64_t)0, 1));
	CHECK(!random_hw_word_ok(42, 42));
	CHECK(random_hw_word_ok(0xffffffffull, 0)); /* 32 ones in a 64-bit word are fine */
}

static void t_fill_little_endian_words(void)
{
	uint8_t buf[20];
	uint64_t prev = 0;
	step_reset(0);
	CHECK(random_cpu_fill(step_counter, 10, &prev, buf, sizeof buf) == 0);
	CHECK(step_calls == 3); /* 8 + 8 + 4 bytes */
	CHECK(buf[0] == 0x08 && buf[7] == 0x01);
	CHECK(buf[8] == 0x09 && buf[15] == 0x02);
	CHECK(buf[16] == 0x0a && buf[19] == 0x07);
	CHECK(prev == 0x030405060708090aull);
}

static void t_fill_retries(void)
{
	uint8_t buf[8];
	uint64_t prev = 0;
	step_reset(9); /* 9 carry-clear results, the 10th try succeeds */
	CHECK(random_cpu_fill(step_counter, 10, &prev, buf, sizeof buf) == 0);
	CHECK(step_calls == 10);
	step_reset(10); /* 10 in a row: a hardware fault (DRNG guide §5.2.1) */
	CHECK(random_cpu_fill(step_counter, 10, &prev, buf, sizeof buf) == -EIO);
	CHECK(step_calls == 10);
}

static void t_fill_rejects_broken(void)
{
	uint8_t buf[16];
	uint64_t prev = 0;
	CHECK(random_cpu_fill(step_all_ones, 10, &prev, buf, sizeof buf) == -EIO);
	prev = 0;
	CHECK(random_cpu_fill(step_stuck, 10, &prev, buf, sizeof buf) == -EIO); /* second word repeats */
	prev = 0;
	CHECK(random_cpu_fill(step_stuck, 10, &prev, buf, 8) == 0);
	CHECK(random_cpu_fill(step_stuck, 10, &prev, buf, 8) == -EIO); /* the history spans calls */
}

/* ---- fake sources for random_seed_from ---- */

static int good_reads, bad_reads, flaky_reads, flaky_ok; /* flaky: fails after flaky_ok reads */
static uint8_t good_byte;

static int src_good(void *buf, size_t n)
{
	good_reads++;
	memset(buf, ++good_byte, n);
	return 0;
}

static int src_bad(void *buf, size_t n)
{
	(void)buf;
	(void)n;
	bad_reads++;
	return -EIO;
}

static int src_flaky(void *buf, size_t n)
{
	if (flaky_reads++ >= flaky_ok)
		return -ETIMEDOUT;
	memset(buf, 0x77, n);
	return 0;
}

static const struct random_source good = { "good", src_good };
static const struct random_source bad = { "bad", src_bad };
static const struct random_source flaky = { "flaky", src_flaky };

static void sources_reset(void)
{
	good_reads = bad_reads = flaky_reads = 0;
	flaky_ok = 1;
	fake_log_reset();
}

static void t_no_source(void)
{
	sources_reset();
	CHECK(random_seed_from(NULL, 0) == 0);
	CHECK(!random_ready());
	CHECK(fake_log_last_level == LOG_WARN);
	CHECK(strcmp(fake_log_last, "random: no hardware entropy source (no RDSEED/RDRAND, no virtio-rng): "
				    "TLS will not start") == 0);
	uint8_t buf[16];
	memset(buf, 0xaa, sizeof buf);
	CHECK(random_bytes(buf, sizeof buf) == -ENODEV);
	CHECK(buf[0] == 0xaa && buf[15] == 0xaa); /* untouched */
	uint32_t a = random_u32_weak(), b = random_u32_weak(), c = random_u32_weak();
	CHECK(a != b || b != c);
	CHECK(random_get_stats()->weak_fallback == 3);
}

static void t_seeded(void)
{
	sources_reset();
	CHECK(random_seed_from(&good, 1) == 1);
	CHECK(random_ready());
	CHECK(fake_log_last_level == LOG_INFO);
	CHECK(strcmp(fake_log_last, "random: seeded from good+tsc") == 0);
	uint8_t a[32] = { 0 }, b[32] = { 0 }, zero[32] = { 0 };
	CHECK(random_bytes(a, sizeof a) == 0);
	CHECK(random_bytes(b, sizeof b) == 0);
	CHECK(memcmp(a, zero, sizeof a) != 0 && memcmp(a, b, sizeof a) != 0);
	CHECK(random_bytes(a, 0) == 0);
	random_u32_weak();
	CHECK(random_get_stats()->weak_fallback == 0);
	CHECK(random_get_stats()->calls == 4 && random_get_stats()->bytes == 68);
}

static void t_failed_source_dropped(void)
{
	sources_reset();
	const struct random_source srcs[] = { bad, good };
	CHECK(random_seed_from(srcs, 2) == 1);
	CHECK(strcmp(fake_log_last, "random: seeded from good+tsc") == 0);
	CHECK(fake_log_lines == 2); /* the "first read failed" warning, then the seed line */
	uint8_t buf[32];
	for (unsigned i = 0; i < 3 * RANDOM_RESEED_CALLS; i++)
		random_bytes(buf, sizeof buf);
	CHECK(bad_reads == 1);
	CHECK(good_reads == 1 + 2);
	CHECK(random_get_stats()->source_failed == 1 && random_get_stats()->reseeds == 2);
}

static void t_reseed_by_calls(void)
{
	sources_reset();
	random_seed_from(&good, 1);
	uint8_t buf[32];
	for (unsigned i = 0; i < RANDOM_RESEED_CALLS; i++)
		random_bytes(buf, sizeof buf);
	CHECK(good_reads == 1); /* one seed serves RANDOM_RESEED_CALLS calls */
	random_bytes(buf, sizeof buf);
	CHECK(good_reads == 2);
	CHECK(random_get_stats()->reseeds == 1);
}

static void t_reseed_by_bytes(void)
{
	static uint8_t big[3 * RANDOM_RESEED_BYTES + 1];
	sources_reset();
	random_seed_from(&good, 1);
	CHECK(random_bytes(big, RANDOM_RESEED_BYTES - 16) == 0);
	CHECK(random_bytes(big, 16) == 0);
	CHECK(good_reads == 1); /* exactly RANDOM_RESEED_BYTES from one seed */
	CHECK(random_bytes(big, 1) == 0);
	CHECK(good_reads == 2);
	/* A long request is split at RANDOM_RESEED_BYTES, reseeding between. */
	sources_reset();
	random_seed_from(&good, 1);
	CHECK(random_bytes(big, sizeof big) == 0);
	CHECK(good_reads == 1 + 3);
	CHECK(memcmp(big, big + RANDOM_RESEED_BYTES, 64) != 0);
}

static void t_reseed_failure(void)
{
	sources_reset();
	CHECK(random_seed_from(&flaky, 1) == 1); /* its one good read seeds */
	int lines = fake_log_lines;
	uint8_t buf[32];
	for (unsigned i = 0; i <= RANDOM_RESEED_CALLS; i++)
		CHECK(random_bytes(buf, sizeof buf) == 0);
	CHECK(flaky_reads == 2);
	CHECK(random_get_stats()->reseed_failed == 1 && random_get_stats()->reseeds == 0);
	CHECK(fake_log_lines == lines + 1 && fake_log_last_level == LOG_WARN);
	/* Not retried on the next call (a dead device would cost its timeout
	 * every time), but after a full interval; logged only once. */
	random_bytes(buf, sizeof buf);
	CHECK(flaky_reads == 2);
	for (unsigned i = 0; i < RANDOM_RESEED_CALLS; i++)
		random_bytes(buf, sizeof buf);
	CHECK(flaky_reads == 3);
	CHECK(random_get_stats()->reseed_failed == 2);
	CHECK(fake_log_lines == lines + 1);
	CHECK(random_ready());
}

static void t_source_cap(void)
{
	sources_reset();
	struct random_source srcs[RANDOM_MAX_SOURCES + 2];
	for (size_t i = 0; i < TEST_COUNT(srcs); i++)
		srcs[i] = good;
	CHECK(random_seed_from(srcs, (int)TEST_COUNT(srcs)) == RANDOM_MAX_SOURCES);
	CHECK(good_reads == RANDOM_MAX_SOURCES);
	CHECK(strcmp(fake_log_last, "random: seeded from good+good+good+good+tsc") == 0);
}

static const struct test_case cases[] = {
	{ "0, ~0 and a repeat of the previous word are rejected", t_word_checks },
	{ "cpu fill: words stored little-endian, tail truncated, history kept", t_fill_little_endian_words },
	{ "cpu fill: carry clear is retried up to the limit, then -EIO", t_fill_retries },
	{ "cpu fill: an all-ones (AMD) or stuck generator is -EIO", t_fill_rejects_broken },
	{ "no source: not ready, -ENODEV, warning line, weak numbers still vary", t_no_source },
	{ "one source: ready, 'seeded from good+tsc', outputs differ", t_seeded },
	{ "a source failing its first read is never read again", t_failed_source_dropped },
	{ "reseed after RANDOM_RESEED_CALLS calls", t_reseed_by_calls },
	{ "reseed after RANDOM_RESEED_BYTES bytes; long requests split", t_reseed_by_bytes },
	{ "failed reseed: output goes on, counted, logged once, retried an interval later", t_reseed_failure },
	{ "at most RANDOM_MAX_SOURCES sources are read", t_source_cap },
};

int main(void)
{
	test_init("random");
	test_run(cases, TEST_COUNT(cases));
	return test_finish();
}
