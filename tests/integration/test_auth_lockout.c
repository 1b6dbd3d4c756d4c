/*
 * The account lockout of design.md 7 through nginx: LOCKOUT_THRESHOLD
 * failures lock the account for LOCKOUT_DURATION_S (both read from the
 * stack's configuration, where the test stack shortens the lock to a
 * few seconds), parallel attempts cannot pass the limit, and the lock
 * holds while memcached is down.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest_auth.h"

#define THRESHOLD_DEFAULT	5
#define DURATION_DEFAULT	1800
#define PARALLEL		30

static int	 memcached_stopped;

static long
threshold(void)
{
	return itest_auth_config_long("LOCKOUT_THRESHOLD",
	    THRESHOLD_DEFAULT);
}

/* A verified account with no session open. */
static void
new_account(struct itest_user *u, const char *prefix)
{
	itest_auth_register(u, prefix);
	itest_auth_verify(u);
}

/* One wrong password for u; returns the status. */
static long
fail_once(const struct itest_user *u)
{
	char	 wrong[ITEST_AUTH_PASSWORD_MAX];

	itest_auth_password(wrong, sizeof(wrong));
	return itest_auth_login_as(u->username, wrong, NULL);
}

/* The right password for u; status, problem code and Retry-After. */
static long
login_right(const struct itest_user *u, char *code, size_t codelen,
    char *retry, size_t retrylen)
{
	struct itest_resp	 r;
	json_t			*body;
	long			 status;

	body = json_pack("{s:s,s:s}", "username_or_email", u->username,
	    "password", u->password);
	assert_non_null(body);
	assert_int_equal(itest_auth_post_json("/api/v1/auth/login", body,
	    NULL, &r), 0);
	json_decref(body);
	status = r.status;
	if (code != NULL)
		snprintf(code, codelen, "%s", itest_auth_code(&r));
	if (retry != NULL && itest_header(&r, "Retry-After", retry,
	    retrylen) == NULL)
		retry[0] = '\0';
	if (status == 200) {
		itest_auth_secret(json_string_value(json_object_get(r.json,
		    "access_token")));
		itest_auth_secret(json_string_value(json_object_get(r.json,
		    "refresh_token")));
	}
	itest_resp_cleanup(&r);
	return status;
}

/* Fails unless the reply was 403 ACCOUNT_LOCKED with a Retry-After. */
static void
assert_locked(long status, const char *code, const char *retry)
{
	long	 secs;

	assert_int_equal(status, 403);
	assert_string_equal(code, "ACCOUNT_LOCKED");
	if (retry[0] == '\0')
		fail_msg("403 ACCOUNT_LOCKED without Retry-After");
	secs = strtol(retry, NULL, 10);
	assert_true(secs >= 1);
	assert_true(secs <= itest_auth_config_long("LOCKOUT_DURATION_S",
	    DURATION_DEFAULT));
}

/* One short of the limit, the right password still gets in. */
static void
test_lockout_below_threshold(void **state)
{
	struct itest_user	 u;
	struct buf		 text;
	char			 want[64];
	long			 i;

	(void)state;
	new_account(&u, "lockbelow");
	for (i = 0; i < threshold() - 1; i++)
		assert_int_equal(fail_once(&u), 401);
	assert_int_equal(login_right(&u, NULL, 0, NULL, 0), 200);
	/* The owner hears of the sign-in after the failures. */
	buf_init(&text, 0);
	snprintf(want, sizeof(want), "after %ld failed", threshold() - 1);
	if (itest_auth_mail(u.email, want, ITEST_AUTH_MAIL_WAIT_MS, &text,
	    NULL, 0) != 0)
		fail_msg("no mail saying \"%s\" to %s", want, u.email);
	buf_cleanup(&text);
}

/* At the limit the account locks, even for the right password. */
static void
test_lockout_locks(void **state)
{
	struct itest_user	 u;
	char			 code[64], retry[32];
	long			 i, status;

	(void)state;
	new_account(&u, "locklocks");
	for (i = 0; i < threshold(); i++)
		assert_int_equal(fail_once(&u), 401);
	status = login_right(&u, code, sizeof(code), retry, sizeof(retry));
	assert_locked(status, code, retry);
	/* A wrong password while locked is refused the same way. */
	assert_int_equal(fail_once(&u), 403);
	/* The owner is told. */
	if (itest_auth_mail(u.email, "locked", ITEST_AUTH_MAIL_WAIT_MS,
	    NULL, NULL, 0) != 0)
		fail_msg("no lock mail to %s", u.email);
}

/* After the lock time the right password works again. */
static void
test_lockout_expires(void **state)
{
	struct itest_user	 u;
	char			 code[64], retry[32];
	long			 i, status, duration;

	(void)state;
	duration = itest_auth_config_long("LOCKOUT_DURATION_S",
	    DURATION_DEFAULT);
	if (duration > 30)
		skip();
	new_account(&u, "lockexpire");
	for (i = 0; i < threshold(); i++)
		assert_int_equal(fail_once(&u), 401);
	status = login_right(&u, code, sizeof(code), retry, sizeof(retry));
	assert_locked(status, code, retry);
	itest_auth_sleep_ms(duration * 1000 + 500);
	status = login_right(&u, code, sizeof(code), retry, sizeof(retry));
	if (status != 200)
		fail_msg("%lds after the lock: %ld %s", duration, status,
		    code);
}

struct parallel_run {
	const struct itest_user	*u;
	char			 wrong[PARALLEL][ITEST_AUTH_PASSWORD_MAX];
	long			 status[PARALLEL];
	char			 code[PARALLEL][32];
};

/* One thread's wrong password; no assertions off the main thread. */
static void
parallel_one(int i, void *arg)
{
	struct parallel_run	*run = arg;
	struct itest_resp	 r;
	char			 body[256];
	int			 n;

	n = snprintf(body, sizeof(body), "{\"username_or_email\":\"%s\","
	    "\"password\":\"%s\"}", run->u->username, run->wrong[i]);
	run->status[i] = -1;
	if (n < 0 || (size_t)n >= sizeof(body))
		return;
	if (itest_auth_post("/api/v1/auth/login", body, (size_t)n, NULL,
	    &r) != 0)
		return;
	run->status[i] = r.status;
	snprintf(run->code[i], sizeof(run->code[i]), "%s",
	    itest_auth_code(&r));
	itest_resp_cleanup(&r);
}

/* Thirty wrong passwords at once: never more than the limit checked. */
static void
test_lockout_parallel(void **state)
{
	struct itest_user	 u;
	struct parallel_run	 run;
	char			 code[64], retry[32];
	long			 n401 = 0, n403 = 0, status;
	int			 i;

	(void)state;
	new_account(&u, "lockpar");
	memset(&run, 0, sizeof(run));
	run.u = &u;
	/* Made here: itest_auth_password asserts, which threads must not. */
	for (i = 0; i < PARALLEL; i++)
		itest_auth_password(run.wrong[i], sizeof(run.wrong[i]));
	itest_auth_parallel(PARALLEL, parallel_one, &run);
	for (i = 0; i < PARALLEL; i++) {
		if (run.status[i] == 401)
			n401++;
		else if (run.status[i] == 403 &&
		    strcmp(run.code[i], "ACCOUNT_LOCKED") == 0)
			n403++;
		else
			fail_msg("attempt %d: status %ld code %s", i,
			    run.status[i], run.code[i]);
	}
	print_message("parallel: %ld x 401, %ld x 403\n", n401, n403);
	if (n401 > threshold())
		fail_msg("%ld wrong passwords were checked, limit %ld", n401,
		    threshold());
	assert_true(n401 >= 1);
	assert_int_equal(n401 + n403, PARALLEL);
	status = login_right(&u, code, sizeof(code), retry, sizeof(retry));
	assert_locked(status, code, retry);
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

/* With memcached down the lock is still counted and still holds. */
static void
test_lockout_memcached_down(void **state)
{
	struct itest_user	 u;
	char			 code[64], retry[32];
	long			 i, status;

	(void)state;
	new_account(&u, "lockmc");
	memcached_stopped = 1;
	assert_int_equal(itest_stack("memcached-stop"), 0);
	for (i = 0; i < threshold(); i++)
		assert_int_equal(fail_once(&u), 401);
	status = login_right(&u, code, sizeof(code), retry, sizeof(retry));
	assert_locked(status, code, retry);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_lockout_below_threshold),
		cmocka_unit_test(test_lockout_locks),
		cmocka_unit_test(test_lockout_expires),
		cmocka_unit_test(test_lockout_parallel),
		cmocka_unit_test_teardown(test_lockout_memcached_down,
		    memcached_restore),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
