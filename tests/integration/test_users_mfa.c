/*
 * Two-step verification through nginx, with codes made by oathtool
 * from the secret the enrolment returned: enrolment and its refusals,
 * drift and replay, recovery codes, the MFA lockout, turning it off,
 * and the sign-in's second step (mfa_token).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "itest_users.h"

#define ME		"/api/v1/users/me"
#define TOTP		"/api/v1/users/me/mfa/totp"
#define TOTP_CONFIRM	"/api/v1/users/me/mfa/totp/confirm"
#define RECOVERY	"/api/v1/users/me/mfa/recovery-codes"

/* A request with {password, code} or {password, recovery_code}. */
static long
with_code(const char *method, const char *path, const char *access,
    const char *pw, const char *code, const char *recovery,
    struct itest_resp *out)
{
	json_t	*body;

	body = json_object();
	if (pw != NULL)
		json_object_set_new(body, "password", json_string(pw));
	if (code != NULL)
		json_object_set_new(body, "code", json_string(code));
	if (recovery != NULL)
		json_object_set_new(body, "recovery_code",
		    json_string(recovery));
	itest_users_req(method, path, access, body, out);
	json_decref(body);
	return out->status;
}

static long
with_code_status(const char *method, const char *path, const char *access,
    const char *pw, const char *code, const char *recovery)
{
	struct itest_resp	 r;
	long			 status;

	status = with_code(method, path, access, pw, code, recovery, &r);
	itest_resp_cleanup(&r);
	return status;
}

/* Enrolment: its refusals, the secret and URI, the codes, the notice. */
static void
test_mfa_enrol(void **state)
{
	struct itest_user	 u, v;
	struct itest_tokens	 t, other, vt;
	struct itest_resp	 r;
	struct itest_mfa	 m;
	char			 wrong[ITEST_AUTH_PASSWORD_MAX], code[8];
	const char		*s, *uri;
	json_t			*body, *me, *codes;
	size_t			 i, j;

	(void)state;
	itest_auth_new_user(&u, &t, "mfaenrol");
	itest_auth_login(&u, &other);
	json_decref(itest_users_me(t.access));	/* cached: MFA off */

	/* Confirming before starting, starting without the password. */
	body = json_pack("{s:s}", "code", "123456");
	itest_users_req("POST", TOTP_CONFIRM, t.access, body, &r);
	json_decref(body);
	itest_auth_expect(&r, 409, "confirm with nothing pending");
	assert_string_equal(itest_auth_code(&r), "MFA_NOT_PENDING");
	itest_resp_cleanup(&r);
	assert_int_equal(itest_users_status("POST", TOTP, t.access, NULL),
	    400);
	itest_auth_password(wrong, sizeof(wrong));
	assert_int_equal(with_code_status("POST", TOTP, t.access, wrong,
	    NULL, NULL), 403);
	assert_int_equal(with_code_status("POST", TOTP, NULL, u.password,
	    NULL, NULL), 401);

	memset(&m, 0, sizeof(m));
	assert_int_equal(with_code("POST", TOTP, t.access, u.password, NULL,
	    NULL, &r), 200);
	s = json_string_value(json_object_get(r.json, "secret"));
	uri = json_string_value(json_object_get(r.json, "otpauth_uri"));
	assert_non_null(s);
	assert_non_null(uri);
	/* 160 bits in base32: 32 characters of A-Z and 2-7. */
	assert_int_equal(strlen(s), 32);
	for (i = 0; s[i] != '\0'; i++)
		assert_true(isupper((unsigned char)s[i]) ||
		    (s[i] >= '2' && s[i] <= '7'));
	assert_int_equal(strncmp(uri, "otpauth://totp/", 15), 0);
	assert_non_null(strstr(uri, s));
	assert_non_null(strstr(uri, u.username));
	assert_non_null(strstr(uri, "issuer="));
	snprintf(m.secret, sizeof(m.secret), "%s", s);
	itest_auth_secret(m.secret);
	itest_resp_cleanup(&r);

	/* A wrong code leaves MFA off. */
	body = json_pack("{s:s}", "code", "000000");
	assert_int_equal(itest_users_status("POST", TOTP_CONFIRM, t.access,
	    body), 403);
	json_decref(body);
	me = itest_users_me(t.access);
	assert_true(json_is_false(json_object_get(me, "mfa_enabled")));
	json_decref(me);

	itest_users_totp(&m, code);
	body = json_pack("{s:s}", "code", code);
	itest_users_req("POST", TOTP_CONFIRM, t.access, body, &r);
	json_decref(body);
	itest_auth_expect(&r, 200, "confirm");
	codes = json_object_get(r.json, "recovery_codes");
	assert_int_equal(json_array_size(codes), 10);
	for (i = 0; i < 10; i++) {
		s = json_string_value(json_array_get(codes, i));
		assert_non_null(s);
		itest_auth_secret(s);
		assert_int_equal(strlen(s), 11);
		assert_int_equal(s[5], '-');
		for (j = 0; j < i; j++)
			assert_string_not_equal(s, json_string_value(
			    json_array_get(codes, j)));
	}
	itest_resp_cleanup(&r);

	/* On, shown at once, and the other session has ended. */
	me = itest_users_me(t.access);
	assert_true(json_is_true(json_object_get(me, "mfa_enabled")));
	json_decref(me);
	assert_int_equal(itest_users_status("GET", ME, other.access, NULL),
	    401);
	assert_int_equal(itest_auth_refresh(other.refresh, NULL), 401);
	assert_int_equal(itest_auth_mail(u.email, "Two-step verification "
	    "was turned on", ITEST_AUTH_MAIL_WAIT_MS, NULL, NULL, 0), 0);
	assert_int_equal(with_code_status("POST", TOTP, t.access, u.password,
	    NULL, NULL), 409);
	body = json_pack("{s:s}", "code", code);
	assert_int_equal(itest_users_status("POST", TOTP_CONFIRM, t.access,
	    body), 409);
	json_decref(body);

	/* Without MFA, its changes are refused. */
	itest_auth_new_user(&v, &vt, "mfanone");
	assert_int_equal(with_code("DELETE", TOTP, vt.access, v.password,
	    "123456", NULL, &r), 409);
	assert_string_equal(itest_auth_code(&r), "MFA_NOT_ENABLED");
	itest_resp_cleanup(&r);
	assert_int_equal(with_code_status("POST", RECOVERY, vt.access,
	    v.password, "123456", NULL), 409);
}

/* Codes two steps away fail, a right one works once. */
static void
test_mfa_drift_and_replay(void **state)
{
	struct itest_user	 u;
	struct itest_tokens	 t;
	struct itest_mfa	 m;
	struct itest_resp	 r;
	char			 code[8], far[8];
	int64_t			 now;

	(void)state;
	itest_auth_new_user(&u, &t, "mfadrift");
	itest_users_enable_mfa(t.access, u.password, &m);
	now = itest_users_step_now();
	itest_users_totp_at(m.secret, now + 2, far);
	assert_int_equal(with_code("POST", RECOVERY, t.access, u.password,
	    far, NULL, &r), 403);
	assert_string_equal(itest_auth_code(&r), "INVALID_CODE");
	itest_resp_cleanup(&r);
	itest_users_totp_at(m.secret, now - 2, far);
	assert_int_equal(with_code_status("POST", RECOVERY, t.access,
	    u.password, far, NULL), 403);

	itest_users_totp(&m, code);
	assert_int_equal(with_code_status("POST", RECOVERY, t.access,
	    u.password, code, NULL), 200);
	assert_int_equal(with_code("POST", RECOVERY, t.access, u.password,
	    code, NULL, &r), 403);
	assert_string_equal(itest_auth_code(&r), "INVALID_CODE");
	itest_resp_cleanup(&r);
	/* A malformed code is only a wrong one. */
	assert_int_equal(with_code_status("POST", RECOVERY, t.access,
	    u.password, "12a456", NULL), 403);
	/* The password comes first, and a code alone is not enough. */
	assert_int_equal(with_code_status("POST", RECOVERY, t.access, NULL,
	    code, NULL), 400);
	assert_int_equal(with_code_status("POST", RECOVERY, t.access,
	    u.password, NULL, NULL), 400);
	assert_int_equal(with_code_status("POST", RECOVERY, t.access,
	    u.password, code, m.codes[0]), 400);
}

/*
 * The sign-in of an MFA account: the password step gives an mfa_token
 * only; it is no access token; a TOTP or recovery code finishes it,
 * each once; an expired attempt fails.
 */
static void
test_mfa_sign_in(void **state)
{
	struct itest_user	 u;
	struct itest_tokens	 t, s;
	struct itest_mfa	 m;
	struct db_conn		*c;
	char			 mt[ITEST_AUTH_ACCESS_MAX], code[8];

	(void)state;
	itest_auth_new_user(&u, &t, "mfalogin");
	itest_users_enable_mfa(t.access, u.password, &m);
	itest_users_mfa_token(&u, mt, sizeof(mt));
	assert_int_equal(itest_users_status("GET", ME, mt, NULL), 401);
	assert_int_not_equal(itest_auth_refresh(mt, NULL), 200);
	itest_users_totp(&m, code);
	assert_int_equal(itest_users_mfa_verify(mt, code, NULL, &s), 200);
	assert_int_equal(itest_users_status("GET", ME, s.access, NULL), 200);
	/* The code's step is spent. */
	itest_users_mfa_token(&u, mt, sizeof(mt));
	assert_int_equal(itest_users_mfa_verify(mt, code, NULL, NULL), 401);

	/* A recovery code works once. */
	assert_int_equal(itest_users_mfa_verify(mt, NULL, m.codes[3], &s),
	    200);
	itest_users_mfa_token(&u, mt, sizeof(mt));
	assert_int_equal(itest_users_mfa_verify(mt, NULL, m.codes[3], NULL),
	    401);

	/* An attempt past its life fails even with a right code. */
	c = itest_users_db();
	assert_true(itest_users_sql_long(c, "WITH x AS (UPDATE"
	    " mfa_challenges SET expires_at = now() - interval '1 second'"
	    " WHERE user_id = $1::uuid AND used_at IS NULL RETURNING 1)"
	    " SELECT count(*) FROM x", u.id, NULL) >= 1);
	db_conn_close(c);
	assert_int_equal(itest_users_mfa_verify(mt, NULL, m.codes[4], NULL),
	    401);
}

/* Wrong codes lock the second step, even for the right code. */
static void
test_mfa_lockout(void **state)
{
	struct itest_user	 u;
	struct itest_tokens	 t;
	struct itest_mfa	 m;
	struct itest_resp	 r;
	char			 code[8], mt[ITEST_AUTH_ACCESS_MAX], v[32];
	long			 max, i;

	(void)state;
	max = itest_auth_config_long("MFA_MAX_FAILURES", 5);
	itest_auth_new_user(&u, &t, "mfalock");
	itest_users_enable_mfa(t.access, u.password, &m);
	for (i = 0; i < max; i++)
		assert_int_equal(with_code_status("DELETE", TOTP, t.access,
		    u.password, i % 2 ? "000000" : "999999", NULL), 403);
	itest_users_totp(&m, code);
	assert_int_equal(with_code("DELETE", TOTP, t.access, u.password,
	    code, NULL, &r), 429);
	assert_string_equal(itest_auth_code(&r), "MFA_LOCKED");
	assert_non_null(itest_header(&r, "Retry-After", v, sizeof(v)));
	itest_resp_cleanup(&r);
	/* A recovery code is no way round it, nor is the sign-in. */
	assert_int_equal(with_code_status("DELETE", TOTP, t.access,
	    u.password, NULL, m.codes[0]), 429);
	itest_users_mfa_token(&u, mt, sizeof(mt));
	assert_int_equal(itest_users_mfa_verify(mt, code, NULL, NULL), 429);
	json_decref(itest_users_me(t.access));
}

/* Turning MFA off needs the password and a code; sign-in is plain again. */
static void
test_mfa_disable(void **state)
{
	struct itest_user	 u;
	struct itest_tokens	 t, other;
	struct itest_mfa	 m;
	char			 code[8], mt[ITEST_AUTH_ACCESS_MAX];
	char			 wrong[ITEST_AUTH_PASSWORD_MAX];
	json_t			*me;

	(void)state;
	itest_auth_new_user(&u, &t, "mfaoff");
	itest_users_enable_mfa(t.access, u.password, &m);
	itest_users_mfa_token(&u, mt, sizeof(mt));
	assert_int_equal(itest_users_mfa_verify(mt, NULL, m.codes[0],
	    &other), 200);
	json_decref(itest_users_me(t.access));	/* cached: MFA on */

	itest_users_totp(&m, code);
	itest_auth_password(wrong, sizeof(wrong));
	assert_int_equal(with_code_status("DELETE", TOTP, t.access, wrong,
	    code, NULL), 403);
	assert_int_equal(with_code_status("DELETE", TOTP, t.access,
	    u.password, NULL, NULL), 400);
	assert_int_equal(with_code_status("DELETE", TOTP, t.access, NULL,
	    code, NULL), 400);
	assert_int_equal(with_code_status("DELETE", TOTP, t.access,
	    u.password, code, NULL), 204);
	me = itest_users_me(t.access);
	assert_true(json_is_false(json_object_get(me, "mfa_enabled")));
	json_decref(me);
	assert_int_equal(itest_users_status("GET", ME, other.access, NULL),
	    401);
	assert_int_equal(itest_auth_mail(u.email, "Two-step verification "
	    "was turned off", ITEST_AUTH_MAIL_WAIT_MS, NULL, NULL, 0), 0);
	assert_int_equal(itest_auth_login_as(u.username, u.password, &other),
	    200);
}

/* New recovery codes replace the old; a recovery code may ask. */
static void
test_mfa_recovery_renew(void **state)
{
	struct itest_user	 u;
	struct itest_tokens	 t;
	struct itest_mfa	 m;
	struct itest_resp	 r;
	char			 fresh[ITEST_USERS_CODE_MAX];
	char			 mt[ITEST_AUTH_ACCESS_MAX];
	const char		*s;

	(void)state;
	itest_auth_new_user(&u, &t, "mfarenew");
	itest_users_enable_mfa(t.access, u.password, &m);
	assert_int_equal(with_code("POST", RECOVERY, t.access, u.password,
	    NULL, m.codes[9], &r), 200);
	assert_int_equal(json_array_size(json_object_get(r.json,
	    "recovery_codes")), 10);
	s = json_string_value(json_array_get(json_object_get(r.json,
	    "recovery_codes"), 0));
	assert_non_null(s);
	snprintf(fresh, sizeof(fresh), "%s", s);
	itest_auth_secret(fresh);
	itest_resp_cleanup(&r);
	/* An old code no longer works; a new one does. */
	itest_users_mfa_token(&u, mt, sizeof(mt));
	assert_int_equal(itest_users_mfa_verify(mt, NULL, m.codes[1], NULL),
	    401);
	assert_int_equal(itest_users_mfa_verify(mt, NULL, fresh, NULL), 200);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_mfa_enrol),
		cmocka_unit_test(test_mfa_drift_and_replay),
		cmocka_unit_test(test_mfa_sign_in),
		cmocka_unit_test(test_mfa_lockout),
		cmocka_unit_test(test_mfa_disable),
		cmocka_unit_test(test_mfa_recovery_renew),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
