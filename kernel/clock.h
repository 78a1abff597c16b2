/* Time: a monotonic nanosecond clock from the TSC, the wall clock from the
 * CMOS RTC read at boot, and a one-shot timer interrupt for the earliest
 * deadline. */
#ifndef KEEL_CLOCK_H
#define KEEL_CLOCK_H

#include <stdint.h>

#define NSEC_PER_SEC 1000000000ul
#define NSEC_PER_MSEC 1000000ul

void clock_init(void);
/* Nanoseconds since the TSC started counting (power-on under QEMU). */
uint64_t clock_now(void);
/* Nanoseconds since 1970-01-01 UTC. */
uint64_t clock_wall_ns(void);
/* Request a timer interrupt at or soon after `deadline` (clock_now time). */
void clock_arm(uint64_t deadline);
uint64_t clock_tsc_hz(void);

#endif
