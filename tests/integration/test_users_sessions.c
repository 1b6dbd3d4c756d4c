/*
 * The user's sessions through nginx: the list shows each sign-in and
 * which one is the caller's, never a token; ending one or all of them
 * refuses their access and refresh tokens on the next request, also
 * while memcached is stopped; another user's session is a 404 like a
 * session that does not exist.
 */
#include <stdio.h>
#include <string.h>

#include "itest_users.h"

#define ME		"/api/v1/users/me"
#define SESSIONS	"/api/v1/users/me/sessions"
#define REVOKE_ALL	"/api/v1/users/me/sessions/revoke-all"

/* The id of the caller's session (the one marked current). */
static void
current_id(const char *access, char *out, size_t len)
{
	struct itest_resp	 r;
	json_t			*s, *found = NULL;
	size_t			 i;

	itest_users_req("GET", SESSIONS, access, NULL, &r);
	itest_auth_expect(&r, 200, "GET sessions");
	json_array_foreach(json_object_get(r.json, "sessions"), i, s)
		if (json_is_true(json_object_get(s, "current")))
			found = s;
	assert_non_null(found);
	snprintf(out, len, "%s", json_string_value(json_object_get(found,
	    "id")));
	itest_resp_cleanup(&r);
}

static void
test_sessions_list(void **state)
{
	struct itest_user	 u;
	struct itest_tokens	 a, b;
	struct itest_resp	 r;
	json_t			*list, *s;
	const char		*k;
	json_t			*v;
	size_t			 i, current = 0;

	(void)state;
	itest_auth_new_user(&u, &a, "sesslist");
	itest_auth_login(&u, &b);
	itest_users_req("GET", SESSIONS, a.access, NULL, &r);
	itest_auth_expect(&r, 200, "GET sessions");
	list = json_object_get(r.json, "sessions");
	assert_int_equal(json_array_size(list), 2);
	json_array_foreach(list, i, s) {
		assert_true(json_is_string(json_object_get(s, "id")));
		assert_true(json_is_string(json_object_get(s,
		    "created_at")));
		assert_true(json_is_string(json_object_get(s,
		    "last_used_at")));
		assert_string_equal(json_string_value(json_object_get(s,
		    "ip")), "127.0.0.1");
		assert_non_null(json_object_get(s, "user_agent"));
		assert_true(json_is_boolean(json_object_get(s, "current")));
		if (json_is_true(json_object_get(s, "current")))
			current++;
		json_object_foreach(s, k, v)
			if (strstr(k, "token") != NULL ||
			    strstr(k, "hash") != NULL)
				fail_msg("a session shows %s", k);
	}
	assert_int_equal(current, 1);
	assert_null(strstr(buf_str(&r.body), a.refresh));
	assert_null(strstr(buf_str(&r.body), b.refresh));
	itest_resp_cleanup(&r);
	assert_int_equal(itest_users_status("GET", SESSIONS, NULL, NULL),
	    401);
}

/* Ending one session: its tokens die, the others live. */
static void
test_session_delete(void **state)
{
	struct itest_user	 u, v;
	struct itest_tokens	 a, b, vt;
	struct itest_resp	 r1, r2;
	char			 bid[64], vid[64], path[160];
	static const char	*bad[] = { "abc", "0", "not-a-uuid-at-all",
	    "00000000-0000-4000-8000-00000000000g",
	    "00000000000040008000000000000000" };
	size_t			 i;

	(void)state;
	itest_auth_new_user(&u, &a, "sessdel");
	itest_auth_login(&u, &b);
	itest_auth_new_user(&v, &vt, "sessother");
	json_decref(itest_users_me(b.access));	/* cached as live */
	current_id(b.access, bid, sizeof(bid));
	current_id(vt.access, vid, sizeof(vid));

	/* Another user's session and a missing one look the same. */
	snprintf(path, sizeof(path), SESSIONS "/%s", vid);
	itest_users_req("DELETE", path, a.access, NULL, &r1);
	snprintf(path, sizeof(path), SESSIONS
	    "/00000000-0000-4000-8000-000000000000");
	itest_users_req("DELETE", path, a.access, NULL, &r2);
	itest_auth_expect(&r1, 404, "DELETE another user's session");
	itest_auth_expect(&r2, 404, "DELETE a missing session");
	assert_string_equal(itest_auth_code(&r1), itest_auth_code(&r2));
	assert_string_equal(json_string_value(json_object_get(r1.json,
	    "detail")), json_string_value(json_object_get(r2.json,
	    "detail")));
	itest_resp_cleanup(&r1);
	itest_resp_cleanup(&r2);
	assert_int_equal(itest_users_status("GET", ME, vt.access, NULL),
	    200);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), SESSIONS "/%s", bad[i]);
		assert_int_equal(itest_users_status("DELETE", path, a.access,
		    NULL), 404);
	}

	snprintf(path, sizeof(path), SESSIONS "/%s", bid);
	assert_int_equal(itest_users_status("DELETE", path, NULL, NULL),
	    401);
	assert_int_equal(itest_users_status("DELETE", path, a.access, NULL),
	    204);
	assert_int_equal(itest_users_status("GET", ME, b.access, NULL), 401);
	assert_int_equal(itest_auth_refresh(b.refresh, NULL), 401);
	assert_int_equal(itest_users_status("GET", ME, a.access, NULL), 200);
	/* Once ended it is gone. */
	assert_int_equal(itest_users_status("DELETE", path, a.access, NULL),
	    404);
}

/* revoke-all ends every session, the caller's too unless kept. */
static void
test_revoke_all(void **state)
{
	struct itest_user	 u;
	struct itest_tokens	 a, b, c;
	struct itest_resp	 r;
	json_t			*body;

	(void)state;
	itest_auth_new_user(&u, &a, "revall");
	itest_auth_login(&u, &b);
	itest_auth_login(&u, &c);
	body = json_pack("{s:b}", "keep_current", 1);
	itest_users_req("POST", REVOKE_ALL, a.access, body, &r);
	json_decref(body);
	itest_auth_expect(&r, 200, "revoke-all keeping the current one");
	assert_int_equal(json_integer_value(json_object_get(r.json,
	    "sessions_ended")), 2);
	itest_resp_cleanup(&r);
	assert_int_equal(itest_users_status("GET", ME, a.access, NULL), 200);
	assert_int_equal(itest_users_status("GET", ME, b.access, NULL), 401);
	assert_int_equal(itest_auth_refresh(c.refresh, NULL), 401);

	body = json_pack("{s:s}", "keep", "yes");
	assert_int_equal(itest_users_status("POST", REVOKE_ALL, a.access,
	    body), 400);
	json_decref(body);
	itest_users_req("POST", REVOKE_ALL, a.access, NULL, &r);
	itest_auth_expect(&r, 200, "revoke-all");
	assert_int_equal(json_integer_value(json_object_get(r.json,
	    "sessions_ended")), 1);
	itest_resp_cleanup(&r);
	assert_int_equal(itest_users_status("GET", ME, a.access, NULL), 401);
	assert_int_equal(itest_auth_refresh(a.refresh, NULL), 401);
}

/*
 * With memcached stopped, before or after the revocation, the ended
 * sessions are refused: PostgreSQL decides.
 */
static void
test_revoke_all_memcached_down(void **state)
{
	struct itest_user	 u;
	struct itest_tokens	 a, b;

	(void)state;
	itest_auth_new_user(&u, &a, "revmc");
	itest_auth_login(&u, &b);
	json_decref(itest_users_me(b.access));	/* "live" in memcached */
	/* Revoked while memcached runs, checked while it is down. */
	assert_int_equal(itest_users_status("POST", REVOKE_ALL, a.access,
	    NULL), 200);
	assert_int_equal(itest_stack("memcached-stop"), 0);
	assert_int_equal(itest_users_status("GET", ME, a.access, NULL), 401);
	assert_int_equal(itest_users_status("GET", ME, b.access, NULL), 401);
	assert_int_equal(itest_auth_refresh(b.refresh, NULL), 401);

	/* Revoked while memcached is down. */
	itest_auth_login(&u, &a);
	itest_auth_login(&u, &b);
	assert_int_equal(itest_users_status("GET", ME, b.access, NULL), 200);
	assert_int_equal(itest_users_status("POST", REVOKE_ALL, a.access,
	    NULL), 200);
	assert_int_equal(itest_users_status("GET", ME, a.access, NULL), 401);
	assert_int_equal(itest_users_status("GET", ME, b.access, NULL), 401);
	assert_int_equal(itest_auth_refresh(a.refresh, NULL), 401);
	assert_int_equal(itest_stack("memcached-start"), 0);
	assert_int_equal(itest_users_status("GET", ME, a.access, NULL), 401);
	assert_int_equal(itest_users_status("GET", ME, b.access, NULL), 401);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_sessions_list),
		cmocka_unit_test(test_session_delete),
		cmocka_unit_test(test_revoke_all),
		cmocka_unit_test(test_revoke_all_memcached_down),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
