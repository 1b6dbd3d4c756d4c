/*
 * Password reset and the verification resend, black-box through
 * nginx and the mail sink: both answer 202 whatever the address; a
 * reset link works once, within its hour, and only while it is the
 * newest; the reset ends every session, clears a lockout and mails a
 * notice; a resent verification link verifies.
 */
#include "itest.h"

#include <stdio.h>
#include <string.h>

#include "itest_auth.h"

#define RESET_PATH	"/password/reset#token="

static long
post_email(const char *path, const char *email)
{
	struct itest_resp	 r;
	json_t			*body;
	long			 status;

	body = json_pack("{s:s}", "email", email);
	assert_int_equal(itest_auth_post_json(path, body, NULL, &r), 0);
	status = r.status;
	itest_resp_cleanup(&r);
	json_decref(body);
	return status;
}

/* The token of the n-th reset mail to u (waits for it to arrive). */
static void
reset_token(const struct itest_user *u, int n, char *out, size_t len)
{
	struct buf	 text;
	long long	 t0 = itest_now_ms();

	while (itest_auth_mail_count(u->email, RESET_PATH) < n) {
		if (itest_now_ms() - t0 > ITEST_AUTH_MAIL_WAIT_MS)
			fail_msg("reset mail %d to %s never came", n,
			    u->email);
		itest_auth_sleep_ms(100);
	}
	buf_init(&text, 0);
	assert_int_equal(itest_auth_mail(u->email, RESET_PATH, 0, &text,
	    NULL, 0), 0);
	assert_int_equal(itest_auth_mail_token(buf_str(&text), out, len),
	    0);
	itest_auth_secret(out);
	buf_cleanup(&text);
}

static long
reset(const char *token, const char *password)
{
	struct itest_resp	 r;
	json_t			*body;
	long			 status;

	body = json_pack("{s:s,s:s}", "token", token, "new_password",
	    password);
	assert_int_equal(itest_auth_post_json("/api/v1/auth/password/reset",
	    body, NULL, &r), 0);
	status = r.status;
	itest_resp_cleanup(&r);
	json_decref(body);
	return status;
}

static void
test_forgot_unknown_address(void **state)
{
	char	 email[ITEST_AUTH_EMAIL_MAX];

	(void)state;
	itest_auth_unique(email, sizeof(email), "nobody");
	strncat(email, "@example.com", sizeof(email) - strlen(email) - 1);
	assert_int_equal(post_email("/api/v1/auth/password/forgot", email),
	    202);
	assert_int_equal(post_email("/api/v1/auth/resend-verification",
	    email), 202);
	itest_auth_sleep_ms(1500);
	assert_int_equal(itest_auth_mail_count(email, NULL), 0);
}

static void
test_reset_newest_link_once(void **state)
{
	struct itest_user	 u;
	struct itest_tokens	 t, t2;
	char			 old[128], tok[128];
	char			 pw[ITEST_AUTH_PASSWORD_MAX];
	long			 i;

	(void)state;
	itest_auth_new_user(&u, &t, "reset");
	itest_auth_login(&u, &t2);
	assert_int_equal(post_email("/api/v1/auth/password/forgot",
	    u.email), 202);
	reset_token(&u, 1, old, sizeof(old));
	assert_int_equal(post_email("/api/v1/auth/password/forgot",
	    u.email), 202);
	reset_token(&u, 2, tok, sizeof(tok));
	assert_string_not_equal(old, tok);

	/* A locked account is unlocked by the reset. */
	for (i = 0; i < itest_auth_config_long("LOCKOUT_THRESHOLD", 5); i++)
		assert_int_equal(itest_auth_login_as(u.username,
		    "Wrong-passw0rd!", NULL), 401);
	assert_int_equal(itest_auth_login_as(u.username, u.password, NULL),
	    403);

	itest_auth_password(pw, sizeof(pw));
	/* The older link died with the newer request. */
	assert_int_equal(reset(old, pw), 400);
	/* The policy applies, and the current password is history. */
	assert_int_equal(reset(tok, "short"), 400);
	assert_int_equal(reset(tok, u.password), 400);
	assert_int_equal(reset(tok, pw), 204);
	assert_int_equal(reset(tok, pw), 400);

	/* Every session ended; the new password works at once. */
	assert_int_equal(itest_auth_logout(t.access), 401);
	assert_int_equal(itest_auth_refresh(t2.refresh, NULL), 401);
	assert_int_equal(itest_auth_login_as(u.username, u.password, NULL),
	    401);
	assert_int_equal(itest_auth_login_as(u.username, pw, NULL), 200);
	/* The owner hears of the lock and of the change. */
	assert_int_equal(itest_auth_mail(u.email, "account was changed",
	    ITEST_AUTH_MAIL_WAIT_MS, NULL, NULL, 0), 0);
	assert_int_equal(itest_auth_mail(u.email, "locked",
	    ITEST_AUTH_MAIL_WAIT_MS, NULL, NULL, 0), 0);
}

static void
test_resend_verification(void **state)
{
	struct itest_user	 u;
	struct buf		 text;
	struct itest_resp	 r;
	char			 tok[128];
	json_t			*body;

	(void)state;
	itest_auth_register(&u, "resend");
	assert_int_equal(itest_auth_login_as(u.username, u.password, NULL),
	    403);
	assert_int_equal(post_email("/api/v1/auth/resend-verification",
	    u.email), 202);
	buf_init(&text, 0);
	{
		long long t0 = itest_now_ms();

		while (itest_auth_mail_count(u.email, "/verify-email") < 2) {
			if (itest_now_ms() - t0 > ITEST_AUTH_MAIL_WAIT_MS)
				fail_msg("no second verification mail");
			itest_auth_sleep_ms(100);
		}
	}
	assert_int_equal(itest_auth_mail(u.email, "/verify-email", 0, &text,
	    NULL, 0), 0);
	assert_int_equal(itest_auth_mail_token(buf_str(&text), tok,
	    sizeof(tok)), 0);
	itest_auth_secret(tok);
	body = json_pack("{s:s}", "token", tok);
	assert_int_equal(itest_auth_post_json("/api/v1/auth/verify-email",
	    body, NULL, &r), 0);
	itest_auth_expect(&r, 200, "verify with the resent link");
	itest_resp_cleanup(&r);
	json_decref(body);
	buf_cleanup(&text);
	assert_int_equal(itest_auth_login_as(u.username, u.password, NULL),
	    200);
	/* A verified address gets no more links. */
	assert_int_equal(post_email("/api/v1/auth/resend-verification",
	    u.email), 202);
	itest_auth_sleep_ms(1500);
	assert_int_equal(itest_auth_mail_count(u.email, "/verify-email"), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forgot_unknown_address),
		cmocka_unit_test(test_reset_newest_link_once),
		cmocka_unit_test(test_resend_verification),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
