/*
 * A small, fast DEFLATE compressor (RFC 1951) with an optional gzip
 * wrapper (RFC 1952), for compressing HTTP responses on the fly. Pure: no
 * allocation, no I/O; all state is the caller's struct deflate, 30.1 KiB:
 *
 *     win   16 KiB  input: the last DEFLATE_HISTORY bytes already coded
 *                   (the distances matches may reach) + the block being built
 *     head   8 KiB  hash of 3 bytes -> the last position they were seen at
 *     m      6 KiB  the matches of the block being built
 *
 * Cheap on purpose: greedy LZ77 with one candidate per hash (no chains, no
 * lazy matching), fixed Huffman codes (BTYPE=01); a block that would come
 * out larger than its input goes out stored (BTYPE=00) instead, so random
 * data grows by 5 bytes per block at most (gzip adds 18 in all).
 *
 *     struct deflate z;                          30.1 KiB: not on a task stack
 *     deflate_init(&z, true);                    gzip framing
 *     while (input left) {
 *             in += deflate_feed(&z, in, n);     copies into the window
 *             out += deflate_run(&z, out, cap, DEFLATE_NO_FLUSH);
 *     }
 *     do k = deflate_run(&z, out, cap, DEFLATE_FINISH); while (k == cap);
 *
 * deflate_feed takes what fits in the window (the first call after init
 * takes up to DEFLATE_WINDOW bytes); when it takes less than offered, a
 * deflate_run makes room. deflate_run writes at most cap bytes and returns
 * how many it wrote. With DEFLATE_NO_FLUSH it holds back the input that
 * later input may still extend. A DEFLATE_SYNC_FLUSH or DEFLATE_FINISH is
 * complete when a call returns less than cap; until then, call again with
 * fresh room (feeding nothing in between). SYNC_FLUSH codes everything fed
 * so far and ends with an empty stored block, so the output is byte
 * aligned and a decoder can produce all of it (zlib's Z_SYNC_FLUSH;
 * RFC 1951 §3.2.4); it is a no-op when nothing was fed since the last one.
 * FINISH writes the last block (BFINAL) and the gzip trailer; afterwards
 * feed takes nothing and run writes nothing.
 *
 * The output for a given input and flush points does not depend on how
 * the input was split across feed calls nor on the room offered to run.
 * Little-endian hosts only (8-byte match compare).
 */
#ifndef KEEL_HTTP_DEFLATE_H
#define KEEL_HTTP_DEFLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEFLATE_WINDOW 16384 /* bytes of input held (positions fit a uint16_t) */
#define DEFLATE_HISTORY 8192 /* farthest match distance kept across blocks */
#define DEFLATE_HASH_BITS 12
#define DEFLATE_MATCHES 1024 /* matches per block; a full list ends the block */

enum deflate_flush { DEFLATE_NO_FLUSH, DEFLATE_SYNC_FLUSH, DEFLATE_FINISH };

struct deflate_match {
	uint16_t off; /* from the block's start */
	uint16_t len, dist;
};

struct deflate {
	uint8_t win[DEFLATE_WINDOW];
	uint16_t head[1u << DEFLATE_HASH_BITS];
	struct deflate_match m[DEFLATE_MATCHES];
	/* win[0, blk) is history, [blk, pos) parsed into the open block (nm
	 * matches, cost bits if coded fixed), [pos, end) not parsed yet */
	uint32_t blk, pos, end, nm, cost;
	/* the closed block being written: BTYPE, next byte and match, its end */
	uint8_t emit;
	bool stored_len; /* its LEN/NLEN are out (stored blocks) */
	uint32_t epos, em, eend;
	uint64_t bits; /* output bits not yet written, LSB first */
	uint32_t nbits;
	uint8_t tail[10]; /* gzip header or trailer bytes to write after the bits */
	uint32_t ntail, itail;
	bool gzip, dirty, final;
	uint32_t crc, isize;
};

/* Start a stream: raw DEFLATE, or with the gzip header and trailer. */
void deflate_init(struct deflate *d, bool gzip);
/* Copy input into the window: returns the bytes taken. */
size_t deflate_feed(struct deflate *d, const void *in, size_t n);
/* Compress what was fed into out[0, cap): returns the bytes written. */
size_t deflate_run(struct deflate *d, void *out, size_t cap, enum deflate_flush flush);

#endif
