/* virtio_mmio.device= (see virtio_mmio_cmdline.h): its parser and its
 * row in the command-line table. Values are (pointer, length) slices of
 * the read-only command line; nothing is stored until a value has parsed
 * whole. */
#include "drivers/virtio/virtio_mmio_cmdline.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

#include "kernel/cmdline.h"

/* The register block alone is 0x100 bytes (virtio 1.1 §4.2.2); device
 * configuration follows it. Bases above 2^52 are past any x86-64
 * physical address. */
#define SPEC_MIN_SIZE   0x100u
#define SPEC_MAX_SIZE   (16u << 20)
#define SPEC_ADDR_LIMIT (1ull << 52)
#define SPEC_MAX_GSI    255u

struct mmio_list {
	int n;
	struct virtio_mmio_spec dev[VIRTIO_MMIO_CMDLINE_MAX];
};

static struct mmio_list cmdline_devs;

/* Linux memparse without octal: 0x-hex or decimal, then K, M or G. */
static int parse_size(const char *v, size_t n, size_t *at, uint64_t *out)
{
	unsigned base = 10, shift = 0;
	if (n - *at > 2 && v[*at] == '0' && (v[*at + 1] == 'x' || v[*at + 1] == 'X')) {
		base = 16;
		*at += 2;
	}
	if (cmdline_scan_uint(v, n, at, base, UINT64_MAX, out) < 0)
		return -EINVAL;
	if (*at < n) {
		switch (v[*at]) {
		case 'k':
		case 'K':
			shift = 10;
			break;
		case 'm':
		case 'M':
			shift = 20;
			break;
		case 'g':
		case 'G':
			shift = 30;
			break;
		}
	}
	if (shift) {
		if (*out > UINT64_MAX >> shift)
			return -EINVAL;
		*out <<= shift;
		(*at)++;
	}
	return 0;
}

static bool expect(const char *v, size_t n, size_t *at, char c)
{
	if (*at >= n || v[*at] != c)
		return false;
	(*at)++;
	return true;
}

int virtio_mmio_spec_parse(const char *v, size_t n, struct virtio_mmio_spec *out)
{
	struct virtio_mmio_spec s;
	uint64_t gsi, id;
	size_t at = 0;
	if (parse_size(v, n, &at, &s.size) < 0 || !expect(v, n, &at, '@') ||
	    parse_size(v, n, &at, &s.base) < 0 || !expect(v, n, &at, ':') ||
	    cmdline_scan_uint(v, n, &at, 10, UINT64_MAX, &gsi) < 0)
		return -EINVAL;
	if (expect(v, n, &at, ':') && cmdline_scan_uint(v, n, &at, 10, UINT64_MAX, &id) < 0)
		return -EINVAL;
	if (at != n)
		return -EINVAL;
	/* 32-bit registers (§4.2.2.2) on a 4-byte boundary; GSI 0 is the
	 * timer's, never a device's. */
	if (s.size < SPEC_MIN_SIZE || s.size > SPEC_MAX_SIZE || !s.base || (s.base & 3) ||
	    s.base >= SPEC_ADDR_LIMIT - s.size || gsi == 0 || gsi > SPEC_MAX_GSI)
		return -EINVAL;
	s.gsi = (uint32_t)gsi;
	*out = s;
	return 0;
}

static int list_parse(void *field, const char *v, size_t n)
{
	struct mmio_list *l = field;
	struct virtio_mmio_spec s;
	if (n == 0) {
		l->n = 0;
		return 0;
	}
	if (virtio_mmio_spec_parse(v, n, &s) < 0)
		return -EINVAL;
	for (int i = 0; i < l->n; i++) {
		if (l->dev[i].base == s.base) {
			l->dev[i] = s;
			return 0;
		}
	}
	if (l->n == VIRTIO_MMIO_CMDLINE_MAX)
		return -EINVAL;
	l->dev[l->n++] = s;
	return 0;
}

/* SIZE@BASE:GSI per transport, comma-separated, each as it may be given;
 * ",..." ends a list whose rest does not fit buf (help shows the value in
 * CMDLINE_VALUE_MAX bytes). */
static size_t list_format(const void *field, char *buf, size_t cap)
{
	const struct mmio_list *l = field;
	size_t n = 0;
	if (!cap)
		return 0;
	buf[0] = '\0';
	for (int i = 0; i < l->n; i++) {
		char one[48];
		int len = snprintf(one, sizeof one, "%s%#llx@%#llx:%u", i ? "," : "",
				   (unsigned long long)l->dev[i].size, (unsigned long long)l->dev[i].base,
				   (unsigned)l->dev[i].gsi);
		if (len < 0 || n + (size_t)len + sizeof ",..." > cap) {
			if (n + sizeof ",..." <= cap)
				n += (size_t)snprintf(buf + n, cap - n, ",...");
			return n;
		}
		n += (size_t)snprintf(buf + n, cap - n, "%s", one);
	}
	return n;
}

const struct virtio_mmio_spec *virtio_mmio_cmdline_get(int i)
{
	return i >= 0 && i < cmdline_devs.n ? &cmdline_devs.dev[i] : NULL;
}

static const struct cmdline_option virtio_mmio_options[] = {
    CMDLINE_CUSTOM_ROW("virtio_mmio.device", cmdline_devs, "", list_parse, list_format,
		       "SIZE@BASE:GSI[:ID], repeatable",
		       "a virtio-mmio transport (Linux syntax), as QEMU microvm,acpi=off passes"),
};
CMDLINE_TABLE(virtio_mmio, virtio_mmio_options);
