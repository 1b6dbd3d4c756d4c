/*
 * Whole-account operations shared by the users and admin responders:
 * the cached profile and deleting an account.
 */
#ifndef WEBSANDS_ACCOUNT_H
#define WEBSANDS_ACCOUNT_H

#include <stddef.h>

#include "cache.h"
#include "db.h"

/* The memcached key of a user's cached profile (GET /me). */
void	 account_profile_key(char *out, size_t outlen, const char *user_id);
/*
 * Forgets the cached profile of user_id.  Call it after every change
 * to the user's row or settings, after the transaction committed.
 */
void	 account_forget(struct cache *cache, const char *user_id);
/*
 * Inside the caller's transaction: ends every session of user_id,
 * records an "account_deleted" event by actor_id (NULL: the user),
 * removes the account with all it owns (sessions, tokens, settings,
 * history, recovery codes, queued mail), and clears the user's id
 * from the audit log, where only its digest (user_ref) stays as an
 * anonymous id.  Returns 0, WS_ERR_NOTFOUND, or an error of db_query.
 */
int	 account_delete(struct db_conn *c, struct cache *cache,
	    const char *user_id, const char *actor_id, const char *ip,
	    const char *user_agent);

#endif
