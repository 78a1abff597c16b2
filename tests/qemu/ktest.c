/* In-kernel tests, linked into build/keel-test.elf in place of the
 * appliance. The kernel command line picks a suite (test=NAME); each case
 * prints one line "keel: ktest: PASS|FAIL <suite>: <case>" which
 * tests/qemu/run.py counts. A suite that passes powers the machine off
 * (QEMU exits 0); a failure exits through isa-debug-exit with status 3.
 * Time limits live in run.py, never in here: these machines are noisy. */
#include <assert.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "kernel/acpi.h"
#include "kernel/clock.h"
#include "kernel/cmdline.h"
#include "kernel/heap.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/panic.h"
#include "kernel/recover.h"
#include "kernel/sched.h"
#include "net/net.h"
#include "net/netdev.h"
#include "tests/qemu/ktest.h"

/* test=NAME picks the suite; none: an idle image (the power tests). */
/* Connections the suites open at once, at most (echo: 100 clients). */
#define KTEST_MAX_CONNS 1000

static char suite[32];
const char *ktest_suite_name = suite;
static const struct cmdline_option options[] = {
    CMDLINE_WORD_ROW("test", suite, "", "test image only: the in-kernel suite to run"),
};
CMDLINE_TABLE(ktest, options);
static int case_failures, failures;

void ktest_check_failed(const char *file, int line, const char *expr)
{
	log_err("ktest", "check failed at %s:%d: %s", file, line, expr);
	case_failures++;
}

void ktest_run_case(const char *name, void (*fn)(void))
{
	case_failures = 0;
	fn();
	log_info("ktest", "%s %s: %s", case_failures ? "FAIL" : "PASS", ktest_suite_name, name);
	failures += case_failures != 0;
}

static uint64_t prng_state = 0x9e3779b97f4a7c15ul;
void ktest_prng_seed(uint64_t seed)
{
	prng_state = seed;
}

uint64_t ktest_prng(void) /* xorshift64: reproducible across runs */
{
	prng_state ^= prng_state << 13;
	prng_state ^= prng_state >> 7;
	prng_state ^= prng_state << 17;
	return prng_state;
}

void ktest_wait_count(volatile int *count, int want)
{
	while (*count < want)
		sched_sleep(NSEC_PER_MSEC);
	sched_yield();
}

/* ---- scheduler ---- */

#define NSLEEPERS 1000
static struct sleeper {
	uint64_t deadline;
	int idx;
} sleepers[NSLEEPERS];
static int wake_order[NSLEEPERS];
static volatile int nwoke, nparked;
static int early;
static struct waitq gate = WAITQ_INIT(gate);

/* Park at the gate until every sleeper exists and has its deadline, so
 * no deadline can pass before all of them are queued (spawning 1000
 * tasks under a loaded TCG host can take longer than any fixed margin). */
static void sleeper_task(void *arg)
{
	struct sleeper *s = arg;
	nparked++;
	waitq_wait(&gate, 0);
	sched_sleep_until(s->deadline);
	if (clock_now() < s->deadline)
		early++;
	wake_order[nwoke++] = s->idx;
}

static int spawn_sleepers(void)
{
	int spawned = 0;
	nwoke = nparked = early = 0;
	for (int i = 0; i < NSLEEPERS; i++)
		spawned += task_spawn("sleeper", sleeper_task, &sleepers[i], 0) != NULL;
	ktest_wait_count(&nparked, spawned);
	/* Deadlines 100..300 ms out in 1 ms steps: many ties, which must wake
	 * in the order the tasks went to sleep (= gate order = spawn order). */
	uint64_t base = clock_now() + 100 * NSEC_PER_MSEC;
	for (int i = 0; i < NSLEEPERS; i++)
		sleepers[i] = (struct sleeper){base + (ktest_prng() % 200) * NSEC_PER_MSEC, i};
	waitq_wake_all(&gate);
	return spawned;
}

static void test_deadline_order(void)
{
	struct sched_stats before, after;
	sched_get_stats(&before);
	CHECK(spawn_sleepers() == NSLEEPERS);
	ktest_wait_count(&nwoke, NSLEEPERS);
	CHECK(early == 0);
	for (int i = 1; i < NSLEEPERS; i++) {
		const struct sleeper *a = &sleepers[wake_order[i - 1]], *b = &sleepers[wake_order[i]];
		CHECK(a->deadline < b->deadline || (a->deadline == b->deadline && a->idx < b->idx));
	}
	sched_get_stats(&after);
	CHECK(after.live == before.live);
	CHECK(after.exited - before.exited == NSLEEPERS);
}

static void test_stacks_reused(void)
{
	/* Stacks of exited tasks are cached: a second wave of 1000 tasks must
	 * not take a single new page. */
	size_t free_before = pmm_free_pages();
	CHECK(spawn_sleepers() == NSLEEPERS);
	ktest_wait_count(&nwoke, NSLEEPERS);
	CHECK(pmm_free_pages() == free_before);
}

static int turns[8], nturns;
static void yielder(void *arg)
{
	for (int i = 0; i < 4; i++) {
		turns[nturns++] = (int)(uintptr_t)arg;
		sched_yield();
	}
}

static void test_yield_round_robin(void)
{
	nturns = 0;
	task_spawn("yield-a", yielder, (void *)1, 0);
	task_spawn("yield-b", yielder, (void *)2, 0);
	while (nturns < 8)
		sched_yield();
	for (int i = 0; i < 8; i++)
		CHECK(turns[i] == 1 + i % 2);
}

static void test_sleep_zero(void)
{
	uint64_t t = clock_now();
	sched_sleep(0); /* a past deadline behaves as a yield */
	sched_sleep_until(t - 1);
	CHECK(clock_now() >= t);
}

static void test_recover(void)
{
	struct recovery rec;
	volatile int stage = 0;
	if (recover_point(&rec) == 0) {
		stage = 1;
		volatile int *volatile bad = (volatile int *)16;
		*bad = 1; /* page fault in this task */
		stage = 2;
		recover_done(&rec);
	}
	CHECK(stage == 1);
	CHECK(rec.vector == 14 && rec.cr2 == 16);
	sched_sleep(NSEC_PER_MSEC);           /* the task still schedules normally */
	CHECK(sched_take_recovery() == NULL); /* the point was consumed */
}

static void suite_sched(void)
{
	ktest_run_case("1000 sleepers wake in deadline order, ties in FIFO order", test_deadline_order);
	ktest_run_case("exited tasks' stacks are reused without new pages", test_stacks_reused);
	ktest_run_case("yield alternates two tasks round-robin", test_yield_round_robin);
	ktest_run_case("sleeping until a past deadline returns", test_sleep_zero);
	ktest_run_case("a page fault under a recovery point returns to it", test_recover);
}

/* ---- wait queues ---- */

static struct waitq wq = WAITQ_INIT(wq);
static int wait_results[4], woke_seq[4];
static volatile int nwaited;

static void waiter(void *arg)
{
	int i = (int)(uintptr_t)arg;
	wait_results[i] = waitq_wait(&wq, clock_now() + 5 * NSEC_PER_SEC);
	woke_seq[nwaited++] = i;
}

static void test_timeout(void)
{
	uint64_t deadline = clock_now() + 20 * NSEC_PER_MSEC;
	CHECK(waitq_wait(&wq, deadline) == -ETIMEDOUT);
	CHECK(clock_now() >= deadline);
	CHECK(list_empty(&wq.waiters)); /* a timed-out waiter leaves the queue */
}

static void test_wake_before_deadline(void)
{
	nwaited = 0;
	task_spawn("waiter", waiter, (void *)0, 0);
	sched_sleep(10 * NSEC_PER_MSEC);
	uint64_t woke_at = clock_now();
	waitq_wake_one(&wq);
	ktest_wait_count(&nwaited, 1);
	CHECK(wait_results[0] == 0);
	CHECK(woke_at < clock_now() + 5 * NSEC_PER_SEC);
}

static void test_wake_one_fifo(void)
{
	nwaited = 0;
	for (int i = 0; i < 3; i++)
		task_spawn("waiter", waiter, (void *)(uintptr_t)i, 0);
	sched_sleep(NSEC_PER_MSEC); /* all three are parked now */
	for (int i = 0; i < 3; i++) {
		waitq_wake_one(&wq);
		sched_yield();
	}
	ktest_wait_count(&nwaited, 3);
	for (int i = 0; i < 3; i++)
		CHECK(woke_seq[i] == i && wait_results[i] == 0);
}

static void test_wake_all(void)
{
	nwaited = 0;
	for (int i = 0; i < 4; i++)
		task_spawn("waiter", waiter, (void *)(uintptr_t)i, 0);
	sched_sleep(NSEC_PER_MSEC);
	waitq_wake_all(&wq);
	ktest_wait_count(&nwaited, 4);
	for (int i = 0; i < 4; i++)
		CHECK(wait_results[i] == 0);
	CHECK(list_empty(&wq.waiters));
}

static void test_wake_without_waiter(void)
{
	/* A wake with nobody parked is not remembered: this is a condition
	 * variable, and the caller's own condition carries the state. */
	waitq_wake_one(&wq);
	CHECK(waitq_wait(&wq, clock_now() + 5 * NSEC_PER_MSEC) == -ETIMEDOUT);
}

static void suite_waitq(void)
{
	ktest_run_case("wait with a deadline times out, not before it", test_timeout);
	ktest_run_case("wake before the deadline returns 0", test_wake_before_deadline);
	ktest_run_case("wake_one wakes waiters in FIFO order", test_wake_one_fifo);
	ktest_run_case("wake_all wakes every waiter", test_wake_all);
	ktest_run_case("a wake with no waiter is not stored", test_wake_without_waiter);
}

/* ---- heap and page allocator ---- */

#define SLOTS 256
static struct {
	uint8_t *p;
	size_t n;
} slots[SLOTS];

static void heap_churn(int ops, uint64_t seed)
{
	ktest_prng_seed(seed);
	for (int op = 0; op < ops; op++) {
		int i = (int)(ktest_prng() % SLOTS);
		if (slots[i].p) {
			for (size_t k = 0; k < slots[i].n; k += 61)
				if (slots[i].p[k] != (uint8_t)i) {
					CHECK(!"heap block corrupted");
					break;
				}
			free(slots[i].p);
			slots[i].p = NULL;
		} else {
			size_t n = 1 + ktest_prng() % (ktest_prng() % 8 ? 512 : 65536);
			slots[i].p = malloc(n);
			CHECK(slots[i].p != NULL);
			if (slots[i].p)
				memset(slots[i].p, i, slots[i].n = n);
		}
	}
	for (int i = 0; i < SLOTS; i++) {
		free(slots[i].p);
		slots[i].p = NULL;
	}
}

static void test_heap_no_leak(void)
{
	size_t in_use = mallinfo().uordblks;
	heap_churn(20000, 12345);
	size_t mapped = heap_mapped_bytes();
	CHECK(mallinfo().uordblks == in_use);
	/* Everything was freed and coalesced: replaying the same workload must
	 * fit in the memory the first run left free. */
	heap_churn(20000, 12345);
	CHECK(mallinfo().uordblks == in_use);
	CHECK(heap_mapped_bytes() == mapped);
	log_info("ktest", "heap: %zu KiB mapped after churn", mapped / 1024);
}

static void test_heap_exhaustion(void)
{
	size_t free_pages = pmm_free_pages();
	CHECK(malloc((size_t)1 << 40) == NULL); /* fails cleanly, no panic */
	CHECK(pmm_free_pages() == free_pages);
}

static void test_pages(void)
{
	static uint64_t pages[1000];
	size_t free_pages = pmm_free_pages();
	for (int i = 0; i < 1000; i++) {
		pages[i] = pmm_alloc();
		CHECK(pages[i] && !(pages[i] & (PAGE_SIZE - 1)));
		CHECK(((uint64_t *)phys_to_virt(pages[i]))[i % 512] == 0); /* zeroed */
		((uint64_t *)phys_to_virt(pages[i]))[i % 512] = pages[i];
	}
	for (int i = 0; i < 1000; i++)
		pmm_free(pages[i]);
	CHECK(pmm_free_pages() == free_pages);
}

static void suite_heap(void)
{
	ktest_run_case("malloc/free churn returns to the starting usage", test_heap_no_leak);
	ktest_run_case("an impossible allocation returns NULL", test_heap_exhaustion);
	ktest_run_case("page allocator hands out zeroed pages and takes them back", test_pages);
}

/* ---- deliberate faults: these suites never pass; run.py checks the report ---- */

static void suite_fault(void)
{
	log_info("ktest", "dereferencing a null pointer");
	volatile int *p = NULL;
	*p = 1;
}

static volatile int recursion_limit = 1 << 30; /* volatile: unknowable to the compiler */

static int recurse(int n)
{
	volatile char pad[512];
	pad[0] = (char)n;
	return n < recursion_limit ? recurse(n + 1) + pad[0] : 0;
}

static void suite_stack_overflow(void)
{
	log_info("ktest", "recursing until the guard page");
	recurse(0);
}

static void suite_assert(void)
{
	int answer = 41;
	assert(answer == 42);
}

static const struct {
	const char *name;
	void (*fn)(void);
} suites[] = {
    {"sched", suite_sched},          {"waitq", suite_waitq},     {"heap", suite_heap},
    {"nic", ktest_suite_nic},        {"echo", ktest_suite_echo}, {"fault", suite_fault},
    {"stack", suite_stack_overflow}, {"assert", suite_assert},
};

static void ktest_task(void *arg)
{
	(void)arg;
	for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
		if (!strcmp(ktest_suite_name, suites[i].name)) {
			suites[i].fn();
			log_info("ktest", "suite %s done: %d failed", ktest_suite_name, failures);
			if (failures)
				machine_halt(1);
			acpi_poweroff();
		}
	log_err("ktest", "unknown suite \"%s\"", ktest_suite_name);
	machine_halt(1);
}

void app_main(void)
{
	/* The nic suite drives the driver directly: no IP stack competing. */
	if (strcmp(ktest_suite_name, "nic") && netdev_get() && net_init(KTEST_MAX_CONNS) < 0)
		log_err("ktest", "net_init failed");
	if (!ktest_suite_name[0]) { /* no suite: behave like an idle appliance (power tests) */
		log_info("app", "test image idle");
		return;
	}
	task_spawn("ktest", ktest_task, NULL, 0);
}
