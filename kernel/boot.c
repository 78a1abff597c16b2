/* Loader information: PVH start_info (Xen public/arch-x86/hvm/start_info.h)
 * and multiboot2 (Multiboot2 spec §3.6). Both live in low memory, which the
 * boot page tables alias in the direct map, so phys_to_virt works here. */
#include <stddef.h>
#include <string.h>

#include "boot/layout.h"
#include "kernel/boot.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/panic.h"

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr; /* version >= 1 */
	uint32_t memmap_entries;
	uint32_t reserved;
};
_Static_assert(sizeof(struct hvm_start_info) == 56, "PVH start_info v1 layout");
_Static_assert(offsetof(struct hvm_start_info, memmap_paddr) == 40, "PVH start_info v1 layout");

/* One boot module (the initrd under QEMU); start_info.modlist_paddr
 * points at nr_modules of them. */
struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "PVH modlist entry layout");

struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};
_Static_assert(sizeof(struct hvm_memmap_entry) == 24, "PVH memmap entry layout");

struct mb2_tag {
	uint32_t type;
	uint32_t size;
};

struct mb2_mmap {
	struct mb2_tag tag;
	uint32_t entry_size;
	uint32_t entry_version;
	/* entries follow: base, length, type, reserved */
};

/* Multiboot2 spec §3.6.6: a module loaded with the kernel. */
struct mb2_module {
	struct mb2_tag tag;
	uint32_t mod_start;
	uint32_t mod_end; /* exclusive */
	/* NUL-terminated string follows */
};

/* The boot page tables alias only the first GiB in the direct map
 * (boot/entry.S): loader structures beyond it cannot be read yet. */
#define BOOT_MAPPED_LIMIT (1ul << 30)

enum {
	MB2_TAG_END = 0,
	MB2_TAG_CMDLINE = 1,
	MB2_TAG_MODULE = 3,
	MB2_TAG_MMAP = 6,
	MB2_TAG_RSDP_V1 = 14,
	MB2_TAG_RSDP_V2 = 15,
};

static void add_region(struct boot_info *bi, uint64_t base, uint64_t len, uint32_t type)
{
	if (bi->nmem == BOOT_MAX_REGIONS) {
		log_warn("boot", "memory map has more than %d entries; ignoring the rest", BOOT_MAX_REGIONS);
		return;
	}
	bi->mem[bi->nmem++] = (struct mem_region){ base, len, type };
}

static void copy_cmdline(struct boot_info *bi, uint64_t pa)
{
	if (pa)
		strncpy(bi->cmdline, phys_to_virt(pa), sizeof bi->cmdline - 1);
}

/* Only the first module is kept: the bundle; others are named and left. */
static void set_module(struct boot_info *bi, uint64_t pa, uint64_t len)
{
	if (bi->module_len) {
		log_warn("boot", "ignoring a second boot module at %#lx (%lu bytes): only the first is the bundle", pa,
			 len);
		return;
	}
	if (pa + len < pa) {
		log_warn("boot", "boot module at %#lx (%lu bytes) wraps around: ignoring it", pa, len);
		return;
	}
	bi->module_pa = pa;
	bi->module_len = len;
}

static void pvh_modules(struct boot_info *bi, const struct hvm_start_info *si)
{
	uint64_t pa = si->modlist_paddr, n = si->nr_modules;
	if (!n)
		return;
	if (!pa || n > 64 || pa + n * sizeof(struct hvm_modlist_entry) > BOOT_MAPPED_LIMIT) {
		log_warn("boot", "PVH module list at %#lx (%lu entries) is unreadable; ignoring it", pa, n);
		return;
	}
	const struct hvm_modlist_entry *m = phys_to_virt(pa);
	for (uint64_t i = 0; i < n; i++)
		if (m[i].size)
			set_module(bi, m[i].paddr, m[i].size);
}

static void parse_pvh(struct boot_info *bi, uint64_t pa)
{
	const struct hvm_start_info *si = phys_to_virt(pa);

	bi->loader = "pvh";
	copy_cmdline(bi, si->cmdline_paddr);
	bi->rsdp = si->rsdp_paddr;
	pvh_modules(bi, si);
	if (si->version < 1 || !si->memmap_paddr)
		panic("PVH start_info version %u has no memory map", si->version);
	const struct hvm_memmap_entry *e = phys_to_virt(si->memmap_paddr);
	for (uint32_t i = 0; i < si->memmap_entries; i++)
		add_region(bi, e[i].addr, e[i].size, e[i].type);
}

static void parse_mb2(struct boot_info *bi, uint64_t pa)
{
	const uint8_t *p = phys_to_virt(pa);
	uint32_t total = *(const uint32_t *)p;

	bi->loader = "multiboot2";
	for (uint32_t off = 8; off + sizeof(struct mb2_tag) <= total;) {
		const struct mb2_tag *t = (const void *)(p + off);
		if (t->type == MB2_TAG_END || t->size < sizeof *t)
			break;
		if (t->type == MB2_TAG_CMDLINE)
			strncpy(bi->cmdline, (const char *)(t + 1), sizeof bi->cmdline - 1);
		else if (t->type == MB2_TAG_RSDP_V2 || (t->type == MB2_TAG_RSDP_V1 && !bi->rsdp))
			bi->rsdp = pa + off + sizeof *t; /* the tag holds a copy of the RSDP */
		else if (t->type == MB2_TAG_MODULE && t->size >= sizeof(struct mb2_module)) {
			const struct mb2_module *m = (const void *)t;
			if (m->mod_end > m->mod_start)
				set_module(bi, m->mod_start, m->mod_end - m->mod_start);
		} else if (t->type == MB2_TAG_MMAP) {
			const struct mb2_mmap *m = (const void *)t;
			for (uint32_t e = sizeof *m; m->entry_size && e + 24 <= t->size; e += m->entry_size) {
				const uint64_t *ent = (const void *)((const uint8_t *)t + e);
				add_region(bi, ent[0], ent[1], (uint32_t)ent[2]);
			}
		}
		off += (t->size + 7) & ~7u;
	}
}

void boot_info_parse(struct boot_info *bi, uint32_t kind, uint64_t info_pa)
{
	memset(bi, 0, sizeof *bi);
	if (kind == BOOT_PVH)
		parse_pvh(bi, info_pa);
	else
		parse_mb2(bi, info_pa);
	if (!bi->nmem)
		panic("%s loader supplied no memory map", bi->loader);
}
