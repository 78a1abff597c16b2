/* The boot bundle's site/ as the static table (kernel/bundle.h): each file
 * gets what tools/embed-site.py computes for an embedded one, at boot
 * instead of build time. Data is served in place from the bundle; only
 * the table and its ETag strings are allocated, once. No gzip variants:
 * compressing a whole site at boot would cost more than it saves here. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/handler/static.h"
#include "kernel/bundle.h"
#include "kernel/crc32.h"
#include "kernel/log.h"

/* The same table as tools/embed-site.py's MIME: keep the two in step. */
static const struct {
	const char *ext, *mime;
} mimes[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".json", "application/json"},
    {".txt", "text/plain; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".ico", "image/x-icon"},
    {".wasm", "application/wasm"},
    {".xml", "application/xml"},
};

/* "\"" + 8 hex digits of CRC-32 + 8 of the size + "\"" + NUL */
#define ETAG_SIZE 19

/* By the extension after the last '.' of the last segment, any case, as
 * os.path.splitext(path)[1].lower() does. */
static const char *mime_of(const char *path)
{
	const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
	if (dot && (!slash || dot > slash + 1))
		for (size_t i = 0; i < sizeof mimes / sizeof mimes[0]; i++)
			if (!strcasecmp(dot, mimes[i].ext))
				return mimes[i].mime;
	return "application/octet-stream";
}

/* embed-site.py's rule for file names: letters, digits and ._~/- only, so
 * every file has one plain URL and no name needs escaping in a header. */
static bool plain_name(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      strchr("._~/-", *s)))
			return false;
	return true;
}

void http_static_use_bundle(void)
{
	size_t n, used = 0;
	const struct bundle_file *b = bundle_list("site/", &n);
	if (!n)
		return;
	struct static_file *t = malloc(n * (sizeof *t + ETAG_SIZE));
	if (!t) {
		log_warn("bundle", "no memory for the site/ table (%zu files): serving the embedded site", n);
		return;
	}
	char *etags = (char *)(t + n);
	for (size_t i = 0; i < n; i++) {
		const char *path = b[i].name + 4; /* "site/a.html" -> "/a.html", still sorted */
		if (!plain_name(path)) {
			log_warn("bundle", "ignoring \"%s\": only letters, digits and ._~/- in site names",
				 b[i].name);
			continue;
		}
		char *etag = etags + used * ETAG_SIZE;
		snprintf(etag, ETAG_SIZE, "\"%08x%08x\"", (unsigned)crc32_update(0, b[i].data, b[i].size),
			 (unsigned)b[i].size);
		t[used++] = (struct static_file){.path = path,
						 .data = b[i].data,
						 .size = b[i].size,
						 .mime = mime_of(path),
						 .etag = etag,
						 .mtime = b[i].mtime};
	}
	if (!used) {
		free(t);
		return;
	}
	http_static_set_files(t, (unsigned)used);
	log_info("bundle", "serving site/ (%zu files) instead of the embedded site", used);
}
