-- NAME
--	search.sql - find messages by address, name, subject, campaign or sender
--
-- ANSWERS
--	Which messages match q?  q is a plain substring, any case (% and _
--	are literal), looked for in the subject, the campaign, the envelope
--	sender, the recipients' addresses and the recipients' display
--	names.  Newest first, at most "limit" rows; an empty q finds nothing.
--	Each message comes with its counted events and, by class and reason,
--	the events not counted, so that a search shows at once why a
--	message's figures are what they are.
--
-- VARIABLES (psql -v NAME=VALUE)
--	q           text to look for                   default '' (nothing)
--	since       sent_at >= since                   default '-infinity'
--	until       sent_at < until                    default 'infinity'
--	limit       most rows returned                 default 50
--	tz          time zone of sent_at               default 'UTC'
--	classes     event classes counted, comma list  default 'human,proxy'
--	late        include|exclude late events         default 'include'
--
-- EXAMPLE
--	psql -X -v q='spring letter' -f sql/reports/search.sql
--
-- OUTPUT
--	message, sent_at (in tz), sender, subject, campaign, recipients
--	(tracked and shared), matched (fields that matched, comma-separated:
--	address, campaign, name, sender, subject), events (counted open,
--	click and download events of its tracked recipients), left_out
--	(the events not counted, as class:reason=count, or class=count when
--	they have no reason, comma-separated, sorted; empty when none).
\if :{?q} \else \set q '' \endif
\ir _defaults.psql
\if :{?limit} \else \set limit 50 \endif

WITH pat AS (
	SELECT '%' || replace(replace(replace(:'q', '\', '\\'), '%', '\%'),
			      '_', '\_') || '%' AS p
	WHERE :'q' <> ''
), hits AS (
	SELECT m.id, 'subject' AS field
	FROM beacon.messages m, pat WHERE m.subject ILIKE pat.p
	UNION ALL
	SELECT m.id, 'campaign'
	FROM beacon.messages m, pat WHERE m.campaign ILIKE pat.p
	UNION ALL
	SELECT m.id, 'sender'
	FROM beacon.messages m, pat WHERE m.sender ILIKE pat.p
	UNION ALL
	SELECT r.message, 'address'
	FROM beacon.recipients r, pat WHERE r.address ILIKE pat.p
	UNION ALL
	SELECT r.message, 'name'
	FROM beacon.recipients r, pat WHERE r.name ILIKE pat.p
), found AS (
	SELECT id, string_agg(DISTINCT field, ',' ORDER BY field) AS matched
	FROM hits
	GROUP BY id
), page AS (
	SELECT m.id, m.sent_at, m.sender, m.subject, m.campaign, f.matched
	FROM found f
	JOIN beacon.messages m ON m.id = f.id
	WHERE m.sent_at >= (:'since')::timestamptz
	  AND m.sent_at < (:'until')::timestamptz
	ORDER BY m.sent_at DESC, m.id
	LIMIT (:'limit')::int
), rc AS (		-- the tracked and shared recipients of the page's messages
	SELECT p.id, r.token_id
	FROM page p
	JOIN beacon.recipients r ON r.message = p.id
	WHERE r.status IN ('tracked', 'shared')
), per_class AS (	-- their events by class and reason (joined by token)
	SELECT rc.id, e.class, e.reason,
	       e.class = ANY (string_to_array(:'classes', ','))
		       AND NOT (e.kind = 'click' AND e.link_n IS NOT DISTINCT FROM 0)
		       AS counted,
	       count(*) AS n
	FROM rc
	JOIN beacon.events e ON e.token_id = rc.token_id
	WHERE e.kind IN ('open', 'click', 'download')
	  AND (beacon.report_late(:'late') OR NOT e.late)
	GROUP BY 1, 2, 3, 4
), ev AS (
	SELECT id, sum(n) FILTER (WHERE counted) AS events,
	       string_agg(class || coalesce(':' || reason, '') || '=' || n, ','
			  ORDER BY class, reason NULLS FIRST)
		       FILTER (WHERE NOT counted) AS left_out
	FROM per_class
	GROUP BY id
), nrc AS (
	SELECT id, count(*) AS recipients
	FROM rc
	GROUP BY id
)
SELECT p.id AS message,
       to_char(p.sent_at AT TIME ZONE :'tz', 'YYYY-MM-DD HH24:MI:SS')
	       AS sent_at,
       p.sender, p.subject, p.campaign,
       coalesce(nrc.recipients, 0) AS recipients,
       p.matched,
       coalesce(ev.events, 0) AS events,
       coalesce(ev.left_out, '') AS left_out
FROM page p
LEFT JOIN nrc ON nrc.id = p.id
LEFT JOIN ev ON ev.id = p.id
ORDER BY p.sent_at DESC, p.id;
