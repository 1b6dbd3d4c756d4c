/*
 * Logout is immediate and stays so whatever memcached remembers
 * (design.md 6): PostgreSQL decides, memcached only caches, so a
 * flushed or stopped memcached never lets an ended session back in.
 * The tests that stop memcached start it again in their teardown.
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "itest_auth.h"

static struct itest_user	 user;
static int			 memcached_stopped;

static int
group_setup(void **state)
{
	(void)state;
	itest_auth_register(&user, "revoke");
	itest_auth_verify(&user);
	return 0;
}

/* Sends flush_all to $WS_MEMCACHED and expects its OK. */
static void
memcached_flush(void)
{
	struct addrinfo	 hints, *res = NULL;
	struct timeval	 tv = { .tv_sec = 5 };
	const char	*addr = itest_env("WS_MEMCACHED"), *colon;
	char		 host[256], reply[64];
	ssize_t		 n;
	size_t		 got = 0;
	int		 fd;

	assert_non_null(colon = strrchr(addr, ':'));
	assert_true((size_t)(colon - addr) < sizeof(host));
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	assert_int_equal(getaddrinfo(host, colon + 1, &hints, &res), 0);
	fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
	assert_true(fd != -1);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, res->ai_addr, res->ai_addrlen), 0);
	freeaddrinfo(res);
	assert_int_equal(send(fd, "flush_all\r\n", 11, MSG_NOSIGNAL), 11);
	while (got < sizeof(reply) - 1 && memchr(reply, '\n', got) == NULL) {
		n = recv(fd, reply + got, sizeof(reply) - 1 - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	reply[got] = '\0';
	close(fd);
	assert_string_equal(reply, "OK\r\n");
}

static void
memcached_stop(void)
{
	memcached_stopped = 1;
	assert_int_equal(itest_stack("memcached-stop"), 0);
}

static int
memcached_restore(void **state)
{
	(void)state;
	if (memcached_stopped) {
		if (itest_stack("memcached-start") != 0)
			fprintf(stderr, "memcached-start failed\n");
		memcached_stopped = 0;
	}
	return 0;
}

/* After a logout, flushing memcached brings nothing back. */
static void
test_revocation_flushed(void **state)
{
	struct itest_tokens	 t, other;

	(void)state;
	itest_auth_login(&user, &t);
	itest_auth_login(&user, &other);
	assert_int_equal(itest_auth_logout(t.access), 204);
	memcached_flush();
	assert_int_equal(itest_auth_logout(t.access), 401);
	assert_int_equal(itest_auth_refresh(t.refresh, NULL), 401);
	/* Asked again, now that PostgreSQL's answer may be cached. */
	assert_int_equal(itest_auth_logout(t.access), 401);
	/* A live session is still recognised after the flush. */
	assert_int_equal(itest_auth_logout(other.access), 204);
}

/* After a logout, stopping memcached brings nothing back. */
static void
test_revocation_memcached_stopped(void **state)
{
	struct itest_tokens	 t;

	(void)state;
	itest_auth_login(&user, &t);
	assert_int_equal(itest_auth_logout(t.access), 204);
	memcached_stop();
	assert_int_equal(itest_auth_logout(t.access), 401);
	assert_int_equal(itest_auth_refresh(t.refresh, NULL), 401);
}

/*
 * A logout made while memcached is down holds too, and still holds
 * once memcached is back (empty) and caches again.
 */
static void
test_revocation_logout_while_down(void **state)
{
	struct itest_tokens	 t, other;

	(void)state;
	itest_auth_login(&user, &t);
	itest_auth_login(&user, &other);
	memcached_stop();
	/* PostgreSQL vouches for a live session meanwhile. */
	assert_int_equal(itest_auth_logout(t.access), 204);
	assert_int_equal(itest_auth_logout(t.access), 401);
	assert_int_equal(itest_stack("memcached-start"), 0);
	memcached_stopped = 0;
	assert_int_equal(itest_auth_logout(t.access), 401);
	assert_int_equal(itest_auth_logout(t.access), 401);
	assert_int_equal(itest_auth_logout(other.access), 204);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_revocation_flushed),
		cmocka_unit_test_teardown(test_revocation_memcached_stopped,
		    memcached_restore),
		cmocka_unit_test_teardown(test_revocation_logout_while_down,
		    memcached_restore),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
