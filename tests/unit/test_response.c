/*
 * The response layer: problem details, header injection refused, and
 * the CGI serialisation with the headers every response must carry.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "error.h"
#include "http.h"

static char	 get_m[] = "REQUEST_METHOD=GET";
static char	 head_m[] = "REQUEST_METHOD=HEAD";
static char	 uri[] = "DOCUMENT_URI=/x";
static char	 rid1[] = "REQUEST_ID=rid-test-1";
static char	 rid2[] = "REQUEST_ID=rid-test-2";
static char	*env_get[] = { get_m, uri, rid1, NULL };
static char	*env_head[] = { head_m, uri, rid2, NULL };

static int
setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

/* Serialises rs for a request made from env into a new C string. */
static char *
serialize(const struct resp *rs, char **env)
{
	struct req	 r;
	struct buf	 out;
	char		*s;

	assert_int_equal(req_init(&r, env, NULL, 1024), 0);
	buf_init(&out, 0);
	assert_int_equal(resp_serialize(rs, &r, &out), 0);
	s = strdup(buf_str(&out));
	assert_non_null(s);
	buf_cleanup(&out);
	req_cleanup(&r);
	return s;
}

/* The body of a serialised reply: what follows the blank line. */
static const char *
body_of(const char *s)
{
	const char	*b = strstr(s, "\r\n\r\n");

	assert_non_null(b);
	return b + 4;
}

static size_t
count(const char *s, const char *needle)
{
	size_t	 n = 0;

	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s++;
	}
	return n;
}

static void
assert_security_headers(const char *s)
{
	assert_non_null(strstr(s, "\r\nCache-Control: no-store\r\n"));
	assert_non_null(strstr(s, "\r\nX-Content-Type-Options: nosniff\r\n"));
	assert_non_null(strstr(s, "\r\nContent-Security-Policy: default-src "
	    "'none'; frame-ancestors 'none'; base-uri 'none'\r\n"));
	assert_non_null(strstr(s, "\r\nReferrer-Policy: no-referrer\r\n"));
}

static void
test_json_reply_serialized(void **state)
{
	struct resp	 rs;
	json_t		*j;
	char		*s;

	(void)state;
	resp_init(&rs);
	j = json_pack("{s:s}", "name", "caf\xc3\xa9");
	assert_int_equal(resp_json(&rs, 200, j), 0);
	json_decref(j);
	s = serialize(&rs, env_get);
	assert_int_equal(strncmp(s, "Status: 200 OK\r\n", 16), 0);
	assert_non_null(strstr(s, "\r\nContent-Type: application/json; "
	    "charset=utf-8\r\n"));
	assert_non_null(strstr(s, "\r\nContent-Length: 16\r\n"));
	assert_non_null(strstr(s, "\r\nX-Request-Id: rid-test-1\r\n"));
	assert_security_headers(s);
	assert_string_equal(body_of(s), "{\"name\":\"caf\xc3\xa9\"}");
	free(s);
	resp_cleanup(&rs);
}

static void
test_problem_fields(void **state)
{
	struct req	 r;
	struct resp	 rs;
	json_t		*errors, *p, *f;

	(void)state;
	assert_int_equal(req_init(&r, env_get, NULL, 1024), 0);
	resp_init(&rs);
	errors = json_pack("{s:[s]}", "email", "is not an address");
	assert_int_equal(resp_problem(&rs, &r, 422, "VALIDATION_FAILED",
	    "Some fields are not valid.", errors), 0);
	/* Not stolen: the caller still owns its reference. */
	assert_int_equal(errors->refcount, 1);
	json_decref(errors);
	assert_int_equal(rs.status, 422);
	assert_string_equal(rs.content_type, "application/problem+json");
	p = json_loadb(rs.body.data, rs.body.len, 0, NULL);
	assert_non_null(p);
	assert_string_equal(json_string_value(json_object_get(p, "type")),
	    "about:blank");
	assert_string_equal(json_string_value(json_object_get(p, "title")),
	    "Unprocessable Content");
	assert_int_equal(json_integer_value(json_object_get(p, "status")),
	    422);
	assert_string_equal(json_string_value(json_object_get(p, "detail")),
	    "Some fields are not valid.");
	assert_string_equal(json_string_value(json_object_get(p, "code")),
	    "VALIDATION_FAILED");
	assert_string_equal(json_string_value(json_object_get(p,
	    "request_id")), "rid-test-1");
	f = json_object_get(json_object_get(p, "errors"), "email");
	assert_string_equal(json_string_value(json_array_get(f, 0)),
	    "is not an address");
	json_decref(p);
	resp_cleanup(&rs);
	req_cleanup(&r);
}

static void
test_problem_serialized_with_charset(void **state)
{
	struct resp	 rs;
	char		*s;

	(void)state;
	resp_init(&rs);
	assert_int_equal(resp_problem(&rs, NULL, 404, "NOT_FOUND", NULL,
	    NULL), 0);
	s = serialize(&rs, env_get);
	assert_int_equal(strncmp(s, "Status: 404 Not Found\r\n", 23), 0);
	assert_non_null(strstr(s, "\r\nContent-Type: application/problem+json;"
	    " charset=utf-8\r\n"));
	assert_security_headers(s);
	/* Without a detail, the title stands in; without r, no id. */
	assert_non_null(strstr(body_of(s), "\"detail\":\"Not Found\""));
	assert_null(strstr(body_of(s), "request_id"));
	free(s);
	resp_cleanup(&rs);
}

static void
test_header_crlf_refused(void **state)
{
	static const char *const bad_values[] = {
		"x\r\nSet-Cookie: pwn=1", "x\n", "x\r", "a\x01z", "a\x7fz",
	};
	static const char *const bad_names[] = {
		"", "Bad Name", "X:Y", "X\r\nY", "Caf\xc3\xa9",
	};
	struct resp	 rs;
	size_t		 i;

	(void)state;
	resp_init(&rs);
	for (i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++)
		assert_int_equal(resp_header(&rs, "X-Test", bad_values[i]),
		    WS_ERR_INVALID);
	for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
		assert_int_equal(resp_header(&rs, bad_names[i], "v"),
		    WS_ERR_INVALID);
	assert_int_equal(rs.nheaders, 0);
	assert_int_equal(resp_header(&rs, "Retry-After", "1"), 0);
	assert_int_equal(resp_header(&rs, "X-Tab", "a\tb"), 0);
	assert_int_equal(rs.nheaders, 2);
	resp_cleanup(&rs);
}

/* A second Content-Length or Status would let a handler split replies. */
static void
test_reserved_headers_refused(void **state)
{
	static const char *const reserved[] = {
		"Status", "content-length", "Content-Type", "X-Request-Id",
	};
	struct resp	 rs;
	size_t		 i;

	(void)state;
	resp_init(&rs);
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		assert_int_equal(resp_header(&rs, reserved[i], "1"),
		    WS_ERR_INVALID);
	resp_cleanup(&rs);
}

static void
test_header_count_bounded(void **state)
{
	struct resp	 rs;
	char		 name[32];
	int		 i;

	(void)state;
	resp_init(&rs);
	for (i = 0; i < HTTP_MAX_HEADERS; i++) {
		snprintf(name, sizeof(name), "X-H%d", i);
		assert_int_equal(resp_header(&rs, name, "v"), 0);
	}
	assert_int_equal(resp_header(&rs, "X-One-Too-Many", "v"),
	    WS_ERR_TOOBIG);
	resp_cleanup(&rs);
}

static void
test_extra_headers_and_override(void **state)
{
	struct resp	 rs;
	json_t		*j = json_object();
	char		*s;

	(void)state;
	resp_init(&rs);
	assert_int_equal(resp_json(&rs, 200, j), 0);
	json_decref(j);
	assert_int_equal(resp_header(&rs, "Cache-Control",
	    "public, max-age=300"), 0);
	assert_int_equal(resp_header(&rs, "Retry-After", "5"), 0);
	s = serialize(&rs, env_get);
	/* The handler's Cache-Control replaces the default: one line. */
	assert_int_equal(count(s, "Cache-Control:"), 1);
	assert_non_null(strstr(s,
	    "\r\nCache-Control: public, max-age=300\r\n"));
	assert_non_null(strstr(s, "\r\nRetry-After: 5\r\n"));
	assert_non_null(strstr(s, "\r\nX-Content-Type-Options: nosniff\r\n"));
	free(s);
	resp_cleanup(&rs);
}

static void
test_204_has_no_body(void **state)
{
	struct resp	 rs;
	json_t		*j = json_pack("{s:i}", "ignored", 1);
	char		*s;

	(void)state;
	resp_init(&rs);
	assert_int_equal(resp_json(&rs, 204, j), 0);
	json_decref(j);
	s = serialize(&rs, env_get);
	assert_int_equal(strncmp(s, "Status: 204 No Content\r\n", 24), 0);
	assert_null(strstr(s, "\r\nContent-Type:"));
	assert_null(strstr(s, "\r\nContent-Length:"));
	assert_security_headers(s);
	assert_string_equal(body_of(s), "");
	free(s);
	resp_cleanup(&rs);
}

static void
test_head_has_headers_but_no_body(void **state)
{
	struct resp	 rs;
	json_t		*j = json_pack("{s:s}", "a", "b");
	char		*s;

	(void)state;
	resp_init(&rs);
	assert_int_equal(resp_json(&rs, 200, j), 0);
	json_decref(j);
	s = serialize(&rs, env_head);
	assert_non_null(strstr(s, "\r\nContent-Type: application/json; "
	    "charset=utf-8\r\n"));
	assert_non_null(strstr(s, "\r\nContent-Length: 9\r\n"));
	assert_non_null(strstr(s, "\r\nX-Request-Id: rid-test-2\r\n"));
	assert_string_equal(body_of(s), "");
	free(s);
	resp_cleanup(&rs);
}

/* A handler that wrote nothing is a bug: the client sees a clean 500. */
static void
test_status_zero_becomes_500(void **state)
{
	struct resp	 rs;
	char		*s;

	(void)state;
	resp_init(&rs);
	s = serialize(&rs, env_get);
	assert_int_equal(strncmp(s, "Status: 500 Internal Server Error\r\n",
	    35), 0);
	assert_non_null(strstr(s, "application/problem+json"));
	assert_non_null(strstr(body_of(s), "\"code\":\"INTERNAL_ERROR\""));
	assert_non_null(strstr(body_of(s), "\"request_id\":\"rid-test-1\""));
	assert_security_headers(s);
	free(s);
	resp_cleanup(&rs);
}

static void
test_text_reply(void **state)
{
	static const char	 text[] = "# HELP x\nx 1\n";
	struct resp		 rs;
	char			*s;

	(void)state;
	resp_init(&rs);
	assert_int_equal(resp_text(&rs, 200, "text/plain; version=0.0.4",
	    text, sizeof(text) - 1), 0);
	s = serialize(&rs, env_get);
	/* Text types go out as given. */
	assert_non_null(strstr(s, "\r\nContent-Type: text/plain; "
	    "version=0.0.4\r\n"));
	assert_string_equal(body_of(s), text);
	free(s);
	assert_int_equal(resp_text(&rs, 200, "text/plain\r\nX-Evil: 1", "x",
	    1), WS_ERR_INVALID);
	assert_int_equal(resp_text(&rs, 200, "", "x", 1), WS_ERR_INVALID);
	resp_cleanup(&rs);
}

static void
test_status_range_checked(void **state)
{
	struct resp	 rs;
	json_t		*j = json_object();

	(void)state;
	resp_init(&rs);
	assert_int_equal(resp_json(&rs, 99, j), WS_ERR_INVALID);
	assert_int_equal(resp_json(&rs, 600, j), WS_ERR_INVALID);
	assert_int_equal(resp_problem(&rs, NULL, 0, "X", NULL, NULL),
	    WS_ERR_INVALID);
	assert_int_equal(rs.status, 0);
	json_decref(j);
	resp_cleanup(&rs);
}

/* A later reply replaces an earlier one entirely. */
static void
test_reply_replaced(void **state)
{
	struct resp	 rs;
	json_t		*j = json_pack("{s:s}", "first", "reply");
	char		*s;

	(void)state;
	resp_init(&rs);
	assert_int_equal(resp_json(&rs, 200, j), 0);
	json_decref(j);
	assert_int_equal(resp_problem(&rs, NULL, 503, "SERVICE_UNAVAILABLE",
	    NULL, NULL), 0);
	s = serialize(&rs, env_get);
	assert_null(strstr(s, "first"));
	assert_int_equal(count(s, "\r\nContent-Type:"), 1);
	assert_non_null(strstr(s, "application/problem+json"));
	free(s);
	resp_cleanup(&rs);
}

static void
test_status_text(void **state)
{
	(void)state;
	assert_string_equal(http_status_text(200), "OK");
	assert_string_equal(http_status_text(404), "Not Found");
	assert_string_equal(http_status_text(413), "Content Too Large");
	assert_string_equal(http_status_text(429), "Too Many Requests");
	assert_string_equal(http_status_text(499), "Client Error");
	assert_string_equal(http_status_text(42), "Unknown");
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_json_reply_serialized),
		cmocka_unit_test(test_problem_fields),
		cmocka_unit_test(test_problem_serialized_with_charset),
		cmocka_unit_test(test_header_crlf_refused),
		cmocka_unit_test(test_reserved_headers_refused),
		cmocka_unit_test(test_header_count_bounded),
		cmocka_unit_test(test_extra_headers_and_override),
		cmocka_unit_test(test_204_has_no_body),
		cmocka_unit_test(test_head_has_headers_but_no_body),
		cmocka_unit_test(test_status_zero_becomes_500),
		cmocka_unit_test(test_text_reply),
		cmocka_unit_test(test_status_range_checked),
		cmocka_unit_test(test_reply_replaced),
		cmocka_unit_test(test_status_text),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
