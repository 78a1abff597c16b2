/* Just enough JSON (RFC 8259) for the REST resource: validate a document
 * that must be an object, and pull out the string members asked for. */
#ifndef KEEL_APP_JSON_H
#define KEEL_APP_JSON_H

#include <stddef.h>

struct json_field {
	const char *key;  /* member name to extract */
	char *buf;        /* decoded UTF-8 value, NUL-terminated */
	size_t cap;
	int found;        /* 1 if present as a string, -1 if present as another type */
};

/* 0 if p[0..n) is one valid JSON object (nesting depth <= 16) whose
 * requested members fit their buffers; -1 otherwise. */
int json_parse_object(const char *p, size_t n, struct json_field *fields, int nfields);
/* Write s as a JSON string literal (quotes included) into out; returns the
 * length, or 0 if it does not fit. */
size_t json_quote(const char *s, char *out, size_t cap);

#endif
