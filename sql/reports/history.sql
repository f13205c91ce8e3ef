-- NAME
--	history.sql - a recipient's (or a message's) events, newest first
--
-- ANSWERS
--	What happened to what was sent to this address: every event of every
--	class (nothing is left out here: the class column tells), newest
--	first, with the time in the viewer's zone, the place, the device, OS,
--	browser and mail client, the link followed or the attachment
--	fetched (with the bytes sent and whether the download was partial),
--	and why an event has its class (reason: a code of
--	beacon.event_reasons or list:<id> of machines.yaml; empty for a
--	plain human).  A recipient's answer is an event of kind reply.  For a
--	message (message or message_id, without address), the answers of
--	people it was not sent to (a colleague, a forward: beacon.replies
--	without a recipient) are rows of kind reply too, with address,
--	class and the event's other columns empty.  Give address, message
--	or message_id (several narrow the rows down); with none of them the
--	report returns no rows.
--	late=exclude leaves out the events flagged late.
--
-- VARIABLES (psql -v NAME=VALUE)
--	address     recipient address, any case        default '' (any)
--	message     messages.id (uuid)                 default '' (any)
--	message_id  Message-ID header, <> optional     default '' (any)
--	since       event at >= since                  default '-infinity'
--	until       event at < until                   default 'infinity'
--	tz          time zone of the at column         default 'UTC'
--	late        include|exclude late events         default 'include'
--
-- EXAMPLE
--	psql -X -v address=ann@example.com -v tz=Europe/Berlin \
--	     -f sql/reports/history.sql
--
-- OUTPUT
--	at (YYYY-MM-DD HH:MM:SS in tz), kind, class, address, message,
--	subject, link_n, url, attachment, country, region, city, device, os,
--	browser, client, ip, reason, late (true: more than count_window_days
--	after sending), bytes (downloads: bytes sent), partial (downloads: a
--	Range request or a transfer cut short; NULL for other kinds).
\if :{?address} \else \set address '' \endif
\ir _defaults.psql

SELECT at, kind, class, address, message, subject, link_n, url, attachment,
       country, region, city, device, os, browser, client, ip, reason, late, bytes, partial
FROM (
	SELECT e.at AS sort_at, e.attachment_id AS sort_attachment,
	       to_char(e.at AT TIME ZONE :'tz', 'YYYY-MM-DD HH24:MI:SS') AS at,
	       e.kind, e.class, r.address, m.id AS message, m.subject,
	       e.link_n, l.url, a.name AS attachment,
	       e.country, e.region, e.city, e.device, e.os, e.browser, e.client,
	       host(e.ip) AS ip, e.reason, e.late, e.bytes,
	       CASE WHEN e.kind = 'download' THEN e.partial END AS partial
	FROM beacon.recipients r
	JOIN beacon.report_messages(:'message', :'message_id', '', '') m
		ON m.id = r.message
	JOIN beacon.events e ON e.token_id = r.token_id
	LEFT JOIN beacon.links l ON l.message = m.id AND l.n = e.link_n
	LEFT JOIN beacon.attachments a ON a.message = m.id AND a.id = e.attachment_id
	WHERE (:'address' <> '' OR :'message' <> '' OR :'message_id' <> '')
	  AND (:'address' = '' OR lower(r.address) = lower(:'address'))
	  AND e.at >= (:'since')::timestamptz
	  AND e.at < (:'until')::timestamptz
	  AND (beacon.report_late(:'late') OR NOT e.late)
	UNION ALL
	-- the answers of people the message was not sent to
	SELECT y.at, NULL,
	       to_char(y.at AT TIME ZONE :'tz', 'YYYY-MM-DD HH24:MI:SS'),
	       'reply', NULL, NULL, m.id, m.subject,
	       NULL, NULL, NULL,
	       NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	       NULL, NULL, NULL, NULL, NULL
	FROM beacon.report_messages(:'message', :'message_id', '', '') m
	JOIN beacon.replies y ON y.message = m.id AND y.token_id IS NULL
	WHERE :'address' = '' AND (:'message' <> '' OR :'message_id' <> '')
	  AND y.at >= (:'since')::timestamptz
	  AND y.at < (:'until')::timestamptz
) h
ORDER BY sort_at DESC, address, kind, link_n, sort_attachment;
