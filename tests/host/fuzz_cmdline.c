/*
 * libFuzzer target for kernel/cmdline.c.
 *
 * Beyond "no crash, no sanitizer report" it checks the invariants the
 * kernel relies on after any command line: every field in range, warnings
 * counted exactly, keys handed to warn bounded; and that the result
 * round-trips: rendering it back to a command line and parsing that on
 * fresh defaults gives the same settings with no warnings.
 */
#include "kernel/cmdline.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INVARIANT(cond)                                                                                      \
	do {                                                                                                 \
		if (!(cond)) {                                                                               \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);         \
			abort();                                                                             \
		}                                                                                            \
	} while (0)

static const char *const log_names[] = {"off", "err", "warn", "info", "debug"};

static void count_warn(void *ctx, const char *key, const char *msg)
{
	int *calls = ctx;

	INVARIANT(key != NULL && msg != NULL && msg[0] != '\0');
	INVARIANT(strlen(key) < CMDLINE_KEY_MAX);
	(*calls)++;
}

static void check_fields(const struct cmdline *c)
{
	const char *nul = memchr(c->test, '\0', sizeof(c->test));

	INVARIANT(c->port != 0);
	INVARIANT(c->ip.prefix <= 32);
	INVARIANT(c->log_level >= 0 && c->log_level <= 4);
	INVARIANT(nul != NULL);
	for (const char *p = c->test; p < nul; p++)
		INVARIANT(*p > 0x20 && *p < 0x7f);
	if (c->ip_dhcp)
		INVARIANT(c->ip.addr == 0 && c->ip.prefix == 0);
}

static void render(const struct cmdline *c, char *buf, size_t size)
{
	const uint32_t a = c->ip.addr, g = c->gw;
	char ip[32] = "dhcp";

	if (!c->ip_dhcp)
		snprintf(ip, sizeof(ip), "%u.%u.%u.%u/%u", (unsigned)(a >> 24), (unsigned)(a >> 16 & 255),
			 (unsigned)(a >> 8 & 255), (unsigned)(a & 255), (unsigned)c->ip.prefix);
	snprintf(buf, size, "ip=%s gw=%u.%u.%u.%u port=%u log=%s test=%s", ip, (unsigned)(g >> 24),
		 (unsigned)(g >> 16 & 255), (unsigned)(g >> 8 & 255), (unsigned)(g & 255), (unsigned)c->port,
		 log_names[c->log_level], c->test);
}

static bool same(const struct cmdline *x, const struct cmdline *y)
{
	return x->ip_dhcp == y->ip_dhcp && x->ip.addr == y->ip.addr && x->ip.prefix == y->ip.prefix &&
	       x->gw == y->gw && x->port == y->port && x->log_level == y->log_level &&
	       strcmp(x->test, y->test) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct cmdline c, again;
	char line[256];
	int calls = 0, n;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	cmdline_defaults(&c);
	n = cmdline_parse(&c, s, count_warn, &calls);
	INVARIANT(n == calls);
	INVARIANT(n >= 0 && (size_t)n <= (size + 1) / 2); /* one per token */
	check_fields(&c);

	render(&c, line, sizeof(line));
	cmdline_defaults(&again);
	calls = 0;
	INVARIANT(cmdline_parse(&again, line, count_warn, &calls) == 0);
	INVARIANT(same(&c, &again));

	free(s);
	return 0;
}
