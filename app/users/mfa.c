/*
 * Two-step verification with TOTP (design.md 7), the user's side:
 *   POST   /me/mfa/totp                 {password}: a new secret, its
 *          otpauth:// URI; kept pending until confirmed;
 *   POST   /me/mfa/totp/confirm         {code}: a right code for the
 *          pending secret turns MFA on and returns ten recovery codes,
 *          once;
 *   DELETE /me/mfa/totp                 {password, code | recovery_code}
 *   POST   /me/mfa/recovery-codes       {password, code | recovery_code}
 *          a new set of recovery codes replaces the old one.
 * Starting an enrolment asks for the password although the design
 * lists no body for it: with only a stolen access token, turning MFA
 * on would end the owner's other sessions and bar them from signing in
 * again.  Turning MFA on or off ends the user's other sessions and
 * mails a notice.
 */
#include <string.h>

#include <sodium.h>

#include "app.h"
#include "error.h"
#include "session.h"
#include "users.h"
#include "validate.h"

static const struct field_rule	begin_rules[] = {
	{ .name = "password", .type = FIELD_STRING, .required = 1,
	    .min_len = 1, .max_len = 1024 },
};

static const struct field_rule	confirm_rules[] = {
	{ .name = "code", .type = FIELD_STRING, .required = 1,
	    .min_len = 1, .max_len = 16 },
};

static const struct field_rule	change_rules[] = {
	{ .name = "password", .type = FIELD_STRING, .required = 1,
	    .min_len = 1, .max_len = 1024 },
	{ .name = "code", .type = FIELD_STRING, .min_len = 1,
	    .max_len = 16 },
	{ .name = "recovery_code", .type = FIELD_STRING, .min_len = 1,
	    .max_len = RECOVERY_INPUT_MAX },
};

static void
mfa_conflict(struct req *r, struct resp *rs, int enabled)
{
	if (enabled)
		resp_problem(rs, r, 409, "MFA_ALREADY_ENABLED",
		    "Two-step verification is already on.", NULL);
	else
		resp_problem(rs, r, 409, "MFA_NOT_ENABLED",
		    "Two-step verification is not on.", NULL);
}

/* The reply carrying a new set of recovery codes. */
static void
mfa_reply_codes(struct req *r, struct resp *rs,
    char codes[RECOVERY_CODES][RECOVERY_CODE_LEN + 1])
{
	json_t	*list, *out = NULL;
	size_t	 i;

	if ((list = json_array()) == NULL)
		goto out;
	for (i = 0; i < RECOVERY_CODES; i++)
		if (json_array_append_new(list, json_string(codes[i])) != 0)
			goto out;
	out = json_pack("{s:O}", "recovery_codes", list);
out:
	users_reply(r, rs, 200, out);
	json_decref(list);
	json_decref(out);
}

void
users_totp_begin(struct req *r, struct resp *rs)
{
	struct principal	 p;
	struct users_account	 a;
	struct audit_event	 ev;
	struct db_conn		*c = NULL;
	struct buf		 uri;
	json_t			*body = NULL, *out = NULL;
	char			 secret[TOTP_SECRET_B32_LEN + 1];
	int			 rc;

	secret[0] = '\0';
	buf_init(&uri, 4096);
	if (users_begin_or_reply(r, rs, &p, begin_rules, 1, &body, &c))
		goto out;
	if ((rc = users_account_load(c, p.user_id, &a)) != 0) {
		users_fail(r, rs, rc);
		goto out;
	}
	if (a.mfa_enabled) {
		mfa_conflict(r, rs, 1);
		goto out;
	}
	if (users_password_or_reply(r, rs, c, &a, json_string_value(
	    json_object_get(body, "password"))))
		goto out;
	users_event(&ev, r, "mfa_enrolment_started", a.id);
	if ((rc = db_begin(c)) != 0)
		goto fail;
	rc = mfa_begin(c, ws_app.datakeys, a.id, secret);
	if (rc == WS_ERR_CONFLICT) {
		db_rollback(c);
		mfa_conflict(r, rs, 1);
		goto out;
	}
	if (rc != 0 || (rc = totp_uri(&uri, users_cfg.totp_issuer,
	    a.username, secret)) != 0 || (rc = audit_record(c, &ev)) != 0 ||
	    (rc = db_commit(c)) != 0)
		goto fail;
	out = json_pack("{s:s,s:s}", "secret", secret, "otpauth_uri",
	    buf_str(&uri));
	users_reply(r, rs, 200, out);
	goto out;
fail:
	db_rollback(c);
	users_fail(r, rs, rc);
out:
	sodium_memzero(secret, sizeof(secret));
	if (uri.data != NULL)
		sodium_memzero(uri.data, uri.cap);
	buf_cleanup(&uri);
	db_pool_release(c);
	json_decref(out);
	json_decref(body);
}

/*
 * The changes that go with turning MFA on or off, inside the caller's
 * transaction: the other sessions end, the owner is mailed, the event
 * is recorded last.
 */
static int
mfa_follow_up(struct req *r, struct db_conn *c, const struct principal *p,
    const struct users_account *a, const char *what)
{
	struct audit_event	 ev;
	json_t			*details = NULL;
	long			 n = 0;
	int			 rc;

	if ((rc = session_revoke_user(c, ws_app.cache, a->id, p->session_id,
	    what, &n)) != 0 || (rc = users_notify(c, a, what, NULL,
	    NULL)) != 0)
		return rc;
	if ((details = json_pack("{s:I}", "sessions_ended",
	    (json_int_t)n)) == NULL)
		return WS_ERR_NOMEM;
	users_event(&ev, r, what, a->id);
	ev.details = details;
	rc = audit_record(c, &ev);
	json_decref(details);
	return rc;
}

void
users_totp_confirm(struct req *r, struct resp *rs)
{
	struct principal	 p;
	struct users_account	 a;
	struct db_conn		*c = NULL;
	json_t			*body = NULL;
	char			 codes[RECOVERY_CODES][RECOVERY_CODE_LEN + 1];
	int			 rc, ok = 0;

	memset(codes, 0, sizeof(codes));
	if (users_begin_or_reply(r, rs, &p, confirm_rules, 1, &body, &c))
		goto out;
	if ((rc = users_account_load(c, p.user_id, &a)) != 0) {
		users_fail(r, rs, rc);
		goto out;
	}
	if ((rc = db_begin(c)) != 0)
		goto fail;
	rc = mfa_confirm(c, ws_app.datakeys, a.id, json_string_value(
	    json_object_get(body, "code")), codes, &ok);
	if (rc == WS_ERR_CONFLICT) {
		db_rollback(c);
		mfa_conflict(r, rs, 1);
		goto out;
	}
	if (rc == WS_ERR_NOTFOUND) {
		db_rollback(c);
		resp_problem(rs, r, 409, "MFA_NOT_PENDING", "No enrolment is "
		    "waiting for a code; start one first.", NULL);
		goto out;
	}
	if (rc == 0 && !ok) {
		db_rollback(c);
		resp_problem(rs, r, 403, "INVALID_CODE",
		    "The code is wrong or was already used.", NULL);
		goto out;
	}
	if (rc != 0 || (rc = mfa_follow_up(r, c, &p, &a,
	    "mfa_enabled")) != 0 || (rc = db_commit(c)) != 0)
		goto fail;
	users_forget(a.id);
	mfa_reply_codes(r, rs, codes);
	goto out;
fail:
	db_rollback(c);
	users_fail(r, rs, rc);
out:
	sodium_memzero(codes, sizeof(codes));
	db_pool_release(c);
	json_decref(body);
}

/*
 * The opening shared by the two changes that need the password and a
 * code: on success the account is in a and a transaction is open.
 */
static int
mfa_confirmed_or_reply(struct req *r, struct resp *rs,
    struct principal *p, struct users_account *a, json_t **body,
    struct db_conn **c)
{
	int	 rc;

	if (users_begin_or_reply(r, rs, p, change_rules,
	    sizeof(change_rules) / sizeof(change_rules[0]), body, c))
		return 1;
	if ((rc = users_account_load(*c, p->user_id, a)) != 0) {
		users_fail(r, rs, rc);
		return 1;
	}
	if (!a->mfa_enabled) {
		mfa_conflict(r, rs, 0);
		return 1;
	}
	if (users_password_or_reply(r, rs, *c, a, json_string_value(
	    json_object_get(*body, "password"))))
		return 1;
	if ((rc = db_begin(*c)) != 0) {
		users_fail(r, rs, rc);
		return 1;
	}
	return users_code_or_reply(r, rs, *c, a, json_string_value(
	    json_object_get(*body, "code")), json_string_value(
	    json_object_get(*body, "recovery_code")));
}

void
users_totp_delete(struct req *r, struct resp *rs)
{
	struct principal	 p;
	struct users_account	 a;
	struct db_conn		*c = NULL;
	json_t			*body = NULL;
	int			 rc;

	if (mfa_confirmed_or_reply(r, rs, &p, &a, &body, &c))
		goto out;
	if ((rc = mfa_disable(c, a.id)) != 0 ||
	    (rc = mfa_follow_up(r, c, &p, &a, "mfa_disabled")) != 0 ||
	    (rc = db_commit(c)) != 0) {
		db_rollback(c);
		users_fail(r, rs, rc);
		goto out;
	}
	users_forget(a.id);
	rs->status = 204;
out:
	db_pool_release(c);
	json_decref(body);
}

void
users_recovery_codes(struct req *r, struct resp *rs)
{
	struct principal	 p;
	struct users_account	 a;
	struct audit_event	 ev;
	struct db_conn		*c = NULL;
	json_t			*body = NULL;
	char			 codes[RECOVERY_CODES][RECOVERY_CODE_LEN + 1];
	int			 rc;

	memset(codes, 0, sizeof(codes));
	if (mfa_confirmed_or_reply(r, rs, &p, &a, &body, &c))
		goto out;
	users_event(&ev, r, "recovery_codes_renewed", a.id);
	if ((rc = mfa_recovery_renew(c, a.id, codes)) != 0 ||
	    (rc = audit_record(c, &ev)) != 0 || (rc = db_commit(c)) != 0) {
		db_rollback(c);
		users_fail(r, rs, rc);
		goto out;
	}
	mfa_reply_codes(r, rs, codes);
out:
	sodium_memzero(codes, sizeof(codes));
	db_pool_release(c);
	json_decref(body);
}
