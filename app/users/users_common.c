/*
 * Pieces every users handler uses: the standard failure replies, the
 * opening of a request, the password and code confirmations with
 * their lockouts, notices, and the profile document.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "account.h"
#include "app.h"
#include "error.h"
#include "lockout.h"
#include "log.h"
#include "outbox.h"
#include "password.h"
#include "users.h"
#include "validate.h"

void
users_unavailable(struct req *r, struct resp *rs)
{
	app_fail_reply(r, rs, WS_ERR_UNAVAILABLE);
}

void
users_internal(struct req *r, struct resp *rs)
{
	app_fail_reply(r, rs, WS_ERR_INTERNAL);
}

void
users_fail(struct req *r, struct resp *rs, int rc)
{
	app_fail_reply(r, rs, rc);
}

void
users_reply(struct req *r, struct resp *rs, int status, const json_t *body)
{
	if (body == NULL || resp_json(rs, status, body) != 0)
		users_internal(r, rs);
}

int
users_begin_or_reply(struct req *r, struct resp *rs, struct principal *p,
    const struct field_rule *rules, size_t n, json_t **body,
    struct db_conn **c)
{
	*body = NULL;
	*c = NULL;
	if (authn_or_reply(r, rs, p) != 0)
		return 1;
	if (rules != NULL && (req_json_or_reply(r, rs, body) ||
	    validate_or_reply(r, rs, *body, rules, n)))
		return 1;
	if ((*c = app_db_or_reply(r, rs)) == NULL)
		return 1;
	return 0;
}

int
users_account_load(struct db_conn *c, const char *id,
    struct users_account *a)
{
	struct db_res	*res = NULL;
	int		 rc;

	memset(a, 0, sizeof(*a));
	if ((rc = db_query(c, "SELECT id, username, email, mfa_enabled"
	    " FROM users WHERE id = $1::uuid", 1, &id, &res)) != 0)
		goto out;
	if (db_res_nrows(res) != 1) {
		rc = WS_ERR_NOTFOUND;
		goto out;
	}
	snprintf(a->id, sizeof(a->id), "%s", db_res_value(res, 0, 0));
	snprintf(a->username, sizeof(a->username), "%s",
	    db_res_value(res, 0, 1));
	snprintf(a->email, sizeof(a->email), "%s", db_res_value(res, 0, 2));
	a->mfa_enabled = strcmp(db_res_value(res, 0, 3), "t") == 0;
out:
	db_res_free(res);
	return rc;
}

void
users_event(struct audit_event *ev, const struct req *r, const char *type,
    const char *user_id)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	ev->user_id = user_id;
	ev->actor_id = user_id;
	audit_from_request(ev, r);
}

/* Records ev in a transaction of its own; a failure is only logged. */
static void
users_event_now(struct db_conn *c, const struct req *r, const char *type,
    const char *user_id, const char *reason)
{
	struct audit_event	 ev;
	json_t			*details = NULL;

	users_event(&ev, r, type, user_id);
	if (reason != NULL)
		details = json_pack("{s:s,s:s}", "reason", reason, "route",
		    r->route != NULL ? r->route : "");
	ev.details = details;
	if (audit_record_now(c, &ev) != 0)
		log_event(LOG_ERROR, "audit_failed", "type", type, NULL);
	json_decref(details);
}

int
users_notify(struct db_conn *c, const struct users_account *a,
    const char *tmpl, const char *to, json_t *extra)
{
	json_t	*vars;
	int	 rc;

	vars = json_pack("{s:s,s:s}", "username", a->username, "link_path",
	    "/password/forgot");
	if (vars == NULL || (extra != NULL &&
	    json_object_update(vars, extra) != 0)) {
		json_decref(vars);
		return WS_ERR_NOMEM;
	}
	rc = outbox_queue(c, a->id, to != NULL ? to : a->email, tmpl, NULL,
	    vars);
	json_decref(vars);
	return rc;
}

static void
users_locked(struct req *r, struct resp *rs, long seconds)
{
	char	 s[32];

	snprintf(s, sizeof(s), "%ld", seconds > 0 ? seconds : 1);
	resp_header(rs, "Retry-After", s);
	resp_problem(rs, r, 403, "ACCOUNT_LOCKED",
	    "The account is locked after too many wrong passwords; try "
	    "again later or reset the password.", NULL);
}

/*
 * Reads the hash and the lock of a, then takes the next attempt number
 * in *attempt as login.c does: one UPDATE under the row lock, so
 * parallel wrong passwords are numbered one after the other.
 * WS_ERR_CONFLICT when the account is locked, seconds left in *locked.
 */
static int
users_reserve(struct db_conn *c, const struct users_account *a,
    char hash[PASSWORD_HASH_MAX], long *attempt, long *locked)
{
	struct lockout_opts	 lo;
	struct db_res		*res = NULL;
	const char		*params[1] = { a->id };
	int			 rc;

	*attempt = 0;
	*locked = 0;
	if ((rc = db_query(c, "SELECT password_hash, CASE WHEN"
	    " locked_until > now() THEN ceil(extract(epoch FROM"
	    " locked_until - now()))::bigint ELSE 0 END FROM users"
	    " WHERE id = $1::uuid", 1, params, &res)) != 0)
		goto out;
	if (db_res_nrows(res) != 1) {
		rc = WS_ERR_NOTFOUND;
		goto out;
	}
	snprintf(hash, PASSWORD_HASH_MAX, "%s", db_res_value(res, 0, 0));
	if ((*locked = strtol(db_res_value(res, 0, 1), NULL, 10)) > 0) {
		rc = WS_ERR_CONFLICT;
		goto out;
	}
	password_settings_lockout(&ws_app.passwords, &lo);
	rc = lockout_reserve(c, &lo, a->id, attempt, locked);
out:
	db_res_free(res);
	return rc;
}

/* Locks a, records it and mails the owner, in one transaction. */
static void
users_lock(struct req *r, struct db_conn *c, const struct users_account *a)
{
	struct audit_event	 ev;
	struct lockout_opts	 lo;
	int			 rc;

	password_settings_lockout(&ws_app.passwords, &lo);
	users_event(&ev, r, "account_locked", a->id);
	ev.actor_id = NULL;
	if ((rc = db_begin(c)) != 0)
		goto out;
	if ((rc = lockout_lock(c, &lo, a->id)) != 0 ||
	    (rc = users_notify(c, a, "account_locked", NULL, NULL)) != 0 ||
	    (rc = audit_record(c, &ev)) != 0 || (rc = db_commit(c)) != 0)
		db_rollback(c);
out:
	if (rc != 0)
		log_event(LOG_ERROR, "lock_failed", "user", a->id, NULL);
}

int
users_password_or_reply(struct req *r, struct resp *rs, struct db_conn *c,
    const struct users_account *a, const char *password)
{
	char		 hash[PASSWORD_HASH_MAX];
	const char	*params[1] = { a->id };
	long		 attempt, locked;
	int		 rc, ok = 0, replied = 1;

	hash[0] = '\0';
	rc = users_reserve(c, a, hash, &attempt, &locked);
	if (rc == WS_ERR_CONFLICT) {
		users_event_now(c, r, "reauth_refused_locked", a->id, NULL);
		users_locked(r, rs, locked);
		goto out;
	}
	if (rc != 0) {
		users_fail(r, rs, rc);
		goto out;
	}
	if ((rc = password_verify(password, hash, &ok)) != 0) {
		/* No password was checked: give the attempt back. */
		lockout_release(c, a->id);
		users_fail(r, rs, rc);
		goto out;
	}
	if (!ok) {
		users_event_now(c, r, "reauth_failed", a->id,
		    "wrong_password");
		if (attempt >= ws_app.passwords.lockout_threshold)
			users_lock(r, c, a);
		resp_problem(rs, r, 403, "INVALID_CREDENTIALS",
		    "The password is wrong.", NULL);
		goto out;
	}
	/* The right password ends the run of failures, as a login does. */
	if ((rc = db_query(c, "UPDATE users SET failed_login_count = 0,"
	    " failed_login_first_at = NULL WHERE id = $1::uuid", 1, params,
	    NULL)) != 0) {
		users_fail(r, rs, rc);
		goto out;
	}
	replied = 0;
out:
	sodium_memzero(hash, sizeof(hash));
	return replied;
}

int
users_code_or_reply(struct req *r, struct resp *rs, struct db_conn *c,
    const struct users_account *a, const char *code,
    const char *recovery_code)
{
	struct audit_event	 ev;
	json_t			*errors = NULL, *details = NULL;
	char			 s[32];
	long			 retry = 0;
	int			 rc, ok = 0;

	if ((code == NULL) == (recovery_code == NULL)) {
		db_rollback(c);
		errors = json_pack("{s:[s]}", code == NULL ? "code" :
		    "recovery_code", code == NULL ? "is required (or "
		    "recovery_code)" : "give code or recovery_code, not both");
		resp_problem(rs, r, 400, "VALIDATION_FAILED",
		    "The request has invalid fields.", errors);
		json_decref(errors);
		return 1;
	}
	if (code != NULL)
		rc = mfa_verify_totp(c, ws_app.datakeys, &users_mfa, a->id,
		    code, &ok, &retry);
	else
		rc = mfa_verify_recovery(c, &users_mfa, a->id,
		    recovery_code, &ok, &retry);
	if (rc == 0 && ok)
		return 0;
	if (rc == WS_ERR_CONFLICT) {
		db_rollback(c);
		snprintf(s, sizeof(s), "%ld", retry > 0 ? retry : 1);
		resp_header(rs, "Retry-After", s);
		resp_problem(rs, r, 429, "MFA_LOCKED", "Too many wrong codes; "
		    "try again later.", NULL);
		return 1;
	}
	if (rc == WS_ERR_INVALID) {
		db_rollback(c);
		resp_problem(rs, r, 409, "MFA_NOT_ENABLED",
		    "Two-step verification is not on.", NULL);
		return 1;
	}
	if (rc != 0) {
		db_rollback(c);
		users_fail(r, rs, rc);
		return 1;
	}
	/* A wrong code: the failure is committed with its event. */
	users_event(&ev, r, retry > 0 ? "mfa_locked" : "mfa_failed", a->id);
	details = json_pack("{s:s,s:s}", "method", code != NULL ? "totp" :
	    "recovery_code", "route", r->route != NULL ? r->route : "");
	ev.details = details;
	if ((rc = audit_record(c, &ev)) != 0 || (rc = db_commit(c)) != 0) {
		db_rollback(c);
		users_fail(r, rs, rc);
	} else
		resp_problem(rs, r, 403, "INVALID_CODE",
		    "The code is wrong or was already used.", NULL);
	json_decref(details);
	return 1;
}

/* Decrypts users.<column> of id (base64 ciphertext) into *out. */
static int
users_name(const char *b64, const char *column, const char *id,
    json_t **out)
{
	char	 aad[MFA_AAD_MAX];
	char	*plain = NULL;
	int	 rc;

	*out = NULL;
	if (b64 == NULL) {
		*out = json_null();
		return 0;
	}
	snprintf(aad, sizeof(aad), "users.%s:%s", column, id);
	if ((rc = datakey_decrypt_text(ws_app.datakeys, b64, aad,
	    &plain)) != 0) {
		log_event(LOG_ERROR, "name_unreadable", "user", id, "column",
		    column, "error", ws_err_name(rc), NULL);
		return WS_ERR_INTERNAL;
	}
	*out = json_string(plain);
	datakey_plain_free(plain, strlen(plain));
	return *out != NULL ? 0 : WS_ERR_NOMEM;
}

int
users_profile_json(struct db_conn *c, const char *user_id, json_t **out)
{
	struct db_res	*res = NULL;
	json_t		*p = NULL, *first = NULL, *last = NULL;
	int		 rc;

	*out = NULL;
	if ((rc = db_query(c, "SELECT id, username, email,"
	    " email_verified_at IS NOT NULL, role,"
	    " translate(encode(first_name, 'base64'), E'\\n', ''),"
	    " translate(encode(last_name, 'base64'), E'\\n', ''),"
	    " to_char(created_at AT TIME ZONE 'UTC',"
	    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
	    " to_char(last_login_at AT TIME ZONE 'UTC',"
	    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
	    " mfa_enabled, pending_email"
	    " FROM users WHERE id = $1::uuid", 1, &user_id, &res)) != 0)
		goto out;
	if (db_res_nrows(res) != 1) {
		rc = WS_ERR_NOTFOUND;
		goto out;
	}
	if ((rc = users_name(db_res_isnull(res, 0, 5) ? NULL :
	    db_res_value(res, 0, 5), "first_name", user_id, &first)) != 0 ||
	    (rc = users_name(db_res_isnull(res, 0, 6) ? NULL :
	    db_res_value(res, 0, 6), "last_name", user_id, &last)) != 0)
		goto out;
	p = json_pack("{s:s,s:s,s:s,s:b,s:s,s:O,s:O,s:s,s:s?,s:b,s:s?}",
	    "id", db_res_value(res, 0, 0),
	    "username", db_res_value(res, 0, 1),
	    "email", db_res_value(res, 0, 2),
	    "email_verified", strcmp(db_res_value(res, 0, 3), "t") == 0,
	    "role", db_res_value(res, 0, 4),
	    "first_name", first, "last_name", last,
	    "created_at", db_res_value(res, 0, 7),
	    "last_login_at", db_res_isnull(res, 0, 8) ? NULL :
	    db_res_value(res, 0, 8),
	    "mfa_enabled", strcmp(db_res_value(res, 0, 9), "t") == 0,
	    "pending_email", db_res_isnull(res, 0, 10) ? NULL :
	    db_res_value(res, 0, 10));
	if (p == NULL) {
		rc = WS_ERR_NOMEM;
		goto out;
	}
	*out = p;
out:
	json_decref(first);
	json_decref(last);
	db_res_free(res);
	return rc;
}

void
users_forget(const char *user_id)
{
	account_forget(ws_app.cache, user_id);
}
