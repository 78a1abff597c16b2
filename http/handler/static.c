/* Serving the embedded site (RFC 9110 §8.8 validators, §13 conditional
 * requests, §14 range requests). Lookups are exact matches of the decoded,
 * cleaned path in a sorted table: there is no file system to escape from,
 * so "..", "%2e%2e" and friends can only miss. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "http/core/ctype.h"
#include "http/core/path.h"
#include "http/h1/internal.h"
#include "http/handler/middleware.h"
#include "http/handler/static.h"
#include "kernel/civil.h"

/* The table served: the embedded one until http_static_set_files. */
static const struct static_file *files;
static unsigned nfiles;

void http_static_set_files(const struct static_file *f, unsigned n)
{
	files = f;
	nfiles = n;
}

const struct static_file *http_static_find(const char *path, size_t n)
{
	const struct static_file *table = files ? files : static_files;
	unsigned lo = 0, hi = files ? nfiles : static_file_count;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		const char *p = table[mid].path;
		size_t pn = strlen(p);
		int c = memcmp(p, path, pn < n ? pn : n);
		if (!c)
			c = pn < n ? -1 : pn > n;
		if (!c)
			return &table[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* RFC 9110 §13.1.2: If-None-Match matches with the weak comparison. */
static bool etag_matches(const char *list, size_t n, const char *etag)
{
	size_t elen = strlen(etag);
	for (size_t i = 0; i < n;) {
		while (i < n && (http_is_ows((unsigned char)list[i]) || list[i] == ','))
			i++;
		if (i < n && list[i] == '*')
			return true;
		if (i + 2 < n && list[i] == 'W' && list[i + 1] == '/')
			i += 2;
		size_t start = i;
		while (i < n && list[i] != ',')
			i++;
		size_t end = i;
		while (end > start && http_is_ows((unsigned char)list[end - 1]))
			end--;
		if (end - start == elen && !memcmp(list + start, etag, elen))
			return true;
	}
	return false;
}

/* What a Range field asks of a representation. */
enum range {
	RANGE_IGNORE,        /* syntax we do not serve (e.g. several ranges): send it all */
	RANGE_SATISFIABLE,   /* *first and *last set: 206 */
	RANGE_UNSATISFIABLE, /* 416 (§15.5.17) */
};

/* A single "bytes=first-last" range (§14.1.2) clipped to size. */
static enum range parse_range(const char *v, size_t n, uint64_t size, uint64_t *first, uint64_t *last)
{
	if (n < 7 || !http_eq_nocase(v, "bytes=", 6) || memchr(v, ',', n))
		return RANGE_IGNORE;
	const char *p = v + 6, *end = v + n;
	uint64_t a = 0, b = 0;
	bool has_a = false, has_b = false;
	for (; p < end && http_is_digit((unsigned char)*p); p++, has_a = true)
		if ((a = a * 10 + (uint64_t)(*p - '0')) > (1ull << 50))
			return RANGE_IGNORE;
	if (p >= end || *p++ != '-')
		return RANGE_IGNORE;
	for (; p < end && http_is_digit((unsigned char)*p); p++, has_b = true)
		if ((b = b * 10 + (uint64_t)(*p - '0')) > (1ull << 50))
			return RANGE_IGNORE;
	if (p != end || (!has_a && !has_b))
		return RANGE_IGNORE;
	if (!has_a) { /* suffix: the last b bytes */
		if (!b || !size)
			return RANGE_UNSATISFIABLE;
		*first = b >= size ? 0 : size - b;
		*last = size - 1;
		return RANGE_SATISFIABLE;
	}
	if (has_b && b < a)
		return RANGE_IGNORE; /* last < first is invalid syntax */
	if (a >= size)
		return RANGE_UNSATISFIABLE;
	*first = a;
	*last = has_b && b < size ? b : size - 1;
	return RANGE_SATISFIABLE;
}

/* The representation's strong ETag: the gzip variant is a different
 * representation and gets its own (RFC 9110 §8.8.3). */
static void etag_of(const struct static_file *f, bool gz, char *out, size_t cap)
{
	struct http_buf b = http_buf_init(out, cap - 1);
	http_buf_put(&b, f->etag, strlen(f->etag) - 1); /* up to the closing quote */
	if (gz)
		http_buf_str(&b, "-gz");
	http_buf_put(&b, "\"", 1);
	out[b.over ? 0 : b.len] = '\0';
}

static void set_validators(struct http_rw *w, const struct static_file *f, const char *etag)
{
	/* The last date formatted is kept: a site's files mostly share one. */
	static int64_t cached_mtime; /* 0: none yet (files without one never ask) */
	static char date[40];
	http_set_header(w, "ETag", etag);
	if (f->mtime && f->mtime != cached_mtime && http_format_date(f->mtime, date, sizeof date))
		cached_mtime = f->mtime;
	if (f->mtime && f->mtime == cached_mtime)
		http_set_header(w, "Last-Modified", date);
}

/* §13.1.3: evaluated only without If-None-Match, and only for a date we
 * can parse. */
static bool not_modified_since(const struct http_req *r, const struct static_file *f)
{
	size_t n;
	const char *ims = http_get_header(r, "If-Modified-Since", &n);
	int64_t t;
	return ims && f->mtime && http_parse_date(ims, n, &t) == 0 && f->mtime <= t;
}

/* A redirect's Location: path, '/', '?' and query, NUL included; longer
 * ones get 414 (the response's header buffer could not hold much more). */
#define STATIC_LOCATION_MAX 768

/* The decoded, cleaned file path for the request (a trailing '/' maps to
 * index.html): 0, -ENAMETOOLONG if it is too long to name an embedded
 * file, -EBADMSG if it does not decode. */
static int file_path(const struct http_req *r, char *out, size_t cap, size_t *n)
{
	char decoded[512];
	if (r->msg->path.n >= sizeof decoded)
		return -ENAMETOOLONG;
	int dn = http_percent_decode(r->msg->path.p, r->msg->path.n, decoded, sizeof decoded);
	if (dn <= 0)
		return -EBADMSG; /* decoded fits: only a bad %XX (or no path at all) */
	if ((size_t)dn + sizeof "index.html" > cap)
		return -ENAMETOOLONG;
	*n = http_path_clean(decoded, (size_t)dn, out, cap);
	if (out[*n - 1] == '/') {
		memcpy(out + *n, "index.html", 10);
		*n += 10;
	}
	return 0;
}

/* "/about" names a directory: send the client to "/about/" (keeping the
 * query), as net/http's FileServer does. A Location that would not fit is
 * a 414: a cut one would point at another resource. */
static bool redirect_to_dir(struct http_rw *w, const struct http_req *r, const char *path, size_t n)
{
	char probe[600];
	if (n + sizeof "/index.html" > sizeof probe)
		return false;
	memcpy(probe, path, n);
	memcpy(probe + n, "/index.html", 11);
	if (!http_static_find(probe, n + 11))
		return false;
	char loc[STATIC_LOCATION_MAX];
	size_t qn = r->msg->query.n;
	if (n + 2 + qn >= sizeof loc) {
		http_error(w, 414, "URI too long to redirect");
		return true;
	}
	snprintf(loc, sizeof loc, "%.*s/%s%.*s", (int)n, path, qn ? "?" : "", (int)qn, r->msg->query.p);
	http_set_header(w, "Location", loc); /* if it cannot fit, the writer answers 500 */
	http_error(w, 301, "moved permanently");
	return true;
}

void http_static(struct http_rw *w, struct http_req *r, void *arg)
{
	(void)arg;
	char path[600];
	size_t n, vn, rn;
	int fp = file_path(r, path, sizeof path, &n);
	if (fp == -EBADMSG)
		return http_error(w, 400, "malformed path (bad percent-encoding)");
	const struct static_file *f = fp == 0 ? http_static_find(path, n) : NULL;
	if (!f) {
		if (fp < 0 || !redirect_to_dir(w, r, path, n))
			http_error(w, 404, "not found");
		return;
	}
	const char *range = http_get_header(r, "Range", &rn);
	bool gz = f->gz && http_accepts_gzip(r) && !range; /* ranges apply to the identity form */
	http_set_header(w, "Content-Type", f->mime);
	http_set_header(w, "Accept-Ranges", "bytes");
	http_set_header(w, "Cache-Control", "no-cache");
	if (f->gz)
		http_set_header(w, "Vary", "Accept-Encoding");
	char etag[40];
	etag_of(f, gz, etag, sizeof etag);
	set_validators(w, f, etag);
	const char *inm = http_get_header(r, "If-None-Match", &vn);
	if (inm ? etag_matches(inm, vn, etag) : not_modified_since(r, f))
		return http_write_header(w, 304);
	const unsigned char *data = gz ? f->gz : f->data;
	uint64_t size = gz ? f->gz_size : f->size, first = 0, last = size - 1;
	enum range rr = range ? parse_range(range, rn, size, &first, &last) : RANGE_IGNORE;
	char cr[64];
	if (rr == RANGE_UNSATISFIABLE) {
		snprintf(cr, sizeof cr, "bytes */%lu", size);
		http_set_header(w, "Content-Range", cr);
		return http_error(w, 416, "range not satisfiable");
	}
	if (gz)
		http_set_header(w, "Content-Encoding", "gzip");
	if (rr == RANGE_SATISFIABLE) {
		snprintf(cr, sizeof cr, "bytes %lu-%lu/%lu", first, last, size);
		http_set_header(w, "Content-Range", cr);
		http_write_header(w, 206);
	}
	uint64_t len = rr == RANGE_SATISFIABLE ? last - first + 1 : size;
	http_set_content_length(w, len);
	http_write_static(w, data + first, len); /* the image's or the bundle's bytes: by reference */
}
