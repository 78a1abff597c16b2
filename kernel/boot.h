/* What the loader told us, copied out of its structures before any memory
 * is handed out (PVH start_info or multiboot2 information). */
#ifndef KEEL_BOOT_H
#define KEEL_BOOT_H

#include <stdint.h>

#define BOOT_MAX_REGIONS 64
#define BOOT_CMDLINE_MAX 512

enum mem_type { MEM_RAM = 1, MEM_RESERVED = 2, MEM_ACPI = 3, MEM_NVS = 4, MEM_BAD = 5 };

struct mem_region {
	uint64_t base;
	uint64_t len;
	uint32_t type; /* enum mem_type (E820 numbering) */
};

struct boot_info {
	const char *loader;
	char cmdline[BOOT_CMDLINE_MAX];
	struct mem_region mem[BOOT_MAX_REGIONS];
	int nmem;
	uint64_t rsdp; /* physical address, 0 if the loader gave none */
	/* The first boot module (PVH initrd, multiboot2 module): the boot
	 * bundle (kernel/bundle.h). Its pages are never handed out. */
	uint64_t module_pa, module_len; /* 0, 0 if none */
};

/* Parse the loader's data; `kind` is BOOT_PVH or BOOT_MB2 from layout.h. */
void boot_info_parse(struct boot_info *bi, uint32_t kind, uint64_t info_pa);

#endif
