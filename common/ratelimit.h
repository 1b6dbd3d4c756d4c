/*
 * Rate limits per client address and endpoint class (login, register,
 * forgot, resend, mfa, refresh), counted in memcached in fixed windows.
 * They fail open when memcached is down: a limit is an availability
 * guard, while the lockout that protects accounts is also kept in
 * PostgreSQL and never fails open.
 */
#ifndef WEBSANDS_RATELIMIT_H
#define WEBSANDS_RATELIMIT_H

#include <time.h>

#include "cache.h"
#include "http.h"

struct ratelimit {
	const char	*cls;		/* "login": part of the key */
	long		 limit;		/* requests per window; 0 = off */
	long		 window_s;
};

/*
 * Counts one request of r->remote_addr against rl and adds the
 * RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset headers.
 * Past the limit it replies 429 RATE_LIMITED with Retry-After and
 * returns non-zero.  now may be 0 for the current time.
 */
int	 ratelimit_or_reply(struct cache *c, const struct ratelimit *rl,
	    struct req *r, struct resp *rs, time_t now);

#endif
