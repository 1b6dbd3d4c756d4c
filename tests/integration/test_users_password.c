/*
 * PUT /api/v1/users/me/password through nginx: the current password
 * is required and a wrong one counts toward the sign-in lockout; the
 * policy and the history of the last five apply; other sessions end
 * (also when memcached is down) unless the client keeps them; the
 * owner gets the notice mail.
 */
#include <stdio.h>
#include <string.h>

#include "itest_users.h"

#define PASSWORD	"/api/v1/users/me/password"
#define HISTORY		5

static long
change(const char *access, const char *cur, const char *next, int keep,
    struct itest_resp *out)
{
	struct itest_resp	 r;
	json_t			*body;
	long			 status;

	body = json_pack("{s:s,s:s}", "current_password", cur,
	    "new_password", next);
	if (keep >= 0)
		json_object_set_new(body, "keep_other_sessions",
		    json_boolean(keep));
	itest_users_req("PUT", PASSWORD, access, body, out != NULL ? out :
	    &r);
	json_decref(body);
	if (out != NULL)
		return out->status;
	status = r.status;
	itest_resp_cleanup(&r);
	return status;
}

/* Missing and unknown fields, a bad type, no token: all refused. */
static void
test_password_bad_requests(void **state)
{
	struct itest_user	 u;
	struct itest_tokens	 t;
	struct itest_resp	 r;
	json_t			*body;

	(void)state;
	itest_auth_new_user(&u, &t, "pwbad");
	body = json_pack("{s:s}", "new_password", "Aa-123456789!");
	assert_int_equal(itest_users_status("PUT", PASSWORD, t.access, body),
	    400);
	json_decref(body);
	body = json_pack("{s:s}", "current_password", u.password);
	assert_int_equal(itest_users_status("PUT", PASSWORD, t.access, body),
	    400);
	json_decref(body);
	body = json_pack("{s:s,s:s,s:s}", "current_password", u.password,
	    "new_password", "Aa-123456789!", "password_hash", "x");
	assert_int_equal(itest_users_status("PUT", PASSWORD, t.access, body),
	    400);
	json_decref(body);
	body = json_pack("{s:s,s:s,s:i}", "current_password", u.password,
	    "new_password", "Aa-123456789!", "keep_other_sessions", 1);
	assert_int_equal(itest_users_status("PUT", PASSWORD, t.access, body),
	    400);
	json_decref(body);
	body = json_pack("{s:s,s:s}", "current_password", u.password,
	    "new_password", "Aa-123456789!");
	assert_int_equal(itest_users_status("PUT", PASSWORD, NULL, body),
	    401);
	json_decref(body);
	/* The policy names the new password's failures. */
	assert_int_equal(change(t.access, u.password, "short", -1, &r), 400);
	assert_non_null(json_object_get(json_object_get(r.json, "errors"),
	    "new_password"));
	itest_resp_cleanup(&r);
	/* Nothing changed. */
	assert_int_equal(itest_auth_login_as(u.username, u.password, NULL),
	    200);
}

/*
 * Wrong current passwords answer 403 and count: the fifth locks the
 * account, for sign-ins too, and the right password is refused while
 * it lasts.
 */
static void
test_password_wrong_current_locks(void **state)
{
	struct itest_user	 u;
	struct itest_tokens	 t;
	struct itest_resp	 r;
	char			 wrong[ITEST_AUTH_PASSWORD_MAX];
	char			 next[ITEST_AUTH_PASSWORD_MAX];
	long			 threshold, duration, i;

	(void)state;
	threshold = itest_auth_config_long("LOCKOUT_THRESHOLD", 5);
	duration = itest_auth_config_long("LOCKOUT_DURATION_S", 1800);
	if (duration > 30)
		skip();
	itest_auth_new_user(&u, &t, "pwlock");
	itest_auth_password(wrong, sizeof(wrong));
	itest_auth_password(next, sizeof(next));
	for (i = 0; i < threshold; i++) {
		assert_int_equal(change(t.access, wrong, next, -1, &r), 403);
		assert_string_equal(itest_auth_code(&r),
		    "INVALID_CREDENTIALS");
		itest_resp_cleanup(&r);
	}
	assert_int_equal(change(t.access, u.password, next, -1, &r), 403);
	assert_string_equal(itest_auth_code(&r), "ACCOUNT_LOCKED");
	assert_non_null(itest_header(&r, "Retry-After", wrong,
	    sizeof(wrong)));
	itest_resp_cleanup(&r);
	assert_int_equal(itest_auth_login_as(u.username, u.password, NULL),
	    403);
	/* The owner is told. */
	assert_int_equal(itest_auth_mail(u.email, "/password/forgot",
	    ITEST_AUTH_MAIL_WAIT_MS, NULL, NULL, 0), 0);
	itest_auth_sleep_ms((duration + 1) * 1000);
	assert_int_equal(change(t.access, u.password, next, -1, NULL), 204);
	assert_int_equal(itest_auth_login_as(u.username, next, NULL), 200);
}

/* Each of the last five passwords is refused; the sixth-oldest works. */
static void
test_password_history(void **state)
{
	struct itest_user	 u;
	struct itest_tokens	 t;
	struct itest_resp	 r;
	char			 pw[HISTORY + 1][ITEST_AUTH_PASSWORD_MAX];
	char			 fresh[ITEST_AUTH_PASSWORD_MAX];
	int			 i;

	(void)state;
	itest_auth_new_user(&u, &t, "pwhist");
	snprintf(pw[0], sizeof(pw[0]), "%s", u.password);
	/* pw[0] is the first; five changes make pw[5] the current one. */
	for (i = 1; i <= HISTORY; i++) {
		itest_auth_password(pw[i], sizeof(pw[i]));
		assert_int_equal(change(t.access, pw[i - 1], pw[i], 1, NULL),
		    204);
	}
	itest_auth_password(fresh, sizeof(fresh));
	for (i = 1; i <= HISTORY; i++) {
		assert_int_equal(change(t.access, pw[HISTORY], pw[i], 1, &r),
		    400);
		assert_non_null(strstr(buf_str(&r.body), "used recently"));
		itest_resp_cleanup(&r);
	}
	assert_int_equal(change(t.access, pw[HISTORY], pw[0], 1, NULL), 204);
	assert_int_equal(itest_auth_login_as(u.username, pw[0], NULL), 200);
	assert_int_equal(itest_auth_login_as(u.username, pw[HISTORY], NULL),
	    401);
}

/*
 * A change ends every other session at once (also with memcached
 * down: PostgreSQL decides), keeps the caller's, and mails a notice.
 */
static void
test_password_ends_other_sessions(void **state)
{
	struct itest_user	 u;
	struct itest_tokens	 mine, other, third;
	char			 next[ITEST_AUTH_PASSWORD_MAX];
	char			 again[ITEST_AUTH_PASSWORD_MAX];

	(void)state;
	itest_auth_new_user(&u, &mine, "pwsess");
	itest_auth_login(&u, &other);
	json_decref(itest_users_me(other.access));	/* cached as live */
	itest_auth_password(next, sizeof(next));
	assert_int_equal(change(mine.access, u.password, next, -1, NULL),
	    204);
	assert_int_equal(itest_users_status("GET", "/api/v1/users/me",
	    other.access, NULL), 401);
	assert_int_equal(itest_auth_refresh(other.refresh, NULL), 401);
	assert_int_equal(itest_users_status("GET", "/api/v1/users/me",
	    mine.access, NULL), 200);
	assert_int_equal(itest_auth_mail(u.email, "password",
	    ITEST_AUTH_MAIL_WAIT_MS, NULL, NULL, 0), 0);
	assert_int_equal(itest_auth_login_as(u.username, u.password, NULL),
	    401);

	/* keep_other_sessions keeps them. */
	assert_int_equal(itest_auth_login_as(u.username, next, &other), 200);
	itest_auth_password(again, sizeof(again));
	assert_int_equal(change(mine.access, next, again, 1, NULL), 204);
	assert_int_equal(itest_users_status("GET", "/api/v1/users/me",
	    other.access, NULL), 200);

	/* With memcached stopped, the ended session is still refused. */
	assert_int_equal(itest_auth_login_as(u.username, again, &third),
	    200);
	json_decref(itest_users_me(third.access));
	assert_int_equal(itest_stack("memcached-stop"), 0);
	itest_auth_password(next, sizeof(next));
	assert_int_equal(change(mine.access, again, next, -1, NULL), 204);
	assert_int_equal(itest_users_status("GET", "/api/v1/users/me",
	    third.access, NULL), 401);
	assert_int_equal(itest_auth_refresh(third.refresh, NULL), 401);
	assert_int_equal(itest_users_status("GET", "/api/v1/users/me",
	    other.access, NULL), 401);
	assert_int_equal(itest_stack("memcached-start"), 0);
	/* And after it is back: nothing stale revives the sessions. */
	assert_int_equal(itest_users_status("GET", "/api/v1/users/me",
	    third.access, NULL), 401);
	assert_int_equal(itest_users_status("GET", "/api/v1/users/me",
	    mine.access, NULL), 200);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_password_bad_requests),
		cmocka_unit_test(test_password_wrong_current_locks),
		cmocka_unit_test(test_password_history),
		cmocka_unit_test(test_password_ends_other_sessions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
