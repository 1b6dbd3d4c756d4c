/*
 * The audit log: every authentication and admin event, appended to
 * auth_events and chained by hash (sql/0002_audit_chain.sql), so that
 * a changed or removed row shows when the chain is checked.
 */
#ifndef WEBSANDS_AUDIT_H
#define WEBSANDS_AUDIT_H

#include <jansson.h>

#include "db.h"
#include "http.h"

struct audit_event {
	const char	*type;		/* "login_failed", "user_suspended" */
	const char	*user_id;	/* the account concerned, or NULL */
	const char	*actor_id;	/* who acted, or NULL for the system */
	const char	*ip;		/* the client address, or NULL */
	const char	*user_agent;	/* or NULL; cut to 512 bytes */
	const json_t	*details;	/* an object, or NULL; never secrets */
};

/*
 * Appends ev inside the caller's transaction on c.  It takes a
 * transaction-scoped advisory lock so concurrent writers extend one
 * chain in id order; the lock is held until the caller commits, so
 * callers record the event as the last step of their transaction.
 * Returns 0 or an error of db_query.
 */
int	 audit_record(struct db_conn *c, const struct audit_event *ev);
/* The same in a transaction of its own. */
int	 audit_record_now(struct db_conn *c, const struct audit_event *ev);
/* Fills ip and user_agent of ev from r. */
void	 audit_from_request(struct audit_event *ev, const struct req *r);

#endif
