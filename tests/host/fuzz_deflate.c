/*
 * libFuzzer target for http/core/deflate.c: compress the input twice, once fed
 * whole into ample room and once in pieces into small rooms (sizes from
 * the input), each room an exact-size heap buffer (ASan sees a write past
 * it). Both outputs must be identical, zlib must inflate them to the input
 * (gzip: header, CRC-32 and ISIZE checked), and they may exceed the input
 * by the stored-block overhead only.
 *
 * The first byte: bit 0 gzip framing, bit 1 a sync flush after every
 * piece of the split run (then the outputs differ, and only the round
 * trip is checked), bits 2-7 seed the piece and room sizes. With bit 2
 * set the data is expanded (byte b repeated b % 64 times), so long matches
 * and full match lists are reached.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "http/core/deflate.h"
#include "tests/host/fuzz.h"

static struct deflate z;

struct split {
	unsigned seed; /* 0: whole input, 64 KiB rooms */
	bool sync;
};

static size_t next_size(unsigned *seed, size_t max)
{
	*seed = *seed * 1103515245 + 12345;
	return 1 + (*seed >> 16) % max;
}

/* One run into an exact-size heap room, appended to out. */
static size_t run(uint8_t *out, size_t *n, size_t room, enum deflate_flush f)
{
	uint8_t *r = malloc(room);
	INVARIANT(r != NULL);
	size_t k = deflate_run(&z, r, room, f);
	INVARIANT(k <= room);
	memcpy(out + *n, r, k);
	*n += k;
	free(r);
	return k;
}

static size_t squeeze(const uint8_t *in, size_t len, bool gzip, struct split s, uint8_t *out)
{
	size_t n = 0, off = 0;
	deflate_init(&z, gzip);
	while (off < len) {
		size_t want = s.seed ? next_size(&s.seed, 3000) : len - off;
		want = want < len - off ? want : len - off;
		size_t took = deflate_feed(&z, in + off, want);
		size_t room = s.seed ? next_size(&s.seed, 40) : 65536;
		off += took;
		if (s.sync && took)
			while (run(out, &n, room, DEFLATE_SYNC_FLUSH) == room)
				;
		else
			INVARIANT(run(out, &n, room, DEFLATE_NO_FLUSH) || took); /* progress */
	}
	size_t room = s.seed ? next_size(&s.seed, 40) : 65536;
	while (run(out, &n, room, DEFLATE_FINISH) == room)
		;
	return n;
}

static void round_trip(const uint8_t *c, size_t n, bool gzip, const uint8_t *in, size_t len)
{
	uint8_t *back = malloc(len + 1);
	INVARIANT(back != NULL);
	z_stream s = { 0 };
	INVARIANT(inflateInit2(&s, gzip ? 16 + MAX_WBITS : -MAX_WBITS) == Z_OK);
	s.next_in = (Bytef *)c;
	s.avail_in = (uInt)n;
	s.next_out = back;
	s.avail_out = (uInt)len + 1;
	INVARIANT(inflate(&s, Z_FINISH) == Z_STREAM_END);
	INVARIANT(s.avail_in == 0 && s.total_out == len && !memcmp(back, in, len));
	inflateEnd(&s);
	free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	uint8_t mode = data[0];
	bool gzip = mode & 1, sync = mode & 2;
	size_t len = 0;
	uint8_t *in = malloc(64 * size);
	INVARIANT(in != NULL);
	for (size_t i = 1; i < size; i++)
		for (size_t k = 0; k < (mode & 4 ? data[i] % 64u + 1 : 1); k++)
			in[len++] = data[i];
	size_t cap = 2 * len + 1024 + 64 * (len / 100 + 1); /* sync flushes add up to 5 bytes each */
	uint8_t *one = malloc(cap), *two = malloc(cap);
	INVARIANT(one && two);
	size_t n1 = squeeze(in, len, gzip, (struct split){ 0, false }, one);
	size_t n2 = squeeze(in, len, gzip, (struct split){ (unsigned)(mode >> 2) + 1, sync }, two);
	INVARIANT(n1 <= len + (gzip ? 18 : 0) + 5 * (len / (DEFLATE_WINDOW - DEFLATE_HISTORY) + 2));
	INVARIANT(sync || (n1 == n2 && !memcmp(one, two, n1)));
	round_trip(one, n1, gzip, in, len);
	round_trip(two, n2, gzip, in, len);
	free(one);
	free(two);
	free(in);
	return 0;
}
