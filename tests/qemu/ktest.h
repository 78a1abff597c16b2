/* Shared helpers of the in-kernel test suites (tests/qemu/ktest*.c). */
#ifndef KEEL_KTEST_H
#define KEEL_KTEST_H

#include <stdint.h>

extern const char *ktest_suite_name;

void ktest_check_failed(const char *file, int line, const char *expr);
/* Run one case and print "keel: ktest: PASS|FAIL <suite>: <name>". */
void ktest_run_case(const char *name, void (*fn)(void));
void ktest_prng_seed(uint64_t seed);
uint64_t ktest_prng(void);
/* Sleep until *count reaches want, then yield once so the last task to
 * exit has been reaped. */
void ktest_wait_count(volatile int *count, int want);

/* A failed check is logged with file:line and fails the current case. */
#define CHECK(cond)                                                                                         \
	do {                                                                                                \
		if (!(cond))                                                                                \
			ktest_check_failed(__FILE__, __LINE__, #cond);                                      \
	} while (0)

void ktest_suite_nic(void);
void ktest_suite_echo(void);

#endif
