/* Erase secrets (keys, seeds, session state) before their memory is
 * reused. The compiler may drop a memset of a buffer that is dead
 * afterwards; volatile stores it must keep. */
#ifndef KEEL_WIPE_H
#define KEEL_WIPE_H

#include <stddef.h>
#include <stdint.h>

static inline void wipe(void *p, size_t n)
{
	volatile uint8_t *v = p;
	while (n--)
		*v++ = 0;
}

#endif
