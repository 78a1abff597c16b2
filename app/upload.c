/* POST /upload: multipart/form-data (RFC 7578) streamed through the
 * parser into a CRC-32 per part. Memory stays at one read buffer and the
 * parser's state whatever the upload's size; the reply lists each part. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "app/handlers.h"
#include "app/json.h"
#include "http/core/multipart.h"
#include "kernel/crc32.h"
#include "kernel/log.h"

#define UPLOAD_MAX_BODY (64ull << 20)
#define MAX_PARTS       16
#define STR_(x)         #x
#define STR(x)          STR_(x)

/* A listed part. Its name, filename and type are kept whole, back to back
 * in `text`: each is a value (unquoted, so no longer) or the default
 * "text/plain" standing for a field of the part's header section, which
 * holds all of them and "Content-Disposition: form-data; name=" besides
 * in at most MULTIPART_HEADER_MAX bytes; so they always fit. on_begin
 * still checks, loudly. */
struct part {
	uint16_t name_len, filename_len, type_len;
	uint64_t size;
	uint32_t crc;
	char text[MULTIPART_HEADER_MAX];
};

struct upload {
	struct part parts[MAX_PARTS];
	int nparts;
	bool overflow; /* more parts than we list (still parsed and counted) */
	uint64_t bytes;
};

static int on_begin(void *ctx, const char *name, size_t nn, const char *fn, size_t fnn, const char *ct,
		    size_t ctn)
{
	struct upload *u = ctx;
	if (u->nparts == MAX_PARTS) {
		u->overflow = true;
		return 0;
	}
	if (!fn)
		fnn = 0; /* listed as "" (no filename parameter) */
	struct part *p = &u->parts[u->nparts++];
	if (nn > sizeof p->text || fnn > sizeof p->text - nn || ctn > sizeof p->text - nn - fnn) {
		log_err("upload", "part %d: name, filename and type of %zu bytes do not fit %zu", u->nparts,
			nn + fnn + ctn, sizeof p->text);
		return -ECANCELED; /* feed fails with it: answered 500, never listed cut short */
	}
	memset(p, 0, offsetof(struct part, text));
	memcpy(p->text, name, nn);
	memcpy(p->text + nn, fn, fnn);
	memcpy(p->text + nn + fnn, ct, ctn);
	p->name_len = (uint16_t)nn, p->filename_len = (uint16_t)fnn, p->type_len = (uint16_t)ctn;
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

static const struct multipart_callbacks callbacks = {on_begin, on_data, on_end};

/* {"bytes":N,"parts":[{"name":..,"filename":..,"type":..,"size":N,
 * "crc32":"hex"},..],"truncated_list":bool}: every string escaped by
 * json_write_string, whatever its length or bytes. */
static void reply(struct http_rw *w, const struct upload *u)
{
	http_set_header(w, "Content-Type", "application/json");
	http_printf(w, "{\"bytes\":%lu,\"parts\":[", u->bytes);
	for (int i = 0; i < u->nparts; i++) {
		const struct part *p = &u->parts[i];
		http_printf(w, "%s{\"name\":", i ? "," : "");
		json_write_string(w, p->text, p->name_len);
		http_printf(w, ",\"filename\":");
		json_write_string(w, p->text + p->name_len, p->filename_len);
		http_printf(w, ",\"type\":");
		json_write_string(w, p->text + p->name_len + p->filename_len, p->type_len);
		if (http_printf(w, ",\"size\":%lu,\"crc32\":\"%08x\"}", p->size, p->crc) < 0)
			return; /* the connection failed: nothing more will reach it */
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
	struct upload *up = calloc(1, sizeof *up); /* 17 KiB: too much for a task stack */
	if (!up)
		return http_error(w, 503, "out of memory");
	http_set_body_limit(r, UPLOAD_MAX_BODY);
	ssize_t n = 0;
	int st = MULTIPART_MORE;
	while (st == MULTIPART_MORE && (n = http_read_body(r, buf, sizeof buf)) > 0)
		st = multipart_feed(&mp, buf, (size_t)n, &callbacks, up);
	if (st == MULTIPART_MORE && n == -EMSGSIZE)
		http_error(w, 413, "upload too large (limit 64 MiB)");
	else if (st == -ECANCELED)
		http_error(w, 500, "a part could not be listed"); /* on_begin said why on the console */
	else if (st == -EMSGSIZE)
		http_error(w, 400, "a part's header section is over " STR(MULTIPART_HEADER_MAX) " bytes");
	else if (st < 0 || (st == MULTIPART_MORE && (n < 0 || multipart_finish(&mp) < 0)))
		http_error(w, 400, "malformed or truncated multipart body");
	else
		reply(w, up);
	free(up);
}
