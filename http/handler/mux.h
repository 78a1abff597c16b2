/* The request router: Go 1.22 net/http ServeMux patterns in a pure,
 * allocation-free module.
 *
 * Patterns are "[METHOD ][HOST]/[PATH]":
 *   - METHOD is a token, separated from the rest by spaces or tabs. GET also
 *     matches HEAD; any other method matches only itself; no method matches
 *     every method.
 *   - HOST, if present, matches the request's Host (port stripped, compared
 *     case-insensitively). Without one the pattern matches any host.
 *   - PATH is '/'-separated segments: a literal, "{name}" (one whole
 *     segment), "{name...}" (the rest of the path, last segment only) or
 *     "{$}" (last, after a slash: the path ends right there with its
 *     slash). A PATH ending in '/' matches the whole subtree below it.
 *     Names are ASCII identifiers of at most MUX_NAME_MAX bytes, distinct
 *     within a pattern. Literal segments may be %-escaped and compare
 *     decoded, so "/a%20b" and "/a b" are the same literal.
 *     A pattern with a method other than CONNECT must have a clean path
 *     (no "//", "." or ".."): requests are cleaned first, so it could never
 *     match.
 *
 *     "/index.html"              that path, any host and method
 *     "GET /static/"             GET or HEAD of anything under /static/
 *     "example.com/"             any request for host example.com
 *     "example.com/{$}"          host example.com, path "/" only
 *     "/b/{bucket}/o/{obj...}"   bucket = 2nd segment, obj = the rest
 *
 * Precedence: of the patterns matching a request the most specific wins,
 * P1 being more specific than P2 if it matches a strict subset of P2's
 * requests. So a literal segment beats "{x}", which beats "{x...}", and
 * "GET /a" beats "/a". As an exception a pattern with a host beats every
 * pattern without one. Two patterns with the same host that could both
 * match some request while neither is more specific ("/a/{x}" and
 * "/{y}/b"), or identical ones, are refused at registration with a message
 * naming both, so matching never meets an ambiguity.
 *
 * Matching (mux_match) follows ServeMux.findHandler: the port is stripped
 * from the host and an unclean path is redirected to its clean form (not
 * for CONNECT); "/dir" is redirected to "/dir/" when only the subtree
 * pattern "/dir/" (or "/dir/{$}") would take it; a path no pattern takes
 * with this method but some pattern takes with another gets 405 and an
 * Allow list.
 *
 * Registration happens at boot into fixed tables (limits below; exceeding
 * one is an error, never a crash). Matching walks a tree (host -> method ->
 * segments, as Go's routing_tree.go) and allocates and copies nothing: path
 * values are slices of the caller's path. The mux is not locked: register
 * everything before serving. */
#ifndef KEEL_HTTP_MUX_H
#define KEEL_HTTP_MUX_H

#include <stddef.h>
#include <stdint.h>

#define MUX_MAX_ROUTES   128  /* registered patterns */
#define MUX_MAX_SEGMENTS 16   /* path segments in one pattern */
#define MUX_MAX_VALUES   8    /* named wildcards in one pattern */
#define MUX_NAME_MAX     32   /* bytes of a wildcard name */
#define MUX_PATTERN_MAX  255  /* bytes of a pattern */
#define MUX_TEXT_MAX     8192 /* patterns, names and decoded literals */
#define MUX_MAX_NODES    1024 /* tree nodes: at most 2 + segments per pattern */
#define MUX_METHOD_MAX   32   /* a pattern's method, in bytes */
#define MUX_MAX_METHODS  12   /* distinct methods of all patterns (GET brings HEAD) */
/* An Allow list ("GET, HEAD, POST"), NUL included: the worst case fits. */
#define MUX_ALLOW_MAX    (MUX_MAX_METHODS * (MUX_METHOD_MAX + 2) + 1)

/* mux_match statuses besides the HTTP ones. */
#define MUX_MATCHED 0

/* One captured wildcard: the raw (still %-escaped) text of the request
 * path it matched. For "{name...}" that is everything after the slash
 * before it, slashes included, possibly empty. */
struct mux_value {
	const char *name; /* NUL-terminated, owned by the mux */
	const char *p;    /* into the path passed to mux_match */
	size_t n;
};

struct mux_match {
	int status;                /* MUX_MATCHED, or 301, 404, 405, 414 */
	void *handler;             /* MUX_MATCHED: as registered */
	const char *pattern;       /* MUX_MATCHED: the pattern as registered */
	char allow[MUX_ALLOW_MAX]; /* 405: "GET, HEAD, POST", sorted */
	size_t nvalues;
	struct mux_value values[MUX_MAX_VALUES];
};

/* ---- private: the tables, public only so a mux can be static ---- */

struct mux_seg {
	uint8_t kind;      /* literal, {$}, {x} or {x...} */
	uint16_t off, len; /* text: decoded literal or NUL-terminated name */
};

struct mux_route {
	void *handler;
	uint16_t pattern;      /* text: the pattern, NUL-terminated */
	uint16_t method, mlen; /* text: inside the pattern */
	uint16_t host, hlen;
	uint8_t nsegs;
	struct mux_seg segs[MUX_MAX_SEGMENTS];
};

struct mux_node {
	uint16_t child, next; /* first child, next sibling; 0 = none */
	uint16_t route;       /* leaf: route index + 1; 0 = none */
	uint16_t off, len;    /* text: host, method or literal */
	uint8_t kind;
};

struct mux {
	size_t nroutes, nnodes, ntext;
	struct mux_route routes[MUX_MAX_ROUTES];
	struct mux_node nodes[MUX_MAX_NODES]; /* [0] is the root */
	char text[MUX_TEXT_MAX];
};

/* ---- API ---- */

/* An all-zero mux is valid and empty too. */
void mux_init(struct mux *m);

/* Register handler (not NULL) for pattern, which is copied. Returns 0, or
 * -EINVAL (bad pattern, NULL handler), -EEXIST (conflicts with a
 * registered pattern), -ENOSPC (a limit above). On error err (if errlen >
 * 0) holds a NUL-terminated message, e.g.
 *   parsing "/a/{x...}/b": at offset 3: {...} wildcard not at end
 *   pattern "/{y}/b" conflicts with pattern "/a/{x}": both match some
 *   paths, like "/a/b", but neither is more specific
 * and the mux is unchanged. */
int mux_handle(struct mux *m, const char *pattern, void *handler, char *err, size_t errlen);

/* Route one request: method, Host header value (may include a port; empty
 * if none), the raw still-escaped path (origin-form, starting with '/') and
 * query (without the '?'; empty if none). Fills *out and returns its status:
 *   MUX_MATCHED  handler, pattern and path values are set;
 *   301          redirect holds the Location ("/clean/path[/][?query]");
 *   404          nothing matches (also for a path not starting with '/');
 *   405          allow holds the methods that would match;
 *   414          a redirect was due but did not fit redirect_cap.
 * redirect is written only for 301 (and set to "" otherwise, if cap > 0).
 * Values point into path and stay valid as long as it does. */
int mux_match(const struct mux *m, const char *method, size_t mlen, const char *host, size_t hlen,
	      const char *path, size_t plen, const char *query, size_t qlen, char *redirect,
	      size_t redirect_cap, struct mux_match *out);

/* A Host value without its port, as matching sees it (Go's
 * stripHostPort): "example.com:8080" -> "example.com", "[::1]:80" ->
 * "[::1]"; shortens *hlen. */
void mux_strip_port(const char **host, size_t *hlen);

/* The methods the mux serves, for OPTIONS * (RFC 9110 §9.3.7): every
 * pattern's method, HEAD with GET, sorted and joined as an Allow list into
 * allow[MUX_ALLOW_MAX]. Empty when a pattern without a method takes every
 * method (there is no list to give). */
void mux_methods(const struct mux *m, char *allow);

/* The value of wildcard name in a match (raw, see struct mux_value), or
 * NULL if the matched pattern has no wildcard of that name. len may be
 * NULL. */
const char *mux_path_value(const struct mux_match *match, const char *name, size_t *len);

#endif
