/* syslog=HOST[:PORT]: the log also goes to a collector, one RFC 5424
 * message per UDP datagram (RFC 5426). */
#ifndef KEEL_SYSLOG_H
#define KEEL_SYSLOG_H

#include <stdint.h>

/* After net_init: if syslog= names a collector, send it every log line
 * from now on (log_set_remote). Task context. */
void syslog_start(void);

struct syslog_stats {
	uint64_t sent;   /* datagrams handed to lwIP */
	uint64_t failed; /* lines not sent: no memory, no route */
};
void syslog_get_stats(struct syslog_stats *out);

#endif
