/*
 * libFuzzer target for http/core/chunked.c: decode the input in one piece, then
 * again fed in pieces whose sizes come from the input, each piece in its
 * own exact-size heap buffer (ASan sees any read or write past it). Both
 * must agree on the verdict, the decoded data and the bytes left after
 * the body.
 *
 * The first byte: bit 0 turns every LF into CRLF (so line ends are right
 * without luck); bit 1 starts from a valid chunk with extensions and the
 * last chunk (so the trailer section is near); bits 2-7 seed the splits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/core/chunked.h"
#include "tests/host/fuzz.h"

struct result {
	int status; /* HTTP_CHUNKED_ERROR, HTTP_CHUNKED_INCOMPLETE, or 0 when done */
	char *data;
	size_t data_n;
	size_t rest; /* bytes after the body, counted over all pieces */
};

static void decode_piece(struct http_chunked *d, const char *in, size_t k, struct result *res)
{
	char *b = malloc(k ? k : 1);
	INVARIANT(b != NULL);
	memcpy(b, in, k);
	size_t len = k;
	ptrdiff_t r = http_chunked_decode(d, b, &len);
	INVARIANT(len <= k && (r < 0 || (size_t)r + len <= k));
	INVARIANT(r == HTTP_CHUNKED_ERROR || r == HTTP_CHUNKED_INCOMPLETE || r >= 0);
	memcpy(res->data + res->data_n, b, len);
	res->data_n += len;
	if (r >= 0) {
		/* the bytes after the body, moved right behind the data */
		INVARIANT(!memcmp(b + len, in + k - (size_t)r, (size_t)r));
		res->status = 0;
		res->rest = (size_t)r;
	} else {
		res->status = (int)r;
	}
	free(b);
}

static void feed(const char *in, size_t n, unsigned seed, struct result *res)
{
	struct http_chunked d = { 0 };
	size_t off = 0;
	res->status = HTTP_CHUNKED_INCOMPLETE;
	res->data_n = res->rest = 0;
	do {
		size_t k = n - off;
		if (seed) {
			seed = seed * 1103515245 + 12345;
			size_t cut = (seed >> 16) % 17;
			k = cut < k ? cut : k;
		}
		decode_piece(&d, in + off, k, res);
		off += k;
		if (res->status == 0)
			res->rest += n - off; /* later pieces are after the body too */
	} while (off < n && res->status == HTTP_CHUNKED_INCOMPLETE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	uint8_t mode = data[0];
	static const char start[] = "5;a=\"b\\\"\" ; c\r\nhello\r\n0;z\r\n";
	char *in = malloc(sizeof start + 2 * size);
	INVARIANT(in != NULL);
	size_t n = 0;
	if (mode & 2) {
		memcpy(in, start, sizeof start - 1);
		n = sizeof start - 1;
	}
	for (size_t i = 1; i < size; i++) {
		if ((mode & 1) && data[i] == '\n')
			in[n++] = '\r';
		in[n++] = (char)data[i];
	}
	struct result one = { .data = malloc(n + 1) }, split = { .data = malloc(n + 1) };
	INVARIANT(one.data && split.data);
	feed(in, n, 0, &one);
	feed(in, n, (unsigned)(mode >> 2) + 1, &split);
	INVARIANT(one.status == split.status);
	INVARIANT(one.data_n == split.data_n && !memcmp(one.data, split.data, one.data_n));
	INVARIANT(one.rest == split.rest);
	INVARIANT(one.data_n + one.rest <= n);
	free(one.data);
	free(split.data);
	free(in);
	return 0;
}
