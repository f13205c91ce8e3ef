-- NAME
--	inbound_latest.sql - the latest leads of each point of sale
--
-- ANSWERS
--	What came in lately: the newest "latest" messages received at each
--	point of sale's tracked addresses (beacon.inbound), newest first,
--	with where they came from.  A message that reached two tracked
--	addresses is a lead of each.
--
-- VARIABLES (all optional; psql -v NAME=VALUE)
--	latest         leads shown per point of sale       default 10
--	point_of_sale  only this point of sale             default '' (all)
--	source         only this source                    default '' (all)
--	since          received at or after since          default '-infinity'
--	until          received before until               default 'infinity'
--	tz             time zone of the at column, and of since and until
--	               (unless they name their own offset) default 'UTC'
--
-- EXAMPLE
--	psql -X -v latest=5 -v point_of_sale=Lyon -f sql/reports/inbound_latest.sql
--
-- OUTPUT
--	point_of_sale, at (YYYY-MM-DD HH:MM:SS in tz), source, sender_domain
--	(the original sender's), subject, forward (true: a forwarded lead,
--	counted for its original sender), address (the tracked address),
--	owner, message_id (without <>); sorted by point_of_sale, then newest
--	first.
\ir _defaults.psql
\if :{?latest} \else \set latest 10 \endif
\if :{?point_of_sale} \else \set point_of_sale '' \endif
\if :{?source} \else \set source '' \endif

SELECT point_of_sale, to_char(at AT TIME ZONE :'tz', 'YYYY-MM-DD HH24:MI:SS') AS at, source,
       sender_domain, subject, forward, address, owner, message_id
FROM (
	SELECT i.*, row_number() OVER (PARTITION BY i.point_of_sale
				       ORDER BY i.at DESC, i.id DESC) AS n
	FROM beacon.inbound i
	WHERE i.at >= beacon.report_time(:'since', :'tz')
	  AND i.at < beacon.report_time(:'until', :'tz')
	  AND (:'point_of_sale' = '' OR i.point_of_sale = :'point_of_sale')
	  AND (:'source' = '' OR i.source = :'source')
) l
WHERE n <= (:'latest')::int
ORDER BY point_of_sale, l.at DESC, l.id DESC;
