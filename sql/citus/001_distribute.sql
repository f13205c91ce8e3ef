-- 001_distribute.sql - spread schema beacon over a Citus cluster
--
-- SYNOPSIS
--	psql -X -v ON_ERROR_STOP=1 -d beacon -f 001_distribute.sql
--	(on the coordinator, as the role that owns schema beacon, after
--	beaconctl migrate; never applied by beaconctl, never by default)
--
-- DESCRIPTION
--	Turns a migrated single-node Beacon database into a Citus one: the
--	tables keyed by token are hash-distributed on token_id, all in the
--	co-location group of recipients; the tables keyed by message, and
--	the small lists, become reference tables (one copy on every node);
--	the operator's lists that have NOTIFY triggers and the notifier's
--	queue stay on the coordinator (Citus local tables).  One
--	transaction: all or nothing.
--
--	The distribution column is token_id, not the message, because:
--	- beacon.events, the largest table by far and the only one written
--	  at request rate, has no message column: beacon-pixelsrv knows the
--	  token of a hit and nothing else, and reads no database on the
--	  request path.  Distributing by message would need that column in
--	  every event, and an event whose recipients row is not stored yet
--	  (beacon-milter spooling while its database is down) would have no
--	  message to be routed by: Citus refuses a NULL distribution value
--	  ("cannot perform an INSERT with NULL in the partition column").
--	  Those events are kept today (no foreign key from events on
--	  purpose); by token they still are, on the shard of their token.
--	- recipients' primary key is token_id already, and so are those of
--	  notify_tokens, purged_tokens and unsubscribe_pending; bounces'
--	  is (dsn, token_id).  No key had to change: no schema migration.
--	- every report, the notifier and the writer's rules join events to
--	  recipients on token_id: a co-located join, run on each worker
--	  for its shards.
--	The price: a message's tokens are spread over every shard, so a
--	report of one message asks every worker (in parallel), and the
--	tables keyed by message are reference tables, copied to every node
--	and written with a two-phase commit to all of them: the milter's
--	insert of a message costs one round trip to each node.
--
--	Each call below is one line, in one of these forms:
--	  SELECT create_reference_table('beacon.T');
--	  SELECT create_distributed_table('beacon.T', 'COLUMN', colocate_with => 'none');
--	  SELECT create_distributed_table('beacon.T', 'COLUMN', colocate_with => 'beacon.U');
--	  SELECT citus_add_local_table_to_metadata('beacon.T');
--	  DROP TRIGGER NAME ON beacon.T;
--	  DROP POLICY NAME ON beacon.T;
--	  ALTER TABLE beacon.T DROP CONSTRAINT NAME;
--	These lines are the one place a table is classified.
--	tests/checks/distribution.sh reads them and fails on a table of
--	schema beacon that is on none of the lists, on a listed table that
--	does not exist, on a unique index of a distributed table without its
--	distribution column, on a foreign key Citus cannot keep that is not
--	dropped below, on a trigger of a distributed or reference table that
--	is not dropped below, on a row-level security policy with a subquery
--	that is not dropped below, and on a join of the reports that is not
--	on token_id; it also runs this file to its end on plain PostgreSQL,
--	Citus's functions stubbed (refusing triggers and such policies).
--	A new migration's table must be added here, or the check fails.
--
-- PREREQUISITES
--	Citus 11.1 to 13.x (the versions that support PostgreSQL 15;
--	Citus 14 drops it): shared_preload_libraries = 'citus' on every
--	node, CREATE EXTENSION citus in this database on every node, the
--	workers added from the coordinator (SELECT citus_add_node(host,
--	port)), and the coordinator itself in the metadata (SELECT
--	citus_set_coordinator_host(host, port)), which the Citus local
--	tables and the joins of reference tables with them need.
--	pg_trgm on every node (Debian's postgresql-15 ships it).
--	Shard count: citus.shard_count (default 32) when this runs; 2 to 4
--	shards per worker core to come leaves room to add workers and
--	rebalance (citus_rebalance_start()) without splitting shards.
--	Roles: Citus (11.0 and later) copies the roles and grants to the
--	workers, but every role that connects to the coordinator must also
--	be let in by the workers: Citus opens its worker connections as the
--	current user (inside a SECURITY DEFINER function: the function's
--	owner, this script's role), so pg_hba.conf and passwords (.pgpass
--	of the coordinator's server, or certificates: citus.node_conninfo)
--	must cover beacon_milter's, beacon_pixelsrv's, beacon_reader's and
--	beacon_notify's login roles and the owner.
--
-- LOCKS AND COST
--	One transaction.  The DROP CONSTRAINT and DROP TRIGGER statements
--	take ACCESS EXCLUSIVE on messages, recipients, events and every
--	table with a foreign key, held to the commit: nothing reads or
--	writes them until then (beacon-milter and beacon-pixelsrv spool
--	what times out, [database] statement_timeout, and replay it
--	afterwards; reports wait).  create_distributed_table and
--	create_reference_table take ExclusiveLock on the others (reads go
--	on).  Cost: one copy of every row of the distributed tables over
--	the network, and of the reference tables to every node; then the
--	coordinator's local copies are truncated
--	(truncate_local_data_after_distributing_table) and the
--	foreign keys validated again.  create_distributed_table_concurrently
--	(which lets writes go on) cannot run inside a transaction nor on a
--	table with foreign keys to it: not used here.
--
-- LIMITS (from the Citus documentation and source, not tried here:
-- Citus is not packaged in Debian 12)
--	- Unique constraints and primary keys of a distributed table must
--	  include its distribution column; foreign keys are kept between
--	  co-located distributed tables on the distribution column, from a
--	  distributed table to a reference table, between reference tables
--	  and between local and reference tables (reference to local only
--	  without CASCADE); never from a reference or local table to a
--	  distributed one.  So replies.token_id loses its foreign key to
--	  recipients (replies is keyed by message, token_id may be NULL):
--	  beacon.forget() deletes replies by token_id itself, and purge
--	  deletes them with their message.
--	- Triggers: create_distributed_table and create_reference_table
--	  refuse a table that has triggers unless citus.enable_unsafe_triggers
--	  is on ("may cause visibility and deadlock issues"); with it, a
--	  trigger fires on the worker, per shard, where its pg_notify()
--	  reaches the listeners of that worker, not those of the coordinator
--	  (beacon-notify, beaconctl watch, beacon-web), and its queries of
--	  other distributed tables run as distributed queries from inside a
--	  shard's statement.  Citus local tables keep their triggers
--	  (suppressions, tracked_inbound: their NOTIFY goes out on the
--	  coordinator, where beacon-milter LISTENs).  So the triggers of
--	  events, recipients and messages are dropped below, and what they
--	  did stops until the writers do it themselves, on the coordinator,
--	  in the transaction of their write (SCALING.md lists the four
--	  jobs): NOTIFY beacon_event and the notifier's queue
--	  (events_notify, recipients_notify), dropping the events of purged
--	  tokens (events_drop_purged: sweep_purged() still does it
--	  afterwards), pending unsubscribes (recipients_unsubscribe_pending),
--	  a message's notify default from its sender's destinations and the
--	  notify_tokens of a muted or pinned message (messages_notify*).
--	- Partitioned events: distributing the parent distributes every
--	  partition, DEFAULT included; partitions created later
--	  (beaconctl maintain: ensure_partitions) are distributed with
--	  it, and apply_retention's DROP TABLE drops their shards.
--	  Multi-level partitioning is not supported.
--	- Queries across shards: outer joins between distributed tables
--	  and correlated subqueries only on the distribution column;
--	  SELECT ... FOR UPDATE, recursive CTEs and grouping sets in
--	  single-shard queries only; functions in an UPDATE of a
--	  distributed table must not be VOLATILE.  tests/checks/
--	  distribution.sh holds the reports to the first two.  The
--	  functions of schema beacon (classify_followup's UPDATE by ctid,
--	  the modifying CTEs of classify_followup and notify_enqueue,
--	  purge_before's temporary tables) have not run under Citus.
--	- Row-level security policies with subqueries are refused on
--	  distributed, reference and local tables alike (Citus's
--	  ErrorIfUnsupportedPolicy: "Subqueries are not supported in
--	  policies on distributed tables").  014_web.sql's web_sender
--	  policies, which let beacon-web's role (beacon_web) see a message,
--	  and its recipients, links, attachments, replies and bounces, only
--	  when one of the web user's scopes covers its sender, all have one
--	  ((SELECT beacon.web_scope()), EXISTS (...)).  They are dropped
--	  below and replaced by a restrictive USING (false) for beacon_web:
--	  beacon-web then shows no message at all (closed, rather than every
--	  sender's mail to every web user) until its isolation is designed
--	  again for Citus (SCALING.md).  A site whose web users are all
--	  admins may drop the replacements.
--	- A sequence smaller than bigint cannot feed inserts made on workers
--	  (none are: every write goes through the coordinator).

\set ON_ERROR_STOP on
BEGIN;
-- several distributed DDL commands and copies in one transaction
SET LOCAL citus.multi_shard_modify_mode TO 'sequential';

DO $$
BEGIN
	IF to_regclass('pg_dist_partition') IS NULL THEN
		RAISE EXCEPTION 'citus is not installed in database %', current_database()
			USING HINT = 'on every node: shared_preload_libraries = ''citus'', '
			'CREATE EXTENSION citus; then citus_add_node() for each worker';
	END IF;
END
$$;

-- Foreign keys: Citus checks each one when the tables on both sides are
-- Citus tables, and cannot make a table distributed while a plain table
-- refers to it.  So every foreign key of schema beacon goes first and
-- comes back at the end, but those Citus cannot keep (see LIMITS).
ALTER TABLE beacon.replies DROP CONSTRAINT replies_token_id_fkey;

CREATE TEMPORARY TABLE citus_fkeys ON COMMIT DROP AS
SELECT conrelid::regclass AS rel, conname, pg_get_constraintdef(oid) AS def
FROM pg_constraint
WHERE contype = 'f' AND connamespace = 'beacon'::regnamespace;

DO $$
DECLARE
	k record;
BEGIN
	FOR k IN SELECT * FROM citus_fkeys LOOP
		EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', k.rel, k.conname);
	END LOOP;
END
$$;

-- Triggers of the tables that become distributed or reference tables
-- (see LIMITS: what they did stops until the writers do it).
DROP TRIGGER events_notify ON beacon.events;
DROP TRIGGER events_drop_purged ON beacon.events;
DROP TRIGGER recipients_notify ON beacon.recipients;
DROP TRIGGER recipients_unsubscribe_pending ON beacon.recipients;
DROP TRIGGER messages_notify ON beacon.messages;
DROP TRIGGER messages_notify_default ON beacon.messages;
DROP TRIGGER events_web_batch ON beacon.events;

-- Row-level security policies with subqueries (see LIMITS): beacon-web's
-- per-sender isolation.  beacon_web is shut out instead, the permissive
-- all_rows policies stay (no subquery).
DROP POLICY web_sender ON beacon.messages;
DROP POLICY web_sender ON beacon.recipients;
DROP POLICY web_sender ON beacon.links;
DROP POLICY web_sender ON beacon.attachments;
DROP POLICY web_sender ON beacon.replies;
DROP POLICY web_sender ON beacon.bounces;
DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['messages', 'recipients', 'links', 'attachments', 'replies',
				 'bounces'] LOOP
		EXECUTE format('CREATE POLICY web_sender ON beacon.%I AS RESTRICTIVE FOR SELECT '
			       'TO beacon_web USING (false)', t);
	END LOOP;
END
$$;

-- Reference tables: keyed by message (they grow with the mail sent, not
-- with the events), and the small fixed lists.
SELECT create_reference_table('beacon.messages');
SELECT create_reference_table('beacon.links');
SELECT create_reference_table('beacon.attachments');
SELECT create_reference_table('beacon.scanner_marks');
SELECT create_reference_table('beacon.replies');
SELECT create_reference_table('beacon.event_reasons');

-- Distributed tables: keyed by token, co-located with recipients.
SELECT create_distributed_table('beacon.recipients', 'token_id', colocate_with => 'none');
SELECT create_distributed_table('beacon.events', 'token_id', colocate_with => 'beacon.recipients');
SELECT create_distributed_table('beacon.notify_tokens', 'token_id', colocate_with => 'beacon.recipients');
SELECT create_distributed_table('beacon.purged_tokens', 'token_id', colocate_with => 'beacon.recipients');
SELECT create_distributed_table('beacon.unsubscribe_pending', 'token_id', colocate_with => 'beacon.recipients');
SELECT create_distributed_table('beacon.bounces', 'token_id', colocate_with => 'beacon.recipients');

-- Local tables, on the coordinator: the migration runner's list, the
-- operator's lists whose NOTIFY reloads beacon-milter, the inbound leads
-- (no token, low volume) and the notifier's queue, written and read on
-- the coordinator.
SELECT citus_add_local_table_to_metadata('beacon.schema_migrations');
SELECT citus_add_local_table_to_metadata('beacon.suppressions');
SELECT citus_add_local_table_to_metadata('beacon.tracked_inbound');
SELECT citus_add_local_table_to_metadata('beacon.inbound_sources');
SELECT citus_add_local_table_to_metadata('beacon.inbound');
SELECT citus_add_local_table_to_metadata('beacon.notify_destinations');
SELECT citus_add_local_table_to_metadata('beacon.notify_jobs');
SELECT citus_add_local_table_to_metadata('beacon.notify_deliveries');
SELECT citus_add_local_table_to_metadata('beacon.notify_log');
SELECT citus_add_local_table_to_metadata('beacon.web_users');
SELECT citus_add_local_table_to_metadata('beacon.web_scopes');
SELECT citus_add_local_table_to_metadata('beacon.web_sessions');
SELECT citus_add_local_table_to_metadata('beacon.web_tokens');

-- Every table of schema beacon is now a Citus table; one that is not
-- came with a migration newer than this file: stop before anything is
-- committed.
DO $$
DECLARE
	missing text;
BEGIN
	SELECT string_agg(c.oid::regclass::text, ', ' ORDER BY c.relname) INTO missing
	FROM pg_class c
	WHERE c.relnamespace = 'beacon'::regnamespace AND c.relkind IN ('r', 'p')
	  AND NOT c.relispartition
	  AND NOT EXISTS (SELECT 1 FROM pg_dist_partition p WHERE p.logicalrelid = c.oid);
	IF missing IS NOT NULL THEN
		RAISE EXCEPTION 'tables this file does not place: %', missing
			USING HINT = 'add each to one list of sql/citus/001_distribute.sql';
	END IF;
END
$$;

-- The rows were copied to the shards: the coordinator's own copies of
-- the distributed and reference tables go (never those of the local
-- tables, which are their only copy).
DO $$
DECLARE
	t regclass;
BEGIN
	FOR t IN
		SELECT p.logicalrelid FROM pg_dist_partition p
		JOIN pg_class c ON c.oid = p.logicalrelid
		WHERE c.relnamespace = 'beacon'::regnamespace AND NOT c.relispartition
		  AND (p.partkey IS NOT NULL OR p.repmodel = 't')
	LOOP
		PERFORM truncate_local_data_after_distributing_table(t);
	END LOOP;
END
$$;

DO $$
DECLARE
	k record;
BEGIN
	FOR k IN SELECT * FROM citus_fkeys LOOP
		EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', k.rel, k.conname, k.def);
	END LOOP;
END
$$;

COMMIT;
