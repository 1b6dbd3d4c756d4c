/*
 * memcached through libmemcached: one handle per worker thread (made
 * on first use), short timeouts, consistent hashing over the servers in
 * MEMCACHED_SERVERS ("host:port,host:port"), a circuit breaker.  The
 * cache is never the only copy of anything: callers treat
 * WS_ERR_UNAVAILABLE as a miss and go to PostgreSQL.
 */
#ifndef WEBSANDS_CACHE_H
#define WEBSANDS_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"

struct cache;

/*
 * servers may be NULL or "" for no cache at all (every call then
 * answers WS_ERR_UNAVAILABLE).  Returns 0, WS_ERR_NOMEM or
 * WS_ERR_INVALID for a malformed server list.
 */
int	 cache_new(struct cache **out, const char *servers, long timeout_ms,
	    int breaker_failures, long breaker_open_ms);
void	 cache_free(struct cache *c);

/*
 * Keys must be 1..250 bytes of printable ASCII without spaces; anything
 * else is WS_ERR_INVALID.  Build keys from client input with cache_key.
 */
int	 cache_get(struct cache *c, const char *key, struct buf *out);
int	 cache_set(struct cache *c, const char *key, const void *val,
	    size_t len, time_t ttl);
/* Stores only if the key is absent: WS_ERR_CONFLICT if present. */
int	 cache_add(struct cache *c, const char *key, const void *val,
	    size_t len, time_t ttl);
/* Deleting an absent key is success. */
int	 cache_delete(struct cache *c, const char *key);
/*
 * Adds delta to a counter, creating it at delta with ttl when absent;
 * the new value in *value.  Atomic across processes.
 */
int	 cache_incr(struct cache *c, const char *key, uint64_t delta,
	    time_t ttl, uint64_t *value);
/* One round trip to every server; latency in *ms.  0 if all answer. */
int	 cache_ping(struct cache *c, double *ms);
/*
 * Writes prefix + ":" + hex(SHA-256(input)) into out (outlen >= 
 * strlen(prefix) + 66), so client input never reaches the protocol.
 */
void	 cache_key(char *out, size_t outlen, const char *prefix,
	    const char *input);

#endif
