/* Fatal kernel invariant violations. Never for device or peer data. */
#ifndef KEEL_PANIC_H
#define KEEL_PANIC_H

#include <stdnoreturn.h>

noreturn void panic_at(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define panic(...) panic_at(__FILE__, __LINE__, __VA_ARGS__)

/* Stop the machine: under QEMU exit through isa-debug-exit with status
 * (code << 1) | 1, on hardware halt forever. */
noreturn void machine_halt(int code);

#endif
