/* Just enough JSON (RFC 8259) for the appliance's resources: read one
 * object and pull out the string members asked for; write strings.
 *
 * Output rule: every JSON string the appliance sends goes through
 * json_escape, streamed to the response by json_write_string. Structure
 * (braces, keys known at compile time, numbers) may go through http_write
 * or http_printf; text from a request or from storage never does. No
 * string is quoted into a fixed buffer first, so none can be cut short.
 *
 * Escaping (RFC 8259 §7), the same for every caller:
 *   - '"' and '\' get a backslash (§7 MUST);
 *   - U+0000..U+001F (§7 MUST) become \b \f \n \r \t or \u00XX, and so
 *     does DEL (0x7f: allowed unescaped, escaped so that logs and
 *     terminals showing a reply never see a raw control byte);
 *   - well-formed UTF-8 passes through unchanged (no \u for non-ASCII);
 *   - bytes that are not UTF-8 (a multipart filename may be anything)
 *     cannot be written as JSON at all (§8.1: JSON text is UTF-8, and a
 *     \u escape names a code point, not a byte): each maximal ill-formed
 *     subsequence becomes one U+FFFD, the "substitution of maximal
 *     subparts" of Unicode §3.9 that browsers' decoders use too.
 * An input byte thus takes at most JSON_ESCAPE_WORST bytes of output. */
#ifndef KEEL_APP_JSON_H
#define KEEL_APP_JSON_H

#include <stddef.h>

#include "http/server.h"

/* ---- input ---- */

/* What json_parse_object found for a member. */
enum json_found {
	JSON_ABSENT = 0,
	JSON_STRING = 1, /* buf holds the value, len its length */
	JSON_NOT_STRING = -1,
	JSON_TOO_LONG = -2, /* a string of len >= cap bytes: buf is "" */
	JSON_HAS_NUL = -3,  /* a string holding \u0000: buf is "" */
};

struct json_field {
	const char *key; /* member name to extract (compared as decoded bytes) */
	char *buf;       /* decoded UTF-8 value, NUL-terminated, no NUL inside */
	size_t cap;      /* > 0 */
	size_t len;      /* decoded length (also when JSON_TOO_LONG) */
	int found;       /* enum json_found */
};

/* 0 if p[0..n) is one valid JSON object (nesting depth <= 16, strings
 * UTF-8 per §8.1, escapes valid, surrogates paired) and each field's
 * `found` says what its top-level member held (the last one, if the key
 * repeats); -EINVAL if it is not such an object. A value too long for
 * its buffer or holding U+0000 is reported in `found`, never cut. On
 * -EINVAL every field is left JSON_ABSENT with an empty buf. */
int json_parse_object(const char *p, size_t n, struct json_field *fields, int nfields);

/* ---- output ---- */

#define JSON_ESCAPE_WORST 6 /* "\u001f" for one byte */

/* Escape s[0, n) (no quotes added) into out[0, cap), whole characters
 * only: returns the bytes written and sets *used to the input consumed,
 * which is n unless out filled up. Pure (host-tested and fuzzed); with
 * cap >= JSON_ESCAPE_WORST it always consumes something. */
size_t json_escape(const char *s, size_t n, size_t *used, char *out, size_t cap);
/* Exactly what json_escape writes for all of s[0, n). */
size_t json_escaped_len(const char *s, size_t n);

/* Send s[0, n) as a JSON string (quotes included) through http_write, in
 * pieces: any length, no truncation. Returns 0, or the first http_write
 * error (< 0), after which the response is failed anyway. */
int json_write_string(struct http_rw *w, const char *s, size_t n);

#endif
