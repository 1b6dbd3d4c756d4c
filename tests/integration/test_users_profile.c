/*
 * The profile and the settings through nginx: GET /me shows what the
 * issue lists and no secret, answers from memcached (even while
 * PostgreSQL is down), and is never stale after a change; PATCH /me
 * and PATCH /me/settings change only the fields they know.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest_users.h"

#define ME		"/api/v1/users/me"
#define SETTINGS	"/api/v1/users/me/settings"

static const char	*profile_fields[] = { "id", "username", "email",
	"email_verified", "role", "first_name", "last_name", "created_at",
	"last_login_at", "mfa_enabled" };

/* Fails unless the string member name of j equals want. */
static void
assert_member(const json_t *j, const char *name, const char *want)
{
	const char	*v = json_string_value(json_object_get(j, name));

	if (v == NULL || strcmp(v, want) != 0)
		fail_msg("%s is \"%s\", wanted \"%s\"", name,
		    v != NULL ? v : "(none)", want);
}

/* GET /me: every listed field, nothing secret, never cached by others. */
static void
test_me_fields(void **state)
{
	struct itest_user	 u;
	struct itest_tokens	 t;
	struct itest_resp	 r;
	char			 v[128];
	const char		*k;
	json_t			*x;
	size_t			 i;

	(void)state;
	itest_auth_new_user(&u, &t, "prof");
	itest_users_req("GET", ME, t.access, NULL, &r);
	itest_auth_expect(&r, 200, "GET /me");
	for (i = 0; i < sizeof(profile_fields) / sizeof(profile_fields[0]);
	    i++)
		if (json_object_get(r.json, profile_fields[i]) == NULL)
			fail_msg("GET /me lacks %s", profile_fields[i]);
	assert_member(r.json, "id", u.id);
	assert_member(r.json, "username", u.username);
	assert_member(r.json, "email", u.email);
	assert_member(r.json, "role", "user");
	assert_true(json_is_true(json_object_get(r.json, "email_verified")));
	assert_true(json_is_false(json_object_get(r.json, "mfa_enabled")));
	assert_true(json_is_string(json_object_get(r.json,
	    "last_login_at")));
	json_object_foreach(r.json, k, x)
		if (strstr(k, "hash") != NULL || strstr(k, "secret") != NULL ||
		    strstr(k, "password") != NULL)
			fail_msg("GET /me shows %s", k);
	assert_null(strstr(buf_str(&r.body), u.password));
	assert_non_null(itest_header(&r, "Cache-Control", v, sizeof(v)));
	assert_non_null(strstr(v, "no-store"));
	itest_resp_cleanup(&r);

	/* The same document from the cache. */
	itest_users_req("GET", ME, t.access, NULL, &r);
	itest_auth_expect(&r, 200, "GET /me, cached");
	assert_member(r.json, "id", u.id);
	assert_non_null(itest_header(&r, "Content-Type", v, sizeof(v)));
	assert_non_null(strstr(v, "application/json"));
	itest_resp_cleanup(&r);

	assert_int_equal(itest_users_status("GET", ME, NULL, NULL), 401);
	assert_int_equal(itest_users_status("GET", ME, "not.a.token",
	    NULL), 401);
	assert_int_equal(itest_users_status("POST", ME, t.access, NULL),
	    405);
}

/* The profile cache hits counted so far, from /metrics. */
static long
cache_hits(void)
{
	static const char	 name[] = "websands_cache_total{component="
	    "\"websands-users\",cache=\"profile\",result=\"hit\"} ";
	struct itest_resp	 r;
	const char		*p;
	long			 n = 0;

	assert_int_equal(itest_http("GET", "/metrics", NULL, NULL, 0, &r),
	    0);
	itest_auth_expect(&r, 200, "GET /metrics");
	if ((p = strstr(buf_str(&r.body), name)) != NULL)
		n = strtol(p + strlen(name), NULL, 10);
	itest_resp_cleanup(&r);
	return n;
}

/*
 * The common read costs no query: it works with PostgreSQL stopped.
 * An earlier test may have stopped memcached, and the responder's
 * breaker and connections take a moment to trust it again, so the
 * test first waits until a run of reads are all cache hits.
 */
static void
test_me_from_cache(void **state)
{
	struct itest_user	 u;
	struct itest_tokens	 t;
	struct itest_resp	 r;
	json_t			*before;
	long			 h0;
	int			 i, tries;

	(void)state;
	itest_auth_new_user(&u, &t, "profcache");
	before = itest_users_me(t.access);
	for (tries = 0; tries < 50; tries++) {
		h0 = cache_hits();
		for (i = 0; i < 8; i++)
			json_decref(itest_users_me(t.access));
		if (cache_hits() - h0 == 8)
			break;
		itest_auth_sleep_ms(200);
	}
	assert_true(tries < 50);
	assert_int_equal(itest_stack("pg-stop"), 0);
	itest_users_req("GET", ME, t.access, NULL, &r);
	assert_int_equal(itest_stack("pg-start"), 0);
	itest_auth_expect(&r, 200, "GET /me with PostgreSQL stopped");
	assert_true(json_equal(before, r.json));
	itest_resp_cleanup(&r);
	json_decref(before);
}

/* PATCH /me changes names and username; GET /me follows at once. */
static void
test_me_patch(void **state)
{
	struct itest_user	 u, other;
	struct itest_tokens	 t, ot;
	struct itest_resp	 r;
	char			 name[ITEST_AUTH_NAME_MAX];
	json_t			*body, *me;

	(void)state;
	itest_auth_new_user(&u, &t, "profpatch");
	json_decref(itest_users_me(t.access));	/* now cached */

	body = json_pack("{s:s,s:s}", "first_name", "Ada",
	    "last_name", "Lovelace");
	itest_users_req("PATCH", ME, t.access, body, &r);
	json_decref(body);
	itest_auth_expect(&r, 200, "PATCH names");
	assert_member(r.json, "first_name", "Ada");
	itest_resp_cleanup(&r);
	me = itest_users_me(t.access);
	assert_member(me, "first_name", "Ada");
	assert_member(me, "last_name", "Lovelace");
	json_decref(me);

	itest_auth_unique(name, sizeof(name), "renamed");
	body = json_pack("{s:s,s:n,s:s}", "username", name, "first_name",
	    "last_name", "Byron");
	itest_users_req("PATCH", ME, t.access, body, &r);
	json_decref(body);
	itest_auth_expect(&r, 200, "PATCH username");
	itest_resp_cleanup(&r);
	me = itest_users_me(t.access);
	assert_member(me, "username", name);
	assert_true(json_is_null(json_object_get(me, "first_name")));
	assert_member(me, "last_name", "Byron");
	json_decref(me);
	/* The new name signs in. */
	assert_int_equal(itest_auth_login_as(name, u.password, NULL), 200);

	/* A taken username, in any case, is 409. */
	itest_auth_new_user(&other, &ot, "proftaken");
	body = json_pack("{s:s}", "username", other.username);
	itest_users_req("PATCH", ME, t.access, body, &r);
	json_decref(body);
	itest_auth_expect(&r, 409, "PATCH a taken username");
	assert_string_equal(itest_auth_code(&r), "USERNAME_TAKEN");
	itest_resp_cleanup(&r);
	me = itest_users_me(t.access);
	assert_member(me, "username", name);
	json_decref(me);
}

/* Bad and unknown fields are refused and change nothing. */
static void
test_me_patch_refused(void **state)
{
	static const char	*bodies[] = {
		"{\"role\":\"admin\"}",
		"{\"email_verified\":false}",
		"{\"verified\":true}",
		"{\"locked_until\":null}",
		"{\"failed_login_count\":0}",
		"{\"mfa_enabled\":true}",
		"{\"email\":\"x@example.com\"}",
		"{\"id\":\"00000000-0000-4000-8000-000000000000\"}",
		"{\"first_name\":\"Ann\",\"role\":\"admin\"}",
		"{\"username\":\"a b\"}",
		"{\"username\":\"ab\"}",
		"{\"first_name\":5}",
		"{}",
		"[1]",
		"{\"first_name\":\"a\",\"first_name\":\"b\"}",
	};
	struct itest_user	 u;
	struct itest_tokens	 t;
	struct itest_resp	 r;
	const char		*h[3];
	char			 auth[ITEST_AUTH_ACCESS_MAX + 32];
	json_t			*me;
	size_t			 i;

	(void)state;
	itest_auth_new_user(&u, &t, "profbad");
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", t.access);
	h[0] = "Content-Type: application/json";
	h[1] = auth;
	h[2] = NULL;
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		assert_int_equal(itest_http("PATCH", ME, h, bodies[i],
		    strlen(bodies[i]), &r), 0);
		if (r.status != 400)
			fail_msg("PATCH %s: %ld, wanted 400", bodies[i],
			    r.status);
		itest_resp_cleanup(&r);
	}
	me = itest_users_me(t.access);
	assert_member(me, "role", "user");
	assert_member(me, "username", u.username);
	assert_true(json_is_null(json_object_get(me, "first_name")));
	assert_true(json_is_true(json_object_get(me, "email_verified")));
	json_decref(me);
	/* Without a token nothing is even parsed. */
	assert_int_equal(itest_users_status("PATCH", ME, NULL, NULL), 401);
}

/* Settings: defaults, partial changes, refusals. */
static void
test_settings(void **state)
{
	struct itest_user	 u;
	struct itest_tokens	 t;
	struct itest_resp	 r;
	json_t			*body;

	(void)state;
	itest_auth_new_user(&u, &t, "settings");
	itest_users_req("GET", SETTINGS, t.access, NULL, &r);
	itest_auth_expect(&r, 200, "GET settings");
	assert_true(json_is_true(json_object_get(r.json,
	    "notification_email")));
	assert_true(json_is_true(json_object_get(r.json,
	    "notification_security")));
	assert_member(r.json, "ui_theme", "system");
	assert_member(r.json, "ui_density", "comfortable");
	itest_resp_cleanup(&r);

	body = json_pack("{s:s,s:b}", "ui_theme", "dark",
	    "notification_email", 0);
	itest_users_req("PATCH", SETTINGS, t.access, body, &r);
	json_decref(body);
	itest_auth_expect(&r, 200, "PATCH settings");
	itest_resp_cleanup(&r);
	body = json_pack("{s:s}", "ui_density", "compact");
	itest_users_req("PATCH", SETTINGS, t.access, body, &r);
	json_decref(body);
	itest_auth_expect(&r, 200, "PATCH settings again");
	itest_resp_cleanup(&r);
	itest_users_req("GET", SETTINGS, t.access, NULL, &r);
	itest_auth_expect(&r, 200, "GET settings after PATCH");
	assert_member(r.json, "ui_theme", "dark");
	assert_member(r.json, "ui_density", "compact");
	assert_true(json_is_false(json_object_get(r.json,
	    "notification_email")));
	assert_true(json_is_true(json_object_get(r.json,
	    "notification_security")));
	itest_resp_cleanup(&r);

	body = json_pack("{s:s}", "ui_theme", "purple");
	assert_int_equal(itest_users_status("PATCH", SETTINGS, t.access,
	    body), 400);
	json_decref(body);
	body = json_pack("{s:s}", "notification_email", "yes");
	assert_int_equal(itest_users_status("PATCH", SETTINGS, t.access,
	    body), 400);
	json_decref(body);
	body = json_pack("{s:s}", "user_id", u.id);
	assert_int_equal(itest_users_status("PATCH", SETTINGS, t.access,
	    body), 400);
	json_decref(body);
	body = json_object();
	assert_int_equal(itest_users_status("PATCH", SETTINGS, t.access,
	    body), 400);
	json_decref(body);
	assert_int_equal(itest_users_status("GET", SETTINGS, NULL, NULL),
	    401);
}

/*
 * A role change made by an administrator shows in the cached profile
 * at once.  It needs websands-admin; without it this test is skipped.
 */
static void
test_me_role_change(void **state)
{
	struct itest_user	 u, a;
	struct itest_tokens	 t, at;
	struct itest_resp	 r;
	struct db_conn		*c;
	char			 path[128];
	json_t			*body, *me;

	(void)state;
	itest_auth_new_user(&u, &t, "profrole");
	itest_auth_new_user(&a, &at, "profadmin");
	c = itest_users_db();
	itest_users_sql(c, "UPDATE users SET role = 'admin' WHERE id ="
	    " $1::uuid RETURNING id", a.id, NULL, path, sizeof(path));
	db_conn_close(c);
	itest_auth_login(&a, &at);
	me = itest_users_me(t.access);	/* cached with role user */
	assert_member(me, "role", "user");
	json_decref(me);
	snprintf(path, sizeof(path), "/api/v1/admin/users/%s", u.id);
	body = json_pack("{s:s}", "role", "admin");
	itest_users_req("PATCH", path, at.access, body, &r);
	json_decref(body);
	if (r.status == 404 || r.status == 502 || r.status == 403) {
		itest_resp_cleanup(&r);
		/* websands-admin is not there (or wants MFA): skip. */
		skip();
	}
	itest_auth_expect(&r, 200, "admin PATCH role");
	itest_resp_cleanup(&r);
	/* The role change ended the user's sessions; sign in again. */
	itest_auth_login(&u, &t);
	me = itest_users_me(t.access);
	assert_member(me, "role", "admin");
	json_decref(me);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_me_fields),
		cmocka_unit_test(test_me_from_cache),
		cmocka_unit_test(test_me_patch),
		cmocka_unit_test(test_me_patch_refused),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_me_role_change),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
