#!/bin/bash
# NAME
#	00_harness_smoke.sh - the end-to-end harness itself works
#
# DESCRIPTION
#	Starts the throwaway PostgreSQL cluster and the private Postfix with
#	its smtp-sink, sends one message through Postfix with swaks and
#	checks that it reaches the sink with its envelope and body intact,
#	then writes a row with psql and reads it back exactly.

set -euo pipefail
BEACON_SRC=${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=../lib/common.sh
. "$BEACON_SRC/tests/lib/common.sh"
# shellcheck source=../lib/pg.sh
. "$BEACON_SRC/tests/lib/pg.sh"
# shellcheck source=../lib/postfix.sh
. "$BEACON_SRC/tests/lib/postfix.sh"

command -v swaks >/dev/null || t_fail "swaks is not installed"

t_tmpdir >/dev/null
pg_start
t_ok "PostgreSQL up on 127.0.0.1:$PGPORT"
pf_start
t_ok "Postfix up on 127.0.0.1:$PF_SMTP_PORT, sink on $PF_SINK_PORT"

# --- mail: one message through Postfix into the sink
marker="beacon-smoke-$$-$RANDOM$RANDOM"
if ! swaks --server "127.0.0.1:$PF_SMTP_PORT" --timeout 10 \
	--from a@example.org --to b@example.net \
	--header 'Subject: smoke' --body "$marker" \
	>"$T_DIR/swaks.out" 2>&1; then
	cat "$T_DIR/swaks.out" >&2
	t_fail "swaks could not submit to 127.0.0.1:$PF_SMTP_PORT"
fi
t_ok "submitted with swaks"

pf_wait_delivered 1 10 || t_fail "message not in the sink after 10 s (queue: $(pf_queue_count))"
t_eq 1 "$(pf_sink_count)" "messages in the sink"
dump=$(pf_sink_files)

t_eq a@example.org "$(pf_sink_mail_from "$dump")" "envelope sender"
t_eq b@example.net "$(pf_sink_rcpts "$dump")" "envelope recipients"
t_eq "<b@example.net> ORCPT=rfc822;b@example.net" \
	"$(sed -n 's/^X-Rcpt-Args: //p' "$dump")" "RCPT arguments"
pf_sink_message "$dump" >"$T_DIR/received.eml"
t_eq 1 "$(grep -cxF 'Subject: smoke' "$T_DIR/received.eml" || true)" "Subject header lines"
t_eq "$marker" "$(sed '1,/^$/d' "$T_DIR/received.eml")" "message body"
t_eq 1 "$(grep -c '^Received: ' "$T_DIR/received.eml" || true)" "Received headers"
t_eq 1 "$(grep -c '^[[:space:]]by mx\.beacon-test\.example (Postfix) with ESMTP id ' \
	"$T_DIR/received.eml" || true)" "Received line of the private Postfix"
# shellcheck disable=SC2016 # evaluated by t_wait_until
t_wait_until '[ "$(pf_queue_count)" = 0 ]' 5 || t_fail "queue not empty after delivery"
t_ok "queue empty"

# --- database: one row in, the same row out
pg_psql -c 'CREATE TABLE smoke (id int PRIMARY KEY, body text NOT NULL)'
value="it's \"quoted\", ünïcødé; $marker"
pg_psql -v value="$value" <<'SQL'
INSERT INTO smoke (id, body) VALUES (1, :'value');
SQL
t_eq "$value" "$(pg_query 'SELECT body FROM smoke WHERE id = 1')" "row read back"
t_eq 1 "$(pg_query 'SELECT count(*) FROM smoke')" "row count"
t_eq beacon "$(psql -X "$BEACON_CONNINFO" -At -c 'SELECT current_user')" \
	"role via BEACON_CONNINFO"

t_ok "harness smoke test passed"
