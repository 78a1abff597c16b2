/*
 * libFuzzer target for kernel/cpio.c: walk the input as an archive (in an
 * exact-size heap buffer, so ASan sees any read past it) and check what
 * every entry claims: name and data inside the buffer, the name NUL-
 * terminated at name_len, data 4-byte aligned from the start, entries in
 * increasing order, and a verdict that is final (the iterator stays put).
 *
 * The first byte, if odd, puts a valid header before the rest, so the
 * fuzzer gets past the magic and the hex fields more often.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/cpio.h"
#include "tests/host/fuzz.h"

/* A newc header: regular file, mtime 0, 4 bytes of data, a 2-byte name
 * (the input supplies name, padding and data). */
static const char seed[] = "070701"
			   "00000001"
			   "000081A4"
			   "00000000"
			   "00000000"
			   "00000001"
			   "00000000"
			   "00000004"
			   "00000000"
			   "00000000"
			   "00000000"
			   "00000000"
			   "00000002"
			   "00000000";
_Static_assert(sizeof seed - 1 == 110, "newc header size");

static void walk(const uint8_t *buf, size_t n)
{
	struct cpio_iter it;
	struct cpio_entry e;
	const uint8_t *last = buf;
	int r;

	cpio_init(&it, buf, n);
	while ((r = cpio_next(&it, &e)) > 0) {
		const uint8_t *name = (const uint8_t *)e.name, *data = e.data;
		INVARIANT(name >= buf && name + e.name_len < buf + n && e.name[e.name_len] == '\0');
		INVARIANT(strlen(e.name) == e.name_len);
		INVARIANT(data >= buf && e.size <= n && data - buf <= (ptrdiff_t)(n - e.size));
		INVARIANT((data - buf) % 4 == 0 && data > name && name > last);
		INVARIANT(it.off <= n && it.error == NULL);
		last = data;
	}
	INVARIANT(r == 0 ? it.error == NULL : it.error != NULL && (r == -EINVAL || r == -ENAMETOOLONG));
	size_t off = it.off;
	INVARIANT(cpio_next(&it, &e) == r && it.off == off);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	size_t pre = (data[0] & 1) ? sizeof seed - 1 : 0;
	uint8_t *buf = malloc(pre + size - 1 + 1);
	INVARIANT(buf != NULL);
	memcpy(buf, seed, pre);
	memcpy(buf + pre, data + 1, size - 1);
	walk(buf, pre + size - 1);
	free(buf);
	return 0;
}
