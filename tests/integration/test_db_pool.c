/*
 * The PostgreSQL pool (common/db.c) against the stack's real server
 * (WS_DATABASE_URL): acquire timeouts, the mapping of server errors,
 * the statement timeout, and failing fast (then recovering) when the
 * server is missing, silent or restarted.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "error.h"
#include "itest.h"

#define ACQUIRE_MS	300
/* Slack for a loaded test machine on top of every expected time. */
#define MARGIN_MS	700
/* design.md 10: a dead database answers fast... */
#define FAST_MS		2000
/* ...and a refused call that does not even try is instant. */
#define INSTANT_MS	200
#define RECOVERY_MS	3000

static int	 pg_stopped;

static void
sleep_ms(long ms)
{
	struct timespec	 ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static struct db_pool *
pool_new(const char *url, int size, long stmt_ms, int failures,
    long open_ms)
{
	struct db_pool_opts	 o;
	struct db_pool		*p = NULL;

	memset(&o, 0, sizeof(o));
	o.name = "itest";
	o.size = size;
	o.acquire_timeout_ms = ACQUIRE_MS;
	o.connect_timeout_s = 2;
	o.statement_timeout_ms = stmt_ms;
	o.breaker_failures = failures;
	o.breaker_open_ms = open_ms;
	o.read_write = 1;
	assert_int_equal(db_pool_new(&p, url, &o), 0);
	assert_non_null(p);
	return p;
}

static struct db_pool *
stack_pool(int size, long stmt_ms)
{
	return pool_new(itest_env("WS_DATABASE_URL"), size, stmt_ms, 3,
	    1000);
}

/* A loopback port nothing listens on (at the moment of asking). */
static int
free_port(void)
{
	struct sockaddr_in	 sa;
	socklen_t		 len = sizeof(sa);
	int			 fd, port;

	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/*
 * A server that accepts TCP connections (the kernel does, from the
 * backlog) but never says a word: what a frozen PostgreSQL looks like.
 */
static int
silent_listener(int port)
{
	struct sockaddr_in	 sa;
	int			 fd, on = 1;

	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((unsigned short)port);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 16), 0);
	return fd;
}

static void
dead_url(char *out, size_t outlen, int port)
{
	int	 n;

	n = snprintf(out, outlen, "postgresql://websands@127.0.0.1:%d/"
	    "websands", port);
	assert_true(n > 0 && (size_t)n < outlen);
}

static void
test_ping_answers(void **state)
{
	struct db_pool	*p;
	double		 ms = -1;

	(void)state;
	p = stack_pool(2, 5000);
	assert_int_equal(db_pool_ping(p, &ms), 0);
	assert_true(ms >= 0 && ms < FAST_MS);
	db_pool_free(p);
}

static void
test_parameters_and_prepared_reuse(void **state)
{
	static const char	*sql = "SELECT $1::int + 1, $2::text IS NULL";
	const char		*params[2] = { "41", NULL };
	struct db_pool		*p;
	struct db_conn		*c;
	struct db_res		*res = NULL;
	int			 i;

	(void)state;
	p = stack_pool(1, 5000);
	assert_int_equal(db_pool_acquire(p, &c), 0);
	/* The second run goes through the statement prepared by the first. */
	for (i = 0; i < 2; i++) {
		assert_int_equal(db_query(c, sql, 2, params, &res), 0);
		assert_int_equal(db_res_nrows(res), 1);
		assert_string_equal(db_res_value(res, 0, 0), "42");
		assert_string_equal(db_res_value(res, 0, 1), "t");
		assert_int_equal(db_res_isnull(res, 0, 0), 0);
		/* Outside the result: "" and NULL, never a crash. */
		assert_string_equal(db_res_value(res, 5, 5), "");
		assert_int_equal(db_res_isnull(res, 0, 9), 1);
		db_res_free(res);
		res = NULL;
	}
	db_pool_release(c);
	db_pool_free(p);
}

static void
test_third_acquire_times_out(void **state)
{
	struct db_pool	*p;
	struct db_conn	*a, *b, *c = NULL;
	long long	 t0, ms;
	int		 in_use = 0, size = 0;
	long		 timeouts = 0;

	(void)state;
	p = stack_pool(2, 5000);
	assert_int_equal(db_pool_acquire(p, &a), 0);
	assert_int_equal(db_pool_acquire(p, &b), 0);
	t0 = itest_now_ms();
	assert_int_equal(db_pool_acquire(p, &c), WS_ERR_TIMEOUT);
	ms = itest_now_ms() - t0;
	assert_null(c);
	assert_true(ms >= ACQUIRE_MS - 20);
	assert_true(ms < ACQUIRE_MS + MARGIN_MS);
	db_pool_stats(p, &in_use, &size, &timeouts);
	assert_int_equal(in_use, 2);
	assert_int_equal(size, 2);
	assert_int_equal(timeouts, 1);
	/* A released connection serves the next caller at once. */
	db_pool_release(b);
	assert_int_equal(db_pool_acquire(p, &c), 0);
	db_pool_release(c);
	db_pool_release(a);
	db_pool_free(p);
}

static void
test_unique_violation_is_conflict(void **state)
{
	const char	*one[1] = { "1" };
	struct db_pool	*p;
	struct db_conn	*c;
	struct db_res	*res = NULL;

	(void)state;
	p = stack_pool(1, 5000);
	assert_int_equal(db_pool_acquire(p, &c), 0);
	assert_int_equal(db_exec(c, "CREATE TEMP TABLE itest_unique "
	    "(k int PRIMARY KEY)"), 0);
	assert_int_equal(db_query(c, "INSERT INTO itest_unique VALUES ($1)",
	    1, one, &res), 0);
	assert_int_equal(db_res_affected(res), 1);
	db_res_free(res);
	assert_int_equal(db_query(c, "INSERT INTO itest_unique VALUES ($1)",
	    1, one, NULL), WS_ERR_CONFLICT);
	assert_string_equal(db_conn_sqlstate(c), "23505");
	/* The connection is still good for the next statement. */
	assert_int_equal(db_query(c, "SELECT 1", 0, NULL, NULL), 0);
	assert_string_equal(db_conn_sqlstate(c), "");
	db_pool_release(c);
	db_pool_free(p);
}

static void
test_other_errors_are_db_errors(void **state)
{
	struct db_pool	*p;
	struct db_conn	*c;

	(void)state;
	p = stack_pool(1, 5000);
	assert_int_equal(db_pool_acquire(p, &c), 0);
	assert_int_equal(db_query(c, "SELEC 1", 0, NULL, NULL), WS_ERR_DB);
	assert_string_equal(db_conn_sqlstate(c), "42601");
	assert_int_equal(db_query(c, "SELECT 1/0", 0, NULL, NULL),
	    WS_ERR_DB);
	assert_string_equal(db_conn_sqlstate(c), "22012");
	assert_int_equal(db_query(c, "SELECT 1", 0, NULL, NULL), 0);
	db_pool_release(c);
	db_pool_free(p);
}

static void
test_statement_past_timeout_is_timeout(void **state)
{
	struct db_pool	*p;
	struct db_conn	*c;
	long long	 t0, ms;

	(void)state;
	p = stack_pool(1, 200);
	assert_int_equal(db_pool_acquire(p, &c), 0);
	t0 = itest_now_ms();
	assert_int_equal(db_query(c, "SELECT pg_sleep(5)", 0, NULL, NULL),
	    WS_ERR_TIMEOUT);
	ms = itest_now_ms() - t0;
	assert_string_equal(db_conn_sqlstate(c), "57014");
	assert_true(ms >= 150 && ms < 200 + MARGIN_MS);
	assert_int_equal(db_query(c, "SELECT 1", 0, NULL, NULL), 0);
	db_pool_release(c);
	db_pool_free(p);
}

static void
test_open_transaction_is_rolled_back_on_release(void **state)
{
	struct db_pool	*p;
	struct db_conn	*c;
	struct db_res	*res = NULL;

	(void)state;
	p = stack_pool(1, 5000);
	assert_int_equal(db_pool_acquire(p, &c), 0);
	assert_int_equal(db_begin(c), 0);
	assert_int_equal(db_exec(c, "CREATE TEMP TABLE itest_leak (a int)"),
	    0);
	db_pool_release(c);
	/* The only slot again: the table went with the rollback. */
	assert_int_equal(db_pool_acquire(p, &c), 0);
	assert_int_equal(db_query(c, "SELECT to_regclass('pg_temp.itest_leak')"
	    " IS NULL", 0, NULL, &res), 0);
	assert_string_equal(db_res_value(res, 0, 0), "t");
	db_res_free(res);
	db_pool_release(c);
	db_pool_free(p);
}

static void
test_commit_after_failed_statement_fails(void **state)
{
	struct db_pool	*p;
	struct db_conn	*c;

	(void)state;
	p = stack_pool(1, 5000);
	assert_int_equal(db_pool_acquire(p, &c), 0);
	assert_int_equal(db_begin(c), 0);
	assert_int_equal(db_query(c, "SELECT 1/0", 0, NULL, NULL), WS_ERR_DB);
	/* PostgreSQL would quietly turn this COMMIT into a ROLLBACK. */
	assert_int_equal(db_commit(c), WS_ERR_DB);
	assert_int_equal(db_query(c, "SELECT 1", 0, NULL, NULL), 0);
	db_pool_release(c);
	db_pool_free(p);
}

static void
test_dead_port_fails_fast_then_breaker_refuses(void **state)
{
	struct db_pool	*p;
	struct db_conn	*c = NULL;
	char		 url[128];
	long long	 t0;
	int		 i, port, fd;

	(void)state;
	port = free_port();
	dead_url(url, sizeof(url), port);
	/* Three slots, so each call makes a real attempt of its own. */
	p = pool_new(url, 3, 5000, 3, 60000);
	for (i = 0; i < 3; i++) {
		t0 = itest_now_ms();
		assert_int_equal(db_pool_acquire(p, &c), WS_ERR_UNAVAILABLE);
		assert_true(itest_now_ms() - t0 < FAST_MS);
		assert_null(c);
	}
	/*
	 * Now the port answers like a frozen server, where a connection
	 * attempt would take the whole connect timeout.  Past every
	 * slot's reconnect backoff, only the open breaker explains an
	 * instant refusal.
	 */
	fd = silent_listener(port);
	sleep_ms(1200);
	t0 = itest_now_ms();
	assert_int_equal(db_pool_acquire(p, &c), WS_ERR_UNAVAILABLE);
	assert_true(itest_now_ms() - t0 < INSTANT_MS);
	assert_int_equal(db_pool_ping(p, NULL), WS_ERR_UNAVAILABLE);
	close(fd);
	db_pool_free(p);
}

static void
test_silent_server_bounded_by_connect_timeout(void **state)
{
	struct db_pool	*p;
	struct db_conn	*c = NULL;
	char		 url[128];
	long long	 t0, ms;
	int		 port, fd;

	(void)state;
	port = free_port();
	fd = silent_listener(port);
	dead_url(url, sizeof(url), port);
	p = pool_new(url, 2, 5000, 1, 60000);
	t0 = itest_now_ms();
	assert_int_equal(db_pool_acquire(p, &c), WS_ERR_UNAVAILABLE);
	ms = itest_now_ms() - t0;
	assert_true(ms < 2000 + MARGIN_MS + 1000);
	/* One failure opened the breaker: the next call does not wait. */
	t0 = itest_now_ms();
	assert_int_equal(db_pool_acquire(p, &c), WS_ERR_UNAVAILABLE);
	assert_true(itest_now_ms() - t0 < INSTANT_MS);
	close(fd);
	db_pool_free(p);
}

static int
teardown_pg(void **state)
{
	(void)state;
	if (pg_stopped) {
		itest_stack("pg-start");
		pg_stopped = 0;
	}
	return 0;
}

static void
test_server_restart_fails_fast_and_recovers(void **state)
{
	struct db_pool	*p;
	struct db_conn	*c = NULL;
	long long	 t0, ms;
	int		 i, rc;

	(void)state;
	p = stack_pool(2, 5000);
	assert_int_equal(db_pool_ping(p, NULL), 0);
	pg_stopped = 1;
	assert_int_equal(itest_stack("pg-stop"), 0);
	/* The idle connection is dead; nobody may wait on it. */
	for (i = 0; i < 5; i++) {
		t0 = itest_now_ms();
		assert_int_not_equal(db_pool_ping(p, NULL), 0);
		assert_true(itest_now_ms() - t0 < FAST_MS);
	}
	t0 = itest_now_ms();
	assert_int_equal(db_pool_acquire(p, &c), WS_ERR_UNAVAILABLE);
	assert_true(itest_now_ms() - t0 < FAST_MS);
	assert_int_equal(itest_stack("pg-start"), 0);
	pg_stopped = 0;
	t0 = itest_now_ms();
	while ((rc = db_pool_ping(p, NULL)) != 0 &&
	    itest_now_ms() - t0 < 10000)
		sleep_ms(50);
	ms = itest_now_ms() - t0;
	assert_int_equal(rc, 0);
	print_message("recovered %lld ms after the server was back\n", ms);
	assert_true(ms < RECOVERY_MS);
	db_pool_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ping_answers),
		cmocka_unit_test(test_parameters_and_prepared_reuse),
		cmocka_unit_test(test_third_acquire_times_out),
		cmocka_unit_test(test_unique_violation_is_conflict),
		cmocka_unit_test(test_other_errors_are_db_errors),
		cmocka_unit_test(test_statement_past_timeout_is_timeout),
		cmocka_unit_test(
		    test_open_transaction_is_rolled_back_on_release),
		cmocka_unit_test(test_commit_after_failed_statement_fails),
		cmocka_unit_test(
		    test_dead_port_fails_fast_then_breaker_refuses),
		cmocka_unit_test(
		    test_silent_server_bounded_by_connect_timeout),
		cmocka_unit_test_teardown(
		    test_server_restart_fails_fast_and_recovers, teardown_pg),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
