/*
 * POST /api/v1/auth/password/forgot answers 202 whatever the address,
 * and mails a one-hour single-use link when it has an account; a newer
 * request ends the older links.  POST /api/v1/auth/password/reset sets
 * the new password, ends every session, clears a lockout and mails a
 * notice.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "app.h"
#include "audit.h"
#include "auth.h"
#include "credential.h"
#include "email_token.h"
#include "error.h"
#include "log.h"
#include "outbox.h"
#include "password.h"
#include "session.h"
#include "validate.h"

static const struct field_rule	reset_rules[] = {
	{ .name = "token", .type = FIELD_STRING, .required = 1,
	    .min_len = 1, .max_len = 128 },
	{ .name = "new_password", .type = FIELD_STRING, .required = 1,
	    .min_len = 1, .max_len = 1024 },
};

void
auth_password_forgot(struct req *r, struct resp *rs)
{
	const struct auth_link	 l = { "forgot", auth_cfg.rl_forgot,
				    EMAIL_TOKEN_RESET, auth_cfg.reset_ttl_s,
				    "/password/reset#token=", "password_reset",
				    0 };

	auth_mail_link(r, rs, &l);
}

/* The user a reset token names, with what the notice mail needs. */
struct reset_user {
	char	 id[37];
	char	 username[64];
	char	 email[256];
};

static int
reset_load(struct db_conn *c, struct reset_user *u)
{
	struct db_res	*res = NULL;
	const char	*id = u->id;
	int		 rc;

	if ((rc = db_query(c, "SELECT username, email FROM users"
	    " WHERE id = $1::uuid FOR UPDATE", 1, &id, &res)) != 0)
		goto out;
	if (db_res_nrows(res) != 1) {
		rc = WS_ERR_NOTFOUND;
		goto out;
	}
	snprintf(u->username, sizeof(u->username), "%s",
	    db_res_value(res, 0, 0));
	snprintf(u->email, sizeof(u->email), "%s", db_res_value(res, 0, 1));
out:
	db_res_free(res);
	return rc;
}

/* Replies 400 naming the policy rules or the reuse; 0 when fine. */
static int
reset_policy_or_reply(struct req *r, struct resp *rs, struct db_conn *c,
    const struct reset_user *u, const char *pw, int *rc)
{
	json_t	*errors;
	int	 reused = 0, bad;

	if ((errors = json_object()) == NULL) {
		*rc = WS_ERR_NOMEM;
		return 1;
	}
	bad = password_policy_check(&ws_app.policy, pw, u->username,
	    u->email, errors) != 0;
	if (!bad) {
		if ((*rc = credential_reused(c, u->id, pw,
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
auth_password_reset(struct req *r, struct resp *rs)
{
	struct audit_event	 ev = { .type = "password_reset" };
	struct reset_user	 u;
	struct db_conn		*c = NULL;
	json_t			*body = NULL, *vars = NULL;
	const char		*pw;
	char			 hash[PASSWORD_HASH_MAX];
	int			 rc = 0;

	memset(&u, 0, sizeof(u));
	hash[0] = '\0';
	if (auth_limit_or_reply(r, rs, "verify", auth_cfg.rl_verify) ||
	    req_json_or_reply(r, rs, &body) ||
	    validate_or_reply(r, rs, body, reset_rules, 2) ||
	    (c = app_db_or_reply(r, rs)) == NULL)
		goto out;
	pw = json_string_value(json_object_get(body, "new_password"));
	if ((rc = db_begin(c)) != 0)
		goto fail;
	rc = email_token_consume(c, json_string_value(json_object_get(body,
	    "token")), EMAIL_TOKEN_RESET, u.id, NULL, 0);
	if (rc == WS_ERR_NOTFOUND) {
		db_rollback(c);
		resp_problem(rs, r, 400, "INVALID_TOKEN",
		    "The link is invalid or has expired.", NULL);
		goto out;
	}
	if (rc != 0 || (rc = reset_load(c, &u)) != 0)
		goto fail;
	/* A refused password leaves the token unused: roll back. */
	if (reset_policy_or_reply(r, rs, c, &u, pw, &rc)) {
		db_rollback(c);
		if (rc != 0)
			goto fail;
		goto out;
	}
	if ((rc = password_hash(pw, hash)) != 0 ||
	    (rc = credential_set(c, u.id, hash,
	    ws_app.passwords.history_depth)) ||
	    (rc = session_revoke_user(c, ws_app.cache, u.id, NULL,
	    "password_reset", NULL)) != 0)
		goto fail;
	vars = json_pack("{s:s,s:s}", "username", u.username, "link_path",
	    "/password/forgot");
	ev.user_id = ev.actor_id = u.id;
	audit_from_request(&ev, r);
	if (vars == NULL || (rc = outbox_queue(c, u.id, u.email,
	    "password_changed", NULL, vars)) != 0 ||
	    (rc = audit_record(c, &ev)) != 0 || (rc = db_commit(c)) != 0)
		goto fail;
	rs->status = 204;
	goto out;
fail:
	db_rollback(c);
	app_fail_reply(r, rs, rc);
out:
	db_pool_release(c);
	sodium_memzero(hash, sizeof(hash));
	json_decref(vars);
	json_decref(body);
}
