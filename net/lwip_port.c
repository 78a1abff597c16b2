/* The few functions lwIP needs from its platform (lwip/arch.h, lwip/sys.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kernel/clock.h"
#include "kernel/log.h"
#include "kernel/panic.h"
#include "kernel/random.h"
#include "lwip/sys.h"

/* lwIP's millisecond clock (wraps after 49 days, which lwIP handles). */
u32_t sys_now(void) { return (u32_t)(clock_now() / NSEC_PER_MSEC); }

/* Ports, DHCP transaction ids and IGMP/MLD timers should not be
 * predictable (RFC 6056), but must not stop the stack when there is no
 * hardware entropy: the DRBG when seeded, a TSC xorshift otherwise. */
uint32_t net_rand(void) { return random_u32_weak(); }

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
