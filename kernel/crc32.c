/* Table-driven CRC-32, reflected polynomial 0xedb88320, four bytes per
 * step ("slicing by 4": table[k][b] is the CRC of byte b followed by k
 * zero bytes). The tables are built on first use (4 KiB of bss instead
 * of rodata). */
#include <stdbool.h>
#include <string.h>

#include "kernel/crc32.h"

static uint32_t table[4][256];
static bool ready;

static void build(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int k = 1; k < 4; k++)
			table[k][i] = table[0][table[k - 1][i] & 0xff] ^ (table[k - 1][i] >> 8);
	ready = true;
}

uint32_t crc32_update(uint32_t crc, const void *p, size_t n)
{
	if (!ready)
		build();
	const uint8_t *b = p;
	crc = ~crc;
	for (; n >= 4; n -= 4, b += 4) {
		uint32_t w;
		memcpy(&w, b, 4);
		w ^= crc; /* little-endian: the first byte is the low one */
		crc = table[3][w & 0xff] ^ table[2][(w >> 8) & 0xff] ^ table[1][(w >> 16) & 0xff] ^
		      table[0][w >> 24];
	}
	while (n--)
		crc = table[0][(crc ^ *b++) & 0xff] ^ (crc >> 8);
	return ~crc;
}
