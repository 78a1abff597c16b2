/* Host fake of the physical page allocator (kernel/mm.h: pmm_alloc,
 * pmm_free, pmm_alloc_contig, pmm_free_contig) for modules that take DMA pages from it, e.g. the virtqueue.
 *
 * A "physical address" is the host address minus DIRECT_BASE, so the
 * kernel's own phys_to_virt() (an inline, pa + DIRECT_BASE mod 2^64) maps
 * it back to the host page unchanged: the module under test keeps its
 * real address arithmetic. Pages are zeroed and 4 KiB aligned, as pmm's. */
#ifndef KEEL_FAKE_PMM_H
#define KEEL_FAKE_PMM_H

#include <stddef.h>
#include <stdint.h>

/* Pages handed out and not yet freed. A contiguous block counts its
 * pages and one pmm_alloc_contig() is one call for fake_pmm_fail_nth. */
size_t fake_pmm_outstanding(void);
/* Make the n-th pmm_alloc() from now (1 = the next) return 0, as an
 * exhausted pmm does; 0 disarms. */
void fake_pmm_fail_nth(int n);

#endif
