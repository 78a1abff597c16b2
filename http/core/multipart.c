/* multipart/form-data (RFC 7578) as a resumable state machine in the
 * manner of nginx's ngx_http_parse.c: every state lives in struct
 * multipart, so the body may arrive split anywhere, one byte at a time.
 *
 * Delimiter matching. RFC 2046 §5.1.1 defines the delimiter as CRLF "--"
 * boundary. m->match counts the delimiter bytes matched so far; they are
 * held back from part_data because they may still become a delimiter.
 * bchars exclude CR, so CR occurs only at delim[0], and after a mismatch
 * no suffix of the held bytes can begin a new match: the held bytes are
 * released as data (copied from m->delim, which is what they are, so no
 * holdback buffer is needed) and the mismatching byte is looked at afresh.
 * That is all of KMP for this pattern; it holds back at most dlen - 1
 * bytes, and a span without CR goes to part_data in one memchr.
 *
 * The virtual CRLF. The body may open with the dash-boundary and no CRLF
 * ("[preamble CRLF] dash-boundary", §5.1.1), and a part with no body
 * puts the delimiter right after its header section ("body-part :=
 * MIME-part-headers [CRLF *OCTET]"), so the CRLF ending the headers is
 * also the delimiter's. Both places start the matcher with the CRLF
 * already matched (match = 2) but marked as never input (virt = 2): on a
 * mismatch those two bytes are not data.
 */
#include "http/core/ctype.h"
#include "http/core/multipart.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

enum {
	sw_preamble = 0, /* before the first delimiter: discarded (§5.1.1) */
	sw_data,         /* a part's body */
	sw_after_delim,  /* boundary matched: "--", transport padding or CRLF next */
	sw_close,        /* first '-' of the close delimiter seen */
	sw_padding,      /* transport-padding (LWSP) before the CRLF */
	sw_delim_lf,     /* CR ending the boundary line seen */
	sw_header,       /* collecting a part's header section */
	sw_done,         /* close delimiter seen: the epilogue is ignored */
	sw_error,
};

/* A parsed header section: slices into m->hdr. */
struct part {
	const char *name, *filename, *ctype;
	size_t name_len, filename_len, ctype_len;
	bool disposition;
};

/* One "; name=value" parameter (RFC 9110 §5.6.6); val is raw, quotes
 * included when quoted. */
struct param {
	const char *name, *val;
	size_t name_len, val_len;
	bool quoted;
};

static void fail(struct multipart *m, int error)
{
	m->state = sw_error;
	m->error = error;
}

/* ---- Character classes and lexing. ---- */

/* bcharsnospace (RFC 2046 §5.1.1); space is also a bchar, but not last. */
static bool is_bchar(unsigned char c)
{
	if (http_is_alpha(c) || http_is_digit(c))
		return true;
	return c && strchr("'()+_,-./:=?", c);
}

static const char *skip_ows(const char *p, const char *end)
{
	while (p < end && http_is_ows((unsigned char)*p))
		p++;
	return p;
}

static const char *skip_token(const char *p, const char *end)
{
	while (p < end && http_is_tchar((unsigned char)*p))
		p++;
	return p;
}

/* Inside a quoted-string only \" and \\ escape (see multipart.h). */
static bool is_escape(const char *q, const char *end)
{
	return q[0] == '\\' && q + 1 < end && (q[1] == '"' || q[1] == '\\');
}

/* p at the opening quote of a quoted-string (RFC 9110 §5.6.4); returns the
 * byte after the closing quote, or NULL if it is unterminated or holds a
 * control. */
static const char *skip_quoted(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '"')
			return p + 1;
		if (!http_is_field_char((unsigned char)*p))
			return NULL;
		if (is_escape(p, end))
			p++;
	}
	return NULL;
}

/* Copy a parameter's value to dst, unquoted; dst may be pa->val itself
 * (unquoting only shrinks). Returns the length, or -ENOBUFS if over cap. */
static long unquote(const struct param *pa, char *dst, size_t cap)
{
	const char *q = pa->val, *end = pa->val + pa->val_len;
	size_t w = 0;

	if (!pa->quoted) {
		if (pa->val_len > cap)
			return -ENOBUFS;
		memmove(dst, pa->val, pa->val_len);
		return (long)pa->val_len;
	}
	for (q++, end--; q < end; q++, w++) {
		if (w == cap)
			return -ENOBUFS;
		if (is_escape(q, end))
			q++;
		dst[w] = *q;
	}
	return (long)w;
}

/* The next parameter of `*( OWS ";" OWS [ name "=" value ] )` (RFC 9110
 * §5.6.6; empty ones skipped, OWS around '=' tolerated as MIME's CFWS
 * was). Returns 1 with *pa filled and *pp advanced, 0 at the end, or
 * -EBADMSG if malformed. */
static int next_param(const char **pp, const char *end, struct param *pa)
{
	const char *p = skip_ows(*pp, end);
	bool semi = false;

	while (p < end && *p == ';') {
		semi = true;
		p = skip_ows(p + 1, end);
	}
	if (p == end)
		return 0;
	if (!semi)
		return -EBADMSG;
	pa->name = p;
	p = skip_token(p, end);
	pa->name_len = (size_t)(p - pa->name);
	p = skip_ows(p, end);
	if (!pa->name_len || p == end || *p != '=')
		return -EBADMSG;
	p = skip_ows(p + 1, end);
	pa->val = p;
	pa->quoted = p < end && *p == '"';
	p = pa->quoted ? skip_quoted(p, end) : skip_token(p, end);
	if (!p || p == pa->val)
		return -EBADMSG;
	pa->val_len = (size_t)(p - pa->val);
	*pp = p;
	return 1;
}

static bool valid_boundary(const char *b, size_t n)
{
	if (n < 1 || n > MULTIPART_BOUNDARY_MAX || b[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++)
		if (b[i] != ' ' && !is_bchar((unsigned char)b[i]))
			return false;
	return true;
}

/* "multipart/form-data" (RFC 7578 §4.1 and §8: only this subtype). */
static const char *media_type(const char *p, const char *end)
{
	const char *t = skip_ows(p, end), *e = skip_token(t, end);

	if (!http_eq_word(t, (size_t)(e - t), "multipart") || e == end || *e != '/')
		return NULL;
	t = e + 1;
	e = skip_token(t, end);
	return http_eq_word(t, (size_t)(e - t), "form-data") ? e : NULL;
}

int multipart_boundary(const char *content_type, size_t n, char *out, size_t cap, size_t *out_len)
{
	const char *end = content_type + n, *p = media_type(content_type, end);
	struct param pa;
	long len = -1;
	int r;

	if (!p || cap == 0)
		return -EBADMSG;
	while ((r = next_param(&p, end, &pa)) > 0) {
		if (!http_eq_word(pa.name, pa.name_len, "boundary"))
			continue;
		if (len >= 0)
			return -EBADMSG; /* two boundaries: which one would the sender use? */
		len = unquote(&pa, out, cap - 1);
		if (len < 0 || !valid_boundary(out, (size_t)len))
			return -EBADMSG;
	}
	if (r < 0 || len < 0)
		return -EBADMSG;
	out[len] = '\0';
	*out_len = (size_t)len;
	return 0;
}

/* ---- Header section (RFC 7578 §4.2, §4.4; RFC 2046 §5.1.1). ---- */

/* Content-Disposition: form-data; name="..."[; filename="..."]. Values are
 * unquoted in place, so the slices point into v. 0 or -EBADMSG, as are
 * header_line's and parse_headers'. */
static int disposition(struct part *pt, char *v, const char *end)
{
	const char *p = skip_token(v, end);
	struct param pa;
	int r;

	if (!http_eq_word(v, (size_t)(p - v), "form-data"))
		return -EBADMSG;
	while ((r = next_param(&p, end, &pa)) > 0) {
		const char **val;
		size_t *len;
		char *dst = v + (pa.val - v);

		if (http_eq_word(pa.name, pa.name_len, "name"))
			val = &pt->name, len = &pt->name_len;
		else if (http_eq_word(pa.name, pa.name_len, "filename"))
			val = &pt->filename, len = &pt->filename_len;
		else
			continue; /* filename* and others: §4.2 says ignore */
		if (*val)
			return -EBADMSG;
		*val = dst;
		*len = (size_t)unquote(&pa, dst, pa.val_len);
	}
	return r < 0 || !pt->name ? -EBADMSG : 0;
}

/* One unfolded header line [s, e): "name: value". */
static int header_line(struct part *pt, char *s, const char *e)
{
	const char *colon = skip_token(s, e);
	size_t name_len = (size_t)(colon - s);
	char *v, *ve;

	if (!name_len || colon == e || *colon != ':')
		return -EBADMSG;
	v = s + (skip_ows(colon + 1, e) - s);
	ve = s + (e - s);
	while (ve > v && http_is_ows((unsigned char)ve[-1]))
		ve--;
	for (const char *q = v; q < ve; q++)
		if (!http_is_field_char((unsigned char)*q))
			return -EBADMSG;
	if (http_eq_word(s, name_len, "content-disposition")) {
		if (pt->disposition)
			return -EBADMSG;
		pt->disposition = true;
		return disposition(pt, v, ve);
	}
	if (http_eq_word(s, name_len, "content-type")) {
		if (pt->ctype || v == ve)
			return -EBADMSG;
		pt->ctype = v;
		pt->ctype_len = (size_t)(ve - v);
	}
	return 0; /* other fields: RFC 7578 §4.8 says ignore */
}

/* Parse m->hdr[0, hlen - 2): header lines each ending in CRLF (bare LFs
 * were refused while collecting). obs-fold (RFC 5322 §2.2.3) is unfolded
 * by blanking the CRLF before a continuation line. */
static int parse_headers(struct multipart *m, struct part *pt)
{
	char *s = m->hdr, *end = m->hdr + m->hlen - 2;

	for (char *q = s; q + 2 < end; q++)
		if (q[0] == '\r' && q[1] == '\n' && http_is_ows((unsigned char)q[2]))
			q[0] = q[1] = ' ';
	while (s < end) {
		char *lf = memchr(s, '\n', (size_t)(end - s));
		int r = header_line(pt, s, lf - 1);
		if (r < 0)
			return r;
		s = lf + 1;
	}
	return pt->disposition ? 0 : -EBADMSG;
}

/* The header section is complete: announce the part, start its body. */
static void part_begin(struct multipart *m, const struct multipart_callbacks *cb, void *ctx)
{
	struct part pt = {0};
	int r = parse_headers(m, &pt);

	if (r < 0) {
		fail(m, r);
		return;
	}
	if (!pt.ctype) {
		pt.ctype = "text/plain"; /* RFC 7578 §4.4 */
		pt.ctype_len = 10;
	}
	m->state = sw_data;
	m->match = m->virt = 2; /* see "The virtual CRLF" above */
	if (cb->part_begin &&
	    cb->part_begin(ctx, pt.name, pt.name_len, pt.filename, pt.filename_len, pt.ctype, pt.ctype_len))
		fail(m, -ECANCELED);
}

/* Collect header bytes up to and including the next LF. */
static size_t collect_header(struct multipart *m, const char *p, size_t n,
			     const struct multipart_callbacks *cb, void *ctx)
{
	const char *lf = memchr(p, '\n', n);
	size_t take = lf ? (size_t)(lf - p) + 1 : n;
	const char *h;

	if (take > sizeof m->hdr - m->hlen) {
		fail(m, -EMSGSIZE);
		return n;
	}
	memcpy(m->hdr + m->hlen, p, take);
	m->hlen += take;
	if (!lf)
		return take;
	h = m->hdr + m->hlen;
	if (m->hlen < 2 || h[-2] != '\r')
		fail(m, -EBADMSG); /* lines end in CRLF (RFC 2046 §5.1.1) */
	else if (m->hlen == 2 || (m->hlen >= 4 && h[-4] == '\r' && h[-3] == '\n'))
		part_begin(m, cb, ctx); /* the empty line */
	return take;
}

/* ---- Bodies and delimiters (RFC 2046 §5.1.1). ---- */

static bool emit(struct multipart *m, const char *p, size_t n, const struct multipart_callbacks *cb,
		 void *ctx)
{
	if (!n || m->state != sw_data || !cb->part_data)
		return true; /* the preamble is discarded */
	if (!cb->part_data(ctx, p, n))
		return true;
	fail(m, -ECANCELED);
	return false;
}

/* The held-back bytes were not a delimiter after all: they are data. */
static bool release(struct multipart *m, const struct multipart_callbacks *cb, void *ctx)
{
	size_t from = m->virt, to = m->match;

	m->match = m->virt = 0;
	return emit(m, m->delim + from, to - from, cb, ctx);
}

static void delimiter(struct multipart *m, const struct multipart_callbacks *cb, void *ctx)
{
	bool in_part = m->state == sw_data;

	m->match = m->virt = 0;
	m->state = sw_after_delim;
	if (in_part && cb->part_end && cb->part_end(ctx))
		fail(m, -ECANCELED);
}

/* Preamble or part body: pass bytes on until a whole delimiter matched. */
static size_t scan_body(struct multipart *m, const char *p, size_t n, const struct multipart_callbacks *cb,
			void *ctx)
{
	size_t i = 0;

	while (i < n) {
		if (m->match == 0) {
			const char *cr = memchr(p + i, '\r', n - i);
			size_t span = cr ? (size_t)(cr - (p + i)) : n - i;

			if (!emit(m, p + i, span, cb, ctx))
				return n;
			i += span;
			if (!cr)
				break;
			m->match = 1;
			i++;
		} else if (p[i] == m->delim[m->match]) {
			i++;
			if (++m->match == m->dlen) {
				delimiter(m, cb, ctx);
				break;
			}
		} else if (!release(m, cb, ctx)) {
			return n;
		}
	}
	return i;
}

/* After the boundary: transport-padding CRLF, or "--" (close-delimiter). */
static void boundary_line(struct multipart *m, char c)
{
	if (m->state == sw_after_delim && c == '-')
		m->state = sw_close;
	else if (m->state == sw_close)
		m->state = c == '-' ? sw_done : sw_error;
	else if (m->state == sw_delim_lf)
		m->state = c == '\n' ? sw_header : sw_error;
	else if (http_is_ows((unsigned char)c))
		m->state = sw_padding;
	else
		m->state = c == '\r' ? sw_delim_lf : sw_error;
	if (m->state == sw_error)
		m->error = -EBADMSG;
	else if (m->state == sw_header)
		m->hlen = 0;
}

int multipart_init(struct multipart *m, const char *boundary, size_t n)
{
	memset(m, 0, offsetof(struct multipart, hdr));
	if (!valid_boundary(boundary, n)) {
		fail(m, -EINVAL);
		return -EINVAL;
	}
	memcpy(m->delim, "\r\n--", 4);
	memcpy(m->delim + 4, boundary, n);
	m->dlen = (uint8_t)(4 + n);
	m->state = sw_preamble;
	m->match = m->virt = 2; /* the body may open with the dash-boundary */
	return 0;
}

int multipart_feed(struct multipart *m, const char *p, size_t n, const struct multipart_callbacks *cb,
		   void *ctx)
{
	size_t i = 0;

	while (i < n && m->state < sw_done) {
		switch (m->state) {
		case sw_preamble:
		case sw_data:
			i += scan_body(m, p + i, n - i, cb, ctx);
			break;
		case sw_header:
			i += collect_header(m, p + i, n - i, cb, ctx);
			break;
		default:
			boundary_line(m, p[i++]);
			break;
		}
	}
	if (m->state == sw_error)
		return m->error;
	return m->state == sw_done ? MULTIPART_DONE : MULTIPART_MORE;
}

int multipart_finish(const struct multipart *m)
{
	if (m->state == sw_error)
		return m->error;
	return m->state == sw_done ? 0 : -EBADMSG; /* no close delimiter (RFC 2046 §5.1.1) */
}
