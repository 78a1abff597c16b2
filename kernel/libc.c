/* What picolibc needs from its environment (picolibc doc/os.md): stdout,
 * sbrk for malloc, _exit, getentropy. Also the heap statistics used by the
 * boot report and the leak tests. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "kernel/console.h"
#include "kernel/cpu.h"
#include "kernel/heap.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/panic.h"

#define HEAP_MAX (256ul << 20) /* virtual reservation; pages are mapped on demand */

static int console_putc(char c, FILE *f)
{
	(void)f;
	console_write(&c, 1);
	return (unsigned char)c;
}

static FILE console_stream = FDEV_SETUP_STREAM(console_putc, NULL, NULL, _FDEV_SETUP_WRITE);
FILE *const stdin = &console_stream;
FILE *const stdout = &console_stream;
FILE *const stderr = &console_stream;

static uint64_t heap_brk = HEAP_BASE, heap_mapped = HEAP_BASE;

/* malloc's only source of memory. The break only moves up in practice
 * (nano-malloc does not trim), and pages are never unmapped. */
void *sbrk(ptrdiff_t incr)
{
	uint64_t old = heap_brk, want = heap_brk + (uint64_t)incr;
	if (want < HEAP_BASE || want > HEAP_BASE + HEAP_MAX) {
		errno = ENOMEM;
		return (void *)-1;
	}
	if (want > heap_mapped) {
		uint64_t end = (want + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
		if (vmm_map_heap(heap_mapped, end - heap_mapped) < 0) {
			errno = ENOMEM;
			return (void *)-1;
		}
		heap_mapped = end;
	}
	heap_brk = want;
	return (void *)(uintptr_t)old;
}

size_t heap_mapped_bytes(void) { return heap_mapped - HEAP_BASE; }

noreturn void _exit(int status)
{
	log_err("kernel", "exit(%d)", status);
	machine_halt(status ? status : 1);
}

static int rdrand64(uint64_t *v)
{
	unsigned char ok;
	for (int i = 0; i < 10; i++) { /* Intel DRNG guide §5.2.1: retry up to 10 times */
		__asm__ volatile("rdrand %0; setc %1" : "=r"(*v), "=qm"(ok));
		if (ok)
			return 0;
	}
	return -1;
}

/* Entropy for BearSSL and lwIP. Without RDRAND there is no good source on
 * this hardware: refuse rather than return guessable bytes. */
int getentropy(void *buf, size_t len)
{
	uint32_t r[4];
	cpuid(1, 0, r);
	if (!(r[2] & (1u << 30)) || len > 256) {
		errno = !(r[2] & (1u << 30)) ? ENOSYS : EIO;
		return -1;
	}
	uint8_t *p = buf;
	while (len) {
		uint64_t v;
		if (rdrand64(&v) < 0) {
			errno = EIO;
			return -1;
		}
		size_t n = len < sizeof v ? len : sizeof v;
		__builtin_memcpy(p, &v, n);
		p += n;
		len -= n;
	}
	return 0;
}
