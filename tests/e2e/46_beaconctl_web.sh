#!/bin/bash
# NAME
#	46_beaconctl_web.sh - beaconctl web: beacon-web's accounts and API
#	tokens, and what an account sees through row-level security
#
# DESCRIPTION
#	Against a throwaway cluster, schema by beaconctl init.
#	1. user add: the password from standard input (not a terminal), from
#	   --password-file, and from a terminal (script(1)) asked twice with
#	   echo off (the typed password never shows); stored as an Argon2id
#	   string with libsodium's interactive limits that libsodium's
#	   crypto_pwhash_str_verify accepts for that password and no other,
#	   salted (two equal passwords, two hashes).  NAME and --scope in
#	   their stored form (Ann@Example.ORG is ann@example.org, @Other.NET
#	   is @other.net, sasl:Ann kept).  Refused, nothing added: a password
#	   under 12 characters, none, two that differ on the terminal (65);
#	   a NAME there already (1); a bad NAME or --scope, options of other
#	   actions, unknown actions (64).
#	2. user list (table, --json, --csv) shows users, scopes, sessions
#	   and tokens and never a password or hash.
#	3. passwd: a new hash, lockout cleared, sessions ended.  disable:
#	   inactive, sessions ended; enable; unlock clears failed_logins and
#	   locked_until.  An unknown NAME exits 1.
#	4. token add: "bw_" + 43 base64url characters, printed once; the row
#	   holds the SHA-256 of the whole token, its first 16 hex digits are
#	   the id printed; --expires DAYS sets expires_at.  token list (per
#	   user too); revoke by id prefix; a prefix of two tokens exits 1
#	   listing both, none exits 1; too short a prefix exits 64.
#	5. What an account sees: as a login role in beacon_web with
#	   beacon.web_user set to the account's id, ann (added as
#	   Ann@Example.ORG) sees the message the milter stored for
#	   Ann@Example.ORG and its events, not bob's; after disable, nothing.
#	6. maintain deletes the expired sessions and keeps the live one.
#	7. user remove: scopes, sessions and tokens go with it.

set -euo pipefail
BEACON_SRC=${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$BEACON_SRC/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"

CTL=$BEACON_BUILD/beaconctl
[ -x "$CTL" ] || t_fail "no $CTL (build it first)"
export TZ=UTC

t_tmpdir >/dev/null
pg_start
printf '[database]\nconninfo = %s\n' "$BEACON_CONNINFO" >"$T_DIR/beacon.conf"

# ctl - run beaconctl with beacon.conf and no PG* environment
ctl() {
	env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE "$CTL" -c "$T_DIR/beacon.conf" "$@"
}
ctl init >/dev/null

# verify HASH PASSWORD - print ok when libsodium's crypto_pwhash_str_verify accepts it
verify() {
	python3 - "$1" "$2" <<-'EOF'
	import ctypes, ctypes.util, sys
	na = ctypes.CDLL(ctypes.util.find_library("sodium"))
	assert na.sodium_init() >= 0
	h, p = sys.argv[1].encode(), sys.argv[2].encode()
	print("ok" if na.crypto_pwhash_str_verify(h, p, ctypes.c_ulonglong(len(p))) == 0 else "no")
	EOF
}
# hash NAME - the stored password of web user NAME
hash() {
	pg_query "SELECT password FROM beacon.web_users WHERE name = '$1'"
}
users="SELECT string_agg(name, ' ' ORDER BY name) FROM beacon.web_users"

# --- 1. add
t_run ctl web user add Ann@Example.ORG --scope @Other.NET --scope sasl:Ann <<<'correct horse battery'
t_eq "0 added web user ann@example.org (id 1), sees ann@example.org @other.net sasl:Ann" \
	"$RC $OUT" "user add, password on standard input"
t_eq "@other.net ann@example.org sasl:Ann" \
	"$(pg_query "SELECT string_agg(scope, ' ' ORDER BY scope) FROM beacon.web_scopes")" \
	"scopes stored in their one form"
h=$(hash ann@example.org)
case $h in
'$argon2id$v=19$m=65536,t=2,p=1$'*) t_ok "Argon2id, interactive limits: ${h%%\$*}…" ;;
*) t_fail "stored password is not an Argon2id string of the interactive limits: $h" ;;
esac
t_eq ok "$(verify "$h" 'correct horse battery')" "the hash verifies the password"
t_eq no "$(verify "$h" 'correct horse batterY')" "and no other"
printf 'correct horse battery\nsecond line\n' >"$T_DIR/pw"
t_run ctl web user add @example.net --admin --password-file "$T_DIR/pw"
t_eq "0 added web user @example.net (id 2, admin), sees every sender" "$RC $OUT" \
	"user add --admin --password-file"
t_eq ok "$(verify "$(hash @example.net)" 'correct horse battery')" "first line of the file"
[ "$(hash @example.net)" != "$h" ] || t_fail "two equal passwords, one hash: no salt"
t_ok "two equal passwords, two hashes"
t_run ctl web user add sasl:bob --password-file - <"$T_DIR/pw"
t_eq "0" "$RC" "--password-file - reads standard input"

# the terminal: asked twice, echo off; the typed text never shows
{ sleep 2; printf 'typed on a tty 1\n'; sleep 0.3; printf 'typed on a tty 2\n'; } |
	script -qec "env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE $CTL -c $T_DIR/beacon.conf \
		web user add tty@example.org; echo rc=\$?" /dev/null >"$T_DIR/tty.out" 2>&1 || true
grep -q 'rc=65' "$T_DIR/tty.out" || t_fail "two passwords that differ: $(cat "$T_DIR/tty.out")"
grep -q 'the two passwords differ' "$T_DIR/tty.out" || t_fail "no message: $(cat "$T_DIR/tty.out")"
{ sleep 2; printf 'typed on a tty 1\n'; sleep 0.3; printf 'typed on a tty 1\n'; } |
	script -qec "env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE $CTL -c $T_DIR/beacon.conf \
		web user add tty@example.org; echo rc=\$?" /dev/null >"$T_DIR/tty.out" 2>&1 || true
grep -q 'rc=0' "$T_DIR/tty.out" || t_fail "terminal add failed: $(cat "$T_DIR/tty.out")"
t_eq 2 "$(grep -c -e '^password for tty@example.org: ' -e '^the same password again: ' "$T_DIR/tty.out")" \
	"asked twice on the terminal"
! grep -q 'typed on a tty' "$T_DIR/tty.out" || t_fail "the password was echoed: $(cat "$T_DIR/tty.out")"
t_ok "the password typed on the terminal is not echoed"
t_eq ok "$(verify "$(hash tty@example.org)" 'typed on a tty 1')" "terminal password stored"

before=$(pg_query "$users")
t_run ctl web user add carl@example.org <<<'eleven char'
t_eq "65" "$RC" "11 characters refused"
t_eq "beaconctl: error: web: the password on standard input has fewer than 12 characters" \
	"$ERR" "its message"
t_run ctl web user add carl@example.org <<<'dóóóóóóóóóó'
t_eq "65" "$RC" "12 bytes but 11 characters refused"
t_run ctl web user add carl@example.org </dev/null
t_eq "65 beaconctl: error: web: no password on standard input" "$RC $ERR" "no password"
t_run ctl web user add ann@EXAMPLE.org <<<'correct horse battery'
t_eq "1 beaconctl: error: web: web user ann@example.org exists already" "$RC $ERR" \
	"an existing NAME"
for bad in "ann" "sasl:a b" "a,b@example.org"; do
	t_run ctl web user add "$bad" <<<'correct horse battery'
	t_eq 64 "$RC" "NAME '$bad' refused"
done
t_run ctl web user add dan@example.org --scope nodomain <<<'correct horse battery'
t_eq 64 "$RC" "a bad --scope refused"
t_run ctl web user passwd ann@example.org --admin
t_eq 64 "$RC" "--admin with passwd refused"
t_run ctl web user list --name x
t_eq 64 "$RC" "--name with user list refused"
t_run ctl web user frob ann@example.org
t_eq 64 "$RC" "unknown action"
t_run ctl web
t_eq 64 "$RC" "web without an action"
t_eq "$before" "$(pg_query "$users")" "nothing added by the refused commands"

# --- 2. list
t_run ctl web user list
t_eq 0 "$RC" "user list"
grep -q '^ *1  ann@example.org  *f  *t  *@other.net ann@example.org sasl:Ann ' <<<"$OUT" ||
	t_fail "user list: ann's row: $OUT"
! grep -qi 'argon' <<<"$OUT" || t_fail "user list shows a hash"
t_run ctl web user list --json
t_eq '{"id": 2, "name": "@example.net", "admin": true, "active": true, "scopes": "@example.net",' \
	"$(sed -n 's/ "created_at".*//p' <<<"$OUT" | grep '"@example.net"')" "user list --json"
t_run ctl web user list --csv
t_eq "id,name,admin,active,scopes,created_at,last_login,failed_logins,locked_until,sessions,tokens" \
	"$(head -n 1 <<<"$OUT")" "user list --csv header"

# --- 3. passwd, disable, enable, unlock
session() {	# session USER-ID HEX-BYTE EXPIRES
	pg_query "INSERT INTO beacon.web_sessions (id, user_id, csrf, expires_at)
		  VALUES (decode(repeat('$2', 32), 'hex'), $1, 'c', $3)"
}
session 1 01 "now() + interval '1 hour'"
session 1 02 "now() + interval '1 hour'"
pg_query "UPDATE beacon.web_users SET failed_logins = 5, locked_until = now() + interval '1 hour'
	  WHERE id = 1"
t_run ctl web user passwd ann@example.org <<<'a new long password'
t_eq "0 new password for web user ann@example.org; 2 sessions ended" "$RC $OUT" "passwd"
t_eq "ok 0  0" "$(verify "$(hash ann@example.org)" 'a new long password') $(pg_query \
	"SELECT failed_logins, locked_until, (SELECT count(*) FROM beacon.web_sessions) FROM beacon.web_users WHERE id = 1" |
	tr '|' ' ')" "new hash, lockout cleared, sessions gone"
session 1 03 "now() + interval '1 hour'"
t_run ctl web user disable ann@example.org
t_eq "0 disabled web user ann@example.org; 1 session ended" "$RC $OUT" "disable"
t_eq "f 0" "$(pg_query "SELECT active, (SELECT count(*) FROM beacon.web_sessions) FROM beacon.web_users WHERE id = 1" |
	tr '|' ' ')" "inactive, no session"
t_run ctl web user enable ann@example.org
t_eq "0 enabled web user ann@example.org" "$RC $OUT" "enable"
pg_query "UPDATE beacon.web_users SET failed_logins = 7, locked_until = now() + interval '1 hour'
	  WHERE id = 1"
t_run ctl web user unlock ann@example.org
t_eq "0 unlocked web user ann@example.org" "$RC $OUT" "unlock"
t_eq "t 0 " "$(pg_query "SELECT active, failed_logins, locked_until FROM beacon.web_users WHERE id = 1" |
	tr '|' ' ')" "active, lockout cleared"
for verb in passwd remove disable enable unlock; do
	t_run ctl web user "$verb" nobody@example.org </dev/null
	t_eq "1 beaconctl: error: web: no web user nobody@example.org" "$RC $ERR" "$verb of an unknown user"
done

# --- 4. tokens
t_run ctl web token add Ann@Example.ORG --name 'CRM sync' --expires 30
t_eq 0 "$RC" "token add"
tok=$(sed -n 's/^token //p' <<<"$OUT")
id=$(sed -n 's/^id //p' <<<"$OUT")
[[ $tok =~ ^bw_[A-Za-z0-9_-]{43}$ ]] || t_fail "token is not bw_ + 43 base64url characters: $tok"
t_ok "token bw_ + 43 base64url characters"
sum=$(printf %s "$tok" | sha256sum | cut -d' ' -f1)
t_eq "$sum" "$(pg_query "SELECT encode(id, 'hex') FROM beacon.web_tokens WHERE name = 'CRM sync'")" \
	"the row holds the SHA-256 of the token"
t_eq "${sum:0:16}" "$id" "the id is its first 16 hex digits"
t_eq "t" "$(pg_query "SELECT expires_at BETWEEN now() + interval '29 days 23 hours' AND now() + interval '30 days'
	FROM beacon.web_tokens WHERE name = 'CRM sync'")" "--expires 30"
! grep -rq "$tok" "$PG_DIR" 2>/dev/null || t_fail "the token is in the database's files"
t_ok "the token itself is stored nowhere"
t_run ctl web token add ann@example.org --name second
t_eq "never" "$(sed -n 's/^expires //p' <<<"$OUT")" "a token without --expires does not expire"
t_run ctl web token add nobody@example.org --name x
t_eq "1 beaconctl: error: web: no web user nobody@example.org" "$RC $ERR" "token add: unknown user"
t_run ctl web token add ann@example.org
t_eq 64 "$RC" "token add without --name"
t_run ctl web token list ann@example.org --csv
t_eq 3 "$(wc -l <<<"$OUT")" "token list of a user: header and 2 tokens"
grep -q "^$id,ann@example.org,CRM sync," <<<"$OUT" || t_fail "token list: $OUT"
! grep -q "$tok" <<<"$OUT" || t_fail "token list shows the token"
t_ok "token list shows id, user, label, not the token"
pg_query "INSERT INTO beacon.web_tokens (id, user_id, name) VALUES
	  (decode('abcdef01' || repeat('00', 28), 'hex'), 2, 'twin a'),
	  (decode('abcdef02' || repeat('00', 28), 'hex'), 2, 'twin b')"
t_run ctl web token revoke abcdef
t_eq 1 "$RC" "a prefix of two tokens"
t_eq 2 "$(grep -c -e 'abcdef01' -e 'abcdef02' <<<"$ERR")" "both listed"
t_eq 4 "$(pg_query 'SELECT count(*) FROM beacon.web_tokens')" "none revoked"
t_run ctl web token revoke ABCDEF02
t_eq "0 revoked web token abcdef0200000000 (twin b of @example.net)" "$RC $OUT" "revoke by prefix"
t_run ctl web token revoke abcdef02
t_eq "1 beaconctl: error: web: no web token abcdef02" "$RC $ERR" "revoke of no token"
t_run ctl web token revoke abc
t_eq 64 "$RC" "too short a prefix"
t_run ctl web token revoke "${id:0:8}"
t_eq 0 "$RC" "revoke ann's token"
t_eq "second abcdef01" "$(pg_query "SELECT string_agg(CASE WHEN name LIKE 'twin%' THEN left(encode(id, 'hex'), 8) ELSE name END, ' ' ORDER BY created_at, name) FROM beacon.web_tokens")" \
	"the other tokens are left"

# --- 5. what an account sees
pg_psql -c 'CREATE ROLE t_web LOGIN IN ROLE beacon_web' -c 'CREATE ROLE t_milter LOGIN IN ROLE beacon_milter' \
	-c 'CREATE ROLE t_pixel LOGIN IN ROLE beacon_pixelsrv'
PGUSER=t_milter pg_psql -c "INSERT INTO beacon.messages (id, message_id, sender, sender_key, subject) VALUES
	('00000000-0000-0000-0000-0000000000a1', '<a1@example.org>', 'Ann@Example.ORG', 'ann@example.org', 'for ann'),
	('00000000-0000-0000-0000-0000000000b1', '<b1@example.com>', 'bob@example.com', 'bob@example.com', 'for bob')" \
	-c "INSERT INTO beacon.recipients (token_id, message, address, status, key_id) VALUES
	('00000000-0000-0000-0000-00000000a001', '00000000-0000-0000-0000-0000000000a1', 'r@example.net', 'tracked', 1),
	('00000000-0000-0000-0000-00000000b001', '00000000-0000-0000-0000-0000000000b1', 'r@example.net', 'tracked', 1)"
printf '%s\topen\t%s\thuman\n' "$(date -u +%FT%TZ)" 00000000-0000-0000-0000-00000000a001 \
	"$(date -u +%FT%TZ)" 00000000-0000-0000-0000-00000000b001 |
	PGUSER=t_pixel pg_psql -c 'COPY beacon.events (at, kind, token_id, class) FROM STDIN'
# sees ID - what web user ID sees: subjects, recipients, events
sees() {
	PGUSER=t_web pg_psql -At -c "SELECT set_config('beacon.web_user', '$1', false)" -c "
		SELECT (SELECT coalesce(string_agg(subject, ' ' ORDER BY subject), '-') FROM beacon.messages)
		       || ' ' || (SELECT count(*) FROM beacon.recipients)
		       || ' ' || (SELECT count(*) FROM beacon.web_events)" | tail -n 1
}
t_eq "for ann 1 1" "$(sees 1)" "ann sees her message, its recipient and event, not bob's"
t_eq "for ann for bob 2 2" "$(sees 2)" "the admin sees both"
t_eq "- 0 0" "$(sees 3)" "sasl:bob (no message of that login) sees nothing"
ctl web user disable ann@example.org >/dev/null
t_eq "- 0 0" "$(sees 1)" "disabled, ann sees nothing"
ctl web user enable ann@example.org >/dev/null

# --- 6. maintain removes expired sessions
session 1 04 "now() - interval '1 minute'"
session 2 05 "now() - interval '1 day'"
session 2 06 "now() + interval '1 hour'"
t_run ctl maintain
t_eq 0 "$RC" "maintain"
grep -qx 'removed 2 expired web sessions' <<<"$OUT" || t_fail "maintain: $OUT"
t_eq "0606060606060606060606060606060606060606060606060606060606060606" \
	"$(pg_query "SELECT string_agg(encode(id, 'hex'), ' ') FROM beacon.web_sessions")" \
	"maintain removed the expired sessions, kept the live one"

# --- 7. remove
t_run ctl web user remove @example.net
t_eq "0 removed web user @example.net, with its sessions and tokens" "$RC $OUT" "remove"
t_eq "0 0 0 1" "$(pg_query "SELECT (SELECT count(*) FROM beacon.web_scopes WHERE user_id = 2),
	(SELECT count(*) FROM beacon.web_sessions), (SELECT count(*) FROM beacon.web_tokens WHERE user_id = 2),
	(SELECT count(*) FROM beacon.web_tokens)" | tr '|' ' ')" "its scopes, sessions and tokens went with it"
t_eq "ann@example.org sasl:bob tty@example.org" "$(pg_query "$users")" "the other users are left"
