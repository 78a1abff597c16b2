/* multipart/form-data request bodies (RFC 7578) in a pure, streaming,
 * allocation-free module, so that POST /upload can run a body of any size
 * through a checksum in a fixed ~1.1 KiB of state.
 *
 * Use:
 *     char b[MULTIPART_BOUNDARY_MAX + 1];
 *     size_t blen;
 *     if (multipart_boundary(ct, ct_len, b, sizeof b, &blen) < 0) -> 415
 *     multipart_init(&m, b, blen);
 *     for each chunk of the (de-chunked) body:
 *         r = multipart_feed(&m, buf, n, &cb, ctx);   r < 0 -> 400, stop
 *     at end of body: multipart_finish(&m) < 0 -> 400 (truncated)
 *
 * feed and finish report errors as negative errnos; once the parse has
 * failed, both return the same one (it is sticky):
 *   -EBADMSG    the body is malformed, or stopped before its close
 *               delimiter (multipart_finish)
 *   -EMSGSIZE   a part's header section is over MULTIPART_HEADER_MAX
 *   -ECANCELED  a callback returned non-zero
 *   -EINVAL     multipart_init was given a bad boundary
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
 * be NULL. A non-zero return aborts the parse (feed returns -ECANCELED).
 * Slices passed to them are valid only during the call.
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
	int error;     /* 0, or the errno every call returns once the parse failed */
	char delim[4 + MULTIPART_BOUNDARY_MAX]; /* CRLF "--" boundary */
	char hdr[MULTIPART_HEADER_MAX];
};

/* Extract the boundary from a Content-Type field value
 * "multipart/form-data; boundary=..." (type and parameter names
 * case-insensitive, the value a token or quoted-string, other parameters
 * skipped). The boundary must be 1..70 bchars not ending in a space
 * (RFC 2046 §5.1.1). Writes it NUL-terminated to out and its length to
 * *out_len. Returns 0, or -EBADMSG if the value is not
 * multipart/form-data, is malformed, has no valid boundary (or two), or
 * one that does not fit out (cap > MULTIPART_BOUNDARY_MAX fits any). */
int multipart_boundary(const char *content_type, size_t n, char *out, size_t cap, size_t *out_len);

/* Start parsing a body with the given boundary (without the leading "--").
 * Returns 0, or -EINVAL if the boundary is not 1..70 bchars; the parser
 * is then failed, and feed and finish return -EINVAL too. */
int multipart_init(struct multipart *m, const char *boundary, size_t n);

/* multipart_feed's results other than an error. */
enum multipart_progress {
	MULTIPART_MORE = 0, /* all the input was consumed: feed the next bytes */
	MULTIPART_DONE = 1, /* the close delimiter was seen: the rest is the ignored epilogue */
};

/* Feed the next n bytes of the body, split anywhere. Returns
 * MULTIPART_MORE, MULTIPART_DONE, or one of the errors above (a syntax
 * error, an over-long header section, a callback abort). MULTIPART_DONE
 * and errors are sticky: later input is not looked at. A body that
 * simply stops (no close delimiter, even no boundary at all) is reported
 * by multipart_finish. */
int multipart_feed(struct multipart *m, const char *p, size_t n, const struct multipart_callbacks *cb,
		   void *ctx);

/* At the end of the body: 0 if the close delimiter was seen, the parse's
 * error if it failed earlier, -EBADMSG if the body stopped short of the
 * close delimiter (a truncated upload). */
int multipart_finish(const struct multipart *m);

#endif
