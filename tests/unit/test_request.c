/*
 * The request layer: the path, the client address behind trusted
 * proxies, the request id, header, query and cookie lookups, and the
 * strict JSON body reader with the problem replies it writes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "error.h"
#include "http.h"

#define ENV_MAX		24
#define ENV_LEN		4200

/* A CGI environment built for one test. */
struct env {
	char	*v[ENV_MAX + 1];
	char	 store[ENV_MAX][ENV_LEN];
	size_t	 n;
};

static void
env_add(struct env *e, const char *name, const char *value)
{
	int	 n;

	assert_true(e->n < ENV_MAX);
	n = snprintf(e->store[e->n], ENV_LEN, "%s=%s", name, value);
	assert_true(n > 0 && n < ENV_LEN);
	e->v[e->n] = e->store[e->n];
	e->v[++e->n] = NULL;
}

static struct env *
env_new(const char *method, const char *doc_uri)
{
	static struct env	 e;

	memset(&e, 0, sizeof(e));
	if (method != NULL)
		env_add(&e, "REQUEST_METHOD", method);
	if (doc_uri != NULL)
		env_add(&e, "DOCUMENT_URI", doc_uri);
	return &e;
}

static int
setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

/* Parses the problem body in rs and checks status and code. */
static void
assert_problem(const struct resp *rs, int status, const char *code)
{
	json_t	*j;

	assert_int_equal(rs->status, status);
	assert_string_equal(rs->content_type, "application/problem+json");
	j = json_loadb(rs->body.data, rs->body.len, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "code")),
	    code);
	assert_int_equal(json_integer_value(json_object_get(j, "status")),
	    status);
	json_decref(j);
}

/* ---- the path ---- */

static void
test_path_from_document_uri(void **state)
{
	struct env	*e = env_new("GET", "/api/v1/users/me");
	struct req	 r;

	(void)state;
	assert_int_equal(req_init(&r, e->v, NULL, 1024), 0);
	assert_string_equal(r.path, "/api/v1/users/me");
	assert_string_equal(r.method, "GET");
	assert_string_equal(r.query, "");
	assert_string_equal(r.content_type, "");
	req_cleanup(&r);
}

/* nginx decodes DOCUMENT_URI already; a second decoding would be a bug. */
static void
test_path_document_uri_not_decoded_twice(void **state)
{
	struct env	*e = env_new("GET", "/files/%2e%2e/x%41");
	struct req	 r;

	(void)state;
	assert_int_equal(req_init(&r, e->v, NULL, 1024), 0);
	assert_string_equal(r.path, "/files/%2e%2e/x%41");
	req_cleanup(&r);
}

static void
test_path_from_script_name_and_path_info(void **state)
{
	struct env	*e = env_new("GET", NULL);
	struct req	 r;

	(void)state;
	env_add(e, "SCRIPT_NAME", "/api/v1/auth");
	env_add(e, "PATH_INFO", "/login");
	assert_int_equal(req_init(&r, e->v, NULL, 1024), 0);
	assert_string_equal(r.path, "/api/v1/auth/login");
	req_cleanup(&r);
}

static void
test_path_from_request_uri_is_decoded(void **state)
{
	struct env	*e = env_new("GET", NULL);
	struct req	 r;

	(void)state;
	env_add(e, "REQUEST_URI", "/a%20b/c%2Bd?x=1&y=%41");
	assert_int_equal(req_init(&r, e->v, NULL, 1024), 0);
	assert_string_equal(r.path, "/a b/c+d");
	/* No QUERY_STRING: the query comes from REQUEST_URI, raw. */
	assert_string_equal(r.query, "x=1&y=%41");
	req_cleanup(&r);
}

/* A %00 cut DOCUMENT_URI short; REQUEST_URI shows it. */
static void
test_path_encoded_nul_refused(void **state)
{
	struct env	*e = env_new("GET", "/health");
	struct req	 r;

	(void)state;
	env_add(e, "REQUEST_URI", "/health%00/x");
	assert_int_equal(req_init(&r, e->v, NULL, 1024), WS_ERR_INVALID);
	/* Still traceable, and safe to clean up. */
	assert_int_equal(strlen(r.request_id), HTTP_REQUEST_ID_LEN);
	req_cleanup(&r);
}

static void
test_path_bad_escape_refused(void **state)
{
	static const char *const bad[] = { "/a%zz", "/a%4", "/a%", "/%g0" };
	struct env	*e;
	struct req	 r;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e = env_new("GET", NULL);
		env_add(e, "REQUEST_URI", bad[i]);
		assert_int_equal(req_init(&r, e->v, NULL, 1024),
		    WS_ERR_INVALID);
		req_cleanup(&r);
	}
}

static void
test_path_dot_segments_refused(void **state)
{
	static const char *const bad[] = {
		"/a/../b", "/a/./b", "/..", "/.", "/a/..", "/a/.",
	};
	struct env	*e;
	struct req	 r;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e = env_new("GET", bad[i]);
		assert_int_equal(req_init(&r, e->v, NULL, 1024),
		    WS_ERR_INVALID);
		req_cleanup(&r);
	}
}

static void
test_path_encoded_dot_segments_refused(void **state)
{
	struct env	*e = env_new("GET", NULL);
	struct req	 r;

	(void)state;
	env_add(e, "REQUEST_URI", "/health/%2e%2E/metrics");
	assert_int_equal(req_init(&r, e->v, NULL, 1024), WS_ERR_INVALID);
	req_cleanup(&r);
}

/* Only whole "." and ".." segments are special. */
static void
test_path_dots_inside_segments_allowed(void **state)
{
	struct env	*e = env_new("GET", "/a/.../b/..c/.d/e.");
	struct req	 r;

	(void)state;
	assert_int_equal(req_init(&r, e->v, NULL, 1024), 0);
	assert_string_equal(r.path, "/a/.../b/..c/.d/e.");
	req_cleanup(&r);
}

static void
test_path_needs_leading_slash(void **state)
{
	struct env	*e = env_new("GET", NULL);
	struct req	 r;

	(void)state;
	env_add(e, "REQUEST_URI", "http://evil.test/x");
	assert_int_equal(req_init(&r, e->v, NULL, 1024), WS_ERR_INVALID);
	req_cleanup(&r);
}

static void
test_path_length_limit(void **state)
{
	char		 p[2050];
	struct env	*e;
	struct req	 r;

	(void)state;
	memset(p, 'a', sizeof(p));
	p[0] = '/';
	p[2048] = '\0';
	e = env_new("GET", p);
	assert_int_equal(req_init(&r, e->v, NULL, 1024), 0);
	assert_int_equal(strlen(r.path), 2048);
	req_cleanup(&r);
	p[2048] = 'a';
	p[2049] = '\0';
	e = env_new("GET", p);
	assert_int_equal(req_init(&r, e->v, NULL, 1024), WS_ERR_INVALID);
	req_cleanup(&r);
}

static void
test_no_path_refused(void **state)
{
	struct env	*e = env_new("GET", NULL);
	struct req	 r;

	(void)state;
	assert_int_equal(req_init(&r, e->v, NULL, 1024), WS_ERR_INVALID);
	req_cleanup(&r);
}

static void
test_method_required_and_checked(void **state)
{
	static const char *const bad[] = { "", "get", "GE T", "G\tET",
	    "AVERYLONGMETHODNAMEX" };
	struct env	*e;
	struct req	 r;
	size_t		 i;

	(void)state;
	e = env_new(NULL, "/x");
	assert_int_equal(req_init(&r, e->v, NULL, 1024), WS_ERR_INVALID);
	assert_non_null(r.method);
	req_cleanup(&r);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e = env_new(bad[i], "/x");
		assert_int_equal(req_init(&r, e->v, NULL, 1024),
		    WS_ERR_INVALID);
		req_cleanup(&r);
	}
}

/* req_cleanup twice, or after a failure, is harmless. */
static void
test_cleanup_twice(void **state)
{
	struct env	*e = env_new("GET", "/x");
	struct req	 r;

	(void)state;
	assert_int_equal(req_init(&r, e->v, NULL, 1024), 0);
	assert_int_equal(buf_puts(&r.body, "{}"), 0);
	req_cleanup(&r);
	req_cleanup(&r);
	req_cleanup(NULL);
}

static void
test_body_limit_applies_to_body(void **state)
{
	struct env	*e = env_new("POST", "/x");
	struct req	 r;

	(void)state;
	assert_int_equal(req_init(&r, e->v, NULL, 4), 0);
	assert_int_equal(buf_puts(&r.body, "1234"), 0);
	assert_int_equal(buf_puts(&r.body, "5"), WS_ERR_TOOBIG);
	req_cleanup(&r);
}

/* ---- client address ---- */

static void
test_xff_ignored_from_untrusted_peer(void **state)
{
	struct env	*e = env_new("GET", "/x");
	struct req	 r;

	(void)state;
	env_add(e, "REMOTE_ADDR", "203.0.113.9");
	env_add(e, "HTTP_X_FORWARDED_FOR", "1.2.3.4");
	assert_int_equal(req_init(&r, e->v, "10.0.0.1", 1024), 0);
	assert_string_equal(r.remote_addr, "203.0.113.9");
	req_cleanup(&r);
}

static void
test_xff_ignored_without_trusted_proxies(void **state)
{
	struct env	*e = env_new("GET", "/x");
	struct req	 r;

	(void)state;
	env_add(e, "REMOTE_ADDR", "10.0.0.1");
	env_add(e, "HTTP_X_FORWARDED_FOR", "1.2.3.4");
	assert_int_equal(req_init(&r, e->v, NULL, 1024), 0);
	assert_string_equal(r.remote_addr, "10.0.0.1");
	req_cleanup(&r);
}

/* The right-most untrusted hop is the client; left of it is forgeable. */
static void
test_xff_rightmost_untrusted(void **state)
{
	struct env	*e = env_new("GET", "/x");
	struct req	 r;

	(void)state;
	env_add(e, "REMOTE_ADDR", "10.0.0.1");
	env_add(e, "HTTP_X_FORWARDED_FOR",
	    "6.6.6.6, 198.51.100.7 ,10.2.3.4");
	assert_int_equal(req_init(&r, e->v, "10.0.0.0/8, 192.168.1.1",
	    1024), 0);
	assert_string_equal(r.remote_addr, "198.51.100.7");
	req_cleanup(&r);
}

static void
test_xff_all_trusted_takes_leftmost(void **state)
{
	struct env	*e = env_new("GET", "/x");
	struct req	 r;

	(void)state;
	env_add(e, "REMOTE_ADDR", "10.0.0.1");
	env_add(e, "HTTP_X_FORWARDED_FOR", "10.9.9.9, 10.0.0.2");
	assert_int_equal(req_init(&r, e->v, "10.0.0.0/8", 1024), 0);
	assert_string_equal(r.remote_addr, "10.9.9.9");
	req_cleanup(&r);
}

static void
test_xff_garbage_stops_at_last_vouched(void **state)
{
	struct env	*e = env_new("GET", "/x");
	struct req	 r;

	(void)state;
	env_add(e, "REMOTE_ADDR", "10.0.0.1");
	env_add(e, "HTTP_X_FORWARDED_FOR", "1.2.3.4, <script>, 10.0.0.2");
	assert_int_equal(req_init(&r, e->v, "10.0.0.0/8", 1024), 0);
	assert_string_equal(r.remote_addr, "10.0.0.2");
	req_cleanup(&r);
}

static void
test_xff_repeated_header_ignored(void **state)
{
	struct env	*e = env_new("GET", "/x");
	struct req	 r;

	(void)state;
	env_add(e, "REMOTE_ADDR", "10.0.0.1");
	env_add(e, "HTTP_X_FORWARDED_FOR", "1.2.3.4");
	env_add(e, "HTTP_X_FORWARDED_FOR", "5.6.7.8");
	assert_int_equal(req_init(&r, e->v, "10.0.0.1", 1024), 0);
	assert_string_equal(r.remote_addr, "10.0.0.1");
	req_cleanup(&r);
}

static void
test_xff_ipv6_proxies(void **state)
{
	struct env	*e = env_new("GET", "/x");
	struct req	 r;

	(void)state;
	env_add(e, "REMOTE_ADDR", "fd00::1");
	env_add(e, "HTTP_X_FORWARDED_FOR", "2001:db8:0:0::0:5, fd12::7");
	assert_int_equal(req_init(&r, e->v, "fd00::/8", 1024), 0);
	/* Printed in canonical form, so one client has one spelling. */
	assert_string_equal(r.remote_addr, "2001:db8::5");
	req_cleanup(&r);
}

static void
test_remote_addr_mapped_ipv4(void **state)
{
	struct env	*e = env_new("GET", "/x");
	struct req	 r;

	(void)state;
	env_add(e, "REMOTE_ADDR", "::ffff:192.0.2.1");
	assert_int_equal(req_init(&r, e->v, "192.0.2.0/24", 1024), 0);
	assert_string_equal(r.remote_addr, "192.0.2.1");
	req_cleanup(&r);
}

static void
test_remote_addr_missing_or_odd(void **state)
{
	struct env	*e = env_new("GET", "/x");
	struct req	 r;

	(void)state;
	assert_int_equal(req_init(&r, e->v, NULL, 1024), 0);
	assert_string_equal(r.remote_addr, "");
	req_cleanup(&r);
	e = env_new("GET", "/x");
	env_add(e, "REMOTE_ADDR", "unix:");
	assert_int_equal(req_init(&r, e->v, NULL, 1024), 0);
	assert_string_equal(r.remote_addr, "unix:");
	req_cleanup(&r);
	e = env_new("GET", "/x");
	env_add(e, "REMOTE_ADDR", "a\nb");
	assert_int_equal(req_init(&r, e->v, NULL, 1024), 0);
	assert_string_equal(r.remote_addr, "");
	req_cleanup(&r);
}

static void
test_check_proxies(void **state)
{
	(void)state;
	assert_int_equal(req_check_proxies(NULL), 0);
	assert_int_equal(req_check_proxies(""), 0);
	assert_int_equal(req_check_proxies(" 10.0.0.1 , 10.1.0.0/16,::1, "
	    "fd00::/8, ::ffff:10.0.0.0/104"), 0);
	assert_int_equal(req_check_proxies("10.0.0.1,"), WS_ERR_INVALID);
	assert_int_equal(req_check_proxies("10.0.0.0/33"), WS_ERR_INVALID);
	assert_int_equal(req_check_proxies("::/129"), WS_ERR_INVALID);
	assert_int_equal(req_check_proxies("10.0.0.0/"), WS_ERR_INVALID);
	assert_int_equal(req_check_proxies("10.0.0.0/-1"), WS_ERR_INVALID);
	assert_int_equal(req_check_proxies("proxy.local"), WS_ERR_INVALID);
}

/* ---- request id ---- */

static void
test_request_id_generated(void **state)
{
	struct env	*e = env_new("GET", "/x");
	struct req	 a, b;
	size_t		 i;

	(void)state;
	assert_int_equal(req_init(&a, e->v, NULL, 1024), 0);
	assert_int_equal(req_init(&b, e->v, NULL, 1024), 0);
	assert_int_equal(strlen(a.request_id), HTTP_REQUEST_ID_LEN);
	for (i = 0; i < HTTP_REQUEST_ID_LEN; i++)
		assert_non_null(strchr("0123456789abcdef", a.request_id[i]));
	assert_string_not_equal(a.request_id, b.request_id);
	req_cleanup(&a);
	req_cleanup(&b);
}

static void
test_request_id_from_untrusted_client_ignored(void **state)
{
	struct env	*e = env_new("GET", "/x");
	struct req	 r;

	(void)state;
	env_add(e, "REMOTE_ADDR", "203.0.113.9");
	env_add(e, "HTTP_X_REQUEST_ID", "forged-id");
	assert_int_equal(req_init(&r, e->v, "10.0.0.1", 1024), 0);
	assert_string_not_equal(r.request_id, "forged-id");
	req_cleanup(&r);
}

static void
test_request_id_from_trusted_proxy(void **state)
{
	struct env	*e = env_new("GET", "/x");
	struct req	 r;

	(void)state;
	env_add(e, "REMOTE_ADDR", "10.0.0.1");
	env_add(e, "HTTP_X_REQUEST_ID", "lb-Trace_01");
	assert_int_equal(req_init(&r, e->v, "10.0.0.1", 1024), 0);
	assert_string_equal(r.request_id, "lb-Trace_01");
	req_cleanup(&r);
}

static void
test_request_id_malformed_from_proxy_replaced(void **state)
{
	static const char *const bad[] = {
		"", "has space", "semi;colon", "line\nbreak",
		"123456789012345678901234567890123",	/* 33 characters */
	};
	struct env	*e;
	struct req	 r;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e = env_new("GET", "/x");
		env_add(e, "REMOTE_ADDR", "10.0.0.1");
		env_add(e, "HTTP_X_REQUEST_ID", bad[i]);
		assert_int_equal(req_init(&r, e->v, "10.0.0.1", 1024), 0);
		assert_int_equal(strlen(r.request_id), HTTP_REQUEST_ID_LEN);
		assert_string_not_equal(r.request_id, bad[i]);
		req_cleanup(&r);
	}
}

/* A variable only the web server can set (no HTTP_ prefix). */
static void
test_request_id_from_web_server(void **state)
{
	struct env	*e = env_new("GET", "/x");
	struct req	 r;

	(void)state;
	env_add(e, "REQUEST_ID", "0123456789abcdef0123456789abcdef");
	assert_int_equal(req_init(&r, e->v, NULL, 1024), 0);
	assert_string_equal(r.request_id, "0123456789abcdef0123456789abcdef");
	req_cleanup(&r);
}

/* ---- headers ---- */

static void
test_header_lookup(void **state)
{
	struct env	*e = env_new("POST", "/x");
	struct req	 r;

	(void)state;
	env_add(e, "HTTP_USER_AGENT", "curl/8.0");
	env_add(e, "HTTP_X_CUSTOM_THING", "v");
	env_add(e, "CONTENT_TYPE", "application/json");
	env_add(e, "CONTENT_LENGTH", "2");
	assert_int_equal(req_init(&r, e->v, NULL, 1024), 0);
	assert_string_equal(req_header(&r, "User-Agent"), "curl/8.0");
	assert_string_equal(req_header(&r, "user-agent"), "curl/8.0");
	assert_string_equal(req_header(&r, "X-Custom-Thing"), "v");
	assert_string_equal(req_header(&r, "Content-Type"),
	    "application/json");
	assert_string_equal(req_header(&r, "content-length"), "2");
	assert_string_equal(r.content_type, "application/json");
	assert_null(req_header(&r, "Accept"));
	assert_null(req_header(&r, "User Agent"));
	assert_null(req_header(&r, ""));
	assert_string_equal(req_env(&r, "REQUEST_METHOD"), "POST");
	assert_null(req_env(&r, "REQUEST"));
	req_cleanup(&r);
}

static void
test_header_repeated_is_absent(void **state)
{
	struct env	*e = env_new("GET", "/x");
	struct req	 r;

	(void)state;
	env_add(e, "HTTP_AUTHORIZATION", "Bearer a");
	env_add(e, "HTTP_AUTHORIZATION", "Bearer b");
	assert_int_equal(req_init(&r, e->v, NULL, 1024), 0);
	assert_null(req_header(&r, "Authorization"));
	req_cleanup(&r);
}

/* ---- query ---- */

static void
test_query_decoding(void **state)
{
	struct env	*e = env_new("GET", "/x");
	struct req	 r;
	char		 v[64];

	(void)state;
	env_add(e, "QUERY_STRING",
	    "q=caf%C3%A9+au+lait&na%6De=x&empty=&flag");
	assert_int_equal(req_init(&r, e->v, NULL, 1024), 0);
	assert_int_equal(req_query(&r, "q", v, sizeof(v)), 0);
	assert_string_equal(v, "caf\xc3\xa9 au lait");
	assert_int_equal(req_query(&r, "name", v, sizeof(v)), 0);
	assert_string_equal(v, "x");
	assert_int_equal(req_query(&r, "empty", v, sizeof(v)), 0);
	assert_string_equal(v, "");
	assert_int_equal(req_query(&r, "flag", v, sizeof(v)), 0);
	assert_string_equal(v, "");
	assert_int_equal(req_query(&r, "missing", v, sizeof(v)),
	    WS_ERR_NOTFOUND);
	assert_int_equal(req_query(&r, "Q", v, sizeof(v)), WS_ERR_NOTFOUND);
	req_cleanup(&r);
}

static void
test_query_repeated_name_refused(void **state)
{
	struct env	*e = env_new("GET", "/x");
	struct req	 r;
	char		 v[16];

	(void)state;
	env_add(e, "QUERY_STRING", "id=1&other=2&id=2");
	assert_int_equal(req_init(&r, e->v, NULL, 1024), 0);
	assert_int_equal(req_query(&r, "id", v, sizeof(v)), WS_ERR_INVALID);
	assert_int_equal(req_query(&r, "other", v, sizeof(v)), 0);
	assert_string_equal(v, "2");
	req_cleanup(&r);
}

static void
test_query_bad_values(void **state)
{
	struct env	*e = env_new("GET", "/x");
	struct req	 r;
	char		 v[8];

	(void)state;
	env_add(e, "QUERY_STRING", "a=%zz&b=%00&c=12345678&d=1234567");
	assert_int_equal(req_init(&r, e->v, NULL, 1024), 0);
	assert_int_equal(req_query(&r, "a", v, sizeof(v)), WS_ERR_INVALID);
	assert_int_equal(req_query(&r, "b", v, sizeof(v)), WS_ERR_INVALID);
	assert_int_equal(req_query(&r, "c", v, sizeof(v)), WS_ERR_TOOBIG);
	assert_string_equal(v, "");
	assert_int_equal(req_query(&r, "d", v, sizeof(v)), 0);
	assert_string_equal(v, "1234567");
	req_cleanup(&r);
}

/* ---- cookies ---- */

static void
test_cookie_lookup(void **state)
{
	struct env	*e = env_new("GET", "/x");
	struct req	 r;
	char		 v[64];

	(void)state;
	env_add(e, "HTTP_COOKIE", "theme=dark;  __Host-rt=abc%41+x ; rtx=1;"
	    " flag");
	assert_int_equal(req_init(&r, e->v, NULL, 1024), 0);
	assert_int_equal(req_cookie(&r, "__Host-rt", v, sizeof(v)), 0);
	/* Cookie values come back raw, never decoded. */
	assert_string_equal(v, "abc%41+x");
	assert_int_equal(req_cookie(&r, "theme", v, sizeof(v)), 0);
	assert_string_equal(v, "dark");
	assert_int_equal(req_cookie(&r, "rt", v, sizeof(v)),
	    WS_ERR_NOTFOUND);
	assert_int_equal(req_cookie(&r, "flag", v, sizeof(v)),
	    WS_ERR_NOTFOUND);
	assert_int_equal(req_cookie(&r, "theme", v, 4), WS_ERR_TOOBIG);
	req_cleanup(&r);
}

static void
test_cookie_repeated_refused(void **state)
{
	struct env	*e = env_new("GET", "/x");
	struct req	 r;
	char		 v[64];

	(void)state;
	env_add(e, "HTTP_COOKIE", "rt=planted; rt=real");
	assert_int_equal(req_init(&r, e->v, NULL, 1024), 0);
	assert_int_equal(req_cookie(&r, "rt", v, sizeof(v)), WS_ERR_INVALID);
	req_cleanup(&r);
}

static void
test_cookie_without_header(void **state)
{
	struct env	*e = env_new("GET", "/x");
	struct req	 r;
	char		 v[8];

	(void)state;
	assert_int_equal(req_init(&r, e->v, NULL, 1024), 0);
	assert_int_equal(req_cookie(&r, "rt", v, sizeof(v)), WS_ERR_NOTFOUND);
	req_cleanup(&r);
}

/* ---- JSON bodies ---- */

/* Runs req_json_or_reply on body with content type ct. */
static int
json_try(const char *ct, const char *body, size_t len, int too_big,
    struct resp *rs, json_t **out)
{
	struct env	*e = env_new("POST", "/x");
	struct req	 r;
	int		 rc;

	if (ct != NULL)
		env_add(e, "CONTENT_TYPE", ct);
	assert_int_equal(req_init(&r, e->v, NULL, 1024), 0);
	if (len > 0)
		assert_int_equal(buf_append(&r.body, body, len), 0);
	r.body_too_big = too_big;
	resp_init(rs);
	rc = req_json_or_reply(&r, rs, out);
	req_cleanup(&r);
	return rc;
}

static void
test_json_ok(void **state)
{
	static const char	 body[] = "{\"a\":1,\"b\":\"caf\xc3\xa9\"}";
	struct resp		 rs;
	json_t			*j = NULL;

	(void)state;
	assert_int_equal(json_try("application/json", body,
	    sizeof(body) - 1, 0, &rs, &j), 0);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "a")), 1);
	assert_int_equal(rs.status, 0);
	json_decref(j);
	resp_cleanup(&rs);
}

static void
test_json_content_type_variants_accepted(void **state)
{
	static const char *const ok[] = {
		"application/json; charset=utf-8",
		"Application/JSON;charset=UTF-8",
		" application/json ; charset = \"utf-8\" ",
		"application/json\t",
	};
	struct resp	 rs;
	json_t		*j;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		j = NULL;
		assert_int_equal(json_try(ok[i], "{}", 2, 0, &rs, &j), 0);
		json_decref(j);
		resp_cleanup(&rs);
	}
}

static void
test_json_too_big_413(void **state)
{
	struct resp	 rs;
	json_t		*j = NULL;

	(void)state;
	assert_int_not_equal(json_try("application/json", "{}", 2, 1, &rs,
	    &j), 0);
	assert_null(j);
	assert_problem(&rs, 413, "PAYLOAD_TOO_LARGE");
	resp_cleanup(&rs);
}

static void
test_json_wrong_content_type_415(void **state)
{
	static const char *const bad[] = {
		NULL, "", "text/plain", "application/jsonx",
		"application/json; charset=latin1", "application/json;",
		"application/x-www-form-urlencoded", "application/json-seq",
		"application/json; charset=utf-8; boundary=x",
	};
	struct resp	 rs;
	json_t		*j;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = NULL;
		assert_int_not_equal(json_try(bad[i], "{}", 2, 0, &rs, &j),
		    0);
		assert_null(j);
		assert_problem(&rs, 415, "UNSUPPORTED_MEDIA_TYPE");
		resp_cleanup(&rs);
	}
}

static void
test_json_empty_400(void **state)
{
	struct resp	 rs;
	json_t		*j = NULL;

	(void)state;
	assert_int_not_equal(json_try("application/json", "", 0, 0, &rs,
	    &j), 0);
	assert_problem(&rs, 400, "INVALID_JSON");
	resp_cleanup(&rs);
}

/* The detail gives a position, never the client's text. */
static void
test_json_malformed_400_without_echo(void **state)
{
	static const char	 body[] = "{\"password\": hunter2-secret}";
	struct resp		 rs;
	json_t			*j = NULL;

	(void)state;
	assert_int_not_equal(json_try("application/json", body,
	    sizeof(body) - 1, 0, &rs, &j), 0);
	assert_problem(&rs, 400, "INVALID_JSON");
	assert_null(strstr(buf_str(&rs.body), "hunter2"));
	assert_null(strstr(buf_str(&rs.body), "password"));
	assert_non_null(strstr(buf_str(&rs.body), "line 1"));
	resp_cleanup(&rs);
}

static void
test_json_duplicate_keys_400(void **state)
{
	static const char	 body[] =
	    "{\"email\":\"a@x\",\"email\":\"v@x\"}";
	struct resp		 rs;
	json_t			*j = NULL;

	(void)state;
	assert_int_not_equal(json_try("application/json", body,
	    sizeof(body) - 1, 0, &rs, &j), 0);
	assert_null(j);
	assert_problem(&rs, 400, "INVALID_JSON");
	assert_non_null(strstr(buf_str(&rs.body), "repeats a key"));
	resp_cleanup(&rs);
}

static void
test_json_not_object_400(void **state)
{
	static const char *const bad[] = { "[1,2]", "\"s\"", "1", "null" };
	struct resp	 rs;
	json_t		*j;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = NULL;
		assert_int_not_equal(json_try("application/json", bad[i],
		    strlen(bad[i]), 0, &rs, &j), 0);
		assert_null(j);
		assert_problem(&rs, 400, "INVALID_JSON");
		resp_cleanup(&rs);
	}
}

static void
test_json_invalid_utf8_400(void **state)
{
	static const char *const bad[] = {
		"{\"a\":\"\xff\xfe\"}",
		"{\"a\":\"\xc0\xaf\"}",		/* overlong '/' */
		"{\"a\":\"\xed\xa0\x80\"}",	/* a UTF-16 surrogate */
	};
	struct resp	 rs;
	json_t		*j;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = NULL;
		assert_int_not_equal(json_try("application/json", bad[i],
		    strlen(bad[i]), 0, &rs, &j), 0);
		assert_problem(&rs, 400, "INVALID_JSON");
		resp_cleanup(&rs);
	}
}

static void
test_json_nul_and_trailing_data_400(void **state)
{
	static const char	 raw_nul[] = "{\"a\":\"x\0y\"}";
	static const char *const bad[] = {
		"{\"a\":\"x\\u0000y\"}", "{} {}", "{}x",
	};
	struct resp		 rs;
	json_t			*j = NULL;
	size_t			 i;

	(void)state;
	assert_int_not_equal(json_try("application/json", raw_nul,
	    sizeof(raw_nul) - 1, 0, &rs, &j), 0);
	assert_problem(&rs, 400, "INVALID_JSON");
	resp_cleanup(&rs);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_not_equal(json_try("application/json", bad[i],
		    strlen(bad[i]), 0, &rs, &j), 0);
		assert_problem(&rs, 400, "INVALID_JSON");
		resp_cleanup(&rs);
	}
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_path_from_document_uri),
		cmocka_unit_test(test_path_document_uri_not_decoded_twice),
		cmocka_unit_test(test_path_from_script_name_and_path_info),
		cmocka_unit_test(test_path_from_request_uri_is_decoded),
		cmocka_unit_test(test_path_encoded_nul_refused),
		cmocka_unit_test(test_path_bad_escape_refused),
		cmocka_unit_test(test_path_dot_segments_refused),
		cmocka_unit_test(test_path_encoded_dot_segments_refused),
		cmocka_unit_test(test_path_dots_inside_segments_allowed),
		cmocka_unit_test(test_path_needs_leading_slash),
		cmocka_unit_test(test_path_length_limit),
		cmocka_unit_test(test_no_path_refused),
		cmocka_unit_test(test_method_required_and_checked),
		cmocka_unit_test(test_cleanup_twice),
		cmocka_unit_test(test_body_limit_applies_to_body),
		cmocka_unit_test(test_xff_ignored_from_untrusted_peer),
		cmocka_unit_test(test_xff_ignored_without_trusted_proxies),
		cmocka_unit_test(test_xff_rightmost_untrusted),
		cmocka_unit_test(test_xff_all_trusted_takes_leftmost),
		cmocka_unit_test(test_xff_garbage_stops_at_last_vouched),
		cmocka_unit_test(test_xff_repeated_header_ignored),
		cmocka_unit_test(test_xff_ipv6_proxies),
		cmocka_unit_test(test_remote_addr_mapped_ipv4),
		cmocka_unit_test(test_remote_addr_missing_or_odd),
		cmocka_unit_test(test_check_proxies),
		cmocka_unit_test(test_request_id_generated),
		cmocka_unit_test(test_request_id_from_untrusted_client_ignored),
		cmocka_unit_test(test_request_id_from_trusted_proxy),
		cmocka_unit_test(test_request_id_malformed_from_proxy_replaced),
		cmocka_unit_test(test_request_id_from_web_server),
		cmocka_unit_test(test_header_lookup),
		cmocka_unit_test(test_header_repeated_is_absent),
		cmocka_unit_test(test_query_decoding),
		cmocka_unit_test(test_query_repeated_name_refused),
		cmocka_unit_test(test_query_bad_values),
		cmocka_unit_test(test_cookie_lookup),
		cmocka_unit_test(test_cookie_repeated_refused),
		cmocka_unit_test(test_cookie_without_header),
		cmocka_unit_test(test_json_ok),
		cmocka_unit_test(test_json_content_type_variants_accepted),
		cmocka_unit_test(test_json_too_big_413),
		cmocka_unit_test(test_json_wrong_content_type_415),
		cmocka_unit_test(test_json_empty_400),
		cmocka_unit_test(test_json_malformed_400_without_echo),
		cmocka_unit_test(test_json_duplicate_keys_400),
		cmocka_unit_test(test_json_not_object_400),
		cmocka_unit_test(test_json_invalid_utf8_400),
		cmocka_unit_test(test_json_nul_and_trailing_data_400),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
