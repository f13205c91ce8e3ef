-- NAME
--	devices.sql - opens by device, operating system and mail client
--
-- ANSWERS
--	On what were the selected messages opened?  One row per (device, os,
--	client) with the counted open events and distinct recipients
--	(tokens), most opens first; values the user agent did not tell are
--	empty.  Then one row per class left out, with its open events and
--	tokens.  Events are selected by their time (and with late=exclude,
--	those flagged late are left out entirely); messages by the filters.
--	Left-out events are rows, one per class that has any (bot
--	included), not a column per class: a device row has no
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
--	psql -X -v sender=alice@example.org -f sql/reports/devices.sql
--
-- OUTPUT
--	device, os, client, opens, openers, left_out (NULL on counted rows;
--	the class name on the rows that tell what was left out).
\ir _defaults.psql

WITH tok AS (
	SELECT r.token_id
	FROM beacon.report_messages(:'message', :'message_id', :'campaign',
				    :'sender') m
	JOIN beacon.recipients r ON r.message = m.id
), ev AS (
	SELECT e.token_id, e.device, e.os, e.client, e.class,
	       e.class = ANY (string_to_array(:'classes', ',')) AS counted
	FROM beacon.events e
	WHERE e.kind = 'open'
	  AND e.at >= (:'since')::timestamptz
	  AND e.at < (:'until')::timestamptz
	  AND (beacon.report_late(:'late') OR NOT e.late)
	  AND e.token_id IN (SELECT token_id FROM tok)
)
SELECT device, os, client, opens, openers, left_out
FROM (
	SELECT device, os, client, count(*) AS opens,
	       count(DISTINCT token_id) AS openers, NULL::text AS left_out
	FROM ev
	WHERE counted
	GROUP BY device, os, client
	UNION ALL
	SELECT NULL, NULL, NULL, count(*), count(DISTINCT token_id), class
	FROM ev
	WHERE NOT counted
	GROUP BY class
) AS rows
ORDER BY left_out NULLS FIRST, opens DESC, device NULLS LAST,
	 os NULLS LAST, client NULLS LAST;
