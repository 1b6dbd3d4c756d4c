/*
 * GET /.well-known/jwks.json: the public keys that may still verify
 * an access token, for services that check tokens themselves.
 */
#include "auth.h"
#include "authn.h"

void
auth_jwks(struct req *r, struct resp *rs)
{
	json_t	*jwks;

	jwks = keyring_jwks(authn_keyring());
	if (jwks == NULL || resp_json(rs, 200, jwks) != 0)
		auth_internal(r, rs);
	json_decref(jwks);
}
