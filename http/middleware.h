/* Middleware: handlers that wrap handlers. Each constructor allocates its
 * wrapper once, at route registration (boot), never per request. */
#ifndef KEEL_HTTP_MIDDLEWARE_H
#define KEEL_HTTP_MIDDLEWARE_H

#include "server.h"

/* One log line per request: peer, method, path, status, bytes, duration. */
struct http_handler *http_with_access_log(struct http_handler *inner);
/* X-Request-Id on every response (the client's, if it sent a sane one). */
struct http_handler *http_with_request_id(struct http_handler *inner);

/* A CPU fault in the handler becomes a 500 (see kernel/recover.h). */
struct http_handler *http_with_recovery(struct http_handler *inner);

#endif
