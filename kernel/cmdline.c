/*
 * Kernel command-line parser. See cmdline.h for the grammar.
 *
 * Table-driven: each option is one row naming its key, a parser and the
 * field it fills, so adding an option is a field in struct cmdline, a default
 * in cmdline_defaults() and one row in options[]. The input is read-only (it
 * may live in the boot loader's memory), so values are handled as
 * (pointer, length) slices and never NUL-terminated in place.
 */
#include "kernel/cmdline.h"

#include <errno.h>
#include <string.h>

struct option;

/* Parse the value slice v[0..n) into c; return 0, or -EINVAL leaving c as it
 * was (every parser validates fully before it stores). */
typedef int (*option_parse_fn)(const struct option *o, struct cmdline *c, const char *v, size_t n);

struct option {
	const char *name;
	option_parse_fn parse;
	size_t off;        /* of the field in struct cmdline */
	size_t size;       /* of the field */
	uint64_t min, max; /* accepted range, numeric options only */
	const char *bad;   /* warning when the value is rejected */
};

static int parse_ip(const struct option *o, struct cmdline *c, const char *v, size_t n);
static int parse_addr(const struct option *o, struct cmdline *c, const char *v, size_t n);
static int parse_num(const struct option *o, struct cmdline *c, const char *v, size_t n);
static int parse_log(const struct option *o, struct cmdline *c, const char *v, size_t n);
static int parse_str(const struct option *o, struct cmdline *c, const char *v, size_t n);

#define FIELD_SIZE(field) sizeof(((struct cmdline *)0)->field)

/* 0, or a compile error ("negative array size") when hi does not fit the
 * field, so a NUM row can never store a truncated number. */
#define FITS(field, hi) (0 * sizeof(char[((uint64_t)(hi) >> (8 * FIELD_SIZE(field) - 1) >> 1) == 0 ? 1 : -1]))

/* An option with its own parser and warning text. */
#define ROW(key, fn, field, msg)                                                                             \
	{                                                                                                    \
		.name = (key), .parse = (fn), .off = offsetof(struct cmdline, field),                        \
		.size = FIELD_SIZE(field), .bad = (msg)                                                      \
	}

/* A decimal option in [lo, hi], for unsigned integer fields only. */
#define NUM(key, field, lo, hi)                                                                              \
	{                                                                                                    \
		.name = (key), .parse = parse_num, .off = offsetof(struct cmdline, field),                   \
		.size = FIELD_SIZE(field) + FITS(field, hi), .min = (lo), .max = (hi),                       \
		.bad = "invalid value (want " #lo ".." #hi "), ignored"                                      \
	}

_Static_assert(FIELD_SIZE(test) == 32, "update the test= warning text");

static const struct option options[] = {
    ROW("ip", parse_ip, ip, "invalid value (want dhcp or A.B.C.D[/N], N 0..32), ignored"),
    ROW("gw", parse_addr, gw, "invalid value (want A.B.C.D), ignored"),
    NUM("port", port, 1, 65535),
    ROW("log", parse_log, log_level, "invalid value (want off|err|warn|info|debug), ignored"),
    ROW("test", parse_str, test, "invalid value (want 0..31 printable characters), ignored"),
    NUM("read_header_timeout", read_header_timeout, 1, 3600),
    NUM("read_timeout", read_timeout, 1, 86400),
    NUM("write_timeout", write_timeout, 1, 86400),
    NUM("idle_timeout", idle_timeout, 1, 86400),
    NUM("handler_timeout", handler_timeout, 1, 86400),
    NUM("shutdown_timeout", shutdown_timeout, 0, 3600),
    NUM("max_conns", max_conns, 1, 1000000),
    NUM("max_header_bytes", max_header_bytes, 1024, 1048576),
    NUM("max_uri", max_uri, 64, 1048576),
    NUM("max_body", max_body, 0, 4294967295u),
    NUM("rate_limit", rate_limit, 0, 1000000),
};

/* Index = log level, so the order here is the numeric contract. */
static const char *const log_names[] = {"off", "err", "warn", "info", "debug"};

void cmdline_defaults(struct cmdline *c)
{
	memset(c, 0, sizeof(*c));
	c->ip_dhcp = true;
	c->port = 80;
	c->log_level = 3;
	c->read_header_timeout = 5;
	c->read_timeout = 30;
	c->write_timeout = 30;
	c->idle_timeout = 60;
	c->handler_timeout = 10;
	c->shutdown_timeout = 5;
	c->max_conns = 1000;
	c->max_header_bytes = 65536;
	c->max_uri = 8192;
	c->max_body = 1048576;
}

static void *field_of(const struct option *o, struct cmdline *c)
{
	return (char *)c + o->off;
}

static bool slice_is(const char *v, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(v, word, n) == 0;
}

/*
 * Canonical unsigned decimal <= max: digits only, no sign, no leading zero
 * except "0" itself. One spelling per number means "010" is never silently
 * read as ten where a user meant octal, and the overflow check happens
 * before the multiply so no input can wrap.
 */
static int parse_dec(const char *v, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t x = 0;

	if (n == 0 || (n > 1 && v[0] == '0'))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -EINVAL;
		uint64_t d = (uint64_t)(v[i] - '0');
		if (d > max || x > (max - d) / 10)
			return -ERANGE;
		x = x * 10 + d;
	}
	*out = x;
	return 0;
}

/* Dotted quad, exactly four canonical octets 0..255. */
static int parse_ipv4(const char *v, size_t n, uint32_t *out)
{
	uint32_t addr = 0;
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		size_t start = i;
		uint64_t octet;

		while (i < n && v[i] != '.')
			i++;
		if (parse_dec(v + start, i - start, 255, &octet) < 0)
			return -EINVAL;
		addr = addr << 8 | (uint32_t)octet;
		if (part < 3) {
			if (i == n)
				return -EINVAL;
			i++; /* the '.' */
		}
	}
	if (i != n) /* a fifth part: "1.2.3.4.5" */
		return -EINVAL;
	*out = addr;
	return 0;
}

static int parse_ip(const struct option *o, struct cmdline *c, const char *v, size_t n)
{
	const char *slash = memchr(v, '/', n);
	size_t alen = slash ? (size_t)(slash - v) : n;
	uint64_t prefix = 24; /* the common LAN case when /N is left out */
	uint32_t addr;

	(void)o;
	if (slice_is(v, n, "dhcp")) {
		/* Clear the static address so the result has one representation. */
		c->ip_dhcp = true;
		c->ip.addr = 0;
		c->ip.prefix = 0;
		return 0;
	}
	if (parse_ipv4(v, alen, &addr) < 0)
		return -EINVAL;
	if (slash && parse_dec(slash + 1, n - alen - 1, 32, &prefix) < 0)
		return -EINVAL;
	c->ip_dhcp = false;
	c->ip.addr = addr;
	c->ip.prefix = (uint8_t)prefix;
	return 0;
}

static int parse_addr(const struct option *o, struct cmdline *c, const char *v, size_t n)
{
	uint32_t addr;

	if (parse_ipv4(v, n, &addr) < 0)
		return -EINVAL;
	memcpy(field_of(o, c), &addr, sizeof(addr));
	return 0;
}

static int parse_num(const struct option *o, struct cmdline *c, const char *v, size_t n)
{
	void *f = field_of(o, c);
	uint64_t x;

	if (parse_dec(v, n, o->max, &x) < 0 || x < o->min)
		return -EINVAL;
	/* FITS() proved at compile time that max, hence x, fits o->size. */
	switch (o->size) {
	case 1: {
		uint8_t y = (uint8_t)x;
		memcpy(f, &y, 1);
		break;
	}
	case 2: {
		uint16_t y = (uint16_t)x;
		memcpy(f, &y, 2);
		break;
	}
	case 4: {
		uint32_t y = (uint32_t)x;
		memcpy(f, &y, 4);
		break;
	}
	case 8:
		memcpy(f, &x, 8);
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

static int parse_log(const struct option *o, struct cmdline *c, const char *v, size_t n)
{
	for (size_t i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++) {
		if (slice_is(v, n, log_names[i])) {
			int level = (int)i;
			memcpy(field_of(o, c), &level, sizeof(level));
			return 0;
		}
	}
	return -EINVAL;
}

/* Printable ASCII only: the value is echoed to the console and logs, where a
 * control byte could forge or hide output. Too long is rejected, not cut,
 * so a test image never runs a different test than the one named. */
static int parse_str(const struct option *o, struct cmdline *c, const char *v, size_t n)
{
	char *f = field_of(o, c);

	if (n >= o->size)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (v[i] < 0x21 || v[i] > 0x7e)
			return -EINVAL;
	memcpy(f, v, n);
	f[n] = '\0';
	return 0;
}

static const struct option *find_option(const char *key, size_t n)
{
	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
		if (slice_is(key, n, options[i].name))
			return &options[i];
	return NULL;
}

static bool is_sep(char ch)
{
	/* CR/LF too: some loaders pass the line with a trailing newline. */
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/*
 * Apply one token tok[0..len). Returns NULL if accepted, else the warning,
 * with *keylen set to the bytes of tok to show as the key: the key before
 * '=', or the whole token when there is no usable key.
 */
static const char *apply_token(struct cmdline *c, const char *tok, size_t len, size_t *keylen)
{
	const char *eq = memchr(tok, '=', len);
	const struct option *o;

	*keylen = len;
	if (!eq)
		return "missing '=value', ignored";
	if (eq == tok)
		return "missing key, ignored";
	*keylen = (size_t)(eq - tok);
	o = find_option(tok, *keylen);
	if (!o)
		return "unknown option, ignored";
	if (o->parse(o, c, eq + 1, len - *keylen - 1) < 0)
		return o->bad;
	return NULL;
}

static void report(cmdline_warn_fn warn, void *ctx, const char *key, size_t keylen, const char *msg)
{
	char copy[CMDLINE_KEY_MAX];

	if (!warn)
		return;
	if (keylen > sizeof(copy) - 1)
		keylen = sizeof(copy) - 1;
	memcpy(copy, key, keylen);
	copy[keylen] = '\0';
	warn(ctx, copy, msg);
}

int cmdline_parse(struct cmdline *c, const char *s, cmdline_warn_fn warn, void *ctx)
{
	int warnings = 0;

	while (*s) {
		size_t len = 0, keylen;
		const char *msg;

		if (is_sep(*s)) {
			s++;
			continue;
		}
		while (s[len] && !is_sep(s[len]))
			len++;
		msg = apply_token(c, s, len, &keylen);
		if (msg) {
			report(warn, ctx, s, keylen, msg);
			warnings++;
		}
		s += len;
	}
	return warnings;
}
