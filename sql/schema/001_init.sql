-- 001_init.sql - Beacon schema: tables, monthly event partitions
--
-- DESCRIPTION
--	Creates schema "beacon" with its tables (messages, recipients, links,
--	attachments, events, suppressions, schema_migrations) and the two
--	partition functions that beaconctl maintain calls:
--
--	  beacon.ensure_partitions(months_ahead)  creates missing monthly
--	      partitions of beacon.events, current month (UTC) .. +months_ahead
--	  beacon.apply_retention(days)  drops every partition that lies
--	      entirely before now() - days, and deletes older rows that
--	      landed in the DEFAULT partition
--
--	Then it creates the partitions of the current month and the next two.
--
--	The migration runner wraps this file in one transaction and records
--	it in beacon.schema_migrations; the file does neither itself.
--	Column names are an interface: beacon-milter writes messages,
--	recipients, links and attachments; beacon-pixelsrv COPYs into events.

CREATE SCHEMA IF NOT EXISTS beacon;

-- Applied migrations, one row per sql/schema/NNN_name.sql (runner-owned).
CREATE TABLE IF NOT EXISTS beacon.schema_migrations (
	version    int PRIMARY KEY,
	name       text,
	applied_at timestamptz DEFAULT now()
);

-- One row per message the milter tracked (or decided about).
CREATE TABLE IF NOT EXISTS beacon.messages (
	id         uuid PRIMARY KEY,
	message_id text,			-- Message-ID header
	queue_id   text,			-- MTA queue id
	sender     text,			-- envelope sender
	sasl_login text,
	subject    text,
	campaign   text,
	sent_at    timestamptz NOT NULL DEFAULT now(),
	client_ip  inet,			-- submitting client
	clicks     boolean NOT NULL DEFAULT true,	-- links rewritten
	notify     boolean NOT NULL DEFAULT false,	-- NOTIFY beacon_event
	recipients int NOT NULL DEFAULT 0,	-- envelope recipients
	size       bigint			-- message size in octets
);

-- One row per (message, recipient); token_id is the recipient id inside
-- the token.  internal and suppressed recipients get no token.
CREATE TABLE IF NOT EXISTS beacon.recipients (
	token_id uuid PRIMARY KEY,
	message  uuid NOT NULL REFERENCES beacon.messages (id) ON DELETE CASCADE,
	address  text NOT NULL,
	status   text NOT NULL
		CHECK (status IN ('tracked', 'shared', 'internal', 'suppressed')),
	key_id   smallint NOT NULL,		-- secret key id of the token
	token    text,				-- the token as sent; NULL if none
	name     text			-- display name from To/Cc, if known
);

-- Links of a message, numbered as in the click URLs.
CREATE TABLE IF NOT EXISTS beacon.links (
	message uuid REFERENCES beacon.messages (id) ON DELETE CASCADE,
	n       int,
	url     text NOT NULL,
	PRIMARY KEY (message, n)
);

-- Attachments moved out of a message and served by beacon-pixelsrv.
CREATE TABLE IF NOT EXISTS beacon.attachments (
	message      uuid REFERENCES beacon.messages (id) ON DELETE CASCADE,
	id           int,
	name         text,
	content_type text,
	size         bigint,
	expires_at   timestamptz,
	storage_ref  text,
	PRIMARY KEY (message, id)
);

-- Opens, clicks, downloads: partitioned by month of "at" (UTC).  No
-- foreign key to recipients: a spool replay may bring an event before its
-- token row.
CREATE TABLE IF NOT EXISTS beacon.events (
	at            timestamptz NOT NULL,
	kind          text NOT NULL
		CHECK (kind IN ('open', 'click', 'download', 'inbound')),
	token_id      uuid NOT NULL,
	link_n        int,			-- clicks: beacon.links.n
	attachment_id int,			-- downloads: beacon.attachments.id
	ip            inet,
	user_agent    text,
	device        text,
	os            text,
	browser       text,
	client        text,			-- mail client
	country       text,
	region        text,
	city          text,
	latitude      double precision,
	longitude     double precision,
	asn           bigint,
	asn_org       text,
	class         text NOT NULL
		CHECK (class IN ('human', 'proxy', 'prefetch', 'scanner',
				 'internal', 'sender'))
) PARTITION BY RANGE (at);

-- Catches every event no monthly partition covers: nothing is refused.
CREATE TABLE IF NOT EXISTS beacon.events_default
	PARTITION OF beacon.events DEFAULT;

-- Addresses ('user@example.org') and domains ('@example.org'), lower case,
-- that are never tracked.
CREATE TABLE IF NOT EXISTS beacon.suppressions (
	pattern  text PRIMARY KEY CHECK (pattern = lower(pattern)),
	reason   text,
	added_at timestamptz DEFAULT now()
);

-- ensure_partitions - create the monthly events partitions from the current
-- UTC month to months_ahead months later; returns the names it created.
-- A month whose rows already sit in the DEFAULT partition is skipped with a
-- warning: nothing is moved.
CREATE OR REPLACE FUNCTION beacon.ensure_partitions(months_ahead int DEFAULT 2)
RETURNS SETOF text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	first_month timestamp := date_trunc('month', now() AT TIME ZONE 'UTC');
	lo timestamptz;
	hi timestamptz;
	part text;
BEGIN
	IF months_ahead IS NULL OR months_ahead < 0 OR months_ahead > 120 THEN
		RAISE EXCEPTION 'ensure_partitions: months_ahead must be 0..120, not %',
			months_ahead;
	END IF;
	FOR i IN 0 .. months_ahead LOOP
		lo := (first_month + make_interval(months => i)) AT TIME ZONE 'UTC';
		hi := (first_month + make_interval(months => i + 1)) AT TIME ZONE 'UTC';
		part := 'events_' || to_char(lo AT TIME ZONE 'UTC', '"y"YYYY"m"MM');
		CONTINUE WHEN to_regclass('beacon.' || part) IS NOT NULL;
		IF EXISTS (SELECT 1 FROM beacon.events_default
			   WHERE at >= lo AND at < hi) THEN
			RAISE WARNING 'ensure_partitions: beacon.events_default holds rows of %; beacon.% not created',
				to_char(lo AT TIME ZONE 'UTC', 'YYYY-MM'), part;
			CONTINUE;
		END IF;
		EXECUTE format('CREATE TABLE beacon.%I PARTITION OF beacon.events'
			       ' FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
		RETURN NEXT part;
	END LOOP;
END
$$;

-- apply_retention - drop every events partition whose upper bound is at or
-- before now() - days, delete rows older than that from the DEFAULT
-- partition; returns the names of the partitions dropped.
CREATE OR REPLACE FUNCTION beacon.apply_retention(days int)
RETURNS SETOF text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cutoff timestamptz;
	part record;
	gone bigint;
BEGIN
	IF days IS NULL OR days < 1 THEN
		RAISE EXCEPTION 'apply_retention: days must be at least 1, not %', days;
	END IF;
	cutoff := now() - make_interval(days => days);
	FOR part IN
		SELECT c.relname,
		       (regexp_match(pg_get_expr(c.relpartbound, c.oid),
				     'TO \(''([^'']+)''\)'))[1]::timestamptz AS hi
		FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'beacon.events'::regclass
		  AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
		ORDER BY hi
	LOOP
		CONTINUE WHEN part.hi IS NULL OR part.hi > cutoff;
		EXECUTE format('DROP TABLE beacon.%I', part.relname);
		RETURN NEXT part.relname;
	END LOOP;
	DELETE FROM beacon.events_default WHERE at < cutoff;
	GET DIAGNOSTICS gone = ROW_COUNT;
	IF gone > 0 THEN
		RAISE NOTICE 'apply_retention: % rows older than % deleted from beacon.events_default',
			gone, cutoff;
	END IF;
END
$$;

SELECT count(*) AS partitions_created FROM beacon.ensure_partitions(2);
