/*
 * Email verification: POST /api/v1/auth/verify-email consumes the
 * mailed token; POST /api/v1/auth/resend-verification mails a new one
 * (mail_link.c) to an unverified account.
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
	app_fail_reply(r, rs, rc);
out:
	db_pool_release(c);
	json_decref(out);
	json_decref(body);
}

void
auth_resend_verification(struct req *r, struct resp *rs)
{
	const struct auth_link	 l = { "resend", auth_cfg.rl_resend,
				    EMAIL_TOKEN_VERIFY, auth_cfg.verify_ttl_s,
				    "/verify-email#token=", "verify_email", 1 };

	auth_mail_link(r, rs, &l);
}
