-- 012_replies.sql - replies to tracked messages, written by beacon-milter
--
-- DESCRIPTION
--	events.kind gains 'reply': a recipient answered a tracked message
--	(its time only: nothing of the reply's content is kept).
--
--	replies holds one row per (tracked message, reply):
--	  message           the messages row answered
--	  token_id          the recipients row of the one who answered, or
--	                    NULL: the reply came from someone the message was
--	                    not sent to (a colleague it was forwarded to)
--	  at                when beacon-milter saw the reply
--	  reply_message_id  the reply's own Message-ID, without <>: the same
--	                    reply stored twice (a spool replay) adds nothing;
--	                    'queue:' and the MTA's queue id for a reply
--	                    without Message-ID (none without either); one
--	                    over 250 characters counts as none, and so does
--	                    a reference that long
--	  from_domain       the domain of the reply's From address
--	Its rows go with their message and with their recipient (ON DELETE
--	CASCADE: purge, forget).
--
--	reply(at, refs, from, reply_message_id, queue_id) - for beacon-milter's
--	store (SECURITY DEFINER, search_path pinned, EXECUTE for
--	beacon_milter only; it answers a count and nothing of the rows).
--	REFS are the reply's In-Reply-To then its References, newest first,
--	each without <> (the first 20 are read); FROM the reply's From
--	address and its envelope sender, each in its one form
--	(lib/address.c).  The reply answers the tracked messages of the
--	first of REFS that names one (messages.message_id, stored with or
--	without <>): the newest tracked message of the thread, not the
--	older ones an earlier reply answered already.  A message whose
--	sender (sender_key) is in FROM is passed over: the sender writing
--	again in their own thread answers nothing.  For each message
--	answered: its recipients row (status tracked or shared) whose
--	address is in FROM names the recipient; the replies row is added,
--	and when it is new and names a recipient, one beacon.events row
--	(kind 'reply', class 'human', the recipient's token, AT), which
--	reports count as engagement and beaconctl history and watch show.
--	Returns the replies rows added; a second call adds none.
--
--	Limits.  Nothing authenticates a reply: a message whose From (or
--	envelope sender) names a recipient and whose In-Reply-To names a
--	tracked Message-ID, both of which a third party can forge, marks
--	that recipient as having answered.  A reply is matched once, when
--	it arrives: one written before its tracked message's messages row
--	exists (that message still in another host's spool) matches
--	nothing and is dropped.
--
--	Locks: the DROP/ADD of the kind CHECK takes ACCESS EXCLUSIVE on
--	events and every partition, for catalog changes only (the new CHECK
--	stays NOT VALID, as in 007: it allows every kind the old one did).
--	The index on messages (btrim(message_id, '<>')) is built under SHARE
--	on messages: milter writes wait for one read of the table.  Cost:
--	one index build over messages.

DO $$
DECLARE
	c record;
BEGIN
	IF EXISTS (SELECT 1 FROM pg_constraint
		   WHERE conrelid = 'beacon.events'::regclass AND contype = 'c'
		     AND conname = 'events_kind_check'
		     AND pg_get_constraintdef(oid) LIKE '%''reply''%') THEN
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
				'unsubscribe', 'bounce', 'reply')) NOT VALID;
END
$$;

CREATE TABLE IF NOT EXISTS beacon.replies (
	message          uuid NOT NULL REFERENCES beacon.messages (id) ON DELETE CASCADE,
	token_id         uuid REFERENCES beacon.recipients (token_id) ON DELETE CASCADE,
	at               timestamptz NOT NULL,
	reply_message_id text NOT NULL,
	from_domain      text,
	PRIMARY KEY (message, reply_message_id)
);
CREATE INDEX IF NOT EXISTS replies_token ON beacon.replies (token_id);
REVOKE ALL ON beacon.replies FROM PUBLIC;
GRANT SELECT ON beacon.replies TO beacon_reader;

-- a reply names the message it answers by Message-ID, which beacon-milter
-- stores as the header gave it (with its <>)
CREATE INDEX IF NOT EXISTS messages_message_id_bare
	ON beacon.messages (btrim(message_id, '<>'));

-- reply - record a reply to tracked messages (see the top)
CREATE OR REPLACE FUNCTION beacon.reply(p_at timestamptz, p_refs text[], p_from text[],
	p_reply_message_id text, p_queue_id text)
RETURNS int
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	refs text[];
	froms text[];
	rid text := NULLIF(btrim(p_reply_message_id, ' <>'), '');
	dom text;
	ref text;
	m record;
	tid uuid;
	added boolean;
	hit boolean;
	n int := 0;
BEGIN
	IF p_at IS NULL THEN
		RAISE EXCEPTION 'reply: at must not be NULL';
	END IF;
	IF length(rid) > 250 THEN
		rid := NULL;	-- too long to index: as none
	END IF;
	IF rid IS NULL THEN
		-- a reply without Message-ID: its queue id tells a replay from a new one
		rid := 'queue:' || NULLIF(btrim(p_queue_id), '');
	END IF;
	IF rid IS NULL THEN
		RETURN 0;	-- nothing to tell a replay from a new reply by
	END IF;
	refs := ARRAY(SELECT btrim(r, ' <>') FROM unnest(p_refs[1:20]) WITH ORDINALITY AS x(r, i)
		      WHERE NULLIF(btrim(r, ' <>'), '') IS NOT NULL
			AND length(btrim(r, ' <>')) <= 250 ORDER BY i);
	froms := ARRAY(SELECT DISTINCT lower(btrim(f, ' <>')) FROM unnest(p_from) AS f
		       WHERE NULLIF(btrim(f, ' <>'), '') IS NOT NULL);
	dom := NULLIF(substring(lower(btrim(p_from[1], ' <>')) FROM '@([^@]*)$'), '');

	FOREACH ref IN ARRAY refs LOOP
		hit := false;
		FOR m IN
			SELECT g.id FROM beacon.messages g
			WHERE btrim(g.message_id, '<>') = ref
			  AND NOT (coalesce(g.sender_key, beacon.sender_key_sql(g.sender))
				   = ANY (froms))
			ORDER BY g.sent_at, g.id
		LOOP
			hit := true;
			SELECT r.token_id INTO tid
			FROM beacon.recipients r
			WHERE r.message = m.id AND r.status IN ('tracked', 'shared')
			  AND lower(r.address) = ANY (froms)
			ORDER BY r.status = 'tracked' DESC, r.token_id
			LIMIT 1;
			added := NULL;
			INSERT INTO beacon.replies (message, token_id, at, reply_message_id, from_domain)
			VALUES (m.id, tid, p_at, rid, dom)
			ON CONFLICT DO NOTHING
			RETURNING true INTO added;
			CONTINUE WHEN added IS NULL;
			n := n + 1;
			IF tid IS NOT NULL THEN
				INSERT INTO beacon.events (at, kind, token_id, class)
				VALUES (p_at, 'reply', tid, 'human');
			END IF;
		END LOOP;
		-- the newest tracked message of the chain is the one answered
		EXIT WHEN hit;
	END LOOP;
	RETURN n;
END
$$;

REVOKE ALL ON FUNCTION beacon.reply(timestamptz, text[], text[], text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION beacon.reply(timestamptz, text[], text[], text, text) TO beacon_milter;
