/*
 * Fixed-window rate limiting.  A window's counter lives under a key
 * holding the class, the window's number and a hash of the client
 * address, and expires with the window, so memcached forgets it by
 * itself.  Fixed windows allow a burst of twice the limit across a
 * boundary; that is accepted for the simplicity of one increment per
 * request.
 */
#include <stdio.h>

#include "error.h"
#include "log.h"
#include "ratelimit.h"

int
ratelimit_or_reply(struct cache *c, const struct ratelimit *rl,
    struct req *r, struct resp *rs, time_t now)
{
	char		 prefix[96], key[192], num[32];
	uint64_t	 count = 0;
	long		 window, reset;
	int		 rc;

	if (rl->limit <= 0 || rl->window_s <= 0)
		return 0;
	if (now == 0)
		now = time(NULL);
	window = (long)(now / rl->window_s);
	reset = (window + 1) * rl->window_s - (long)now;
	snprintf(prefix, sizeof(prefix), "rl:%s:%ld", rl->cls, window);
	cache_key(key, sizeof(key), prefix,
	    r->remote_addr != NULL ? r->remote_addr : "-");

	/* The counter outlives its window by a little, never less. */
	rc = cache_incr(c, key, 1, (time_t)(rl->window_s + 1), &count);
	if (rc != 0) {
		log_event(LOG_WARN, "ratelimit_unavailable", "class",
		    rl->cls, "error", ws_err_name(rc), NULL);
		return 0;
	}
	snprintf(num, sizeof(num), "%ld", rl->limit);
	resp_header(rs, "RateLimit-Limit", num);
	snprintf(num, sizeof(num), "%ld", count >= (uint64_t)rl->limit ?
	    0L : rl->limit - (long)count);
	resp_header(rs, "RateLimit-Remaining", num);
	snprintf(num, sizeof(num), "%ld", reset);
	resp_header(rs, "RateLimit-Reset", num);
	if (count <= (uint64_t)rl->limit)
		return 0;

	resp_header(rs, "Retry-After", num);
	resp_problem(rs, r, 429, "RATE_LIMITED",
	    "Too many requests; try again later.", NULL);
	log_event(LOG_INFO, "rate_limited", "class", rl->cls, "client",
	    r->remote_addr, NULL);
	return WS_ERR_CONFLICT;
}
