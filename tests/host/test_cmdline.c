/*
 * Host tests for kernel/cmdline.c.
 *
 * Most cases are rows of a table: an input line, the options of this
 * binary's first table rendered as one string (so a case also proves that nothing
 * else changed), and the warnings as "key:kind" pairs, kind being the first
 * word of the message. Each input is parsed from a copy that ends at a
 * PROT_NONE page, so any read past its NUL faults.
 */
#include "tests/host/test.h"

#include "kernel/cmdline.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>

/* The options of this test binary: the kinds of row every subsystem uses,
 * registered as two tables the way two subsystems would. */
static struct cmdline_ipv4 ip;
static uint32_t gw;
static uint16_t port;
static int log_level;
static char test[32];
static const char *const levels[] = {"off", "err", "warn", "info", "debug", NULL};
static const struct cmdline_option opts[] = {
    CMDLINE_IPV4_NET_ROW("ip", ip, "dhcp", "address"),
    CMDLINE_IPV4_ROW("gw", gw, "0.0.0.0", "gateway"),
    CMDLINE_UINT_ROW("port", port, 80, 1, 65535, "port"),
    CMDLINE_ENUM_ROW("log", log_level, "info", levels, "log level"),
    CMDLINE_WORD_ROW("test", test, "", "suite"),
};
CMDLINE_TABLE(first, opts);

static uint64_t timeout_ns;
static uint8_t small;
static uint64_t big;
static const struct cmdline_option more_opts[] = {
    CMDLINE_SECONDS_ROW("timeout", timeout_ns, 5, 1, 3600, "seconds, kept in ns"),
    CMDLINE_UINT_ROW("small", small, 7, 0, 255, "one byte"),
    CMDLINE_UINT_ROW("big", big, 1, 0, 18446744073709551615u, "the whole range"),
};
CMDLINE_TABLE(second, more_opts);

/* The dump of cmdline_defaults(). */
#define D "dhcp=1 ip=0.0.0.0/0 gw=0.0.0.0 port=80 log=3 test="

/* Warning log collected by the callback. */
struct warns {
	char text[1024];
	size_t len;
	int calls;
	bool bad_key; /* a key longer than CMDLINE_KEY_MAX - 1 */
};

static void append(struct warns *w, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(w->text + w->len, sizeof(w->text) - w->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		w->len += (size_t)n < sizeof(w->text) - w->len ? (size_t)n : sizeof(w->text) - w->len - 1;
}

static void collect(void *ctx, const char *key, const char *msg)
{
	struct warns *w = ctx;
	size_t kind = strcspn(msg, " ");

	if (strlen(key) > CMDLINE_KEY_MAX - 1)
		w->bad_key = true;
	append(w, "%s%s:%.*s", w->calls ? ";" : "", key, (int)kind, msg);
	w->calls++;
}

static void copy_msg(void *ctx, const char *key, const char *msg)
{
	(void)key;
	snprintf(ctx, 128, "%s", msg);
}

static void ipv4_str(char *buf, size_t size, uint32_t a)
{
	snprintf(buf, size, "%u.%u.%u.%u", (unsigned)(a >> 24), (unsigned)(a >> 16 & 255),
		 (unsigned)(a >> 8 & 255), (unsigned)(a & 255));
}

static void dump(char *buf, size_t size)
{
	char a[16], g[16];

	ipv4_str(a, sizeof(a), ip.addr);
	ipv4_str(g, sizeof(g), gw);
	snprintf(buf, size, "dhcp=%d ip=%s/%u gw=%s port=%u log=%d test=%s", ip.dhcp, a, (unsigned)ip.prefix,
		 g, (unsigned)port, log_level, test);
}

struct row {
	const char *name;
	const char *input;
	const char *want;  /* dump() of the result */
	const char *warns; /* "key:kind;..." or "" */
};

static const struct row rows[] = {
    /* Empty and whitespace-only lines. */
    {"empty string", "", D, ""},
    {"help is a bare word", "help port=81", "dhcp=1 ip=0.0.0.0/0 gw=0.0.0.0 port=81 log=3 test=", ""},
    {"help=x is not help", "help=x", D, "help:unknown"},
    {"only whitespace", " \t\r\n  ", D, ""},

    /* ip= */
    {"ip=dhcp", "ip=dhcp", D, ""},
    {"ip static with prefix", "ip=10.0.2.15/24", "dhcp=0 ip=10.0.2.15/24 gw=0.0.0.0 port=80 log=3 test=", ""},
    {"ip static without prefix defaults to /24", "ip=192.168.1.2",
     "dhcp=0 ip=192.168.1.2/24 gw=0.0.0.0 port=80 log=3 test=", ""},
    {"ip prefix 0", "ip=0.0.0.0/0", "dhcp=0 ip=0.0.0.0/0 gw=0.0.0.0 port=80 log=3 test=", ""},
    {"ip prefix 32, all octets 255", "ip=255.255.255.255/32",
     "dhcp=0 ip=255.255.255.255/32 gw=0.0.0.0 port=80 log=3 test=", ""},
    {"ip=dhcp after static clears the address", "ip=10.0.0.1/8 ip=dhcp", D, ""},
    {"ip static after dhcp", "ip=dhcp ip=10.0.0.1/8",
     "dhcp=0 ip=10.0.0.1/8 gw=0.0.0.0 port=80 log=3 test=", ""},
    {"ip bad: prefix 33", "ip=10.0.0.1/33", D, "ip:invalid"},
    {"ip bad: prefix with leading zero", "ip=10.0.0.1/024", D, "ip:invalid"},
    {"ip bad: empty prefix", "ip=10.0.0.1/", D, "ip:invalid"},
    {"ip bad: negative prefix", "ip=10.0.0.1/-1", D, "ip:invalid"},
    {"ip bad: two prefixes", "ip=10.0.0.1/8/8", D, "ip:invalid"},
    {"ip bad: junk after prefix", "ip=10.0.0.1/24x", D, "ip:invalid"},
    {"ip bad: prefix overflow", "ip=1.2.3.4/184467440737095516160", D, "ip:invalid"},
    {"ip bad: three octets", "ip=10.0.2", D, "ip:invalid"},
    {"ip bad: five octets", "ip=10.0.2.15.1", D, "ip:invalid"},
    {"ip bad: trailing dot", "ip=10.0.2.15.", D, "ip:invalid"},
    {"ip bad: empty octet", "ip=10..2.15", D, "ip:invalid"},
    {"ip bad: octet 256", "ip=10.0.2.256", D, "ip:invalid"},
    {"ip bad: octet leading zero", "ip=10.0.02.15", D, "ip:invalid"},
    {"ip bad: octet overflow", "ip=18446744073709551626.0.0.1", D, "ip:invalid"},
    {"ip bad: plus sign", "ip=+10.0.2.15", D, "ip:invalid"},
    {"ip bad: hex octet", "ip=0x0a.0.2.15", D, "ip:invalid"},
    {"ip bad: DHCP is case-sensitive", "ip=DHCP", D, "ip:invalid"},
    {"ip bad: empty value", "ip=", D, "ip:invalid"},
    {"ip bad: space before prefix splits the token", "ip=10.0.2.15 /24",
     "dhcp=0 ip=10.0.2.15/24 gw=0.0.0.0 port=80 log=3 test=", "/24:missing"},
    {"ip bad keeps the earlier static address", "ip=10.0.0.1/8 ip=300.1.1.1",
     "dhcp=0 ip=10.0.0.1/8 gw=0.0.0.0 port=80 log=3 test=", "ip:invalid"},

    /* gw= */
    {"gw good", "gw=10.0.2.2", "dhcp=1 ip=0.0.0.0/0 gw=10.0.2.2 port=80 log=3 test=", ""},
    {"gw 0.0.0.0", "gw=0.0.0.0", D, ""},
    {"gw bad: prefix not allowed", "gw=10.0.2.2/24", D, "gw:invalid"},
    {"gw bad: three octets", "gw=10.0.2", D, "gw:invalid"},
    {"gw bad: empty", "gw=", D, "gw:invalid"},
    {"gw bad: name", "gw=router", D, "gw:invalid"},

    /* port= */
    {"port 1", "port=1", "dhcp=1 ip=0.0.0.0/0 gw=0.0.0.0 port=1 log=3 test=", ""},
    {"port 8080", "port=8080", "dhcp=1 ip=0.0.0.0/0 gw=0.0.0.0 port=8080 log=3 test=", ""},
    {"port 65535", "port=65535", "dhcp=1 ip=0.0.0.0/0 gw=0.0.0.0 port=65535 log=3 test=", ""},
    {"port bad: 0", "port=0", D, "port:invalid"},
    {"port bad: 65536", "port=65536", D, "port:invalid"},
    {"port bad: 2^32+80 does not wrap", "port=4294967376", D, "port:invalid"},
    {"port bad: 2^64+80 does not wrap", "port=18446744073709551696", D, "port:invalid"},
    {"port bad: huge", "port=99999999999999999999999999999999", D, "port:invalid"},
    {"port bad: negative", "port=-1", D, "port:invalid"},
    {"port bad: plus sign", "port=+80", D, "port:invalid"},
    {"port bad: leading zero", "port=080", D, "port:invalid"},
    {"port bad: trailing junk", "port=80x", D, "port:invalid"},
    {"port bad: hex", "port=0x50", D, "port:invalid"},
    {"port bad: empty", "port=", D, "port:invalid"},
    {"port bad: value after a space", "port= 8080", D, "port:invalid;8080:missing"},

    /* log= */
    {"log off", "log=off", "dhcp=1 ip=0.0.0.0/0 gw=0.0.0.0 port=80 log=0 test=", ""},
    {"log err", "log=err", "dhcp=1 ip=0.0.0.0/0 gw=0.0.0.0 port=80 log=1 test=", ""},
    {"log warn", "log=warn", "dhcp=1 ip=0.0.0.0/0 gw=0.0.0.0 port=80 log=2 test=", ""},
    {"log info", "log=info", D, ""},
    {"log debug", "log=debug", "dhcp=1 ip=0.0.0.0/0 gw=0.0.0.0 port=80 log=4 test=", ""},
    {"log bad: upper case", "log=INFO", D, "log:invalid"},
    {"log bad: number", "log=4", D, "log:invalid"},
    {"log bad: prefix of a name", "log=deb", D, "log:invalid"},
    {"log bad: name plus junk", "log=debugx", D, "log:invalid"},
    {"log bad: empty", "log=", D, "log:invalid"},

    /* test= */
    {"test name", "test=sched_order", "dhcp=1 ip=0.0.0.0/0 gw=0.0.0.0 port=80 log=3 test=sched_order", ""},
    {"test empty clears", "test=x test=", D, ""},
    {"test 31 chars fits", "test=abcdefghijklmnopqrstuvwxyz01234",
     "dhcp=1 ip=0.0.0.0/0 gw=0.0.0.0 port=80 log=3 "
     "test=abcdefghijklmnopqrstuvwxyz01234",
     ""},
    {"test bad: 32 chars is not cut", "test=abcdefghijklmnopqrstuvwxyz012345", D, "test:invalid"},
    {"test value may contain '='", "test=a=b", "dhcp=1 ip=0.0.0.0/0 gw=0.0.0.0 port=80 log=3 test=a=b", ""},
    {"test bad: control byte",
     "test=a\x01"
     "b",
     D, "test:invalid"},
    {"test bad: non-ASCII byte", "test=caf\xc3\xa9", D, "test:invalid"},
    {"test bad: DEL byte", "test=a\x7f", D, "test:invalid"},

    /* Whitespace variants. */
    {"tabs between tokens", "port=81\tlog=debug\t\tgw=1.2.3.4",
     "dhcp=1 ip=0.0.0.0/0 gw=1.2.3.4 port=81 log=4 test=", ""},
    {"leading and trailing spaces", "   port=81   ",
     "dhcp=1 ip=0.0.0.0/0 gw=0.0.0.0 port=81 log=3 test=", ""},
    {"trailing CR LF", "port=81\r\n", "dhcp=1 ip=0.0.0.0/0 gw=0.0.0.0 port=81 log=3 test=", ""},
    {"newline separates tokens", "port=81\nlog=off",
     "dhcp=1 ip=0.0.0.0/0 gw=0.0.0.0 port=81 log=0 test=", ""},
    {"space around '=' splits the token", "port = 81", D, "port:missing;=:missing;81:missing"},

    /* Unknown keys and tokens without '='. */
    {"unknown key", "foo=bar", D, "foo:unknown"},
    {"unknown key does not stop the parse", "console=ttyS0 port=81 quiet",
     "dhcp=1 ip=0.0.0.0/0 gw=0.0.0.0 port=81 log=3 test=", "console:unknown;quiet:missing"},
    {"keys are case-sensitive", "PORT=81", D, "PORT:unknown"},
    {"prefix of a key is unknown", "por=81", D, "por:unknown"},
    {"key with a suffix is unknown", "portx=81", D, "portx:unknown"},
    {"token without '='", "quiet", D, "quiet:missing"},
    {"empty key", "=80", D, "=80:missing"},
    {"lone '='", "=", D, "=:missing"},
    {"every token warns", "a b= =c d=1", D, "a:missing;b:unknown;=c:missing;d:unknown"},

    /* Keys are cut to CMDLINE_KEY_MAX - 1 bytes in warnings. */
    {"31-byte key is shown whole", "abcdefghijklmnopqrstuvwxyz01234=1", D,
     "abcdefghijklmnopqrstuvwxyz01234:unknown"},
    {"32-byte key is cut to 31", "abcdefghijklmnopqrstuvwxyz012345=1", D,
     "abcdefghijklmnopqrstuvwxyz01234:unknown"},
    {"33-byte key is cut to 31", "abcdefghijklmnopqrstuvwxyz0123456=1", D,
     "abcdefghijklmnopqrstuvwxyz01234:unknown"},
    {"too-long key is cut in the warning", "abcdefghijklmnopqrstuvwxyz0123456789=1", D,
     "abcdefghijklmnopqrstuvwxyz01234:unknown"},
    {"too-long key starting with a real key is unknown", "portportportportportportportportport=81", D,
     "portportportportportportportpor:unknown"},
    {"too-long token without '=' is cut",
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", D,
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx:missing"},

    /* Duplicates: the last valid value wins. */
    {"duplicate port, last wins", "port=81 port=82",
     "dhcp=1 ip=0.0.0.0/0 gw=0.0.0.0 port=82 log=3 test=", ""},
    {"duplicate with bad last keeps the earlier", "port=81 port=0",
     "dhcp=1 ip=0.0.0.0/0 gw=0.0.0.0 port=81 log=3 test=", "port:invalid"},
    {"duplicate log, last wins", "log=debug log=off",
     "dhcp=1 ip=0.0.0.0/0 gw=0.0.0.0 port=80 log=0 test=", ""},

    /* The line the QEMU tests boot with, plus everything else. */
    {"test image line", "ip=10.0.2.15/24 gw=10.0.2.2 port=8080 log=debug test=http_basic",
     "dhcp=0 ip=10.0.2.15/24 gw=10.0.2.2 port=8080 log=4 test=http_basic", ""},
};

static void reset(void)
{
	memset(&ip, 0xa5, sizeof(ip));
	gw = 0xa5a5a5a5u;
	port = 0xa5a5;
	log_level = -1;
	memset(test, 'x', sizeof(test));
	CHECK(cmdline_defaults(NULL, NULL) == 0);
}

static void run_row(const struct row *r)
{
	struct warns w = {.len = 0};
	char got[256];
	int n;

	reset();
	n = cmdline_parse(test_guarded(r->input), collect, &w);
	dump(got, sizeof(got));
	CHECK(strcmp(got, r->want) == 0);
	CHECK(strcmp(w.text, r->warns) == 0);
	CHECK(n == w.calls);
	CHECK(!w.bad_key);
	if (strcmp(got, r->want) != 0 || strcmp(w.text, r->warns) != 0)
		fprintf(stderr, "  input: \"%s\"\n  got:   %s | %s\n  want:  %s | %s\n", r->input, got,
			w.text, r->want, r->warns);
}

static void t_defaults(void)
{
	reset();
	CHECK(ip.dhcp);
	CHECK(ip.addr == 0 && ip.prefix == 0);
	CHECK(gw == 0);
	CHECK(port == 80);
	CHECK(log_level == 3);
	CHECK(test[0] == '\0');
	CHECK(timeout_ns == 5000000000u);
	CHECK(small == 7);
	CHECK(big == 1);
}

static void t_address_byte_order(void)
{
	reset();
	CHECK(cmdline_parse("ip=1.2.3.4/16 gw=192.168.0.254", NULL, NULL) == 0);
	CHECK(!ip.dhcp);
	CHECK(ip.addr == 0x01020304u);
	CHECK(ip.prefix == 16);
	CHECK(gw == 0xc0a800feu);
}

static void t_null_warn(void)
{
	reset();
	CHECK(cmdline_parse("a b=1 port=0 port=81", NULL, NULL) == 3);
	CHECK(port == 81);
}

/* A key far longer than any buffer: the copy must stay bounded. */
static void t_huge_key(void)
{
	static char line[4000];
	struct warns w = {.len = 0};

	memset(line, 'k', sizeof(line) - 3);
	memcpy(line + sizeof(line) - 3, "=1", 3);
	reset();
	CHECK(cmdline_parse(line, collect, &w) == 1);
	CHECK(!w.bad_key);
	CHECK(w.calls == 1);
}

/* Parsing only touches what it names: start from non-defaults. */
static void t_starts_from_caller_state(void)
{
	reset();
	port = 443;
	log_level = 0;
	CHECK(cmdline_parse("gw=10.0.0.1 port=bad", NULL, NULL) == 1);
	CHECK(port == 443);
	CHECK(log_level == 0);
	CHECK(gw == 0x0a000001u);
}

/* Options of the second table; a scaled value is stored scaled and its
 * bounds apply before the scaling. */
static void t_second_table(void)
{
	struct warns w = {.len = 0};

	reset();
	CHECK(cmdline_parse("timeout=3600 small=255 big=18446744073709551615", collect, &w) == 0);
	CHECK(timeout_ns == 3600ull * 1000000000u);
	CHECK(small == 255);
	CHECK(big == UINT64_MAX);
	CHECK(cmdline_parse("timeout=3601 timeout=0 small=256 big=18446744073709551616", collect, &w) == 4);
	CHECK(timeout_ns == 3600ull * 1000000000u && small == 255 && big == UINT64_MAX);
	CHECK(strcmp(w.text, "timeout:invalid;timeout:invalid;small:invalid;big:invalid") == 0);
}

/* The warning names what would have been accepted. */
static void t_warning_names_range(void)
{
	char last[128] = "";

	reset();
	CHECK(cmdline_parse("port=0", copy_msg, last) == 1);
	CHECK(strcmp(last, "invalid value (want 1..65535), ignored") == 0);
	CHECK(cmdline_parse("log=loud", copy_msg, last) == 1);
	CHECK(strcmp(last, "invalid value (want off|err|warn|info|debug), ignored") == 0);
	CHECK(cmdline_parse("ip=x", copy_msg, last) == 1);
	CHECK(strcmp(last, "invalid value (want dhcp|A.B.C.D[/N]), ignored") == 0);
}

static const struct cmdline_option *find(const char *name)
{
	const struct cmdline_option *o;

	for (size_t i = 0; (o = cmdline_option_at(i, NULL)); i++)
		if (!strcmp(o->name, name))
			return o;
	return NULL;
}

/* Both tables are seen, in order, with their owners' names. */
static void t_option_list(void)
{
	const char *names[] = {"ip", "gw", "port", "log", "test", "timeout", "small", "big"};
	const char *sub = NULL;
	size_t i;

	for (i = 0; cmdline_option_at(i, NULL); i++)
		;
	CHECK(i == 8);
	for (i = 0; i < 8; i++)
		CHECK(find(names[i]) != NULL);
	CHECK(cmdline_option_at(0, &sub) && (!strcmp(sub, "first") || !strcmp(sub, "second")));
	CHECK(cmdline_option_at(8, &sub) == NULL);
	CHECK(cmdline_wants_help(" port=1\thelp\n"));
	CHECK(!cmdline_wants_help("helpx help= xhelp"));
}

/* Every value renders as the command line would say it, and parsing the
 * rendering on fresh defaults gives the same state, without warnings. */
static void t_round_trip(void)
{
	const struct cmdline_option *o;
	char line[1024], before[256], after[256], v[CMDLINE_VALUE_MAX];
	size_t n = 0;

	reset();
	CHECK(cmdline_parse("ip=10.1.2.3/9 gw=10.0.0.1 port=65535 log=debug test=abc timeout=17 small=0 "
			    "big=18446744073709551615",
			    NULL, NULL) == 0);
	dump(before, sizeof(before));
	for (size_t i = 0; (o = cmdline_option_at(i, NULL)); i++) {
		cmdline_format_value(o, v, sizeof(v));
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s=%s ", o->name, v);
	}
	reset();
	CHECK(cmdline_parse(line, NULL, NULL) == 0);
	dump(after, sizeof(after));
	CHECK(strcmp(before, after) == 0);
	CHECK(timeout_ns == 17000000000u && small == 0 && big == UINT64_MAX);
	cmdline_format_value(find("ip"), v, sizeof(v));
	CHECK(strcmp(v, "10.1.2.3/9") == 0);
	cmdline_format_value(find("timeout"), v, sizeof(v));
	CHECK(strcmp(v, "17") == 0);
	/* A short buffer is cut, terminated, and the length says what is there. */
	CHECK(cmdline_format_value(find("ip"), v, 5) == 4 && strcmp(v, "10.1") == 0);
}

/* cmdline_scan_uint: one number at *at, in base 10 or 16, up to max. */
static void t_scan_uint(void)
{
	static const struct {
		const char *in;
		unsigned base;
		uint64_t max;
		int want;
		uint64_t value;
		size_t at; /* where the scan stops (on success) */
	} rows[] = {
	    {"0", 10, 9, 0, 0, 1},
	    {"255.", 10, 255, 0, 255, 3},
	    {"256", 10, 255, -ERANGE, 0, 0},
	    {"18446744073709551615", 10, UINT64_MAX, 0, UINT64_MAX, 20},
	    {"18446744073709551616", 10, UINT64_MAX, -ERANGE, 0, 0},
	    {"010", 10, 99, -EINVAL, 0, 0},
	    {"x1", 10, 99, -EINVAL, 0, 0},
	    {"", 10, 99, -EINVAL, 0, 0},
	    {"12ab", 10, 9999, 0, 12, 2},
	    {"00fF@", 16, UINT64_MAX, 0, 0xff, 4},
	    {"ffffffffffffffff", 16, UINT64_MAX, 0, UINT64_MAX, 16},
	    {"10000000000000000", 16, UINT64_MAX, -ERANGE, 0, 0},
	    {"g", 16, UINT64_MAX, -EINVAL, 0, 0},
	};

	for (size_t i = 0; i < TEST_COUNT(rows); i++) {
		const char *in = rows[i].in;
		size_t n = strlen(in), at = 0;
		uint64_t v = 12345;
		int r = cmdline_scan_uint(test_guarded_n(in, n), n, &at, rows[i].base, rows[i].max, &v);
		if (!CHECK(r == rows[i].want) ||
		    (r == 0 && (!CHECK(v == rows[i].value) | !CHECK(at == rows[i].at))))
			fprintf(stderr, "  \"%s\" base %u: got %d, %llu, at %zu\n", in, rows[i].base, r,
				(unsigned long long)v, at);
	}
}

static const struct test_case cases[] = {
    {"defaults come from the tables", t_defaults},
    {"addresses are host byte order", t_address_byte_order},
    {"NULL warn callback still counts", t_null_warn},
    {"4000-byte key stays bounded", t_huge_key},
    {"parse starts from the caller's state", t_starts_from_caller_state},
    {"a second table: scaled and full-range values", t_second_table},
    {"a warning names the accepted values", t_warning_names_range},
    {"every registered option is listed once", t_option_list},
    {"values render and parse back", t_round_trip},
    {"numbers: decimal and hex, canonical, bounded", t_scan_uint},
};

int main(void)
{
	test_init("cmdline");
	for (size_t i = 0; i < TEST_COUNT(rows); i++) {
		test_begin(rows[i].name);
		run_row(&rows[i]);
		test_end();
	}
	test_run(cases, TEST_COUNT(cases));
	return test_finish();
}
