/*
 * cpio newc reader. See cpio.h for the format and the contract.
 *
 * The header, cpio(5) "New ASCII Format" (every field 8 hex digits):
 *
 *     c_magic[6] c_ino c_mode c_uid c_gid c_nlink c_mtime c_filesize
 *     c_devmajor c_devminor c_rdevmajor c_rdevminor c_namesize c_check
 *
 * "The pathname is followed by NUL bytes so that the total size of the
 * fixed header plus pathname is a multiple of four. Likewise, the file
 * data is padded to a multiple of four bytes."
 */
#include "kernel/cpio.h"

#include <errno.h>
#include <string.h>

#include "kernel/ctype.h"

#define HDR_SIZE 110
#define FIELD(n) (6 + 8 * (n)) /* offset of the n-th hex field */
enum { F_MODE = 1, F_MTIME = 5, F_FILESIZE = 6, F_NAMESIZE = 11 };

static const char trailer[] = "TRAILER!!!";

void cpio_init(struct cpio_iter *it, const void *buf, size_t len)
{
	*it = (struct cpio_iter){.buf = buf, .len = len};
}

/* Eight hex digits at p (either case, as GNU cpio reads them). */
static int hex8(const uint8_t *p, uint32_t *out)
{
	uint32_t x = 0;
	for (int i = 0; i < 8; i++) {
		int d = ctype_hex_value(p[i]);
		if (d < 0)
			return -EINVAL;
		x = x << 4 | (uint32_t)d;
	}
	*out = x;
	return 0;
}

static int fail(struct cpio_iter *it, int err, const char *why)
{
	it->error = why;
	it->state = err;
	return err;
}

/* "./a" and "/a" are "a" (see cpio.h). */
static const char *strip(const char *name)
{
	for (;;) {
		if (name[0] == '.' && name[1] == '/')
			name += 2;
		else if (name[0] == '/')
			name++;
		else if (name[0] == '.' && name[1] == '\0')
			return name + 1; /* "." is the top directory: "" */
		else
			return name;
	}
}

/* off rounded up to 4 without wrapping: false if it would pass len. */
static int align4(size_t off, size_t len, size_t *out)
{
	size_t pad = (4 - (off & 3)) & 3;
	if (pad > len - off)
		return 0;
	*out = off + pad;
	return 1;
}

/* The header at it->off, checked field by field: 0 or a negative errno. */
static int read_header(struct cpio_iter *it, uint32_t *mode, uint32_t *mtime, uint32_t *size,
		       uint32_t *namesize)
{
	const uint8_t *h = it->buf + it->off;
	if (it->len - it->off < HDR_SIZE)
		return fail(it, -EINVAL, "header truncated");
	if (memcmp(h, "07070", 5) || (h[5] != '1' && h[5] != '2'))
		return fail(it, -EINVAL, "bad magic (not a newc cpio archive)");
	uint32_t v[13]; /* all 13 fields must be hex, used or not */
	for (int f = 0; f < 13; f++)
		if (hex8(h + FIELD(f), &v[f]))
			return fail(it, -EINVAL, "header field is not hex");
	*mode = v[F_MODE];
	*mtime = v[F_MTIME];
	*size = v[F_FILESIZE];
	*namesize = v[F_NAMESIZE];
	if (*namesize == 0)
		return fail(it, -EINVAL, "empty name");
	if (*namesize > CPIO_NAME_MAX)
		return fail(it, -ENAMETOOLONG, "name too long");
	return 0;
}

int cpio_next(struct cpio_iter *it, struct cpio_entry *e)
{
	uint32_t mode, mtime, size, namesize;
	size_t name_off, data_off, next;

	if (it->state)
		return it->state < 0 ? it->state : 0;
	if (it->off == it->len)
		return fail(it, -EINVAL, "archive ends without TRAILER!!!");
	int err = read_header(it, &mode, &mtime, &size, &namesize);
	if (err)
		return err;
	name_off = it->off + HDR_SIZE; /* <= len: checked by read_header */
	if (namesize > it->len - name_off)
		return fail(it, -EINVAL, "name runs past the end");
	const char *name = (const char *)it->buf + name_off;
	if (name[namesize - 1] != '\0' || memchr(name, '\0', namesize - 1))
		return fail(it, -EINVAL, "name is not NUL-terminated");
	if (namesize == sizeof trailer && !memcmp(name, trailer, sizeof trailer)) {
		it->state = 1; /* the end, even if its padding was cut off */
		return 0;
	}
	if (!align4(name_off + namesize, it->len, &data_off))
		return fail(it, -EINVAL, "name padding runs past the end");
	if (size > it->len - data_off)
		return fail(it, -EINVAL, "file data runs past the end");
	/* The last entry's data padding may be cut off: the next header then
	 * reads as missing (no trailer), so round up to len at most. */
	if (!align4(data_off + size, it->len, &next))
		next = it->len;
	const char *clean = strip(name);
	*e = (struct cpio_entry){.name = clean,
				 .name_len = namesize - 1 - (size_t)(clean - name),
				 .mode = mode,
				 .mtime = mtime,
				 .data = it->buf + data_off,
				 .size = size};
	it->off = next;
	return 1;
}
