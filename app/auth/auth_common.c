/*
 * Pieces every auth handler uses: rate limits, the standard failure
 * replies, the token reply and mail values.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "app.h"
#include "auth.h"
#include "authn.h"
#include "error.h"

int
auth_limit_or_reply(struct req *r, struct resp *rs, const char *cls,
    long limit)
{
	struct ratelimit	 rl = { cls, limit, auth_cfg.rl_window_s };

	return ratelimit_or_reply(ws_app.cache, &rl, r, rs, 0);
}

void
auth_unavailable(struct req *r, struct resp *rs)
{
	app_fail_reply(r, rs, WS_ERR_UNAVAILABLE);
}

void
auth_internal(struct req *r, struct resp *rs)
{
	app_fail_reply(r, rs, WS_ERR_INTERNAL);
}

int
auth_reply_tokens(struct req *r, struct resp *rs, int status,
    const char *user_id, const char *session_id, const char *role,
    const char *username, const char *refresh_token)
{
	json_t	*body = NULL;
	char	*access = NULL;
	int	 rc;

	if ((rc = authn_issue_access(user_id, session_id, role,
	    &access)) != 0) {
		auth_internal(r, rs);
		goto out;
	}
	body = json_pack("{s:s,s:s,s:I,s:s,s:s}",
	    "access_token", access, "token_type", "Bearer", "expires_in",
	    (json_int_t)authn_cfg.access_ttl_s, "user_id", user_id,
	    "username", username);
	if (body == NULL) {
		rc = WS_ERR_NOMEM;
		auth_internal(r, rs);
		goto out;
	}
	/* In cookie mode the refresh token never appears in the body. */
	if (auth_cfg.cookie_mode) {
		char	 csrf[64];

		if ((rc = auth_cookie_set(rs, refresh_token)) != 0 ||
		    (rc = auth_csrf_token(refresh_token, csrf,
		    sizeof(csrf))) != 0 ||
		    (rc = json_object_set_new(body, "csrf_token",
		    json_string(csrf))) != 0) {
			auth_internal(r, rs);
			goto out;
		}
	} else if ((rc = json_object_set_new(body, "refresh_token",
	    json_string(refresh_token))) != 0) {
		auth_internal(r, rs);
		goto out;
	}
	if ((rc = resp_json(rs, status, body)) != 0) {
		rc = WS_ERR_NOMEM;
		auth_internal(r, rs);
	}
out:
	json_decref(body);
	if (access != NULL) {
		sodium_memzero(access, strlen(access));
		free(access);
	}
	return rc;
}

json_t *
auth_mail_vars(const char *username, const char *path,
    const char *token)
{
	char	 link[256];
	json_t	*vars;

	snprintf(link, sizeof(link), "%s%s", path,
	    token != NULL ? token : "");
	vars = json_pack("{s:s,s:s}", "username", username,
	    "link_path", link);
	sodium_memzero(link, sizeof(link));
	return vars;
}
