/* Intrusive circular doubly linked list. */
#ifndef KEEL_LIST_H
#define KEEL_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct list_node {
	struct list_node *next, *prev;
};

#define LIST_INIT(name) { &(name), &(name) }
#define list_entry(node, type, member) ((type *)((char *)(node) - offsetof(type, member)))

static inline void list_init(struct list_node *l) { l->next = l->prev = l; }
static inline bool list_empty(const struct list_node *l) { return l->next == l; }

static inline void list_push_back(struct list_node *l, struct list_node *n)
{
	n->prev = l->prev;
	n->next = l;
	l->prev->next = n;
	l->prev = n;
}

static inline void list_remove(struct list_node *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = n->prev = n;
}

static inline struct list_node *list_pop_front(struct list_node *l)
{
	if (list_empty(l))
		return NULL;
	struct list_node *n = l->next;
	list_remove(n);
	return n;
}

#endif
