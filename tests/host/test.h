/*
 * Minimal host test framework for Keel's pure modules. Include it first
 * (it sets _DEFAULT_SOURCE for mmap).
 *
 * A suite is a table of described cases, or a loop over a data table that
 * brackets each row with test_begin()/test_end(). CHECK() records a failure
 * and carries on, so one run shows every broken case. Each case prints
 * exactly one line on stdout, which `make test` counts:
 *
 *     PASS host/<suite>: <case>
 *     FAIL host/<suite>: <case> (file:line: expr)
 *
 * Details of every failed check (up to a cap) go to stderr.
 *
 *     static void t_empty(void) { CHECK(parse("") == 0); }
 *     static const struct test_case cases[] = { { "empty input", t_empty } };
 *     int main(void)
 *     {
 *         test_init("mysuite");
 *         test_run(cases, TEST_COUNT(cases));
 *         return test_finish();
 *     }
 */
#ifndef KEEL_TEST_H
#define KEEL_TEST_H

#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct test_case {
	const char *name;
	void (*fn)(void);
};

#define TEST_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Evaluates to cond's truth, so a case can stop early: if (!CHECK(p)) return; */
#define CHECK(cond) test_check(!!(cond), #cond, __FILE__, __LINE__)

/* Failed checks per case echoed to stderr; the rest are only counted, so a
 * broken loop over 100k operations stays readable. */
#define TEST_STDERR_CAP 10

static struct {
	const char *suite;
	const char *name;   /* current case, NULL between cases */
	int fails;          /* failed checks in the current case */
	char first[256];    /* "file:line: expr" of the first one */
	int passed, failed; /* cases */
} test_state;

static inline void test_init(const char *suite)
{
	/* One write per line keeps PASS/FAIL lines whole when make -j runs
	 * several test binaries into the same pipe. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_state.suite = suite;
}

static inline void test_begin(const char *name)
{
	test_state.name = name;
	test_state.fails = 0;
	test_state.first[0] = '\0';
}

static inline bool test_check(bool ok, const char *expr, const char *file, int line)
{
	if (ok)
		return true;
	if (test_state.fails == 0)
		snprintf(test_state.first, sizeof(test_state.first), "%s:%d: %s", file, line, expr);
	if (test_state.fails < TEST_STDERR_CAP)
		fprintf(stderr, "%s:%d: %s: %s: CHECK(%s) failed\n", file, line, test_state.suite,
			test_state.name ? test_state.name : "?", expr);
	test_state.fails++;
	return false;
}

static inline void test_end(void)
{
	if (test_state.fails == 0) {
		printf("PASS host/%s: %s\n", test_state.suite, test_state.name);
		test_state.passed++;
	} else if (test_state.fails == 1) {
		printf("FAIL host/%s: %s (%s)\n", test_state.suite, test_state.name, test_state.first);
		test_state.failed++;
	} else {
		printf("FAIL host/%s: %s (%s; +%d more)\n", test_state.suite, test_state.name,
		       test_state.first, test_state.fails - 1);
		test_state.failed++;
	}
	test_state.name = NULL;
}

static inline void test_run(const struct test_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		test_begin(cases[i].name);
		cases[i].fn();
		test_end();
	}
}

/* Exit status for main: 0 if every case passed. */
static inline int test_finish(void)
{
	fflush(stdout);
	return test_state.failed ? 1 : 0;
}

/*
 * Guard regions: cap writable bytes that end right before a PROT_NONE page,
 * so code reading or writing one byte past the end faults at once, even
 * where the sanitizers would not see it. Each of the TEST_GUARD_SLOTS
 * slots is a separate region (a test may need an input and an output at
 * once); memory handed out stays valid until its slot is used again.
 * Aborts if cap does not fit.
 */
#define TEST_GUARD_BYTES (256 * 1024)
#define TEST_GUARD_SLOTS 3

static inline char *test_guard_region(int slot, size_t cap)
{
	static char *base[TEST_GUARD_SLOTS];

	if (!base[slot]) {
		size_t page = (size_t)sysconf(_SC_PAGESIZE);
		base[slot] = mmap(NULL, TEST_GUARD_BYTES + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				  -1, 0);
		if (base[slot] == MAP_FAILED || mprotect(base[slot] + TEST_GUARD_BYTES, page, PROT_NONE)) {
			perror("test_guard_region: mmap");
			abort();
		}
	}
	if (cap > TEST_GUARD_BYTES) {
		fprintf(stderr, "test_guard_region: %zu bytes do not fit\n", cap);
		abort();
	}
	return base[slot] + TEST_GUARD_BYTES - cap;
}

/* Copy n bytes so that the last one is the last before the PROT_NONE page
 * (no NUL after it: a one-byte over-read faults). Slot 0. */
static inline const char *test_guarded_n(const void *s, size_t n) { return memcpy(test_guard_region(0, n), s, n); }

/* Copy the NUL-terminated s so that its NUL is the last byte before the
 * PROT_NONE page. Slot 2. */
static inline const char *test_guarded(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(test_guard_region(2, n), s, n);
}

#endif
