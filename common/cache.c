/*
 * memcached for WebSands (cache.h), through libmemcached.  A master
 * handle holds the server list and the behaviours; each thread works
 * on its own clone of it, made on first use and kept in thread-local
 * storage, because a libmemcached handle must not be shared between
 * threads.  Every clone is also on a list in struct cache so that
 * cache_free can release the clones of threads that are still alive.
 */
#include <sys/types.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmemcached/memcached.h>
#include <sodium.h>

#include "breaker.h"
#include "buf.h"
#include "cache.h"
#include "error.h"
#include "log.h"

#define CACHE_KEY_MAX		250
/* memcached's default item size is 1 MiB, key and header included. */
#define CACHE_VALUE_MAX		(1000 * 1000)
#define CACHE_SERVERS_MAX	4096
#define CACHE_DEFAULT_PORT	11211
/* memcached reads a TTL above 30 days as an absolute Unix time. */
#define CACHE_TTL_RELATIVE_MAX	(30L * 24 * 3600)

struct cache_handle {
	memcached_st		*mc;
	struct cache		*owner;
	struct cache_handle	*next;
};

struct cache {
	memcached_st		*master;	/* NULL: no cache at all */
	pthread_mutex_t		 mu;		/* guards handles, clones */
	pthread_key_t		 key;
	int			 has_key;
	struct cache_handle	*handles;
	struct breaker		 br;
	long			 timeout_ms;
};

/* The key destructor: a worker thread ended, so does its handle. */
static void
cache_handle_destroy(void *arg)
{
	struct cache_handle	*h = arg, **pp;
	struct cache		*c = h->owner;

	pthread_mutex_lock(&c->mu);
	for (pp = &c->handles; *pp != NULL; pp = &(*pp)->next)
		if (*pp == h) {
			*pp = h->next;
			break;
		}
	pthread_mutex_unlock(&c->mu);
	memcached_free(h->mc);
	free(h);
}

/* This thread's handle, cloned from the master on first use. */
static memcached_st *
cache_handle(struct cache *c)
{
	struct cache_handle	*h;

	if ((h = pthread_getspecific(c->key)) != NULL)
		return h->mc;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->owner = c;
	pthread_mutex_lock(&c->mu);
	if ((h->mc = memcached_clone(NULL, c->master)) != NULL) {
		h->next = c->handles;
		c->handles = h;
	}
	pthread_mutex_unlock(&c->mu);
	if (h->mc == NULL) {
		free(h);
		return NULL;
	}
	if (pthread_setspecific(c->key, h) != 0) {
		cache_handle_destroy(h);
		return NULL;
	}
	return h->mc;
}

/* Parses a port; 0 when s is not a number in 1..65535. */
static in_port_t
cache_port(const char *s)
{
	char	*end;
	long	 v;

	if (*s < '0' || *s > '9')
		return 0;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < 1 || v > 65535)
		return 0;
	return (in_port_t)v;
}

/*
 * Adds one entry of the server list: "/path/to/socket", "host",
 * "host:port" or "[v6addr]:port".  Returns 0 or WS_ERR_INVALID.
 */
static int
cache_add_server(memcached_st *mc, char *e)
{
	char		*host = e, *colon, *end;
	in_port_t	 port = CACHE_DEFAULT_PORT;

	if (*e == '/')
		return memcached_server_add_unix_socket(mc, e) ==
		    MEMCACHED_SUCCESS ? 0 : WS_ERR_INVALID;
	if (*e == '[') {
		if ((end = strchr(e, ']')) == NULL)
			return WS_ERR_INVALID;
		*end = '\0';
		host = e + 1;
		colon = end[1] == ':' ? end + 1 : NULL;
		if (colon == NULL && end[1] != '\0')
			return WS_ERR_INVALID;
	} else if ((colon = strchr(e, ':')) != NULL &&
	    strchr(colon + 1, ':') != NULL)
		return WS_ERR_INVALID;	/* a bare IPv6 address */
	if (colon != NULL) {
		*colon = '\0';
		if ((port = cache_port(colon + 1)) == 0)
			return WS_ERR_INVALID;
	}
	if (*host == '\0' || strlen(host) > 255)
		return WS_ERR_INVALID;
	return memcached_server_add(mc, host, port) == MEMCACHED_SUCCESS ?
	    0 : WS_ERR_INVALID;
}

/* Adds every comma-separated entry of servers to mc. */
static int
cache_add_servers(memcached_st *mc, const char *servers)
{
	char	*copy, *e, *save = NULL, *end;
	int	 n = 0, rc = WS_ERR_INVALID;

	if (strlen(servers) > CACHE_SERVERS_MAX)
		return WS_ERR_INVALID;
	if ((copy = strdup(servers)) == NULL)
		return WS_ERR_NOMEM;
	for (e = strtok_r(copy, ",", &save); e != NULL;
	    e = strtok_r(NULL, ",", &save)) {
		while (*e == ' ' || *e == '\t')
			e++;
		end = e + strlen(e);
		while (end > e && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*e == '\0')
			continue;
		if (cache_add_server(mc, e) != 0) {
			rc = WS_ERR_INVALID;
			goto out;
		}
		n++;
	}
	rc = n > 0 ? 0 : WS_ERR_INVALID;
out:
	free(copy);
	return rc;
}

/* The behaviours every clone inherits from the master. */
static int
cache_behave(memcached_st *mc, long timeout_ms)
{
	static const struct {
		memcached_behavior_t	 b;
		uint64_t		 v;
	} fixed[] = {
		/* Needed for increment-with-initial-value. */
		{ MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1 },
		/* Adding a server moves few keys. */
		{ MEMCACHED_BEHAVIOR_DISTRIBUTION,
		    MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA },
		{ MEMCACHED_BEHAVIOR_NO_BLOCK, 1 },
		{ MEMCACHED_BEHAVIOR_TCP_NODELAY, 1 },
		/*
		 * A server that failed is skipped for a second rather
		 * than costing every call a timeout; it is not ejected,
		 * so keys never move to another server and counters are
		 * never split.
		 */
		{ MEMCACHED_BEHAVIOR_SERVER_FAILURE_LIMIT, 1 },
		{ MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, 1 },
	};
	uint64_t	 ms = (uint64_t)timeout_ms;
	size_t		 i;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (memcached_behavior_set(mc, fixed[i].b, fixed[i].v) !=
		    MEMCACHED_SUCCESS)
			return WS_ERR_INVALID;
	/* The socket timeouts are in microseconds, the others in ms. */
	if (memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT,
	    ms) != MEMCACHED_SUCCESS ||
	    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_POLL_TIMEOUT,
	    ms) != MEMCACHED_SUCCESS ||
	    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_RCV_TIMEOUT,
	    ms * 1000) != MEMCACHED_SUCCESS ||
	    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_SND_TIMEOUT,
	    ms * 1000) != MEMCACHED_SUCCESS)
		return WS_ERR_INVALID;
	return 0;
}

int
cache_new(struct cache **out, const char *servers, long timeout_ms,
    int breaker_failures, long breaker_open_ms)
{
	struct cache	*c;
	int		 rc;

	*out = NULL;
	if (timeout_ms <= 0)
		timeout_ms = 250;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return WS_ERR_NOMEM;
	pthread_mutex_init(&c->mu, NULL);
	breaker_init(&c->br, "memcached", breaker_failures,
	    breaker_open_ms);
	c->timeout_ms = timeout_ms;
	if (sodium_init() < 0) {
		rc = WS_ERR_INTERNAL;
		goto out;
	}
	if (servers == NULL || *servers == '\0' ||
	    strcmp(servers, "none") == 0) {
		log_event(LOG_INFO, "cache_disabled", NULL);
		rc = 0;
		goto out;
	}
	rc = WS_ERR_NOMEM;
	if ((c->master = memcached_create(NULL)) == NULL)
		goto out;
	if ((rc = cache_add_servers(c->master, servers)) != 0 ||
	    (rc = cache_behave(c->master, timeout_ms)) != 0)
		goto out;
	if (pthread_key_create(&c->key, cache_handle_destroy) != 0) {
		rc = WS_ERR_NOMEM;
		goto out;
	}
	c->has_key = 1;
	rc = 0;
out:
	if (rc != 0) {
		cache_free(c);
		c = NULL;
	}
	*out = c;
	return rc;
}

void
cache_free(struct cache *c)
{
	struct cache_handle	*h;

	if (c == NULL)
		return;
	if (c->has_key)
		pthread_key_delete(c->key);
	while ((h = c->handles) != NULL) {
		c->handles = h->next;
		memcached_free(h->mc);
		free(h);
	}
	if (c->master != NULL)
		memcached_free(c->master);
	breaker_cleanup(&c->br);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

/* 1..250 bytes of printable ASCII, no space: nothing to inject. */
static int
cache_key_ok(const char *key)
{
	size_t	 i;

	if (key == NULL)
		return 0;
	for (i = 0; key[i] != '\0'; i++)
		if (i >= CACHE_KEY_MAX || key[i] <= 0x20 || key[i] >= 0x7f)
			return 0;
	return i > 0;
}

static time_t
cache_ttl(time_t ttl)
{
	if (ttl > CACHE_TTL_RELATIVE_MAX)
		return time(NULL) + ttl;
	return ttl;
}

/*
 * Everything a call does before it talks: the key is checked first,
 * so a bad key is WS_ERR_INVALID even with no cache configured.
 */
static int
cache_begin(struct cache *c, const char *key, memcached_st **mc)
{
	*mc = NULL;
	if (key != NULL && !cache_key_ok(key))
		return WS_ERR_INVALID;
	if (c == NULL || c->master == NULL)
		return WS_ERR_UNAVAILABLE;
	if (!breaker_allow(&c->br))
		return WS_ERR_UNAVAILABLE;
	if ((*mc = cache_handle(c)) == NULL) {
		log_event(LOG_ERROR, "cache_handle_failed", NULL);
		return WS_ERR_NOMEM;
	}
	return 0;
}

/* Maps libmemcached's answer and tells the breaker how it went. */
static int
cache_end(struct cache *c, memcached_st *mc, memcached_return_t r,
    const char *op)
{
	switch (r) {
	case MEMCACHED_SUCCESS:
	case MEMCACHED_STORED:
	case MEMCACHED_DELETED:
		breaker_success(&c->br);
		return 0;
	case MEMCACHED_NOTFOUND:
		breaker_success(&c->br);
		return WS_ERR_NOTFOUND;
	case MEMCACHED_NOTSTORED:
	case MEMCACHED_DATA_EXISTS:
		breaker_success(&c->br);
		return WS_ERR_CONFLICT;
	case MEMCACHED_E2BIG:
		breaker_success(&c->br);
		return WS_ERR_TOOBIG;
	case MEMCACHED_BAD_KEY_PROVIDED:
		return WS_ERR_INVALID;
	case MEMCACHED_MEMORY_ALLOCATION_FAILURE:
		return WS_ERR_NOMEM;
	default:
		break;
	}
	breaker_failure(&c->br);
	log_event(LOG_WARN, "cache_unavailable", "op", op,
	    "error", memcached_strerror(mc, r), NULL);
	return WS_ERR_UNAVAILABLE;
}

int
cache_get(struct cache *c, const char *key, struct buf *out)
{
	memcached_st		*mc;
	memcached_return_t	 r;
	uint32_t		 flags;
	size_t			 vlen = 0;
	char			*v;
	int			 rc;

	if (key == NULL || out == NULL)
		return WS_ERR_INVALID;
	if ((rc = cache_begin(c, key, &mc)) != 0)
		return rc;
	v = memcached_get(mc, key, strlen(key), &vlen, &flags, &r);
	if ((rc = cache_end(c, mc, r, "get")) == 0) {
		buf_reset(out);
		if (v != NULL)
			rc = buf_append(out, v, vlen);
	}
	free(v);
	return rc;
}

int
cache_set(struct cache *c, const char *key, const void *val, size_t len,
    time_t ttl)
{
	memcached_st	*mc;
	int		 rc;

	if (key == NULL || (val == NULL && len > 0) || ttl < 0)
		return WS_ERR_INVALID;
	if (len > CACHE_VALUE_MAX)
		return WS_ERR_TOOBIG;
	if ((rc = cache_begin(c, key, &mc)) != 0)
		return rc;
	return cache_end(c, mc, memcached_set(mc, key, strlen(key),
	    val != NULL ? val : "", len, cache_ttl(ttl), 0), "set");
}

int
cache_add(struct cache *c, const char *key, const void *val, size_t len,
    time_t ttl)
{
	memcached_st	*mc;
	int		 rc;

	if (key == NULL || (val == NULL && len > 0) || ttl < 0)
		return WS_ERR_INVALID;
	if (len > CACHE_VALUE_MAX)
		return WS_ERR_TOOBIG;
	if ((rc = cache_begin(c, key, &mc)) != 0)
		return rc;
	return cache_end(c, mc, memcached_add(mc, key, strlen(key),
	    val != NULL ? val : "", len, cache_ttl(ttl), 0), "add");
}

int
cache_delete(struct cache *c, const char *key)
{
	memcached_st	*mc;
	int		 rc;

	if (key == NULL)
		return WS_ERR_INVALID;
	if ((rc = cache_begin(c, key, &mc)) != 0)
		return rc;
	rc = cache_end(c, mc, memcached_delete(mc, key, strlen(key), 0),
	    "delete");
	return rc == WS_ERR_NOTFOUND ? 0 : rc;
}

int
cache_incr(struct cache *c, const char *key, uint64_t delta, time_t ttl,
    uint64_t *value)
{
	memcached_st	*mc;
	uint64_t	 v = 0;
	int		 rc;

	if (key == NULL || ttl < 0)
		return WS_ERR_INVALID;
	if ((rc = cache_begin(c, key, &mc)) != 0)
		return rc;
	rc = cache_end(c, mc, memcached_increment_with_initial(mc, key,
	    strlen(key), delta, delta, cache_ttl(ttl), &v), "incr");
	if (rc == 0 && value != NULL)
		*value = v;
	return rc;
}

int
cache_ping(struct cache *c, double *ms)
{
	memcached_stat_st	*st;
	memcached_st		*mc;
	memcached_return_t	 r = MEMCACHED_SUCCESS;
	struct timespec		 t0, t1;
	int			 rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((rc = cache_begin(c, NULL, &mc)) != 0)
		goto out;
	/*
	 * Not memcached_version: it answers from what it learnt
	 * earlier without asking again.  A stats request goes to every
	 * server each time, bounded by the poll timeout.
	 */
	st = memcached_stat(mc, NULL, &r);
	memcached_stat_free(mc, st);
	rc = cache_end(c, mc, r, "ping");
out:
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (ms != NULL)
		*ms = (double)(t1.tv_sec - t0.tv_sec) * 1000.0 +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	return rc;
}

void
cache_key(char *out, size_t outlen, const char *prefix, const char *input)
{
	unsigned char	 digest[crypto_hash_sha256_BYTES];
	char		 hex[crypto_hash_sha256_BYTES * 2 + 1];
	int		 n;

	if (out == NULL || outlen == 0)
		return;
	out[0] = '\0';
	if (prefix == NULL)
		prefix = "";
	if (input == NULL)
		input = "";
	/* SHA-256 in libsodium needs no sodium_init(). */
	crypto_hash_sha256(digest, (const unsigned char *)input,
	    strlen(input));
	sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
	n = snprintf(out, outlen, "%s:%s", prefix, hex);
	/* A truncated key would mix users up; an empty one is refused. */
	if (n < 0 || (size_t)n >= outlen)
		out[0] = '\0';
}
