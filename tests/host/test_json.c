/* The JSON validator/extractor behind /api/users (app/json.c). */
#include "tests/host/test.h"

#include <string.h>

#include "app/json.h"

static int parse(const char *doc, char *name, char *email, struct json_field *f)
{
	f[0] = (struct json_field){ "name", name, 64, 0 };
	f[1] = (struct json_field){ "email", email, 64, 0 };
	return json_parse_object(doc, strlen(doc), f, 2);
}

static void t_valid(void)
{
	char name[64], email[64];
	struct json_field f[2];
	CHECK(parse("{\"name\":\"Ada\",\"email\":\"ada@example.com\"}", name, email, f) == 0);
	CHECK(f[0].found == 1 && !strcmp(name, "Ada") && f[1].found == 1 && !strcmp(email, "ada@example.com"));
	CHECK(parse(" { \"x\" : [1, -2.5e3, true, false, null, {\"a\": {}}], \"name\" : \"B\\u00e9\\n\" } ", name,
		    email, f) == 0);
	CHECK(f[0].found == 1 && !strcmp(name, "B\xc3\xa9\n") && f[1].found == 0);
	CHECK(parse("{}", name, email, f) == 0 && f[0].found == 0);
}

static void t_wrong_types(void)
{
	char name[64], email[64];
	struct json_field f[2];
	CHECK(parse("{\"name\": 42}", name, email, f) == 0 && f[0].found == -1);
	CHECK(parse("{\"inner\": {\"name\": \"x\"}}", name, email, f) == 0 && f[0].found == 0); /* top level only */
}

static void t_invalid(void)
{
	static const char *const bad[] = {
		"", "[]", "\"s\"", "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{,}", "{\"a\":01}",
		"{\"a\":1.}", "{\"a\":-}", "{\"a\":1e}", "{\"a\":tru}", "{\"a\":\"\x01\"}", "{\"a\":\"\\x\"}",
		"{\"a\":\"\\ud800\"}", "{\"a\":1} x", "{'a':1}", "{\"a\":[1,2}", "{\"a\":\"unterminated}",
		"{\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}", /* deeper than 16 */
	};
	char name[64], email[64];
	struct json_field f[2];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(parse(bad[i], name, email, f) == -1);
}

static void t_too_long(void)
{
	char name[4], email[64];
	struct json_field f[2] = { { "name", name, sizeof name, 0 }, { "email", email, sizeof email, 0 } };
	const char *doc = "{\"name\":\"abcd\"}";
	CHECK(json_parse_object(doc, strlen(doc), f, 2) == -1);
}

static void t_quote(void)
{
	char out[64];
	CHECK(json_quote("a\"b\\c\n\x01", out, sizeof out) > 0);
	CHECK(!strcmp(out, "\"a\\\"b\\\\c\\u000a\\u0001\""));
	CHECK(json_quote("abcdef", out, 5) == 0);
}

static void t_not_terminated(void)
{
	/* The buffer is not NUL-terminated: the parser must stop at n. */
	const char *doc = "{\"name\":\"x\"}";
	char name[64], email[64];
	struct json_field f[2] = { { "name", name, 64, 0 }, { "email", email, 64, 0 } };
	const char *g = test_guarded(doc);
	CHECK(json_parse_object(g, strlen(doc) - 1, f, 2) == -1);
	CHECK(json_parse_object(g, strlen(doc), f, 2) == 0);
}

static const struct test_case cases[] = {
	{ "valid objects, escapes, nested values", t_valid },
	{ "non-string members are reported, nested ones ignored", t_wrong_types },
	{ "invalid documents are rejected", t_invalid },
	{ "a value longer than its buffer is rejected", t_too_long },
	{ "quoting escapes quotes, backslashes and controls", t_quote },
	{ "no read past the given length", t_not_terminated },
};

int main(void)
{
	test_init("json");
	test_run(cases, TEST_COUNT(cases));
	return test_finish();
}
