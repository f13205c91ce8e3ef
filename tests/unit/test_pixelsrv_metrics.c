/*
 * test_pixelsrv_metrics.c - unit tests of the Prometheus text: exact
 * sample lines for counters, requests by endpoint and status, the
 * cumulative latency histogram, gauges, the node's info line, and
 * truncation to the buffer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "metrics.h"

/* has_line - does TEXT hold LINE as a whole line? */
static int has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
	return 0;
}

/* test_render - counters, histogram and gauges as expected */
static void test_render(void **state)
{
	static char buf[16384];
	struct metrics_gauges g = { 17, 65536, 1, "px1.example" };

	(void)state;
	metrics_request(METRICS_EP_OPEN, 200, 3000);		/* 3 us */
	metrics_request(METRICS_EP_OPEN, 200, 40000);		/* 40 us */
	metrics_request(METRICS_EP_CLICK, 404, 2000000000);	/* 2 s: +Inf only */
	metrics_request(METRICS_EP_OTHER, 418, 1);		/* odd status: counted as 500 */
	metrics_add(METRICS_EVENTS_QUEUED, 2);
	metrics_add(METRICS_EVENTS_LOST, 1);
	metrics_add(METRICS_EVENTS_LOST, 4);
	assert_int_equal(metrics_get(METRICS_EVENTS_LOST), 5);
	assert_int_equal(metrics_requests(METRICS_EP_OPEN, 200), 2);

	size_t len = metrics_render(buf, sizeof(buf), &g);
	assert_int_equal(len, strlen(buf));
	assert_true(has_line(buf, "beacon_pixelsrv_requests_total{endpoint=\"open\",status=\"200\"} 2"));
	assert_true(has_line(buf, "beacon_pixelsrv_requests_total{endpoint=\"click\",status=\"404\"} 1"));
	assert_true(has_line(buf, "beacon_pixelsrv_requests_total{endpoint=\"other\",status=\"500\"} 1"));
	assert_false(has_line(buf, "beacon_pixelsrv_requests_total{endpoint=\"pixel\",status=\"200\"} 0"));
	assert_true(has_line(buf, "beacon_pixelsrv_request_duration_seconds_bucket{le=\"5e-06\"} 2"));
	assert_true(has_line(buf, "beacon_pixelsrv_request_duration_seconds_bucket{le=\"5e-05\"} 3"));
	assert_true(has_line(buf, "beacon_pixelsrv_request_duration_seconds_bucket{le=\"0.1\"} 3"));
	assert_true(has_line(buf, "beacon_pixelsrv_request_duration_seconds_bucket{le=\"+Inf\"} 4"));
	assert_true(has_line(buf, "beacon_pixelsrv_request_duration_seconds_count 4"));
	assert_true(has_line(buf, "beacon_pixelsrv_request_duration_seconds_sum 2.000043001"));
	assert_true(has_line(buf, "beacon_pixelsrv_events_queued_total 2"));
	assert_true(has_line(buf, "beacon_pixelsrv_events_lost_total 5"));
	assert_true(has_line(buf, "beacon_pixelsrv_events_written_total 0"));
	assert_true(has_line(buf, "# TYPE beacon_pixelsrv_events_written_total counter"));
	assert_true(has_line(buf, "beacon_pixelsrv_queue_depth 17"));
	assert_true(has_line(buf, "beacon_pixelsrv_queue_capacity 65536"));
	assert_true(has_line(buf, "beacon_pixelsrv_db_up 1"));
	assert_true(has_line(buf, "# TYPE beacon_node_info gauge"));
	assert_true(has_line(buf, "beacon_node_info{node=\"px1.example\"} 1"));
	assert_int_equal(buf[len - 1], '\n');
	/* no node name, no info line */
	g.node = NULL;
	metrics_render(buf, sizeof(buf), &g);
	assert_null(strstr(buf, "beacon_node_info"));
}

/* test_truncate - a short buffer gets a terminated prefix */
static void test_truncate(void **state)
{
	char buf[40];
	struct metrics_gauges g = { 0, 0, 0, NULL };

	(void)state;
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(metrics_render(buf, sizeof(buf), &g), sizeof(buf) - 1);
	assert_int_equal(buf[sizeof(buf) - 1], '\0');
	assert_int_equal(strncmp(buf, "# HELP beacon_pixelsrv_requests_total", 37), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_truncate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
