/*
 * Changing the sign-in address through nginx: PUT /me/email needs the
 * password, mails a link to the new address and a notice to the old
 * one, and changes nothing until POST /email/confirm uses the link.  A
 * taken address gets the same answer as a free one, and its link
 * fails.
 */
#include <stdio.h>
#include <string.h>

#include "itest_users.h"

#define EMAIL	"/api/v1/users/me/email"
#define CONFIRM	"/api/v1/users/email/confirm"

static long
put_email(const char *access, const char *pw, const char *addr,
    struct itest_resp *out)
{
	json_t	*body;

	body = json_pack("{s:s,s:s}", "password", pw, "new_email", addr);
	itest_users_req("PUT", EMAIL, access, body, out);
	json_decref(body);
	return out->status;
}

/* The confirmation token mailed to addr for the user named name. */
static void
link_token(const char *addr, const char *name, char *out, size_t len)
{
	struct buf	 text;

	buf_init(&text, 0);
	if (itest_auth_mail(addr, name, ITEST_AUTH_MAIL_WAIT_MS, &text,
	    NULL, 0) != 0)
		fail_msg("no mail to %s for %s", addr, name);
	assert_non_null(strstr(buf_str(&text), "/email/confirm#token="));
	assert_non_null(strstr(buf_str(&text), itest_env("WS_PUBLIC_URL")));
	assert_int_equal(itest_auth_mail_token(buf_str(&text), out, len), 0);
	itest_auth_secret(out);
	buf_cleanup(&text);
}

static long
confirm(const char *token, struct itest_resp *out)
{
	json_t	*body;

	body = json_pack("{s:s}", "token", token);
	itest_users_req("POST", CONFIRM, NULL, body, out);
	json_decref(body);
	return out->status;
}

static void
unique_addr(char *out, size_t len, const char *prefix)
{
	char	 name[ITEST_AUTH_NAME_MAX];

	itest_auth_unique(name, sizeof(name), prefix);
	snprintf(out, len, "%s@example.net", name);
}

/* Refusals: no token, missing or bad fields, wrong password. */
static void
test_email_refused(void **state)
{
	struct itest_user	 u;
	struct itest_tokens	 t;
	struct itest_resp	 r;
	char			 addr[ITEST_AUTH_EMAIL_MAX];
	char			 wrong[ITEST_AUTH_PASSWORD_MAX];
	json_t			*body, *me;

	(void)state;
	itest_auth_new_user(&u, &t, "embad");
	unique_addr(addr, sizeof(addr), "embadnew");
	body = json_pack("{s:s}", "new_email", addr);
	assert_int_equal(itest_users_status("PUT", EMAIL, t.access, body),
	    400);
	json_decref(body);
	body = json_pack("{s:s}", "password", u.password);
	assert_int_equal(itest_users_status("PUT", EMAIL, t.access, body),
	    400);
	json_decref(body);
	body = json_pack("{s:s,s:s,s:b}", "password", u.password,
	    "new_email", addr, "email_verified", 1);
	assert_int_equal(itest_users_status("PUT", EMAIL, t.access, body),
	    400);
	json_decref(body);
	assert_int_equal(put_email(t.access, u.password, "not-an-address",
	    &r), 400);
	itest_resp_cleanup(&r);
	assert_int_equal(put_email(t.access, u.password, u.email, &r), 400);
	itest_resp_cleanup(&r);
	assert_int_equal(put_email(NULL, u.password, addr, &r), 401);
	itest_resp_cleanup(&r);
	itest_auth_password(wrong, sizeof(wrong));
	assert_int_equal(put_email(t.access, wrong, addr, &r), 403);
	assert_string_equal(itest_auth_code(&r), "INVALID_CREDENTIALS");
	itest_resp_cleanup(&r);
	me = itest_users_me(t.access);
	assert_string_equal(json_string_value(json_object_get(me, "email")),
	    u.email);
	assert_true(json_is_null(json_object_get(me, "pending_email")));
	json_decref(me);
	/* Confirmation refuses garbage and wants a token. */
	assert_int_equal(confirm("garbage", &r), 400);
	assert_string_equal(itest_auth_code(&r), "INVALID_TOKEN");
	itest_resp_cleanup(&r);
	body = json_object();
	assert_int_equal(itest_users_status("POST", CONFIRM, NULL, body),
	    400);
	json_decref(body);
}

/* The whole change: link, notice, nothing until confirmed, then all. */
static void
test_email_change(void **state)
{
	struct itest_user	 u;
	struct itest_tokens	 t;
	struct itest_resp	 r;
	struct buf		 notice;
	char			 addr[ITEST_AUTH_EMAIL_MAX], token[128];
	json_t			*me;

	(void)state;
	itest_auth_new_user(&u, &t, "emchange");
	json_decref(itest_users_me(t.access));	/* cached */
	unique_addr(addr, sizeof(addr), "emnew");
	assert_int_equal(put_email(t.access, u.password, addr, &r), 202);
	itest_resp_cleanup(&r);
	link_token(addr, u.username, token, sizeof(token));
	buf_init(&notice, 0);
	assert_int_equal(itest_auth_mail(u.email, addr,
	    ITEST_AUTH_MAIL_WAIT_MS, &notice, NULL, 0), 0);
	buf_cleanup(&notice);

	/* Until the link is used, the old address is the one. */
	me = itest_users_me(t.access);
	assert_string_equal(json_string_value(json_object_get(me, "email")),
	    u.email);
	assert_string_equal(json_string_value(json_object_get(me,
	    "pending_email")), addr);
	json_decref(me);
	assert_int_equal(itest_auth_login_as(addr, u.password, NULL), 401);

	assert_int_equal(confirm(token, &r), 200);
	assert_string_equal(json_string_value(json_object_get(r.json,
	    "email")), addr);
	itest_resp_cleanup(&r);
	me = itest_users_me(t.access);
	assert_string_equal(json_string_value(json_object_get(me, "email")),
	    addr);
	assert_true(json_is_true(json_object_get(me, "email_verified")));
	assert_true(json_is_null(json_object_get(me, "pending_email")));
	json_decref(me);
	assert_int_equal(itest_auth_login_as(addr, u.password, NULL), 200);
	assert_int_equal(itest_auth_login_as(u.email, u.password, NULL),
	    401);
	/* The link works once. */
	assert_int_equal(confirm(token, &r), 400);
	assert_string_equal(itest_auth_code(&r), "INVALID_TOKEN");
	itest_resp_cleanup(&r);
}

/*
 * A taken address answers like a free one, to the byte but for the
 * request id; its link fails and nothing changes for either account.
 */
static void
test_email_taken(void **state)
{
	struct itest_user	 u, v;
	struct itest_tokens	 t, vt;
	struct itest_resp	 free_r, taken_r, r;
	char			 addr[ITEST_AUTH_EMAIL_MAX], token[128];
	json_t			*me;

	(void)state;
	itest_auth_new_user(&u, &t, "emtaker");
	itest_auth_new_user(&v, &vt, "emowner");
	unique_addr(addr, sizeof(addr), "emfree");
	assert_int_equal(put_email(t.access, u.password, addr, &free_r),
	    202);
	assert_int_equal(put_email(t.access, u.password, v.email, &taken_r),
	    202);
	assert_true(json_equal(free_r.json, taken_r.json));
	assert_int_equal(free_r.body.len, taken_r.body.len);
	itest_resp_cleanup(&free_r);
	itest_resp_cleanup(&taken_r);

	/* The link sent to the taken address does not take it. */
	link_token(v.email, u.username, token, sizeof(token));
	assert_int_equal(confirm(token, &r), 400);
	assert_string_equal(itest_auth_code(&r), "INVALID_TOKEN");
	itest_resp_cleanup(&r);
	me = itest_users_me(t.access);
	assert_string_equal(json_string_value(json_object_get(me, "email")),
	    u.email);
	json_decref(me);
	me = itest_users_me(vt.access);
	assert_string_equal(json_string_value(json_object_get(me, "email")),
	    v.email);
	json_decref(me);
	assert_int_equal(itest_auth_login_as(v.email, v.password, NULL),
	    200);
}

/* Two accounts ask for one free address: the first to confirm wins. */
static void
test_email_race(void **state)
{
	struct itest_user	 u, v;
	struct itest_tokens	 t, vt;
	struct itest_resp	 r;
	char			 addr[ITEST_AUTH_EMAIL_MAX];
	char			 ut[128], vtok[128];

	(void)state;
	itest_auth_new_user(&u, &t, "emraceu");
	itest_auth_new_user(&v, &vt, "emracev");
	unique_addr(addr, sizeof(addr), "emrace");
	assert_int_equal(put_email(t.access, u.password, addr, &r), 202);
	itest_resp_cleanup(&r);
	assert_int_equal(put_email(vt.access, v.password, addr, &r), 202);
	itest_resp_cleanup(&r);
	link_token(addr, u.username, ut, sizeof(ut));
	link_token(addr, v.username, vtok, sizeof(vtok));
	assert_int_equal(confirm(vtok, &r), 200);
	itest_resp_cleanup(&r);
	assert_int_equal(confirm(ut, &r), 400);
	assert_string_equal(itest_auth_code(&r), "INVALID_TOKEN");
	itest_resp_cleanup(&r);
	assert_int_equal(itest_auth_login_as(addr, v.password, NULL), 200);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_email_refused),
		cmocka_unit_test(test_email_change),
		cmocka_unit_test(test_email_taken),
		cmocka_unit_test(test_email_race),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
