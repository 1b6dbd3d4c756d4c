/*
 * The user's sessions (signed-in devices): GET /me/sessions lists the
 * live ones, DELETE /me/sessions/{id} ends one, POST
 * /me/sessions/revoke-all ends them all.  An ended session is marked
 * in PostgreSQL and memcached (session.h), so its access and refresh
 * tokens are refused on their next use.  Another user's session and
 * an id that is no uuid get the same 404 as a session that does not
 * exist.
 */
#include <string.h>

#include "app.h"
#include "error.h"
#include "session.h"
#include "users.h"
#include "uuid.h"
#include "validate.h"

/* Sessions listed at most; more live sessions are not expected. */
#define SESSIONS_LIST_MAX	"200"

static const struct field_rule	revoke_all_rules[] = {
	{ .name = "keep_current", .type = FIELD_BOOL },
};

#define TS(col)	"to_char(" col " AT TIME ZONE 'UTC',"		\
		" 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

void
users_sessions_get(struct req *r, struct resp *rs)
{
	struct principal	 p;
	struct db_conn		*c = NULL;
	struct db_res		*res = NULL;
	json_t			*body = NULL, *list = NULL, *out = NULL, *s;
	const char		*params[2];
	size_t			 i;
	int			 rc;

	if (users_begin_or_reply(r, rs, &p, NULL, 0, &body, &c))
		goto out;
	params[0] = p.user_id;
	params[1] = SESSIONS_LIST_MAX;
	if ((rc = db_query(c, "SELECT id, " TS("created_at") ", "
	    TS("last_used_at") ", " TS("expires_at") ", ip, user_agent"
	    " FROM sessions WHERE user_id = $1::uuid AND revoked_at IS NULL"
	    " AND expires_at > now() AND idle_expires_at > now()"
	    " ORDER BY last_used_at DESC, id LIMIT $2::int",
	    2, params, &res)) != 0) {
		users_fail(r, rs, rc);
		goto out;
	}
	if ((list = json_array()) == NULL)
		goto nomem;
	for (i = 0; i < db_res_nrows(res); i++) {
		s = json_pack("{s:s,s:s,s:s,s:s,s:s?,s:s?,s:b}",
		    "id", db_res_value(res, i, 0),
		    "created_at", db_res_value(res, i, 1),
		    "last_used_at", db_res_value(res, i, 2),
		    "expires_at", db_res_value(res, i, 3),
		    "ip", db_res_isnull(res, i, 4) ? NULL :
		    db_res_value(res, i, 4),
		    "user_agent", db_res_isnull(res, i, 5) ? NULL :
		    db_res_value(res, i, 5),
		    "current", strcmp(db_res_value(res, i, 0),
		    p.session_id) == 0);
		if (s == NULL || json_array_append_new(list, s) != 0)
			goto nomem;
	}
	if ((out = json_pack("{s:O}", "sessions", list)) == NULL)
		goto nomem;
	users_reply(r, rs, 200, out);
	goto out;
nomem:
	users_internal(r, rs);
out:
	db_res_free(res);
	db_pool_release(c);
	json_decref(list);
	json_decref(out);
	json_decref(body);
}

static void
sessions_not_found(struct req *r, struct resp *rs)
{
	resp_problem(rs, r, 404, "NOT_FOUND", "No such session.", NULL);
}

void
users_session_delete(struct req *r, struct resp *rs)
{
	struct principal	 p;
	struct audit_event	 ev;
	struct db_conn		*c = NULL;
	json_t			*details = NULL;
	const char		*sid = req_param(r, "id");
	int			 rc;

	if (authn_or_reply(r, rs, &p) != 0)
		goto out;
	/* A malformed id never reaches the uuid cast in SQL. */
	if (sid == NULL || !uuid_valid(sid)) {
		sessions_not_found(r, rs);
		goto out;
	}
	if ((c = app_db_or_reply(r, rs)) == NULL)
		goto out;
	details = json_pack("{s:s}", "session_id", sid);
	users_event(&ev, r, "session_revoked", p.user_id);
	ev.details = details;
	if ((rc = db_begin(c)) != 0)
		goto fail;
	/* Only the caller's own live session matches. */
	rc = session_revoke(c, ws_app.cache, sid, p.user_id,
	    "revoked_by_user");
	if (rc == WS_ERR_NOTFOUND) {
		db_rollback(c);
		sessions_not_found(r, rs);
		goto out;
	}
	if (rc != 0 || (rc = audit_record(c, &ev)) != 0 ||
	    (rc = db_commit(c)) != 0)
		goto fail;
	rs->status = 204;
	goto out;
fail:
	db_rollback(c);
	users_fail(r, rs, rc);
out:
	db_pool_release(c);
	json_decref(details);
}

void
users_sessions_revoke_all(struct req *r, struct resp *rs)
{
	struct principal	 p;
	struct audit_event	 ev;
	struct db_conn		*c = NULL;
	json_t			*body = NULL, *details = NULL, *out = NULL;
	long			 n = 0;
	int			 rc, keep = 0;

	/* The body is optional: a bare POST ends every session. */
	if (authn_or_reply(r, rs, &p) != 0 || (r->body.len > 0 &&
	    (req_json_or_reply(r, rs, &body) ||
	    validate_or_reply(r, rs, body, revoke_all_rules, 1))) ||
	    (c = app_db_or_reply(r, rs)) == NULL)
		goto out;
	keep = json_is_true(json_object_get(body, "keep_current"));
	if ((rc = db_begin(c)) != 0 ||
	    (rc = session_revoke_user(c, ws_app.cache, p.user_id,
	    keep ? p.session_id : NULL, "revoke_all", &n)) != 0)
		goto fail;
	details = json_pack("{s:I,s:b}", "sessions_ended", (json_int_t)n,
	    "kept_current", keep);
	users_event(&ev, r, "sessions_revoked", p.user_id);
	ev.details = details;
	if ((rc = audit_record(c, &ev)) != 0 || (rc = db_commit(c)) != 0)
		goto fail;
	out = json_pack("{s:I}", "sessions_ended", (json_int_t)n);
	users_reply(r, rs, 200, out);
	goto out;
fail:
	db_rollback(c);
	users_fail(r, rs, rc);
out:
	db_pool_release(c);
	json_decref(details);
	json_decref(out);
	json_decref(body);
}
