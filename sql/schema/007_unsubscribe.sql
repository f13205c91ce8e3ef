-- 007_unsubscribe.sql - one-click unsubscribe: sender-scoped suppressions
--
-- DESCRIPTION
--	events.kind gains 'unsubscribe' (beacon-pixelsrv records one when a
--	recipient POSTs the one-click form of RFC 8058) and 'bounce' (a
--	delivery status notification of a tracked message, written by
--	beacon-milter's store).
--
--	suppressions gains
--	  sender  text NOT NULL DEFAULT '': '' suppresses the pattern for
--	          every sender (what beaconctl suppress writes unless told
--	          otherwise, and what a hard bounce writes); otherwise the
--	          envelope sender, lower case, for whom alone the pattern is
--	          suppressed (what an unsubscribe writes).  beacon-milter
--	          compares it in the one form of lib/address.c;
--	  source  text NOT NULL DEFAULT 'admin': who added the row, 'admin'
--	          (beaconctl suppress, and every row older than this
--	          migration), 'unsubscribe' or 'bounce'
--	and its primary key becomes (pattern, sender): one address may be
--	suppressed for several senders, once for each.
--
--	messages gains sender_key text: the envelope sender in the one form
--	of lib/address.c with a BATV tag removed ("prvs=TAG=user@dom" is
--	user@dom), as beacon-milter computes and compares it; written by
--	beacon-milter, NULL in rows written before (unsubscribe() then
--	lower-cases the raw sender and strips BATV in SQL: right for ASCII
--	senders, not for internationalised ones).
--
--	unsubscribe_pending (token_id, at): an unsubscribe of a token whose
--	recipients row is not stored yet (beacon-milter keeps its rows in
--	its spool while the database is down).  The recipients row applies
--	it when it arrives (trigger recipients_unsubscribe_pending, one
--	EXISTS on an empty table otherwise); rows older than 30 days (a
--	purged message's token) are removed by the next unsubscribe().
--
--	unsubscribe(token uuid) - for beacon-pixelsrv's writer (SECURITY
--	DEFINER, search_path pinned, EXECUTE for beacon_pixelsrv only: it
--	still cannot read addresses nor write suppressions itself).  Adds
--	the suppression (recipient's address, message's envelope sender,
--	source 'unsubscribe') of a token of status tracked, idempotently:
--	true when the row is new, false when it was there already (a second
--	POST, or an admin's row for every sender), NULL when the token has
--	no recipients row of status tracked: not yet stored (then a pending
--	row is recorded and applied when the row comes), purged, or a token
--	shared by several recipients, which names nobody.
--
--	Every statement that changes at least one row of suppressions sends
--	NOTIFY beacon_suppressions (empty payload): beacon-milter LISTENs in
--	its reload thread and reloads its cache, without a restart.  The
--	notification goes out at commit, once per transaction.  A statement
--	that changes nothing (an ON CONFLICT DO NOTHING that found the row)
--	sends none.
--
--	Locks: beaconctl migrate runs this file in one transaction.  The
--	DROP/ADD of the kind CHECK takes ACCESS EXCLUSIVE on events and
--	every partition, held to the commit, but only for catalog changes:
--	the new CHECK stays NOT VALID (see below), no event is read.  The suppressions
--	changes rewrite its small primary key index under ACCESS EXCLUSIVE
--	on suppressions (beacon-milter keeps its cached list meanwhile).
--	The new columns have constant defaults or none: no table rewrite.
--	Cost: catalog changes only.

-- The kind CHECK, as 006 does the class CHECK: the parent's (and its
-- inherited copies) and any a partition holds on its own go; the new one
-- is added NOT VALID and left so.  It allows every kind the old one did
-- and two more, so every stored row satisfies it by construction and a
-- VALIDATE would read every partition under ACCESS EXCLUSIVE to find
-- nothing; new rows (and new partitions) are checked all the same.
-- Nothing is dropped when the parent's check allows both new kinds.
DO $$
DECLARE
	c record;
BEGIN
	IF EXISTS (SELECT 1 FROM pg_constraint
		   WHERE conrelid = 'beacon.events'::regclass AND contype = 'c'
		     AND conname = 'events_kind_check'
		     AND pg_get_constraintdef(oid) LIKE '%''unsubscribe''%'
		     AND pg_get_constraintdef(oid) LIKE '%''bounce''%') THEN
		RETURN;
	END IF;
	FOR c IN
		SELECT conname FROM pg_constraint
		WHERE conrelid = 'beacon.events'::regclass AND contype = 'c'
		  AND conkey = ARRAY[(SELECT attnum FROM pg_attribute
				      WHERE attrelid = 'beacon.events'::regclass
					AND attname = 'kind')]
	LOOP
		EXECUTE format('ALTER TABLE beacon.events DROP CONSTRAINT %I', c.conname);
	END LOOP;
	FOR c IN
		SELECT k.conrelid::regclass AS rel, k.conname
		FROM pg_partition_tree('beacon.events') t
		JOIN pg_constraint k ON k.conrelid = t.relid AND k.contype = 'c'
		JOIN pg_attribute a ON a.attrelid = t.relid AND a.attname = 'kind'
		WHERE t.relid <> 'beacon.events'::regclass AND k.conkey = ARRAY[a.attnum]
	LOOP
		EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', c.rel, c.conname);
	END LOOP;
	ALTER TABLE beacon.events ADD CONSTRAINT events_kind_check
		CHECK (kind IN ('open', 'click', 'download', 'inbound',
				'unsubscribe', 'bounce')) NOT VALID;
END
$$;

ALTER TABLE beacon.suppressions
	ADD COLUMN IF NOT EXISTS sender text NOT NULL DEFAULT '';
ALTER TABLE beacon.suppressions
	ADD COLUMN IF NOT EXISTS source text NOT NULL DEFAULT 'admin';

ALTER TABLE beacon.messages ADD COLUMN IF NOT EXISTS sender_key text;

CREATE TABLE IF NOT EXISTS beacon.unsubscribe_pending (
	token_id uuid PRIMARY KEY,
	at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON beacon.unsubscribe_pending FROM PUBLIC;

DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_constraint
		       WHERE conrelid = 'beacon.suppressions'::regclass
			 AND conname = 'suppressions_sender_check') THEN
		ALTER TABLE beacon.suppressions ADD CONSTRAINT suppressions_sender_check
			CHECK (sender = lower(sender));
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_constraint
		       WHERE conrelid = 'beacon.suppressions'::regclass
			 AND conname = 'suppressions_source_check') THEN
		ALTER TABLE beacon.suppressions ADD CONSTRAINT suppressions_source_check
			CHECK (source IN ('admin', 'unsubscribe', 'bounce'));
	END IF;
	-- the key (pattern) becomes (pattern, sender)
	IF NOT EXISTS (SELECT 1 FROM pg_constraint
		       WHERE conrelid = 'beacon.suppressions'::regclass
			 AND contype = 'p' AND cardinality(conkey) = 2) THEN
		ALTER TABLE beacon.suppressions DROP CONSTRAINT IF EXISTS suppressions_pkey;
		ALTER TABLE beacon.suppressions ADD CONSTRAINT suppressions_pkey
			PRIMARY KEY (pattern, sender);
	END IF;
END
$$;

-- sender_key_sql - the suppression key of a raw envelope sender, for rows
-- written before messages.sender_key (lower case, no <>, no trailing
-- dot, no BATV tag); beacon-milter's form wherever the sender is ASCII
CREATE OR REPLACE FUNCTION beacon.sender_key_sql(sender text)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT regexp_replace(regexp_replace(lower(btrim(coalesce(sender, ''), ' <>')),
			      '\.$', ''), '^prvs=[^=@]*=([^@]+@)', '\1')
$$;

-- unsubscribe - suppress the recipient of TOKEN for its message's
-- envelope sender (see the top).  An empty envelope sender (a bounce
-- tracked by mistake) names no sender: the row is for every sender, the
-- safe error for a suppression.  Concurrent calls for one row: the
-- second waits for the first and then finds it (ON CONFLICT).  A token
-- without any recipients row yet is kept in unsubscribe_pending.
CREATE OR REPLACE FUNCTION beacon.unsubscribe(token uuid)
RETURNS boolean
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	addr text;
	snd text;
	added boolean;
BEGIN
	SELECT lower(r.address), coalesce(m.sender_key, beacon.sender_key_sql(m.sender))
	INTO addr, snd
	FROM beacon.recipients r
	JOIN beacon.messages m ON m.id = r.message
	WHERE r.token_id = unsubscribe.token AND r.status = 'tracked';
	IF addr IS NULL THEN
		IF NOT EXISTS (SELECT 1 FROM beacon.recipients r
			       WHERE r.token_id = unsubscribe.token) THEN
			DELETE FROM beacon.unsubscribe_pending p
			WHERE p.at < now() - interval '30 days';
			INSERT INTO beacon.unsubscribe_pending (token_id)
			VALUES (unsubscribe.token) ON CONFLICT DO NOTHING;
		END IF;
		RETURN NULL;
	END IF;
	IF EXISTS (SELECT 1 FROM beacon.suppressions s
		   WHERE s.pattern = addr AND s.sender IN ('', snd)) THEN
		RETURN false;
	END IF;
	INSERT INTO beacon.suppressions AS s (pattern, sender, source, reason)
	VALUES (addr, snd, 'unsubscribe', 'one-click unsubscribe')
	ON CONFLICT (pattern, sender) DO NOTHING
	RETURNING true INTO added;
	RETURN coalesce(added, false);
END
$$;

REVOKE ALL ON FUNCTION beacon.unsubscribe(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION beacon.unsubscribe(uuid) TO beacon_pixelsrv;

-- recipients_unsubscribe_pending - apply the pending unsubscribes of the
-- recipients rows a statement inserted; statement trigger function of
-- beacon.recipients (SECURITY DEFINER: beacon-milter, who inserts, may
-- neither read the pending rows nor write suppressions).  With no pending
-- row it costs one look at an empty table.
CREATE OR REPLACE FUNCTION beacon.recipients_unsubscribe_pending()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t uuid;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM beacon.unsubscribe_pending) THEN
		RETURN NULL;
	END IF;
	FOR t IN
		DELETE FROM beacon.unsubscribe_pending p
		USING added a WHERE a.token_id = p.token_id
		RETURNING p.token_id
	LOOP
		PERFORM beacon.unsubscribe(t);
	END LOOP;
	RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION beacon.recipients_unsubscribe_pending() FROM PUBLIC;

DROP TRIGGER IF EXISTS recipients_unsubscribe_pending ON beacon.recipients;
CREATE TRIGGER recipients_unsubscribe_pending
	AFTER INSERT ON beacon.recipients
	REFERENCING NEW TABLE AS added
	FOR EACH STATEMENT EXECUTE FUNCTION beacon.recipients_unsubscribe_pending();

-- suppressions_notify - NOTIFY beacon_suppressions when the statement
-- changed a row; statement trigger function of beacon.suppressions, one
-- trigger per kind of statement, each naming its transition table
-- "changed" (PostgreSQL folds equal notifications of one transaction
-- into one)
CREATE OR REPLACE FUNCTION beacon.suppressions_notify()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF TG_OP = 'TRUNCATE' OR EXISTS (SELECT 1 FROM changed) THEN
		PERFORM pg_notify('beacon_suppressions', '');
	END IF;
	RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS suppressions_notify ON beacon.suppressions;
DROP TRIGGER IF EXISTS suppressions_notify_insert ON beacon.suppressions;
DROP TRIGGER IF EXISTS suppressions_notify_update ON beacon.suppressions;
DROP TRIGGER IF EXISTS suppressions_notify_delete ON beacon.suppressions;
DROP TRIGGER IF EXISTS suppressions_notify_truncate ON beacon.suppressions;
CREATE TRIGGER suppressions_notify_insert
	AFTER INSERT ON beacon.suppressions REFERENCING NEW TABLE AS changed
	FOR EACH STATEMENT EXECUTE FUNCTION beacon.suppressions_notify();
CREATE TRIGGER suppressions_notify_update
	AFTER UPDATE ON beacon.suppressions REFERENCING NEW TABLE AS changed
	FOR EACH STATEMENT EXECUTE FUNCTION beacon.suppressions_notify();
CREATE TRIGGER suppressions_notify_delete
	AFTER DELETE ON beacon.suppressions REFERENCING OLD TABLE AS changed
	FOR EACH STATEMENT EXECUTE FUNCTION beacon.suppressions_notify();
CREATE TRIGGER suppressions_notify_truncate
	AFTER TRUNCATE ON beacon.suppressions
	FOR EACH STATEMENT EXECUTE FUNCTION beacon.suppressions_notify();
