/* Host fakes for kernel/random.c: see fake_random_env.h. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "drivers/virtio/virtio_rng.h"
#include "tests/host/fake_random_env.h"

char fake_log_last[256];
enum log_level fake_log_last_level;
int fake_log_lines;

void fake_log_reset(void)
{
	fake_log_last[0] = '\0';
	fake_log_lines = 0;
}

void klog(enum log_level level, const char *subsys, const char *fmt, ...)
{
	int n = snprintf(fake_log_last, sizeof fake_log_last, "%s: ", subsys);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(fake_log_last + n, sizeof fake_log_last - (size_t)n, fmt, ap);
	va_end(ap);
	fake_log_last_level = level;
	fake_log_lines++;
}

int virtio_rng_probe(void) { return -ENODEV; }

int virtio_rng_read(void *buf, size_t n)
{
	(void)buf;
	(void)n;
	return -ENODEV;
}
