/*
 * The request side of an HTTP exchange: struct req filled from the
 * NAME=VALUE list a web server hands over by FastCGI or CGI, and the
 * lookups handlers make on it.  Everything here reads hostile input,
 * so every length is bounded before it is used and every lookup of a
 * value the client could send twice refuses to pick one.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "error.h"
#include "http.h"

/* The longest decoded path served. */
#define REQ_PATH_MAX		2048
/* The longest raw REQUEST_URI path looked at: every byte escaped. */
#define REQ_URI_MAX		(3 * REQ_PATH_MAX)
/* The longest header or query parameter name looked up. */
#define REQ_NAME_MAX		128
/* Hops of X-Forwarded-For walked before giving up on the chain. */
#define REQ_XFF_HOPS_MAX	64
#define REQ_METHOD_MAX		16

struct ipaddr {
	int		 family;	/* AF_INET or AF_INET6 */
	unsigned char	 a[16];		/* the first 4 bytes for AF_INET */
};

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decodes the n bytes at s (%XX escapes, and '+' as a space when plus
 * is set) into out, NUL-terminated.  A bad escape or a decoded NUL is
 * WS_ERR_INVALID; an out of fewer than (decoded length + 1) bytes is
 * WS_ERR_TOOBIG; out is then "".
 */
static int
pct_decode(const char *s, size_t n, int plus, char *out, size_t outlen,
    size_t *outn)
{
	size_t	 i, o = 0;
	int	 hi, lo, rc = WS_ERR_INVALID;
	char	 c;

	if (outlen == 0)
		return WS_ERR_TOOBIG;
	for (i = 0; i < n; i++) {
		c = s[i];
		if (c == '%') {
			if (n - i < 3 || (hi = hexval(s[i + 1])) < 0 ||
			    (lo = hexval(s[i + 2])) < 0)
				goto fail;
			c = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && plus)
			c = ' ';
		if (c == '\0')
			goto fail;
		if (o + 1 >= outlen) {
			rc = WS_ERR_TOOBIG;
			goto fail;
		}
		out[o++] = c;
	}
	out[o] = '\0';
	if (outn != NULL)
		*outn = o;
	return 0;
fail:
	/* No partial value is left for a caller that ignores rc. */
	out[0] = '\0';
	return rc;
}

/*
 * The value of name in params, or NULL; *count (if not NULL) gets how
 * many times the name occurs, since a web server passes a header the
 * client repeated as two variables of the same name.
 */
static const char *
env_find(char * const *params, const char *name, size_t *count)
{
	const char	*v = NULL;
	size_t		 n, c = 0;

	if (params == NULL)
		goto out;
	n = strlen(name);
	for (; *params != NULL; params++) {
		if (strncmp(*params, name, n) != 0 || (*params)[n] != '=')
			continue;
		if (v == NULL)
			v = *params + n + 1;
		c++;
		if (count == NULL)
			break;
	}
out:
	if (count != NULL)
		*count = c;
	return v;
}

const char *
req_env(const struct req *r, const char *name)
{
	return env_find(r->params, name, NULL);
}

/*
 * Writes into var the CGI variable that carries the header name:
 * HTTP_ and the name in upper case with '-' as '_'.
 */
static int
header_var(const char *name, char *var, size_t varlen)
{
	size_t	 i, o = 0, n = strlen(name);
	char	 c;

	if (n == 0 || n + 6 > varlen)
		return WS_ERR_INVALID;
	/* CGI passes these two without the HTTP_ prefix. */
	if (strcasecmp(name, "Content-Type") != 0 &&
	    strcasecmp(name, "Content-Length") != 0) {
		memcpy(var, "HTTP_", 5);
		o = 5;
	}
	for (i = 0; i < n; i++) {
		c = name[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (c == '-')
			c = '_';
		else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return WS_ERR_INVALID;
		var[o++] = c;
	}
	var[o] = '\0';
	return 0;
}

/*
 * A header sent more than once is treated as absent, so that two
 * Authorization or X-Forwarded-For headers cannot make different
 * layers read different values.
 */
const char *
req_header(const struct req *r, const char *name)
{
	char		 var[REQ_NAME_MAX + 8];
	const char	*v;
	size_t		 count;

	if (header_var(name, var, sizeof(var)) != 0)
		return NULL;
	v = env_find(r->params, var, &count);
	return count == 1 ? v : NULL;
}

const char *
req_param(const struct req *r, const char *name)
{
	size_t	 i;

	for (i = 0; i < r->nparams; i++)
		if (r->param_names[i] != NULL &&
		    strcmp(r->param_names[i], name) == 0)
			return r->param_values[i];
	return NULL;
}

/* ---- the path ---- */

/*
 * Checks a decoded path of n bytes: it starts with '/', fits the
 * limit, holds no NUL and no "." or ".." segment.
 */
static int
path_check(const char *p, size_t n)
{
	size_t	 i, start;

	if (n == 0 || p[0] != '/' || n > REQ_PATH_MAX ||
	    memchr(p, '\0', n) != NULL)
		return WS_ERR_INVALID;
	for (start = 1; start <= n; start = i + 1) {
		for (i = start; i < n && p[i] != '/'; i++)
			continue;
		if ((i - start == 1 && p[start] == '.') ||
		    (i - start == 2 && p[start] == '.' && p[start + 1] == '.'))
			return WS_ERR_INVALID;
	}
	return 0;
}

/*
 * Scans a raw URI path for escapes that are malformed or decode to a
 * NUL.  DOCUMENT_URI arrives decoded as a C string, so a "%00" sent by
 * the client would silently cut it short; the raw REQUEST_URI is
 * where that shows.
 */
static int
uri_scan(const char *s, size_t n)
{
	size_t	 i;

	if (n > REQ_URI_MAX)
		return WS_ERR_INVALID;
	for (i = 0; i < n; i++) {
		if (s[i] != '%')
			continue;
		if (n - i < 3 || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0 ||
		    (s[i + 1] == '0' && s[i + 2] == '0'))
			return WS_ERR_INVALID;
		i += 2;
	}
	return 0;
}

/*
 * Sets r->path.  DOCUMENT_URI (nginx) and SCRIPT_NAME + PATH_INFO
 * (the CGI variables) are already decoded by the web server, so they
 * are taken as they are: decoding them again would turn a client's
 * "%252e%252e" into "..".  Only the raw REQUEST_URI is decoded.
 */
static int
req_set_path(struct req *r)
{
	const char	*doc, *uri, *sn, *pi;
	size_t		 n = 0, sl, pl, un = 0;
	char		*p = NULL;
	int		 rc = WS_ERR_INVALID;

	doc = req_env(r, "DOCUMENT_URI");
	sn = req_env(r, "SCRIPT_NAME");
	pi = req_env(r, "PATH_INFO");
	if ((uri = req_env(r, "REQUEST_URI")) != NULL) {
		un = strcspn(uri, "?");
		if (uri_scan(uri, un) != 0)
			goto out;
		if (uri[un] == '?' && req_env(r, "QUERY_STRING") == NULL)
			r->query = uri + un + 1;
	}
	if (doc != NULL && *doc != '\0') {
		if ((n = strlen(doc)) > REQ_PATH_MAX)
			goto out;
		if ((p = strdup(doc)) == NULL) {
			rc = WS_ERR_NOMEM;
			goto out;
		}
	} else if ((sn != NULL && *sn != '\0') || (pi != NULL && *pi != '\0')) {
		sl = sn != NULL ? strlen(sn) : 0;
		pl = pi != NULL ? strlen(pi) : 0;
		if (sl > REQ_PATH_MAX || pl > REQ_PATH_MAX)
			goto out;
		n = sl + pl;
		if ((p = malloc(n + 1)) == NULL) {
			rc = WS_ERR_NOMEM;
			goto out;
		}
		memcpy(p, sn != NULL ? sn : "", sl);
		memcpy(p + sl, pi != NULL ? pi : "", pl);
		p[n] = '\0';
	} else if (uri != NULL) {
		if ((p = malloc(un + 1)) == NULL) {
			rc = WS_ERR_NOMEM;
			goto out;
		}
		if (pct_decode(uri, un, 0, p, un + 1, &n) != 0)
			goto out;
	} else
		goto out;
	if (path_check(p, n) != 0)
		goto out;
	r->path_buf = p;
	r->path = p;
	p = NULL;
	rc = 0;
out:
	free(p);
	return rc;
}

/* ---- addresses ---- */

/*
 * Parses an IPv4 or IPv6 address of n bytes.  An IPv4-mapped IPv6
 * address becomes the IPv4 address, so both spellings of a client
 * compare and print the same.
 */
static int
ip_parse(const char *s, size_t n, struct ipaddr *ip)
{
	char		 tmp[INET6_ADDRSTRLEN];
	struct in6_addr	 a6;

	if (n == 0 || n >= sizeof(tmp))
		return WS_ERR_INVALID;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, tmp, ip->a) == 1) {
		ip->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, tmp, &a6) != 1)
		return WS_ERR_INVALID;
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		ip->family = AF_INET;
		memcpy(ip->a, a6.s6_addr + 12, 4);
	} else {
		ip->family = AF_INET6;
		memcpy(ip->a, a6.s6_addr, 16);
	}
	return 0;
}

static void
ip_format(const struct ipaddr *ip, char *out, size_t outlen)
{
	if (inet_ntop(ip->family, ip->a, out, (socklen_t)outlen) == NULL)
		out[0] = '\0';
}

/* Trims spaces and tabs from both ends of [*s, *s + *n). */
static void
trim(const char **s, size_t *n)
{
	while (*n > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

/* Parses one TRUSTED_PROXIES entry: ADDRESS or ADDRESS/PREFIX. */
static int
net_parse(const char *s, size_t n, struct ipaddr *net, unsigned *prefix)
{
	const char	*slash;
	size_t		 an, i;
	unsigned	 max, v = 0;

	slash = memchr(s, '/', n);
	an = slash != NULL ? (size_t)(slash - s) : n;
	if (ip_parse(s, an, net) != 0)
		return WS_ERR_INVALID;
	max = net->family == AF_INET ? 32 : 128;
	if (slash == NULL) {
		*prefix = max;
		return 0;
	}
	if (n - an < 2 || n - an > 4)
		return WS_ERR_INVALID;
	for (i = an + 1; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return WS_ERR_INVALID;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	/* An IPv4-mapped network was written with an IPv6 prefix. */
	if (net->family == AF_INET && memchr(s, ':', an) != NULL) {
		if (v < 96)
			return WS_ERR_INVALID;
		v -= 96;
	}
	if (v > max)
		return WS_ERR_INVALID;
	*prefix = v;
	return 0;
}

static int
net_contains(const struct ipaddr *net, unsigned prefix,
    const struct ipaddr *ip)
{
	unsigned	 whole = prefix / 8, rest = prefix % 8;
	unsigned char	 mask;

	if (net->family != ip->family)
		return 0;
	if (memcmp(net->a, ip->a, whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - rest));
	return (net->a[whole] & mask) == (ip->a[whole] & mask);
}

/*
 * Calls fn on each comma-separated entry of list, trimmed (an empty
 * one too); stops at the first non-zero answer and returns it.
 */
static int
list_each(const char *list, int (*fn)(const char *, size_t, void *),
    void *arg)
{
	const char	*p = list, *e;
	size_t		 n;
	int		 rc;

	if (list == NULL)
		return 0;
	while (p != NULL) {
		e = strchr(p, ',');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		trim(&p, &n);
		if ((rc = fn(p, n, arg)) != 0)
			return rc;
		p = e != NULL ? e + 1 : NULL;
	}
	return 0;
}

static int
proxy_match(const char *s, size_t n, void *arg)
{
	struct ipaddr	 net;
	unsigned	 prefix;

	if (net_parse(s, n, &net, &prefix) != 0)
		return 0;
	return net_contains(&net, prefix, arg);
}

static int
ip_trusted(const struct ipaddr *ip, const char *proxies)
{
	struct ipaddr	 copy = *ip;

	return proxies != NULL && list_each(proxies, proxy_match, &copy);
}

static int
proxy_check(const char *s, size_t n, void *arg)
{
	struct ipaddr	 net;
	unsigned	 prefix;

	(void)arg;
	return net_parse(s, n, &net, &prefix) != 0 ? WS_ERR_INVALID : 0;
}

int
req_check_proxies(const char *list)
{
	const char	*p = list;
	size_t		 n;

	if (list == NULL)
		return 0;
	n = strlen(p);
	trim(&p, &n);
	if (n == 0)
		return 0;
	return list_each(list, proxy_check, NULL);
}

/*
 * Walks X-Forwarded-For from the right: each proxy appends the address
 * it saw, so the right-most entry that is not a trusted proxy is the
 * client.  Entries further left were written by the client and are
 * never believed.  A malformed entry stops the walk at the last
 * address that was vouched for.
 */
static void
xff_client(const char *xff, const char *proxies, struct ipaddr *client)
{
	struct ipaddr	 hop;
	const char	*tok;
	size_t		 end = strlen(xff), start, n;
	int		 hops;

	for (hops = 0; hops < REQ_XFF_HOPS_MAX; hops++) {
		for (start = end; start > 0 && xff[start - 1] != ','; start--)
			continue;
		tok = xff + start;
		n = end - start;
		trim(&tok, &n);
		if (ip_parse(tok, n, &hop) != 0)
			return;
		*client = hop;
		if (!ip_trusted(&hop, proxies) || start == 0)
			return;
		end = start - 1;
	}
}

/* Sets r->remote_addr; *peer_trusted tells if REMOTE_ADDR is a proxy. */
static void
req_set_remote(struct req *r, const char *proxies, int *peer_trusted)
{
	struct ipaddr	 peer, client;
	const char	*ra, *xff;
	size_t		 i, n;

	*peer_trusted = 0;
	r->remote_addr = r->addr_buf;
	if ((ra = req_env(r, "REMOTE_ADDR")) == NULL)
		return;
	n = strlen(ra);
	if (ip_parse(ra, n, &peer) != 0) {
		/*
		 * Not an IP address ("unix:" from a web server on a unix
		 * socket): kept for the logs if it is short and printable.
		 */
		if (n >= sizeof(r->addr_buf))
			return;
		for (i = 0; i < n; i++)
			if (ra[i] <= ' ' || ra[i] >= 0x7f)
				return;
		memcpy(r->addr_buf, ra, n + 1);
		return;
	}
	client = peer;
	if (ip_trusted(&peer, proxies)) {
		*peer_trusted = 1;
		if ((xff = req_header(r, "X-Forwarded-For")) != NULL)
			xff_client(xff, proxies, &client);
	}
	ip_format(&client, r->addr_buf, sizeof(r->addr_buf));
}

/* ---- request id ---- */

static int
rid_ok(const char *s)
{
	size_t	 i, n;
	char	 c;

	if (s == NULL || (n = strlen(s)) == 0 || n > HTTP_REQUEST_ID_LEN)
		return 0;
	for (i = 0; i < n; i++) {
		c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

/*
 * REQUEST_ID, when the web server sets it (nginx: fastcgi_param
 * REQUEST_ID $request_id), cannot come from a client, whose headers
 * all arrive as HTTP_*; X-Request-Id is believed only from a trusted
 * proxy.  Otherwise the id is 128 random bits.
 */
static void
req_set_id(struct req *r, int peer_trusted)
{
	unsigned char	 bin[HTTP_REQUEST_ID_LEN / 2];
	const char	*id;

	id = req_env(r, "REQUEST_ID");
	if (!rid_ok(id) && peer_trusted)
		id = req_header(r, "X-Request-Id");
	if (rid_ok(id)) {
		snprintf(r->request_id, sizeof(r->request_id), "%s", id);
		return;
	}
	randombytes_buf(bin, sizeof(bin));
	sodium_bin2hex(r->request_id, sizeof(r->request_id), bin,
	    sizeof(bin));
}

/* ---- init and cleanup ---- */

static int
method_ok(const char *m)
{
	size_t	 i, n;

	if (m == NULL || (n = strlen(m)) == 0 || n > REQ_METHOD_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((m[i] >= 'A' && m[i] <= 'Z') || m[i] == '-' ||
		    m[i] == '_'))
			return 0;
	return 1;
}

int
req_init(struct req *r, char * const *params, const char *trusted_proxies,
    size_t body_limit)
{
	const char	*v;
	int		 peer_trusted;

	memset(r, 0, sizeof(*r));
	r->params = params;
	buf_init(&r->body, body_limit);
	r->method = "";
	r->query = "";
	r->content_type = "";
	/* The id comes first, so even a refused request can be traced. */
	req_set_remote(r, trusted_proxies, &peer_trusted);
	req_set_id(r, peer_trusted);
	if ((v = req_env(r, "QUERY_STRING")) != NULL)
		r->query = v;
	if ((v = req_env(r, "CONTENT_TYPE")) != NULL)
		r->content_type = v;
	v = req_env(r, "REQUEST_METHOD");
	if (!method_ok(v))
		return WS_ERR_INVALID;
	r->method = v;
	return req_set_path(r);
}

void
req_cleanup(struct req *r)
{
	size_t	 i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nparams && i < HTTP_MAX_PARAMS; i++) {
		free(r->param_values[i]);
		r->param_values[i] = NULL;
		r->param_names[i] = NULL;
	}
	r->nparams = 0;
	free(r->path_buf);
	r->path_buf = NULL;
	r->path = NULL;
	buf_cleanup(&r->body);
}

/* ---- query and cookies ---- */

int
req_query(const struct req *r, const char *name, char *out, size_t outlen)
{
	char		 key[REQ_NAME_MAX + 1];
	const char	*p, *amp, *eq, *val = NULL;
	size_t		 n, kn, vn = 0, found = 0;

	if (outlen > 0)
		out[0] = '\0';
	if (strlen(name) > REQ_NAME_MAX)
		return WS_ERR_NOTFOUND;
	for (p = r->query; p != NULL && *p != '\0'; p = amp) {
		amp = strchr(p, '&');
		n = amp != NULL ? (size_t)(amp - p) : strlen(p);
		if (amp != NULL)
			amp++;
		eq = memchr(p, '=', n);
		kn = eq != NULL ? (size_t)(eq - p) : n;
		/* A key that does not decode cannot be the one asked for. */
		if (pct_decode(p, kn, 1, key, sizeof(key), NULL) != 0 ||
		    strcmp(key, name) != 0)
			continue;
		if (found++ == 0) {
			val = eq != NULL ? eq + 1 : p + n;
			vn = eq != NULL ? n - kn - 1 : 0;
		}
	}
	if (found == 0)
		return WS_ERR_NOTFOUND;
	/* ?id=1&id=2 is parameter pollution, not a choice to make here. */
	if (found > 1)
		return WS_ERR_INVALID;
	return pct_decode(val, vn, 1, out, outlen, NULL);
}

int
req_cookie(const struct req *r, const char *name, char *out, size_t outlen)
{
	const char	*p, *semi, *eq, *s, *val = NULL;
	size_t		 n, kn, nn = strlen(name), vn = 0, found = 0;

	if (outlen > 0)
		out[0] = '\0';
	if ((p = req_header(r, "Cookie")) == NULL || nn == 0)
		return WS_ERR_NOTFOUND;
	for (; p != NULL && *p != '\0'; p = semi) {
		semi = strchr(p, ';');
		n = semi != NULL ? (size_t)(semi - p) : strlen(p);
		if (semi != NULL)
			semi++;
		s = p;
		trim(&s, &n);
		if ((eq = memchr(s, '=', n)) == NULL)
			continue;
		kn = (size_t)(eq - s);
		while (kn > 0 && (s[kn - 1] == ' ' || s[kn - 1] == '\t'))
			kn--;
		if (kn != nn || memcmp(s, name, nn) != 0)
			continue;
		if (found++ == 0) {
			val = eq + 1;
			vn = n - (size_t)(val - s);
			trim(&val, &vn);
		}
	}
	if (found == 0)
		return WS_ERR_NOTFOUND;
	/* A second cookie of the same name may have been planted. */
	if (found > 1)
		return WS_ERR_INVALID;
	if (vn + 1 > outlen)
		return WS_ERR_TOOBIG;
	memcpy(out, val, vn);
	out[vn] = '\0';
	return 0;
}

/* ---- JSON bodies ---- */

static const char *
skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* application/json, optionally with charset=utf-8, in any case. */
static int
json_content_type(const char *ct)
{
	const char	*p = skip_ows(ct);
	int		 quoted;

	if (strncasecmp(p, "application/json", 16) != 0)
		return 0;
	p = skip_ows(p + 16);
	if (*p == '\0')
		return 1;
	if (*p != ';')
		return 0;
	p = skip_ows(p + 1);
	if (strncasecmp(p, "charset", 7) != 0)
		return 0;
	p = skip_ows(p + 7);
	if (*p != '=')
		return 0;
	p = skip_ows(p + 1);
	if ((quoted = *p == '"'))
		p++;
	if (strncasecmp(p, "utf-8", 5) != 0)
		return 0;
	p += 5;
	if (quoted && *p++ != '"')
		return 0;
	return *skip_ows(p) == '\0';
}

int
req_json_or_reply(struct req *r, struct resp *rs, json_t **out)
{
	json_error_t	 e;
	json_t		*j;
	char		 detail[128];
	int		 n;

	*out = NULL;
	if (r->body_too_big) {
		resp_problem(rs, r, 413, "PAYLOAD_TOO_LARGE",
		    "The request body is larger than this service accepts.",
		    NULL);
		return WS_ERR_TOOBIG;
	}
	if (!json_content_type(r->content_type)) {
		resp_problem(rs, r, 415, "UNSUPPORTED_MEDIA_TYPE",
		    "The request body must be application/json.", NULL);
		return WS_ERR_INVALID;
	}
	if (r->body.len == 0) {
		resp_problem(rs, r, 400, "INVALID_JSON",
		    "The request body is empty.", NULL);
		return WS_ERR_INVALID;
	}
	/*
	 * Only jansson's position goes back to the client, never its
	 * message, which can quote the body.
	 */
	j = json_loadb(r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &e);
	if (j == NULL) {
		n = snprintf(detail, sizeof(detail), "The body %s (line %d, "
		    "column %d).", json_error_code(&e) ==
		    json_error_duplicate_key ? "repeats a key" :
		    "is not valid JSON", e.line, e.column);
		resp_problem(rs, r, 400, "INVALID_JSON", n > 0 &&
		    (size_t)n < sizeof(detail) ? detail :
		    "The body is not valid JSON.", NULL);
		return WS_ERR_INVALID;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		resp_problem(rs, r, 400, "INVALID_JSON",
		    "The body must be a JSON object.", NULL);
		return WS_ERR_INVALID;
	}
	*out = j;
	return 0;
}
