-- 003_event_notify.sql - NOTIFY beacon_event for messages with notify on
--
-- DESCRIPTION
--	A statement-level AFTER INSERT trigger on beacon.events, fired once by
--	each INSERT and each COPY batch of beacon-pixelsrv, matches the rows
--	of the statement (transition table new_events) against
--	beacon.notify_tokens, the small set of tokens whose message has
--	notify on, and sends one notification per matching event.  Events of
--	other messages, and events whose token has no recipients row yet,
--	send nothing.  Probing the small notify_tokens index keeps the
--	trigger cheap on ingest, however large recipients grows.
--
--	notify_tokens is kept by triggers: recipients inserted for a message
--	with notify on are added; setting or clearing messages.notify adds or
--	removes the message's tokens; deleting a recipient (or its message)
--	cascades.
--
--	The trigger functions run as their owner (SECURITY DEFINER, fixed
--	search_path), so a writer role needs no more than INSERT on the
--	table it writes: beacon-pixelsrv's role may only insert events.
--
--	Channel beacon_event; payload, one JSON object (keys always present,
--	absent values null; "at" is UTC, ISO 8601 with microseconds):
--	  {"token_id": "...", "message": "...", "address": "...",
--	   "sender": "...", "kind": "open", "at": "2026-01-05T10:00:00.000000Z",
--	   "link_n": null, "class": "human", "country": "DE",
--	   "city": "Berlin", "client": "Thunderbird"}
--	Within one statement the notifications go out in order of "at".
--	005_roles.sql replaces events_notify: the payload holds ids only.

-- Tokens of the messages whose events are announced.
CREATE TABLE IF NOT EXISTS beacon.notify_tokens (
	token_id uuid PRIMARY KEY
		REFERENCES beacon.recipients (token_id) ON DELETE CASCADE
);

INSERT INTO beacon.notify_tokens (token_id)
SELECT r.token_id
FROM beacon.recipients r
JOIN beacon.messages m ON m.id = r.message
WHERE m.notify
ON CONFLICT DO NOTHING;

-- recipients_notify - add the new recipients of notify=true messages to
-- notify_tokens; statement trigger function of beacon.recipients.
CREATE OR REPLACE FUNCTION beacon.recipients_notify()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	INSERT INTO beacon.notify_tokens (token_id)
	SELECT n.token_id
	FROM new_recipients n
	JOIN beacon.messages m ON m.id = n.message
	WHERE m.notify
	ON CONFLICT DO NOTHING;
	RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER recipients_notify
	AFTER INSERT ON beacon.recipients
	REFERENCING NEW TABLE AS new_recipients
	FOR EACH STATEMENT
	EXECUTE FUNCTION beacon.recipients_notify();

-- messages_notify - follow a change of messages.notify in notify_tokens;
-- row trigger function of beacon.messages.
CREATE OR REPLACE FUNCTION beacon.messages_notify()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NEW.notify THEN
		INSERT INTO beacon.notify_tokens (token_id)
		SELECT r.token_id FROM beacon.recipients r
		WHERE r.message = NEW.id
		ON CONFLICT DO NOTHING;
	ELSE
		DELETE FROM beacon.notify_tokens w
		USING beacon.recipients r
		WHERE r.message = NEW.id AND w.token_id = r.token_id;
	END IF;
	RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER messages_notify
	AFTER UPDATE OF notify ON beacon.messages
	FOR EACH ROW
	WHEN (OLD.notify IS DISTINCT FROM NEW.notify)
	EXECUTE FUNCTION beacon.messages_notify();

-- events_notify - pg_notify one JSON payload per new event whose token is
-- in notify_tokens; statement trigger function of beacon.events.  Each
-- row of the batch probes the notify_tokens index: hashing notify_tokens
-- would cost a pass over all of it on every batch.
CREATE OR REPLACE FUNCTION beacon.events_notify()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM beacon.notify_tokens) THEN
		RETURN NULL;
	END IF;
	PERFORM pg_notify('beacon_event', json_build_object(
		'token_id', e.token_id,
		'message', m.id,
		'address', r.address,
		'sender', m.sender,
		'kind', e.kind,
		'at', to_char(e.at AT TIME ZONE 'UTC',
			      'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		'link_n', e.link_n,
		'class', e.class,
		'country', e.country,
		'city', e.city,
		'client', e.client)::text)
	FROM new_events e
	JOIN beacon.notify_tokens w ON w.token_id = e.token_id
	JOIN beacon.recipients r ON r.token_id = e.token_id
	JOIN beacon.messages m ON m.id = r.message
	WHERE m.notify
	ORDER BY e.at;
	RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER events_notify
	AFTER INSERT ON beacon.events
	REFERENCING NEW TABLE AS new_events
	FOR EACH STATEMENT
	EXECUTE FUNCTION beacon.events_notify();
