/* Host fake of pmm_alloc/pmm_free and their contiguous forms (see
 * fake_pmm.h). pmm_free of a page that was not handed out, or twice, is
 * an ASan report: free() checks it. */
#include <stdlib.h>
#include <string.h>

#include "kernel/mm.h"
#include "tests/host/fake_pmm.h"

static size_t outstanding;
static int fail_in; /* pmm_alloc calls until one fails; 0: none */

size_t fake_pmm_outstanding(void)
{
	return outstanding;
}

void fake_pmm_fail_nth(int n)
{
	fail_in = n;
}

uint64_t pmm_alloc_contig(size_t n)
{
	if (fail_in && --fail_in == 0)
		return 0;
	void *p = n ? aligned_alloc(PAGE_SIZE, n * PAGE_SIZE) : NULL;
	if (!p)
		return 0;
	memset(p, 0, n * PAGE_SIZE); /* pmm hands out zeroed pages */
	outstanding += n;
	return (uint64_t)(uintptr_t)p - DIRECT_BASE;
}

uint64_t pmm_alloc(void)
{
	return pmm_alloc_contig(1);
}

/* A block is freed whole, as allocated: ASan reports a free of part of one. */
void pmm_free_contig(uint64_t pa, size_t n)
{
	outstanding -= n;
	free(phys_to_virt(pa));
}

void pmm_free(uint64_t pa)
{
	pmm_free_contig(pa, 1);
}
