/*
 * The FastCGI (and CGI) transport.  server_run serves requests until
 * SIGTERM or SIGINT, in one of the three modes of design.md 3:
 *  - listen is set: open that socket (host:port, or a path for a unix
 *    socket) and serve it with threads workers;
 *  - fd 0 is a listening socket (spawn-fcgi, mod_fcgid, lighttpd
 *    bin-path, systemd): serve it with threads workers;
 *  - otherwise, plain CGI: one request from the environment and stdin.
 * On SIGTERM it stops accepting, lets requests in flight finish for up
 * to grace_s seconds and returns 0.
 */
#ifndef WEBSANDS_SERVER_H
#define WEBSANDS_SERVER_H

#include <stddef.h>

#include "http.h"

/* Called once per request after req_init; writes the reply into rs. */
typedef void	(*server_handler_fn)(struct req *r, struct resp *rs,
		    void *arg);

struct server_opts {
	const char	*listen;	/* NULL: fd 0 or CGI */
	int		 threads;	/* worker threads, >= 1 */
	int		 backlog;
	long		 grace_s;	/* bound on the drain after SIGTERM */
	size_t		 body_limit;
	const char	*trusted_proxies;
};

/* Returns 0 after a clean stop, non-zero if serving failed to start. */
int	 server_run(const struct server_opts *o, server_handler_fn fn,
	    void *arg);
/* Non-zero once SIGTERM or SIGINT has arrived. */
int	 server_stopping(void);

#endif
