-- 005_roles.sql - least-privilege roles; NOTIFY carries ids only
--
-- DESCRIPTION
--	Any role that can connect may LISTEN on any channel: PostgreSQL has
--	no privilege for it.  So the beacon_event payload now carries only
--	identifiers and the kind of the event, nothing about the recipient:
--	  {"token_id": "...", "message": "...", "kind": "open",
--	   "at": "2026-01-05T10:00:00.000000Z", "link_n": null,
--	   "class": "human"}
--	(token_id, at, kind) finds the row in beacon.events; a listener
--	reads the details with SELECT, under its own rights (beaconctl
--	watch does, as a member of beacon_reader).
--
--	Group roles (NOLOGIN; CREATE ROLE is cluster-wide, so each is
--	created only when missing).  The operator grants them to login
--	roles, e.g. CREATE ROLE milter LOGIN PASSWORD '...' IN ROLE
--	beacon_milter:
--	  beacon_milter    INSERT on messages, recipients, links,
--	                   attachments; SELECT on suppressions.
--	  beacon_pixelsrv  INSERT on events, SELECT (token_id, at, kind) on
--	                   events (the check of a batch that may have
--	                   committed); nothing else: it cannot read
--	                   addresses, senders or messages.
--	  beacon_reader    SELECT on every table of schema beacon (reports,
--	                   exports, watch), also on tables created later by
--	                   the role that runs the migrations.
--	The role that runs beaconctl init/migrate owns the objects: only it
--	can alter or drop them.  Creating the roles needs CREATEROLE (or a
--	superuser); without it, create the three roles NOLOGIN beforehand.
--
--	PUBLIC loses CONNECT and TEMPORARY on this database (the owner and
--	the three roles keep CONNECT), every right on schema beacon and its
--	tables, and CREATE on schema public.  Revoking on the database
--	needs its owner: another role gets a warning naming the commands.

-- events_notify - pg_notify the ids of each new event whose token is in
-- notify_tokens (see 003_event_notify.sql); statement trigger function
-- of beacon.events.
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
	RETURN NULL;
END
$$;

DO $$
DECLARE
	r text;
BEGIN
	FOREACH r IN ARRAY ARRAY['beacon_milter', 'beacon_pixelsrv', 'beacon_reader'] LOOP
		CONTINUE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r);
		BEGIN
			EXECUTE format('CREATE ROLE %I NOLOGIN', r);
		EXCEPTION
		WHEN insufficient_privilege THEN
			RAISE EXCEPTION 'cannot create role %: % lacks CREATEROLE', r, current_user
				USING HINT = 'as a superuser: CREATE ROLE beacon_milter NOLOGIN; '
				'CREATE ROLE beacon_pixelsrv NOLOGIN; CREATE ROLE beacon_reader NOLOGIN; '
				'then run beaconctl migrate again';
		WHEN duplicate_object THEN
			NULL;	-- created meanwhile by another database's migration
		END;
	END LOOP;
END
$$;

REVOKE ALL ON SCHEMA beacon FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA beacon FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA beacon TO beacon_milter, beacon_pixelsrv, beacon_reader;

GRANT INSERT ON beacon.messages, beacon.recipients, beacon.links, beacon.attachments
	TO beacon_milter;
GRANT SELECT ON beacon.suppressions TO beacon_milter;
-- a retried message rewrites its recipients' rows (INSERT ... ON CONFLICT (token_id)
-- DO UPDATE in milter/store_sql.c), which PostgreSQL allows only with SELECT and UPDATE
-- on the columns involved: not the address
GRANT SELECT (token_id, message, status, key_id, token), UPDATE (status, key_id, token)
	ON beacon.recipients TO beacon_milter;

GRANT INSERT ON beacon.events TO beacon_pixelsrv;
GRANT SELECT (token_id, at, kind) ON beacon.events TO beacon_pixelsrv;

GRANT SELECT ON ALL TABLES IN SCHEMA beacon TO beacon_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA beacon GRANT SELECT ON TABLES TO beacon_reader;

DO $$
DECLARE
	db text := current_database();
BEGIN
	IF pg_has_role((SELECT datdba FROM pg_database WHERE datname = db), 'USAGE') THEN
		EXECUTE format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC', db);
		EXECUTE format('GRANT CONNECT ON DATABASE %I TO beacon_milter, beacon_pixelsrv, '
			       'beacon_reader', db);
	ELSE
		RAISE WARNING 'database %: % is not its owner; CONNECT was not revoked from PUBLIC', db, current_user
			USING HINT = format('as its owner: REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC; '
			'GRANT CONNECT ON DATABASE %I TO beacon_milter, beacon_pixelsrv, beacon_reader', db, db);
	END IF;
END
$$;
