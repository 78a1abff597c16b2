/*
 * cpio "newc" archives (cpio(5), "New ASCII Format"; the format of Linux's
 * initramfs): what the boot bundle is. Magic "070701", or "070702" (the
 * same with a checksum field, which is not verified here: the loader
 * copied the bytes, a sum adds nothing a broken file would not show).
 *
 * Layout of one entry: a 110-byte header of ASCII hex fields, the name
 * (namesize bytes, its NUL included), padding to a multiple of 4, the
 * data (filesize bytes), padding to a multiple of 4. Offsets are from the
 * start of the archive. The entry named "TRAILER!!!" ends it; whatever
 * follows (cpio pads to 512-byte blocks) is ignored.
 *
 * Pure module: no allocation, no kernel services, builds for the host
 * (tests/host/test_cpio.c, tests/host/fuzz_cpio.c). Every field is
 * checked against the bytes that remain before it is used, with
 * arithmetic that cannot wrap, so no input reads outside [buf, buf+len).
 *
 * Not handled, by design: hard links (newc stores the data once, with the
 * last link; the others read as empty files) and the checksum.
 */
#ifndef KEEL_CPIO_H
#define KEEL_CPIO_H

#include <stddef.h>
#include <stdint.h>

/* Longest name accepted, NUL included (Linux's PATH_MAX). */
#define CPIO_NAME_MAX 4096

/* File type bits of mode (cpio(5), as in stat(2)). */
#define CPIO_S_IFMT  0170000u
#define CPIO_S_IFDIR 0040000u
#define CPIO_S_IFREG 0100000u

struct cpio_entry {
	/* NUL-terminated, inside the archive, less any leading "./" and "/"
	 * (`find . | cpio -o` writes "./a", an absolute path "/a": both are
	 * "a"; "." itself is ""). */
	const char *name;
	size_t name_len;  /* without the NUL */
	uint32_t mode;    /* type and permission bits */
	uint32_t mtime;   /* seconds since the epoch */
	const void *data; /* inside the archive */
	size_t size;
};

struct cpio_iter {
	const uint8_t *buf;
	size_t len;
	size_t off;        /* of the next header */
	const char *error; /* why cpio_next failed, else NULL */
	int state;         /* 0 reading, 1 trailer seen, < 0 the sticky error */
};

void cpio_init(struct cpio_iter *it, const void *buf, size_t len);

/*
 * The next entry into *e: 1, or 0 once the trailer is reached (and on
 * every call after), or a negative errno with it->error naming the
 * problem ("bad magic", "name runs past the end", ...) and it->off at the
 * header that holds it. After an error the iterator stays failed.
 */
int cpio_next(struct cpio_iter *it, struct cpio_entry *e);

#endif
