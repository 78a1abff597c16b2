/* Joining TCP/IPv4 segments for segmentation offload (net/tso.h). */
#include <string.h>

#include "net/tso.h"

#define IP_OFF TSO_ETH_HLEN
#define TCP_OFF (TSO_ETH_HLEN + 20u) /* IPv4 without options only */
#define TCP_FIN 0x01u
#define TCP_PSH 0x08u
#define TCP_ACK 0x10u

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

bool tso_parse(const uint8_t *f, size_t len, struct tso_seg *s)
{
	if (len < TCP_OFF + 20 || be16(f + 12) != 0x0800)
		return false;
	const uint8_t *ip = f + IP_OFF, *tcp = f + TCP_OFF;
	size_t ip_len = be16(ip + 2), thl = (size_t)(tcp[12] >> 4) * 4;
	/* RFC 791: version 4, IHL 5; not a fragment (MF clear, offset 0). */
	if (ip[0] != 0x45 || ip[9] != 6 || (be16(ip + 6) & 0x3fff) || TSO_ETH_HLEN + ip_len != len)
		return false;
	/* RFC 9293 §3.1: data offset, then only ACK and maybe PSH. */
	if (thl < 20 || 20 + thl >= ip_len || (tcp[13] & ~(TCP_ACK | TCP_PSH)) || !(tcp[13] & TCP_ACK))
		return false;
	s->hdr_len = TCP_OFF + thl;
	s->payload = ip_len - 20 - thl;
	s->seq = be32(tcp + 4);
	return true;
}

void tso_start(struct tso_frame *t, const uint8_t *f, const struct tso_seg *s)
{
	*t = (struct tso_frame){ .first = f, .head = *s, .payload = s->payload, .segs = 1, .full_sized = true,
				 .psh = f[TCP_OFF + 13] & TCP_PSH };
}

/* Are a[off, off + 8) and b's equal in the bytes `mask` keeps (byte i of
 * the word is bits 8i..8i+7: little-endian loads)? */
static bool eq8(const uint8_t *a, const uint8_t *b, size_t off, uint64_t mask)
{
	uint64_t x, y;
	__builtin_memcpy(&x, a + off, 8);
	__builtin_memcpy(&y, b + off, 8);
	return !((x ^ y) & mask);
}

/* Equal headers but for the fields a segment changes: IP total length
 * (2-3), ID (4-5) and checksum (10-11); TCP sequence number (4-7), PSH
 * (and the flags in `also`) and checksum (16-17). Word compares: it runs
 * for every segment sent. */
static bool same_headers(const uint8_t *a, const uint8_t *b, size_t hdr_len, uint8_t also)
{
	const uint64_t all = ~0ull, flags = (uint64_t)(uint8_t)~(TCP_PSH | also) << 56;
	return eq8(a, b, 0, all) &&                    /* Ethernet destination, source 0-1 */
	       eq8(a, b, 8, all) &&                    /* source 2-5, type, IP 0-1 */
	       eq8(a, b, 16, 0xffffffff00000000ull) && /* IP 6-9; not length (2-3), ID (4-5) */
	       eq8(a, b, 24, 0xffffffffffff0000ull) && /* IP 12-17; not checksum (10-11) */
	       eq8(a, b, 32, 0x0000ffffffffffffull) && /* IP 18-19, TCP ports; not seq 0-1 */
	       eq8(a, b, 40, 0x00ffffffffff0000ull | flags) && /* TCP ack, offset, flags; not seq 2-3 */
	       !memcmp(a + 48, b + 48, 2) &&           /* window; not checksum */
	       !memcmp(a + 52, b + 52, hdr_len - 52);  /* urgent pointer, options */
}

bool tso_continues(const struct tso_frame *t, const uint8_t *b, const struct tso_seg *s, unsigned max_segs)
{
	size_t ip_len = t->head.hdr_len - IP_OFF + t->payload + s->payload;
	return t->full_sized && t->segs < max_segs && s->hdr_len == t->head.hdr_len &&
	       s->payload <= t->head.payload && ip_len <= TSO_IP_MAX &&
	       s->seq == (uint32_t)(t->head.seq + t->payload) && !t->fin && same_headers(t->first, b, s->hdr_len, 0);
}

void tso_join(struct tso_frame *t, const uint8_t *b, const struct tso_seg *s)
{
	t->payload += s->payload;
	t->segs++;
	t->full_sized = s->payload == t->head.payload;
	t->psh = t->psh || (b[TCP_OFF + 13] & TCP_PSH);
}

/* RFC 791 §3.1: the one's complement of the one's complement sum of the
 * header's 16-bit words, the checksum field taken as zero. */
static uint16_t ip_checksum(const uint8_t *ip)
{
	uint32_t sum = 0;
	for (size_t i = 0; i < 20; i += 2)
		sum += i == 10 ? 0 : be16(ip + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

bool tso_fin_follows(const struct tso_frame *t, const uint8_t *b, size_t len)
{
	const uint8_t *ip = b + IP_OFF, *tcp = b + TCP_OFF;
	size_t hdr = t->head.hdr_len;
	if (t->fin || len != hdr || be16(ip + 2) != hdr - IP_OFF)
		return false; /* no data: the IP datagram is the headers */
	/* RFC 9293 §3.1: the FIN takes the sequence number after the data. */
	return (tcp[13] | TCP_PSH) == (TCP_ACK | TCP_PSH | TCP_FIN) &&
	       be32(tcp + 4) == (uint32_t)(t->head.seq + t->payload) && same_headers(t->first, b, hdr, TCP_FIN);
}

void tso_fold_fin(struct tso_frame *t) { t->fin = true; }

size_t tso_csum_partial(uint8_t *f, size_t len)
{
	const uint8_t *ip = f + IP_OFF;
	if (len < IP_OFF + 20 || be16(f + 12) != 0x0800 || (ip[0] >> 4) != 4 || ip[9] != 6)
		return 0;
	size_t ihl = (size_t)(ip[0] & 0xf) * 4, ip_len = be16(ip + 2);
	if (ihl < 20 || ip_len < ihl + 20 || IP_OFF + ip_len > len)
		return 0;
	uint32_t sum = 6u + (uint32_t)(ip_len - ihl); /* protocol, TCP length */
	for (size_t i = 12; i < 20; i += 2)           /* source and destination address */
		sum += be16(ip + i);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	put16(f + IP_OFF + ihl + 16, (uint16_t)sum);
	return IP_OFF + ihl;
}

size_t tso_finish(const struct tso_frame *t, uint8_t *f)
{
	uint8_t *ip = f + IP_OFF;
	if (t->segs > 1) {
		put16(ip + 2, (uint16_t)(t->head.hdr_len - IP_OFF + t->payload));
		put16(ip + 10, ip_checksum(ip));
	}
	f[TCP_OFF + 13] |= (t->psh ? TCP_PSH : 0) | (t->fin ? TCP_FIN : 0);
	return t->head.hdr_len + t->payload;
}
