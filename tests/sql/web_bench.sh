#!/usr/bin/env bash
# NAME
#	web_bench.sh - beacon-web's row-level security on a large database:
#	plans and times of the pages' queries
#
# SYNOPSIS
#	bash tests/sql/web_bench.sh
#
# DESCRIPTION
#	Run by hand (not by tests/run.sh: it takes a minute).  Starts a
#	throwaway PostgreSQL (tests/lib/pg.sh), applies the migrations
#	before 014, generates in SQL 20,000 messages (ann@small.example
#	sent 100 of them, 14 stored before sender_key; news0..2@big0..2
#	about 4,000 each; the rest 97 users on 13 domains), 60,000
#	recipients, 240,000 events over three months, 2,000 replies and
#	400 bounces, then applies sql/schema/014_web.sql in one
#	transaction as beaconctl migrate does, and prints how long that
#	took (the migration's cost on that database).
#
#	Then, as a login role in beacon_web with beacon.web_user set as
#	beacon-web sets it, for ann (scope ann@small.example), the domain
#	user @big1.example and an admin, it checks that each sees exactly
#	the messages it should, and prints the median planning and
#	execution times (EXPLAIN (ANALYZE, TIMING OFF)) of each query
#	without the index messages_web_scope (014 without it is 014
#	before that index came) and with it: 3 rounds of both, each 3 runs
#	in one session of which the first is not counted, the index
#	dropped and built again between them.  The queries:
#	  list      the messages page: the 50 newest, with their counts
#	            (web/data.c's data_messages)
#	  summary   sql/reports/summary.sql with beacon.events read as
#	            beacon.web_events (as beacon-web maps it)
#	  message   one message by id (data_message), another sender's
#	            for ann (found: nothing)
#	  threads   the conversations page (data_threads)
#	The plans, EXPLAIN (ANALYZE, BUFFERS), go to WEB_BENCH_OUT
#	(default $BEACON_BUILD/test-logs/web_bench), NAME.before.plan and
#	NAME.after.plan.  The queries are copies of web/data.c's, with the
#	page's defaults for $N.  Last, summary.sql as a superuser (no row
#	security), the report's own cost.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"

m014=$BEACON_SRC/sql/schema/014_web.sql
out=${WEB_BENCH_OUT:-$BEACON_BUILD/test-logs/web_bench}
mkdir -p "$out"
cd "$BEACON_SRC"

pg_start
Q=$T_DIR/q
mkdir -p "$Q"
chmod 755 "$T_DIR" "$Q"

for f in sql/schema/0[0-9][0-9]_*.sql; do
	case $f in sql/schema/014_*) break ;; esac
	PGOPTIONS='-c client_min_messages=warning' pg_psql -o /dev/null -1 -f "$f" ||
		t_fail "migration $f failed"
done
t_ok "migrations before 014 applied"

start=$(t_now_us)
pg_psql -o /dev/null <<-'EOF' || t_fail "the data did not load"
	SELECT setseed(0.19);
	CREATE TABLE IF NOT EXISTS beacon.events_y2026m09 PARTITION OF beacon.events
		FOR VALUES FROM ('2026-09-01 00:00+00') TO ('2026-10-01 00:00+00');
	CREATE TABLE IF NOT EXISTS beacon.events_y2026m10 PARTITION OF beacon.events
		FOR VALUES FROM ('2026-10-01 00:00+00') TO ('2026-11-01 00:00+00');
	CREATE TABLE IF NOT EXISTS beacon.events_y2026m11 PARTITION OF beacon.events
		FOR VALUES FROM ('2026-11-01 00:00+00') TO ('2026-12-01 00:00+00');
	-- one message every 388 s from 2026-09-01; every 7th stored before
	-- sender_key (raw sender '<Name@DOMAIN.>', sender_key NULL)
	INSERT INTO beacon.messages (id, message_id, queue_id, sender, sender_key, sasl_login,
		subject, campaign, sent_at, recipients, size)
	SELECT md5('m' || i)::uuid, '<' || i || '.' || left(md5('id' || i), 12) || '@mx.' || dom || '>',
	       upper(left(md5('q' || i), 10)),
	       CASE WHEN legacy THEN '<' || initcap(loc) || '@' || upper(dom) || '.>'
		    ELSE loc || '@' || dom END,
	       CASE WHEN legacy THEN NULL ELSE loc || '@' || dom END,
	       sasl, 'Subject ' || i, CASE WHEN i % 3 = 0 THEN 'camp' || (i % 40) END,
	       '2026-09-01 00:00+00'::timestamptz + i * interval '388 s', 3, 20000 + i
	FROM (SELECT i, i % 7 = 0 AS legacy,
		     CASE WHEN i % 200 = 7 THEN 'ann' WHEN i % 10 < 6 THEN 'news' || i % 3
			  ELSE 'user' || i % 97 END AS loc,
		     CASE WHEN i % 200 = 7 THEN 'small.example'
			  WHEN i % 10 < 6 THEN 'big' || i % 3 || '.example'
			  ELSE 'd' || i % 13 || '.example' END AS dom,
		     CASE WHEN i % 200 = 7 THEN 'ann' WHEN i % 10 < 6 THEN NULL
			  ELSE 'user' || i % 97 END AS sasl
	      FROM generate_series(1, 20000) i) g;
	INSERT INTO beacon.recipients (token_id, message, address, status, key_id, token, name)
	SELECT md5('r' || i || '-' || j)::uuid, md5('m' || i)::uuid,
	       'rcpt' || (i * 3 + j) % 9001 || '@example.net',
	       CASE WHEN j = 3 AND i % 10 = 0 THEN 'internal' ELSE 'tracked' END, 1, 't' || i || j,
	       'Name ' || (i * 3 + j) % 9001
	FROM generate_series(1, 20000) i, generate_series(1, 3) j;
	INSERT INTO beacon.events (at, kind, token_id, link_n, device, os, client, country, city, class)
	SELECT '2026-09-01 00:00+00'::timestamptz + i * interval '388 s'
		       + (k * k * 37 + j * 11) * interval '1 min',
	       CASE WHEN k = 4 AND (i + j) % 3 = 0 THEN 'click' ELSE 'open' END,
	       md5('r' || i || '-' || j)::uuid, CASE WHEN k = 4 AND (i + j) % 3 = 0 THEN 1 END,
	       (ARRAY['Desktop', 'Mobile', 'Tablet'])[1 + (i + k) % 3], 'OS' || (i + j) % 5,
	       'Client' || (i * k) % 7, (ARRAY['FR', 'DE', 'US', 'GB', 'ES'])[1 + (i + j + k) % 5],
	       'City' || (i + k) % 50,
	       (ARRAY['human', 'human', 'human', 'proxy', 'prefetch'])[1 + (i * j + k) % 5]
	FROM generate_series(1, 20000) i, generate_series(1, 3) j, generate_series(1, 4) k;
	INSERT INTO beacon.links (message, n, url)
	SELECT md5('m' || i)::uuid, 1, 'https://example.com/' || i FROM generate_series(1, 20000) i;
	INSERT INTO beacon.replies (message, token_id, at, reply_message_id, from_domain)
	SELECT md5('m' || i)::uuid, md5('r' || i || '-1')::uuid,
	       '2026-09-01 00:00+00'::timestamptz + i * interval '388 s' + interval '3 h',
	       'reply' || i || '@example.net', 'example.net'
	FROM generate_series(1, 20000, 10) i;
	INSERT INTO beacon.bounces (dsn, token_id, at, hard, status, address)
	SELECT md5('b' || i)::uuid, md5('r' || i || '-2')::uuid,
	       '2026-09-01 00:00+00'::timestamptz + i * interval '388 s' + interval '5 min',
	       true, '5.1.1', 'rcpt' || (i * 3 + 2) % 9001 || '@example.net'
	FROM generate_series(1, 20000, 50) i;
	VACUUM ANALYZE;
EOF
t_ok "20000 messages, 60000 recipients, 240000 events in $((($(t_now_us) - start) / 1000)) ms"

start=$(t_now_us)
pg_psql -o /dev/null -v file="$m014" <<-'EOF' || t_fail "$m014 failed"
	SET client_min_messages = warning;
	BEGIN;
	\i :file
	INSERT INTO beacon.schema_migrations (version, name) VALUES (14, '014_web');
	COMMIT;
EOF
t_ok "$(basename "$m014") applied in $((($(t_now_us) - start) / 1000)) ms"

# threads as beacon-milter writes them from now on; the users; the role
pg_psql -o /dev/null <<-'EOF' || t_fail "the web users did not load"
	UPDATE beacon.messages
	SET thread_root = 'root' || (substring(message_id FROM '^<([0-9]+)')::int / 8) || '@mx'
	WHERE sender_key IS NOT NULL AND substring(message_id FROM '^<([0-9]+)')::int % 4 = 0;
	INSERT INTO beacon.web_users (name, password, admin) VALUES
	('ann@small.example', 'x', false), ('@big1.example', 'x', false), ('sasl:root', 'x', true);
	INSERT INTO beacon.web_scopes (user_id, scope) SELECT id, name FROM beacon.web_users;
	CREATE ROLE t_bench LOGIN IN ROLE beacon_web;
	VACUUM ANALYZE beacon.messages;
EOF
ann=$(pg_query "SELECT id FROM beacon.web_users WHERE name = 'ann@small.example'")
dom=$(pg_query "SELECT id FROM beacon.web_users WHERE name = '@big1.example'")
root=$(pg_query "SELECT id FROM beacon.web_users WHERE name = 'sasl:root'")
ann_msg=$(pg_query "SELECT id FROM beacon.messages WHERE sender_key = 'ann@small.example'
	ORDER BY sent_at OFFSET 40 LIMIT 1")
big_msg=$(pg_query "SELECT id FROM beacon.messages WHERE sender_key = 'news1@big1.example'
	ORDER BY sent_at OFFSET 2000 LIMIT 1")

# web_as UID SQL - one value of SQL as t_bench with beacon.web_user = UID
web_as() {
	PGUSER=t_bench pg_psql -At -c "SELECT set_config('beacon.web_user', '$1', false)" \
		-c "$2" | tail -n 1
}
t_eq 100 "$(web_as "$ann" 'SELECT count(*) FROM beacon.messages')" "ann's messages"
t_eq "$(pg_query "SELECT count(*) FROM beacon.messages
	WHERE coalesce(sender_key, beacon.sender_key_sql(sender)) LIKE '%@big1.example'")" \
	"$(web_as "$dom" 'SELECT count(*) FROM beacon.messages')" "@big1.example's messages"
t_eq 20000 "$(web_as "$root" 'SELECT count(*) FROM beacon.messages')" "the admin's messages"
t_eq 1200 "$(web_as "$ann" 'SELECT count(*) FROM beacon.web_events')" "ann's events"

# The queries of the pages, $N as the page sets them; :explain is the
# EXPLAIN prefix, q, id and limit psql variables.
cat >"$Q/list.sql" <<'EOF'
:explain WITH pat AS (
	SELECT '%' || replace(replace(replace(:'q'::text, '\', '\\'), '%', '\%'),
			      '_', '\_') || '%' AS p
), sel AS (
	SELECT m.id, m.message_id, m.subject, m.campaign, m.sender, m.sent_at
	FROM beacon.messages m, pat
	WHERE (:'q'::text = '' OR m.subject ILIKE pat.p OR m.campaign ILIKE pat.p
	       OR m.sender ILIKE pat.p
	       OR EXISTS (SELECT 1 FROM beacon.recipients r
			  WHERE r.message = m.id
			    AND (r.address ILIKE pat.p OR r.name ILIKE pat.p)))
	  AND (''::text = '' OR m.campaign = ''::text)
	  AND (NULL::date IS NULL OR m.sent_at >= NULL::date::timestamptz)
	  AND (NULL::date IS NULL OR m.sent_at < (NULL::date + 1)::timestamptz)
	  AND (NULL::bigint IS NULL OR (m.sent_at, m.id) <
	       ('epoch'::timestamptz + NULL::bigint * interval '1 microsecond', NULL::uuid))
	  AND (:id::uuid IS NULL OR m.id = :id::uuid)
	ORDER BY m.sent_at DESC, m.id DESC
	LIMIT :limit::int OFFSET 0::bigint
)
SELECT s.id, s.message_id, s.subject, s.campaign, s.sender,
       to_char(s.sent_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS sent_at,
       c.recipients, c.opened, c.clicked, c.downloaded,
       to_char(c.first_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS first_activity,
       to_char(c.last_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS last_activity,
       (extract(epoch FROM s.sent_at) * 1000000)::bigint AS cursor_us
FROM sel s
CROSS JOIN LATERAL (
	SELECT count(*) AS recipients,
	       count(*) FILTER (WHERE ev.n > 0) AS opened,
	       count(*) FILTER (WHERE ev.clicks > 0) AS clicked,
	       count(*) FILTER (WHERE ev.downloads > 0) AS downloaded,
	       min(ev.first_at) AS first_at, max(ev.last_at) AS last_at
	FROM beacon.recipients r
	CROSS JOIN LATERAL (
		SELECT count(*) AS n,
		       count(*) FILTER (WHERE e.kind = 'click') AS clicks,
		       count(*) FILTER (WHERE e.kind = 'download') AS downloads,
		       min(e.at) AS first_at, max(e.at) AS last_at
		FROM beacon.web_events e
		WHERE e.token_id = r.token_id
		  AND e.kind IN ('open', 'click', 'download', 'reply')
		  AND (e.kind = 'reply' OR e.kind IN ('open', 'click', 'download')
		       AND e.class = ANY (string_to_array('human,proxy'::text, ','))
		       AND NOT (e.kind = 'click' AND e.link_n IS NOT DISTINCT FROM 0))
	) ev
	WHERE r.message = s.id AND r.status IN ('tracked', 'shared')
) c
ORDER BY s.sent_at DESC, s.id DESC;
EOF
cat >"$Q/threads.sql" <<'EOF'
:explain WITH pat AS (
	SELECT '%' || replace(replace(replace(:'q'::text, '\', '\\'), '%', '\%'),
			      '_', '\_') || '%' AS p
), hit AS (
	SELECT DISTINCT beacon.message_thread(m) AS thread
	FROM beacon.messages m, pat
	WHERE (:'q'::text = '' OR m.subject ILIKE pat.p OR m.campaign ILIKE pat.p
	       OR m.sender ILIKE pat.p
	       OR EXISTS (SELECT 1 FROM beacon.recipients r
			  WHERE r.message = m.id
			    AND (r.address ILIKE pat.p OR r.name ILIKE pat.p)))
	  AND (''::text = '' OR m.campaign = ''::text)
	  AND (NULL::date IS NULL OR m.sent_at >= NULL::date::timestamptz)
	  AND (NULL::date IS NULL OR m.sent_at < (NULL::date + 1)::timestamptz)
), msg AS (
	SELECT beacon.message_thread(m) AS thread, m.id, m.subject, m.sender, m.sent_at
	FROM beacon.messages m
	WHERE beacon.message_thread(m) IN (SELECT thread FROM hit)
), item AS (
	SELECT g.thread, 'message' AS item, g.sent_at AS at, g.id, g.subject, g.sender,
	       NULL::text AS recipient, NULL::text AS from_domain
	FROM msg g
	UNION ALL
	SELECT g.thread, 'reply', y.at, g.id, g.subject, NULL, r.address, y.from_domain
	FROM msg g
	JOIN beacon.replies y ON y.message = g.id
	LEFT JOIN beacon.recipients r ON r.token_id = y.token_id
), thr AS (
	SELECT thread, max(at) AS last_at,
	       count(*) FILTER (WHERE item = 'message') AS messages,
	       count(*) FILTER (WHERE item = 'reply') AS replies
	FROM item
	GROUP BY thread
	ORDER BY last_at DESC, thread
	LIMIT :limit::int OFFSET 0::bigint
)
SELECT t.thread, t.last_at, t.messages, t.replies, i.item, i.at, i.id AS message, i.subject,
       i.sender, i.recipient, i.from_domain, c.recipients, c.opened, c.clicked
FROM thr t
JOIN item i USING (thread)
LEFT JOIN LATERAL (
	SELECT count(*) AS recipients,
	       count(*) FILTER (WHERE EXISTS (
		SELECT 1 FROM beacon.web_events e
		WHERE e.token_id = r.token_id
		  AND e.kind IN ('open', 'click', 'download', 'reply')
		  AND (e.kind = 'reply' OR e.kind IN ('open', 'click', 'download')
		       AND e.class = ANY (string_to_array('human,proxy'::text, ','))
		       AND NOT (e.kind = 'click' AND e.link_n IS NOT DISTINCT FROM 0)))) AS opened,
	       count(*) FILTER (WHERE EXISTS (
		SELECT 1 FROM beacon.web_events e
		WHERE e.token_id = r.token_id AND e.kind = 'click'
		  AND (e.kind = 'reply' OR e.kind IN ('open', 'click', 'download')
		       AND e.class = ANY (string_to_array('human,proxy'::text, ','))
		       AND NOT (e.kind = 'click' AND e.link_n IS NOT DISTINCT FROM 0)))) AS clicked
	FROM beacon.recipients r
	WHERE r.message = i.id AND r.status IN ('tracked', 'shared')
) c ON i.item = 'message'
ORDER BY t.last_at DESC, t.thread, i.at, i.item;
EOF
# summary.sql as beacon-web runs it (beacon.events read as the view)
sed -E 's/(^|[^A-Za-z0-9_.$"])beacon\.events([^A-Za-z0-9_$]|$)/\1beacon.web_events\2/g' \
	sql/reports/summary.sql | sed 's/^WITH sel AS (/:explain WITH sel AS (/' >"$Q/summary.sql"
[ "$(grep -c '^:explain WITH' "$Q/summary.sql")" = 1 ] ||
	t_fail "summary.sql: no single statement starting 'WITH sel AS (' to EXPLAIN"
[ "$(grep -c 'beacon\.web_events' "$Q/summary.sql")" -ge 1 ] || t_fail "summary.sql: no beacon.events"
cp sql/reports/_defaults.psql "$Q/"

# run UID QUERY N EXPLAIN [psql args] - QUERY N times in one session as t_bench
run() {
	local uid=$1 q=$2 n=$3 explain=$4
	shift 4
	{
		echo "SELECT set_config('beacon.web_user', '$uid', false) \\g /dev/null"
		for _ in $(seq "$n"); do echo "\\i $Q/$q.sql"; done
	} | PGUSER=t_bench pg_psql -v q= -v id=NULL -v limit=51 -v explain="$explain" "$@"
}

# times UID QUERY [psql args] - planning and execution ms of 2 runs after a first
times() {
	local uid=$1 q=$2
	shift 2
	run "$uid" "$q" 3 'EXPLAIN (ANALYZE, TIMING OFF)' "$@" |
		awk '/Planning Time:/ { p = $3 } /Execution Time:/ { print p, $3 }' | tail -n 2
}

# median - the median line of stdin by its second field
median() {
	sort -k 2 -n | awk '{ l[NR] = $0 } END { print l[int((NR + 1) / 2)] }'
}

# The index this measures, as 014 made it; dropped and built again
# (then ANALYZE) between the runs, so that both sides run side by side.
index_def=$(pg_query "SELECT pg_get_indexdef('beacon.messages_web_scope'::regclass)")
[ -n "$index_def" ] || t_fail "no beacon.messages_web_scope"
index_off() { pg_psql -c 'DROP INDEX beacon.messages_web_scope' -c 'ANALYZE beacon.messages'; }
index_on() { pg_psql -c "$index_def" -c 'ANALYZE beacon.messages'; }

# bench NAME UID QUERY [psql args] - times without and with the index
# (3 rounds of both), and the plans
bench() {
	local name=$1 uid=$2 q=$3 file
	shift 3
	file=$(printf '%s' "$name" | tr -c 'A-Za-z0-9@.' _)
	: >"$T_DIR/before"
	: >"$T_DIR/after"
	for _ in 1 2 3; do
		index_off
		times "$uid" "$q" "$@" >>"$T_DIR/before"
		index_on
		times "$uid" "$q" "$@" >>"$T_DIR/after"
	done
	index_off
	run "$uid" "$q" 1 'EXPLAIN (ANALYZE, BUFFERS)' "$@" >"$out/$file.before.plan"
	index_on
	run "$uid" "$q" 1 'EXPLAIN (ANALYZE, BUFFERS)' "$@" >"$out/$file.after.plan"
	echo "$(median <"$T_DIR/before") $(median <"$T_DIR/after")" | awk -v n="$name" \
		'{ printf "%-24s %7.1f %9.1f   %7.1f %9.1f\n", n, $1, $2, $3, $4 }'
}

start=$(t_now_us)
index_off
index_on
t_ok "messages_web_scope dropped and built again (and ANALYZE) in $((($(t_now_us) - start) / 1000)) ms"
echo "# ms, medians of 6 runs (3 rounds of 2 after a first); plans in $out"
echo "#                       without the index       with it"
echo "# query, viewer          planning execution   planning execution"
bench "list ann" "$ann" list
bench "list @big1.example" "$dom" list
bench "list admin" "$root" list
bench "summary ann" "$ann" summary
bench "summary @big1.example" "$dom" summary
bench "summary admin" "$root" summary
bench "message ann" "$ann" list -v id="'$ann_msg'" -v limit=1
bench "message admin" "$root" list -v id="'$big_msg'" -v limit=1
bench "message ann, not hers" "$ann" list -v id="'$big_msg'" -v limit=1
bench "threads ann" "$ann" threads
bench "threads admin" "$root" threads
t_eq "" "$(run "$ann" list 1 '' -At -v id="'$big_msg'" -v limit=1)" "another sender's message for ann"
# the report itself, as a superuser without row security, for scale
sed 's/^WITH sel AS (/:explain WITH sel AS (/' sql/reports/summary.sql >"$Q/summary_all.sql"
echo "summary, superuser, no row security: $({
	for _ in 1 2 3; do echo "\\i $Q/summary_all.sql"; done
} | pg_psql -v explain='EXPLAIN (ANALYZE, TIMING OFF)' |
	awk '/Execution Time:/ { print $3 }' | sort -n | sed -n 2p) ms"
t_ok "done"
