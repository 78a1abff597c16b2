/*
 * Host tests for http/handler/mux.c, the Go 1.22 ServeMux-style router.
 *
 * Matching cases are rows of a table: a set of patterns (each registered
 * with its own string as the handler), a request (method, Host, target)
 * and the expected outcome rendered as one string:
 *     "<pattern> name=value ..."   matched (values are raw path text)
 *     "301 <Location>"             redirect
 *     "405 <Allow>"                method not allowed
 *     "404"                        nothing matches
 * The request path is matched from a copy that ends at a PROT_NONE page,
 * so a read past its end faults.
 *
 * Registration cases register patterns in order; all but the last must be
 * accepted, the last gives the expected code and message.
 *
 * The exhaustive case checks the precedence rules against their
 * definition: for every pair of patterns from a small vocabulary it
 * computes, by brute force over a universe of requests, which requests
 * each matches; the pair must be refused exactly when both match some
 * request but neither matches a strict subset of the other's, and when
 * accepted every request both match must go to the one with the smaller
 * set.
 */
#include "tests/host/test.h"

#include "http/handler/mux.h"

#include <errno.h>

static struct mux mux;
static char err[512];

/* Register a NULL-terminated list; the handler of each is its string. */
static bool setup(const char *const *pats)
{
	mux_init(&mux);
	for (; *pats; pats++)
		if (mux_handle(&mux, *pats, (void *)*pats, err, sizeof err) != 0) {
			fprintf(stderr, "setup: %s: %s\n", *pats, err);
			return false;
		}
	return true;
}

static void render(const struct mux_match *mm, const char *loc, char *out, size_t n)
{
	int k;
	switch (mm->status) {
	case MUX_MATCHED:
		k = snprintf(out, n, "%s", mm->pattern);
		for (size_t i = 0; i < mm->nvalues && k > 0 && (size_t)k < n; i++)
			k += snprintf(out + k, n - (size_t)k, " %s=%.*s", mm->values[i].name,
				      (int)mm->values[i].n, mm->values[i].p);
		break;
	case 301:
		snprintf(out, n, "301 %s", loc);
		break;
	case 405:
		snprintf(out, n, "405 %s", mm->allow);
		break;
	default:
		snprintf(out, n, "%d", mm->status);
	}
}

/* Match method/host/target ("path?query") on mux; the rendered outcome
 * goes to got. Also checks what holds for every outcome. */
static void route(const char *method, const char *host, const char *target, char *got, size_t n)
{
	char pathbuf[1024], loc[512];
	const char *q = strchr(target, '?');
	size_t plen = q ? (size_t)(q - target) : strlen(target);
	struct mux_match mm;

	memcpy(pathbuf, target, plen);
	pathbuf[plen] = '\0';
	const char *path = test_guarded(pathbuf);
	int st = mux_match(&mux, method, strlen(method), host, strlen(host), path, plen, q ? q + 1 : "",
			   q ? strlen(q + 1) : 0, loc, sizeof loc, &mm);
	CHECK(st == mm.status);
	if (mm.status == MUX_MATCHED) {
		/* the handler is the caller's string, the pattern the mux's copy */
		CHECK(mm.handler != (void *)mm.pattern && strcmp(mm.handler, mm.pattern) == 0);
		for (size_t i = 0; i < mm.nvalues; i++)
			CHECK(mm.values[i].p >= path && mm.values[i].p + mm.values[i].n <= path + plen);
	} else {
		CHECK(mm.handler == NULL && mm.nvalues == 0);
	}
	if (mm.status != 301)
		CHECK(loc[0] == '\0');
	render(&mm, loc, got, n);
}

/* ---- matching table ---- */

/* clang-format off */
/* The examples of Go's ServeMux documentation, together. */
static const char *const go_doc[] = {
	"/index.html",
	"GET /static/",
	"example.com/",
	"example.com/{$}",
	"/b/{bucket}/o/{objectname...}",
	"/posts/{id}",
	"/posts/latest",
	"/images/",
	"/images/{$}",
	"/",
	NULL,
};

static const char *const methods[] = {
	"GET /posts/{id}",
	"/posts/{id}",
	"POST /posts/{id}",
	"HEAD /h",
	"GET /g",
	"PUT /g",
	"DELETE /items/{id}",
	"GET /dir/",
	"CONNECT /x//y",
	"get /lower",
	NULL,
};

static const char *const backtrack[] = {
	"/a/b/z",
	"/a/{x}/c",
	"/a/{x}/{y}/",
	"/a/{x}/{y}/{$}",
	NULL,
};

static const char *const escapes[] = {
	"/%7Euser",
	"/caf%C3%A9/{rest...}",
	"/100%/x",
	"/a%2Fb",
	NULL,
};

static const char *const roots[] = {
	"/{path...}",
	"/{$}",
	"/files/{dir}/",
	NULL,
};

static const char *const hosts[] = {
	"/a",
	"a.example/",
	"B.Example/b/{x}",
	"[::1]/v6",
	"GET api.example/{$}",
	NULL,
};

/* No "/": unclean paths still redirect when nothing would match. */
static const char *const no_root[] = {
	"/only",
	NULL,
};

struct row {
	const char *name;
	const char *const *set;
	const char *method, *host, *target;
	const char *want;
};

static const struct row rows[] = {
	/* Literal paths, subtrees, hosts (Go's documentation examples). */
	{ "literal path, any method", go_doc, "POST", "", "/index.html", "/index.html" },
	{ "GET subtree", go_doc, "GET", "", "/static/css/site.css", "GET /static/" },
	{ "GET pattern also takes HEAD", go_doc, "HEAD", "", "/static/x", "GET /static/" },
	{ "other method falls to /", go_doc, "POST", "", "/static/x", "/" },
	{ "host pattern beats no host", go_doc, "GET", "example.com", "/anything", "example.com/" },
	{ "host beats a more specific path", go_doc, "GET", "example.com", "/index.html", "example.com/" },
	{ "host {$} only the root", go_doc, "GET", "example.com", "/", "example.com/{$}" },
	{ "host is case-insensitive, port stripped", go_doc, "GET", "EXAMPLE.com:8080", "/",
	  "example.com/{$}" },
	{ "another host uses host-less patterns", go_doc, "GET", "other.org", "/index.html", "/index.html" },
	{ "no Host header", go_doc, "GET", "", "/", "/" },
	{ "named {...} takes the rest", go_doc, "GET", "", "/b/bk/o/a/b/c",
	  "/b/{bucket}/o/{objectname...} bucket=bk objectname=a/b/c" },
	{ "{...} takes an empty rest", go_doc, "GET", "", "/b/bk/o/",
	  "/b/{bucket}/o/{objectname...} bucket=bk objectname=" },
	{ "{...} needs its slash: redirect", go_doc, "GET", "", "/b/bk/o", "301 /b/bk/o/" },
	{ "literal beats {x}", go_doc, "GET", "", "/posts/latest", "/posts/latest" },
	{ "{x} takes one segment", go_doc, "GET", "", "/posts/42", "/posts/{id} id=42" },
	{ "{x} never takes a trailing slash", go_doc, "GET", "", "/posts/42/", "/" },
	{ "%2F does not split a segment", go_doc, "GET", "", "/posts/a%2Fb", "/posts/{id} id=a%2Fb" },
	{ "%2e%2e is no dot segment", go_doc, "GET", "", "/posts/%2e%2e", "/posts/{id} id=%2e%2e" },
	{ "{$} matches the slash path", go_doc, "GET", "", "/images/", "/images/{$}" },
	{ "subtree below {$}", go_doc, "GET", "", "/images/a.png", "/images/" },
	/* Trailing-slash redirects. */
	{ "/dir redirects to /dir/", go_doc, "GET", "", "/images", "301 /images/" },
	{ "redirect keeps the query", go_doc, "GET", "", "/images?size=2&x", "301 /images/?size=2&x" },
	{ "redirect drops an empty query", go_doc, "GET", "", "/images?", "301 /images/" },
	{ "GET /static redirects to the GET subtree", go_doc, "GET", "", "/static", "301 /static/" },
	{ "no redirect if the subtree is not for this method", go_doc, "POST", "", "/static", "/" },
	{ "redirect for a method-specific subtree", methods, "GET", "", "/dir", "301 /dir/" },
	{ "redirect only for this method", methods, "POST", "", "/dir", "405 GET, HEAD" },
	/* Unclean paths. */
	{ "// redirects", go_doc, "GET", "", "/posts//42", "301 /posts/42" },
	{ "/./ redirects", go_doc, "GET", "", "/posts/./42", "301 /posts/42" },
	{ "/../ redirects, query kept", go_doc, "GET", "", "/static/../posts/1?a=b", "301 /posts/1?a=b" },
	{ "clean to a subtree adds its slash", go_doc, "GET", "", "/x/../images", "301 /images/" },
	{ "trailing /. is dropped", go_doc, "GET", "", "/images/.", "301 /images/" },
	{ "trailing slash kept", go_doc, "GET", "", "/a//b/", "301 /a/b/" },
	{ ".. stops at the root", go_doc, "GET", "", "/../../a", "301 /a" },
	{ "/.. is the root", go_doc, "GET", "", "/..", "301 /" },
	{ "dots in names are not dot segments", go_doc, "GET", "", "/posts/...", "/posts/{id} id=..." },
	{ "unclean redirects even if nothing matches", no_root, "GET", "", "/x//y?q", "301 /x/y?q" },
	{ "clean path, nothing matches", no_root, "GET", "", "/x/y", "404" },
	{ "CONNECT paths are not cleaned", methods, "CONNECT", "", "/x//y", "CONNECT /x//y" },
	{ "other methods are", methods, "GET", "", "/x//y", "301 /x/y" },
	{ "CONNECT host keeps its port", hosts, "CONNECT", "a.example:443", "/q", "404" },
	/* Methods and 405. */
	{ "method pattern beats no method", methods, "GET", "", "/posts/1", "GET /posts/{id} id=1" },
	{ "HEAD uses the GET pattern first", methods, "HEAD", "", "/posts/1", "GET /posts/{id} id=1" },
	{ "unlisted method uses no-method pattern", methods, "PATCH", "", "/posts/1", "/posts/{id} id=1" },
	{ "POST pattern", methods, "POST", "", "/posts/1", "POST /posts/{id} id=1" },
	{ "HEAD pattern is HEAD only", methods, "GET", "", "/h", "405 HEAD" },
	{ "HEAD pattern", methods, "HEAD", "", "/h", "HEAD /h" },
	{ "405 lists sorted methods and HEAD", methods, "POST", "", "/g", "405 GET, HEAD, PUT" },
	{ "HEAD takes GET /g", methods, "HEAD", "", "/g", "GET /g" },
	{ "405 for a wildcard path", methods, "GET", "", "/items/3", "405 DELETE" },
	{ "405 in a subtree", methods, "POST", "", "/dir/x", "405 GET, HEAD" },
	{ "methods are case-sensitive", methods, "GET", "", "/lower", "405 get" },
	{ "lowercase method pattern", methods, "get", "", "/lower", "get /lower" },
	{ "nothing at all", methods, "GET", "", "/nothing", "404" },
	{ "not origin-form", methods, "OPTIONS", "", "*", "404" },
	/* Backtracking in the tree. */
	{ "literal path fails, backtrack to {x}", backtrack, "GET", "", "/a/b/c", "/a/{x}/c x=b" },
	{ "literal path", backtrack, "GET", "", "/a/b/z", "/a/b/z" },
	{ "two wildcards then {$}", backtrack, "GET", "", "/a/b/q/", "/a/{x}/{y}/{$} x=b y=q" },
	{ "two wildcards then subtree", backtrack, "GET", "", "/a/b/q/r/s", "/a/{x}/{y}/ x=b y=q" },
	{ "{x} takes an empty segment (CONNECT)", backtrack, "CONNECT", "", "/a//c", "/a/{x}/c x=" },
	/* Escapes compare decoded, values stay raw. */
	{ "escaped literal pattern", escapes, "GET", "", "/~user", "/%7Euser" },
	{ "escaped request, other case", escapes, "GET", "", "/%7euser", "/%7Euser" },
	{ "decoded literal, raw value", escapes, "GET", "", "/caf%c3%a9/x%20y",
	  "/caf%C3%A9/{rest...} rest=x%20y" },
	{ "bad escape compares raw", escapes, "GET", "", "/100%/x", "/100%/x" },
	{ "%25 decodes to the raw %", escapes, "GET", "", "/100%25/x", "/100%/x" },
	{ "pattern %2F is one segment", escapes, "GET", "", "/a%2fb", "/a%2Fb" },
	{ "a real slash is not %2F", escapes, "GET", "", "/a/b", "404" },
	/* Root patterns. */
	{ "/{$} beats /{path...}", roots, "GET", "", "/", "/{$}" },
	{ "/{path...} takes all", roots, "GET", "", "/a/b/", "/{path...} path=a/b/" },
	{ "trailing-slash pattern with a wildcard", roots, "GET", "", "/files/d/x", "/files/{dir}/ dir=d" },
	{ "inexact {...} match yields to the redirect", roots, "GET", "", "/files/d", "301 /files/d/" },
	/* Hosts. */
	{ "host subtree", hosts, "GET", "a.example", "/a", "a.example/" },
	{ "host-less pattern for other hosts", hosts, "GET", "c.example", "/a", "/a" },
	{ "pattern host is case-insensitive", hosts, "GET", "b.example", "/b/1", "B.Example/b/{x} x=1" },
	{ "host falls back when its path fails", hosts, "GET", "b.example", "/a", "/a" },
	{ "IPv6 host, port stripped", hosts, "GET", "[::1]:8080", "/v6", "[::1]/v6" },
	{ "bracketed host without port", hosts, "GET", "[::1]", "/v6", "[::1]/v6" },
	{ "bracketed host, port with colon kept", hosts, "GET", "[::1]:8:8", "/v6", "404" },
	{ "host with method: other method 405", hosts, "POST", "api.example", "/", "405 GET, HEAD" },
	{ "host + method", hosts, "HEAD", "api.example:80", "/", "GET api.example/{$}" },
};

/* clang-format on */

static void run_rows(void)
{
	for (size_t i = 0; i < TEST_COUNT(rows); i++) {
		const struct row *r = &rows[i];
		char got[512];
		test_begin(r->name);
		if (CHECK(setup(r->set))) {
			route(r->method, r->host, r->target, got, sizeof got);
			if (!CHECK(strcmp(got, r->want) == 0))
				fprintf(stderr, "  %s %s%s: got \"%s\", want \"%s\"\n", r->method, r->host,
					r->target, got, r->want);
		}
		test_end();
	}
}

/* ---- registration table ---- */

struct reg {
	const char *name;
	const char *pats[4]; /* all but the last must be accepted */
	int want;
	const char *msg; /* exact message, or a substring if it starts with '~' */
};

/* clang-format off */
static const struct reg regs[] = {
	/* Accepted pairs from Go's documentation. */
	{ "literal vs wildcard", { "/posts/{id}", "/posts/latest" }, 0, "" },
	{ "method vs none", { "/posts/{id}", "GET /posts/{id}" }, 0, "" },
	{ "host vs none", { "/", "example.com/" }, 0, "" },
	{ "subtree vs {$}", { "/images/", "/images/{$}" }, 0, "" },
	{ "GET vs HEAD, same path", { "GET /a", "HEAD /a" }, 0, "" },
	{ "different hosts never conflict", { "a.com/{x}", "b.com/{x}" }, 0, "" },
	{ "{$} vs {x}", { "/a/{$}", "/a/{x}" }, 0, "" },
	{ "unclean pattern without method", { "/a/../b" }, 0, "" },
	{ "unclean CONNECT pattern", { "CONNECT /a//b" }, 0, "" },
	{ "method and extra spaces", { "GET \t /x  " }, 0, "" },
	/* Conflicts. */
	{ "Go's overlap example",
	  { "/b/{bucket}/o/default", "/b/default/o/{noun}" },
	  -EEXIST,
	  "pattern \"/b/default/o/{noun}\" conflicts with pattern \"/b/{bucket}/o/default\": both match some "
	  "paths, like \"/b/default/o/default\", but neither is more specific" },
	{ "crossed wildcards", { "/a/{x}", "/{y}/b" }, -EEXIST, "~like \"/a/b\"" },
	{ "identical patterns",
	  { "/a", "/a" },
	  -EEXIST,
	  "pattern \"/a\" conflicts with pattern \"/a\": both match the same requests" },
	{ "same but wildcard names", { "/a/{x}", "/a/{y}" }, -EEXIST, "~the same requests" },
	{ "escaped same literal", { "/%61", "/a" }, -EEXIST, "~the same requests" },
	{ "/ and /{x...}", { "/", "/{x...}" }, -EEXIST, "~the same requests" },
	{ "same host, other case", { "Example.com/a", "example.COM/a" }, -EEXIST, "~the same requests" },
	{ "fewer methods, more general path",
	  { "/a", "GET /{x}" },
	  -EEXIST,
	  "pattern \"GET /{x}\" conflicts with pattern \"/a\": it matches fewer methods, but has a "
	  "more general path" },
	{ "more methods, more specific path", { "GET /{x}", "/a" }, -EEXIST,
	  "~it matches more methods, but" },
	{ "GET vs HEAD crossed", { "GET /a", "HEAD /{x}" }, -EEXIST, "~fewer methods" },
	{ "conflict with the second", { "/x", "/a/{x}", "/{y}/b" }, -EEXIST, "~with pattern \"/a/{x}\"" },
	/* Parse errors, Go's messages. */
	{ "empty", { "" }, -EINVAL, "empty pattern" },
	{ "no slash", { "GET" }, -EINVAL, "parsing \"GET\": at offset 0: host/path missing /" },
	{ "method, no slash", { "GET x" }, -EINVAL, "parsing \"GET x\": at offset 4: host/path missing /" },
	{ "bad method", { "G@T /" }, -EINVAL, "parsing \"G@T /\": at offset 0: invalid method \"G@T\"" },
	{ "method too long for Allow", { "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFG /" }, -EINVAL, "~method too long" },
	{ "brace in host", { "h{x}/a" }, -EINVAL, "~at offset 1: host contains '{' (missing initial '/'?)" },
	{ "unclean GET pattern",
	  { "GET /a/../b" },
	  -EINVAL,
	  "~at offset 4: non-CONNECT pattern with unclean path can never match" },
	{ "unclean //", { "POST /a//b" }, -EINVAL, "~unclean path" },
	{ "not whole segment", { "/a/x{y}" }, -EINVAL,
	  "~at offset 3: bad wildcard segment (must start with '{')" },
	{ "unterminated", { "/a/{x" }, -EINVAL, "~bad wildcard segment (must end with '}')" },
	{ "lone brace", { "/{" }, -EINVAL, "~must end with '}'" },
	{ "{...} not last",
	  { "/a/{x...}/b" },
	  -EINVAL,
	  "parsing \"/a/{x...}/b\": at offset 3: {...} wildcard not at end" },
	{ "{$} not last", { "/a/{$}/b" }, -EINVAL, "~at offset 3: {$} not at end" },
	{ "{$} then slash", { "/a/{$}/" }, -EINVAL, "~{$} not at end" },
	{ "empty wildcard", { "/{}" }, -EINVAL, "~empty wildcard" },
	{ "empty multi", { "/{...}" }, -EINVAL, "~empty wildcard" },
	{ "digit first", { "/{1x}" }, -EINVAL, "~bad wildcard name \"1x\"" },
	{ "dash in name", { "/{a-b}" }, -EINVAL, "~bad wildcard name \"a-b\"" },
	{ "duplicate name", { "/{x}/a/{x...}" }, -EINVAL, "~at offset 7: duplicate wildcard name \"x\"" },
	{ "quotes in message", { "/\"{x" }, -EINVAL, "~parsing \"/\\\"{x\"" },
	/* Limits. */
	{ "17 segments", { "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q" }, -ENOSPC, "~more than 16 path segments" },
	{ "16 segments", { "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p" }, 0, "" },
	{ "16 segments with subtree", { "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/" }, 0, "" },
	{ "9 named wildcards", { "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}" }, -ENOSPC, "~more than 8 named" },
	{ "8 named wildcards", { "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/" }, 0, "" },
	{ "33-byte name", { "/{abcdefghijklmnopqrstuvwxyz0123456}" }, -ENOSPC, "~longer than 32" },
	{ "32-byte name", { "/{abcdefghijklmnopqrstuvwxyz012345}" }, 0, "" },
};

/* clang-format on */

static bool msg_ok(const char *got, const char *want)
{
	return want[0] == '~' ? strstr(got, want + 1) != NULL : strcmp(got, want) == 0;
}

static void run_regs(void)
{
	for (size_t i = 0; i < TEST_COUNT(regs); i++) {
		const struct reg *r = &regs[i];
		size_t n = 0, ntext;
		int rc = 0;
		test_begin(r->name);
		mux_init(&mux);
		while (n < 4 && r->pats[n])
			n++;
		for (size_t k = 0; k + 1 < n; k++)
			CHECK(mux_handle(&mux, r->pats[k], (void *)r->pats[k], err, sizeof err) == 0);
		ntext = mux.ntext;
		strcpy(err, "untouched");
		rc = mux_handle(&mux, r->pats[n - 1], (void *)r->pats[n - 1], err, sizeof err);
		CHECK(rc == r->want);
		if (!CHECK(msg_ok(err, r->msg)))
			fprintf(stderr, "  got message: %s\n", err);
		if (rc)
			CHECK(mux.nroutes == n - 1 && mux.ntext == ntext);
		test_end();
	}
}

/* ---- other cases ---- */

static void t_nil_handler(void)
{
	mux_init(&mux);
	CHECK(mux_handle(&mux, "/a", NULL, err, sizeof err) == -EINVAL);
	CHECK(strcmp(err, "nil handler") == 0);
	CHECK(mux_handle(&mux, NULL, &mux, err, sizeof err) == -EINVAL);
	CHECK(mux.nroutes == 0);
}

static void t_long_pattern(void)
{
	char p[300];
	memset(p, 'a', sizeof p);
	p[0] = '/';
	p[256] = '\0';
	mux_init(&mux);
	CHECK(mux_handle(&mux, p, p, err, sizeof err) == -ENOSPC);
	p[255] = '\0';
	CHECK(mux_handle(&mux, p, p, err, sizeof err) == 0);
}

static void t_small_err_buffer(void)
{
	char small[8];
	mux_init(&mux);
	memset(small, 'x', sizeof small);
	CHECK(mux_handle(&mux, "/{", small, small, sizeof small) == -EINVAL);
	CHECK(strcmp(small, "parsing") == 0);
	CHECK(mux_handle(&mux, "/{", small, NULL, 0) == -EINVAL);
	CHECK(mux_handle(&mux, "/ok", small, small, sizeof small) == 0);
	CHECK(small[0] == '\0');
}

static void t_too_many_routes(void)
{
	char pats[MUX_MAX_ROUTES + 1][16];
	char got[256];
	mux_init(&mux);
	for (int i = 0; i <= MUX_MAX_ROUTES; i++) {
		snprintf(pats[i], sizeof pats[i], "/r%d", i);
		int rc = mux_handle(&mux, pats[i], pats[i], err, sizeof err);
		CHECK(rc == (i < MUX_MAX_ROUTES ? 0 : -ENOSPC));
	}
	CHECK(strstr(err, "too many routes") != NULL);
	route("GET", "", "/r127", got, sizeof got);
	CHECK(strcmp(got, "/r127") == 0);
	route("GET", "", "/r128", got, sizeof got);
	CHECK(strcmp(got, "404") == 0);
}

/* Deep distinct patterns use up the tree before the route table. */
static void t_too_many_nodes(void)
{
	static char pats[MUX_MAX_ROUTES][64];
	char got[256];
	int i, rc = 0;
	size_t nodes = 0;
	mux_init(&mux);
	for (i = 0; i < MUX_MAX_ROUTES && rc == 0; i++) {
		snprintf(pats[i], sizeof pats[i], "/%d/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o", i);
		nodes = mux.nnodes;
		rc = mux_handle(&mux, pats[i], pats[i], err, sizeof err);
	}
	CHECK(rc == -ENOSPC && i < MUX_MAX_ROUTES);
	CHECK(strstr(err, "too many tree nodes") != NULL);
	CHECK(mux.nnodes == nodes && mux.nroutes == (size_t)i - 1);
	route("GET", "", "/0/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o", got, sizeof got);
	CHECK(strcmp(got, pats[0]) == 0);
	route("GET", "", "/0/a/b/c/d/e/f/g/h/i/j/k/l/m/n/p", got, sizeof got);
	CHECK(strcmp(got, "404") == 0);
}

static void t_text_pool_full(void)
{
	static char pats[MUX_MAX_ROUTES][256];
	int i, rc = 0;
	mux_init(&mux);
	for (i = 0; i < MUX_MAX_ROUTES && rc == 0; i++) {
		memset(pats[i], 'x', 200);
		snprintf(pats[i], sizeof pats[i], "/%d/", i);
		pats[i][strlen(pats[i])] = 'x';
		pats[i][200] = '\0';
		rc = mux_handle(&mux, pats[i], pats[i], err, sizeof err);
	}
	CHECK(rc == -ENOSPC);
	CHECK(strstr(err, "text pool full") != NULL);
	CHECK(mux.ntext <= MUX_TEXT_MAX);
}

static void t_zeroed_mux(void)
{
	static struct mux z;
	struct mux_match mm;
	char loc[64];
	CHECK(mux_match(&z, "GET", 3, "", 0, "/", 1, "", 0, loc, sizeof loc, &mm) == 404);
	CHECK(mux_handle(&z, "/x/{id}", &z, err, sizeof err) == 0);
	CHECK(mux_match(&z, "GET", 3, "", 0, "/x/7", 4, "", 0, loc, sizeof loc, &mm) == MUX_MATCHED);
	CHECK(mm.handler == &z && mm.nvalues == 1);
}

static void t_redirect_buffer(void)
{
	struct mux_match mm;
	char loc[16];
	if (!CHECK(setup(go_doc)))
		return;
	/* "/images/" + NUL needs 9 bytes */
	CHECK(mux_match(&mux, "GET", 3, "", 0, "/images", 7, "", 0, loc, 9, &mm) == 301);
	CHECK(strcmp(loc, "/images/") == 0);
	CHECK(mux_match(&mux, "GET", 3, "", 0, "/images", 7, "", 0, loc, 8, &mm) == 414);
	CHECK(loc[0] == '\0');
	CHECK(mux_match(&mux, "GET", 3, "", 0, "/images", 7, "q", 1, loc, 10, &mm) == 414);
	CHECK(mux_match(&mux, "GET", 3, "", 0, "/images", 7, "q", 1, loc, 11, &mm) == 301);
	CHECK(strcmp(loc, "/images/?q") == 0);
	CHECK(mux_match(&mux, "GET", 3, "", 0, "/a//b", 5, "", 0, loc, 4, &mm) == 414);
	CHECK(mux_match(&mux, "GET", 3, "", 0, "/a//b", 5, "", 0, NULL, 0, &mm) == 414);
	CHECK(mux_match(&mux, "GET", 3, "", 0, "/a", 2, "", 0, NULL, 0, &mm) == MUX_MATCHED);
}

static void t_path_value(void)
{
	static const char *const set[] = {"/u/{id}/f/{rest...}", "/v/{id}/", NULL};
	struct mux_match mm;
	const char *path = "/u/42/f/x/y", *v;
	size_t n = 99;
	char loc[64];
	if (!CHECK(setup(set)))
		return;
	CHECK(mux_match(&mux, "GET", 3, "", 0, path, strlen(path), "", 0, loc, sizeof loc, &mm) == 0);
	v = mux_path_value(&mm, "id", &n);
	CHECK(v == path + 3 && n == 2);
	v = mux_path_value(&mm, "rest", &n);
	CHECK(v == path + 8 && n == 3);
	CHECK(mux_path_value(&mm, "nope", &n) == NULL && n == 0);
	CHECK(mux_path_value(&mm, "id", NULL) == path + 3);
	/* the anonymous subtree wildcard is no value */
	CHECK(mux_match(&mux, "GET", 3, "", 0, "/v/1/z", 6, "", 0, loc, sizeof loc, &mm) == 0);
	CHECK(mm.nvalues == 1 && strcmp(mm.values[0].name, "id") == 0);
}

/* ---- exhaustive precedence check ---- */

enum { E_NONE, E_SLASH, E_MULTI, E_DOLLAR };

struct opat {
	const char *method; /* "" = any */
	int nsegs;
	bool wild[2]; /* else the literal "a" */
	int end;
	char str[64];
};

struct oreq {
	const char *method;
	int nsegs;
	char seg[3]; /* 'a' or 'z' */
	bool slash;
	char path[16];
};

static const char *const pat_methods[] = {"", "GET", "HEAD", "POST"};
static const char *const req_methods[] = {"GET", "HEAD", "POST", "PUT"};

static struct opat opats[4 * 4 * 7];
static struct oreq oreqs[4 * 29];
static size_t nopats, noreqs;

static void gen_patterns(void)
{
	for (int m = 0; m < 4; m++)
		for (int ns = 0; ns <= 2; ns++)
			for (int bits = 0; bits < 1 << ns; bits++)
				for (int end = E_NONE; end <= E_DOLLAR; end++) {
					struct opat *p = &opats[nopats];
					int k;
					if (ns == 0 && end == E_NONE)
						continue; /* "/" is E_SLASH */
					*p = (struct opat){.method = pat_methods[m], .nsegs = ns, .end = end};
					k = snprintf(p->str, sizeof p->str, "%s%s", p->method, m ? " " : "");
					for (int i = 0; i < ns; i++) {
						p->wild[i] = bits >> i & 1;
						k += snprintf(p->str + k, sizeof p->str - (size_t)k,
							      p->wild[i] ? "/{w%d}" : "/a", i);
					}
					snprintf(p->str + k, sizeof p->str - (size_t)k, "%s",
						 end == E_NONE    ? ""
						 : end == E_SLASH ? "/"
						 : end == E_MULTI ? "/{r...}"
								  : "/{$}");
					nopats++;
				}
}

static void gen_requests(void)
{
	for (int m = 0; m < 4; m++)
		for (int ns = 0; ns <= 3; ns++)
			for (int bits = 0; bits < 1 << ns; bits++)
				for (int slash = 0; slash < 2; slash++) {
					struct oreq *r = &oreqs[noreqs];
					int k = 0;
					if (ns == 0 && !slash)
						continue;
					*r = (struct oreq){
					    .method = req_methods[m], .nsegs = ns, .slash = slash};
					for (int i = 0; i < ns; i++) {
						r->seg[i] = bits >> i & 1 ? 'z' : 'a';
						r->path[k++] = '/';
						r->path[k++] = r->seg[i];
					}
					if (slash)
						r->path[k++] = '/';
					noreqs++;
				}
}

/* The definition, written plainly: does pattern p match request r? */
static bool omatch(const struct opat *p, const struct oreq *r)
{
	bool method = !p->method[0] || strcmp(p->method, r->method) == 0 ||
		      (strcmp(p->method, "GET") == 0 && strcmp(r->method, "HEAD") == 0);
	int elems = r->nsegs + r->slash;
	if (!method || r->nsegs < p->nsegs)
		return false;
	for (int i = 0; i < p->nsegs; i++)
		if (!p->wild[i] && r->seg[i] != 'a')
			return false;
	switch (p->end) {
	case E_NONE:
		return elems == p->nsegs;
	case E_DOLLAR:
		return r->nsegs == p->nsegs && r->slash;
	default:
		return elems >= p->nsegs + 1;
	}
}

typedef uint64_t reqset[2];

static void oset(const struct opat *p, reqset s)
{
	s[0] = s[1] = 0;
	for (size_t i = 0; i < noreqs; i++)
		if (omatch(p, &oreqs[i]))
			s[i / 64] |= 1ull << (i % 64);
}

static bool strict_subset(const reqset a, const reqset b)
{
	return (a[0] & ~b[0]) == 0 && (a[1] & ~b[1]) == 0 && (a[0] != b[0] || a[1] != b[1]);
}

static void check_pair(size_t i, size_t j, reqset *sets)
{
	const struct opat *p = &opats[i], *q = &opats[j];
	bool meet = (sets[i][0] & sets[j][0]) || (sets[i][1] & sets[j][1]);
	bool psub = strict_subset(sets[i], sets[j]), qsub = strict_subset(sets[j], sets[i]);
	bool conflict = meet && !psub && !qsub;
	struct mux_match mm;
	char loc[64];

	mux_init(&mux);
	if (!CHECK(mux_handle(&mux, p->str, (void *)p, err, sizeof err) == 0))
		return;
	int rc = mux_handle(&mux, q->str, (void *)q, err, sizeof err);
	if (!CHECK(rc == (conflict ? -EEXIST : 0))) {
		fprintf(stderr, "  \"%s\" then \"%s\": got %d (%s)\n", p->str, q->str, rc, err);
		return;
	}
	if (rc)
		return;
	for (size_t k = 0; k < noreqs; k++) {
		const struct oreq *r = &oreqs[k];
		bool in_p = sets[i][k / 64] >> (k % 64) & 1, in_q = sets[j][k / 64] >> (k % 64) & 1;
		const void *want = in_p && in_q ? (psub ? p : q) : in_p ? p : in_q ? q : NULL;
		int st = mux_match(&mux, r->method, strlen(r->method), "", 0, r->path, strlen(r->path), "", 0,
				   loc, sizeof loc, &mm);
		/* a match may instead be a /tree -> /tree/ redirect */
		bool ok = want ? (st == 0 && mm.handler == want) || st == 301 : st != 0;
		if (!CHECK(ok))
			fprintf(stderr, "  {\"%s\", \"%s\"} %s %s: status %d, \"%s\"\n", p->str, q->str,
				r->method, r->path, st, st == 0 ? mm.pattern : loc);
	}
}

static void t_exhaustive(void)
{
	static reqset sets[TEST_COUNT(opats)];
	gen_patterns();
	gen_requests();
	CHECK(nopats == TEST_COUNT(opats) - 4 && noreqs == TEST_COUNT(oreqs));
	for (size_t i = 0; i < nopats; i++)
		oset(&opats[i], sets[i]);
	for (size_t i = 0; i < nopats && test_state.fails < 20; i++)
		for (size_t j = 0; j < nopats; j++)
			check_pair(i, j, sets);
}

static const struct test_case cases[] = {
    {"nil handler or pattern", t_nil_handler},
    {"pattern length limit", t_long_pattern},
    {"message fits a small buffer", t_small_err_buffer},
    {"route table full", t_too_many_routes},
    {"tree full", t_too_many_nodes},
    {"text pool full", t_text_pool_full},
    {"zeroed mux", t_zeroed_mux},
    {"redirect buffer too small: 414", t_redirect_buffer},
    {"mux_path_value", t_path_value},
    {"exhaustive: conflicts and precedence match their definition", t_exhaustive},
};

int main(void)
{
	test_init("mux");
	run_rows();
	run_regs();
	test_run(cases, TEST_COUNT(cases));
	return test_finish();
}
