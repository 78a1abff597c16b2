/* What picolibc needs from its environment (picolibc doc/os.md): stdout,
 * sbrk for malloc, _exit, getentropy. Also the heap statistics used by the
 * boot report and the leak tests. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "kernel/console.h"
#include "kernel/heap.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/panic.h"
#include "kernel/random.h"

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

/* POSIX getentropy: at most 256 bytes of real entropy, or -1 with errno
 * (EIO for a longer request, ENOSYS without a hardware source). It never
 * returns guessable bytes. Nothing in the image calls it today (lwIP goes
 * through random_u32_weak, TLS through random_bytes); picolibc's
 * arc4random would. */
int getentropy(void *buf, size_t len)
{
	if (len > 256) {
		errno = EIO;
		return -1;
	}
	if (random_bytes(buf, len) < 0) {
		errno = ENOSYS;
		return -1;
	}
	return 0;
}
