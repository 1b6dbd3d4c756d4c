/*
 * DELETE /api/v1/users/me {password, code | recovery_code}: deletes
 * the caller's account with everything it owns (account_delete): its
 * sessions end at once, its rows go, and its audit events keep only
 * an anonymous digest of its id.  The password is always required,
 * and with MFA on a TOTP or recovery code as well.
 */
#include "account.h"
#include "app.h"
#include "error.h"
#include "users.h"
#include "validate.h"

static const struct field_rule	delete_rules[] = {
	{ .name = "password", .type = FIELD_STRING, .required = 1,
	    .min_len = 1, .max_len = 1024 },
	{ .name = "code", .type = FIELD_STRING, .min_len = 1,
	    .max_len = 16 },
	{ .name = "recovery_code", .type = FIELD_STRING, .min_len = 1,
	    .max_len = RECOVERY_INPUT_MAX },
};

void
users_me_delete(struct req *r, struct resp *rs)
{
	struct principal	 p;
	struct users_account	 a;
	struct audit_event	 ev;
	struct db_conn		*c = NULL;
	json_t			*body = NULL;
	int			 rc;

	if (users_begin_or_reply(r, rs, &p, delete_rules,
	    sizeof(delete_rules) / sizeof(delete_rules[0]), &body, &c))
		goto out;
	if ((rc = users_account_load(c, p.user_id, &a)) != 0) {
		users_fail(r, rs, rc);
		goto out;
	}
	if (users_password_or_reply(r, rs, c, &a, json_string_value(
	    json_object_get(body, "password"))))
		goto out;
	if ((rc = db_begin(c)) != 0) {
		users_fail(r, rs, rc);
		goto out;
	}
	if (a.mfa_enabled && users_code_or_reply(r, rs, c, &a,
	    json_string_value(json_object_get(body, "code")),
	    json_string_value(json_object_get(body, "recovery_code"))))
		goto out;
	/* Only for its address and agent: account_delete records it. */
	users_event(&ev, r, "account_deleted", a.id);
	if ((rc = account_delete(c, ws_app.cache, a.id, NULL, ev.ip,
	    ev.user_agent)) != 0 || (rc = db_commit(c)) != 0) {
		db_rollback(c);
		users_fail(r, rs, rc);
		goto out;
	}
	users_forget(a.id);
	resp_header(rs, "Clear-Site-Data", "\"cache\", \"cookies\", "
	    "\"storage\"");
	rs->status = 204;
out:
	db_pool_release(c);
	json_decref(body);
}
