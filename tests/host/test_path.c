/*
 * http/core/path.c: percent-decoding, path cleaning (Go's net/http cleanPath
 * semantics, cases from Go's path.Clean tests), query iteration. Outputs
 * are written into buffers that end at a PROT_NONE page, so writing one
 * byte past the documented room faults.
 */
#include "tests/host/test.h"

#include "http/core/path.h"

#include <errno.h>

/* cap writable bytes ending right before a PROT_NONE page (test.h); input
 * copies go to slot 0, outputs to slot 1. */
static char *guard_region(int which, size_t cap) { return test_guard_region(which, cap); }

static const char *in_copy(const char *s, size_t n) { return memcpy(guard_region(0, n), s, n); }

/* ---- percent-decoding ---- */

struct dec_case {
	const char *in;
	int want;          /* length, or -EBADMSG */
	const char *out;
};

static const struct dec_case dec_cases[] = {
	{ "", 0, "" },
	{ "/plain/path", 11, "/plain/path" },
	{ "%41%42c", 3, "ABc" },
	{ "%4a%4A%7e", 3, "JJ~" },
	{ "/a%2Fb", 4, "/a/b" },       /* decoded '/' is data; clean after decoding */
	{ "%2e%2E%2f", 3, "../" },
	{ "a+b", 3, "a+b" },           /* '+' is not a space in paths */
	{ "%20", 1, " " },
	{ "%C3%A9", 2, "\xc3\xa9" },
	{ "%ff", 1, "\xff" },
	{ "%01", 1, "\x01" },
	{ "%", -EBADMSG, NULL },
	{ "a%", -EBADMSG, NULL },
	{ "%4", -EBADMSG, NULL },
	{ "a%4", -EBADMSG, NULL },
	{ "%zz", -EBADMSG, NULL },
	{ "%g1", -EBADMSG, NULL },
	{ "%1g", -EBADMSG, NULL },
	{ "%-1", -EBADMSG, NULL },
	{ "%00", -EBADMSG, NULL },           /* NUL would truncate C strings */
	{ "a%00b", -EBADMSG, NULL },
};

static void t_percent_decode(void)
{
	for (size_t i = 0; i < TEST_COUNT(dec_cases); i++) {
		const struct dec_case *c = &dec_cases[i];
		size_t n = strlen(c->in);
		const char *in = in_copy(c->in, n);
		/* out exactly as large as the input: decoding never grows */
		char *out = guard_region(1, n);
		int r = http_percent_decode(in, n, out, n);
		if (!CHECK(r == c->want))
			fprintf(stderr, "  \"%s\": got %d\n", c->in, r);
		else if (r >= 0)
			CHECK(!memcmp(out, c->out, (size_t)r));
	}
}

static void t_percent_decode_cap(void)
{
	char out[8];
	CHECK(http_percent_decode("abc", 3, out, 3) == 3);
	CHECK(http_percent_decode("abc", 3, out, 2) == -ENOBUFS);
	CHECK(http_percent_decode("%41%42", 6, out, 2) == 2);
	CHECK(http_percent_decode("%41%42", 6, out, 1) == -ENOBUFS);
	CHECK(http_percent_decode("", 0, out, 0) == 0);
	/* in place */
	char buf[] = "/x%2Fy%41";
	CHECK(http_percent_decode(buf, 9, buf, 9) == 5 && !memcmp(buf, "/x/yA", 5));
}

static void t_query_decode(void)
{
	char out[32];
	int r = http_query_decode("a+b%20c%2B", 10, out, sizeof out);
	CHECK(r == 6 && !memcmp(out, "a b c+", 6));
	CHECK(http_query_decode("%0", 2, out, sizeof out) == -EBADMSG);
	CHECK(http_query_decode("%00", 3, out, sizeof out) == -EBADMSG);
}

/* ---- cleaning ---- */

struct clean_case {
	const char *in, *want;
};

static const struct clean_case clean_cases[] = {
	/* net/http cleanPath */
	{ "", "/" },
	{ "/", "/" },
	{ "abc", "/abc" },
	{ "abc/", "/abc/" },
	{ "/abc/", "/abc/" },
	{ "/abc", "/abc" },
	{ "//", "/" },
	{ "///abc//", "/abc/" },
	{ "/a/b/../", "/a/" },
	{ "/a/..", "/" },
	{ "/a/../", "/" },
	{ "/../a/b/../././/c", "/a/c" },
	{ "/../a/b/../././/c/", "/a/c/" },
	/* Go path.Clean, made rooted */
	{ "abc/def", "/abc/def" },
	{ "a/b/c", "/a/b/c" },
	{ ".", "/" },
	{ "..", "/" },
	{ "../..", "/" },
	{ "../../abc", "/abc" },
	{ "/abc/def", "/abc/def" },
	{ "/.", "/" },
	{ "/..", "/" },
	{ "/../..", "/" },
	{ "/../../abc", "/abc" },
	{ "a/", "/a/" },
	{ "a/b/", "/a/b/" },
	{ "abc//def//ghi", "/abc/def/ghi" },
	{ "//abc", "/abc" },
	{ "abc//", "/abc/" },
	{ "abc/./def", "/abc/def" },
	{ "/./abc/def", "/abc/def" },
	{ "abc/.", "/abc" },
	{ "abc/def/ghi/../jkl", "/abc/def/jkl" },
	{ "abc/def/../ghi/../jkl", "/abc/jkl" },
	{ "abc/def/..", "/abc" },
	{ "abc/def/../..", "/" },
	{ "/abc/def/../..", "/" },
	{ "abc/def/../../..", "/" },
	{ "/abc/def/../../..", "/" },
	{ "abc/def/../../../ghi/jkl/../../../mno", "/mno" },
	{ "/../abc", "/abc" },
	{ "abc/./../def", "/def" },
	{ "abc//./../def", "/def" },
	{ "abc/../../././../def", "/def" },
	/* dots that are names */
	{ "/...", "/..." },
	{ "/.a/..b/c..", "/.a/..b/c.." },
	{ "/a./", "/a./" },
	{ "/./", "/" },
	{ "/a/./", "/a/" },
	{ "/a/.././../b/./c/", "/b/c/" },
};

static void t_clean(void)
{
	for (size_t i = 0; i < TEST_COUNT(clean_cases); i++) {
		const struct clean_case *c = &clean_cases[i];
		size_t n = strlen(c->in);
		const char *in = in_copy(c->in, n);
		char *out = guard_region(1, n + 1); /* the documented room */
		size_t m = http_path_clean(in, n, out, n + 1);
		if (!CHECK(m == strlen(c->want) && !memcmp(out, c->want, m)))
			fprintf(stderr, "  \"%s\": got \"%.*s\", want \"%s\"\n", c->in, (int)m, out, c->want);
	}
}

/* Without "..", a cap of exactly the clean length is enough; one byte
 * less always gives 0 and no write past the cap (the guard page behind it
 * would fault). */
static void t_clean_cap(void)
{
	for (size_t i = 0; i < TEST_COUNT(clean_cases); i++) {
		const struct clean_case *c = &clean_cases[i];
		size_t n = strlen(c->in), want = strlen(c->want);
		const char *in = in_copy(c->in, n);
		if (!strstr(c->in, ".."))
			CHECK(http_path_clean(in, n, guard_region(1, want), want) == want);
		if (!CHECK(http_path_clean(in, n, guard_region(1, want - 1), want - 1) == 0))
			fprintf(stderr, "  \"%s\" with cap %zu\n", c->in, want - 1);
	}
}

/* Cleaning is idempotent and never leaves ".", ".." or "//" segments; on
 * random paths of '/', '.', 'a'. */
static void t_clean_random(void)
{
	unsigned seed = 11;
	char in[64], out[65], again[66];
	for (int round = 0; round < 20000; round++) {
		seed = seed * 1103515245 + 12345;
		size_t n = (seed >> 16) % sizeof in;
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245 + 12345;
			in[i] = "/.a"[(seed >> 16) % 3];
		}
		size_t m = http_path_clean(in, n, out, sizeof out);
		if (!CHECK(m >= 1 && m <= n + 1 && out[0] == '/'))
			return;
		CHECK(http_path_clean(out, m, again, sizeof again) == m && !memcmp(out, again, m));
		out[m] = '\0';
		CHECK(!strstr(out, "//") && !strstr(out, "/./") && !strstr(out, "/../"));
		CHECK(!(m >= 2 && !strcmp(out + m - 2, "/.")) && !(m >= 3 && !strcmp(out + m - 3, "/..")));
		CHECK((n && in[n - 1] == '/') == (m > 1 && out[m - 1] == '/') || m == 1);
	}
}

/* ---- query ---- */

static void t_query(void)
{
	struct { const char *q; const char *pairs[8]; } cases[] = {
		{ "", { NULL } },
		{ "a=1&b=2", { "a", "1", "b", "2", NULL } },
		{ "a&b=", { "a", "", "b", "", NULL } },
		{ "&&a=1&&", { "a", "1", NULL } },
		{ "=x", { "", "x", NULL } },
		{ "a=b=c", { "a", "b=c", NULL } },
		{ "k=%20+v&", { "k", "%20+v", NULL } },
		{ "&", { NULL } },
	};
	for (size_t i = 0; i < TEST_COUNT(cases); i++) {
		size_t n = strlen(cases[i].q);
		struct http_slice q = { in_copy(cases[i].q, n), n }, k, v;
		size_t j = 0;
		while (http_query_next(&q, &k, &v)) {
			const char *wk = cases[i].pairs[j], *wv = wk ? cases[i].pairs[j + 1] : NULL;
			if (!CHECK(wk && k.n == strlen(wk) && !memcmp(k.p, wk, k.n) && v.n == strlen(wv) &&
				   !memcmp(v.p, wv, v.n)))
				break;
			j += 2;
		}
		CHECK(cases[i].pairs[j] == NULL);
		CHECK(q.n == 0);
	}
}

static const struct test_case cases[] = {
	{ "percent-decode table", t_percent_decode },
	{ "percent-decode capacity and in place", t_percent_decode_cap },
	{ "query decode: '+' is SP", t_query_decode },
	{ "clean: net/http cleanPath and path.Clean cases", t_clean },
	{ "clean: a cap below the clean length gives 0, never an overflow", t_clean_cap },
	{ "clean: random paths are idempotent and clean", t_clean_random },
	{ "query iteration", t_query },
};

int main(void)
{
	test_init("path");
	test_run(cases, TEST_COUNT(cases));
	return test_finish();
}
