/* COM1 serial console: the only output device. */
#ifndef KEEL_CONSOLE_H
#define KEEL_CONSOLE_H

#include <stddef.h>

void console_init(void);
void console_write(const char *s, size_t n);

#endif
