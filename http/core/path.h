/*
 * Request path and query helpers (RFC 3986 §2.1, §5.2.4, §3.4): pure, no
 * allocation. The parser (http/core/parse.h) leaves the path raw; a handler
 * that maps it to a resource decodes and then cleans it, in that order, so
 * an encoded "%2e%2e%2f" cannot climb above the root:
 *
 *     char dec[512], clean[513];
 *     int n = http_percent_decode(req->path.p, req->path.n, dec, sizeof dec);
 *     if (n < 0) -> 400
 *     size_t m = http_path_clean(dec, (size_t)n, clean, sizeof clean);
 */
#ifndef KEEL_HTTP_PATH_H
#define KEEL_HTTP_PATH_H

#include <stdbool.h>
#include <stddef.h>

#include "http/core/parse.h" /* struct http_slice */

/*
 * Decode %XX triplets (RFC 3986 §2.1; hex digits in either case) from
 * in[0, n) into out[0, cap). '+' stays '+': it means space only in
 * form-encoded queries (see http_query_decode). Returns the decoded length,
 * or -EBADMSG for a '%' not followed by two hex digits or for "%00" (a NUL
 * would cut the path short for any C string consumer), -ENOBUFS when out
 * is too small (cap >= n always suffices), -EOVERFLOW when n > INT32_MAX.
 * out may be in itself (decoding never lengthens); not NUL-terminated.
 */
int http_percent_decode(const char *in, size_t n, char *out, size_t cap);

/*
 * As http_percent_decode, but for an application/x-www-form-urlencoded
 * query key or value: '+' decodes to SP as well.
 */
int http_query_decode(const char *in, size_t n, char *out, size_t cap);

/*
 * Clean a URL path the way Go's net/http does (cleanPath: path.Clean after
 * a leading '/' is ensured, trailing '/' kept): collapse runs of '/', drop
 * "." segments, let ".." remove the segment before it but never climb
 * above the root (RFC 3986 §5.2.4 remove_dot_segments, at the root), and
 * keep a trailing '/' if in had one. "" gives "/". Writes to out[0, cap),
 * which must not overlap in; cap = n + 1 always suffices (a ".." may
 * remove a segment that needed room first). Returns the length (>= 1,
 * out[0] == '/'), or 0 if it runs out of room. Not NUL-terminated.
 */
size_t http_path_clean(const char *in, size_t n, char *out, size_t cap);

/*
 * Iterate over a query (without its '?'): split at '&', then at the first
 * '='. Empty pieces ("a=1&&b") are skipped; a piece without '=' has an
 * empty value. key and value stay encoded (http_query_decode). Advances
 * *q; false when it is exhausted:
 *
 *     struct http_slice q = req->query, k, v;
 *     while (http_query_next(&q, &k, &v)) ...
 */
bool http_query_next(struct http_slice *q, struct http_slice *key, struct http_slice *value);

#endif
