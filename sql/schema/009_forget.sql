-- 009_forget.sql - forget one address; purge without orphans (tombstones)
--
-- DESCRIPTION
--	purged_tokens holds the token id of every recipient whose row was
--	purged (beaconctl purge, maintain) or forgotten (beaconctl forget):
--	a random uuid and the time, nothing about the person.  An event
--	for such a token is not stored: the trigger events_drop_purged
--	deletes, in the statement that wrote them, the new events whose
--	token is tombstoned (the pixel still answers; a spool replayed
--	after the purge stores nothing).  Events of tokens that are merely
--	unknown are kept, as before: their recipients row may still be in
--	beacon-milter's spool.  A tombstone lives until beaconctl maintain
--	drops it after [database] tombstone_days.
--
--	purge_before(cutoff, batch) - the messages sent before CUTOFF go
--	    (with BATCH, only the BATCH oldest of them: the caller commits
--	    and calls again until 'messages' is 0), with every event of
--	    their tokens (and every event older than CUTOFF), their
--	    recipients, links, attachment records and scanner marks;
--	    their tokens are tombstoned.  Returns one row per table:
--	    (relation, removed), and ('purged_tokens', the tombstones
--	    added).  Runs in the caller's transaction (beaconctl purge in
--	    one, beaconctl maintain in one per batch, so that a writer
--	    waits at most one batch for a row it shares with a purge).
--	forget_spellings(local, domains) - the stored addresses (recipients
--	    and suppressions) whose text holds LOCAL followed, after an
--	    '@', by one of DOMAINS, in any case (LIKE's own characters in
--	    both are taken literally): the candidates beaconctl forget
--	    normalises, bounded by the domain so that a short local part
--	    does not return the whole table.
--	forget(address, spellings, keep_suppressed) - the recipient
--	    ADDRESS (its one form, lib/address.c) and every stored
--	    spelling in SPELLINGS leave every table: its recipients rows
--	    and their tokens (tombstoned), the events of those tokens,
--	    notify_tokens, the messages (with links, attachment records,
--	    scanner marks) that had no other recipient, its suppressions
--	    (unless KEEP_SUPPRESSED: then one row (ADDRESS, every sender,
--	    source 'admin', reason 'forgotten') stays, the least a
--	    suppression needs), and rows of any other table of schema
--	    beacon that has a token_id uuid column naming one of its
--	    tokens or an address/recipient/email text column holding it
--	    (tables added later: inbound, notifications, export staging,
--	    bounce details).  Returns one row per table: (relation,
--	    removed); a second call returns zeros.  It does not search
--	    free text (subjects, link URLs) nor the envelope sender of
--	    messages (the operator's own users).
--	sweep_purged(since) - delete the events of the tokens tombstoned
--	    at or after SINCE: those a pixel server's COPY had in flight
--	    while the tombstones were being committed (beaconctl runs it
--	    after waiting for in-flight writes, see beaconctl(8)).
--	expire_tombstones(days) - drop tombstones older than DAYS.
--	All of them belong to the schema's owner (beaconctl); nobody else may
--	call them.
--
--	Locks: CREATE TRIGGER on the partitioned events takes SHARE ROW
--	EXCLUSIVE on events and its partitions for an instant (no scan);
--	the rest creates new objects.  Cost: none at migration.  At ingest:
--	one probe of purged_tokens' primary key per event written, and
--	nothing while it is empty (see the trigger); tombstone_days bounds
--	the table.

CREATE TABLE IF NOT EXISTS beacon.purged_tokens (
	token_id  uuid PRIMARY KEY,		-- recipients.token_id that was
	purged_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS purged_tokens_at ON beacon.purged_tokens (purged_at);
REVOKE ALL ON beacon.purged_tokens FROM PUBLIC;
GRANT SELECT ON beacon.purged_tokens TO beacon_reader;

-- events_drop_purged - delete the new events whose token is tombstoned;
-- statement trigger function of beacon.events.  The batch's tokens probe
-- the primary key of purged_tokens in one index scan (= ANY of an
-- array), never a hash of the whole table: about 2 ms per COPY of 1000
-- events with a million tombstones on the test machine (the COPY itself
-- takes 7 to 12 ms there), nothing while the table is empty.
CREATE OR REPLACE FUNCTION beacon.events_drop_purged()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	dead uuid[];
BEGIN
	IF NOT EXISTS (SELECT 1 FROM beacon.purged_tokens) THEN
		RETURN NULL;
	END IF;
	SELECT array_agg(p.token_id) INTO dead
	FROM beacon.purged_tokens p
	WHERE p.token_id = ANY (ARRAY(SELECT n.token_id FROM new_events n));
	IF dead IS NOT NULL THEN
		DELETE FROM beacon.events WHERE token_id = ANY (dead);
	END IF;
	RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER events_drop_purged
	AFTER INSERT ON beacon.events
	REFERENCING NEW TABLE AS new_events
	FOR EACH STATEMENT
	EXECUTE FUNCTION beacon.events_drop_purged();

-- purge_before - delete the messages sent before CUTOFF and what is theirs
-- (see the top); one row per table with what it removed.
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
END
$$;

-- forget_spellings - the stored addresses that may be spellings of
-- LOCAL@one of DOMAINS (see the top); beaconctl forget keeps those whose
-- one form is the address's.  Both parts are in the pattern, so the
-- trigram indexes find the rows even for a one-letter local part.
CREATE OR REPLACE FUNCTION beacon.forget_spellings(local text, domains text[])
RETURNS SETOF text
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	lit text := replace(replace(replace(local, '\', '\\'), '%', '\%'), '_', '\_');
	pats text[];
BEGIN
	IF local IS NULL OR local = '' THEN
		RAISE EXCEPTION 'forget_spellings: no local part';
	END IF;
	pats := ARRAY(SELECT '%' || lit || '%@'
			     || replace(replace(replace(d, '\', '\\'), '%', '\%'), '_', '\_') || '%'
		      FROM unnest(domains) AS d WHERE d IS NOT NULL AND d <> '');
	IF cardinality(pats) = 0 THEN
		RAISE EXCEPTION 'forget_spellings: no domain';
	END IF;
	RETURN QUERY
	SELECT r.address FROM beacon.recipients r WHERE r.address ILIKE ANY (pats)
	UNION
	SELECT s.pattern FROM beacon.suppressions s WHERE s.pattern ILIKE ANY (pats);
END
$$;

-- forget_tables - the other tables of schema beacon that may hold an
-- address or a token: (relation, column, is_token)
CREATE OR REPLACE FUNCTION beacon.forget_tables()
RETURNS TABLE (relation regclass, col name, is_token boolean)
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT c.oid::regclass, a.attname, a.atttypid = 'uuid'::regtype
	FROM pg_class c
	JOIN pg_namespace s ON s.oid = c.relnamespace AND s.nspname = 'beacon'
	JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
	WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
	  AND c.relname NOT IN ('messages', 'recipients', 'events', 'suppressions',
				'purged_tokens', 'notify_tokens', 'links', 'attachments',
				'scanner_marks', 'schema_migrations', 'event_reasons')
	  AND ((a.attname = 'token_id' AND a.atttypid = 'uuid'::regtype)
	       OR (a.attname IN ('address', 'recipient', 'rcpt', 'email', 'final_recipient',
				 'original_recipient')
		   AND a.atttypid IN ('text'::regtype, 'varchar'::regtype)))
	ORDER BY c.relname, a.attname
$$;

-- forget - remove the recipient ADDRESS everywhere (see the top); one
-- row per table with what it removed.
CREATE OR REPLACE FUNCTION beacon.forget(address text, spellings text[] DEFAULT NULL,
					 keep_suppressed boolean DEFAULT false)
RETURNS TABLE (relation text, removed bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	addrs text[];
	toks uuid[];
	msgs uuid[];
	lone uuid[];
	t record;
	n bigint;
BEGIN
	IF address IS NULL OR btrim(address) = '' THEN
		RAISE EXCEPTION 'forget: no address';
	END IF;
	addrs := ARRAY(SELECT DISTINCT lower(x)
		       FROM unnest(array_append(coalesce(spellings, '{}'), address)) AS x
		       WHERE x IS NOT NULL);
	toks := ARRAY(SELECT r.token_id FROM beacon.recipients r
		      WHERE lower(r.address) = ANY (addrs));
	msgs := ARRAY(SELECT DISTINCT r.message FROM beacon.recipients r
		      WHERE r.token_id = ANY (toks));
	lone := ARRAY(SELECT m FROM unnest(msgs) AS m
		      WHERE NOT EXISTS (SELECT 1 FROM beacon.recipients r
					WHERE r.message = m AND NOT (r.token_id = ANY (toks))));

	INSERT INTO beacon.purged_tokens (token_id)
	SELECT unnest(toks) ON CONFLICT (token_id) DO NOTHING;
	GET DIAGNOSTICS n = ROW_COUNT;
	relation := 'purged_tokens'; removed := n; RETURN NEXT;	-- tombstones added

	DELETE FROM beacon.events e WHERE e.token_id = ANY (toks);
	GET DIAGNOSTICS n = ROW_COUNT;
	relation := 'events'; removed := n; RETURN NEXT;

	-- other tables first: one may refer to recipients or messages
	FOR t IN SELECT * FROM beacon.forget_tables() LOOP
		IF t.is_token THEN
			EXECUTE format('DELETE FROM %s WHERE %I = ANY ($1)', t.relation, t.col)
			USING toks;
		ELSE
			EXECUTE format('DELETE FROM %s WHERE lower(%I) = ANY ($1)', t.relation, t.col)
			USING addrs;
		END IF;
		GET DIAGNOSTICS n = ROW_COUNT;
		relation := t.relation::text || '.' || t.col; removed := n; RETURN NEXT;
	END LOOP;

	DELETE FROM beacon.notify_tokens w WHERE w.token_id = ANY (toks);
	GET DIAGNOSTICS n = ROW_COUNT;
	relation := 'notify_tokens'; removed := n; RETURN NEXT;

	relation := 'links';
	removed := (SELECT count(*) FROM beacon.links l WHERE l.message = ANY (lone));
	RETURN NEXT;
	relation := 'attachments';
	removed := (SELECT count(*) FROM beacon.attachments a WHERE a.message = ANY (lone));
	RETURN NEXT;
	relation := 'scanner_marks';
	removed := (SELECT count(*) FROM beacon.scanner_marks k WHERE k.message = ANY (lone));
	RETURN NEXT;

	DELETE FROM beacon.recipients r WHERE r.token_id = ANY (toks);
	GET DIAGNOSTICS n = ROW_COUNT;
	relation := 'recipients'; removed := n; RETURN NEXT;

	DELETE FROM beacon.messages m WHERE m.id = ANY (lone);
	GET DIAGNOSTICS n = ROW_COUNT;
	relation := 'messages'; removed := n; RETURN NEXT;

	IF keep_suppressed THEN
		DELETE FROM beacon.suppressions s
		WHERE s.pattern = ANY (addrs)
		  AND NOT (s.pattern = lower(forget.address) AND s.sender = '');
		GET DIAGNOSTICS n = ROW_COUNT;
		INSERT INTO beacon.suppressions AS s (pattern, sender, source, reason)
		VALUES (lower(forget.address), '', 'admin', 'forgotten')
		ON CONFLICT (pattern, sender) DO UPDATE
		SET source = 'admin', reason = 'forgotten'
		WHERE s.reason IS DISTINCT FROM 'forgotten' OR s.source <> 'admin';
	ELSE
		DELETE FROM beacon.suppressions s WHERE s.pattern = ANY (addrs);
		GET DIAGNOSTICS n = ROW_COUNT;
	END IF;
	relation := 'suppressions'; removed := n; RETURN NEXT;
END
$$;

-- sweep_purged - delete the events of tokens tombstoned at or after SINCE
CREATE OR REPLACE FUNCTION beacon.sweep_purged(since timestamptz)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
DECLARE
	n bigint;
BEGIN
	DELETE FROM beacon.events e USING beacon.purged_tokens p
	WHERE p.purged_at >= since AND e.token_id = p.token_id;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;

-- expire_tombstones - drop tombstones older than DAYS days; how many
CREATE OR REPLACE FUNCTION beacon.expire_tombstones(days int)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	n bigint;
BEGIN
	IF days IS NULL OR days < 1 THEN
		RAISE EXCEPTION 'expire_tombstones: days must be at least 1, not %', days;
	END IF;
	DELETE FROM beacon.purged_tokens WHERE purged_at < now() - make_interval(days => days);
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;

REVOKE ALL ON FUNCTION beacon.purge_before(timestamptz, int),
	beacon.forget(text, text[], boolean), beacon.forget_spellings(text, text[]),
	beacon.forget_tables(), beacon.sweep_purged(timestamptz), beacon.expire_tombstones(int),
	beacon.events_drop_purged()
	FROM PUBLIC;
