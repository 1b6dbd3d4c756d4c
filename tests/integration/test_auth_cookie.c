/*
 * Cookie mode of websands-auth (checklist rows 3.3.x and 3.5.x): the
 * refresh token travels only in the __Host-rt cookie, and a refresh
 * that uses the cookie must carry our Origin and the session's CSRF
 * token.
 *
 * The stack's websands-auth runs in bearer mode, so each test starts
 * one of its own with AUTH_COOKIE_MODE=true (the environment wins over
 * the stack's configuration file), on the stack's database and
 * memcached, and speaks FastCGI to it directly, as nginx would.  Users
 * are registered and verified through the stack; they sign in through
 * the cookie-mode instance.  Its log goes to $WS_RUN_DIR/auth-cookie.log
 * so that test_zz_log_secrets looks for our tokens there too.
 *
 * Each refused request is followed by a refresh with the same cookie:
 * it succeeds only if the refusal neither rotated nor revoked anything,
 * since a rotated token coming back is always refused.
 */
#define _GNU_SOURCE	/* asprintf */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "itest.h"
#include "itest_auth.h"

#define COOKIE_PORT	28150
#define COOKIE_ADDR	"127.0.0.1:28150"
#define START_MS	10000
#define STOP_MS		4000
#define MAX_ENV		16
#define MAX_PARAMS	24
#define MAX_SETCOOKIE	8
#define LINE_MAX_LEN	1024
#define CSRF_MAX	128
#define ORIGIN_MAX	256

#define RT_NAME		"__Host-rt"
#define CSRF_NAME	"__Host-csrf"

struct fixture {
	char	 bin[4096];
	char	 log[1024];
	char	*env[MAX_ENV];
	pid_t	 pid;
	off_t	 log_start;	/* where this test's part of the log begins */
	char	 origin[ORIGIN_MAX];	/* PUBLIC_URL's origin */
};

/* One request to the cookie-mode instance; NULL members are left out. */
struct creq {
	const char	*path;
	const char	*content_type;	/* NULL: application/json */
	const char	*body;		/* NULL: "{}" */
	const char	*cookie;
	const char	*origin;
	const char	*csrf;
	const char	*bearer;
	const char	*referer;
};

/* What came back: status, Set-Cookie values, parsed body. */
struct creply {
	int	 status;
	char	 set_cookie[MAX_SETCOOKIE][LINE_MAX_LEN];
	size_t	 nset;
	json_t	*json;
	struct buf raw;
};

/* A browser's state for one session. */
struct jar {
	char	 rt[ITEST_AUTH_REFRESH_MAX];
	char	 csrf[CSRF_MAX];
	char	 access[ITEST_AUTH_ACCESS_MAX];
};

static struct fixture	 fx;

/* --- The cookie-mode process ----------------------------------------- */

static int
env_add(const char *name, const char *value)
{
	size_t	 i;

	for (i = 0; i < MAX_ENV - 1 && fx.env[i] != NULL; i++)
		;
	if (i == MAX_ENV - 1 ||
	    asprintf(&fx.env[i], "%s=%s", name, value) < 0) {
		fx.env[i] = NULL;
		return -1;
	}
	return 0;
}

/* Passes a variable of ours on when it is set (sanitizer options). */
static int
env_pass(const char *name)
{
	const char	*v = getenv(name);

	return v != NULL ? env_add(name, v) : 0;
}

/* The origin (scheme://host[:port]) of the stack's PUBLIC_URL. */
static int
public_origin(char *out, size_t len)
{
	char		 url[ORIGIN_MAX];
	const char	*p;
	size_t		 n;

	if (itest_auth_config("PUBLIC_URL", url, sizeof(url)) == NULL)
		return -1;
	p = strstr(url, "://");
	p = p != NULL ? strchr(p + 3, '/') : NULL;
	n = p != NULL ? (size_t)(p - url) : strlen(url);
	if (n == 0 || n >= len)
		return -1;
	memcpy(out, url, n);
	out[n] = '\0';
	return 0;
}

static int
group_setup(void **state)
{
	const char	*build = getenv("WS_BUILD_DIR");
	const char	*run = getenv("WS_RUN_DIR");
	int		 n;

	memset(&fx, 0, sizeof(fx));
	fx.pid = -1;
	if (build == NULL || run == NULL) {
		print_error("WS_BUILD_DIR and WS_RUN_DIR must be set\n");
		return -1;
	}
	n = snprintf(fx.bin, sizeof(fx.bin), "%s/websands-auth", build);
	if (n < 0 || (size_t)n >= sizeof(fx.bin) ||
	    access(fx.bin, X_OK) != 0) {
		print_error("no websands-auth under %s\n", build);
		return -1;
	}
	n = snprintf(fx.log, sizeof(fx.log), "%s/auth-cookie.log", run);
	if (n < 0 || (size_t)n >= sizeof(fx.log))
		return -1;
	if (public_origin(fx.origin, sizeof(fx.origin)) != 0) {
		print_error("no usable PUBLIC_URL in %s/websands.env\n", run);
		return -1;
	}
	if (env_add("PATH", "/usr/bin:/bin") != 0 ||
	    env_add("AUTH_COOKIE_MODE", "true") != 0 ||
	    env_add("SHUTDOWN_GRACE_S", "2") != 0 ||
	    env_pass("ASAN_OPTIONS") != 0 || env_pass("UBSAN_OPTIONS") != 0 ||
	    env_pass("LSAN_OPTIONS") != 0)
		return -1;
	*state = &fx;
	return 0;
}

static int
group_teardown(void **state)
{
	size_t	 i;

	(void)state;
	for (i = 0; i < MAX_ENV; i++) {
		free(fx.env[i]);
		fx.env[i] = NULL;
	}
	return 0;
}

/*
 * Runs filter (a shell pipeline) over this test's part of the log;
 * returns its exit status, its output in out.
 */
static int
log_filter(const char *filter, struct buf *out)
{
	char	 cmd[1400];

	if (snprintf(cmd, sizeof(cmd), "tail -c +%lld '%s' 2>/dev/null | %s",
	    (long long)fx.log_start + 1, fx.log, filter) >= (int)sizeof(cmd))
		return -1;
	return itest_run(cmd, out);
}

/* Shows the end of this test's part of the log. */
static void
show_log(void)
{
	struct buf	 out;

	buf_init(&out, 64 * 1024);
	if (log_filter("tail -n 20", &out) == 0 && out.len > 0)
		print_error("--- auth-cookie.log ---\n%s", buf_str(&out));
	buf_cleanup(&out);
}

static int
port_open(void)
{
	struct sockaddr_in	 sin;
	int			 fd, ok;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(COOKIE_PORT);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return 0;
	ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(fd);
	return ok;
}

/* Stops the instance: SIGTERM, then SIGKILL if it lingers. */
static void
stop_instance(void)
{
	long long	 deadline;

	if (fx.pid <= 0)
		return;
	if (waitpid(fx.pid, NULL, WNOHANG) == 0) {
		kill(fx.pid, SIGTERM);
		deadline = itest_now_ms() + STOP_MS;
		while (waitpid(fx.pid, NULL, WNOHANG) == 0) {
			if (itest_now_ms() >= deadline) {
				kill(fx.pid, SIGKILL);
				waitpid(fx.pid, NULL, 0);
				break;
			}
			itest_auth_sleep_ms(20);
		}
	}
	fx.pid = -1;
}

/*
 * Starts websands-auth in cookie mode on COOKIE_PORT, its output
 * appended to the log, and waits until it accepts connections.
 */
static int
start_instance(void **state)
{
	char		 cfg[1100], o_config[] = "--config";
	char		 o_listen[] = "--listen", addr[] = COOKIE_ADDR;
	char		 o_threads[] = "--threads", two[] = "2";
	char		*argv[] = {
		fx.bin, o_config, cfg, o_listen, addr, o_threads, two, NULL
	};
	struct stat	 st;
	long long	 deadline;
	int		 fd, n, exited;

	(void)state;
	n = snprintf(cfg, sizeof(cfg), "%s/websands.env",
	    getenv("WS_RUN_DIR"));
	if (n < 0 || (size_t)n >= sizeof(cfg))
		return -1;
	if (port_open()) {
		print_error("port %d is taken already\n", COOKIE_PORT);
		return -1;
	}
	fx.log_start = stat(fx.log, &st) == 0 ? st.st_size : 0;
	fflush(NULL);
	fx.pid = fork();
	if (fx.pid == -1)
		return -1;
	if (fx.pid == 0) {
		if ((fd = open("/dev/null", O_RDONLY)) == -1 ||
		    dup2(fd, 0) == -1)
			_exit(126);
		if ((fd = open(fx.log, O_WRONLY | O_CREAT | O_APPEND,
		    0600)) == -1 || dup2(fd, 1) == -1 || dup2(fd, 2) == -1)
			_exit(126);
		execve(argv[0], argv, fx.env);
		_exit(127);
	}
	deadline = itest_now_ms() + START_MS;
	while (!port_open()) {
		exited = waitpid(fx.pid, NULL, WNOHANG) == fx.pid;
		if (exited || itest_now_ms() >= deadline) {
			show_log();
			print_error("websands-auth never listened on %s\n",
			    COOKIE_ADDR);
			if (exited)
				fx.pid = -1;
			stop_instance();
			return -1;
		}
		itest_auth_sleep_ms(50);
	}
	return 0;
}

/*
 * Stops the instance whatever the test did.  A sanitizer report in its
 * part of the log fails the test even when every answer looked right.
 */
static int
kill_instance(void **state)
{
	struct buf	 out;
	int		 rc = 0;

	(void)state;
	stop_instance();
	buf_init(&out, 256 * 1024);
	if (log_filter("grep -A 20 -E 'ERROR: (Address|Leak)Sanitizer|"
	    "runtime error:'", &out) == 0) {
		print_error("sanitizer report:\n%s", buf_str(&out));
		rc = -1;
	}
	buf_cleanup(&out);
	return rc;
}

/* --- Requests and replies -------------------------------------------- */

static void
creply_cleanup(struct creply *r)
{
	json_decref(r->json);
	r->json = NULL;
	buf_cleanup(&r->raw);
}

/* Splits the CGI reply in r->raw into status, Set-Cookie and body. */
static void
creply_parse(struct creply *r)
{
	const char	*s = buf_str(&r->raw), *end, *body, *l, *nl, *v;
	size_t		 n;

	if ((end = strstr(s, "\r\n\r\n")) == NULL)
		fail_msg("no header block in: %.2000s", s);
	body = end + 4;
	r->status = 200;
	for (l = s; l < end; l = nl + 2) {
		if ((nl = strstr(l, "\r\n")) == NULL || nl > end)
			nl = end;
		if (strncasecmp(l, "Status:", 7) == 0)
			r->status = atoi(l + 7);
		if (strncasecmp(l, "Set-Cookie:", 11) == 0) {
			for (v = l + 11; *v == ' '; v++)
				;
			n = (size_t)(nl - v);
			assert_true(r->nset < MAX_SETCOOKIE);
			assert_true(n < LINE_MAX_LEN);
			memcpy(r->set_cookie[r->nset], v, n);
			r->set_cookie[r->nset++][n] = '\0';
		}
		if (nl == end)
			break;
	}
	r->json = *body != '\0' ? json_loads(body, 0, NULL) : NULL;
}

#define PARAM(n, v)	do {						\
	assert_true(np < MAX_PARAMS);					\
	p[np].name = (n);						\
	p[np].nlen = strlen(n);						\
	p[np].value = (v);						\
	p[np].vlen = strlen(v);						\
	np++;								\
} while (0)

/* Sends q to the cookie-mode instance as nginx would; fills out. */
static void
cookie_call(const struct creq *q, struct creply *out)
{
	struct itest_param	 p[MAX_PARAMS];
	const char		*body = q->body != NULL ? q->body : "{}";
	char			 clen[32], auth[ITEST_AUTH_ACCESS_MAX + 16];
	size_t			 np = 0;

	memset(out, 0, sizeof(*out));
	buf_init(&out->raw, 0);
	assert_true(snprintf(clen, sizeof(clen), "%zu", strlen(body)) <
	    (int)sizeof(clen));
	PARAM("GATEWAY_INTERFACE", "CGI/1.1");
	PARAM("SERVER_PROTOCOL", "HTTP/1.1");
	PARAM("REQUEST_METHOD", "POST");
	PARAM("REQUEST_URI", q->path);
	PARAM("DOCUMENT_URI", q->path);
	PARAM("SCRIPT_NAME", q->path);
	PARAM("QUERY_STRING", "");
	PARAM("CONTENT_TYPE", q->content_type != NULL ? q->content_type :
	    "application/json");
	PARAM("CONTENT_LENGTH", clen);
	PARAM("REMOTE_ADDR", "127.0.0.1");
	PARAM("REMOTE_PORT", "40000");
	PARAM("SERVER_ADDR", "127.0.0.1");
	PARAM("SERVER_PORT", "80");
	PARAM("SERVER_NAME", "localhost");
	PARAM("HTTP_HOST", "localhost");
	PARAM("HTTP_USER_AGENT", "websands-itest-cookie");
	if (q->cookie != NULL)
		PARAM("HTTP_COOKIE", q->cookie);
	if (q->origin != NULL)
		PARAM("HTTP_ORIGIN", q->origin);
	if (q->csrf != NULL)
		PARAM("HTTP_X_CSRF_TOKEN", q->csrf);
	if (q->referer != NULL)
		PARAM("HTTP_REFERER", q->referer);
	if (q->bearer != NULL) {
		assert_true(snprintf(auth, sizeof(auth), "Bearer %s",
		    q->bearer) < (int)sizeof(auth));
		PARAM("HTTP_AUTHORIZATION", auth);
	}
	if (itest_fcgi(COOKIE_ADDR, p, np, body, strlen(body),
	    &out->raw) != 0)
		fail_msg("no FastCGI reply from %s", COOKIE_ADDR);
	creply_parse(out);
}

#undef PARAM

static void
creply_expect(const struct creply *r, int want, const char *what)
{
	if (r->status != want)
		fail_msg("%s: status %d, wanted %d; reply: %.3000s", what,
		    r->status, want, buf_str(&r->raw));
}

/* The problem reply's code, or "". */
static const char *
creply_code(const struct creply *r)
{
	const char	*s = json_string_value(json_object_get(r->json,
			    "code"));

	return s != NULL ? s : "";
}

/* The Set-Cookie value of cookie name, or NULL. */
static const char *
set_cookie(const struct creply *r, const char *name)
{
	size_t	 i, n = strlen(name);

	for (i = 0; i < r->nset; i++)
		if (strncmp(r->set_cookie[i], name, n) == 0 &&
		    r->set_cookie[i][n] == '=')
			return r->set_cookie[i];
	return NULL;
}

/* The value of the name=value pair that starts a Set-Cookie value. */
static void
cookie_value(const char *line, char *out, size_t len)
{
	const char	*v = strchr(line, '=');
	size_t		 n;

	assert_non_null(v);
	v++;
	n = strcspn(v, ";");
	if (n >= len)
		fail_msg("cookie value of %zu bytes in: %s", n, line);
	memcpy(out, v, n);
	out[n] = '\0';
}

/*
 * Whether the attribute name (any case) is in a Set-Cookie value; its
 * value ("" for a flag) is copied into val when it is not NULL.
 */
static int
cookie_attr(const char *line, const char *name, char *val, size_t len)
{
	const char	*p = strchr(line, ';'), *a, *e;
	size_t		 an, nn = strlen(name), vn;

	for (; p != NULL; p = strchr(p, ';')) {
		for (a = ++p; *a == ' ' || *a == '\t'; a++)
			;
		an = strcspn(a, "=;");
		while (an > 0 && (a[an - 1] == ' ' || a[an - 1] == '\t'))
			an--;
		if (an != nn || strncasecmp(a, name, nn) != 0)
			continue;
		if (val != NULL) {
			e = a + an;
			if (*e == '=')
				e++;
			else
				e = a + an + strcspn(a + an, ";");
			vn = strcspn(e, ";");
			assert_true(vn < len);
			memcpy(val, e, vn);
			val[vn] = '\0';
		}
		return 1;
	}
	return 0;
}

/* The Cookie header a browser would send for jar j. */
static void
jar_cookie(const struct jar *j, char *out, size_t len)
{
	assert_true(snprintf(out, len, RT_NAME "=%s; " CSRF_NAME "=%s",
	    j->rt, j->csrf) < (int)len);
}

/*
 * Takes the session out of a 200 login or refresh reply: both cookies,
 * the CSRF token of the body (which must match its cookie) and the
 * access token.  The body must not hold the refresh token.  Every token
 * is recorded as a secret.
 */
static void
jar_take(const struct creply *r, struct jar *j)
{
	const char	*rt, *csrf, *body_csrf, *access, *body;

	rt = set_cookie(r, RT_NAME);
	csrf = set_cookie(r, CSRF_NAME);
	if (rt == NULL || csrf == NULL)
		fail_msg("a cookie is missing: %.3000s", buf_str(&r->raw));
	cookie_value(rt, j->rt, sizeof(j->rt));
	cookie_value(csrf, j->csrf, sizeof(j->csrf));
	itest_auth_secret(j->rt);
	itest_auth_secret(j->csrf);
	assert_true(strlen(j->rt) >= 43);
	assert_true(strlen(j->csrf) >= 43);
	body_csrf = json_string_value(json_object_get(r->json,
	    "csrf_token"));
	assert_non_null(body_csrf);
	assert_string_equal(body_csrf, j->csrf);
	assert_null(json_object_get(r->json, "refresh_token"));
	access = json_string_value(json_object_get(r->json, "access_token"));
	assert_non_null(access);
	assert_true(strlen(access) < sizeof(j->access));
	memcpy(j->access, access, strlen(access) + 1);
	itest_auth_secret(j->access);
	/* Nothing of the refresh token anywhere in the body. */
	body = strstr(buf_str(&r->raw), "\r\n\r\n");
	assert_non_null(body);
	assert_null(strstr(body, j->rt));
}

/* Signs u in through the cookie-mode instance; fills j. */
static void
cookie_login(const struct itest_user *u, struct jar *j,
    struct creply *keep)
{
	struct creply	 r;
	json_t		*body;
	char		*text;
	struct creq	 q = { .path = "/api/v1/auth/login",
			    .origin = fx.origin };

	body = json_pack("{s:s,s:s}", "username_or_email", u->username,
	    "password", u->password);
	assert_non_null(body);
	assert_non_null(text = json_dumps(body, JSON_COMPACT));
	json_decref(body);
	q.body = text;
	cookie_call(&q, &r);
	free(text);
	creply_expect(&r, 200, "cookie-mode login");
	jar_take(&r, j);
	if (keep != NULL)
		*keep = r;
	else
		creply_cleanup(&r);
}

/* A verified user (through the stack) signed in in cookie mode. */
static void
new_session(struct itest_user *u, struct jar *j, const char *prefix)
{
	itest_auth_register(u, prefix);
	itest_auth_verify(u);
	cookie_login(u, j, NULL);
}

/*
 * A cookie refresh of j with the given Origin, X-CSRF-Token and
 * content type (NULL leaves a header out; the type defaults to JSON).
 */
static void
cookie_refresh(const struct jar *j, const char *origin, const char *csrf,
    const char *ctype, struct creply *r)
{
	char		 cookie[512];
	struct creq	 q = { .path = "/api/v1/auth/refresh",
			    .content_type = ctype, .origin = origin,
			    .csrf = csrf };

	jar_cookie(j, cookie, sizeof(cookie));
	q.cookie = cookie;
	cookie_call(&q, r);
}

/*
 * The refresh a legitimate page makes with j succeeds and rotates both
 * tokens; j then holds the new session state.
 */
static void
assert_refreshes(struct jar *j, const char *after)
{
	struct creply	 r;
	struct jar	 old = *j;

	cookie_refresh(j, fx.origin, j->csrf, NULL, &r);
	if (r.status != 200)
		fail_msg("the cookie no longer refreshes after %s: status "
		    "%d; reply: %.3000s", after, r.status, buf_str(&r.raw));
	jar_take(&r, j);
	assert_string_not_equal(j->rt, old.rt);
	assert_string_not_equal(j->csrf, old.csrf);
	creply_cleanup(&r);
}

/* A refused cookie refresh: 403 CSRF_FAILED and no cookie set. */
static void
assert_csrf_refused(const struct creply *r, const char *what)
{
	creply_expect(r, 403, what);
	assert_string_equal(creply_code(r), "CSRF_FAILED");
	assert_int_equal(r->nset, 0);
}

/* --- Tests ----------------------------------------------------------- */

static void
test_login_sets_cookies(void **state)
{
	struct itest_user	 u;
	struct creply		 r;
	struct jar		 j;
	const char		*rt, *csrf;
	char			 v[64];

	(void)state;
	itest_auth_register(&u, "ck_login");
	itest_auth_verify(&u);
	cookie_login(&u, &j, &r);
	assert_int_equal(r.nset, 2);
	rt = set_cookie(&r, RT_NAME);
	csrf = set_cookie(&r, CSRF_NAME);
	/* The refresh token: out of reach of scripts and other sites. */
	assert_true(cookie_attr(rt, "HttpOnly", NULL, 0));
	assert_true(cookie_attr(rt, "Secure", NULL, 0));
	assert_true(cookie_attr(rt, "SameSite", v, sizeof(v)));
	assert_string_equal(v, "Strict");
	assert_true(cookie_attr(rt, "Path", v, sizeof(v)));
	assert_string_equal(v, "/");
	assert_false(cookie_attr(rt, "Domain", NULL, 0));
	assert_true(cookie_attr(rt, "Max-Age", v, sizeof(v)));
	assert_true(atol(v) > 0);
	/* The CSRF token: our own pages must be able to read it. */
	assert_false(cookie_attr(csrf, "HttpOnly", NULL, 0));
	assert_true(cookie_attr(csrf, "Secure", NULL, 0));
	assert_true(cookie_attr(csrf, "SameSite", v, sizeof(v)));
	assert_string_equal(v, "Strict");
	assert_true(cookie_attr(csrf, "Path", v, sizeof(v)));
	assert_string_equal(v, "/");
	assert_false(cookie_attr(csrf, "Domain", NULL, 0));
	/* jar_take checked the body: csrf_token, no refresh_token. */
	assert_non_null(json_object_get(r.json, "csrf_token"));
	assert_null(json_object_get(r.json, "refresh_token"));
	assert_string_not_equal(j.rt, j.csrf);
	creply_cleanup(&r);
}

static void
test_refresh_rotates_cookies(void **state)
{
	struct itest_user	 u;
	struct itest_resp	 me;
	struct creply		 r;
	struct jar		 j, old;
	char			 hdr[ITEST_AUTH_ACCESS_MAX + 32];
	const char		*headers[2] = { hdr, NULL };

	(void)state;
	new_session(&u, &j, "ck_rotate");
	old = j;
	cookie_refresh(&j, fx.origin, j.csrf, NULL, &r);
	creply_expect(&r, 200, "cookie refresh");
	assert_int_equal(r.nset, 2);
	jar_take(&r, &j);
	assert_string_not_equal(j.rt, old.rt);
	assert_string_not_equal(j.csrf, old.csrf);
	creply_cleanup(&r);

	/* The new access token is good at the stack's users service. */
	assert_true(snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s",
	    j.access) < (int)sizeof(hdr));
	assert_int_equal(itest_http("GET", "/api/v1/users/me", headers, NULL,
	    0, &me), 0);
	itest_auth_expect(&me, 200, "GET /me with the refreshed token");
	assert_string_equal(json_string_value(json_object_get(me.json,
	    "username")), u.username);
	itest_resp_cleanup(&me);

	/* The rotated cookie is spent. */
	cookie_refresh(&old, fx.origin, old.csrf, NULL, &r);
	creply_expect(&r, 401, "refresh with the rotated cookie");
	assert_int_equal(r.nset, 0);
	creply_cleanup(&r);
}

static void
test_refresh_without_csrf_header(void **state)
{
	struct itest_user	 u;
	struct creply		 r;
	struct jar		 j;

	(void)state;
	new_session(&u, &j, "ck_nocsrf");
	cookie_refresh(&j, fx.origin, NULL, NULL, &r);
	assert_csrf_refused(&r, "refresh without X-CSRF-Token");
	creply_cleanup(&r);
	assert_refreshes(&j, "a refresh without X-CSRF-Token");
}

static void
test_refresh_wrong_csrf(void **state)
{
	struct itest_user	 u;
	struct creply		 r;
	struct jar		 j;
	char			 bad[3][CSRF_MAX + 8];
	size_t			 i, n;

	(void)state;
	new_session(&u, &j, "ck_badcsrf");
	for (i = 0; i < 3; i++) {
		n = strlen(j.csrf);
		memcpy(bad[0], j.csrf, n + 1);
		/* One character changed. */
		bad[0][n - 1] = bad[0][n - 1] == 'A' ? 'B' : 'A';
		/* The right token with more after it. */
		assert_true(snprintf(bad[1], sizeof(bad[1]), "%sAA",
		    j.csrf) < (int)sizeof(bad[1]));
		/* An empty header. */
		bad[2][0] = '\0';
		cookie_refresh(&j, fx.origin, bad[i], NULL, &r);
		assert_csrf_refused(&r, "refresh with a wrong CSRF token");
		creply_cleanup(&r);
		assert_refreshes(&j, "a wrong CSRF token");
	}
	/* The cookie's own value does not stand in for the token. */
	cookie_refresh(&j, fx.origin, j.rt, NULL, &r);
	assert_csrf_refused(&r, "refresh with the refresh token as CSRF");
	creply_cleanup(&r);
	assert_refreshes(&j, "the refresh token sent as CSRF token");
}

static void
test_refresh_other_sessions_csrf(void **state)
{
	struct itest_user	 u, v;
	struct creply		 r;
	struct jar		 a, b, c;

	(void)state;
	new_session(&u, &a, "ck_othera");
	/* A second session of the same user, and one of another user. */
	cookie_login(&u, &b, NULL);
	new_session(&v, &c, "ck_otherc");
	cookie_refresh(&a, fx.origin, b.csrf, NULL, &r);
	assert_csrf_refused(&r, "refresh with the same user's other CSRF");
	creply_cleanup(&r);
	cookie_refresh(&a, fx.origin, c.csrf, NULL, &r);
	assert_csrf_refused(&r, "refresh with another user's CSRF");
	creply_cleanup(&r);
	assert_refreshes(&a, "another session's CSRF token");
	assert_refreshes(&b, "its CSRF token was misused");
	assert_refreshes(&c, "its CSRF token was misused");
}

static void
test_refresh_foreign_origin(void **state)
{
	struct itest_user	 u;
	struct creply		 r;
	struct jar		 j;
	char			 suffix[ORIGIN_MAX + 16];
	char			 cut[ORIGIN_MAX], other[ORIGIN_MAX + 8];
	const char		*origins[7];
	size_t			 i, n;

	(void)state;
	/* Our origin as the front of a name of someone else's. */
	assert_true(snprintf(suffix, sizeof(suffix), "%s.evil.test",
	    fx.origin) < (int)sizeof(suffix));
	/* Our origin cut short by one character. */
	n = strlen(fx.origin);
	memcpy(cut, fx.origin, n - 1);
	cut[n - 1] = '\0';
	/* The same host and port under the other scheme. */
	if (strncmp(fx.origin, "http://", 7) == 0)
		assert_true(snprintf(other, sizeof(other), "https://%s",
		    fx.origin + 7) < (int)sizeof(other));
	else
		assert_true(snprintf(other, sizeof(other), "http://%s",
		    strstr(fx.origin, "://") + 3) < (int)sizeof(other));
	origins[0] = "https://evil.test";
	origins[1] = "null";
	origins[2] = "http://127.0.0.1:8080.evil.test";
	origins[3] = suffix;
	origins[4] = cut;
	origins[5] = other;
	origins[6] = "";

	new_session(&u, &j, "ck_origin");
	for (i = 0; i < sizeof(origins) / sizeof(origins[0]); i++) {
		print_message("Origin: %s\n", origins[i]);
		cookie_refresh(&j, origins[i], j.csrf, NULL, &r);
		assert_csrf_refused(&r, "refresh from a foreign Origin");
		creply_cleanup(&r);
		assert_refreshes(&j, "a refresh from a foreign Origin");
	}
}

static void
test_refresh_without_origin(void **state)
{
	struct itest_user	 u;
	struct creply		 r;
	struct jar		 j;
	char			 cookie[512], referer[ORIGIN_MAX + 8];
	struct creq		 q = { .path = "/api/v1/auth/refresh" };

	(void)state;
	new_session(&u, &j, "ck_noorigin");
	cookie_refresh(&j, NULL, j.csrf, NULL, &r);
	assert_csrf_refused(&r, "refresh without Origin");
	creply_cleanup(&r);
	assert_refreshes(&j, "a refresh without Origin");

	/* Our own Referer does not stand in for a missing Origin. */
	assert_true(snprintf(referer, sizeof(referer), "%s/", fx.origin) <
	    (int)sizeof(referer));
	jar_cookie(&j, cookie, sizeof(cookie));
	q.cookie = cookie;
	q.csrf = j.csrf;
	q.referer = referer;
	cookie_call(&q, &r);
	assert_csrf_refused(&r, "refresh with Referer but no Origin");
	creply_cleanup(&r);
	assert_refreshes(&j, "a refresh with Referer but no Origin");
}

/*
 * The content types a cross-site form can send without a preflight
 * (enctype text/plain, urlencoded, multipart) are refused before the
 * cookie is looked at.
 */
static void
test_refresh_form_content_types(void **state)
{
	static const char * const types[] = {
		"text/plain",
		"application/x-www-form-urlencoded",
		"multipart/form-data; boundary=websands",
	};
	struct itest_user	 u;
	struct creply		 r;
	struct jar		 j;
	size_t			 i;

	(void)state;
	new_session(&u, &j, "ck_form");
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		cookie_refresh(&j, fx.origin, j.csrf, types[i], &r);
		creply_expect(&r, 415, types[i]);
		assert_string_equal(creply_code(&r),
		    "UNSUPPORTED_MEDIA_TYPE");
		assert_int_equal(r.nset, 0);
		creply_cleanup(&r);
		assert_refreshes(&j, types[i]);
	}
}

/* A second __Host-rt, as a sibling subdomain could plant, is refused. */
static void
test_refresh_two_rt_cookies(void **state)
{
	struct itest_user	 u;
	struct creply		 r;
	struct jar		 j, other;
	char			 cookie[512];
	struct creq		 q = { .path = "/api/v1/auth/refresh",
				    .origin = fx.origin };

	(void)state;
	new_session(&u, &j, "ck_twort");
	cookie_login(&u, &other, NULL);
	assert_true(snprintf(cookie, sizeof(cookie), RT_NAME "=%s; "
	    RT_NAME "=%s", other.rt, j.rt) < (int)sizeof(cookie));
	q.cookie = cookie;
	q.csrf = j.csrf;
	cookie_call(&q, &r);
	creply_expect(&r, 401, "refresh with two __Host-rt cookies");
	assert_string_equal(creply_code(&r), "INVALID_REFRESH_TOKEN");
	assert_int_equal(r.nset, 0);
	creply_cleanup(&r);
	assert_refreshes(&j, "a request with two __Host-rt cookies");
	assert_refreshes(&other, "its token was planted");
}

static void
test_logout_clears_cookies(void **state)
{
	struct itest_user	 u;
	struct creply		 r;
	struct jar		 j;
	const char		*rt, *csrf;
	char			 v[64], cookie[512];
	struct creq		 q = { .path = "/api/v1/auth/logout",
				    .body = "", .origin = fx.origin };

	(void)state;
	new_session(&u, &j, "ck_logout");
	jar_cookie(&j, cookie, sizeof(cookie));
	q.cookie = cookie;
	q.bearer = j.access;
	cookie_call(&q, &r);
	creply_expect(&r, 204, "bearer logout in cookie mode");
	rt = set_cookie(&r, RT_NAME);
	csrf = set_cookie(&r, CSRF_NAME);
	if (rt == NULL || csrf == NULL)
		fail_msg("logout did not clear both cookies: %.3000s",
		    buf_str(&r.raw));
	cookie_value(rt, v, sizeof(v));
	assert_string_equal(v, "");
	cookie_value(csrf, v, sizeof(v));
	assert_string_equal(v, "");
	assert_true(cookie_attr(rt, "Max-Age", v, sizeof(v)));
	assert_string_equal(v, "0");
	assert_true(cookie_attr(csrf, "Max-Age", v, sizeof(v)));
	assert_string_equal(v, "0");
	/* A cookie is only replaced when name, path and flags agree. */
	assert_true(cookie_attr(rt, "Path", v, sizeof(v)));
	assert_string_equal(v, "/");
	assert_true(cookie_attr(csrf, "Path", v, sizeof(v)));
	assert_string_equal(v, "/");
	assert_true(cookie_attr(rt, "Secure", NULL, 0));
	assert_true(cookie_attr(csrf, "Secure", NULL, 0));
	assert_true(cookie_attr(rt, "HttpOnly", NULL, 0));
	creply_cleanup(&r);

	/* The session is over: the cookie refreshes no more. */
	cookie_refresh(&j, fx.origin, j.csrf, NULL, &r);
	creply_expect(&r, 401, "cookie refresh after logout");
	assert_string_equal(creply_code(&r), "INVALID_REFRESH_TOKEN");
	assert_int_equal(r.nset, 0);
	creply_cleanup(&r);
}

/* The cookie alone does not authenticate a logout. */
static void
test_logout_needs_bearer(void **state)
{
	struct itest_user	 u;
	struct creply		 r;
	struct jar		 j;
	char			 cookie[512];
	struct creq		 q = { .path = "/api/v1/auth/logout",
				    .body = "", .origin = fx.origin };

	(void)state;
	new_session(&u, &j, "ck_logoutck");
	jar_cookie(&j, cookie, sizeof(cookie));
	q.cookie = cookie;
	q.csrf = j.csrf;
	cookie_call(&q, &r);
	creply_expect(&r, 401, "logout with the cookie but no bearer");
	assert_null(set_cookie(&r, RT_NAME));
	creply_cleanup(&r);
	assert_refreshes(&j, "a logout without a bearer token");
}

/*
 * A bearer client's refresh_token in the body still works on a
 * cookie-mode instance, without Origin or CSRF token; the rotated
 * token then comes back in the cookie, never in the body.
 */
static void
test_bearer_body_refresh(void **state)
{
	struct itest_user	 u;
	struct itest_tokens	 t, t2;
	struct creply		 r;
	struct jar		 j;
	json_t			*body;
	char			*text;
	struct creq		 q = { .path = "/api/v1/auth/refresh" };

	(void)state;
	itest_auth_new_user(&u, &t, "ck_bearer");
	body = json_pack("{s:s}", "refresh_token", t.refresh);
	assert_non_null(body);
	assert_non_null(text = json_dumps(body, JSON_COMPACT));
	json_decref(body);
	q.body = text;
	cookie_call(&q, &r);
	free(text);
	creply_expect(&r, 200, "body refresh on the cookie-mode instance");
	jar_take(&r, &j);
	assert_string_not_equal(j.rt, t.refresh);
	creply_cleanup(&r);
	/* The rotated token is live (through the bearer-mode stack). */
	assert_int_equal(itest_auth_refresh(j.rt, &t2), 200);
	/* And the one sent in the body is spent. */
	assert_int_equal(itest_auth_refresh(t.refresh, NULL), 401);
}

int
main(void)
{
#define T(f)	cmocka_unit_test_setup_teardown(f, start_instance, \
	    kill_instance)
	const struct CMUnitTest	 tests[] = {
		T(test_login_sets_cookies),
		T(test_refresh_rotates_cookies),
		T(test_refresh_without_csrf_header),
		T(test_refresh_wrong_csrf),
		T(test_refresh_other_sessions_csrf),
		T(test_refresh_foreign_origin),
		T(test_refresh_without_origin),
		T(test_refresh_form_content_types),
		T(test_refresh_two_rt_cookies),
		T(test_logout_clears_cookies),
		T(test_logout_needs_bearer),
		T(test_bearer_body_refresh),
	};
#undef T

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
