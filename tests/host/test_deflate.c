/*
 * http/core/deflate.c: the DEFLATE compressor and its gzip framing (RFC 1951,
 * RFC 1952), checked against the host's zlib: every output is inflated by
 * zlib (gzip outputs through its gzip decoder, which checks the header,
 * CRC-32 and ISIZE) and must give the input back. Inputs are fed whole, a
 * byte at a time and in odd pieces; output rooms range from 1 byte up,
 * each ending right before a PROT_NONE page, so writing past the room
 * faults. The output must not depend on either.
 */
#include "tests/host/test.h"

#include <stdint.h>
#include <zlib.h>

#include "http/core/deflate.h"
#include "kernel/crc32.h"

#define MAX_IN (3u << 20)
#define MAX_OUT (MAX_IN + MAX_IN / 64 + 1024)

static struct deflate z;
static uint8_t input[MAX_IN], output[MAX_OUT], other[MAX_OUT], back[MAX_IN + 1];

/* How to drive the compressor: input pieces (0: all at once; otherwise
 * sizes cycle through piece[]), output room per deflate_run call, and
 * where to ask for sync flushes (every `sync` input bytes, 0: never). */
struct drive {
	const size_t *piece;
	size_t npiece, room, sync;
};

/* One deflate_run call into a guarded room of `room` bytes, copied out. */
static size_t run_into(uint8_t *out, size_t *n, size_t cap, size_t room, enum deflate_flush f)
{
	uint8_t *g = (uint8_t *)test_guard_region(1, room);
	size_t k = deflate_run(&z, g, room, f);
	if (k > room || *n + k > cap)
		abort();
	memcpy(out + *n, g, k);
	*n += k;
	return k;
}

/* A flush to completion: until a call returns less than the room. */
static void flush_all(uint8_t *out, size_t *n, size_t cap, size_t room, enum deflate_flush f)
{
	while (run_into(out, n, cap, room, f) == room)
		;
}

/* Compress in[0, len) as `d` says; the output length. */
static size_t squeeze(const uint8_t *in, size_t len, bool gzip, const struct drive *d, uint8_t *out,
		      size_t cap)
{
	size_t n = 0, off = 0, i = 0, next_sync = d->sync ? d->sync : SIZE_MAX;
	size_t room = d->room ? d->room : 65536;
	deflate_init(&z, gzip);
	while (off < len) {
		size_t want = d->npiece ? d->piece[i++ % d->npiece] : len - off;
		want = want < len - off ? want : len - off;
		if (off + want > next_sync)
			want = next_sync - off;
		size_t took = deflate_feed(&z, in + off, want);
		off += took;
		if (off == next_sync) {
			flush_all(out, &n, cap, room, DEFLATE_SYNC_FLUSH);
			next_sync += d->sync;
		} else if (took < want || !d->npiece || i % 3 == 0) {
			run_into(out, &n, cap, room, DEFLATE_NO_FLUSH);
		}
	}
	flush_all(out, &n, cap, room, DEFLATE_FINISH);
	return n;
}

/* zlib's inflate of a whole stream: the length, or -1 if it is not one
 * complete, valid stream (gzip: header, CRC-32 and ISIZE checked). */
static long inflate_all(const uint8_t *in, size_t n, bool gzip, uint8_t *out, size_t cap)
{
	z_stream s = { 0 };
	if (inflateInit2(&s, gzip ? 16 + MAX_WBITS : -MAX_WBITS) != Z_OK)
		return -1;
	s.next_in = (Bytef *)in;
	s.avail_in = (uInt)n;
	s.next_out = out;
	s.avail_out = (uInt)cap;
	int r = inflate(&s, Z_FINISH);
	long got = (long)s.total_out;
	bool whole = s.avail_in == 0;
	inflateEnd(&s);
	return r == Z_STREAM_END && whole ? got : -1;
}

static const struct drive whole = { NULL, 0, 0, 0 };

/* Round trip through zlib; the compressed length, or 0 after a failure. */
static size_t round_trip(const uint8_t *in, size_t len, bool gzip, const struct drive *d)
{
	size_t n = squeeze(in, len, gzip, d, output, sizeof output);
	long got = inflate_all(output, n, gzip, back, sizeof back);
	if (!CHECK(got == (long)len) || !CHECK(!memcmp(back, in, len)))
		return 0;
	return n;
}

/* ---- inputs ---- */

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(void)
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return (uint32_t)(rng >> 32);
}

static size_t make_random(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd();
	return n;
}

/* English-like text: words from a small vocabulary, lines, numbers. */
static size_t make_text(uint8_t *p, size_t n)
{
	static const char *const words[] = { "the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog",
					     "keel", "unikernel", "serves", "HTTP", "from", "a", "single",
					     "bootable", "image", "request", "response", "connection" };
	size_t i = 0;
	while (i < n) {
		char w[32];
		int k = rnd() % 8 ? snprintf(w, sizeof w, "%s%s", words[rnd() % 20], rnd() % 10 ? " " : ".\n")
				  : snprintf(w, sizeof w, "%u ", rnd() % 100000);
		for (int j = 0; j < k && i < n; j++)
			p[i++] = (uint8_t)w[j];
	}
	return n;
}

/* Copies of earlier bytes at every distance and length, between literals:
 * exercises each length and distance code and their extra bits. */
static size_t make_matches(uint8_t *p, size_t n)
{
	size_t i = make_random(p, 64);
	while (i < n) {
		if (rnd() % 4 == 0) {
			p[i] = (uint8_t)rnd();
			i++;
			continue;
		}
		size_t len = 3 + rnd() % 300, dist = 1 + rnd() % (i < 20000 ? i : 20000);
		for (size_t k = 0; k < len && i < n; k++, i++)
			p[i] = p[i - dist];
	}
	return n;
}

/* A Prometheus exposition like GET /metrics. */
static size_t make_metrics(uint8_t *p, size_t cap)
{
	size_t n = 0;
	for (int i = 0; i < 40 && n + 200 < cap; i++)
		n += (size_t)snprintf((char *)p + n, cap - n,
				      "# HELP keel_metric_%d_total Something counted.\n"
				      "# TYPE keel_metric_%d_total counter\n"
				      "keel_metric_%d_total{code=\"%dxx\"} %u\n",
				      i, i, i, i % 5 + 1, rnd() % 1000000);
	return n;
}

/* ---- cases ---- */

static void t_crc32(void)
{
	size_t n = make_random(input, 100000);
	CHECK(crc32_update(0, "", 0) == 0);
	CHECK(crc32_update(0, "123456789", 9) == 0xcbf43926u); /* the check value */
	CHECK(crc32_update(0, input, n) == crc32(0, input, (uInt)n));
	CHECK(crc32_update(crc32_update(0, input, 777), input + 777, n - 777) == crc32(0, input, (uInt)n));
}

static void t_empty(void)
{
	size_t n = round_trip(input, 0, true, &whole);
	CHECK(n == 20); /* header 10, an empty fixed block 2, trailer 8 */
	CHECK(output[0] == 0x1f && output[1] == 0x8b && output[2] == 8);
	CHECK(round_trip(input, 0, false, &whole) == 2);
}

static void t_one_byte(void)
{
	for (int c = 0; c < 256; c++) {
		input[0] = (uint8_t)c;
		CHECK(round_trip(input, 1, true, &whole) == 21);
		CHECK(round_trip(input, 1, false, &whole) > 0);
	}
}

static void t_repeated(void)
{
	memset(input, 'a', 1 << 20);
	size_t n = round_trip(input, 1 << 20, true, &whole);
	CHECK(n > 0 && n < 12000); /* 258-byte matches: about 2 bytes per match */
	for (size_t i = 0; i < (1 << 20); i++)
		input[i] = "abcdefghij"[i % 10];
	n = round_trip(input, 1 << 20, true, &whole);
	CHECK(n > 0 && n < 12000);
}

/* Random data: every block goes out stored, 5 bytes of overhead per block
 * of at least DEFLATE_WINDOW - DEFLATE_HISTORY bytes. */
static void t_random(void)
{
	for (size_t len = 1; len <= (1u << 20); len = len * 7 + 3) {
		make_random(input, len);
		size_t n = round_trip(input, len, true, &whole);
		size_t bound = len + 18 + 5 * (len / (DEFLATE_WINDOW - DEFLATE_HISTORY) + 2);
		if (!CHECK(n > 0 && n <= bound))
			fprintf(stderr, "  random %zu bytes -> %zu (bound %zu)\n", len, n, bound);
	}
}

static void t_text(void)
{
	size_t len = make_text(input, 200000);
	size_t n = round_trip(input, len, true, &whole);
	if (!CHECK(n > 0 && n < len * 45 / 100))
		fprintf(stderr, "  text: %zu -> %zu bytes\n", len, n);
	len = make_metrics(input, sizeof input);
	n = round_trip(input, len, true, &whole);
	if (!CHECK(n > 0 && n < len / 4))
		fprintf(stderr, "  metrics: %zu -> %zu bytes\n", len, n);
}

static void t_codes(void)
{
	size_t len = make_matches(input, 1u << 20);
	CHECK(round_trip(input, len, true, &whole) > 0);
	CHECK(round_trip(input, len, false, &whole) > 0);
}

/* Inputs large enough for many window slides, mixed kinds back to back. */
static void t_large(void)
{
	size_t len = 0;
	len += make_text(input + len, 700000);
	len += make_random(input + len, 300000);
	len += make_matches(input + len, 900000);
	memset(input + len, 0, 500000), len += 500000;
	len += make_text(input + len, 600000);
	CHECK(round_trip(input, len, true, &whole) > 0);
}

/* Text, random data that goes out in stored blocks, then long matches. */
static size_t mixed(void)
{
	size_t len = make_text(input, 40000);
	len += make_random(input + len, 40000);
	len += make_matches(input + len, 60000);
	return len;
}

/* The same bytes out, whatever the input pieces and output room. */
static void same_as_whole(size_t len, const struct drive *d)
{
	size_t want = squeeze(input, len, true, &whole, other, sizeof other);
	size_t n = round_trip(input, len, true, d);
	if (!CHECK(n == want && !memcmp(output, other, n)))
		fprintf(stderr, "  %zu bytes, room %zu: %zu bytes out, %zu when fed whole\n", len, d->room, n,
			want);
}

static void t_byte_by_byte(void)
{
	static const size_t one[] = { 1 };
	size_t len = mixed();
	same_as_whole(len, &(struct drive){ one, 1, 0, 0 });
}

static void t_odd_pieces(void)
{
	static const size_t pieces[] = { 7, 13, 1000, 4097, 1, 3, 258, 259, 16385, 8191, 2 };
	size_t len = mixed();
	same_as_whole(len, &(struct drive){ pieces, TEST_COUNT(pieces), 0, 0 });
}

static void t_tiny_rooms(void)
{
	static const size_t pieces[] = { 100, 3000, 17 };
	size_t len = mixed();
	for (size_t room = 1; room <= 16; room++) {
		same_as_whole(len, &(struct drive){ NULL, 0, room, 0 });
		same_as_whole(len, &(struct drive){ pieces, TEST_COUNT(pieces), room, 0 });
	}
	same_as_whole(0, &(struct drive){ NULL, 0, 1, 0 });
}

/* After each sync flush, everything fed so far decodes, and the output is
 * byte-aligned with the 00 00 ff ff marker of an empty stored block. */
static void t_sync_flush(void)
{
	static const size_t pieces[] = { 5, 300, 70 };
	size_t len = make_text(input, 30000);
	for (size_t sync = 1; sync <= 4096; sync = sync * 3 + 1) {
		struct drive d = { pieces, TEST_COUNT(pieces), sync < 100 ? 3 : 0, sync };
		CHECK(round_trip(input, len, true, &d) > 0);
	}
	/* a stream cut right after a sync flush decodes to what was fed */
	size_t n = 0;
	deflate_init(&z, false);
	CHECK(deflate_feed(&z, input, 1000) == 1000);
	flush_all(output, &n, sizeof output, 64, DEFLATE_SYNC_FLUSH);
	CHECK(n >= 4 && !memcmp(output + n - 4, "\0\0\xff\xff", 4));
	z_stream s = { 0 };
	CHECK(inflateInit2(&s, -MAX_WBITS) == Z_OK);
	s.next_in = output, s.avail_in = (uInt)n, s.next_out = back, s.avail_out = sizeof back;
	int r = inflate(&s, Z_SYNC_FLUSH);
	CHECK(r == Z_OK && s.total_out == 1000 && !memcmp(back, input, 1000));
	inflateEnd(&s);
	/* with nothing fed since, a sync flush writes nothing */
	size_t before = n;
	flush_all(output, &n, sizeof output, 64, DEFLATE_SYNC_FLUSH);
	CHECK(n == before);
}

static void t_after_finish(void)
{
	size_t n = 0;
	deflate_init(&z, true);
	CHECK(deflate_feed(&z, "abc", 3) == 3);
	flush_all(output, &n, sizeof output, 7, DEFLATE_FINISH);
	CHECK(deflate_feed(&z, "d", 1) == 0);
	CHECK(deflate_run(&z, output + n, 100, DEFLATE_FINISH) == 0);
	CHECK(deflate_run(&z, output + n, 100, DEFLATE_SYNC_FLUSH) == 0);
	CHECK(inflate_all(output, n, true, back, sizeof back) == 3 && !memcmp(back, "abc", 3));
}

/* The first feed after init takes a whole window without any output
 * room (the response writer relies on it). */
static void t_first_feed(void)
{
	make_text(input, DEFLATE_WINDOW + 10);
	deflate_init(&z, true);
	CHECK(deflate_feed(&z, input, DEFLATE_WINDOW + 10) == DEFLATE_WINDOW);
	CHECK(deflate_run(&z, output, 0, DEFLATE_NO_FLUSH) == 0);
}

static const struct test_case cases[] = {
	{ "CRC-32 matches zlib's and the check value", t_crc32 },
	{ "empty input: 20-byte gzip member, 2-byte raw stream", t_empty },
	{ "each 1-byte input", t_one_byte },
	{ "repeated data: long matches", t_repeated },
	{ "random data grows by stored-block overhead only", t_random },
	{ "text and /metrics-like text compress", t_text },
	{ "every length and distance code", t_codes },
	{ "large mixed input across many window slides", t_large },
	{ "fed a byte at a time: same output", t_byte_by_byte },
	{ "fed in odd-sized pieces: same output", t_odd_pieces },
	{ "output rooms of 1..16 bytes: same output, never past the room", t_tiny_rooms },
	{ "sync flushes: byte-aligned, decodable so far", t_sync_flush },
	{ "after finish: nothing taken, nothing written", t_after_finish },
	{ "first feed takes a whole window with no output room", t_first_feed },
};

int main(void)
{
	test_init("deflate");
	test_run(cases, TEST_COUNT(cases));
	return test_finish();
}
