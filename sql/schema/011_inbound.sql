-- 011_inbound.sql - mail received at tracked addresses: leads per point of sale
--
-- DESCRIPTION
--	An agency gives each point of sale a tracked address, puts it in copy
--	on listing portals or forwards its incoming leads to it; beacon-milter
--	on the MX ([milter] inbound = yes) records each message received
--	there.  Such a message carries no token, so it is not an event of
--	beacon.events (whose rows are keyed by token): it is a row of
--	beacon.inbound.
--
--	tracked_inbound (address, point_of_sale, owner, active, added_at):
--	    the tracked addresses, in the one form of lib/address.c (what
--	    beaconctl inbound add and import write; the CHECK keeps them lower
--	    case).  An inactive address is kept (its rows stay named) but
--	    records nothing.  Every statement that changes a row sends NOTIFY
--	    beacon_inbound (empty payload, once per transaction):
--	    beacon-milter reloads its in-memory set of addresses.
--	inbound_sources (id, priority, field, pattern, source): the rules
--	    that name where a message came from (a portal, the agency's web
--	    site).  field is
--	      domain    the original sender's domain is PATTERN or a
--	                subdomain of it (case-insensitive);
--	      from      the original From address,
--	      reply_to  the original Reply-To address,
--	      list_id   the List-Id value without <>,
--	                matched by PATTERN as a case-insensitive glob: *
--	                any characters, ? one (no other character is special).
--	    The rule of lowest priority, then lowest id, that matches names
--	    the source; no rule matching gives 'other'.  The rules are read
--	    by each call of inbound_mail(): a change applies to the next
--	    message, without a reload.
--	inbound (id, at, address, point_of_sale, owner, source,
--	    sender_domain, subject, message_id, size, forward, queue_id):
--	    one row per message and tracked address; point_of_sale and owner
--	    are copied from tracked_inbound when the row is written (a later
--	    change of the address's point of sale does not rewrite history).
--	    message_id is stored without <>; (address, message_id) is unique,
--	    so a message that reaches one address twice (in copy and
--	    forwarded with its Message-ID, or a spool replayed) counts once.
--	    A message without Message-ID counts once per (address, queue id),
--	    a missing queue id counting as one value (a replay of such a
--	    message adds nothing).  A Message-ID over 250 characters counts
--	    as none (an index entry could not hold it).
--
--	inbound_mail(at, addresses, message_id, sender_domain, from,
--	    reply_to, list_id, subject, size, forward, queue_id) - for
--	    beacon-milter's store (SECURITY DEFINER, search_path pinned,
--	    EXECUTE for beacon_milter only).  For each of ADDRESSES (envelope
--	    recipients, in their one form) that is an active tracked
--	    address: one inbound row, its source from the rules on the
--	    ORIGINAL sender (FROM and SENDER_DOMAIN are the forwarded
--	    message's when FORWARD).  Returns the rows added; a second call
--	    with the same arguments adds none.
--	inbound_source_rule(sender_domain, from, reply_to, list_id) - the id
--	    of the rule that matches, NULL for none (plain, any reader:
--	    beaconctl inbound source test).
--	inbound_source(sender_domain, from, reply_to, list_id) - the source
--	    that rule names, 'other' for none.
--	report_period(period) - the report variable period checked: day,
--	    week or month, an error otherwise (as report_late in 006).
--	report_time(value, tz) - the report variable since or until read as
--	    a time in the zone TZ (a value that names its own offset keeps
--	    it), whatever the session's TimeZone.
--	purge_before() (009) now also deletes the inbound rows received
--	    before the cutoff (relation 'inbound' in its result).
--
--	Grants: beacon_milter EXECUTE on inbound_mail, SELECT on
--	tracked_inbound (its set of addresses); beacon_reader SELECT on the
--	three tables.
--
--	Locks: CREATE TABLE and CREATE FUNCTION only; nothing is read or
--	rewritten.  Cost: none.

CREATE TABLE IF NOT EXISTS beacon.tracked_inbound (
	address       text PRIMARY KEY CHECK (address = lower(address)),
	point_of_sale text NOT NULL CHECK (point_of_sale <> ''),
	owner         text,
	active        boolean NOT NULL DEFAULT true,
	added_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS beacon.inbound_sources (
	id       serial PRIMARY KEY,
	priority int NOT NULL DEFAULT 100,
	field    text NOT NULL CHECK (field IN ('domain', 'from', 'reply_to', 'list_id')),
	pattern  text NOT NULL CHECK (pattern <> ''),
	source   text NOT NULL CHECK (source <> ''),
	UNIQUE (field, pattern)
);

CREATE TABLE IF NOT EXISTS beacon.inbound (
	id            bigserial PRIMARY KEY,
	at            timestamptz NOT NULL,
	address       text NOT NULL,		-- the tracked address it reached
	point_of_sale text NOT NULL,
	owner         text,
	source        text NOT NULL,		-- inbound_sources.source or 'other'
	sender_domain text,			-- the original sender's
	subject       text,
	message_id    text,			-- without <>
	size          bigint,			-- octets as received
	forward       boolean NOT NULL,		-- a forwarded lead
	queue_id      text,			-- the MX's queue id
	UNIQUE (address, message_id)
);
CREATE INDEX IF NOT EXISTS inbound_at ON beacon.inbound (at);
CREATE INDEX IF NOT EXISTS inbound_pos_at ON beacon.inbound (point_of_sale, at);
-- a message without Message-ID: once per queue id (a spool replay); a
-- NULL queue id is one value too, or its replays would all be new rows
CREATE UNIQUE INDEX IF NOT EXISTS inbound_no_message_id
	ON beacon.inbound (address, coalesce(queue_id, '')) WHERE message_id IS NULL;

REVOKE ALL ON beacon.tracked_inbound, beacon.inbound_sources, beacon.inbound FROM PUBLIC;
GRANT SELECT ON beacon.tracked_inbound, beacon.inbound_sources, beacon.inbound TO beacon_reader;
GRANT SELECT ON beacon.tracked_inbound TO beacon_milter;

-- tracked_inbound_notify - NOTIFY beacon_inbound when the statement changed
-- a row; statement trigger function of beacon.tracked_inbound (as
-- suppressions_notify in 007)
CREATE OR REPLACE FUNCTION beacon.tracked_inbound_notify()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF TG_OP = 'TRUNCATE' OR EXISTS (SELECT 1 FROM changed) THEN
		PERFORM pg_notify('beacon_inbound', '');
	END IF;
	RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS tracked_inbound_notify_insert ON beacon.tracked_inbound;
DROP TRIGGER IF EXISTS tracked_inbound_notify_update ON beacon.tracked_inbound;
DROP TRIGGER IF EXISTS tracked_inbound_notify_delete ON beacon.tracked_inbound;
DROP TRIGGER IF EXISTS tracked_inbound_notify_truncate ON beacon.tracked_inbound;
CREATE TRIGGER tracked_inbound_notify_insert
	AFTER INSERT ON beacon.tracked_inbound REFERENCING NEW TABLE AS changed
	FOR EACH STATEMENT EXECUTE FUNCTION beacon.tracked_inbound_notify();
CREATE TRIGGER tracked_inbound_notify_update
	AFTER UPDATE ON beacon.tracked_inbound REFERENCING NEW TABLE AS changed
	FOR EACH STATEMENT EXECUTE FUNCTION beacon.tracked_inbound_notify();
CREATE TRIGGER tracked_inbound_notify_delete
	AFTER DELETE ON beacon.tracked_inbound REFERENCING OLD TABLE AS changed
	FOR EACH STATEMENT EXECUTE FUNCTION beacon.tracked_inbound_notify();
CREATE TRIGGER tracked_inbound_notify_truncate
	AFTER TRUNCATE ON beacon.tracked_inbound
	FOR EACH STATEMENT EXECUTE FUNCTION beacon.tracked_inbound_notify();

-- inbound_glob - PATTERN (* any characters, ? one) as a LIKE pattern, the
-- rest literal
CREATE OR REPLACE FUNCTION beacon.inbound_glob(pattern text)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT replace(replace(replace(replace(replace(pattern, '\', '\\'), '%', '\%'),
				       '_', '\_'), '*', '%'), '?', '_')
$$;

-- inbound_source_rule - the id of the rule of inbound_sources that names a
-- message's source (see the top); NULL when none matches
CREATE OR REPLACE FUNCTION beacon.inbound_source_rule(p_sender_domain text, p_from text,
						      p_reply_to text, p_list_id text)
RETURNS int
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT s.id FROM beacon.inbound_sources s
	WHERE CASE s.field
	      WHEN 'domain' THEN
		rtrim(lower(p_sender_domain), '.') = rtrim(lower(s.pattern), '.')
		OR right(rtrim(lower(p_sender_domain), '.'),
			 length(rtrim(s.pattern, '.')) + 1)
		   = '.' || rtrim(lower(s.pattern), '.')
	      WHEN 'from' THEN p_from ILIKE beacon.inbound_glob(s.pattern)
	      WHEN 'reply_to' THEN p_reply_to ILIKE beacon.inbound_glob(s.pattern)
	      WHEN 'list_id' THEN btrim(p_list_id, ' <>') ILIKE beacon.inbound_glob(s.pattern)
	      END
	ORDER BY s.priority, s.id
	LIMIT 1
$$;

-- inbound_source - the source the rules of inbound_sources give a message
-- (see the top); 'other' when none matches
CREATE OR REPLACE FUNCTION beacon.inbound_source(p_sender_domain text, p_from text,
						 p_reply_to text, p_list_id text)
RETURNS text
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT coalesce((
		SELECT s.source FROM beacon.inbound_sources s
		WHERE s.id = beacon.inbound_source_rule(p_sender_domain, p_from, p_reply_to,
							p_list_id)), 'other')
$$;

-- inbound_mail - record a message received at tracked addresses (see the top)
CREATE OR REPLACE FUNCTION beacon.inbound_mail(p_at timestamptz, p_addresses text[],
	p_message_id text, p_sender_domain text, p_from text, p_reply_to text, p_list_id text,
	p_subject text, p_size bigint, p_forward boolean, p_queue_id text)
RETURNS int
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	mid text := NULLIF(btrim(p_message_id, ' <>'), '');
	dom text := NULLIF(rtrim(lower(btrim(p_sender_domain)), '.'), '');
	src text;
	n int;
BEGIN
	IF p_at IS NULL THEN
		RAISE EXCEPTION 'inbound_mail: at must not be NULL';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM beacon.tracked_inbound t
		       WHERE t.active AND t.address = ANY (ARRAY(SELECT lower(a)
								 FROM unnest(p_addresses) a))) THEN
		RETURN 0;
	END IF;
	-- a Message-ID too long to index counts as none (the queue id tells replays)
	IF length(mid) > 250 THEN
		mid := NULL;
	END IF;
	src := beacon.inbound_source(dom, p_from, p_reply_to, p_list_id);
	IF mid IS NOT NULL THEN
		INSERT INTO beacon.inbound AS i (at, address, point_of_sale, owner, source,
			sender_domain, subject, message_id, size, forward, queue_id)
		SELECT p_at, t.address, t.point_of_sale, t.owner, src, dom, p_subject, mid,
		       p_size, coalesce(p_forward, false), NULLIF(p_queue_id, '')
		FROM beacon.tracked_inbound t
		WHERE t.active AND t.address IN (SELECT DISTINCT lower(a) FROM unnest(p_addresses) a)
		ORDER BY t.address
		ON CONFLICT (address, message_id) DO NOTHING;
	ELSE
		INSERT INTO beacon.inbound AS i (at, address, point_of_sale, owner, source,
			sender_domain, subject, message_id, size, forward, queue_id)
		SELECT p_at, t.address, t.point_of_sale, t.owner, src, dom, p_subject, NULL,
		       p_size, coalesce(p_forward, false), NULLIF(p_queue_id, '')
		FROM beacon.tracked_inbound t
		WHERE t.active AND t.address IN (SELECT DISTINCT lower(a) FROM unnest(p_addresses) a)
		ORDER BY t.address
		ON CONFLICT (address, coalesce(queue_id, '')) WHERE message_id IS NULL DO NOTHING;
	END IF;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;

REVOKE ALL ON FUNCTION beacon.inbound_mail(timestamptz, text[], text, text, text, text, text,
	text, bigint, boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION beacon.inbound_mail(timestamptz, text[], text, text, text, text,
	text, text, bigint, boolean, text) TO beacon_milter;
REVOKE ALL ON FUNCTION beacon.tracked_inbound_notify() FROM PUBLIC;

-- report_period - the report variable period, checked: 'day', 'week' or
-- 'month' (date_trunc's names), an error otherwise (a typo must not change
-- the figures silently)
CREATE OR REPLACE FUNCTION beacon.report_period(period text)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF period IN ('day', 'week', 'month') THEN
		RETURN period;
	END IF;
	RAISE EXCEPTION 'period must be day, week or month, not ''%''', period
		USING ERRCODE = 'invalid_parameter_value';
END
$$;

-- report_time - VALUE (since or until of a report) as a time, read in the
-- zone TZ when it names no offset of its own: the periods of a report are
-- those of its tz, whatever zone the session shows times in.  The SET
-- clause keeps the zone change inside this function.
CREATE OR REPLACE FUNCTION beacon.report_time(value text, tz text)
RETURNS timestamptz
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
SET TimeZone = 'UTC'
AS $$
BEGIN
	PERFORM set_config('TimeZone', tz, true);
	RETURN value::timestamptz;
END
$$;

-- purge_before - 009's, and the inbound rows received before CUTOFF
-- (relation 'inbound', after 'purged_tokens': beaconctl reads the rows by
-- name).  They go on every call, whatever BATCH: a row of inbound stands
-- alone, and the first call of a batched purge removes them all.
CREATE OR REPLACE FUNCTION beacon.purge_before(cutoff timestamptz, batch int DEFAULT NULL)
RETURNS TABLE (relation text, removed bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	n bigint;
	gone bigint;
BEGIN
	IF cutoff IS NULL THEN
		RAISE EXCEPTION 'purge_before: cutoff must not be NULL';
	END IF;
	IF batch IS NOT NULL AND batch < 1 THEN
		RAISE EXCEPTION 'purge_before: batch must be at least 1, not %', batch;
	END IF;
	CREATE TEMP TABLE IF NOT EXISTS purge_msg (id uuid PRIMARY KEY) ON COMMIT DROP;
	CREATE TEMP TABLE IF NOT EXISTS purge_tok (token_id uuid PRIMARY KEY) ON COMMIT DROP;
	TRUNCATE purge_msg, purge_tok;
	INSERT INTO purge_msg
	SELECT m.id FROM beacon.messages m WHERE m.sent_at < cutoff
	ORDER BY m.sent_at LIMIT batch;		-- LIMIT NULL: all of them
	INSERT INTO purge_tok
	SELECT r.token_id FROM beacon.recipients r JOIN purge_msg p ON p.id = r.message;
	ANALYZE purge_msg;
	ANALYZE purge_tok;

	relation := 'messages'; removed := (SELECT count(*) FROM purge_msg); RETURN NEXT;
	relation := 'recipients'; removed := (SELECT count(*) FROM purge_tok); RETURN NEXT;
	relation := 'links';
	removed := (SELECT count(*) FROM beacon.links l JOIN purge_msg p ON p.id = l.message);
	RETURN NEXT;
	relation := 'attachments';
	removed := (SELECT count(*) FROM beacon.attachments a JOIN purge_msg p ON p.id = a.message);
	RETURN NEXT;

	-- two statements, not one with OR: the first prunes to the old
	-- partitions, the second probes events_token per purged token
	DELETE FROM beacon.events e WHERE e.at < cutoff;
	GET DIAGNOSTICS n = ROW_COUNT;
	DELETE FROM beacon.events e WHERE e.token_id IN (SELECT token_id FROM purge_tok);
	GET DIAGNOSTICS gone = ROW_COUNT;
	relation := 'events'; removed := n + gone; RETURN NEXT;

	INSERT INTO beacon.purged_tokens (token_id)
	SELECT token_id FROM purge_tok ON CONFLICT (token_id) DO NOTHING;
	GET DIAGNOSTICS n = ROW_COUNT;
	relation := 'purged_tokens'; removed := n; RETURN NEXT;	-- tombstones added

	DELETE FROM beacon.messages m USING purge_msg p WHERE m.id = p.id;
	TRUNCATE purge_msg, purge_tok;

	DELETE FROM beacon.inbound i WHERE i.at < cutoff;
	GET DIAGNOSTICS n = ROW_COUNT;
	relation := 'inbound'; removed := n; RETURN NEXT;
END
$$;
REVOKE ALL ON FUNCTION beacon.purge_before(timestamptz, int) FROM PUBLIC;
