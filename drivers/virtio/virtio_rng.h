/* virtio-rng, the entropy device (virtio 1.1 §5.4), on PCI or
 * virtio-mmio. Polled, never interrupt-driven: kernel/random.c is its only
 * user and reads it at boot and on each DRBG reseed. Task context only;
 * not reentrant (one request in flight). */
#ifndef KEEL_VIRTIO_RNG_H
#define KEEL_VIRTIO_RNG_H

#include <stddef.h>

/* Find and initialise the first virtio-rng device. 0, or a negative errno
 * (-ENODEV if there is none). */
int virtio_rng_probe(void);
/* Fill buf with n bytes from the device, polling for at most about 100 ms
 * in all. 0; -ENODEV without a device; -ETIMEDOUT if it did not deliver
 * in time; -EIO if it returned a bad used entry. A failed read leaves buf
 * partly written: use none of it. */
int virtio_rng_read(void *buf, size_t n);

#endif
