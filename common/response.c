/*
 * The response side of an HTTP exchange: handlers set a status, a body
 * and a few headers in struct resp, and resp_serialize turns it into
 * the CGI reply a web server expects, adding the headers every WebSands
 * response carries (design.md 4).  Nothing a handler passes can add a
 * line to the header block: CR, LF and other controls are refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "http.h"

/* Bounds on one extra header, well under what web servers accept. */
#define RESP_NAME_MAX	64
#define RESP_VALUE_MAX	4096

/* Reason phrases (RFC 9110 15) of the statuses WebSands uses. */
static const struct {
	int		 status;
	const char	*text;
} resp_statuses[] = {
	{ 200,	"OK" },
	{ 201,	"Created" },
	{ 202,	"Accepted" },
	{ 204,	"No Content" },
	{ 301,	"Moved Permanently" },
	{ 302,	"Found" },
	{ 303,	"See Other" },
	{ 304,	"Not Modified" },
	{ 307,	"Temporary Redirect" },
	{ 308,	"Permanent Redirect" },
	{ 400,	"Bad Request" },
	{ 401,	"Unauthorized" },
	{ 403,	"Forbidden" },
	{ 404,	"Not Found" },
	{ 405,	"Method Not Allowed" },
	{ 406,	"Not Acceptable" },
	{ 408,	"Request Timeout" },
	{ 409,	"Conflict" },
	{ 410,	"Gone" },
	{ 411,	"Length Required" },
	{ 412,	"Precondition Failed" },
	{ 413,	"Content Too Large" },
	{ 414,	"URI Too Long" },
	{ 415,	"Unsupported Media Type" },
	{ 422,	"Unprocessable Content" },
	{ 428,	"Precondition Required" },
	{ 429,	"Too Many Requests" },
	{ 431,	"Request Header Fields Too Large" },
	{ 500,	"Internal Server Error" },
	{ 501,	"Not Implemented" },
	{ 502,	"Bad Gateway" },
	{ 503,	"Service Unavailable" },
	{ 504,	"Gateway Timeout" },
};

/* Headers every response carries unless the handler set its own. */
static const struct {
	const char	*name;
	const char	*value;
} resp_defaults[] = {
	{ "Cache-Control",		"no-store" },
	{ "X-Content-Type-Options",	"nosniff" },
	{ "Content-Security-Policy",	"default-src 'none'; "
	    "frame-ancestors 'none'; base-uri 'none'" },
	{ "Referrer-Policy",		"no-referrer" },
};

/*
 * Headers the serializer writes itself and a handler must not repeat:
 * two Content-Length lines are a response-splitting hazard.
 */
static const char *const resp_reserved[] = {
	"Status", "Content-Type", "Content-Length", "X-Request-Id",
};

const char *
http_status_text(int status)
{
	size_t	 i;

	for (i = 0; i < sizeof(resp_statuses) / sizeof(resp_statuses[0]);
	    i++)
		if (resp_statuses[i].status == status)
			return resp_statuses[i].text;
	if (status >= 200 && status < 300)
		return "Success";
	if (status >= 400 && status < 500)
		return "Client Error";
	if (status >= 500 && status < 600)
		return "Server Error";
	return "Unknown";
}

void
resp_init(struct resp *rs)
{
	memset(rs, 0, sizeof(*rs));
	buf_init(&rs->body, 0);
}

void
resp_cleanup(struct resp *rs)
{
	size_t	 i;

	if (rs == NULL)
		return;
	for (i = 0; i < rs->nheaders && i < HTTP_MAX_HEADERS; i++) {
		free(rs->headers[i].name);
		free(rs->headers[i].value);
	}
	free(rs->content_type);
	buf_cleanup(&rs->body);
	resp_init(rs);
}

/* A token per RFC 9110 5.6.2, bounded. */
static int
header_name_ok(const char *s)
{
	size_t	 n = strlen(s);

	if (n == 0 || n > RESP_NAME_MAX)
		return 0;
	return strspn(s, "!#$%&'*+-.^_`|~0123456789"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") == n;
}

/*
 * A field value without CR, LF or any other control byte but tab, so
 * it cannot end the header line it is written on.
 */
static int
header_value_ok(const char *s)
{
	size_t		 n = strlen(s), i;
	unsigned char	 c;

	if (n > RESP_VALUE_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return 0;
	}
	return 1;
}

int
resp_header(struct resp *rs, const char *name, const char *value)
{
	char	*n = NULL, *v = NULL;
	size_t	 i;
	int	 rc = WS_ERR_INVALID;

	if (name == NULL || value == NULL || !header_name_ok(name) ||
	    !header_value_ok(value))
		goto out;
	for (i = 0; i < sizeof(resp_reserved) / sizeof(resp_reserved[0]);
	    i++)
		if (strcasecmp(name, resp_reserved[i]) == 0)
			goto out;
	if (rs->nheaders >= HTTP_MAX_HEADERS) {
		rc = WS_ERR_TOOBIG;
		goto out;
	}
	if ((n = strdup(name)) == NULL || (v = strdup(value)) == NULL) {
		rc = WS_ERR_NOMEM;
		goto out;
	}
	rs->headers[rs->nheaders].name = n;
	rs->headers[rs->nheaders].value = v;
	rs->nheaders++;
	n = v = NULL;
	rc = 0;
out:
	free(n);
	free(v);
	return rc;
}

/*
 * Sets status, content type and body together.  On failure rs keeps
 * its previous content type and status, and its body is emptied, so a
 * half-written reply is never sent as if it were whole.
 */
static int
resp_set(struct resp *rs, int status, const char *content_type,
    const char *body, size_t len)
{
	char	*ct;
	int	 rc;

	if (status < 100 || status > 599)
		return WS_ERR_INVALID;
	if ((ct = strdup(content_type)) == NULL)
		return WS_ERR_NOMEM;
	buf_reset(&rs->body);
	if ((rc = buf_append(&rs->body, body, len)) != 0) {
		free(ct);
		return rc;
	}
	free(rs->content_type);
	rs->content_type = ct;
	rs->status = status;
	return 0;
}

int
resp_json(struct resp *rs, int status, const json_t *body)
{
	char	*s;
	int	 rc;

	if (body == NULL)
		return WS_ERR_INVALID;
	/*
	 * Six significant digits are plenty for the few reals we send
	 * (latencies) and keep binary noise such as 0.372188000000002
	 * out of replies.
	 */
	if ((s = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY |
	    JSON_REAL_PRECISION(6))) == NULL)
		return WS_ERR_NOMEM;
	rc = resp_set(rs, status, "application/json", s, strlen(s));
	free(s);
	return rc;
}

int
resp_problem(struct resp *rs, const struct req *r, int status,
    const char *code, const char *detail, const json_t *errors)
{
	json_t	*p = NULL, *e = NULL;
	char	*s = NULL;
	int	 rc = WS_ERR_NOMEM;

	if (status < 100 || status > 599)
		return WS_ERR_INVALID;
	/*
	 * "about:blank" says the problem means what its status means; the
	 * machine-readable distinction is in "code".
	 */
	p = json_pack("{s:s, s:s, s:i, s:s, s:s}",
	    "type", "about:blank",
	    "title", http_status_text(status),
	    "status", status,
	    "detail", detail != NULL ? detail : http_status_text(status),
	    "code", code != NULL ? code : "ERROR");
	if (p == NULL)
		goto out;
	if (r != NULL && json_object_set_new(p, "request_id",
	    json_string(r->request_id)) != 0)
		goto out;
	if (errors != NULL) {
		if ((e = json_deep_copy(errors)) == NULL ||
		    json_object_set_new(p, "errors", e) != 0)
			goto out;
	}
	if ((s = json_dumps(p, JSON_COMPACT)) == NULL)
		goto out;
	rc = resp_set(rs, status, "application/problem+json", s, strlen(s));
out:
	free(s);
	json_decref(p);
	return rc;
}

int
resp_text(struct resp *rs, int status, const char *content_type,
    const char *text, size_t len)
{
	if (content_type == NULL || *content_type == '\0' ||
	    !header_value_ok(content_type) || (text == NULL && len > 0))
		return WS_ERR_INVALID;
	return resp_set(rs, status, content_type, text != NULL ? text : "",
	    len);
}

static int
resp_has_header(const struct resp *rs, const char *name)
{
	size_t	 i;

	for (i = 0; i < rs->nheaders; i++)
		if (strcasecmp(rs->headers[i].name, name) == 0)
			return 1;
	return 0;
}

/* JSON types are UTF-8 by design.md 4; the label says so. */
static int
ct_needs_charset(const char *ct)
{
	return strcasecmp(ct, "application/json") == 0 ||
	    strcasecmp(ct, "application/problem+json") == 0;
}

static int
resp_serialize_set(const struct resp *rs, const struct req *r,
    struct buf *out)
{
	size_t	 i;
	int	 rc, nobody, head;

	/* 204 and 304 never carry a body (RFC 9110 6.4.1). */
	nobody = rs->status == 204 || rs->status == 304;
	head = r != NULL && r->method != NULL &&
	    strcmp(r->method, "HEAD") == 0;
	if ((rc = buf_printf(out, "Status: %d %s\r\n", rs->status,
	    http_status_text(rs->status))) != 0)
		return rc;
	if (!nobody) {
		if (rs->content_type != NULL && (rc = buf_printf(out,
		    "Content-Type: %s%s\r\n", rs->content_type,
		    ct_needs_charset(rs->content_type) ? "; charset=utf-8" :
		    "")) != 0)
			return rc;
		if ((rc = buf_printf(out, "Content-Length: %zu\r\n",
		    rs->body.len)) != 0)
			return rc;
	}
	for (i = 0; i < sizeof(resp_defaults) / sizeof(resp_defaults[0]);
	    i++) {
		if (resp_has_header(rs, resp_defaults[i].name))
			continue;
		if ((rc = buf_printf(out, "%s: %s\r\n", resp_defaults[i].name,
		    resp_defaults[i].value)) != 0)
			return rc;
	}
	if (r != NULL && r->request_id[0] != '\0' &&
	    (rc = buf_printf(out, "X-Request-Id: %s\r\n",
	    r->request_id)) != 0)
		return rc;
	for (i = 0; i < rs->nheaders; i++)
		if ((rc = buf_printf(out, "%s: %s\r\n", rs->headers[i].name,
		    rs->headers[i].value)) != 0)
			return rc;
	if ((rc = buf_puts(out, "\r\n")) != 0)
		return rc;
	if (nobody || head)
		return 0;
	return buf_append(out, rs->body.data, rs->body.len);
}

int
resp_serialize(const struct resp *rs, const struct req *r, struct buf *out)
{
	struct resp	 fallback;
	size_t		 mark = out->len;
	int		 rc;

	if (rs->status != 0) {
		rc = resp_serialize_set(rs, r, out);
		goto out;
	}
	/* The handler wrote nothing: that is a bug, and a 500. */
	resp_init(&fallback);
	rc = resp_problem(&fallback, r, 500, "INTERNAL_ERROR",
	    "The server could not answer this request.", NULL);
	if (rc == 0)
		rc = resp_serialize_set(&fallback, r, out);
	resp_cleanup(&fallback);
out:
	if (rc != 0) {
		/* Nothing half-written is left for the caller to send. */
		out->len = mark;
		if (out->data != NULL)
			out->data[mark] = '\0';
	}
	return rc;
}
