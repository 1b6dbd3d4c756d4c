/*
 * The endpoints that mail a link to an address (resend-verification,
 * password/forgot) and answer 202 whatever the address, so they
 * cannot be used to learn who has an account.
 */
#include <stdio.h>

#include <sodium.h>

#include "app.h"
#include "auth.h"
#include "email_token.h"
#include "error.h"
#include "log.h"
#include "outbox.h"
#include "validate.h"

static const struct field_rule	link_rules[] = {
	{ .name = "email", .type = FIELD_STRING, .required = 1,
	    .min_len = 3, .max_len = 254, .check = validate_email },
};

/*
 * Issues and mails the link when email has an account (an unverified
 * one, with l->unverified_only).  Whatever happens is logged and never
 * shown: every caller gets the same 202.
 */
static void
link_for(struct db_conn *c, const struct auth_link *l, const char *email)
{
	struct db_res	*res = NULL;
	json_t		*vars = NULL;
	char		 token[TOKEN_LEN + 1];
	int		 rc, found = 0;

	token[0] = '\0';
	if ((rc = db_begin(c)) != 0)
		goto out;
	if ((rc = db_query(c, "SELECT id, username FROM users"
	    " WHERE lower(email) = $1 AND (NOT $2::bool OR"
	    " email_verified_at IS NULL) FOR UPDATE", 2,
	    (const char *[]){ email, l->unverified_only ? "t" : "f" },
	    &res)) != 0 || db_res_nrows(res) != 1)
		goto out;
	found = 1;
	if ((rc = email_token_create(c, db_res_value(res, 0, 0),
	    l->purpose, NULL, l->ttl_s, token)) != 0 ||
	    (vars = auth_mail_vars(db_res_value(res, 0, 1), l->path,
	    token)) == NULL ||
	    (rc = outbox_queue(c, db_res_value(res, 0, 0), email, l->tmpl,
	    NULL, vars)) != 0)
		goto out;
	rc = db_commit(c);
out:
	if (rc != 0)
		log_event(LOG_WARN, "mail_link_failed", "template", l->tmpl,
		    "error", ws_err_name(rc), NULL);
	if (rc != 0 || !found)
		db_rollback(c);
	sodium_memzero(token, sizeof(token));
	json_decref(vars);
	db_res_free(res);
}

void
auth_mail_link(struct req *r, struct resp *rs, const struct auth_link *l)
{
	struct db_conn	*c = NULL;
	json_t		*body = NULL, *out = NULL;
	char		 email[256];

	if (auth_limit_or_reply(r, rs, l->cls, l->limit) ||
	    req_json_or_reply(r, rs, &body) ||
	    validate_or_reply(r, rs, body, link_rules, 1) ||
	    (c = app_db_or_reply(r, rs)) == NULL)
		goto out;
	/* Addresses are kept and compared in lower case. */
	validate_email_lower(email, sizeof(email),
	    json_string_value(json_object_get(body, "email")));
	link_for(c, l, email);
	out = json_pack("{s:s}", "status", "accepted");
	if (out == NULL || resp_json(rs, 202, out) != 0)
		auth_internal(r, rs);
out:
	db_pool_release(c);
	json_decref(out);
	json_decref(body);
}
