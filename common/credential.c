/*
 * Password history and the password write.  Each history check costs
 * one hash per remembered password, which is the price of storing
 * them as hashes; depth is small (5) so it stays within a second at
 * the default cost.
 */
#include <stdio.h>

#include "credential.h"
#include "error.h"
#include "password.h"

int
credential_reused(struct db_conn *c, const char *user_id, const char *pw,
    long depth, int *reused)
{
	struct db_res	*res = NULL;
	char		 lim[32];
	const char	*params[2];
	size_t		 i;
	int		 rc, ok = 0;

	*reused = 0;
	snprintf(lim, sizeof(lim), "%ld", depth > 1 ? depth - 1 : 0);
	params[0] = user_id;
	params[1] = lim;
	if ((rc = db_query(c, "SELECT password_hash FROM users"
	    " WHERE id = $1::uuid UNION ALL (SELECT password_hash"
	    " FROM password_history WHERE user_id = $1::uuid"
	    " ORDER BY created_at DESC, id DESC LIMIT $2::int)",
	    2, params, &res)) != 0)
		goto out;
	for (i = 0; i < db_res_nrows(res) && !ok; i++)
		if ((rc = password_verify(pw, db_res_value(res, i, 0),
		    &ok)) != 0)
			goto out;
	*reused = ok;
out:
	db_res_free(res);
	return rc;
}

int
credential_set(struct db_conn *c, const char *user_id, const char *hash,
    long depth)
{
	char		 keep[32];
	const char	*params[3];
	int		 rc;

	params[0] = user_id;
	params[1] = hash;
	snprintf(keep, sizeof(keep), "%ld", depth > 1 ? depth - 1 : 0);
	params[2] = keep;
	if ((rc = db_query(c, "INSERT INTO password_history (user_id,"
	    " password_hash) SELECT id, password_hash FROM users"
	    " WHERE id = $1::uuid", 1, params, NULL)) != 0)
		return rc;
	if ((rc = db_query(c, "UPDATE users SET password_hash = $2,"
	    " password_changed_at = now(), failed_login_count = 0,"
	    " failed_login_first_at = NULL, locked_until = NULL"
	    " WHERE id = $1::uuid", 2, params, NULL)) != 0)
		return rc;
	params[1] = keep;
	return db_query(c, "DELETE FROM password_history WHERE"
	    " user_id = $1::uuid AND id NOT IN (SELECT id FROM"
	    " password_history WHERE user_id = $1::uuid"
	    " ORDER BY created_at DESC, id DESC LIMIT $2::int)",
	    2, params, NULL);
}
