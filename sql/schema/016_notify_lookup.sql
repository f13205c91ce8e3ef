-- 016_notify_lookup.sql - beacon-notify's look-up of a queued event by its token
--
-- DESCRIPTION
--	notify_event_drop(token_id, at, kind, link_n): why a queued event no
--	longer notifies: NULL while one of its stored rows (same token, time,
--	kind and link) is human or proxy, else 'reclassified as <class>'
--	(beacon-pixelsrv's click-burst and honeypot rules turn clicks into
--	scanner after the COPY).  beacon-notify calls it for every delivery
--	it claims; it held the same query inline before.
--
--	Why a function: the look-up must probe events_token and nothing
--	else.  Inline, the planner chose by the statistics of the events
--	partition, and two cases went wrong.  After ANALYZE saw one token
--	dominate a partition (a load from one pixel, a scanner on one token;
--	the rows since TRUNCATEd or deleted), "token_id = $1" is estimated
--	to match every row: the plan read the partition, or events_at_brin's
--	lossy ranges on "at = $2" (every page holding the event's time:
--	20 000 rows filtered per delivery in the notifier's benchmark after
--	its pixel section).  On a large partition with good statistics it
--	ANDed events_token with events_at_brin, whose ranges no VACUUM has
--	summarized yet (the newest, where the queued events are) all match:
--	with 5 million events stored since the last VACUUM, 4 ms per
--	delivery.  The function forbids sequential and bitmap scans for its
--	one statement (SET below), so only plain index scans are left:
--	events_token, a BRIN index cannot do one.  The event's time still
--	prunes partitions at run time (one month's index probed).  The cost
--	is the token's events in that month, whatever the size of the table
--	or its statistics: the benchmark's PostgreSQL CPU per delivery went
--	from 4 095 to 376 us with 5 million other events in the partition,
--	and from 482 to 376 us without them.
--
--	Locks and cost: none beyond the catalog (a new function); nothing
--	changes for ingest.  beacon_notify may EXECUTE it; it reads the
--	columns of events that role was granted in 013_notify.sql (the
--	function runs as the caller).

-- notify_event_drop - NULL while the stored event is still counted (some row
-- of it human or proxy), else why its deliveries are dropped; also NULL when
-- no row is stored (the notifier then notifies, as before)
CREATE OR REPLACE FUNCTION beacon.notify_event_drop(ev_token uuid, ev_at timestamptz,
	ev_kind text, ev_link_n int)
RETURNS text
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
SET enable_bitmapscan = off
AS $$
	SELECT CASE WHEN bool_or(e.class IN ('human', 'proxy')) THEN NULL
		    ELSE 'reclassified as ' || min(e.class) END
	FROM beacon.events e
	WHERE e.token_id = ev_token AND e.at = ev_at AND e.kind = ev_kind
	  AND e.link_n IS NOT DISTINCT FROM ev_link_n
$$;

REVOKE ALL ON FUNCTION beacon.notify_event_drop(uuid, timestamptz, text, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION beacon.notify_event_drop(uuid, timestamptz, text, int)
	TO beacon_notify;
