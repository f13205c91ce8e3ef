-- 008_bounces.sql - bounces of tracked messages, written by beacon-milter
--
-- DESCRIPTION
--	bounces holds one row per (delivery status notification, recipient
--	row) that the report calls failed or delayed:
--	  dsn             uuid: the report, as beacon-milter names it (a
--	                  digest of its Message-ID): the same report written
--	                  twice adds nothing
--	  token_id        the recipients row it is about
--	  at              when beacon-milter saw the report
--	  hard            a permanent failure (status 5.x.x): the message did
--	                  not arrive; false for a delay or a failure with
--	                  4.x.x.  Whether the address is dead (suppressed)
--	                  is the suppressions row, not this column
--	  status          the status code, "5.1.1"
--	  diagnostic      the report's text for the recipient
--	  address         the recipient row's address (its one form)
--	  dsn_message_id  the report's own Message-ID, without <>
--	Every new row also adds a beacon.events row of kind 'bounce' (class
--	'human', which means nothing for a bounce: reports select bounces by
--	kind), so that `beaconctl watch` and the history report show it.
--
--	bounce(...) - for beacon-milter's store (SECURITY DEFINER, search_path
--	pinned, EXECUTE for beacon_milter only: the milter still cannot read
--	addresses, and the function answers nothing, so it cannot be asked
--	whether an address belongs to a message).  Given one report: its id,
--	when it came, its Message-ID, the returned message's Message-ID, the
--	token_id of a verified token found in the returned message (or
--	NULL), whether it came from a trusted client (the milter's trust
--	decision: Postfix's own bounce daemon, trusted_networks, ...), and
--	per bounced recipient its Original-Recipient and Final-Recipient
--	(one form, '' when unknown), status, hard, dead and diagnostic.
--	From a trusted client each recipient is found as, in order:
--	  1. a recipients row of the message whose messages.message_id is
--	     the returned Message-ID, with either address (the newest
--	     message when several have that Message-ID);
--	  2. a recipients row of the token's message with either address;
--	  3. the token's own row, when the report names one recipient and
--	     the token is of status tracked (the address was rewritten on
--	     the way: an alias, a forward).
--	From any other client only the token's own row, and only when the
--	recipient names that row's address: a Message-ID and a To/Cc list
--	are known to everybody who got a copy, and a report naming other
--	rows than its own token's is hearsay.
--	A recipient not found is left out (a report about a message Beacon
--	did not track, or one naming rows it carries no token of).  For
--	each row added: the bounces row, the events row and, for a dead
--	address (the milter decides: a hard bounce whose status matches
--	bounce_suppress_status, by default only "no such address"), the
--	suppression (address, sender '' = every sender, source 'bounce'),
--	idempotently.  A hard bounce that is not dead (5.7.1 policy, 5.2.2
--	mailbox full) is recorded hard and suppresses nobody.

--	Locks: CREATE TABLE and CREATE FUNCTION only; nothing is read or
--	rewritten.  Cost: none.

CREATE TABLE IF NOT EXISTS beacon.bounces (
	dsn            uuid NOT NULL,
	-- the recipient's row: purge and forget take its bounces with it
	token_id       uuid NOT NULL
		REFERENCES beacon.recipients (token_id) ON DELETE CASCADE,
	at             timestamptz NOT NULL,
	hard           boolean NOT NULL,
	status         text NOT NULL,
	diagnostic     text,
	address        text NOT NULL,
	dsn_message_id text,
	PRIMARY KEY (dsn, token_id)
);
CREATE INDEX IF NOT EXISTS bounces_token ON beacon.bounces (token_id);

-- an earlier draft of bounce() (one suppress flag, a count returned)
DROP FUNCTION IF EXISTS beacon.bounce(uuid, timestamptz, text, text, uuid, boolean, text[],
	text[], text[], boolean[], text[]);

-- bounce - see the top
CREATE OR REPLACE FUNCTION beacon.bounce(dsn uuid, at timestamptz, dsn_message_id text,
	message_id text, token uuid, trusted boolean, originals text[], finals text[],
	statuses text[], hards boolean[], deads boolean[], diagnostics text[])
RETURNS void
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	n int := coalesce(array_length(finals, 1), 0);
	tid uuid;
	addr text;
	o text;
	f text;
	new_row boolean;
BEGIN
	FOR i IN 1 .. n LOOP
		tid := NULL;
		o := NULLIF(originals[i], '');
		f := NULLIF(finals[i], '');
		IF NOT coalesce(bounce.trusted, false) THEN
			-- an untrusted client: its own token's row, named by its address
			IF bounce.token IS NOT NULL AND (o IS NOT NULL OR f IS NOT NULL) THEN
				SELECT r.token_id, r.address INTO tid, addr
				FROM beacon.recipients r
				WHERE r.token_id = bounce.token AND r.address IN (o, f);
			END IF;
		ELSE
			IF bounce.message_id IS NOT NULL AND (o IS NOT NULL OR f IS NOT NULL) THEN
				SELECT r.token_id, r.address INTO tid, addr
				FROM beacon.messages m
				JOIN beacon.recipients r ON r.message = m.id
				WHERE m.message_id = bounce.message_id AND r.address IN (o, f)
				ORDER BY m.sent_at DESC
				LIMIT 1;
			END IF;
			IF tid IS NULL AND bounce.token IS NOT NULL AND (o IS NOT NULL OR f IS NOT NULL) THEN
				SELECT r.token_id, r.address INTO tid, addr
				FROM beacon.recipients t
				JOIN beacon.recipients r ON r.message = t.message
				WHERE t.token_id = bounce.token AND r.address IN (o, f)
				LIMIT 1;
			END IF;
			IF tid IS NULL AND bounce.token IS NOT NULL AND n = 1 THEN
				SELECT r.token_id, r.address INTO tid, addr
				FROM beacon.recipients r
				WHERE r.token_id = bounce.token AND r.status = 'tracked';
			END IF;
		END IF;
		CONTINUE WHEN tid IS NULL;
		new_row := NULL;
		INSERT INTO beacon.bounces AS b (dsn, token_id, at, hard, status, diagnostic, address,
						  dsn_message_id)
		VALUES (bounce.dsn, tid, bounce.at, hards[i], statuses[i],
			NULLIF(diagnostics[i], ''), addr, bounce.dsn_message_id)
		ON CONFLICT DO NOTHING
		RETURNING true INTO new_row;
		CONTINUE WHEN new_row IS NULL;
		INSERT INTO beacon.events (at, kind, token_id, class)
		VALUES (bounce.at, 'bounce', tid, 'human');
		IF hards[i] AND coalesce(deads[i], false) THEN
			INSERT INTO beacon.suppressions (pattern, sender, source, reason)
			VALUES (lower(addr), '', 'bounce', 'hard bounce ' || statuses[i])
			ON CONFLICT DO NOTHING;
		END IF;
	END LOOP;
END
$$;

REVOKE ALL ON FUNCTION beacon.bounce(uuid, timestamptz, text, text, uuid, boolean, text[],
	text[], text[], boolean[], boolean[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION beacon.bounce(uuid, timestamptz, text, text, uuid, boolean, text[],
	text[], text[], boolean[], boolean[], text[]) TO beacon_milter;

GRANT SELECT ON beacon.bounces TO beacon_reader;
