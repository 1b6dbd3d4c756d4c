/*
 * POST /api/v1/auth/login, with the lockout of design.md 7.
 *
 * The failure count is the shared lockout of lockout.h, kept in
 * PostgreSQL so it holds while memcached is down and reserved before
 * the password is checked, so thirty parallel wrong passwords never
 * get more than LOCKOUT_THRESHOLD checks.  memcached carries the
 * per-address block and the rate limits, which may fail open.
 *
 * An unknown user costs a hash of the same kind and gets the same 401
 * as a wrong password, so neither the answer nor its time says
 * whether an account exists.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "account.h"
#include "app.h"
#include "audit.h"
#include "auth.h"
#include "error.h"
#include "lockout.h"
#include "log.h"
#include "outbox.h"
#include "password.h"
#include "session.h"
#include "authn.h"
#include "validate.h"

static const struct field_rule	login_rules[] = {
	{ .name = "username_or_email", .type = FIELD_STRING,
	    .required = 1, .min_len = 1, .max_len = 254 },
	{ .name = "password", .type = FIELD_STRING, .required = 1,
	    .min_len = 1, .max_len = 1024 },
};

/* The account row a login attempt works on. */
struct login_user {
	char	 id[37];
	char	 username[64];
	char	 email[256];
	char	 hash[PASSWORD_HASH_MAX];
	char	 role[16];
	int	 active;
	int	 verified;
	int	 mfa;
	long	 locked_s;	/* seconds of lock left; 0: not locked */
};

static void
login_event(struct req *r, struct db_conn *c, const char *type,
    const char *user_id, const char *reason)
{
	struct audit_event	 ev = { .type = type, .user_id = user_id,
				    .actor_id = user_id };
	json_t			*details = NULL;

	if (reason != NULL)
		details = json_pack("{s:s}", "reason", reason);
	ev.details = details;
	audit_from_request(&ev, r);
	if (c != NULL && audit_record_now(c, &ev) != 0)
		log_event(LOG_ERROR, "audit_failed", "type", type, NULL);
	json_decref(details);
}

static void
login_invalid(struct req *r, struct resp *rs)
{
	resp_problem(rs, r, 401, "INVALID_CREDENTIALS",
	    "The username or password is wrong.", NULL);
}

static void
login_locked(struct req *r, struct resp *rs, long seconds)
{
	char	 s[32];

	snprintf(s, sizeof(s), "%ld", seconds > 0 ? seconds : 1);
	resp_header(rs, "Retry-After", s);
	resp_problem(rs, r, 403, "ACCOUNT_LOCKED",
	    "The account is locked after too many failed sign-ins; try "
	    "again later or reset the password.", NULL);
}

/* The per-address failure counter's key. */
static void
login_ip_key(const struct req *r, char *key, size_t len)
{
	cache_key(key, len, "ipfail", r->remote_addr != NULL ?
	    r->remote_addr : "-");
}

/* Non-zero (after replying 429) when the address is blocked. */
static int
login_ip_blocked_or_reply(struct req *r, struct resp *rs)
{
	struct buf	 val;
	char		 key[128], s[32];
	long		 n = 0;

	if (auth_cfg.ip_block_threshold <= 0)
		return 0;
	buf_init(&val, 32);
	login_ip_key(r, key, sizeof(key));
	if (cache_get(ws_app.cache, key, &val) == 0)
		n = strtol(buf_str(&val), NULL, 10);
	buf_cleanup(&val);
	if (n < auth_cfg.ip_block_threshold)
		return 0;
	snprintf(s, sizeof(s), "%ld", auth_cfg.ip_block_window_s);
	resp_header(rs, "Retry-After", s);
	resp_problem(rs, r, 429, "IP_BLOCKED", "Too many failed sign-ins "
	    "from this address; try again later.", NULL);
	log_event(LOG_WARN, "ip_blocked", "client", r->remote_addr, NULL);
	return 1;
}

static void
login_ip_failure(const struct req *r)
{
	char		 key[128];
	uint64_t	 n;

	if (auth_cfg.ip_block_threshold <= 0)
		return;
	login_ip_key(r, key, sizeof(key));
	cache_incr(ws_app.cache, key, 1,
	    (time_t)auth_cfg.ip_block_window_s, &n);
}

/* Loads the account named by who; WS_ERR_NOTFOUND when none. */
static int
login_find(struct db_conn *c, const char *who, struct login_user *u)
{
	struct db_res	*res = NULL;
	int		 rc;

	memset(u, 0, sizeof(*u));
	if ((rc = db_query(c, "SELECT id, username, email, password_hash,"
	    " role, status = 'active', email_verified_at IS NOT NULL,"
	    " CASE WHEN locked_until > now() THEN ceil(extract(epoch FROM"
	    " locked_until - now()))::bigint ELSE 0 END, mfa_enabled"
	    " FROM users WHERE lower(username) = lower($1)"
	    " OR lower(email) = lower($1)", 1, &who, &res)) != 0)
		goto out;
	if (db_res_nrows(res) != 1) {
		rc = WS_ERR_NOTFOUND;
		goto out;
	}
	snprintf(u->id, sizeof(u->id), "%s", db_res_value(res, 0, 0));
	snprintf(u->username, sizeof(u->username), "%s",
	    db_res_value(res, 0, 1));
	snprintf(u->email, sizeof(u->email), "%s", db_res_value(res, 0, 2));
	snprintf(u->hash, sizeof(u->hash), "%s", db_res_value(res, 0, 3));
	snprintf(u->role, sizeof(u->role), "%s", db_res_value(res, 0, 4));
	u->active = strcmp(db_res_value(res, 0, 5), "t") == 0;
	u->verified = strcmp(db_res_value(res, 0, 6), "t") == 0;
	u->locked_s = strtol(db_res_value(res, 0, 7), NULL, 10);
	u->mfa = strcmp(db_res_value(res, 0, 8), "t") == 0;
out:
	db_res_free(res);
	return rc;
}

/* Locks u, records it and mails the owner, in one transaction. */
static void
login_lock(struct req *r, struct db_conn *c, const struct login_user *u)
{
	struct audit_event	 ev = { .type = "account_locked",
				    .user_id = u->id };
	struct lockout_opts	 lo;
	json_t			*vars = NULL;
	int			 rc;

	password_settings_lockout(&ws_app.passwords, &lo);
	audit_from_request(&ev, r);
	vars = auth_mail_vars(u->username, "/password/forgot", NULL);
	if ((rc = db_begin(c)) != 0)
		goto out;
	if ((rc = lockout_lock(c, &lo, u->id)) != 0 ||
	    (vars != NULL && (rc = outbox_queue(c, u->id, u->email,
	    "account_locked", NULL, vars)) != 0) ||
	    (rc = audit_record(c, &ev)) != 0 || (rc = db_commit(c)) != 0)
		db_rollback(c);
out:
	if (rc != 0)
		log_event(LOG_ERROR, "lock_failed", "user", u->id, NULL);
	json_decref(vars);
}

/*
 * The password was right: clear the counter, record the sign-in,
 * open a session, and mail the owner when wrong passwords came before.
 */
static int
login_succeed(struct req *r, struct db_conn *c,
    const struct login_user *u, const char *rehash,
    struct session_grant *g)
{
	struct audit_event	 ev = { .type = "login_succeeded",
				    .user_id = u->id, .actor_id = u->id };
	struct session_opts	 so;
	const char		*params[2] = { u->id, rehash };
	struct db_res		*res = NULL;
	json_t			*vars = NULL;
	char			 window[32];
	const char		*n;
	int			 rc;

	authn_session_opts(&so);
	snprintf(window, sizeof(window), "%ld",
	    ws_app.passwords.lockout_window_s);
	audit_from_request(&ev, r);
	if ((rc = db_begin(c)) != 0)
		return rc;
	/*
	 * The wrong passwords since the last sign-in, counted from the
	 * audit log: the reserved attempt number also counts correct
	 * logins still in flight, which are no reason to alarm anyone.
	 */
	params[1] = window;
	if ((rc = db_query(c, "SELECT count(*) FROM auth_events"
	    " WHERE user_id = $1::uuid AND event_type = 'login_failed'"
	    " AND occurred_at > greatest(now() - make_interval(secs =>"
	    " $2::int), (SELECT coalesce(last_login_at, '-infinity')"
	    " FROM users WHERE id = $1::uuid))", 2, params, &res)) != 0)
		goto out;
	params[1] = rehash;
	if ((rc = db_query(c, "UPDATE users SET failed_login_count = 0,"
	    " failed_login_first_at = NULL, locked_until = NULL,"
	    " last_login_at = now(),"
	    " password_hash = coalesce($2, password_hash)"
	    " WHERE id = $1::uuid", 2, params, NULL)) != 0 ||
	    (rc = session_create(c, &so, u->id, r->remote_addr,
	    req_header(r, "User-Agent"), g)) != 0)
		goto out;
	n = db_res_value(res, 0, 0);
	if (strcmp(n, "0") != 0) {
		vars = json_pack("{s:s,s:s,s:s,s:s}", "username",
		    u->username, "ip", r->remote_addr != NULL ?
		    r->remote_addr : "", "failed_attempts", n,
		    "link_path", "/password/forgot");
		if (vars == NULL || (rc = outbox_queue(c, u->id, u->email,
		    "new_signin_after_failures", NULL, vars)) != 0)
			goto out;
	}
	if ((rc = audit_record(c, &ev)) == 0 && (rc = db_commit(c)) == 0)
		/* last_login_at is part of the cached profile. */
		account_forget(ws_app.cache, u->id);
out:
	if (rc != 0)
		db_rollback(c);
	db_res_free(res);
	json_decref(vars);
	return rc;
}

/* The hash a successful login should leave, when the stored is weak. */
static void
login_rehash(const char *password, const struct login_user *u,
    char *out)
{
	out[0] = '\0';
	if (password_needs_rehash(u->hash) && password_hash(password,
	    out) != 0)
		out[0] = '\0';
}

void
auth_login(struct req *r, struct resp *rs)
{
	struct db_conn		*c = NULL;
	struct login_user	 u;
	struct lockout_opts	 lo;
	struct session_grant	 g;
	json_t			*body = NULL;
	const char		*who, *password;
	char			 rehash[PASSWORD_HASH_MAX];
	long			 attempt = 0;
	int			 rc, ok = 0;

	memset(&u, 0, sizeof(u));
	memset(&g, 0, sizeof(g));
	rehash[0] = '\0';
	if (auth_limit_or_reply(r, rs, "login", auth_cfg.rl_login) ||
	    login_ip_blocked_or_reply(r, rs) ||
	    req_json_or_reply(r, rs, &body) ||
	    validate_or_reply(r, rs, body, login_rules, 2) ||
	    (c = app_db_or_reply(r, rs)) == NULL)
		goto out;
	who = json_string_value(json_object_get(body, "username_or_email"));
	password = json_string_value(json_object_get(body, "password"));

	if ((rc = login_find(c, who, &u)) == WS_ERR_NOTFOUND) {
		if ((rc = password_dummy_verify(password)) != 0)
			goto fail;
		login_ip_failure(r);
		login_event(r, c, "login_failed", NULL, "unknown_user");
		login_invalid(r, rs);
		goto out;
	}
	if (rc != 0)
		goto fail;
	password_settings_lockout(&ws_app.passwords, &lo);
	if (u.locked_s > 0 || (rc = lockout_reserve(c, &lo, u.id, &attempt,
	    &u.locked_s)) == WS_ERR_CONFLICT) {
		login_event(r, c, "login_refused_locked", u.id, NULL);
		login_locked(r, rs, u.locked_s);
		goto out;
	}
	if (rc != 0)
		goto fail;
	if ((rc = password_verify(password, u.hash, &ok)) != 0) {
		lockout_release(c, u.id);
		goto fail;
	}
	if (!ok) {
		login_ip_failure(r);
		login_event(r, c, "login_failed", u.id, "wrong_password");
		if (attempt >= ws_app.passwords.lockout_threshold)
			login_lock(r, c, &u);
		login_invalid(r, rs);
		goto out;
	}
	/* Only a caller who knows the password learns the state. */
	if (!u.active || !u.verified) {
		lockout_release(c, u.id);
		login_event(r, c, "login_refused", u.id, !u.active ?
		    "suspended" : "email_not_verified");
		resp_problem(rs, r, 403, !u.active ? "ACCOUNT_SUSPENDED" :
		    "EMAIL_NOT_VERIFIED", !u.active ?
		    "The account is suspended." :
		    "The email address has not been verified yet.", NULL);
		goto out;
	}
	login_rehash(password, &u, rehash);
	if (u.mfa) {
		/* The password step is done; the session waits for a code. */
		if ((rc = auth_mfa_challenge(r, rs, c, u.id,
		    rehash[0] != '\0' ? rehash : NULL)) != 0)
			goto fail;
		goto out;
	}
	if ((rc = login_succeed(r, c, &u, rehash[0] != '\0' ? rehash : NULL,
	    &g)) != 0)
		goto fail;
	auth_reply_tokens(r, rs, 200, u.id, g.session_id, g.role,
	    u.username, g.refresh_token);
	goto out;
fail:
	app_fail_reply(r, rs, rc);
out:
	db_pool_release(c);
	sodium_memzero(&u, sizeof(u));
	sodium_memzero(&g, sizeof(g));
	sodium_memzero(rehash, sizeof(rehash));
	json_decref(body);
}
