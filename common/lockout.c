/* The password lockout, counted in PostgreSQL; see lockout.h. */
#include <stdio.h>
#include <stdlib.h>

#include "error.h"
#include "lockout.h"

int
lockout_reserve(struct db_conn *c, const struct lockout_opts *o,
    const char *user_id, long *attempt, long *locked_s)
{
	struct db_res	*res = NULL;
	char		 window[32];
	const char	*params[2] = { user_id, window };
	int		 rc;

	*attempt = 0;
	*locked_s = 0;
	snprintf(window, sizeof(window), "%ld", o->window_s);
	/* The WHERE clause admits an expired lock only. */
	if ((rc = db_query(c, "UPDATE users SET failed_login_count ="
	    " CASE WHEN failed_login_first_at IS NULL OR"
	    " failed_login_first_at < now() - make_interval(secs =>"
	    " $2::int) OR locked_until IS NOT NULL THEN 1"
	    " ELSE failed_login_count + 1 END,"
	    " failed_login_first_at = CASE WHEN failed_login_first_at IS"
	    " NULL OR failed_login_first_at < now() - make_interval(secs =>"
	    " $2::int) OR locked_until IS NOT NULL THEN now()"
	    " ELSE failed_login_first_at END, locked_until = NULL"
	    " WHERE id = $1::uuid AND (locked_until IS NULL OR"
	    " locked_until <= now()) RETURNING failed_login_count",
	    2, params, &res)) != 0)
		goto out;
	if (db_res_nrows(res) == 1)
		*attempt = strtol(db_res_value(res, 0, 0), NULL, 10);
	if (db_res_nrows(res) != 1 || *attempt > o->threshold) {
		db_res_free(res);
		res = NULL;
		rc = WS_ERR_CONFLICT;
		*locked_s = o->duration_s;
		/* Tell the caller the time left of a lock that stands. */
		if (db_query(c, "SELECT ceil(extract(epoch FROM locked_until"
		    " - now()))::bigint FROM users WHERE id = $1::uuid AND"
		    " locked_until > now()", 1, params, &res) == 0 &&
		    db_res_nrows(res) == 1)
			*locked_s = strtol(db_res_value(res, 0, 0), NULL, 10);
	}
out:
	db_res_free(res);
	return rc;
}

void
lockout_release(struct db_conn *c, const char *user_id)
{
	db_query(c, "UPDATE users SET failed_login_count ="
	    " greatest(failed_login_count - 1, 0) WHERE id = $1::uuid",
	    1, &user_id, NULL);
}

int
lockout_lock(struct db_conn *c, const struct lockout_opts *o,
    const char *user_id)
{
	char		 dur[32];
	const char	*params[2] = { user_id, dur };

	snprintf(dur, sizeof(dur), "%ld", o->duration_s);
	return db_query(c, "UPDATE users SET locked_until = now() +"
	    " make_interval(secs => $2::int) WHERE id = $1::uuid",
	    2, params, NULL);
}
