-- 013_notify.sql - notify the sender: destinations, a durable queue, mute and pin
--
-- DESCRIPTION
--	messages gains
--	  muted   boolean NOT NULL DEFAULT false: the sender silenced the
--	          message's notifications (beaconctl notify mute); tracking
--	          goes on.  Its tokens leave notify_tokens at once, so no new
--	          job is queued and beacon_event stays quiet for it;
--	          beacon-notify drops the deliveries still pending.
--	  pinned  boolean NOT NULL DEFAULT false: the message notifies for
--	          ever; others stop [notify] notify_days after sent_at
--	          (beacon-notify enforces it when it sends: 'dropped').
--	notify_tokens now follows "notify AND NOT muted" (it followed
--	notify): unmute brings the tokens back.
--
--	notify_destinations: where a sender's notifications go.  sender is
--	an address in its one form (messages.sender_key) or '@domain' for
--	every sender of the domain; kind webhook (signed JSON), slack or
--	mattermost (incoming-webhook {"text": ...}, signed too) or mail (a
--	digest to the address in url); secret is the HMAC key, 32 random
--	bytes in hex (beaconctl notify add draws it).  every_message: the
--	messages of the sender notify whatever their X-Beacon said (the
--	BEFORE INSERT trigger messages_notify_default sets messages.notify);
--	false: only those tagged notify=yes.  Only active destinations
--	count, both for that default and for deliveries.
--
--	notify_jobs: one row per counted event (class human or proxy, kind
--	open, click, download or reply) of a token in notify_tokens whose
--	sender has at least one active destination, a copy of the event's
--	fields; notify_deliveries: one row per (job, active destination of
--	the message's sender_key or its @domain), the state beacon-notify
--	keeps (pending, sent, failed, dropped) with its retry schedule;
--	notify_log: one row per attempt.  Both queue rows are written by the
--	statement trigger events_notify, in the transaction of the COPY or
--	INSERT that brought the events: a job exists if and only if its
--	event was committed.  The notification on channel beacon_event goes
--	out as before (beacon-notify LISTENs to wake up; the payload is
--	unchanged).
--
--	Cost at ingest: while notify_tokens is empty, one EXISTS per
--	statement, as before.  Otherwise each event of the batch probes the
--	notify_tokens index once more (as the pg_notify does); only the
--	events that match are joined further, and each counted one costs a
--	job and a delivery per destination: rows, index entries, foreign
--	key checks.  On the test machine (2 shared cores, fsync off) 100
--	COPYs of 1000 events took 10 to 40% longer than before with 10% of the
--	events counted (2 destinations each), and about 4 times as long
--	with all of them counted: some 100 us per counted event.
--
--	Role beacon_notify (NOLOGIN, for beacon-notify): SELECT on
--	messages, recipients, links, attachments, notify_destinations and
--	notify_jobs, SELECT and UPDATE on notify_deliveries, INSERT on
--	notify_log.  beacon_reader reads the new tables, but not the url
--	and secret of notify_destinations: a chat webhook's URL is itself
--	its credential, and the secret forges signatures.
--
--	purge_before(cutoff, batch) also deletes the jobs created before
--	CUTOFF (their deliveries cascade) and the notify_log rows older than
--	CUTOFF, and returns two more rows, ('notify_jobs', n) and
--	('notify_log', n); the later jobs of the messages it deletes go
--	with them, uncounted (ON DELETE CASCADE).  The function it had is kept as
--	purge_before_core and called first: what earlier migrations put in
--	it stays.
--
--	Locks: ADD COLUMN with a constant default on messages, no rewrite,
--	ACCESS EXCLUSIVE on messages for an instant; the triggers on
--	messages and recipients are replaced in the same instant; the rest
--	creates new objects.  Cost: none beyond the catalog, whatever the
--	size of the tables.

ALTER TABLE beacon.messages ADD COLUMN IF NOT EXISTS muted boolean NOT NULL DEFAULT false;
ALTER TABLE beacon.messages ADD COLUMN IF NOT EXISTS pinned boolean NOT NULL DEFAULT false;

-- Where the notifications of a sender (address or @domain) go.
CREATE TABLE IF NOT EXISTS beacon.notify_destinations (
	id            serial PRIMARY KEY,
	sender        text NOT NULL CHECK (sender = lower(sender)),	-- sender_key or @domain
	kind          text NOT NULL
		CHECK (kind IN ('webhook', 'slack', 'mattermost', 'mail')),
	url           text NOT NULL,		-- http(s) URL; for mail the address
	secret        text NOT NULL,		-- HMAC-SHA256 key, 64 hex digits
	every_message boolean NOT NULL DEFAULT true,	-- false: only notify=yes messages
	active        boolean NOT NULL DEFAULT true,
	created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS notify_destinations_sender
	ON beacon.notify_destinations (sender) WHERE active;

-- One counted event of a message to notify: a copy of the event's fields.
CREATE TABLE IF NOT EXISTS beacon.notify_jobs (
	id            bigserial PRIMARY KEY,
	message       uuid NOT NULL REFERENCES beacon.messages (id) ON DELETE CASCADE,
	token_id      uuid NOT NULL,		-- recipients.token_id
	kind          text NOT NULL,		-- events.kind
	class         text NOT NULL,		-- events.class
	at            timestamptz NOT NULL,	-- events.at
	link_n        int,
	attachment_id int,
	country       text,
	city          text,
	device        text,
	os            text,
	client        text,
	created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS notify_jobs_message ON beacon.notify_jobs (message);
CREATE INDEX IF NOT EXISTS notify_jobs_created ON beacon.notify_jobs (created_at);
CREATE INDEX IF NOT EXISTS notify_jobs_token ON beacon.notify_jobs (token_id);

-- One job to one destination: what beacon-notify did and will do.
CREATE TABLE IF NOT EXISTS beacon.notify_deliveries (
	job         bigint REFERENCES beacon.notify_jobs (id) ON DELETE CASCADE,
	destination int REFERENCES beacon.notify_destinations (id) ON DELETE CASCADE,
	state       text NOT NULL DEFAULT 'pending'
		CHECK (state IN ('pending', 'sent', 'failed', 'dropped')),
	attempts    int NOT NULL DEFAULT 0,
	next_at     timestamptz NOT NULL DEFAULT now(),	-- when to try (again)
	last_status int,			-- HTTP status (or SMTP reply code)
	last_error  text,
	latency_ms  int,
	sent_at     timestamptz,
	PRIMARY KEY (job, destination)
);
CREATE INDEX IF NOT EXISTS notify_deliveries_due
	ON beacon.notify_deliveries (next_at) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS notify_deliveries_destination
	ON beacon.notify_deliveries (destination);

-- One row per attempt (a digest mail: one row per job it carried).
CREATE TABLE IF NOT EXISTS beacon.notify_log (
	job         bigint,
	destination int,
	at          timestamptz NOT NULL DEFAULT now(),
	attempt     int NOT NULL,
	status      int,
	latency_ms  int,
	error       text
);
CREATE INDEX IF NOT EXISTS notify_log_at ON beacon.notify_log (at);
CREATE INDEX IF NOT EXISTS notify_log_job ON beacon.notify_log (job, destination);

-- notify_sender_keys - the destination senders that match a message's
-- sender_key (or, for rows written before it, its raw sender): the
-- address and '@domain'
CREATE OR REPLACE FUNCTION beacon.notify_sender_keys(sender_key text, sender text)
RETURNS text[]
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT ARRAY[k, regexp_replace(k, '^.*@', '@')]
	FROM (SELECT coalesce(sender_key, beacon.sender_key_sql(sender)) AS k) s
	WHERE k LIKE '%@%'
$$;

-- messages_notify_default - a new message of a sender with an active
-- every_message destination notifies; BEFORE INSERT row trigger
-- function of beacon.messages
CREATE OR REPLACE FUNCTION beacon.messages_notify_default()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT NEW.notify AND EXISTS (
		SELECT 1 FROM beacon.notify_destinations d
		WHERE d.active AND d.every_message
		  AND d.sender = ANY (beacon.notify_sender_keys(NEW.sender_key, NEW.sender))) THEN
		NEW.notify := true;
	END IF;
	RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER messages_notify_default
	BEFORE INSERT ON beacon.messages
	FOR EACH ROW
	EXECUTE FUNCTION beacon.messages_notify_default();

-- recipients_notify - add the new recipients of messages that notify and
-- are not muted to notify_tokens; statement trigger function of
-- beacon.recipients (replaces 003's)
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
	WHERE m.notify AND NOT m.muted
	ON CONFLICT DO NOTHING;
	RETURN NULL;
END
$$;

-- messages_notify - follow a change of messages.notify or muted in
-- notify_tokens; row trigger function of beacon.messages (replaces 003's)
CREATE OR REPLACE FUNCTION beacon.messages_notify()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NEW.notify AND NOT NEW.muted THEN
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
	AFTER UPDATE OF notify, muted ON beacon.messages
	FOR EACH ROW
	WHEN ((OLD.notify AND NOT OLD.muted) IS DISTINCT FROM (NEW.notify AND NOT NEW.muted))
	EXECUTE FUNCTION beacon.messages_notify();

-- events_notify - pg_notify the ids of each new event whose token is in
-- notify_tokens (as 005's), and queue a job with its deliveries for each
-- counted one whose sender has an active destination; statement trigger
-- function of beacon.events.  The job ids are drawn first, so jobs and
-- deliveries go in with one statement and no join back.
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
		'message', r.message,
		'kind', e.kind,
		'at', to_char(e.at AT TIME ZONE 'UTC',
			      'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		'link_n', e.link_n,
		'class', e.class)::text)
	FROM new_events e
	JOIN beacon.notify_tokens w ON w.token_id = e.token_id
	JOIN beacon.recipients r ON r.token_id = e.token_id
	JOIN beacon.messages m ON m.id = r.message
	WHERE m.notify
	ORDER BY e.at;

	WITH ev AS MATERIALIZED (
		SELECT nextval('beacon.notify_jobs_id_seq') AS id, r.message, e.token_id,
		       e.kind, e.class, e.at, e.link_n, e.attachment_id, e.country, e.city,
		       e.device, e.os, e.client, k.keys
		FROM new_events e
		JOIN beacon.notify_tokens w ON w.token_id = e.token_id
		JOIN beacon.recipients r ON r.token_id = e.token_id
		JOIN beacon.messages m ON m.id = r.message
		CROSS JOIN LATERAL (SELECT coalesce(m.sender_key, beacon.sender_key_sql(m.sender))
				    AS key) s
		CROSS JOIN LATERAL (SELECT ARRAY[s.key, '@' || split_part(s.key, '@', -1)] AS keys) k
		WHERE e.class IN ('human', 'proxy')
		  AND e.kind IN ('open', 'click', 'download', 'reply')
		  AND m.notify AND NOT m.muted
		  AND EXISTS (SELECT 1 FROM beacon.notify_destinations d
			      WHERE d.active AND d.sender = ANY (k.keys))
		ORDER BY e.at
	), jobs AS (
		INSERT INTO beacon.notify_jobs (id, message, token_id, kind, class, at, link_n,
						attachment_id, country, city, device, os, client)
		SELECT id, message, token_id, kind, class, at, link_n, attachment_id,
		       country, city, device, os, client
		FROM ev
	)
	INSERT INTO beacon.notify_deliveries (job, destination)
	SELECT ev.id, d.id
	FROM ev
	JOIN beacon.notify_destinations d ON d.active AND d.sender = ANY (ev.keys);
	RETURN NULL;
END
$$;

-- purge_before: keep what earlier migrations made of it as purge_before_core
DO $$
BEGIN
	IF to_regprocedure('beacon.purge_before_core(timestamptz, int)') IS NULL THEN
		ALTER FUNCTION beacon.purge_before(timestamptz, int) RENAME TO purge_before_core;
	END IF;
END
$$;

-- purge_before - purge_before_core, then the notify jobs and log rows
-- older than CUTOFF (see the top); one row per table
CREATE OR REPLACE FUNCTION beacon.purge_before(cutoff timestamptz, batch int DEFAULT NULL)
RETURNS TABLE (relation text, removed bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	jobs bigint;
	logs bigint;
BEGIN
	DELETE FROM beacon.notify_jobs j WHERE j.created_at < cutoff;
	GET DIAGNOSTICS jobs = ROW_COUNT;
	DELETE FROM beacon.notify_log l WHERE l.at < cutoff;
	GET DIAGNOSTICS logs = ROW_COUNT;
	RETURN QUERY SELECT c.relation, c.removed FROM beacon.purge_before_core(cutoff, batch) c;
	relation := 'notify_jobs'; removed := jobs; RETURN NEXT;
	relation := 'notify_log'; removed := logs; RETURN NEXT;
END
$$;

DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'beacon_notify') THEN
		BEGIN
			CREATE ROLE beacon_notify NOLOGIN;
		EXCEPTION
		WHEN insufficient_privilege THEN
			RAISE EXCEPTION 'cannot create role beacon_notify: % lacks CREATEROLE', current_user
				USING HINT = 'as a superuser: CREATE ROLE beacon_notify NOLOGIN; '
				'then run beaconctl migrate again';
		WHEN duplicate_object THEN
			NULL;	-- created meanwhile by another database's migration
		END;
	END IF;
END
$$;

REVOKE ALL ON beacon.notify_destinations, beacon.notify_jobs, beacon.notify_deliveries,
	beacon.notify_log FROM PUBLIC;
REVOKE ALL ON FUNCTION beacon.purge_before(timestamptz, int),
	beacon.purge_before_core(timestamptz, int), beacon.messages_notify_default(),
	beacon.notify_sender_keys(text, text)
	FROM PUBLIC;

GRANT USAGE ON SCHEMA beacon TO beacon_notify;
GRANT SELECT ON beacon.messages, beacon.recipients, beacon.links, beacon.attachments,
	beacon.notify_destinations, beacon.notify_jobs TO beacon_notify;
GRANT SELECT, UPDATE ON beacon.notify_deliveries TO beacon_notify;
GRANT INSERT ON beacon.notify_log TO beacon_notify;

GRANT SELECT ON beacon.notify_jobs, beacon.notify_deliveries, beacon.notify_log TO beacon_reader;
REVOKE SELECT ON beacon.notify_destinations FROM beacon_reader;
GRANT SELECT (id, sender, kind, every_message, active, created_at)
	ON beacon.notify_destinations TO beacon_reader;

DO $$
DECLARE
	db text := current_database();
BEGIN
	IF pg_has_role((SELECT datdba FROM pg_database WHERE datname = db), 'USAGE') THEN
		EXECUTE format('GRANT CONNECT ON DATABASE %I TO beacon_notify', db);
	ELSE
		RAISE WARNING 'database %: % is not its owner; beacon_notify got no CONNECT', db, current_user
			USING HINT = format('as its owner: GRANT CONNECT ON DATABASE %I TO beacon_notify', db);
	END IF;
END
$$;
