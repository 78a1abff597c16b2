/* Table-driven CRC-32, reflected polynomial 0xedb88320; the table is built
 * on first use (1 KiB of bss instead of rodata). */
#include <stdbool.h>

#include "crc32.h"

static uint32_t table[256];
static bool ready;

static void build(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		table[i] = c;
	}
	ready = true;
}

uint32_t crc32_update(uint32_t crc, const void *p, size_t n)
{
	if (!ready)
		build();
	const uint8_t *b = p;
	crc = ~crc;
	while (n--)
		crc = table[(crc ^ *b++) & 0xff] ^ (crc >> 8);
	return ~crc;
}
