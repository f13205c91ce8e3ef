-- 006_engagement.sql - why an event is not counted: reasons, bots, late events
--
-- DESCRIPTION
--	events gains
--	  reason  text: why the event has its class (a code of
--	          event_reasons, or 'list:<id>' for a rule of machines.yaml);
--	          NULL for a plain human
--	  hints   smallint NOT NULL DEFAULT 0: the request bits the pixel
--	          server recorded (0x08 HEAD, 0x10 no Accept, 0x20 no
--	          Accept-Language ...), kept so that beaconctl reclassify can
--	          run the rules again
--	  late    boolean NOT NULL DEFAULT false: the event came more than
--	          count_window_days after sent_at (class unchanged)
--	and its class CHECK gains 'bot'.  beacon-pixelsrv COPYs these three
--	columns after class.  A column with a constant default costs no
--	rewrite; the new CHECK is validated once over every partition.
--
--	Locks: beaconctl migrate runs this file in one transaction, and
--	the ADD COLUMNs and the DROP/ADD of the class CHECK take ACCESS
--	EXCLUSIVE on events and every partition, held to the commit.
--	Then come, under that lock, three reads of every event: the
--	VALIDATE of the CHECK, the build of events_honeypot (SHARE lock)
--	and the fill of scanner_marks.  Until the commit no event is
--	written (beacon-pixelsrv spools them) and no report runs.  On a
--	large 0.1 database migrate in a quiet hour; the time is about
--	that of three sequential scans of events.
--
--	event_reasons lists the fixed reason codes, their class and what
--	they mean, for the reports and for people (SELECT to beacon_reader).
--
--	scanner_marks holds, per message, the address and User-Agent of
--	every honeypot hit (a click on link 0): the scanners that fetched
--	it.  classify_followup adds the marks and reads them, so that a
--	call costs per new mark and per token it is given, never per size
--	of the message (SELECT to beacon_reader; rows go with their
--	message).
--
--	Functions for beacon-pixelsrv (SECURITY DEFINER, search_path pinned,
--	EXECUTE for beacon_pixelsrv only; it still cannot read addresses nor
--	update events itself):
--	  recipient_facts(ids uuid[])   what the per-event rules need of
--	      each token's message
--	  classify_followup(ids uuid[], burst_seconds int)   the rules that
--	      span several events: honeypot-peer, click-burst and the
--	      reversal of datacenter-early
--	and for the reports (plain, any reader):
--	  report_late(late text)   the report variable late checked
--
--	Both pixel server functions reach events through events_token (or
--	events_honeypot), bounded below by sent_at - 1 day so that only the
--	partitions from the message's month on are probed: no call reads
--	events of other messages, and every token of a message (through
--	recipients_message) only when it gets one of its first 20 marks,
--	and then only the events within 10 minutes of the hit.  They run with
--	hash and merge joins off, as events_notify does: a message with
--	10,000 recipients is a large share of a small or young events
--	table, and a hash join would then read the whole of it, on every
--	batch.

ALTER TABLE beacon.events ADD COLUMN IF NOT EXISTS reason text;
ALTER TABLE beacon.events ADD COLUMN IF NOT EXISTS hints smallint NOT NULL DEFAULT 0;
ALTER TABLE beacon.events ADD COLUMN IF NOT EXISTS late boolean NOT NULL DEFAULT false;

-- The class CHECK sits on the partitioned parent; every partition
-- (DEFAULT included, attached ones too) holds an inherited copy, which
-- dropping the parent's drops.  A class check that a partition holds on
-- its own (made by hand, or by table inheritance) would still refuse
-- 'bot', so it goes as well.  The new CHECK is added NOT VALID (no
-- scan) and then validated: VALIDATE reaches every partition and checks
-- the rows already there, once, under SHARE UPDATE EXCLUSIVE only.  In
-- this one transaction the ACCESS EXCLUSIVE of the ADD is still held
-- (see the top); run by hand in two transactions, writes would go on
-- during the scan.  Nothing is dropped or added when the parent's check
-- allows 'bot' already; VALIDATE of a valid check reads nothing.
DO $$
DECLARE
	c record;
BEGIN
	IF EXISTS (SELECT 1 FROM pg_constraint
		   WHERE conrelid = 'beacon.events'::regclass AND contype = 'c'
		     AND conname = 'events_class_check'
		     AND pg_get_constraintdef(oid) LIKE '%''bot''%') THEN
		RETURN;
	END IF;
	FOR c IN
		SELECT conname FROM pg_constraint
		WHERE conrelid = 'beacon.events'::regclass AND contype = 'c'
		  AND conkey = ARRAY[(SELECT attnum FROM pg_attribute
				      WHERE attrelid = 'beacon.events'::regclass
					AND attname = 'class')]
	LOOP
		EXECUTE format('ALTER TABLE beacon.events DROP CONSTRAINT %I', c.conname);
	END LOOP;
	FOR c IN
		SELECT k.conrelid::regclass AS rel, k.conname
		FROM pg_partition_tree('beacon.events') t
		JOIN pg_constraint k ON k.conrelid = t.relid AND k.contype = 'c'
		JOIN pg_attribute a ON a.attrelid = t.relid AND a.attname = 'class'
		WHERE t.relid <> 'beacon.events'::regclass AND k.conkey = ARRAY[a.attnum]
	LOOP
		EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', c.rel, c.conname);
	END LOOP;
	ALTER TABLE beacon.events ADD CONSTRAINT events_class_check
		CHECK (class IN ('human', 'proxy', 'prefetch', 'scanner',
				 'internal', 'sender', 'bot')) NOT VALID;
END
$$;
ALTER TABLE beacon.events VALIDATE CONSTRAINT events_class_check;

-- Honeypot hits (clicks on link 0) by token: classify_followup looks for
-- them among the tokens it is given, most of which (every click's token)
-- have none.  By events_token each token would fetch every event it has
-- (opens, clicks, all from the heap) to find, mostly, nothing.  This
-- partial index holds the honeypot hits only: a probe that finds nothing
-- reads one small index page and no heap, and ingest pays for it only
-- when a hit is written.  The fill of scanner_marks below reads it too.
CREATE INDEX IF NOT EXISTS events_honeypot ON beacon.events (token_id)
	WHERE kind = 'click' AND link_n = 0;

-- scanner_marks - one row per (message, ip, user_agent) of a honeypot hit
-- on the message; first_at is when the hit that added it came (the
-- earliest of the batch): classify_followup moves the events of the
-- mark's address and User-Agent within 10 minutes of it only.  NULLs are equal (NULLS NOT DISTINCT, since
-- PostgreSQL 15): a hit without User-Agent marks the events without one,
-- once.  User-Agents are at most 512 bytes (beacon-pixelsrv keeps no
-- more), well within a btree entry.  Only classify_followup writes it.
-- Its rows go with their message (ON DELETE CASCADE: beaconctl purge);
-- apply_retention and beaconctl export --purge remove events, not
-- messages, and a mark stays true of its message when its hit is gone.
CREATE TABLE IF NOT EXISTS beacon.scanner_marks (
	message    uuid NOT NULL REFERENCES beacon.messages (id) ON DELETE CASCADE,
	ip         inet,
	user_agent text,
	first_at   timestamptz NOT NULL,
	CONSTRAINT scanner_marks_key UNIQUE NULLS NOT DISTINCT (message, ip, user_agent)
);

REVOKE ALL ON beacon.scanner_marks FROM PUBLIC;
GRANT SELECT ON beacon.scanner_marks TO beacon_reader;

-- The honeypot hits stored before this table (a hit whose token has no
-- recipients row yet is marked when a call is given its token).
INSERT INTO beacon.scanner_marks (message, ip, user_agent, first_at)
SELECT r.message, e.ip, e.user_agent, min(e.at)
FROM beacon.events e
JOIN beacon.recipients r ON r.token_id = e.token_id
WHERE e.kind = 'click' AND e.link_n = 0
GROUP BY r.message, e.ip, e.user_agent
ON CONFLICT (message, ip, user_agent) DO NOTHING;

-- The fixed reason codes.  'list:' stands for every list:<id>: a rule of
-- machines.yaml with that id matched; the class is the rule's.
CREATE TABLE IF NOT EXISTS beacon.event_reasons (
	reason      text PRIMARY KEY,
	class       text CHECK (class IN ('human', 'proxy', 'prefetch', 'scanner',
					  'internal', 'sender', 'bot')),
	description text NOT NULL
);

INSERT INTO beacon.event_reasons (reason, class, description) VALUES
('honeypot', 'scanner',
 'the hidden link (link number 0), which no person can see or follow, was requested'),
('honeypot-peer', 'scanner',
 'same address and User-Agent as a honeypot hit on the same message, within 10 minutes before or after it; never a proxy or Apple MPP event'),
('internal-network', 'internal',
 'the address is in internal_networks'),
('sender-address', 'sender',
 'the address is the one that submitted the message (messages.client_ip)'),
('head-request', 'scanner',
 'an HTTP HEAD request: browsers and mail clients send GET'),
('no-browser-headers', 'scanner',
 'a click without Accept or without Accept-Language, which browsers always send'),
('proxy-ua', 'proxy',
 'the User-Agent of a webmail image proxy (mail-clients.yaml, class proxy): a real open, no true place'),
('apple-mpp', 'prefetch',
 'Apple Mail Privacy Protection fetched the images (apple_relay_ranges): not an open'),
('early-click', 'scanner',
 'a click less than scanner_click_seconds after the message was sent'),
('click-burst', 'scanner',
 'one address clicked distinct links of one recipient''s copy within click_burst_seconds: every link of a message with 2 or 3, else at least 3 and at least half of them'),
('datacenter-early', 'prefetch',
 'an open from a datacenter network less than machine_open_seconds after sending, with no later human event from that address for that recipient'),
('bot-ua', 'bot',
 'the User-Agent of a generic HTTP library or crawler'),
('list:', NULL,
 'list:<id>: the rule <id> of machines.yaml matched; the class is the rule''s')
ON CONFLICT (reason) DO UPDATE
	SET class = EXCLUDED.class, description = EXCLUDED.description;

REVOKE ALL ON beacon.event_reasons FROM PUBLIC;
GRANT SELECT ON beacon.event_reasons TO beacon_reader;

-- recipient_facts - for each token of ids that has a recipients row: its
-- message, sent_at, the submitting client, the number of links (n > 0),
-- whether the message has a scanner mark (a honeypot hit on any of its
-- tokens, see scanner_marks) and until when an event may still be a
-- marked scanner's (the latest mark's first_at + 10 minutes, the window
-- of honeypot-peer; NULL without marks): the pixel server hands later
-- events of the message to classify_followup only until then.  Tokens
-- without a row give no row.
CREATE OR REPLACE FUNCTION beacon.recipient_facts(ids uuid[])
RETURNS TABLE (token_id uuid, message uuid, sent_at timestamptz,
	       client_ip inet, links int, marked boolean, marked_until timestamptz)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
	WITH msg AS (
		SELECT DISTINCT r.message
		FROM beacon.recipients r
		WHERE r.token_id = ANY (recipient_facts.ids)
	), facts AS (
		SELECT m.id, m.sent_at, m.client_ip,
		       (SELECT count(*)::int FROM beacon.links l
			WHERE l.message = m.id AND l.n > 0) AS links,
		       EXISTS (SELECT 1 FROM beacon.scanner_marks k
			       WHERE k.message = m.id) AS marked,
		       (SELECT max(k.first_at) + interval '10 minutes'
			FROM beacon.scanner_marks k
			WHERE k.message = m.id) AS marked_until
		FROM msg
		JOIN beacon.messages m ON m.id = msg.message
	)
	SELECT r.token_id, f.id, f.sent_at, f.client_ip, f.links, f.marked, f.marked_until
	FROM beacon.recipients r
	JOIN facts f ON f.id = r.message
	WHERE r.token_id = ANY (recipient_facts.ids)
$$;

-- classify_followup - the rules that look at several events, for the
-- tokens ids; moves events and returns what moved, one row per
-- (old_class, new_class, reason).  In this order:
--
--   honeypot-peer  an open, click or download of a message from the same
--     ip and user_agent (IS NOT DISTINCT FROM) as a honeypot hit (a click
--     on link 0) on the message, within 10 minutes before or after the
--     mark's first_at, of class human or bot, or prefetch with reason
--     datacenter-early: scanner.  Earlier and later events, of every
--     token of the message: a hit marks what its scanner fetched before
--     it too.  Never class proxy (webmail image proxies are pools shared
--     by all their readers, with one User-Agent) nor prefetch apple-mpp
--     (Apple's relays, shared too): a hit that carries their address and
--     User-Agent says nothing of the other readers behind them.
--     The window: scanners fetch a message in a burst, seconds to
--     minutes after delivery.  An address and User-Agent seen again days
--     later is as likely a person behind the same NAT (an office sends
--     one Outlook User-Agent from one address) as the scanner back; a
--     scanner that does come back hits link 0 again, and that hit
--     moves its own token's events within the window of it (the third
--     branch of step 2), not the other tokens'.  10 minutes, for the pass over
--     the message and for step 2 alike, so that when an event moves does
--     not depend on which call saw it first.  In two steps:
--     1. the hits of the tokens of ids not yet in scanner_marks become
--        marks; each of the first 20 marks of a message reads every
--        token of the message, once, for the events of the mark within
--        the window (events_token with the at bounds: one index probe
--        per token, in the partitions of the window).  A mark after the
--        20th is added without that pass: the User-Agent is the
--        client's choice, and anyone holding one token could otherwise
--        make a pass over a whole campaign per request;
--     2. the events of the tokens of ids are looked up in the marks of
--        their message (by scanner_marks_key; no mark, no read).
--     A later hit of a scanner already marked adds nothing and reads
--     nothing more: its own events are in ids, and step 2 finds them.
--   click-burst  for the tokens of ids: the clicks on links (n > 0) of one
--     token from one ip of which, within burst_seconds, at least
--     greatest(2, least(links, greatest(3, ceil(links / 2)))) distinct
--     links were clicked (links: the message's links with n > 0; every
--     link of a message with 2 or 3, half of a long one: a person who
--     opens three articles of a newsletter in tabs is no burst); those of
--     class human, proxy, bot or prefetch: scanner.  burst_seconds
--     NULL or below 1 turns the rule off.  Windows over the clicks of each
--     (token, ip), in time order, and only over those with another within
--     burst_seconds: the work grows with the clicks of ids, not with their
--     square.
--   datacenter-early reversal  for the tokens of ids: an open of class
--     prefetch, reason datacenter-early, with a later human event of its
--     token from its ip: human, reason NULL.  The later event is the news,
--     and it comes with its token in ids.
--
-- Idempotent: what moved no longer matches and a mark is added once, so a
-- second call moves nothing.  Events are read from sent_at - 1 day on
-- (clock skew allowed), so older partitions are not probed; every UPDATE
-- matches e.at as well as the row, so that run-time pruning leaves one
-- partition to probe.  Two callers adding the same mark at once: the
-- second waits for the first, and its step 2, a later statement, sees the
-- mark.  Two callers adding different marks of one message at once may
-- each count the other's as absent: the cap of 20 is then exceeded by
-- the few that race.
CREATE OR REPLACE FUNCTION beacon.classify_followup(ids uuid[], burst_seconds int)
RETURNS TABLE (old_class text, new_class text, reason text, n bigint)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
#variable_conflict use_column
DECLARE
	-- the marks just added that get the pass over their message
	fresh beacon.scanner_marks[];
	win CONSTANT interval := interval '10 minutes';
BEGIN
	-- honeypot-peer, 1: the new marks (in key order: concurrent callers
	-- lock them in the same order); nth counts the message's marks, the
	-- ones already there (at most 20 read) and then the new ones
	WITH hit AS (
		SELECT r.message, e.ip, e.user_agent, min(e.at) AS first_at
		FROM beacon.recipients r
		JOIN beacon.messages m ON m.id = r.message
		JOIN beacon.events e ON e.token_id = r.token_id
		WHERE r.token_id = ANY (classify_followup.ids)
		  AND e.kind = 'click' AND e.link_n = 0
		  AND e.at >= m.sent_at - interval '1 day'
		GROUP BY r.message, e.ip, e.user_agent
	), added AS (
		INSERT INTO beacon.scanner_marks AS k (message, ip, user_agent, first_at)
		SELECT hit.message, hit.ip, hit.user_agent, hit.first_at
		FROM hit
		ORDER BY hit.message, hit.ip, hit.user_agent
		ON CONFLICT (message, ip, user_agent) DO NOTHING
		RETURNING k.message, k.ip, k.user_agent, k.first_at
	), counted AS (
		SELECT a.*,
		       (SELECT count(*) FROM (SELECT 1 FROM beacon.scanner_marks k
					     WHERE k.message = a.message LIMIT 20) o)
		       + row_number() OVER (PARTITION BY a.message
					    ORDER BY a.ip, a.user_agent) AS nth
		FROM added a
	)
	SELECT array_agg(ROW(c.message, c.ip, c.user_agent, c.first_at)::beacon.scanner_marks)
	INTO fresh
	FROM counted c
	WHERE c.nth <= 20;

	-- honeypot-peer, 2: the events of every token of the messages of
	-- the fresh marks near those marks, and the events of the tokens of
	-- ids against the marks of their message: by the key, and by IS NOT
	-- DISTINCT FROM only for an event without address or User-Agent
	RETURN QUERY
	WITH cand AS (
		SELECT e.tableoid AS tbl, e.ctid AS row_id, e.token_id, e.at, e.class
		FROM unnest(fresh) f
		JOIN beacon.recipients p ON p.message = f.message
		JOIN beacon.events e ON e.token_id = p.token_id
		WHERE e.at BETWEEN f.first_at - win AND f.first_at + win
		  AND e.ip IS NOT DISTINCT FROM f.ip
		  AND e.user_agent IS NOT DISTINCT FROM f.user_agent
		  AND e.kind IN ('open', 'click', 'download')
		  AND NOT (e.kind = 'click' AND e.link_n = 0)
		  AND (e.class IN ('human', 'bot')
		       OR (e.class = 'prefetch' AND e.reason = 'datacenter-early'))
		UNION
		SELECT e.tableoid, e.ctid, e.token_id, e.at, e.class
		FROM beacon.recipients r
		JOIN beacon.messages m ON m.id = r.message
		JOIN beacon.events e ON e.token_id = r.token_id
		WHERE r.token_id = ANY (classify_followup.ids)
		  AND EXISTS (SELECT 1 FROM beacon.scanner_marks k
			      WHERE k.message = r.message)
		  AND e.at >= m.sent_at - interval '1 day'
		  AND e.kind IN ('open', 'click', 'download')
		  AND NOT (e.kind = 'click' AND e.link_n = 0)
		  AND (e.class IN ('human', 'bot')
		       OR (e.class = 'prefetch' AND e.reason = 'datacenter-early'))
		  AND (EXISTS (SELECT 1 FROM beacon.scanner_marks k
			       WHERE k.message = r.message AND k.ip = e.ip
				 AND k.user_agent = e.user_agent
				 AND e.at BETWEEN k.first_at - win AND k.first_at + win)
		       OR ((e.ip IS NULL OR e.user_agent IS NULL)
			   AND EXISTS (SELECT 1 FROM beacon.scanner_marks k
				       WHERE k.message = r.message
					 AND k.ip IS NOT DISTINCT FROM e.ip
					 AND k.user_agent IS NOT DISTINCT FROM e.user_agent
					 AND e.at BETWEEN k.first_at - win
						      AND k.first_at + win)))
		UNION
		-- a scanner back later (its mark keeps its first time): its new
		-- hit moves its own token's events near it (events_honeypot)
		SELECT e.tableoid, e.ctid, e.token_id, e.at, e.class
		FROM beacon.events h
		JOIN beacon.events e ON e.token_id = h.token_id
		WHERE h.token_id = ANY (classify_followup.ids)
		  AND h.kind = 'click' AND h.link_n = 0
		  AND e.at BETWEEN h.at - win AND h.at + win
		  AND e.ip IS NOT DISTINCT FROM h.ip
		  AND e.user_agent IS NOT DISTINCT FROM h.user_agent
		  AND e.kind IN ('open', 'click', 'download')
		  AND NOT (e.kind = 'click' AND e.link_n = 0)
		  AND (e.class IN ('human', 'bot')
		       OR (e.class = 'prefetch' AND e.reason = 'datacenter-early'))
	), moved AS (
		UPDATE beacon.events e
		SET class = 'scanner', reason = 'honeypot-peer'
		FROM cand c
		WHERE e.token_id = c.token_id AND e.at = c.at
		  AND e.tableoid = c.tbl AND e.ctid = c.row_id
		RETURNING c.class AS old_class
	)
	SELECT moved.old_class, 'scanner'::text, 'honeypot-peer'::text, count(*)
	FROM moved
	GROUP BY moved.old_class;

	-- click-burst
	IF classify_followup.burst_seconds >= 1 THEN
		RETURN QUERY
		WITH tok AS MATERIALIZED (	-- the links a burst needs, once per token
			SELECT r.token_id, m.sent_at,
			       greatest(2, least(l.links,
						 greatest(3, ceil(l.links / 2.0)::int))) AS need
			FROM beacon.recipients r
			JOIN beacon.messages m ON m.id = r.message
			CROSS JOIN LATERAL (SELECT count(*)::int AS links
					    FROM beacon.links l
					    WHERE l.message = m.id AND l.n > 0) l
			WHERE r.token_id = ANY (classify_followup.ids)
		), clk AS (
			SELECT e.tableoid AS tbl, e.ctid AS row_id, e.token_id,
			       e.ip, e.at, e.link_n, e.class, t.need
			FROM tok t
			JOIN beacon.events e ON e.token_id = t.token_id
			WHERE e.kind = 'click' AND e.link_n > 0
			  AND e.at >= t.sent_at - interval '1 day'
		), near AS (		-- a click alone in its window is in no burst
			SELECT c.*
			FROM (SELECT c.*,
				     lag(c.at) OVER w AS prev_at, lead(c.at) OVER w AS next_at
			      FROM clk c
			      WINDOW w AS (PARTITION BY c.token_id, c.ip ORDER BY c.at)) c
			WHERE c.prev_at >= c.at - make_interval(secs => classify_followup.burst_seconds)
			   OR c.next_at <= c.at + make_interval(secs => classify_followup.burst_seconds)
		), ahead AS (		-- the links of [at, at + burst_seconds]
			SELECT c.*, array_agg(c.link_n) OVER (
				PARTITION BY c.token_id, c.ip ORDER BY c.at
				RANGE BETWEEN CURRENT ROW AND make_interval(
					secs => classify_followup.burst_seconds) FOLLOWING) AS links
			FROM near c
		), start AS (		-- does a burst start here?
			SELECT a.*, (SELECT count(DISTINCT x) FROM unnest(a.links) AS x)
				    >= a.need AS opens
			FROM ahead a
		), inside AS (		-- did one start within burst_seconds before?
			SELECT s.tbl, s.row_id, s.token_id, s.at, s.class, bool_or(s.opens) OVER (
				PARTITION BY s.token_id, s.ip ORDER BY s.at
				RANGE BETWEEN make_interval(
					secs => classify_followup.burst_seconds) PRECEDING
				AND CURRENT ROW) AS in_burst
			FROM start s
		), cand AS (
			SELECT i.tbl, i.row_id, i.token_id, i.at, i.class
			FROM inside i
			WHERE i.in_burst
			  AND i.class IN ('human', 'proxy', 'bot', 'prefetch')
		), moved AS (
			UPDATE beacon.events e
			SET class = 'scanner', reason = 'click-burst'
			FROM cand c
			WHERE e.token_id = c.token_id AND e.at = c.at
			  AND e.tableoid = c.tbl AND e.ctid = c.row_id
			RETURNING c.class AS old_class
		)
		SELECT moved.old_class, 'scanner'::text, 'click-burst'::text, count(*)
		FROM moved
		GROUP BY moved.old_class;
	END IF;

	-- datacenter-early reversal
	RETURN QUERY
	WITH cand AS (
		SELECT e.tableoid AS tbl, e.ctid AS row_id, e.token_id, e.at, e.class
		FROM beacon.recipients r
		JOIN beacon.messages m ON m.id = r.message
		JOIN beacon.events e ON e.token_id = r.token_id
		WHERE r.token_id = ANY (classify_followup.ids)
		  AND e.at >= m.sent_at - interval '1 day'
		  AND e.kind = 'open' AND e.class = 'prefetch'
		  AND e.reason = 'datacenter-early'
		  AND EXISTS (SELECT 1 FROM beacon.events h
			      WHERE h.token_id = e.token_id
				AND h.at > e.at
				AND h.class = 'human'
				AND h.kind IN ('open', 'click', 'download')
				AND h.ip IS NOT DISTINCT FROM e.ip)
	), moved AS (
		UPDATE beacon.events e
		SET class = 'human', reason = NULL
		FROM cand c
		WHERE e.token_id = c.token_id AND e.at = c.at
		  AND e.tableoid = c.tbl AND e.ctid = c.row_id
		RETURNING c.class AS old_class
	)
	SELECT moved.old_class, 'human'::text, NULL::text, count(*)
	FROM moved
	GROUP BY moved.old_class;
END
$$;

REVOKE ALL ON FUNCTION beacon.recipient_facts(uuid[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION beacon.classify_followup(uuid[], int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION beacon.recipient_facts(uuid[]) TO beacon_pixelsrv;
GRANT EXECUTE ON FUNCTION beacon.classify_followup(uuid[], int) TO beacon_pixelsrv;

-- report_late - whether a report counts late events: true for the report
-- variable late = 'include', false for 'exclude', an error otherwise (a
-- typo must not change the figures silently).  Immutable: with a constant
-- argument the planner calls it once, when it plans the report.
CREATE OR REPLACE FUNCTION beacon.report_late(late text)
RETURNS boolean
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF late = 'include' THEN
		RETURN true;
	ELSIF late = 'exclude' THEN
		RETURN false;
	END IF;
	RAISE EXCEPTION 'late must be include or exclude, not ''%''', late
		USING ERRCODE = 'invalid_parameter_value';
END
$$;
