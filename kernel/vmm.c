/* Kernel page tables (x86-64 4-level paging, SDM Vol. 3A §4.5). vmm_init
 * replaces the boot tables: the kernel image gets per-section rights (text
 * RX, rodata R, data RW, everything non-text NX), RAM and firmware tables
 * are direct-mapped with 2 MiB pages, and nothing maps address 0 or the
 * guard pages below stacks. Page-table pages come from pmm and are reached
 * through the direct map. Callers run in task context (no locking). */
#include <assert.h>
#include <string.h>

#include "boot/layout.h"
#include "kernel/boot.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/panic.h"

#define PTE_P (1ul << 0)
#define PTE_W (1ul << 1)
#define PTE_PWT (1ul << 3)
#define PTE_PCD (1ul << 4)
#define PTE_PS (1ul << 7)
#define PTE_G (1ul << 8)
#define PTE_NX (1ul << 63)
#define PTE_ADDR 0x000ffffffffff000ul
#define HUGE (2ul << 20)

#define STACK_BASE 0xffffc00000000000ul
#define STACK_END 0xffffd00000000000ul
#define WINDOW_BASE 0xffffe00000000000ul

extern uint32_t boot_nx_supported; /* boot/entry.S */
extern char __text_start[], __text_end[], __rodata_start[], __rodata_end[];
extern char __data_start[], __kernel_end[];
extern char boot_stack_guard[], ist_df_guard[], ist_nmi_guard[];

static uint64_t *pml4;
static uint64_t nx;
static uint64_t window_next = WINDOW_BASE, stack_next = STACK_BASE;

/* Freed stacks stay mapped in a cache for the next spawn (a connection's
 * task is born and dies per connection). The cache keeps the peak number
 * of stacks: memory after a burst of N concurrent tasks stays N stacks. */
struct free_stack {
	struct free_stack *next;
	size_t size;
};
static struct free_stack *stack_cache; /* lives at the bottom of each freed stack */

static unsigned idx(uint64_t va, int level) { return (va >> (12 + 9 * (level - 1))) & 511; }

/* The entry for `va` at `level` (1 = 4 KiB PTE, 2 = 2 MiB PDE), creating
 * intermediate tables if asked; NULL if absent or if a huge page is in the
 * way. */
static uint64_t *walk(uint64_t va, int level, bool create)
{
	uint64_t *t = pml4;
	for (int l = 4; l > level; l--) {
		uint64_t *e = &t[idx(va, l)];
		if (!(*e & PTE_P)) {
			uint64_t pa = create ? pmm_alloc() : 0;
			if (!pa)
				return NULL;
			*e = pa | PTE_P | PTE_W;
		} else if (*e & PTE_PS) {
			return NULL;
		}
		t = phys_to_virt(*e & PTE_ADDR);
	}
	return &t[idx(va, level)];
}

static bool map(uint64_t va, uint64_t pa, uint64_t flags, int level)
{
	uint64_t *e = walk(va, level, true);
	if (!e)
		return false;
	*e = pa | flags | PTE_P | (level == 2 ? PTE_PS : 0);
	__asm__ volatile("invlpg (%0)" ::"r"(va) : "memory");
	return true;
}

static bool is_static_guard(uint64_t va)
{
	uint64_t page = va & ~(uint64_t)(PAGE_SIZE - 1);
	return page == (uint64_t)boot_stack_guard || page == (uint64_t)ist_df_guard ||
	       page == (uint64_t)ist_nmi_guard;
}

static void map_image(uint64_t start, uint64_t end, uint64_t flags)
{
	for (uint64_t va = start; va < end; va += PAGE_SIZE)
		if (!is_static_guard(va) && !map(va, va - KERNEL_BASE, flags | PTE_G, 1))
			panic("out of memory mapping the kernel");
}

static void map_direct(const struct boot_info *bi)
{
	for (int i = 0; i < bi->nmem; i++) {
		const struct mem_region *r = &bi->mem[i];
		if (r->type != MEM_RAM && r->type != MEM_ACPI && r->type != MEM_NVS)
			continue;
		uint64_t pa = r->base & ~(HUGE - 1), end = (r->base + r->len + HUGE - 1) & ~(HUGE - 1);
		for (; pa < end; pa += HUGE) {
			uint64_t *e = walk(DIRECT_BASE + pa, 2, false);
			if ((!e || !(*e & PTE_P)) && !map(DIRECT_BASE + pa, pa, PTE_W | nx, 2))
				panic("out of memory building the direct map");
		}
	}
}

void vmm_init(const struct boot_info *bi)
{
	nx = boot_nx_supported ? PTE_NX : 0;
	uint64_t root = pmm_alloc();
	if (!root)
		panic("no page for the kernel page table");
	pml4 = phys_to_virt(root);
	map_image((uint64_t)__text_start, (uint64_t)__text_end, 0);
	map_image((uint64_t)__rodata_start, (uint64_t)__rodata_end, nx);
	map_image((uint64_t)__data_start, (uint64_t)__kernel_end, PTE_W | nx);
	map_direct(bi);
	/* From here on only the new tables: no identity map, no address 0. */
	__asm__ volatile("mov %0, %%cr3" ::"r"(root) : "memory");
	__asm__ volatile("mov %%cr4, %%rax; or $0x80, %%rax; mov %%rax, %%cr4" ::: "rax"); /* CR4.PGE */
	log_info("mm", "page tables: text %zu KiB RX, rodata %zu KiB R, data+bss %zu KiB RW, NX %s",
		 (size_t)(__text_end - __text_start) / 1024, (size_t)(__rodata_end - __rodata_start) / 1024,
		 (size_t)(__kernel_end - __data_start) / 1024, nx ? "on" : "unsupported");
}

void *vmm_map_phys(uint64_t pa, size_t len, unsigned flags)
{
	uint64_t first = pa & ~(uint64_t)(PAGE_SIZE - 1), end = pa + len;
	if (!(flags & VMM_UNCACHED)) {
		bool direct = true;
		for (uint64_t p = first; p < end && direct; p += PAGE_SIZE)
			direct = vmm_is_mapped(DIRECT_BASE + p);
		if (direct)
			return phys_to_virt(pa);
	}
	uint64_t attr = PTE_W | nx | ((flags & VMM_UNCACHED) ? PTE_PCD | PTE_PWT : 0);
	uint64_t va = window_next;
	for (uint64_t p = first; p < end; p += PAGE_SIZE, window_next += PAGE_SIZE)
		if (!map(window_next, p, attr, 1))
			return NULL;
	window_next += PAGE_SIZE; /* keep mappings apart: overruns fault */
	return (void *)(uintptr_t)(va + (pa - first));
}

bool vmm_is_mapped(uint64_t va)
{
	uint64_t *t = pml4;
	if (!t) { /* still on the boot tables (early fault report) */
		uint64_t cr3;
		__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
		t = phys_to_virt(cr3 & PTE_ADDR);
	}
	for (int l = 4; l >= 1; l--) {
		uint64_t e = t[idx(va, l)];
		if (!(e & PTE_P))
			return false;
		if (l == 1 || (e & PTE_PS))
			return true;
		t = phys_to_virt(e & PTE_ADDR);
	}
	return false;
}

bool vmm_is_guard(uint64_t va)
{
	return is_static_guard(va) || (va >= STACK_BASE && va < stack_next && !vmm_is_mapped(va));
}

static bool map_fresh(uint64_t va, size_t len)
{
	for (uint64_t p = va; p < va + len; p += PAGE_SIZE) {
		if (vmm_is_mapped(p))
			continue;
		uint64_t pa = pmm_alloc();
		if (!pa || !map(p, pa, PTE_W | nx, 1)) {
			if (pa)
				pmm_free(pa);
			return false;
		}
	}
	return true;
}

int vmm_map_heap(uint64_t va, size_t len) { return map_fresh(va, len) ? 0 : -1; }

void *kstack_alloc(size_t size)
{
	for (struct free_stack **p = &stack_cache; *p; p = &(*p)->next)
		if ((*p)->size == size) {
			struct free_stack *s = *p;
			*p = s->next;
			return (uint8_t *)s + size;
		}
	uint64_t bottom = stack_next + PAGE_SIZE; /* stack_next is the guard */
	if (bottom + size > STACK_END || !map_fresh(bottom, size))
		return NULL;
	stack_next = bottom + size;
	return (void *)(uintptr_t)(bottom + size);
}

void kstack_free(void *top, size_t size)
{
	struct free_stack *s = (void *)((uint8_t *)top - size);
	s->size = size;
	s->next = stack_cache;
	stack_cache = s;
}

uint64_t virt_to_phys(const void *p)
{
	uint64_t va = (uint64_t)p;
	if (va >= KERNEL_BASE)
		return va - KERNEL_BASE;
	if (va >= DIRECT_BASE && va < STACK_BASE)
		return va - DIRECT_BASE;
	uint64_t *e = walk(va, 1, false);
	assert(e && (*e & PTE_P));
	return (*e & PTE_ADDR) | (va & (PAGE_SIZE - 1));
}
