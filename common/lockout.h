/*
 * The password lockout (design.md 7), one rule for every place that
 * checks a password: sign-in and the re-entry of the password before
 * a sensitive change.  The count lives in the users row, so the
 * lockout holds without memcached, and an attempt is reserved before
 * the password is checked: one UPDATE takes the next attempt number
 * under the row lock, so parallel attempts are numbered one after the
 * other and no more than the threshold are ever checked.
 */
#ifndef WEBSANDS_LOCKOUT_H
#define WEBSANDS_LOCKOUT_H

#include "db.h"

struct lockout_opts {
	long	 threshold;	/* failures that lock: 5 */
	long	 window_s;	/* the window they are counted in: 900 */
	long	 duration_s;	/* how long a lock lasts: 1800 */
};

/*
 * Reserves the next attempt of user_id (outside a transaction, or
 * inside the caller's).  Returns 0 with the attempt number in
 * *attempt; WS_ERR_CONFLICT when the account is locked, or this
 * attempt is past the threshold, with the seconds to wait in
 * *locked_s; or an error of db_query.  A run of failures starts again
 * when its window has passed or when a lock it caused has run out.
 */
int	 lockout_reserve(struct db_conn *c, const struct lockout_opts *o,
	    const char *user_id, long *attempt, long *locked_s);
/* Gives back a reserved attempt that never checked a password. */
void	 lockout_release(struct db_conn *c, const char *user_id);
/*
 * Inside the caller's transaction: locks user_id for o->duration_s.
 * Returns 0 or an error of db_query.
 */
int	 lockout_lock(struct db_conn *c, const struct lockout_opts *o,
	    const char *user_id);

#endif
