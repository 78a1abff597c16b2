/* Calendar arithmetic (kernel/civil.c) against known dates, and a
 * round trip over four centuries of days. */
#include "tests/host/test.h"

#include "kernel/civil.h"

static void t_epoch(void)
{
	struct civil_time t;
	civil_from_epoch(0, &t);
	CHECK(t.year == 1970 && t.month == 1 && t.day == 1 && t.hour == 0 && t.wday == 4);
	CHECK(civil_days_from_date(1970, 1, 1) == 0);
}

static void t_known_dates(void)
{
	/* RFC 9110 §5.6.7's example: Sun, 06 Nov 1994 08:49:37 GMT */
	struct civil_time t = { .year = 1994, .month = 11, .day = 6, .hour = 8, .min = 49, .sec = 37 };
	CHECK(civil_to_epoch(&t) == 784111777);
	struct civil_time u;
	civil_from_epoch(784111777, &u);
	CHECK(u.wday == 0 && u.year == 1994 && u.month == 11 && u.day == 6 && u.min == 49 && u.sec == 37);
	CHECK(civil_days_from_date(2000, 3, 1) == 11017); /* after a 400-year leap day */
	CHECK(civil_days_from_date(2100, 3, 1) - civil_days_from_date(2100, 2, 28) == 1); /* 2100: no leap */
	CHECK(civil_days_from_date(2024, 3, 1) - civil_days_from_date(2024, 2, 28) == 2);
	CHECK(civil_days_from_date(1969, 12, 31) == -1);
}

static void t_round_trip(void)
{
	int64_t bad = 0;
	for (int64_t day = -200000; day < 200000; day++) {
		struct civil_time t;
		civil_from_epoch(day * 86400 + 3661, &t);
		bad += civil_days_from_date(t.year, t.month, t.day) != day || t.hour != 1 || t.min != 1 || t.sec != 1 ||
		       t.wday != (unsigned)(((day % 7) + 11) % 7);
	}
	CHECK(bad == 0);
}

static void t_negative_seconds(void)
{
	struct civil_time t;
	civil_from_epoch(-1, &t);
	CHECK(t.year == 1969 && t.month == 12 && t.day == 31 && t.hour == 23 && t.min == 59 && t.sec == 59);
}

static const struct test_case cases[] = {
	{ "the epoch is Thursday 1970-01-01", t_epoch },
	{ "known dates and leap years", t_known_dates },
	{ "days <-> dates round trip over 1,000 years", t_round_trip },
	{ "one second before the epoch", t_negative_seconds },
};

int main(void)
{
	test_init("civil");
	test_run(cases, TEST_COUNT(cases));
	return test_finish();
}
