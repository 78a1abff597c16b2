/*
 * Kernel command-line parser. See cmdline.h for the grammar and how a
 * subsystem registers its options.
 *
 * The input is read-only (it may live in the boot loader's memory), so
 * values are handled as (pointer, length) slices and never NUL-terminated
 * in place. Every value parser validates fully before it stores, so a
 * rejected value leaves the field as it was.
 */
#include "kernel/cmdline.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kernel/ctype.h"
#include "kernel/ipv4.h"

/* Provided by the linker for the section CMDLINE_TABLE() fills. */
extern const struct cmdline_table *const __start_keel_cmdline[] __attribute__((weak));
extern const struct cmdline_table *const __stop_keel_cmdline[] __attribute__((weak));

static bool slice_is(const char *v, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(v, word, n) == 0;
}

int cmdline_scan_uint(const char *v, size_t n, size_t *at, unsigned base, uint64_t max, uint64_t *out)
{
	size_t start = *at;
	uint64_t x = 0;
	int d;

	while (*at < n && (d = ctype_hex_value((unsigned char)v[*at])) >= 0 && (unsigned)d < base) {
		if ((uint64_t)d > max || x > (max - (uint64_t)d) / base)
			return -ERANGE;
		x = x * base + (uint64_t)d;
		(*at)++;
	}
	if (*at == start || (base == 10 && v[start] == '0' && *at - start > 1))
		return -EINVAL;
	*out = x;
	return 0;
}

/* The whole of v[0, n) as a decimal number <= max (cmdline_scan_uint). */
static int parse_dec(const char *v, size_t n, uint64_t max, uint64_t *out)
{
	size_t at = 0;
	int r = cmdline_scan_uint(v, n, &at, 10, max, out);

	if (r < 0)
		return r;
	return at == n ? 0 : -EINVAL;
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

static int parse_ipv4_net(const char *v, size_t n, struct cmdline_ipv4 *out)
{
	const char *slash = memchr(v, '/', n);
	size_t alen = slash ? (size_t)(slash - v) : n;
	uint64_t prefix = 24; /* the common LAN case when /N is left out */
	uint32_t addr;

	if (slice_is(v, n, "dhcp")) {
		/* No static address: one representation for it. */
		*out = (struct cmdline_ipv4){.dhcp = true};
		return 0;
	}
	if (parse_ipv4(v, alen, &addr) < 0)
		return -EINVAL;
	if (slash && parse_dec(slash + 1, n - alen - 1, 32, &prefix) < 0)
		return -EINVAL;
	*out = (struct cmdline_ipv4){.addr = addr, .prefix = (uint8_t)prefix};
	return 0;
}

static int store_uint(const struct cmdline_option *o, uint64_t x)
{
	/* CMDLINE_FITS_ proved at compile time that max * scale fits o->size. */
	switch (o->size) {
	case 1:
		*(uint8_t *)o->field = (uint8_t)x;
		return 0;
	case 2:
		*(uint16_t *)o->field = (uint16_t)x;
		return 0;
	case 4:
		*(uint32_t *)o->field = (uint32_t)x;
		return 0;
	case 8:
		*(uint64_t *)o->field = x;
		return 0;
	}
	return -EINVAL;
}

/* Printable ASCII only: the value is echoed to the console and logs, where a
 * control byte could forge or hide output. Too long is rejected, not cut,
 * so a test image never runs a different test than the one named. */
static int parse_word(const struct cmdline_option *o, const char *v, size_t n)
{
	if (n >= o->size)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (v[i] < 0x21 || v[i] > 0x7e)
			return -EINVAL;
	memcpy(o->field, v, n);
	((char *)o->field)[n] = '\0';
	return 0;
}

/* Parse v[0, n) by the option's type into its field: 0, or -EINVAL with
 * the field unchanged. */
static int parse_value(const struct cmdline_option *o, const char *v, size_t n)
{
	uint64_t x;
	uint32_t addr;
	struct cmdline_ipv4 net;

	switch (o->type) {
	case CMDLINE_UINT:
		if (parse_dec(v, n, o->max, &x) < 0 || x < o->min)
			return -EINVAL;
		return store_uint(o, x * o->scale);
	case CMDLINE_IPV4:
		if (parse_ipv4(v, n, &addr) < 0)
			return -EINVAL;
		*(uint32_t *)o->field = addr;
		return 0;
	case CMDLINE_IPV4_NET:
		if (parse_ipv4_net(v, n, &net) < 0)
			return -EINVAL;
		*(struct cmdline_ipv4 *)o->field = net;
		return 0;
	case CMDLINE_ENUM:
		for (int i = 0; o->words[i]; i++) {
			if (slice_is(v, n, o->words[i])) {
				*(int *)o->field = i;
				return 0;
			}
		}
		return -EINVAL;
	case CMDLINE_WORD:
		return parse_word(o, v, n);
	case CMDLINE_CUSTOM:
		return o->parse(o->field, v, n);
	}
	return -EINVAL;
}

const struct cmdline_option *cmdline_option_at(size_t i, const char **subsystem)
{
	for (const struct cmdline_table *const *t = __start_keel_cmdline; t < __stop_keel_cmdline; t++) {
		if (i < (*t)->count) {
			if (subsystem)
				*subsystem = (*t)->subsystem;
			return &(*t)->options[i];
		}
		i -= (*t)->count;
	}
	return NULL;
}

static const struct cmdline_option *find_option(const char *key, size_t n)
{
	const struct cmdline_option *o;

	for (size_t i = 0; (o = cmdline_option_at(i, NULL)); i++)
		if (slice_is(key, n, o->name))
			return o;
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

/* Every value the row can hold, and its range, fit their buffers: the
 * longest keyword, a word field, or the range text. (Numbers and
 * addresses fit by construction.) */
static bool fits_text(const struct cmdline_option *o)
{
	char range[CMDLINE_RANGE_MAX + 1];
	if (cmdline_format_range(o, range, sizeof range) >= CMDLINE_RANGE_MAX)
		return false;
	for (int i = 0; o->type == CMDLINE_ENUM && o->words[i]; i++)
		if (strlen(o->words[i]) >= CMDLINE_VALUE_MAX)
			return false;
	return o->type != CMDLINE_WORD || o->size <= CMDLINE_VALUE_MAX;
}

int cmdline_defaults(cmdline_warn_fn warn, void *ctx)
{
	const struct cmdline_option *o;
	int warnings = 0;

	for (size_t i = 0; (o = cmdline_option_at(i, NULL)); i++) {
		const char *msg = NULL;
		if (find_option(o->name, strlen(o->name)) != o)
			msg = "option registered twice";
		else if (parse_value(o, o->def, strlen(o->def)) < 0)
			msg = "default does not parse";
		else if (!fits_text(o))
			msg = "its values or range do not fit the help and warning lines";
		if (msg) {
			report(warn, ctx, o->name, strlen(o->name), msg);
			warnings++;
		}
	}
	return warnings;
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
static const char *apply_token(const char *tok, size_t len, size_t *keylen, const struct cmdline_option **bad)
{
	const char *eq = memchr(tok, '=', len);
	const struct cmdline_option *o;

	*keylen = len;
	*bad = NULL;
	if (slice_is(tok, len, "help"))
		return NULL;
	if (!eq)
		return "missing '=value', ignored";
	if (eq == tok)
		return "missing key, ignored";
	*keylen = (size_t)(eq - tok);
	o = find_option(tok, *keylen);
	if (!o)
		return "unknown option, ignored";
	if (parse_value(o, eq + 1, len - *keylen - 1) < 0) {
		*bad = o;
		return "invalid value";
	}
	return NULL;
}

/* Calls fn on each token of s; stops early when fn returns true. */
static bool each_token(const char *s, bool (*fn)(const char *tok, size_t len, void *arg), void *arg)
{
	while (*s) {
		size_t len = 0;

		if (is_sep(*s)) {
			s++;
			continue;
		}
		while (s[len] && !is_sep(s[len]))
			len++;
		if (fn(s, len, arg))
			return true;
		s += len;
	}
	return false;
}

static size_t fitted(size_t cap, int n);

struct parse_run {
	cmdline_warn_fn warn;
	void *ctx;
	int warnings;
};

static bool parse_one(const char *tok, size_t len, void *arg)
{
	struct parse_run *run = arg;
	const struct cmdline_option *bad;
	size_t keylen;
	const char *msg = apply_token(tok, len, &keylen, &bad);
	char text[sizeof "invalid value (want ), ignored" + CMDLINE_RANGE_MAX];

	if (!msg)
		return false;
	if (bad) { /* name what would have been accepted */
		size_t n = fitted(sizeof(text), snprintf(text, sizeof(text), "%s (want ", msg));
		n += cmdline_format_range(bad, text + n, sizeof(text) - n);
		snprintf(text + n, sizeof(text) - n, "), ignored");
		msg = text;
	}
	report(run->warn, run->ctx, tok, keylen, msg);
	run->warnings++;
	return false;
}

int cmdline_parse(const char *s, cmdline_warn_fn warn, void *ctx)
{
	struct parse_run run = {warn, ctx, 0};

	each_token(s, parse_one, &run);
	return run.warnings;
}

static bool is_help(const char *tok, size_t len, void *arg)
{
	(void)arg;
	return slice_is(tok, len, "help");
}

bool cmdline_wants_help(const char *s)
{
	return each_token(s, is_help, NULL);
}

/* The length snprintf(buf, cap, ...) left in buf, given its result n. */
static size_t fitted(size_t cap, int n)
{
	if (n < 0)
		n = 0;
	return (size_t)n < cap ? (size_t)n : cap ? cap - 1 : 0;
}

static size_t format_ipv4(uint32_t a, char *buf, size_t cap)
{
	char s[IPV4_STR_MAX];
	ipv4_format(a, s);
	return fitted(cap, snprintf(buf, cap, "%s", s));
}

static uint64_t load_uint(const struct cmdline_option *o)
{
	switch (o->size) {
	case 1:
		return *(const uint8_t *)o->field;
	case 2:
		return *(const uint16_t *)o->field;
	case 4:
		return *(const uint32_t *)o->field;
	}
	return *(const uint64_t *)o->field;
}

size_t cmdline_format_value(const struct cmdline_option *o, char *buf, size_t cap)
{
	const struct cmdline_ipv4 *net = o->field;
	size_t n;

	switch (o->type) {
	case CMDLINE_UINT:
		return fitted(cap, snprintf(buf, cap, "%llu", (unsigned long long)(load_uint(o) / o->scale)));
	case CMDLINE_IPV4:
		return format_ipv4(*(const uint32_t *)o->field, buf, cap);
	case CMDLINE_IPV4_NET:
		if (net->dhcp)
			return fitted(cap, snprintf(buf, cap, "dhcp"));
		n = format_ipv4(net->addr, buf, cap);
		return n + fitted(cap - n, snprintf(buf + n, cap - n, "/%u", (unsigned)net->prefix));
	case CMDLINE_ENUM:
		for (int i = 0; o->words[i]; i++) /* a field set elsewhere may be out of range */
			if (i == *(const int *)o->field)
				return fitted(cap, snprintf(buf, cap, "%s", o->words[i]));
		return fitted(cap, snprintf(buf, cap, "?"));
	case CMDLINE_WORD:
		return fitted(cap, snprintf(buf, cap, "%s", (const char *)o->field));
	case CMDLINE_CUSTOM:
		return o->format(o->field, buf, cap);
	}
	return fitted(cap, snprintf(buf, cap, "?"));
}

size_t cmdline_format_range(const struct cmdline_option *o, char *buf, size_t cap)
{
	size_t n = 0;

	switch (o->type) {
	case CMDLINE_UINT:
		return fitted(cap, snprintf(buf, cap, "%llu..%llu", (unsigned long long)o->min,
					    (unsigned long long)o->max));
	case CMDLINE_IPV4:
		return fitted(cap, snprintf(buf, cap, "A.B.C.D"));
	case CMDLINE_IPV4_NET:
		return fitted(cap, snprintf(buf, cap, "dhcp|A.B.C.D[/N]"));
	case CMDLINE_ENUM:
		for (int i = 0; o->words[i]; i++)
			n += fitted(cap - n, snprintf(buf + n, cap - n, "%s%s", i ? "|" : "", o->words[i]));
		return n;
	case CMDLINE_WORD:
		return fitted(cap, snprintf(buf, cap, "0..%zu printable characters", o->size - 1));
	case CMDLINE_CUSTOM:
		return fitted(cap, snprintf(buf, cap, "%s", o->syntax));
	}
	return fitted(cap, snprintf(buf, cap, "?"));
}
