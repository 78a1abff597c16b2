/* Fakes of the connection, clock and scheduler calls made by the response
 * writer: see fake_resp_env.h. */
#include <stdarg.h>
#include <stdio.h>
#include "kernel/log.h"
#include "tests/host/fake_resp_env.h"

#include <errno.h>
#include <string.h>

#include "kernel/clock.h"
#include "kernel/sched.h"

static const struct stream_ops fake_ops;
struct fake_conn fake_resp_conn;
uint64_t fake_resp_now, fake_resp_wall_ns, fake_resp_cutoff;
unsigned fake_resp_cutoff_calls;
bool fake_resp_draining;

void fake_resp_reset(uint64_t now, uint64_t wall_ns)
{
	memset(&fake_resp_conn, 0, sizeof fake_resp_conn);
	fake_resp_conn.st.ops = &fake_ops;
	fake_resp_conn.fail_err = -ECONNRESET;
	fake_resp_now = now;
	fake_resp_wall_ns = wall_ns;
	fake_resp_cutoff = 0;
	fake_resp_cutoff_calls = 0;
	fake_resp_draining = false;
}

/* http/server.h: the server is not draining unless the test says so. */
bool http_draining(void)
{
	return fake_resp_draining;
}

/* net/stream.h: all len bytes or an error, which is sticky (as the real
 * one's); a failed call queues nothing. */
static ssize_t fake_write(struct stream *s, const void *buf, size_t len, uint64_t deadline)
{
	struct fake_conn *c = (struct fake_conn *)s;
	c->writes++;
	c->last_deadline = deadline;
	if (c->fail_at && c->writes >= c->fail_at) {
		if (c->writes > c->fail_at)
			c->calls_after_fail++;
		return c->fail_err;
	}
	if (len > sizeof c->wire - c->len) {
		c->overflow = true;
		return -ENOMEM;
	}
	memcpy(c->wire + c->len, buf, len);
	c->len += len;
	return (ssize_t)len;
}

/* As fake_write, noting that the bytes came by reference. */
static ssize_t fake_write_static(struct stream *s, const void *buf, size_t len, uint64_t deadline)
{
	struct fake_conn *c = (struct fake_conn *)s;
	c->static_writes++;
	c->static_buf = buf;
	return fake_write(s, buf, len, deadline);
}

static int fake_flush(struct stream *s, uint64_t deadline)
{
	struct fake_conn *c = (struct fake_conn *)s;
	(void)deadline;
	c->flushes++;
	return c->fail_at && c->writes >= c->fail_at ? c->fail_err : 0;
}

/* The response writer only writes and flushes. */
static const struct stream_ops fake_ops = {.write = fake_write, .write_static = fake_write_static,
					   .flush = fake_flush};

uint64_t clock_now(void)
{
	return fake_resp_now;
}
uint64_t clock_wall_ns(void)
{
	return fake_resp_wall_ns;
}

void sched_set_cutoff(uint64_t when)
{
	fake_resp_cutoff = when;
	fake_resp_cutoff_calls++;
}

char fake_resp_log[256];
unsigned fake_resp_log_lines;

void klog(enum log_level level, const char *subsys, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(fake_resp_log, sizeof fake_resp_log, "%d %s: ", (int)level, subsys);
	va_start(ap, fmt);
	vsnprintf(fake_resp_log + n, sizeof fake_resp_log - (size_t)n, fmt, ap);
	va_end(ap);
	fake_resp_log_lines++;
}
