/*
 * Hostile and malformed input.  Through nginx, the shared request
 * layer must answer each mistake with the right status as problem
 * JSON (design.md 4); straight over FastCGI, requests no web server
 * would pass (huge parameters, NUL bytes, dot segments, absurd
 * lengths) must never bring a responder down.
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "itest.h"

#define BODY_LIMIT	(16 * 1024)
#define ONE_MIB		(1024 * 1024)
/* libcurl builds a request in a buffer capped at 1 MiB. */
#define CURL_HEADROOM	4096

static const char * const json_ct[] = {
	"Content-Type: application/json", NULL
};

/* ---- through nginx ---- */

static void
assert_problem(const struct itest_resp *r, long status)
{
	char		 ct[256], rid[256];
	const char	*code, *id;
	json_t		*st;

	if (r->status != status)
		fail_msg("status %ld, wanted %ld; body: %s", r->status, status,
		    buf_str(&r->body));
	assert_non_null(itest_header(r, "Content-Type", ct, sizeof(ct)));
	if (strncmp(ct, "application/problem+json", 24) != 0)
		fail_msg("Content-Type is \"%s\"", ct);
	if (r->json == NULL)
		fail_msg("body is not JSON: %s", buf_str(&r->body));
	/* RFC 9457's members, and WebSands' own code and request id. */
	assert_true(json_is_string(json_object_get(r->json, "type")));
	assert_true(json_is_string(json_object_get(r->json, "title")));
	code = json_string_value(json_object_get(r->json, "code"));
	assert_non_null(code);
	assert_true(*code != '\0');
	st = json_object_get(r->json, "status");
	assert_true(json_is_integer(st));
	assert_int_equal(json_integer_value(st), status);
	id = json_string_value(json_object_get(r->json, "request_id"));
	assert_non_null(id);
	assert_non_null(itest_header(r, "X-Request-Id", rid, sizeof(rid)));
	assert_string_equal(id, rid);
}

/* POSTs body to the echo responder and expects the given problem. */
static void
echo_expect(const char * const *headers, const char *body, size_t len,
    long status)
{
	struct itest_resp	 r;

	assert_int_equal(itest_http("POST", "/__test/echo", headers, body,
	    len, &r), 0);
	assert_problem(&r, status);
	itest_resp_cleanup(&r);
}

/* GET /health through nginx still answers 200. */
static void
assert_health_via_nginx(void)
{
	struct itest_resp	 r;

	assert_int_equal(itest_http("GET", "/health", NULL, NULL, 0, &r), 0);
	assert_int_equal(r.status, 200);
	itest_resp_cleanup(&r);
}

/* The control: a good body comes back as it went in. */
static void
test_echo_valid(void **state)
{
	static const char	 body[] = "{\"a\":1,\"b\":\"caf\xc3\xa9\"}";
	struct itest_resp	 r;
	json_t			*want;

	(void)state;
	assert_int_equal(itest_http("POST", "/__test/echo", json_ct, body,
	    sizeof(body) - 1, &r), 0);
	assert_int_equal(r.status, 200);
	want = json_loads(body, 0, NULL);
	assert_non_null(want);
	assert_non_null(r.json);
	assert_true(json_equal(want, r.json));
	json_decref(want);
	itest_resp_cleanup(&r);
}

static void
test_body_too_big(void **state)
{
	size_t	 n = BODY_LIMIT + 4096;
	char	*body;

	(void)state;
	body = malloc(n);
	assert_non_null(body);
	memset(body, 'x', n);
	memcpy(body, "{\"a\":\"", 6);
	memcpy(body + n - 2, "\"}", 2);
	echo_expect(json_ct, body, n, 413);
	free(body);
}

static void
test_malformed_json(void **state)
{
	(void)state;
	echo_expect(json_ct, "{\"a\":", 5, 400);
}

static void
test_duplicate_keys(void **state)
{
	static const char	 body[] = "{\"a\":1,\"a\":2}";

	(void)state;
	echo_expect(json_ct, body, sizeof(body) - 1, 400);
}

static void
test_invalid_utf8(void **state)
{
	static const char	 body[] = "{\"a\":\"\xff\xfe\"}";

	(void)state;
	echo_expect(json_ct, body, sizeof(body) - 1, 400);
}

static void
test_top_level_array(void **state)
{
	(void)state;
	echo_expect(json_ct, "[1,2]", 5, 400);
}

static void
test_wrong_content_type(void **state)
{
	static const char * const	 text[] = {
		"Content-Type: text/plain", NULL
	};

	(void)state;
	echo_expect(text, "{\"a\":1}", 7, 415);
}

static void
test_unknown_path(void **state)
{
	struct itest_resp	 r;

	(void)state;
	assert_int_equal(itest_http("GET", "/health/nope", NULL, NULL, 0,
	    &r), 0);
	assert_problem(&r, 404);
	itest_resp_cleanup(&r);
}

static void
test_wrong_method(void **state)
{
	struct itest_resp	 r;
	char			 allow[256];

	(void)state;
	assert_int_equal(itest_http("DELETE", "/health", NULL, NULL, 0, &r),
	    0);
	assert_problem(&r, 405);
	assert_non_null(itest_header(&r, "Allow", allow, sizeof(allow)));
	assert_non_null(strstr(allow, "GET"));
	itest_resp_cleanup(&r);
}

/* TRACE is refused and never reflects the request (cross-site tracing). */
static void
test_trace_not_echoed(void **state)
{
	static const char * const	 h[] = {
		"X-Canary: trace-canary-5c1d", NULL
	};
	struct itest_resp		 r;

	(void)state;
	assert_int_equal(itest_http("TRACE", "/health", h, NULL, 0, &r), 0);
	if (r.status != 405 && r.status != 501)
		fail_msg("TRACE answered %ld", r.status);
	assert_null(strstr(buf_str(&r.body), "trace-canary"));
	assert_null(strstr(buf_str(&r.headers), "trace-canary"));
	itest_resp_cleanup(&r);
}

/*
 * nginx stops a 1 MiB header itself; the responders stay up.  libcurl
 * refuses to build a request of 1 MiB or more, so the header is 1 MiB
 * less a little room for the rest of the request; the raw test below
 * sends a full one.
 */
static void
test_huge_header_via_nginx(void **state)
{
	struct itest_resp	 r;
	const char		*h[2] = { NULL, NULL };
	size_t			 n = ONE_MIB - CURL_HEADROOM;
	char			*line;

	(void)state;
	line = malloc(n + 16);
	assert_non_null(line);
	memcpy(line, "X-Big: ", 7);
	memset(line + 7, 'a', n);
	line[7 + n] = '\0';
	h[0] = line;
	assert_int_equal(itest_http("GET", "/health", h, NULL, 0, &r), 0);
	if (r.status != 400 && r.status != 431 && r.status != 494)
		fail_msg("a 1 MiB header got %ld", r.status);
	itest_resp_cleanup(&r);
	free(line);
	assert_health_via_nginx();
}

/*
 * Writes a request with a header of over 1 MiB straight to nginx's
 * socket.  nginx may answer before it has read it all and close, so a
 * failed write is no failure; whatever status came back must be 4xx.
 */
static void
test_raw_huge_header_via_nginx(void **state)
{
	static const char	 head[] = "GET /health HTTP/1.1\r\n"
	    "Host: localhost\r\nX-Big: ";
	struct sockaddr_in	 sin;
	struct timeval		 tv = { .tv_sec = 10 };
	const char		*base = itest_env("WS_BASE_URL"), *hp;
	char			*req, reply[512];
	size_t			 len, off = 0;
	ssize_t			 w, got;
	long			 port;
	int			 fd, status = -1;

	(void)state;
	/* WS_BASE_URL is http://127.0.0.1:PORT on the test stack. */
	hp = strrchr(base, ':');
	assert_non_null(hp);
	port = strtol(hp + 1, NULL, 10);
	assert_true(port > 0 && port < 65536);

	len = ONE_MIB + 64;
	req = malloc(len);
	assert_non_null(req);
	memset(req, 'a', len);
	memcpy(req, head, sizeof(head) - 1);
	memcpy(req + len - 4, "\r\n\r\n", 4);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd != -1);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	while (off < len && (w = send(fd, req + off, len - off,
	    MSG_NOSIGNAL)) > 0)
		off += (size_t)w;
	got = recv(fd, reply, sizeof(reply) - 1, 0);
	close(fd);
	free(req);
	if (got > 0) {
		reply[got] = '\0';
		if (sscanf(reply, "HTTP/1.%*d %d", &status) != 1)
			fail_msg("not an HTTP reply: %s", reply);
		print_message("sent %zu of %zu bytes, got %d\n", off, len,
		    status);
		if (status < 400 || status >= 500)
			fail_msg("a header over 1 MiB got %d", status);
	} else
		print_message("sent %zu of %zu bytes, connection closed\n",
		    off, len);
	assert_health_via_nginx();
}

/* Dot segments past the root never reach a file or a 200. */
static void
test_dot_segments_via_nginx(void **state)
{
	struct itest_resp	 r;

	(void)state;
	assert_int_equal(itest_http("GET",
	    "/health/%2e%2e/%2e%2e/%2e%2e/etc/passwd", NULL, NULL, 0, &r), 0);
	if (r.status < 400 || r.status >= 500)
		fail_msg("dot segments got %ld", r.status);
	assert_null(strstr(buf_str(&r.body), "root:"));
	itest_resp_cleanup(&r);
	assert_health_via_nginx();
}

static void
test_nul_via_nginx(void **state)
{
	struct itest_resp	 r;

	(void)state;
	assert_int_equal(itest_http("GET", "/health%00/x", NULL, NULL, 0,
	    &r), 0);
	if (r.status < 400 || r.status >= 500)
		fail_msg("a NUL in the path got %ld", r.status);
	itest_resp_cleanup(&r);
	assert_health_via_nginx();
}

/* ---- straight to a responder over FastCGI ---- */

struct fcgi_req {
	const char	*method;
	const char	*path;		/* DOCUMENT_URI and PATH_INFO */
	size_t		 plen;
	const char	*uri;		/* REQUEST_URI */
	const char	*ctype;
	const char	*clen;
	const char	*xname;		/* one more parameter, or NULL */
	const char	*xval;
	size_t		 xvlen;
	const char	*body;
	size_t		 blen;
};

/*
 * Sends q to addr with the variables nginx would set and returns the
 * status of the reply (200 when it has no Status header, as CGI says),
 * or -1 when no reply came back.
 */
static int
fcgi_do(const char *addr, const struct fcgi_req *q)
{
#define P(n, v, l)	{ n, sizeof(n) - 1, v, l }
#define S(n, v)		P(n, v, strlen(v))
	struct itest_param	 p[] = {
		S("GATEWAY_INTERFACE", "CGI/1.1"),
		S("SERVER_PROTOCOL", "HTTP/1.1"),
		S("REQUEST_METHOD", q->method),
		S("REQUEST_URI", q->uri),
		P("DOCUMENT_URI", q->path, q->plen),
		S("SCRIPT_NAME", ""),
		P("PATH_INFO", q->path, q->plen),
		S("QUERY_STRING", ""),
		S("CONTENT_TYPE", q->ctype != NULL ? q->ctype : ""),
		S("CONTENT_LENGTH", q->clen != NULL ? q->clen : ""),
		S("REMOTE_ADDR", "127.0.0.1"),
		S("REMOTE_PORT", "40000"),
		S("SERVER_ADDR", "127.0.0.1"),
		S("SERVER_PORT", "80"),
		S("SERVER_NAME", "localhost"),
		S("HTTP_HOST", "localhost"),
		P("HTTP_X_EXTRA", "", 0),
	};
#undef S
#undef P
	struct buf	 raw;
	const char	*s, *end, *l, *nl;
	size_t		 n = sizeof(p) / sizeof(p[0]);
	int		 status = -1;

	if (q->xname != NULL) {
		p[n - 1].name = q->xname;
		p[n - 1].nlen = strlen(q->xname);
		p[n - 1].value = q->xval;
		p[n - 1].vlen = q->xvlen;
	}
	buf_init(&raw, 0);
	if (itest_fcgi(addr, p, n, q->body, q->blen, &raw) != 0)
		goto out;
	s = buf_str(&raw);
	if ((end = strstr(s, "\r\n\r\n")) == NULL &&
	    (end = strstr(s, "\n\n")) == NULL)
		goto out;
	status = 200;
	for (l = s; l < end; l = nl + 1) {
		if (strncasecmp(l, "Status:", 7) == 0)
			status = atoi(l + 7);
		if ((nl = strchr(l, '\n')) == NULL)
			break;
	}
out:
	buf_cleanup(&raw);
	return status;
}

static const char *
health_addr(void)
{
	return itest_env("WS_HEALTH_FCGI");
}

static const char *
echo_addr(void)
{
	return itest_env("WS_ECHO_FCGI");
}

/* The responder at addr still answers GET /health with 200. */
static void
assert_health_direct(void)
{
	struct fcgi_req	 q = {
		.method = "GET", .path = "/health", .plen = 7,
		.uri = "/health",
	};

	assert_int_equal(fcgi_do(health_addr(), &q), 200);
}

/* The echo responder still echoes a good body. */
static void
assert_echo_direct(void)
{
	struct fcgi_req	 q = {
		.method = "POST", .path = "/__test/echo", .plen = 12,
		.uri = "/__test/echo", .ctype = "application/json",
		.clen = "7", .body = "{\"a\":1}", .blen = 7,
	};

	assert_int_equal(fcgi_do(echo_addr(), &q), 200);
}

/* A reply, when there is one, refuses the request without a fault. */
static void
assert_refused_or_silent(int status)
{
	print_message("reply status: %d\n", status);
	if (status != -1 && (status < 400 || status >= 500))
		fail_msg("hostile request answered %d", status);
}

/* A reply, when there is one, is no server fault. */
static void
assert_no_fault(int status)
{
	print_message("reply status: %d\n", status);
	if (status >= 500)
		fail_msg("hostile request answered %d", status);
}

static void
test_direct_huge_param(void **state)
{
	struct fcgi_req	 q = {
		.method = "GET", .path = "/health", .plen = 7,
		.uri = "/health", .xname = "HTTP_X_BIG",
	};
	char		*big;

	(void)state;
	big = malloc(ONE_MIB);
	assert_non_null(big);
	memset(big, 'b', ONE_MIB);
	q.xval = big;
	q.xvlen = ONE_MIB;
	assert_no_fault(fcgi_do(health_addr(), &q));
	free(big);
	assert_health_direct();
}

static void
test_direct_nul_in_path(void **state)
{
	static const char	 path[] = "/health\0/x";
	struct fcgi_req		 q = {
		.method = "GET", .path = path, .plen = sizeof(path) - 1,
		.uri = "/health%00/x",
	};

	(void)state;
	assert_refused_or_silent(fcgi_do(health_addr(), &q));
	assert_health_direct();
}

static void
test_direct_dot_segments(void **state)
{
	static const char	 path[] = "/health/../metrics";
	struct fcgi_req		 q = {
		.method = "GET", .path = path, .plen = sizeof(path) - 1,
		.uri = path,
	};

	(void)state;
	assert_refused_or_silent(fcgi_do(health_addr(), &q));
	assert_health_direct();
}

static void
test_direct_encoded_dot_segments(void **state)
{
	static const char	 path[] = "/health/%2e%2e/metrics";
	struct fcgi_req		 q = {
		.method = "GET", .path = path, .plen = sizeof(path) - 1,
		.uri = path,
	};

	(void)state;
	assert_refused_or_silent(fcgi_do(health_addr(), &q));
	assert_health_direct();
}

static void
test_direct_negative_length(void **state)
{
	struct fcgi_req	 get = {
		.method = "GET", .path = "/health", .plen = 7,
		.uri = "/health", .clen = "-1", .body = "{}", .blen = 2,
	};
	struct fcgi_req	 post = {
		.method = "POST", .path = "/__test/echo", .plen = 12,
		.uri = "/__test/echo", .ctype = "application/json",
		.clen = "-1", .body = "{\"a\":1}", .blen = 7,
	};

	(void)state;
	assert_no_fault(fcgi_do(health_addr(), &get));
	assert_health_direct();
	assert_refused_or_silent(fcgi_do(echo_addr(), &post));
	assert_echo_direct();
}

static void
test_direct_huge_length(void **state)
{
	static const char	 huge[] = "99999999999999999999";
	struct fcgi_req		 get = {
		.method = "GET", .path = "/health", .plen = 7,
		.uri = "/health", .clen = huge, .body = "{}", .blen = 2,
	};
	struct fcgi_req		 post = {
		.method = "POST", .path = "/__test/echo", .plen = 12,
		.uri = "/__test/echo", .ctype = "application/json",
		.clen = huge, .body = "{\"a\":1}", .blen = 7,
	};

	(void)state;
	assert_no_fault(fcgi_do(health_addr(), &get));
	assert_health_direct();
	assert_refused_or_silent(fcgi_do(echo_addr(), &post));
	assert_echo_direct();
}

/* A body far past the limit straight to the echo responder: 413. */
static void
test_direct_huge_body(void **state)
{
	struct fcgi_req	 q = {
		.method = "POST", .path = "/__test/echo", .plen = 12,
		.uri = "/__test/echo", .ctype = "application/json",
		.clen = "1048576",
	};
	char		*big;

	(void)state;
	big = malloc(ONE_MIB);
	assert_non_null(big);
	memset(big, ' ', ONE_MIB);
	big[0] = '{';
	big[ONE_MIB - 1] = '}';
	q.body = big;
	q.blen = ONE_MIB;
	assert_int_equal(fcgi_do(echo_addr(), &q), 413);
	free(big);
	assert_echo_direct();
}

/* ---- the same processes are still there ---- */

/*
 * The pid of the process listening on the port of addr ("host:port"),
 * as ss(8) reports it, or -1.
 */
static long
listener_pid(const char *addr)
{
	struct buf	 cmd, out;
	const char	*port, *p;
	long		 pid = -1;

	if ((port = strrchr(addr, ':')) == NULL)
		return -1;
	buf_init(&cmd, 0);
	buf_init(&out, 64 * 1024);
	if (buf_printf(&cmd, "ss -Hltnp 'sport = :%s'", port + 1) == 0 &&
	    itest_run(buf_str(&cmd), &out) == 0 &&
	    (p = strstr(buf_str(&out), "pid=")) != NULL)
		pid = strtol(p + 4, NULL, 10);
	buf_cleanup(&cmd);
	buf_cleanup(&out);
	return pid;
}

static long	 start_pids[2];

/* Before anything hostile is sent: who serves health and echo. */
static int
record_pids(void **state)
{
	(void)state;
	start_pids[0] = listener_pid(health_addr());
	start_pids[1] = listener_pid(echo_addr());
	return 0;
}

/* Both responders are the very processes that were there at first. */
static void
test_no_responder_died(void **state)
{
	(void)state;
	assert_true(start_pids[0] > 0);
	assert_true(start_pids[1] > 0);
	assert_int_equal(listener_pid(health_addr()), start_pids[0]);
	assert_int_equal(listener_pid(echo_addr()), start_pids[1]);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_echo_valid),
		cmocka_unit_test(test_body_too_big),
		cmocka_unit_test(test_malformed_json),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_top_level_array),
		cmocka_unit_test(test_wrong_content_type),
		cmocka_unit_test(test_unknown_path),
		cmocka_unit_test(test_wrong_method),
		cmocka_unit_test(test_trace_not_echoed),
		cmocka_unit_test(test_huge_header_via_nginx),
		cmocka_unit_test(test_raw_huge_header_via_nginx),
		cmocka_unit_test(test_dot_segments_via_nginx),
		cmocka_unit_test(test_nul_via_nginx),
		cmocka_unit_test(test_direct_huge_param),
		cmocka_unit_test(test_direct_nul_in_path),
		cmocka_unit_test(test_direct_dot_segments),
		cmocka_unit_test(test_direct_encoded_dot_segments),
		cmocka_unit_test(test_direct_negative_length),
		cmocka_unit_test(test_direct_huge_length),
		cmocka_unit_test(test_direct_huge_body),
		cmocka_unit_test(test_no_responder_died),
	};

	return cmocka_run_group_tests(tests, record_pids, NULL);
}
