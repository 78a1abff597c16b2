/*
 * HTTP/1.1 request head parser; the contract is in parse.h.
 *
 * One pass, front to back, over at most max_header_bytes: leading empty
 * lines, the request line (RFC 9112 §3), the header lines (RFC 9112 §5)
 * stored as slices, then the decisions taken from the collected headers:
 * Host (RFC 9112 §3.2), body framing (RFC 9112 §6.3), persistence (RFC
 * 9112 §9.3), Expect (RFC 9110 §10.1.1). Every step returns 0 to go on,
 * AGAIN when the bytes run out, or an HTTP status after setting
 * req->error. Since the pass is sequential, the first bad byte decides the
 * error, whatever follows it, and a prefix of a valid head is never an
 * error.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "http/core/ctype.h"
#include "http/core/parse.h"

#define AGAIN HTTP_PARSE_INCOMPLETE

struct cursor {
	const char *p, *end;
};

/* What the header lines said, gathered before any decision is taken. */
struct seen {
	int hosts;
	struct http_slice host;
	bool cl;                 /* Content-Length present */
	struct http_slice cl_text;
	uint64_t cl_value;
	bool te;                 /* Transfer-Encoding present */
	int chunked;             /* "chunked" codings in it */
	bool last_chunked;       /* the final coding is chunked */
	bool other_coding;
	bool close, keep_alive, expect;
};

static int fail(struct http_request *req, int status, const char *why)
{
	req->error = why;
	return status;
}

/* ---- characters (the common classes are in http/core/ctype.h) ---- */

/* Bytes allowed in a request-target: no CTL, SP, DEL or raw non-ASCII
 * (RFC 9112 §3.2, RFC 3986 §2), and no '#': a fragment is never sent
 * (RFC 9112 §3.2 has no fragment; RFC 9110 §4.2.5). Other visible ASCII
 * that RFC 3986 would want percent-encoded ('"', '<', '{', '|' ...) is
 * accepted, as most servers do: SP still delimits the target, so this
 * cannot shift framing, and http_percent_decode copes with the rest. */
static bool is_target_char(unsigned char c) { return c > ' ' && c < 0x7f && c != '#'; }

/* reg-name characters except pct-encoded (RFC 3986 §3.2.2): unreserved
 * and sub-delims. */
static bool is_regname_char(unsigned char c)
{
	if (http_is_digit(c) || http_is_alpha(c))
		return true;
	switch (c) {
	case '-': case '.': case '_': case '~':                       /* unreserved */
	case '!': case '$': case '&': case '\'': case '(': case ')':   /* sub-delims */
	case '*': case '+': case ',': case ';': case '=':
		return true;
	}
	return false;
}

/* ---- slices ---- */

static struct http_slice slice(const char *s, const char *e)
{
	return (struct http_slice){ s, (size_t)(e - s) };
}

static struct http_slice trim_ows(struct http_slice s)
{
	while (s.n && http_is_ows((unsigned char)s.p[0])) {
		s.p++;
		s.n--;
	}
	while (s.n && http_is_ows((unsigned char)s.p[s.n - 1]))
		s.n--;
	return s;
}

/* Case-insensitive comparison with the n bytes of a literal. */
static bool eq_nocase(struct http_slice s, const char *lit, size_t n)
{
	return s.n == n && http_eq_nocase(s.p, lit, n);
}

#define IS(s, lit) eq_nocase((s), (lit), sizeof(lit) - 1)

static bool eq_exact(struct http_slice s, const char *lit, size_t n)
{
	return s.n == n && !memcmp(s.p, lit, n);
}

/* ---- lists and parameters (RFC 9110 §5.6) ---- */

/* Next element of a comma-separated list (RFC 9110 §5.6.1): OWS trimmed,
 * empty elements skipped (recipients MUST accept them), commas inside a
 * quoted-string (§5.6.4) kept. False at the end of the list. */
static bool list_next(struct http_slice *rest, struct http_slice *el)
{
	const char *p = rest->p, *end = p + rest->n;
	while (p < end && (http_is_ows((unsigned char)*p) || *p == ','))
		p++;
	if (p == end) {
		*rest = slice(end, end);
		return false;
	}
	const char *s = p;
	bool quoted = false;
	for (; p < end && (quoted || *p != ','); p++) {
		if (quoted && *p == '\\' && p + 1 < end)
			p++; /* quoted-pair: the next byte cannot end the string */
		else if (*p == '"')
			quoted = !quoted;
	}
	*el = trim_ows(slice(s, p));
	*rest = slice(p, end);
	return true;
}

/* A token at the start of s; its length (0 if none). */
static size_t token_len(struct http_slice s)
{
	size_t i = 0;
	while (i < s.n && http_is_tchar((unsigned char)s.p[i]))
		i++;
	return i;
}

/* A quoted-string at the start of s (RFC 9110 §5.6.4); its length with
 * both quotes, 0 if there is none or it is not closed. */
static size_t quoted_len(struct http_slice s)
{
	if (!s.n || s.p[0] != '"')
		return 0;
	for (size_t i = 1; i < s.n; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (c == '"')
			return i + 1;
		if (c == '\\' && ++i == s.n)
			return 0;
		/* qdtext and quoted-pair exclude CTLs but HTAB, and DEL */
		c = (unsigned char)s.p[i];
		if ((c < ' ' && c != '\t') || c == 0x7f)
			return 0;
	}
	return 0;
}

static void skip_ows(struct http_slice *s)
{
	while (s->n && http_is_ows((unsigned char)s->p[0])) {
		s->p++;
		s->n--;
	}
}

/*
 * Next parameter of rest, which holds what follows an element's token:
 * *( OWS ";" OWS name BWS "=" BWS ( token / quoted-string ) ), the shape
 * of transfer-parameter (RFC 9112 §7) and parameters (RFC 9110 §5.6.6;
 * BWS is accepted there too, as recipients must parse it, §5.6.3).
 * Returns 1 with the parameter, 0 at the end, -EBADMSG if malformed.
 */
static int param_next(struct http_slice *rest, struct http_slice *name, struct http_slice *value)
{
	struct http_slice s = *rest;
	skip_ows(&s);
	if (!s.n)
		return 0;
	if (s.p[0] != ';')
		return -EBADMSG;
	s.p++, s.n--;
	skip_ows(&s);
	size_t n = token_len(s);
	if (!n)
		return -EBADMSG;
	*name = slice(s.p, s.p + n);
	s.p += n, s.n -= n;
	skip_ows(&s);
	if (!s.n || s.p[0] != '=')
		return -EBADMSG;
	s.p++, s.n--;
	skip_ows(&s);
	if (!(n = token_len(s)) && !(n = quoted_len(s)))
		return -EBADMSG;
	*value = slice(s.p, s.p + n);
	rest->p = s.p + n;
	rest->n = s.n - n;
	return 1;
}

/* Split an element into its leading token and its parameters; false if
 * it is not token *( OWS ";" OWS parameter ). */
static bool element_split(struct http_slice el, struct http_slice *tok, struct http_slice *params)
{
	size_t n = token_len(el);
	if (!n)
		return false;
	*tok = slice(el.p, el.p + n);
	*params = slice(el.p + n, el.p + el.n);
	struct http_slice rest = *params, pn, pv;
	int r;
	while ((r = param_next(&rest, &pn, &pv)) > 0)
		;
	return r == 0;
}

/* qvalue = "0" [ "." 0*3DIGIT ] / "1" [ "." 0*3("0") ], RFC 9110 §12.4.2;
 * is it zero? */
static bool weight_is_zero(struct http_slice params)
{
	struct http_slice name, v;
	while (param_next(&params, &name, &v) > 0) {
		if (!IS(name, "q"))
			continue;
		if (!v.n || v.p[0] != '0' || v.n > 5 || (v.n > 1 && v.p[1] != '.'))
			return false;
		for (size_t i = 2; i < v.n; i++)
			if (v.p[i] != '0')
				return false;
		return true;
	}
	return false;
}

bool http_token_list_has(struct http_slice value, const char *token)
{
	size_t n = strlen(token);
	struct http_slice el, tok, params;
	while (list_next(&value, &el))
		if (element_split(el, &tok, &params) && eq_nocase(tok, token, n) && !weight_is_zero(params))
			return true;
	return false;
}

const struct http_header *http_header_find(const struct http_request *req, const char *name, size_t *iter)
{
	size_t n = strlen(name);
	for (size_t i = iter ? *iter : 0; i < req->num_headers; i++) {
		if (eq_nocase(req->headers[i].name, name, n)) {
			if (iter)
				*iter = i + 1;
			return &req->headers[i];
		}
	}
	if (iter)
		*iter = req->num_headers;
	return NULL;
}

/* ---- host and authority (RFC 9110 §4.2, §7.2; RFC 3986 §3.2) ---- */

/* IPv4address: four dec-octets without leading zeros, RFC 3986 §3.2.2. */
static bool valid_ipv4(const char *p, size_t n)
{
	size_t i = 0;
	for (int k = 0; k < 4; k++) {
		if (k && (i == n || p[i++] != '.'))
			return false;
		size_t s = i;
		unsigned v = 0;
		while (i < n && i - s < 3 && http_is_digit((unsigned char)p[i]))
			v = v * 10 + (unsigned)(p[i++] - '0');
		if (i == s || v > 255 || (i - s > 1 && p[s] == '0'))
			return false;
	}
	return i == n;
}

/* IPv6address, RFC 3986 §3.2.2: eight h16 groups, or fewer with one "::"
 * standing for at least one; the last two may be written as IPv4. */
static bool valid_ipv6(const char *p, size_t n)
{
	size_t i = 0, groups = 0;
	bool gap = false;
	if (n >= 2 && p[0] == ':' && p[1] == ':') {
		gap = true;
		i = 2;
	}
	while (i < n) {
		size_t j = i;
		while (j < n && j - i < 5 && http_is_hexdig((unsigned char)p[j]))
			j++;
		if (j < n && p[j] == '.') { /* ls32 as IPv4: must end the address */
			if (!valid_ipv4(p + i, n - i))
				return false;
			groups += 2;
			break;
		}
		if (j == i || j - i > 4)
			return false;
		groups++;
		if ((i = j) == n)
			break;
		if (p[i++] != ':' || i == n)
			return false; /* not a separator, or a trailing single ':' */
		if (p[i] == ':') {
			if (gap)
				return false;
			gap = true;
			i++;
		}
	}
	return gap ? groups <= 7 : groups == 8;
}

/* IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ). */
static bool valid_ipvfuture(const char *p, size_t n)
{
	size_t i = 1;
	if (!n || http_lower((unsigned char)p[0]) != 'v')
		return false;
	while (i < n && http_is_hexdig((unsigned char)p[i]))
		i++;
	if (i == 1 || i == n || p[i++] != '.' || i == n)
		return false;
	for (; i < n; i++)
		if (!is_regname_char((unsigned char)p[i]) && p[i] != ':')
			return false;
	return true;
}

/* Length of uri-host at the start of p: IP-literal or reg-name with its
 * pct-encoded triplets checked (RFC 3986 §3.2.2), or -EBADMSG if malformed. */
static long host_len(const char *p, size_t n)
{
	size_t i = 0;
	if (n && p[0] == '[') {
		const char *close = memchr(p, ']', n);
		if (!close)
			return -EBADMSG;
		size_t m = (size_t)(close - p) - 1;
		if (!valid_ipv6(p + 1, m) && !valid_ipvfuture(p + 1, m))
			return -EBADMSG;
		return (long)m + 2;
	}
	while (i < n && p[i] != ':') {
		if (p[i] == '%') {
			if (n - i < 3 || !http_is_hexdig((unsigned char)p[i + 1]) ||
			    !http_is_hexdig((unsigned char)p[i + 2]))
				return -EBADMSG;
			i += 3;
		} else if (is_regname_char((unsigned char)p[i])) {
			i++;
		} else {
			return -EBADMSG; /* includes '@': userinfo is an error, RFC 9110 §4.2.4 */
		}
	}
	return (long)i;
}

/* uri-host [ ":" port ] with port = *DIGIT (RFC 3986 §3.2.3), read as a
 * TCP port, so at most 65535. need_host: the http(s) URI rule that the
 * host is not empty (RFC 9110 §4.2.1); need_port: authority-form, which
 * has no default port (RFC 9110 §9.3.6). */
static bool valid_host(struct http_slice s, bool need_host, bool need_port)
{
	long h = host_len(s.p, s.n);
	if (h < 0 || (need_host && h == 0))
		return false;
	size_t i = (size_t)h;
	if (i == s.n)
		return !need_port;
	if (s.p[i++] != ':' || (need_port && i == s.n) || s.n - i > 5)
		return false;
	unsigned long port = 0;
	for (; i < s.n; i++) {
		if (!http_is_digit((unsigned char)s.p[i]))
			return false;
		port = port * 10 + (unsigned long)(s.p[i] - '0');
	}
	return port <= 65535;
}

/* ---- request line (RFC 9112 §3) ---- */

/*
 * Every line ends in CRLF (RFC 9112 §2.2). A bare LF or bare CR is
 * rejected rather than taken as a line end: §2.2 allows either, and two
 * parsers that disagree on where a line ends disagree on where the
 * message ends, which is request smuggling. why: the error when the byte
 * here is neither CR nor LF.
 */
static int eat_crlf(struct cursor *c, struct http_request *req, const char *why)
{
	if (c->p == c->end)
		return AGAIN;
	if (*c->p == '\n')
		return fail(req, 400, "bare LF line ending");
	if (*c->p != '\r')
		return fail(req, 400, why);
	if (c->p + 1 == c->end)
		return AGAIN;
	if (c->p[1] != '\n')
		return fail(req, 400, "bare CR");
	c->p += 2;
	return 0;
}

/* RFC 9112 §2.2: a server SHOULD ignore at least one empty line (CRLF)
 * before the request-line; we ignore any number, within the head limit. */
static int skip_empty_lines(struct cursor *c, struct http_request *req)
{
	while (c->p < c->end && (*c->p == '\r' || *c->p == '\n')) {
		int r = eat_crlf(c, req, "");
		if (r)
			return r;
	}
	return c->p == c->end ? AGAIN : 0;
}

/*
 * The request-line is method SP request-target SP HTTP-version, with
 * exactly one SP between the parts (RFC 9112 §3). §3 lets a server also
 * split on HTAB, VT, FF or bare CR, or on runs of SP; we do not: a lenient
 * parser that sees a different target or version than the proxy in front
 * of it is a request smuggling risk. Called with c->p at the separator.
 */
static int eat_sp(struct cursor *c, struct http_request *req, const char *why)
{
	if (c->p == c->end)
		return AGAIN;
	if (*c->p != ' ') {
		unsigned char b = (unsigned char)*c->p;
		bool ws = http_is_ows(b) || b == '\v' || b == '\f' || b == '\r';
		return fail(req, 400, ws ? "request line parts must be separated by one SP" : why);
	}
	c->p++;
	if (c->p < c->end && *c->p == ' ')
		return fail(req, 400, "request line parts must be separated by one SP");
	return 0;
}

/* method = token, RFC 9110 §9.1, §5.6.2. */
static int parse_method(struct cursor *c, struct http_request *req)
{
	const char *s = c->p;
	while (c->p < c->end && http_is_tchar((unsigned char)*c->p))
		c->p++;
	if (c->p == s && c->p < c->end)
		return fail(req, 400, *c->p == ' ' ? "request line starts with SP" : "method is not a token");
	req->method = slice(s, c->p);
	return eat_sp(c, req, "method is not a token");
}

/* The request-target's bytes (RFC 9112 §3.2), bounded by max_uri even
 * before the line is complete, so a client cannot stream a huge one. */
static int parse_target(struct cursor *c, struct http_request *req, size_t max_uri)
{
	const char *s = c->p;
	while (c->p < c->end && is_target_char((unsigned char)*c->p) && (size_t)(c->p - s) <= max_uri)
		c->p++;
	if ((size_t)(c->p - s) > max_uri)
		return fail(req, 414, "request-target too long");
	if (c->p < c->end && (*c->p == '\r' || *c->p == '\n'))
		return fail(req, 400, "request line has no HTTP version");
	req->target = slice(s, c->p);
	return eat_sp(c, req, "invalid character in request-target");
}

/*
 * HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 §2.3),
 * ending the line. Another major version gets 505 (RFC 9110 §15.6.6); a
 * higher 1.x minor is processed as 1.1, as §2.3 says a recipient SHOULD.
 */
static int parse_version(struct cursor *c, struct http_request *req)
{
	static const char name[] = "HTTP/";
	const char *v = c->p;
	size_t avail = (size_t)(c->end - v);
	if (memcmp(v, name, avail < 5 ? avail : 5))
		return fail(req, 400, "malformed HTTP version");
	if (avail < 8)
		return AGAIN;
	if (!http_is_digit((unsigned char)v[5]) || v[6] != '.' || !http_is_digit((unsigned char)v[7]))
		return fail(req, 400, "malformed HTTP version");
	c->p += 8;
	int r = eat_crlf(c, req, "malformed HTTP version");
	if (r)
		return r;
	if (v[5] != '1')
		return fail(req, 505, "HTTP major version not supported");
	req->minor = v[7] == '0' ? 0 : 1;
	return 0;
}

/* path [ "?" query ] of origin-form and of an http(s) URI. */
static void split_path(struct http_request *req, const char *s, const char *end)
{
	const char *q = memchr(s, '?', (size_t)(end - s));
	req->path = slice(s, q ? q : end);
	req->query = q ? slice(q + 1, end) : slice(end, end);
}

/*
 * absolute-form = absolute-URI (RFC 9112 §3.2.2). Only the http and https
 * schemes (case-insensitive, RFC 3986 §3.1) name resources of an origin
 * server; their authority must have a non-empty host (RFC 9110 §4.2.1) and
 * no userinfo (§4.2.4). The authority then overrides any Host header
 * (RFC 9112 §3.2.2); an empty path means "/" (RFC 9110 §4.2.3).
 */
static int parse_absolute(struct http_request *req)
{
	const char *t = req->target.p, *end = t + req->target.n, *a;
	if (req->target.n >= 7 && eq_nocase(slice(t, t + 7), "http://", 7))
		a = t + 7;
	else if (req->target.n >= 8 && eq_nocase(slice(t, t + 8), "https://", 8))
		a = t + 8;
	else
		return fail(req, 400, "request-target is in none of the four forms");
	const char *p = a;
	while (p < end && *p != '/' && *p != '?')
		p++;
	req->host = slice(a, p);
	if (!valid_host(req->host, true, false))
		return fail(req, 400, "invalid authority in request-target");
	req->form = HTTP_FORM_ABSOLUTE;
	split_path(req, p, end);
	if (!req->path.n)
		req->path = (struct http_slice){ "/", 1 };
	return 0;
}

/* Which of the four forms of RFC 9112 §3.2 the target is, given the
 * method: authority-form only and always for CONNECT (§3.2.3), asterisk
 * only for OPTIONS (§3.2.4). */
static int classify_target(struct http_request *req)
{
	struct http_slice t = req->target;
	/* no path or query in authority- and asterisk-form: empty, but
	 * pointing into the buffer like every other slice */
	req->path = req->query = slice(t.p + t.n, t.p + t.n);
	if (eq_exact(req->method, "CONNECT", 7)) {
		if (!valid_host(t, true, true))
			return fail(req, 400, "CONNECT needs an authority-form host:port target");
		req->form = HTTP_FORM_AUTHORITY;
		req->host = t;
		return 0;
	}
	if (t.p[0] == '/') { /* origin-form = absolute-path [ "?" query ], §3.2.1 */
		req->form = HTTP_FORM_ORIGIN;
		split_path(req, t.p, t.p + t.n);
		return 0;
	}
	if (t.p[0] == '*' && t.n == 1) {
		if (!eq_exact(req->method, "OPTIONS", 7))
			return fail(req, 400, "asterisk-form is only for OPTIONS");
		req->form = HTTP_FORM_ASTERISK;
		return 0;
	}
	return parse_absolute(req);
}

/* ---- header section (RFC 9112 §5) ---- */

/* field-line = field-name ":" OWS field-value OWS, the value trimmed. */
static int parse_field(struct cursor *c, struct http_request *req, struct http_header *h)
{
	const char *s = c->p;
	while (c->p < c->end && http_is_tchar((unsigned char)*c->p))
		c->p++;
	if (c->p == c->end)
		return AGAIN;
	if (*c->p != ':') /* §5.1: no whitespace between name and colon: MUST 400 */
		return fail(req, 400,
			    http_is_ows((unsigned char)*c->p) ? "whitespace between field name and colon"
							      : "field name is not a token");
	if (c->p == s)
		return fail(req, 400, "empty field name");
	h->name = slice(s, c->p++);
	while (c->p < c->end && http_is_ows((unsigned char)*c->p))
		c->p++;
	s = c->p;
	while (c->p < c->end && http_is_field_char((unsigned char)*c->p))
		c->p++;
	h->value = trim_ows(slice(s, c->p));
	/* RFC 9110 §5.5: NUL, CR, LF and other CTLs in a value are invalid;
	 * RFC 9112 §2.2 forbids the bare CR. */
	return eat_crlf(c, req, "invalid character in field value");
}

static int parse_fields(struct cursor *c, struct http_request *req, size_t max_headers)
{
	for (;;) {
		if (c->p == c->end)
			return AGAIN;
		if (*c->p == '\r' || *c->p == '\n')
			return eat_crlf(c, req, ""); /* the empty line ending the head */
		/* §5.2: a request with obs-fold MUST be rejected or unfolded;
		 * §2.2: whitespace before the first field line likewise. */
		if (http_is_ows((unsigned char)*c->p) && req->num_headers)
			return fail(req, 400, "obsolete line folding");
		if (http_is_ows((unsigned char)*c->p))
			return fail(req, 400, "whitespace before the first header");
		if (req->num_headers == max_headers)
			return fail(req, 431, "too many header fields");
		int r = parse_field(c, req, &req->headers[req->num_headers]);
		if (r)
			return r;
		req->num_headers++;
	}
}

/* ---- decisions from the headers ---- */

/* Content-Length = 1*DIGIT (RFC 9110 §8.6), at most 2^63-1 so no consumer
 * overflows a signed type. §8.6 lets a recipient accept a list of
 * identical values (left by a proxy merging lines) as one; we accept
 * exactly that: every element of every Content-Length line must be the
 * same digits. An empty element, sign, inner space or differing value is
 * a 400, since two parsers picking different lengths is smuggling. */
static int note_content_length(struct http_slice v, struct http_request *req, struct seen *s)
{
	const char *p = v.p, *end = v.p + v.n;
	for (;;) {
		const char *e = memchr(p, ',', (size_t)(end - p));
		struct http_slice el = trim_ows(slice(p, e ? e : end));
		if (!el.n)
			return fail(req, 400, "empty Content-Length");
		if (s->cl && !eq_exact(el, s->cl_text.p, s->cl_text.n))
			return fail(req, 400, "conflicting Content-Length values");
		for (size_t i = 0; !s->cl && i < el.n; i++) {
			unsigned d = (unsigned)(el.p[i] - '0');
			if (d > 9)
				return fail(req, 400, "Content-Length is not a number");
			if (s->cl_value > ((uint64_t)INT64_MAX - d) / 10)
				return fail(req, 400, "Content-Length too large");
			s->cl_value = s->cl_value * 10 + d;
		}
		s->cl = true;
		s->cl_text = el;
		if (!e)
			return 0;
		p = e + 1;
	}
}

/* Transfer-Encoding = #transfer-coding (RFC 9112 §6.1), each coding a
 * token with parameters (§7); repeated lines form one list in order (RFC
 * 9110 §5.3). Codings are case-insensitive (§7). */
static int note_transfer_coding(struct http_slice v, struct http_request *req, struct seen *s)
{
	struct http_slice el, tok, params;
	s->te = true;
	while (list_next(&v, &el)) {
		if (!element_split(el, &tok, &params))
			return fail(req, 400, "malformed Transfer-Encoding");
		s->last_chunked = IS(tok, "chunked");
		if (s->last_chunked && params.n) /* §7.1 defines no parameters */
			return fail(req, 400, "parameters on the chunked coding");
		s->chunked += s->last_chunked;
		s->other_coding |= !s->last_chunked;
	}
	return 0;
}

static int note_header(const struct http_header *h, struct http_request *req, struct seen *s)
{
	if (IS(h->name, "host")) {
		s->hosts++;
		s->host = h->value;
	} else if (IS(h->name, "content-length")) {
		return note_content_length(h->value, req, s);
	} else if (IS(h->name, "transfer-encoding")) {
		return note_transfer_coding(h->value, req, s);
	} else if (IS(h->name, "connection")) { /* RFC 9110 §7.6.1 */
		s->close |= http_token_list_has(h->value, "close");
		s->keep_alive |= http_token_list_has(h->value, "keep-alive");
	} else if (IS(h->name, "expect")) { /* RFC 9110 §10.1.1 */
		s->expect |= http_token_list_has(h->value, "100-continue");
	}
	return 0;
}

/* RFC 9112 §3.2: 400 for an HTTP/1.1 request without Host, for more than
 * one Host line, and for an invalid Host value, in any version. */
static int decide_host(struct http_request *req, const struct seen *s)
{
	if (s->hosts > 1)
		return fail(req, 400, "more than one Host header");
	if (!s->hosts && req->minor >= 1)
		return fail(req, 400, "HTTP/1.1 request without Host");
	if (s->hosts && !valid_host(s->host, false, false))
		return fail(req, 400, "invalid Host header");
	if (req->form == HTTP_FORM_ORIGIN || req->form == HTTP_FORM_ASTERISK)
		req->host = s->hosts ? s->host : slice(req->target.p, req->target.p);
	return 0;
}

/* The body length of a request, RFC 9112 §6.3. */
static int decide_body(struct http_request *req, const struct seen *s)
{
	if (!s->te) {
		req->body = s->cl ? HTTP_BODY_LENGTH : HTTP_BODY_NONE; /* rules 6 and 7 */
		req->content_length = s->cl ? s->cl_value : 0;
		return 0;
	}
	/* §6.1 lets a server process Transfer-Encoding alone; rejecting
	 * is the smuggling-safe choice, as the two headers disagree. */
	if (s->cl)
		return fail(req, 400, "both Transfer-Encoding and Content-Length");
	/* §6.1: faulty framing in an HTTP/1.0 message. */
	if (req->minor == 0)
		return fail(req, 400, "Transfer-Encoding in an HTTP/1.0 request");
	/* §6.3 rule 4: chunked not final -> length unknown -> MUST 400. */
	if (!s->last_chunked)
		return fail(req, 400, "chunked is not the final transfer coding");
	/* §7.1: a sender MUST NOT apply chunked more than once. */
	if (s->chunked > 1)
		return fail(req, 400, "chunked applied more than once");
	/* §6.1: a coding we do not understand SHOULD get 501. */
	if (s->other_coding)
		return fail(req, 501, "transfer coding not implemented");
	req->body = HTTP_BODY_CHUNKED;
	return 0;
}

static int apply_headers(struct http_request *req)
{
	struct seen s = { 0 };
	int r;
	for (size_t i = 0; i < req->num_headers; i++)
		if ((r = note_header(&req->headers[i], req, &s)))
			return r;
	if ((r = decide_host(req, &s)) || (r = decide_body(req, &s)))
		return r;
	/* RFC 9112 §9.3: 1.1 persists unless "close"; 1.0 only with
	 * "keep-alive", which "close" overrides. */
	req->keep_alive = !s.close && (req->minor >= 1 || s.keep_alive);
	/* RFC 9110 §10.1.1: an HTTP/1.0 100-continue MUST be ignored. */
	req->expect_continue = s.expect && req->minor >= 1;
	return 0;
}

/* ---- entry ---- */

static int parse_head(struct cursor *c, const struct http_limits *lim, struct http_request *req)
{
	size_t max_uri = lim->max_uri;
	int r;
	if ((r = skip_empty_lines(c, req)) || (r = parse_method(c, req)) ||
	    (r = parse_target(c, req, max_uri)) || (r = parse_version(c, req)) ||
	    (r = classify_target(req)) || (r = parse_fields(c, req, lim->max_headers)))
		return r;
	return apply_headers(req);
}

/*
 * After HTTP_PARSE_INCOMPLETE at last_len, can the bytes since have
 * changed the answer?
 * Every earlier call that saw a line end re-parsed, so the complete lines
 * before last_len are known good; only a new line end (CRLF or a bare LF)
 * can complete the head or a bad line. While the request line is still
 * open every call re-parses, so an over-long target gets its 414 at once.
 * Re-parses are thus bounded by the lines of a head (max_headers + 2),
 * plus the calls while the request line is open (max_uri bounds it).
 */
static bool worth_parsing(const char *buf, size_t len, size_t last_len)
{
	size_t i = 0;
	while (i + 1 < last_len && buf[i] == '\r' && buf[i + 1] == '\n')
		i += 2;
	return !memchr(buf + i, '\n', last_len - i) || memchr(buf + last_len, '\n', len - last_len);
}

int http_parse_request(const char *buf, size_t len, size_t last_len, const struct http_limits *lim,
		       struct http_request *req, int *status)
{
	size_t max = lim->max_header_bytes;
	if (max > INT32_MAX)
		max = INT32_MAX; /* the result is an int */
	if (last_len && last_len <= len && len <= max && !worth_parsing(buf, len, last_len))
		return AGAIN;
	*req = (struct http_request){ .headers = req->headers };
	/* Parse no more than the limit allows: a head that does not end
	 * within it is too large, complete or not. */
	struct cursor c = { buf, buf + (len < max ? len : max) };
	int r = parse_head(&c, lim, req);
	if (r == 0)
		return (int)(c.p - buf);
	if (r == AGAIN) {
		if (len <= max)
			return AGAIN;
		r = fail(req, 431, "request header section too large");
	}
	*status = r;
	return HTTP_PARSE_ERROR;
}
