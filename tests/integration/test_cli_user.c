/*
 * `websands user create` and `websands user list`, run as an operator
 * would, against the stack's database: the first administrator comes
 * from here, verified and able to use the admin routes at once; the
 * password comes only from stdin (or the terminal), never from the
 * command line, and must meet the policy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest_admin.h"

static int
teardown(void **state)
{
	(void)state;
	itest_admin_db_close();
	return 0;
}

static long
count_users(const char *username)
{
	char	 v[32];

	itest_admin_sql_value("SELECT count(*) FROM users WHERE username ="
	    " $1", 1, (const char *[]){ username }, v, sizeof(v));
	return atol(v);
}

static void
test_cli_create_admin(void **state)
{
	struct itest_admin	 a;
	char			 v[128];

	(void)state;
	itest_admin_new(&a, "cliadm", 1);
	itest_admin_sql_value("SELECT role || '/' || status || '/' ||"
	    " (email_verified_at IS NOT NULL)::text || '/' ||"
	    " (password_hash LIKE '$2b$%')::text FROM users"
	    " WHERE id = $1::uuid", 1, (const char *[]){ a.u.id }, v,
	    sizeof(v));
	assert_string_equal(v, "admin/active/true/true");
	assert_int_equal(itest_admin_status("GET", "/api/v1/admin/stats",
	    a.t.access, NULL), 200);
	/* Its creation is in the audit log, by no one (the operator). */
	itest_admin_sql_value("SELECT count(*) FROM auth_events WHERE"
	    " user_id = $1::uuid AND event_type = 'user_created' AND"
	    " actor_id IS NULL AND details->>'role' = 'admin'", 1,
	    (const char *[]){ a.u.id }, v, sizeof(v));
	assert_string_equal(v, "1");
}

static void
test_cli_create_user(void **state)
{
	struct itest_admin	 u;

	(void)state;
	itest_admin_new(&u, "cliusr", 0);
	assert_int_equal(itest_admin_status("GET", "/api/v1/admin/stats",
	    u.t.access, NULL), 403);
}

static void
test_cli_password_never_from_argv(void **state)
{
	struct buf	 out;
	char		 name[64], args[256];

	(void)state;
	itest_auth_unique(name, sizeof(name), "cliargv");
	itest_auth_secret("Secr3t!Pass");
	buf_init(&out, 0);
	snprintf(args, sizeof(args), "user create --admin --username %s "
	    "--email %s@example.com --password Secr3t!Pass", name, name);
	assert_int_equal(itest_admin_cli(args, "Secr3t!Pass\n", &out), 2);
	assert_non_null(strstr(buf_str(&out), "never taken from the "
	    "command line"));
	snprintf(args, sizeof(args), "user create --username %s "
	    "--email %s@example.com --password=Secr3t!Pass", name, name);
	assert_int_equal(itest_admin_cli(args, "Secr3t!Pass\n", &out), 2);
	assert_int_equal(count_users(name), 0);
	buf_cleanup(&out);
}

static void
test_cli_password_policy(void **state)
{
	static const char * const	 weak[] = {
		"short1!\n", "alllowercase1!\n", "NoDigitsHere!\n",
		"NoSpecial123\n", "\n", "",
	};
	struct buf	 out;
	char		 name[64], args[256], pw[128], line[256];
	size_t		 i;

	(void)state;
	itest_auth_unique(name, sizeof(name), "clipol");
	snprintf(args, sizeof(args), "user create --username %s --email "
	    "%s@example.com", name, name);
	for (i = 0; i < sizeof(weak) / sizeof(weak[0]); i++) {
		buf_init(&out, 0);
		assert_int_equal(itest_admin_cli(args, weak[i], &out), 1);
		buf_cleanup(&out);
	}
	/* The username inside the password is refused too. */
	snprintf(pw, sizeof(pw), "X1!%s", name);
	itest_auth_secret(pw);
	snprintf(line, sizeof(line), "%s\n", pw);
	buf_init(&out, 0);
	assert_int_equal(itest_admin_cli(args, line, &out), 1);
	assert_non_null(strstr(buf_str(&out), "not acceptable"));
	/* The password is never echoed back. */
	assert_null(strstr(buf_str(&out), pw));
	buf_cleanup(&out);
	assert_int_equal(count_users(name), 0);
}

static void
test_cli_create_refusals(void **state)
{
	struct itest_user	 u;
	struct buf		 out;
	char			 args[768], pw[64], line[80];

	(void)state;
	itest_admin_create(&u, "clidup", 0);
	itest_auth_password(pw, sizeof(pw));
	snprintf(line, sizeof(line), "%s\n", pw);
	buf_init(&out, 0);
	/* A taken name, in another case. */
	snprintf(args, sizeof(args), "user create --username %c%s --email "
	    "fresh_%s", u.username[0] - 32, u.username + 1, u.email);
	assert_int_equal(itest_admin_cli(args, line, &out), 1);
	assert_non_null(strstr(buf_str(&out), "taken"));
	/* A taken address, in another case. */
	snprintf(args, sizeof(args), "user create --username fresh_%s "
	    "--email %c%s", u.username, u.email[0] - 32, u.email + 1);
	assert_int_equal(itest_admin_cli(args, line, &out), 1);
	/* Bad input never reaches the database. */
	assert_int_equal(itest_admin_cli("user create --username 'a b' "
	    "--email x@example.com", line, &out), 1);
	assert_int_equal(itest_admin_cli("user create --username abcdef "
	    "--email not-an-address", line, &out), 1);
	assert_int_equal(itest_admin_cli("user create --email "
	    "x@example.com", line, &out), 2);
	assert_int_equal(itest_admin_cli("user create --username abcdef",
	    line, &out), 2);
	assert_int_equal(itest_admin_cli("user remove", line, &out), 2);
	assert_int_equal(itest_admin_cli("user create --admin=yes "
	    "--username abcdef --email x@example.com", line, &out), 2);
	buf_cleanup(&out);
}

static void
test_cli_list(void **state)
{
	struct itest_user	 a, u;
	struct buf		 out;

	(void)state;
	itest_admin_create(&a, "clilista", 1);
	itest_admin_create(&u, "clilistu", 0);
	buf_init(&out, 0);
	assert_int_equal(itest_admin_cli("user list --limit 100000", NULL,
	    &out), 0);
	assert_non_null(strstr(buf_str(&out), a.username));
	assert_non_null(strstr(buf_str(&out), u.username));
	assert_null(strstr(buf_str(&out), "$2b$"));
	buf_cleanup(&out);
	buf_init(&out, 0);
	assert_int_equal(itest_admin_cli("user list --role admin --limit "
	    "100000", NULL, &out), 0);
	assert_non_null(strstr(buf_str(&out), a.username));
	assert_null(strstr(buf_str(&out), u.username));
	buf_cleanup(&out);
	buf_init(&out, 0);
	assert_int_equal(itest_admin_cli("user list --role root", NULL,
	    &out), 2);
	assert_int_equal(itest_admin_cli("user list --limit -1", NULL,
	    &out), 2);
	assert_int_equal(itest_admin_cli("user list --limit 1x", NULL,
	    &out), 2);
	buf_cleanup(&out);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_cli_create_admin),
		cmocka_unit_test(test_cli_create_user),
		cmocka_unit_test(test_cli_password_never_from_argv),
		cmocka_unit_test(test_cli_password_policy),
		cmocka_unit_test(test_cli_create_refusals),
		cmocka_unit_test(test_cli_list),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
