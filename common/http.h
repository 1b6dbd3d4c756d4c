/*
 * One HTTP exchange as a responder sees it: the request the web server
 * passed over FastCGI (or CGI) and the response being built for it.
 * The transport (server.c) fills struct req and sends struct resp; the
 * handlers in app/ only read the one and write the other.
 */
#ifndef WEBSANDS_HTTP_H
#define WEBSANDS_HTTP_H

#include <stddef.h>
#include <jansson.h>

#include "buf.h"

#define HTTP_MAX_PARAMS		16	/* path parameters per route */
#define HTTP_MAX_HEADERS	32	/* extra response headers */
#define HTTP_REQUEST_ID_LEN	32
#define HTTP_ADDR_LEN		46	/* INET6_ADDRSTRLEN */

struct req {
	const char	*method;	/* REQUEST_METHOD */
	const char	*path;		/* decoded path, without the query */
	const char	*query;		/* raw query string, "" if none */
	const char	*content_type;	/* "" if none */
	const char	*remote_addr;	/* the client, after TRUSTED_PROXIES */
	char		 request_id[HTTP_REQUEST_ID_LEN + 1];
	char	* const	*params;	/* the CGI/FastCGI NAME=VALUE list */
	struct buf	 body;		/* read up to the body limit */
	int		 body_too_big;	/* the body passed the limit */
	/* Path parameters, filled by the router. */
	const char	*param_names[HTTP_MAX_PARAMS];
	char		*param_values[HTTP_MAX_PARAMS];
	size_t		 nparams;
	const char	*route;		/* the matched pattern, for metrics */
	void		*ctx;		/* the program's own per-request data */
	/* Storage behind path and remote_addr; request.c's own. */
	char		*path_buf;
	char		 addr_buf[HTTP_ADDR_LEN];
};

struct resp_header {
	char	*name;
	char	*value;
};

struct resp {
	int			 status;	/* 0 until a reply is set */
	char			*content_type;
	struct resp_header	 headers[HTTP_MAX_HEADERS];
	size_t			 nheaders;
	struct buf		 body;
};

/*
 * Fills r from a NAME=VALUE environment (as FastCGI and CGI hand it
 * over).  The strings stay owned by params, which must outlive r; the
 * body is read separately by the transport.  trusted_proxies is the
 * TRUSTED_PROXIES list (may be NULL).  Returns 0 or WS_ERR_INVALID for
 * a request that cannot be served at all (no method, a NUL or a bad
 * escape in the path); r is then still safe to clean up.  Also
 * WS_ERR_INVALID for a dot segment or a path past 2048 bytes, and
 * WS_ERR_NOMEM.  request_id and remote_addr are set even on failure.
 */
int	 req_init(struct req *r, char * const *params,
	    const char *trusted_proxies, size_t body_limit);
void	 req_cleanup(struct req *r);
/*
 * 0 when list is a valid TRUSTED_PROXIES value (comma-separated IPv4
 * or IPv6 addresses, each with an optional /prefix), else
 * WS_ERR_INVALID; for start-up validation.
 */
int	 req_check_proxies(const char *list);
/* A CGI variable by name, or NULL. */
const char *req_env(const struct req *r, const char *name);
/*
 * A request header by its HTTP name ("User-Agent"), or NULL.  NULL
 * too for a header the client sent more than once.
 */
const char *req_header(const struct req *r, const char *name);
/* A path parameter filled by the router, or NULL. */
const char *req_param(const struct req *r, const char *name);
/*
 * The decoded value of a query parameter, copied into out (outlen);
 * returns 0, WS_ERR_NOTFOUND or WS_ERR_TOOBIG.  Also WS_ERR_INVALID
 * when the name occurs more than once or the value has a bad escape
 * or a NUL: answer 400.
 */
int	 req_query(const struct req *r, const char *name, char *out,
	    size_t outlen);
/* A cookie's value (raw) copied into out, as req_query. */
int	 req_cookie(const struct req *r, const char *name, char *out,
	    size_t outlen);
/*
 * Parses the body as a JSON object, strictly: 413 past the limit, 415
 * for a content type other than application/json, 400 for malformed
 * JSON, invalid UTF-8, duplicate keys or a top level that is not an
 * object.  On failure it has already written the problem reply into
 * rs and returns non-zero.  On success *out is a new reference the
 * caller must json_decref.
 */
int	 req_json_or_reply(struct req *r, struct resp *rs, json_t **out);

void	 resp_init(struct resp *rs);
void	 resp_cleanup(struct resp *rs);
/* Adds a header (copied); returns 0 or an error.  CR/LF are refused. */
int	 resp_header(struct resp *rs, const char *name, const char *value);
/* Sets status and a JSON body (steals no reference; dumps compactly). */
int	 resp_json(struct resp *rs, int status, const json_t *body);
/*
 * Sets an RFC 9457 problem reply: type, title (from the status),
 * status, detail, code and request_id; errors (may be NULL) is an
 * object of field -> [messages] and is not stolen.
 */
int	 resp_problem(struct resp *rs, const struct req *r, int status,
	    const char *code, const char *detail, const json_t *errors);
/* Sets status with a text body (for /metrics). */
int	 resp_text(struct resp *rs, int status, const char *content_type,
	    const char *text, size_t len);
/*
 * Serialises the response as a CGI response (Status line, headers
 * including the security headers of design.md 4, blank line, body)
 * into out.
 */
int	 resp_serialize(const struct resp *rs, const struct req *r,
	    struct buf *out);
/* The reason phrase of a status code ("Not Found"). */
const char *http_status_text(int status);

#endif
