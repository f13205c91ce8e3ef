/*
 * NAME
 *	token_inspect.c - beaconctl token inspect: what a token says
 *
 * SYNOPSIS
 *	beaconctl token inspect TOKEN
 *
 * DESCRIPTION
 *	Decodes TOKEN (36 base64url characters: key id, recipient id, MAC;
 *	see lib/token.h), checks its MAC with the keys of secret_file, and
 *	prints the key id, the recipient id (the token_id uuid), whether the
 *	MAC is valid, then the recipient's row, its message's row and the
 *	recipient's events per kind.  The database is asked even for a bad
 *	MAC: a mangled token may still name a real recipient.
 *
 *	Exit: 0 for a valid token, EX_DATAERR for one that is malformed or
 *	whose MAC does not verify (unknown key id, bad MAC), EX_CONFIG when
 *	the secret file cannot be read.  Stored text is printed escaped.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include <sodium.h>

#include "ctl.h"
#include "output.h"
#include "token.h"

static const char token_inspect_sql[] =
	"SELECT r.address, r.name, r.status, r.key_id, r.token IS NOT DISTINCT FROM $2, "
	"m.id, m.message_id, m.queue_id, m.sender, m.subject, m.campaign, "
	"to_char(m.sent_at, 'YYYY-MM-DD HH24:MI:SS'), m.notify, "
	"(SELECT string_agg(kind || ' ' || n, ', ' ORDER BY kind) FROM "
	" (SELECT kind, count(*) AS n FROM beacon.events WHERE token_id = $1::uuid "
	"  GROUP BY kind) k) "
	"FROM beacon.recipients r JOIN beacon.messages m ON m.id = r.message "
	"WHERE r.token_id = $1::uuid";

/* token_inspect_kv - one "label  value" line, the value escaped */
static void token_inspect_kv(const char *label, const char *value)
{
	printf("%-12s", label);
	out_text(stdout, value, 0, 0);
	putchar('\n');
}

/* token_inspect_db - print the recipient's and message's rows for RID */
static void token_inspect_db(struct ctl *c, const char *uuid, const char *tok, uint8_t key_id)
{
	const char *params[2] = { uuid, tok };
	char key[8];
	PGresult *res;

	ctl_connect(c);
	res = ctl_exec(c, "token inspect", token_inspect_sql, 2, params);
	if (PQntuples(res) == 0) {
		token_inspect_kv("row", "none: no recipient has this id "
				 "(not written yet, or purged)");
		PQclear(res);
		return;
	}
#define V(i) (PQgetisnull(res, 0, (i)) ? "" : PQgetvalue(res, 0, (i)))
	token_inspect_kv("address", V(0));
	if (!PQgetisnull(res, 0, 1))
		token_inspect_kv("name", V(1));
	token_inspect_kv("status", V(2));
	snprintf(key, sizeof(key), "%u", key_id);
	if (strcmp(V(3), key) != 0)
		printf("%-12sthe row says key id %s\n", "warning", V(3));
	if (strcmp(V(4), "t") != 0)
		printf("%-12sthe row holds a different token\n", "warning");
	token_inspect_kv("message", V(5));
	token_inspect_kv("message-id", V(6));
	token_inspect_kv("queue id", V(7));
	token_inspect_kv("sender", V(8));
	token_inspect_kv("subject", V(9));
	token_inspect_kv("campaign", V(10));
	token_inspect_kv("sent at", V(11));
	token_inspect_kv("notify", strcmp(V(12), "t") == 0 ? "yes" : "no");
	token_inspect_kv("events", PQgetisnull(res, 0, 13) ? "none" : V(13));
#undef V
	PQclear(res);
}

/* ctl_token - token inspect TOKEN */
int ctl_token(struct ctl *c, int argc, char **argv)
{
	uint8_t raw[TOKEN_RAW_LEN], rid[TOKEN_RID_LEN];
	char uuid[TOKEN_UUID_LEN + 1], key[8], err[512];
	struct token_keys *keys;
	struct token tk;
	enum token_status st;
	const char *tok, *end;
	size_t len;
	int i = 1;

	if (argc < 2 || strcmp(argv[1], "inspect") != 0)
		ctl_usage_error(c, "expected 'inspect'");
	if (argc > 2 && strcmp(argv[2], "--") == 0)
		i++;
	if (argc - i != 2)
		ctl_usage_error(c, argc - i < 2 ? "no TOKEN given" : "more than one TOKEN");
	tok = argv[i + 1];
	len = strlen(tok);
	if (token_init() < 0)
		ctl_die(c, EX_SOFTWARE, "cannot initialise libsodium");
	if (len != TOKEN_STR_LEN ||
	    sodium_base642bin(raw, sizeof(raw), tok, len, NULL, &len, &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    len != sizeof(raw) || *end)
		ctl_die(c, EX_DATAERR, "malformed token: expected %d base64url characters "
			"(key id, recipient id, MAC)", TOKEN_STR_LEN);
	memcpy(rid, raw + 1, TOKEN_RID_LEN);
	token_rid_uuid(rid, uuid);

	keys = token_keys_load(c->cfg.global.secret_file, err, sizeof(err));
	if (!keys)
		ctl_die(c, EX_CONFIG, "%s", err);
	st = token_parse(keys, tok, strlen(tok), &tk);
	token_keys_free(keys);

	snprintf(key, sizeof(key), "%u", raw[0]);
	token_inspect_kv("key id", key);
	token_inspect_kv("recipient", uuid);
	token_inspect_kv("MAC", token_status_str(st));
	fflush(stdout);
	token_inspect_db(c, uuid, tok, raw[0]);
	return st == TOKEN_OK ? 0 : EX_DATAERR;
}
