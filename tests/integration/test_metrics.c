/*
 * Two websands-health processes serve behind nginx, and /metrics sums
 * the counters of both: each keeps its own shared-memory file under
 * METRICS_DIR and either one reads them all (design.md 11).
 */
#define _GNU_SOURCE	/* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "itest.h"

#define NGINX_ROUNDS		40
#define DIRECT_ROUNDS		20

struct fcgi_reply {
	int		 status;
	const char	*body;	/* points into the raw reply */
};

/*
 * Splits a CGI-style reply into its status (200 when the Status header
 * is absent, as CGI says) and its body.  Returns 0, or -1 when there is
 * no blank line ending the headers.
 */
static int
cgi_parse(const struct buf *raw, struct fcgi_reply *out)
{
	const char	*s = buf_str(raw), *end, *p, *nl;

	out->status = 200;
	out->body = "";
	if ((end = strstr(s, "\r\n\r\n")) != NULL)
		out->body = end + 4;
	else if ((end = strstr(s, "\n\n")) != NULL)
		out->body = end + 2;
	else
		return -1;
	for (p = s; p < end; p = nl + 1) {
		if (strncasecmp(p, "Status:", 7) == 0)
			out->status = atoi(p + 7);
		if ((nl = strchr(p, '\n')) == NULL)
			break;
	}
	return 0;
}

/* One GET straight to the responder at addr, with nginx's variables. */
static int
fcgi_get(const char *addr, const char *path, struct buf *raw,
    struct fcgi_reply *out)
{
	struct itest_param	 p[] = {
#define P(n, v)	{ n, sizeof(n) - 1, v, strlen(v) }
		P("GATEWAY_INTERFACE", "CGI/1.1"),
		P("SERVER_PROTOCOL", "HTTP/1.1"),
		P("REQUEST_METHOD", "GET"),
		P("REQUEST_URI", path),
		P("DOCUMENT_URI", path),
		P("SCRIPT_NAME", ""),
		P("PATH_INFO", path),
		P("QUERY_STRING", ""),
		P("CONTENT_TYPE", ""),
		P("CONTENT_LENGTH", ""),
		P("REMOTE_ADDR", "127.0.0.1"),
		P("REMOTE_PORT", "40000"),
		P("SERVER_ADDR", "127.0.0.1"),
		P("SERVER_PORT", "80"),
		P("SERVER_NAME", "localhost"),
		P("HTTP_HOST", "localhost"),
#undef P
	};

	buf_reset(raw);
	if (itest_fcgi(addr, p, sizeof(p) / sizeof(p[0]), NULL, 0, raw) != 0)
		return -1;
	return cgi_parse(raw, out);
}

/* The second websands-health of the stack. */
static void
second_addr(char *out, size_t outlen)
{
	int	 n;

	n = snprintf(out, outlen, "%s", itest_env("WS_HEALTH2_FCGI"));
	assert_true(n > 0 && (size_t)n < outlen);
}

/*
 * Whether the label set {..} of a sample holds label="value" exactly:
 * the match must start a label, so route="/health" does not match
 * route="/health/ready".
 */
static int
has_label(const char *labels, size_t len, const char *want)
{
	const char	*p = labels, *end = labels + len;
	size_t		 wl = strlen(want);

	while ((p = memmem(p, (size_t)(end - p), want, wl)) != NULL) {
		if (p == labels || p[-1] == '{' || p[-1] == ',')
			return 1;
		p++;
	}
	return 0;
}

/*
 * Sums every sample of metric whose labels hold each of want[] (NULL
 * ended).  Sets *found to the number of samples that matched.
 */
static double
metric_sum(const char *text, const char *metric, const char * const *want,
    int *found)
{
	const char	*line, *eol, *close;
	size_t		 mlen = strlen(metric), i;
	double		 sum = 0;
	char		*end;
	double		 v;

	*found = 0;
	for (line = text; *line != '\0'; line = *eol ? eol + 1 : eol) {
		if ((eol = strchr(line, '\n')) == NULL)
			eol = line + strlen(line);
		if (strncmp(line, metric, mlen) != 0 || line[mlen] != '{')
			continue;
		close = memchr(line, '}', (size_t)(eol - line));
		if (close == NULL)
			continue;
		for (i = 0; want[i] != NULL; i++)
			if (!has_label(line + mlen, (size_t)(close - line -
			    mlen + 1), want[i]))
				break;
		if (want[i] != NULL)
			continue;
		v = strtod(close + 1, &end);
		if (end == close + 1)
			fail_msg("no value in: %.*s", (int)(eol - line), line);
		sum += v;
		(*found)++;
	}
	return sum;
}

static const char * const health_2xx[] = {
	"route=\"/health\"", "status=\"2xx\"", NULL
};
static const char * const health_component[] = {
	"component=\"websands-health\"", NULL
};

/* The /health 2xx count that /metrics reports through nginx. */
static double
nginx_health_count(void)
{
	struct itest_resp	 r;
	double			 n;
	int			 found;

	assert_int_equal(itest_http("GET", "/metrics", NULL, NULL, 0, &r),
	    0);
	assert_int_equal(r.status, 200);
	n = metric_sum(buf_str(&r.body), "websands_http_requests_total",
	    health_2xx, &found);
	itest_resp_cleanup(&r);
	return n;
}

/* The same count as one instance, reached directly, reports it. */
static double
direct_health_count(const char *addr)
{
	struct buf		 raw;
	struct fcgi_reply	 rep;
	double			 n;
	int			 found;

	buf_init(&raw, 0);
	assert_int_equal(fcgi_get(addr, "/metrics", &raw, &rep), 0);
	assert_int_equal(rep.status, 200);
	n = metric_sum(rep.body, "websands_http_requests_total", health_2xx,
	    &found);
	buf_cleanup(&raw);
	return n;
}

static void
test_two_processes(void **state)
{
	struct itest_resp	 r;
	char			 ct[256];
	int			 found;
	double			 n;

	(void)state;
	assert_int_equal(itest_http("GET", "/metrics", NULL, NULL, 0, &r),
	    0);
	assert_int_equal(r.status, 200);
	assert_non_null(itest_header(&r, "Content-Type", ct, sizeof(ct)));
	assert_non_null(strstr(ct, "text/plain"));
	assert_non_null(strstr(ct, "version=0.0.4"));
	n = metric_sum(buf_str(&r.body), "websands_processes",
	    health_component, &found);
	if (found != 1 || n != 2)
		fail_msg("websands_processes{component=\"websands-health\"}"
		    " is %g (%d samples), wanted 2:\n%s", n, found,
		    buf_str(&r.body));
	itest_resp_cleanup(&r);
}

static void
test_requests_counted_through_nginx(void **state)
{
	struct itest_resp	 r;
	double			 before, after;
	int			 i;

	(void)state;
	before = nginx_health_count();
	for (i = 0; i < NGINX_ROUNDS; i++) {
		assert_int_equal(itest_http("GET", "/health", NULL, NULL, 0,
		    &r), 0);
		assert_int_equal(r.status, 200);
		itest_resp_cleanup(&r);
	}
	after = nginx_health_count();
	if (after - before < NGINX_ROUNDS)
		fail_msg("/health 2xx count went from %g to %g after %d "
		    "requests", before, after, NGINX_ROUNDS);
}

static void
test_each_instance_serves(void **state)
{
	struct buf		 raw;
	struct fcgi_reply	 rep;
	json_t			*j;
	char			 second[256];
	const char		*addrs[2];
	int			 i;

	(void)state;
	second_addr(second, sizeof(second));
	addrs[0] = itest_env("WS_HEALTH_FCGI");
	addrs[1] = second;
	buf_init(&raw, 0);
	for (i = 0; i < 2; i++) {
		if (fcgi_get(addrs[i], "/health", &raw, &rep) != 0)
			fail_msg("no FastCGI reply from %s", addrs[i]);
		assert_int_equal(rep.status, 200);
		j = json_loads(rep.body, 0, NULL);
		assert_non_null(j);
		assert_string_equal(json_string_value(json_object_get(j,
		    "status")), "ok");
		json_decref(j);
	}
	buf_cleanup(&raw);
}

/*
 * Requests served by one instance show in the /metrics of the other:
 * the page is summed over every process, not one process's own view.
 */
static void
check_sibling_sees(const char *served, const char *reporting)
{
	struct buf		 raw;
	struct fcgi_reply	 rep;
	double			 before, after;
	int			 i;

	buf_init(&raw, 0);
	before = direct_health_count(reporting);
	for (i = 0; i < DIRECT_ROUNDS; i++) {
		assert_int_equal(fcgi_get(served, "/health", &raw, &rep), 0);
		assert_int_equal(rep.status, 200);
	}
	after = direct_health_count(reporting);
	if (after - before < DIRECT_ROUNDS)
		fail_msg("%s served %d requests but %s counted %g more",
		    served, DIRECT_ROUNDS, reporting, after - before);
	buf_cleanup(&raw);
}

static void
test_first_counts_second(void **state)
{
	char	 second[256];

	(void)state;
	second_addr(second, sizeof(second));
	check_sibling_sees(second, itest_env("WS_HEALTH_FCGI"));
}

static void
test_second_counts_first(void **state)
{
	char	 second[256];

	(void)state;
	second_addr(second, sizeof(second));
	check_sibling_sees(itest_env("WS_HEALTH_FCGI"), second);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_two_processes),
		cmocka_unit_test(test_requests_counted_through_nginx),
		cmocka_unit_test(test_each_instance_serves),
		cmocka_unit_test(test_first_counts_second),
		cmocka_unit_test(test_second_counts_first),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
