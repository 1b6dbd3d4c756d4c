/*
 * POST /api/v1/auth/refresh rotates a refresh token; POST
 * /api/v1/auth/logout ends the caller's session at once.
 */
#include <string.h>

#include <sodium.h>

#include "app.h"
#include "audit.h"
#include "auth.h"
#include "authn.h"
#include "error.h"
#include "log.h"
#include "session.h"
#include "validate.h"

static const struct field_rule	refresh_rules[] = {
	{ .name = "refresh_token", .type = FIELD_STRING, .min_len = 1,
	    .max_len = 128 },
};

static const struct field_rule	logout_rules[] = {
	{ .name = "refresh_token", .type = FIELD_STRING, .max_len = 128 },
};

static void
tokens_refused(struct req *r, struct resp *rs)
{
	resp_problem(rs, r, 401, "INVALID_REFRESH_TOKEN",
	    "The refresh token is invalid, expired or revoked.", NULL);
}

void
auth_refresh(struct req *r, struct resp *rs)
{
	struct session_opts	 so;
	struct session_grant	 g;
	struct db_conn		*c = NULL;
	json_t			*body = NULL;
	const char		*rt;
	char			 cookie[128];
	int			 rc;

	memset(&g, 0, sizeof(g));
	cookie[0] = '\0';
	if (auth_limit_or_reply(r, rs, "refresh", auth_cfg.rl_refresh) ||
	    req_json_or_reply(r, rs, &body) ||
	    validate_or_reply(r, rs, body, refresh_rules, 1))
		goto out;
	/*
	 * A token in the body is the bearer client's; without one, cookie
	 * mode takes it from the cookie, after the CSRF checks.
	 */
	if ((rt = json_string_value(json_object_get(body,
	    "refresh_token"))) == NULL) {
		if (!auth_cfg.cookie_mode) {
			resp_problem(rs, r, 400, "VALIDATION_FAILED",
			    "refresh_token is required.", NULL);
			goto out;
		}
		if (auth_cookie_refresh_or_reply(r, rs, cookie,
		    sizeof(cookie)) != 0)
			goto out;
		rt = cookie;
	}
	if ((c = app_db_or_reply(r, rs)) == NULL)
		goto out;
	authn_session_opts(&so);
	rc = session_refresh(c, ws_app.cache, &so, rt, &g);
	switch (rc) {
	case 0:
		auth_reply_tokens(r, rs, 200, g.user_id, g.session_id,
		    g.role, g.username, g.refresh_token);
		break;
	case WS_ERR_CONFLICT: {
		struct audit_event ev = { .type = "refresh_token_reuse",
		    .user_id = g.user_id };

		audit_from_request(&ev, r);
		if (g.user_id[0] != '\0' && audit_record_now(c, &ev) != 0)
			log_event(LOG_ERROR, "audit_failed", NULL);
		tokens_refused(r, rs);
		break;
	}
	case WS_ERR_NOTFOUND:
	case WS_ERR_INVALID:
		tokens_refused(r, rs);
		break;
	case WS_ERR_UNAVAILABLE:
	case WS_ERR_TIMEOUT:
		auth_unavailable(r, rs);
		break;
	default:
		auth_internal(r, rs);
	}
out:
	db_pool_release(c);
	sodium_memzero(&g, sizeof(g));
	sodium_memzero(cookie, sizeof(cookie));
	json_decref(body);
}

void
auth_logout(struct req *r, struct resp *rs)
{
	struct principal	 p;
	struct audit_event	 ev = { .type = "logout" };
	struct db_conn		*c = NULL;
	json_t			*body = NULL;
	const char		*rt;
	char			 sid[SESSION_ID_LEN + 1];
	int			 rc;

	/* The body is optional: a bare POST with the bearer token will do. */
	if (authn_or_reply(r, rs, &p) || (r->body.len > 0 &&
	    (req_json_or_reply(r, rs, &body) ||
	    validate_or_reply(r, rs, body, logout_rules, 1))) ||
	    (c = app_db_or_reply(r, rs)) == NULL)
		goto out;
	/*
	 * A refresh token of another session may be given too (a client
	 * holding stale state); it is ended only if it is the caller's.
	 */
	rt = json_string_value(json_object_get(body, "refresh_token"));
	if ((rc = db_begin(c)) != 0)
		goto fail;
	rc = session_revoke(c, ws_app.cache, p.session_id, p.user_id,
	    "logout");
	if (rc == 0 && rt != NULL && session_of_refresh(c, rt, sid) == 0 &&
	    strcmp(sid, p.session_id) != 0)
		rc = session_revoke(c, ws_app.cache, sid, p.user_id,
		    "logout");
	if (rc == WS_ERR_NOTFOUND)
		rc = 0;
	ev.user_id = ev.actor_id = p.user_id;
	audit_from_request(&ev, r);
	if (rc != 0 || (rc = audit_record(c, &ev)) != 0 ||
	    (rc = db_commit(c)) != 0)
		goto fail;
	resp_header(rs, "Clear-Site-Data", "\"cache\", \"cookies\", "
	    "\"storage\"");
	if (auth_cfg.cookie_mode)
		auth_cookie_clear(rs);
	rs->status = 204;
	goto out;
fail:
	db_rollback(c);
	app_fail_reply(r, rs, rc);
out:
	db_pool_release(c);
	json_decref(body);
}
