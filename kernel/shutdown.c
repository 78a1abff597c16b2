/* The shutdown task parks on a wait queue until a request arrives, then
 * unwinds the hooks in reverse registration order (the HTTP server, which
 * registers last, stops accepting before the network goes away). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "kernel/acpi.h"
#include "kernel/clock.h"
#include "kernel/cpu.h"
#include "kernel/log.h"
#include "kernel/sched.h"
#include "kernel/shutdown.h"

static struct {
	const char *name;
	void (*fn)(void *);
	void *arg;
} hooks[SHUTDOWN_MAX_HOOKS];
static int nhooks;
static const char *volatile requested; /* the reason, once asked */
static struct waitq request_wq = WAITQ_INIT(request_wq);

static void (*final_step)(void);

void shutdown_set_final(void (*fn)(void)) { final_step = fn; }

int shutdown_register(const char *name, void (*fn)(void *), void *arg)
{
	if (nhooks == SHUTDOWN_MAX_HOOKS)
		return -ENOSPC;
	hooks[nhooks].name = name;
	hooks[nhooks].fn = fn;
	hooks[nhooks].arg = arg;
	nhooks++;
	return 0;
}

void shutdown_request(const char *reason)
{
	if (!requested)
		requested = reason;
	waitq_wake_all(&request_wq);
}

static void shutdown_task(void *arg)
{
	(void)arg;
	uint64_t f = irq_save(); /* the request comes from an IRQ handler */
	while (!requested)
		waitq_wait(&request_wq, 0);
	irq_restore(f);

	uint64_t start = clock_now();
	log_info("shutdown", "%s: shutting down (%d hook%s)", requested, nhooks, nhooks == 1 ? "" : "s");
	for (int i = nhooks - 1; i >= 0; i--) {
		log_info("shutdown", "stopping %s", hooks[i].name);
		hooks[i].fn(hooks[i].arg);
	}
	log_info("shutdown", "done in %lu ms; powering off", (clock_now() - start) / NSEC_PER_MSEC);
	log_flush(); /* the last lines reach syslog too, not only the consoles */
	if (final_step)
		final_step();
	acpi_poweroff();
}

noreturn void shutdown_fatal(const char *fmt, ...)
{
	char what[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	log_err("shutdown", "cannot run: %s; powering off", what);
	acpi_poweroff();
}

static void on_power_button(void) { shutdown_request("power button"); }

void shutdown_init(void)
{
	if (!task_spawn("shutdown", shutdown_task, NULL, 0))
		log_err("shutdown", "cannot start the shutdown task");
	int err = acpi_power_button_enable(on_power_button);
	if (err < 0)
		log_warn("shutdown", "no ACPI power button (%d): power off from the host will be abrupt", err);
}
