/*
 * The FastCGI and CGI transport (design.md 3).
 *
 * FastCGI: worker threads share one epoll set holding the listening
 * socket, a stop pipe and every kept-alive connection (nginx's
 * fastcgi_keep_conn).  A worker waits in epoll_wait, takes one ready
 * descriptor, lets libfcgi read the request from it with FCGX_Accept_r,
 * serves it, and hands a kept connection back to the set with
 * EPOLLONESHOT, so exactly one worker reads each request and no worker
 * is pinned to an idle connection while new ones wait.  The listening
 * socket is non-blocking, so a worker that loses the race for a new
 * connection gets EAGAIN instead of blocking in accept.
 *
 * Stopping is race-free without any signal handler: SIGTERM and SIGINT
 * are blocked in every thread before the workers start, and the main
 * thread takes them synchronously with sigtimedwait.  It then writes
 * one byte to the stop pipe and never reads it back, so the pipe stays
 * readable and every worker sees it in epoll_wait, whether it was
 * waiting already or gets there after finishing its current request.
 * Nothing is done to the listening socket itself: on fd 0 it may be
 * shared with sibling processes (spawn-fcgi -F, mod_fcgid) or owned by
 * systemd, and shutting it down would stop them too.
 *
 * libfcgi's own FCGX_OpenSocket is not used because it calls exit()
 * when it cannot bind, and knows only IPv4.
 */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <netdb.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "error.h"
#include "log.h"
#include "server.h"

#define SERVER_MAX_THREADS	1024
/* Kept-alive connections held open at most; past it they are closed. */
#define SERVER_MAX_CONNS	4096
/*
 * A peer that stops sending or reading for this long gives its worker
 * back: set on the listening socket, inherited by accepted ones.
 */
#define SERVER_IO_TIMEOUT_S	30
/* Unread request bodies skipped at most, to keep a connection usable. */
#define SERVER_DRAIN_MAX	(16 * 1024 * 1024)
#define SERVER_CHUNK		8192
#define SERVER_ACCEPT_PAUSE_MS	50

extern char	**environ;

/* One FastCGI connection and the request being read from it. */
struct conn {
	FCGX_Request	 fr;
	struct conn	*prev, *next;
};

/* What a worker reads the request body through. */
typedef ssize_t	(*body_reader)(void *ctx, char *p, size_t n);

/* The process has one server; its state outlives a drain timeout. */
static struct {
	const char		*trusted_proxies;
	size_t			 body_limit;
	server_handler_fn	 fn;
	void			*arg;
	int			 lfd;
	int			 epfd;
	int			 stop_rd, stop_wr;
	pthread_mutex_t		 mu;	/* guards conns and nconns */
	struct conn		*conns;
	size_t			 nconns;
	atomic_int		 live;	/* workers still running */
} srv = { .lfd = -1, .epfd = -1, .stop_rd = -1, .stop_wr = -1,
	  .mu = PTHREAD_MUTEX_INITIALIZER };

/* Addresses in epoll_event.data.ptr for the two non-connection fds. */
static char	 mark_listen, mark_stop;

static atomic_int	 server_stop_flag;

/* Sent when even the reply could not be built; no allocation needed. */
static const char	 server_oom_reply[] =
    "Status: 500 Internal Server Error\r\n"
    "Content-Type: application/problem+json; charset=utf-8\r\n"
    "Cache-Control: no-store\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "\r\n"
    "{\"type\":\"about:blank\",\"title\":\"Internal Server Error\","
    "\"status\":500,\"code\":\"INTERNAL_ERROR\"}";

int
server_stopping(void)
{
	return atomic_load(&server_stop_flag);
}

static void
sleep_ms(long ms)
{
	struct timespec	 ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		continue;
}

static long long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- one request, whatever the transport ---- */

/*
 * Parses CONTENT_LENGTH.  Absent or empty is 0; digits too many to
 * represent saturate at SIZE_MAX (and so exceed any limit); anything
 * else (a sign, a space, a letter) is WS_ERR_INVALID.
 */
static int
content_length(const char *s, size_t *len)
{
	size_t	 v = 0;

	*len = 0;
	if (s == NULL)
		return 0;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return WS_ERR_INVALID;
		if (v > (SIZE_MAX - 9) / 10)
			v = SIZE_MAX;
		else
			v = v * 10 + (size_t)(*s - '0');
	}
	*len = v;
	return 0;
}

/* Reads exactly n body bytes into r->body; WS_ERR_IO if it ends early. */
static int
read_body(struct req *r, body_reader rd, void *ctx, size_t n)
{
	char	 chunk[SERVER_CHUNK];
	size_t	 want;
	ssize_t	 got;
	int	 rc;

	while (n > 0) {
		want = n < sizeof(chunk) ? n : sizeof(chunk);
		if ((got = rd(ctx, chunk, want)) <= 0)
			return WS_ERR_IO;
		if ((rc = buf_append(&r->body, chunk, (size_t)got)) != 0)
			return rc;
		n -= (size_t)got;
	}
	return 0;
}

/* Answers a request the transport refuses before any handler runs. */
static void
refuse(struct req *r, struct resp *rs, int status, const char *code,
    const char *detail, const char *reason)
{
	char	 st[8];

	resp_problem(rs, r, status, code, detail, NULL);
	snprintf(st, sizeof(st), "%d", status);
	log_set_request_id(r->request_id);
	log_event(status >= 500 ? LOG_ERROR : LOG_INFO, "request_refused",
	    "reason", reason, "status", st, "client", r->remote_addr,
	    NULL);
	log_set_request_id(NULL);
}

/*
 * Serves one request: parses params, reads the body through rd, calls
 * the handler and serialises the reply into out.  *reply and *len get
 * what to send: out's contents, or a fixed 500 when it could not be
 * built.
 */
static void
serve(char * const *params, body_reader rd, void *ctx, struct buf *out,
    const char **reply, size_t *len)
{
	struct req	 r;
	struct resp	 rs;
	size_t		 cl = 0;
	int		 rc, badlen;

	rc = req_init(&r, params, srv.trusted_proxies, srv.body_limit);
	resp_init(&rs);
	badlen = content_length(req_env(&r, "CONTENT_LENGTH"), &cl) != 0;
	if (rc == WS_ERR_NOMEM) {
		refuse(&r, &rs, 500, "INTERNAL_ERROR",
		    "The server could not answer this request.", "nomem");
	} else if (rc != 0) {
		refuse(&r, &rs, 400, "BAD_REQUEST",
		    "The request method or path is not acceptable.",
		    "bad_request_line");
	} else if (badlen) {
		refuse(&r, &rs, 400, "BAD_REQUEST",
		    "The Content-Length is not valid.", "bad_content_length");
	} else if (cl > srv.body_limit) {
		/* Never read; the handler answers 413 if it wanted a body. */
		r.body_too_big = 1;
		srv.fn(&r, &rs, srv.arg);
	} else if (cl > 0 && (rc = read_body(&r, rd, ctx, cl)) != 0) {
		if (rc == WS_ERR_IO)
			refuse(&r, &rs, 400, "BAD_REQUEST", "The request body "
			    "is shorter than its Content-Length.",
			    "short_body");
		else
			refuse(&r, &rs, 500, "INTERNAL_ERROR", "The server "
			    "could not answer this request.", "nomem");
	} else
		srv.fn(&r, &rs, srv.arg);
	buf_reset(out);
	if (resp_serialize(&rs, &r, out) == 0) {
		*reply = out->data;
		*len = out->len;
	} else {
		*reply = server_oom_reply;
		*len = sizeof(server_oom_reply) - 1;
	}
	resp_cleanup(&rs);
	req_cleanup(&r);
}

/* ---- FastCGI ---- */

static ssize_t
fcgi_read(void *ctx, char *p, size_t n)
{
	FCGX_Request	*fr = ctx;

	return FCGX_GetStr(p, (int)n, fr->in);
}

static void
fcgi_reply(FCGX_Request *fr, const char *p, size_t n)
{
	size_t	 part;

	while (n > 0) {
		part = n < SERVER_CHUNK * 8 ? n : SERVER_CHUNK * 8;
		if (FCGX_PutStr(p, (int)part, fr->out) != (int)part)
			return;
		p += part;
		n -= part;
	}
}

/*
 * Reads and drops what is left of the request body, so a kept-alive
 * connection is positioned at the next request.
 */
static void
fcgi_drain(FCGX_Request *fr)
{
	char	 chunk[SERVER_CHUNK];
	size_t	 total = 0;
	int	 n;

	while (total < SERVER_DRAIN_MAX &&
	    (n = FCGX_GetStr(chunk, (int)sizeof(chunk), fr->in)) > 0)
		total += (size_t)n;
}

static struct conn *
conn_new(void)
{
	struct conn	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if (FCGX_InitRequest(&c->fr, srv.lfd, 0) != 0) {
		free(c);
		return NULL;
	}
	pthread_mutex_lock(&srv.mu);
	c->next = srv.conns;
	if (srv.conns != NULL)
		srv.conns->prev = c;
	srv.conns = c;
	srv.nconns++;
	pthread_mutex_unlock(&srv.mu);
	return c;
}

/* Closes c's connection, if open, and frees it. */
static void
conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&srv.mu);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv.conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv.nconns--;
	pthread_mutex_unlock(&srv.mu);
	/*
	 * ipcFd is one of the fields libfcgi asks callers not to use; it
	 * is only read, to tell an open connection from a closed one.
	 */
	FCGX_Free(&c->fr, c->fr.ipcFd >= 0);
	free(c);
}

/*
 * Puts a kept-alive connection back into the epoll set, armed for one
 * event.  After this the worker must not touch c: another may own it.
 */
static int
conn_park(struct conn *c)
{
	struct epoll_event	 ev;
	size_t			 n;
	int			 fd = c->fr.ipcFd;

	pthread_mutex_lock(&srv.mu);
	n = srv.nconns;
	pthread_mutex_unlock(&srv.mu);
	if (n > SERVER_MAX_CONNS || server_stopping())
		return WS_ERR_TOOBIG;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLONESHOT;
	ev.data.ptr = c;
	/*
	 * A new connection is added; a returning one is re-armed.  The
	 * descriptor number says nothing: libfcgi may have closed the
	 * old connection and accepted a new one under the same number.
	 */
	if (epoll_ctl(srv.epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
		return 0;
	if (errno == ENOENT && epoll_ctl(srv.epfd, EPOLL_CTL_ADD, fd,
	    &ev) == 0)
		return 0;
	return WS_ERR_IO;
}

/* Reads one request from c (a new connection or a kept one), serves it. */
static void
conn_serve(struct conn *c, struct buf *out)
{
	const char	*reply;
	size_t		 len;
	int		 rc;

	if ((rc = FCGX_Accept_r(&c->fr)) < 0) {
		/*
		 * Another worker took the connection (EAGAIN), or the web
		 * server closed a kept one.  Anything else, such as
		 * EMFILE, would wake the workers again at once: pause.
		 */
		if (rc != -EAGAIN && rc != -EINTR && rc != -ECONNABORTED) {
			log_event(LOG_ERROR, "accept_failed", "error",
			    strerror(-rc), NULL);
			sleep_ms(SERVER_ACCEPT_PAUSE_MS);
		}
		conn_free(c);
		return;
	}
	serve(c->fr.envp, fcgi_read, &c->fr, out, &reply, &len);
	fcgi_reply(&c->fr, reply, len);
	fcgi_drain(&c->fr);
	FCGX_Finish_r(&c->fr);
	if (c->fr.ipcFd < 0 || conn_park(c) != 0)
		conn_free(c);
}

static void *
worker_main(void *unused)
{
	struct epoll_event	 ev;
	struct conn		*c;
	struct buf		 out;
	int			 n;

	(void)unused;
	buf_init(&out, 0);
	for (;;) {
		if ((n = epoll_wait(srv.epfd, &ev, 1, -1)) < 0) {
			if (errno == EINTR)
				continue;
			log_event(LOG_ERROR, "worker_failed", "error",
			    strerror(errno), NULL);
			break;
		}
		if (n == 0)
			continue;
		if (ev.data.ptr == &mark_stop)
			break;
		if (ev.data.ptr == &mark_listen) {
			if ((c = conn_new()) == NULL) {
				sleep_ms(SERVER_ACCEPT_PAUSE_MS);
				continue;
			}
		} else
			c = ev.data.ptr;
		conn_serve(c, &out);
	}
	buf_cleanup(&out);
	atomic_fetch_sub(&srv.live, 1);
	return NULL;
}

/* ---- listening sockets ---- */

/* Bounds how long a stalled peer can hold a worker. */
static void
set_io_timeouts(int fd)
{
	struct timeval	 tv = { SERVER_IO_TIMEOUT_S, 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static void
listen_failed(const char *addr, const char *why)
{
	log_event(LOG_ERROR, "listen_failed", "address", addr, "error", why,
	    NULL);
}

/*
 * The socket's mode follows the umask: give the web server's user
 * access through a shared group (umask 007), not by opening it to all.
 */
static int
listen_unix(const char *path, int backlog, int *out)
{
	struct sockaddr_un	 sa;
	struct stat		 st;
	size_t			 n = strlen(path);
	int			 fd = -1, probe, e;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (n >= sizeof(sa.sun_path)) {
		listen_failed(path, "the path is too long for a socket");
		return WS_ERR_INVALID;
	}
	memcpy(sa.sun_path, path, n + 1);
	if (lstat(path, &st) == 0) {
		/*
		 * A socket left by an earlier run is replaced; one that
		 * still answers belongs to a running copy, and any other
		 * kind of file is not ours to delete.
		 */
		if (!S_ISSOCK(st.st_mode)) {
			errno = EEXIST;
			goto fail;
		}
		if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
		    0)) < 0)
			goto fail;
		if (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			errno = EADDRINUSE;
			goto fail;
		}
		close(probe);
		if (unlink(path) != 0)
			goto fail;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(fd, backlog) != 0)
		goto fail;
	*out = fd;
	return 0;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	listen_failed(path, strerror(e));
	return WS_ERR_IO;
}

/*
 * Splits host:port, [v6]:port, :port or *:port into host (NULL for
 * every address) and port.
 */
static int
split_host_port(const char *addr, char *host, size_t hostlen, char *port,
    size_t portlen, const char **h)
{
	const char	*colon;
	size_t		 hn, pn, i;
	long		 v = 0;

	if ((colon = strrchr(addr, ':')) == NULL)
		return WS_ERR_INVALID;
	hn = (size_t)(colon - addr);
	pn = strlen(colon + 1);
	if (pn == 0 || pn >= portlen || hn >= hostlen)
		return WS_ERR_INVALID;
	for (i = 0; i < pn; i++) {
		if (colon[1 + i] < '0' || colon[1 + i] > '9')
			return WS_ERR_INVALID;
		v = v * 10 + (colon[1 + i] - '0');
	}
	if (v < 1 || v > 65535)
		return WS_ERR_INVALID;
	memcpy(port, colon + 1, pn + 1);
	memcpy(host, addr, hn);
	host[hn] = '\0';
	*h = host;
	if (hn >= 2 && host[0] == '[' && host[hn - 1] == ']') {
		host[hn - 1] = '\0';
		*h = host + 1;
	}
	if (**h == '\0' || strcmp(*h, "*") == 0)
		*h = NULL;
	return 0;
}

static int
listen_tcp(const char *addr, int backlog, int *out)
{
	struct addrinfo	 hints, *res = NULL, *ai;
	char		 host[256], port[8];
	const char	*h;
	int		 fd = -1, one = 1, rc, e = 0;

	if (split_host_port(addr, host, sizeof(host), port, sizeof(port),
	    &h) != 0) {
		listen_failed(addr, "expected host:port, [ipv6]:port or "
		    "/unix/socket/path");
		return WS_ERR_INVALID;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(h, port, &hints, &res)) != 0) {
		listen_failed(addr, gai_strerror(rc));
		return WS_ERR_INVALID;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, backlog) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		listen_failed(addr, strerror(e));
		return WS_ERR_IO;
	}
	*out = fd;
	return 0;
}

/* ---- running and stopping ---- */

/* Waits for a stop signal; WS_ERR_IO if every worker died first. */
static int
wait_for_stop(const sigset_t *set)
{
	struct timespec	 tick = { 1, 0 };
	int		 sig;

	for (;;) {
		sig = sigtimedwait(set, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT)
			return 0;
		if (atomic_load(&srv.live) == 0)
			return WS_ERR_IO;
	}
}

/*
 * Waits up to grace_s seconds for the workers to finish what they are
 * serving.  A second signal cuts the wait short.  Returns 1 if they
 * all stopped.
 */
static int
wait_for_workers(const sigset_t *set, long grace_s)
{
	struct timespec	 tick = { 0, 20 * 1000000L };
	long long	 deadline = now_ms() + (grace_s > 0 ? grace_s : 0) *
			    1000LL;
	int		 sig;

	while (atomic_load(&srv.live) > 0 && now_ms() < deadline) {
		sig = sigtimedwait(set, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT) {
			log_event(LOG_WARN, "stop_forced", NULL);
			break;
		}
	}
	return atomic_load(&srv.live) == 0;
}

static void
fcgi_release(int drained)
{
	struct conn	*c;

	if (!drained)
		return;	/* workers still run: leave what they may use */
	while ((c = srv.conns) != NULL)
		conn_free(c);
	if (srv.epfd >= 0)
		close(srv.epfd);
	if (srv.stop_rd >= 0)
		close(srv.stop_rd);
	if (srv.stop_wr >= 0)
		close(srv.stop_wr);
	srv.epfd = srv.stop_rd = srv.stop_wr = -1;
}

static int
epoll_add(int fd, void *ptr)
{
	struct epoll_event	 ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = ptr;
	return epoll_ctl(srv.epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int
fcgi_run(int threads, long grace_s)
{
	pthread_t	*tids = NULL;
	sigset_t	 set, old;
	struct timespec	 zero = { 0, 0 };
	int		 i, started = 0, pipefd[2], rc = WS_ERR_IO, drained = 1;
	char		 nbuf[16];

	if (FCGX_Init() != 0)
		goto out;
	if ((srv.epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    pipe(pipefd) != 0)
		goto out;
	fcntl(pipefd[0], F_SETFD, FD_CLOEXEC);
	fcntl(pipefd[1], F_SETFD, FD_CLOEXEC);
	srv.stop_rd = pipefd[0];
	srv.stop_wr = pipefd[1];
	if (epoll_add(srv.lfd, &mark_listen) != 0 ||
	    epoll_add(srv.stop_rd, &mark_stop) != 0)
		goto out;
	if ((tids = calloc((size_t)threads, sizeof(*tids))) == NULL) {
		rc = WS_ERR_NOMEM;
		goto out;
	}
	/* Blocked before the first thread starts, so all inherit it. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	for (i = 0; i < threads; i++) {
		atomic_fetch_add(&srv.live, 1);
		if (pthread_create(&tids[i], NULL, worker_main, NULL) != 0) {
			atomic_fetch_sub(&srv.live, 1);
			break;
		}
		started++;
	}
	snprintf(nbuf, sizeof(nbuf), "%d", started);
	log_event(LOG_INFO, "serving", "threads", nbuf, NULL);
	rc = started > 0 ? wait_for_stop(&set) : WS_ERR_IO;
	atomic_store(&server_stop_flag, 1);
	if (write(srv.stop_wr, "x", 1) != 1)
		log_event(LOG_ERROR, "stop_failed", "error", strerror(errno),
		    NULL);
	drained = wait_for_workers(&set, grace_s);
	for (i = 0; i < started; i++) {
		if (drained)
			pthread_join(tids[i], NULL);
		else
			pthread_detach(tids[i]);
	}
	if (!drained) {
		snprintf(nbuf, sizeof(nbuf), "%d", atomic_load(&srv.live));
		log_event(LOG_WARN, "stop_timeout", "busy_workers", nbuf,
		    NULL);
		/*
		 * The workers still inside a handler use the database
		 * pool and cache the caller would free next; ending the
		 * process here is the only way to keep the bound on the
		 * drain without that use-after-free.
		 */
		_exit(0);
	}
	/* Signals that came during the drain are spent, not re-raised. */
	while (sigtimedwait(&set, NULL, &zero) > 0)
		continue;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
out:
	free(tids);
	fcgi_release(drained);
	return rc;
}

/* ---- CGI ---- */

static ssize_t
cgi_read(void *ctx, char *p, size_t n)
{
	ssize_t	 got;

	(void)ctx;
	while ((got = read(STDIN_FILENO, p, n)) < 0 && errno == EINTR)
		continue;
	return got;
}

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t	 w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return WS_ERR_IO;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
cgi_run(void)
{
	struct buf	 out;
	const char	*reply;
	size_t		 len;
	int		 rc;

	if (getenv("REQUEST_METHOD") == NULL) {
		log_event(LOG_ERROR, "no_transport", "detail", "neither "
		    "--listen, a listening socket on fd 0, nor a CGI request",
		    NULL);
		return WS_ERR_INVALID;
	}
	buf_init(&out, 0);
	serve(environ, cgi_read, NULL, &out, &reply, &len);
	rc = write_all(STDOUT_FILENO, reply, len);
	buf_cleanup(&out);
	return rc;
}

/* ---- entry ---- */

static int
fd0_is_listening(void)
{
	int		 v = 0;
	socklen_t	 len = sizeof(v);

	return getsockopt(STDIN_FILENO, SOL_SOCKET, SO_ACCEPTCONN, &v,
	    &len) == 0 && v == 1;
}

int
server_run(const struct server_opts *o, server_handler_fn fn, void *arg)
{
	int	 rc, owned = 0, fl, backlog;

	if (o == NULL || fn == NULL || o->threads < 1 ||
	    o->threads > SERVER_MAX_THREADS)
		return WS_ERR_INVALID;
	signal(SIGPIPE, SIG_IGN);
	srv.trusted_proxies = o->trusted_proxies;
	/* A limit of 0 would mean "unbounded" to struct buf: refuse it. */
	srv.body_limit = o->body_limit > 0 ? o->body_limit : 16 * 1024;
	srv.fn = fn;
	srv.arg = arg;
	if (o->listen != NULL) {
		backlog = o->backlog > 0 ? o->backlog : 128;
		rc = o->listen[0] == '/' ?
		    listen_unix(o->listen, backlog, &srv.lfd) :
		    listen_tcp(o->listen, backlog, &srv.lfd);
		if (rc != 0)
			return rc;
		owned = 1;
	} else if (fd0_is_listening()) {
		/*
		 * Non-blocking for the reason given at the top; siblings
		 * sharing this socket run this same code.
		 */
		srv.lfd = STDIN_FILENO;
		if ((fl = fcntl(srv.lfd, F_GETFL)) < 0 ||
		    fcntl(srv.lfd, F_SETFL, fl | O_NONBLOCK) != 0) {
			listen_failed("fd 0", strerror(errno));
			return WS_ERR_IO;
		}
	} else
		return cgi_run();
	set_io_timeouts(srv.lfd);
	rc = fcgi_run(o->threads, o->grace_s);
	/* fcgi_release left epfd open if workers still run: so is lfd. */
	if (owned && srv.epfd < 0) {
		close(srv.lfd);
		if (o->listen[0] == '/')
			unlink(o->listen);
	}
	return rc;
}
