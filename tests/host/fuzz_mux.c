/*
 * libFuzzer target for http/handler/mux.c.
 *
 * An input is read one of two ways, chosen by its first byte:
 *
 *   odd: raw text. Lines up to the first empty one are patterns, the rest
 *        requests "METHOD HOST PATH[?QUERY]" (HOST "-" for none). Checks
 *        the invariants any input must keep: no crash or over-read,
 *        registration returns a known code with a message, a status is one
 *        of 0/301/404/405/414, a match names a registered handler and its
 *        pattern, values lie inside the path, a redirect is a clean
 *        NUL-terminated path.
 *
 *   even: bytes choose patterns and requests from a small vocabulary
 *        (methods, hosts, literals with escapes, wildcards, {$}, subtree,
 *        dot segments), so they collide often. Each result is compared
 *        with an oracle written independently of the tree: it matches
 *        every pattern against the request separately and picks the
 *        winner by the precedence order (host, then method, then literal <
 *        {x} < {x...} segment by segment); an exact tie there means the
 *        mux accepted two equivalent patterns. It also predicts redirects,
 *        the Allow list and the path values.
 */
#include "http/handler/mux.h"
#include "tests/host/fuzz.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXPATS 8

static struct mux mux;
static int handlers[MUX_MAX_ROUTES];
static char registered[MUX_MAX_ROUTES][MUX_PATTERN_MAX + 1];

/* ---- input reader ---- */

struct src {
	const uint8_t *p;
	size_t n;
};

static unsigned take(struct src *s, unsigned mod)
{
	if (!s->n)
		return 0;
	s->n--;
	return *s->p++ % mod;
}

/* ---- checks every outcome must pass ---- */

static bool oracle_is_clean(const char *p, size_t n);

static void check_common(const char *method, const char *path, size_t plen, const char *loc, size_t cap,
			 const struct mux_match *mm, int st)
{
	INVARIANT(st == mm->status);
	INVARIANT(st == 0 || st == 301 || st == 404 || st == 405 || st == 414);
	INVARIANT(memchr(loc, '\0', cap) != NULL);
	if (st == MUX_MATCHED) {
		int i = (int *)mm->handler - handlers;
		INVARIANT(i >= 0 && (size_t)i < mux.nroutes);
		INVARIANT(strcmp(mm->pattern, registered[i]) == 0);
		INVARIANT(mm->nvalues <= MUX_MAX_VALUES);
		for (size_t k = 0; k < mm->nvalues; k++) {
			INVARIANT(mm->values[k].name && mm->values[k].name[0]);
			INVARIANT(mm->values[k].p >= path &&
				  mm->values[k].p + mm->values[k].n <= path + plen);
			INVARIANT(mux_path_value(mm, mm->values[k].name, NULL) != NULL);
		}
	} else {
		INVARIANT(mm->handler == NULL && mm->nvalues == 0);
	}
	if (st == 301) {
		size_t ln = strcspn(loc, "?");
		INVARIANT(loc[0] == '/');
		INVARIANT(strcmp(method, "CONNECT") == 0 || oracle_is_clean(loc, ln));
	} else {
		INVARIANT(loc[0] == '\0');
	}
	if (st == 405)
		INVARIANT(mm->allow[0] != '\0');
	else
		INVARIANT(mm->allow[0] == '\0');
}

static int do_register(const char *pat)
{
	char err[256];
	size_t i = mux.nroutes;
	memset(err, 'x', sizeof err);
	int rc = mux_handle(&mux, pat, &handlers[i < MUX_MAX_ROUTES ? i : 0], err, sizeof err);
	INVARIANT(rc == 0 || rc == -EINVAL || rc == -EEXIST || rc == -ENOSPC);
	INVARIANT(memchr(err, '\0', sizeof err) != NULL);
	INVARIANT(rc == 0 ? err[0] == '\0' : err[0] != '\0');
	if (rc == 0) {
		INVARIANT(mux.nroutes == i + 1);
		snprintf(registered[i], sizeof registered[i], "%s", pat);
	} else {
		INVARIANT(mux.nroutes == i);
	}
	return rc;
}

/* ---- raw text mode ---- */

static void raw_request(char *line)
{
	char *method = line, *host = strchr(line, ' '), *path, *q, loc[128];
	struct mux_match mm;
	if (!host)
		return;
	*host++ = '\0';
	path = strchr(host, ' ');
	if (!path)
		return;
	*path++ = '\0';
	if (strcmp(host, "-") == 0)
		host[0] = '\0';
	q = strchr(path, '?');
	size_t plen = q ? (size_t)(q - path) : strlen(path);
	/* an exact-size copy, so ASan sees any read past the path */
	char *p = malloc(plen ? plen : 1);
	memcpy(p, path, plen);
	int st = mux_match(&mux, method, strlen(method), host, strlen(host), p, plen, q ? q + 1 : "",
			   q ? strlen(q + 1) : 0, loc, sizeof loc, &mm);
	check_common(method, p, plen, loc, sizeof loc, &mm, st);
	free(p);
}

static void raw_mode(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *line = s, *nl;
	bool patterns = true;
	memcpy(s, data, size);
	s[size] = '\0';
	for (; line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		if (patterns && !line[0])
			patterns = false;
		else if (patterns)
			do_register(line);
		else
			raw_request(line);
	}
	free(s);
}

/* ---- the oracle ---- */

enum { E_NONE, E_SLASH, E_MULTI, E_DOLLAR };
enum { O_LIT, O_WILD };

struct opat {
	const char *method, *host;
	int nsegs, end;
	int kind[6];
	const char *lit[6];
	char str[128];
	int handler; /* index into handlers, -1 if refused */
};

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int hex(char c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* Go's pathUnescape: decode, or the raw text if any escape is bad. */
static size_t unescape(const char *s, size_t n, char *out)
{
	size_t w = 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '%' && (i + 2 >= n || !is_hex(s[i + 1]) || !is_hex(s[i + 2]))) {
			memcpy(out, s, n);
			return n;
		}
	for (size_t i = 0; i < n; w++)
		if (s[i] == '%') {
			out[w] = (char)(hex(s[i + 1]) * 16 + hex(s[i + 2]));
			i += 3;
		} else {
			out[w] = s[i++];
		}
	return w;
}

static bool same_segment(const char *lit, const char *seg, size_t n)
{
	char a[256], b[256];
	size_t an = unescape(lit, strlen(lit), a), bn = unescape(seg, n, b);
	return an == bn && memcmp(a, b, an) == 0;
}

/* A path split as Go's firstSegment does: elements with their offsets,
 * the last possibly the trailing slash (len -1). */
struct elems {
	size_t n;
	size_t off[64];
	long len[64];
};

static void split(const char *p, size_t n, struct elems *e)
{
	e->n = 0;
	for (size_t i = 0; i < n && e->n < 64;) {
		if (i == n - 1) {
			e->off[e->n] = n;
			e->len[e->n++] = -1;
			break;
		}
		const char *sl = memchr(p + i + 1, '/', n - i - 1);
		size_t j = sl ? (size_t)(sl - p) : n;
		e->off[e->n] = i + 1;
		e->len[e->n++] = (long)(j - i - 1);
		i = j;
	}
}

struct ovals {
	size_t n;
	size_t off[8], len[8];
};

static bool opath_match(const struct opat *P, const char *p, size_t n, struct ovals *v)
{
	struct elems e;
	split(p, n, &e);
	v->n = 0;
	if ((int)e.n < P->nsegs)
		return false;
	for (int i = 0; i < P->nsegs; i++) {
		if (e.len[i] < 0)
			return false;
		if (P->kind[i] == O_LIT && !same_segment(P->lit[i], p + e.off[i], (size_t)e.len[i]))
			return false;
		if (P->kind[i] == O_WILD) {
			v->off[v->n] = e.off[i];
			v->len[v->n++] = (size_t)e.len[i];
		}
	}
	switch (P->end) {
	case E_NONE:
		return (int)e.n == P->nsegs;
	case E_DOLLAR:
		return (int)e.n == P->nsegs + 1 && e.len[P->nsegs] < 0;
	case E_MULTI:
		if ((int)e.n < P->nsegs + 1)
			return false;
		v->off[v->n] = e.off[P->nsegs] < n ? e.off[P->nsegs] : n;
		v->len[v->n] = n - v->off[v->n];
		v->n++;
		return true;
	default:
		return (int)e.n >= P->nsegs + 1;
	}
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool eq_nocase(const char *a, const char *b)
{
	size_t n = strlen(a);
	if (n != strlen(b))
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower(a[i]) != lower(b[i]))
			return false;
	return true;
}

static bool omethod_is(const struct opat *P, const char *method)
{
	return strcmp(P->method, method) == 0;
}

/* Rank of P for this request: 0 = its method, 1 = GET taking HEAD,
 * 2 = no method, -1 = the method does not match. */
static int omethod_rank(const struct opat *P, const char *method)
{
	if (P->method[0] && omethod_is(P, method))
		return 0;
	if (omethod_is(P, "GET") && strcmp(method, "HEAD") == 0)
		return 1;
	return P->method[0] ? -1 : 2;
}

/* Literal (and {$}) < {x} < {x...}, segment by segment. */
static int kind_at(const struct opat *P, int i)
{
	if (i < P->nsegs)
		return P->kind[i] == O_LIT ? 0 : 1;
	if (i == P->nsegs && P->end != E_NONE)
		return P->end == E_DOLLAR ? 0 : 2;
	return -1;
}

static int ocompare(const struct opat *a, const struct opat *b)
{
	for (int i = 0;; i++) {
		int ka = kind_at(a, i), kb = kind_at(b, i);
		if (ka != kb)
			return ka < kb ? -1 : 1;
		if (ka < 0)
			return 0;
	}
}

struct oracle {
	struct opat *pats;
	int npats;
	const char *method;
	char host[64]; /* port stripped (not for CONNECT) */
};

/* The winner among patterns with host (exactly "" or the request's). */
static struct opat *obest_in(const struct oracle *o, bool with_host, const char *p, size_t n,
			     struct ovals *vals)
{
	struct opat *best = NULL;
	int best_rank = 3;
	struct ovals v;
	for (int i = 0; i < o->npats; i++) {
		struct opat *P = &o->pats[i];
		int rank = omethod_rank(P, o->method);
		if (P->handler < 0 || rank < 0 || (P->host[0] != 0) != with_host)
			continue;
		if (with_host && !eq_nocase(P->host, o->host))
			continue;
		if (!opath_match(P, p, n, &v))
			continue;
		int c = best ? (rank != best_rank ? (rank < best_rank ? -1 : 1) : ocompare(P, best)) : -1;
		INVARIANT(c != 0); /* two accepted patterns are equivalent */
		if (c < 0) {
			best = P;
			best_rank = rank;
			*vals = v;
		}
	}
	return best;
}

static struct opat *obest(const struct oracle *o, const char *p, size_t n, struct ovals *vals)
{
	struct opat *b = o->host[0] ? obest_in(o, true, p, n, vals) : NULL;
	return b ? b : obest_in(o, false, p, n, vals);
}

static bool oexact(const struct opat *P, const char *p, size_t n)
{
	size_t slashes = 0;
	if (P->end != E_SLASH && P->end != E_MULTI)
		return true;
	if (p[n - 1] != '/')
		return false;
	for (size_t i = 0; i < n; i++)
		slashes += p[i] == '/';
	return (size_t)P->nsegs + 1 == slashes;
}

/* Would "p/" be matched exactly (Go's /tree -> /tree/ redirect)? */
static bool owants_slash(const struct oracle *o, const char *p, size_t n)
{
	char buf[512];
	struct ovals v;
	if (p[n - 1] == '/' || n + 1 > sizeof buf)
		return false;
	memcpy(buf, p, n);
	buf[n] = '/';
	struct opat *b = obest(o, buf, n + 1, &v);
	return b && oexact(b, buf, n + 1);
}

/* path.Clean with a stack of elements, keeping a trailing slash. */
static size_t oclean(const char *p, size_t n, char *out)
{
	size_t start[512], depth = 0, w = 0; /* n < 1024: at most 512 elements */
	out[w++] = '/';
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && p[j] != '/')
			j++;
		size_t len = j - i;
		if (len == 0 || (len == 1 && p[i] == '.')) {
		} else if (len == 2 && p[i] == '.' && p[i + 1] == '.') {
			if (depth)
				w = start[--depth];
		} else {
			start[depth++] = w;
			if (w > 1)
				out[w++] = '/';
			memcpy(out + w, p + i, len);
			w += len;
		}
		i = j + 1;
	}
	if (n && p[n - 1] == '/' && w > 1)
		out[w++] = '/';
	return w;
}

static bool oracle_is_clean(const char *p, size_t n)
{
	char buf[1024];
	return n < sizeof buf && n > 0 && p[0] == '/' && oclean(p, n, buf) == n && memcmp(buf, p, n) == 0;
}

static void oallow(const struct oracle *o, const char *p, size_t n, char *out)
{
	const char *names[MAXPATS + 1];
	size_t count = 0;
	char buf[512];
	struct ovals v;
	bool get = false;
	memcpy(buf, p, n);
	buf[n] = '/';
	for (int i = 0; i < o->npats; i++) {
		const struct opat *P = &o->pats[i];
		if (P->handler < 0 || !P->method[0] || (P->host[0] && !eq_nocase(P->host, o->host)))
			continue;
		if (P->host[0] && !o->host[0])
			continue;
		if (opath_match(P, p, n, &v) || (p[n - 1] != '/' && opath_match(P, buf, n + 1, &v)))
			names[count++] = P->method;
	}
	for (size_t i = 0; i < count; i++)
		get |= strcmp(names[i], "GET") == 0;
	if (get)
		names[count++] = "HEAD";
	/* sort, then join without duplicates */
	for (size_t i = 1; i < count; i++)
		for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			const char *t = names[j];
			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	out[0] = '\0';
	for (size_t i = 0; i < count; i++)
		if (i == 0 || strcmp(names[i], names[i - 1]) != 0)
			sprintf(out + strlen(out), "%s%s", out[0] ? ", " : "", names[i]);
}

static void ostrip(const char *host, char *out, bool connect)
{
	const char *colon = strrchr(host, ':');
	size_t n = strlen(host);
	if (!connect && colon) {
		if (host[0] == '[') {
			const char *close = strchr(host, ']');
			if (close && close[1] == ':' && !strchr(close + 2, ':'))
				n = (size_t)(close + 1 - host);
		} else if (strchr(host, ':') == colon) {
			n = (size_t)(colon - host);
		}
	}
	memcpy(out, host, n);
	out[n] = '\0';
}

/* The expected outcome of one request, rendered like the actual one. */
static void expect(const struct oracle *o, const char *p, size_t n, const char *q, char *out)
{
	char clean[512];
	struct ovals v;
	bool connect = strcmp(o->method, "CONNECT") == 0;
	if (!n || p[0] != '/') {
		strcpy(out, "404");
		return;
	}
	if (!connect && !oracle_is_clean(p, n)) {
		size_t c = oclean(p, n, clean);
		struct opat *b = obest(o, clean, c, &v);
		bool slash = !(b && oexact(b, clean, c)) && owants_slash(o, clean, c);
		sprintf(out, "301 %.*s%s%s%s", (int)c, clean, slash ? "/" : "", q[0] ? "?" : "", q);
		return;
	}
	struct opat *b = obest(o, p, n, &v);
	if (!(b && oexact(b, p, n)) && owants_slash(o, p, n)) {
		size_t c = oclean(p, n, clean);
		sprintf(out, "301 %.*s/%s%s", (int)c, clean, q[0] ? "?" : "", q);
		return;
	}
	if (!b) {
		char allow[256];
		oallow(o, p, n, allow);
		if (allow[0])
			sprintf(out, "405 %s", allow);
		else
			strcpy(out, "404");
		return;
	}
	int k = sprintf(out, "%d", b->handler);
	for (size_t i = 0; i < v.n; i++)
		k += sprintf(out + k, " %zu+%zu", v.off[i], v.len[i]);
}

static void render(const struct mux_match *mm, const char *path, const char *loc, char *out)
{
	int k;
	switch (mm->status) {
	case MUX_MATCHED:
		k = sprintf(out, "%d", (int)((int *)mm->handler - handlers));
		for (size_t i = 0; i < mm->nvalues; i++)
			k += sprintf(out + k, " %zu+%zu", (size_t)(mm->values[i].p - path), mm->values[i].n);
		break;
	case 301:
		sprintf(out, "301 %s", loc);
		break;
	case 405:
		sprintf(out, "405 %s", mm->allow);
		break;
	default:
		sprintf(out, "%d", mm->status);
	}
}

/* ---- structured mode ---- */

static const char *const pmethods[] = {"", "", "GET", "HEAD", "POST", "CONNECT"};
static const char *const phosts[] = {"", "", "", "a.com", "A.com", "b.com"};
static const char *const plits[] = {"a", "b", "%61", "c%2Fd", "100%", "."};
static const char *const rmethods[] = {"GET", "HEAD", "POST", "PUT", "CONNECT"};
static const char *const rhosts[] = {"", "a.com", "A.COM:8080", "b.com", "c.com", "a.com:", "[::1]:1"};
static const char *const rsegs[] = {"a", "b", "c", "%61", "%2F", "", ".", "..", "%2e", "c%2fd", "100%", "x"};

static void gen_pattern(struct src *s, struct opat *P, int h)
{
	int k;
	memset(P, 0, sizeof *P);
	P->method = pmethods[take(s, 6)];
	P->host = phosts[take(s, 6)];
	P->nsegs = (int)take(s, 5);
	P->end = (int)take(s, 4);
	if (P->nsegs == 0 && P->end == E_NONE)
		P->end = E_SLASH;
	k = sprintf(P->str, "%s%s%s", P->method, P->method[0] ? " " : "", P->host);
	for (int i = 0; i < P->nsegs; i++) {
		unsigned c = take(s, 9);
		P->kind[i] = c < 6 ? O_LIT : O_WILD;
		P->lit[i] = c < 6 ? plits[c] : NULL;
		k += c < 6 ? sprintf(P->str + k, "/%s", plits[c]) : sprintf(P->str + k, "/{v%d}", i);
	}
	sprintf(P->str + k, "%s",
		P->end == E_SLASH    ? "/"
		: P->end == E_MULTI  ? "/{rest...}"
		: P->end == E_DOLLAR ? "/{$}"
				     : "");
	/* "." makes the path unclean: refused with a method other than CONNECT */
	P->handler = -1;
	int rc = do_register(P->str);
	size_t len = strlen(P->str);
	bool unclean = strstr(P->str, "/./") || (len >= 2 && strcmp(P->str + len - 2, "/.") == 0);
	if (P->method[0] && strcmp(P->method, "CONNECT") != 0 && unclean)
		INVARIANT(rc == -EINVAL);
	else
		INVARIANT(rc == 0 || rc == -EEXIST);
	if (rc == 0) {
		P->handler = h;
		INVARIANT(do_register(P->str) == -EEXIST); /* the same pattern again */
	}
}

static void gen_request(struct src *s, const struct oracle *base, struct opat *pats, int npats)
{
	struct oracle o = *base;
	char path[256], loc[512], want[512], got[512];
	const char *q = take(s, 3) ? "" : "q=1&r";
	size_t n = 0;
	struct mux_match mm;
	const char *host;

	(void)pats;
	(void)npats;
	o.method = rmethods[take(s, 5)];
	host = rhosts[take(s, 7)];
	ostrip(host, o.host, strcmp(o.method, "CONNECT") == 0);
	int nsegs = (int)take(s, 7);
	for (int i = 0; i < nsegs; i++)
		n += (size_t)sprintf(path + n, "/%s", rsegs[take(s, 12)]);
	if (n == 0 || take(s, 3) == 0)
		path[n++] = '/';
	if (take(s, 32) == 0)
		path[0] = 'x'; /* not origin-form */
	char *p = malloc(n);
	memcpy(p, path, n);
	int st = mux_match(&mux, o.method, strlen(o.method), host, strlen(host), p, n, q, strlen(q), loc,
			   sizeof loc, &mm);
	check_common(o.method, p, n, loc, sizeof loc, &mm, st);
	expect(&o, p, n, q, want);
	render(&mm, p, loc, got);
	if (strcmp(want, got) != 0) {
		fprintf(stderr, "patterns:\n");
		for (int i = 0; i < o.npats; i++)
			fprintf(stderr, "  %d: %s%s\n", o.pats[i].handler, o.pats[i].str,
				o.pats[i].handler < 0 ? " (refused)" : "");
		fprintf(stderr, "request: %s %s %.*s ?%s\nwant: %s\ngot:  %s\n", o.method, host, (int)n, p, q,
			want, got);
		abort();
	}
	free(p);
}

static void structured_mode(struct src *s)
{
	static struct opat pats[MAXPATS];
	struct oracle o = {.pats = pats};
	o.npats = 1 + (int)take(s, MAXPATS);
	for (int i = 0; i < o.npats; i++)
		gen_pattern(s, &pats[i], (int)mux.nroutes);
	while (s->n)
		gen_request(s, &o, pats, o.npats);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct src s = {data, size};
	mux_init(&mux);
	if (size && (data[0] & 1)) {
		raw_mode(data + 1, size - 1);
	} else {
		take(&s, 1);
		structured_mode(&s);
	}
	return 0;
}
