/* Orderly power-off: the ACPI power button (QEMU system_powerdown) or a
 * request from code runs the registered hooks, newest first, in a task,
 * then powers off. */
#ifndef KEEL_SHUTDOWN_H
#define KEEL_SHUTDOWN_H

#include <stdnoreturn.h>

#define SHUTDOWN_MAX_HOOKS 8

/* Hooks run in task context and may block (e.g. to drain connections). */
int shutdown_register(const char *name, void (*fn)(void *arg), void *arg);
/* The one thing done after the hooks and the log flush, right before
 * power-off, for what must still reach a device: the NIC's queued frames
 * (the log's last syslog lines, FINs). Must not block. */
void shutdown_set_final(void (*fn)(void));
void shutdown_init(void);
/* Ask for shutdown; safe in IRQ context. `reason` is logged. */
void shutdown_request(const char *reason);
/* Something Keel needs is missing (a NIC, memory, a timer): log one line
 * naming it and how to provide it, then power off at once (ACPI S5 where
 * the tables allow, else machine_halt). For boot time, before any hook
 * has something to stop. */
noreturn void shutdown_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
