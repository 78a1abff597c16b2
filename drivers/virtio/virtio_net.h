/* virtio-net on the modern PCI or the virtio-mmio transport. */
#ifndef KEEL_VIRTIO_NET_H
#define KEEL_VIRTIO_NET_H

/* Find, initialise and netdev_register() a virtio-net device. Returns 0,
 * or a negative errno (-ENODEV if there is none). */
int virtio_net_probe(void);

#endif
