/*
 * `websands purge` on a database of its own: exactly the rows past
 * their retention go (expired email and refresh tokens, sessions ended
 * more than SESSION_RETENTION_DAYS ago with their tokens, mail sent
 * more than MAIL_RETENTION_DAYS ago), everything else stays, and bad
 * retention settings stop it before it touches anything.  The audit
 * part of purge is tested with `audit verify` in test_cli_audit.
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
exec_scratch(const char *sql)
{
	if (db_exec(itest_admin_scratch(), sql) != 0)
		fail_msg("SQL failed: %.300s", sql);
}

/*
 * One user with rows on both sides of every retention line; each row
 * is labelled by its user agent, token byte or template so the test
 * can say which survived.
 */
static void
seed(void)
{
	exec_scratch("INSERT INTO users (id, username, email, password_hash)"
	    " VALUES ('00000000-0000-4000-8000-000000000001', 'purged_user',"
	    " 'purged@example.com', 'x')");
	exec_scratch("INSERT INTO sessions (user_id, created_at, expires_at,"
	    " idle_expires_at, revoked_at, user_agent) VALUES"
	    " ('00000000-0000-4000-8000-000000000001', now() - interval"
	    " '60 days', now() + interval '5 days', now() + interval '1 day',"
	    " now() - interval '40 days', 'revoked-long-ago'),"
	    " ('00000000-0000-4000-8000-000000000001', now() - interval"
	    " '90 days', now() - interval '40 days', now() - interval"
	    " '45 days', NULL, 'expired-long-ago'),"
	    " ('00000000-0000-4000-8000-000000000001', now() - interval"
	    " '50 days', now() + interval '5 days', now() - interval"
	    " '31 days', NULL, 'idle-long-ago'),"
	    " ('00000000-0000-4000-8000-000000000001', now(), now() +"
	    " interval '30 days', now() + interval '7 days', NULL, 'live'),"
	    " ('00000000-0000-4000-8000-000000000001', now() - interval"
	    " '3 days', now() + interval '20 days', now() + interval"
	    " '4 days', now() - interval '2 days', 'revoked-recently')");
	exec_scratch("INSERT INTO refresh_tokens (session_id, token_hash,"
	    " expires_at) SELECT id, sha256(convert_to(user_agent, 'UTF8')),"
	    " now() + interval '1 day' FROM sessions");
	exec_scratch("INSERT INTO refresh_tokens (session_id, token_hash,"
	    " expires_at) SELECT id, sha256('old'), now() - interval"
	    " '1 minute' FROM sessions WHERE user_agent = 'live'");
	exec_scratch("INSERT INTO email_tokens (user_id, purpose, token_hash,"
	    " expires_at, used_at) VALUES"
	    " ('00000000-0000-4000-8000-000000000001', 'verify', '\\x01',"
	    " now() - interval '1 minute', NULL),"
	    " ('00000000-0000-4000-8000-000000000001', 'reset', '\\x02',"
	    " now() + interval '1 hour', NULL),"
	    " ('00000000-0000-4000-8000-000000000001', 'reset', '\\x03',"
	    " now() + interval '1 hour', now())");
	exec_scratch("INSERT INTO email_outbox (user_id, recipient, template,"
	    " status, created_at, sent_at, next_attempt_at) VALUES"
	    " (NULL, 'a@example.com', 'verify_email', 'sent', now() -"
	    " interval '41 days', now() - interval '40 days', now()),"
	    " (NULL, 'b@example.com', 'account_locked', 'sent', now() -"
	    " interval '2 days', now() - interval '1 day', now()),"
	    " (NULL, 'c@example.com', 'password_changed', 'failed', now() -"
	    " interval '60 days', NULL, now()),"
	    " (NULL, 'd@example.com', 'mfa_enabled', 'pending', now() -"
	    " interval '60 days', NULL, now() + interval '1 day')");
}

static void
expect(const char *sql, const char *want)
{
	char	 v[512];

	itest_admin_scratch_value(sql, v, sizeof(v));
	if (strcmp(v, want) != 0)
		fail_msg("%s\n  gave \"%s\", wanted \"%s\"", sql, v, want);
}

static void
test_purge_retention(void **state)
{
	struct buf	 out;

	(void)state;
	itest_admin_scratch_create();
	seed();
	buf_init(&out, 0);
	assert_int_equal(itest_admin_scratch_cli("purge", &out), 0);
	if (strstr(buf_str(&out), "removed 1 email tokens, 1 refresh tokens,"
	    " 3 sessions, 1 sent mails, 0 events") == NULL)
		fail_msg("purge said: %s", buf_str(&out));
	expect("SELECT string_agg(user_agent, ',' ORDER BY user_agent)"
	    " FROM sessions", "live,revoked-recently");
	/* The purged sessions' tokens went with them; the expired one too. */
	expect("SELECT count(*) FROM refresh_tokens", "2");
	expect("SELECT string_agg(encode(token_hash, 'hex'), ','"
	    " ORDER BY token_hash) FROM email_tokens", "02,03");
	expect("SELECT string_agg(recipient, ',' ORDER BY recipient)"
	    " FROM email_outbox", "b@example.com,c@example.com,"
	    "d@example.com");
	/* A second run finds nothing more. */
	assert_int_equal(itest_admin_scratch_cli("purge", &out), 0);
	assert_non_null(strstr(buf_str(&out), "removed 0 email tokens, 0 "
	    "refresh tokens, 0 sessions, 0 sent mails, 0 events"));
	buf_cleanup(&out);
}

/* Retention from the environment, as an operator sets it. */
static void
test_purge_settings(void **state)
{
	struct buf	 out;

	(void)state;
	itest_admin_scratch_create();
	seed();
	buf_init(&out, 0);
	assert_int_equal(itest_admin_scratch_cli("purge --bogus", &out), 2);
	/* A bad value stops it before anything is removed. */
	assert_int_equal(itest_admin_scratch_cli_env(
	    "SESSION_RETENTION_DAYS=0", "purge", &out), 1);
	assert_non_null(strstr(buf_str(&out), "SESSION_RETENTION_DAYS"));
	assert_int_equal(itest_admin_scratch_cli_env(
	    "AUDIT_RETENTION_DAYS=abc", "purge", &out), 1);
	assert_non_null(strstr(buf_str(&out), "AUDIT_RETENTION_DAYS"));
	assert_int_equal(itest_admin_scratch_cli_env(
	    "MAIL_RETENTION_DAYS=-3", "purge", &out), 1);
	assert_non_null(strstr(buf_str(&out), "MAIL_RETENTION_DAYS"));
	expect("SELECT count(*) FROM sessions", "5");
	expect("SELECT count(*) FROM email_tokens", "3");
	/* One day: the session revoked two days ago goes as well. */
	assert_int_equal(itest_admin_scratch_cli_env(
	    "SESSION_RETENTION_DAYS=1", "purge", &out), 0);
	assert_non_null(strstr(buf_str(&out), " 4 sessions"));
	expect("SELECT string_agg(user_agent, ',') FROM sessions", "live");
	buf_cleanup(&out);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_purge_retention),
		cmocka_unit_test(test_purge_settings),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
