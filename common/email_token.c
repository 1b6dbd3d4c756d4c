/*
 * Single-use mailed tokens.  Using one is one UPDATE with the "unused
 * and unexpired" test in its WHERE clause, so two concurrent uses of
 * the same token cannot both succeed: the second finds used_at set.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "email_token.h"
#include "error.h"

int
email_token_create(struct db_conn *c, const char *user_id,
    const char *purpose, const char *new_email, long ttl_s,
    char token[TOKEN_LEN + 1])
{
	char		 hex[TOKEN_HASH_HEX_LEN + 1], ttl[32];
	const char	*params[5];
	int		 rc;

	params[0] = user_id;
	params[1] = purpose;
	if ((rc = db_query(c, "UPDATE email_tokens SET used_at = now()"
	    " WHERE user_id = $1::uuid AND purpose = $2"
	    " AND used_at IS NULL", 2, params, NULL)) != 0)
		return rc;
	if (token_new(token) != 0)
		return WS_ERR_INTERNAL;
	token_hash_hex(token, hex);
	snprintf(ttl, sizeof(ttl), "%ld", ttl_s);
	params[2] = hex;
	params[3] = new_email;
	params[4] = ttl;
	rc = db_query(c, "INSERT INTO email_tokens (user_id, purpose,"
	    " token_hash, new_email, expires_at) VALUES ($1::uuid, $2,"
	    " decode($3, 'hex'), $4,"
	    " now() + make_interval(secs => $5::int))", 5, params, NULL);
	if (rc != 0)
		sodium_memzero(token, TOKEN_LEN + 1);
	return rc;
}

int
email_token_consume(struct db_conn *c, const char *token,
    const char *purpose, char user_id[37], char *new_email,
    size_t new_email_len)
{
	struct db_res	*res = NULL;
	char		 hex[TOKEN_HASH_HEX_LEN + 1];
	const char	*params[2];
	int		 rc;

	if (!token_valid(token))
		return WS_ERR_NOTFOUND;
	token_hash_hex(token, hex);
	params[0] = hex;
	params[1] = purpose;
	if ((rc = db_query(c, "UPDATE email_tokens SET used_at = now()"
	    " WHERE token_hash = decode($1, 'hex') AND purpose = $2"
	    " AND used_at IS NULL AND expires_at > now()"
	    " RETURNING user_id, coalesce(new_email, '')", 2, params,
	    &res)) != 0)
		goto out;
	if (db_res_nrows(res) != 1) {
		rc = WS_ERR_NOTFOUND;
		goto out;
	}
	snprintf(user_id, 37, "%s", db_res_value(res, 0, 0));
	if (new_email != NULL)
		snprintf(new_email, new_email_len, "%s",
		    db_res_value(res, 0, 1));
out:
	db_res_free(res);
	return rc;
}
