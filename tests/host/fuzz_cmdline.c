/*
 * libFuzzer target for kernel/cmdline.c.
 *
 * Beyond "no crash, no sanitizer report" it checks the invariants the
 * kernel relies on after any command line: every field in range, warnings
 * counted exactly, keys handed to warn bounded; and that the result
 * round-trips: rendering it back to a command line (cmdline_format_value)
 * and parsing that on fresh defaults gives the same settings with no
 * warnings. The options are this file's table, one of every kind.
 */
#include "kernel/cmdline.h"
#include "tests/host/fuzz.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One option of every kind, as the subsystems register them. */
static struct cmdline_ipv4 ip;
static uint32_t gw;
static uint16_t port;
static int level;
static char test[32];
static uint64_t timeout_ns;
static const char *const levels[] = {"off", "err", "warn", "info", "debug", NULL};
static const struct cmdline_option opts[] = {
    CMDLINE_IPV4_NET_ROW("ip", ip, "dhcp", "address"),
    CMDLINE_IPV4_ROW("gw", gw, "0.0.0.0", "gateway"),
    CMDLINE_UINT_ROW("port", port, 80, 1, 65535, "port"),
    CMDLINE_ENUM_ROW("log", level, "info", levels, "log level"),
    CMDLINE_WORD_ROW("test", test, "", "suite"),
    CMDLINE_SECONDS_ROW("timeout", timeout_ns, 5, 1, 3600, "seconds"),
};
CMDLINE_TABLE(fuzz, opts);

static void count_warn(void *ctx, const char *key, const char *msg)
{
	int *calls = ctx;

	INVARIANT(key != NULL && msg != NULL && msg[0] != '\0');
	INVARIANT(strlen(key) < CMDLINE_KEY_MAX);
	(*calls)++;
}

static void check_fields(void)
{
	const char *nul = memchr(test, '\0', sizeof(test));

	INVARIANT(port != 0);
	INVARIANT(ip.prefix <= 32);
	INVARIANT(level >= 0 && level <= 4);
	INVARIANT(nul != NULL);
	for (const char *p = test; p < nul; p++)
		INVARIANT(*p > 0x20 && *p < 0x7f);
	if (ip.dhcp)
		INVARIANT(ip.addr == 0 && ip.prefix == 0);
	INVARIANT(timeout_ns % 1000000000u == 0 && timeout_ns >= 1000000000u && timeout_ns <= 3600000000000u);
}

/* Every option as the command line would say it. */
static void render(char *buf, size_t size)
{
	const struct cmdline_option *o;
	char v[CMDLINE_VALUE_MAX];
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; (o = cmdline_option_at(i, NULL)); i++) {
		size_t len = cmdline_format_value(o, v, sizeof(v));
		INVARIANT(len < sizeof(v) && strlen(v) == len);
		n += (size_t)snprintf(buf + n, size - n, "%s=%s ", o->name, v);
		INVARIANT(n < size);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	char line[512], again[512];
	int calls = 0, n;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	INVARIANT(cmdline_defaults(count_warn, &calls) == 0);
	n = cmdline_parse(s, count_warn, &calls);
	INVARIANT(n == calls);
	INVARIANT(n >= 0 && (size_t)n <= (size + 1) / 2); /* one per token */
	check_fields();

	render(line, sizeof(line));
	INVARIANT(cmdline_defaults(NULL, NULL) == 0);
	calls = 0;
	INVARIANT(cmdline_parse(line, count_warn, &calls) == 0);
	render(again, sizeof(again));
	INVARIANT(strcmp(line, again) == 0);

	free(s);
	return 0;
}
