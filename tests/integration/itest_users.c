/*
 * Helpers for the integration tests of websands-users (itest_users.h).
 * TOTP codes come from oathtool (Debian's oathtool package), never
 * from common/totp.c, so a mistake shared by our code and our test
 * cannot hide.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "itest_users.h"

#define TOTP_STEP	30
/* Seconds before a step ends when a code of the step before is unsafe. */
#define TOTP_MARGIN	3

void
itest_users_req(const char *method, const char *path, const char *bearer,
    const json_t *body, struct itest_resp *out)
{
	struct buf	 auth;
	const char	*headers[3] = { "Content-Type: application/json",
			    NULL, NULL };
	char		*text = NULL;

	buf_init(&auth, 0);
	if (bearer != NULL) {
		assert_int_equal(buf_printf(&auth,
		    "Authorization: Bearer %s", bearer), 0);
		headers[1] = buf_str(&auth);
	}
	if (body != NULL)
		assert_non_null(text = json_dumps(body, JSON_COMPACT));
	assert_int_equal(itest_http(method, path, headers, text,
	    text != NULL ? strlen(text) : 0, out), 0);
	free(text);
	buf_cleanup(&auth);
}

long
itest_users_status(const char *method, const char *path,
    const char *bearer, const json_t *body)
{
	struct itest_resp	 r;
	long			 status;

	itest_users_req(method, path, bearer, body, &r);
	status = r.status;
	itest_resp_cleanup(&r);
	return status;
}

json_t *
itest_users_me(const char *bearer)
{
	struct itest_resp	 r;
	json_t			*me;

	itest_users_req("GET", "/api/v1/users/me", bearer, NULL, &r);
	itest_auth_expect(&r, 200, "GET /me");
	assert_non_null(r.json);
	me = json_incref(r.json);
	itest_resp_cleanup(&r);
	return me;
}

void
itest_users_totp_at(const char *secret, int64_t step, char *out)
{
	struct buf	 cmd, res;
	size_t		 i;

	for (i = 0; secret[i] != '\0'; i++)
		assert_true(isalnum((unsigned char)secret[i]));
	buf_init(&cmd, 0);
	buf_init(&res, 0);
	/* A moment inside the step, so rounding cannot move it. */
	assert_int_equal(buf_printf(&cmd, "oathtool --totp -b -N @%lld %s",
	    (long long)(step * TOTP_STEP + 1), secret), 0);
	if (itest_run(buf_str(&cmd), &res) != 0)
		fail_msg("oathtool failed (is the oathtool package "
		    "installed?): %s", buf_str(&res));
	assert_true(res.len >= 6);
	for (i = 0; i < 6; i++)
		assert_true(isdigit((unsigned char)res.data[i]));
	memcpy(out, res.data, 6);
	out[6] = '\0';
	buf_cleanup(&cmd);
	buf_cleanup(&res);
}

int64_t
itest_users_step_now(void)
{
	return (int64_t)time(NULL) / TOTP_STEP;
}

void
itest_users_totp(struct itest_mfa *m, char *out)
{
	time_t		 t;
	int64_t		 now, lo;

	for (;;) {
		t = time(NULL);
		now = (int64_t)t / TOTP_STEP;
		/*
		 * The server takes now - 1 .. now + 1.  The step before
		 * now is used only well inside the current one, so the
		 * boundary cannot pass before the request arrives.
		 */
		lo = t % TOTP_STEP < TOTP_STEP - TOTP_MARGIN ? now - 1 : now;
		if (lo <= m->last_step)
			lo = m->last_step + 1;
		if (lo <= now + 1)
			break;
		itest_auth_sleep_ms(((long)(TOTP_STEP - t % TOTP_STEP)) *
		    1000 + 100);
	}
	itest_users_totp_at(m->secret, lo, out);
	m->last_step = lo;
}

void
itest_users_enable_mfa(const char *access, const char *pw,
    struct itest_mfa *m)
{
	struct itest_resp	 r;
	json_t			*body, *codes;
	const char		*s;
	char			 code[8];
	size_t			 i;

	memset(m, 0, sizeof(*m));
	body = json_pack("{s:s}", "password", pw);
	itest_users_req("POST", "/api/v1/users/me/mfa/totp", access, body,
	    &r);
	json_decref(body);
	itest_auth_expect(&r, 200, "start TOTP enrolment");
	s = json_string_value(json_object_get(r.json, "secret"));
	assert_non_null(s);
	assert_true(strlen(s) < sizeof(m->secret));
	memcpy(m->secret, s, strlen(s) + 1);
	itest_auth_secret(m->secret);
	itest_resp_cleanup(&r);

	itest_users_totp(m, code);
	body = json_pack("{s:s}", "code", code);
	itest_users_req("POST", "/api/v1/users/me/mfa/totp/confirm", access,
	    body, &r);
	json_decref(body);
	itest_auth_expect(&r, 200, "confirm TOTP enrolment");
	codes = json_object_get(r.json, "recovery_codes");
	assert_int_equal(json_array_size(codes), ITEST_USERS_CODES);
	for (i = 0; i < ITEST_USERS_CODES; i++) {
		s = json_string_value(json_array_get(codes, i));
		assert_non_null(s);
		assert_true(strlen(s) < sizeof(m->codes[i]));
		memcpy(m->codes[i], s, strlen(s) + 1);
		itest_auth_secret(s);
	}
	itest_resp_cleanup(&r);
}

void
itest_users_mfa_token(const struct itest_user *u, char *out, size_t len)
{
	struct itest_resp	 r;
	json_t			*body;
	const char		*t;

	body = json_pack("{s:s,s:s}", "username_or_email", u->username,
	    "password", u->password);
	assert_int_equal(itest_auth_post_json("/api/v1/auth/login", body,
	    NULL, &r), 0);
	json_decref(body);
	itest_auth_expect(&r, 200, "password step of an MFA sign-in");
	assert_true(json_is_true(json_object_get(r.json, "mfa_required")));
	assert_null(json_object_get(r.json, "access_token"));
	assert_null(json_object_get(r.json, "refresh_token"));
	t = json_string_value(json_object_get(r.json, "mfa_token"));
	assert_non_null(t);
	assert_true(strlen(t) < len);
	memcpy(out, t, strlen(t) + 1);
	itest_auth_secret(out);
	itest_resp_cleanup(&r);
}

long
itest_users_mfa_verify(const char *mfa_token, const char *code,
    const char *recovery_code, struct itest_tokens *t)
{
	struct itest_resp	 r;
	json_t			*body;
	const char		*a, *f;
	long			 status;

	body = json_pack("{s:s}", "mfa_token", mfa_token);
	if (code != NULL)
		json_object_set_new(body, "code", json_string(code));
	if (recovery_code != NULL)
		json_object_set_new(body, "recovery_code",
		    json_string(recovery_code));
	assert_int_equal(itest_auth_post_json("/api/v1/auth/mfa/verify",
	    body, NULL, &r), 0);
	json_decref(body);
	status = r.status;
	if (status == 200 && t != NULL) {
		a = json_string_value(json_object_get(r.json,
		    "access_token"));
		f = json_string_value(json_object_get(r.json,
		    "refresh_token"));
		assert_non_null(a);
		assert_non_null(f);
		assert_true(strlen(a) < sizeof(t->access));
		assert_true(strlen(f) < sizeof(t->refresh));
		memcpy(t->access, a, strlen(a) + 1);
		memcpy(t->refresh, f, strlen(f) + 1);
		itest_auth_secret(a);
		itest_auth_secret(f);
	}
	itest_resp_cleanup(&r);
	return status;
}

struct db_conn *
itest_users_db(void)
{
	struct db_conn	*c = NULL;

	if (db_conn_open(&c, itest_env("WS_DATABASE_URL"), 5) != 0)
		fail_msg("cannot connect to %s",
		    itest_env("WS_DATABASE_URL"));
	return c;
}

const char *
itest_users_sql(struct db_conn *c, const char *sql, const char *p1,
    const char *p2, char *out, size_t len)
{
	struct db_res	*res = NULL;
	const char	*params[2] = { p1, p2 };
	const char	*v = NULL;
	int		 n = p2 != NULL ? 2 : p1 != NULL ? 1 : 0;

	if (db_query(c, sql, n, params, &res) != 0)
		fail_msg("query failed: %s", sql);
	if (db_res_nrows(res) > 0) {
		snprintf(out, len, "%s", db_res_value(res, 0, 0));
		v = out;
	}
	db_res_free(res);
	return v;
}

long
itest_users_sql_long(struct db_conn *c, const char *sql, const char *p1,
    const char *p2)
{
	char	 v[64];

	if (itest_users_sql(c, sql, p1, p2, v, sizeof(v)) == NULL)
		return 0;
	return strtol(v, NULL, 10);
}
