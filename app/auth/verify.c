/*
 * Email verification: POST /api/v1/auth/verify-email consumes the
 * mailed token; POST /api/v1/auth/resend-verification mails a new one
 * and answers 202 whether or not the address has an account.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "app.h"
#include "audit.h"
#include "auth.h"
#include "email_token.h"
#include "error.h"
#include "log.h"
#include "outbox.h"
#include "validate.h"

static const struct field_rule	token_rules[] = {
	{ .name = "token", .type = FIELD_STRING, .required = 1,
	    .min_len = 1, .max_len = 128 },
};

static const struct field_rule	email_rules[] = {
	{ .name = "email", .type = FIELD_STRING, .required = 1,
	    .min_len = 3, .max_len = 254, .check = validate_email },
};

void
auth_verify_email(struct req *r, struct resp *rs)
{
	struct audit_event	 ev = { .type = "email_verified" };
	struct db_conn		*c = NULL;
	json_t			*body = NULL, *out = NULL;
	char			 user_id[37];
	int			 rc;

	if (auth_limit_or_reply(r, rs, "verify", auth_cfg.rl_verify) ||
	    req_json_or_reply(r, rs, &body) ||
	    validate_or_reply(r, rs, body, token_rules, 1) ||
	    (c = app_db_or_reply(r, rs)) == NULL)
		goto out;
	if ((rc = db_begin(c)) != 0)
		goto fail;
	rc = email_token_consume(c, json_string_value(json_object_get(body,
	    "token")), EMAIL_TOKEN_VERIFY, user_id, NULL, 0);
	if (rc == WS_ERR_NOTFOUND) {
		db_rollback(c);
		resp_problem(rs, r, 400, "INVALID_TOKEN",
		    "The link is invalid or has expired.", NULL);
		goto out;
	}
	if (rc != 0)
		goto fail;
	ev.user_id = ev.actor_id = user_id;
	audit_from_request(&ev, r);
	if ((rc = db_query(c, "UPDATE users SET email_verified_at ="
	    " coalesce(email_verified_at, now()) WHERE id = $1::uuid", 1,
	    (const char *[]){ user_id }, NULL)) != 0 ||
	    (rc = audit_record(c, &ev)) != 0 || (rc = db_commit(c)) != 0)
		goto fail;
	out = json_pack("{s:b}", "email_verified", 1);
	if (out == NULL || resp_json(rs, 200, out) != 0)
		auth_internal(r, rs);
	goto out;
fail:
	db_rollback(c);
	if (rc == WS_ERR_UNAVAILABLE || rc == WS_ERR_TIMEOUT)
		auth_unavailable(r, rs);
	else
		auth_internal(r, rs);
out:
	db_pool_release(c);
	json_decref(out);
	json_decref(body);
}

/*
 * Mails a new link when the address belongs to an unverified account.
 * Whatever happens is logged and never shown, so every caller gets
 * the same 202.
 */
static void
resend_for(struct db_conn *c, const char *email)
{
	struct db_res	*res = NULL;
	json_t		*vars = NULL;
	char		 token[TOKEN_LEN + 1];
	int		 rc;

	token[0] = '\0';
	if ((rc = db_begin(c)) != 0)
		goto out;
	if ((rc = db_query(c, "SELECT id, username FROM users"
	    " WHERE lower(email) = $1 AND email_verified_at IS NULL"
	    " FOR UPDATE", 1, &email, &res)) != 0 ||
	    db_res_nrows(res) != 1)
		goto out;
	if ((rc = email_token_create(c, db_res_value(res, 0, 0),
	    EMAIL_TOKEN_VERIFY, NULL, auth_cfg.verify_ttl_s, token)) != 0 ||
	    (vars = auth_mail_vars(db_res_value(res, 0, 1),
	    "/verify-email#token=", token)) == NULL ||
	    (rc = outbox_queue(c, db_res_value(res, 0, 0), email,
	    "verify_email", NULL, vars)) != 0)
		goto out;
	rc = db_commit(c);
out:
	if (rc != 0) {
		log_event(LOG_WARN, "resend_failed", "error",
		    ws_err_name(rc), NULL);
		db_rollback(c);
	} else if (db_res_nrows(res) != 1)
		db_rollback(c);
	sodium_memzero(token, sizeof(token));
	json_decref(vars);
	db_res_free(res);
}

void
auth_resend_verification(struct req *r, struct resp *rs)
{
	struct db_conn	*c = NULL;
	json_t		*body = NULL, *out = NULL;
	char		 email[256];
	size_t		 i;

	if (auth_limit_or_reply(r, rs, "resend", auth_cfg.rl_resend) ||
	    req_json_or_reply(r, rs, &body) ||
	    validate_or_reply(r, rs, body, email_rules, 1) ||
	    (c = app_db_or_reply(r, rs)) == NULL)
		goto out;
	snprintf(email, sizeof(email), "%s",
	    json_string_value(json_object_get(body, "email")));
	for (i = 0; email[i] != '\0'; i++)
		email[i] = (char)tolower((unsigned char)email[i]);
	resend_for(c, email);
	out = json_pack("{s:s}", "status", "accepted");
	if (out == NULL || resp_json(rs, 202, out) != 0)
		auth_internal(r, rs);
out:
	db_pool_release(c);
	json_decref(out);
	json_decref(body);
}
