/*
 * Mailed single-use tokens: email verification, password reset and
 * email change.  Each is 256 random bits, stored as SHA-256 only,
 * usable once and before it expires; a new token of a purpose ends
 * the user's older unused ones of that purpose.
 */
#ifndef WEBSANDS_EMAIL_TOKEN_H
#define WEBSANDS_EMAIL_TOKEN_H

#include <stddef.h>

#include "db.h"
#include "token.h"

/* Purposes, as stored in email_tokens.purpose. */
#define EMAIL_TOKEN_VERIFY	"verify"
#define EMAIL_TOKEN_RESET	"reset"
#define EMAIL_TOKEN_CHANGE	"email_change"

/*
 * Inside the caller's transaction: ends user_id's unused tokens of
 * purpose and issues a new one valid for ttl_s seconds into token
 * (wipe it once mailed).  new_email only for EMAIL_TOKEN_CHANGE.
 * Returns 0 or an error of db_query.
 */
int	 email_token_create(struct db_conn *c, const char *user_id,
	    const char *purpose, const char *new_email, long ttl_s,
	    char token[TOKEN_LEN + 1]);
/*
 * Inside the caller's transaction: uses token for purpose, at most
 * once.  Copies its user into user_id and, when new_email is not NULL,
 * its new address.  WS_ERR_NOTFOUND for a token unknown, used,
 * expired or of another purpose (the caller cannot tell which).
 */
int	 email_token_consume(struct db_conn *c, const char *token,
	    const char *purpose, char user_id[37], char *new_email,
	    size_t new_email_len);

#endif
