-- NAME
--	geo.sql - opens by country, region and city
--
-- ANSWERS
--	Where were the selected messages opened?  One row per place with the
--	counted open events and the distinct recipients (tokens) behind
--	them, most opens first.  Proxy opens (e.g. Gmail's image proxy) have
--	no true place: they show as a row with empty country, region, city.
--	Then one row per class left out, with its open events and tokens.
--	Events are selected by their time (and with late=exclude, those
--	flagged late are left out entirely); messages by the filters below.
--	Left-out events are rows, one per class that has any (bot
--	included), not a column per class: a place row has no
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
--
-- EXAMPLE
--	psql -X -v campaign=spring -v since=2026-01-01 -f sql/reports/geo.sql
--
-- OUTPUT
--	country, region, city, opens, openers, left_out (NULL on counted
--	rows; the class name on the rows that tell what was left out).
\ir _defaults.psql

WITH tok AS (
	SELECT r.token_id
	FROM beacon.report_messages(:'message', :'message_id', :'campaign',
				    :'sender') m
	JOIN beacon.recipients r ON r.message = m.id
), ev AS (
	SELECT e.token_id, e.country, e.region, e.city, e.class,
	       e.class = ANY (string_to_array(:'classes', ',')) AS counted
	FROM beacon.events e
	WHERE e.kind = 'open'
	  AND e.at >= (:'since')::timestamptz
	  AND e.at < (:'until')::timestamptz
	  AND (beacon.report_late(:'late') OR NOT e.late)
	  AND e.token_id IN (SELECT token_id FROM tok)
)
SELECT country, region, city, opens, openers, left_out
FROM (
	SELECT country, region, city, count(*) AS opens,
	       count(DISTINCT token_id) AS openers, NULL::text AS left_out
	FROM ev
	WHERE counted
	GROUP BY country, region, city
	UNION ALL
	SELECT NULL, NULL, NULL, count(*), count(DISTINCT token_id), class
	FROM ev
	WHERE NOT counted
	GROUP BY class
) AS rows
ORDER BY left_out NULLS FIRST, opens DESC, country NULLS LAST,
	 region NULLS LAST, city NULLS LAST;
