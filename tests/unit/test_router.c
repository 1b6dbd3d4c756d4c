/*
 * The router: path parameters, the most specific pattern winning,
 * 404, 405 with Allow, HEAD through GET, and methods such as TRACE
 * that must never reach a handler.
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
#include "router.h"

/* Which handler ran last, and how often any ran. */
static const char	*ran;
static int		 calls;

static void
reply_ok(struct resp *rs, const char *who)
{
	json_t	*j = json_pack("{s:s}", "handler", who);

	ran = who;
	calls++;
	assert_int_equal(resp_json(rs, 200, j), 0);
	json_decref(j);
}

static void
h_me(struct req *r, struct resp *rs)
{
	(void)r;
	reply_ok(rs, "me");
}

static void
h_user(struct req *r, struct resp *rs)
{
	(void)r;
	reply_ok(rs, "user");
}

static void
h_user_post(struct req *r, struct resp *rs)
{
	(void)r;
	reply_ok(rs, "user_post");
}

static void
h_session(struct req *r, struct resp *rs)
{
	(void)r;
	reply_ok(rs, "session");
}

static void
h_head(struct req *r, struct resp *rs)
{
	(void)r;
	reply_ok(rs, "head");
}

static void
h_root(struct req *r, struct resp *rs)
{
	(void)r;
	reply_ok(rs, "root");
}

static void
h_trace(struct req *r, struct resp *rs)
{
	(void)r;
	reply_ok(rs, "trace");
}

/* The parameter-taking pattern is first on purpose: order must not win. */
static const struct route	routes[] = {
	{ "GET",	"/users/{id}",				h_user },
	{ "GET",	"/users/me",				h_me },
	{ "PATCH",	"/users/{id}",				h_user_post },
	{ "DELETE",	"/users/{uid}/sessions/{sid}",		h_session },
	{ "GET",	"/users/{id}",				h_user },
	{ "HEAD",	"/probe",				h_head },
	{ "GET",	"/probe",				h_user },
	{ "GET",	"/",					h_root },
	{ "TRACE",	"/trace",				h_trace },
};
#define NROUTES	(sizeof(routes) / sizeof(routes[0]))

static int
setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

static int
reset(void **state)
{
	(void)state;
	ran = NULL;
	calls = 0;
	return 0;
}

/* A request for method and path, dispatched; the caller cleans up. */
struct exchange {
	char		 m[64], p[256], h[64];
	char		*env[4];
	struct req	 r;
	struct resp	 rs;
};

static void
dispatch(struct exchange *x, const char *method, const char *path)
{
	snprintf(x->m, sizeof(x->m), "REQUEST_METHOD=%s", method);
	snprintf(x->p, sizeof(x->p), "DOCUMENT_URI=%s", path);
	snprintf(x->h, sizeof(x->h), "HTTP_X_CANARY=trace-canary-5c1d");
	x->env[0] = x->m;
	x->env[1] = x->p;
	x->env[2] = x->h;
	x->env[3] = NULL;
	assert_int_equal(req_init(&x->r, x->env, NULL, 1024), 0);
	resp_init(&x->rs);
	router_dispatch(routes, NROUTES, &x->r, &x->rs);
}

static void
done(struct exchange *x)
{
	resp_cleanup(&x->rs);
	req_cleanup(&x->r);
}

static const char *
header(const struct resp *rs, const char *name)
{
	size_t	 i;

	for (i = 0; i < rs->nheaders; i++)
		if (strcmp(rs->headers[i].name, name) == 0)
			return rs->headers[i].value;
	return NULL;
}

static void
assert_problem_code(const struct resp *rs, int status, const char *code)
{
	json_t	*j;

	assert_int_equal(rs->status, status);
	j = json_loadb(rs->body.data, rs->body.len, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "code")),
	    code);
	json_decref(j);
}

static void
test_param_captured(void **state)
{
	struct exchange	 x;

	(void)state;
	dispatch(&x, "GET", "/users/42");
	assert_string_equal(ran, "user");
	assert_string_equal(x.r.route, "/users/{id}");
	assert_int_equal(x.r.nparams, 1);
	assert_string_equal(req_param(&x.r, "id"), "42");
	assert_null(req_param(&x.r, "uid"));
	done(&x);
}

static void
test_two_params(void **state)
{
	struct exchange	 x;

	(void)state;
	dispatch(&x, "DELETE", "/users/u-1/sessions/s-9");
	assert_string_equal(ran, "session");
	assert_string_equal(req_param(&x.r, "uid"), "u-1");
	assert_string_equal(req_param(&x.r, "sid"), "s-9");
	assert_string_equal(x.r.route, "/users/{uid}/sessions/{sid}");
	done(&x);
}

static void
test_literal_beats_param(void **state)
{
	struct exchange	 x;

	(void)state;
	dispatch(&x, "GET", "/users/me");
	assert_string_equal(ran, "me");
	assert_string_equal(x.r.route, "/users/me");
	assert_int_equal(x.r.nparams, 0);
	done(&x);
}

static void
test_root(void **state)
{
	struct exchange	 x;

	(void)state;
	dispatch(&x, "GET", "/");
	assert_string_equal(ran, "root");
	done(&x);
}

static void
test_not_found(void **state)
{
	static const char *const paths[] = {
		"/nope", "/users", "/users/", "/users/42/", "/users//x",
		"/USERS/me", "/users/me/extra", "//users/me",
	};
	struct exchange	 x;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		dispatch(&x, "GET", paths[i]);
		assert_problem_code(&x.rs, 404, "NOT_FOUND");
		assert_string_equal(x.r.route, "unmatched");
		done(&x);
	}
	assert_int_equal(calls, 0);
}

/* An empty segment is not a parameter value. */
static void
test_param_needs_nonempty_segment(void **state)
{
	struct exchange	 x;

	(void)state;
	dispatch(&x, "DELETE", "/users//sessions/s-9");
	assert_int_equal(x.rs.status, 404);
	assert_int_equal(calls, 0);
	done(&x);
}

static void
test_method_not_allowed_with_allow(void **state)
{
	struct exchange	 x;

	(void)state;
	dispatch(&x, "POST", "/users/42");
	assert_problem_code(&x.rs, 405, "METHOD_NOT_ALLOWED");
	/* Each method once, HEAD implied by GET, in a fixed order. */
	assert_string_equal(header(&x.rs, "Allow"), "GET, HEAD, PATCH");
	assert_int_equal(calls, 0);
	done(&x);
}

static void
test_head_served_by_get(void **state)
{
	struct exchange	 x;

	(void)state;
	dispatch(&x, "HEAD", "/users/42");
	assert_string_equal(ran, "user");
	assert_string_equal(x.r.method, "HEAD");
	assert_string_equal(req_param(&x.r, "id"), "42");
	done(&x);
}

static void
test_explicit_head_route_preferred(void **state)
{
	struct exchange	 x;

	(void)state;
	dispatch(&x, "HEAD", "/probe");
	assert_string_equal(ran, "head");
	done(&x);
}

/* TRACE never reaches a handler, even one registered for it. */
static void
test_trace_refused(void **state)
{
	struct exchange	 x;

	(void)state;
	dispatch(&x, "TRACE", "/trace");
	assert_int_equal(calls, 0);
	assert_true(x.rs.status == 405 || x.rs.status == 501);
	assert_null(strstr(buf_str(&x.rs.body), "trace-canary"));
	done(&x);
	dispatch(&x, "TRACE", "/users/42");
	assert_int_equal(calls, 0);
	assert_problem_code(&x.rs, 405, "METHOD_NOT_ALLOWED");
	assert_string_equal(header(&x.rs, "Allow"), "GET, HEAD, PATCH");
	assert_null(strstr(buf_str(&x.rs.body), "trace-canary"));
	done(&x);
}

static void
test_unknown_method_on_unknown_path(void **state)
{
	static const char *const methods[] = { "TRACK", "PROPFIND",
	    "CONNECT" };
	struct exchange	 x;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		dispatch(&x, methods[i], "/nowhere");
		assert_problem_code(&x.rs, 501, "NOT_IMPLEMENTED");
		done(&x);
	}
	assert_int_equal(calls, 0);
}

/* A second dispatch on one request does not keep stale parameters. */
static void
test_dispatch_twice_resets_params(void **state)
{
	struct exchange	 x;

	(void)state;
	dispatch(&x, "DELETE", "/users/a/sessions/b");
	assert_int_equal(x.r.nparams, 2);
	resp_cleanup(&x.rs);
	resp_init(&x.rs);
	router_dispatch(routes, NROUTES, &x.r, &x.rs);
	assert_int_equal(x.r.nparams, 2);
	assert_string_equal(req_param(&x.r, "sid"), "b");
	done(&x);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test_setup(test_param_captured, reset),
		cmocka_unit_test_setup(test_two_params, reset),
		cmocka_unit_test_setup(test_literal_beats_param, reset),
		cmocka_unit_test_setup(test_root, reset),
		cmocka_unit_test_setup(test_not_found, reset),
		cmocka_unit_test_setup(test_param_needs_nonempty_segment,
		    reset),
		cmocka_unit_test_setup(test_method_not_allowed_with_allow,
		    reset),
		cmocka_unit_test_setup(test_head_served_by_get, reset),
		cmocka_unit_test_setup(test_explicit_head_route_preferred,
		    reset),
		cmocka_unit_test_setup(test_trace_refused, reset),
		cmocka_unit_test_setup(test_unknown_method_on_unknown_path,
		    reset),
		cmocka_unit_test_setup(test_dispatch_twice_resets_params,
		    reset),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
