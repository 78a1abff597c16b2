/* The default appliance: network up, routes registered, HTTP server on
 * port 80 (port=N). Routes live in app/routes.c. */
#include "app/app.h"
#include "app/handlers.h"
#include "http/server.h"
#include "kernel/clock.h"
#include "kernel/cmdline.h"
#include "kernel/log.h"
#include "kernel/sched.h"
#include "net/net.h"

static struct mux mux;
static struct http_config http;

static void config_from_cmdline(const struct cmdline *c)
{
	http_config_defaults(&http);
	http.port = c->port;
	http.read_header_ns = c->read_header_timeout * NSEC_PER_SEC;
	http.read_ns = c->read_timeout * NSEC_PER_SEC;
	http.write_ns = c->write_timeout * NSEC_PER_SEC;
	http.idle_ns = c->idle_timeout * NSEC_PER_SEC;
	http.handler_ns = c->handler_timeout * NSEC_PER_SEC;
	http.shutdown_ns = c->shutdown_timeout * NSEC_PER_SEC;
	http.max_conns = c->max_conns;
	http.max_header_bytes = c->max_header_bytes;
	http.max_uri = c->max_uri;
	http.max_body = c->max_body;
}

/* Waits for the address (DHCP may take a moment), then serves. */
static void start_task(void *arg)
{
	(void)arg;
	if (net_wait_ready(0) < 0)
		return;
	/* Middleware around the whole mux (404s and redirects included),
	 * per-route middleware in app/routes.c. */
	static struct http_handler mux_handler;
	mux_handler = http_mux_handler(&mux);
	if (http_serve(&http, *app_wrap(&mux_handler)) < 0)
		return;
	uint32_t a = net_ipv4_addr(); /* network byte order */
	log_info("http", "listening on http://%u.%u.%u.%u:%u/", a & 0xff, (a >> 8) & 0xff, (a >> 16) & 0xff, a >> 24,
		 http.port);
}

void app_main(const struct cmdline *cmdline)
{
	config_from_cmdline(cmdline);
	if (app_routes(&mux, cmdline->rate_limit) < 0)
		return;
	int err = net_init(cmdline);
	if (err < 0) {
		log_err("app", "network unavailable (%d): not serving", err);
		return;
	}
	task_spawn("http-start", start_task, NULL, 0);
}
