/*
 * kernel/cpio.c: the newc reader behind the boot bundle. Archives are
 * built here, entry by entry, as GNU cpio -H newc writes them; each case
 * then parses one from a buffer that ends right before a PROT_NONE page,
 * so reading one byte past the archive faults. Every truncation of a
 * valid archive must fail cleanly (or end at the trailer), never read
 * past the end.
 */
#include "tests/host/test.h"

#include <errno.h>
#include <stdint.h>

#include "kernel/cpio.h"

struct arc {
	char b[16384];
	size_t n;
};

static void pad4(struct arc *a)
{
	while (a->n & 3)
		a->b[a->n++] = 0;
}

/* One entry, namesize and filesize as given (for the malformed cases). */
static void entry_raw(struct arc *a, const char *magic, const char *name, size_t namesize, uint32_t mode,
		      uint32_t mtime, const void *data, size_t size, uint32_t filesize)
{
	a->n +=
	    (size_t)sprintf(a->b + a->n, "%s%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", magic, 1u,
			    mode, 0u, 0u, 1u, mtime, filesize, 0u, 0u, 0u, 0u, (unsigned)namesize, 0u);
	memcpy(a->b + a->n, name, namesize);
	a->n += namesize;
	pad4(a);
	memcpy(a->b + a->n, data, size);
	a->n += size;
	pad4(a);
}

static void file(struct arc *a, const char *name, const char *data)
{
	entry_raw(a, "070701", name, strlen(name) + 1, CPIO_S_IFREG | 0644, 1700000000, data, strlen(data),
		  (uint32_t)strlen(data));
}

static void dir(struct arc *a, const char *name)
{
	entry_raw(a, "070701", name, strlen(name) + 1, CPIO_S_IFDIR | 0755, 1700000000, "", 0, 0);
}

static void trailer(struct arc *a)
{
	file(a, "TRAILER!!!", "");
}

/* Parse a[0, n) placed against the guard page: the entries seen, the
 * final status (0 trailer, negative error) and the reason. */
struct parsed {
	int status;
	size_t count;
	struct cpio_entry e[32];
	const char *error;
	size_t off;
};

static struct parsed parse_n(const struct arc *a, size_t n)
{
	struct parsed p = {0};
	struct cpio_iter it;
	const char *buf = test_guarded_n(a->b, n);
	cpio_init(&it, buf, n);
	int r;
	while ((r = cpio_next(&it, &p.e[p.count < 31 ? p.count : 31])) > 0)
		p.count++;
	p.status = r;
	p.error = it.error;
	p.off = it.off;
	return p;
}

static struct parsed parse(const struct arc *a)
{
	return parse_n(a, a->n);
}

static bool is_entry(const struct cpio_entry *e, const char *name, const char *data)
{
	return !strcmp(e->name, name) && e->name_len == strlen(name) && e->size == strlen(data) &&
	       !memcmp(e->data, data, e->size);
}

static bool failed_with(const struct parsed *p, int err, const char *why)
{
	return p->status == err && p->error && strstr(p->error, why);
}

static void t_one_file(void)
{
	struct arc a = {0};
	file(&a, "cmdline", "port=8081\n");
	trailer(&a);
	struct parsed p = parse(&a);
	CHECK(p.status == 0 && p.count == 1 && p.error == NULL);
	CHECK(is_entry(&p.e[0], "cmdline", "port=8081\n"));
	CHECK(p.e[0].mode == (CPIO_S_IFREG | 0644) && p.e[0].mtime == 1700000000);
}

static void t_empty_archive(void)
{
	struct arc a = {0};
	trailer(&a);
	struct parsed p = parse(&a);
	CHECK(p.status == 0 && p.count == 0);
}

static void t_empty_input(void)
{
	struct arc a = {0};
	struct parsed p = parse(&a);
	CHECK(failed_with(&p, -EINVAL, "without TRAILER"));
}

/* Every name length mod 4 against every data length mod 4: the padding
 * after the header+name and after the data. */
static void t_alignment(void)
{
	static const char *names[] = {"a", "ab", "abc", "abcd", "abcde"};
	static const char *datas[] = {"", "1", "12", "123", "1234", "12345"};
	struct arc a = {0};
	for (size_t i = 0; i < 5; i++)
		for (size_t j = 0; j < 6; j++) {
			char name[16];
			snprintf(name, sizeof name, "%s%zu", names[i], j);
			file(&a, name, datas[j]);
		}
	trailer(&a);
	struct parsed p = parse(&a);
	CHECK(p.status == 0 && p.count == 30);
	for (size_t k = 0; k < p.count && k < 30; k++) {
		char name[16];
		snprintf(name, sizeof name, "%s%zu", names[k / 6], k % 6);
		CHECK(is_entry(&p.e[k], name, datas[k % 6]));
		CHECK(((const char *)p.e[k].data - (const char *)p.e[0].data) % 4 == 0);
	}
}

static void t_dot_slash(void)
{
	struct arc a = {0};
	dir(&a, ".");
	dir(&a, "./site");
	file(&a, "./site/index.html", "<h1>hi</h1>");
	file(&a, "/abs/x", "x");
	file(&a, "././/y", "y");
	trailer(&a);
	struct parsed p = parse(&a);
	CHECK(p.status == 0 && p.count == 5);
	CHECK(!strcmp(p.e[0].name, "") && p.e[0].name_len == 0 &&
	      (p.e[0].mode & CPIO_S_IFMT) == CPIO_S_IFDIR);
	CHECK(!strcmp(p.e[1].name, "site") && p.e[1].name_len == 4);
	CHECK(is_entry(&p.e[2], "site/index.html", "<h1>hi</h1>"));
	CHECK(is_entry(&p.e[3], "abs/x", "x"));
	CHECK(is_entry(&p.e[4], "y", "y"));
}

static void t_trailer_ends(void)
{
	struct arc a = {0};
	file(&a, "a", "1");
	trailer(&a);
	file(&a, "after", "ignored");
	memset(a.b + a.n, 0, 512 - a.n % 512); /* cpio's block padding */
	a.n += 512 - a.n % 512;
	struct parsed p = parse(&a);
	CHECK(p.status == 0 && p.count == 1 && is_entry(&p.e[0], "a", "1"));
}

/* After the trailer, and after an error, the iterator stays where it is. */
static void t_sticky(void)
{
	struct arc a = {0};
	trailer(&a);
	struct cpio_iter it;
	struct cpio_entry e;
	cpio_init(&it, a.b, a.n);
	CHECK(cpio_next(&it, &e) == 0 && cpio_next(&it, &e) == 0);
	cpio_init(&it, "garbage", 7);
	CHECK(cpio_next(&it, &e) == -EINVAL && cpio_next(&it, &e) == -EINVAL && it.error);
}

static void t_crc_format_and_lowercase(void)
{
	struct arc a = {0};
	entry_raw(&a, "070702", "c", 2, CPIO_S_IFREG | 0644, 5, "data", 4, 4);
	trailer(&a);
	for (size_t i = 6; i < 110; i++) /* hex digits in lower case */
		if (a.b[i] >= 'A' && a.b[i] <= 'F')
			a.b[i] = (char)(a.b[i] | 0x20);
	struct parsed p = parse(&a);
	CHECK(p.status == 0 && p.count == 1 && is_entry(&p.e[0], "c", "data"));
}

static void t_bad_magic(void)
{
	static const char *magics[] = {"070707", "070703", "070700", "170701", "\0\0\0\0\0\0"};
	for (size_t i = 0; i < 5; i++) {
		struct arc a = {0};
		file(&a, "a", "1");
		trailer(&a);
		memcpy(a.b, magics[i], 6);
		struct parsed p = parse(&a);
		CHECK(failed_with(&p, -EINVAL, "bad magic") && p.off == 0);
	}
	struct arc gz = {.n = 20};
	memcpy(gz.b, "\x1f\x8b\x08\0\0\0\0\0\0\3abcdefghij", 20);
	struct parsed p = parse(&gz);
	CHECK(failed_with(&p, -EINVAL, "header truncated"));
}

/* A non-hex digit in each of the 13 fields in turn. */
static void t_non_hex(void)
{
	for (int f = 0; f < 13; f++) {
		struct arc a = {0};
		file(&a, "a", "1");
		trailer(&a);
		a.b[6 + 8 * f + 3] = 'g';
		struct parsed p = parse(&a);
		CHECK(failed_with(&p, -EINVAL, "not hex"));
	}
	struct arc a = {0};
	file(&a, "a", "1");
	trailer(&a);
	a.b[6 + 8 * 6] = ' '; /* " 0000001": no spaces, no signs */
	struct parsed p = parse(&a);
	CHECK(failed_with(&p, -EINVAL, "not hex"));
}

static void t_name_without_nul(void)
{
	struct arc a = {0};
	entry_raw(&a, "070701", "abcd", 4, CPIO_S_IFREG, 0, "x", 1, 1);
	trailer(&a);
	struct parsed p = parse(&a);
	CHECK(failed_with(&p, -EINVAL, "not NUL-terminated"));
	struct arc b = {0};
	entry_raw(&b, "070701", "ab\0cd", 6, CPIO_S_IFREG, 0, "x", 1, 1); /* a NUL inside */
	trailer(&b);
	p = parse(&b);
	CHECK(failed_with(&p, -EINVAL, "not NUL-terminated"));
	struct arc c = {0};
	entry_raw(&c, "070701", "", 0, CPIO_S_IFREG, 0, "", 0, 0);
	trailer(&c);
	p = parse(&c);
	CHECK(failed_with(&p, -EINVAL, "empty name"));
}

static void t_huge_sizes(void)
{
	struct arc a = {0};
	entry_raw(&a, "070701", "big", 4, CPIO_S_IFREG, 0, "", 0, 0xffffffffu);
	trailer(&a);
	struct parsed p = parse(&a);
	CHECK(failed_with(&p, -EINVAL, "data runs past the end"));
	struct arc b = {0};
	entry_raw(&b, "070701", "n", 2, CPIO_S_IFREG, 0, "", 0, 0);
	memcpy(b.b + 6 + 8 * 11, "FFFFFFFF", 8); /* namesize */
	p = parse(&b);
	CHECK(failed_with(&p, -ENAMETOOLONG, "name too long"));
	struct arc c = {0};
	entry_raw(&c, "070701", "n", 2, CPIO_S_IFREG, 0, "", 0, 0);
	memcpy(c.b + 6 + 8 * 11, "00001000", 8); /* namesize 4096: fits the limit, not the archive */
	p = parse(&c);
	CHECK(failed_with(&p, -EINVAL, "name runs past the end"));
}

/* Every prefix of a valid archive: an error naming the cut, or (cut in
 * the trailer's padding) the trailer; never an entry that is not whole. */
static void t_every_truncation(void)
{
	struct arc a = {0};
	file(&a, "site/index.html", "<!doctype html><title>x</title>");
	file(&a, "b", "12345");
	trailer(&a);
	struct parsed full = parse(&a);
	CHECK(full.status == 0 && full.count == 2);
	/* the trailer is 110 + 11 bytes, padded to 124: cut in its padding */
	size_t trailer_name_end = a.n - 124 + 121;
	for (size_t n = 0; n < a.n; n++) {
		struct parsed p = parse_n(&a, n);
		if (n >= trailer_name_end) {
			CHECK(p.status == 0 && p.count == 2);
		} else {
			CHECK(p.status < 0 && p.error != NULL && p.off <= n);
			for (size_t k = 0; k < p.count && k < 2; k++)
				CHECK(k ? is_entry(&p.e[k], "b", "12345")
					: is_entry(&p.e[k], "site/index.html",
						   "<!doctype html><title>x</title>"));
		}
	}
}

static const struct test_case cases[] = {
    {"one file and the trailer", t_one_file},
    {"only the trailer: no entries", t_empty_archive},
    {"empty input: no trailer", t_empty_input},
    {"name and data padding to 4 bytes, every remainder", t_alignment},
    {"leading ./ and / are stripped, . is the empty name", t_dot_slash},
    {"TRAILER!!! ends the archive; what follows is ignored", t_trailer_ends},
    {"trailer and errors are sticky", t_sticky},
    {"070702 (crc) magic and lower-case hex are read", t_crc_format_and_lowercase},
    {"bad magic (odc, binary, gzip) is rejected at offset 0", t_bad_magic},
    {"a non-hex digit in any field is rejected", t_non_hex},
    {"a name without its NUL, with a NUL inside, or empty", t_name_without_nul},
    {"sizes past the end, 4 GiB files and names are rejected", t_huge_sizes},
    {"every truncation fails cleanly or ends at the trailer", t_every_truncation},
};

int main(void)
{
	test_init("cpio");
	test_run(cases, TEST_COUNT(cases));
	return test_finish();
}
