/* COM1 (16550 UART at 0x3f8), polled, 115200 8N1. Polling is deliberate:
 * the log task (kernel/log.c) writes it off the request path, and a panic
 * must be able to print with interrupts off. Also panic() and the halt. */
#include <stdarg.h>
#include <stdio.h>

#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/log.h"
#include "kernel/logring.h"
#include "kernel/panic.h"
#include "kernel/trap.h"

#define COM1     0x3f8
#define UART_THR 0 /* transmit holding register */
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define LSR_THRE 0x20 /* transmit holding register empty (with FIFOs: the FIFO is) */
#define UART_FIFO 16  /* 16550A transmit FIFO bytes */

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

/* Wait until the transmitter is empty. Bounded: a missing UART (LSR
 * reads 0xff) must not hang us. */
static void wait_thre(void)
{
	for (int i = 0; i < 100000 && !(inb(COM1 + UART_LSR) & LSR_THRE); i++)
		cpu_relax();
}

/* With the FIFO on (console_init), THRE means the whole 16-byte FIFO is
 * empty, so up to 16 bytes go per status read (as Linux's 8250 driver
 * loads tx_loadsz bytes per THRE): half the port accesses of a byte-wise
 * wait, and each access is a VM exit under a hypervisor. */
void console_write(const char *s, size_t n)
{
	unsigned room = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned need = s[i] == '\n' ? 2 : 1;
		if (room < need) {
			wait_thre();
			room = UART_FIFO;
		}
		if (s[i] == '\n')
			outb(COM1 + UART_THR, '\r');
		outb(COM1 + UART_THR, (uint8_t)s[i]);
		room -= need;
	}
}

noreturn void machine_halt(int code)
{
	irq_disable();
	log_emergency("", 0); /* whatever is still queued goes out first */
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
	char out[LOGRING_LINE_MAX];
	int n = snprintf(out, sizeof out, "keel: panic: %s%s\n", where, msg);
	log_emergency(out, n < 0 ? 0 : (size_t)n < sizeof out ? (size_t)n : sizeof out - 1);
	trap_backtrace_here();
	machine_halt(2);
}

/* picolibc's assert() lands here. */
noreturn void __assert_func(const char *file, int line, const char *func, const char *expr)
{
	panic_at(file, line, "assertion \"%s\" failed in %s()", expr, func);
}
