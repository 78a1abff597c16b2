/* Orderly power-off: the ACPI power button (QEMU system_powerdown) or a
 * request from code runs the registered hooks, newest first, in a task,
 * then powers off. */
#ifndef KEEL_SHUTDOWN_H
#define KEEL_SHUTDOWN_H

#define SHUTDOWN_MAX_HOOKS 8

/* Hooks run in task context and may block (e.g. to drain connections). */
int shutdown_register(const char *name, void (*fn)(void *arg), void *arg);
void shutdown_init(void);
/* Ask for shutdown; safe in IRQ context. `reason` is logged. */
void shutdown_request(const char *reason);

#endif
