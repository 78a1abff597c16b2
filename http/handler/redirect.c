/* redirect_http=on: the plain port sends every request to HTTPS, the
 * same path and query. 301 (RFC 9110 §15.4.2) lets a client turn a POST
 * into a GET, so other methods get 308 (§15.4.9), which keeps them.
 * RFC 6797 §7.2: a plain response carries no Strict-Transport-Security,
 * the HTTPS one does. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "http/server.h"

#define LOCATION_MAX 768 /* fits the response's header space with room to spare */

void http_https_redirect(struct http_rw *w, struct http_req *r, void *arg)
{
	unsigned port = (unsigned)(uintptr_t)arg;
	const struct http_request *m = r->msg;
	const char *host = m->host.p;
	size_t hn = m->host.n;
	mux_strip_port(&host, &hn); /* the HTTPS port replaces it */
	if (!hn) {
		http_error(w, 400, "a Host is needed to redirect to HTTPS");
		return;
	}
	char loc[LOCATION_MAX], portpart[8] = "";
	if (port != 443)
		snprintf(portpart, sizeof portpart, ":%u", port);
	/* The path as received, still percent-encoded: the same resource. */
	const char *path = m->path.n ? m->path.p : "/";
	size_t pn = m->path.n ? m->path.n : 1;
	int n = snprintf(loc, sizeof loc, "https://%.*s%s%.*s%s%.*s", (int)hn, host, portpart, (int)pn, path,
			 m->query.n ? "?" : "", (int)m->query.n, m->query.p);
	if (n < 0 || (size_t)n >= sizeof loc) {
		http_error(w, 414, "URI too long to redirect");
		return;
	}
	if (http_set_header(w, "Location", loc) < 0) { /* a Host the parser let through but a field cannot carry */
		http_error(w, 400, "bad Host for an HTTPS redirect");
		return;
	}
	bool safe = (m->method.n == 3 && !memcmp(m->method.p, "GET", 3)) ||
		    (m->method.n == 4 && !memcmp(m->method.p, "HEAD", 4));
	http_error(w, safe ? 301 : 308, safe ? "moved permanently" : "permanent redirect");
}
