/* virtio-console (virtio 1.1 §5.3) on PCI or virtio-mmio, as the log's
 * console: port 0 output only, polled (kernel/log.c is its only user). */
#ifndef KEEL_VIRTIO_CONSOLE_H
#define KEEL_VIRTIO_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

/* Find and initialise the first virtio-console device and hand it the
 * log (log_set_console). 0, or a negative errno (-ENODEV if none). */
int virtio_console_probe(void);
/* Write n bytes to port 0, one descriptor per page: returns once they are
 * posted, having polled (at most about 100 ms) only for a free buffer.
 * Works with interrupts off. Not reentrant. What cannot be posted in time
 * is dropped and counted. */
void virtio_console_write(const char *s, size_t n);
/* Poll (at most about 100 ms) until the device has taken every posted
 * buffer; counted as failed if it has not. Works with interrupts off; not
 * reentrant, nor to be called inside virtio_console_write. */
void virtio_console_sync(void);

struct virtio_console_stats {
	uint64_t batches; /* buffers posted */
	uint64_t bytes;   /* bytes the device took */
	uint64_t failed;  /* writes dropped or syncs cut short: the device did not take them in time, or a bad used entry */
};
void virtio_console_get_stats(struct virtio_console_stats *out);

#endif
