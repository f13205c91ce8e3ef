#!/bin/bash
# NAME
#	37_beaconctl_attachments.sh - purge, forget and maintain remove the
#	stored attachment files no live message needs, and nothing else
#
# DESCRIPTION
#	A throwaway cluster and a hand-made attachment_dir (attachment_ttl
#	1d): blobs <aa>/<sha256>, manifests t/<rid-hex> and the rows naming
#	them.  OLD (sent 100 days ago, token R1; R1B's manifest is a
#	symbolic link) has blobs A and S; NEW (a day old, token R2) has S
#	(live) and E (its line and row expired); LONE (a day old, token R3
#	of forget@example.com alone) has F (fresh, live) and S.  X is an
#	old blob nobody names, U a fresh one.  Decoys: a 64-hex symbolic
#	link to a file outside, a temporary file, an upper-case name, a
#	blob in the wrong <aa>, a <aa> directory that is a symbolic link.
#	1. purge --older-than 30 --dry-run counts 1 manifest and 3 blobs
#	   and removes nothing.
#	2. purge --older-than 30 removes R1's manifest and A, X, E; keeps S
#	   (NEW still names it), U (not expired), every decoy and what the
#	   links point to.
#	3. forget forget@example.com removes R3's manifest and F at once
#	   (fresh, but no one else names it), keeps S.
#	4. maintain (retention off) removes the manifest of a token with no
#	   row whose lines all expired, and the old blob only it named;
#	   keeps a manifest of a token with no row yet whose line is live
#	   (and its old blob L).

set -euo pipefail
BEACON_SRC=${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$BEACON_SRC/tests/lib/common.sh"
. "$BEACON_SRC/tests/lib/pg.sh"

CTL=$BEACON_BUILD/beaconctl
[ -x "$CTL" ] || t_fail "no $CTL (build it first)"

t_tmpdir >/dev/null
pg_start
ATT=$T_DIR/att
mkdir -p "$ATT/t" "$T_DIR/outside"

cat >"$T_DIR/beacon.conf" <<EOF
[database]
conninfo = $BEACON_CONNINFO
retention_days = 0
[milter]
attachment_dir = $ATT
attachment_ttl = 1d
EOF

# ctl - run beaconctl with beacon.conf and no PG* environment
ctl() {
	env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGPASSWORD "$CTL" -c "$T_DIR/beacon.conf" "$@"
}

NOW=$(date +%s)
DAY=86400
# blob NAME AGE_DAYS - store content "blob NAME" as the milter would; prints its sha256
blob() {
	local sha
	sha=$(printf 'blob %s' "$1" | sha256sum | cut -c1-64)
	mkdir -p "$ATT/${sha:0:2}"
	printf 'blob %s' "$1" >"$ATT/${sha:0:2}/$sha"
	touch -d "@$((NOW - $2 * DAY))" "$ATT/${sha:0:2}/$sha"
	printf '%s\n' "$sha"
}
# path SHA - the blob's file
path() { printf '%s/%s/%s\n' "$ATT" "${1:0:2}" "$1"; }
# manifest RID LINE... - lines "N SHA EXPIRES_DAYS_FROM_NOW NAME" as t/RID
manifest() {
	local rid=$1 n sha exp name
	shift
	: >"$ATT/t/$rid"
	for l in "$@"; do
		read -r n sha exp name <<<"$l"
		printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$sha" 6 "$((NOW + exp * DAY))" \
			application/pdf "$name" >>"$ATT/t/$rid"
	done
}

A=$(blob A 100); S=$(blob S 100); E=$(blob E 40); F=$(blob F 0)
X=$(blob X 10); U=$(blob U 0); L=$(blob L 50)
R1=20000000000040008000000000001101
R1B=20000000000040008000000000001102
R2=20000000000040008000000000001201
R3=20000000000040008000000000001301
R4=20000000000040008000000000001401
R5=20000000000040008000000000001501
manifest $R1 "1 $A -70 a.pdf" "2 $S -70 s.pdf"
manifest $R2 "1 $S 29 s.pdf" "2 $E -2 e.pdf"
manifest $R3 "1 $F 29 f.pdf" "2 $S 29 s.pdf"
manifest $R5 "1 $L 5 l.pdf"
# decoys: none of them may go
printf 'keep me' >"$T_DIR/outside/victim"
touch -d "@$((NOW - 200 * DAY))" "$T_DIR/outside/victim"
ab=$(printf 'link' | sha256sum | cut -c1-64)
mkdir -p "$ATT/${ab:0:2}"
ln -s "$T_DIR/outside/victim" "$ATT/${ab:0:2}/$ab"
ln -s "$T_DIR/outside/victim" "$ATT/t/$R1B"
printf 'tmp' >"$ATT/${A:0:2}/.tmp.XyZ123"
up=$(printf 'upper' | sha256sum | cut -c1-64 | tr a-f A-F)
mkdir -p "$ATT/${up:0:2}"
printf 'upper' >"$ATT/${up:0:2}/$up"
wrong=$(printf 'wrong' | sha256sum | cut -c1-64)
wdir=$( [ "${wrong:0:2}" = 00 ] && echo 01 || echo 00)
mkdir -p "$ATT/$wdir"
printf 'wrong' >"$ATT/$wdir/$wrong"
ld=
for p in ee ef e9 9e 99; do
	[ -e "$ATT/$p" ] || { ld=$p; break; }
done
lsha=${ld}$(printf 'via link' | sha256sum | cut -c3-64)
printf 'via link' >"$T_DIR/outside/$lsha"
ln -s "$T_DIR/outside" "$ATT/$ld"
touch -d "@$((NOW - 200 * DAY))" "$ATT/${up:0:2}/$up" "$ATT/$wdir/$wrong" \
	"$ATT/${A:0:2}/.tmp.XyZ123" "$T_DIR/outside/$lsha"
touch -h -d "@$((NOW - 200 * DAY))" "$ATT/${ab:0:2}/$ab" "$ATT/t/$R1B"

t_run ctl init
t_eq 0 "$RC" "init exit"
pg_psql <<EOF
INSERT INTO beacon.messages (id, sender, sent_at) VALUES
('10000000-0000-4000-8000-000000000011', 'old@example.org', now() - interval '100 days'),
('10000000-0000-4000-8000-000000000012', 'new@example.org', now() - interval '1 day'),
('10000000-0000-4000-8000-000000000013', 'new@example.org', now() - interval '1 day');
INSERT INTO beacon.recipients (token_id, message, address, status, key_id) VALUES
('20000000-0000-4000-8000-000000001101', '10000000-0000-4000-8000-000000000011', 'a@example.com', 'tracked', 1),
('20000000-0000-4000-8000-000000001102', '10000000-0000-4000-8000-000000000011', 'b@example.com', 'tracked', 1),
('20000000-0000-4000-8000-000000001201', '10000000-0000-4000-8000-000000000012', 'c@example.com', 'tracked', 1),
('20000000-0000-4000-8000-000000001301', '10000000-0000-4000-8000-000000000013', 'forget@example.com', 'tracked', 1);
INSERT INTO beacon.attachments (message, id, name, size, expires_at, storage_ref) VALUES
('10000000-0000-4000-8000-000000000011', 1, 'a.pdf', 6, now() - interval '70 days', '$A'),
('10000000-0000-4000-8000-000000000011', 2, 's.pdf', 6, now() - interval '70 days', '$S'),
('10000000-0000-4000-8000-000000000012', 1, 's.pdf', 6, now() + interval '29 days', '$S'),
('10000000-0000-4000-8000-000000000012', 2, 'e.pdf', 6, now() - interval '2 days', '$E'),
('10000000-0000-4000-8000-000000000013', 1, 'f.pdf', 6, now() + interval '29 days', '$F'),
('10000000-0000-4000-8000-000000000013', 2, 's.pdf', 6, now() + interval '29 days', '$S');
EOF

# left - the files below attachment_dir (not through links), sorted, relative
left() { (cd "$ATT" && find . \( -type f -o -type l \) -printf '%P\n' | LC_ALL=C sort); }
# gone FILE... - the relative names of FILE... removed from the listing BEFORE
gone() {
	local f out=$before
	for f in "$@"; do out=$(printf '%s\n' "$out" | grep -vx -- "$f"); done
	printf '%s\n' "$out"
}
# decoys - the decoys and what they point to are as they were
decoys() {
	t_eq "keep me" "$(cat "$T_DIR/outside/victim")" "$1: the linked file outside"
	t_eq "via link" "$(cat "$T_DIR/outside/$lsha")" "$1: the blob behind a linked <aa>"
	[ -L "$ATT/$ld" ] || t_fail "$1: the linked <aa> directory is gone"
}
blobrel() { printf '%s/%s\n' "${1:0:2}" "$1"; }

before=$(left)
# --- 1. dry run
t_run ctl purge --older-than 30 --dry-run
t_eq 0 "$RC" "purge --dry-run exit"
t_eq "manifests    1
blobs        3 (18 bytes)" "$(printf '%s\n' "$OUT" | tail -n 2)" "purge --dry-run: the files it would remove"
t_eq "$before" "$(left)" "purge --dry-run removes no file"

# --- 2. purge
t_run ctl purge --older-than 30
t_eq 0 "$RC" "purge exit"
t_eq "manifests    1
blobs        3 (18 bytes)" "$(printf '%s\n' "$OUT" | tail -n 2)" "purge: the files removed"
t_eq "$(gone "t/$R1" "$(blobrel "$A")" "$(blobrel "$X")" "$(blobrel "$E")")" "$(left)" \
	"purge removes R1's manifest, A, X and E; keeps S (shared), U (unexpired), the decoys"
decoys purge
before=$(left)
t_run ctl purge --older-than 30
t_eq "manifests    0
blobs        0 (0 bytes)" "$(printf '%s\n' "$OUT" | tail -n 2)" "purge again removes no file"
t_eq "$before" "$(left)" "purge again: the same files"

# --- 3. forget
t_run ctl forget forget@example.com
t_eq 0 "$RC" "forget exit"
t_eq "attachment manifests             1
attachment files                 1" "$(printf '%s\n' "$OUT" | grep '^attachment ')" "forget: its files"
t_eq "$(gone "t/$R3" "$(blobrel "$F")")" "$(left)" "forget removes R3's manifest and F, keeps S"
decoys forget

# --- 4. maintain: manifests of tokens with no row, by expiry
G=$(blob G 50)
manifest $R4 "1 $G -20 g.pdf"
before=$(left)
t_run ctl maintain
t_eq 0 "$RC" "maintain exit"
case $OUT in
*"removed 1 attachment manifest and 1 file (6 bytes) from $ATT"*) t_ok "maintain: its line" ;;
*) printf '%s\n' "$OUT" >&2; t_fail "maintain: no line for the files removed" ;;
esac
t_eq "$(gone "t/$R4" "$(blobrel "$G")")" "$(left)" \
	"maintain removes the expired manifest R4 and G; keeps R5 (live) and L"
decoys maintain
t_eq "$S" "$(sha256sum <"$(path "$S")" | cut -c1-64)" "the shared blob is intact"
