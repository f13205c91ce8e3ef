/*
 * NAME
 *	metrics.h - beacon-pixelsrv's counters and their Prometheus text
 *
 * SYNOPSIS
 *	metrics_request(METRICS_EP_OPEN, 200, elapsed_ns);
 *	metrics_add(METRICS_EVENTS_QUEUED, 1);
 *	len = metrics_render(buf, size, &gauges);
 *
 * DESCRIPTION
 *	One process-wide set of relaxed atomic counters: requests by
 *	endpoint and status, a request latency histogram (time from the
 *	request's headers to its queued response), events queued, written,
 *	spooled, replayed, rejected by the database and lost, database
 *	errors, invalid tokens.  metrics_render() writes them in the
 *	Prometheus text exposition format (version 0.0.4), with the gauges
 *	the caller passes (queue depth and capacity, database up) and the
 *	node's identity: beacon_node_info{node="NAME"} 1, an info gauge
 *	(node_name is letters, digits, '.', '_' and '-': no escaping).  The
 *	other series carry no node label: join on the scrape's instance
 *	label, as with any info metric.
 */
#ifndef BEACON_METRICS_H
#define BEACON_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* metrics_endpoint - the endpoint label */
enum metrics_endpoint {
	METRICS_EP_OPEN,	/* /o/<token>.gif */
	METRICS_EP_CLICK,	/* /c/<token>/<n>/<mac> */
	METRICS_EP_PIXEL,	/* /p.gif */
	METRICS_EP_DOWNLOAD,	/* /d/<token>/<id> */
	METRICS_EP_HEALTHZ,	/* /healthz */
	METRICS_EP_METRICS,	/* /metrics */
	METRICS_EP_UNSUB,	/* /u/<token>/<mac> */
	METRICS_EP_OTHER,	/* anything else */
	METRICS_EP_N
};

/* metrics_counter - the plain counters */
enum metrics_counter {
	METRICS_EVENTS_QUEUED,		/* put in the in-memory queue */
	METRICS_EVENTS_WRITTEN,		/* COPYed into beacon.events */
	METRICS_EVENTS_SPOOLED,		/* appended to the spool */
	METRICS_EVENTS_REPLAYED,	/* written from the spool */
	METRICS_EVENTS_RECOVERED,	/* found in the queue file at start-up */
	METRICS_EVENTS_REJECTED,	/* refused by the database, kept in rejected.spool */
	METRICS_EVENTS_LOST,		/* could not even be spooled */
	METRICS_DB_ERRORS,		/* failed connects and statements */
	METRICS_TOKENS_INVALID,		/* forged or mangled tokens and click URLs */
	METRICS_EVENTS_REPEATED,	/* repeats within repeat_window: counted, not stored */
	METRICS_EVENTS_OVER_LIMIT,	/* past token_event_limit: counted, not stored */
	METRICS_LIMIT_EVICTIONS,	/* repeat-table entries evicted while live */
	METRICS_EVENTS_DROPPED,		/* refused by spool_max_bytes */
	METRICS_HEADER_TIMEOUTS,	/* connections closed for a slow request head */
	METRICS_DOWNLOADS_BUSY,		/* downloads refused (503) by download_limit */
	METRICS_COUNTER_N
};

/* metrics_gauges - values the renderer asks the caller for */
struct metrics_gauges {
	size_t queue_depth;		/* events in the queue */
	size_t queue_capacity;		/* its slots */
	int db_up;			/* the writer holds a working session */
	const char *node;		/* node_name (beacon_node_info), or NULL */
};

/* metrics_request - count one answered request and its latency */
void metrics_request(enum metrics_endpoint ep, unsigned status, uint64_t ns);
/* metrics_add - add N to counter C */
void metrics_add(enum metrics_counter c, uint64_t n);
/* metrics_get - current value of counter C */
uint64_t metrics_get(enum metrics_counter c);
/* metrics_requests - requests counted for EP and STATUS */
uint64_t metrics_requests(enum metrics_endpoint ep, unsigned status);
/* metrics_render - the exposition text into BUF; its length (truncated to SIZE-1) */
size_t metrics_render(char *buf, size_t size, const struct metrics_gauges *g);

#endif
