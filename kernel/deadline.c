/*
 * Pairing heap of deadlines. See deadline.h for the contract.
 *
 * Shape: each node has a first child and a doubly linked list of siblings.
 * prev points to the previous sibling, or to the parent for a first child,
 * so a node can unlink itself in O(1); that is what makes arbitrary removal
 * cheap. The root's prev points to itself, which keeps "prev != NULL" a
 * one-load test for "queued" without a separate flag.
 *
 * Every restructuring walk is iterative: kernel stacks are small, and after
 * n inserts without a pop the root has n children in one sibling list.
 */
#include "kernel/deadline.h"

#include <string.h>

/* Strict total order: deadline, then insertion order. */
static bool before(const struct deadline_node *a, const struct deadline_node *b)
{
	return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

/*
 * Meld two heap roots: the later one becomes the first child of the
 * earlier one. The winner's next/prev are left for the caller to set.
 */
static struct deadline_node *link(struct deadline_node *a, struct deadline_node *b)
{
	struct deadline_node *win = a, *lose = b;

	if (before(b, a)) {
		win = b;
		lose = a;
	}
	lose->next = win->child;
	if (win->child)
		win->child->prev = lose;
	lose->prev = win;
	win->child = lose;
	return win;
}

/*
 * Two-pass pairing of a sibling list (the children of a removed node) into
 * one tree. Pass one links neighbours left to right and pushes each pair's
 * winner on a stack threaded through next; pass two pops the stack, i.e.
 * walks the pairs right to left, linking each into the result. The pairing
 * is what gives the O(log n) amortized bound; folding the list one node
 * at a time would not have it. Like link(), leaves the result's next and
 * prev for the caller to set.
 */
static struct deadline_node *merge_pairs(struct deadline_node *first)
{
	struct deadline_node *stack = NULL, *acc;

	while (first) {
		struct deadline_node *a = first, *b = first->next;

		first = b ? b->next : NULL;
		if (b)
			a = link(a, b);
		a->next = stack;
		stack = a;
	}
	if (!stack)
		return NULL;
	acc = stack;
	stack = stack->next;
	while (stack) {
		struct deadline_node *n = stack;

		stack = n->next;
		acc = link(acc, n);
	}
	return acc;
}

static void set_root(struct deadline_heap *h, struct deadline_node *r)
{
	h->root = r;
	if (r) {
		r->prev = r;
		r->next = NULL;
	}
}

static void forget(struct deadline_node *n)
{
	n->child = NULL;
	n->next = NULL;
	n->prev = NULL;
}

void deadline_heap_init(struct deadline_heap *h)
{
	memset(h, 0, sizeof(*h));
}

void deadline_insert(struct deadline_heap *h, struct deadline_node *n, uint64_t when)
{
	if (deadline_queued(n))
		deadline_remove(h, n);
	n->when = when;
	n->seq = h->seq++;
	set_root(h, h->root ? link(h->root, n) : n);
	h->count++;
}

/* Cut the subtree rooted at the non-root n out of its sibling list. */
static void unlink_subtree(struct deadline_node *n)
{
	if (n->prev->child == n) /* first child: prev is the parent */
		n->prev->child = n->next;
	else
		n->prev->next = n->next;
	if (n->next)
		n->next->prev = n->prev;
}

void deadline_remove(struct deadline_heap *h, struct deadline_node *n)
{
	struct deadline_node *sub;

	if (n == h->root) {
		set_root(h, merge_pairs(n->child));
	} else {
		unlink_subtree(n);
		sub = merge_pairs(n->child);
		if (sub)
			set_root(h, link(h->root, sub));
	}
	forget(n);
	h->count--;
}

struct deadline_node *deadline_min(const struct deadline_heap *h)
{
	return h->root;
}

struct deadline_node *deadline_pop(struct deadline_heap *h)
{
	struct deadline_node *n = h->root;

	if (n)
		deadline_remove(h, n);
	return n;
}

bool deadline_queued(const struct deadline_node *n)
{
	return n->prev != NULL;
}
