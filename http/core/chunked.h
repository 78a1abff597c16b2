/*
 * Decoder of the chunked transfer coding (RFC 9112 §7.1), in place and
 * resumable: the caller hands it each run of raw body bytes as they
 * arrive; it keeps its position in a small struct between calls, so the
 * input may be split at any byte. Pure: no allocation, no I/O.
 *
 *     struct http_chunked d = { 0 };            zeroed = before the first chunk
 *     size_t n = len;
 *     ptrdiff_t rest = http_chunked_decode(&d, buf, &n);
 *
 * On return buf[0, n) holds the chunk data decoded from buf[0, len). Then:
 *   HTTP_CHUNKED_INCOMPLETE  need more: every input byte was consumed (data
 *        moved to the front, framing remembered in d); call again with the
 *        next bytes.
 *   HTTP_CHUNKED_ERROR  malformed (bare LF, bad chunk size, oversized
 *        extension or trailer, ...); d stays in error. buf[0, n) still
 *        holds the data decoded before the bad byte.
 *   >= 0 the last chunk and trailer section ended: the result is the number
 *        of bytes after them (a pipelined request), moved to buf[n, n+rest).
 *        Further calls return all their input as such bytes.
 *
 * Strictness: chunk-size is 1*HEXDIG at most 2^63-1; chunk extensions
 * (token [= token / quoted-string], with BWS) are validated, then ignored;
 * trailer fields are validated like header fields (token name, no space
 * before the colon, no obs-fold, no CTLs in values), then discarded; each
 * line and each chunk's data end in exactly CRLF. The size line's
 * extensions are bounded by HTTP_CHUNK_EXT_MAX bytes, the trailer section
 * by HTTP_CHUNK_TRAILER_MAX.
 */
#ifndef KEEL_HTTP_CHUNKED_H
#define KEEL_HTTP_CHUNKED_H

#include <stddef.h>
#include <stdint.h>

/* http_chunked_decode's results other than the bytes after the body. */
enum http_chunked_result {
	HTTP_CHUNKED_ERROR = -1,
	HTTP_CHUNKED_INCOMPLETE = -2,
};

#define HTTP_CHUNK_EXT_MAX 4096
#define HTTP_CHUNK_TRAILER_MAX 8192

struct http_chunked {
	uint64_t left;   /* chunk-size being read, then data bytes left in the chunk */
	uint32_t count;  /* bytes of the current size line's extensions, or of the trailer section */
	uint8_t state;   /* private to chunked.c; 0 = expecting a chunk-size */
};

ptrdiff_t http_chunked_decode(struct http_chunked *d, char *buf, size_t *len);

#endif
