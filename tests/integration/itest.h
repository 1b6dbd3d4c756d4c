/*
 * Helpers for the integration tests.  Every test talks to the stack
 * that tests/harness/stack.sh started, found through these variables
 * (the harness exports them to CTest):
 *   WS_BASE_URL       nginx in front of the responders
 *   WS_DATABASE_URL   the private PostgreSQL cluster
 *   WS_MEMCACHED      host:port of memcached
 *   WS_SMTP_PORT      the SMTP sink's port on 127.0.0.1
 *   WS_MAIL_DIR       the sink's Maildir (new/ holds each message)
 *   WS_RUN_DIR        the harness's state directory
 *   WS_STACK          the harness script; "$WS_STACK VERB" controls it
 *   WS_BUILD_DIR      where the built programs are
 *   WS_SOURCE_DIR     the source tree
 *   WS_METRICS_DIR    the responders' METRICS_DIR
 *   WS_HEALTH_FCGI    host:port of one websands-health, direct
 *   WS_HEALTH2_FCGI   host:port of the second websands-health
 */
#ifndef WEBSANDS_ITEST_H
#define WEBSANDS_ITEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>

#include "buf.h"

struct itest_resp {
	long		 status;
	struct buf	 headers;	/* raw header block */
	struct buf	 body;
	json_t		*json;		/* parsed body, or NULL */
	double		 seconds;	/* time taken */
};

/* The value of a required variable; fails the test when unset. */
const char	*itest_env(const char *name);
/*
 * One HTTP request to WS_BASE_URL + path.  headers is a NULL-ended
 * list of "Name: value" lines (may be NULL); body may be NULL.
 * Returns 0 when a response came back (any status).
 */
int	 itest_http(const char *method, const char *path,
	    const char * const *headers, const char *body, size_t len,
	    struct itest_resp *out);
void	 itest_resp_cleanup(struct itest_resp *r);
/* A response header's value (case-insensitive name) or NULL; copied. */
const char *itest_header(const struct itest_resp *r, const char *name,
	    char *out, size_t outlen);

/* One FastCGI parameter; lengths allow NUL bytes inside. */
struct itest_param {
	const char	*name;
	size_t		 nlen;
	const char	*value;
	size_t		 vlen;
};
/*
 * Sends one FastCGI request straight to a responder at addr
 * ("host:port") and reads its whole CGI-style reply into out.
 * Returns 0 when a reply (possibly empty) came back before the
 * connection closed, non-zero when the connection failed.
 */
int	 itest_fcgi(const char *addr, const struct itest_param *params,
	    size_t nparams, const void *body, size_t len, struct buf *out);
/* Runs "$WS_STACK verb"; returns its exit status. */
int	 itest_stack(const char *verb);
/* Runs a shell command; returns its exit status, output in out. */
int	 itest_run(const char *cmd, struct buf *out);
/* Milliseconds on the monotonic clock. */
long long itest_now_ms(void);

#endif
