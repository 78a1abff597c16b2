/* COM1 (16550 UART at 0x3f8), polled, 115200 8N1. Polling is deliberate:
 * log lines are short and rare on the hot path, and a panic must be able to
 * print with interrupts off. Also the log line formatter and panic(). */
#include <stdarg.h>
#include <stdio.h>

#include "kernel/cmdline.h"
#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/log.h"
#include "kernel/panic.h"
#include "kernel/trap.h"

#define COM1     0x3f8
#define UART_THR 0 /* transmit holding register */
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define LSR_THRE 0x20 /* transmit holding register empty */

/* The log= option; until cmdline_defaults() has run (first thing at
 * boot), warnings and errors only, so a bad option table is reported. */
static enum log_level level = LOG_WARN;

/* Index = enum log_level. */
static const char *const level_names[] = {"off", "err", "warn", "info", "debug", NULL};
_Static_assert(LOG_DEBUG == 4, "level_names follows enum log_level");

static const struct cmdline_option options[] = {
    CMDLINE_ENUM_ROW("log", level, "info", level_names,
		     "console log level (info: one line per request and event; debug: more)"),
};
CMDLINE_TABLE(log, options);

void console_init(void)
{
	outb(COM1 + UART_IER, 0x00);
	outb(COM1 + UART_LCR, 0x80); /* DLAB: divisor latch follows */
	outb(COM1 + 0, 0x01);        /* 115200 = 115200 / 1 */
	outb(COM1 + 1, 0x00);
	outb(COM1 + UART_LCR, 0x03); /* 8N1 */
	outb(COM1 + UART_FCR, 0xc7); /* FIFO on, cleared */
	outb(COM1 + UART_MCR, 0x03); /* DTR, RTS */
}

static void put(char c)
{
	/* Bounded wait: a missing UART (LSR reads 0xff) must not hang us. */
	for (int i = 0; i < 100000 && !(inb(COM1 + UART_LSR) & LSR_THRE); i++)
		cpu_relax();
	outb(COM1 + UART_THR, (uint8_t)c);
}

void console_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			put('\r');
		put(s[i]);
	}
}

static void vlog(const char *subsys, const char *fmt, va_list ap)
{
	char line[320];
	int n = snprintf(line, sizeof line, "keel: %s: ", subsys);
	size_t cap = sizeof line - (size_t)n - 1; /* keep room for '\n' */
	int m = vsnprintf(line + n, cap, fmt, ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m < cap ? (size_t)m : cap - 1);
	line[len++] = '\n';
	uint64_t flags = irq_save(); /* one line stays one line */
	console_write(line, len);
	irq_restore(flags);
}

void klog(enum log_level l, const char *subsys, const char *fmt, ...)
{
	if (l > level)
		return;
	va_list ap;
	va_start(ap, fmt);
	vlog(subsys, fmt, ap);
	va_end(ap);
}

noreturn void machine_halt(int code)
{
	irq_disable();
	/* QEMU isa-debug-exit (iobase 0xf4): exit status (code << 1) | 1. On
	 * hardware port 0xf4 is unused and the write is harmless. */
	outb(0xf4, (uint8_t)code);
	for (;;)
		__asm__ volatile("hlt");
}

noreturn void panic_at(const char *file, int line, const char *fmt, ...)
{
	irq_disable();
	char where[96];
	snprintf(where, sizeof where, "%s:%d: ", file, line);
	char msg[224];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	console_write("keel: panic: ", 13);
	console_write(where, __builtin_strlen(where));
	console_write(msg, __builtin_strlen(msg));
	console_write("\n", 1);
	trap_backtrace_here();
	machine_halt(2);
}

/* picolibc's assert() lands here. */
noreturn void __assert_func(const char *file, int line, const char *func, const char *expr)
{
	panic_at(file, line, "assertion \"%s\" failed in %s()", expr, func);
}
