/*
 * Sessions, refresh-token rotation and revocation.  PostgreSQL decides;
 * memcached only remembers the decision for a while: "1" (live) for
 * cache_ttl_s, "0" (ended) for the session's whole remaining life, so
 * a revocation outlives every access token of the session.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "error.h"
#include "log.h"
#include "session.h"

#define SESSION_KEY_MAX	64

static void
session_key(char *key, size_t len, const char *sid)
{
	/* A session id comes from a verified token or our own database. */
	snprintf(key, len, "sess:%s", sid);
}

static void
session_cache_state(struct cache *cache, const char *sid, int live,
    long ttl)
{
	char	 key[SESSION_KEY_MAX];

	session_key(key, sizeof(key), sid);
	if (cache_set(cache, key, live ? "1" : "0", 1, (time_t)ttl) != 0)
		log_event(LOG_WARN, "session_cache_write_failed", "session",
		    sid, NULL);
}

static void
session_copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src != NULL ? src : "");
}

/* Inserts a refresh token for sid; its hash and id in the session. */
static int
session_issue_token(struct db_conn *c, const struct session_opts *o,
    const char *sid, struct session_grant *g, struct db_res **res)
{
	char		 hex[TOKEN_HASH_HEX_LEN + 1], idle[32];
	const char	*params[3];

	if (token_new(g->refresh_token) != 0)
		return WS_ERR_INTERNAL;
	token_hash_hex(g->refresh_token, hex);
	snprintf(idle, sizeof(idle), "%ld", o->refresh_idle_s);
	params[0] = sid;
	params[1] = hex;
	params[2] = idle;
	/* A token never outlives its session's absolute end. */
	return db_query(c, "INSERT INTO refresh_tokens (session_id,"
	    " token_hash, expires_at) SELECT s.id, decode($2, 'hex'),"
	    " least(s.expires_at, now() + make_interval(secs => $3::int))"
	    " FROM sessions s WHERE s.id = $1::uuid RETURNING id",
	    3, params, res);
}

int
session_create(struct db_conn *c, const struct session_opts *o,
    const char *user_id, const char *ip, const char *user_agent,
    struct session_grant *g)
{
	struct db_res	*res = NULL;
	char		 abs_s[32], idle[32];
	const char	*params[5];
	int		 rc;

	memset(g, 0, sizeof(*g));
	snprintf(abs_s, sizeof(abs_s), "%ld", o->absolute_s);
	snprintf(idle, sizeof(idle), "%ld", o->refresh_idle_s);
	params[0] = user_id;
	params[1] = abs_s;
	params[2] = idle;
	params[3] = ip;
	params[4] = user_agent;
	if ((rc = db_query(c, "INSERT INTO sessions (user_id, expires_at,"
	    " idle_expires_at, ip, user_agent) VALUES ($1::uuid,"
	    " now() + make_interval(secs => $2::int),"
	    " now() + make_interval(secs => least($2::int, $3::int)),"
	    " $4, left($5, 512))"
	    " RETURNING id, (SELECT username FROM users WHERE id = $1::uuid),"
	    " (SELECT role FROM users WHERE id = $1::uuid)",
	    5, params, &res)) != 0)
		goto out;
	session_copy(g->session_id, sizeof(g->session_id),
	    db_res_value(res, 0, 0));
	session_copy(g->user_id, sizeof(g->user_id), user_id);
	session_copy(g->username, sizeof(g->username),
	    db_res_value(res, 0, 1));
	session_copy(g->role, sizeof(g->role), db_res_value(res, 0, 2));
	db_res_free(res);
	res = NULL;
	rc = session_issue_token(c, o, g->session_id, g, &res);
out:
	db_res_free(res);
	if (rc != 0)
		sodium_memzero(g, sizeof(*g));
	return rc;
}

/*
 * The rotation itself, inside the transaction session_refresh opened.
 * Locks the token row and its session so two uses of one token are
 * decided one after the other.
 */
static int
session_rotate(struct db_conn *c, struct cache *cache,
    const struct session_opts *o, const char *refresh_token,
    struct session_grant *g)
{
	struct db_res	*res = NULL, *ins = NULL;
	char		 hex[TOKEN_HASH_HEX_LEN + 1], grace[32], idle[32];
	const char	*params[3];
	int		 rc;

	token_hash_hex(refresh_token, hex);
	snprintf(grace, sizeof(grace), "%ld", o->reuse_grace_s);
	params[0] = hex;
	params[1] = grace;
	if ((rc = db_query(c, "SELECT t.id, t.session_id, s.user_id,"
	    " u.username, u.role,"
	    " t.used_at IS NOT NULL,"
	    " t.used_at > now() - make_interval(secs => $2::int),"
	    " t.expires_at > now() AND s.revoked_at IS NULL"
	    " AND s.expires_at > now() AND s.idle_expires_at > now()"
	    " AND u.status = 'active'"
	    " FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id"
	    " JOIN users u ON u.id = s.user_id"
	    " WHERE t.token_hash = decode($1, 'hex')"
	    " FOR UPDATE OF t, s", 2, params, &res)) != 0)
		goto out;
	if (db_res_nrows(res) != 1) {
		rc = WS_ERR_NOTFOUND;
		goto out;
	}
	session_copy(g->session_id, sizeof(g->session_id),
	    db_res_value(res, 0, 1));
	session_copy(g->user_id, sizeof(g->user_id), db_res_value(res, 0, 2));
	session_copy(g->username, sizeof(g->username),
	    db_res_value(res, 0, 3));
	session_copy(g->role, sizeof(g->role), db_res_value(res, 0, 4));

	if (strcmp(db_res_value(res, 0, 5), "t") == 0) {
		rc = WS_ERR_CONFLICT;
		/* Inside the grace it was a race between tabs, not theft. */
		if (strcmp(db_res_value(res, 0, 6), "t") == 0)
			goto out;
		if (session_revoke(c, cache, g->session_id, NULL,
		    "refresh_token_reuse") != 0)
			rc = WS_ERR_DB;
		log_event(LOG_WARN, "refresh_token_reuse", "session",
		    g->session_id, "user", g->user_id, NULL);
		goto out;
	}
	if (strcmp(db_res_value(res, 0, 7), "t") != 0) {
		rc = WS_ERR_INVALID;
		goto out;
	}

	params[0] = db_res_value(res, 0, 0);
	if ((rc = session_issue_token(c, o, g->session_id, g, &ins)) != 0)
		goto out;
	params[1] = db_res_value(ins, 0, 0);
	if ((rc = db_query(c, "UPDATE refresh_tokens SET used_at = now(),"
	    " replaced_by = $2::bigint WHERE id = $1::bigint", 2, params,
	    NULL)) != 0)
		goto out;
	snprintf(idle, sizeof(idle), "%ld", o->refresh_idle_s);
	params[0] = g->session_id;
	params[1] = idle;
	rc = db_query(c, "UPDATE sessions SET last_used_at = now(),"
	    " idle_expires_at = least(expires_at,"
	    " now() + make_interval(secs => $2::int))"
	    " WHERE id = $1::uuid", 2, params, NULL);
out:
	db_res_free(ins);
	db_res_free(res);
	return rc;
}

int
session_refresh(struct db_conn *c, struct cache *cache,
    const struct session_opts *o, const char *refresh_token,
    struct session_grant *g)
{
	int	 rc;

	memset(g, 0, sizeof(*g));
	if (!token_valid(refresh_token))
		return WS_ERR_NOTFOUND;
	if ((rc = db_begin(c)) != 0)
		return rc;
	rc = session_rotate(c, cache, o, refresh_token, g);
	/* A detected reuse must stay revoked: commit that too. */
	if (rc == 0 || rc == WS_ERR_CONFLICT) {
		int crc = db_commit(c);

		if (crc != 0)
			rc = crc;
	} else
		db_rollback(c);
	if (rc != 0)
		sodium_memzero(g->refresh_token, sizeof(g->refresh_token));
	return rc;
}

int
session_revoke(struct db_conn *c, struct cache *cache,
    const char *session_id, const char *user_id, const char *reason)
{
	struct db_res	*res = NULL;
	const char	*params[3];
	int		 rc;

	params[0] = session_id;
	params[1] = reason;
	params[2] = user_id;
	if ((rc = db_query(c, "UPDATE sessions SET revoked_at = now(),"
	    " revoke_reason = $2 WHERE id = $1::uuid"
	    " AND ($3::uuid IS NULL OR user_id = $3::uuid)"
	    " AND revoked_at IS NULL RETURNING"
	    " greatest(1, extract(epoch FROM expires_at - now()))::bigint",
	    3, params, &res)) != 0)
		goto out;
	if (db_res_nrows(res) != 1) {
		rc = WS_ERR_NOTFOUND;
		goto out;
	}
	session_cache_state(cache, session_id, 0,
	    strtol(db_res_value(res, 0, 0), NULL, 10));
out:
	db_res_free(res);
	return rc;
}

int
session_revoke_user(struct db_conn *c, struct cache *cache,
    const char *user_id, const char *except_id, const char *reason,
    long *count)
{
	struct db_res	*res = NULL;
	const char	*params[3];
	size_t		 i;
	int		 rc;

	params[0] = user_id;
	params[1] = reason;
	params[2] = except_id;
	if ((rc = db_query(c, "UPDATE sessions SET revoked_at = now(),"
	    " revoke_reason = $2 WHERE user_id = $1::uuid"
	    " AND revoked_at IS NULL"
	    " AND ($3::uuid IS NULL OR id <> $3::uuid) RETURNING id,"
	    " greatest(1, extract(epoch FROM expires_at - now()))::bigint",
	    3, params, &res)) != 0)
		goto out;
	for (i = 0; i < db_res_nrows(res); i++)
		session_cache_state(cache, db_res_value(res, i, 0), 0,
		    strtol(db_res_value(res, i, 1), NULL, 10));
	if (count != NULL)
		*count = (long)db_res_nrows(res);
out:
	db_res_free(res);
	return rc;
}

int
session_of_refresh(struct db_conn *c, const char *refresh_token,
    char sid[SESSION_ID_LEN + 1])
{
	struct db_res	*res = NULL;
	char		 hex[TOKEN_HASH_HEX_LEN + 1];
	const char	*params[1];
	int		 rc;

	if (!token_valid(refresh_token))
		return WS_ERR_NOTFOUND;
	token_hash_hex(refresh_token, hex);
	params[0] = hex;
	if ((rc = db_query(c, "SELECT session_id FROM refresh_tokens"
	    " WHERE token_hash = decode($1, 'hex')", 1, params, &res)) != 0)
		goto out;
	if (db_res_nrows(res) != 1)
		rc = WS_ERR_NOTFOUND;
	else
		session_copy(sid, SESSION_ID_LEN + 1, db_res_value(res, 0, 0));
out:
	db_res_free(res);
	return rc;
}

int
session_check(struct db_pool *pool, struct cache *cache,
    const struct session_opts *o, const char *session_id,
    const char *user_id)
{
	struct db_conn	*c = NULL;
	struct db_res	*res = NULL;
	struct buf	 val;
	char		 key[SESSION_KEY_MAX];
	const char	*params[2];
	int		 rc, live;

	buf_init(&val, 16);
	session_key(key, sizeof(key), session_id);
	if (cache_get(cache, key, &val) == 0) {
		rc = strcmp(buf_str(&val), "1") == 0 ? 0 : WS_ERR_INVALID;
		goto out;
	}
	/* A miss or an outage: PostgreSQL decides. */
	if ((rc = db_pool_acquire(pool, &c)) != 0) {
		rc = WS_ERR_UNAVAILABLE;
		goto out;
	}
	params[0] = session_id;
	params[1] = user_id;
	if ((rc = db_query(c, "SELECT s.revoked_at IS NULL"
	    " AND s.expires_at > now() AND s.idle_expires_at > now()"
	    " AND u.status = 'active',"
	    " greatest(1, extract(epoch FROM s.expires_at - now()))::bigint"
	    " FROM sessions s JOIN users u ON u.id = s.user_id"
	    " WHERE s.id = $1::uuid AND s.user_id = $2::uuid",
	    2, params, &res)) != 0) {
		rc = rc == WS_ERR_DB ? WS_ERR_INVALID : WS_ERR_UNAVAILABLE;
		goto out;
	}
	if (db_res_nrows(res) != 1) {
		rc = WS_ERR_INVALID;
		goto out;
	}
	live = strcmp(db_res_value(res, 0, 0), "t") == 0;
	session_cache_state(cache, session_id, live, live ? o->cache_ttl_s :
	    strtol(db_res_value(res, 0, 1), NULL, 10));
	rc = live ? 0 : WS_ERR_INVALID;
out:
	db_res_free(res);
	db_pool_release(c);
	buf_cleanup(&val);
	return rc;
}
