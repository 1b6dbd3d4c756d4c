/*
 * Sessions and their refresh tokens (design.md 6).  A session is one
 * sign-in; its refresh tokens form one family, stored by SHA-256 only.
 * Using a refresh token rotates it; using a rotated one again, outside
 * a short grace for concurrent tabs, ends the whole session.
 *
 * Whether a session is still valid is written to memcached
 * ("sess:<id>") as well as PostgreSQL, and every authenticated request
 * asks memcached first and PostgreSQL on a miss or an outage, so a
 * revoked session is refused at once and an evicted entry can only
 * cost a query, never let a revoked token through.
 */
#ifndef WEBSANDS_SESSION_H
#define WEBSANDS_SESSION_H

#include "cache.h"
#include "db.h"
#include "token.h"

#define SESSION_ID_LEN	36	/* a uuid in text form */

struct session_opts {
	long	 refresh_idle_s;	/* a refresh token's life: 7 days */
	long	 absolute_s;		/* a session's life: 30 days */
	long	 reuse_grace_s;		/* a rotated token's grace */
	long	 cache_ttl_s;		/* how long "valid" is believed */
};

/* What a successful refresh or a new session hands back. */
struct session_grant {
	char	 session_id[SESSION_ID_LEN + 1];
	char	 user_id[SESSION_ID_LEN + 1];
	char	 username[64];
	char	 role[16];
	char	 refresh_token[TOKEN_LEN + 1];	/* wipe after use */
};

/*
 * Opens a session for user_id inside the caller's transaction and
 * issues its first refresh token into g.  ip and user_agent may be
 * NULL.  Returns 0 or an error of db_query.
 */
int	 session_create(struct db_conn *c, const struct session_opts *o,
	    const char *user_id, const char *ip, const char *user_agent,
	    struct session_grant *g);
/*
 * Rotates refresh_token in a transaction of its own.  Returns 0 with
 * the new token in g; WS_ERR_NOTFOUND for a token never issued (which
 * revokes nothing); WS_ERR_INVALID for an expired token or an ended
 * session; WS_ERR_CONFLICT when a rotated token came back, in which
 * case the session has been revoked (outside the grace) or the request
 * merely lost a race (inside it); or a database error.
 */
int	 session_refresh(struct db_conn *c, struct cache *cache,
	    const struct session_opts *o, const char *refresh_token,
	    struct session_grant *g);
/*
 * Ends one session (inside the caller's transaction) and marks it in
 * memcached.  With user_id set, only that user's session is ended;
 * WS_ERR_NOTFOUND when there is no such live session.
 */
int	 session_revoke(struct db_conn *c, struct cache *cache,
	    const char *session_id, const char *user_id, const char *reason);
/*
 * Ends every live session of user_id except except_id (may be NULL),
 * inside the caller's transaction; the number ended in *count (may be
 * NULL).
 */
int	 session_revoke_user(struct db_conn *c, struct cache *cache,
	    const char *user_id, const char *except_id, const char *reason,
	    long *count);
/*
 * Finds the session of refresh_token (not rotating it), for logout.
 * Copies its id into sid.  WS_ERR_NOTFOUND when unknown.
 */
int	 session_of_refresh(struct db_conn *c, const char *refresh_token,
	    char sid[SESSION_ID_LEN + 1]);
/*
 * Whether session_id of user_id is live: memcached first, then the
 * primary through pool.  Returns 0 when live, WS_ERR_INVALID when
 * ended, expired, suspended or unknown, WS_ERR_UNAVAILABLE when
 * neither store could answer (the caller then refuses: fail closed).
 */
int	 session_check(struct db_pool *pool, struct cache *cache,
	    const struct session_opts *o, const char *session_id,
	    const char *user_id);

#endif
