/*
 * Kernel command line: the key=value options a user passes with QEMU's
 * -append (or a boot loader's equivalent), e.g.
 *
 *     ip=10.0.2.15/24 gw=10.0.2.2 port=8080 log=debug
 *
 * Pure module: no allocation, no kernel services, builds for the host too
 * (tests/host/test_cmdline.c, tests/host/fuzz_cmdline.c).
 *
 * Grammar: tokens separated by spaces, tabs, CR or LF; each token is
 * KEY=VALUE, split at the first '='. There is no quoting, so no value can
 * contain whitespace. A bad option never stops the parse: it is reported
 * through the warn callback and the field keeps the value it had, so a typo
 * on the command line still boots a kernel with sane settings.
 */
#ifndef KEEL_CMDLINE_H
#define KEEL_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest key handed to the warn callback, NUL included; longer keys are cut. */
#define CMDLINE_KEY_MAX 32

/* An IPv4 address with prefix length, addr in host byte order:
 * a.b.c.d -> (a << 24) | (b << 16) | (c << 8) | d. */
struct cmdline_ipv4 {
	uint32_t addr;
	uint8_t prefix; /* 0..32 */
};

struct cmdline {
	bool ip_dhcp;           /* ip=dhcp (default true); clears ip */
	struct cmdline_ipv4 ip; /* ip=A.B.C.D/N, N 0..32, missing /N -> 24 */
	uint32_t gw;            /* gw=A.B.C.D, 0 if unset */
	uint16_t port;          /* port=N, 1..65535, default 80 */
	int log_level;          /* log=off|err|warn|info|debug -> 0..4, default 3 */
	char test[32];          /* test=NAME, printable ASCII, "" by default */
	/* HTTP server timeouts (seconds) and limits; defaults in
	 * cmdline_defaults() match http_config_defaults(). */
	uint32_t read_header_timeout; /* first byte to end of head, 5 */
	uint32_t read_timeout;        /* whole request, 30 */
	uint32_t write_timeout;       /* whole response, 30 */
	uint32_t idle_timeout;        /* keep-alive wait, 60 */
	uint32_t handler_timeout;     /* handler run time -> 503, 10 */
	uint32_t shutdown_timeout;    /* in-flight grace at power-off, 5 */
	uint32_t max_conns;           /* open connections, 1000 */
	uint32_t max_header_bytes;    /* -> 431, 65536 */
	uint32_t max_uri;             /* -> 414, 8192 */
	uint32_t max_body;            /* default request body limit -> 413, 1 MiB */
	uint32_t rate_limit;          /* requests/s per client -> 429, 0 = off */
				      /* New options: add the field here, its default in cmdline_defaults(),
				       * and one row in the option table in cmdline.c. */
};

/*
 * Called once per rejected token. key is a NUL-terminated copy of the token's
 * key (the whole token if it has no '='), cut to CMDLINE_KEY_MAX - 1 bytes;
 * msg is a static string. Both are valid only during the call.
 */
typedef void (*cmdline_warn_fn)(void *ctx, const char *key, const char *msg);

/* Fill c with the defaults documented above. */
void cmdline_defaults(struct cmdline *c);

/*
 * Apply the options in the NUL-terminated string s to c, which the caller
 * has usually filled with cmdline_defaults(). Options are applied left to
 * right, so of two valid duplicates the last wins. warn may be NULL.
 * Returns the number of warnings (0 when every token was accepted).
 */
int cmdline_parse(struct cmdline *c, const char *s, cmdline_warn_fn warn, void *ctx);

#endif
