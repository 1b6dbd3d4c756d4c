/*
 * Who is calling: the bearer access token of a request, verified the
 * same way by every responder (design.md 6).  The JWT proves who
 * signed in and when; the session check (session.h) proves the
 * session has not been ended since.
 */
#ifndef WEBSANDS_AUTHN_H
#define WEBSANDS_AUTHN_H

#include <stddef.h>

#include "config.h"
#include "http.h"
#include "keyring.h"
#include "session.h"

struct authn_config {
	char	*keys_dir;
	char	*issuer;
	char	*audience;
	long	 access_ttl_s;
	long	 leeway_s;
	long	 refresh_idle_s;
	long	 absolute_s;
	long	 reuse_grace_s;
	long	 session_cache_ttl_s;
};

extern struct authn_config		authn_cfg;
extern const struct config_spec		authn_config_specs[];
extern const size_t			authn_config_nspecs;

/* The verified caller of a request. */
struct principal {
	char	 user_id[SESSION_ID_LEN + 1];
	char	 session_id[SESSION_ID_LEN + 1];
	char	 role[16];
};

/* Loads the key ring from KEYS_DIR.  0, or an error (logged). */
int	 authn_init(void);
void	 authn_cleanup(void);
/* The loaded key ring (for signing and the JWKS). */
const struct keyring *authn_keyring(void);
/* The session settings from the configuration. */
void	 authn_session_opts(struct session_opts *o);
/*
 * Verifies the request's bearer access token and its session.  On
 * success fills p and returns 0; otherwise it has replied 401
 * UNAUTHORIZED (or 503 when neither memcached nor PostgreSQL could
 * say whether the session lives) and returns non-zero.
 */
int	 authn_or_reply(struct req *r, struct resp *rs, struct principal *p);
/*
 * Signs an access token for a session; *token is the caller's to
 * free.  Returns 0 or an error of jwt_sign.
 */
int	 authn_issue_access(const char *user_id, const char *session_id,
	    const char *role, char **token);

#endif
