/*
 * Routes a request to its handler by method and path pattern.  A
 * pattern is a path whose segments may be "{name}", matching one
 * non-empty segment that becomes a path parameter.
 */
#ifndef WEBSANDS_ROUTER_H
#define WEBSANDS_ROUTER_H

#include "http.h"

/* A handler writes its reply into rs; the return value is ignored. */
typedef void	(*route_fn)(struct req *r, struct resp *rs);

struct route {
	const char	*method;	/* "GET", "POST", ... */
	const char	*pattern;	/* "/api/v1/users/me/sessions/{id}" */
	route_fn	 handler;
};

/*
 * Finds the route for r among routes[0..n) and calls it.  A path that
 * no pattern matches gets 404; a path matched only under other methods
 * gets 405 with an Allow header; both as problem JSON.  HEAD is served
 * by a GET route.  Sets r->route to the matched pattern (or "unmatched").
 */
void	 router_dispatch(const struct route *routes, size_t n,
	    struct req *r, struct resp *rs);

#endif
