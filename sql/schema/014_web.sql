-- 014_web.sql - beacon-web: sender accounts, row-level security, live batches, threads
--
-- DESCRIPTION
--	Accounts of beacon-web (beaconctl web writes them):
--	  web_users     one row per login.  name is what the user types:
--	                an address 'ann@example.org', a domain
--	                '@example.org' (both lower case) or 'sasl:LOGIN';
--	                password is a crypto_pwhash_str string (Argon2id);
--	                admin sees every sender; an inactive user sees
--	                nothing; failed_logins and locked_until are
--	                beacon-web's lockout, last_login its last success.
--	  web_scopes    what a user sees: an address (matches
--	                messages.sender_key), a domain '@example.org' (the
--	                sender_key's domain) or 'sasl:LOGIN' (matches
--	                messages.sasl_login).
--	  web_sessions  one row per signed-in browser: id is the SHA-256 of
--	                the cookie value, csrf the session's form token.
--	  web_tokens    API bearer tokens: id is the SHA-256 of the token
--	                ("bw_" + 43 base64url characters), shown once.
--
--	Who sees what.  beacon-web connects as a login role IN ROLE
--	beacon_web and runs, in each request's transaction,
--	  SELECT set_config('beacon.web_user', '<web_users.id>', true)
--	beacon.web_user() reads that setting back (NULL when unset or
--	empty); beacon.web_scope() turns it into the viewer's scopes: '{}'
--	for no user, an unknown or an inactive one (nothing matches),
--	'{*}' for an active admin (everything matches), else the user's
--	scopes.  beacon.web_sees(scope, sender_key, sender, sasl_login) is
--	the one predicate: true when scope holds '*', the sender's key
--	(sender_key, else beacon.sender_key_sql(sender) for rows written
--	before 007), its '@domain', or 'sasl:' || sasl_login.
--	beacon.web_sees(sender_key, sender, sasl_login) is the same for the
--	current web user, for ad hoc queries; the policies and the view pass
--	(SELECT beacon.web_scope()) instead, an InitPlan: the scopes are
--	read once per query, not once per row.
--
--	The index messages_web_scope (GIN) holds per message the array
--	web_sees compares the scopes with, written as web_sees writes it:
--	'*', the sender's key (beacon.sender_key_sql(sender) for the rows
--	without sender_key), its '@domain' and 'sasl:' || sasl_login.
--	Inlined, the policy of messages is
--	  $scopes && ARRAY['*', <key>, <@domain>, 'sasl:' || sasl_login]
--	an overlap with that indexed expression: the planner reads the
--	viewer's messages from the index (a Bitmap Index Scan whose
--	condition is the InitPlan's scopes) instead of testing every
--	message, and so does web_events for its messages.  '*' is in every
--	entry, so an admin's '{*}' is served too.  web_sees and the index
--	must stay written alike (tests/sql/web.pg checks the plans: an
--	index of another expression is simply not used), and a change of
--	beacon.sender_key_sql needs a REINDEX of messages_web_scope.
--
--	Row-level security is enabled on messages, recipients, links,
--	attachments, bounces and replies, with two policies on each:
--	  all_rows    permissive, every role, every command: USING (true)
--	              WITH CHECK (true).  Every role that is not limited
--	              below (milter, pixelsrv, reader, notify, admins) sees
--	              and writes what its privileges allow, as before; a
--	              constant true is folded away by the planner, so their
--	              plans do not change (a policy qual that is not
--	              constant would keep every non-leakproof condition,
--	              lower(sender) = ..., ILIKE, out of the index scans).
--	  web_sender  RESTRICTIVE, FOR SELECT TO beacon_web: messages by
--	              web_sees; the others by their message (bounces by
--	              their recipient) through EXISTS, where the policy of
--	              the table referenced applies in turn.  Restrictive, so
--	              it also binds a role that is in beacon_web and in
--	              another Beacon role.
--	Table owners and superusers bypass row-level security: beacon-web
--	refuses to run as either, or as a role with BYPASSRLS.
--
--	events has no row-level security: COPY FROM is refused on a table
--	with row security for every role subject to it, and beacon-pixelsrv
--	COPYs.  beacon_web has no privilege on events; it reads
--	beacon.web_events, a security_barrier view (run with the rights of
--	its owner, the role of this migration) of every column of events
--	but ip, plus xmin (the inserting transaction), whose rows are the
--	events of a token whose recipient belongs to a message web_sees.
--	Conditions on token_id, at and xmin are leakproof: the planner
--	pushes them into the view, onto the events_token and BRIN indexes.
--
--	Live events.  The statement trigger events_web_batch (AFTER INSERT
--	ON events) sends one notification per statement that inserted rows,
--	on channel beacon_batch:
--	  {"xid":"1234","from":"2026-01-05T10:00:00.000000Z",
--	   "to":"2026-01-05T10:00:01.250000Z","n":250}
--	xid is the inserting transaction (xid(pg_current_xact_id())), from
--	and to the least and greatest at of the statement's rows (UTC, with
--	microseconds, as beacon_event's), n their number.  beacon-web reads
--	the batch under the listener's own scopes:
--	  SELECT ... FROM beacon.web_events e
--	  WHERE e.xmin = $1::xid AND e.at BETWEEN $2 AND $3
--	Exact for every writer of Beacon: each inserts events in its top
--	transaction (rows inserted under a SAVEPOINT or in a PL/pgSQL
--	EXCEPTION block would carry the subtransaction's xid).  Two
--	statements of one transaction whose ranges overlap (the milter's
--	bounce() and reply(), one event each) read each other's rows too: a
--	reader that must not show an event twice keys on (token_id, at,
--	kind).  A row updated later (classify_followup) gets a new xmin: it
--	was shown when it came.
--
--	Threads.  messages gains thread_root text, written by beacon-milter:
--	the bare Message-ID (no <>) of the conversation's first message,
--	the first id of the outgoing message's References, else its
--	In-Reply-To, else its own Message-ID; NULL in older rows.
--	beacon.message_thread(m beacon.messages) is coalesce(thread_root,
--	the bare message_id, id::text): the key conversations group by.
--
--	Role beacon_web (NOLOGIN, for beacon-web): USAGE on the schema,
--	CONNECT on the database; SELECT on messages, links, attachments,
--	bounces, replies, event_reasons, web_events, and on every column of
--	recipients but token (a token forges opens); of web_users SELECT
--	(id, name, password, admin, active, failed_logins, locked_until,
--	last_login) and UPDATE (failed_logins, locked_until, last_login);
--	SELECT on web_scopes; SELECT, INSERT, DELETE and UPDATE (last_seen,
--	expires_at) on web_sessions; SELECT and UPDATE (last_used) on
--	web_tokens; EXECUTE on the functions above and those the reports
--	call (report_messages, report_late, report_period, report_time,
--	sender_key_sql), none of which is SECURITY DEFINER.  beacon_reader
--	reads web_users but not its password, and neither web_sessions nor
--	web_tokens (credentials).
--
--	Locks: beaconctl migrate runs this file in one transaction.  It
--	starts with the build of messages_web_scope, which reads every
--	message under SHARE on messages: reports and pages go on, inserts
--	wait (beacon-milter's, past its statement_timeout, go to its
--	spool).  Then ADD COLUMN without default on messages, ENABLE ROW
--	LEVEL SECURITY and CREATE POLICY take ACCESS EXCLUSIVE on
--	messages, recipients, links, attachments, bounces and replies, held
--	to the commit, for catalog changes only (no rewrite, nothing read);
--	CREATE TRIGGER on events takes SHARE ROW EXCLUSIVE on events and
--	its partitions.  Cost of the migration: the index build, 0.4 s for
--	20,000 messages and 2.2 s for 200,000 on the test machine (about
--	11 s a million; the index takes some 15 bytes a message).  CREATE
--	INDEX CONCURRENTLY is refused inside a transaction; on a large
--	database build the index beforehand, outside one, and the
--	migration finds it (IF NOT EXISTS):
--	  CREATE INDEX CONCURRENTLY IF NOT EXISTS messages_web_scope
--	  ON beacon.messages USING gin ((ARRAY['*',
--	    coalesce(sender_key, beacon.sender_key_sql(sender)),
--	    substring(coalesce(sender_key, beacon.sender_key_sql(sender))
--	              FROM '@[^@]*$'),
--	    'sasl:' || sasl_login]));
--	(SHARE UPDATE EXCLUSIVE: inserts go on; two reads of the table).
--	One that such a build left invalid is dropped and built here.
--
--	Cost at ingest: one more statement trigger on events, which reads
--	its transition table once (min, max, count) and sends one
--	notification.  On the test machine (2 shared cores, fsync off) 100
--	COPYs of 1000 events took 1.14 s with it and 1.27 s without (medians
--	of 8 alternating runs: the difference is below the noise); the
--	trigger itself ran 0.22 ms per COPY (pg_stat_user_functions), some
--	2% of the 11 ms a COPY of 1000 events takes.  messages_web_scope
--	on the milter's inserts: 1000 single-row INSERTs into messages
--	took 0.48 ms each with it, 0.50 without (medians of 4 alternating
--	rounds: below the noise; GIN's pending list takes the new entries,
--	and messages had three GIN indexes already).
--
--	Cost at read.  tests/sql/web_bench.sh (run by hand) generates
--	20,000 messages (ann@small.example sent 100 of them, 14 stored
--	before sender_key; @big1.example 4,000), 60,000 recipients and
--	240,000 events, and times the pages' queries as a beacon_web
--	login without the index (as 014 was before it) and with it, side
--	by side.  Execution ms, medians of 6 runs, two runs of the script
--	on the test machine (2 cores shared with other work, load 6 to
--	10, hence the spread):
--	                                 without the index    with it
--	  messages page (50 newest), ann       48   52        14   15
--	    @big1.example                      12   16        18   17
--	    admin                              11   11        16   39
--	  summary.sql via web_events, ann     209  146        27   31
--	    @big1.example                     747  765      1027  669
--	    admin                            5061 5532      4903 5160
--	  a message by id, ann                1.4  1.2       1.0  1.3
--	    admin                             1.3  1.5       1.3  1.0
--	  conversations, ann                  223  159        31   32
--	    admin                             855  464       456  331
--	Without the index every query tested each of the 20,000 messages
--	(the summary twice: its messages and web_events'); with it ann's
--	read 100 entries of the index.  A domain's and an admin's summary
--	keep their plan: their time is the report's own work per
--	recipient and event (summary.sql as a superuser, no row security,
--	7 to 11 s).  A message by id was found by its primary key
--	already.  The price is an admin's list: the planner cannot know
--	the scopes (an InitPlan's value), estimates 1% of the messages for
--	every viewer, and reads all of an admin's from the index and sorts
--	them, where it used to walk messages_sent_at backwards until it
--	had 50.
--
--	Not chosen: one btree expression index per kind of scope (key,
--	domain, SASL login) under a BitmapOr.  An admin condition that is a
--	boolean InitPlan keeps the whole OR out of every index
--	(PostgreSQL builds a BitmapOr only when each arm is indexable), and
--	the domain arm, with few distinct values, was estimated at 45% of
--	the messages: the planner scanned them anyway.  No index on
--	message_thread(): the conversations group the visible messages in
--	a hash; with such an index's statistics (18,000 threads) the
--	planner expected 2 rows of a join and chose nested loops, and an
--	admin's page took 8 s instead of 0.3.

-- The scope index (see the top): first, so that its build holds SHARE
-- on messages (reports go on) before the ACCESS EXCLUSIVE below.  The
-- expression is web_sees' array, as web_sees writes it; one left invalid
-- by a failed CREATE INDEX CONCURRENTLY is built again.
DO $$
BEGIN
	IF EXISTS (SELECT 1 FROM pg_index
		   WHERE indexrelid = to_regclass('beacon.messages_web_scope')
		     AND NOT indisvalid) THEN
		DROP INDEX beacon.messages_web_scope;
	END IF;
END
$$;
CREATE INDEX IF NOT EXISTS messages_web_scope ON beacon.messages USING gin ((ARRAY['*',
	coalesce(sender_key, beacon.sender_key_sql(sender)),
	substring(coalesce(sender_key, beacon.sender_key_sql(sender)) FROM '@[^@]*$'),
	'sasl:' || sasl_login]));

ALTER TABLE beacon.messages ADD COLUMN IF NOT EXISTS thread_root text;

-- Sender accounts of beacon-web.
CREATE TABLE IF NOT EXISTS beacon.web_users (
	id            bigserial PRIMARY KEY,
	name          text UNIQUE NOT NULL		-- ann@example.org, @example.org, sasl:ann
		CHECK (name ~ '^(sasl:[^[:space:]]+|[^@[:space:]]*@[^@[:space:]]+)$'
		       AND (name LIKE 'sasl:%' OR name = lower(name))),
	password      text NOT NULL,			-- crypto_pwhash_str (Argon2id)
	admin         boolean NOT NULL DEFAULT false,	-- sees every sender
	active        boolean NOT NULL DEFAULT true,	-- false: no login, sees nothing
	created_at    timestamptz NOT NULL DEFAULT now(),
	failed_logins int NOT NULL DEFAULT 0,		-- since the last success
	locked_until  timestamptz,			-- no login before then
	last_login    timestamptz
);

-- What a user sees: an address, @domain or sasl:LOGIN (the CHECK of name).
CREATE TABLE IF NOT EXISTS beacon.web_scopes (
	user_id bigint REFERENCES beacon.web_users (id) ON DELETE CASCADE,
	scope   text NOT NULL
		CHECK (scope ~ '^(sasl:[^[:space:]]+|[^@[:space:]]*@[^@[:space:]]+)$'
		       AND (scope LIKE 'sasl:%' OR scope = lower(scope))),
	PRIMARY KEY (user_id, scope)
);

-- Signed-in browsers.
CREATE TABLE IF NOT EXISTS beacon.web_sessions (
	id         bytea PRIMARY KEY CHECK (octet_length(id) = 32),	-- SHA-256 of the cookie
	user_id    bigint NOT NULL REFERENCES beacon.web_users (id) ON DELETE CASCADE,
	csrf       text NOT NULL,			-- form token of the session
	created_at timestamptz NOT NULL DEFAULT now(),
	expires_at timestamptz NOT NULL,
	last_seen  timestamptz,
	ip         inet					-- client at login
);
CREATE INDEX IF NOT EXISTS web_sessions_user ON beacon.web_sessions (user_id);
CREATE INDEX IF NOT EXISTS web_sessions_expires ON beacon.web_sessions (expires_at);

-- API bearer tokens.
CREATE TABLE IF NOT EXISTS beacon.web_tokens (
	id         bytea PRIMARY KEY CHECK (octet_length(id) = 32),	-- SHA-256 of the token
	user_id    bigint NOT NULL REFERENCES beacon.web_users (id) ON DELETE CASCADE,
	name       text NOT NULL,			-- the label given at creation
	created_at timestamptz NOT NULL DEFAULT now(),
	last_used  timestamptz,
	expires_at timestamptz				-- NULL: never
);
CREATE INDEX IF NOT EXISTS web_tokens_user ON beacon.web_tokens (user_id);

DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'beacon_web') THEN
		BEGIN
			CREATE ROLE beacon_web NOLOGIN;
		EXCEPTION
		WHEN insufficient_privilege THEN
			RAISE EXCEPTION 'cannot create role beacon_web: % lacks CREATEROLE', current_user
				USING HINT = 'as a superuser: CREATE ROLE beacon_web NOLOGIN; '
				'then run beaconctl migrate again';
		WHEN duplicate_object THEN
			NULL;	-- created meanwhile by another database's migration
		END;
	END IF;
END
$$;

-- web_user - the web_users.id beacon-web set for this transaction, or NULL
CREATE OR REPLACE FUNCTION beacon.web_user()
RETURNS bigint
LANGUAGE sql
STABLE
RETURN nullif(current_setting('beacon.web_user', true), '')::bigint;

-- web_scope - the current web user's scopes: '{*}' for an active admin,
-- '{}' for none, an unknown or an inactive user
CREATE OR REPLACE FUNCTION beacon.web_scope()
RETURNS text[]
LANGUAGE sql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT coalesce((
		SELECT CASE WHEN u.admin THEN ARRAY['*']
			    ELSE ARRAY(SELECT s.scope FROM beacon.web_scopes s
				       WHERE s.user_id = u.id ORDER BY s.scope) END
		FROM beacon.web_users u
		WHERE u.id = beacon.web_user() AND u.active), '{}')
$$;

-- web_sees - whether SCOPE (web_scope()'s) covers a message of that
-- sender; SCOPE appears once, so the planner inlines it into a policy
-- with SCOPE an InitPlan, and the array is messages_web_scope's
-- expression (change both together, then REINDEX)
CREATE OR REPLACE FUNCTION beacon.web_sees(scope text[], sender_key text, sender text,
	sasl_login text)
RETURNS boolean
LANGUAGE sql
IMMUTABLE
RETURN scope && ARRAY['*',
		      coalesce(sender_key, beacon.sender_key_sql(sender)),
		      substring(coalesce(sender_key, beacon.sender_key_sql(sender)) FROM '@[^@]*$'),
		      'sasl:' || sasl_login];

-- web_sees - the same for the current web user (its scopes read per call)
CREATE OR REPLACE FUNCTION beacon.web_sees(sender_key text, sender text, sasl_login text)
RETURNS boolean
LANGUAGE sql
STABLE
RETURN beacon.web_sees(beacon.web_scope(), sender_key, sender, sasl_login);

-- message_thread - the conversation a message belongs to (see the top)
CREATE OR REPLACE FUNCTION beacon.message_thread(m beacon.messages)
RETURNS text
LANGUAGE sql
IMMUTABLE
RETURN coalesce(nullif(m.thread_root, ''), nullif(btrim(m.message_id, '<> '), ''), m.id::text);

-- Row-level security: see the top.  Policies are dropped and created
-- again, so that applying this file twice leaves them as written here.
DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['messages', 'recipients', 'links', 'attachments',
				 'bounces', 'replies'] LOOP
		EXECUTE format('ALTER TABLE beacon.%I ENABLE ROW LEVEL SECURITY', t);
		EXECUTE format('DROP POLICY IF EXISTS all_rows ON beacon.%I', t);
		EXECUTE format('CREATE POLICY all_rows ON beacon.%I USING (true) WITH CHECK (true)', t);
		EXECUTE format('DROP POLICY IF EXISTS web_sender ON beacon.%I', t);
	END LOOP;
END
$$;

CREATE POLICY web_sender ON beacon.messages AS RESTRICTIVE FOR SELECT TO beacon_web
	USING (beacon.web_sees((SELECT beacon.web_scope()), sender_key, sender, sasl_login));
CREATE POLICY web_sender ON beacon.recipients AS RESTRICTIVE FOR SELECT TO beacon_web
	USING (EXISTS (SELECT 1 FROM beacon.messages m WHERE m.id = recipients.message));
CREATE POLICY web_sender ON beacon.links AS RESTRICTIVE FOR SELECT TO beacon_web
	USING (EXISTS (SELECT 1 FROM beacon.messages m WHERE m.id = links.message));
CREATE POLICY web_sender ON beacon.attachments AS RESTRICTIVE FOR SELECT TO beacon_web
	USING (EXISTS (SELECT 1 FROM beacon.messages m WHERE m.id = attachments.message));
CREATE POLICY web_sender ON beacon.replies AS RESTRICTIVE FOR SELECT TO beacon_web
	USING (EXISTS (SELECT 1 FROM beacon.messages m WHERE m.id = replies.message));
CREATE POLICY web_sender ON beacon.bounces AS RESTRICTIVE FOR SELECT TO beacon_web
	USING (EXISTS (SELECT 1 FROM beacon.recipients r WHERE r.token_id = bounces.token_id));

-- The events beacon_web sees (see the top).  The view reads events,
-- recipients and messages with its owner's rights, so the predicate is
-- spelled out here, the same web_sees as the policy of messages.
CREATE OR REPLACE VIEW beacon.web_events WITH (security_barrier) AS
SELECT e.at, e.kind, e.token_id, e.link_n, e.attachment_id, e.user_agent, e.device,
       e.os, e.browser, e.client, e.country, e.region, e.city, e.latitude,
       e.longitude, e.asn, e.asn_org, e.class, e.reason, e.hints, e.late, e.bytes,
       e.partial, e.xmin
FROM beacon.events e
WHERE EXISTS (SELECT 1
	      FROM beacon.recipients r
	      JOIN beacon.messages m ON m.id = r.message
	      WHERE r.token_id = e.token_id
		AND beacon.web_sees((SELECT beacon.web_scope()), m.sender_key, m.sender,
				    m.sasl_login));

-- events_web_batch - one NOTIFY beacon_batch per statement that inserted
-- events: its transaction, time range and count (see the top);
-- statement trigger function of beacon.events
CREATE OR REPLACE FUNCTION beacon.events_web_batch()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM pg_notify('beacon_batch', format('{"xid":"%s","from":"%s","to":"%s","n":%s}',
		xid(pg_current_xact_id()),
		to_char(min(e.at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		to_char(max(e.at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		count(*)))
	FROM new_events e
	HAVING count(*) > 0;
	RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER events_web_batch
	AFTER INSERT ON beacon.events
	REFERENCING NEW TABLE AS new_events
	FOR EACH STATEMENT
	EXECUTE FUNCTION beacon.events_web_batch();

REVOKE ALL ON beacon.web_users, beacon.web_scopes, beacon.web_sessions, beacon.web_tokens,
	beacon.web_events FROM PUBLIC;
REVOKE ALL ON FUNCTION beacon.web_user(), beacon.web_scope(),
	beacon.web_sees(text[], text, text, text), beacon.web_sees(text, text, text),
	beacon.message_thread(beacon.messages), beacon.events_web_batch()
	FROM PUBLIC;

GRANT USAGE ON SCHEMA beacon TO beacon_web;
GRANT SELECT ON beacon.messages, beacon.links, beacon.attachments, beacon.bounces,
	beacon.replies, beacon.event_reasons, beacon.web_events TO beacon_web;
GRANT SELECT (token_id, message, address, status, key_id, name) ON beacon.recipients
	TO beacon_web;
GRANT SELECT (id, name, password, admin, active, failed_logins, locked_until, last_login),
	UPDATE (failed_logins, locked_until, last_login) ON beacon.web_users TO beacon_web;
GRANT SELECT ON beacon.web_scopes TO beacon_web;
GRANT SELECT, INSERT, DELETE, UPDATE (last_seen, expires_at) ON beacon.web_sessions
	TO beacon_web;
GRANT SELECT, UPDATE (last_used) ON beacon.web_tokens TO beacon_web;
GRANT EXECUTE ON FUNCTION beacon.web_user(), beacon.web_scope(),
	beacon.web_sees(text[], text, text, text), beacon.web_sees(text, text, text),
	beacon.message_thread(beacon.messages),
	beacon.report_messages(text, text, text, text, timestamptz, timestamptz),
	beacon.report_late(text), beacon.report_period(text), beacon.report_time(text, text),
	beacon.sender_key_sql(text)
	TO beacon_web;

-- beacon_reader (default privileges of 005 gave it SELECT on every new
-- table): no credentials, and the view is beacon-web's
REVOKE SELECT ON beacon.web_users, beacon.web_sessions, beacon.web_tokens, beacon.web_events
	FROM beacon_reader;
GRANT SELECT (id, name, admin, active, created_at, failed_logins, locked_until, last_login)
	ON beacon.web_users TO beacon_reader;
GRANT SELECT ON beacon.web_scopes TO beacon_reader;
GRANT EXECUTE ON FUNCTION beacon.message_thread(beacon.messages) TO beacon_reader;

DO $$
DECLARE
	db text := current_database();
BEGIN
	IF pg_has_role((SELECT datdba FROM pg_database WHERE datname = db), 'USAGE') THEN
		EXECUTE format('GRANT CONNECT ON DATABASE %I TO beacon_web', db);
	ELSE
		RAISE WARNING 'database %: % is not its owner; beacon_web got no CONNECT', db, current_user
			USING HINT = format('as its owner: GRANT CONNECT ON DATABASE %I TO beacon_web', db);
	END IF;
END
$$;
