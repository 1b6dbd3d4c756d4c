/*
 * `websands outbox list | retry` on a database of its own (so "retry
 * every failed mail" cannot touch the mail of other tests): failed mail
 * goes back to pending with a fresh count of attempts and its link
 * back; mail whose single-use link was dropped when it failed is named
 * and left alone; a pending mail named by id is made due now.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest_admin.h"

static int
teardown(void **state)
{
	(void)state;
	itest_admin_scratch_drop();
	return 0;
}

static void
expect(const char *sql, const char *want)
{
	char	 v[512];

	itest_admin_scratch_value(sql, v, sizeof(v));
	if (strcmp(v, want) != 0)
		fail_msg("%s\n  gave \"%s\", wanted \"%s\"", sql, v, want);
}

/*
 * Ids 1 to 5: a failed notice (its link was dropped), a failed reset
 * (its token link dropped: it cannot be sent again), a failed
 * verification that still has its link, a pending mail due tomorrow
 * and a sent one.
 */
static void
seed(void)
{
	if (db_exec(itest_admin_scratch(), "INSERT INTO email_outbox (id,"
	    " recipient, template, vars, status, attempts, next_attempt_at,"
	    " last_error) VALUES"
	    " (1, 'one@example.com', 'account_locked',"
	    " '{\"username\": \"one\"}', 'failed', 8, now(), '550 no'),"
	    " (2, 'two@example.com', 'password_reset',"
	    " '{\"username\": \"two\"}', 'failed', 8, now(), '550 no'),"
	    " (3, 'three@example.com', 'verify_email',"
	    " '{\"username\": \"three\", \"link_path\": \"/verify-email\"}',"
	    " 'failed', 3, now(), 'refused'),"
	    " (4, 'four@example.com', 'mfa_enabled', '{}', 'pending', 2,"
	    " now() + interval '1 day', 'busy'),"
	    " (5, 'five@example.com', 'password_changed', '{}', 'sent', 1,"
	    " now(), NULL)") != 0)
		fail_msg("cannot seed the outbox");
}

static void
test_outbox_list(void **state)
{
	struct buf	 out;

	(void)state;
	itest_admin_scratch_create();
	seed();
	buf_init(&out, 0);
	assert_int_equal(itest_admin_scratch_cli("outbox list", &out), 0);
	/* Unsent by default: failed and pending, not sent. */
	assert_non_null(strstr(buf_str(&out), "one@example.com"));
	assert_non_null(strstr(buf_str(&out), "four@example.com"));
	assert_null(strstr(buf_str(&out), "five@example.com"));
	assert_non_null(strstr(buf_str(&out), "550 no"));
	assert_int_equal(itest_admin_scratch_cli("outbox list --status "
	    "failed", &out), 0);
	assert_non_null(strstr(buf_str(&out), "three@example.com"));
	assert_null(strstr(buf_str(&out), "four@example.com"));
	assert_int_equal(itest_admin_scratch_cli("outbox list --status all "
	    "--limit 1", &out), 0);
	assert_non_null(strstr(buf_str(&out), "one@example.com"));
	assert_null(strstr(buf_str(&out), "two@example.com"));
	assert_int_equal(itest_admin_scratch_cli("outbox list --status "
	    "lost", &out), 2);
	assert_int_equal(itest_admin_scratch_cli("outbox list --limit 0",
	    &out), 2);
	assert_int_equal(itest_admin_scratch_cli("outbox purge", &out), 2);
	buf_cleanup(&out);
}

static void
test_outbox_retry_one(void **state)
{
	struct buf	 out;

	(void)state;
	itest_admin_scratch_create();
	seed();
	buf_init(&out, 0);
	assert_int_equal(itest_admin_scratch_cli("outbox retry 1", &out), 0);
	expect("SELECT status || '/' || attempts || '/' ||"
	    " coalesce(last_error, '-') || '/' || (vars->>'link_path')"
	    " FROM email_outbox WHERE id = 1",
	    "pending/0/-//password/forgot");
	/* The reset link was a token: it is gone and cannot come back. */
	assert_int_equal(itest_admin_scratch_cli("outbox retry 2", &out), 1);
	assert_non_null(strstr(buf_str(&out), "single-use link"));
	expect("SELECT status FROM email_outbox WHERE id = 2", "failed");
	/* A pending mail is made due now. */
	assert_int_equal(itest_admin_scratch_cli("outbox retry 4", &out), 0);
	expect("SELECT status || '/' || (next_attempt_at <= now())::text"
	    " FROM email_outbox WHERE id = 4", "pending/true");
	/* A sent mail, no mail at all, not a number. */
	assert_int_equal(itest_admin_scratch_cli("outbox retry 5", &out), 1);
	assert_int_equal(itest_admin_scratch_cli("outbox retry 999", &out),
	    1);
	assert_int_equal(itest_admin_scratch_cli("outbox retry 1x", &out),
	    2);
	assert_int_equal(itest_admin_scratch_cli("outbox retry -1", &out),
	    2);
	assert_int_equal(itest_admin_scratch_cli("outbox retry 1 2", &out),
	    2);
	buf_cleanup(&out);
}

static void
test_outbox_retry_all(void **state)
{
	struct buf	 out;

	(void)state;
	itest_admin_scratch_create();
	seed();
	buf_init(&out, 0);
	assert_int_equal(itest_admin_scratch_cli("outbox retry", &out), 0);
	assert_non_null(strstr(buf_str(&out), "2 failed mails queued again, "
	    "1 could not be"));
	assert_non_null(strstr(buf_str(&out), "mail 2 (password_reset)"));
	expect("SELECT string_agg(id || ':' || status, ',' ORDER BY id)"
	    " FROM email_outbox", "1:pending,2:failed,3:pending,4:pending,"
	    "5:sent");
	/* A link that survived is kept as it was. */
	expect("SELECT vars->>'link_path' FROM email_outbox WHERE id = 3",
	    "/verify-email");
	/* Not due yet: retry without an id leaves pending mail alone. */
	expect("SELECT (next_attempt_at > now())::text FROM email_outbox"
	    " WHERE id = 4", "true");
	buf_cleanup(&out);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_outbox_list),
		cmocka_unit_test(test_outbox_retry_one),
		cmocka_unit_test(test_outbox_retry_all),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
