/*
 * websands-users: the signed-in user's own account.  Its settings, its
 * handlers (one file per resource) and the helpers they share
 * (users_common.c).
 */
#ifndef WEBSANDS_USERS_H
#define WEBSANDS_USERS_H

#include <jansson.h>

#include "audit.h"
#include "authn.h"
#include "db.h"
#include "http.h"
#include "mfa.h"
#include "password_policy.h"
#include "validate.h"

struct users_config {
	char	*totp_issuer;
	long	 profile_cache_ttl_s;
	long	 email_change_ttl_s;
	long	 rl_window_s;
	long	 rl_verify;
};

extern struct users_config	users_cfg;
extern struct mfa_opts		users_mfa;

/* GET and PATCH /api/v1/users/me (profile.c) */
void	 users_me_get(struct req *r, struct resp *rs);
void	 users_me_patch(struct req *r, struct resp *rs);
/* GET and PATCH /api/v1/users/me/settings (settings.c) */
void	 users_settings_get(struct req *r, struct resp *rs);
void	 users_settings_patch(struct req *r, struct resp *rs);
/* PUT /api/v1/users/me/password (password.c) */
void	 users_password_put(struct req *r, struct resp *rs);
/* PUT /me/email and the public POST /email/confirm (email.c) */
void	 users_email_put(struct req *r, struct resp *rs);
void	 users_email_confirm(struct req *r, struct resp *rs);
/* GET /me/sessions, DELETE /me/sessions/{id}, revoke-all (sessions.c) */
void	 users_sessions_get(struct req *r, struct resp *rs);
void	 users_session_delete(struct req *r, struct resp *rs);
void	 users_sessions_revoke_all(struct req *r, struct resp *rs);
/* TOTP enrolment, confirmation, removal, new recovery codes (mfa.c) */
void	 users_totp_begin(struct req *r, struct resp *rs);
void	 users_totp_confirm(struct req *r, struct resp *rs);
void	 users_totp_delete(struct req *r, struct resp *rs);
void	 users_recovery_codes(struct req *r, struct resp *rs);
/* GET /api/v1/users/me/events (events.c) */
void	 users_events_get(struct req *r, struct resp *rs);
/* GET /api/v1/users/me/export (export.c) */
void	 users_export_get(struct req *r, struct resp *rs);
/* DELETE /api/v1/users/me (deletion.c) */
void	 users_me_delete(struct req *r, struct resp *rs);

/*
 * The account fields handlers need to confirm a password and to mail
 * the owner.
 */
struct users_account {
	char	 id[37];
	char	 username[64];
	char	 email[256];
	int	 mfa_enabled;
};

/*
 * Helpers shared by the handlers (users_common.c).  Each _or_reply
 * function has answered the request when it returns non-zero.
 */
/* Replies 503 with Retry-After for an unavailable dependency. */
void	 users_unavailable(struct req *r, struct resp *rs);
/* Replies 500 for a server fault (already logged by its source). */
void	 users_internal(struct req *r, struct resp *rs);
/* Replies 503 for rc WS_ERR_UNAVAILABLE or WS_ERR_TIMEOUT, else 500. */
void	 users_fail(struct req *r, struct resp *rs, int rc);
/* Replies status with body (not stolen), or 500 when that fails. */
void	 users_reply(struct req *r, struct resp *rs, int status,
	    const json_t *body);
/*
 * The opening of every handler with a body: verifies the bearer token
 * into p, parses and validates the body into *body (a new reference)
 * and acquires a connection into *c.
 */
int	 users_begin_or_reply(struct req *r, struct resp *rs,
	    struct principal *p, const struct field_rule *rules, size_t n,
	    json_t **body, struct db_conn **c);
/* Loads the account id; WS_ERR_NOTFOUND when it is gone. */
int	 users_account_load(struct db_conn *c, const char *id,
	    struct users_account *a);
/*
 * Confirms the account's password before a sensitive change, with the
 * lockout of the sign-in (design.md 7, the rule of app/auth/login.c):
 * the attempt is numbered under the row lock before the hash is
 * checked, a wrong password counts, the LOCKOUT_THRESHOLD-th locks the
 * account and mails the owner, and a locked account is refused even
 * with the right password.  Runs outside any transaction.  Returns 0
 * when the password is right, else has replied 403 INVALID_CREDENTIALS
 * or ACCOUNT_LOCKED (or 503, 500) and returns non-zero.
 */
int	 users_password_or_reply(struct req *r, struct resp *rs,
	    struct db_conn *c, const struct users_account *a,
	    const char *password);
/*
 * Inside the transaction the caller began: checks the TOTP code (or,
 * when code is NULL, the recovery code) of the account.  Returns 0
 * when it is right, the transaction still open.  Otherwise it has
 * ended the transaction (committing a counted failure, so it holds),
 * replied 400 (neither or both given), 403 INVALID_CODE, 429
 * MFA_LOCKED with Retry-After (as the sign-in's second step does), 409
 * MFA_NOT_ENABLED, 503 or 500, and returns non-zero.
 */
int	 users_code_or_reply(struct req *r, struct resp *rs,
	    struct db_conn *c, const struct users_account *a,
	    const char *code, const char *recovery_code);
/* Fills ev for an event of the caller about their own account. */
void	 users_event(struct audit_event *ev, const struct req *r,
	    const char *type, const char *user_id);
/*
 * Queues the notice tmpl to the account's address (or to, when not
 * NULL), with its username and a link to the reset page, inside the
 * caller's transaction.  extra (may be NULL) adds or replaces values.
 * Returns as outbox_queue.
 */
int	 users_notify(struct db_conn *c, const struct users_account *a,
	    const char *tmpl, const char *to, json_t *extra);
/*
 * The profile of user_id as GET /me shows it, a new reference in *out.
 * Returns 0, WS_ERR_NOTFOUND or an error.
 */
int	 users_profile_json(struct db_conn *c, const char *user_id,
	    json_t **out);
/* Drops the cached profile; call after every committed change. */
void	 users_forget(const char *user_id);

#endif
