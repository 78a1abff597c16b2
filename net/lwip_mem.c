/* lwIP's memory, taken from the kernel heap as it is used instead of
 * reserved at build time (MEM_LIBC_MALLOC and MEMP_MEM_MALLOC in
 * lwipopts.h), so a machine with 4 MiB serves and one with 256 MiB holds
 * ten thousand connections from the same image.
 *
 *  - Blocks up to LWIP_MEM_CLASS_MAX bytes come in 32-byte size classes,
 *    each with a free list kept at its peak: lwIP's churn (a pbuf per
 *    frame, a PCB per connection) reuses a block in O(1) and leaves the
 *    kernel heap unfragmented.
 *  - A byte budget, set at boot from free memory, bounds all of lwIP the
 *    way MEM_SIZE bounded its heap: past it an allocation fails and lwIP
 *    backs off (tcp_write reports ERR_MEM and the writer waits; a frame
 *    is dropped and retransmitted).
 *  - TCP PCBs have a cap of their own (lwip_mem_init): a failing PCB
 *    allocation is what makes lwIP recycle its oldest TIME-WAIT
 *    connection (tcp_alloc), so without the cap TIME-WAIT would fill the
 *    budget. The linker routes lwIP's memp_malloc/memp_free through here
 *    (--wrap) to count them.
 */
#include <stdlib.h>
#include <string.h>

#include "kernel/log.h"
#include "lwip/memp.h"
#include "net/lwip_mem.h"

#define CLASS_SHIFT 5
#define NCLASSES (LWIP_MEM_CLASS_MAX >> CLASS_SHIFT)
#define HDR 16 /* keeps MEM_ALIGNMENT and records the class */

struct block {
	struct block *next; /* while free */
};

static struct block *cache[NCLASSES + 1];
static struct lwip_mem_stats stats;

void lwip_mem_init(size_t budget, uint32_t pcb_cap)
{
	stats.budget = budget;
	stats.pcb_cap = pcb_cap;
	log_info("net", "pools: lwIP budget %zu KiB, at most %u TCP PCBs, taken as used", budget / 1024,
		 stats.pcb_cap);
}

void lwip_mem_get_stats(struct lwip_mem_stats *out) { *out = stats; }

/* Give every cached block back to the kernel heap. */
static void flush_caches(void)
{
	for (size_t c = 1; c <= NCLASSES; c++)
		while (cache[c]) {
			struct block *b = cache[c];
			cache[c] = b->next;
			free((char *)b - HDR);
			stats.held -= HDR + (c << CLASS_SHIFT);
		}
}

void *lwip_mem_malloc(size_t n)
{
	if (!n)
		n = 1;
	size_t c = (n + (1u << CLASS_SHIFT) - 1) >> CLASS_SHIFT;
	size_t size = c <= NCLASSES ? c << CLASS_SHIFT : n;
	char *p;
	if (c <= NCLASSES && cache[c]) {
		p = (char *)cache[c];
		cache[c] = cache[c]->next;
		stats.in_use += size;
		return p;
	}
	if (stats.held + HDR + size > stats.budget) {
		flush_caches();
		if (stats.held + HDR + size > stats.budget) {
			stats.over_budget++;
			return NULL;
		}
	}
	p = malloc(HDR + size);
	if (!p) {
		stats.no_memory++;
		return NULL;
	}
	*(size_t *)p = size;
	stats.held += HDR + size;
	stats.in_use += size;
	return p + HDR;
}

void *lwip_mem_calloc(size_t count, size_t size)
{
	if (size && count > (size_t)-1 / size)
		return NULL;
	void *p = lwip_mem_malloc(count * size);
	if (p)
		memset(p, 0, count * size);
	return p;
}

void lwip_mem_free(void *mem)
{
	char *p = (char *)mem - HDR;
	size_t size = *(size_t *)p;
	stats.in_use -= size;
	if (size <= LWIP_MEM_CLASS_MAX && !(size & ((1u << CLASS_SHIFT) - 1))) {
		struct block *b = mem;
		b->next = cache[size >> CLASS_SHIFT];
		cache[size >> CLASS_SHIFT] = b;
		return;
	}
	stats.held -= HDR + size;
	free(p);
}

/* ---- the TCP PCB cap, around lwIP's own memp_malloc/memp_free ---- */

void *__real_memp_malloc(memp_t type);
void __real_memp_free(memp_t type, void *mem);
void *__wrap_memp_malloc(memp_t type);
void __wrap_memp_free(memp_t type, void *mem);

void *__wrap_memp_malloc(memp_t type)
{
	if (type == MEMP_TCP_PCB && stats.pcbs >= stats.pcb_cap) {
		stats.pcb_cap_hits++;
		return NULL; /* lwIP recycles a TIME-WAIT PCB, or refuses */
	}
	void *p = __real_memp_malloc(type);
	if (p && type == MEMP_TCP_PCB)
		stats.pcbs++;
	return p;
}

void __wrap_memp_free(memp_t type, void *mem)
{
	if (type == MEMP_TCP_PCB)
		stats.pcbs--;
	__real_memp_free(type, mem);
}
