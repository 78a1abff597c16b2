/* lwIP's allocator (net/lwip_mem.c): size-class caches over the kernel
 * heap, a byte budget, a cap on TCP PCBs. lwipopts.h points lwIP's
 * mem_clib_* hooks here; this header must stay includable from there. */
#ifndef KEEL_LWIP_MEM_H
#define KEEL_LWIP_MEM_H

#include <stddef.h>
#include <stdint.h>

/* Largest block served from a size class (a full-frame pbuf fits). */
#define LWIP_MEM_CLASS_MAX 2048

struct lwip_mem_stats {
	size_t budget;        /* bytes lwIP may hold */
	size_t held;          /* bytes taken from the kernel heap (in use + cached + headers) */
	size_t in_use;        /* bytes lwIP has allocated */
	uint32_t pcbs, pcb_cap;
	uint64_t over_budget; /* allocations refused by the budget */
	uint64_t no_memory;   /* allocations the kernel heap refused */
	uint64_t pcb_cap_hits;
};

/* lwIP may hold `budget` bytes and `pcb_cap` TCP PCBs (listening ones
 * aside). */
void lwip_mem_init(size_t budget, uint32_t pcb_cap);
void lwip_mem_get_stats(struct lwip_mem_stats *out);

void *lwip_mem_malloc(size_t n);
void *lwip_mem_calloc(size_t count, size_t size);
void lwip_mem_free(void *p);

#endif
