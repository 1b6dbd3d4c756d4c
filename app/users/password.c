/*
 * PUT /api/v1/users/me/password: the current password (a wrong one
 * counts toward the lockout), then the policy and the history of the
 * last PASSWORD_HISTORY passwords.  Every other session ends unless
 * the client asks to keep them, since a password change is what a
 * user does after fearing someone else has it; the owner is mailed.
 */
#include <string.h>

#include <sodium.h>

#include "app.h"
#include "credential.h"
#include "error.h"
#include "password.h"
#include "session.h"
#include "users.h"
#include "validate.h"

static const struct field_rule	password_rules[] = {
	{ .name = "current_password", .type = FIELD_STRING, .required = 1,
	    .min_len = 1, .max_len = 1024 },
	{ .name = "new_password", .type = FIELD_STRING, .required = 1,
	    .min_len = 1, .max_len = 1024 },
	{ .name = "keep_other_sessions", .type = FIELD_BOOL },
};

/*
 * Replies 400 naming the policy rules or the reuse and returns 1 when
 * pw is refused; 0 when acceptable; 1 with *rc set on a fault (the
 * caller replies).
 */
static int
password_refused_or_reply(struct req *r, struct resp *rs,
    struct db_conn *c, const struct users_account *a, const char *pw,
    int *rc)
{
	json_t	*errors, *list;
	int	 reused = 0, bad;

	*rc = 0;
	if ((errors = json_object()) == NULL) {
		*rc = WS_ERR_NOMEM;
		return 1;
	}
	bad = password_policy_check(&ws_app.policy, pw, a->username,
	    a->email, errors) != 0;
	/* The policy names the field "password"; here it is the new one. */
	if ((list = json_object_get(errors, "password")) != NULL) {
		json_object_set(errors, "new_password", list);
		json_object_del(errors, "password");
	}
	if (!bad) {
		if ((*rc = credential_reused(c, a->id, pw,
		    ws_app.passwords.history_depth, &reused)) != 0) {
			json_decref(errors);
			return 1;
		}
		if (reused) {
			validate_add_error(errors, "new_password",
			    "was used recently; choose another");
			bad = 1;
		}
	}
	if (bad)
		resp_problem(rs, r, 400, "VALIDATION_FAILED",
		    "The new password is not acceptable.", errors);
	json_decref(errors);
	return bad;
}

void
users_password_put(struct req *r, struct resp *rs)
{
	struct principal	 p;
	struct users_account	 a;
	struct audit_event	 ev;
	struct db_conn		*c = NULL;
	json_t			*body = NULL, *details = NULL;
	const char		*pw;
	char			 hash[PASSWORD_HASH_MAX];
	long			 ended = 0;
	int			 rc, keep;

	hash[0] = '\0';
	if (users_begin_or_reply(r, rs, &p, password_rules,
	    sizeof(password_rules) / sizeof(password_rules[0]), &body, &c))
		goto out;
	pw = json_string_value(json_object_get(body, "new_password"));
	keep = json_is_true(json_object_get(body, "keep_other_sessions"));
	if ((rc = users_account_load(c, p.user_id, &a)) != 0) {
		users_fail(r, rs, rc);
		goto out;
	}
	if (users_password_or_reply(r, rs, c, &a, json_string_value(
	    json_object_get(body, "current_password"))))
		goto out;
	if (password_refused_or_reply(r, rs, c, &a, pw, &rc)) {
		if (rc != 0)
			users_fail(r, rs, rc);
		goto out;
	}
	if ((rc = password_hash(pw, hash)) != 0) {
		users_fail(r, rs, rc);
		goto out;
	}
	if ((rc = db_begin(c)) != 0)
		goto fail;
	if ((rc = credential_set(c, a.id, hash,
	    ws_app.passwords.history_depth)) != 0 ||
	    (!keep && (rc = session_revoke_user(c, ws_app.cache, a.id,
	    p.session_id, "password_changed", &ended)) != 0) ||
	    (rc = users_notify(c, &a, "password_changed", NULL,
	    NULL)) != 0)
		goto fail;
	details = json_pack("{s:I}", "sessions_ended", (json_int_t)ended);
	users_event(&ev, r, "password_changed", a.id);
	ev.details = details;
	if ((rc = audit_record(c, &ev)) != 0 || (rc = db_commit(c)) != 0)
		goto fail;
	users_forget(a.id);
	rs->status = 204;
	goto out;
fail:
	db_rollback(c);
	users_fail(r, rs, rc);
out:
	sodium_memzero(hash, sizeof(hash));
	db_pool_release(c);
	json_decref(details);
	json_decref(body);
}
