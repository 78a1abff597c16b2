/*
 * Character classes for the kernel's text formats: the command line, cpio
 * headers, virtio_mmio.device=. Pure: no libc, no locale, ASCII only, so
 * any module (drivers, http/core/ctype.h) may build on it.
 *
 * Bytes are passed as unsigned char, so a char >= 0x80 is never negative.
 */
#ifndef KEEL_KERNEL_CTYPE_H
#define KEEL_KERNEL_CTYPE_H

/* The value of a hex digit, 0-9, a-f or A-F, or -1 if c is none. A
 * decimal digit is one whose value is below 10. */
static inline int ctype_hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
