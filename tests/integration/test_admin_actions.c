/*
 * What an administrator does to one account, through nginx: PATCH
 * (role, status, username and nothing else), the refusals to demote,
 * suspend or delete oneself, suspension and role change ending the
 * target's sessions at once, DELETE, unlock, revoke-sessions,
 * reset-mfa, send-password-reset (whose mailed link really resets the
 * password) and the profile and sessions views.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest_admin.h"

static struct itest_admin	admin;

static int
setup(void **state)
{
	(void)state;
	itest_admin_new(&admin, "aadmin", 1);
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
user_path(char *out, size_t len, const char *id, const char *action)
{
	int	 w;

	w = snprintf(out, len, "/api/v1/admin/users/%s%s%s", id,
	    action != NULL ? "/" : "", action != NULL ? action : "");
	assert_true(w > 0 && (size_t)w < len);
}

/* PATCH the user with body; asserts want and, for 409, the code. */
static void
patch(const char *id, const char *body, long want, const char *code)
{
	struct itest_resp	 r;
	char			 path[128];

	user_path(path, sizeof(path), id, NULL);
	assert_int_equal(itest_admin_call("PATCH", path, admin.t.access,
	    body, &r), 0);
	itest_auth_expect(&r, want, body);
	if (code != NULL)
		assert_string_equal(itest_auth_code(&r), code);
	itest_resp_cleanup(&r);
}

/* An admin route: 200 for a live admin, 403 a user, 401 no session. */
static long
session_status(const struct itest_admin *u)
{
	return itest_admin_status("GET", "/api/v1/admin/stats", u->t.access,
	    NULL);
}

static void
db_value(const char *sql, const char *id, char *out, size_t len)
{
	itest_admin_sql_value(sql, 1, (const char *[]){ id }, out, len);
}

static void
test_actions_self_refused(void **state)
{
	struct itest_resp	 r;
	char			 path[128], v[64];

	(void)state;
	patch(admin.u.id, "{\"role\":\"user\"}", 409, "CANNOT_DEMOTE_SELF");
	patch(admin.u.id, "{\"status\":\"suspended\"}", 409,
	    "CANNOT_SUSPEND_SELF");
	patch(admin.u.id, "{\"role\":\"user\",\"username\":\"x_self\"}", 409,
	    "CANNOT_DEMOTE_SELF");
	user_path(path, sizeof(path), admin.u.id, NULL);
	assert_int_equal(itest_admin_call("DELETE", path, admin.t.access,
	    NULL, &r), 0);
	itest_auth_expect(&r, 409, "self-deletion");
	assert_string_equal(itest_auth_code(&r), "CANNOT_DELETE_SELF");
	itest_resp_cleanup(&r);
	/* Nothing changed, and the session still works. */
	db_value("SELECT role || '/' || status || '/' || username FROM users"
	    " WHERE id = $1::uuid", admin.u.id, v, sizeof(v));
	assert_true(strncmp(v, "admin/active/", 13) == 0);
	assert_string_equal(v + 13, admin.u.username);
	assert_int_equal(session_status(&admin), 200);
	/* Keeping one's own role, or renaming oneself, is fine. */
	patch(admin.u.id, "{\"role\":\"admin\"}", 200, NULL);
}

static void
test_actions_patch_validation(void **state)
{
	static const char * const	 bad[] = {
		"{\"role\":\"root\"}", "{\"role\":\"Admin\"}",
		"{\"status\":\"deleted\"}", "{\"status\":1}",
		"{\"username\":\"a b\"}", "{\"username\":\"x\"}",
		"{\"username\":\"x';DROP TABLE users;--\"}",
		"{\"email\":\"a@example.com\"}", "{\"password\":\"Xx1!xxxxx\"}",
		"{\"email_verified_at\":\"2020-01-01\"}",
		"{\"mfa_enabled\":false}", "{\"locked_until\":null}",
		"{}", "[]", "{\"role\":\"user\",\"role\":\"admin\"}",
		"not json",
	};
	struct itest_admin	 u;
	char			 v[64], body[160];
	size_t			 i;

	(void)state;
	itest_admin_new(&u, "apatch", 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		patch(u.u.id, bad[i], 400, NULL);
	/* A name taken by another account, in any case. */
	snprintf(body, sizeof(body), "{\"username\":\"%s\"}",
	    admin.u.username);
	/* Upper-case every other letter of the value. */
	for (i = 13; body[i] != '\0'; i++)
		if (body[i] >= 'a' && body[i] <= 'z' && i % 2 == 0)
			body[i] = (char)(body[i] - 32);
	patch(u.u.id, body, 409, "USERNAME_TAKEN");
	db_value("SELECT role || '/' || status FROM users WHERE id = $1::uuid",
	    u.u.id, v, sizeof(v));
	assert_string_equal(v, "user/active");
	/* Untouched by every refused body: the session lives too. */
	assert_int_equal(itest_auth_refresh(u.t.refresh, &u.t), 200);
}

static void
test_actions_rename(void **state)
{
	struct itest_admin	 u;
	struct itest_resp	 r;
	char			 path[128], body[160], name[64];

	(void)state;
	itest_admin_new(&u, "aname", 0);
	itest_auth_unique(name, sizeof(name), "renamed");
	snprintf(body, sizeof(body), "{\"username\":\"%s\"}", name);
	user_path(path, sizeof(path), u.u.id, NULL);
	assert_int_equal(itest_admin_call("PATCH", path, admin.t.access,
	    body, &r), 0);
	itest_auth_expect(&r, 200, "rename");
	assert_string_equal(json_string_value(json_object_get(r.json,
	    "username")), name);
	itest_resp_cleanup(&r);
	/* A rename alone leaves the sessions alone. */
	assert_int_equal(itest_auth_refresh(u.t.refresh, &u.t), 200);
	assert_int_equal(itest_auth_login_as(name, u.u.password, NULL), 200);
}

/* Suspension ends the sessions at once; reactivation lets one in. */
static void
test_actions_suspend_ends_sessions(void **state)
{
	struct itest_admin	 u;
	struct itest_tokens	 second;

	(void)state;
	itest_admin_new(&u, "asusp", 0);
	itest_auth_login(&u.u, &second);
	assert_int_equal(itest_auth_logout(second.access), 204);
	itest_auth_login(&u.u, &second);
	patch(u.u.id, "{\"status\":\"suspended\"}", 200, NULL);
	/* The very next request with either session is refused. */
	assert_int_equal(itest_auth_logout(u.t.access), 401);
	assert_int_equal(itest_auth_logout(second.access), 401);
	assert_int_equal(itest_auth_refresh(u.t.refresh, NULL), 401);
	assert_int_equal(itest_auth_refresh(second.refresh, NULL), 401);
	assert_int_equal(itest_auth_login_as(u.u.username, u.u.password,
	    NULL), 403);
	patch(u.u.id, "{\"status\":\"active\"}", 200, NULL);
	assert_int_equal(itest_auth_login_as(u.u.username, u.u.password,
	    NULL), 200);
}

/* A new role ends the sessions; the next sign-in carries the role. */
static void
test_actions_role_change(void **state)
{
	struct itest_admin	 u;

	(void)state;
	itest_admin_new(&u, "arole", 0);
	assert_int_equal(session_status(&u), 403);
	patch(u.u.id, "{\"role\":\"admin\"}", 200, NULL);
	assert_int_equal(session_status(&u), 401);
	assert_int_equal(itest_auth_refresh(u.t.refresh, NULL), 401);
	itest_auth_login(&u.u, &u.t);
	assert_int_equal(session_status(&u), 200);
	patch(u.u.id, "{\"role\":\"user\"}", 200, NULL);
	assert_int_equal(session_status(&u), 401);
}

static void
test_actions_delete(void **state)
{
	struct itest_admin	 u;
	char			 path[128], v[64];

	(void)state;
	itest_admin_new(&u, "adel", 0);
	user_path(path, sizeof(path), u.u.id, NULL);
	assert_int_equal(itest_admin_status("DELETE", path, admin.t.access,
	    NULL), 204);
	assert_int_equal(itest_admin_status("GET", path, admin.t.access,
	    NULL), 404);
	assert_int_equal(itest_admin_status("DELETE", path, admin.t.access,
	    NULL), 404);
	assert_int_equal(itest_auth_logout(u.t.access), 401);
	assert_int_equal(itest_auth_login_as(u.u.username, u.u.password,
	    NULL), 401);
	/* Its events keep only the digest; the deletion names the admin. */
	db_value("SELECT count(*) FROM auth_events WHERE user_id = $1::uuid",
	    u.u.id, v, sizeof(v));
	assert_string_equal(v, "0");
	db_value("SELECT actor_id FROM auth_events WHERE event_type ="
	    " 'account_deleted' AND user_ref = ws_audit_ref($1::uuid)",
	    u.u.id, v, sizeof(v));
	assert_string_equal(v, admin.u.id);
}

static void
test_actions_unlock(void **state)
{
	struct itest_admin	 u;
	char			 path[128], v[64];

	(void)state;
	itest_admin_new(&u, "alock", 0);
	itest_admin_sql("UPDATE users SET locked_until = now() +"
	    " interval '1 hour', failed_login_count = 5,"
	    " failed_login_first_at = now() WHERE id = $1::uuid", 1,
	    (const char *[]){ u.u.id });
	assert_int_equal(itest_auth_login_as(u.u.username, u.u.password,
	    NULL), 403);
	user_path(path, sizeof(path), u.u.id, "unlock");
	assert_int_equal(itest_admin_status("POST", path, admin.t.access,
	    NULL), 204);
	db_value("SELECT coalesce(locked_until::text, 'none') || '/' ||"
	    " failed_login_count FROM users WHERE id = $1::uuid", u.u.id, v,
	    sizeof(v));
	assert_string_equal(v, "none/0");
	assert_int_equal(itest_auth_login_as(u.u.username, u.u.password,
	    NULL), 200);
}

static void
test_actions_revoke_and_list_sessions(void **state)
{
	struct itest_admin	 u;
	struct itest_tokens	 second;
	struct itest_resp	 r;
	json_t			*j, *s;
	char			 path[128];
	size_t			 i;

	(void)state;
	itest_admin_new(&u, "arev", 0);
	itest_auth_login(&u.u, &second);
	user_path(path, sizeof(path), u.u.id, "sessions");
	j = itest_admin_get_json(path, admin.t.access);
	assert_int_equal(json_array_size(json_object_get(j, "sessions")), 2);
	json_array_foreach(json_object_get(j, "sessions"), i, s) {
		assert_string_equal(json_string_value(json_object_get(s,
		    "ip")), "127.0.0.1");
		assert_null(json_object_get(s, "refresh_token"));
		assert_null(json_object_get(s, "token_hash"));
	}
	json_decref(j);
	user_path(path, sizeof(path), u.u.id, "revoke-sessions");
	assert_int_equal(itest_admin_call("POST", path, admin.t.access, NULL,
	    &r), 0);
	itest_auth_expect(&r, 200, "revoke-sessions");
	assert_int_equal(json_integer_value(json_object_get(r.json,
	    "revoked")), 2);
	itest_resp_cleanup(&r);
	assert_int_equal(itest_auth_logout(u.t.access), 401);
	assert_int_equal(itest_auth_logout(second.access), 401);
	assert_int_equal(itest_auth_refresh(second.refresh, NULL), 401);
	user_path(path, sizeof(path), u.u.id, "sessions");
	j = itest_admin_get_json(path, admin.t.access);
	assert_int_equal(json_array_size(json_object_get(j, "sessions")), 0);
	json_decref(j);
}

static void
test_actions_reset_mfa(void **state)
{
	struct itest_admin	 u;
	json_t			*row, *val;
	const char		*key;
	char			 path[128], v[4096];

	(void)state;
	itest_admin_new(&u, "amfa", 0);
	itest_admin_sql("UPDATE users SET mfa_enabled = true,"
	    " mfa_secret = '\\x0102', mfa_last_step = 42,"
	    " mfa_pending_secret = '\\x03', mfa_failed_count = 3,"
	    " mfa_failed_first_at = now(), mfa_locked_until = now() +"
	    " interval '1 hour' WHERE id = $1::uuid", 1,
	    (const char *[]){ u.u.id });
	itest_admin_sql("INSERT INTO recovery_codes (user_id, code_hash)"
	    " SELECT $1::uuid, 'h' || g FROM generate_series(1, 10) g", 1,
	    (const char *[]){ u.u.id });
	user_path(path, sizeof(path), u.u.id, "reset-mfa");
	assert_int_equal(itest_admin_status("POST", path, admin.t.access,
	    NULL), 204);
	/* Every mfa_* column is back to off, empty or zero. */
	db_value("SELECT to_jsonb(u)::text FROM users u WHERE id = $1::uuid",
	    u.u.id, v, sizeof(v));
	assert_non_null(row = json_loads(v, 0, NULL));
	json_object_foreach(row, key, val) {
		if (strncmp(key, "mfa_", 4) != 0)
			continue;
		if (!json_is_null(val) && !json_is_false(val) &&
		    !(json_is_integer(val) && json_integer_value(val) == 0))
			fail_msg("%s was not reset", key);
	}
	json_decref(row);
	db_value("SELECT count(*) FROM recovery_codes WHERE user_id ="
	    " $1::uuid", u.u.id, v, sizeof(v));
	assert_string_equal(v, "0");
	/* The owner is told, through the outbox. */
	db_value("SELECT count(*) FROM email_outbox WHERE user_id ="
	    " $1::uuid AND template = 'mfa_disabled'", u.u.id, v, sizeof(v));
	assert_string_equal(v, "1");
}

static void
test_actions_send_password_reset(void **state)
{
	struct itest_admin	 u;
	struct itest_resp	 r;
	struct buf		 text;
	json_t			*body;
	char			 path[128], token[128], pw[64];

	(void)state;
	itest_admin_new(&u, "areset", 0);
	user_path(path, sizeof(path), u.u.id, "send-password-reset");
	assert_int_equal(itest_admin_call("POST", path, admin.t.access, NULL,
	    &r), 0);
	itest_auth_expect(&r, 202, "send-password-reset");
	/* The admin learns nothing that resets the password. */
	assert_null(strstr(buf_str(&r.body), "token"));
	itest_resp_cleanup(&r);
	buf_init(&text, 0);
	if (itest_auth_mail(u.u.email, "/password/reset#token=",
	    ITEST_AUTH_MAIL_WAIT_MS, &text, NULL, 0) != 0)
		fail_msg("no reset mail to %s", u.u.email);
	assert_int_equal(itest_auth_mail_token(buf_str(&text), token,
	    sizeof(token)), 0);
	itest_auth_secret(token);
	itest_auth_password(pw, sizeof(pw));
	body = json_pack("{s:s,s:s}", "token", token, "new_password", pw);
	assert_int_equal(itest_auth_post_json("/api/v1/auth/password/reset",
	    body, NULL, &r), 0);
	itest_auth_expect(&r, 204, "password/reset");
	itest_resp_cleanup(&r);
	json_decref(body);
	assert_int_equal(itest_auth_login_as(u.u.username, pw, NULL), 200);
	assert_int_equal(itest_auth_login_as(u.u.username, u.u.password,
	    NULL), 401);
	buf_cleanup(&text);
}

static void
test_actions_profile(void **state)
{
	struct itest_admin	 u;
	json_t			*j, *ev;
	char			 path[128], *text;
	size_t			 i;
	int			 saw_login = 0;

	(void)state;
	itest_admin_new(&u, "aprof", 0);
	user_path(path, sizeof(path), u.u.id, NULL);
	j = itest_admin_get_json(path, admin.t.access);
	assert_string_equal(json_string_value(json_object_get(j, "id")),
	    u.u.id);
	assert_string_equal(json_string_value(json_object_get(j,
	    "username")), u.u.username);
	assert_true(json_is_true(json_object_get(j, "email_verified")));
	assert_true(json_is_false(json_object_get(j, "locked")));
	assert_true(json_is_false(json_object_get(j, "mfa_enabled")));
	assert_int_equal(json_integer_value(json_object_get(j,
	    "active_sessions")), 1);
	assert_null(json_object_get(j, "password_hash"));
	assert_non_null(text = json_dumps(j, 0));
	assert_null(strstr(text, "$2b$"));
	free(text);
	json_array_foreach(json_object_get(j, "recent_events"), i, ev)
		if (strcmp(json_string_value(json_object_get(ev, "type")),
		    "login_succeeded") == 0)
			saw_login = 1;
	assert_true(saw_login);
	json_decref(j);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_actions_self_refused),
		cmocka_unit_test(test_actions_patch_validation),
		cmocka_unit_test(test_actions_rename),
		cmocka_unit_test(test_actions_suspend_ends_sessions),
		cmocka_unit_test(test_actions_role_change),
		cmocka_unit_test(test_actions_delete),
		cmocka_unit_test(test_actions_unlock),
		cmocka_unit_test(test_actions_revoke_and_list_sessions),
		cmocka_unit_test(test_actions_reset_mfa),
		cmocka_unit_test(test_actions_send_password_reset),
		cmocka_unit_test(test_actions_profile),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
