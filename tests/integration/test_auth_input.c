/*
 * Hostile input on every endpoint of websands-auth, through nginx:
 * wrong JSON types, unknown and duplicate fields, 10,000-character
 * values, invalid UTF-8, SQL and format-string payloads, in every
 * field of every body.  Malformed input must get a 4xx; a payload
 * that is merely odd text may be accepted; nothing may get a 5xx,
 * take over 2 s (a '||pg_sleep(5)-- that reached SQL would) or crash
 * the responder: after each endpoint, /health answers through nginx,
 * websands-auth answers, and it is still the same process.
 */
#include <sys/types.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest_auth.h"

#define MAX_SECONDS	2.0
#define LONG_VALUE	10000

/* One payload for a field: raw JSON text, and what it must get. */
struct payload {
	const char	*what;
	const char	*json;		/* raw JSON value */
	int		 must_4xx;	/* malformed: only a 4xx will do */
};

static const struct payload	payloads[] = {
	{ "a number", "12345", 1 },
	{ "a float", "1.5", 1 },
	{ "true", "true", 1 },
	{ "an array", "[\"x\"]", 1 },
	{ "an object", "{\"a\":\"b\"}", 1 },
	{ "invalid UTF-8", "\"ab\xff\xfe" "cd\"", 1 },
	{ "overlong UTF-8", "\"a\xc0\xaf" "b\"", 1 },
	{ "a truncated sequence", "\"a\xe2\x82\"", 1 },
	{ "a lone surrogate", "\"a\\ud800b\"", 1 },
	{ "a NUL", "\"a\\u0000b\"", 1 },
	{ "null", "null", 0 },
	{ "SQL or", "\"' OR '1'='1\"", 0 },
	{ "SQL sleep", "\"'||pg_sleep(5)--\"", 0 },
	{ "SQL sleep, double quote", "\"\\\"||pg_sleep(5)--\"", 0 },
	{ "SQL drop", "\"x'); DROP TABLE users; --\"", 0 },
	{ "format string", "\"%s%n%x%n%p%s%s%s\"", 0 },
	{ "format in an address", "\"%s%n%x@example.com\"", 0 },
	{ "SQL in an address", "\"a'||pg_sleep(5)||'@example.com\"", 0 },
	{ "header injection", "\"a\\r\\nX-Injected: 1\"", 0 },
	{ "markup", "\"<script>alert(1)</script>\"", 0 },
};

/* The body-level cases: raw bodies, each malformed. */
static const char	*bad_bodies[] = {
	"", "{", "{\"a\":", "[]", "\"text\"", "1", "null", "{}}",
	"\xef\xbb\xbf{}", "{\"a\":1,}",
};

/* An endpoint: its path, fields and a request that is almost valid. */
struct endpoint {
	const char	*path;
	const char	*fields[6];
	int		 bearer;	/* needs a live session */
};

static const struct endpoint	endpoints[] = {
	{ "/api/v1/auth/register", { "username", "email", "password",
	    "first_name", "last_name", NULL }, 0 },
	{ "/api/v1/auth/verify-email", { "token", NULL }, 0 },
	{ "/api/v1/auth/resend-verification", { "email", NULL }, 0 },
	{ "/api/v1/auth/login", { "username_or_email", "password", NULL },
	    0 },
	{ "/api/v1/auth/refresh", { "refresh_token", NULL }, 0 },
	{ "/api/v1/auth/logout", { "refresh_token", NULL }, 1 },
	{ "/api/v1/auth/password/forgot", { "email", NULL }, 0 },
	{ "/api/v1/auth/password/reset", { "token", "new_password", NULL },
	    0 },
};

static struct itest_user	 user;
static struct itest_tokens	 live;
static long			 auth_pid;

/* The pid websands-auth runs as, from the harness's pid file. */
static long
read_auth_pid(void)
{
	char	 path[1024];
	FILE	*fp;
	long	 pid = -1;

	snprintf(path, sizeof(path), "%s/auth.pid", itest_env("WS_RUN_DIR"));
	if ((fp = fopen(path, "re")) == NULL)
		return -1;
	if (fscanf(fp, "%ld", &pid) != 1)
		pid = -1;
	fclose(fp);
	return pid;
}

static int
group_setup(void **state)
{
	(void)state;
	itest_auth_register(&user, "input");
	itest_auth_verify(&user);
	itest_auth_login(&user, &live);
	auth_pid = read_auth_pid();
	return 0;
}

/*
 * A valid-looking body for ep with field left out: fresh names for
 * registration so no answer is a 409 by accident, a username nobody
 * has for login so no account is locked.
 */
static json_t *
base_body(const struct endpoint *ep, const char *field)
{
	char	 name[ITEST_AUTH_NAME_MAX], email[ITEST_AUTH_EMAIL_MAX];
	char	 pw[ITEST_AUTH_PASSWORD_MAX];
	json_t	*b;
	size_t	 i;

	itest_auth_unique(name, sizeof(name), "inp");
	snprintf(email, sizeof(email), "%s@example.com", name);
	itest_auth_password(pw, sizeof(pw));
	b = json_object();
	assert_non_null(b);
	for (i = 0; ep->fields[i] != NULL; i++) {
		const char	*f = ep->fields[i], *v;

		if (field != NULL && strcmp(f, field) == 0)
			continue;
		if (strcmp(f, "username") == 0 ||
		    strcmp(f, "username_or_email") == 0)
			v = name;
		else if (strcmp(f, "email") == 0)
			v = email;
		else if (strcmp(f, "password") == 0 ||
		    strcmp(f, "new_password") == 0)
			v = pw;
		else if (strcmp(f, "first_name") == 0)
			v = "Ada";
		else if (strcmp(f, "last_name") == 0)
			v = "Lovelace";
		else
			/* Tokens: well-formed, never issued. */
			v = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
		assert_int_equal(json_object_set_new(b, f, json_string(v)),
		    0);
	}
	return b;
}

/* base's text with "field":raw added as its last member. */
static void
with_member(const json_t *base, const char *field, const char *raw,
    struct buf *out)
{
	char	*text;
	size_t	 len;

	text = json_dumps(base, JSON_COMPACT);
	assert_non_null(text);
	len = strlen(text);
	assert_true(len >= 2 && text[len - 1] == '}');
	buf_reset(out);
	assert_int_equal(buf_append(out, text, len - 1), 0);
	assert_int_equal(buf_printf(out, "%s\"%s\":%s}", len > 2 ? "," : "",
	    field, raw), 0);
	free(text);
}

/*
 * Sends body to ep and checks the answer: never a 5xx, never slow,
 * a 4xx when must_4xx, a problem body that states the same status.
 * A logout that succeeded ended the live session: a new one is made.
 */
static void
send_checked(const struct endpoint *ep, const char *body, size_t len,
    int must_4xx, const char *what)
{
	struct itest_resp	 r;
	json_int_t		 st;

	assert_int_equal(itest_auth_post(ep->path, body, len,
	    ep->bearer ? live.access : NULL, &r), 0);
	if (r.status >= 500 || r.status < 200)
		fail_msg("%s %s: status %ld: %s", ep->path, what, r.status,
		    buf_str(&r.body));
	if (must_4xx && (r.status < 400 || r.status >= 500))
		fail_msg("%s %s: status %ld, wanted a 4xx: %s", ep->path,
		    what, r.status, buf_str(&r.body));
	if (r.seconds > MAX_SECONDS)
		fail_msg("%s %s: took %.2f s", ep->path, what, r.seconds);
	if (r.status >= 400) {
		if (r.json == NULL)
			fail_msg("%s %s: %ld without a JSON body", ep->path,
			    what, r.status);
		st = json_integer_value(json_object_get(r.json, "status"));
		assert_int_equal(st, r.status);
	}
	if (ep->bearer && r.status == 204)
		itest_auth_login(&user, &live);
	if (r.status == 200 && json_object_get(r.json, "access_token")) {
		itest_auth_secret(json_string_value(json_object_get(r.json,
		    "access_token")));
		itest_auth_secret(json_string_value(json_object_get(r.json,
		    "refresh_token")));
	}
	itest_resp_cleanup(&r);
}

/* /health through nginx, websands-auth itself, and the same process. */
static void
assert_alive(void)
{
	struct itest_resp	 r;

	assert_int_equal(itest_http("GET", "/health", NULL, NULL, 0, &r), 0);
	itest_auth_expect(&r, 200, "health after bad input");
	itest_resp_cleanup(&r);
	assert_int_equal(itest_http("GET", "/.well-known/jwks.json", NULL,
	    NULL, 0, &r), 0);
	itest_auth_expect(&r, 200, "jwks after bad input");
	itest_resp_cleanup(&r);
	if (auth_pid > 0) {
		assert_int_equal(read_auth_pid(), auth_pid);
		/* Signal 0 only asks whether the process exists. */
		if (kill((pid_t)auth_pid, 0) != 0)
			fail_msg("websands-auth (pid %ld) is gone", auth_pid);
	}
}

/* Every payload in every field, then body-level faults, for ep. */
static void
hammer(const struct endpoint *ep)
{
	struct buf	 body, longv;
	json_t		*base;
	char		 what[256];
	size_t		 f, p;

	buf_init(&body, 0);
	buf_init(&longv, 0);
	assert_int_equal(buf_putc(&longv, '"'), 0);
	for (p = 0; p < LONG_VALUE; p++)
		assert_int_equal(buf_putc(&longv, (char)('a' + p % 26)), 0);
	assert_int_equal(buf_putc(&longv, '"'), 0);

	for (f = 0; ep->fields[f] != NULL; f++) {
		for (p = 0; p < sizeof(payloads) / sizeof(payloads[0]); p++) {
			base = base_body(ep, ep->fields[f]);
			with_member(base, ep->fields[f], payloads[p].json,
			    &body);
			snprintf(what, sizeof(what), "%s: %s",
			    ep->fields[f], payloads[p].what);
			send_checked(ep, body.data, body.len,
			    payloads[p].must_4xx, what);
			json_decref(base);
		}
		base = base_body(ep, ep->fields[f]);
		with_member(base, ep->fields[f], buf_str(&longv), &body);
		snprintf(what, sizeof(what), "%s: 10,000 characters",
		    ep->fields[f]);
		send_checked(ep, body.data, body.len, 1, what);
		json_decref(base);
		/* The field twice: the second would win in a lax parser. */
		base = base_body(ep, NULL);
		with_member(base, ep->fields[f], "\"x\"", &body);
		snprintf(what, sizeof(what), "%s twice", ep->fields[f]);
		send_checked(ep, body.data, body.len, 1, what);
		json_decref(base);
	}
	/* Fields nobody asked for: nothing can be mass-assigned. */
	base = base_body(ep, NULL);
	with_member(base, "role", "\"admin\"", &body);
	send_checked(ep, body.data, body.len, 1, "role admin");
	with_member(base, "email_verified", "true", &body);
	send_checked(ep, body.data, body.len, 1, "email_verified true");
	with_member(base, "__proto__", "{\"role\":\"admin\"}", &body);
	send_checked(ep, body.data, body.len, 1, "__proto__");
	json_decref(base);
	for (p = 0; p < sizeof(bad_bodies) / sizeof(bad_bodies[0]); p++) {
		snprintf(what, sizeof(what), "body \"%s\"", bad_bodies[p]);
		/* Only logout takes an empty body, its body being optional. */
		send_checked(ep, bad_bodies[p], strlen(bad_bodies[p]),
		    !ep->bearer || bad_bodies[p][0] != '\0', what);
	}
	buf_cleanup(&body);
	buf_cleanup(&longv);
	assert_alive();
}

static void
test_input_register(void **state)
{
	(void)state;
	hammer(&endpoints[0]);
}

static void
test_input_verify_email(void **state)
{
	(void)state;
	hammer(&endpoints[1]);
}

static void
test_input_resend(void **state)
{
	(void)state;
	hammer(&endpoints[2]);
}

static void
test_input_login(void **state)
{
	(void)state;
	hammer(&endpoints[3]);
}

static void
test_input_refresh(void **state)
{
	(void)state;
	hammer(&endpoints[4]);
}

static void
test_input_logout(void **state)
{
	(void)state;
	hammer(&endpoints[5]);
}

static void
test_input_forgot(void **state)
{
	(void)state;
	hammer(&endpoints[6]);
}

static void
test_input_reset(void **state)
{
	(void)state;
	hammer(&endpoints[7]);
}

/* SQL in the password of a real account is only a wrong password. */
static void
test_input_login_sql_password(void **state)
{
	static const char	*sql[] = { "' OR '1'='1", "' OR 1=1 --",
				    "'||pg_sleep(5)--", "x' OR 'x'='x" };
	struct itest_user	 u;
	struct itest_resp	 r;
	json_t			*body;
	size_t			 i;

	(void)state;
	itest_auth_register(&u, "inpsql");
	itest_auth_verify(&u);
	for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		body = json_pack("{s:s,s:s}", "username_or_email", u.username,
		    "password", sql[i]);
		assert_int_equal(itest_auth_post_json("/api/v1/auth/login",
		    body, NULL, &r), 0);
		json_decref(body);
		if (r.status != 401)
			fail_msg("password %s: status %ld: %s", sql[i],
			    r.status, buf_str(&r.body));
		assert_true(r.seconds < MAX_SECONDS);
		itest_resp_cleanup(&r);
	}
	/* A username that is SQL finds nobody either. */
	body = json_pack("{s:s,s:s}", "username_or_email", "' OR '1'='1",
	    "password", u.password);
	assert_int_equal(itest_auth_post_json("/api/v1/auth/login", body,
	    NULL, &r), 0);
	json_decref(body);
	itest_auth_expect(&r, 401, "SQL username");
	itest_resp_cleanup(&r);
}

/* Another content type is refused before the body is read. */
static void
test_input_content_type(void **state)
{
	static const char	*types[] = { "Content-Type: text/plain",
				    "Content-Type: application/x-www-form-"
				    "urlencoded", "Content-Type: " };
	struct itest_resp	 r;
	const char		*h[2] = { NULL, NULL };
	const char		*body = "{\"email\":\"a@example.com\"}";
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		h[0] = types[i];
		assert_int_equal(itest_http("POST",
		    "/api/v1/auth/password/forgot", h, body, strlen(body),
		    &r), 0);
		if (r.status < 400 || r.status >= 500)
			fail_msg("%s: status %ld", types[i], r.status);
		itest_resp_cleanup(&r);
	}
	assert_alive();
}

static int
group_teardown(void **state)
{
	(void)state;
	itest_auth_logout(live.access);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_input_register),
		cmocka_unit_test(test_input_verify_email),
		cmocka_unit_test(test_input_resend),
		cmocka_unit_test(test_input_login),
		cmocka_unit_test(test_input_refresh),
		cmocka_unit_test(test_input_logout),
		cmocka_unit_test(test_input_forgot),
		cmocka_unit_test(test_input_reset),
		cmocka_unit_test(test_input_login_sql_password),
		cmocka_unit_test(test_input_content_type),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
