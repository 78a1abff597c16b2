/* The few functions lwIP needs from its platform (lwip/arch.h, lwip/sys.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kernel/clock.h"
#include "kernel/log.h"
#include "kernel/panic.h"
#include "lwip/sys.h"

/* lwIP's millisecond clock (wraps after 49 days, which lwIP handles). */
u32_t sys_now(void) { return (u32_t)(clock_now() / NSEC_PER_MSEC); }

/* Initial sequence numbers, ports and DHCP transaction ids must not be
 * predictable (RFC 6528): RDRAND through getentropy, TSC only if absent. */
uint32_t net_rand(void)
{
	uint32_t r;
	if (getentropy(&r, sizeof r) == 0)
		return r;
	uint64_t t = clock_now();
	return (uint32_t)(t ^ (t >> 29) ^ (t * 0x9e3779b97f4a7c15ul >> 32));
}

void net_lwip_diag(const char *fmt, ...)
{
	char line[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	size_t len = strlen(line); /* lwIP's messages end in newlines; ours add one */
	if (len && line[len - 1] == '\n')
		line[len - 1] = 0;
	log_debug("lwip", "%s", line);
}

void net_lwip_assert(const char *msg, const char *file, int line) { panic_at(file, line, "lwIP: %s", msg); }
