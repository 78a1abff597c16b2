/* Calendar conversion in 400-year eras of 146097 days: shifting the year to
 * start on March 1st puts the leap day last, so day-of-year follows from
 * the month by a fixed linear formula (153 days per 5 months). */
#include "kernel/civil.h"

static int64_t floor_div(int64_t a, int64_t b) { return (a >= 0 ? a : a - b + 1) / b; }

int64_t civil_days_from_date(int year, unsigned month, unsigned day)
{
	int64_t y = (int64_t)year - (month <= 2);
	int64_t era = floor_div(y, 400);
	int64_t yoe = y - era * 400;                               /* [0, 399] */
	int64_t doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1; /* [0, 365] */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;        /* [0, 146096] */
	return era * 146097 + doe - 719468;                          /* 719468: 0000-03-01 to 1970-01-01 */
}

int64_t civil_to_epoch(const struct civil_time *t)
{
	return civil_days_from_date(t->year, t->month, t->day) * 86400 + t->hour * 3600 + t->min * 60 + t->sec;
}

void civil_from_epoch(int64_t secs, struct civil_time *t)
{
	int64_t days = floor_div(secs, 86400), rem = secs - days * 86400;
	t->hour = (unsigned)(rem / 3600);
	t->min = (unsigned)(rem % 3600 / 60);
	t->sec = (unsigned)(rem % 60);
	t->wday = (unsigned)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday */

	int64_t z = days + 719468;
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	t->day = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	t->month = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	t->year = (int)(yoe + era * 400 + (t->month <= 2));
}
