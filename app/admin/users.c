/*
 * One user, as an administrator sees and changes it:
 * GET, PATCH and DELETE /api/v1/admin/users/{id}.
 *
 * PATCH takes role, status and username and nothing else.  An
 * administrator cannot demote, suspend or delete themself (409), so
 * an account that is managing users is never the one that loses the
 * right to.  Suspension and a change of role end every session of the
 * account in the same transaction: the sessions are refused at once,
 * and tokens carrying the old role stop working.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "admin.h"
#include "app.h"
#include "datakey.h"
#include "error.h"
#include "log.h"
#include "session.h"
#include "validate.h"

/* Events of the user shown with the profile. */
#define USER_RECENT_EVENTS	"10"

static const struct field_rule	patch_rules[] = {
	{ .name = "role", .type = FIELD_ENUM, .choices = "user|admin" },
	{ .name = "status", .type = FIELD_ENUM,
	    .choices = "active|suspended" },
	{ .name = "username", .type = FIELD_STRING, .min_len = 3,
	    .max_len = 50, .check = validate_username },
};

json_t *
admin_user_json(const struct db_res *res, size_t row)
{
	return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
	    "id", admin_json_text(res, row, 0),
	    "username", admin_json_text(res, row, 1),
	    "email", admin_json_text(res, row, 2),
	    "role", admin_json_text(res, row, 3),
	    "status", admin_json_text(res, row, 4),
	    "email_verified", admin_json_bool(res, row, 5),
	    "locked", admin_json_bool(res, row, 6),
	    "locked_until", admin_json_text(res, row, 7),
	    "mfa_enabled", admin_json_bool(res, row, 8),
	    "created_at", admin_json_text(res, row, 9),
	    "last_login_at", admin_json_text(res, row, 10));
}

/* A stored name, decrypted; JSON null when absent or unreadable. */
static json_t *
user_name(const struct db_res *res, size_t col, const char *column,
    const char *id)
{
	char	 aad[96];
	char	*plain = NULL;
	json_t	*v;

	if (db_res_isnull(res, 0, col))
		return json_null();
	snprintf(aad, sizeof(aad), "users.%s:%s", column, id);
	if (datakey_decrypt_text(ws_app.datakeys, db_res_value(res, 0, col),
	    aad, &plain) != 0) {
		log_event(LOG_ERROR, "name_decrypt_failed", "user", id,
		    "column", column, NULL);
		return json_null();
	}
	v = json_string(plain);
	free(plain);
	return v;
}

/* The user's latest events, newest first. */
static int
user_events(struct db_conn *c, const char *id, json_t **out)
{
	struct db_res	*res = NULL;
	json_t		*list = NULL, *ev, *details;
	size_t		 i;
	int		 rc;

	*out = NULL;
	if ((rc = db_query(c, "SELECT id, " ADMIN_TS("occurred_at") ","
	    " event_type, actor_id, ip, details::text FROM auth_events"
	    " WHERE user_id = $1::uuid ORDER BY id DESC"
	    " LIMIT " USER_RECENT_EVENTS, 1, &id, &res)) != 0)
		goto out;
	rc = WS_ERR_NOMEM;
	if ((list = json_array()) == NULL)
		goto out;
	for (i = 0; i < db_res_nrows(res); i++) {
		details = json_loads(db_res_value(res, i, 5), 0, NULL);
		ev = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}",
		    "id", admin_json_int(res, i, 0),
		    "occurred_at", admin_json_text(res, i, 1),
		    "type", admin_json_text(res, i, 2),
		    "actor_id", admin_json_text(res, i, 3),
		    "ip", admin_json_text(res, i, 4),
		    "details", details != NULL ? details : json_object());
		if (ev == NULL || json_array_append_new(list, ev) != 0)
			goto out;
	}
	*out = list;
	list = NULL;
	rc = 0;
out:
	json_decref(list);
	db_res_free(res);
	return rc;
}

void
admin_user_get(struct req *r, struct resp *rs)
{
	struct admin	 a;
	struct db_res	*res = NULL;
	json_t		*body = NULL, *events = NULL;
	char		 id[UUID_LEN + 1];
	const char	*params[1] = { id };
	int		 rc;

	if (admin_or_reply(r, rs, &a) != 0)
		return;
	if (admin_path_id_or_reply(r, rs, id) != 0)
		goto out;
	if ((rc = db_query(a.c, "SELECT " ADMIN_USER_COLS ","
	    " translate(encode(first_name, 'base64'), E'\\n', ''),"
	    " translate(encode(last_name, 'base64'), E'\\n', ''),"
	    " pending_email, failed_login_count, "
	    ADMIN_TS("email_verified_at") ", "
	    ADMIN_TS("password_changed_at") ", " ADMIN_TS("updated_at") ","
	    " (SELECT count(*) FROM sessions s WHERE s.user_id = u.id"
	    " AND s.revoked_at IS NULL AND s.expires_at > now()"
	    " AND s.idle_expires_at > now()),"
	    " (SELECT count(*) FROM recovery_codes k"
	    " WHERE k.user_id = u.id AND k.used_at IS NULL)"
	    " FROM users u WHERE id = $1::uuid", 1, params, &res)) != 0) {
		admin_fail(r, rs, rc);
		goto out;
	}
	if (db_res_nrows(res) != 1) {
		admin_not_found(r, rs);
		goto out;
	}
	if ((rc = user_events(a.c, id, &events)) != 0) {
		admin_fail(r, rs, rc);
		goto out;
	}
	body = admin_user_json(res, 0);
	if (body == NULL || json_object_update_new(body, json_pack(
	    "{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:O}",
	    "first_name", user_name(res, 11, "first_name", id),
	    "last_name", user_name(res, 12, "last_name", id),
	    "pending_email", admin_json_text(res, 0, 13),
	    "failed_login_count", admin_json_int(res, 0, 14),
	    "email_verified_at", admin_json_text(res, 0, 15),
	    "password_changed_at", admin_json_text(res, 0, 16),
	    "updated_at", admin_json_text(res, 0, 17),
	    "active_sessions", admin_json_int(res, 0, 18),
	    "recovery_codes_left", admin_json_int(res, 0, 19),
	    "recent_events", events)) != 0) {
		admin_fail(r, rs, WS_ERR_NOMEM);
		goto out;
	}
	admin_reply(r, rs, 200, body);
out:
	json_decref(events);
	json_decref(body);
	db_res_free(res);
	admin_done(&a);
}

/* The row a PATCH works on, before the change. */
struct patch_state {
	char	 username[64];
	char	 role[16];
	char	 status[16];
};

static int
patch_load(struct db_conn *c, const char *id, struct patch_state *st)
{
	struct db_res	*res = NULL;
	int		 rc;

	if ((rc = db_query(c, "SELECT username, role, status FROM users"
	    " WHERE id = $1::uuid FOR UPDATE", 1, &id, &res)) != 0)
		goto out;
	if (db_res_nrows(res) != 1) {
		rc = WS_ERR_NOTFOUND;
		goto out;
	}
	snprintf(st->username, sizeof(st->username), "%s",
	    db_res_value(res, 0, 0));
	snprintf(st->role, sizeof(st->role), "%s", db_res_value(res, 0, 1));
	snprintf(st->status, sizeof(st->status), "%s",
	    db_res_value(res, 0, 2));
out:
	db_res_free(res);
	return rc;
}

/* Non-zero (after replying 409) when the change is refused. */
static int
patch_refused_or_reply(struct req *r, struct resp *rs,
    const struct admin *a, const char *id, const char *role,
    const char *status)
{
	if (strcmp(id, a->p.user_id) != 0)
		return 0;
	if (role != NULL && strcmp(role, "admin") != 0) {
		resp_problem(rs, r, 409, "CANNOT_DEMOTE_SELF",
		    "Administrators cannot remove their own role.", NULL);
		return 1;
	}
	if (status != NULL && strcmp(status, "suspended") == 0) {
		resp_problem(rs, r, 409, "CANNOT_SUSPEND_SELF",
		    "Administrators cannot suspend themselves.", NULL);
		return 1;
	}
	return 0;
}

/* 1 when another account has username (in any case). */
static int
patch_name_taken(struct db_conn *c, const char *id, const char *username,
    int *rc)
{
	struct db_res	*res = NULL;
	const char	*params[2] = { username, id };
	int		 taken;

	*rc = db_query(c, "SELECT 1 FROM users WHERE lower(username) ="
	    " lower($1) AND id <> $2::uuid", 2, params, &res);
	taken = *rc == 0 && db_res_nrows(res) > 0;
	db_res_free(res);
	return taken;
}

/* Records one event per attribute that changed (or one for none). */
static int
patch_events(struct req *r, const struct admin *a, const char *id,
    const struct patch_state *st, const char *role, const char *status,
    const char *username, long ended)
{
	json_t	*d = NULL;
	int	 rc = 0, any = 0;

	if (role != NULL && strcmp(role, st->role) != 0) {
		any = 1;
		d = json_pack("{s:s,s:s,s:I}", "from", st->role, "to", role,
		    "sessions_ended", (json_int_t)ended);
		if ((rc = admin_audit(r, a, "user_role_changed", id, d)) != 0)
			goto out;
		json_decref(d);
		d = NULL;
	}
	if (status != NULL && strcmp(status, st->status) != 0) {
		any = 1;
		d = json_pack("{s:I}", "sessions_ended", (json_int_t)ended);
		if ((rc = admin_audit(r, a, strcmp(status, "suspended") == 0 ?
		    "user_suspended" : "user_reactivated", id, d)) != 0)
			goto out;
		json_decref(d);
		d = NULL;
	}
	if (username != NULL && strcmp(username, st->username) != 0) {
		any = 1;
		d = json_pack("{s:s,s:s}", "from", st->username, "to",
		    username);
		if ((rc = admin_audit(r, a, "username_changed", id, d)) != 0)
			goto out;
	}
	if (!any)
		rc = admin_audit(r, a, "user_updated", id, NULL);
out:
	json_decref(d);
	return rc;
}

/* Reads the body of a PATCH; non-zero after replying 400. */
static int
patch_body_or_reply(struct req *r, struct resp *rs, json_t **body,
    const char **role, const char **status, const char **username)
{
	json_t	*errors;

	if (req_json_or_reply(r, rs, body) || validate_or_reply(r, rs,
	    *body, patch_rules, sizeof(patch_rules) /
	    sizeof(patch_rules[0])))
		return 1;
	*role = json_string_value(json_object_get(*body, "role"));
	*status = json_string_value(json_object_get(*body, "status"));
	*username = json_string_value(json_object_get(*body, "username"));
	if (*role != NULL || *status != NULL || *username != NULL)
		return 0;
	errors = json_pack("{s:[s]}", "_body",
	    "names none of role, status and username");
	resp_problem(rs, r, 400, "VALIDATION_FAILED",
	    "Nothing to change.", errors);
	json_decref(errors);
	return 1;
}

void
admin_user_patch(struct req *r, struct resp *rs)
{
	struct admin		 a;
	struct patch_state	 st;
	struct db_res		*res = NULL;
	json_t			*body = NULL;
	const char		*role, *status, *username, *params[4];
	char			 id[UUID_LEN + 1];
	long			 ended = 0;
	int			 rc, taken;

	if (admin_or_reply(r, rs, &a) != 0)
		return;
	if (admin_path_id_or_reply(r, rs, id) != 0 ||
	    patch_body_or_reply(r, rs, &body, &role, &status, &username) ||
	    patch_refused_or_reply(r, rs, &a, id, role, status))
		goto out;
	if ((rc = db_begin(a.c)) != 0)
		goto fail_early;
	if ((rc = patch_load(a.c, id, &st)) == WS_ERR_NOTFOUND) {
		db_rollback(a.c);
		admin_not_found(r, rs);
		goto out;
	}
	if (rc != 0)
		goto fail;
	taken = username != NULL && patch_name_taken(a.c, id, username, &rc);
	if (rc != 0)
		goto fail;
	params[0] = id;
	params[1] = role;
	params[2] = status;
	params[3] = username;
	if (!taken && (rc = db_query(a.c, "UPDATE users SET"
	    " role = coalesce($2, role), status = coalesce($3, status),"
	    " username = coalesce($4, username) WHERE id = $1::uuid"
	    " RETURNING " ADMIN_USER_COLS, 4, params, &res)) ==
	    WS_ERR_CONFLICT)
		taken = 1;
	if (taken) {
		db_rollback(a.c);
		resp_problem(rs, r, 409, "USERNAME_TAKEN",
		    "That username is taken.", NULL);
		goto out;
	}
	if (rc != 0)
		goto fail;
	/* A new role or a suspension ends every session at once. */
	if (((role != NULL && strcmp(role, st.role) != 0) ||
	    (status != NULL && strcmp(status, "suspended") == 0)) &&
	    (rc = session_revoke_user(a.c, ws_app.cache, id, NULL,
	    role != NULL && strcmp(role, st.role) != 0 ? "role_changed" :
	    "suspended", &ended)) != 0)
		goto fail;
	if ((rc = patch_events(r, &a, id, &st, role, status, username,
	    ended)) != 0 || (rc = db_commit(a.c)) != 0)
		goto fail;
	account_forget(ws_app.cache, id);
	json_decref(body);
	body = admin_user_json(res, 0);
	admin_reply(r, rs, 200, body);
	goto out;
fail:
	db_rollback(a.c);
fail_early:
	admin_fail(r, rs, rc);
out:
	db_res_free(res);
	json_decref(body);
	admin_done(&a);
}

void
admin_user_delete(struct req *r, struct resp *rs)
{
	struct admin	 a;
	char		 id[UUID_LEN + 1];
	int		 rc;

	if (admin_or_reply(r, rs, &a) != 0)
		return;
	if (admin_path_id_or_reply(r, rs, id) != 0)
		goto out;
	if (strcmp(id, a.p.user_id) == 0) {
		resp_problem(rs, r, 409, "CANNOT_DELETE_SELF",
		    "Administrators cannot delete their own account.", NULL);
		goto out;
	}
	if ((rc = db_begin(a.c)) != 0) {
		admin_fail(r, rs, rc);
		goto out;
	}
	/* account_delete records the event, with this admin as actor. */
	rc = account_delete(a.c, ws_app.cache, id, a.p.user_id,
	    r->remote_addr, req_header(r, "User-Agent"));
	if (rc == 0)
		rc = db_commit(a.c);
	if (rc != 0) {
		db_rollback(a.c);
		if (rc == WS_ERR_NOTFOUND)
			admin_not_found(r, rs);
		else
			admin_fail(r, rs, rc);
		goto out;
	}
	rs->status = 204;
out:
	admin_done(&a);
}
