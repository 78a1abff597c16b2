/* Physical page allocator. Free memory is the loader's RAM ranges above
 * 1 MiB minus the kernel image and the boot module, handed out from a
 * cursor; freed pages go on a singly linked list threaded through the
 * pages themselves (via the direct map), so the allocator needs no memory
 * of its own and init writes nothing. Pages are zeroed on allocation. */
#include <assert.h>
#include <string.h>

#include "kernel/boot.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/panic.h"

#define MAX_RANGES 32

struct range {
	uint64_t next; /* first page never handed out */
	uint64_t end;
};

extern char __kernel_end[];

static struct range ranges[MAX_RANGES];
static int nranges;
static uint64_t free_list; /* physical address of first freed page, 0 = empty */
static size_t nfree, ntotal;

static void add_range(uint64_t base, uint64_t end)
{
	base = (base + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
	end &= ~(uint64_t)(PAGE_SIZE - 1);
	if (end <= base)
		return;
	if (nranges == MAX_RANGES) {
		log_warn("mm", "more than %d RAM ranges; ignoring %#lx-%#lx", MAX_RANGES, base, end);
		return;
	}
	ranges[nranges++] = (struct range){ base, end };
	nfree += (end - base) / PAGE_SIZE;
}

/* Add [base, end) less the holes (sorted by base; they may overlap). */
static void add_ram(uint64_t base, uint64_t end, const struct range *holes, int nholes)
{
	for (int i = 0; i < nholes && base < end; i++) {
		if (holes[i].end <= base || holes[i].next >= end)
			continue;
		add_range(base, holes[i].next); /* empty if the hole starts first */
		base = holes[i].end;
	}
	if (base < end)
		add_range(base, end);
}

void pmm_init(const struct boot_info *bi)
{
	/* Below 1 MiB live the BIOS data, EBDA and loader structures. */
	const uint64_t low = 0x100000;
	const uint64_t kend = (uint64_t)__kernel_end - KERNEL_BASE;
	/* Never handed out: the kernel image and the boot module (the bundle,
	 * read in place for the kernel's lifetime). add_range rounds inward,
	 * so a partly covered page stays out too. As ranges: next = start. */
	struct range holes[2] = { { low, kend }, { bi->module_pa, bi->module_pa + bi->module_len } };
	int nholes = bi->module_len ? 2 : 1;
	if (nholes == 2 && holes[1].next < holes[0].next) {
		struct range t = holes[0];
		holes[0] = holes[1];
		holes[1] = t;
	}

	for (int i = 0; i < bi->nmem; i++) {
		const struct mem_region *r = &bi->mem[i];
		if (r->type != MEM_RAM)
			continue;
		add_ram(r->base < low ? low : r->base, r->base + r->len, holes, nholes);
	}
	ntotal = nfree;
	if (!nfree)
		panic("no usable RAM above the kernel");
}

uint64_t pmm_alloc(void)
{
	uint64_t pa = 0;
	if (free_list) {
		pa = free_list;
		free_list = *(uint64_t *)phys_to_virt(pa);
	} else {
		for (int i = 0; i < nranges && !pa; i++)
			if (ranges[i].next < ranges[i].end) {
				pa = ranges[i].next;
				ranges[i].next += PAGE_SIZE;
			}
		if (!pa)
			return 0;
	}
	nfree--;
	memset(phys_to_virt(pa), 0, PAGE_SIZE);
	return pa;
}

void pmm_free(uint64_t pa)
{
	assert((pa & (PAGE_SIZE - 1)) == 0 && pa);
	*(uint64_t *)phys_to_virt(pa) = free_list;
	free_list = pa;
	nfree++;
}

/* Only the never-used part of a range is known to be contiguous: freed
 * pages sit on the list in any order. Boot-time drivers are the callers,
 * when the ranges are still nearly whole. */
uint64_t pmm_alloc_contig(size_t n)
{
	for (int i = 0; i < nranges; i++) {
		uint64_t pa = ranges[i].next;
		if (n == 0 || (ranges[i].end - pa) / PAGE_SIZE < n)
			continue;
		ranges[i].next += n * PAGE_SIZE;
		nfree -= n;
		memset(phys_to_virt(pa), 0, n * PAGE_SIZE);
		return pa;
	}
	return 0;
}

/* Each page goes back on its own: the list does not need them together. */
void pmm_free_contig(uint64_t pa, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pmm_free(pa + i * PAGE_SIZE);
}

size_t pmm_free_pages(void) { return nfree; }
size_t pmm_total_pages(void) { return ntotal; }
