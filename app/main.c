/* The default appliance: network up, routes registered, HTTP server on
 * port 80 (port=N). Routes live in app/routes.c. */
#include <errno.h>
#include <stdio.h>

#include "app/app.h"
#include "app/handlers.h"
#include "http/server.h"
#include "kernel/clock.h"
#include "kernel/cmdline.h"
#include "kernel/ipv4.h"
#include "kernel/log.h"
#include "kernel/sched.h"
#include "kernel/shutdown.h"
#include "net/net.h"
#include "net/syslog.h"
#include "tls/tls.h"

static struct mux mux;
static struct http_config http;

static uint32_t rate_limit;
static const struct cmdline_option options[] = {
    CMDLINE_UINT_ROW("rate_limit", rate_limit, 0, 0, 1000000,
		     "requests per second per client address (then 429); 0: no limit"),
};
CMDLINE_TABLE(app, options);

static struct http_handler *root;

/* Waits for the address (DHCP may take a moment), then serves. */
static void start_task(void *arg)
{
	(void)arg;
	if (net_wait_ready(0) < 0)
		return;
	int err = http_serve(&http, *root);
	if (err < 0) {
		log_err("app", "HTTP server did not start (%d): not serving", err);
		return;
	}
	char addr[IPV4_STR_MAX];
	ipv4_format(net_ipv4_addr(), addr);
	uint64_t up = clock_now(); /* boot to serving, for the boot-time budget */
	log_info("http", "listening on http://%s:%u/ (%lu.%lu ms since power-on)", addr, http.port,
		 up / NSEC_PER_MSEC, up / 100000 % 10);
	if (http_https_serving())
		log_info("http", "listening on https://%s:%u/", addr, http.tls_port);
}

void app_main(void)
{
	static struct http_handler mux_handler;
	http_config_from_cmdline(&http);
	if (http.tls_port && tls_init() == 0) /* else the console said why: plain HTTP only */
		http.tls_accept = tls_accept;
	if (app_routes(&mux, rate_limit) < 0)
		return; /* the route is named on the console */
	/* Middleware around the whole mux (404s and redirects included),
	 * per-route middleware in app/routes.c. */
	mux_handler = http_mux_handler(&mux);
	root = app_wrap(&mux_handler);
	if (!root) {
		log_err("app", "no memory for the middleware: not serving");
		return;
	}
	/* redirect_http=on: the plain port's requests go through the same
	 * middleware (access log, request id), then to HTTPS. */
	static struct http_handler redirect;
	if (http.tls_accept && http.redirect_http) {
		redirect = (struct http_handler){http_https_redirect, (void *)(uintptr_t)http.tls_port};
		if (!(http.plain_root = app_wrap(&redirect))) {
			log_err("app", "no memory for the middleware: not serving");
			return;
		}
	}
	int err = net_init(http.max_conns);
	if (err == -ENODEV)
		shutdown_fatal("no usable NIC: give the machine a virtio-net or e1000 device "
			       "(QEMU: -nic user,model=virtio-net-pci; on microvm -device virtio-net-device)");
	if (err < 0)
		shutdown_fatal("the network did not start (error %d)", err);
	syslog_start(); /* syslog=: the log to a collector too */
	if (!task_spawn("http-start", start_task, NULL, 0))
		log_err("app", "cannot start the HTTP task (no memory): not serving");
}
