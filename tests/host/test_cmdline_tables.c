/*
 * Host tests for the checks cmdline_defaults() makes on the registered
 * tables: this binary registers rows that are bugs (a key twice, a
 * default that does not parse, keywords or a range too long for the help
 * and warning lines), which must each be reported with the key, while the
 * sound rows still get their defaults.
 */
#include "tests/host/test.h"

#include "kernel/cmdline.h"

static int level, sound;
static uint32_t port_a, port_b;
static const char *const levels[] = {"off", "on", NULL};
static const char *const long_word[] = {"short", "a-keyword-far-longer-than-any-value-a-line-can-show", NULL};
static const char *const many_words[] = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
					 "hotel", "india", "juliett", "kilo", NULL};
static const struct cmdline_option opts[] = {
    CMDLINE_UINT_ROW("port", port_a, 80, 1, 65535, "first"),
    CMDLINE_ENUM_ROW("bad_default", level, "loud", levels, "a default that is not one of its words"),
    CMDLINE_ENUM_ROW("long_word", sound, "short", long_word, "a keyword longer than CMDLINE_VALUE_MAX"),
    CMDLINE_ENUM_ROW("many_words", sound, "alpha", many_words, "a range longer than CMDLINE_RANGE_MAX"),
};
CMDLINE_TABLE(first, opts);

static const struct cmdline_option again[] = {
    CMDLINE_UINT_ROW("port", port_b, 81, 1, 65535, "the same key in another table"),
};
CMDLINE_TABLE(second, again);

struct seen {
	char text[512];
	size_t len;
	int calls;
};

static void collect(void *ctx, const char *key, const char *msg)
{
	struct seen *s = ctx;
	int n = snprintf(s->text + s->len, sizeof s->text - s->len, "%s: %s\n", key, msg);
	if (n > 0 && (size_t)n < sizeof s->text - s->len)
		s->len += (size_t)n;
	s->calls++;
}

static void t_reported(void)
{
	struct seen s = {.len = 0};
	int n = cmdline_defaults(collect, &s);
	CHECK(n == 4 && s.calls == 4);
	CHECK(strstr(s.text, "bad_default: default does not parse\n") != NULL);
	CHECK(strstr(s.text, "long_word: its values or range do not fit") != NULL);
	CHECK(strstr(s.text, "many_words: its values or range do not fit") != NULL);
	CHECK(strstr(s.text, "port: option registered twice\n") != NULL);
	if (n != 4)
		fprintf(stderr, "  warnings:\n%s", s.text);
}

/* Of two rows with one key, the first listed is the option; the other
 * is never set (not even to its default). */
static void t_sound_rows_still_work(void)
{
	const struct cmdline_option *o;
	uint32_t *first = NULL;
	for (size_t i = 0; (o = cmdline_option_at(i, NULL)) && !first; i++)
		if (!strcmp(o->name, "port"))
			first = o->field;
	if (!CHECK(first == &port_a || first == &port_b))
		return;
	uint32_t *other = first == &port_a ? &port_b : &port_a;
	port_a = port_b = 0;
	cmdline_defaults(NULL, NULL);
	CHECK(*first == (first == &port_a ? 80u : 81u) && *other == 0);
	CHECK(cmdline_parse("port=8080", NULL, NULL) == 0 && *first == 8080 && *other == 0);
}

static const struct test_case cases[] = {
    {"every table bug is reported with its key", t_reported},
    {"a duplicate key: the first listed row is the option", t_sound_rows_still_work},
};

int main(void)
{
	test_init("cmdline_tables");
	test_run(cases, TEST_COUNT(cases));
	return test_finish();
}
