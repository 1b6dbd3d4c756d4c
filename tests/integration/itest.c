/*
 * Helpers for the integration tests: HTTP through nginx with libcurl,
 * FastCGI straight to a responder, control of the harness, and a
 * monotonic clock.  The FastCGI client is written here rather than
 * taken from libfcgi because libfcgi only implements the application
 * side of the protocol, and the tests need to send requests a web
 * server never would (NUL bytes, huge parameters).
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "error.h"
#include "itest.h"

/* Every network wait in a test is bounded so a hung peer fails it. */
#define ITEST_TIMEOUT_S		10
/* Bounds on what one reply may hold, far above anything legitimate. */
#define ITEST_MAX_BODY		(64u * 1024 * 1024)
#define ITEST_MAX_HEADERS	(1024u * 1024)

/* FastCGI record types and constants (the FastCGI 1.0 specification). */
#define FCGI_VERSION_1		1
#define FCGI_BEGIN_REQUEST	1
#define FCGI_END_REQUEST	3
#define FCGI_PARAMS		4
#define FCGI_STDIN		5
#define FCGI_STDOUT		6
#define FCGI_STDERR		7
#define FCGI_RESPONDER		1
#define FCGI_HEADER_LEN		8
#define FCGI_MAX_CONTENT	65535
#define FCGI_REQUEST_ID		1

static pthread_once_t	 curl_once = PTHREAD_ONCE_INIT;

static void
curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_ALL);
}

const char *
itest_env(const char *name)
{
	const char	*v;

	v = getenv(name);
	if (v == NULL || *v == '\0')
		fail_msg("%s is not set: run the tests through make test",
		    name);
	return v;
}

long long
itest_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t
http_body_cb(char *p, size_t size, size_t n, void *arg)
{
	struct buf	*b = arg;

	/* Returning less than was given makes libcurl stop with an error. */
	if (buf_append(b, p, size * n) != 0)
		return 0;
	return size * n;
}

static size_t
http_header_cb(char *p, size_t size, size_t n, void *arg)
{
	struct buf	*b = arg;

	/*
	 * An interim response (100 Continue) has its own header block;
	 * only the final one is of interest, so each status line starts
	 * the block afresh.
	 */
	if (size * n >= 5 && strncmp(p, "HTTP/", 5) == 0)
		buf_reset(b);
	if (buf_append(b, p, size * n) != 0)
		return 0;
	return size * n;
}

int
itest_http(const char *method, const char *path,
    const char * const *headers, const char *body, size_t len,
    struct itest_resp *out)
{
	CURL			*c = NULL;
	struct curl_slist	*hl = NULL, *nl;
	struct buf		 url;
	CURLcode		 cc;
	long long		 t0;
	int			 rc = WS_ERR_INTERNAL;
	size_t			 i;

	memset(out, 0, sizeof(*out));
	buf_init(&out->headers, ITEST_MAX_HEADERS);
	buf_init(&out->body, ITEST_MAX_BODY);
	buf_init(&url, 0);
	pthread_once(&curl_once, curl_init_once);

	if (buf_printf(&url, "%s%s", itest_env("WS_BASE_URL"), path) != 0)
		goto out;
	if ((c = curl_easy_init()) == NULL)
		goto out;
	/*
	 * libcurl would otherwise ask for 100 Continue before a large
	 * body; the tests want the server's answer to the body itself.
	 */
	if ((hl = curl_slist_append(hl, "Expect:")) == NULL)
		goto out;
	for (i = 0; headers != NULL && headers[i] != NULL; i++) {
		if ((nl = curl_slist_append(hl, headers[i])) == NULL)
			goto out;
		hl = nl;
	}

	curl_easy_setopt(c, CURLOPT_URL, buf_str(&url));
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)ITEST_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)ITEST_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_body_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out->body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, http_header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &out->headers);
	/* The request goes out exactly as written: no path squashing. */
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)len);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	/* A body would turn the request into a POST unless named. */
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET") != 0 || body != NULL)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);

	t0 = itest_now_ms();
	cc = curl_easy_perform(c);
	out->seconds = (double)(itest_now_ms() - t0) / 1000.0;
	if (cc != CURLE_OK) {
		print_error("itest_http %s %s: %s\n", method, path,
		    curl_easy_strerror(cc));
		rc = WS_ERR_IO;
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	if (out->body.len > 0)
		out->json = json_loadb(out->body.data, out->body.len, 0,
		    NULL);
	rc = 0;
out:
	curl_slist_free_all(hl);
	if (c != NULL)
		curl_easy_cleanup(c);
	buf_cleanup(&url);
	return rc;
}

void
itest_resp_cleanup(struct itest_resp *r)
{
	if (r == NULL)
		return;
	buf_cleanup(&r->headers);
	buf_cleanup(&r->body);
	json_decref(r->json);
	r->json = NULL;
	r->status = 0;
}

const char *
itest_header(const struct itest_resp *r, const char *name, char *out,
    size_t outlen)
{
	const char	*p, *end, *eol, *v, *ve;
	size_t		 nlen = strlen(name), n;

	if (outlen == 0)
		return NULL;
	p = buf_str(&r->headers);
	end = p + r->headers.len;
	for (; p < end; p = eol + 1) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		if ((size_t)(eol - p) <= nlen || p[nlen] != ':' ||
		    strncasecmp(p, name, nlen) != 0)
			continue;
		v = p + nlen + 1;
		ve = eol;
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' ||
		    ve[-1] == '\t'))
			ve--;
		n = (size_t)(ve - v);
		if (n >= outlen)
			n = outlen - 1;
		memcpy(out, v, n);
		out[n] = '\0';
		return out;
	}
	return NULL;
}

/* Splits "host:port" and connects with both socket timeouts set. */
static int
fcgi_connect(const char *addr)
{
	struct addrinfo	 hints, *res = NULL, *ai;
	struct timeval	 tv = { .tv_sec = ITEST_TIMEOUT_S };
	char		 host[256];
	const char	*colon;
	size_t		 hlen;
	int		 fd = -1;

	if ((colon = strrchr(addr, ':')) == NULL)
		return -1;
	hlen = (size_t)(colon - addr);
	if (hlen == 0 || hlen >= sizeof(host))
		return -1;
	memcpy(host, addr, hlen);
	host[hlen] = '\0';

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
		return -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* Appends one record header and its content, padded to 8 bytes. */
static int
fcgi_record(struct buf *b, int type, const void *p, size_t n)
{
	unsigned char	 h[FCGI_HEADER_LEN];
	static const char zero[8];
	size_t		 pad = (8 - n % 8) % 8;

	h[0] = FCGI_VERSION_1;
	h[1] = (unsigned char)type;
	h[2] = (FCGI_REQUEST_ID >> 8) & 0xff;
	h[3] = FCGI_REQUEST_ID & 0xff;
	h[4] = (unsigned char)((n >> 8) & 0xff);
	h[5] = (unsigned char)(n & 0xff);
	h[6] = (unsigned char)pad;
	h[7] = 0;
	if (buf_append(b, h, sizeof(h)) != 0 || buf_append(b, p, n) != 0 ||
	    buf_append(b, zero, pad) != 0)
		return WS_ERR_NOMEM;
	return 0;
}

/* Splits a stream into records of at most 64 KiB, then an empty one. */
static int
fcgi_stream(struct buf *b, int type, const char *p, size_t n)
{
	size_t	 chunk;

	while (n > 0) {
		chunk = n > FCGI_MAX_CONTENT ? FCGI_MAX_CONTENT : n;
		if (fcgi_record(b, type, p, chunk) != 0)
			return WS_ERR_NOMEM;
		p += chunk;
		n -= chunk;
	}
	return fcgi_record(b, type, "", 0);
}

/* A name or value length: one byte below 128, else four, top bit set. */
static int
fcgi_put_len(struct buf *b, size_t n)
{
	unsigned char	 l[4];

	if (n < 128) {
		l[0] = (unsigned char)n;
		return buf_append(b, l, 1);
	}
	if (n > 0x7fffffff)
		return WS_ERR_TOOBIG;
	l[0] = (unsigned char)(((n >> 24) & 0x7f) | 0x80);
	l[1] = (unsigned char)((n >> 16) & 0xff);
	l[2] = (unsigned char)((n >> 8) & 0xff);
	l[3] = (unsigned char)(n & 0xff);
	return buf_append(b, l, 4);
}

/* Builds the whole request: BEGIN_REQUEST, PARAMS and STDIN streams. */
static int
fcgi_build(struct buf *req, const struct itest_param *params,
    size_t nparams, const void *body, size_t len)
{
	static const unsigned char begin[8] = {
		0, FCGI_RESPONDER, 0 /* flags: close when done */,
		0, 0, 0, 0, 0
	};
	struct buf	 pairs;
	size_t		 i;
	int		 rc = WS_ERR_NOMEM;

	buf_init(&pairs, 0);
	if (fcgi_record(req, FCGI_BEGIN_REQUEST, begin, sizeof(begin)) != 0)
		goto out;
	for (i = 0; i < nparams; i++) {
		if (fcgi_put_len(&pairs, params[i].nlen) != 0 ||
		    fcgi_put_len(&pairs, params[i].vlen) != 0 ||
		    buf_append(&pairs, params[i].name, params[i].nlen) != 0 ||
		    buf_append(&pairs, params[i].value, params[i].vlen) != 0)
			goto out;
	}
	if (fcgi_stream(req, FCGI_PARAMS, buf_str(&pairs), pairs.len) != 0)
		goto out;
	if (fcgi_stream(req, FCGI_STDIN, body != NULL ? body : "",
	    body != NULL ? len : 0) != 0)
		goto out;
	rc = 0;
out:
	buf_cleanup(&pairs);
	return rc;
}

/* Reads exactly n bytes; returns 0, 1 on a clean EOF first, or -1. */
static int
read_full(int fd, void *p, size_t n)
{
	size_t	 got = 0;
	ssize_t	 r;

	while (got < n) {
		r = recv(fd, (char *)p + got, n - got, 0);
		if (r == 0)
			return got == 0 ? 1 : -1;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

int
itest_fcgi(const char *addr, const struct itest_param *params,
    size_t nparams, const void *body, size_t len, struct buf *out)
{
	struct buf	 req;
	unsigned char	 h[FCGI_HEADER_LEN], content[FCGI_MAX_CONTENT + 255];
	size_t		 off = 0, clen;
	ssize_t		 w;
	int		 fd = -1, rc = WS_ERR_IO, r, got_stdout = 0;

	buf_init(&req, 0);
	if (fcgi_build(&req, params, nparams, body, len) != 0) {
		rc = WS_ERR_NOMEM;
		goto out;
	}
	if ((fd = fcgi_connect(addr)) == -1) {
		print_error("itest_fcgi: cannot connect to %s\n", addr);
		goto out;
	}
	/*
	 * A responder may refuse a request part way and close; what it
	 * answered before that still counts, so a failed send only stops
	 * the sending.
	 */
	while (off < req.len) {
		w = send(fd, req.data + off, req.len - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	for (;;) {
		if ((r = read_full(fd, h, sizeof(h))) != 0) {
			/* The peer closed without END_REQUEST. */
			if (r == 1 && got_stdout)
				rc = 0;
			goto out;
		}
		clen = ((size_t)h[4] << 8 | h[5]) + h[6];
		if (read_full(fd, content, clen) != 0)
			goto out;
		clen -= h[6];
		if (h[1] == FCGI_STDOUT) {
			got_stdout = 1;
			if (buf_append(out, content, clen) != 0) {
				rc = WS_ERR_TOOBIG;
				goto out;
			}
		} else if (h[1] == FCGI_STDERR) {
			print_message("itest_fcgi stderr: %.*s\n", (int)clen,
			    (const char *)content);
		} else if (h[1] == FCGI_END_REQUEST) {
			rc = 0;
			goto out;
		}
	}
out:
	if (fd != -1)
		close(fd);
	buf_cleanup(&req);
	return rc;
}

int
itest_stack(const char *verb)
{
	struct buf	 cmd;
	int		 st, rc = -1;

	buf_init(&cmd, 0);
	if (buf_printf(&cmd, "'%s' %s", itest_env("WS_STACK"), verb) != 0)
		goto out;
	fflush(NULL);
	st = system(buf_str(&cmd));
	if (st != -1 && WIFEXITED(st))
		rc = WEXITSTATUS(st);
	else if (st != -1 && WIFSIGNALED(st))
		rc = 128 + WTERMSIG(st);
out:
	buf_cleanup(&cmd);
	return rc;
}

int
itest_run(const char *cmd, struct buf *out)
{
	FILE	*fp;
	char	 chunk[4096];
	size_t	 n;
	int	 st;

	fflush(NULL);
	if ((fp = popen(cmd, "r")) == NULL)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		/* Past the cap the rest is drained so the child can exit. */
		if (out != NULL)
			(void)buf_append(out, chunk, n);
	}
	st = pclose(fp);
	if (st == -1)
		return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}
