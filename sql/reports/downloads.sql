-- NAME
--	downloads.sql - downloads by attached file
--
-- ANSWERS
--	Which files of the selected messages were fetched through their
--	download links?  One row per attachment (also those nobody fetched)
--	with its counted downloads, distinct downloaders (tokens), how many
--	of those downloads were complete and how many partial (a Range
--	request, or a transfer cut short: a resumed download shows as
--	several partial ones), the bytes sent, and the downloads of each
--	class not counted.  Then one row per class left out (e.g. security
--	gateways fetching every link), with its downloads and tokens over
--	all files.  The class rules are those of clicks.  Messages are
--	selected by sent_at; all their downloads count, or with
--	late=exclude all but those flagged late.
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
--	psql -X -v campaign=spring -f sql/reports/downloads.sql
--
-- OUTPUT
--	message, id (attachments.id, the n of the download URL), name,
--	size (octets), downloads, downloaders, complete, partial, bytes
--	(sent by the counted downloads), left_out (NULL on file rows; the
--	class name on the rows that tell what was left out),
--	left_out_human, left_out_proxy, left_out_prefetch,
--	left_out_scanner, left_out_internal, left_out_sender, left_out_bot
--	(file rows: the downloads of that class not counted; NULL on
--	left-out rows).
\ir _defaults.psql

WITH sel AS (
	SELECT m.id, m.sent_at
	FROM beacon.report_messages(:'message', :'message_id', :'campaign',
				    :'sender', :'since', :'until') m
), ev AS (
	SELECT r.message, e.attachment_id, e.token_id, e.class, e.partial,
	       e.bytes,
	       e.class = ANY (string_to_array(:'classes', ',')) AS counted
	FROM sel s
	JOIN beacon.recipients r ON r.message = s.id
	JOIN beacon.events e ON e.token_id = r.token_id
	WHERE e.kind = 'download'
	  AND (beacon.report_late(:'late') OR NOT e.late)
)
SELECT message, id, name, size, downloads, downloaders, complete, partial,
       bytes, left_out, left_out_human, left_out_proxy, left_out_prefetch,
       left_out_scanner, left_out_internal, left_out_sender, left_out_bot
FROM (
	SELECT s.sent_at, a.message, a.id, a.name, a.size,
	       count(e.token_id) FILTER (WHERE e.counted) AS downloads,
	       count(DISTINCT e.token_id) FILTER (WHERE e.counted) AS downloaders,
	       count(*) FILTER (WHERE e.counted AND NOT e.partial) AS complete,
	       count(*) FILTER (WHERE e.counted AND e.partial) AS partial,
	       coalesce(sum(e.bytes) FILTER (WHERE e.counted), 0) AS bytes,
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
	JOIN beacon.attachments a ON a.message = s.id
	LEFT JOIN ev e ON e.message = a.message AND e.attachment_id = a.id
	GROUP BY s.sent_at, a.message, a.id, a.name, a.size
	UNION ALL
	SELECT NULL, NULL, NULL, NULL, NULL, count(*), count(DISTINCT token_id),
	       count(*) FILTER (WHERE NOT partial), count(*) FILTER (WHERE partial),
	       coalesce(sum(bytes), 0), class,
	       NULL, NULL, NULL, NULL, NULL, NULL, NULL
	FROM ev
	WHERE NOT counted
	GROUP BY class
) AS rows
ORDER BY left_out NULLS FIRST, sent_at, message, id;
