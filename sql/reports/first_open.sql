-- NAME
--	first_open.sql - distribution of the time from send to first open
--
-- ANSWERS
--	How soon after sending did recipients first open?  For every tracked
--	recipient (token) of the selected messages with a counted open, click
--	or download, the time from sent_at to the first such event, counted
--	in fixed buckets (all nine rows are always there), with the share and
--	cumulative share of those openers.  An event stamped before sent_at
--	(clock skew) falls in the first bucket.  Then one row per class left
--	out: its events and distinct tokens.  Messages are selected by
--	sent_at; all their events count, or with late=exclude all but those
--	flagged late.  A scanner's click (or any click on the hidden
--	honeypot link 0) never makes a first open.
--	Left-out events are rows, one per class that has any (bot
--	included), not a column per class: a bucket row has no
--	meaning for them, and a class with no events needs no row.
--
-- VARIABLES (all optional; psql -v NAME=VALUE)
--	message     messages.id (uuid)                 default '' (any)
--	message_id  Message-ID header, <> optional     default '' (any)
--	campaign    messages.campaign                  default '' (any)
--	sender      envelope sender, any case          default '' (any)
--	since       sent_at >= since                   default '-infinity'
--	until       sent_at < until                    default 'infinity'
--	classes     event classes counted, comma list  default 'human,proxy'
--	late        include|exclude late events         default 'include'
--
-- EXAMPLE
--	psql -X -v campaign=spring -f sql/reports/first_open.sql
--
-- OUTPUT
--	bucket (0-5m 5-15m 15-60m 1-3h 3-6h 6-24h 1-2d 2-7d 7d+), from_s,
--	to_s (seconds, to_s exclusive, empty for 7d+), openers, share (% of
--	openers), cumulative (%), left_out (NULL on bucket rows; the class
--	name on left-out rows), events (left-out rows: events of the class;
--	openers then counts its distinct tokens).
\ir _defaults.psql

WITH sel AS (
	SELECT m.id, m.sent_at
	FROM beacon.report_messages(:'message', :'message_id', :'campaign',
				    :'sender', :'since', :'until') m
), ev AS (
	SELECT s.sent_at, e.token_id, e.at, e.class,
	       e.class = ANY (string_to_array(:'classes', ','))
		       AND NOT (e.kind = 'click' AND e.link_n IS NOT DISTINCT FROM 0)
			   AS counted
	FROM sel s
	JOIN beacon.recipients r ON r.message = s.id
	JOIN beacon.events e ON e.token_id = r.token_id
	WHERE r.status IN ('tracked', 'shared')
	  AND e.kind IN ('open', 'click', 'download')
	  AND (beacon.report_late(:'late') OR NOT e.late)
), firsts AS (
	SELECT greatest(extract(epoch FROM min(at) - min(sent_at)), 0) AS secs
	FROM ev
	WHERE counted
	GROUP BY token_id
), buckets (ord, bucket, from_s, to_s) AS (
	VALUES (1, '0-5m', 0, 300), (2, '5-15m', 300, 900),
	       (3, '15-60m', 900, 3600), (4, '1-3h', 3600, 10800),
	       (5, '3-6h', 10800, 21600), (6, '6-24h', 21600, 86400),
	       (7, '1-2d', 86400, 172800), (8, '2-7d', 172800, 604800),
	       (9, '7d+', 604800, NULL)
), per_bucket AS (
	SELECT b.ord, b.bucket, b.from_s, b.to_s, count(f.secs) AS openers
	FROM buckets b
	LEFT JOIN firsts f ON f.secs >= b.from_s
			  AND (b.to_s IS NULL OR f.secs < b.to_s)
	GROUP BY b.ord, b.bucket, b.from_s, b.to_s
)
SELECT bucket, from_s, to_s, openers, share, cumulative, left_out, events
FROM (
	SELECT ord, bucket, from_s, to_s, openers,
	       round(100.0 * openers / nullif(sum(openers) OVER (), 0), 1)
		       AS share,
	       round(100.0 * sum(openers) OVER (ORDER BY ord)
		     / nullif(sum(openers) OVER (), 0), 1) AS cumulative,
	       NULL::text AS left_out, NULL::bigint AS events
	FROM per_bucket
	UNION ALL
	SELECT NULL, NULL, NULL, NULL, count(DISTINCT token_id), NULL, NULL,
	       class, count(*)
	FROM ev
	WHERE NOT counted
	GROUP BY class
) AS rows
ORDER BY left_out NULLS FIRST, ord;
