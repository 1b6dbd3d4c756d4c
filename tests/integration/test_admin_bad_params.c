/*
 * Hostile query strings on the admin lists: SQL in sort and filter
 * parameters, huge, negative and malformed limits, bad and foreign
 * cursors, bad dates, unknown and repeated parameters.  Each gets 400
 * VALIDATION_FAILED as problem JSON, never a 500 and never data; and
 * afterwards the tables are all still there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64url.h"
#include "itest_admin.h"

static struct itest_admin	admin;

static int
setup(void **state)
{
	(void)state;
	itest_admin_new(&admin, "badadmin", 1);
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
expect_400(const char *base, const char *query)
{
	struct itest_resp	 r;
	char			 path[2048], ct[128];

	snprintf(path, sizeof(path), "%s?%s", base, query);
	assert_int_equal(itest_admin_call("GET", path, admin.t.access, NULL,
	    &r), 0);
	if (r.status != 400)
		fail_msg("%s answered %ld: %.300s", path, r.status,
		    buf_str(&r.body));
	assert_non_null(itest_header(&r, "Content-Type", ct, sizeof(ct)));
	assert_non_null(strstr(ct, "application/problem+json"));
	assert_string_equal(itest_auth_code(&r), "VALIDATION_FAILED");
	assert_null(json_object_get(r.json, "users"));
	assert_null(json_object_get(r.json, "events"));
	itest_resp_cleanup(&r);
}

/* A cursor made of raw text: base64url of text, as a client could. */
static void
forge_cursor(const char *text, char *out, size_t len)
{
	assert_int_equal(b64url_encode(text, strlen(text), out, len), 0);
}

static void
test_bad_users_params(void **state)
{
	static const char * const	 bad[] = {
		"sort=created_at;DROP%20TABLE%20users",
		"sort=created_at%20DESC",
		"sort=id", "sort=password_hash", "sort=", "sort=USERNAME",
		"order=up", "order=asc;--", "order=DESC",
		"limit=-1", "limit=0", "limit=101", "limit=1000000",
		"limit=99999999999999999999999999", "limit=1e3", "limit=+5",
		"limit=05", "limit=%205", "limit=5%20", "limit=", "limit=0x10",
		"limit=5.0", "limit=%E2%80%8B5", "limit",
		"role=superuser", "role=admin'%20OR%20'1'='1", "role=ADMIN",
		"status=deleted", "status=active--",
		"verified=yes", "verified=1", "locked=TRUE", "mfa=%00",
		"q=", "q=%01abc", "q=%FF%FE", "q=a%00b", "q=%C0%AF",
		"q=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"cursor=", "cursor=garbage!", "cursor=AAAA",
		"cursor=%00",
		"cursor=eyJ1Ijox", "cursor=WyJ1Il0=",
		"limit=1&limit=2", "q=a&q=b", "foo=1", "Limit=5",
		"page=2", "offset=10", "q=a&sort=created_at&evil=1",
	};
	static const char * const	 forged[] = {
		"not json",
		"[\"u\",\"created_at\",\"desc\"]",
		"[\"u\",\"created_at\",\"desc\",\"x\",\"y\",\"z\"]",
		"[\"a\",\"created_at\",\"desc\",\"2026-01-01T00:00:00Z\","
		    "\"00000000-0000-4000-8000-000000000000\"]",
		"[\"u\",\"created_at\",\"desc\",\"2026-13-01T00:00:00Z\","
		    "\"00000000-0000-4000-8000-000000000000\"]",
		"[\"u\",\"created_at\",\"desc\",\"2026-02-30T00:00:00Z\","
		    "\"00000000-0000-4000-8000-000000000000\"]",
		"[\"u\",\"created_at\",\"desc\",\"'; DROP TABLE users;--\","
		    "\"00000000-0000-4000-8000-000000000000\"]",
		"[\"u\",\"created_at\",\"desc\",\"\","
		    "\"00000000-0000-4000-8000-000000000000\"]",
		"[\"u\",\"created_at\",\"desc\",\"2026-01-01T00:00:00Z\","
		    "\"1 OR 1=1\"]",
		"[\"u\",\"created_at\",\"desc\",1,2]",
		"[\"u\",\"username\",\"asc\",\"a\\u0000b\","
		    "\"00000000-0000-4000-8000-000000000000\"]",
		"[\"u\",\"username\",\"asc\",\"a\\u0001b\","
		    "\"00000000-0000-4000-8000-000000000000\"]",
		"{\"u\":1}",
		"[\"u\",\"created_at\",\"desc\",\"2026-01-01T00:00:00Z\","
		    "\"00000000-0000-4000-8000-000000000000\"] trailing",
	};
	char	 cursor[1024], q[1100];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_400("/api/v1/admin/users", bad[i]);
	for (i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
		forge_cursor(forged[i], cursor, sizeof(cursor));
		snprintf(q, sizeof(q), "cursor=%s", cursor);
		expect_400("/api/v1/admin/users", q);
	}
	/* Too long to be any cursor of ours. */
	memset(cursor, 'A', 700);
	cursor[700] = '\0';
	snprintf(q, sizeof(q), "cursor=%s", cursor);
	expect_400("/api/v1/admin/users", q);
}

static void
test_bad_audit_params(void **state)
{
	static const char * const	 bad[] = {
		"user=1", "user=x'%20OR%201=1--", "actor=notauuid",
		"user=00000000-0000-4000-8000-00000000000", "type=Login",
		"type=login_failed'--", "type=a%20b", "ip=999.1.1.1",
		"ip=localhost", "ip=1.2.3.4/8", "ip=1.2.3.4;select",
		"from=yesterday", "from=2026-02-30T00:00:00Z",
		"from=2026-01-01", "from=2026-01-01T00:00:00",
		"from=2026-01-01%2000:00:00Z", "to=2026-01-01T24:00:00Z",
		"to=2026-01-01T00:00:00%2B24:00",
		"to=2026-01-01T00:00:00-16:00", "to=0000-01-01T00:00:00Z",
		"to=2026-01-01T00:00:00.1234567890Z", "from=now()",
		"limit=0", "limit=-5", "limit=101", "limit=abc",
		"cursor=xyz", "cursor=WyJhIiwiLTEiXQ", "sort=id", "q=a",
		"user=&type=x",
	};
	char	 cursor[256], q[300];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_400("/api/v1/admin/audit", bad[i]);
	/* A users cursor is not an audit cursor, and the reverse. */
	forge_cursor("[\"a\",\"0\"]", cursor, sizeof(cursor));
	snprintf(q, sizeof(q), "cursor=%s", cursor);
	expect_400("/api/v1/admin/audit", q);
	expect_400("/api/v1/admin/users", q);
	forge_cursor("[\"a\",\"1;DELETE FROM auth_events\"]", cursor,
	    sizeof(cursor));
	snprintf(q, sizeof(q), "cursor=%s", cursor);
	expect_400("/api/v1/admin/audit", q);
}

/* The edges that are fine, and the schema still whole afterwards. */
static void
test_good_edges(void **state)
{
	json_t	*j;
	char	 v[32];

	(void)state;
	j = itest_admin_get_json("/api/v1/admin/users?limit=1",
	    admin.t.access);
	assert_true(json_array_size(json_object_get(j, "users")) <= 1);
	json_decref(j);
	j = itest_admin_get_json("/api/v1/admin/users?limit=100"
	    "&sort=last_login_at&order=asc", admin.t.access);
	json_decref(j);
	/* Metacharacters are searched for literally: nobody matches. */
	j = itest_admin_get_json("/api/v1/admin/users?q=%25",
	    admin.t.access);
	assert_int_equal(json_integer_value(json_object_get(j, "total")), 0);
	json_decref(j);
	j = itest_admin_get_json("/api/v1/admin/users?q=_", admin.t.access);
	assert_int_equal(json_integer_value(json_object_get(j, "total")), 0);
	json_decref(j);
	j = itest_admin_get_json("/api/v1/admin/users?q=%27%20OR%201%3D1--",
	    admin.t.access);
	assert_int_equal(json_integer_value(json_object_get(j, "total")), 0);
	json_decref(j);
	j = itest_admin_get_json("/api/v1/admin/users?q=%C3%A9t%C3%A9",
	    admin.t.access);
	json_decref(j);
	j = itest_admin_get_json("/api/v1/admin/audit?ip=::1&limit=100",
	    admin.t.access);
	json_decref(j);
	j = itest_admin_get_json("/api/v1/admin/audit?from=2026-01-01T00:00:"
	    "60Z&to=2999-12-31T23:59:59.999999999%2B14:00", admin.t.access);
	json_decref(j);
	/* The extremes the parser lets through, PostgreSQL takes too. */
	j = itest_admin_get_json("/api/v1/admin/audit?from=0001-01-01T00:00:"
	    "00%2B15:59&to=9999-12-31T23:59:59.999999999-15:59",
	    admin.t.access);
	json_decref(j);
	itest_admin_sql_value("SELECT count(*) FROM pg_tables WHERE tablename"
	    " IN ('users', 'auth_events', 'sessions')", 0, NULL, v,
	    sizeof(v));
	assert_string_equal(v, "3");
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_bad_users_params),
		cmocka_unit_test(test_bad_audit_params),
		cmocka_unit_test(test_good_edges),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
