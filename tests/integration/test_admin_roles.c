/*
 * Who may use websands-admin: every admin route, called with no token,
 * a garbage token, a plain user's token, a suspended administrator's
 * token and a just-demoted administrator's token, answers 401 or 403
 * and never data, and changes nothing.  The role is read from the
 * database at each request, so a demotion or suspension takes effect
 * on the very next request, whether made through the API (which also
 * ends the sessions: 401) or straight in SQL (403).  With
 * ADMIN_REQUIRE_MFA, an administrator without MFA gets MFA_REQUIRED.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest_admin.h"

struct admin_route {
	const char	*method;
	const char	*path;		/* {id}: the target user's id */
	const char	*body;
};

static const struct admin_route	routes[] = {
	{ "GET", "/api/v1/admin/users", NULL },
	{ "GET", "/api/v1/admin/users?q={id}", NULL },
	{ "GET", "/api/v1/admin/users/{id}", NULL },
	{ "PATCH", "/api/v1/admin/users/{id}", "{\"status\":\"suspended\"}" },
	{ "PATCH", "/api/v1/admin/users/{id}", "{\"role\":\"admin\"}" },
	{ "DELETE", "/api/v1/admin/users/{id}", NULL },
	{ "POST", "/api/v1/admin/users/{id}/unlock", NULL },
	{ "POST", "/api/v1/admin/users/{id}/revoke-sessions", NULL },
	{ "POST", "/api/v1/admin/users/{id}/reset-mfa", NULL },
	{ "POST", "/api/v1/admin/users/{id}/send-password-reset", NULL },
	{ "GET", "/api/v1/admin/users/{id}/sessions", NULL },
	{ "GET", "/api/v1/admin/audit", NULL },
	{ "GET", "/api/v1/admin/audit?user={id}", NULL },
	{ "GET", "/api/v1/admin/stats", NULL },
};

#define NROUTES	(sizeof(routes) / sizeof(routes[0]))

/* The account every refused call aims at; it must come out unharmed. */
static struct itest_admin	target;

static int
setup(void **state)
{
	(void)state;
	itest_admin_new(&target, "rtarget", 0);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	itest_admin_db_close();
	return 0;
}

static void
route_path(const struct admin_route *rt, char *out, size_t len)
{
	const char	*at = strstr(rt->path, "{id}");
	int		 w;

	if (at == NULL)
		w = snprintf(out, len, "%s", rt->path);
	else
		w = snprintf(out, len, "%.*s%s%s", (int)(at - rt->path),
		    rt->path, target.u.id, at + 4);
	assert_true(w > 0 && (size_t)w < len);
}

/*
 * Every route with bearer answers want (0: 401 or 403), as a problem
 * reply that carries nothing of the target; then the target
 * is still there, active, a plain user, with its session alive.
 */
static void
assert_refused_everywhere(const char *bearer, long want, const char *who)
{
	struct itest_resp	 r;
	char			 path[256], ct[128], status[32];
	size_t			 i;

	for (i = 0; i < NROUTES; i++) {
		route_path(&routes[i], path, sizeof(path));
		assert_int_equal(itest_admin_call(routes[i].method, path,
		    bearer, routes[i].body, &r), 0);
		if (want != 0 ? r.status != want : r.status != 401 &&
		    r.status != 403)
			fail_msg("%s: %s %s answered %ld, wanted %ld: %.500s",
			    who, routes[i].method, path, r.status, want,
			    buf_str(&r.body));
		assert_non_null(itest_header(&r, "Content-Type", ct,
		    sizeof(ct)));
		assert_non_null(strstr(ct, "application/problem+json"));
		assert_null(strstr(buf_str(&r.body), target.u.email));
		assert_null(strstr(buf_str(&r.body), target.u.username));
		assert_null(json_object_get(r.json, "users"));
		assert_null(json_object_get(r.json, "events"));
		itest_resp_cleanup(&r);
	}
	itest_admin_sql_value("SELECT status || '/' || role FROM users"
	    " WHERE id = $1::uuid", 1, (const char *[]){ target.u.id },
	    status, sizeof(status));
	assert_string_equal(status, "active/user");
	/* No refused call ended the target's session either. */
	assert_int_equal(itest_auth_refresh(target.t.refresh, &target.t),
	    200);
}

static void
test_roles_no_token(void **state)
{
	(void)state;
	assert_refused_everywhere(NULL, 401, "no token");
}

static void
test_roles_garbage_token(void **state)
{
	(void)state;
	assert_refused_everywhere("not.a.token", 401, "garbage token");
}

static void
test_roles_user_token(void **state)
{
	struct itest_admin	 u;

	(void)state;
	itest_admin_new(&u, "rplain", 0);
	assert_refused_everywhere(u.t.access, 403, "user token");
}

/* Suspended in SQL behind the API's back: the row says no at once. */
static void
test_roles_suspended_admin_sql(void **state)
{
	struct itest_admin	 a;

	(void)state;
	itest_admin_new(&a, "rsusp", 1);
	assert_int_equal(itest_admin_status("GET", "/api/v1/admin/stats",
	    a.t.access, NULL), 200);
	itest_admin_sql("UPDATE users SET status = 'suspended'"
	    " WHERE id = $1::uuid", 1, (const char *[]){ a.u.id });
	/*
	 * memcached may still vouch for the session (401 needs the
	 * database to be asked); the role check refuses it either way.
	 */
	assert_refused_everywhere(a.t.access, 0, "suspended admin");
}

/* Demoted in SQL: the very next request is refused with 403. */
static void
test_roles_demoted_admin_sql(void **state)
{
	struct itest_admin	 a;

	(void)state;
	itest_admin_new(&a, "rdemo", 1);
	assert_int_equal(itest_admin_status("GET", "/api/v1/admin/users",
	    a.t.access, NULL), 200);
	itest_admin_sql("UPDATE users SET role = 'user' WHERE id = $1::uuid",
	    1, (const char *[]){ a.u.id });
	assert_refused_everywhere(a.t.access, 403, "demoted admin");
}

/* Demoted and suspended by another admin: the sessions end (401). */
static void
test_roles_demoted_by_admin_api(void **state)
{
	struct itest_admin	 boss, a, s;
	struct itest_resp	 r;
	char			 path[128];

	(void)state;
	itest_admin_new(&boss, "rboss", 1);
	itest_admin_new(&a, "rdemoted", 1);
	itest_admin_new(&s, "rsuspended", 1);
	assert_int_equal(itest_admin_status("GET", "/api/v1/admin/stats",
	    a.t.access, NULL), 200);
	assert_int_equal(itest_admin_status("GET", "/api/v1/admin/stats",
	    s.t.access, NULL), 200);

	snprintf(path, sizeof(path), "/api/v1/admin/users/%s", a.u.id);
	assert_int_equal(itest_admin_call("PATCH", path, boss.t.access,
	    "{\"role\":\"user\"}", &r), 0);
	itest_auth_expect(&r, 200, "demote");
	assert_string_equal(json_string_value(json_object_get(r.json,
	    "role")), "user");
	itest_resp_cleanup(&r);
	assert_refused_everywhere(a.t.access, 401, "admin demoted by API");
	assert_int_equal(itest_auth_refresh(a.t.refresh, NULL), 401);

	snprintf(path, sizeof(path), "/api/v1/admin/users/%s", s.u.id);
	assert_int_equal(itest_admin_status("PATCH", path, boss.t.access,
	    "{\"status\":\"suspended\"}"), 200);
	assert_refused_everywhere(s.t.access, 401, "admin suspended by API");
	assert_int_equal(itest_auth_refresh(s.t.refresh, NULL), 401);
}

/*
 * ADMIN_REQUIRE_MFA=true, in a websands-admin run as plain CGI with
 * the stack's configuration: MFA_REQUIRED until the account has MFA.
 */
static long
cgi_stats(const char *access, struct buf *out)
{
	struct buf	 cmd;
	int		 rc;

	buf_init(&cmd, 0);
	assert_int_equal(buf_printf(&cmd, "env ADMIN_REQUIRE_MFA=true"
	    " GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET"
	    " DOCUMENT_URI=/api/v1/admin/stats"
	    " REQUEST_URI=/api/v1/admin/stats QUERY_STRING="
	    " REMOTE_ADDR=127.0.0.1 SERVER_PROTOCOL=HTTP/1.1"
	    " 'HTTP_AUTHORIZATION=Bearer %s'"
	    " '%s/websands-admin' --config '%s/websands.env' </dev/null"
	    " 2>/dev/null", access, itest_env("WS_BUILD_DIR"),
	    itest_env("WS_RUN_DIR")), 0);
	rc = itest_run(buf_str(&cmd), out);
	buf_cleanup(&cmd);
	return rc;
}

static void
test_roles_require_mfa(void **state)
{
	struct itest_admin	 a;
	struct buf		 out;

	(void)state;
	itest_admin_new(&a, "rmfa", 1);
	buf_init(&out, 0);
	assert_int_equal(cgi_stats(a.t.access, &out), 0);
	if (strstr(buf_str(&out), "Status: 403") == NULL ||
	    strstr(buf_str(&out), "MFA_REQUIRED") == NULL)
		fail_msg("without MFA: %s", buf_str(&out));
	assert_null(strstr(buf_str(&out), "\"users\""));
	itest_admin_sql("UPDATE users SET mfa_enabled = true"
	    " WHERE id = $1::uuid", 1, (const char *[]){ a.u.id });
	buf_cleanup(&out);
	buf_init(&out, 0);
	assert_int_equal(cgi_stats(a.t.access, &out), 0);
	if (strstr(buf_str(&out), "\"users\"") == NULL)
		fail_msg("with MFA: %s", buf_str(&out));
	/* The stack itself runs without the requirement. */
	itest_admin_sql("UPDATE users SET mfa_enabled = false"
	    " WHERE id = $1::uuid", 1, (const char *[]){ a.u.id });
	assert_int_equal(itest_admin_status("GET", "/api/v1/admin/stats",
	    a.t.access, NULL), 200);
	buf_cleanup(&out);
}

/* For an administrator, a malformed id is simply no such user. */
static void
test_roles_malformed_id(void **state)
{
	static const char * const	 bad[] = {
		"x", "1", "00000000-0000-0000-0000-00000000000g",
		"00000000000000000000000000000000",
		"%27%20OR%201%3D1--", "00000000-0000-0000-0000-0000000000000",
	};
	struct itest_admin	 a;
	char			 path[256];
	size_t			 i;

	(void)state;
	itest_admin_new(&a, "rids", 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "/api/v1/admin/users/%s", bad[i]);
		assert_int_equal(itest_admin_status("GET", path, a.t.access,
		    NULL), 404);
		assert_int_equal(itest_admin_status("DELETE", path,
		    a.t.access, NULL), 404);
		snprintf(path, sizeof(path), "/api/v1/admin/users/%s/unlock",
		    bad[i]);
		assert_int_equal(itest_admin_status("POST", path, a.t.access,
		    NULL), 404);
	}
	/* A well-formed id of nobody is 404 too. */
	assert_int_equal(itest_admin_status("GET", "/api/v1/admin/users/"
	    "00000000-0000-4000-8000-000000000000", a.t.access, NULL), 404);
	assert_int_equal(itest_admin_status("POST", "/api/v1/admin/users/"
	    "00000000-0000-4000-8000-000000000000/reset-mfa", a.t.access,
	    NULL), 404);
	assert_int_equal(itest_admin_status("GET", "/api/v1/admin/users/"
	    "00000000-0000-4000-8000-000000000000/sessions", a.t.access,
	    NULL), 404);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_roles_no_token),
		cmocka_unit_test(test_roles_garbage_token),
		cmocka_unit_test(test_roles_user_token),
		cmocka_unit_test(test_roles_suspended_admin_sql),
		cmocka_unit_test(test_roles_demoted_admin_sql),
		cmocka_unit_test(test_roles_demoted_by_admin_api),
		cmocka_unit_test(test_roles_require_mfa),
		cmocka_unit_test(test_roles_malformed_id),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
