/*
 * What an administrator can do to an account besides editing it:
 * POST /api/v1/admin/users/{id}/unlock, /revoke-sessions, /reset-mfa
 * and /send-password-reset, and GET .../sessions to see its sessions.
 *
 * An administrator never sets or learns a password: the reset action
 * mails the owner a single-use link, exactly as a forgotten-password
 * request would.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "account.h"
#include "admin.h"
#include "app.h"
#include "email_token.h"
#include "error.h"
#include "outbox.h"
#include "session.h"

/* Sessions shown at most; a user rarely has more than a few. */
#define ACTION_SESSIONS_MAX	"100"

/* The account an action works on, locked for the transaction. */
struct action_user {
	char	 username[64];
	char	 email[256];
	int	 locked;
	int	 mfa;
};

/*
 * Begins the transaction and locks the target row.  Non-zero after
 * replying (404 for no such user, 503 or 500).
 */
static int
action_begin_or_reply(struct req *r, struct resp *rs, struct admin *a,
    const char *id, struct action_user *u)
{
	struct db_res	*res = NULL;
	int		 rc;

	memset(u, 0, sizeof(*u));
	if ((rc = db_begin(a->c)) != 0) {
		admin_fail(r, rs, rc);
		return rc;
	}
	if ((rc = db_query(a->c, "SELECT username, email,"
	    " coalesce(locked_until > now(), false), mfa_enabled"
	    " FROM users WHERE id = $1::uuid FOR UPDATE", 1, &id,
	    &res)) != 0)
		admin_fail(r, rs, rc);
	else if (db_res_nrows(res) != 1) {
		admin_not_found(r, rs);
		rc = WS_ERR_NOTFOUND;
	} else {
		snprintf(u->username, sizeof(u->username), "%s",
		    db_res_value(res, 0, 0));
		snprintf(u->email, sizeof(u->email), "%s",
		    db_res_value(res, 0, 1));
		u->locked = strcmp(db_res_value(res, 0, 2), "t") == 0;
		u->mfa = strcmp(db_res_value(res, 0, 3), "t") == 0;
	}
	if (rc != 0)
		db_rollback(a->c);
	db_res_free(res);
	return rc;
}

/* Commits; on failure rolls back and replies.  0 when committed. */
static int
action_commit_or_reply(struct req *r, struct resp *rs, struct admin *a,
    int rc)
{
	if (rc == 0 && (rc = db_commit(a->c)) == 0)
		return 0;
	db_rollback(a->c);
	admin_fail(r, rs, rc);
	return rc;
}

void
admin_user_unlock(struct req *r, struct resp *rs)
{
	struct admin		 a;
	struct action_user	 u;
	json_t			*d = NULL;
	char			 id[UUID_LEN + 1];
	const char		*params[1] = { id };
	int			 rc;

	if (admin_or_reply(r, rs, &a) != 0)
		return;
	if (admin_path_id_or_reply(r, rs, id) != 0 ||
	    action_begin_or_reply(r, rs, &a, id, &u) != 0)
		goto out;
	/* The lock and the failures counted towards the next one. */
	rc = db_query(a.c, "UPDATE users SET locked_until = NULL,"
	    " failed_login_count = 0, failed_login_first_at = NULL"
	    " WHERE id = $1::uuid", 1, params, NULL);
	d = json_pack("{s:b}", "was_locked", u.locked);
	if (rc == 0)
		rc = admin_audit(r, &a, "account_unlocked", id, d);
	if (action_commit_or_reply(r, rs, &a, rc) != 0)
		goto out;
	account_forget(ws_app.cache, id);
	rs->status = 204;
out:
	json_decref(d);
	admin_done(&a);
}

void
admin_user_revoke_sessions(struct req *r, struct resp *rs)
{
	struct admin		 a;
	struct action_user	 u;
	json_t			*d = NULL, *body = NULL;
	char			 id[UUID_LEN + 1];
	long			 n = 0;
	int			 rc;

	if (admin_or_reply(r, rs, &a) != 0)
		return;
	if (admin_path_id_or_reply(r, rs, id) != 0 ||
	    action_begin_or_reply(r, rs, &a, id, &u) != 0)
		goto out;
	rc = session_revoke_user(a.c, ws_app.cache, id, NULL,
	    "admin_revoked", &n);
	d = json_pack("{s:I}", "sessions_ended", (json_int_t)n);
	if (rc == 0)
		rc = admin_audit(r, &a, "sessions_revoked_by_admin", id, d);
	if (action_commit_or_reply(r, rs, &a, rc) != 0)
		goto out;
	body = json_pack("{s:I}", "revoked", (json_int_t)n);
	admin_reply(r, rs, 200, body);
out:
	json_decref(body);
	json_decref(d);
	admin_done(&a);
}

void
admin_user_reset_mfa(struct req *r, struct resp *rs)
{
	struct admin		 a;
	struct action_user	 u;
	json_t			*d = NULL, *vars = NULL;
	char			 id[UUID_LEN + 1];
	const char		*params[1] = { id };
	int			 rc;

	if (admin_or_reply(r, rs, &a) != 0)
		return;
	if (admin_path_id_or_reply(r, rs, id) != 0 ||
	    action_begin_or_reply(r, rs, &a, id, &u) != 0)
		goto out;
	/* Every users.mfa_* column and the recovery codes (0006). */
	rc = db_query(a.c, "SELECT ws_reset_mfa($1::uuid)", 1, params,
	    NULL);
	/* The owner hears of it, as of any change to their MFA. */
	if (rc == 0 && u.mfa) {
		vars = json_pack("{s:s,s:s}", "username", u.username,
		    "link_path", "/password/forgot");
		rc = vars == NULL ? WS_ERR_NOMEM : outbox_queue(a.c, id,
		    u.email, "mfa_disabled", NULL, vars);
	}
	d = json_pack("{s:b}", "was_enabled", u.mfa);
	if (rc == 0)
		rc = admin_audit(r, &a, "mfa_reset_by_admin", id, d);
	if (action_commit_or_reply(r, rs, &a, rc) != 0)
		goto out;
	account_forget(ws_app.cache, id);
	rs->status = 204;
out:
	json_decref(vars);
	json_decref(d);
	admin_done(&a);
}

void
admin_user_send_reset(struct req *r, struct resp *rs)
{
	struct admin		 a;
	struct action_user	 u;
	json_t			*vars = NULL, *body = NULL;
	char			 id[UUID_LEN + 1], token[TOKEN_LEN + 1];
	char			 link[128];
	int			 rc, n;

	token[0] = link[0] = '\0';
	if (admin_or_reply(r, rs, &a) != 0)
		return;
	if (admin_path_id_or_reply(r, rs, id) != 0 ||
	    action_begin_or_reply(r, rs, &a, id, &u) != 0)
		goto out;
	rc = email_token_create(a.c, id, EMAIL_TOKEN_RESET, NULL,
	    admin_cfg.reset_ttl_s, token);
	if (rc == 0) {
		n = snprintf(link, sizeof(link), "/password/reset#token=%s",
		    token);
		if (n < 0 || (size_t)n >= sizeof(link))
			rc = WS_ERR_INTERNAL;
	}
	if (rc == 0 && (vars = json_pack("{s:s,s:s}", "username",
	    u.username, "link_path", link)) == NULL)
		rc = WS_ERR_NOMEM;
	if (rc == 0)
		rc = outbox_queue(a.c, id, u.email, "password_reset", NULL,
		    vars);
	if (rc == 0)
		rc = admin_audit(r, &a, "password_reset_sent_by_admin", id,
		    NULL);
	if (action_commit_or_reply(r, rs, &a, rc) != 0)
		goto out;
	body = json_pack("{s:s}", "status", "queued");
	admin_reply(r, rs, 202, body);
out:
	sodium_memzero(token, sizeof(token));
	sodium_memzero(link, sizeof(link));
	json_decref(vars);
	json_decref(body);
	admin_done(&a);
}

void
admin_user_sessions(struct req *r, struct resp *rs)
{
	struct admin	 a;
	struct db_res	*res = NULL;
	json_t		*list = NULL, *s, *body = NULL;
	char		 id[UUID_LEN + 1];
	const char	*params[1] = { id };
	size_t		 i;
	int		 rc;

	if (admin_or_reply(r, rs, &a) != 0)
		return;
	if (admin_path_id_or_reply(r, rs, id) != 0)
		goto out;
	/* The user row joins in so that no user and no sessions differ. */
	if ((rc = db_query(a.c, "SELECT s.id, " ADMIN_TS("s.created_at") ","
	    " " ADMIN_TS("s.last_used_at") ", " ADMIN_TS("s.expires_at") ","
	    " " ADMIN_TS("s.idle_expires_at") ", s.ip, s.user_agent"
	    " FROM users u LEFT JOIN sessions s ON s.user_id = u.id"
	    " AND s.revoked_at IS NULL AND s.expires_at > now()"
	    " AND s.idle_expires_at > now()"
	    " WHERE u.id = $1::uuid ORDER BY s.last_used_at DESC"
	    " LIMIT " ACTION_SESSIONS_MAX, 1, params, &res)) != 0) {
		admin_fail(r, rs, rc);
		goto out;
	}
	if (db_res_nrows(res) == 0) {
		admin_not_found(r, rs);
		goto out;
	}
	if ((list = json_array()) == NULL)
		goto nomem;
	for (i = 0; i < db_res_nrows(res); i++) {
		if (db_res_isnull(res, i, 0))
			continue;
		s = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
		    "id", admin_json_text(res, i, 0),
		    "created_at", admin_json_text(res, i, 1),
		    "last_used_at", admin_json_text(res, i, 2),
		    "expires_at", admin_json_text(res, i, 3),
		    "idle_expires_at", admin_json_text(res, i, 4),
		    "ip", admin_json_text(res, i, 5),
		    "user_agent", admin_json_text(res, i, 6));
		if (s == NULL || json_array_append_new(list, s) != 0)
			goto nomem;
	}
	body = json_pack("{s:O}", "sessions", list);
	admin_reply(r, rs, 200, body);
	goto out;
nomem:
	admin_fail(r, rs, WS_ERR_NOMEM);
out:
	json_decref(body);
	json_decref(list);
	db_res_free(res);
	admin_done(&a);
}
