/*
 * Cookie mode (AUTH_COOKIE_MODE=true), for browser clients: the
 * refresh token travels in an HttpOnly, Secure, SameSite=Strict cookie
 * that scripts cannot read, instead of in the JSON body.
 *
 * Since a browser sends that cookie by itself, a request that uses it
 * must prove it came from our own pages: it carries the CSRF token in
 * an X-CSRF-Token header and an Origin equal to PUBLIC_URL's origin.
 * The CSRF token is a signed double submit bound to the session: an
 * HMAC-SHA-256 of a fixed label keyed with the SHA-256 of the refresh
 * token, handed out in a readable cookie and in the login reply.  A
 * page of another site can neither read that cookie nor compute the
 * token, and a new refresh token makes a new CSRF token.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "app.h"
#include "auth.h"
#include "authn.h"
#include "b64url.h"
#include "error.h"
#include "log.h"
#include "token.h"

#define COOKIE_RT	"__Host-rt"
#define COOKIE_CSRF	"__Host-csrf"
#define CSRF_LABEL	"websands csrf v1"

int
auth_csrf_token(const char *refresh_token, char *out, size_t outlen)
{
	unsigned char	 key[TOKEN_HASH_BYTES];
	unsigned char	 mac[crypto_auth_hmacsha256_BYTES];
	int		 rc;

	token_hash(refresh_token, key);
	crypto_auth_hmacsha256((unsigned char *)mac,
	    (const unsigned char *)CSRF_LABEL, strlen(CSRF_LABEL), key);
	rc = b64url_encode(mac, sizeof(mac), out, outlen);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(mac, sizeof(mac));
	return rc;
}

int
auth_cookie_set(struct resp *rs, const char *refresh_token)
{
	char	 csrf[64], line[256];
	int	 rc;

	if ((rc = auth_csrf_token(refresh_token, csrf, sizeof(csrf))) != 0)
		return rc;
	snprintf(line, sizeof(line), COOKIE_RT "=%s; Max-Age=%ld; Path=/; "
	    "Secure; HttpOnly; SameSite=Strict", refresh_token,
	    authn_cfg.refresh_idle_s);
	rc = resp_header(rs, "Set-Cookie", line);
	sodium_memzero(line, sizeof(line));
	if (rc != 0)
		return rc;
	snprintf(line, sizeof(line), COOKIE_CSRF "=%s; Max-Age=%ld; Path=/; "
	    "Secure; SameSite=Strict", csrf, authn_cfg.refresh_idle_s);
	return resp_header(rs, "Set-Cookie", line);
}

int
auth_cookie_clear(struct resp *rs)
{
	int	 rc;

	if ((rc = resp_header(rs, "Set-Cookie", COOKIE_RT "=; Max-Age=0; "
	    "Path=/; Secure; HttpOnly; SameSite=Strict")) != 0)
		return rc;
	return resp_header(rs, "Set-Cookie", COOKIE_CSRF "=; Max-Age=0; "
	    "Path=/; Secure; SameSite=Strict");
}

/* PUBLIC_URL's origin: scheme://host[:port], without a path. */
static void
cookie_origin(char *out, size_t outlen)
{
	const char	*url = ws_app.cfg.public_url, *p;
	size_t		 n;

	p = strstr(url, "://");
	p = p != NULL ? strchr(p + 3, '/') : NULL;
	n = p != NULL ? (size_t)(p - url) : strlen(url);
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, url, n);
	out[n] = '\0';
}

int
auth_cookie_refresh_or_reply(struct req *r, struct resp *rs, char *rt,
    size_t rtlen)
{
	const char	*origin, *sent;
	char		 want_origin[256], csrf[64];
	int		 ok;

	if (req_cookie(r, COOKIE_RT, rt, rtlen) != 0) {
		resp_problem(rs, r, 401, "INVALID_REFRESH_TOKEN",
		    "The refresh token is invalid, expired or revoked.",
		    NULL);
		return WS_ERR_INVALID;
	}
	cookie_origin(want_origin, sizeof(want_origin));
	origin = req_header(r, "Origin");
	sent = req_header(r, "X-CSRF-Token");
	ok = origin != NULL && strcmp(origin, want_origin) == 0 &&
	    sent != NULL && auth_csrf_token(rt, csrf, sizeof(csrf)) == 0 &&
	    strlen(sent) == strlen(csrf) &&
	    sodium_memcmp(sent, csrf, strlen(csrf)) == 0;
	sodium_memzero(csrf, sizeof(csrf));
	if (!ok) {
		sodium_memzero(rt, rtlen);
		log_event(LOG_WARN, "csrf_refused", "client", r->remote_addr,
		    NULL);
		resp_problem(rs, r, 403, "CSRF_FAILED", "The request did not "
		    "come from an allowed page.", NULL);
		return WS_ERR_INVALID;
	}
	return 0;
}
