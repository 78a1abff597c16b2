/* DEFLATE (RFC 1951) with fixed Huffman codes and stored blocks, and the
 * gzip member framing (RFC 1952); the contract is in deflate.h.
 *
 * Input is copied into a window; the parser turns it into literals and
 * matches, recording only the matches (literals are the window bytes
 * between them) and the block's cost in fixed-code bits. A block closes
 * when its match list is full, the window is full, or a flush asks; then
 * it is written, stored if that is smaller, while parsing waits. Writing
 * goes through a 64-bit bit buffer (LSB first, RFC 1951 §3.1.1) that
 * never holds more than 32 bits before a symbol is added (a length and
 * distance with their extra bits take 31), so it can stop at any output
 * byte and resume. */
#include <string.h>

#include "http/core/deflate.h"
#include "kernel/crc32.h"

#define MIN_MATCH 3
#define MAX_MATCH 258
#define LOOKAHEAD (MAX_MATCH + MIN_MATCH - 1) /* a longest match and the hashes of its bytes */
#define TOO_FAR 4096        /* a 3-byte match farther costs more than 3 literals */
#define NONE 0xffff         /* an empty hash slot */

_Static_assert(DEFLATE_WINDOW < NONE && DEFLATE_WINDOW <= 65535, "positions and stored LEN are 16-bit");
_Static_assert(DEFLATE_WINDOW - DEFLATE_HISTORY > LOOKAHEAD, "a block must fit beyond the history");
_Static_assert(sizeof(struct deflate) <= 31 * 1024, "deflate.h promises 30.1 KiB of state");

enum { EMIT_NONE, EMIT_STORED, EMIT_FIXED };

struct out {
	uint8_t *p;
	size_t n, cap;
};

/* RFC 1951 §3.2.5: length codes 257..285 and distance codes 0..29, their
 * base values and extra bits. */
static const uint16_t len_base[29] = { 3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
				       31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258 };
static const uint8_t len_extra[29] = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
				       2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0 };
static const uint16_t dist_base[30] = { 1,    2,    3,    4,    5,    7,    9,    13,    17,    25,
					33,   49,   65,   97,   129,  193,  257,  385,   513,   769,
					1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577 };
static const uint8_t dist_extra[30] = { 0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
					6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13 };

/* Built once: the fixed literal/length codes of §3.2.6, bit-reversed for
 * LSB-first output, and their lengths (distance codes are 5 bits); the
 * length code of each length - 3, the distance code of each distance - 1
 * below 256 and of each (distance - 1) >> 7 above. */
static uint16_t lit_code[288];
static uint8_t lit_bits[288];
static uint8_t dist_code[30];
static uint8_t len_sym[256], dist_sym[512];
static bool tables_ready;

static unsigned reverse(unsigned code, unsigned n)
{
	unsigned r = 0;
	for (unsigned i = 0; i < n; i++, code >>= 1)
		r = r << 1 | (code & 1);
	return r;
}

static void build_tables(void)
{
	for (unsigned s = 0; s < 288; s++) {
		unsigned code = s < 144   ? 0x30 + s
				: s < 256 ? 0x190 + s - 144
				: s < 280 ? s - 256
					  : 0xc0 + s - 280;
		unsigned n = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
		lit_code[s] = (uint16_t)reverse(code, n);
		lit_bits[s] = (uint8_t)n;
	}
	for (unsigned s = 0; s < 30; s++)
		dist_code[s] = (uint8_t)reverse(s, 5);
	for (unsigned s = 0; s < 28; s++) /* 285 alone stands for 258 */
		for (unsigned l = len_base[s]; l < len_base[s] + (1u << len_extra[s]); l++)
			len_sym[l - MIN_MATCH] = (uint8_t)s;
	len_sym[MAX_MATCH - MIN_MATCH] = 28;
	for (unsigned s = 0; s < 30; s++)
		for (unsigned d = dist_base[s] - 1; d < dist_base[s] - 1 + (1u << dist_extra[s]); d++)
			dist_sym[d < 256 ? d : 256 + (d >> 7)] = (uint8_t)s;
	tables_ready = true;
}

static inline unsigned dsym(unsigned dist)
{
	return dist <= 256 ? dist_sym[dist - 1] : dist_sym[256 + ((dist - 1) >> 7)];
}

static unsigned match_cost(unsigned len, unsigned dist)
{
	unsigned l = len_sym[len - MIN_MATCH];
	return lit_bits[257 + l] + len_extra[l] + 5 + dist_extra[dsym(dist)];
}

/* ---- output ---- */

static inline void put(struct deflate *d, uint32_t v, unsigned n)
{
	d->bits |= (uint64_t)v << d->nbits;
	d->nbits += n;
}

static void put_match(struct deflate *d, unsigned len, unsigned dist)
{
	unsigned l = len_sym[len - MIN_MATCH], c = dsym(dist);
	put(d, lit_code[257 + l], lit_bits[257 + l]);
	put(d, len - len_base[l], len_extra[l]);
	put(d, dist_code[c], 5);
	put(d, dist - dist_base[c], dist_extra[c]);
}

/* Whole bytes of the bit buffer into out; then, once it is empty, the
 * gzip header or trailer bytes. */
static void drain(struct deflate *d, struct out *o)
{
	while (d->nbits >= 8 && o->n < o->cap) {
		o->p[o->n++] = (uint8_t)d->bits;
		d->bits >>= 8;
		d->nbits -= 8;
	}
	while (!d->nbits && d->itail < d->ntail && o->n < o->cap)
		o->p[o->n++] = d->tail[d->itail++];
}

/* Room for one more symbol in the bit buffer (false: out is full). */
static bool room(struct deflate *d, struct out *o)
{
	if (d->nbits > 32)
		drain(d, o);
	return d->nbits <= 32;
}

/* The closed block with the fixed codes (RFC 1951 §3.2.6): true when its
 * end-of-block code is in the bit buffer, false when out is full. */
static bool emit_fixed(struct deflate *d, struct out *o)
{
	const uint8_t *b = d->win + d->blk;
	while (room(d, o)) {
		if (d->em < d->nm && d->epos == d->m[d->em].off) {
			put_match(d, d->m[d->em].len, d->m[d->em].dist);
			d->epos += d->m[d->em++].len;
		} else if (d->epos < d->eend) {
			unsigned c = b[d->epos++];
			put(d, lit_code[c], lit_bits[c]);
		} else {
			put(d, lit_code[256], lit_bits[256]);
			return true;
		}
	}
	return false;
}

/* The closed block stored (RFC 1951 §3.2.4): its header bits are out and
 * aligned; then LEN, NLEN and the bytes. */
static bool emit_stored(struct deflate *d, struct out *o)
{
	if (!d->stored_len) {
		if (!room(d, o))
			return false;
		put(d, d->eend | (~d->eend & 0xffff) << 16, 32);
		d->stored_len = true;
	}
	drain(d, o);
	if (d->nbits)
		return false;
	size_t k = d->eend - d->epos < o->cap - o->n ? d->eend - d->epos : o->cap - o->n;
	memcpy(o->p + o->n, d->win + d->blk + d->epos, k);
	o->n += k;
	d->epos += (uint32_t)k;
	return d->epos == d->eend;
}

/* ---- parsing ---- */

static inline uint32_t hash3(const uint8_t *p)
{
	uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
	return (v * 2654435761u) >> (32 - DEFLATE_HASH_BITS);
}

/* Length of the common prefix of a and b, at most max. */
static uint32_t match_len(const uint8_t *a, const uint8_t *b, uint32_t max)
{
	uint32_t n = 0;
	for (; n + 8 <= max; n += 8) {
		uint64_t x, y;
		memcpy(&x, a + n, 8);
		memcpy(&y, b + n, 8);
		if (x != y)
			return n + ((uint32_t)__builtin_ctzll(x ^ y) >> 3); /* little-endian */
	}
	while (n < max && a[n] == b[n])
		n++;
	return n;
}

/* Greedy LZ77 over [pos, end), or up to LOOKAHEAD before end unless
 * `all`, with one candidate per hash. A candidate counts only within
 * DEFLATE_HISTORY of the open block, which is what survives a slide: so
 * when the window slides never changes the result. */
static void parse(struct deflate *d, bool all)
{
	const uint8_t *w = d->win;
	uint32_t stop = all ? d->end : d->end > LOOKAHEAD ? d->end - LOOKAHEAD : 0;
	uint32_t low = d->blk > DEFLATE_HISTORY ? d->blk - DEFLATE_HISTORY : 0;
	while (d->pos < stop && d->nm < DEFLATE_MATCHES) {
		uint32_t p = d->pos, avail = d->end - p, len = 0, cand = NONE;
		if (avail >= MIN_MATCH) {
			uint32_t h = hash3(w + p);
			cand = d->head[h];
			d->head[h] = (uint16_t)p;
			if (cand < p && cand >= low)
				len = match_len(w + cand, w + p, avail < MAX_MATCH ? avail : MAX_MATCH);
		}
		if (len > MIN_MATCH || (len == MIN_MATCH && p - cand <= TOO_FAR)) {
			d->m[d->nm++] = (struct deflate_match){ (uint16_t)(p - d->blk), (uint16_t)len,
								(uint16_t)(p - cand) };
			d->cost += match_cost(len, p - cand);
			for (uint32_t q = p + 1; q < p + len && q + MIN_MATCH <= d->end; q++)
				d->head[hash3(w + q)] = (uint16_t)q;
			d->pos = p + len;
		} else {
			d->cost += w[p] < 144 ? 8 : 9;
			d->pos = p + 1;
		}
	}
}

/* End the open block [blk, pos) and start writing it: stored when that is
 * no larger than the fixed codes (or for a sync flush's empty block). */
static void close_block(struct deflate *d, bool final, bool stored)
{
	uint32_t len = d->pos - d->blk, pad = -(d->nbits + 3) & 7;
	stored = stored || 3 + pad + 32 + 8 * len <= 3 + d->cost + 7;
	put(d, (uint32_t)final | (stored ? 0 : 1) << 1, 3); /* BFINAL, BTYPE 00 or 01 */
	if (stored)
		d->nbits += pad;
	d->emit = stored ? EMIT_STORED : EMIT_FIXED;
	d->stored_len = false;
	d->epos = d->em = 0;
	d->eend = len;
	d->final = final;
}

/* The written block becomes history; after the last one, the final byte
 * is padded with zero bits and the gzip trailer follows (RFC 1952 §2.2). */
static void block_done(struct deflate *d)
{
	d->blk = d->pos;
	d->nm = d->cost = 0;
	d->emit = EMIT_NONE;
	if (!d->final)
		return;
	d->nbits = (d->nbits + 7) & ~7u;
	if (d->gzip) {
		for (int i = 0; i < 4; i++) {
			d->tail[i] = (uint8_t)(d->crc >> (8 * i));
			d->tail[4 + i] = (uint8_t)(d->isize >> (8 * i));
		}
		d->ntail = 8;
		d->itail = 0;
	}
}

/* Parse as far as the flush allows and close a block if one is due;
 * false if none is. */
static bool next_block(struct deflate *d, enum deflate_flush flush)
{
	/* feed cannot make room: the open block must end with the window */
	bool stuck = d->end == DEFLATE_WINDOW && d->blk <= DEFLATE_HISTORY;
	parse(d, flush != DEFLATE_NO_FLUSH || stuck);
	bool all = d->pos == d->end;
	if (d->nm == DEFLATE_MATCHES)
		close_block(d, false, false);
	else if (all && flush == DEFLATE_FINISH)
		close_block(d, true, false);
	else if (all && d->pos > d->blk && (stuck || flush == DEFLATE_SYNC_FLUSH))
		close_block(d, false, false);
	else if (all && flush == DEFLATE_SYNC_FLUSH && d->dirty) {
		close_block(d, false, true); /* empty: byte-aligns the output */
		d->dirty = false;
	} else
		return false;
	return true;
}

/* ---- the API ---- */

void deflate_init(struct deflate *d, bool gzip)
{
	/* RFC 1952 §2.3: ID1 ID2, CM 8 (deflate), no flags, no MTIME, XFL 4
	 * (fastest), OS 255 (unknown) */
	static const uint8_t header[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 255 };
	if (!tables_ready)
		build_tables();
	memset(d->head, 0xff, sizeof d->head);
	memset((char *)d + offsetof(struct deflate, blk), 0, sizeof *d - offsetof(struct deflate, blk));
	d->gzip = gzip;
	if (gzip) {
		memcpy(d->tail, header, sizeof header);
		d->ntail = sizeof header;
	}
}

/* Drop all but DEFLATE_HISTORY bytes before the open block. */
static void slide(struct deflate *d)
{
	uint32_t s = d->blk - DEFLATE_HISTORY;
	memmove(d->win, d->win + s, d->end - s);
	d->blk -= s;
	d->pos -= s;
	d->end -= s;
	for (size_t i = 0; i < sizeof d->head / sizeof d->head[0]; i++)
		d->head[i] = d->head[i] == NONE || d->head[i] < s ? NONE : (uint16_t)(d->head[i] - s);
}

size_t deflate_feed(struct deflate *d, const void *in, size_t n)
{
	size_t taken = 0;
	while (!d->final && taken < n) {
		if (d->end == DEFLATE_WINDOW) {
			if (d->emit || d->blk <= DEFLATE_HISTORY)
				break; /* a block must be written first */
			slide(d);
		}
		size_t k = n - taken < DEFLATE_WINDOW - d->end ? n - taken : DEFLATE_WINDOW - d->end;
		memcpy(d->win + d->end, (const uint8_t *)in + taken, k);
		d->end += (uint32_t)k;
		taken += k;
	}
	if (taken) {
		d->crc = crc32_update(d->crc, in, taken);
		d->isize += (uint32_t)taken; /* modulo 2^32 (RFC 1952 §2.3.1) */
		d->dirty = true;
	}
	return taken;
}

size_t deflate_run(struct deflate *d, void *out, size_t cap, enum deflate_flush flush)
{
	struct out o = { out, 0, cap };
	for (;;) {
		drain(d, &o);
		if (d->itail < d->ntail)
			break; /* nothing goes into the bit buffer before the header is out */
		if (d->emit) {
			if (!(d->emit == EMIT_STORED ? emit_stored(d, &o) : emit_fixed(d, &o)))
				break;
			block_done(d);
		} else if (d->final || !next_block(d, flush)) {
			break;
		}
	}
	return o.n;
}
