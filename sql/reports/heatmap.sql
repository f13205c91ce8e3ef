-- NAME
--	heatmap.sql - opens by weekday and hour of day
--
-- ANSWERS
--	When do recipients open?  Seven rows, Monday (1) to Sunday (7), with
--	the counted open events per hour of the day h00..h23 in the time zone
--	tz and a total.  Then one row per class left out, with its open
--	events per hour.  Events are selected by their time (and with
--	late=exclude, those flagged late are left out entirely); messages by
--	the filters below.
--	Left-out events are rows, one per class that has any (bot
--	included), not a column per class: a weekday row has no
--	meaning for them, and a class with no events needs no row.
--
-- VARIABLES (all optional; psql -v NAME=VALUE)
--	message     messages.id (uuid)                 default '' (any)
--	message_id  Message-ID header, <> optional     default '' (any)
--	campaign    messages.campaign                  default '' (any)
--	sender      envelope sender, any case          default '' (any)
--	since       event at >= since                  default '-infinity'
--	until       event at < until                   default 'infinity'
--	classes     event classes counted, comma list  default 'human,proxy'
--	late        include|exclude late events         default 'include'
--	tz          time zone of weekday and hour      default 'UTC'
--
-- EXAMPLE
--	psql -X -v tz=Europe/Berlin -v since=2026-01-01 \
--	     -f sql/reports/heatmap.sql
--
-- OUTPUT
--	weekday (1 = Monday .. 7 = Sunday; NULL on left-out rows), day (Mon
--	.. Sun), h00 .. h23, total, left_out (NULL on weekday rows; the class
--	name on the rows that tell what was left out).
\ir _defaults.psql

WITH tok AS (
	SELECT r.token_id
	FROM beacon.report_messages(:'message', :'message_id', :'campaign',
				    :'sender') m
	JOIN beacon.recipients r ON r.message = m.id
), cells AS (
	SELECT CASE WHEN counted THEN NULL ELSE class END AS left_out,
	       CASE WHEN counted THEN extract(isodow FROM local)::int END
		       AS weekday,
	       extract(hour FROM local)::int AS hour, count(*) AS n
	FROM (SELECT e.at AT TIME ZONE :'tz' AS local, e.class,
		     e.class = ANY (string_to_array(:'classes', ','))
			     AS counted
	      FROM beacon.events e
	      WHERE e.kind = 'open'
		AND e.at >= (:'since')::timestamptz
		AND e.at < (:'until')::timestamptz
		AND (beacon.report_late(:'late') OR NOT e.late)
		AND e.token_id IN (SELECT token_id FROM tok)) AS ev
	GROUP BY 1, 2, 3
), grid AS (
	SELECT d AS weekday, NULL::text AS left_out
	FROM generate_series(1, 7) AS d
	UNION ALL
	SELECT DISTINCT NULL::int, left_out
	FROM cells
	WHERE left_out IS NOT NULL
)
SELECT g.weekday,
       (ARRAY['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'])[g.weekday]
	       AS day,
       coalesce(sum(c.n) FILTER (WHERE c.hour = 0), 0) AS h00,
       coalesce(sum(c.n) FILTER (WHERE c.hour = 1), 0) AS h01,
       coalesce(sum(c.n) FILTER (WHERE c.hour = 2), 0) AS h02,
       coalesce(sum(c.n) FILTER (WHERE c.hour = 3), 0) AS h03,
       coalesce(sum(c.n) FILTER (WHERE c.hour = 4), 0) AS h04,
       coalesce(sum(c.n) FILTER (WHERE c.hour = 5), 0) AS h05,
       coalesce(sum(c.n) FILTER (WHERE c.hour = 6), 0) AS h06,
       coalesce(sum(c.n) FILTER (WHERE c.hour = 7), 0) AS h07,
       coalesce(sum(c.n) FILTER (WHERE c.hour = 8), 0) AS h08,
       coalesce(sum(c.n) FILTER (WHERE c.hour = 9), 0) AS h09,
       coalesce(sum(c.n) FILTER (WHERE c.hour = 10), 0) AS h10,
       coalesce(sum(c.n) FILTER (WHERE c.hour = 11), 0) AS h11,
       coalesce(sum(c.n) FILTER (WHERE c.hour = 12), 0) AS h12,
       coalesce(sum(c.n) FILTER (WHERE c.hour = 13), 0) AS h13,
       coalesce(sum(c.n) FILTER (WHERE c.hour = 14), 0) AS h14,
       coalesce(sum(c.n) FILTER (WHERE c.hour = 15), 0) AS h15,
       coalesce(sum(c.n) FILTER (WHERE c.hour = 16), 0) AS h16,
       coalesce(sum(c.n) FILTER (WHERE c.hour = 17), 0) AS h17,
       coalesce(sum(c.n) FILTER (WHERE c.hour = 18), 0) AS h18,
       coalesce(sum(c.n) FILTER (WHERE c.hour = 19), 0) AS h19,
       coalesce(sum(c.n) FILTER (WHERE c.hour = 20), 0) AS h20,
       coalesce(sum(c.n) FILTER (WHERE c.hour = 21), 0) AS h21,
       coalesce(sum(c.n) FILTER (WHERE c.hour = 22), 0) AS h22,
       coalesce(sum(c.n) FILTER (WHERE c.hour = 23), 0) AS h23,
       coalesce(sum(c.n), 0) AS total,
       g.left_out
FROM grid g
LEFT JOIN cells c ON c.weekday IS NOT DISTINCT FROM g.weekday
		 AND c.left_out IS NOT DISTINCT FROM g.left_out
GROUP BY g.weekday, g.left_out
ORDER BY g.left_out NULLS FIRST, g.weekday;
