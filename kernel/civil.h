/* Proleptic Gregorian calendar arithmetic, pure (no clock access). */
#ifndef KEEL_CIVIL_H
#define KEEL_CIVIL_H

#include <stdint.h>

struct civil_time {
	int year;
	unsigned month; /* 1..12 */
	unsigned day;   /* 1..31 */
	unsigned hour, min, sec;
	unsigned wday;  /* 0 = Sunday */
};

/* Days since 1970-01-01 for a valid date. */
int64_t civil_days_from_date(int year, unsigned month, unsigned day);
/* Seconds since the epoch <-> broken-down UTC time. */
int64_t civil_to_epoch(const struct civil_time *t);
void civil_from_epoch(int64_t secs, struct civil_time *t);

#endif
