/* GET /metrics: Prometheus text exposition format 0.0.4. */
#include <malloc.h>

#include "app/handlers.h"
#include "drivers/virtio/virtio_console.h"
#include "http/handler/middleware.h"
#include "http/server.h"
#include "kernel/clock.h"
#include "kernel/heap.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/sched.h"
#include "net/conn.h"
#include "net/lwip_mem.h"
#include "net/net.h"
#include "net/syslog.h"
#include "net/netdev.h"
#include "tls/tls.h"

static void counter(struct http_rw *w, const char *name, const char *help, uint64_t v)
{
	http_printf(w, "# HELP %s %s\n# TYPE %s counter\n%s %lu\n", name, help, name, name, v);
}

static void gauge(struct http_rw *w, const char *name, const char *help, uint64_t v)
{
	http_printf(w, "# HELP %s %s\n# TYPE %s gauge\n%s %lu\n", name, help, name, name, v);
}

/* A counter of nanoseconds, exposed in seconds as Prometheus names want. */
static void seconds_counter(struct http_rw *w, const char *name, const char *help, uint64_t ns)
{
	http_printf(w, "# HELP %s %s\n# TYPE %s counter\n%s %lu.%09lu\n", name, help, name, name,
		    ns / NSEC_PER_SEC, ns % NSEC_PER_SEC);
}

static void http_metrics(struct http_rw *w, const struct http_stats *s)
{
	/* the open states, in enum http_conn_state's order; CLOSED is a total */
	static const char *const states[] = { "new", "active", "idle" };
	_Static_assert(sizeof states / sizeof *states == HTTP_CLOSED, "a name for every open state");
	http_printf(w, "# HELP keel_http_requests_total Requests answered, by status class.\n"
		       "# TYPE keel_http_requests_total counter\n");
	for (int c = 1; c <= 5; c++)
		http_printf(w, "keel_http_requests_total{code=\"%dxx\"} %lu\n", c, s->by_status[c]);
	http_printf(w, "# HELP keel_http_request_duration_seconds Time from head parsed to response sent.\n"
		       "# TYPE keel_http_request_duration_seconds histogram\n");
	for (int i = 0; i < 11; i++)
		http_printf(w, "keel_http_request_duration_seconds_bucket{le=\"%u.%06u\"} %lu\n",
			    http_latency_bounds_us[i] / 1000000, http_latency_bounds_us[i] % 1000000, s->latency_le[i]);
	http_printf(w, "keel_http_request_duration_seconds_bucket{le=\"+Inf\"} %lu\n", s->latency_count);
	http_printf(w, "keel_http_request_duration_seconds_sum %lu.%06lu\n", s->latency_sum_us / 1000000,
		    s->latency_sum_us % 1000000);
	http_printf(w, "keel_http_request_duration_seconds_count %lu\n", s->latency_count);
	http_printf(w, "# HELP keel_http_connections Open connections by state.\n# TYPE keel_http_connections gauge\n");
	for (int i = 0; i < HTTP_CLOSED; i++)
		http_printf(w, "keel_http_connections{state=\"%s\"} %u\n", states[i], s->conns[i]);
	counter(w, "keel_http_connections_closed_total", "Connections closed.", s->conns[HTTP_CLOSED]);
	counter(w, "keel_http_connections_refused_total", "Connections refused with 503 (max_conns).",
		s->refused_conns);
	counter(w, "keel_http_bad_requests_total", "Requests rejected by the parser.", s->bad_requests);
	counter(w, "keel_http_handler_timeouts_total", "Handlers that overran handler_timeout.", s->handler_timeouts);
	struct http_gzip_stats g;
	http_gzip_get_stats(&g);
	counter(w, "keel_http_gzip_responses_total", "Responses gzipped on the fly.", g.responses);
	counter(w, "keel_http_gzip_no_compressor_total", "Responses sent uncompressed: every compressor was busy.",
		g.no_compressor);
	counter(w, "keel_http_gzip_in_bytes_total", "Body bytes into the gzip compressors.", g.bytes_in);
	counter(w, "keel_http_gzip_out_bytes_total", "Gzip bytes out of them.", g.bytes_out);
}

static void log_metrics(struct http_rw *w)
{
	struct log_stats ls;
	struct syslog_stats ss;
	log_get_stats(&ls);
	syslog_get_stats(&ss);
	counter(w, "keel_log_lines_total", "Log lines queued for the log task.", ls.lines);
	counter(w, "keel_log_dropped_total", "Log lines dropped because the log ring was full.", ls.dropped);
	gauge(w, "keel_log_queued_bytes", "Bytes waiting in the log ring.", ls.queued_bytes);
	counter(w, "keel_log_syslog_sent_total", "Log lines sent to the syslog collector.", ss.sent);
	counter(w, "keel_log_syslog_failed_total", "Log lines not sent to the syslog collector (no memory, no route).",
		ss.failed);
	struct virtio_console_stats vs;
	virtio_console_get_stats(&vs);
	counter(w, "keel_log_console_batches_total", "Batches of log lines written to the virtio console.", vs.batches);
	counter(w, "keel_log_console_failed_total", "Batches the virtio console did not take in time (dropped), and waits for it cut short.",
		vs.failed);
}

static void tls_metrics(struct http_rw *w)
{
	struct tls_stats ts;
	tls_get_stats(&ts);
	counter(w, "keel_tls_handshakes_total", "TLS handshakes completed.", ts.handshakes);
	counter(w, "keel_tls_resumed_total", "Of those, sessions resumed from the cache.", ts.resumed);
	http_printf(w, "# HELP keel_tls_handshake_failures_total TLS connections that ended or were refused "
		       "before the handshake completed, by reason.\n"
		       "# TYPE keel_tls_handshake_failures_total counter\n");
	for (int i = 0; i < TLS_NFAIL; i++)
		http_printf(w, "keel_tls_handshake_failures_total{reason=\"%s\"} %lu\n", tls_fail_names[i],
			    ts.failed[i]);
	counter(w, "keel_tls_connection_failures_total",
		"Established TLS connections ended by a fatal alert or an error (not a hang-up).", ts.broken);
	gauge(w, "keel_tls_handshaking", "TLS handshakes under way.", ts.handshaking);
	gauge(w, "keel_tls_connections", "Open TLS connections.", ts.open);
	gauge(w, "keel_tls_connections_idle_released", "Open TLS connections holding no record buffers.",
	      ts.idle_released);
	gauge(w, "keel_tls_connection_bytes", "Engine state per TLS connection, held while it is open.",
	      ts.conn_bytes);
	gauge(w, "keel_tls_buffer_bytes", "Record buffers per TLS connection, held only while it is busy.",
	      ts.buffer_bytes);
}

void app_metrics(struct http_rw *w, struct http_req *r, void *arg)
{
	(void)r, (void)arg;
	struct http_stats hs;
	struct sched_stats ss;
	http_get_stats(&hs);
	sched_get_stats(&ss);
	http_set_header(w, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	http_metrics(w, &hs);
	gauge(w, "keel_memory_free_bytes", "Physical memory not allocated.", pmm_free_pages() * PAGE_SIZE);
	gauge(w, "keel_memory_total_bytes", "Physical memory managed by the kernel.", pmm_total_pages() * PAGE_SIZE);
	gauge(w, "keel_heap_mapped_bytes", "Kernel heap backed by pages.", heap_mapped_bytes());
	gauge(w, "keel_heap_in_use_bytes", "Kernel heap allocated.", mallinfo().uordblks);
	struct lwip_mem_stats ls;
	struct conn_stats cs;
	struct tls_stats ts;
	lwip_mem_get_stats(&ls);
	conn_get_stats(&cs);
	tls_get_stats(&ts);
	gauge(w, "keel_heap_cached_bytes",
	      "Of the heap in use: freed blocks kept for reuse (lwIP, connections, TLS record buffers, "
	      "HTTP turn buffers).",
	      ls.held - ls.in_use + cs.cached_bytes + ts.cached_bytes + hs.cached_bytes);
	gauge(w, "keel_net_memory_in_use_bytes", "Memory lwIP has allocated.", ls.in_use);
	gauge(w, "keel_net_memory_held_bytes", "Memory lwIP holds (in use plus cached).", ls.held);
	gauge(w, "keel_net_memory_budget_bytes", "Memory lwIP may hold.", ls.budget);
	counter(w, "keel_net_memory_refused_total", "lwIP allocations refused (budget or heap).",
		ls.over_budget + ls.no_memory);
	gauge(w, "keel_tcp_pcbs", "TCP PCBs, TIME_WAIT included.", ls.pcbs);
	counter(w, "keel_tcp_pcb_cap_hits_total", "PCB allocations refused at the cap (TIME_WAIT recycled).",
		ls.pcb_cap_hits);
	struct net_counters nc;
	net_get_counters(&nc);
	counter(w, "keel_tcp_time_wait_recycled_total", "TIME_WAIT PCBs retired by a newer SYN (RFC 6191).",
		nc.tw_recycled);
	counter(w, "keel_tcp_time_wait_trimmed_total", "Oldest TIME_WAIT PCBs freed to keep the list short.",
		nc.tw_trimmed);
	counter(w, "keel_net_rx_large_frames_total", "Frames received longer than one (coalesced TCP segments).",
		nc.rx_large);
	tls_metrics(w);
	log_metrics(w);
	gauge(w, "keel_tasks", "Live tasks (idle excluded).", ss.live);
	counter(w, "keel_task_switches_total", "Context switches.", ss.switches);
	/* Busy is everything since power-on that was not spent halted: tasks,
	 * IRQs outside a halt, and boot. Under QEMU TCG the clock is host time,
	 * so a vCPU thread the host descheduled counts where it was stopped. */
	uint64_t now = clock_now();
	seconds_counter(w, "keel_cpu_idle_seconds_total", "Time halted in the idle loop, nothing to run.",
			ss.idle_ns);
	seconds_counter(w, "keel_cpu_busy_seconds_total", "Time not halted since power-on.", now - ss.idle_ns);
	const struct netdev *d = netdev_get();
	if (d) {
		counter(w, "keel_nic_rx_packets_total", "Frames received.", d->stats.rx_packets);
		counter(w, "keel_nic_tx_packets_total", "Frames sent.", d->stats.tx_packets);
		counter(w, "keel_nic_rx_bytes_total", "Bytes received.", d->stats.rx_bytes);
		counter(w, "keel_nic_tx_bytes_total", "Bytes sent.", d->stats.tx_bytes);
		counter(w, "keel_nic_rx_dropped_total", "Frames dropped on receive.", d->stats.rx_dropped);
		counter(w, "keel_nic_tx_dropped_total", "Frames dropped on send.", d->stats.tx_dropped);
		counter(w, "keel_nic_tx_ring_full_total", "Sends that found the TX ring full.", d->stats.tx_ring_full);
		counter(w, "keel_nic_tx_gso_frames_total", "Frames of joined TCP segments the NIC cuts up (TSO).",
			d->stats.tx_gso_frames);
		counter(w, "keel_nic_tx_fins_folded_total", "Bare FINs sent as a flag of the data frame before them.",
			d->stats.tx_fins_folded);
		counter(w, "keel_nic_interrupts_total", "NIC interrupts.", d->stats.irqs);
	}
}
