/*
 * Changing the sign-in address.  PUT /api/v1/users/me/email, with the
 * password, mails a single-use link to the new address and a notice to
 * the current one; the account keeps its address until the link is
 * used.  POST /api/v1/users/email/confirm (public: the link is opened
 * wherever the mail is read) takes the token from the link and makes
 * the new address the sign-in address.
 *
 * A taken address is handled exactly like a free one (the same reply,
 * the same mails, the same rows), so the caller cannot learn whether
 * someone else uses it; its link simply fails when used, because the
 * address is still taken then.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "app.h"
#include "email_token.h"
#include "error.h"
#include "ratelimit.h"
#include "users.h"
#include "validate.h"

static const struct field_rule	email_rules[] = {
	{ .name = "password", .type = FIELD_STRING, .required = 1,
	    .min_len = 1, .max_len = 1024 },
	{ .name = "new_email", .type = FIELD_STRING, .required = 1,
	    .min_len = 3, .max_len = 254, .check = validate_email },
};

static const struct field_rule	confirm_rules[] = {
	{ .name = "token", .type = FIELD_STRING, .required = 1,
	    .min_len = 1, .max_len = 128 },
};

/* Queues the link to the new address and the notice to the old one. */
static int
email_mails(struct db_conn *c, const struct users_account *a,
    const char *new_email, const char *token)
{
	json_t	*link = NULL, *notice = NULL;
	char	 path[128];
	int	 rc = WS_ERR_NOMEM;

	snprintf(path, sizeof(path), "/email/confirm#token=%s", token);
	link = json_pack("{s:s}", "link_path", path);
	notice = json_pack("{s:s}", "new_email", new_email);
	if (link != NULL && notice != NULL &&
	    (rc = users_notify(c, a, "email_change_verify", new_email,
	    link)) == 0)
		rc = users_notify(c, a, "email_changed", NULL, notice);
	sodium_memzero(path, sizeof(path));
	json_decref(link);
	json_decref(notice);
	return rc;
}

void
users_email_put(struct req *r, struct resp *rs)
{
	struct principal	 p;
	struct users_account	 a;
	struct audit_event	 ev;
	struct db_conn		*c = NULL;
	json_t			*body = NULL, *out = NULL;
	const char		*params[2];
	char			 email[256], token[TOKEN_LEN + 1];
	int			 rc;

	token[0] = '\0';
	if (users_begin_or_reply(r, rs, &p, email_rules,
	    sizeof(email_rules) / sizeof(email_rules[0]), &body, &c))
		goto out;
	/* Addresses are kept and compared in lower case. */
	validate_email_lower(email, sizeof(email),
	    json_string_value(json_object_get(body, "new_email")));
	if ((rc = users_account_load(c, p.user_id, &a)) != 0) {
		users_fail(r, rs, rc);
		goto out;
	}
	if (strcmp(email, a.email) == 0) {
		out = json_pack("{s:[s]}", "new_email",
		    "is already the account's address");
		resp_problem(rs, r, 400, "VALIDATION_FAILED",
		    "The request has invalid fields.", out);
		goto out;
	}
	if (users_password_or_reply(r, rs, c, &a, json_string_value(
	    json_object_get(body, "password"))))
		goto out;
	params[0] = a.id;
	params[1] = email;
	users_event(&ev, r, "email_change_requested", a.id);
	if ((rc = db_begin(c)) != 0)
		goto fail;
	if ((rc = email_token_create(c, a.id, EMAIL_TOKEN_CHANGE, email,
	    users_cfg.email_change_ttl_s, token)) != 0 ||
	    (rc = db_query(c, "UPDATE users SET pending_email = $2"
	    " WHERE id = $1::uuid", 2, params, NULL)) != 0 ||
	    (rc = email_mails(c, &a, email, token)) != 0 ||
	    (rc = audit_record(c, &ev)) != 0 || (rc = db_commit(c)) != 0)
		goto fail;
	users_forget(a.id);
	out = json_pack("{s:s}", "status", "verification_sent");
	users_reply(r, rs, 202, out);
	goto out;
fail:
	db_rollback(c);
	users_fail(r, rs, rc);
out:
	sodium_memzero(token, sizeof(token));
	db_pool_release(c);
	json_decref(out);
	json_decref(body);
}

static void
email_invalid_token(struct req *r, struct resp *rs)
{
	resp_problem(rs, r, 400, "INVALID_TOKEN",
	    "The link is invalid or has expired.", NULL);
}

void
users_email_confirm(struct req *r, struct resp *rs)
{
	struct ratelimit	 rl = { "verify", users_cfg.rl_verify,
				    users_cfg.rl_window_s };
	struct audit_event	 ev;
	struct db_conn		*c = NULL;
	struct db_res		*res = NULL;
	json_t			*body = NULL, *out = NULL;
	const char		*params[2];
	char			 user_id[37], email[256];
	int			 rc;

	if (ratelimit_or_reply(ws_app.cache, &rl, r, rs, 0) ||
	    req_json_or_reply(r, rs, &body) ||
	    validate_or_reply(r, rs, body, confirm_rules, 1) ||
	    (c = app_db_or_reply(r, rs)) == NULL)
		goto out;
	if ((rc = db_begin(c)) != 0)
		goto fail;
	rc = email_token_consume(c, json_string_value(json_object_get(body,
	    "token")), EMAIL_TOKEN_CHANGE, user_id, email, sizeof(email));
	if (rc == WS_ERR_NOTFOUND || (rc == 0 && email[0] == '\0')) {
		db_rollback(c);
		email_invalid_token(r, rs);
		goto out;
	}
	if (rc != 0)
		goto fail;
	params[0] = user_id;
	params[1] = email;
	/*
	 * The unique index on lower(email) settles a race with another
	 * account taking the address meanwhile: the link then fails like
	 * any spent one.  Links mailed to the old address (verification,
	 * reset) end with it.
	 */
	rc = db_query(c, "UPDATE users SET email = $2,"
	    " email_verified_at = now(), pending_email = NULL"
	    " WHERE id = $1::uuid RETURNING id", 2, params, &res);
	if (rc == WS_ERR_CONFLICT || (rc == 0 && db_res_nrows(res) != 1)) {
		db_rollback(c);
		email_invalid_token(r, rs);
		goto out;
	}
	users_event(&ev, r, "email_changed", user_id);
	ev.actor_id = user_id;
	if (rc != 0 || (rc = db_query(c, "UPDATE email_tokens"
	    " SET used_at = now() WHERE user_id = $1::uuid"
	    " AND used_at IS NULL", 1, params, NULL)) != 0 ||
	    (rc = audit_record(c, &ev)) != 0 || (rc = db_commit(c)) != 0)
		goto fail;
	users_forget(user_id);
	out = json_pack("{s:s,s:b}", "email", email, "email_verified", 1);
	users_reply(r, rs, 200, out);
	goto out;
fail:
	db_rollback(c);
	users_fail(r, rs, rc);
out:
	db_res_free(res);
	db_pool_release(c);
	json_decref(out);
	json_decref(body);
}
