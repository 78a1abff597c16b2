/* CRC-32 (IEEE 802.3, the zlib/PNG/gzip one): upload checksums, gzip
 * trailers (RFC 1952 §8). */
#ifndef KEEL_CRC32_H
#define KEEL_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC: start with crc = 0. */
uint32_t crc32_update(uint32_t crc, const void *p, size_t n);

#endif
