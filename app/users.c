/* /api/users: an in-memory REST resource (JSON in and out).
 *   GET    /api/users        list
 *   POST   /api/users        create -> 201 + Location
 *   GET    /api/users/{id}   one
 *   PUT    /api/users/{id}   replace name and email
 *   DELETE /api/users/{id}   remove -> 204 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app/handlers.h"
#include "app/json.h"

#define MAX_USERS 256
#define MAX_JSON  4096
/* Longest stored values in bytes of UTF-8; a longer one is refused with
 * 400, never cut (a cut could also split a character). */
#define NAME_MAX_BYTES  63
#define EMAIL_MAX_BYTES 127
#define STR_(x)         #x
#define STR(x)          STR_(x)

struct user {
	uint32_t id;
	/* What json_parse_object decoded: valid UTF-8 without NUL, so the
	 * C string is the whole value and json_write_string sends it back
	 * as it came. */
	char name[NAME_MAX_BYTES + 1];
	char email[EMAIL_MAX_BYTES + 1];
};

/* Each user is allocated when created and freed when deleted: an empty
 * table costs a slot pointer per user, not a user. */
static struct user *users[MAX_USERS];
static uint32_t next_id = 1;

static void write_user(struct http_rw *w, const struct user *u)
{
	http_printf(w, "{\"id\":%u,\"name\":", u->id);
	json_write_string(w, u->name, strlen(u->name));
	http_printf(w, ",\"email\":");
	json_write_string(w, u->email, strlen(u->email));
	http_printf(w, "}");
}

static void json_error(struct http_rw *w, int status, const char *msg)
{
	http_write_header(w, status);
	http_set_header(w, "Content-Type", "application/json");
	http_printf(w, "{\"error\":");
	json_write_string(w, msg, strlen(msg));
	http_printf(w, "}\n");
}

static struct user *find(const struct http_req *r)
{
	size_t n;
	const char *s = http_path_value(r, "id", &n);
	uint32_t id = 0;
	if (!s || !n || n > 9)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return NULL;
		id = id * 10 + (uint32_t)(s[i] - '0');
	}
	for (int i = 0; i < MAX_USERS; i++)
		if (id && users[i] && users[i]->id == id)
			return users[i];
	return NULL;
}

/* Read a JSON body into name/email. 0, or an error already answered. */
static int read_user(struct http_rw *w, struct http_req *r, struct user *u)
{
	size_t ctn;
	const char *ct = http_get_header(r, "Content-Type", &ctn);
	if (ct && !(ctn >= 16 && !strncasecmp(ct, "application/json", 16))) {
		json_error(w, 415, "Content-Type must be application/json");
		return -1;
	}
	char body[MAX_JSON];
	size_t len = 0;
	ssize_t n;
	http_set_body_limit(r, sizeof body);
	while ((n = http_read_body(r, body + len, sizeof body - len)) > 0)
		len += (size_t)n;
	if (n < 0) {
		json_error(w, n == -EMSGSIZE ? 413 : 400,
			   n == -EMSGSIZE ? "body too large" : "body incomplete");
		return -1;
	}
	struct json_field f[2] = {{"name", u->name, sizeof u->name, 0, 0},
				  {"email", u->email, sizeof u->email, 0, 0}};
	const char *why = NULL;
	if (json_parse_object(body, len, f, 2) < 0)
		why = "invalid JSON (want a UTF-8 object with string name and email)";
	else if (f[0].found == JSON_TOO_LONG)
		why = "\"name\" is longer than " STR(NAME_MAX_BYTES) " bytes";
	else if (f[1].found == JSON_TOO_LONG)
		why = "\"email\" is longer than " STR(EMAIL_MAX_BYTES) " bytes";
	else if (f[0].found == JSON_HAS_NUL || f[1].found == JSON_HAS_NUL)
		why = "\"name\" and \"email\" must not contain U+0000";
	else if (f[0].found != JSON_STRING || !f[0].len || f[1].found == JSON_NOT_STRING)
		why = "\"name\" must be a non-empty string, \"email\" a string";
	if (why) {
		json_error(w, 400, why);
		return -1;
	}
	return 0; /* an absent email is "": json_parse_object cleared it */
}

void app_users_list(struct http_rw *w, struct http_req *r, void *arg)
{
	(void)r, (void)arg;
	http_set_header(w, "Content-Type", "application/json");
	http_write(w, "[", 1);
	bool first = true;
	for (int i = 0; i < MAX_USERS; i++) {
		if (!users[i])
			continue;
		if (!first)
			http_write(w, ",", 1);
		write_user(w, users[i]);
		first = false;
	}
	http_write(w, "]\n", 2);
}

void app_users_create(struct http_rw *w, struct http_req *r, void *arg)
{
	(void)arg;
	struct user u = {0};
	if (read_user(w, r, &u) < 0)
		return;
	for (int i = 0; i < MAX_USERS; i++) {
		if (users[i])
			continue;
		if (!(users[i] = malloc(sizeof u)))
			return json_error(w, 503, "out of memory");
		u.id = next_id++;
		*users[i] = u;
		char loc[32];
		snprintf(loc, sizeof loc, "/api/users/%u", u.id);
		http_set_header(w, "Location", loc);
		http_set_header(w, "Content-Type", "application/json");
		http_write_header(w, 201);
		write_user(w, users[i]);
		http_write(w, "\n", 1);
		return;
	}
	json_error(w, 503, "user table full");
}

void app_user_get(struct http_rw *w, struct http_req *r, void *arg)
{
	(void)arg;
	struct user *u = find(r);
	if (!u)
		return json_error(w, 404, "no such user");
	http_set_header(w, "Content-Type", "application/json");
	write_user(w, u);
	http_write(w, "\n", 1);
}

void app_user_put(struct http_rw *w, struct http_req *r, void *arg)
{
	(void)arg;
	struct user *u = find(r);
	if (!u)
		return json_error(w, 404, "no such user");
	struct user next = {.id = u->id};
	if (read_user(w, r, &next) < 0)
		return;
	*u = next;
	http_set_header(w, "Content-Type", "application/json");
	write_user(w, u);
	http_write(w, "\n", 1);
}

void app_user_delete(struct http_rw *w, struct http_req *r, void *arg)
{
	(void)arg;
	struct user *u = find(r);
	if (!u)
		return json_error(w, 404, "no such user");
	for (int i = 0; i < MAX_USERS; i++)
		if (users[i] == u)
			users[i] = NULL;
	free(u);
	http_write_header(w, 204);
}
