/* Kernel heap: picolibc malloc over sbrk (kernel/libc.c). */
#ifndef KEEL_HEAP_H
#define KEEL_HEAP_H

#include <stddef.h>

/* Bytes of heap address space backed by pages so far. */
size_t heap_mapped_bytes(void);

#endif
