-- NAME
--	never_opened.sql - tracked recipients who never opened
--
-- ANSWERS
--	Who has not opened (nor clicked, nor downloaded, nor answered: no
--	counted event at all)?  One row per tracked or shared recipient of the selected
--	messages, with the events of other classes their token did get
--	(e.g. an Apple Mail Privacy Protection prefetch is not an open).
--	Internal and suppressed recipients have no token and are not listed;
--	nor is a bounced recipient: a hard bounce (beacon.bounces) and no
--	counted event (one with a counted event opened, whatever a report
--	said; summary.sql counts bounced the same way).
--	A scanner's click (or any click on the hidden honeypot link 0) never
--	makes a recipient opened; a reply always does (as in summary.sql).
--	Messages are selected by sent_at; with
--	late=exclude the events flagged late are not looked at.
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
--	tz          time zone of sent_at               default 'UTC'
--
-- EXAMPLE
--	psql -X -v campaign=spring -v until=2026-01-15 \
--	     -f sql/reports/never_opened.sql
--
-- OUTPUT
--	message, subject, sent_at (in tz), address, status,
--	left_out_events (events not counted), left_out_classes (their
--	classes, comma-separated; empty when none), left_out_human,
--	left_out_proxy, left_out_prefetch, left_out_scanner,
--	left_out_internal, left_out_sender, left_out_bot (the events of
--	that class not counted).
\ir _defaults.psql

WITH rc AS (
	SELECT m.id, m.subject, m.sent_at, r.token_id, r.address, r.status
	FROM beacon.report_messages(:'message', :'message_id', :'campaign',
				    :'sender', :'since', :'until') m
	JOIN beacon.recipients r ON r.message = m.id
	WHERE r.status IN ('tracked', 'shared')
	  AND NOT EXISTS (SELECT 1 FROM beacon.bounces b
			  WHERE b.token_id = r.token_id AND b.hard)
), ev AS (
	SELECT e.token_id, e.class,
	       e.kind = 'reply'
	       OR e.class = ANY (string_to_array(:'classes', ','))
		       AND NOT (e.kind = 'click' AND e.link_n IS NOT DISTINCT FROM 0)
			   AS counted
	FROM beacon.events e
	WHERE e.kind IN ('open', 'click', 'download', 'reply')
	  AND e.token_id IN (SELECT token_id FROM rc)
	  AND (beacon.report_late(:'late') OR NOT e.late)
)
SELECT rc.id AS message, rc.subject,
       to_char(rc.sent_at AT TIME ZONE :'tz', 'YYYY-MM-DD HH24:MI:SS')
	       AS sent_at,
       rc.address, rc.status,
       count(ev.token_id) AS left_out_events,
       string_agg(DISTINCT ev.class, ',' ORDER BY ev.class)
	       AS left_out_classes,
       count(*) FILTER (WHERE ev.class = 'human') AS left_out_human,
       count(*) FILTER (WHERE ev.class = 'proxy') AS left_out_proxy,
       count(*) FILTER (WHERE ev.class = 'prefetch') AS left_out_prefetch,
       count(*) FILTER (WHERE ev.class = 'scanner') AS left_out_scanner,
       count(*) FILTER (WHERE ev.class = 'internal') AS left_out_internal,
       count(*) FILTER (WHERE ev.class = 'sender') AS left_out_sender,
       count(*) FILTER (WHERE ev.class = 'bot') AS left_out_bot
FROM rc
LEFT JOIN ev ON ev.token_id = rc.token_id
WHERE NOT EXISTS (SELECT 1 FROM ev c WHERE c.token_id = rc.token_id
					AND c.counted)
GROUP BY rc.id, rc.subject, rc.sent_at, rc.address, rc.status
ORDER BY rc.sent_at, rc.id, rc.address;
