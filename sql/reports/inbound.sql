-- NAME
--	inbound.sql - leads received per point of sale and source, per day, week or month
--
-- ANSWERS
--	How many messages reached each point of sale's tracked addresses,
--	from each source (a portal, the agency's web site: the rules of
--	beacon.inbound_sources; 'other' when none matched), in each period,
--	and how that compares with the period before.  One message counts
--	once per tracked address it reached (beacon.inbound).  A row is shown
--	for every period with leads, and for the period after the last one
--	with leads (leads 0, the drop), unless that period is still to come.
--	Periods are whole: since and until select the periods that begin in
--	the window, and since is rounded down to the start of its period.
--	Weeks begin on Monday; days, weeks and months are those of tz, and
--	since and until are times in tz too (unless they name their own
--	offset).  The period that holds now is not over: its complete is
--	false, and its change compares part of a period with a whole one.
--
-- VARIABLES (all optional; psql -v NAME=VALUE)
--	period         day|week|month                      default 'day'
--	point_of_sale  only this point of sale             default '' (all)
--	source         only this source                    default '' (all)
--	since          periods beginning at or after since default '-infinity'
--	until          periods beginning before until      default 'infinity'
--	tz             time zone of the periods            default 'UTC'
--
-- EXAMPLE
--	psql -X -v period=week -v since=2026-01-01 -f sql/reports/inbound.sql
--
-- OUTPUT
--	period (its first day, YYYY-MM-DD in tz), point_of_sale, source,
--	leads (messages received in the period), previous (in the period
--	before), change (leads - previous), change_pct (% of previous, NULL
--	when previous is 0), complete (false for the period that holds now,
--	still under way); sorted by period, point_of_sale, source.
\ir _defaults.psql
\if :{?period} \else \set period 'day' \endif
\if :{?point_of_sale} \else \set point_of_sale '' \endif
\if :{?source} \else \set source '' \endif

WITH p AS (
	SELECT beacon.report_period(:'period') AS unit,
	       ('1 ' || beacon.report_period(:'period'))::interval AS step,
	       date_trunc(beacon.report_period(:'period'),
			  beacon.report_time(:'since', :'tz') AT TIME ZONE :'tz') AS lo,
	       beacon.report_time(:'until', :'tz') AT TIME ZONE :'tz' AS hi,
	       date_trunc(beacon.report_period(:'period'), now() AT TIME ZONE :'tz') AS cur
), counts AS (
	SELECT i.point_of_sale, i.source,
	       date_trunc(p.unit, i.at AT TIME ZONE :'tz') AS period, count(*) AS leads
	FROM beacon.inbound i, p
	WHERE i.at >= (p.lo - p.step) AT TIME ZONE :'tz'
	  AND i.at < (date_trunc(p.unit, p.hi) + p.step) AT TIME ZONE :'tz'
	  AND (:'point_of_sale' = '' OR i.point_of_sale = :'point_of_sale')
	  AND (:'source' = '' OR i.source = :'source')
	GROUP BY 1, 2, 3
), prev AS (
	SELECT c.point_of_sale, c.source, c.period + p.step AS period, c.leads AS previous
	FROM counts c, p
)
SELECT to_char(period, 'YYYY-MM-DD') AS period, point_of_sale, source,
       coalesce(c.leads, 0) AS leads,
       coalesce(v.previous, 0) AS previous,
       coalesce(c.leads, 0) - coalesce(v.previous, 0) AS change,
       round(100.0 * (coalesce(c.leads, 0) - v.previous) / nullif(v.previous, 0), 1)
	       AS change_pct,
       period < p.cur AS complete
FROM counts c
FULL JOIN prev v USING (point_of_sale, source, period)
CROSS JOIN p
WHERE period >= p.lo AND period < p.hi AND period <= p.cur
ORDER BY period, point_of_sale, source;
