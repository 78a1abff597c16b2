/* multipart/form-data request bodies (RFC 7578) in a pure, streaming,
 * allocation-free module, so that POST /upload can run a body of any size
 * through a checksum in a fixed ~1.1 KiB of state.
 *
 * Use:
 *     char b[MULTIPART_BOUNDARY_MAX + 1];
 *     size_t blen;
 *     if (multipart_boundary(ct, ct_len, b, sizeof b, &blen) < 0) -> 400
 *     multipart_init(&m, b, blen);
 *     for each chunk of the (de-chunked) body:
 *         r = multipart_feed(&m, buf, n, &cb, ctx);   r < 0 -> 400, stop
 *     at end of body: multipart_finish(&m) < 0 -> 400 (truncated)
 *
 * What the parser accepts (RFC 2046 §5.1.1 grammar, RFC 7578 rules):
 *   - The delimiter is CRLF "--" boundary; its CRLF belongs to the
 *     delimiter, never to the part data before it.
 *   - The first delimiter may open the body without a CRLF, or follow a
 *     preamble, which is ignored. A boundary is recognised wherever it
 *     follows a CRLF in its entirety (§5.1.1 "NOTE TO IMPLEMENTORS"); what
 *     may follow it is transport padding (spaces, tabs) and CRLF, or "--"
 *     for the close delimiter. Anything else is a syntax error.
 *   - A part's header section ends with an empty line and must fit in
 *     MULTIPART_HEADER_MAX bytes (empty line included). Lines end in CRLF;
 *     obs-fold continuation lines are unfolded. Names compare
 *     case-insensitively. Content-Disposition is required, exactly once,
 *     of type form-data with a "name" parameter (RFC 7578 §4.2);
 *     "filename" is optional; other parameters (filename*) and other
 *     header fields are ignored (§4.2, §4.8). Content-Type defaults to
 *     "text/plain" (§4.4); a duplicate of either field is an error.
 *   - Parameter values are tokens or quoted-strings. Inside quotes only
 *     \" and \\ are escapes; any other backslash is literal, because
 *     browsers send Windows paths and names ending in '\' unescaped
 *     (HTML's form encoding percent-escapes '"' and leaves '\' alone).
 *   - The close delimiter ends the body: the epilogue, and anything fed
 *     after it, is ignored.
 *
 * Callbacks run from inside multipart_feed, in body order. Any member may
 * be NULL. A non-zero return aborts the parse (feed returns -1, error
 * -ECANCELED). Slices passed to them are valid only during the call.
 *   part_begin  a part's header section is complete. name is never NULL
 *               (it may be empty); filename is NULL if the parameter is
 *               absent, and may be empty (filename="" is how browsers send
 *               an empty file input); ctype is the trimmed field value,
 *               parameters included, or "text/plain". name and filename
 *               are unquoted and may hold any byte but CR, LF and NUL.
 *   part_data   the next bytes of the current part's body, never empty,
 *               never including a byte of the delimiter that ends it.
 *               Bytes are released as soon as they cannot belong to a
 *               delimiter: at most strlen("\r\n--" boundary) - 1 bytes of
 *               the input are ever held back, whatever the part's size.
 *   part_end    the delimiter after the current part was seen.
 * How the input is split never changes the concatenated part_data bytes
 * or any other callback; only how the data is sliced among calls.
 */
#ifndef KEEL_HTTP_MULTIPART_H
#define KEEL_HTTP_MULTIPART_H

#include <stddef.h>
#include <stdint.h>

#define MULTIPART_BOUNDARY_MAX 70   /* RFC 2046 §5.1.1: 1..70 bchars */
#define MULTIPART_HEADER_MAX   1024 /* one part's header section, empty line included */

struct multipart_callbacks {
	int (*part_begin)(void *ctx, const char *name, size_t name_len, const char *filename,
			  size_t filename_len, const char *ctype, size_t ctype_len);
	int (*part_data)(void *ctx, const char *p, size_t n);
	int (*part_end)(void *ctx);
};

/* Parser state; private to multipart.c, the caller only provides room
 * (about 1.1 KiB: mind small task stacks). */
struct multipart {
	uint8_t state; /* sw_* in multipart.c */
	uint8_t dlen;  /* delimiter length: 4 + boundary length */
	uint8_t match; /* delimiter bytes matched so far, held back from part_data */
	uint8_t virt;  /* of those, leading ones that were never input (see multipart.c) */
	uint16_t hlen; /* header section bytes collected */
	int error;     /* 0, or why the parse failed (multipart_error) */
	char delim[4 + MULTIPART_BOUNDARY_MAX]; /* CRLF "--" boundary */
	char hdr[MULTIPART_HEADER_MAX];
};

/* Extract the boundary from a Content-Type field value
 * "multipart/form-data; boundary=..." (type and parameter names
 * case-insensitive, the value a token or quoted-string, other parameters
 * skipped). The boundary must be 1..70 bchars not ending in a space
 * (RFC 2046 §5.1.1). Writes it NUL-terminated to out (cap must exceed its
 * length) and its length to *out_len. Returns 0, or -1 if the value is not
 * multipart/form-data, is malformed, or has no valid boundary (or two). */
int multipart_boundary(const char *content_type, size_t n, char *out, size_t cap, size_t *out_len);

/* Start parsing a body with the given boundary (without the leading "--").
 * Returns 0, or -1 if the boundary is not 1..70 bchars (the parser is then
 * failed: feed returns -1, error -EINVAL). */
int multipart_init(struct multipart *m, const char *boundary, size_t n);

/* Feed the next n bytes of the body, split anywhere. Returns 0 when all of
 * them were consumed and more are needed, 1 once the close delimiter has
 * been seen (the rest, and later input, is the ignored epilogue), -1 on a
 * syntax error or a callback abort. 1 and -1 are sticky. A body that
 * simply stops (no close delimiter, even no boundary at all) is reported
 * by multipart_finish. */
int multipart_feed(struct multipart *m, const char *p, size_t n, const struct multipart_callbacks *cb,
		   void *ctx);

/* At the end of the body: 0 if the close delimiter was seen, -1 otherwise
 * (truncated upload, or failed earlier). */
int multipart_finish(const struct multipart *m);

/* Why the parse failed: 0 if it has not, -EBADMSG (malformed body),
 * -EMSGSIZE (a header section over MULTIPART_HEADER_MAX), -ECANCELED (a
 * callback returned non-zero), -EINVAL (bad boundary given to init). */
int multipart_error(const struct multipart *m);

#endif
