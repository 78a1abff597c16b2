/* The dotted-quad text of an IPv4 address (RFC 791 §3.2's "four decimal
 * numbers"), the one formatter the command line, the logs, syslog and the
 * access log share. Pure: no libc, no printf (the access log formats an
 * address per request). */
#ifndef KEEL_IPV4_H
#define KEEL_IPV4_H

#include <stddef.h>
#include <stdint.h>

#define IPV4_STR_MAX 16 /* "255.255.255.255" and its NUL */

/* a, in host byte order (10.0.2.15 is 0x0a00020f), as "10.0.2.15" in out,
 * NUL-terminated. Returns its length, the NUL not counted. */
static inline size_t ipv4_format(uint32_t a, char out[IPV4_STR_MAX])
{
	size_t n = 0;
	for (int shift = 24; shift >= 0; shift -= 8) {
		unsigned b = a >> shift & 0xff;
		if (b >= 100)
			out[n++] = (char)('0' + b / 100);
		if (b >= 10)
			out[n++] = (char)('0' + b / 10 % 10);
		out[n++] = (char)('0' + b % 10);
		out[n++] = shift ? '.' : '\0';
	}
	return n - 1;
}

#endif
