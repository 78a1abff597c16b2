/*
 * net/tso.c: which segments join, and that a joined frame, cut again at
 * gso_size the way a device does (virtio 1.1 §5.1.6.2; Linux's
 * tcp_gso_segment), gives back exactly the segments lwIP sent.
 */
#include "tests/host/test.h"

#include "net/tso.h"

#define MSS 1460u
#define HDR (14u + 20u + 20u)
#define ACK 0x10u
#define PSH 0x08u

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* The one's complement sum of an IPv4 header: 0xffff if its checksum holds. */
static uint16_t ip_sum(const uint8_t *ip)
{
	uint32_t sum = 0;
	for (size_t i = 0; i < 20; i += 2)
		sum += be16(ip + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}
static void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v >> 16), put16(p + 2, v); }

/* A segment as lwIP sends it: eth, IPv4 (DF, ID `id`), TCP 80 -> 40000,
 * `n` payload bytes that encode their sequence number. Its length. */
static size_t seg(uint8_t *f, uint32_t seq, size_t n, uint8_t flags, uint16_t id)
{
	memset(f, 0, HDR);
	memcpy(f, "\x52\x54\x00\x12\x34\x56\x52\x54\x00\xab\xcd\xef\x08\x00", 14);
	uint8_t *ip = f + 14, *tcp = f + 34;
	ip[0] = 0x45;
	put16(ip + 2, (uint32_t)(20 + 20 + n));
	put16(ip + 4, id);
	put16(ip + 6, 0x4000);
	ip[8] = 255, ip[9] = 6;
	put32(ip + 12, 0x0a00020f), put32(ip + 16, 0x0a000202);
	put16(tcp, 80), put16(tcp + 2, 40000);
	put32(tcp + 4, seq), put32(tcp + 8, 777);
	tcp[12] = 5 << 4, tcp[13] = flags;
	put16(tcp + 14, 8192);
	put16(ip + 10, (uint16_t)~ip_sum(ip));
	for (size_t i = 0; i < n; i++)
		f[HDR + i] = (uint8_t)((seq + i) * 7);
	return HDR + n;
}

static void t_parse(void)
{
	static uint8_t f[2048];
	struct tso_seg s;
	size_t n = seg(f, 1000, 100, ACK | PSH, 1);
	CHECK(tso_parse(f, n, &s) && s.hdr_len == HDR && s.payload == 100 && s.seq == 1000);
	CHECK(!tso_parse(f, n + 1, &s));                    /* bytes beyond the datagram */
	CHECK(!tso_parse(f, seg(f, 1, 0, ACK, 1), &s));      /* no payload: a pure ACK */
	CHECK(!tso_parse(f, seg(f, 1, 10, ACK | 0x01, 1), &s)); /* FIN */
	CHECK(!tso_parse(f, seg(f, 1, 10, 0x02, 1), &s));    /* SYN */
	CHECK(!tso_parse(f, seg(f, 1, 10, ACK | 0x04, 1), &s)); /* RST */
	CHECK(!tso_parse(f, seg(f, 1, 10, ACK | 0x20, 1), &s)); /* URG */
	CHECK(!tso_parse(f, seg(f, 1, 10, PSH, 1), &s));     /* no ACK */
	n = seg(f, 1, 10, ACK, 1);
	f[14] = 0x46;
	CHECK(!tso_parse(f, n, &s)); /* IP options */
	n = seg(f, 1, 10, ACK, 1);
	f[14 + 6] |= 0x20;
	CHECK(!tso_parse(f, n, &s)); /* more fragments */
	n = seg(f, 1, 10, ACK, 1);
	f[12] = 0x86, f[13] = 0xdd;
	CHECK(!tso_parse(f, n, &s)); /* not IPv4 */
	CHECK(!tso_parse(f, 40, &s)); /* too short */
}

/* Segments 0..k-1 of `sizes`, each continuing the previous, in frames[]. */
static uint8_t frames[64][2048];
static size_t lens[64];

static size_t build(const size_t *sizes, size_t k, uint32_t seq0)
{
	uint32_t seq = seq0;
	for (size_t i = 0; i < k; i++) {
		lens[i] = seg(frames[i], seq, sizes[i], ACK | (i + 1 == k ? PSH : 0), (uint16_t)(100 + i));
		seq += (uint32_t)sizes[i];
	}
	return k;
}

/* Join as many of the k segments as tso_continues allows; returns how many. */
static size_t join(struct tso_frame *t, size_t k, unsigned max)
{
	struct tso_seg s;
	if (!CHECK(tso_parse(frames[0], lens[0], &s)))
		return 0;
	tso_start(t, frames[0], &s);
	size_t i = 1;
	for (; i < k; i++) {
		if (!CHECK(tso_parse(frames[i], lens[i], &s)) || !tso_continues(t, frames[i], &s, max))
			break;
		tso_join(t, frames[i], &s);
	}
	return i;
}

static void t_join_rules(void)
{
	struct tso_frame t;
	size_t full[4] = {MSS, MSS, MSS, MSS};
	CHECK(join(&t, build(full, 4, 1), 44) == 4 && t.segs == 4 && t.payload == 4 * MSS);
	CHECK(join(&t, build(full, 4, 1), 3) == 3); /* max_segs */
	size_t short_mid[4] = {MSS, 500, MSS, MSS};
	CHECK(join(&t, build(short_mid, 4, 1), 44) == 2); /* nothing after a short one */
	size_t longer[2] = {500, MSS};
	CHECK(join(&t, build(longer, 2, 1), 44) == 1); /* longer than the first */
	build(full, 2, 1);
	put32(frames[1] + 34 + 4, 1 + MSS + 1); /* a gap in sequence */
	CHECK(join(&t, 2, 44) == 1);
	static const size_t fields[] = {0, 14 + 1, 14 + 8, 14 + 12, 14 + 16, 34, 34 + 2, 34 + 8, 34 + 14, 34 + 18};
	for (size_t i = 0; i < TEST_COUNT(fields); i++) {
		build(full, 2, 1);
		frames[1][fields[i]] ^= 1; /* MAC, TOS, TTL, addresses, ports, ACK, window, urgent pointer */
		CHECK(join(&t, 2, 44) == 1);
	}
	build(full, 2, 1);
	put16(frames[1] + 14 + 4, 9); /* another IP ID joins */
	frames[1][34 + 13] |= PSH;    /* and so does PSH */
	CHECK(join(&t, 2, 44) == 2 && t.psh);
}

static void t_ip_length_cap(void)
{
	struct tso_frame t;
	size_t sizes[64];
	for (size_t i = 0; i < 64; i++)
		sizes[i] = MSS;
	size_t n = join(&t, build(sizes, 64, 5), 64);
	CHECK(n == (TSO_IP_MAX - 40) / MSS); /* 44 */
	CHECK(t.head.hdr_len - 14 + t.payload <= TSO_IP_MAX);
}

/* Joined (headers of the first, then every payload in order) and cut at
 * gso_size as a device does: the original segments' sequence numbers,
 * payloads and header fields, PSH on the last one only. */
static void t_round_trip(void)
{
	static uint8_t big[70000];
	unsigned seed = 12345;
	for (int round = 0; round < 200; round++) {
		size_t k = 1 + (seed = seed * 1103515245 + 12345) % 44, sizes[44];
		size_t mss = 536 + (seed >> 8) % (MSS - 536 + 1);
		for (size_t i = 0; i < k; i++)
			sizes[i] = i + 1 < k ? mss : 1 + (seed >> 4) % mss;
		uint32_t seq0 = seed * 2654435761u; /* wraps in some rounds */
		build(sizes, k, seq0);
		struct tso_frame t;
		if (!CHECK(join(&t, k, 44) == k))
			continue;
		memcpy(big, frames[0], lens[0]);
		size_t at = lens[0];
		for (size_t i = 1; i < k; i++, at += sizes[i - 1])
			memcpy(big + at, frames[i] + HDR, sizes[i]);
		size_t total = tso_finish(&t, big);
		CHECK(total == at);
		CHECK(be16(big + 16) == total - 14 && ip_sum(big + 14) == 0xffff);
		for (size_t i = 0; i < k; i++) { /* the device's cut */
			uint32_t seq = (uint32_t)(seq0 + i * mss);
			const uint8_t *orig = frames[i], *pay = big + HDR + i * mss;
			CHECK(seq == ((uint32_t)orig[38] << 24 | (uint32_t)orig[39] << 16 | orig[40] << 8 | orig[41]));
			CHECK(!memcmp(pay, orig + HDR, sizes[i]));
			CHECK(!memcmp(big + 34, orig + 34, 4) && !memcmp(big + 34 + 8, orig + 34 + 8, 5));
			bool psh = (big[34 + 13] & PSH) && i + 1 == k; /* Linux clears PSH on all but the last */
			CHECK(psh == !!(orig[34 + 13] & PSH));
		}
	}
}

/* A bare FIN right after the data folds into the frame's last segment. */
static void t_fin(void)
{
	struct tso_frame t;
	static uint8_t fin[128];
	size_t full[3] = {MSS, MSS, 100};
	build(full, 3, 50);
	uint32_t after = 50 + 2 * MSS + 100;
	CHECK(join(&t, 3, 44) == 3);
	size_t n = seg(fin, after, 0, ACK | 0x01, 7);
	CHECK(tso_fin_follows(&t, fin, n));
	CHECK(!tso_fin_follows(&t, fin, n + 1));                        /* bytes past the headers */
	CHECK(!tso_fin_follows(&t, fin, seg(fin, after + 1, 0, ACK | 0x01, 7))); /* not next */
	CHECK(!tso_fin_follows(&t, fin, seg(fin, after, 0, ACK | 0x05, 7)));  /* FIN and RST */
	CHECK(!tso_fin_follows(&t, fin, seg(fin, after, 0, ACK, 7)));         /* a pure ACK */
	CHECK(!tso_fin_follows(&t, fin, seg(fin, after, 5, ACK | 0x01, 7)));  /* FIN with data */
	n = seg(fin, after, 0, ACK | 0x01, 7);
	fin[34 + 14] ^= 1; /* another window */
	CHECK(!tso_fin_follows(&t, fin, n));
	n = seg(fin, after, 0, ACK | PSH | 0x01, 7);
	CHECK(tso_fin_follows(&t, fin, n));
	tso_fold_fin(&t);
	CHECK(!tso_fin_follows(&t, fin, n)); /* one FIN */
	struct tso_seg s;
	CHECK(tso_parse(frames[0], lens[0], &s) && !tso_continues(&t, frames[0], &s, 44)); /* nothing after it */
	static uint8_t big[8192];
	memcpy(big, frames[0], lens[0]);
	memcpy(big + lens[0], frames[1] + HDR, MSS);
	memcpy(big + lens[0] + MSS, frames[2] + HDR, 100);
	CHECK(tso_finish(&t, big) == HDR + 2 * MSS + 100);
	CHECK((big[34 + 13] & 0x19) == (ACK | PSH | 0x01) && ip_sum(big + 14) == 0xffff);
	/* one data segment and its FIN: still one frame, FIN set, IP header as sent */
	size_t one[1] = {300};
	build(one, 1, 9);
	CHECK(join(&t, 1, 44) == 1);
	n = seg(fin, 9 + 300, 0, ACK | 0x01, 7);
	CHECK(tso_fin_follows(&t, fin, n));
	tso_fold_fin(&t);
	CHECK(tso_finish(&t, frames[0]) == lens[0] && (frames[0][34 + 13] & 0x01) && ip_sum(frames[0] + 14) == 0xffff);
}

/* The one's complement sum of f[from, to), 16-bit big-endian words, an
 * odd last byte padded with zero, added to `sum`. */
static uint32_t sum16(const uint8_t *f, size_t from, size_t to, uint32_t sum)
{
	for (size_t i = from; i < to; i += 2)
		sum += i + 1 < to ? be16(f + i) : (uint32_t)f[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

/* The device's half: sum from csum_start to the end over the stored
 * pseudo-header sum, complement, store (virtio 1.1 §5.1.6.2). Then the
 * checksum must hold by RFC 9293 §3.1, computed in full. */
static bool offloaded_checksum_holds(uint8_t *f, size_t len, size_t start)
{
	put16(f + start + 16, (uint16_t)~sum16(f, start, len, 0));
	size_t ihl = (size_t)(f[14] & 0xf) * 4;
	uint32_t pseudo = sum16(f, 14 + 12, 14 + 20, 6u + (uint32_t)(len - 14 - ihl));
	return sum16(f, start, len, pseudo) == 0xffff;
}

static void t_csum_partial(void)
{
	static uint8_t f[2048];
	for (size_t n = 0; n < 40; n += 7) { /* odd and even lengths */
		size_t len = seg(f, 1234567 + (uint32_t)n, n, ACK | PSH, 3);
		size_t start = tso_csum_partial(f, len);
		CHECK(start == 34 && offloaded_checksum_holds(f, len, start));
	}
	size_t len = seg(f, 1, 100, ACK, 3); /* with 4 bytes of IP options */
	memmove(f + 38, f + 34, len - 34);
	memset(f + 34, 1, 4); /* NOP NOP NOP NOP */
	f[14] = 0x46;
	put16(f + 16, (uint32_t)(len + 4 - 14));
	CHECK(tso_csum_partial(f, len + 4) == 38 && offloaded_checksum_holds(f, len + 4, 38));
	len = seg(f, 1, 100, ACK, 3);
	CHECK(tso_csum_partial(f, len - 1) == 0); /* shorter than its IP length says */
	f[14 + 9] = 17;
	CHECK(tso_csum_partial(f, len) == 0); /* UDP */
	len = seg(f, 1, 100, ACK, 3);
	f[12] = 0x86, f[13] = 0xdd;
	CHECK(tso_csum_partial(f, len) == 0); /* not IPv4 */
	CHECK(tso_csum_partial(f, 20) == 0);  /* too short */
}

static const struct test_case cases[] = {
	{"a TCP/IPv4 data segment with only ACK and PSH takes part; SYN, FIN, RST, URG, IP options, fragments, "
	 "pure ACKs and other protocols do not", t_parse},
	{"segments join only in sequence, full-sized before, with equal headers but IP ID and PSH", t_join_rules},
	{"a joined frame stays within the IPv4 total length", t_ip_length_cap},
	{"200 random frames: joined, finished and cut at gso_size give back every segment", t_round_trip},
	{"a bare FIN next in sequence with the same headers folds into the frame: one FIN, nothing after it",
	 t_fin},
	{"the pseudo-header sum for checksum offload: completed as a device does, the TCP checksum holds (IP "
	 "options too); no sum for other frames",
	 t_csum_partial},
};

int main(void)
{
	test_init("tso");
	test_run(cases, TEST_COUNT(cases));
	return test_finish();
}
