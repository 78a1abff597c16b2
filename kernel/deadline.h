/*
 * Deadline heap: an intrusive min-heap of absolute times, used by the
 * scheduler for sleeping tasks and by connection timers.
 *
 * It is a pairing heap (Fredman, Sedgewick, Sleator, Tarjan 1986): O(1)
 * insert, O(log n) amortized pop and arbitrary remove, which suits a timer
 * that is armed and disarmed on every request while tens of thousands are
 * pending. Nodes are embedded in their owner (container_of to get back), so
 * nothing is ever allocated. Pure module: builds for the host too
 * (tests/host/test_deadline.c).
 *
 * Order is (when, insertion sequence): equal deadlines come out in the order
 * they were inserted, so tasks sleeping until the same tick wake FIFO.
 *
 * Not thread- or IRQ-safe: callers serialise (e.g. with interrupts off).
 * A node must start zeroed; after deadline_pop() or deadline_remove() it
 * reads as not queued again and may be reinserted.
 */
#ifndef KEEL_DEADLINE_H
#define KEEL_DEADLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct deadline_node {
	uint64_t when;               /* absolute deadline, caller's time unit */
	uint64_t seq;                /* insertion order; breaks ties FIFO */
	struct deadline_node *child; /* first child */
	struct deadline_node *next;  /* next sibling */
	/* Previous sibling, or the parent if this is the first child, or the
	 * node itself if it is the root; NULL while not in a heap, so a zeroed
	 * node reads as not queued. */
	struct deadline_node *prev;
};

struct deadline_heap {
	struct deadline_node *root;
	size_t count;
	uint64_t seq; /* next insertion sequence number */
};

void deadline_heap_init(struct deadline_heap *h);

/* Queue n to expire at when. If n is already queued in h it is moved
 * (re-armed), and goes behind entries already queued for the same when. */
void deadline_insert(struct deadline_heap *h, struct deadline_node *n, uint64_t when);

/* Take n out of h. n must be queued in h (not in another heap). */
void deadline_remove(struct deadline_heap *h, struct deadline_node *n);

/* Earliest node, or NULL if h is empty. */
struct deadline_node *deadline_min(const struct deadline_heap *h);

/* Remove and return the earliest node, or NULL if h is empty. */
struct deadline_node *deadline_pop(struct deadline_heap *h);

/* True while n is in a heap. */
bool deadline_queued(const struct deadline_node *n);

#endif
