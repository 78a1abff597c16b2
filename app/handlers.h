/* Handlers of the default appliance, one file per resource. */
#ifndef KEEL_APP_HANDLERS_H
#define KEEL_APP_HANDLERS_H

#include "http/server.h"

void app_metrics(struct http_rw *w, struct http_req *r, void *arg);
void app_users_list(struct http_rw *w, struct http_req *r, void *arg);
void app_users_create(struct http_rw *w, struct http_req *r, void *arg);
void app_user_get(struct http_rw *w, struct http_req *r, void *arg);
void app_user_put(struct http_rw *w, struct http_req *r, void *arg);
void app_user_delete(struct http_rw *w, struct http_req *r, void *arg);
void app_upload(struct http_rw *w, struct http_req *r, void *arg);
/* The middleware around the mux: request id, access log, recovery, gzip. */
struct http_handler *app_wrap(struct http_handler *h);

#endif
