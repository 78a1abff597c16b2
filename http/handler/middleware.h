/* Middleware: handlers that wrap handlers. Each constructor allocates its
 * wrapper once, at route registration (boot), never per request. A
 * constructor returns NULL when out of memory, and when given a NULL
 * inner handler, so a chain of them is checked once, at its end; a layer
 * such as rate limiting never vanishes silently. */
#ifndef KEEL_HTTP_MIDDLEWARE_H
#define KEEL_HTTP_MIDDLEWARE_H

#include "http/server.h"

/* One log line per request: peer, method, path, status, bytes, duration. */
struct http_handler *http_with_access_log(struct http_handler *inner);
/* X-Request-Id on every response (the client's, if it sent a sane one). */
struct http_handler *http_with_request_id(struct http_handler *inner);

/* A CPU fault in the handler becomes a 500 (see kernel/recover.h). */
struct http_handler *http_with_recovery(struct http_handler *inner);

/* At most `rate` requests per second per client address, in bursts of up
 * to `burst`; beyond it 429 with Retry-After. */
struct http_handler *http_with_rate_limit(struct http_handler *inner, uint32_t rate, uint32_t burst);
/* Access-Control-Allow-Origin: * on responses to cross-origin requests. */
struct http_handler *http_with_cors(struct http_handler *inner);
/* A handler for "OPTIONS /path" preflights. */
void http_cors_preflight(struct http_rw *w, struct http_req *r, void *arg);

/* Compressible responses gzipped on the fly for clients that accept it,
 * with Vary: Accept-Encoding and a weakened ETag (http/handler/gzip.c); at most
 * `compressors` at once, allocated now (30 KiB each). */
struct http_handler *http_with_gzip(struct http_handler *inner, unsigned compressors);
struct http_gzip_stats {
	uint64_t responses;     /* gzipped */
	uint64_t no_compressor; /* would have been, but every compressor was busy */
	uint64_t bytes_in, bytes_out;
};
void http_gzip_get_stats(struct http_gzip_stats *s);
/* Does the request accept the gzip coding (any Accept-Encoding line lists
 * gzip or x-gzip with q > 0)? Also for handlers with their own variants. */
bool http_accepts_gzip(const struct http_req *r);

#endif
