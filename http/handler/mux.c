/* The request router (see mux.h for the pattern language and rules).
 *
 * Registration parses a pattern into a route (method, host, segments),
 * refuses it if it conflicts with a registered one (pattern.go's
 * relationships: equivalent, more general/specific, disjoint, overlaps), and
 * adds it to a tree whose levels are host, method, then one per path
 * segment (routing_tree.go). A node has at most one "{x}" child and one
 * "{x...}" child whatever the names, since names do not change what
 * matches.
 *
 * Matching walks the tree trying, at each segment, the literal child, then
 * "{x}", then "{x...}", and backtracks on failure. Given
 *     /a/b/z   and   /a/{x}/c
 * the path /a/b/c first follows a -> b, fails at c, then takes a -> {x} ->
 * c. The first leaf found is the most specific match: the conflict check
 * guarantees that any two patterns matching one request are ordered, and a
 * literal is never less specific than a wildcard at the same place. Each
 * node is visited at most once per walk, so a match costs at most the size
 * of the tree, usually the depth of the path times a few siblings.
 *
 * A request path splits like Go's firstSegment: "/a/b/" is "a", "b" and a
 * final trailing slash, which only "{$}" or "{x...}" can take. */
#include "http/handler/mux.h"
#include "http/core/ctype.h"
#include "http/core/path.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

enum { K_ROOT, K_HOST, K_METHOD, K_LIT, K_DOLLAR, K_WILD, K_MULTI };

/* Offsets and node ids are uint16_t, segment counts uint8_t. */
_Static_assert(MUX_TEXT_MAX <= UINT16_MAX && MUX_MAX_NODES <= UINT16_MAX, "mux: uint16_t offsets");
_Static_assert(MUX_MAX_ROUTES < UINT16_MAX && MUX_MAX_SEGMENTS <= UINT8_MAX, "mux: route ids");
_Static_assert(MUX_PATTERN_MAX < MUX_TEXT_MAX, "mux: a pattern must fit the pool");

#define STR_(x) #x
#define STR(x)  STR_(x)

/* pattern.go's relationship of pattern p1 to p2. */
enum rel { EQUIV, GENERAL, SPECIFIC, DISJOINT, OVERLAPS };

/* ---- small string helpers (no libc beyond string.h here; character
 * classes from http/core/ctype.h) ---- */

/* Hosts compare case-insensitively (RFC 3986 §3.2.2). */
static bool eq_nocase(const char *a, size_t an, const char *b, size_t bn)
{
	return an == bn && http_eq_nocase(a, b, an);
}

static bool eq(const char *a, size_t an, const char *b, size_t bn)
{
	return an == bn && memcmp(a, b, an) == 0;
}

/* The byte of the pct-encoded triplet at s, which must be valid (RFC 3986
 * §2.1). */
static char pct_byte(const char *s)
{
	return (char)(http_hex_value((unsigned char)s[1]) << 4 | http_hex_value((unsigned char)s[2]));
}

/* Does s have escapes, all of them valid? Go's pathUnescape decodes a
 * segment only then; with one bad escape the raw text is used. */
static bool must_decode(const char *s, size_t n)
{
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%')
			continue;
		if (i + 2 >= n)
			return false;
		if (!http_is_hexdig((unsigned char)s[i + 1]) || !http_is_hexdig((unsigned char)s[i + 2]))
			return false;
		any = true;
		i += 2;
	}
	return any;
}

/* Decode the valid escapes of s into out (room for n bytes); returns the
 * decoded length. */
static size_t decode(const char *s, size_t n, char *out)
{
	size_t w = 0;
	for (size_t i = 0; i < n; w++) {
		if (s[i] == '%') {
			out[w] = pct_byte(s + i);
			i += 3;
		} else {
			out[w] = s[i++];
		}
	}
	return w;
}

/* Compare the already decoded lab with the escaped request segment seg. */
static bool eq_decoded(const char *lab, size_t ln, const char *seg, size_t sn)
{
	size_t j = 0;
	for (size_t i = 0; i < sn; j++) {
		char c = seg[i];
		if (c == '%') {
			c = pct_byte(seg + i);
			i += 3;
		} else {
			i++;
		}
		if (j >= ln || lab[j] != c)
			return false;
	}
	return j == ln;
}

static size_t bounded_len(const char *s, size_t max)
{
	size_t n = 0;
	while (n <= max && s[n])
		n++;
	return n;
}

/* ---- path cleaning: http_path_clean (Go's cleanPath) redirects ---- */

/* A path is clean if no element is empty (but a final trailing slash),
 * "." or "..". */
static bool path_is_clean(const char *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t s = i + 1;
		const char *slash = s < n ? memchr(p + s, '/', n - s) : NULL;
		size_t e = slash ? (size_t)(slash - p) : n;
		if (e == s && e != n)
			return false;
		if (e - s == 1 && p[s] == '.')
			return false;
		if (e - s == 2 && p[s] == '.' && p[s + 1] == '.')
			return false;
		i = e;
	}
	return true;
}

/* ---- error messages ---- */

/* A bounded, always NUL-terminated message under construction. */
struct msg {
	char *p;
	size_t cap, n;
};

static void msg_put(struct msg *b, const char *s, size_t n)
{
	if (!b->cap)
		return;
	for (size_t i = 0; i < n && b->n + 1 < b->cap; i++)
		b->p[b->n++] = s[i];
	b->p[b->n] = '\0';
}

static void msg_str(struct msg *b, const char *s)
{
	msg_put(b, s, strlen(s));
}

static void msg_uint(struct msg *b, size_t v)
{
	char d[24];
	size_t i = sizeof d;
	do
		d[--i] = (char)('0' + v % 10);
	while (v /= 10);
	msg_put(b, d + i, sizeof d - i);
}

/* Like Go's %q, so a message quotes patterns the way net/http does. */
static void msg_quote(struct msg *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	msg_put(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			msg_put(b, e, 2);
		} else if (c < 0x20 || c >= 0x7f) {
			char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
			msg_put(b, e, 4);
		} else {
			msg_put(b, s + i, 1);
		}
	}
	msg_put(b, "\"", 1);
}

/* ---- parsing a pattern ---- */

/* Parser state: the pattern is copied to the free tail of the text pool and
 * parsed there, names and decoded literals are appended behind it; the
 * tail is committed only once the route is accepted. */
struct parse {
	struct mux *m;
	struct mux_route *r;
	size_t used;     /* text bytes taken so far, from m->ntext */
	const char *err; /* reason, NULL if none */
	int code;        /* -EINVAL or -ENOSPC */
	size_t off;      /* offset in the pattern the reason refers to */
	const char *arg; /* quoted after the reason (a name), or NULL */
	size_t argn;
};

static bool fail(struct parse *ps, int code, size_t off, const char *err, const char *arg, size_t argn)
{
	ps->code = code;
	ps->off = off;
	ps->err = err;
	ps->arg = arg;
	ps->argn = argn;
	return false;
}

/* Append n bytes (and a NUL if nul) to the pool tail; returns the offset,
 * or -ENOSPC when the pool is full. */
static long pool_put(struct parse *ps, const char *s, size_t n, bool nul)
{
	size_t at = ps->m->ntext + ps->used;
	if (n + nul > MUX_TEXT_MAX - at)
		return -ENOSPC;
	memmove(ps->m->text + at, s, n);
	if (nul)
		ps->m->text[at + n] = '\0';
	ps->used += n + nul;
	return (long)at;
}

/* RFC 9110 §9.1: a method is a token. */
static bool valid_method(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!http_is_tchar((unsigned char)s[i]))
			return false;
	return n > 0;
}

/* A Go identifier, ASCII only. */
static bool valid_name(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool letter = http_is_alpha((unsigned char)c) || c == '_';
		if (!letter && (i == 0 || !http_is_digit((unsigned char)c)))
			return false;
	}
	return n > 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static struct mux_seg *new_seg(struct parse *ps, size_t off)
{
	if (ps->r->nsegs >= MUX_MAX_SEGMENTS) {
		fail(ps, -ENOSPC, off, "more than " STR(MUX_MAX_SEGMENTS) " path segments", NULL, 0);
		return NULL;
	}
	return &ps->r->segs[ps->r->nsegs++];
}

static bool add_literal(struct parse *ps, const char *s, size_t n, size_t off)
{
	struct mux_seg *g = new_seg(ps, off);
	long at = (long)(s - ps->m->text);
	if (!g)
		return false;
	if (must_decode(s, n)) {
		char tmp[MUX_PATTERN_MAX];
		n = decode(s, n, tmp);
		at = pool_put(ps, tmp, n, false);
		if (at < 0)
			return fail(ps, -ENOSPC, off, "pattern text pool full", NULL, 0);
	}
	*g = (struct mux_seg){.kind = K_LIT, .off = (uint16_t)at, .len = (uint16_t)n};
	return true;
}

static bool name_seen(const struct parse *ps, const char *name, size_t n)
{
	for (size_t i = 0; i < ps->r->nsegs; i++) {
		const struct mux_seg *g = &ps->r->segs[i];
		if (g->kind == K_WILD || g->kind == K_MULTI)
			if (eq(ps->m->text + g->off, g->len, name, n))
				return true;
	}
	return false;
}

static size_t count_names(const struct mux_route *r)
{
	size_t k = 0;
	for (size_t i = 0; i < r->nsegs; i++)
		k += (r->segs[i].kind == K_WILD || r->segs[i].kind == K_MULTI) && r->segs[i].len;
	return k;
}

/* One "{...}" segment s[0..n); last: nothing follows it. */
static bool add_wildcard(struct parse *ps, const char *s, size_t n, bool last, size_t off)
{
	if (n < 2 || s[n - 1] != '}')
		return fail(ps, -EINVAL, off, "bad wildcard segment (must end with '}')", NULL, 0);
	const char *name = s + 1;
	size_t nn = n - 2;
	if (nn == 1 && name[0] == '$') {
		struct mux_seg *g;
		if (!last)
			return fail(ps, -EINVAL, off, "{$} not at end", NULL, 0);
		if (!(g = new_seg(ps, off)))
			return false;
		*g = (struct mux_seg){.kind = K_DOLLAR};
		return true;
	}
	bool multi = nn >= 3 && memcmp(name + nn - 3, "...", 3) == 0;
	if (multi)
		nn -= 3;
	if (multi && !last)
		return fail(ps, -EINVAL, off, "{...} wildcard not at end", NULL, 0);
	if (nn == 0)
		return fail(ps, -EINVAL, off, "empty wildcard", NULL, 0);
	if (!valid_name(name, nn))
		return fail(ps, -EINVAL, off, "bad wildcard name", name, nn);
	if (nn > MUX_NAME_MAX)
		return fail(ps, -ENOSPC, off, "wildcard name longer than " STR(MUX_NAME_MAX) " bytes", name,
			    nn);
	if (name_seen(ps, name, nn))
		return fail(ps, -EINVAL, off, "duplicate wildcard name", name, nn);
	if (count_names(ps->r) >= MUX_MAX_VALUES)
		return fail(ps, -ENOSPC, off, "more than " STR(MUX_MAX_VALUES) " named wildcards", NULL, 0);
	struct mux_seg *g = new_seg(ps, off);
	if (!g)
		return false;
	long at = pool_put(ps, name, nn, true);
	if (at < 0)
		return fail(ps, -ENOSPC, off, "pattern text pool full", NULL, 0);
	*g = (struct mux_seg){
	    .kind = (uint8_t)(multi ? K_MULTI : K_WILD), .off = (uint16_t)at, .len = (uint16_t)nn};
	return true;
}

/* The path part p[0..n), p[0] == '/', of the pattern starting at base. */
static bool parse_path(struct parse *ps, const char *base, const char *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t s = i + 1, off = (size_t)(p + s - base);
		if (s == n) { /* trailing slash: the subtree, an anonymous {...} */
			struct mux_seg *g = new_seg(ps, off);
			if (!g)
				return false;
			*g = (struct mux_seg){.kind = K_MULTI};
			return true;
		}
		const char *slash = memchr(p + s, '/', n - s);
		size_t e = slash ? (size_t)(slash - p) : n;
		const char *brace = memchr(p + s, '{', e - s);
		if (!brace) {
			if (!add_literal(ps, p + s, e - s, off))
				return false;
		} else if (brace != p + s) {
			return fail(ps, -EINVAL, off, "bad wildcard segment (must start with '{')", NULL, 0);
		} else if (!add_wildcard(ps, p + s, e - s, e == n, off)) {
			return false;
		}
		i = e;
	}
	return true;
}

/* Pattern s (n bytes, in the pool tail) into *ps->r, as parsePattern. */
static bool parse_pattern(struct parse *ps, const char *s, size_t n)
{
	const char *sp = NULL, *end = s + n, *rest = s;
	struct mux_route *r = ps->r;
	for (size_t i = 0; i < n && !sp; i++)
		if (s[i] == ' ' || s[i] == '\t')
			sp = s + i;
	if (sp) {
		if (sp != s && !valid_method(s, (size_t)(sp - s)))
			return fail(ps, -EINVAL, 0, "invalid method", s, (size_t)(sp - s));
		/* Longer would not fit a 405's Allow list (found by fuzz_mux). */
		if (sp - s > MUX_METHOD_MAX)
			return fail(ps, -EINVAL, 0, "method too long", s, (size_t)(sp - s));
		r->method = (uint16_t)(s - ps->m->text);
		r->mlen = (uint16_t)(sp - s);
		for (rest = sp + 1; rest < end && is_space(*rest); rest++)
			;
		while (end > rest && is_space(end[-1]))
			end--;
	}
	const char *path = memchr(rest, '/', (size_t)(end - rest));
	if (!path)
		return fail(ps, -EINVAL, (size_t)(rest - s), "host/path missing /", NULL, 0);
	const char *brace = memchr(rest, '{', (size_t)(path - rest));
	if (brace)
		return fail(ps, -EINVAL, (size_t)(brace - s), "host contains '{' (missing initial '/'?)",
			    NULL, 0);
	r->host = (uint16_t)(rest - ps->m->text);
	r->hlen = (uint16_t)(path - rest);
	if (r->mlen && !eq(s, r->mlen, "CONNECT", 7) && !path_is_clean(path, (size_t)(end - path)))
		return fail(ps, -EINVAL, (size_t)(path - s),
			    "non-CONNECT pattern with unclean path can never match", NULL, 0);
	return parse_path(ps, s, path, (size_t)(end - path));
}

/* ---- relationships between patterns (pattern.go) ---- */

static enum rel inverse(enum rel r)
{
	return r == GENERAL ? SPECIFIC : r == SPECIFIC ? GENERAL : r;
}

/* The relationship of two patterns given those of two parts of them: more
 * general in one part and more specific in the other is an overlap. */
static enum rel combine(enum rel r1, enum rel r2)
{
	switch (r1) {
	case EQUIV:
		return r2;
	case DISJOINT:
		return DISJOINT;
	case OVERLAPS:
		return r2 == DISJOINT ? DISJOINT : OVERLAPS;
	default:
		if (r2 == EQUIV)
			return r1;
		return r2 == inverse(r1) ? OVERLAPS : r2;
	}
}

/* An empty method matches all, GET matches HEAD too, others only
 * themselves. */
static enum rel method_rel(const struct mux *m, const struct mux_route *a, const struct mux_route *b)
{
	const char *am = m->text + a->method, *bm = m->text + b->method;
	if (eq(am, a->mlen, bm, b->mlen))
		return EQUIV;
	if (!a->mlen || !b->mlen)
		return a->mlen ? SPECIFIC : GENERAL;
	if (eq(am, a->mlen, "GET", 3) && eq(bm, b->mlen, "HEAD", 4))
		return GENERAL;
	if (eq(am, a->mlen, "HEAD", 4) && eq(bm, b->mlen, "GET", 3))
		return SPECIFIC;
	return DISJOINT;
}

static bool is_var(const struct mux_seg *g)
{
	return g->kind == K_WILD || g->kind == K_MULTI;
}

/* A wildcard never matches a trailing slash; a {...} matches anything. */
static enum rel seg_rel(const struct mux *m, const struct mux_seg *a, const struct mux_seg *b)
{
	if (a->kind == K_MULTI || b->kind == K_MULTI)
		return a->kind == b->kind ? EQUIV : a->kind == K_MULTI ? GENERAL : SPECIFIC;
	if (a->kind == K_WILD || b->kind == K_WILD) {
		if (a->kind == b->kind)
			return EQUIV;
		if (a->kind == K_DOLLAR || b->kind == K_DOLLAR)
			return DISJOINT;
		return a->kind == K_WILD ? GENERAL : SPECIFIC;
	}
	if (a->kind != b->kind)
		return DISJOINT;
	if (a->kind == K_DOLLAR || eq(m->text + a->off, a->len, m->text + b->off, b->len))
		return EQUIV;
	return DISJOINT;
}

static bool ends_multi(const struct mux_route *r)
{
	return r->segs[r->nsegs - 1].kind == K_MULTI;
}

static enum rel path_rel(const struct mux *m, const struct mux_route *a, const struct mux_route *b)
{
	/* Without a final {...} only paths of the same length can match both. */
	if (a->nsegs != b->nsegs && !ends_multi(a) && !ends_multi(b))
		return DISJOINT;
	size_t n = a->nsegs < b->nsegs ? a->nsegs : b->nsegs;
	enum rel rel = EQUIV;
	for (size_t i = 0; i < n && rel != DISJOINT; i++)
		rel = combine(rel, seg_rel(m, &a->segs[i], &b->segs[i]));
	if (rel == DISJOINT || a->nsegs == b->nsegs)
		return rel;
	/* The shorter one ends in a {...} that takes the longer one's rest;
	 * otherwise they are disjoint. That {...} was compared with a segment
	 * of the longer one above already. */
	if (a->nsegs < b->nsegs)
		return ends_multi(a) ? combine(rel, GENERAL) : DISJOINT;
	return ends_multi(b) ? combine(rel, SPECIFIC) : DISJOINT;
}

/* ---- conflict messages ---- */

static void msg_seg(struct msg *b, const struct mux *m, const struct mux_seg *g)
{
	msg_put(b, "/", 1);
	if (g->kind == K_LIT || g->kind == K_WILD)
		msg_put(b, m->text + g->off, g->len);
}

/* pattern.go's commonPath: a path both patterns match, for the message. */
static void common_path(struct msg *b, const struct mux *m, const struct mux_route *a,
			const struct mux_route *c)
{
	size_t i;
	for (i = 0; i < a->nsegs && i < c->nsegs; i++)
		msg_seg(b, m, is_var(&a->segs[i]) ? &c->segs[i] : &a->segs[i]);
	for (; i < a->nsegs; i++)
		msg_seg(b, m, &a->segs[i]);
	for (; i < c->nsegs; i++)
		msg_seg(b, m, &c->segs[i]);
}

static void describe_conflict(struct msg *b, const struct mux *m, const struct mux_route *a,
			      const struct mux_route *c)
{
	enum rel mr = method_rel(m, a, c), pr = path_rel(m, a, c);
	msg_str(b, "pattern ");
	msg_quote(b, m->text + a->pattern, strlen(m->text + a->pattern));
	msg_str(b, " conflicts with pattern ");
	msg_quote(b, m->text + c->pattern, strlen(m->text + c->pattern));
	if (combine(mr, pr) == EQUIV) {
		msg_str(b, ": both match the same requests");
	} else if (pr == OVERLAPS) {
		msg_str(b, ": both match some paths, like \"");
		common_path(b, m, a, c);
		msg_str(b, "\", but neither is more specific");
	} else if (mr == GENERAL) {
		msg_str(b, ": it matches more methods, but has a more specific path");
	} else {
		msg_str(b, ": it matches fewer methods, but has a more general path");
	}
}

/* The first registered route that conflicts with r, or NULL. Patterns with
 * different hosts never conflict: one with a host beats one without, and
 * two different hosts never match the same request. */
static const struct mux_route *find_conflict(const struct mux *m, const struct mux_route *r)
{
	for (size_t i = 0; i < m->nroutes; i++) {
		const struct mux_route *o = &m->routes[i];
		if (!eq_nocase(m->text + r->host, r->hlen, m->text + o->host, o->hlen))
			continue;
		enum rel mr = method_rel(m, r, o);
		if (mr == DISJOINT)
			continue;
		enum rel rel = combine(mr, path_rel(m, r, o));
		if (rel == EQUIV || rel == OVERLAPS)
			return o;
	}
	return NULL;
}

/* ---- the tree ---- */

/* Does node c have the key of level `level` of route r? Level 0 is the
 * host, 1 the method, then one per segment. */
static bool node_is(const struct mux *m, const struct mux_node *c, const struct mux_route *r, size_t level)
{
	if (level == 0)
		return eq_nocase(m->text + c->off, c->len, m->text + r->host, r->hlen);
	if (level == 1)
		return eq(m->text + c->off, c->len, m->text + r->method, r->mlen);
	const struct mux_seg *g = &r->segs[level - 2];
	if (c->kind != g->kind)
		return false;
	return g->kind != K_LIT || eq(m->text + c->off, c->len, m->text + g->off, g->len);
}

static uint16_t find_child(const struct mux *m, uint16_t parent, const struct mux_route *r, size_t level)
{
	for (uint16_t c = m->nodes[parent].child; c; c = m->nodes[c].next)
		if (node_is(m, &m->nodes[c], r, level))
			return c;
	return 0;
}

/* A new last child of parent with route r's key at level. */
static uint16_t add_child(struct mux *m, uint16_t parent, const struct mux_route *r, size_t level)
{
	uint16_t id = (uint16_t)m->nnodes++, *link = &m->nodes[parent].child;
	struct mux_node *c = &m->nodes[id];
	while (*link)
		link = &m->nodes[*link].next;
	*link = id;
	if (level == 0) {
		*c = (struct mux_node){.kind = K_HOST, .off = r->host, .len = r->hlen};
	} else if (level == 1) {
		*c = (struct mux_node){.kind = K_METHOD, .off = r->method, .len = r->mlen};
	} else {
		const struct mux_seg *g = &r->segs[level - 2];
		*c = (struct mux_node){.kind = g->kind, .off = g->off, .len = g->len};
	}
	return id;
}

/* Add route index ri to the tree, or -ENOSPC leaving the tree unchanged. */
static int tree_add(struct mux *m, size_t ri)
{
	const struct mux_route *r = &m->routes[ri];
	size_t levels = 2 + r->nsegs, depth = 0;
	uint16_t n = 0, c;
	while (depth < levels && (c = find_child(m, n, r, depth))) {
		n = c;
		depth++;
	}
	if (levels - depth > MUX_MAX_NODES - m->nnodes)
		return -ENOSPC;
	if (depth == levels && m->nodes[n].route)
		return -EEXIST; /* unreachable: an equivalent pattern conflicts */
	for (; depth < levels; depth++)
		n = add_child(m, n, r, depth);
	m->nodes[n].route = (uint16_t)(ri + 1);
	return 0;
}

/* ---- registration ---- */

void mux_init(struct mux *m)
{
	memset(m, 0, sizeof *m);
}

static int parse_error(struct msg *b, const struct parse *ps, const char *pattern, size_t n)
{
	msg_str(b, "parsing ");
	msg_quote(b, pattern, n);
	msg_str(b, ": at offset ");
	msg_uint(b, ps->off);
	msg_str(b, ": ");
	msg_str(b, ps->err);
	if (ps->arg) {
		msg_put(b, " ", 1);
		msg_quote(b, ps->arg, ps->argn);
	}
	return ps->code;
}

static int refuse(struct msg *b, int code, const char *why)
{
	msg_str(b, why);
	return code;
}

/* ---- the set of methods: 405's Allow, OPTIONS *, the registration limit ---- */

struct methods {
	const char *s[MUX_MAX_METHODS + 1];
	size_t n[MUX_MAX_METHODS + 1];
	size_t count;
};

/* Insert a method in byte order, once. mux_handle keeps the distinct
 * methods at MUX_MAX_METHODS, so only its own count (of one more) can
 * reach the end; anything beyond is dropped there. */
static void methods_add(struct methods *set, const char *s, size_t n)
{
	size_t i = 0;
	for (; i < set->count; i++) {
		size_t k = n < set->n[i] ? n : set->n[i];
		int c = memcmp(s, set->s[i], k);
		if (c == 0 && n == set->n[i])
			return;
		if (c < 0 || (c == 0 && n < set->n[i]))
			break;
	}
	if (set->count == MUX_MAX_METHODS + 1)
		return;
	memmove(&set->s[i + 1], &set->s[i], (set->count - i) * sizeof set->s[0]);
	memmove(&set->n[i + 1], &set->n[i], (set->count - i) * sizeof set->n[0]);
	set->s[i] = s;
	set->n[i] = n;
	set->count++;
}

/* GET patterns take HEAD too. */
static void head_with_get(struct methods *set)
{
	for (size_t i = 0; i < set->count; i++)
		if (eq(set->s[i], set->n[i], "GET", 3))
			return methods_add(set, "HEAD", 4);
}

/* Every registered method (and extra's, if not NULL), HEAD with GET;
 * false if some pattern has no method, so takes them all. */
static bool all_methods(const struct mux *m, const struct mux_route *extra, struct methods *set)
{
	bool each_named = true;
	for (size_t i = 0; i < m->nroutes + (extra != NULL); i++) {
		const struct mux_route *r = i < m->nroutes ? &m->routes[i] : extra;
		each_named &= r->mlen > 0;
		if (r->mlen)
			methods_add(set, m->text + r->method, r->mlen);
	}
	head_with_get(set);
	return each_named;
}

int mux_handle(struct mux *m, const char *pattern, void *handler, char *err, size_t errlen)
{
	struct msg b = {err, errlen, 0};
	struct mux_route r = {0};
	struct parse ps = {.m = m, .r = &r};
	msg_put(&b, "", 0);
	if (!pattern || !pattern[0])
		return refuse(&b, -EINVAL, "empty pattern");
	if (!handler)
		return refuse(&b, -EINVAL, "nil handler");
	size_t n = bounded_len(pattern, MUX_PATTERN_MAX);
	if (n > MUX_PATTERN_MAX)
		return refuse(&b, -ENOSPC, "pattern longer than " STR(MUX_PATTERN_MAX) " bytes");
	if (m->nroutes >= MUX_MAX_ROUTES)
		return refuse(&b, -ENOSPC, "too many routes (max " STR(MUX_MAX_ROUTES) ")");
	if (m->nnodes == 0)
		m->nnodes = 1; /* the root of a zeroed mux */
	long at = pool_put(&ps, pattern, n, true);
	if (at < 0)
		return refuse(&b, -ENOSPC, "pattern text pool full");
	r.pattern = (uint16_t)at;
	r.handler = handler;
	if (!parse_pattern(&ps, m->text + at, n))
		return parse_error(&b, &ps, pattern, n);
	struct methods set = {.count = 0};
	all_methods(m, &r, &set);
	if (set.count > MUX_MAX_METHODS)
		return refuse(&b, -ENOSPC, "too many distinct methods (max " STR(MUX_MAX_METHODS) ")");
	const struct mux_route *o = find_conflict(m, &r);
	if (o) {
		describe_conflict(&b, m, &r, o);
		return -EEXIST;
	}
	m->routes[m->nroutes] = r;
	int rc = tree_add(m, m->nroutes);
	if (rc < 0)
		return refuse(&b, rc, "too many tree nodes");
	m->nroutes++;
	m->ntext += ps.used;
	return 0;
}

/* ---- matching ---- */

/* A path being matched, p[0..n), optionally with a virtual '/' after it so
 * that "/dir" can be tried as "/dir/" without copying; and the values of
 * the wildcards met so far. */
struct walk {
	const struct mux *m;
	const char *p;
	size_t n, len; /* len: n, or n + 1 with the virtual slash */
	size_t nval;
	size_t voff[MUX_MAX_SEGMENTS], vlen[MUX_MAX_SEGMENTS];
};

static void walk_start(struct walk *w, const struct mux *m, const char *p, size_t n, bool slash)
{
	w->m = m;
	w->p = p;
	w->n = n;
	w->len = n + slash;
	w->nval = 0;
}

static bool push_value(struct walk *w, size_t s, size_t e)
{
	if (w->nval >= MUX_MAX_SEGMENTS)
		return false;
	if (s > w->n)
		s = w->n; /* {...} taking only the virtual slash */
	w->voff[w->nval] = s;
	w->vlen[w->nval++] = (e < w->n ? e : w->n) - s;
	return true;
}

/* Leaf under node matching the path from i (a '/'), or 0. */
static uint16_t match_path(struct walk *w, uint16_t node, size_t i)
{
	const struct mux_node *nodes = w->m->nodes;
	if (i == w->len)
		return nodes[node].route ? node : 0;
	bool trailing = i + 1 == w->len; /* only a trailing slash is left */
	size_t s = i + 1, e = s;
	if (!trailing) {
		const char *slash = s < w->n ? memchr(w->p + s, '/', w->n - s) : NULL;
		e = slash ? (size_t)(slash - w->p) : w->n;
	}
	bool dec = !trailing && must_decode(w->p + s, e - s);
	uint16_t lit = 0, wild = 0, multi = 0, r;
	for (uint16_t c = nodes[node].child; c; c = nodes[c].next) {
		const struct mux_node *cn = &nodes[c];
		const char *lab = w->m->text + cn->off;
		if (cn->kind == K_DOLLAR && trailing)
			lit = c;
		else if (cn->kind == K_LIT && !trailing &&
			 (dec ? eq_decoded(lab, cn->len, w->p + s, e - s)
			      : eq(lab, cn->len, w->p + s, e - s)))
			lit = c;
		else if (cn->kind == K_WILD)
			wild = c;
		else if (cn->kind == K_MULTI)
			multi = c;
	}
	if (lit && (r = match_path(w, lit, trailing ? w->len : e)))
		return r;
	if (wild && !trailing && push_value(w, s, e)) {
		if ((r = match_path(w, wild, e)))
			return r;
		w->nval--;
	}
	if (multi && nodes[multi].route && push_value(w, s, w->len))
		return multi;
	return 0;
}

static uint16_t child_named(const struct mux *m, uint16_t parent, bool nocase, const char *s, size_t n)
{
	for (uint16_t c = m->nodes[parent].child; c; c = m->nodes[c].next) {
		const char *lab = m->text + m->nodes[c].off;
		if (nocase ? eq_nocase(lab, m->nodes[c].len, s, n) : eq(lab, m->nodes[c].len, s, n))
			return c;
	}
	return 0;
}

static uint16_t match_from(struct walk *w, uint16_t node)
{
	w->nval = 0;
	return node ? match_path(w, node, 0) : 0;
}

/* The method level: the exact method, GET for HEAD, then no method. */
static uint16_t match_method(struct walk *w, uint16_t host, const char *method, size_t mlen)
{
	uint16_t r;
	if (!host)
		return 0;
	if ((r = match_from(w, child_named(w->m, host, false, method, mlen))))
		return r;
	if (eq(method, mlen, "HEAD", 4) && (r = match_from(w, child_named(w->m, host, false, "GET", 3))))
		return r;
	return match_from(w, child_named(w->m, host, false, "", 0));
}

/* The host level: patterns for this host first, then those for any. */
static uint16_t tree_match(struct walk *w, const char *host, size_t hlen, const char *method, size_t mlen)
{
	uint16_t r;
	if (w->m->nnodes == 0)
		return 0;
	if (hlen && (r = match_method(w, child_named(w->m, 0, true, host, hlen), method, mlen)))
		return r;
	return match_method(w, child_named(w->m, 0, true, "", 0), method, mlen);
}

/* Go's exactMatch: the leaf's pattern matched without a {...} taking a
 * non-empty rest. "/a/" exactly matches "/a/" but not "/a/b". */
static bool exact(const struct walk *w, uint16_t leaf)
{
	if (!leaf)
		return false;
	const struct mux_route *r = &w->m->routes[w->m->nodes[leaf].route - 1];
	if (!ends_multi(r))
		return true;
	if (w->len == w->n && w->p[w->n - 1] != '/')
		return false;
	size_t slashes = w->len - w->n;
	for (size_t i = 0; i < w->n; i++)
		slashes += w->p[i] == '/';
	return r->nsegs == slashes;
}

/* Would p[0..n) + "/" be matched exactly (the /tree -> /tree/ redirect)? */
static bool wants_slash(const struct mux *m, const char *p, size_t n, const char *host, size_t hlen,
			const char *method, size_t mlen)
{
	struct walk w;
	if (p[n - 1] == '/')
		return false;
	walk_start(&w, m, p, n, true);
	return exact(&w, tree_match(&w, host, hlen, method, mlen));
}

/* Finish a redirect whose clean path is already in buf[0..len). */
static int finish_redirect(struct mux_match *out, char *buf, size_t cap, size_t len, bool slash,
			   const char *query, size_t qlen)
{
	size_t need = len + slash + (qlen ? 1 + qlen : 0) + 1;
	if (!len || need > cap) {
		if (cap)
			buf[0] = '\0';
		return out->status = 414;
	}
	if (slash)
		buf[len++] = '/';
	if (qlen) {
		buf[len++] = '?';
		memcpy(buf + len, query, qlen);
		len += qlen;
	}
	buf[len] = '\0';
	return out->status = 301;
}

/* ---- 405: which methods would match ---- */

/* Methods of host's method-specific patterns that match w's path. The
 * no-method patterns are skipped: had one matched there would be no 405. */
static void methods_of(struct walk *w, uint16_t host, struct methods *set)
{
	for (uint16_t c = host ? w->m->nodes[host].child : 0; c; c = w->m->nodes[c].next) {
		const struct mux_node *cn = &w->m->nodes[c];
		if (cn->len && match_from(w, c))
			methods_add(set, w->m->text + cn->off, cn->len);
	}
}

static void methods_for(struct walk *w, const char *host, size_t hlen, struct methods *set)
{
	if (hlen)
		methods_of(w, child_named(w->m, 0, true, host, hlen), set);
	methods_of(w, child_named(w->m, 0, true, "", 0), set);
}

/* Join into allow as "A, B". At most MUX_MAX_METHODS methods of at most
 * MUX_METHOD_MAX bytes: MUX_ALLOW_MAX holds them all. */
static void join_methods(const struct methods *set, char *allow)
{
	size_t w = 0;
	for (size_t i = 0; i < set->count && i < MUX_MAX_METHODS; i++) {
		size_t sep = w ? 2 : 0;
		memcpy(allow + w, ", ", sep);
		memcpy(allow + w + sep, set->s[i], set->n[i]);
		w += sep + set->n[i];
	}
	allow[w] = '\0';
}

void mux_methods(const struct mux *m, char *allow)
{
	struct methods set = {.count = 0};
	allow[0] = '\0';
	if (all_methods(m, NULL, &set))
		join_methods(&set, allow);
}

/* Go's matchingMethods: also for path + "/", which a redirect would try. */
static int not_allowed(const struct mux *m, const char *host, size_t hlen, const char *p, size_t n,
		       struct mux_match *out)
{
	struct methods set = {.count = 0};
	struct walk w;
	walk_start(&w, m, p, n, false);
	methods_for(&w, host, hlen, &set);
	if (p[n - 1] != '/') {
		walk_start(&w, m, p, n, true);
		methods_for(&w, host, hlen, &set);
	}
	head_with_get(&set);
	if (!set.count)
		return out->status = 404;
	join_methods(&set, out->allow);
	return out->status = 405;
}

/* The pattern's named wildcards, in order, get the values met on the way. */
static void set_values(const struct walk *w, uint16_t leaf, struct mux_match *out)
{
	const struct mux_route *r = &w->m->routes[w->m->nodes[leaf].route - 1];
	size_t k = 0;
	out->handler = r->handler;
	out->pattern = w->m->text + r->pattern;
	for (size_t i = 0; i < r->nsegs && k < w->nval; i++) {
		const struct mux_seg *g = &r->segs[i];
		if (!is_var(g))
			continue;
		if (g->len && out->nvalues < MUX_MAX_VALUES)
			out->values[out->nvalues++] =
			    (struct mux_value){w->m->text + g->off, w->p + w->voff[k], w->vlen[k]};
		k++;
	}
	out->status = MUX_MATCHED;
}

/* Go's stripHostPort: "host:port" -> "host"; what net.SplitHostPort would
 * refuse ("a:b:c") stays as it is. Unlike Go, "[v6]:port" keeps its
 * brackets, so the pattern "[::1]/" matches with and without a port. */
void mux_strip_port(const char **host, size_t *hlen)
{
	const char *h = *host, *colon = NULL;
	size_t n = *hlen, colons = 0;
	for (size_t i = 0; i < n; i++)
		if (h[i] == ':') {
			colon = h + i;
			colons++;
		}
	if (!colons)
		return;
	if (h[0] == '[') {
		const char *close = memchr(h, ']', n);
		if (close && close + 1 < h + n && close[1] == ':' &&
		    !memchr(close + 2, ':', (size_t)(h + n - close - 2))) {
			*hlen = (size_t)(close + 1 - h);
		}
		return;
	}
	if (colons == 1)
		*hlen = (size_t)(colon - h);
}

/* An unclean path: redirect to its clean form (with a '/' added if only
 * that would match), whatever matches it. */
static int redirect_clean(const struct mux *m, const char *host, size_t hlen, const char *method, size_t mlen,
			  const char *path, size_t plen, const char *query, size_t qlen, char *buf,
			  size_t cap, struct mux_match *out)
{
	size_t c = http_path_clean(path, plen, buf, cap);
	bool slash = false;
	if (c) {
		struct walk w;
		walk_start(&w, m, buf, c, false);
		if (!exact(&w, tree_match(&w, host, hlen, method, mlen)))
			slash = wants_slash(m, buf, c, host, hlen, method, mlen);
	}
	return finish_redirect(out, buf, cap, c, slash, query, qlen);
}

int mux_match(const struct mux *m, const char *method, size_t mlen, const char *host, size_t hlen,
	      const char *path, size_t plen, const char *query, size_t qlen, char *buf, size_t cap,
	      struct mux_match *out)
{
	struct walk w;
	out->status = 404;
	out->handler = NULL;
	out->pattern = NULL;
	out->allow[0] = '\0';
	out->nvalues = 0;
	if (cap)
		buf[0] = '\0';
	if (!plen || path[0] != '/')
		return out->status;
	/* CONNECT's target is an authority, not a path: no canonicalising. */
	bool connect = eq(method, mlen, "CONNECT", 7);
	if (!connect)
		mux_strip_port(&host, &hlen);
	if (!connect && !path_is_clean(path, plen))
		return redirect_clean(m, host, hlen, method, mlen, path, plen, query, qlen, buf, cap, out);
	walk_start(&w, m, path, plen, false);
	uint16_t leaf = tree_match(&w, host, hlen, method, mlen);
	if (!exact(&w, leaf) && wants_slash(m, path, plen, host, hlen, method, mlen))
		return finish_redirect(out, buf, cap, http_path_clean(path, plen, buf, cap), true, query,
				       qlen);
	if (!leaf)
		return not_allowed(m, host, hlen, path, plen, out);
	set_values(&w, leaf, out);
	return out->status;
}

const char *mux_path_value(const struct mux_match *match, const char *name, size_t *len)
{
	for (size_t i = 0; i < match->nvalues; i++)
		if (strcmp(match->values[i].name, name) == 0) {
			if (len)
				*len = match->values[i].n;
			return match->values[i].p;
		}
	if (len)
		*len = 0;
	return NULL;
}
