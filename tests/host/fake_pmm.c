/* Host fake of pmm_alloc/pmm_free (see fake_pmm.h). pmm_free of a page
 * that was not handed out, or twice, is an ASan report: free() checks it. */
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

uint64_t pmm_alloc(void)
{
	if (fail_in && --fail_in == 0)
		return 0;
	void *p = aligned_alloc(PAGE_SIZE, PAGE_SIZE);
	if (!p)
		return 0;
	memset(p, 0, PAGE_SIZE); /* pmm hands out zeroed pages */
	outstanding++;
	return (uint64_t)(uintptr_t)p - DIRECT_BASE;
}

void pmm_free(uint64_t pa)
{
	outstanding--;
	free(phys_to_virt(pa));
}
