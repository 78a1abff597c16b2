/*
 * Kernel command line: the key=value options a user passes with QEMU's
 * -append (or a boot loader's equivalent), e.g.
 *
 *     ip=10.0.2.15/24 gw=10.0.2.2 port=8080 log=debug
 *
 * Each subsystem owns its options: it declares one table next to the
 * variables they set (name, type, field, default, bounds, help) and
 * registers it with CMDLINE_TABLE(). The linker gathers the registered
 * tables into one section; this module only splits the line into tokens,
 * finds the row for each key and parses the value by the row's type. So
 * an option is added by adding one row, and its default lives in that row
 * only: cmdline_defaults() parses every row's default as if it had been
 * given on the command line.
 *
 * Pure module: no allocation, no kernel services, builds for the host too
 * (tests/host/test_cmdline.c, tests/host/fuzz_cmdline.c).
 *
 * Grammar: tokens separated by spaces, tabs, CR or LF; each token is
 * KEY=VALUE, split at the first '='. There is no quoting, so no value can
 * contain whitespace. A key given twice sets its field twice, so the last
 * wins, except for a CMDLINE_CUSTOM row, whose parser decides (a list
 * appends; see virtio_mmio.device=). The bare token `help` asks for the option list
 * (cmdline_wants_help). A bad option never stops the parse: it is reported
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
/* Longest text cmdline_format_value() writes, NUL included. */
#define CMDLINE_VALUE_MAX 48
/* Longest text cmdline_format_range() writes, NUL included; a row whose
 * values take more (a long keyword list) is reported by cmdline_defaults. */
#define CMDLINE_RANGE_MAX 64

/* An IPv4 network address, addr in host byte order:
 * a.b.c.d -> (a << 24) | (b << 16) | (c << 8) | d. */
struct cmdline_ipv4 {
	bool dhcp; /* the value was "dhcp": addr and prefix are 0 */
	uint32_t addr;
	uint8_t prefix; /* 0..32 */
};

enum cmdline_type {
	CMDLINE_UINT,     /* canonical decimal in [min, max], stored times `scale` */
	CMDLINE_IPV4,     /* A.B.C.D into a uint32_t */
	CMDLINE_IPV4_NET, /* dhcp or A.B.C.D[/N] (missing /N: 24) into a struct cmdline_ipv4 */
	CMDLINE_ENUM,     /* one of `words`, stored as its index in an int */
	CMDLINE_WORD,     /* printable ASCII shorter than `size`, into a char array */
	CMDLINE_CUSTOM,   /* the row's own parse/format functions, e.g. a repeatable list */
};

struct cmdline_option {
	const char *name;
	enum cmdline_type type;
	void *field;              /* the variable the option sets */
	size_t size;              /* of the field */
	const char *def;          /* the default, as it would be written on the command line */
	uint64_t min, max, scale; /* CMDLINE_UINT: bounds in the option's unit; field = value * scale */
	const char *const *words; /* CMDLINE_ENUM: NULL-terminated */
	const char *help;         /* one line for `help` and the README's option table */
	/* CMDLINE_CUSTOM: parse v[0, n) into field (0, or -EINVAL with the
	 * field unchanged); write the value as text as cmdline_format_value
	 * does; `syntax` is the range text. */
	int (*parse)(void *field, const char *v, size_t n);
	size_t (*format)(const void *field, char *buf, size_t cap);
	const char *syntax;
};

struct cmdline_table {
	const char *subsystem;
	const struct cmdline_option *options;
	size_t count;
};

/* 0, or a compile error ("negative array size") when cond is false. */
#define CMDLINE_CHECK_(cond) (0 * sizeof(char[(cond) ? 1 : -1]))
/* The largest stored value fits the unsigned field, so no row can store a
 * truncated or negative number. */
#define CMDLINE_FITS_(var, hi, mul)                                                                          \
	CMDLINE_CHECK_((__typeof__(var))-1 > 0 && (uint64_t)(hi) <= UINT64_MAX / (mul) &&                    \
		       ((uint64_t)(hi) * (mul) >> (8 * sizeof(var) - 1) >> 1) == 0)

/* Rows, one per option. `var` is an lvalue of static storage: an
 * unsigned integer (UINT rows), a uint32_t (IPV4), a struct cmdline_ipv4
 * (IPV4_NET), an int or int-sized enum (ENUM), a char array (WORD). A
 * UINT row's dflt is a plain decimal literal (it is also kept as text,
 * parsed at boot); the others' are strings. */
#define CMDLINE_UINT_ROW(key, var, dflt, lo, hi, text) CMDLINE_SCALED_ROW(key, var, dflt, lo, hi, 1, text)
/* A value in seconds stored in nanoseconds. */
#define CMDLINE_SECONDS_ROW(key, var, dflt, lo, hi, text)                                                    \
	CMDLINE_SCALED_ROW(key, var, dflt, lo, hi, 1000000000ull, text)
#define CMDLINE_SCALED_ROW(key, var, dflt, lo, hi, mul, text)                                                \
	{                                                                                                    \
		.name = (key), .type = CMDLINE_UINT, .field = &(var),                                        \
		.size = sizeof(var) + CMDLINE_FITS_(var, hi, mul) +                                          \
			0 * sizeof(char[(dflt) >= (lo) && (dflt) <= (hi) ? 1 : -1]),                         \
		.def = #dflt, .min = (lo), .max = (hi), .scale = (mul), .help = (text)                       \
	}
#define CMDLINE_IPV4_ROW(key, var, dflt, text)                                                               \
	{                                                                                                    \
		.name = (key), .type = CMDLINE_IPV4, .field = &(var),                                        \
		.size = sizeof(var) + 0 * sizeof(char[sizeof(var) == 4 ? 1 : -1]), .def = (dflt),            \
		.help = (text)                                                                               \
	}
#define CMDLINE_IPV4_NET_ROW(key, var, dflt, text)                                                           \
	{                                                                                                    \
		.name = (key), .type = CMDLINE_IPV4_NET, .field = (struct cmdline_ipv4 *){ &(var) },           \
		.size = sizeof(var), .def = (dflt), .help = (text)                                           \
	}
#define CMDLINE_ENUM_ROW(key, var, dflt, names, text)                                                        \
	{                                                                                                    \
		.name = (key), .type = CMDLINE_ENUM, .field = &(var),                                        \
		.size = sizeof(var) + 0 * sizeof(char[sizeof(var) == sizeof(int) ? 1 : -1]), .def = (dflt),  \
		.words = (names), .help = (text)                                                             \
	}
#define CMDLINE_WORD_ROW(key, var, dflt, text)                                                               \
	{                                                                                                    \
		.name = (key), .type = CMDLINE_WORD, .field = (var),                                         \
		.size = sizeof(var) + CMDLINE_CHECK_(sizeof(var) <= CMDLINE_VALUE_MAX &&                     \
						     !__builtin_types_compatible_p(__typeof__(var),          \
										   __typeof__(&(var)[0]))),  \
		.def = (dflt), .help = (text)                                                                \
	}

#define CMDLINE_CUSTOM_ROW(key, var, dflt, parse_fn, format_fn, syntax_text, text)                         \
	{                                                                                                    \
		.name = (key), .type = CMDLINE_CUSTOM, .field = &(var), .size = sizeof(var), .def = (dflt),  \
		.parse = (parse_fn), .format = (format_fn), .syntax = (syntax_text), .help = (text)          \
	}

/* Register `rows` (an array of struct cmdline_option) as `sub`'s table.
 * The linker collects the pointers in section keel_cmdline (a C-identifier
 * name, so it provides __start_/__stop_ symbols and sanitizers leave it
 * unpadded). */
#define CMDLINE_TABLE(sub, rows)                                                                             \
	static const struct cmdline_table cmdline_table_##sub = {#sub, rows,                                 \
								 sizeof(rows) / sizeof(rows[0])};            \
	static const struct cmdline_table *const cmdline_entry_##sub                                         \
	    __attribute__((used, section("keel_cmdline"), aligned(sizeof(void *)))) = &cmdline_table_##sub

/*
 * Called once per rejected token. key is a NUL-terminated copy of the token's
 * key (the whole token if it has no '='), cut to CMDLINE_KEY_MAX - 1 bytes;
 * msg says why, its first word the kind ("invalid", "unknown", "missing").
 * Both are valid only during the call.
 */
typedef void (*cmdline_warn_fn)(void *ctx, const char *key, const char *msg);

/* Set every registered option to its default. A default that does not
 * parse, a key registered twice, or a value or range too long for
 * CMDLINE_VALUE_MAX / CMDLINE_RANGE_MAX is a bug: reported through warn,
 * counted in the result (0 when the tables are sound). */
int cmdline_defaults(cmdline_warn_fn warn, void *ctx);

/*
 * Apply the options in the NUL-terminated string s, left to right, so of
 * two valid duplicates the last wins. warn may be NULL. Returns the number
 * of warnings (0 when every token was accepted).
 */
int cmdline_parse(const char *s, cmdline_warn_fn warn, void *ctx);

/* Does s hold the bare token `help`? */
bool cmdline_wants_help(const char *s);

/* The registered options, in link order then row order: i from 0 while
 * the result is not NULL. *subsystem (if not NULL) names the owner. */
const struct cmdline_option *cmdline_option_at(size_t i, const char **subsystem);

/* The option's current value, written as on the command line, into
 * buf[0, cap) (NUL-terminated; CMDLINE_VALUE_MAX always suffices).
 * Returns its length. */
size_t cmdline_format_value(const struct cmdline_option *o, char *buf, size_t cap);

/* The accepted values, e.g. "1..65535", "off|err|warn", "dhcp|A.B.C.D[/N]",
 * into buf[0, cap) as above (CMDLINE_RANGE_MAX suffices for sound rows). */
size_t cmdline_format_range(const struct cmdline_option *o, char *buf, size_t cap);

/*
 * The unsigned number that starts at v[*at] (and ends before v[n]), in
 * base 10 or 16 (hex digits in either case, no "0x": the caller skips
 * it), for a CMDLINE_UINT value or a CMDLINE_CUSTOM parser. At least one
 * digit; in decimal no leading zero but in "0" itself, so each number has
 * one spelling and "010" is never read as ten where a user meant octal.
 * Stops at the first byte that is not a digit of base and leaves *at
 * there. Returns 0 with *out set, -EINVAL without a digit or with a
 * leading zero, -ERANGE past max (checked before each multiply, so no
 * input wraps).
 */
int cmdline_scan_uint(const char *v, size_t n, size_t *at, unsigned base, uint64_t max, uint64_t *out);

#endif
