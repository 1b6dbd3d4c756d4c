/*
 * The user's data through nginx: the security events (paged, strictly
 * parsed, only one's own), the export (every table's rows for the
 * user, no secret), deletion (tokens dead at once, also with memcached
 * stopped; nothing left that identifies the user), and what the
 * database holds at rest (no plaintext name, TOTP secret, recovery
 * code or token), read with pg_dump.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest_users.h"

#define ME	"/api/v1/users/me"
#define EVENTS	"/api/v1/users/me/events"
#define EXPORT	"/api/v1/users/me/export"

/* A random name of letters that no template or column holds. */
static void
odd_name(char *out, size_t len, const char *prefix)
{
	char		 u[ITEST_AUTH_NAME_MAX];
	size_t		 i, o;

	itest_auth_unique(u, sizeof(u), prefix);
	/* Letters only: digits and '_' become letters. */
	for (i = 0, o = 0; u[i] != '\0' && o + 1 < len; i++)
		out[o++] = (char)(u[i] >= 'a' && u[i] <= 'z' ? u[i] :
		    'a' + (unsigned char)u[i] % 26);
	out[o] = '\0';
	out[0] = (char)(out[0] - 'a' + 'A');
}

static void
set_names(const char *access, const char *first, const char *last)
{
	struct itest_resp	 r;
	json_t			*body;

	body = json_pack("{s:s,s:s}", "first_name", first, "last_name",
	    last);
	itest_users_req("PATCH", ME, access, body, &r);
	json_decref(body);
	itest_auth_expect(&r, 200, "PATCH names");
	itest_resp_cleanup(&r);
}

/* Events: own only, newest first, pages that join up, strict query. */
static void
test_events(void **state)
{
	static const char	*bad[] = { "limit=0", "limit=101", "limit=x",
	    "limit=-1", "limit=1.5", "limit=", "cursor=abc", "cursor=0",
	    "cursor=-5", "limit=5&limit=6", "page=2", "limit=5&x=1",
	    "cursor=99999999999999999999", "limit=%31%30%30%30" };
	struct itest_user	 u, v;
	struct itest_tokens	 t, vt;
	struct itest_resp	 r;
	char			 path[256], cursor[64], wrong[64];
	json_t			*ev, *seen;
	const char		*nc, *id;
	size_t			 i, total = 0;
	long			 prev = 0;

	(void)state;
	itest_auth_new_user(&u, &t, "events");
	itest_auth_new_user(&v, &vt, "eventsother");
	itest_auth_password(wrong, sizeof(wrong));
	assert_int_equal(itest_auth_login_as(u.username, wrong, NULL), 401);
	set_names(t.access, "Ev", "Ents");

	itest_users_req("GET", EVENTS, t.access, NULL, &r);
	itest_auth_expect(&r, 200, "GET events");
	assert_true(json_array_size(json_object_get(r.json, "events")) >= 5);
	assert_true(json_is_null(json_object_get(r.json, "next_cursor")));
	itest_resp_cleanup(&r);

	/* Pages of two, joined up, newest first, all of them mine. */
	seen = json_object();
	cursor[0] = '\0';
	do {
		snprintf(path, sizeof(path), EVENTS "?limit=2%s%s",
		    cursor[0] != '\0' ? "&cursor=" : "", cursor);
		itest_users_req("GET", path, t.access, NULL, &r);
		itest_auth_expect(&r, 200, "GET an events page");
		assert_true(json_array_size(json_object_get(r.json,
		    "events")) <= 2);
		json_array_foreach(json_object_get(r.json, "events"), i, ev) {
			id = json_string_value(json_object_get(ev, "id"));
			assert_non_null(id);
			assert_null(json_object_get(seen, id));
			json_object_set_new(seen, id, json_true());
			if (prev != 0)
				assert_true(strtol(id, NULL, 10) < prev);
			prev = strtol(id, NULL, 10);
			assert_non_null(json_object_get(ev, "type"));
			assert_non_null(json_object_get(ev, "occurred_at"));
			total++;
		}
		nc = json_string_value(json_object_get(r.json,
		    "next_cursor"));
		snprintf(cursor, sizeof(cursor), "%s", nc != NULL ? nc : "");
		itest_resp_cleanup(&r);
	} while (cursor[0] != '\0');
	assert_true(total >= 5);
	json_decref(seen);

	/* The kinds the issue names are there: sign-ins, failures. */
	itest_users_req("GET", EVENTS "?limit=100", t.access, NULL, &r);
	itest_auth_expect(&r, 200, "GET events, 100");
	assert_non_null(strstr(buf_str(&r.body), "\"login_failed\""));
	assert_non_null(strstr(buf_str(&r.body), "\"login_succeeded\""));
	assert_non_null(strstr(buf_str(&r.body), "\"profile_updated\""));
	assert_null(strstr(buf_str(&r.body), v.id));
	assert_null(strstr(buf_str(&r.body), "Ents"));
	itest_resp_cleanup(&r);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), EVENTS "?%s", bad[i]);
		if (itest_users_status("GET", path, t.access, NULL) != 400)
			fail_msg("GET %s was not refused", path);
	}
	assert_int_equal(itest_users_status("GET", EVENTS, NULL, NULL), 401);
}

/* The number in the first cell of sql for the user id. */
static long
count(struct db_conn *c, const char *sql, const char *id)
{
	return itest_users_sql_long(c, sql, id, NULL);
}

/* Fails when the export text holds s. */
static void
assert_absent(const char *text, const char *s, const char *what)
{
	if (s != NULL && *s != '\0' && strstr(text, s) != NULL)
		fail_msg("the export holds the %s", what);
}

/*
 * The export holds every table's rows for the user, and no secret.
 * The user has names, settings, two sessions, an old password, a
 * pending address change, MFA with recovery codes and a sign-in
 * challenge.
 */
static void
test_export(void **state)
{
	static const struct {
		const char	*key;
		const char	*sql;
	} tables[] = {
		{ "sessions", "SELECT count(*) FROM sessions"
		    " WHERE user_id = $1::uuid" },
		{ "refresh_tokens", "SELECT count(*) FROM refresh_tokens t"
		    " JOIN sessions s ON s.id = t.session_id"
		    " WHERE s.user_id = $1::uuid" },
		{ "password_history", "SELECT count(*) FROM"
		    " password_history WHERE user_id = $1::uuid" },
		{ "email_tokens", "SELECT count(*) FROM email_tokens"
		    " WHERE user_id = $1::uuid" },
		{ "recovery_codes", "SELECT count(*) FROM recovery_codes"
		    " WHERE user_id = $1::uuid" },
		{ "mfa_challenges", "SELECT count(*) FROM mfa_challenges"
		    " WHERE user_id = $1::uuid" },
		{ "mails", "SELECT count(*) FROM email_outbox"
		    " WHERE user_id = $1::uuid" },
	};
	struct itest_user	 u;
	struct itest_tokens	 t, t2;
	struct itest_mfa	 m;
	struct itest_resp	 r;
	struct db_conn		*c;
	char			 next[ITEST_AUTH_PASSWORD_MAX], v[128];
	char			 mt[ITEST_AUTH_ACCESS_MAX];
	char			 first[40], last[40];
	json_t			*body, *doc, *x;
	const char		*k, *text;
	size_t			 i;
	long			 n;

	(void)state;
	itest_auth_new_user(&u, &t, "export");
	odd_name(first, sizeof(first), "first");
	odd_name(last, sizeof(last), "last");
	set_names(t.access, first, last);
	body = json_pack("{s:s}", "ui_theme", "dark");
	assert_int_equal(itest_users_status("PATCH", ME "/settings",
	    t.access, body), 200);
	json_decref(body);
	itest_auth_password(next, sizeof(next));
	body = json_pack("{s:s,s:s,s:b}", "current_password", u.password,
	    "new_password", next, "keep_other_sessions", 1);
	assert_int_equal(itest_users_status("PUT", ME "/password", t.access,
	    body), 204);
	json_decref(body);
	snprintf(v, sizeof(v), "x%s@example.org", u.username);
	body = json_pack("{s:s,s:s}", "password", next, "new_email", v);
	assert_int_equal(itest_users_status("PUT", ME "/email", t.access,
	    body), 202);
	json_decref(body);
	itest_users_enable_mfa(t.access, next, &m);
	snprintf(u.password, sizeof(u.password), "%s", next);
	itest_users_mfa_token(&u, mt, sizeof(mt));
	assert_int_equal(itest_users_mfa_verify(mt, NULL, m.codes[0], &t2),
	    200);

	itest_users_req("GET", EXPORT, t.access, NULL, &r);
	itest_auth_expect(&r, 200, "GET export");
	assert_non_null(itest_header(&r, "Content-Disposition", v,
	    sizeof(v)));
	doc = r.json;
	text = buf_str(&r.body);
	c = itest_users_db();
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		n = count(c, tables[i].sql, u.id);
		x = json_object_get(doc, tables[i].key);
		if (!json_is_array(x) || (long)json_array_size(x) != n)
			fail_msg("export %s: %zu rows, the database %ld",
			    tables[i].key, json_array_size(x), n);
		assert_true(n > 0);
	}
	/* The export itself was recorded after it was made. */
	n = count(c, "SELECT count(*) FROM auth_events WHERE user_id ="
	    " $1::uuid", u.id);
	assert_int_equal((long)json_array_size(json_object_get(doc,
	    "events")), n - 1);
	db_conn_close(c);
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(doc, "profile"), "first_name")), first);
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(doc, "settings"), "ui_theme")), "dark");
	assert_true(json_is_object(json_object_get(doc, "account")));
	assert_non_null(strstr(text, "\"email_change_verify\""));

	/* No secret of any kind. */
	assert_absent(text, u.password, "password");
	assert_absent(text, m.secret, "TOTP secret");
	for (i = 0; i < ITEST_USERS_CODES; i++)
		assert_absent(text, m.codes[i], "recovery code");
	assert_absent(text, t.refresh, "refresh token");
	assert_absent(text, t2.refresh, "refresh token");
	assert_absent(text, t.access, "access token");
	assert_absent(text, mt, "mfa token");
	assert_absent(text, "$2b$", "bcrypt hash");
	assert_absent(text, "$argon2", "Argon2 hash");
	assert_absent(text, "token=", "link");
	json_object_foreach(doc, k, x)
		assert_null(strstr(k, "secret"));
	assert_absent(text, "\"vars\"", "mail values");
	assert_absent(text, "hash\"", "hash column");
	assert_absent(text, "secret\"", "secret column");
	itest_resp_cleanup(&r);
	assert_int_equal(itest_users_status("GET", EXPORT, NULL, NULL), 401);
}

/* Deleting refuses without proof, then ends everything at once. */
static void
test_delete(void **state)
{
	static const char	*gone[] = {
		"SELECT count(*) FROM users WHERE id = $1::uuid",
		"SELECT count(*) FROM sessions WHERE user_id = $1::uuid",
		"SELECT count(*) FROM password_history"
		    " WHERE user_id = $1::uuid",
		"SELECT count(*) FROM email_tokens WHERE user_id = $1::uuid",
		"SELECT count(*) FROM recovery_codes"
		    " WHERE user_id = $1::uuid",
		"SELECT count(*) FROM profile_settings"
		    " WHERE user_id = $1::uuid",
		"SELECT count(*) FROM mfa_challenges"
		    " WHERE user_id = $1::uuid",
		"SELECT count(*) FROM email_outbox WHERE user_id = $1::uuid",
		"SELECT count(*) FROM auth_events WHERE user_id = $1::uuid"
		    " OR actor_id = $1::uuid",
	};
	struct itest_user	 u;
	struct itest_tokens	 t, other;
	struct itest_mfa	 m;
	struct itest_resp	 r;
	struct db_conn		*c;
	char			 code[8], wrong[ITEST_AUTH_PASSWORD_MAX];
	char			 mt[ITEST_AUTH_ACCESS_MAX];
	json_t			*body;
	size_t			 i;

	(void)state;
	itest_auth_new_user(&u, &t, "delete");
	set_names(t.access, "Del", "Etable");
	itest_users_enable_mfa(t.access, u.password, &m);
	itest_users_mfa_token(&u, mt, sizeof(mt));
	assert_int_equal(itest_users_mfa_verify(mt, NULL, m.codes[0],
	    &other), 200);
	json_decref(itest_users_me(other.access));	/* live in cache */

	itest_auth_password(wrong, sizeof(wrong));
	body = json_pack("{s:s}", "password", wrong);
	assert_int_equal(itest_users_status("DELETE", ME, t.access, body),
	    403);
	json_decref(body);
	body = json_pack("{s:s}", "password", u.password);
	itest_users_req("DELETE", ME, t.access, body, &r);
	json_decref(body);
	itest_auth_expect(&r, 400, "DELETE /me without the code");
	itest_resp_cleanup(&r);
	body = json_pack("{s:s,s:s}", "password", u.password, "code",
	    "000000");
	assert_int_equal(itest_users_status("DELETE", ME, t.access, body),
	    403);
	json_decref(body);
	assert_int_equal(itest_users_status("DELETE", ME, NULL, NULL), 401);
	assert_int_equal(itest_users_status("GET", ME, t.access, NULL), 200);

	itest_users_totp(&m, code);
	body = json_pack("{s:s,s:s}", "password", u.password, "code", code);
	assert_int_equal(itest_users_status("DELETE", ME, t.access, body),
	    204);
	json_decref(body);
	assert_int_equal(itest_users_status("GET", ME, t.access, NULL), 401);
	assert_int_equal(itest_users_status("GET", ME, other.access, NULL),
	    401);
	assert_int_equal(itest_auth_refresh(t.refresh, NULL), 401);
	assert_int_equal(itest_auth_refresh(other.refresh, NULL), 401);
	assert_int_equal(itest_auth_login_as(u.username, u.password, NULL),
	    401);
	assert_int_equal(itest_auth_login_as(u.email, u.password, NULL),
	    401);
	/* memcached forgetting cannot bring the account back. */
	assert_int_equal(itest_stack("memcached-stop"), 0);
	assert_int_equal(itest_users_status("GET", ME, t.access, NULL), 401);
	assert_int_equal(itest_users_status("GET", ME, other.access, NULL),
	    401);
	assert_int_equal(itest_auth_refresh(other.refresh, NULL), 401);
	assert_int_equal(itest_stack("memcached-start"), 0);

	c = itest_users_db();
	for (i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
		if (count(c, gone[i], u.id) != 0)
			fail_msg("left after deletion: %s", gone[i]);
	/* Nothing names the user either, in mail or in event details. */
	assert_int_equal(itest_users_sql_long(c, "SELECT count(*) FROM"
	    " email_outbox WHERE lower(recipient) = lower($1)", u.email,
	    NULL), 0);
	assert_int_equal(itest_users_sql_long(c, "SELECT count(*) FROM"
	    " auth_events WHERE details::text LIKE '%' || $1::text || '%'"
	    " OR details::text LIKE '%' || $2::text || '%'", u.username,
	    u.email), 0);
	/* The events stay, under an anonymous digest only. */
	assert_true(itest_users_sql_long(c, "SELECT count(*) FROM"
	    " auth_events WHERE user_ref = sha256(convert_to($1, 'UTF8'))"
	    " AND user_id IS NULL", u.id, NULL) > 0);
	db_conn_close(c);
}

/* The hex of a string's bytes, as pg_dump writes a bytea. */
static void
hex_of(const char *s, char *out, size_t len)
{
	size_t	 i;

	assert_true(strlen(s) * 2 < len);
	for (i = 0; s[i] != '\0'; i++)
		snprintf(out + 2 * i, 3, "%02x", (unsigned char)s[i]);
}

/* Fails when the dump holds s. */
static void
dump_lacks(const char *dump, const char *s, const char *what)
{
	if (strstr(dump, s) != NULL)
		fail_msg("the database holds the %s in the clear", what);
}

/*
 * At rest: pg_dump of the whole database holds no name, TOTP secret
 * (in base32 or as raw bytes), recovery code or token of the user.
 */
static void
test_at_rest(void **state)
{
	struct itest_user	 u;
	struct itest_tokens	 t;
	struct itest_mfa	 m;
	struct buf		 cmd, dump, raw, text;
	struct db_conn		*c;
	char			 first[40], last[40], hex[128];
	char			 token[128], plain[16], addr[160];
	json_t			*body;
	size_t			 i, j, o;
	int			 tries;

	(void)state;
	itest_auth_new_user(&u, &t, "atrest");
	odd_name(first, sizeof(first), "rest");
	odd_name(last, sizeof(last), "rest");
	set_names(t.access, first, last);
	itest_users_enable_mfa(t.access, u.password, &m);
	/* A mailed token too, once the mailer has sent it. */
	snprintf(addr, sizeof(addr), "y%s@example.org", u.username);
	body = json_pack("{s:s,s:s}", "password", u.password, "new_email",
	    addr);
	assert_int_equal(itest_users_status("PUT", ME "/email", t.access,
	    body), 202);
	json_decref(body);
	buf_init(&text, 0);
	assert_int_equal(itest_auth_mail(addr, NULL, ITEST_AUTH_MAIL_WAIT_MS,
	    &text, NULL, 0), 0);
	assert_int_equal(itest_auth_mail_token(buf_str(&text), token,
	    sizeof(token)), 0);
	itest_auth_secret(token);
	buf_cleanup(&text);
	c = itest_users_db();
	for (tries = 0; tries < 100 && itest_users_sql_long(c,
	    "SELECT count(*) FROM email_outbox WHERE user_id = $1::uuid"
	    " AND status = 'pending'", u.id, NULL) > 0; tries++)
		itest_auth_sleep_ms(50);
	db_conn_close(c);

	buf_init(&cmd, 0);
	buf_init(&dump, 0);
	buf_init(&raw, 0);
	assert_int_equal(buf_printf(&cmd, "for d in /usr/lib/postgresql/*/bin;"
	    " do p=$d/pg_dump; done; $p --data-only -d '%s' 2>/dev/null",
	    itest_env("WS_DATABASE_URL")), 0);
	assert_int_equal(itest_run(buf_str(&cmd), &dump), 0);
	assert_non_null(strstr(buf_str(&dump), u.id));	/* it is there */
	buf_reset(&cmd);
	assert_int_equal(buf_printf(&cmd, "printf '%%s' '%s' | base32 -d |"
	    " od -An -tx1 | tr -d ' \\n'", m.secret), 0);
	assert_int_equal(itest_run(buf_str(&cmd), &raw), 0);
	assert_int_equal(raw.len, 40);

	dump_lacks(buf_str(&dump), first, "first name");
	dump_lacks(buf_str(&dump), last, "last name");
	hex_of(first, hex, sizeof(hex));
	dump_lacks(buf_str(&dump), hex, "first name (as bytes)");
	hex_of(last, hex, sizeof(hex));
	dump_lacks(buf_str(&dump), hex, "last name (as bytes)");
	dump_lacks(buf_str(&dump), m.secret, "TOTP secret");
	dump_lacks(buf_str(&dump), buf_str(&raw), "TOTP secret (bytes)");
	hex_of(m.secret, hex, sizeof(hex));
	dump_lacks(buf_str(&dump), hex, "TOTP secret (as text bytes)");
	for (i = 0; i < ITEST_USERS_CODES; i++) {
		dump_lacks(buf_str(&dump), m.codes[i], "recovery code");
		for (j = 0, o = 0; m.codes[i][j] != '\0'; j++)
			if (m.codes[i][j] != '-')
				plain[o++] = m.codes[i][j];
		plain[o] = '\0';
		dump_lacks(buf_str(&dump), plain, "recovery code");
	}
	dump_lacks(buf_str(&dump), t.refresh, "refresh token");
	dump_lacks(buf_str(&dump), token, "mailed token");
	dump_lacks(buf_str(&dump), u.password, "password");
	buf_cleanup(&cmd);
	buf_cleanup(&dump);
	buf_cleanup(&raw);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_export),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_at_rest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
