/*
 * Deleting an account.  The audit log is append-only and chained by
 * hash, so the account's events stay, but the chain covers only
 * digests of the user's id, address and user agent: clearing the
 * values keeps the chain verifiable while nothing in the database
 * identifies the person.
 */
#include <stdio.h>
#include <string.h>

#include "account.h"
#include "audit.h"
#include "error.h"
#include "log.h"
#include "session.h"

void
account_profile_key(char *out, size_t outlen, const char *user_id)
{
	snprintf(out, outlen, "profile:%s", user_id);
}

void
account_forget(struct cache *cache, const char *user_id)
{
	char	 key[64];

	account_profile_key(key, sizeof(key), user_id);
	if (cache_delete(cache, key) != 0)
		log_event(LOG_WARN, "profile_cache_delete_failed", "user",
		    user_id, NULL);
}

int
account_delete(struct db_conn *c, struct cache *cache, const char *user_id,
    const char *actor_id, const char *ip, const char *user_agent)
{
	struct audit_event	 ev = { .type = "account_deleted",
				    .user_id = user_id, .ip = ip,
				    .user_agent = user_agent };
	struct db_res		*res = NULL;
	const char		*params[1] = { user_id };
	int			 rc;

	ev.actor_id = actor_id != NULL ? actor_id : user_id;
	if ((rc = db_query(c, "SELECT 1 FROM users WHERE id = $1::uuid"
	    " FOR UPDATE", 1, params, &res)) != 0)
		goto out;
	if (db_res_nrows(res) != 1) {
		rc = WS_ERR_NOTFOUND;
		goto out;
	}
	if ((rc = session_revoke_user(c, cache, user_id, NULL,
	    "account_deleted", NULL)) != 0 ||
	    (rc = audit_record(c, &ev)) != 0)
		goto out;
	/* Queued mail holds the address: it goes with the account. */
	if ((rc = db_query(c, "DELETE FROM email_outbox"
	    " WHERE user_id = $1::uuid", 1, params, NULL)) != 0 ||
	    (rc = db_query(c, "DELETE FROM users WHERE id = $1::uuid",
	    1, params, NULL)) != 0)
		goto out;
	/*
	 * The events about the account lose its id and where it signed
	 * in from; an admin's own actions on it keep the admin's address.
	 */
	rc = db_query(c, "UPDATE auth_events SET"
	    " ip = CASE WHEN user_id = $1::uuid AND (actor_id IS NULL OR"
	    " actor_id = $1::uuid) THEN NULL ELSE ip END,"
	    " user_agent = CASE WHEN user_id = $1::uuid AND (actor_id IS"
	    " NULL OR actor_id = $1::uuid) THEN NULL ELSE user_agent END,"
	    " user_id = CASE WHEN user_id = $1::uuid THEN NULL"
	    " ELSE user_id END,"
	    " actor_id = CASE WHEN actor_id = $1::uuid THEN NULL"
	    " ELSE actor_id END"
	    " WHERE user_id = $1::uuid OR actor_id = $1::uuid",
	    1, params, NULL);
out:
	db_res_free(res);
	if (rc == 0)
		account_forget(cache, user_id);
	return rc;
}
