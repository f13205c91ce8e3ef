-- NAME
--	clicks.sql - clicks by link
--
-- ANSWERS
--	Which links of the selected messages were followed?  One row per link
--	(also the links nobody clicked) with its counted clicks and distinct
--	clickers (tokens), and the clicks of each class not counted, in
--	message send order and link order.  Then one row per class left out
--	(e.g. security scanners that follow every link), with its clicks and
--	tokens over all links.  The hidden honeypot link (link 0) is never a
--	link row: its clicks (class scanner, reason honeypot) are in the
--	left-out rows only.  Messages are selected by sent_at; all their
--	clicks count, or with late=exclude all but those flagged late.
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
--	psql -X -v message=6f1c0a52-2a4e-4c55-9b8e-3d1f0e6f7a10 \
--	     -f sql/reports/clicks.sql
--
-- OUTPUT
--	message, n, url, clicks, clickers, left_out (NULL on link rows; the
--	class name on the rows that tell what was left out), left_out_human,
--	left_out_proxy, left_out_prefetch, left_out_scanner,
--	left_out_internal, left_out_sender, left_out_bot (link rows: the
--	clicks of that class on the link not counted; NULL on left-out rows).
\ir _defaults.psql

WITH sel AS (
	SELECT m.id, m.sent_at
	FROM beacon.report_messages(:'message', :'message_id', :'campaign',
				    :'sender', :'since', :'until') m
), ev AS (
	SELECT r.message, e.link_n, e.token_id, e.class,
	       e.class = ANY (string_to_array(:'classes', ','))
		       AND e.link_n IS DISTINCT FROM 0 AS counted
	FROM sel s
	JOIN beacon.recipients r ON r.message = s.id
	JOIN beacon.events e ON e.token_id = r.token_id
	WHERE e.kind = 'click'
	  AND (beacon.report_late(:'late') OR NOT e.late)
)
SELECT message, n, url, clicks, clickers, left_out, left_out_human,
       left_out_proxy, left_out_prefetch, left_out_scanner,
       left_out_internal, left_out_sender, left_out_bot
FROM (
	SELECT s.sent_at, l.message, l.n, l.url,
	       count(e.token_id) FILTER (WHERE e.counted) AS clicks,
	       count(DISTINCT e.token_id) FILTER (WHERE e.counted) AS clickers,
	       NULL::text AS left_out,
	       count(*) FILTER (WHERE NOT e.counted AND e.class = 'human')
		       AS left_out_human,
	       count(*) FILTER (WHERE NOT e.counted AND e.class = 'proxy')
		       AS left_out_proxy,
	       count(*) FILTER (WHERE NOT e.counted AND e.class = 'prefetch')
		       AS left_out_prefetch,
	       count(*) FILTER (WHERE NOT e.counted AND e.class = 'scanner')
		       AS left_out_scanner,
	       count(*) FILTER (WHERE NOT e.counted AND e.class = 'internal')
		       AS left_out_internal,
	       count(*) FILTER (WHERE NOT e.counted AND e.class = 'sender')
		       AS left_out_sender,
	       count(*) FILTER (WHERE NOT e.counted AND e.class = 'bot')
		       AS left_out_bot
	FROM sel s
	JOIN beacon.links l ON l.message = s.id AND l.n > 0
	LEFT JOIN ev e ON e.message = l.message AND e.link_n = l.n
	GROUP BY s.sent_at, l.message, l.n, l.url
	UNION ALL
	SELECT NULL, NULL, NULL, NULL, count(*), count(DISTINCT token_id), class,
	       NULL, NULL, NULL, NULL, NULL, NULL, NULL
	FROM ev
	WHERE NOT counted
	GROUP BY class
) AS rows
ORDER BY left_out NULLS FIRST, sent_at, message, n;
