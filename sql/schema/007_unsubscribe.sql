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
--	unsubscribe(token uuid) - for beacon-pixelsrv's writer (SECURITY
--	DEFINER, search_path pinned, EXECUTE for beacon_pixelsrv only: it
--	still cannot read addresses nor write suppressions itself).  Adds
--	the suppression (recipient's address, message's envelope sender,
--	source 'unsubscribe') of a token of status tracked, idempotently:
--	true when the row is new, false when it was there already (a second
--	POST, or an admin's row for every sender), NULL when the token has
--	no recipients row of status tracked (not yet stored, purged, or a
--	token shared by several recipients, which names nobody).
--
--	Every statement that changes suppressions sends NOTIFY
--	beacon_suppressions (empty payload): beacon-milter LISTENs in its
--	reload thread and reloads its cache, without a restart.  The
--	notification goes out at commit, once per transaction.
--
--	Locks: beaconctl migrate runs this file in one transaction.  The
--	DROP/ADD of the kind CHECK takes ACCESS EXCLUSIVE on events and
--	every partition, held to the commit, and the VALIDATE reads every
--	event once under it (as 006: no event is written meanwhile, they
--	wait in beacon-pixelsrv's spool; no report runs).  The suppressions
--	changes rewrite its small primary key index under ACCESS EXCLUSIVE
--	on suppressions (beacon-milter keeps its cached list meanwhile).
--	The new columns have constant defaults: no table rewrite.  Cost:
--	about one sequential scan of events.

-- The kind CHECK, as 006 does the class CHECK: the parent's (and its
-- inherited copies) and any a partition holds on its own go; the new one
-- is added NOT VALID and then validated once over every partition.
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
ALTER TABLE beacon.events VALIDATE CONSTRAINT events_kind_check;

ALTER TABLE beacon.suppressions
	ADD COLUMN IF NOT EXISTS sender text NOT NULL DEFAULT '';
ALTER TABLE beacon.suppressions
	ADD COLUMN IF NOT EXISTS source text NOT NULL DEFAULT 'admin';

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

-- unsubscribe - suppress the recipient of TOKEN for its message's
-- envelope sender (see the top).  An empty envelope sender (a bounce
-- tracked by mistake) names no sender: the row is for every sender, the
-- safe error for a suppression.  Concurrent calls for one row: the
-- second waits for the first and then finds it (ON CONFLICT).
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
	SELECT lower(r.address),
	       regexp_replace(lower(btrim(coalesce(m.sender, ''), ' <>')), '\.$', '')
	INTO addr, snd
	FROM beacon.recipients r
	JOIN beacon.messages m ON m.id = r.message
	WHERE r.token_id = unsubscribe.token AND r.status = 'tracked';
	IF addr IS NULL THEN
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

-- suppressions_notify - NOTIFY beacon_suppressions; statement trigger
-- function of beacon.suppressions (PostgreSQL folds equal notifications
-- of one transaction into one).
CREATE OR REPLACE FUNCTION beacon.suppressions_notify()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM pg_notify('beacon_suppressions', '');
	RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS suppressions_notify ON beacon.suppressions;
CREATE TRIGGER suppressions_notify
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON beacon.suppressions
	FOR EACH STATEMENT EXECUTE FUNCTION beacon.suppressions_notify();
