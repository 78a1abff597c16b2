/*
 * Link-time fakes for the response writer's host test (test_response.c):
 * what http/h1/response.c and http/core/date.c call outside the HTTP layer.
 *
 *   the stream        its write appends to one in-memory "wire" (the Nth
 *                     call can fail); write_static does the same and
 *                     records the bytes' address; flush counts calls
 *   clock_now         a virtual monotonic clock the test moves by hand
 *   clock_wall_ns     a virtual wall clock (fixes the Date header)
 *   sched_set_cutoff  records what it was given
 *   klog              keeps the latest log line
 *   http_draining     the server's drain state, set by the test
 *
 * Only test_response links these (via test_response_SRCS), so they cannot
 * clash with other tests' fakes of the same functions.
 */
#ifndef KEEL_FAKE_RESP_ENV_H
#define KEEL_FAKE_RESP_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FAKE_RESP_WIRE_CAP (256 * 1024)

#include "net/stream.h"

/* The fake connection: a stream (net/stream.h) that only writes. */
struct fake_conn {
	struct stream st;
	char wire[FAKE_RESP_WIRE_CAP]; /* every byte conn_write accepted, in order */
	size_t len;
	unsigned writes;           /* write calls, failed ones included */
	unsigned flushes;          /* flush calls */
	unsigned fail_at;          /* this call (1-based) and every later one fail; 0: never */
	int fail_err;              /* what they return (default -ECONNRESET) */
	unsigned calls_after_fail; /* calls made after the first failure */
	bool overflow;             /* more than FAKE_RESP_WIRE_CAP bytes were written */
	uint64_t last_deadline;    /* the deadline of the latest call */
	unsigned static_writes;    /* of the write calls, those through write_static */
	const void *static_buf;    /* the bytes the latest write_static was given */
};

extern struct fake_conn fake_resp_conn;
extern uint64_t fake_resp_now;     /* clock_now(), nanoseconds */
extern uint64_t fake_resp_wall_ns; /* clock_wall_ns() */
extern uint64_t fake_resp_cutoff;  /* the latest sched_set_cutoff() argument */
extern unsigned fake_resp_cutoff_calls;
extern char fake_resp_log[256]; /* the latest klog() line: "LEVEL subsystem: message" */
extern unsigned fake_resp_log_lines;
extern bool fake_resp_draining; /* what http_draining() answers */

/* Empty wire, no failure, clocks at the given times. */
void fake_resp_reset(uint64_t now, uint64_t wall_ns);

#endif
