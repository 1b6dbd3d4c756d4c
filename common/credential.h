/*
 * Setting a user's password: the history rule (no reuse of the last
 * few) and the write itself, shared by the password reset (auth) and
 * the password change (users).
 */
#ifndef WEBSANDS_CREDENTIAL_H
#define WEBSANDS_CREDENTIAL_H

#include "db.h"

#define CREDENTIAL_HISTORY_DEFAULT	5

/*
 * Whether pw equals the current password of user_id or one of the
 * depth - 1 before it (so depth counts the current one).  *reused is
 * set to 1 or 0.  Returns 0, WS_ERR_UNAVAILABLE when no hash slot was
 * free, or an error of db_query.
 */
int	 credential_reused(struct db_conn *c, const char *user_id,
	    const char *pw, long depth, int *reused);
/*
 * Inside the caller's transaction: moves the current hash of user_id
 * into its history (keeping depth - 1 entries), sets hash as the new
 * one, and clears any lockout.  Returns 0 or an error of db_query.
 */
int	 credential_set(struct db_conn *c, const char *user_id,
	    const char *hash, long depth);

#endif
