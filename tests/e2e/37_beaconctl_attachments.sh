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
#	5. A manifest over 1 MiB and one with lines that name no blob do
#	   not stop blob removal: maintain removes the old blob Y no one
#	   names, keeps the blobs they name, keeps the fresh unparsable
#	   manifest and removes an old one (its mtime + attachment_ttl).
#	6. maintain removes the milter's temporary files (.tmp.XXXXXX) over
#	   a day old in <aa>/ and t/, and no other file: a fresh one, other
#	   names, one at the top, a link, one behind a linked <aa>.
#	7. With <attachment_dir>/.lock held shared (as the milter holds it
#	   while it stores a message), purge and forget wait; a manifest
#	   written before it is let go keeps the blob it names (an old blob
#	   for purge, a blob forget would remove at once for forget).

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
	"$T_DIR/outside/$lsha"
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
left() { (cd "$ATT" && find . \( -type f -o -type l \) ! -name .lock -printf '%P\n' | LC_ALL=C sort); }
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

# --- 5. manifests of any size, and ones that cannot be parsed
Y=$(blob Y 50); B=$(blob B 50); C=$(blob C 50); K=$(blob K 50)
R6=20000000000040008000000000001601
R7=20000000000040008000000000001701
R8=20000000000040008000000000001801
{
	printf '1\t%s\t6\t%s\tapplication/pdf\t' "$B" "$((NOW + 5 * DAY))"
	head -c 1200000 /dev/zero | tr '\0' a
	printf '\n2\t%s\t6\t%s\tapplication/pdf\tc.pdf\n' "$C" "$((NOW + 5 * DAY))"
} >"$ATT/t/$R6"
printf 'garbage\n2\t%s\tjunk\n' "$K" >"$ATT/t/$R7"
printf 'garbage\n' >"$ATT/t/$R8"
touch -d "@$((NOW - 40 * DAY))" "$ATT/t/$R8"
before=$(left)
t_run ctl maintain
t_eq 0 "$RC" "maintain exit (odd manifests)"
case $OUT in
*"removed 1 attachment manifest and 1 file (6 bytes) from $ATT"*) t_ok "maintain: its line (odd manifests)" ;;
*) printf '%s\n' "$OUT" >&2; t_fail "maintain (odd manifests): expected 1 manifest and 1 file" ;;
esac
t_eq "$(gone "t/$R8" "$(blobrel "$Y")")" "$(left)" \
	"maintain removes Y and the old unparsable R8; keeps B, C (1 MiB manifest), K and R7 (fresh, unparsable)"
case $ERR in
*"$ATT/t/$R7"*) t_ok "a warning names the unparsable manifest" ;;
*) printf '%s\n' "$ERR" >&2; t_fail "no warning names t/$R7" ;;
esac

# --- 6. temporary files a crash left
old() { touch -h -d "@$((NOW - 2 * DAY))" "$@"; }
sd=${S:0:2}
printf 't' >"$ATT/$sd/.tmp.AbC123"; printf 't' >"$ATT/t/.tmp.Zz9Q01"
printf 't' >"$ATT/$sd/.tmp.XyZ123"	# fresh: may be in use
printf 't' >"$ATT/$sd/.tmp.toolong7"; printf 't' >"$ATT/$sd/.tmp.Ab-123"
printf 't' >"$ATT/.tmp.TopLv1"; printf 't' >"$T_DIR/outside/.tmp.OutSd1"
ln -s "$T_DIR/outside/victim" "$ATT/$sd/.tmp.LnK123"
old "$ATT/$sd/.tmp.AbC123" "$ATT/t/.tmp.Zz9Q01" "$ATT/$sd/.tmp.toolong7" "$ATT/$sd/.tmp.Ab-123" \
	"$ATT/.tmp.TopLv1" "$T_DIR/outside/.tmp.OutSd1" "$ATT/$sd/.tmp.LnK123"
before=$(left)
t_run ctl maintain
t_eq 0 "$RC" "maintain exit (temporary files)"
case $OUT in
*"removed 2 temporary files a crash left in $ATT"*) t_ok "maintain: its temporary files line" ;;
*) printf '%s\n' "$OUT" >&2; t_fail "maintain: no line for 2 temporary files" ;;
esac
t_eq "$(gone "$sd/.tmp.AbC123" "t/.tmp.Zz9Q01")" "$(left)" \
	"maintain removes the old .tmp.XXXXXX of <aa>/ and t/ only"
[ -f "$T_DIR/outside/.tmp.OutSd1" ] || t_fail "the temporary file behind a linked <aa> is gone"
decoys temporary

# --- 7. the lock shared with beacon-milter
# hold_lock RID SHA - hold .lock shared until $T_DIR/go (at most 10 s), then write
# manifest RID naming SHA (live) and let go; its PID in HOLDER
hold_lock() {
	rm -f "$T_DIR/go" "$T_DIR/locked"
	(
		exec 9<"$ATT/.lock"
		flock -s 9
		: >"$T_DIR/locked"
		for _ in $(seq 100); do [ -e "$T_DIR/go" ] && break; sleep 0.1; done
		manifest "$1" "1 $2 5 late.pdf"
	) &
	HOLDER=$!
	for _ in $(seq 50); do [ -e "$T_DIR/locked" ] && break; sleep 0.1; done
	[ -e "$T_DIR/locked" ] || t_fail "the shared lock was not taken"
}
# waits WHAT PID - PID still runs a second later (it waits for the lock); let go,
# its exit status in RC
waits() {
	sleep 1
	kill -0 "$2" 2>/dev/null || { cat "$T_DIR/bg.out" "$T_DIR/bg.err" >&2; t_fail "$1 did not wait for the lock"; }
	t_ok "$1 waits while the lock is held shared"
	: >"$T_DIR/go"
	wait "$HOLDER"
	set +e; wait "$2"; RC=$?; set -e
}
[ -f "$ATT/.lock" ] && [ ! -L "$ATT/.lock" ] || t_fail "beaconctl made no $ATT/.lock"
Z=$(blob Z 50)
R9=20000000000040008000000000001901
hold_lock $R9 "$Z"
ctl purge --older-than 30 >"$T_DIR/bg.out" 2>"$T_DIR/bg.err" &
waits purge $!
t_eq 0 "$RC" "purge exit (after the lock)"
[ -f "$(path "$Z")" ] || t_fail "purge removed Z, named by a manifest written under the lock"
t_ok "purge keeps Z, named by a manifest written while it waited"

W=$(blob W 0)
R10=20000000000040008000000000002001
R11=20000000000040008000000000002101
manifest $R10 "1 $W 29 w.pdf"
pg_psql <<EOF
INSERT INTO beacon.messages (id, sender, sent_at) VALUES
('10000000-0000-4000-8000-000000000020', 'new@example.org', now() - interval '1 day');
INSERT INTO beacon.recipients (token_id, message, address, status, key_id) VALUES
('20000000-0000-4000-8000-000000002001', '10000000-0000-4000-8000-000000000020', 'forget2@example.com', 'tracked', 1);
EOF
# step 5's R7 (unparsable: W would stay by its own expiry, lock or not) and K
rm -f "$ATT/t/$R7" "$(path "$K")"
hold_lock $R11 "$W"
ctl forget forget2@example.com >"$T_DIR/bg.out" 2>"$T_DIR/bg.err" &
waits forget $!
t_eq 0 "$RC" "forget exit (after the lock)"
[ ! -e "$ATT/t/$R10" ] || t_fail "forget kept its manifest"
[ -f "$(path "$W")" ] || t_fail "forget removed W, named by a manifest written under the lock"
t_eq "attachment manifests             1
attachment files                 0" "$(grep '^attachment ' "$T_DIR/bg.out")" "forget (after the lock): its files"
t_ok "forget removes its manifest, keeps W named by a manifest written while it waited"
