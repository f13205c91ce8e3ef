-- NAME
--	summary.sql - recipients, opens, clicks and downloads per message or campaign
--
-- ANSWERS
--	How did a message (or a campaign, or everything selected) do: tracked
--	recipients, how many hard-bounced, how many were delivered, how many
--	opened, open rate, clicks, click-to-open rate, downloads (and how
--	many recipients downloaded), how many answered, and how
--	many events of each class were left out.
--	A recipient counts as opened when any counted event (open, click,
--	download or reply) came from their token: a click or a reply with
--	images blocked is an open too; a click on the hidden honeypot link
--	(link 0) never counts.  A reply (beacon.replies, written by
--	beacon-milter when a recipient answers) always counts, whatever
--	classes says: it is no request to the pixel server, it has no class
--	to leave out.
--	Messages are selected by sent_at; all their events count, or with
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
--	by          one row per message|campaign|all   default 'message'
--	late        include|exclude late events         default 'include'
--	tz          time zone of sent_at               default 'UTC'
--
-- EXAMPLE
--	psql -X -v campaign=spring -v by=campaign -f sql/reports/summary.sql
--
-- OUTPUT
--	message (NULL unless by=message), campaign, subject (NULL unless
--	by=message), sent_at (first, in tz), messages, recipients (tracked
--	and shared), excluded_recipients (internal and suppressed),
--	bounced (tracked recipients with a hard bounce, beacon.bounces, and
--	no counted event: one who opened was delivered), delivered
--	(recipients - bounced), opened, open_rate (% of delivered, at most
--	100), opens (counted open events), clicked,
--	clicks, click_to_open (% of opened), downloaded (recipients with a
--	counted download), downloads, replied (recipients who answered),
--	reply_rate (% of delivered), replies (answers to the messages, also
--	from people they were not sent to: a colleague, a forward),
--	left_out_human,
--	left_out_proxy, left_out_prefetch, left_out_scanner,
--	left_out_internal, left_out_sender, left_out_bot (open, click and
--	download events of that class not counted).
\ir _defaults.psql
\if :{?by} \else \set by 'message' \endif

WITH sel AS (
	SELECT m.id, m.campaign, m.subject, m.sent_at,
	       CASE :'by' WHEN 'campaign' THEN coalesce(m.campaign, '')
			  WHEN 'all' THEN ''
			  ELSE m.id::text END AS grp
	FROM beacon.report_messages(:'message', :'message_id', :'campaign',
				    :'sender', :'since', :'until') m
), rcpt AS (
	SELECT s.grp, r.token_id, r.status IN ('tracked', 'shared') AS tracked,
	       EXISTS (SELECT 1 FROM beacon.bounces b
		       WHERE b.token_id = r.token_id AND b.hard) AS bounced
	FROM sel s
	JOIN beacon.recipients r ON r.message = s.id
), ev AS (
	SELECT t.grp, t.token_id, e.kind, e.class,
	       e.kind = 'reply'
	       OR e.class = ANY (string_to_array(:'classes', ','))
		       AND NOT (e.kind = 'click' AND e.link_n IS NOT DISTINCT FROM 0)
			   AS counted
	FROM rcpt t
	JOIN beacon.events e ON e.token_id = t.token_id
	WHERE t.tracked AND e.kind IN ('open', 'click', 'download', 'reply')
	  AND (beacon.report_late(:'late') OR NOT e.late)
), per_msg AS (
	SELECT grp, count(*) AS messages, min(sent_at) AS sent_at,
	       min(campaign) AS campaign, min(subject) AS subject
	FROM sel
	GROUP BY grp
), per_reply AS (
	SELECT s.grp, count(*) AS replies
	FROM sel s
	JOIN beacon.replies y ON y.message = s.id
	GROUP BY s.grp
), per_rcpt AS (
	-- a hard bounce of a recipient with a counted event does not count: the
	-- message reached them (the report was wrong, or late), so opened and
	-- bounced never overlap and open_rate stays within 100%
	SELECT t.grp, count(*) FILTER (WHERE t.tracked) AS recipients,
	       count(*) FILTER (WHERE NOT t.tracked) AS excluded_recipients,
	       count(*) FILTER (WHERE t.tracked AND t.bounced AND NOT EXISTS (
			SELECT 1 FROM ev WHERE ev.token_id = t.token_id AND ev.counted))
		       AS bounced
	FROM rcpt t
	GROUP BY t.grp
), per_ev AS (
	SELECT grp,
	       count(DISTINCT token_id) FILTER (WHERE counted) AS opened,
	       count(*) FILTER (WHERE counted AND kind = 'open') AS opens,
	       count(DISTINCT token_id)
		       FILTER (WHERE counted AND kind = 'click') AS clicked,
	       count(*) FILTER (WHERE counted AND kind = 'click') AS clicks,
	       count(DISTINCT token_id)
		       FILTER (WHERE counted AND kind = 'download') AS downloaded,
	       count(*) FILTER (WHERE counted AND kind = 'download') AS downloads,
	       count(DISTINCT token_id) FILTER (WHERE kind = 'reply') AS replied,
	       count(*) FILTER (WHERE NOT counted AND class = 'human') AS h,
	       count(*) FILTER (WHERE NOT counted AND class = 'proxy') AS p,
	       count(*) FILTER (WHERE NOT counted AND class = 'prefetch') AS pf,
	       count(*) FILTER (WHERE NOT counted AND class = 'scanner') AS sc,
	       count(*) FILTER (WHERE NOT counted AND class = 'internal') AS i,
	       count(*) FILTER (WHERE NOT counted AND class = 'sender') AS s,
	       count(*) FILTER (WHERE NOT counted AND class = 'bot') AS b
	FROM ev
	GROUP BY grp
)
SELECT CASE WHEN :'by' IN ('campaign', 'all') THEN NULL
	    ELSE m.grp::uuid END AS message,
       CASE WHEN :'by' = 'all' THEN NULL ELSE m.campaign END AS campaign,
       CASE WHEN :'by' IN ('campaign', 'all') THEN NULL
	    ELSE m.subject END AS subject,
       to_char(m.sent_at AT TIME ZONE :'tz', 'YYYY-MM-DD HH24:MI:SS')
	       AS sent_at,
       m.messages,
       coalesce(r.recipients, 0) AS recipients,
       coalesce(r.excluded_recipients, 0) AS excluded_recipients,
       coalesce(r.bounced, 0) AS bounced,
       coalesce(r.recipients - r.bounced, 0) AS delivered,
       coalesce(e.opened, 0) AS opened,
       round(100.0 * coalesce(e.opened, 0) / nullif(r.recipients - r.bounced, 0), 1)
	       AS open_rate,
       coalesce(e.opens, 0) AS opens,
       coalesce(e.clicked, 0) AS clicked,
       coalesce(e.clicks, 0) AS clicks,
       round(100.0 * e.clicked / nullif(e.opened, 0), 1) AS click_to_open,
       coalesce(e.downloaded, 0) AS downloaded,
       coalesce(e.downloads, 0) AS downloads,
       coalesce(e.replied, 0) AS replied,
       round(100.0 * coalesce(e.replied, 0) / nullif(r.recipients - r.bounced, 0), 1)
	       AS reply_rate,
       coalesce(y.replies, 0) AS replies,
       coalesce(e.h, 0) AS left_out_human,
       coalesce(e.p, 0) AS left_out_proxy,
       coalesce(e.pf, 0) AS left_out_prefetch,
       coalesce(e.sc, 0) AS left_out_scanner,
       coalesce(e.i, 0) AS left_out_internal,
       coalesce(e.s, 0) AS left_out_sender,
       coalesce(e.b, 0) AS left_out_bot
FROM per_msg m
LEFT JOIN per_rcpt r USING (grp)
LEFT JOIN per_ev e USING (grp)
LEFT JOIN per_reply y USING (grp)
ORDER BY m.sent_at, m.grp;
