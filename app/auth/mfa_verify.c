/*
 * The second step of a sign-in with MFA.  A right password opens a
 * challenge (mfa_challenges) and hands out an mfa_token: a JWT of its
 * own type ("mfa+jwt") naming that challenge, which no responder takes
 * as an access token.  POST /api/v1/auth/mfa/verify closes the
 * challenge with a TOTP or recovery code, once, and opens the session.
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
#include "authn.h"
#include "b64url.h"
#include "error.h"
#include "jwt.h"
#include "log.h"
#include "mfa.h"
#include "session.h"
#include "uuid.h"
#include "validate.h"

#define MFA_TOKEN_TYP	"mfa+jwt"

static const struct field_rule	mfa_rules[] = {
	{ .name = "mfa_token", .type = FIELD_STRING, .required = 1,
	    .min_len = 1, .max_len = JWT_MAX_LEN },
	{ .name = "code", .type = FIELD_STRING, .max_len = 16 },
	{ .name = "recovery_code", .type = FIELD_STRING, .max_len = 32 },
};

static int
mfa_sign(const char *user_id, const char *challenge, char **token)
{
	unsigned char	 raw[16];
	char		 jti[32];
	json_t		*claims;
	json_int_t	 now = (json_int_t)time(NULL);
	int		 rc;

	randombytes_buf(raw, sizeof(raw));
	if (b64url_encode(raw, sizeof(raw), jti, sizeof(jti)) != 0)
		return WS_ERR_INTERNAL;
	claims = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I}",
	    "iss", authn_cfg.issuer, "aud", authn_cfg.audience,
	    "sub", user_id, "sid", challenge, "jti", jti, "iat", now,
	    "nbf", now, "exp", now + auth_cfg.mfa_token_ttl_s);
	if (claims == NULL)
		return WS_ERR_NOMEM;
	rc = jwt_sign(authn_keyring(), claims, MFA_TOKEN_TYP, token);
	json_decref(claims);
	return rc;
}

int
auth_mfa_challenge(struct req *r, struct resp *rs, struct db_conn *c,
    const char *user_id, const char *rehash)
{
	struct db_res	*res = NULL;
	const char	*params[3];
	char		 ttl[32], *token = NULL;
	json_t		*body = NULL;
	int		 rc;

	snprintf(ttl, sizeof(ttl), "%ld", auth_cfg.mfa_token_ttl_s);
	params[0] = user_id;
	params[1] = rehash;
	params[2] = ttl;
	if ((rc = db_begin(c)) != 0)
		goto out;
	if ((rc = db_query(c, "UPDATE users SET failed_login_count = 0,"
	    " failed_login_first_at = NULL, locked_until = NULL,"
	    " password_hash = coalesce($2, password_hash)"
	    " WHERE id = $1::uuid", 2, params, NULL)) != 0 ||
	    (rc = db_query(c, "INSERT INTO mfa_challenges (user_id,"
	    " expires_at) VALUES ($1::uuid,"
	    " now() + make_interval(secs => $2::int)) RETURNING id",
	    2, (const char *[]){ user_id, ttl }, &res)) != 0 ||
	    (rc = db_commit(c)) != 0)
		goto out;
	if ((rc = mfa_sign(user_id, db_res_value(res, 0, 0), &token)) != 0)
		goto out;
	log_event(LOG_INFO, "mfa_challenge", "user", user_id, "client",
	    r->remote_addr, NULL);
	body = json_pack("{s:b,s:s,s:I}", "mfa_required", 1, "mfa_token",
	    token, "expires_in", (json_int_t)auth_cfg.mfa_token_ttl_s);
	if (body == NULL || resp_json(rs, 200, body) != 0)
		rc = WS_ERR_NOMEM;
out:
	if (rc != 0)
		db_rollback(c);
	if (token != NULL) {
		sodium_memzero(token, strlen(token));
		free(token);
	}
	json_decref(body);
	db_res_free(res);
	return rc;
}

static void
mfa_refused(struct req *r, struct resp *rs)
{
	resp_problem(rs, r, 401, "INVALID_MFA", "The code or the sign-in "
	    "attempt is invalid or has expired.", NULL);
}

/*
 * Checks the mfa_token; fills user_id and the challenge id.  Only the
 * signature, type, audience and time are checked here; the challenge
 * row decides whether it is still open.
 */
static int
mfa_token_check(const char *token, char user_id[37], char chal[37])
{
	struct jwt_expect	 e;
	json_t			*claims = NULL;
	const char		*sub, *sid;
	int			 rc = WS_ERR_INVALID;

	memset(&e, 0, sizeof(e));
	e.issuer = authn_cfg.issuer;
	e.audience = authn_cfg.audience;
	e.typ = MFA_TOKEN_TYP;
	e.leeway = authn_cfg.leeway_s;
	e.max_lifetime = auth_cfg.mfa_token_ttl_s;
	if (jwt_verify(authn_keyring(), token, &e, &claims) != 0)
		goto out;
	sub = json_string_value(json_object_get(claims, "sub"));
	sid = json_string_value(json_object_get(claims, "sid"));
	if (sub == NULL || sid == NULL || strlen(sub) > 36 ||
	    strlen(sid) > 36)
		goto out;
	snprintf(user_id, 37, "%s", sub);
	snprintf(chal, 37, "%s", sid);
	rc = 0;
out:
	json_decref(claims);
	return rc;
}

/* The user's name and role for the token reply. */
static int
mfa_user(struct db_conn *c, const char *user_id, char *username,
    size_t ulen, char *role, size_t rlen)
{
	struct db_res	*res = NULL;
	int		 rc;

	if ((rc = db_query(c, "SELECT username, role FROM users"
	    " WHERE id = $1::uuid AND status = 'active'", 1, &user_id,
	    &res)) != 0)
		goto out;
	if (db_res_nrows(res) != 1) {
		rc = WS_ERR_NOTFOUND;
		goto out;
	}
	snprintf(username, ulen, "%s", db_res_value(res, 0, 0));
	snprintf(role, rlen, "%s", db_res_value(res, 0, 1));
out:
	db_res_free(res);
	return rc;
}

/*
 * The transaction of a verification: the challenge is locked and must
 * be open; a wrong code is committed as a failure; a right one closes
 * the challenge and opens the session.  *status tells the caller what
 * to answer: 200, 401 or 429.
 */
static int
mfa_run(struct req *r, struct db_conn *c, const char *user_id,
    const char *chal, const char *code, const char *recovery,
    struct session_grant *g, int *status, long *retry_s)
{
	struct audit_event	 ev = { .user_id = user_id,
				    .actor_id = user_id };
	struct mfa_opts		 mo;
	struct session_opts	 so;
	struct db_res		*res = NULL;
	const char		*params[2] = { chal, user_id };
	int			 opened = 0;
	char			 username[64], role[16];
	int			 rc, ok = 0;

	*status = 401;
	password_settings_mfa(&ws_app.passwords, &mo);
	audit_from_request(&ev, r);
	if ((rc = db_begin(c)) != 0)
		return rc;
	if ((rc = db_query(c, "SELECT 1 FROM mfa_challenges WHERE"
	    " id = $1::uuid AND user_id = $2::uuid AND used_at IS NULL"
	    " AND expires_at > now() FOR UPDATE", 2, params, &res)) != 0)
		goto out;
	if (db_res_nrows(res) != 1)
		goto out;
	if (code != NULL)
		rc = mfa_verify_totp(c, ws_app.datakeys, &mo, user_id, code,
		    &ok, retry_s);
	else
		rc = mfa_verify_recovery(c, &mo, user_id, recovery, &ok,
		    retry_s);
	if (rc == WS_ERR_CONFLICT) {
		*status = 429;
		rc = 0;
		goto out;
	}
	if (rc != 0)
		goto out;
	if (!ok) {
		ev.type = "mfa_failed";
		if ((rc = audit_record(c, &ev)) == 0)
			rc = db_commit(c);
		goto out;
	}
	authn_session_opts(&so);
	ev.type = "login_succeeded";
	if ((rc = db_query(c, "UPDATE mfa_challenges SET used_at = now()"
	    " WHERE id = $1::uuid", 1, params, NULL)) != 0 ||
	    (rc = db_query(c, "UPDATE users SET last_login_at = now()"
	    " WHERE id = $1::uuid", 1, params + 1, NULL)) != 0 ||
	    (rc = mfa_user(c, user_id, username, sizeof(username), role,
	    sizeof(role))) != 0 ||
	    (rc = session_create(c, &so, user_id, r->remote_addr,
	    req_header(r, "User-Agent"), g)) != 0 ||
	    (rc = audit_record(c, &ev)) != 0 || (rc = db_commit(c)) != 0)
		goto out;
	opened = 1;
	*status = 200;
out:
	if (rc != 0 || *status == 401 || *status == 429)
		db_rollback(c);
	db_res_free(res);
	/* last_login_at is part of the cached profile. */
	if (opened)
		account_forget(ws_app.cache, user_id);
	return rc == WS_ERR_NOTFOUND || rc == WS_ERR_INVALID ? 0 : rc;
}

void
auth_mfa_verify(struct req *r, struct resp *rs)
{
	struct session_grant	 g;
	struct db_conn		*c = NULL;
	json_t			*body = NULL;
	const char		*code, *recovery;
	char			 user_id[37], chal[37], retry[32];
	long			 retry_s = 0;
	int			 rc, status;

	memset(&g, 0, sizeof(g));
	if (auth_limit_or_reply(r, rs, "mfa", auth_cfg.rl_mfa) ||
	    req_json_or_reply(r, rs, &body) ||
	    validate_or_reply(r, rs, body, mfa_rules,
	    sizeof(mfa_rules) / sizeof(mfa_rules[0])))
		goto out;
	code = json_string_value(json_object_get(body, "code"));
	recovery = json_string_value(json_object_get(body, "recovery_code"));
	if ((code == NULL) == (recovery == NULL)) {
		resp_problem(rs, r, 400, "VALIDATION_FAILED",
		    "Give either code or recovery_code.", NULL);
		goto out;
	}
	if (mfa_token_check(json_string_value(json_object_get(body,
	    "mfa_token")), user_id, chal) != 0 || !uuid_valid(user_id) ||
	    !uuid_valid(chal)) {
		mfa_refused(r, rs);
		goto out;
	}
	if ((c = app_db_or_reply(r, rs)) == NULL)
		goto out;
	rc = mfa_run(r, c, user_id, chal, code, recovery, &g, &status,
	    &retry_s);
	if (rc != 0)
		app_fail_reply(r, rs, rc);
	else if (status == 429) {
		snprintf(retry, sizeof(retry), "%ld", retry_s > 0 ? retry_s :
		    1);
		resp_header(rs, "Retry-After", retry);
		resp_problem(rs, r, 429, "MFA_LOCKED", "Too many wrong codes; "
		    "try again later.", NULL);
	} else if (status == 401)
		mfa_refused(r, rs);
	else
		auth_reply_tokens(r, rs, 200, user_id, g.session_id, g.role,
		    g.username, g.refresh_token);
out:
	db_pool_release(c);
	sodium_memzero(&g, sizeof(g));
	json_decref(body);
}
