/* Memory map, physical page allocator and kernel virtual mappings.
 *
 *   0xffff800000000000  direct map of RAM and firmware tables (write-back)
 *   0xffffc00000000000  task stacks, each above an unmapped guard page
 *   0xffffd00000000000  heap (grown by sbrk for picolibc's malloc)
 *   0xffffe00000000000  MMIO window (uncached mappings from vmm_map_phys)
 *   0xffffffff80000000  kernel image (-mcmodel=kernel), loaded at 1 MiB
 * Nothing is mapped at address 0. */
#ifndef KEEL_MM_H
#define KEEL_MM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAGE_SIZE 4096u
#include "boot/layout.h"
#define DIRECT_BASE 0xffff800000000000ul

#define VMM_UNCACHED 1u /* device memory: PCD|PWT */

struct boot_info;

void pmm_init(const struct boot_info *bi);
uint64_t pmm_alloc(void);            /* one zeroed 4 KiB page; 0 if none */
void pmm_free(uint64_t pa);
/* n physically contiguous zeroed pages (device rings that must be one
 * block); 0 if no range has them left. Freed with pmm_free_contig. */
uint64_t pmm_alloc_contig(size_t n);
void pmm_free_contig(uint64_t pa, size_t n);
size_t pmm_free_pages(void);
size_t pmm_total_pages(void);

void vmm_init(const struct boot_info *bi);
/* Map [pa, pa+len) for the kernel. Cached requests inside the direct map
 * return the direct-map address; anything else gets a fresh window
 * mapping. Returns NULL if out of memory or window space. */
void *vmm_map_phys(uint64_t pa, size_t len, unsigned flags);
/* Allocate a stack of `size` bytes (page multiple) with an unmapped guard
 * page below it; returns its top. kstack_free returns it to a cache. */
void *kstack_alloc(size_t size);
void kstack_free(void *top, size_t size);

/* For the fault reporter: is va mapped / inside a stack guard page? */
bool vmm_is_mapped(uint64_t va);
bool vmm_is_guard(uint64_t va);
/* Back [va, va+len) in the heap window with fresh pages (sbrk). */
int vmm_map_heap(uint64_t va, size_t len);
#define HEAP_BASE 0xffffd00000000000ul

static inline void *phys_to_virt(uint64_t pa) { return (void *)(uintptr_t)(pa + DIRECT_BASE); }
uint64_t virt_to_phys(const void *va);

#endif
