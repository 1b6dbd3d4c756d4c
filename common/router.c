/*
 * Routing by method and path pattern.  Patterns are matched segment by
 * segment against the decoded path; "{name}" takes one non-empty
 * segment.  When several patterns match, the one with a literal
 * segment where the others have a parameter wins, so "/users/me" beats
 * "/users/{id}" whatever the order of the table.
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "router.h"

/*
 * The methods WebSands serves.  Any other (TRACE, TRACK, CONNECT,
 * PROPFIND...) never reaches a handler, so nothing can reflect it.
 */
static const char *const router_methods[] = {
	"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"
};
#define ROUTER_NMETHODS	(sizeof(router_methods) / sizeof(router_methods[0]))
#define ROUTER_GET	0
#define ROUTER_HEAD	1

struct capture {
	const char	*name, *value;
	size_t		 nlen, vlen;
};

/* The index of m in router_methods, or -1. */
static int
method_index(const char *m)
{
	size_t	 i;

	if (m == NULL)
		return -1;
	for (i = 0; i < ROUTER_NMETHODS; i++)
		if (strcmp(router_methods[i], m) == 0)
			return (int)i;
	return -1;
}

static int
is_param(const char *seg, size_t n)
{
	return n >= 3 && seg[0] == '{' && seg[n - 1] == '}';
}

/*
 * Matches pattern against path.  Returns 1 on a match, 0 otherwise,
 * and -1 when the pattern has more parameters than cap can hold.  The
 * captures, when cap is not NULL, point into pattern and path.
 */
static int
route_match(const char *pat, const char *path, struct capture *cap,
    size_t *ncap)
{
	size_t	 pn, qn, nc = 0;

	if (pat == NULL || path == NULL || *pat != '/' || *path != '/')
		return 0;
	for (;;) {
		pat++;
		path++;
		pn = strcspn(pat, "/");
		qn = strcspn(path, "/");
		if (is_param(pat, pn)) {
			if (qn == 0)
				return 0;
			if (cap != NULL) {
				if (nc >= HTTP_MAX_PARAMS)
					return -1;
				cap[nc].name = pat + 1;
				cap[nc].nlen = pn - 2;
				cap[nc].value = path;
				cap[nc].vlen = qn;
				nc++;
			}
		} else if (pn != qn || memcmp(pat, path, pn) != 0)
			return 0;
		pat += pn;
		path += qn;
		if (*pat == '\0' || *path == '\0') {
			if (ncap != NULL)
				*ncap = nc;
			return *pat == *path;
		}
	}
}

/*
 * 1 if pattern a is more specific than b (both matching one path): at
 * the first segment where one has a literal and the other a parameter,
 * the literal wins.
 */
static int
more_specific(const char *a, const char *b)
{
	size_t	 an, bn;
	int	 ap, bp;

	while (*a == '/' && *b == '/') {
		a++;
		b++;
		an = strcspn(a, "/");
		bn = strcspn(b, "/");
		ap = is_param(a, an);
		bp = is_param(b, bn);
		if (ap != bp)
			return bp;
		a += an;
		b += bn;
	}
	return 0;
}

/* The most specific route for the path under the method, or NULL. */
static const struct route *
route_find(const struct route *routes, size_t n, const char *method,
    const char *path)
{
	const struct route	*best = NULL;
	size_t			 i;

	for (i = 0; i < n; i++) {
		if (strcmp(routes[i].method, method) != 0 ||
		    route_match(routes[i].pattern, path, NULL, NULL) != 1)
			continue;
		if (best == NULL || more_specific(routes[i].pattern,
		    best->pattern))
			best = &routes[i];
	}
	return best;
}

static void
params_clear(struct req *r)
{
	size_t	 i;

	for (i = 0; i < r->nparams && i < HTTP_MAX_PARAMS; i++) {
		free(r->param_values[i]);
		r->param_values[i] = NULL;
		r->param_names[i] = NULL;
	}
	r->nparams = 0;
}

/*
 * Copies the path parameters into r.  Each value and its name share
 * one allocation (the value first), so req_cleanup frees both by
 * freeing the value.
 */
static int
params_set(struct req *r, const char *pattern)
{
	struct capture	 cap[HTTP_MAX_PARAMS];
	size_t		 ncap = 0, i;
	char		*p;

	if (route_match(pattern, r->path, cap, &ncap) != 1)
		return WS_ERR_INTERNAL;
	for (i = 0; i < ncap; i++) {
		if ((p = malloc(cap[i].vlen + cap[i].nlen + 2)) == NULL)
			return WS_ERR_NOMEM;
		memcpy(p, cap[i].value, cap[i].vlen);
		p[cap[i].vlen] = '\0';
		memcpy(p + cap[i].vlen + 1, cap[i].name, cap[i].nlen);
		p[cap[i].vlen + 1 + cap[i].nlen] = '\0';
		r->param_values[i] = p;
		r->param_names[i] = p + cap[i].vlen + 1;
		r->nparams = i + 1;
	}
	return 0;
}

/* Replies 405 with an Allow header naming what the path does serve. */
static void
reply_not_allowed(const struct route *routes, size_t n, struct req *r,
    struct resp *rs)
{
	char	 allow[128];
	int	 served[ROUTER_NMETHODS] = { 0 };
	size_t	 i, len = 0, ml;
	int	 k;

	for (i = 0; i < n; i++) {
		if ((k = method_index(routes[i].method)) < 0 ||
		    route_match(routes[i].pattern, r->path, NULL, NULL) != 1)
			continue;
		served[k] = 1;
		if (k == ROUTER_GET)
			served[ROUTER_HEAD] = 1;
		if (r->route == NULL)
			r->route = routes[i].pattern;
	}
	allow[0] = '\0';
	for (i = 0; i < ROUTER_NMETHODS; i++) {
		if (!served[i])
			continue;
		ml = strlen(router_methods[i]);
		/* Seven short names always fit; the check keeps it so. */
		if (len + ml + 3 > sizeof(allow))
			break;
		if (len > 0) {
			memcpy(allow + len, ", ", 2);
			len += 2;
		}
		memcpy(allow + len, router_methods[i], ml + 1);
		len += ml;
	}
	resp_problem(rs, r, 405, "METHOD_NOT_ALLOWED",
	    "This resource does not support the request method.", NULL);
	resp_header(rs, "Allow", allow);
}

void
router_dispatch(const struct route *routes, size_t n, struct req *r,
    struct resp *rs)
{
	const struct route	*rt = NULL;
	size_t			 i;
	int			 known, path_known = 0;

	params_clear(r);
	r->route = NULL;
	known = method_index(r->method) >= 0;
	if (known) {
		rt = route_find(routes, n, r->method, r->path);
		if (rt == NULL && method_index(r->method) == ROUTER_HEAD)
			rt = route_find(routes, n, "GET", r->path);
	}
	if (rt != NULL) {
		r->route = rt->pattern;
		if (params_set(r, rt->pattern) != 0) {
			params_clear(r);
			resp_problem(rs, r, 500, "INTERNAL_ERROR",
			    "The server could not answer this request.",
			    NULL);
			return;
		}
		rt->handler(r, rs);
		return;
	}
	for (i = 0; i < n && !path_known; i++)
		path_known = method_index(routes[i].method) >= 0 &&
		    route_match(routes[i].pattern, r->path, NULL, NULL) == 1;
	if (path_known) {
		reply_not_allowed(routes, n, r, rs);
	} else if (known) {
		resp_problem(rs, r, 404, "NOT_FOUND",
		    "There is no resource at this path.", NULL);
	} else {
		resp_problem(rs, r, 501, "NOT_IMPLEMENTED",
		    "The request method is not supported.", NULL);
	}
	if (r->route == NULL)
		r->route = "unmatched";
}
