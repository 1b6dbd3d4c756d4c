/*
 * The per-address rate limits against the real memcached: a class
 * allows its limit per window and then answers 429 with Retry-After,
 * counting each address apart; hostile addresses cannot reach the
 * memcached protocol; without memcached the limits fail open.
 */
#include "itest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "http.h"
#include "ratelimit.h"

/* The value of an extra response header, or NULL. */
static const char *
header(const struct resp *rs, const char *name)
{
	size_t	 i;

	for (i = 0; i < rs->nheaders; i++)
		if (strcasecmp(rs->headers[i].name, name) == 0)
			return rs->headers[i].value;
	return NULL;
}

/* One request of addr against rl; the status it got (0: allowed). */
static int
hit(struct cache *c, const struct ratelimit *rl, const char *addr,
    char *remaining, size_t len)
{
	char		 a[300], m[] = "REQUEST_METHOD=POST";
	char		 u[] = "DOCUMENT_URI=/api/v1/auth/login";
	char		*params[] = { m, u, a, NULL };
	struct req	 r;
	struct resp	 rs;
	int		 status;

	snprintf(a, sizeof(a), "REMOTE_ADDR=%s", addr);
	assert_int_equal(req_init(&r, params, NULL, 1024), 0);
	resp_init(&rs);
	status = ratelimit_or_reply(c, rl, &r, &rs, 0) == 0 ? 0 : rs.status;
	if (status == 429) {
		assert_non_null(header(&rs, "Retry-After"));
		assert_true(atoi(header(&rs, "Retry-After")) >= 1);
		assert_true(atoi(header(&rs, "Retry-After")) <= 61);
	}
	if (remaining != NULL)
		snprintf(remaining, len, "%s",
		    header(&rs, "RateLimit-Remaining") != NULL ?
		    header(&rs, "RateLimit-Remaining") : "");
	resp_cleanup(&rs);
	req_cleanup(&r);
	return status;
}

static void
test_limit_then_429(void **state)
{
	struct cache	*c = NULL;
	char		 cls[32], rem[16], addr[64], other[64];
	struct ratelimit rl = { cls, 3, 60 };
	int		 i;

	(void)state;
	/* A class of its own, so earlier runs and tests never count. */
	snprintf(cls, sizeof(cls), "t%ld%d", (long)getpid(), rand());
	snprintf(addr, sizeof(addr), "192.0.2.%d", 1 + rand() % 250);
	snprintf(other, sizeof(other), "198.51.100.%d", 1 + rand() % 250);
	assert_int_equal(cache_new(&c, itest_env("WS_MEMCACHED"), 500, 3,
	    1000), 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(hit(c, &rl, addr, rem, sizeof(rem)), 0);
		assert_int_equal(atoi(rem), 2 - i);
	}
	assert_int_equal(hit(c, &rl, addr, NULL, 0), 429);
	assert_int_equal(hit(c, &rl, addr, NULL, 0), 429);
	/* Another address has a count of its own. */
	assert_int_equal(hit(c, &rl, other, rem, sizeof(rem)), 0);
	assert_int_equal(atoi(rem), 2);
	cache_free(c);
}

static void
test_hostile_address_is_only_a_key(void **state)
{
	struct cache	*c = NULL;
	char		 cls[32], keep[32], rem[16];
	struct ratelimit rl = { cls, 1, 60 }, sentinel = { keep, 5, 60 };
	static const char *hostile[] = { "a b\r\nflush_all\r\n",
	    "\r\nset x 0 0 1\r\nA", "%s%n%x" };
	size_t		 i;

	(void)state;
	assert_int_equal(cache_new(&c, itest_env("WS_MEMCACHED"), 500, 3,
	    1000), 0);
	/* A count that a smuggled flush_all would reset. */
	snprintf(keep, sizeof(keep), "k%ld%d", (long)getpid(), rand());
	assert_int_equal(hit(c, &sentinel, "192.0.2.78", rem, sizeof(rem)),
	    0);
	assert_int_equal(atoi(rem), 4);
	/* Each in a class of its own: the count must still work after. */
	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		snprintf(cls, sizeof(cls), "h%ld%d", (long)getpid(), rand());
		assert_int_equal(hit(c, &rl, hostile[i], NULL, 0), 0);
		assert_int_equal(hit(c, &rl, hostile[i], NULL, 0), 429);
	}
	/* Nothing was flushed by the payloads: the count went on. */
	assert_int_equal(hit(c, &sentinel, "192.0.2.78", rem, sizeof(rem)),
	    0);
	assert_int_equal(atoi(rem), 3);
	cache_free(c);
}

static void
test_fails_open_without_memcached(void **state)
{
	struct cache	*c = NULL;
	struct ratelimit rl = { "open", 1, 60 };
	int		 i;

	(void)state;
	assert_int_equal(cache_new(&c, NULL, 100, 3, 1000), 0);
	for (i = 0; i < 5; i++)
		assert_int_equal(hit(c, &rl, "192.0.2.9", NULL, 0), 0);
	cache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit_then_429),
		cmocka_unit_test(test_hostile_address_is_only_a_key),
		cmocka_unit_test(test_fails_open_without_memcached),
	};

	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	return cmocka_run_group_tests(tests, NULL, NULL);
}
