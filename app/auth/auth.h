/*
 * websands-auth: its settings and its handlers, one file per resource.
 */
#ifndef WEBSANDS_AUTH_H
#define WEBSANDS_AUTH_H

#include <jansson.h>

#include "db.h"
#include "http.h"
#include "lockout.h"
#include "password_policy.h"
#include "ratelimit.h"

struct auth_config {
	long	 ip_block_threshold;
	long	 ip_block_window_s;
	long	 rl_window_s;
	long	 rl_login;
	long	 rl_register;
	long	 rl_forgot;
	long	 rl_resend;
	long	 rl_refresh;
	long	 rl_verify;
	long	 verify_ttl_s;
	long	 reset_ttl_s;
	long	 rl_mfa;
	long	 mfa_token_ttl_s;
	int	 cookie_mode;
};

extern struct auth_config	auth_cfg;

/* POST /api/v1/auth/register */
void	 auth_register(struct req *r, struct resp *rs);
/* POST /api/v1/auth/verify-email */
void	 auth_verify_email(struct req *r, struct resp *rs);
/* POST /api/v1/auth/resend-verification */
void	 auth_resend_verification(struct req *r, struct resp *rs);
/* POST /api/v1/auth/login */
void	 auth_login(struct req *r, struct resp *rs);
/* POST /api/v1/auth/refresh */
void	 auth_refresh(struct req *r, struct resp *rs);
/* POST /api/v1/auth/logout */
void	 auth_logout(struct req *r, struct resp *rs);
/* POST /api/v1/auth/password/forgot */
void	 auth_password_forgot(struct req *r, struct resp *rs);
/* POST /api/v1/auth/password/reset */
void	 auth_password_reset(struct req *r, struct resp *rs);
/* POST /api/v1/auth/mfa/verify */
void	 auth_mfa_verify(struct req *r, struct resp *rs);
/*
 * The password of an MFA account was right: clears its failure count
 * (storing rehash when not NULL), opens a challenge and replies
 * {mfa_required, mfa_token}.  Returns 0 after replying, or an error
 * for the caller to answer.
 */
int	 auth_mfa_challenge(struct req *r, struct resp *rs,
	    struct db_conn *c, const char *user_id, const char *rehash);
/* GET /.well-known/jwks.json */
void	 auth_jwks(struct req *r, struct resp *rs);

/*
 * Helpers shared by the handlers (auth_common.c).  Each _or_reply
 * function has answered the request when it returns non-zero.
 */
int	 auth_limit_or_reply(struct req *r, struct resp *rs,
	    const char *cls, long limit);
/* Replies 503 with Retry-After for an unavailable dependency. */
void	 auth_unavailable(struct req *r, struct resp *rs);
/* Replies 500 for a server fault (already logged by its source). */
void	 auth_internal(struct req *r, struct resp *rs);
/* Replies the login body: tokens for a new session grant. */
int	 auth_reply_tokens(struct req *r, struct resp *rs, int status,
	    const char *user_id, const char *session_id, const char *role,
	    const char *username, const char *refresh_token);
/*
 * Cookie mode (cookie.c).  auth_csrf_token writes the CSRF token bound
 * to refresh_token; auth_cookie_set adds the refresh-token and CSRF
 * cookies to rs; auth_cookie_clear expires both.  Each returns 0 or an
 * error.  auth_cookie_refresh_or_reply copies the refresh token of the
 * request's cookie into rt after checking Origin and X-CSRF-Token, or
 * replies 401/403 and returns non-zero.
 */
int	 auth_csrf_token(const char *refresh_token, char *out,
	    size_t outlen);
int	 auth_cookie_set(struct resp *rs, const char *refresh_token);
int	 auth_cookie_clear(struct resp *rs);
int	 auth_cookie_refresh_or_reply(struct req *r, struct resp *rs,
	    char *rt, size_t rtlen);

/* What a mail-a-link endpoint sends (mail_link.c). */
struct auth_link {
	const char	*cls;		/* its rate-limit class */
	long		 limit;
	const char	*purpose;	/* EMAIL_TOKEN_VERIFY, ..._RESET */
	long		 ttl_s;
	const char	*path;		/* link_path before the token */
	const char	*tmpl;		/* the mail template */
	int		 unverified_only;
};
/*
 * Serves a mail-a-link endpoint: {email}, then 202 whether or not the
 * address has an account; the link goes out only when it has.
 */
void	 auth_mail_link(struct req *r, struct resp *rs,
	    const struct auth_link *l);

/*
 * Mail values {username, link_path}, link_path being path followed by
 * token (may be NULL); a new reference.
 */
json_t	*auth_mail_vars(const char *username, const char *path,
	    const char *token);

#endif
