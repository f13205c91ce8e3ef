#!/bin/bash
# NAME
#	34_beaconctl_usage.sh - beaconctl's errors: clear message, sysexits code
#
# DESCRIPTION
#	No database is needed: bad commands, options and arguments exit 64
#	(EX_USAGE) with a message naming what was wrong, before any
#	connection; every command of the list "beaconctl help" prints (each
#	one in beaconctl(8)) answers "beaconctl CMD --help", "CMD -h" and
#	"beaconctl help CMD" alike with its own usage on stdout and exit 0,
#	and a usage error prints that same usage; a missing config or a password file others may read
#	exits 78 (EX_CONFIG); a database nobody listens for exits 69
#	(EX_UNAVAILABLE) naming the host, for every command that connects.

set -euo pipefail
BEACON_SRC=${BEACON_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$BEACON_SRC/tests/lib/common.sh"

CTL=$BEACON_BUILD/beaconctl
[ -x "$CTL" ] || t_fail "no $CTL (build it first)"

t_tmpdir >/dev/null
port=$(t_free_port)
# reclassify reads the rule files of [pixelsrv] before it connects
cat >"$T_DIR/beacon.conf" <<EOF
[pixelsrv]
mail_clients = $BEACON_SRC/pixelsrv/mail-clients.yaml
machines = $BEACON_SRC/pixelsrv/machines.yaml

[database]
conninfo = host=127.0.0.1 port=$port dbname=beacon user=beacon
connect_timeout = 2
EOF


# usage_case 'MESSAGE' ARGS... - beaconctl ARGS exits 64, first stderr line MESSAGE
usage_case() {
	local msg=$1
	shift
	t_run "$CTL" -c "$T_DIR/beacon.conf" "$@"
	t_eq "64 $msg" "$RC $(printf '%s\n' "$ERR" | head -n 1)" "beaconctl $*"
	t_eq "" "$OUT" "beaconctl $*: nothing on stdout"
}

# --- the command line
usage_case "beaconctl: no command given"
usage_case "beaconctl: unknown command 'frobnicate'" frobnicate
usage_case "beaconctl: migrate: unknown option '--bogus'" migrate --bogus
usage_case "beaconctl: migrate: unexpected argument 'now'" migrate now
usage_case "beaconctl: init: unknown option '--status'" init --status
usage_case "beaconctl: export: --format is required" export
usage_case "beaconctl: export: option '--format' needs a value" export --format
usage_case "beaconctl: export: unknown format 'xml'" export --format xml
usage_case "beaconctl: export: --class: unknown class 'humans' (a comma list of human, proxy, prefetch, scanner, internal, sender)" \
	export --format csv --class human,humans
usage_case "beaconctl: purge: --older-than is required" purge
usage_case "beaconctl: purge: --older-than '-1': expected whole days, 0 to 100000" purge --older-than -1
usage_case "beaconctl: purge: --older-than '30d': expected whole days, 0 to 100000" purge --older-than 30d
usage_case "beaconctl: forget: an address is required" forget
usage_case "beaconctl: forget: expected one address, user@domain" forget @example.org
usage_case "beaconctl: forget: unexpected argument 'b@example.org'" forget a@example.org b@example.org
usage_case "beaconctl: forget: unknown option '--keep'" forget a@example.org --keep
usage_case "beaconctl: suppress: expected add, del or list" suppress
usage_case "beaconctl: suppress: unknown action 'drop' (add, del or list)" suppress drop a@example.org
usage_case "beaconctl: suppress: add needs an ADDRESS or @DOMAIN" suppress add
usage_case "beaconctl: suppress: --reason goes with add" suppress del a@example.org --reason x
usage_case "beaconctl: suppress: 'a b@example.org': a special character in an unquoted local part" \
	suppress add 'a b@example.org'
usage_case "beaconctl: token: expected 'inspect'" token
usage_case "beaconctl: token: no TOKEN given" token inspect
usage_case "beaconctl: history: no ADDRESS or MESSAGE-ID given" history
usage_case "beaconctl: history: --csv and --json exclude each other" history a@example.org --csv --json
usage_case "beaconctl: report: --csv and --json exclude each other" report summary --csv --json
usage_case "beaconctl: maintain: --months-ahead 'x': expected 0 to 120" maintain --months-ahead x
usage_case "beaconctl: watch: unknown option '-x'" watch -x
usage_case "beaconctl: reclassify: unexpected argument 'all'" reclassify all
usage_case "beaconctl: reclassify: option '--since' needs a value" reclassify --since
usage_case "beaconctl: watch: --timeout '0': expected seconds, 1 to 31536000" watch --timeout 0
usage_case "beaconctl: inbound: expected add, remove, disable, enable, list, import or source" inbound
usage_case "beaconctl: inbound: disable needs an ADDRESS" inbound disable
usage_case "beaconctl: inbound: unexpected argument 'b@example.org'" inbound enable a@example.org b@example.org
usage_case "beaconctl: inbound: unknown FIELD 'subject' (domain, from, reply_to or list_id)" \
	inbound source test subject x
usage_case "beaconctl: inbound: from given twice" inbound source test from a@example.org from b@example.org
usage_case "beaconctl: inbound: add needs ADDRESS and POINT_OF_SALE" inbound add a@example.org
usage_case "beaconctl: inbound: --owner goes with add" inbound remove a@example.org --owner x
usage_case "beaconctl: inbound: unknown action 'source drop' (add, list, remove or test)" inbound source drop 1
usage_case "beaconctl: inbound: --priority '1.5': expected a whole number, -1000000 to 1000000" \
	inbound source add from '*@x.example' X --priority 1.5
usage_case "beaconctl: report: --period 'year': expected day, week or month" report inbound --period year
usage_case "beaconctl: report: --period and --latest go with report inbound" report summary --latest 3

t_run "$CTL" -c "$T_DIR/beacon.conf" help
t_eq 0 "$RC" "help exit"
t_eq "usage: beaconctl [-c FILE] [-d] [-n] COMMAND [ARGS...]" "$(printf '%s\n' "$OUT" | head -n 1)" "help first line"
t_run "$CTL" -h
t_eq 0 "$RC" "-h exit"
t_eq 1 "$(printf '%s\n' "$OUT" | grep -c '^  token inspect TOKEN ')" "-h lists token inspect"
help_list=$OUT

# --- every command answers --help, -h and help CMD with its own usage
cmds=$(printf '%s\n' "$help_list" | sed -n 's/^  \([a-z][a-z]*\)\( .*\)\{0,1\}$/\1/p' | uniq)
t_eq "init migrate report history watch export purge forget suppress inbound notify web token reclassify maintain help" "$(echo $cmds)" \
	"the commands help lists"
for cmd in $cmds; do
	grep -q "^\.Cm $cmd\( \|\$\)" "$BEACON_SRC/man/beaconctl.8" || t_fail "$cmd is not in beaconctl(8)"
	t_run "$CTL" -c "$T_DIR/beacon.conf" "$cmd" --help
	t_eq "0 " "$RC $ERR" "beaconctl $cmd --help: exit 0, nothing on stderr"
	t_eq "usage: beaconctl [-c FILE] $cmd" "$(printf '%s\n' "$OUT" | head -n 1 | cut -d' ' -f1-5)" \
		"beaconctl $cmd --help: usage line"
	help=$OUT
	t_run "$CTL" -c "$T_DIR/beacon.conf" help "$cmd"
	t_eq "0 " "$RC $ERR" "beaconctl help $cmd: exit 0, nothing on stderr"
	t_eq "$help" "$OUT" "beaconctl help $cmd = beaconctl $cmd --help"
	t_run "$CTL" -c "$T_DIR/beacon.conf" "$cmd" -h
	t_eq "0 $help" "$RC $OUT" "beaconctl $cmd -h = beaconctl $cmd --help"
done
# --help anywhere before "--", whatever else is on the line, before any check or connection
t_run "$CTL" -c "$T_DIR/beacon.conf" report summary -v since=x --bogus --help
t_eq "0 usage: beaconctl [-c FILE] report [NAME [-v VAR=VALUE]... [--csv|--json]]" \
	"$RC $(printf '%s\n' "$OUT" | head -n 1)" "report ... --help after other arguments"
t_run "$CTL" -c "$T_DIR/beacon.conf" suppress add --reason --help
t_eq 0 "$RC" "suppress add --reason --help: help, not a reason"
# a later -h is an option's value: suppress add with reason "-h" and no address
t_run "$CTL" -c "$T_DIR/beacon.conf" suppress add --reason -h
t_eq 64 "$RC" "suppress add --reason -h: a usage error (no address), not help"
t_run "$CTL" -c "$T_DIR/beacon.conf" token inspect -- --help
t_eq 65 "$RC" "token inspect -- --help: a token, not help"
# a usage error prints the same usage as --help
t_run "$CTL" -c "$T_DIR/beacon.conf" export --help
export_help=$(printf '%s\n' "$OUT" | head -n -2)	# the usage, without what it does and "see"
t_eq 2 "$(printf '%s\n' "$export_help" | wc -l)" "export's usage: two lines"
t_run "$CTL" -c "$T_DIR/beacon.conf" export --bogus
t_eq "64 $export_help" "$RC $(printf '%s\n' "$ERR" | sed 1d)" "a usage error prints the usage --help prints"
usage_case "beaconctl: help: unknown command 'nosuch'" help nosuch
usage_case "beaconctl: help: unexpected argument 'b'" help report b

# --- configuration
t_run "$CTL" -c "$T_DIR/missing.conf" migrate
t_eq 78 "$RC" "missing config exit"
t_eq "beaconctl: $T_DIR/missing.conf: cannot read: No such file or directory" "$ERR" "missing config message"
printf 'secret\n' >"$T_DIR/pw"
chmod 644 "$T_DIR/pw"
printf 'password_file = %s\n' "$T_DIR/pw" >>"$T_DIR/beacon.conf"
t_run "$CTL" -c "$T_DIR/beacon.conf" suppress list
t_eq 78 "$RC" "readable password file exit"
t_eq "beaconctl: error: suppress: $T_DIR/pw: password file is accessible by group or others (mode 0644); run: chmod 600 $T_DIR/pw" \
	"$ERR" "readable password file message"
chmod 600 "$T_DIR/pw"

# --- no database listening: every command that connects says so
for args in "init" "migrate" "report summary" "history a@example.org" "watch --count 1" \
	"export --format csv" "purge --older-than 1" "suppress list" "notify list" "web user list" \
	"reclassify" "maintain"; do
	# shellcheck disable=SC2086
	t_run "$CTL" -c "$T_DIR/beacon.conf" $args
	t_eq 69 "$RC" "beaconctl $args without a database: exit"
	t_eq "beaconctl: error: ${args%% *}: database at 127.0.0.1: connection to server at \"127.0.0.1\", port $port failed: Connection refused" \
		"$ERR" "beaconctl $args without a database: message"
done
