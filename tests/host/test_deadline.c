/*
 * Host tests for kernel/deadline.c.
 *
 * The heap is checked against a reference: a plain array kept sorted by
 * (when, insertion order), driven by a fixed-seed PRNG so every run sees
 * the same ~100k operations. A structural walk after every batch checks
 * heap order, the prev/child/next links and the count.
 */
#include "tests/host/test.h"

#include "kernel/deadline.h"

#include <stdint.h>

#define POOL 4096

static struct deadline_node pool[POOL];

/* xorshift64*: fixed seed, so a failure replays identically. */
static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static void reset_pool(struct deadline_heap *h)
{
	memset(pool, 0, sizeof(pool));
	deadline_heap_init(h);
	rng_state = 0x9e3779b97f4a7c15ull;
}

/* ---- Reference model: node pointers sorted by (when, arrival). ---- */

static struct {
	struct deadline_node *n[POOL];
	size_t len;
} ref;

static void ref_reset(void)
{
	ref.len = 0;
}

static size_t ref_find(const struct deadline_node *n)
{
	for (size_t i = 0; i < ref.len; i++)
		if (ref.n[i] == n)
			return i;
	return SIZE_MAX;
}

static void ref_erase(size_t i)
{
	memmove(&ref.n[i], &ref.n[i + 1], (ref.len - i - 1) * sizeof(ref.n[0]));
	ref.len--;
}

/* Insert after every entry with the same when, which is FIFO order. */
static void ref_insert(struct deadline_node *n, uint64_t when)
{
	size_t lo = 0, hi = ref.len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ref.n[mid]->when <= when)
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(&ref.n[lo + 1], &ref.n[lo], (ref.len - lo) * sizeof(ref.n[0]));
	ref.n[lo] = n;
	ref.len++;
}

/* Both sides of every operation, so the model cannot drift. */
static void both_insert(struct deadline_heap *h, struct deadline_node *n, uint64_t when)
{
	size_t i = ref_find(n);

	if (i != SIZE_MAX)
		ref_erase(i);
	/* n is out of ref now, so deadline_insert changing n->when cannot
	 * unsort ref. */
	deadline_insert(h, n, when);
	ref_insert(n, when);
}

static void both_remove(struct deadline_heap *h, struct deadline_node *n)
{
	deadline_remove(h, n);
	ref_erase(ref_find(n));
}

/* ---- Structural check. ---- */

static size_t check_subtree(const struct deadline_node *parent)
{
	size_t count = 0;
	const struct deadline_node *prev = parent;

	for (const struct deadline_node *c = parent->child; c; c = c->next) {
		CHECK(c->prev == prev);
		CHECK(deadline_queued(c));
		CHECK(parent->when < c->when || (parent->when == c->when && parent->seq < c->seq));
		count += 1 + check_subtree(c);
		prev = c;
	}
	return count;
}

static void check_heap(const struct deadline_heap *h)
{
	size_t count = 0;

	if (h->root) {
		CHECK(h->root->prev == h->root);
		CHECK(h->root->next == NULL);
		count = 1 + check_subtree(h->root);
	}
	CHECK(count == h->count);
	CHECK(h->count == ref.len);
	CHECK(deadline_min(h) == (ref.len ? ref.n[0] : NULL));
}

/* Pop everything and compare with the reference order. */
static void drain_and_compare(struct deadline_heap *h)
{
	size_t i = 0, expect = ref.len;
	struct deadline_node *n;

	while ((n = deadline_pop(h)) != NULL) {
		if (!CHECK(i < expect))
			break;
		CHECK(n == ref.n[i]);
		CHECK(!deadline_queued(n));
		i++;
	}
	CHECK(i == expect);
	CHECK(h->count == 0);
	CHECK(h->root == NULL);
	ref_reset();
}

/* ---- Cases. ---- */

static void t_empty(void)
{
	struct deadline_heap h;
	struct deadline_node n;

	memset(&n, 0, sizeof(n));
	deadline_heap_init(&h);
	CHECK(deadline_min(&h) == NULL);
	CHECK(deadline_pop(&h) == NULL);
	CHECK(h.count == 0);
	CHECK(!deadline_queued(&n));
	deadline_insert(&h, &n, 5);
	CHECK(deadline_pop(&h) == &n);
	CHECK(deadline_pop(&h) == NULL);
	CHECK(deadline_min(&h) == NULL);
	CHECK(h.count == 0);
}

static void t_queued_flag(void)
{
	struct deadline_heap h;
	struct deadline_node a, b;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	deadline_heap_init(&h);
	CHECK(!deadline_queued(&a));
	deadline_insert(&h, &a, 10);
	deadline_insert(&h, &b, 20);
	CHECK(deadline_queued(&a));
	CHECK(deadline_queued(&b));
	CHECK(deadline_pop(&h) == &a);
	CHECK(!deadline_queued(&a));
	deadline_remove(&h, &b);
	CHECK(!deadline_queued(&b));
	CHECK(h.count == 0);
	/* A popped node can be queued again. */
	deadline_insert(&h, &a, 1);
	CHECK(deadline_queued(&a));
	CHECK(deadline_pop(&h) == &a);
}

static void t_count(void)
{
	struct deadline_heap h;

	reset_pool(&h);
	for (size_t i = 0; i < 100; i++) {
		deadline_insert(&h, &pool[i], 100 - i);
		CHECK(h.count == i + 1);
	}
	deadline_remove(&h, &pool[50]);
	CHECK(h.count == 99);
	deadline_insert(&h, &pool[10], 7); /* re-arm: no growth */
	CHECK(h.count == 99);
	for (size_t i = 99; i > 0; i--) {
		CHECK(deadline_pop(&h) != NULL);
		CHECK(h.count == i - 1);
	}
}

/* All deadlines equal: strictly insertion order. */
static void t_fifo_all_equal(void)
{
	struct deadline_heap h;

	reset_pool(&h);
	for (size_t i = 0; i < 1000; i++)
		deadline_insert(&h, &pool[i], 42);
	for (size_t i = 0; i < 1000; i++)
		CHECK(deadline_pop(&h) == &pool[i]);
}

/* The scheduler test's shape: 1000 tasks, few distinct deadlines, wake in
 * deadline order and within one deadline in spawn order. */
static void t_fifo_ties(void)
{
	struct deadline_heap h;
	struct deadline_node *last = NULL;

	reset_pool(&h);
	for (size_t i = 0; i < 1000; i++)
		deadline_insert(&h, &pool[i], rng() % 16);
	for (size_t i = 0; i < 1000; i++) {
		struct deadline_node *n = deadline_pop(&h);
		if (!CHECK(n != NULL))
			return;
		if (last)
			CHECK(last->when < n->when || (last->when == n->when && last < n));
		last = n;
	}
}

/* Re-arming moves a node behind others with the same deadline. */
static void t_rearm(void)
{
	struct deadline_heap h;

	reset_pool(&h);
	ref_reset();
	for (size_t i = 0; i < 8; i++)
		both_insert(&h, &pool[i], 5);
	both_insert(&h, &pool[0], 5);
	both_insert(&h, &pool[3], 1);
	both_insert(&h, &pool[7], 9);
	check_heap(&h);
	CHECK(deadline_pop(&h) == &pool[3]);
	ref_erase(0);
	CHECK(deadline_min(&h) == &pool[1]);
	drain_and_compare(&h);
}

static struct deadline_node *find_node(const struct deadline_heap *h, bool want_children)
{
	for (size_t i = 0; i < POOL; i++) {
		struct deadline_node *n = &pool[i];
		if (deadline_queued(n) && n != h->root && (n->child != NULL) == want_children)
			return n;
	}
	return NULL;
}

/* Build a heap with depth: inserts alone give a flat root, a pop pairs the
 * children into nested trees. */
static void build_deep(struct deadline_heap *h)
{
	reset_pool(h);
	ref_reset();
	for (size_t i = 0; i < 64; i++)
		both_insert(h, &pool[i], rng() % 1000);
	CHECK(deadline_pop(h) == ref.n[0]);
	ref_erase(0);
	check_heap(h);
}

static void t_remove_root(void)
{
	struct deadline_heap h;

	build_deep(&h);
	both_remove(&h, h.root);
	check_heap(&h);
	drain_and_compare(&h);
}

static void t_remove_leaf(void)
{
	struct deadline_heap h;
	struct deadline_node *n;

	build_deep(&h);
	n = find_node(&h, false);
	if (!CHECK(n != NULL))
		return;
	both_remove(&h, n);
	CHECK(!deadline_queued(n));
	check_heap(&h);
	drain_and_compare(&h);
}

static void t_remove_middle(void)
{
	struct deadline_heap h;
	struct deadline_node *n;

	build_deep(&h);
	n = find_node(&h, true);
	if (!CHECK(n != NULL))
		return;
	both_remove(&h, n);
	CHECK(!deadline_queued(n));
	check_heap(&h);
	drain_and_compare(&h);
}

static void t_remove_last(void)
{
	struct deadline_heap h;

	reset_pool(&h);
	deadline_insert(&h, &pool[0], 3);
	deadline_remove(&h, &pool[0]);
	CHECK(h.root == NULL);
	CHECK(h.count == 0);
	CHECK(deadline_pop(&h) == NULL);
}

/* ~100k random operations against the reference; when drawn from a small
 * range so ties are common. */
static void t_random_ops(void)
{
	struct deadline_heap h;

	reset_pool(&h);
	ref_reset();
	for (int op = 0; op < 100000; op++) {
		unsigned r = (unsigned)(rng() % 100);
		struct deadline_node *n = &pool[rng() % POOL];
		uint64_t when = rng() % 512;

		if (r < 45) { /* insert or re-arm */
			both_insert(&h, n, when);
		} else if (r < 75) { /* pop */
			struct deadline_node *p = deadline_pop(&h);
			CHECK(p == (ref.len ? ref.n[0] : NULL));
			if (p)
				ref_erase(0);
		} else if (deadline_queued(n)) { /* remove an arbitrary node */
			both_remove(&h, n);
		}
		if (op % 1000 == 0)
			check_heap(&h);
		if (!CHECK(h.count == ref.len))
			return;
	}
	check_heap(&h);
	drain_and_compare(&h);
}

/* Monotone insert orders give the flattest and the deepest shapes; 50k
 * entries would overflow a small stack if any walk recursed. */
static void run_monotone(bool ascending)
{
	static struct deadline_node big[50000];
	struct deadline_heap h;
	uint64_t last = 0;

	memset(big, 0, sizeof(big));
	deadline_heap_init(&h);
	for (size_t i = 0; i < 50000; i++)
		deadline_insert(&h, &big[i], ascending ? i : 50000 - i);
	for (size_t i = 0; i < 50000; i++) {
		struct deadline_node *n = deadline_pop(&h);
		if (!CHECK(n != NULL))
			return;
		CHECK(n->when >= last);
		last = n->when;
	}
	CHECK(deadline_pop(&h) == NULL);
}

static void t_ascending(void)
{
	run_monotone(true);
}

static void t_descending(void)
{
	run_monotone(false);
}

static const struct test_case cases[] = {
    {"empty heap", t_empty},
    {"queued flag follows insert/pop/remove", t_queued_flag},
    {"count", t_count},
    {"equal deadlines pop FIFO", t_fifo_all_equal},
    {"1000 tasks: deadline order, ties in spawn order", t_fifo_ties},
    {"re-arm moves a queued node", t_rearm},
    {"remove root", t_remove_root},
    {"remove leaf", t_remove_leaf},
    {"remove middle node", t_remove_middle},
    {"remove the only node", t_remove_last},
    {"100k random ops match a sorted reference", t_random_ops},
    {"50k ascending inserts drain in order", t_ascending},
    {"50k descending inserts drain in order", t_descending},
};

int main(void)
{
	test_init("deadline");
	test_run(cases, TEST_COUNT(cases));
	return test_finish();
}
