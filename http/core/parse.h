/*
 * HTTP/1.1 request head parser (RFC 9110, RFC 9112): pure, zero-copy,
 * allocation-free.
 *
 * The caller owns one buffer holding the bytes received so far and calls
 * http_parse_request() after every read until it returns > 0 (the head is
 * complete and valid) or HTTP_PARSE_ERROR (reject the request). Every slice the parser
 * fills in points into that buffer (one exception: see `path`), so the
 * buffer must stay put while the request is in use. The parser never reads
 * buf[len] or beyond, never writes to buf, and keeps no state between calls.
 *
 * The parser is strict: whatever RFC 9112 lets a server either reject or
 * "fix up" is rejected, because two implementations fixing up the same
 * message differently is how request smuggling works. In particular:
 * a bare LF or bare CR line ending, whitespace other than one SP between
 * the parts of the request line, obs-fold, whitespace before a header's
 * colon, Transfer-Encoding together with Content-Length, or differing
 * Content-Length values all get 400.
 *
 * Status codes on error: 400 malformed or ambiguous; 414 request-target
 * longer than max_uri; 431 head longer than max_header_bytes or more header
 * lines than max_headers; 501 a transfer coding other than chunked; 505 an
 * HTTP major version other than 1.
 */
#ifndef KEEL_HTTP_PARSE_H
#define KEEL_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/core/ctype.h" /* the character classes (http_is_tchar...) that go with these slices */

/* A view into the caller's buffer; not NUL-terminated. */
struct http_slice {
	const char *p;
	size_t n;
};

/* One header field line, name and value as received. The value has its
 * leading and trailing whitespace (OWS) removed, RFC 9112 §5.1. */
struct http_header {
	struct http_slice name, value;
};

/* The request-target's form, RFC 9112 §3.2. */
enum http_form {
	HTTP_FORM_ORIGIN,    /* "/path?query" */
	HTTP_FORM_ABSOLUTE,  /* "http://host:port/path?query" */
	HTTP_FORM_AUTHORITY, /* "host:port", CONNECT only */
	HTTP_FORM_ASTERISK,  /* "*", OPTIONS only */
};

/* How the request body is framed, RFC 9112 §6.3. */
enum http_body {
	HTTP_BODY_NONE,    /* no Content-Length nor Transfer-Encoding: empty */
	HTTP_BODY_LENGTH,  /* content_length bytes follow the head */
	HTTP_BODY_CHUNKED, /* chunked transfer coding (http/core/chunked.h) */
};

/* The caller's limits (the server's come from its max_header_bytes= and
 * max_uri= options); each must be at least 1. */
struct http_limits {
	/* Bytes of the whole head: leading empty lines, request line, header
	 * lines and the final empty line. -> 431 */
	size_t max_header_bytes;
	/* Bytes of the request-target. -> 414 */
	size_t max_uri;
	/* Entries in req->headers, i.e. header lines accepted. -> 431 */
	size_t max_headers;
};

struct http_request {
	struct http_slice method;  /* a token, case-sensitive (RFC 9110 §9.1) */
	struct http_slice target;  /* the request-target as received */
	/* The raw path, before '?', still percent-encoded (http/core/path.h decodes
	 * and cleans it). Origin- and absolute-form only; empty otherwise. For
	 * an absolute-form target with an empty path ("http://h?q") it is "/"
	 * from static storage (RFC 9110 §4.2.3: empty path equals "/"). */
	struct http_slice path;
	struct http_slice query;   /* after '?', without it; empty if none */
	/* The authority of an absolute- or authority-form target, which
	 * overrides the Host header (RFC 9112 §3.2.2); otherwise the Host
	 * header's value (may be empty, or absent in HTTP/1.0). May carry a
	 * ":port". */
	struct http_slice host;
	enum http_form form;
	int minor;                 /* HTTP/1.minor: 0 or 1 */
	struct http_header *headers; /* in: caller's array of max_headers */
	size_t num_headers;        /* out: entries filled in */
	enum http_body body;
	uint64_t content_length;   /* HTTP_BODY_LENGTH only; 0 otherwise */
	/* RFC 9112 §9.3: HTTP/1.1 persists unless Connection has "close";
	 * HTTP/1.0 only when Connection has "keep-alive" (and no "close"). */
	bool keep_alive;
	/* Expect: 100-continue in an HTTP/1.1 request (RFC 9110 §10.1.1; an
	 * HTTP/1.0 one MUST be ignored). Other expectations are ignored. */
	bool expect_continue;
	/* On error: static text saying what was wrong, for logs and error
	 * bodies. Never contains request bytes. */
	const char *error;
};

/* http_parse_request's results other than a head length. */
enum http_parse_result {
	HTTP_PARSE_ERROR = -1,      /* reject the request: *status and req->error say why */
	HTTP_PARSE_INCOMPLETE = -2, /* read more and call again */
};

/*
 * Parse the request head in buf[0, len).
 *
 * Returns the number of bytes of the head (through the empty line that
 * ends it; any body or pipelined request follows), HTTP_PARSE_INCOMPLETE
 * if the head is not complete yet (also for len == 0), or
 * HTTP_PARSE_ERROR with *status set to
 * 400, 414, 431, 501 or 505 and req->error set. The limits are enforced on
 * incomplete input too: once buf holds more than max_header_bytes without
 * a complete head, or a target longer than max_uri, the result is
 * HTTP_PARSE_ERROR at once, so a slow client cannot make the caller buffer without bound.
 * Empty lines (CRLF) before the request line are skipped (RFC 9112 §2.2);
 * they count as part of the head.
 *
 * last_len is the len of the previous call for this request that returned
 * HTTP_PARSE_INCOMPLETE (0 on the first call). It saves work: when buf[last_len, len) holds
 * no line end (LF) and the request line is already complete, nothing can
 * have completed the head, and the call returns HTTP_PARSE_INCOMPLETE
 * without re-parsing.
 * The one effect: an error inside the last, unfinished header line (a bad
 * byte, or the line that exceeds max_headers) is reported when that line
 * ends instead of at once. The byte and target limits are always enforced
 * at once, and once the head is complete the result is the same as with
 * last_len 0.
 *
 * req->headers must point to lim->max_headers entries; every other field
 * of req is overwritten. Unless a head length is returned their contents
 * are unspecified, except req->error on HTTP_PARSE_ERROR.
 */
int http_parse_request(const char *buf, size_t len, size_t last_len, const struct http_limits *lim,
		       struct http_request *req, int *status);

/*
 * Find a header by name, case-insensitively (RFC 9110 §5.1). With iter
 * NULL, the first match. Otherwise start at index *iter (set it to 0 for
 * the first call) and leave *iter past the match, so a loop visits every
 * line of a repeated field in order. NULL when there is no (further) match.
 */
const struct http_header *http_header_find(const struct http_request *req, const char *name, size_t *iter);

/*
 * Does the comma-separated list value (RFC 9110 §5.6.1) have an element
 * whose token is `token`, case-insensitively? Elements are trimmed of OWS,
 * empty ones are skipped, and commas inside quoted strings do not split.
 * Parameters after ';' are ignored, except that an element weighted q=0
 * ("not acceptable", RFC 9110 §12.4.2) does not count. Examples:
 * Connection: "keep-alive, Upgrade"; Accept-Encoding: "gzip;q=0.5".
 */
bool http_token_list_has(struct http_slice value, const char *token);

#endif
