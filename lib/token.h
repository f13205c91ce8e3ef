/*
 * token.h - per-recipient tokens and signed click URLs (libsodium).
 *
 * A token is base64url (no padding) of
 *     key id (1 byte) || recipient id (16 random bytes) || MAC (10 bytes)
 * = 27 bytes = 36 characters.  The MAC is keyed BLAKE2b over the key id
 * and recipient id, with the secret of that key id.  A click URL is
 *     <base>/c/<token>/<n>/<mac>?u=<base64url target>
 * where the 10-byte MAC covers the token, n and the target, so the
 * redirect needs no database and cannot be turned into an open redirect.
 * An unsubscribe URL (RFC 8058 one-click) is
 *     <base>/u/<token>/<mac>
 * where the 10-byte MAC (purpose 'u', under the token's key id) covers
 * the token, so a token seen in a pixel URL cannot be turned into one.
 * A download URL (an attachment kept out of the message) is
 *     <base>/d/<token>/<n>/<sig>
 * where sig is base64url of expiry (8 bytes, unix seconds, big endian)
 * followed by a 16-byte keyed BLAKE2b (purpose 'd', under the token's key
 * id) over the token bytes, n (4 bytes) and the expiry, so the server can
 * refuse an expired link without reading anything.
 * Links are numbered from 1; n = 0 is the hidden link beacon-milter adds
 * to each HTML part (a request for it comes from a link scanner).
 * Several key ids may be loaded at once: the last one in secret_file signs,
 * all verify (key rotation).
 */
#ifndef BEACON_TOKEN_H
#define BEACON_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define TOKEN_RID_LEN 16	/* recipient id bytes */
#define TOKEN_MAC_LEN 10	/* MAC bytes in a token and in a click URL */
#define TOKEN_RAW_LEN (1 + TOKEN_RID_LEN + TOKEN_MAC_LEN)
#define TOKEN_STR_LEN 36	/* base64url characters of a token */
#define TOKEN_CMAC_STR_LEN 14	/* base64url characters of a click MAC */
#define TOKEN_KEY_LEN 32	/* secret bytes per key id */
#define TOKEN_UUID_LEN 36	/* text form of a recipient id */
#define TOKEN_SIG_STR_LEN 15	/* base64url characters of a token_sign signature */
#define TOKEN_DMAC_LEN 16	/* MAC bytes in a download URL */
#define TOKEN_DSIG_LEN (8 + TOKEN_DMAC_LEN)	/* expiry || MAC */
#define TOKEN_DSIG_STR_LEN 32	/* base64url characters of a download signature */

/* token_status - what token_parse and clickurl checks found */
enum token_status {
	TOKEN_OK = 0,
	TOKEN_MALFORMED,	/* wrong length or not base64url */
	TOKEN_UNKNOWN_KEY,	/* key id not loaded */
	TOKEN_BAD_MAC,		/* MAC does not match */
};

/* token - a parsed token */
struct token {
	uint8_t key_id;			/* which secret signed it */
	uint8_t rid[TOKEN_RID_LEN];	/* recipient id (the token_id uuid) */
};

struct token_keys;

/* token_init - initialise libsodium; -1 if it cannot */
int token_init(void);
/* token_keys_load - read secret_file PATH (refuses group/other access); NULL + ERR */
struct token_keys *token_keys_load(const char *path, char *err, size_t errlen);
/* token_keys_new - an empty key set (tests, tools) */
struct token_keys *token_keys_new(void);
/* token_keys_add - add key ID; it becomes the signing key; -1 if ID is 0 or taken */
int token_keys_add(struct token_keys *k, uint8_t id, const uint8_t key[TOKEN_KEY_LEN]);
/* token_keys_current - the key id that signs new tokens, 0 if none */
uint8_t token_keys_current(const struct token_keys *k);
void token_keys_free(struct token_keys *k);

/* token_new_rid - fill RID with random bytes */
void token_new_rid(uint8_t rid[TOKEN_RID_LEN]);
/* token_make - encode RID under the signing key into OUT (NUL-terminated); -1 if no key */
int token_make(const struct token_keys *k, const uint8_t rid[TOKEN_RID_LEN],
	       char out[TOKEN_STR_LEN + 1]);
/* token_parse - decode and verify S[0..LEN) in constant time */
enum token_status token_parse(const struct token_keys *k, const char *s, size_t len,
			      struct token *out);
/* token_rid_uuid - recipient id as a lower-case uuid string */
void token_rid_uuid(const uint8_t rid[TOKEN_RID_LEN], char out[TOKEN_UUID_LEN + 1]);
/* token_uuid_rid - parse a uuid string into RID; -1 if malformed */
int token_uuid_rid(const char *uuid, uint8_t rid[TOKEN_RID_LEN]);
/* token_status_str - a word for a status, for logs and beaconctl */
const char *token_status_str(enum token_status st);

/* token_sign - key id and MAC of DATA under the signing key for purpose TAG (not 't', 'c', 'u', 'd'),
 * base64url into OUT; -1 if no key or a reserved TAG */
int token_sign(const struct token_keys *k, char tag, const void *data, size_t len,
	       char out[TOKEN_SIG_STR_LEN + 1]);
/* token_sign_check - does S[0..SLEN) sign DATA for TAG under a loaded key? (constant time) */
enum token_status token_sign_check(const struct token_keys *k, char tag, const void *data,
				   size_t len, const char *s, size_t slen);

/* clickurl_make - "<base>/c/<token>/<n>/<mac>?u=<b64 url>", malloc'd; NULL on error */
char *clickurl_make(const struct token_keys *k, const char *base_url, const char *token,
		    unsigned n, const char *url);
/* clickurl_check - verify the parts of a click path; on TOKEN_OK *URL is the malloc'd target */
enum token_status clickurl_check(const struct token_keys *k, const char *token, size_t token_len,
				 const char *n, size_t n_len, const char *mac, size_t mac_len,
				 const char *u, size_t u_len, struct token *tok, unsigned *link_n,
				 char **url);

/* unsuburl_make - "<base>/u/<token>/<mac>", malloc'd; NULL on error */
char *unsuburl_make(const struct token_keys *k, const char *base_url, const char *token);
/* unsuburl_check - verify the token and MAC of an unsubscribe path (constant time) */
enum token_status unsuburl_check(const struct token_keys *k, const char *token, size_t token_len,
				 const char *mac, size_t mac_len, struct token *tok);


/* dlurl_make - "<base>/d/<token>/<n>/<sig>" for attachment N (1..) expiring at EXPIRY
 * (unix seconds), malloc'd; NULL on error */
char *dlurl_make(const struct token_keys *k, const char *base_url, const char *token,
		 unsigned n, uint64_t expiry);
/* dlurl_check - verify the token and the signature SIG[0..SIG_LEN) of a download path for
 * attachment N (constant time); on TOKEN_OK *EXPIRY is the signed expiry, which the caller
 * compares with the clock.  Only the one encoding dlurl_make writes is accepted. */
enum token_status dlurl_check(const struct token_keys *k, const char *token, size_t token_len,
			      unsigned n, const char *sig, size_t sig_len, uint64_t *expiry);

#endif
