/* POST /upload: multipart/form-data (RFC 7578) streamed through the
 * parser into a CRC-32 per part. Memory stays at one read buffer and the
 * parser's state whatever the upload's size; the reply lists each part. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/handlers.h"
#include "app/json.h"
#include "http/core/multipart.h"
#include "kernel/crc32.h"

#define UPLOAD_MAX_BODY (64ull << 20)
#define MAX_PARTS 16

struct part {
	char name[64], filename[128], type[64];
	uint64_t size;
	uint32_t crc;
};

struct upload {
	struct part parts[MAX_PARTS];
	int nparts;
	bool overflow; /* more parts than we list (still parsed and counted) */
	uint64_t bytes;
};

static void copy(char *dst, size_t cap, const char *src, size_t n)
{
	n = n < cap - 1 ? n : cap - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
}

static int on_begin(void *ctx, const char *name, size_t nn, const char *fn, size_t fnn, const char *ct, size_t ctn)
{
	struct upload *u = ctx;
	if (u->nparts == MAX_PARTS) {
		u->overflow = true;
		return 0;
	}
	struct part *p = &u->parts[u->nparts++];
	memset(p, 0, sizeof *p);
	copy(p->name, sizeof p->name, name, nn);
	copy(p->filename, sizeof p->filename, fn ? fn : "", fn ? fnn : 0);
	copy(p->type, sizeof p->type, ct, ctn);
	return 0;
}

static int on_data(void *ctx, const char *d, size_t n)
{
	struct upload *u = ctx;
	u->bytes += n;
	if (!u->overflow) {
		struct part *p = &u->parts[u->nparts - 1];
		p->size += n;
		p->crc = crc32_update(p->crc, d, n);
	}
	return 0;
}

static int on_end(void *ctx)
{
	(void)ctx;
	return 0;
}

static const struct multipart_callbacks callbacks = { on_begin, on_data, on_end };

static void reply(struct http_rw *w, const struct upload *u)
{
	http_set_header(w, "Content-Type", "application/json");
	http_printf(w, "{\"bytes\":%lu,\"parts\":[", u->bytes);
	for (int i = 0; i < u->nparts; i++) {
		char name[200], fn[300], type[200];
		json_quote(u->parts[i].name, name, sizeof name);
		json_quote(u->parts[i].filename, fn, sizeof fn);
		json_quote(u->parts[i].type, type, sizeof type);
		http_printf(w, "%s{\"name\":%s,\"filename\":%s,\"type\":%s,\"size\":%lu,\"crc32\":\"%08x\"}",
			    i ? "," : "", name, fn, type, u->parts[i].size, u->parts[i].crc);
	}
	http_printf(w, "],\"truncated_list\":%s}\n", u->overflow ? "true" : "false");
}

void app_upload(struct http_rw *w, struct http_req *r, void *arg)
{
	(void)arg;
	struct multipart mp;
	char boundary[MULTIPART_BOUNDARY_MAX + 1], buf[4096];
	size_t ctn, bn;
	const char *ct = http_get_header(r, "Content-Type", &ctn);
	if (!ct || multipart_boundary(ct, ctn, boundary, sizeof boundary, &bn) < 0)
		return http_error(w, 415, "want multipart/form-data with a boundary");
	if (multipart_init(&mp, boundary, bn) < 0)
		return http_error(w, 400, "bad multipart boundary");
	struct upload *up = calloc(1, sizeof *up); /* 4 KiB: too much for a task stack */
	if (!up)
		return http_error(w, 503, "out of memory");
	http_set_body_limit(r, UPLOAD_MAX_BODY);
	ssize_t n = 0;
	int st = 0;
	while (st == 0 && (n = http_read_body(r, buf, sizeof buf)) > 0)
		st = multipart_feed(&mp, buf, (size_t)n, &callbacks, up);
	if (st == 0 && n == -EMSGSIZE)
		http_error(w, 413, "upload too large (limit 64 MiB)");
	else if (st < 0 || (st == 0 && (n < 0 || multipart_finish(&mp) < 0)))
		http_error(w, 400, "malformed or truncated multipart body");
	else
		reply(w, up);
	free(up);
}
