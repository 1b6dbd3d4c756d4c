/*
 * The three process modes of design.md 3, each answering the same
 * GET /health: a socket the responder opens itself (--listen), a
 * listening socket inherited on fd 0 (spawn-fcgi), and plain CGI.  Also
 * the graceful stop on SIGTERM.  Every process a test starts is killed
 * in its teardown, whatever happened.
 */
#define _GNU_SOURCE	/* asprintf */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

#define LISTEN_PORT	28101
#define SPAWN_PORT	28102
#define STUCK_PORT	28103
/* Short, so the SIGTERM bound (grace + 1 s) keeps the test quick. */
#define GRACE_S		2
#define START_MS	10000
#define MAX_PROCS	4
#define MAX_ENV		16

struct fixture {
	char	 bin[4096];
	char	 dir[256];
	char	*env[MAX_ENV];
	pid_t	 pids[MAX_PROCS];
	size_t	 npids;
	int	 client_fd;	/* a connection a test holds open, or -1 */
};

static void
sleep_ms(long ms)
{
	struct timespec	 ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int
find_binary(struct fixture *fx)
{
	const char		*build = itest_env("WS_BUILD_DIR");
	static const char * const rel[] = {
		"websands-health", "app/health/websands-health"
	};
	size_t			 i;
	int			 n;

	for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		n = snprintf(fx->bin, sizeof(fx->bin), "%s/%s", build,
		    rel[i]);
		if (n > 0 && (size_t)n < sizeof(fx->bin) &&
		    access(fx->bin, X_OK) == 0)
			return 0;
	}
	print_error("no websands-health under %s\n", build);
	return -1;
}

/* Adds "NAME=value" to the child environment. */
static int
env_add(struct fixture *fx, const char *name, const char *value)
{
	size_t	 i;

	for (i = 0; i < MAX_ENV - 1 && fx->env[i] != NULL; i++)
		;
	if (i == MAX_ENV - 1 ||
	    asprintf(&fx->env[i], "%s=%s", name, value) < 0) {
		fx->env[i] = NULL;
		return -1;
	}
	return 0;
}

static int
setup(void **state)
{
	static struct fixture	 fx;
	const char		*pub = getenv("WS_PUBLIC_URL");
	char			 grace[16];

	memset(&fx, 0, sizeof(fx));
	fx.client_fd = -1;
	if (find_binary(&fx) != 0)
		return -1;
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/ws-itest-modes.XXXXXX");
	if (mkdtemp(fx.dir) == NULL)
		return -1;
	snprintf(grace, sizeof(grace), "%d", GRACE_S);
	if (env_add(&fx, "PATH", "/usr/bin:/bin") != 0 ||
	    env_add(&fx, "DATABASE_URL", itest_env("WS_DATABASE_URL")) != 0 ||
	    env_add(&fx, "MEMCACHED_SERVERS", itest_env("WS_MEMCACHED")) != 0 ||
	    env_add(&fx, "METRICS_DIR", fx.dir) != 0 ||
	    env_add(&fx, "SHUTDOWN_GRACE_S", grace) != 0)
		return -1;
	if (pub != NULL && *pub != '\0' && env_add(&fx, "PUBLIC_URL", pub))
		return -1;
	*state = &fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*fx = *state;
	char		 cmd[512];
	size_t		 i;

	for (i = 0; i < MAX_ENV; i++) {
		free(fx->env[i]);
		fx->env[i] = NULL;
	}
	if (snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir) <
	    (int)sizeof(cmd))
		(void)itest_run(cmd, NULL);
	return 0;
}

/* Shows the tail of a process's log, to explain a failure. */
static void
show_log(const struct fixture *fx, const char *name)
{
	struct buf	 out;
	char		 cmd[512];

	buf_init(&out, 64 * 1024);
	if (snprintf(cmd, sizeof(cmd), "tail -n 20 '%s/%s.log' 2>/dev/null",
	    fx->dir, name) < (int)sizeof(cmd) &&
	    itest_run(cmd, &out) == 0 && out.len > 0)
		print_message("--- %s.log ---\n%s", name, buf_str(&out));
	buf_cleanup(&out);
}

/*
 * Starts argv[0] with the fixture's environment, stdin from /dev/null
 * and both outputs into DIR/NAME.log.  Returns its pid, remembered for
 * the teardown.
 */
static pid_t
start_proc(struct fixture *fx, const char *name, char * const argv[])
{
	char	 log[512];
	pid_t	 pid;
	int	 fd;

	assert_true(fx->npids < MAX_PROCS);
	assert_true(snprintf(log, sizeof(log), "%s/%s.log", fx->dir, name) <
	    (int)sizeof(log));
	fflush(NULL);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		if ((fd = open("/dev/null", O_RDONLY)) == -1 ||
		    dup2(fd, 0) == -1)
			_exit(126);
		if ((fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600)) ==
		    -1 || dup2(fd, 1) == -1 || dup2(fd, 2) == -1)
			_exit(126);
		execve(argv[0], argv, fx->env);
		_exit(127);
	}
	fx->pids[fx->npids++] = pid;
	return pid;
}

/*
 * In the sanitizer build a report in a child's log fails the test even
 * when every answer looked right.  The logs are removed afterwards so
 * the next test judges only its own processes.
 */
static int
check_logs(const struct fixture *fx)
{
	struct buf	 out;
	char		 cmd[1024];
	int		 rc = 0;

	buf_init(&out, 256 * 1024);
	if (snprintf(cmd, sizeof(cmd), "cd '%s' && grep -h -A 20 -E "
	    "'ERROR: (Address|Leak)Sanitizer|runtime error:' *.log "
	    "2>/dev/null", fx->dir) < (int)sizeof(cmd) &&
	    itest_run(cmd, &out) == 0) {
		print_error("sanitizer report:\n%s", buf_str(&out));
		rc = -1;
	}
	if (snprintf(cmd, sizeof(cmd), "rm -f '%s'/*.log", fx->dir) <
	    (int)sizeof(cmd))
		(void)itest_run(cmd, NULL);
	buf_cleanup(&out);
	return rc;
}

/* Kills whatever the test started that is still running. */
static int
kill_procs(void **state)
{
	struct fixture	*fx = *state;
	size_t		 i;

	for (i = 0; i < fx->npids; i++) {
		if (fx->pids[i] <= 0)
			continue;
		if (waitpid(fx->pids[i], NULL, WNOHANG) == 0) {
			kill(fx->pids[i], SIGKILL);
			waitpid(fx->pids[i], NULL, 0);
		}
		fx->pids[i] = 0;
	}
	fx->npids = 0;
	if (fx->client_fd != -1)
		close(fx->client_fd);
	fx->client_fd = -1;
	return check_logs(fx);
}

/* Forgets a pid the test reaped itself. */
static void
forget_pid(struct fixture *fx, pid_t pid)
{
	size_t	 i;

	for (i = 0; i < fx->npids; i++)
		if (fx->pids[i] == pid)
			fx->pids[i] = 0;
}

/* Waits until 127.0.0.1:port accepts connections. */
static int
wait_port(int port, pid_t pid)
{
	struct sockaddr_in	 sin;
	long long		 deadline = itest_now_ms() + START_MS;
	int			 fd, ok;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	while (itest_now_ms() < deadline) {
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
			return -1;
		ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
		close(fd);
		if (ok)
			return 0;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1;
		sleep_ms(50);
	}
	return -1;
}

/*
 * Splits a CGI reply into status (200 without a Status header, as CGI
 * says) and body; fails the test when there is no header block.
 */
static const char *
cgi_split(const char *s, int *status)
{
	const char	*end, *body = "", *l, *nl;

	if ((end = strstr(s, "\r\n\r\n")) != NULL)
		body = end + 4;
	else if ((end = strstr(s, "\n\n")) != NULL)
		body = end + 2;
	else
		fail_msg("no header block in: %s", s);
	*status = 200;
	for (l = s; l < end; l = nl + 1) {
		if (strncasecmp(l, "Status:", 7) == 0)
			*status = atoi(l + 7);
		if ((nl = strchr(l, '\n')) == NULL)
			break;
	}
	return body;
}

static void
assert_health_body(const char *body)
{
	json_t	*j;

	j = json_loads(body, 0, NULL);
	if (j == NULL)
		fail_msg("body is not JSON: %s", body);
	assert_string_equal(json_string_value(json_object_get(j, "status")),
	    "ok");
	json_decref(j);
}

/* GET /health over FastCGI to 127.0.0.1:port answers 200 "ok". */
static void
assert_fcgi_health(int port)
{
#define P(n, v)	{ n, sizeof(n) - 1, v, sizeof(v) - 1 }
	static const struct itest_param	 p[] = {
		P("GATEWAY_INTERFACE", "CGI/1.1"),
		P("SERVER_PROTOCOL", "HTTP/1.1"),
		P("REQUEST_METHOD", "GET"),
		P("REQUEST_URI", "/health"),
		P("DOCUMENT_URI", "/health"),
		P("SCRIPT_NAME", ""),
		P("PATH_INFO", "/health"),
		P("QUERY_STRING", ""),
		P("CONTENT_TYPE", ""),
		P("CONTENT_LENGTH", ""),
		P("REMOTE_ADDR", "127.0.0.1"),
		P("REMOTE_PORT", "40000"),
		P("SERVER_ADDR", "127.0.0.1"),
		P("SERVER_PORT", "80"),
		P("SERVER_NAME", "localhost"),
		P("HTTP_HOST", "localhost"),
	};
#undef P
	struct buf	 raw;
	const char	*body;
	char		 addr[64];
	int		 status;

	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	buf_init(&raw, 0);
	if (itest_fcgi(addr, p, sizeof(p) / sizeof(p[0]), NULL, 0,
	    &raw) != 0)
		fail_msg("no FastCGI reply from %s", addr);
	body = cgi_split(buf_str(&raw), &status);
	assert_int_equal(status, 200);
	assert_health_body(body);
	buf_cleanup(&raw);
}

/* Starts websands-health --listen 127.0.0.1:port --threads 2. */
static pid_t
start_listen(struct fixture *fx, const char *name, int port)
{
	char	 listen[64], o_listen[] = "--listen";
	char	 o_threads[] = "--threads", two[] = "2";
	char	*argv[] = {
		fx->bin, o_listen, listen, o_threads, two, NULL
	};
	pid_t	 pid;

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	pid = start_proc(fx, name, argv);
	if (wait_port(port, pid) != 0) {
		show_log(fx, name);
		fail_msg("%s never listened on %s", name, listen);
	}
	return pid;
}

/*
 * Waits up to ms for pid to exit; returns its wait status, or -1 when
 * it was still running.
 */
static int
wait_exit(pid_t pid, long ms)
{
	long long	 deadline = itest_now_ms() + ms;
	int		 st;

	do {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return st;
		sleep_ms(20);
	} while (itest_now_ms() < deadline);
	return -1;
}

static void
test_own_socket(void **state)
{
	struct fixture	*fx = *state;

	start_listen(fx, "listen", LISTEN_PORT);
	assert_fcgi_health(LISTEN_PORT);
	/* Several in a row: the workers go back to accepting. */
	assert_fcgi_health(LISTEN_PORT);
	assert_fcgi_health(LISTEN_PORT);
}

static void
test_socket_on_fd0(void **state)
{
	struct fixture	*fx = *state;
	char		 port[16], spawn[] = "/usr/bin/spawn-fcgi";
	char		 o_a[] = "-a", host[] = "127.0.0.1", o_p[] = "-p";
	char		 o_n[] = "-n", dashes[] = "--";
	char		*argv[] = {
		spawn, o_a, host, o_p, port, o_n, dashes, fx->bin, NULL
	};
	pid_t		 pid;

	snprintf(port, sizeof(port), "%d", SPAWN_PORT);
	pid = start_proc(fx, "spawn", argv);
	if (wait_port(SPAWN_PORT, pid) != 0) {
		show_log(fx, "spawn");
		fail_msg("spawn-fcgi never listened on %d", SPAWN_PORT);
	}
	assert_fcgi_health(SPAWN_PORT);
	assert_fcgi_health(SPAWN_PORT);
}

static void
test_plain_cgi(void **state)
{
	struct fixture	*fx = *state;
	struct buf	 cmd, out;
	const char	*body;
	size_t		 i;
	int		 status;

	buf_init(&cmd, 0);
	buf_init(&out, 0);
	assert_int_equal(buf_puts(&cmd, "timeout 10 env -i"), 0);
	for (i = 0; fx->env[i] != NULL; i++)
		assert_int_equal(buf_printf(&cmd, " '%s'", fx->env[i]), 0);
	assert_int_equal(buf_printf(&cmd, " GATEWAY_INTERFACE=CGI/1.1"
	    " REQUEST_METHOD=GET PATH_INFO=/health SCRIPT_NAME="
	    " REQUEST_URI=/health SERVER_PROTOCOL=HTTP/1.1"
	    " REMOTE_ADDR=127.0.0.1 '%s' </dev/null 2>'%s/cgi.log'",
	    fx->bin, fx->dir), 0);
	status = itest_run(buf_str(&cmd), &out);
	if (status != 0) {
		show_log(fx, "cgi");
		fail_msg("CGI run exited %d: %s", status, buf_str(&out));
	}
	if (strncmp(buf_str(&out), "Status: 200", 11) != 0)
		fail_msg("CGI output does not start with Status: 200:\n%s",
		    buf_str(&out));
	body = cgi_split(buf_str(&out), &status);
	assert_int_equal(status, 200);
	assert_health_body(body);
	buf_cleanup(&cmd);
	buf_cleanup(&out);
}

static void
assert_clean_exit(struct fixture *fx, const char *name, pid_t pid)
{
	long long	 t0;
	int		 st;

	t0 = itest_now_ms();
	assert_int_equal(kill(pid, SIGTERM), 0);
	st = wait_exit(pid, (GRACE_S + 1) * 1000L);
	if (st == -1) {
		show_log(fx, name);
		fail_msg("still running %d s after SIGTERM", GRACE_S + 1);
	}
	forget_pid(fx, pid);
	print_message("exited %lld ms after SIGTERM\n", itest_now_ms() - t0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		show_log(fx, name);
		fail_msg("wait status %#x after SIGTERM, wanted exit 0", st);
	}
}

static void
test_sigterm_exits_zero(void **state)
{
	struct fixture	*fx = *state;
	pid_t		 pid;

	pid = start_listen(fx, "sigterm", LISTEN_PORT);
	assert_fcgi_health(LISTEN_PORT);
	assert_clean_exit(fx, "sigterm", pid);
}

/*
 * A client that opened a request and never finished it must not keep
 * the process alive past the grace period.
 */
static void
test_sigterm_with_stuck_client(void **state)
{
	static const unsigned char begin[16] = {
		1, 1, 0, 1, 0, 8, 0, 0,		/* BEGIN_REQUEST, id 1 */
		0, 1, 0, 0, 0, 0, 0, 0		/* RESPONDER */
	};
	struct fixture		*fx = *state;
	struct sockaddr_in	 sin;
	pid_t			 pid;
	int			 fd;

	pid = start_listen(fx, "stuck", STUCK_PORT);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(STUCK_PORT);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd != -1);
	fx->client_fd = fd;
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	assert_int_equal(write(fd, begin, sizeof(begin)),
	    (ssize_t)sizeof(begin));
	/* Let a worker accept it and block reading the parameters. */
	sleep_ms(200);
	assert_clean_exit(fx, "stuck", pid);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test_teardown(test_own_socket, kill_procs),
		cmocka_unit_test_teardown(test_socket_on_fd0, kill_procs),
		cmocka_unit_test_teardown(test_plain_cgi, kill_procs),
		cmocka_unit_test_teardown(test_sigterm_exits_zero,
		    kill_procs),
		cmocka_unit_test_teardown(test_sigterm_with_stuck_client,
		    kill_procs),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
