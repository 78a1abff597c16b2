/*
 * Chunked transfer coding decoder (RFC 9112 §7.1); the contract is in
 * chunked.h.
 *
 *     chunked-body = *chunk last-chunk trailer-section CRLF
 *     chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *     last-chunk   = 1*("0") [ chunk-ext ] CRLF
 *
 * A byte-at-a-time state machine in the manner of nginx's parsers: the
 * state is a local sw_* value saved in the caller's struct between calls,
 * so nothing is ever re-scanned and a split anywhere in the input gives
 * the same result. Chunk data is the one exception to byte stepping: it
 * is moved to the front of the buffer in blocks.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "http/core/chunked.h"
#include "http/core/ctype.h"

enum {
	/* the chunk-size line; every state up to sw_size_lf */
	sw_size_first = 0,   /* the first HEXDIG of chunk-size */
	sw_size,             /* more HEXDIG, or what follows the size */
	sw_ext_bws,          /* BWS before ';' */
	sw_ext_name_bws,     /* BWS after ';' */
	sw_ext_name,         /* chunk-ext-name */
	sw_ext_eq_bws,       /* BWS after the name: '=' or the next ';' */
	sw_ext_val_bws,      /* BWS after '=' */
	sw_ext_token,        /* chunk-ext-val as a token */
	sw_ext_quoted,       /* chunk-ext-val as a quoted-string */
	sw_ext_quoted_pair,  /* after '\' in the quoted-string */
	sw_ext_quoted_end,   /* after its closing quote */
	sw_size_lf,          /* the CR ending the size line was seen */
	/* chunk data and what follows the last chunk */
	sw_data,
	sw_data_cr,          /* the CRLF after chunk data */
	sw_data_lf,
	sw_trailer_line,     /* a trailer field line, or the final CRLF */
	sw_trailer_name,
	sw_trailer_value,
	sw_trailer_lf,
	sw_last_lf,          /* the LF of the final CRLF */
	sw_done,
	sw_error,
};

/*
 * chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
 * chunk-ext-name = token; chunk-ext-val = token / quoted-string
 * (RFC 9112 §7.1.1). Whitespace is allowed only where the grammar has BWS,
 * so not before the CRLF. qdtext and quoted-pair both admit HTAB, SP,
 * VCHAR and obs-text (RFC 9110 §5.6.4), which is http_is_field_char.
 */
static uint8_t chunk_ext(uint8_t s, unsigned char c)
{
	switch (s) {
	case sw_ext_name_bws:
		return http_is_ows(c) ? s : http_is_tchar(c) ? sw_ext_name : sw_error;
	case sw_ext_name:
		if (http_is_tchar(c))
			return s;
		if (http_is_ows(c))
			return sw_ext_eq_bws;
		return c == '=' ? sw_ext_val_bws : c == ';' ? sw_ext_name_bws : sw_error;
	case sw_ext_eq_bws:
		return http_is_ows(c) ? s : c == '=' ? sw_ext_val_bws : c == ';' ? sw_ext_name_bws : sw_error;
	case sw_ext_val_bws:
		if (http_is_ows(c))
			return s;
		return c == '"' ? sw_ext_quoted : http_is_tchar(c) ? sw_ext_token : sw_error;
	case sw_ext_quoted:
		if (c == '"')
			return sw_ext_quoted_end;
		return c == '\\' ? sw_ext_quoted_pair : http_is_field_char(c) ? s : sw_error;
	case sw_ext_quoted_pair:
		return http_is_field_char(c) ? sw_ext_quoted : sw_error;
	case sw_ext_token:
		if (http_is_tchar(c))
			return s;
		break; /* the value ended: as after the size */
	case sw_size:
	case sw_ext_quoted_end:
	case sw_ext_bws:
		break;
	default:
		return sw_error;
	}
	return http_is_ows(c) ? sw_ext_bws : c == ';' ? sw_ext_name_bws : sw_error;
}

/* The chunk-size line: size, extensions, CRLF. */
static uint8_t size_line(struct http_chunked *d, unsigned char c)
{
	if (d->state == sw_size_first || d->state == sw_size) {
		int h = http_hex_value(c);
		if (h >= 0) {
			if (d->state == sw_size_first)
				d->left = 0;
			/* RFC 9112 §7.1: anticipate large hex numerals and
			 * prevent overflow; 2^63-1 fits every consumer. */
			if (d->left > (uint64_t)INT64_MAX >> 4)
				return sw_error;
			d->left = d->left << 4 | (uint64_t)h;
			return sw_size;
		}
		if (d->state == sw_size_first)
			return sw_error; /* chunk-size = 1*HEXDIG */
		d->count = 0;
	}
	if (d->state == sw_size_lf) {
		if (c != '\n')
			return sw_error; /* bare CR, RFC 9112 §2.2 */
		d->count = 0; /* now counts the trailer section */
		return d->left ? sw_data : sw_trailer_line;
	}
	if (c == '\r') {
		bool can_end = d->state == sw_size || d->state == sw_ext_name || d->state == sw_ext_token ||
			       d->state == sw_ext_quoted_end;
		return can_end ? sw_size_lf : sw_error;
	}
	if (++d->count > HTTP_CHUNK_EXT_MAX)
		return sw_error; /* extensions are ignored: no need to buffer many */
	return chunk_ext(d->state, c);
}

/*
 * After chunk data: exactly CRLF. After the last chunk: trailer-section =
 * *( field-line CRLF ), then CRLF (RFC 9112 §7.1.2). Trailer lines are
 * checked like header lines (RFC 9112 §5: token name, no whitespace before
 * the colon, no obs-fold; RFC 9110 §5.5 value bytes), then dropped.
 */
static uint8_t after_data(struct http_chunked *d, unsigned char c)
{
	switch (d->state) {
	case sw_data_cr:
		return c == '\r' ? sw_data_lf : sw_error;
	case sw_data_lf:
		return c == '\n' ? sw_size_first : sw_error;
	case sw_last_lf:
		return c == '\n' ? sw_done : sw_error;
	}
	if (++d->count > HTTP_CHUNK_TRAILER_MAX)
		return sw_error;
	switch (d->state) {
	case sw_trailer_line:
		return c == '\r' ? sw_last_lf : http_is_tchar(c) ? sw_trailer_name : sw_error;
	case sw_trailer_name:
		return http_is_tchar(c) ? d->state : c == ':' ? sw_trailer_value : sw_error;
	case sw_trailer_value:
		return http_is_field_char(c) ? d->state : c == '\r' ? sw_trailer_lf : sw_error;
	case sw_trailer_lf:
		return c == '\n' ? sw_trailer_line : sw_error;
	}
	return sw_error;
}

ptrdiff_t http_chunked_decode(struct http_chunked *d, char *buf, size_t *len)
{
	size_t src = 0, dst = 0, n = *len;
	while (src < n && d->state != sw_done && d->state != sw_error) {
		if (d->state == sw_data) {
			size_t k = n - src < d->left ? n - src : (size_t)d->left;
			if (dst != src)
				memmove(buf + dst, buf + src, k);
			dst += k;
			src += k;
			d->left -= k;
			if (!d->left)
				d->state = sw_data_cr;
			continue;
		}
		unsigned char c = (unsigned char)buf[src++];
		d->state = d->state <= sw_size_lf ? size_line(d, c) : after_data(d, c);
	}
	*len = dst;
	if (d->state == sw_error)
		return HTTP_CHUNKED_ERROR;
	if (d->state != sw_done)
		return HTTP_CHUNKED_INCOMPLETE;
	/* what follows the body belongs to the next request: keep it next
	 * to the data, where the caller continues */
	if (dst != src)
		memmove(buf + dst, buf + src, n - src);
	return (ptrdiff_t)(n - src);
}
