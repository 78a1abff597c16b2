/* The virtio_mmio.device= option: virtio-mmio transports named on the
 * kernel command line, in Linux's syntax (Linux
 * drivers/virtio/virtio_mmio.c, "virtio_mmio.device="), as QEMU's microvm
 * machine appends them when ACPI is off and other VMMs (Firecracker) do:
 *
 *     virtio_mmio.device=<size>@<baseaddr>:<irq>[:<id>]
 *
 * size and base are a decimal or 0x-hex number with an optional K, M or G
 * suffix (Linux's memparse, less octal); irq is the decimal GSI; id (a
 * Linux platform device number) is checked and ignored. The key may be
 * given up to VIRTIO_MMIO_CMDLINE_MAX times: each adds a transport, one
 * naming a base already listed replaces it (the loader's line is applied
 * twice at boot, kernel/main.c), and an empty value clears the list.
 *
 * Pure module: no kernel services, built for the host too
 * (tests/host/test_virtio_mmio_cmdline.c). */
#ifndef KEEL_VIRTIO_MMIO_CMDLINE_H
#define KEEL_VIRTIO_MMIO_CMDLINE_H

#include <stddef.h>
#include <stdint.h>

#define VIRTIO_MMIO_CMDLINE_MAX 16

struct virtio_mmio_spec {
	uint64_t base;
	uint64_t size;
	uint32_t gsi;
};

/* Parse one value, v[0, n), without the key. 0 or -EINVAL. */
int virtio_mmio_spec_parse(const char *v, size_t n, struct virtio_mmio_spec *out);

/* The transports the command line named, in order: i from 0 while the
 * result is not NULL. */
const struct virtio_mmio_spec *virtio_mmio_cmdline_get(int i);

#endif
