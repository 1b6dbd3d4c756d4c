/*
 * Bearer-token authentication shared by every responder.  The reasons
 * a token is refused are logged but never told to the client: every
 * refusal is the same 401.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "app.h"
#include "authn.h"
#include "b64url.h"
#include "error.h"
#include "jwt.h"
#include "log.h"

struct authn_config	authn_cfg;
static struct keyring	*authn_kr;

#define F(x)	offsetof(struct authn_config, x)
const struct config_spec	authn_config_specs[] = {
	{ "KEYS_DIR", CONFIG_PATH, F(keys_dir), NULL, 0, 0, NULL,
	    CONFIG_REQUIRED, "directory of the token-signing keys" },
	{ "JWT_ISSUER", CONFIG_STRING, F(issuer), "websands", 0, 0, NULL,
	    0, "the iss claim of every access token" },
	{ "JWT_AUDIENCE", CONFIG_STRING, F(audience), "websands", 0, 0,
	    NULL, 0, "the aud claim of every access token" },
	{ "ACCESS_TOKEN_TTL_S", CONFIG_INT, F(access_ttl_s), "900", 5,
	    86400, NULL, 0, "access-token lifetime in seconds" },
	{ "JWT_LEEWAY_S", CONFIG_INT, F(leeway_s), "60", 0, JWT_LEEWAY_MAX,
	    NULL, 0, "clock skew allowed when checking exp and nbf" },
	{ "REFRESH_IDLE_TTL_S", CONFIG_INT, F(refresh_idle_s), "604800", 5,
	    31536000, NULL, 0, "a refresh token's life without use" },
	{ "SESSION_ABSOLUTE_TTL_S", CONFIG_INT, F(absolute_s), "2592000",
	    5, 31536000, NULL, 0, "a session's life however used" },
	{ "REFRESH_REUSE_GRACE_S", CONFIG_INT, F(reuse_grace_s), "5", 0,
	    60, NULL, 0, "grace for a rotated refresh token (tabs)" },
	{ "SESSION_CACHE_TTL_S", CONFIG_INT, F(session_cache_ttl_s), "60",
	    1, 3600, NULL, 0, "how long memcached vouches for a session" },
};
#undef F
const size_t	authn_config_nspecs =
    sizeof(authn_config_specs) / sizeof(authn_config_specs[0]);

int
authn_init(void)
{
	int	 rc;

	if ((rc = keyring_load(authn_cfg.keys_dir, &authn_kr)) != 0)
		return rc;
	if (keyring_signer(authn_kr) == NULL)
		log_event(LOG_WARN, "no_signing_key", "dir",
		    authn_cfg.keys_dir, NULL);
	return 0;
}

void
authn_cleanup(void)
{
	keyring_free(authn_kr);
	authn_kr = NULL;
}

const struct keyring *
authn_keyring(void)
{
	return authn_kr;
}

void
authn_session_opts(struct session_opts *o)
{
	o->refresh_idle_s = authn_cfg.refresh_idle_s;
	o->absolute_s = authn_cfg.absolute_s;
	o->reuse_grace_s = authn_cfg.reuse_grace_s;
	o->cache_ttl_s = authn_cfg.session_cache_ttl_s;
}

static int
authn_unauthorized(struct req *r, struct resp *rs)
{
	resp_header(rs, "WWW-Authenticate", "Bearer realm=\"websands\"");
	resp_problem(rs, r, 401, "UNAUTHORIZED",
	    "A valid access token is required.", NULL);
	return WS_ERR_INVALID;
}

/* Copies a string claim into out; 0 when present and it fits. */
static int
authn_claim(const json_t *claims, const char *name, char *out,
    size_t outlen)
{
	const char	*v = json_string_value(json_object_get(claims, name));

	if (v == NULL || strlen(v) >= outlen)
		return WS_ERR_INVALID;
	memcpy(out, v, strlen(v) + 1);
	return 0;
}

int
authn_or_reply(struct req *r, struct resp *rs, struct principal *p)
{
	struct jwt_expect	 e;
	struct session_opts	 so;
	const char		*h;
	json_t			*claims = NULL;
	int			 rc;

	memset(p, 0, sizeof(*p));
	h = req_header(r, "Authorization");
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 ||
	    strlen(h) > JWT_MAX_LEN + 7) {
		rc = authn_unauthorized(r, rs);
		goto out;
	}
	memset(&e, 0, sizeof(e));
	e.issuer = authn_cfg.issuer;
	e.audience = authn_cfg.audience;
	e.typ = JWT_TYP_ACCESS;
	e.leeway = authn_cfg.leeway_s;
	e.max_lifetime = authn_cfg.access_ttl_s;
	if (authn_kr == NULL || jwt_verify(authn_kr, h + 7, &e,
	    &claims) != 0 ||
	    authn_claim(claims, "sub", p->user_id, sizeof(p->user_id)) ||
	    authn_claim(claims, "sid", p->session_id,
	    sizeof(p->session_id)) ||
	    authn_claim(claims, "role", p->role, sizeof(p->role))) {
		rc = authn_unauthorized(r, rs);
		goto out;
	}
	authn_session_opts(&so);
	rc = session_check(ws_app.db, ws_app.cache, &so, p->session_id,
	    p->user_id);
	if (rc == WS_ERR_UNAVAILABLE)
		app_fail_reply(r, rs, rc);
	else if (rc != 0) {
		log_event(LOG_INFO, "session_refused", "session",
		    p->session_id, NULL);
		rc = authn_unauthorized(r, rs);
	}
out:
	json_decref(claims);
	if (rc != 0)
		memset(p, 0, sizeof(*p));
	return rc;
}

int
authn_issue_access(const char *user_id, const char *session_id,
    const char *role, char **token)
{
	unsigned char	 raw[16];
	char		 jti[32];
	json_t		*claims;
	json_int_t	 now = (json_int_t)time(NULL);
	int		 rc;

	*token = NULL;
	randombytes_buf(raw, sizeof(raw));
	if (b64url_encode(raw, sizeof(raw), jti, sizeof(jti)) != 0)
		return WS_ERR_INTERNAL;
	claims = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I}",
	    "iss", authn_cfg.issuer, "aud", authn_cfg.audience,
	    "sub", user_id, "sid", session_id, "role", role, "jti", jti,
	    "iat", now, "nbf", now, "exp", now + authn_cfg.access_ttl_s);
	if (claims == NULL)
		return WS_ERR_NOMEM;
	rc = jwt_sign(authn_kr, claims, JWT_TYP_ACCESS, token);
	json_decref(claims);
	return rc;
}
