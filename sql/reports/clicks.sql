-- NAME
--	clicks.sql - clicks by link
--
-- ANSWERS
--	Which links of the selected messages were followed?  One row per link
--	(also the links nobody clicked) with its counted clicks and distinct
--	clickers (tokens), in message send order and link order.  Then one
--	row per class left out (e.g. security scanners that follow every
--	link), with its clicks and tokens.  Messages are selected by sent_at;
--	all their clicks count.
--
-- VARIABLES (all optional; psql -v NAME=VALUE)
--	message     messages.id (uuid)                 default '' (any)
--	message_id  Message-ID header, <> optional     default '' (any)
--	campaign    messages.campaign                  default '' (any)
--	sender      envelope sender, any case          default '' (any)
--	since       sent_at >= since                   default '-infinity'
--	until       sent_at < until                    default 'infinity'
--	classes     event classes counted, comma list  default 'human,proxy'
--
-- EXAMPLE
--	psql -X -v message=6f1c0a52-2a4e-4c55-9b8e-3d1f0e6f7a10 \
--	     -f sql/reports/clicks.sql
--
-- OUTPUT
--	message, n, url, clicks, clickers, left_out (NULL on link rows; the
--	class name on the rows that tell what was left out).
\ir _defaults.psql

WITH sel AS (
	SELECT m.id, m.sent_at
	FROM beacon.report_messages(:'message', :'message_id', :'campaign',
				    :'sender', :'since', :'until') m
), ev AS (
	SELECT r.message, e.link_n, e.token_id, e.class,
	       e.class = ANY (string_to_array(:'classes', ',')) AS counted
	FROM sel s
	JOIN beacon.recipients r ON r.message = s.id
	JOIN beacon.events e ON e.token_id = r.token_id
	WHERE e.kind = 'click'
)
SELECT message, n, url, clicks, clickers, left_out
FROM (
	SELECT s.sent_at, l.message, l.n, l.url, count(e.token_id) AS clicks,
	       count(DISTINCT e.token_id) AS clickers, NULL::text AS left_out
	FROM sel s
	JOIN beacon.links l ON l.message = s.id
	LEFT JOIN ev e ON e.message = l.message AND e.link_n = l.n AND e.counted
	GROUP BY s.sent_at, l.message, l.n, l.url
	UNION ALL
	SELECT NULL, NULL, NULL, NULL, count(*), count(DISTINCT token_id), class
	FROM ev
	WHERE NOT counted
	GROUP BY class
) AS rows
ORDER BY left_out NULLS FIRST, sent_at, message, n;
