-- NAME
--	search.sql - find messages by address, name, subject, campaign or sender
--
-- ANSWERS
--	Which messages match q?  q is a plain substring, any case (% and _
--	are literal), looked for in the subject, the campaign, the envelope
--	sender, the recipients' addresses and the recipients' display
--	names.  Newest first, at most "limit" rows; an empty q finds nothing.
--
-- VARIABLES (psql -v NAME=VALUE)
--	q           text to look for                   default '' (nothing)
--	since       sent_at >= since                   default '-infinity'
--	until       sent_at < until                    default 'infinity'
--	limit       most rows returned                 default 50
--	tz          time zone of sent_at               default 'UTC'
--
-- EXAMPLE
--	psql -X -v q='spring letter' -f sql/reports/search.sql
--
-- OUTPUT
--	message, sent_at (in tz), sender, subject, campaign, recipients
--	(tracked and shared), matched (fields that matched, comma-separated:
--	address, campaign, name, sender, subject).
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
)
SELECT m.id AS message,
       to_char(m.sent_at AT TIME ZONE :'tz', 'YYYY-MM-DD HH24:MI:SS')
	       AS sent_at,
       m.sender, m.subject, m.campaign,
       (SELECT count(*) FROM beacon.recipients r
	WHERE r.message = m.id AND r.status IN ('tracked', 'shared'))
	       AS recipients,
       f.matched
FROM found f
JOIN beacon.messages m ON m.id = f.id
WHERE m.sent_at >= (:'since')::timestamptz
  AND m.sent_at < (:'until')::timestamptz
ORDER BY m.sent_at DESC, m.id
LIMIT (:'limit')::int;
