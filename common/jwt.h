/*
 * Signed JSON Web Tokens (JWS compact serialization) with the keys of
 * keyring.h.  WebSands issues and accepts only its own tokens, so
 * verification is deliberately narrower than RFC 7519 allows:
 *   - at most JWT_MAX_LEN characters, exactly three parts, each strict
 *     unpadded base64url;
 *   - a header that is a JSON object without duplicate members and
 *     with exactly alg, typ and kid: any other member (jwk, jku, x5c,
 *     x5u, crit, b64...) is refused, so no key or rule ever comes from
 *     the token itself;
 *   - kid must be exactly one of the loaded kids of a key that still
 *     verifies, and alg must be exactly that key's algorithm ("none",
 *     HS256 and every other value are refused);
 *   - typ must equal the expected value exactly (no case folding, no
 *     "application/" prefix);
 *   - the signature is checked before any claim is read;
 *   - the claims are a JSON object without duplicate members; iss,
 *     aud, sub, sid, jti, iat, nbf and exp must all be present; aud
 *     must be a single string equal to ours (an array is refused even
 *     when it holds ours, since WebSands never issues one); iat, nbf
 *     and exp must be JSON integers within JWT_TIME_MAX.
 */
#ifndef WEBSANDS_JWT_H
#define WEBSANDS_JWT_H

#include <jansson.h>

#include "keyring.h"

#define JWT_MAX_LEN		8192	/* longer tokens are refused unread */
#define JWT_CLAIMS_MAX		4096	/* bytes of compact claims signed */
#define JWT_LEEWAY_MAX		300	/* seconds */
#define JWT_TIME_MAX		253402300799LL	/* 9999-12-31T23:59:59Z */
#define JWT_TYP_ACCESS		"at+jwt"	/* RFC 9068 access tokens */
#define JWT_ACCESS_TTL_DEFAULT	900	/* seconds: design.md 6 */
#define JWT_LEEWAY_DEFAULT	60	/* seconds */

/* What jwt_verify requires of a token. */
struct jwt_expect {
	const char	*issuer;	/* iss, exactly */
	const char	*audience;	/* aud, exactly */
	const char	*typ;		/* the header's typ: JWT_TYP_ACCESS */
	long long	 leeway;	/* clock skew allowed, seconds */
	long long	 now;		/* the clock; 0: time(NULL) */
	long long	 max_lifetime;	/* exp - iat at most; 0: any */
};

/*
 * Signs claims (a JSON object, not stolen) with the key ring's signing
 * key under the header {"alg","typ","kid"} and sets *out to the
 * compact token, a string the caller frees with free().  The claims
 * are signed as given: the caller sets iss, aud, sub, sid, jti, iat,
 * nbf and exp.  Returns 0, WS_ERR_INVALID (claims not an object, bad
 * typ), WS_ERR_TOOBIG (claims past JWT_CLAIMS_MAX), WS_ERR_UNAVAILABLE
 * (no signing key), WS_ERR_NOMEM or WS_ERR_INTERNAL; *out is NULL on
 * failure.
 */
int	 jwt_sign(const struct keyring *kr, const json_t *claims,
	    const char *typ, char **out);

/*
 * Verifies token as described at the top of this file against the
 * keys in kr and the expectations in e.  On success returns 0 and, if
 * claims_out is not NULL, sets *claims_out to the claims (a new
 * reference the caller must json_decref).  Any failure, including a
 * failed allocation, returns WS_ERR_INVALID with *claims_out NULL, so
 * the caller answers 401 and fails closed; the reason is logged at
 * info level (event jwt_refused), never the token.
 */
int	 jwt_verify(const struct keyring *kr, const char *token,
	    const struct jwt_expect *e, json_t **claims_out);

#endif
