/*
 * Host tests for drivers/virtio/virtio_mmio_cmdline.c: the
 * virtio_mmio.device= value parser (Linux's syntax, as QEMU microvm with
 * acpi=off appends it) and the option's list behaviour through the real
 * command-line parser (kernel/cmdline.c): repeated keys add, a repeated
 * base replaces, an empty value clears, the list has a cap.
 *
 * Every value is parsed from a copy that ends right before a PROT_NONE
 * page, without a NUL: the parser must stop at the slice's length.
 */
#include "tests/host/test.h"

#include <errno.h>

#include "drivers/virtio/virtio_mmio_cmdline.h"
#include "kernel/cmdline.h"

static int parse(const char *s, struct virtio_mmio_spec *out)
{
	size_t n = strlen(s);
	return virtio_mmio_spec_parse(test_guarded_n(s, n), n, out);
}

static void t_valid(void)
{
	static const struct {
		const char *in;
		uint64_t size, base;
		uint32_t gsi;
	} rows[] = {
	    {"512@0xfeb00e00:12", 512, 0xfeb00e00, 12},     /* QEMU microvm,acpi=off */
	    {"0x200@0xFEB02E00:47", 0x200, 0xfeb02e00, 47}, /* hex size, capital digits */
	    {"4K@0xd0000000:5:3", 4096, 0xd0000000, 5},     /* Firecracker-style, with an id */
	    {"1k@4096:1", 1024, 4096, 1},                   /* decimal base */
	    {"1M@0x1m:255", 1 << 20, 1 << 20, 255},         /* suffix on the base too, highest GSI */
	    {"16M@0x100000:9:0", 16u << 20, 0x100000, 9},   /* the largest region */
	};
	for (size_t i = 0; i < TEST_COUNT(rows); i++) {
		struct virtio_mmio_spec s = {0};
		if (!CHECK(parse(rows[i].in, &s) == 0)) {
			fprintf(stderr, "  rejected: %s\n", rows[i].in);
			continue;
		}
		CHECK(s.size == rows[i].size && s.base == rows[i].base && s.gsi == rows[i].gsi);
	}
}

static void t_invalid(void)
{
	static const char *const bad[] = {
	    "",
	    "512",
	    "512@",
	    "512@0xfeb00e00",
	    "512@0xfeb00e00:",
	    "512@0xfeb00e00:12:",
	    "512@0xfeb00e00:12:x",
	    "512@0xfeb00e00:12:3:4",
	    "512@0xfeb00e00:12 ",
	    " 512@0xfeb00e00:12",
	    "512 @0xfeb00e00:12",
	    "512@0xfeb00e00:0",   /* GSI 0 is the timer */
	    "512@0xfeb00e00:256", /* past the GSIs we route */
	    "512@0xfeb00e00:012", /* a leading zero: octal to Linux */
	    "0512@0xfeb00e00:12",
	    "0x@0xfeb00e00:12",
	    "512@0x:12",
	    "512@0xg:12",
	    "x@0x1000:5",
	    "255@0x1000:5",             /* smaller than the register block */
	    "16385K@0x1000:5",          /* larger than any transport */
	    "512@0:5",                  /* no base */
	    "512@0x1002:5",             /* registers are 32-bit aligned */
	    "512@0xffffffffffff000:5",  /* past 2^52 */
	    "512@0xfffffffffffffe00:5", /* base + size wraps */
	    "99999999999999999999@0x1000:5",
	    "0x10000000000000000@0x1000:5",
	    "512@0x1000:99999999999",
	    "18014398509481984K@0x1000:5", /* the suffix overflows */
	    "512@0x1000:5K",
	    "512K5@0x1000:5",
	    "-512@0x1000:5",
	    "+512@0x1000:5",
	    "512@0x1000:-5",
	};
	for (size_t i = 0; i < TEST_COUNT(bad); i++) {
		struct virtio_mmio_spec s = {.size = 7, .base = 7, .gsi = 7};
		if (!CHECK(parse(bad[i], &s) == -EINVAL))
			fprintf(stderr, "  accepted: \"%s\"\n", bad[i]);
		CHECK(s.size == 7 && s.base == 7 && s.gsi == 7); /* untouched */
	}
}

/* Every prefix of a valid value but the whole is rejected, and none is
 * read past its end (the guard page). */
static void t_prefixes(void)
{
	const char *full = "0x200@0xfeb00e00:47:7";
	struct virtio_mmio_spec s;
	for (size_t n = 0; n < strlen(full); n++) {
		/* GSI 4 and GSI 47 without the optional id are complete values. */
		bool complete = n == strlen("0x200@0xfeb00e00:4") || n == strlen("0x200@0xfeb00e00:47");
		int err = virtio_mmio_spec_parse(test_guarded_n(full, n), n, &s);
		if (!CHECK(err == (complete ? 0 : -EINVAL)))
			fprintf(stderr, "  prefix of %zu bytes: %d\n", n, err);
	}
}

static int count(void)
{
	int n = 0;
	while (virtio_mmio_cmdline_get(n))
		n++;
	return n;
}

static int warnings;
static void warn(void *ctx, const char *key, const char *msg)
{
	(void)ctx;
	(void)key;
	(void)msg;
	warnings++;
}

static void t_list(void)
{
	CHECK(cmdline_defaults(warn, NULL) == 0 && count() == 0);
	/* QEMU's two transports, then the same line again (main.c applies
	 * the loader's line twice): still two. */
	const char *line = "virtio_mmio.device=512@0xfeb00e00:12\tvirtio_mmio.device=512@0xfeb00c00:11";
	CHECK(cmdline_parse(test_guarded(line), warn, NULL) == 0);
	CHECK(cmdline_parse(test_guarded(line), warn, NULL) == 0);
	if (!CHECK(count() == 2))
		return;
	CHECK(virtio_mmio_cmdline_get(0)->base == 0xfeb00e00 && virtio_mmio_cmdline_get(0)->gsi == 12);
	CHECK(virtio_mmio_cmdline_get(1)->base == 0xfeb00c00 && virtio_mmio_cmdline_get(1)->gsi == 11);
	/* The same base with another GSI replaces the entry in place. */
	CHECK(cmdline_parse("virtio_mmio.device=1K@0xfeb00e00:13", warn, NULL) == 0);
	CHECK(count() == 2 && virtio_mmio_cmdline_get(0)->gsi == 13 &&
	      virtio_mmio_cmdline_get(0)->size == 1024);
	/* A bad value warns and leaves the list alone. */
	warnings = 0;
	CHECK(cmdline_parse("virtio_mmio.device=512@0xfeb00a00", warn, NULL) == 1 && warnings == 1);
	CHECK(count() == 2);
	/* An empty value clears it. */
	CHECK(cmdline_parse("virtio_mmio.device=", warn, NULL) == 0 && count() == 0);
}

static void t_cap(void)
{
	char tok[64];
	cmdline_parse("virtio_mmio.device=", NULL, NULL);
	for (int i = 0; i < VIRTIO_MMIO_CMDLINE_MAX; i++) {
		snprintf(tok, sizeof tok, "virtio_mmio.device=512@%#x:%d", 0xfeb00000 + 0x200 * i, 5 + i);
		CHECK(cmdline_parse(tok, NULL, NULL) == 0);
	}
	CHECK(count() == VIRTIO_MMIO_CMDLINE_MAX);
	snprintf(tok, sizeof tok, "virtio_mmio.device=512@%#x:4",
		 0xfeb00000 + 0x200 * VIRTIO_MMIO_CMDLINE_MAX);
	CHECK(cmdline_parse(tok, NULL, NULL) == 1); /* one too many: a warning */
	CHECK(count() == VIRTIO_MMIO_CMDLINE_MAX);
	CHECK(cmdline_parse("virtio_mmio.device=512@0xfeb00000:30", NULL, NULL) ==
	      0); /* replacing still works */
	CHECK(virtio_mmio_cmdline_get(0)->gsi == 30);
	cmdline_parse("virtio_mmio.device=", NULL, NULL);
}

/* help shows the value as it could be given again, cut with ",..." to
 * fit a CMDLINE_VALUE_MAX buffer. */
static void t_format(void)
{
	const struct cmdline_option *o = NULL, *it;
	char buf[CMDLINE_VALUE_MAX];
	for (size_t i = 0; (it = cmdline_option_at(i, NULL)); i++)
		if (strcmp(it->name, "virtio_mmio.device") == 0)
			o = it;
	if (!CHECK(o != NULL))
		return;
	cmdline_parse("virtio_mmio.device=", NULL, NULL);
	CHECK(cmdline_format_value(o, buf, sizeof buf) == 0 && buf[0] == '\0');
	cmdline_parse("virtio_mmio.device=512@0xfeb00e00:12 virtio_mmio.device=4K@0xd0000000:5", NULL, NULL);
	CHECK(cmdline_format_value(o, buf, sizeof buf) == strlen(buf));
	CHECK(strcmp(buf, "0x200@0xfeb00e00:12,0x1000@0xd0000000:5") == 0);
	cmdline_parse("virtio_mmio.device=512@0xfeb00c00:11", NULL, NULL);
	CHECK(cmdline_format_value(o, buf, sizeof buf) < sizeof buf);
	CHECK(strcmp(buf, "0x200@0xfeb00e00:12,0x1000@0xd0000000:5,...") == 0);
	char tiny[8];
	CHECK(cmdline_format_value(o, tiny, sizeof tiny) == 4 && strcmp(tiny, ",...") == 0);
	CHECK(cmdline_format_range(o, buf, sizeof buf) > 0 && strstr(buf, "SIZE@BASE:GSI") == buf);
	cmdline_parse("virtio_mmio.device=", NULL, NULL);
}

static const struct test_case cases[] = {
    {"valid values: decimal and hex, K/M suffixes, an optional id", t_valid},
    {"malformed, out-of-range or overflowing values are -EINVAL, the output untouched", t_invalid},
    {"prefixes of a value: only the complete ones parse, none is read past its end", t_prefixes},
    {"repeated keys add, a repeated base replaces, a bad value warns, empty clears", t_list},
    {"the list holds VIRTIO_MMIO_CMDLINE_MAX transports; one more is a warning", t_cap},
    {"help's value: the list as it may be given, cut with ,... to fit", t_format},
};

int main(void)
{
	test_init("virtio_mmio_cmdline");
	test_run(cases, TEST_COUNT(cases));
	return test_finish();
}
