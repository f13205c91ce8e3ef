/*
 * NAME
 *	metrics.c - counters and Prometheus text for beacon-pixelsrv
 *
 * DESCRIPTION
 *	See metrics.h.  Counters are _Atomic uint64_t updated with relaxed
 *	fetch-adds: no lock on the request path.  Statuses are the few the
 *	handler answers with; MHD's own error replies (400, 413, 414, 431)
 *	never reach the handler and are not counted here.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

#include "metrics.h"

static const unsigned metrics_status[] = { 200, 204, 302, 404, 405, 500 };
#define METRICS_STATUS_N (sizeof(metrics_status) / sizeof(metrics_status[0]))

/* histogram bounds, seconds (upper bounds of the cumulative buckets) */
static const double metrics_bounds[] = {
	0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
	0.001, 0.0025, 0.005, 0.01, 0.1,
};
#define METRICS_BUCKETS (sizeof(metrics_bounds) / sizeof(metrics_bounds[0]))

static const char *const metrics_ep_name[METRICS_EP_N] = {
	"open", "click", "pixel", "download", "healthz", "metrics", "unsubscribe", "other",
};

/* metrics - every counter of the process */
static struct {
	_Atomic uint64_t req[METRICS_EP_N][METRICS_STATUS_N];	/* requests */
	_Atomic uint64_t bucket[METRICS_BUCKETS + 1];	/* latency, last is +Inf */
	_Atomic uint64_t lat_ns;			/* latency sum */
	_Atomic uint64_t c[METRICS_COUNTER_N];		/* plain counters */
} metrics;

/* metrics_status_index - index of STATUS in metrics_status (500 for others) */
static size_t metrics_status_index(unsigned status)
{
	for (size_t i = 0; i < METRICS_STATUS_N; i++)
		if (metrics_status[i] == status)
			return i;
	return METRICS_STATUS_N - 1;
}

/* metrics_request - one answered request */
void metrics_request(enum metrics_endpoint ep, unsigned status, uint64_t ns)
{
	size_t b = 0;

	if ((unsigned)ep >= METRICS_EP_N)
		ep = METRICS_EP_OTHER;
	atomic_fetch_add_explicit(&metrics.req[ep][metrics_status_index(status)], 1,
	    memory_order_relaxed);
	while (b < METRICS_BUCKETS && (double)ns > metrics_bounds[b] * 1e9)
		b++;
	atomic_fetch_add_explicit(&metrics.bucket[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&metrics.lat_ns, ns, memory_order_relaxed);
}

/* metrics_add - bump a plain counter */
void metrics_add(enum metrics_counter c, uint64_t n)
{
	atomic_fetch_add_explicit(&metrics.c[c], n, memory_order_relaxed);
}

/* metrics_get - read a plain counter */
uint64_t metrics_get(enum metrics_counter c)
{
	return atomic_load_explicit(&metrics.c[c], memory_order_relaxed);
}

/* metrics_requests - read one request counter */
uint64_t metrics_requests(enum metrics_endpoint ep, unsigned status)
{
	return atomic_load_explicit(&metrics.req[ep][metrics_status_index(status)],
	    memory_order_relaxed);
}

/* metrics_out - the render cursor */
struct metrics_out {
	char *p;	/* next byte */
	size_t left;	/* room, terminator included */
	size_t len;	/* bytes that would have been written */
};

/* metrics_printf - append to the render buffer, truncating */
__attribute__((format(printf, 2, 3)))
static void metrics_printf(struct metrics_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->p, o->left, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	o->len += (size_t)n;
	if ((size_t)n >= o->left) {
		o->p += o->left ? o->left - 1 : 0;
		o->left = o->left ? 1 : 0;
	} else {
		o->p += n;
		o->left -= (size_t)n;
	}
}

/* metrics_counter_line - HELP, TYPE and value of one plain counter */
static void metrics_counter_line(struct metrics_out *o, const char *name, const char *help,
    enum metrics_counter c)
{
	metrics_printf(o, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
	    (unsigned long long)metrics_get(c));
}

/* metrics_render - the whole exposition */
size_t metrics_render(char *buf, size_t size, const struct metrics_gauges *g)
{
	struct metrics_out o = { buf, size, 0 };
	uint64_t cum = 0, count;

	if (size)
		buf[0] = '\0';
	metrics_printf(&o, "# HELP beacon_pixelsrv_requests_total HTTP requests answered, "
	    "by endpoint and status.\n# TYPE beacon_pixelsrv_requests_total counter\n");
	for (size_t e = 0; e < METRICS_EP_N; e++)
		for (size_t s = 0; s < METRICS_STATUS_N; s++) {
			uint64_t v = atomic_load_explicit(&metrics.req[e][s], memory_order_relaxed);
			if (v)
				metrics_printf(&o, "beacon_pixelsrv_requests_total{endpoint=\"%s\","
				    "status=\"%u\"} %llu\n", metrics_ep_name[e], metrics_status[s],
				    (unsigned long long)v);
		}
	metrics_printf(&o, "# HELP beacon_pixelsrv_request_duration_seconds Time from a "
	    "request's headers to its queued response.\n"
	    "# TYPE beacon_pixelsrv_request_duration_seconds histogram\n");
	for (size_t b = 0; b <= METRICS_BUCKETS; b++) {
		cum += atomic_load_explicit(&metrics.bucket[b], memory_order_relaxed);
		if (b < METRICS_BUCKETS)
			metrics_printf(&o, "beacon_pixelsrv_request_duration_seconds_bucket"
			    "{le=\"%g\"} %llu\n", metrics_bounds[b], (unsigned long long)cum);
		else
			metrics_printf(&o, "beacon_pixelsrv_request_duration_seconds_bucket"
			    "{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
	}
	count = cum;
	metrics_printf(&o, "beacon_pixelsrv_request_duration_seconds_sum %.9f\n"
	    "beacon_pixelsrv_request_duration_seconds_count %llu\n",
	    (double)atomic_load_explicit(&metrics.lat_ns, memory_order_relaxed) / 1e9,
	    (unsigned long long)count);
	metrics_counter_line(&o, "beacon_pixelsrv_events_queued_total",
	    "Events put in the in-memory queue.", METRICS_EVENTS_QUEUED);
	metrics_counter_line(&o, "beacon_pixelsrv_events_written_total",
	    "Events written to beacon.events (replayed ones included).", METRICS_EVENTS_WRITTEN);
	metrics_counter_line(&o, "beacon_pixelsrv_events_spooled_total",
	    "Events appended to the spool (database down or queue full).", METRICS_EVENTS_SPOOLED);
	metrics_counter_line(&o, "beacon_pixelsrv_events_replayed_total",
	    "Spooled events written to the database.", METRICS_EVENTS_REPLAYED);
	metrics_counter_line(&o, "beacon_pixelsrv_events_recovered_total",
	    "Events found in the queue file at start-up.", METRICS_EVENTS_RECOVERED);
	metrics_counter_line(&o, "beacon_pixelsrv_events_rejected_total",
	    "Events the database refused, kept in rejected.spool.", METRICS_EVENTS_REJECTED);
	metrics_counter_line(&o, "beacon_pixelsrv_events_lost_total",
	    "Events that could not be queued, written or spooled.", METRICS_EVENTS_LOST);
	metrics_counter_line(&o, "beacon_pixelsrv_events_repeated_total",
	    "Repeats of a stored event within repeat_window: counted, not stored.",
	    METRICS_EVENTS_REPEATED);
	metrics_counter_line(&o, "beacon_pixelsrv_events_over_token_limit_total",
	    "Events past token_event_limit in a window: counted, not stored.",
	    METRICS_EVENTS_OVER_LIMIT);
	metrics_counter_line(&o, "beacon_pixelsrv_limit_evictions_total",
	    "Live repeat-table entries evicted for new keys.", METRICS_LIMIT_EVICTIONS);
	metrics_counter_line(&o, "beacon_pixelsrv_events_dropped_total",
	    "Events refused because a spool reached spool_max_bytes.", METRICS_EVENTS_DROPPED);
	metrics_counter_line(&o, "beacon_pixelsrv_db_errors_total",
	    "Failed database connections and statements.", METRICS_DB_ERRORS);
	metrics_counter_line(&o, "beacon_pixelsrv_invalid_tokens_total",
	    "Requests with a forged or mangled token or click URL.", METRICS_TOKENS_INVALID);
	metrics_counter_line(&o, "beacon_pixelsrv_header_timeouts_total",
	    "Connections closed because their request head took longer than header_timeout.",
	    METRICS_HEADER_TIMEOUTS);
	metrics_counter_line(&o, "beacon_pixelsrv_downloads_busy_total",
	    "Downloads refused with 503 because download_limit were being sent.",
	    METRICS_DOWNLOADS_BUSY);
	metrics_printf(&o, "# HELP beacon_pixelsrv_queue_depth Events waiting in the queue.\n"
	    "# TYPE beacon_pixelsrv_queue_depth gauge\nbeacon_pixelsrv_queue_depth %zu\n"
	    "# HELP beacon_pixelsrv_queue_capacity Slots of the queue.\n"
	    "# TYPE beacon_pixelsrv_queue_capacity gauge\nbeacon_pixelsrv_queue_capacity %zu\n"
	    "# HELP beacon_pixelsrv_db_up 1 when the writer has a working database session.\n"
	    "# TYPE beacon_pixelsrv_db_up gauge\nbeacon_pixelsrv_db_up %d\n",
	    g->queue_depth, g->queue_capacity, g->db_up);
	if (g->node && *g->node)
		metrics_printf(&o, "# HELP beacon_node_info The node_name this server writes in "
		    "every event it logs.\n# TYPE beacon_node_info gauge\n"
		    "beacon_node_info{node=\"%s\"} 1\n", g->node);
	return o.len < size ? o.len : (size ? size - 1 : 0);
}
