/*
 * NAME
 *	dlurl_mint.c - print signed download paths for the download benchmark
 *
 * SYNOPSIS
 *	dlurl_mint SECRET_FILE RID_HEX EXPIRY N...
 *
 * DESCRIPTION
 *	Makes the token of recipient RID_HEX (32 hex digits) under the
 *	signing key of SECRET_FILE and prints, one a line, the path
 *	/d/<token>/<n>/<sig> of each attachment N expiring at EXPIRY (unix
 *	seconds), exactly as beacon-milter writes them (lib/token.c
 *	dlurl_make).  Exit 1 on any error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "token.h"

int main(int argc, char **argv)
{
	uint8_t rid[TOKEN_RID_LEN];
	char err[256], tok[TOKEN_STR_LEN + 1];
	struct token_keys *k;

	if (argc < 5 || strlen(argv[2]) != 2 * TOKEN_RID_LEN) {
		fprintf(stderr, "usage: dlurl_mint SECRET_FILE RID_HEX EXPIRY N...\n");
		return 1;
	}
	for (int i = 0; i < TOKEN_RID_LEN; i++)
		if (sscanf(argv[2] + 2 * i, "%2hhx", &rid[i]) != 1)
			return 1;
	if (!(k = token_keys_load(argv[1], err, sizeof(err)))) {
		fprintf(stderr, "dlurl_mint: %s\n", err);
		return 1;
	}
	if (token_make(k, rid, tok) < 0)
		return 1;
	for (int i = 4; i < argc; i++) {
		char *url = dlurl_make(k, "", tok, (unsigned)strtoul(argv[i], NULL, 10),
				       strtoull(argv[3], NULL, 10));
		if (!url)
			return 1;
		printf("%s\n", url);
		free(url);
	}
	token_keys_free(k);
	return 0;
}
