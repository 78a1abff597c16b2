/* The syslog sink: each log line, as the log task drains it, becomes one
 * RFC 5424 message in one UDP datagram (RFC 5426 §3.1) to the collector
 * named by syslog=A.B.C.D[:PORT] (port 514, RFC 5426 §3.3). HOST is an
 * IPv4 address: the image has no resolver (LWIP_DNS 0).
 *
 *     <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG      (RFC 5424 §6)
 *     <134>1 2024-05-01T12:00:00.123456Z 10.0.2.15 keel - access - 10.0.2.2 GET / 200 ...
 *
 * PRI is facility * 8 + severity (§6.2.1; the facility is
 * syslog_facility=, local0 by default), TIMESTAMP the wall-clock time the
 * line was logged, in UTC (§6.2.3), HOSTNAME the interface's address
 * (§6.2.4 allows a static IP address), MSGID the line's subsystem, and
 * no structured data. A send that fails is counted, never logged (that
 * would queue another line to send). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/civil.h"
#include "kernel/clock.h"
#include "kernel/cmdline.h"
#include "kernel/ipv4.h"
#include "kernel/log.h"
#include "lwip/ip_addr.h"
#include "lwip/pbuf.h"
#include "lwip/udp.h"
#include "net/net.h"
#include "net/syslog.h"

#define SYSLOG_PORT 514 /* RFC 5426 §3.3 */
/* A message: the header (under 100 bytes) and the longest log line. */
#define SYSLOG_MAX 480

static char cfg_dest[24]; /* "A.B.C.D:PORT" */
static uint32_t cfg_facility;
static const struct cmdline_option options[] = {
    CMDLINE_WORD_ROW("syslog", cfg_dest, "",
		     "also send the log to this collector, RFC 5424 over UDP: A.B.C.D[:PORT] (port 514); empty: none"),
    CMDLINE_UINT_ROW("syslog_facility", cfg_facility, 16, 0, 23, "RFC 5424 facility of the syslog messages (16: local0)"),
};
CMDLINE_TABLE(syslog, options);

static struct udp_pcb *pcb;
static ip_addr_t dest;
static uint16_t dest_port;
static struct syslog_stats stats;

/* RFC 5424 §6.2.1 Table 2 severities, by enum log_level. */
static const uint8_t severity[] = { 7, 3, 4, 6, 7 };
_Static_assert(sizeof severity == LOG_DEBUG + 1, "a severity per level");

/* "keel: SUB: message\n" -> SUB (the MSGID, §6.2.7: 1-32 printable
 * characters) and the message; a line of another shape is all message. */
static void split(const char *text, size_t n, const char **sub, size_t *sub_len, const char **msg, size_t *msg_len)
{
	*sub = "-", *sub_len = 1, *msg = text, *msg_len = n && text[n - 1] == '\n' ? n - 1 : n;
	if (*msg_len < 6 || memcmp(text, "keel: ", 6) != 0)
		return;
	const char *s = text + 6, *end = text + *msg_len;
	const char *colon = memchr(s, ':', (size_t)(end - s));
	if (!colon || colon == s || colon - s > 32 || colon + 1 >= end || colon[1] != ' ' || memchr(s, ' ', (size_t)(colon - s)))
		return;
	*sub = s, *sub_len = (size_t)(colon - s);
	*msg = colon + 2, *msg_len = (size_t)(end - colon - 2);
}

static size_t format(char *out, size_t cap, enum log_level l, uint64_t t, const char *text, size_t n)
{
	uint64_t now = clock_now(), wall = clock_wall_ns() - (now > t ? now - t : 0);
	struct civil_time c;
	civil_from_epoch((int64_t)(wall / NSEC_PER_SEC), &c);
	uint32_t a = net_ipv4_addr();
	const char *sub, *msg;
	size_t sub_len, msg_len;
	split(text, n, &sub, &sub_len, &msg, &msg_len);
	/* HOSTNAME: the address, or the NILVALUE before there is one (RFC 5424 §6.2.4). */
	char host[IPV4_STR_MAX] = "-";
	if (a)
		ipv4_format(a, host);
	int h = snprintf(out, cap, "<%u>1 %04d-%02u-%02uT%02u:%02u:%02u.%06luZ %s keel - %.*s - ",
			 (unsigned)(cfg_facility * 8 + severity[l]), c.year, c.month, c.day, c.hour, c.min, c.sec,
			 (unsigned long)(wall % NSEC_PER_SEC / 1000), host, (int)sub_len, sub);
	if (h < 0 || (size_t)h >= cap)
		return 0;
	size_t m = msg_len < cap - (size_t)h ? msg_len : cap - (size_t)h;
	memcpy(out + h, msg, m);
	return (size_t)h + m;
}

static void send_line(enum log_level l, uint64_t t, const char *text, size_t n)
{
	char msg[SYSLOG_MAX];
	size_t len = format(msg, sizeof msg, l, t, text, n);
	struct pbuf *p = len ? pbuf_alloc(PBUF_TRANSPORT, (u16_t)len, PBUF_RAM) : NULL;
	if (!p) {
		stats.failed++;
		return;
	}
	memcpy(p->payload, msg, len);
	err_t err = udp_sendto(pcb, p, &dest, dest_port);
	pbuf_free(p);
	if (err == ERR_OK)
		stats.sent++;
	else
		stats.failed++;
}

/* "A.B.C.D" or "A.B.C.D:PORT" into dest and dest_port. 0 or -1. */
static int parse_dest(void)
{
	char host[sizeof cfg_dest];
	unsigned long port = SYSLOG_PORT;
	strcpy(host, cfg_dest);
	char *colon = strchr(host, ':');
	if (colon) {
		char *end;
		*colon = 0;
		port = strtoul(colon + 1, &end, 10);
		if (*end || end == colon + 1 || port == 0 || port > 65535)
			return -1;
	}
	if (!ipaddr_aton(host, &dest))
		return -1;
	dest_port = (uint16_t)port;
	return 0;
}

void syslog_start(void)
{
	if (!cfg_dest[0])
		return;
	if (parse_dest() < 0) {
		log_warn("syslog", "syslog=%s: not A.B.C.D[:PORT]; not sending the log", cfg_dest);
		return;
	}
	pcb = udp_new();
	if (!pcb) {
		log_err("syslog", "no memory for a UDP PCB; not sending the log");
		return;
	}
	log_info("syslog", "sending the log to %s:%u (RFC 5424 over UDP, facility %u)", ipaddr_ntoa(&dest), dest_port,
		 (unsigned)cfg_facility);
	log_set_remote(send_line);
}

void syslog_get_stats(struct syslog_stats *out) { *out = stats; }
