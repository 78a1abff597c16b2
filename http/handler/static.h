/* Static files embedded in the image (tools/embed-site.py generates the
 * table from images/site/ at build time), or the boot bundle's site/
 * (kernel/bundle.h), which replaces them whole. */
#ifndef KEEL_HTTP_STATIC_H
#define KEEL_HTTP_STATIC_H

#include <stddef.h>
#include <stdint.h>

struct static_file {
	const char *path;   /* "/index.html"; sorted */
	const unsigned char *data;
	size_t size;
	const unsigned char *gz; /* gzip variant, or NULL */
	size_t gz_size;
	const char *mime;
	const char *etag;   /* strong, quoted */
	int64_t mtime;      /* Last-Modified, seconds since the epoch (0: none) */
};

extern const struct static_file static_files[];
extern const unsigned static_file_count;

struct http_rw;
struct http_req;
/* GET/HEAD handler for the whole embedded site: directory index, ETag and
 * If-None-Match (304), Last-Modified and If-Modified-Since, a single Range
 * (206/416), gzip variants for clients that accept them. */
void http_static(struct http_rw *w, struct http_req *r, void *arg);
const struct static_file *http_static_find(const char *path, size_t n);
/* Serve f[0, n) (sorted by path, as static_files) instead of the embedded
 * table; at boot, before the server starts. f must outlive the server. */
void http_static_set_files(const struct static_file *f, unsigned n);
/* If the boot bundle has a site/ directory, serve it instead of the
 * embedded site (http/handler/static_bundle.c). */
void http_static_use_bundle(void);

#endif
