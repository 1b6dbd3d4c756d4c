/*
 * The whole life of an account through nginx: register, read the link
 * the SMTP sink received, verify, log in, use the bearer-protected
 * route, refresh, log out, and find every old token refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest_auth.h"

#define ACCESS_TTL_DEFAULT	900

/* The header's value in the reply, or fails the test. */
static void
assert_header(const struct itest_resp *r, const char *name,
    const char *want)
{
	char	 v[512];

	if (itest_header(r, name, v, sizeof(v)) == NULL)
		fail_msg("no %s header in:\n%s", name, buf_str(&r->headers));
	if (strstr(v, want) == NULL)
		fail_msg("%s is \"%s\", wanted \"%s\" in it", name, v, want);
}

/* Register, verify, log in, refresh, log out; every old token fails. */
static void
test_flow_full(void **state)
{
	struct itest_user	 u;
	struct itest_tokens	 first, second;
	struct itest_resp	 r;
	struct buf		 text;
	char			 token[256];
	json_t			*body;

	(void)state;
	itest_auth_register(&u, "flow");

	buf_init(&text, 0);
	if (itest_auth_mail(u.email, "/verify-email#token=",
	    ITEST_AUTH_MAIL_WAIT_MS, &text, NULL, 0) != 0)
		fail_msg("no verification mail to %s", u.email);
	/* The link points at PUBLIC_URL, never at a host from a request. */
	assert_non_null(strstr(buf_str(&text), itest_env("WS_PUBLIC_URL")));
	assert_int_equal(itest_auth_mail_token(buf_str(&text), token,
	    sizeof(token)), 0);
	itest_auth_secret(token);
	assert_int_equal(strlen(token), 43);
	body = json_pack("{s:s}", "token", token);
	assert_int_equal(itest_auth_post_json("/api/v1/auth/verify-email",
	    body, NULL, &r), 0);
	itest_auth_expect(&r, 200, "verify-email");
	itest_resp_cleanup(&r);

	itest_auth_login(&u, &first);
	/* The protected route refuses a garbage token ... */
	assert_int_equal(itest_auth_logout("not-a-token"), 401);
	/* ... and the refresh gives a new pair. */
	assert_int_equal(itest_auth_refresh(first.refresh, &second), 200);
	assert_string_not_equal(first.access, second.access);
	assert_string_not_equal(first.refresh, second.refresh);

	/* Logging out with the newest access token ends the session. */
	assert_int_equal(itest_auth_logout(second.access), 204);
	assert_int_equal(itest_auth_logout(second.access), 401);
	assert_int_equal(itest_auth_logout(first.access), 401);
	assert_int_equal(itest_auth_refresh(second.refresh, NULL), 401);
	assert_int_equal(itest_auth_refresh(first.refresh, NULL), 401);

	json_decref(body);
	buf_cleanup(&text);
}

/* The login reply carries what design.md 5 lists, and no-store. */
static void
test_flow_login_reply(void **state)
{
	struct itest_user	 u;
	struct itest_tokens	 t;
	struct itest_resp	 r;
	json_t			*body;

	(void)state;
	itest_auth_register(&u, "flowreply");
	itest_auth_verify(&u);
	body = json_pack("{s:s,s:s}", "username_or_email", u.username,
	    "password", u.password);
	assert_int_equal(itest_auth_post_json("/api/v1/auth/login", body,
	    NULL, &r), 0);
	itest_auth_expect(&r, 200, "login");
	snprintf(t.access, sizeof(t.access), "%s", json_string_value(
	    json_object_get(r.json, "access_token")));
	itest_auth_secret(t.access);
	itest_auth_secret(json_string_value(json_object_get(r.json,
	    "refresh_token")));
	assert_string_equal(json_string_value(json_object_get(r.json,
	    "token_type")), "Bearer");
	assert_int_equal(json_integer_value(json_object_get(r.json,
	    "expires_in")), itest_auth_config_long("ACCESS_TOKEN_TTL_S",
	    ACCESS_TTL_DEFAULT));
	assert_string_equal(json_string_value(json_object_get(r.json,
	    "user_id")), u.id);
	assert_string_equal(json_string_value(json_object_get(r.json,
	    "username")), u.username);
	/* A JWT: three base64url parts. */
	assert_non_null(strchr(t.access, '.'));
	assert_non_null(strchr(strchr(t.access, '.') + 1, '.'));
	assert_header(&r, "Cache-Control", "no-store");
	assert_null(json_object_get(r.json, "password"));
	assert_null(json_object_get(r.json, "password_hash"));
	assert_int_equal(itest_auth_logout(t.access), 204);
	itest_resp_cleanup(&r);
	json_decref(body);
}

/* Logging in by address works, in any case of the address. */
static void
test_flow_login_by_email(void **state)
{
	struct itest_user	 u;
	struct itest_tokens	 t;
	char			 upper[ITEST_AUTH_EMAIL_MAX];
	size_t			 i;

	(void)state;
	itest_auth_register(&u, "flowmail");
	itest_auth_verify(&u);
	for (i = 0; u.email[i] != '\0'; i++)
		upper[i] = (char)(u.email[i] >= 'a' && u.email[i] <= 'z' ?
		    u.email[i] - 'a' + 'A' : u.email[i]);
	upper[i] = '\0';
	assert_int_equal(itest_auth_login_as(upper, u.password, &t), 200);
	assert_int_equal(itest_auth_logout(t.access), 204);
}

/*
 * An unverified account learns its state only with the right
 * password: a wrong one gets the ordinary 401.
 */
static void
test_flow_unverified(void **state)
{
	struct itest_user	 u;
	struct itest_resp	 r;
	char			 wrong[ITEST_AUTH_PASSWORD_MAX];
	json_t			*body;

	(void)state;
	itest_auth_register(&u, "flowunver");
	body = json_pack("{s:s,s:s}", "username_or_email", u.username,
	    "password", u.password);
	assert_int_equal(itest_auth_post_json("/api/v1/auth/login", body,
	    NULL, &r), 0);
	itest_auth_expect(&r, 403, "unverified login");
	assert_string_equal(itest_auth_code(&r), "EMAIL_NOT_VERIFIED");
	assert_null(json_object_get(r.json, "access_token"));
	itest_resp_cleanup(&r);
	json_decref(body);

	itest_auth_password(wrong, sizeof(wrong));
	body = json_pack("{s:s,s:s}", "username_or_email", u.username,
	    "password", wrong);
	assert_int_equal(itest_auth_post_json("/api/v1/auth/login", body,
	    NULL, &r), 0);
	itest_auth_expect(&r, 401, "unverified, wrong password");
	assert_string_equal(itest_auth_code(&r), "INVALID_CREDENTIALS");
	itest_resp_cleanup(&r);
	json_decref(body);
}

/* A verification link works once. */
static void
test_flow_verify_once(void **state)
{
	struct itest_user	 u;
	struct itest_resp	 r;
	struct buf		 text;
	char			 token[256];
	json_t			*body;

	(void)state;
	itest_auth_register(&u, "flowonce");
	buf_init(&text, 0);
	assert_int_equal(itest_auth_mail(u.email, "/verify-email#token=",
	    ITEST_AUTH_MAIL_WAIT_MS, &text, NULL, 0), 0);
	assert_int_equal(itest_auth_mail_token(buf_str(&text), token,
	    sizeof(token)), 0);
	itest_auth_secret(token);
	body = json_pack("{s:s}", "token", token);
	assert_int_equal(itest_auth_post_json("/api/v1/auth/verify-email",
	    body, NULL, &r), 0);
	itest_auth_expect(&r, 200, "first verify");
	itest_resp_cleanup(&r);
	assert_int_equal(itest_auth_post_json("/api/v1/auth/verify-email",
	    body, NULL, &r), 0);
	itest_auth_expect(&r, 400, "second verify");
	assert_string_equal(itest_auth_code(&r), "INVALID_TOKEN");
	itest_resp_cleanup(&r);
	json_decref(body);
	buf_cleanup(&text);
}

/* A refused bearer token is told how to authenticate. */
static void
test_flow_logout_garbage(void **state)
{
	struct itest_resp	 r;

	(void)state;
	assert_int_equal(itest_auth_post("/api/v1/auth/logout", NULL, 0,
	    "garbage.token.here", &r), 0);
	itest_auth_expect(&r, 401, "logout with garbage");
	assert_string_equal(itest_auth_code(&r), "UNAUTHORIZED");
	assert_header(&r, "WWW-Authenticate", "Bearer");
	itest_resp_cleanup(&r);
	assert_int_equal(itest_auth_post("/api/v1/auth/logout", NULL, 0,
	    NULL, &r), 0);
	itest_auth_expect(&r, 401, "logout without a token");
	itest_resp_cleanup(&r);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_flow_full),
		cmocka_unit_test(test_flow_login_reply),
		cmocka_unit_test(test_flow_login_by_email),
		cmocka_unit_test(test_flow_unverified),
		cmocka_unit_test(test_flow_verify_once),
		cmocka_unit_test(test_flow_logout_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
