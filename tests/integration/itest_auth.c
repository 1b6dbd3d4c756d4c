/*
 * Helpers for the integration tests of websands-auth (itest_auth.h).
 * The mail reader understands what the SMTP sink stores: one RFC 5322
 * message a file in a Maildir, usually multipart/alternative, whose
 * parts are quoted-printable or base64; it decodes the text/plain part
 * properly (soft line breaks and =XX escapes) rather than searching
 * the raw message, where a token may be split across lines.
 */
#define _GNU_SOURCE

#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "b64url.h"
#include "itest_auth.h"

/* The largest mail file read; the mailer caps messages at 1 MiB. */
#define MAIL_FILE_MAX	(2u * 1024 * 1024)
#define MAIL_POLL_MS	50
#define THREADS_MAX	64

static pthread_mutex_t	 unique_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long	 unique_count;

void
itest_auth_sleep_ms(long ms)
{
	struct timespec	 ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Fills p with n random bytes from the kernel. */
static void
random_bytes(void *p, size_t n)
{
	size_t	 got = 0;
	ssize_t	 r;

	while (got < n) {
		r = getrandom((char *)p + got, n - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			fail_msg("getrandom: %s", strerror(errno));
		got += (size_t)r;
	}
}

/* Writes n random bytes as 2n lower-case hex digits and a NUL. */
static void
random_hex(char *out, size_t n)
{
	unsigned char	 raw[32];
	size_t		 i;

	assert_true(n <= sizeof(raw));
	random_bytes(raw, n);
	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

void
itest_auth_unique(char *out, size_t len, const char *prefix)
{
	char		 hex[13];
	unsigned long	 n;
	int		 w;

	pthread_mutex_lock(&unique_lock);
	n = ++unique_count;
	pthread_mutex_unlock(&unique_lock);
	random_hex(hex, 6);
	/*
	 * The random part alone makes a clash across runs unlikely; the
	 * pid and the counter rule it out within one run.
	 */
	w = snprintf(out, len, "%.20s_%s%lx%lx", prefix, hex,
	    (unsigned long)getpid() % 0x10000, n);
	assert_true(w > 0 && (size_t)w < len);
	if (strlen(out) > ITEST_AUTH_NAME_MAX - 1)
		out[ITEST_AUTH_NAME_MAX - 1] = '\0';
}

void
itest_auth_password(char *out, size_t len)
{
	char	 hex[21];
	int	 w;

	random_hex(hex, 10);
	/* Upper, lower, digit and special whatever the hex turns out. */
	w = snprintf(out, len, "Tk-%s-9!", hex);
	assert_true(w > 0 && (size_t)w < len);
	itest_auth_secret(out);
}

void
itest_auth_secret(const char *s)
{
	struct buf	 line;
	char		 path[1024];
	int		 fd, w;

	if (s == NULL || *s == '\0')
		return;
	w = snprintf(path, sizeof(path), "%s/secrets.txt",
	    itest_env("WS_RUN_DIR"));
	assert_true(w > 0 && (size_t)w < sizeof(path));
	buf_init(&line, 0);
	assert_int_equal(buf_printf(&line, "%s\n", s), 0);
	/*
	 * One write of one line with O_APPEND, so lines of tests that
	 * run at once interleave whole.
	 */
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd == -1)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	if (write(fd, line.data, line.len) != (ssize_t)line.len)
		fail_msg("cannot write %s: %s", path, strerror(errno));
	close(fd);
	buf_cleanup(&line);
}

int
itest_auth_post(const char *path, const char *body, size_t len,
    const char *bearer, struct itest_resp *out)
{
	struct buf	 auth;
	const char	*headers[3] = { "Content-Type: application/json",
			    NULL, NULL };
	int		 rc;

	buf_init(&auth, 0);
	if (bearer != NULL) {
		if (buf_printf(&auth, "Authorization: Bearer %s",
		    bearer) != 0) {
			buf_cleanup(&auth);
			return -1;
		}
		headers[1] = buf_str(&auth);
	}
	rc = itest_http("POST", path, headers, body, len, out);
	buf_cleanup(&auth);
	return rc;
}

int
itest_auth_post_json(const char *path, const json_t *body,
    const char *bearer, struct itest_resp *out)
{
	char	*text;
	int	 rc;

	text = json_dumps(body, JSON_COMPACT);
	if (text == NULL)
		fail_msg("cannot serialize a request body");
	rc = itest_auth_post(path, text, strlen(text), bearer, out);
	free(text);
	return rc;
}

const char *
itest_auth_code(const struct itest_resp *r)
{
	const char	*s;

	s = json_string_value(json_object_get(r->json, "code"));
	return s != NULL ? s : "";
}

void
itest_auth_expect(const struct itest_resp *r, long want, const char *what)
{
	if (r->status != want)
		fail_msg("%s: status %ld, wanted %ld; body: %.2000s", what,
		    r->status, want, buf_str(&r->body));
}

void
itest_auth_register(struct itest_user *u, const char *prefix)
{
	struct itest_resp	 r;
	json_t			*body;
	const char		*id;
	int			 w;

	memset(u, 0, sizeof(*u));
	itest_auth_unique(u->username, sizeof(u->username), prefix);
	w = snprintf(u->email, sizeof(u->email), "%s@example.com",
	    u->username);
	assert_true(w > 0 && (size_t)w < sizeof(u->email));
	itest_auth_password(u->password, sizeof(u->password));
	body = json_pack("{s:s,s:s,s:s}", "username", u->username,
	    "email", u->email, "password", u->password);
	assert_non_null(body);
	assert_int_equal(itest_auth_post_json("/api/v1/auth/register", body,
	    NULL, &r), 0);
	json_decref(body);
	itest_auth_expect(&r, 201, "register");
	id = json_string_value(json_object_get(r.json, "id"));
	assert_non_null(id);
	assert_true(strlen(id) < sizeof(u->id));
	memcpy(u->id, id, strlen(id) + 1);
	itest_resp_cleanup(&r);
}

/* --- The SMTP sink's Maildir ----------------------------------------- */

/* Reads a whole file, dropping every CR so lines end in LF alone. */
static int
read_mail_file(const char *path, struct buf *out)
{
	char	 chunk[8192];
	ssize_t	 n, i;
	int	 fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		for (i = 0; i < n; i++)
			if (chunk[i] != '\r' && buf_putc(out, chunk[i]) != 0)
				goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

/*
 * The unfolded value of header name in the header block head (which
 * ends at its first empty line), or -1 when absent.
 */
static int
mail_header(const char *head, const char *name, struct buf *out)
{
	const char	*p = head, *eol;
	size_t		 nlen = strlen(name);

	buf_reset(out);
	while (*p != '\0' && *p != '\n') {
		eol = strchr(p, '\n');
		if (eol == NULL)
			eol = p + strlen(p);
		if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
			p += nlen + 1;
			for (;;) {
				while (p < eol && (*p == ' ' || *p == '\t'))
					p++;
				if (buf_append(out, p, (size_t)(eol - p)) != 0)
					return -1;
				if (*eol != '\n' || (eol[1] != ' ' &&
				    eol[1] != '\t'))
					break;
				/* A folded line continues the value. */
				if (buf_putc(out, ' ') != 0)
					return -1;
				p = eol + 1;
				if ((eol = strchr(p, '\n')) == NULL)
					eol = p + strlen(p);
			}
			return 0;
		}
		p = *eol == '\n' ? eol + 1 : eol;
	}
	return -1;
}

/* Where the body of an entity (headers, empty line, body) starts. */
static const char *
mail_body(const char *entity)
{
	const char	*p;

	if (*entity == '\n')
		return entity + 1;
	p = strstr(entity, "\n\n");
	return p != NULL ? p + 2 : NULL;
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Quoted-printable (RFC 2045 6.7), soft line breaks included. */
static int
decode_qp(const char *p, size_t n, struct buf *out)
{
	size_t	 i = 0, j;
	int	 hi, lo;

	while (i < n) {
		if (p[i] != '=') {
			if (buf_putc(out, p[i++]) != 0)
				return -1;
			continue;
		}
		/* "=" then optional blanks then a line end: joins lines. */
		j = i + 1;
		while (j < n && (p[j] == ' ' || p[j] == '\t'))
			j++;
		if (j == n || p[j] == '\n') {
			i = j < n ? j + 1 : j;
			continue;
		}
		if (i + 2 < n && (hi = hex_digit(p[i + 1])) >= 0 &&
		    (lo = hex_digit(p[i + 2])) >= 0) {
			if (buf_putc(out, (char)(hi * 16 + lo)) != 0)
				return -1;
			i += 3;
			continue;
		}
		/* A stray "=" is kept as it is, as RFC 2045 suggests. */
		if (buf_putc(out, p[i++]) != 0)
			return -1;
	}
	return 0;
}

static int
b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Base64 (RFC 2045 6.8): line breaks and other non-alphabet skipped. */
static int
decode_b64(const char *p, size_t n, struct buf *out)
{
	unsigned long	 acc = 0;
	size_t		 i;
	int		 bits = 0, v;

	for (i = 0; i < n; i++) {
		if (p[i] == '=')
			break;
		if ((v = b64_value(p[i])) < 0)
			continue;
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (buf_putc(out, (char)((acc >> bits) & 0xff)) != 0)
				return -1;
		}
	}
	return 0;
}

/* Decodes one entity's body by its Content-Transfer-Encoding. */
static int
decode_entity(const char *entity, size_t n, struct buf *out)
{
	struct buf	 cte;
	const char	*body;
	size_t		 blen;
	int		 rc;

	buf_init(&cte, 0);
	body = mail_body(entity);
	if (body == NULL || body > entity + n) {
		buf_cleanup(&cte);
		return -1;
	}
	blen = n - (size_t)(body - entity);
	if (mail_header(entity, "Content-Transfer-Encoding", &cte) == 0 &&
	    strncasecmp(buf_str(&cte), "quoted-printable", 16) == 0)
		rc = decode_qp(body, blen, out);
	else if (strncasecmp(buf_str(&cte), "base64", 6) == 0)
		rc = decode_b64(body, blen, out);
	else
		rc = buf_append(out, body, blen) == 0 ? 0 : -1;
	buf_cleanup(&cte);
	return rc;
}

/* The boundary parameter of a Content-Type value into out. */
static int
mail_boundary(const char *ctype, char *out, size_t len)
{
	const char	*p;
	size_t		 n;

	if ((p = strcasestr(ctype, "boundary=")) == NULL)
		return -1;
	p += 9;
	if (*p == '"') {
		p++;
		n = strcspn(p, "\"");
	} else
		n = strcspn(p, " ;\t");
	if (n == 0 || n >= len)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

/*
 * Decodes the text/plain part of the message msg (CRs removed) into
 * text.  Returns 0 or -1 when the message has none.
 */
static int
mail_text(const char *msg, struct buf *text)
{
	struct buf	 ct, pct;
	char		 boundary[256], delim[300];
	const char	*body, *p, *next;
	int		 rc = -1;

	buf_init(&ct, 0);
	buf_init(&pct, 0);
	if (mail_header(msg, "Content-Type", &ct) != 0 ||
	    strncasecmp(buf_str(&ct), "multipart/", 10) != 0) {
		/* A single-part message is its own text. */
		if (ct.len == 0 || strncasecmp(buf_str(&ct), "text/plain",
		    10) == 0)
			rc = decode_entity(msg, strlen(msg), text);
		goto out;
	}
	if (mail_boundary(buf_str(&ct), boundary, sizeof(boundary)) != 0 ||
	    (body = mail_body(msg)) == NULL)
		goto out;
	snprintf(delim, sizeof(delim), "--%s", boundary);
	for (p = strstr(body, delim); p != NULL; p = next) {
		p += strlen(delim);
		if (strncmp(p, "--", 2) == 0)
			break;
		if ((p = strchr(p, '\n')) == NULL)
			break;
		p++;
		next = strstr(p, delim);
		if (next == NULL)
			break;
		if (mail_header(p, "Content-Type", &pct) == 0 &&
		    strncasecmp(buf_str(&pct), "text/plain", 10) == 0) {
			/* The line end before the delimiter is not text. */
			rc = decode_entity(p, (size_t)(next - p) -
			    (next > p && next[-1] == '\n'), text);
			goto out;
		}
	}
out:
	buf_cleanup(&ct);
	buf_cleanup(&pct);
	return rc;
}

/* The bare address of a To value: inside <> when there are any. */
static void
mail_addr(const char *v, char *out, size_t len)
{
	const char	*lt, *gt;
	size_t		 n;

	if ((lt = strchr(v, '<')) != NULL && (gt = strchr(lt, '>')) != NULL) {
		v = lt + 1;
		n = (size_t)(gt - v);
	} else
		n = strcspn(v, " \t,");
	if (n >= len)
		n = len - 1;
	memcpy(out, v, n);
	out[n] = '\0';
}

/* One candidate mail: where it is and how new. */
struct mail_pick {
	char		 path[1024];
	struct timespec	 mtime;
	char		 name[256];
};

static int
newer(const struct timespec *t, const char *name,
    const struct mail_pick *than)
{
	if (than->path[0] == '\0')
		return 1;
	if (t->tv_sec != than->mtime.tv_sec)
		return t->tv_sec > than->mtime.tv_sec;
	if (t->tv_nsec != than->mtime.tv_nsec)
		return t->tv_nsec > than->mtime.tv_nsec;
	/* Maildir names start with the delivery time: later sorts later. */
	return strcmp(name, than->name) > 0;
}

/*
 * Looks at every mail in new/ and cur/ to the address to and returns
 * how many have a text part containing needle (NULL: any).  With pick
 * set, remembers the newest of those.
 */
static int
mail_scan(const char *to, const char *needle, struct mail_pick *pick)
{
	static const char	*subdirs[] = { "new", "cur" };
	struct buf		 msg, val, text;
	struct dirent		*de;
	struct stat		 st;
	char			 dir[1024], path[1024], addr[256];
	DIR			*d;
	size_t			 i;
	int			 count = 0, w;

	buf_init(&msg, MAIL_FILE_MAX);
	buf_init(&val, 0);
	buf_init(&text, 0);
	for (i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		w = snprintf(dir, sizeof(dir), "%s/%s",
		    itest_env("WS_MAIL_DIR"), subdirs[i]);
		assert_true(w > 0 && (size_t)w < sizeof(dir));
		if ((d = opendir(dir)) == NULL)
			continue;
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			w = snprintf(path, sizeof(path), "%s/%s", dir,
			    de->d_name);
			if (w < 0 || (size_t)w >= sizeof(path) ||
			    stat(path, &st) != 0 || !S_ISREG(st.st_mode))
				continue;
			buf_reset(&msg);
			if (read_mail_file(path, &msg) != 0 ||
			    mail_header(buf_str(&msg), "To", &val) != 0)
				continue;
			mail_addr(buf_str(&val), addr, sizeof(addr));
			if (strcasecmp(addr, to) != 0)
				continue;
			buf_reset(&text);
			if (needle != NULL && (mail_text(buf_str(&msg),
			    &text) != 0 || strstr(buf_str(&text),
			    needle) == NULL))
				continue;
			count++;
			if (pick == NULL || !newer(&st.st_mtim, de->d_name,
			    pick))
				continue;
			snprintf(pick->path, sizeof(pick->path), "%s", path);
			snprintf(pick->name, sizeof(pick->name), "%s",
			    de->d_name);
			pick->mtime = st.st_mtim;
		}
		closedir(d);
	}
	buf_cleanup(&msg);
	buf_cleanup(&val);
	buf_cleanup(&text);
	return count;
}

int
itest_auth_mail(const char *to, const char *needle, long timeout_ms,
    struct buf *text, char *subject, size_t sublen)
{
	struct mail_pick	 pick;
	struct buf		 msg, val;
	long long		 deadline = itest_now_ms() + timeout_ms;
	int			 rc = -1;

	buf_init(&msg, MAIL_FILE_MAX);
	buf_init(&val, 0);
	for (;;) {
		memset(&pick, 0, sizeof(pick));
		mail_scan(to, needle, &pick);
		if (pick.path[0] != '\0')
			break;
		if (itest_now_ms() >= deadline)
			goto out;
		itest_auth_sleep_ms(MAIL_POLL_MS);
	}
	if (read_mail_file(pick.path, &msg) != 0)
		goto out;
	if (text != NULL && mail_text(buf_str(&msg), text) != 0)
		goto out;
	if (subject != NULL && sublen > 0) {
		subject[0] = '\0';
		if (mail_header(buf_str(&msg), "Subject", &val) == 0)
			snprintf(subject, sublen, "%s", buf_str(&val));
	}
	rc = 0;
out:
	buf_cleanup(&msg);
	buf_cleanup(&val);
	return rc;
}

int
itest_auth_mail_count(const char *to, const char *needle)
{
	return mail_scan(to, needle, NULL);
}

int
itest_auth_mail_token(const char *text, char *out, size_t len)
{
	const char	*p;
	size_t		 n;

	if ((p = strstr(text, "token=")) == NULL)
		return -1;
	p += 6;
	n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_");
	if (n == 0 || n >= len)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

void
itest_auth_verify(const struct itest_user *u)
{
	struct itest_resp	 r;
	struct buf		 text;
	char			 token[256];
	json_t			*body;

	buf_init(&text, 0);
	if (itest_auth_mail(u->email, "/verify-email#token=",
	    ITEST_AUTH_MAIL_WAIT_MS, &text, NULL, 0) != 0)
		fail_msg("no verification mail to %s", u->email);
	if (itest_auth_mail_token(buf_str(&text), token, sizeof(token)) != 0)
		fail_msg("no token in the mail to %s:\n%s", u->email,
		    buf_str(&text));
	itest_auth_secret(token);
	body = json_pack("{s:s}", "token", token);
	assert_non_null(body);
	assert_int_equal(itest_auth_post_json("/api/v1/auth/verify-email",
	    body, NULL, &r), 0);
	json_decref(body);
	itest_auth_expect(&r, 200, "verify-email");
	assert_true(json_is_true(json_object_get(r.json, "email_verified")));
	itest_resp_cleanup(&r);
	buf_cleanup(&text);
}

/* Copies the string member name of j into out; fails when it is not. */
static void
copy_member(const json_t *j, const char *name, char *out, size_t len)
{
	const char	*s = json_string_value(json_object_get(j, name));

	if (s == NULL)
		fail_msg("no \"%s\" in the reply", name);
	if (strlen(s) >= len)
		fail_msg("\"%s\" is %zu bytes long", name, strlen(s));
	memcpy(out, s, strlen(s) + 1);
}

/* Takes both tokens out of a 200 login or refresh reply. */
static void
take_tokens(const struct itest_resp *r, struct itest_tokens *t)
{
	struct itest_tokens	 tmp;

	if (t == NULL)
		t = &tmp;
	copy_member(r->json, "access_token", t->access, sizeof(t->access));
	copy_member(r->json, "refresh_token", t->refresh,
	    sizeof(t->refresh));
	itest_auth_secret(t->access);
	itest_auth_secret(t->refresh);
}

long
itest_auth_login_as(const char *who, const char *password,
    struct itest_tokens *t)
{
	struct itest_resp	 r;
	json_t			*body;
	long			 status;

	body = json_pack("{s:s,s:s}", "username_or_email", who,
	    "password", password);
	assert_non_null(body);
	assert_int_equal(itest_auth_post_json("/api/v1/auth/login", body,
	    NULL, &r), 0);
	json_decref(body);
	status = r.status;
	if (status == 200)
		take_tokens(&r, t);
	itest_resp_cleanup(&r);
	return status;
}

void
itest_auth_login(const struct itest_user *u, struct itest_tokens *t)
{
	struct itest_resp	 r;
	json_t			*body;

	body = json_pack("{s:s,s:s}", "username_or_email", u->username,
	    "password", u->password);
	assert_non_null(body);
	assert_int_equal(itest_auth_post_json("/api/v1/auth/login", body,
	    NULL, &r), 0);
	json_decref(body);
	itest_auth_expect(&r, 200, "login");
	take_tokens(&r, t);
	itest_resp_cleanup(&r);
}

void
itest_auth_new_user(struct itest_user *u, struct itest_tokens *t,
    const char *prefix)
{
	itest_auth_register(u, prefix);
	itest_auth_verify(u);
	itest_auth_login(u, t);
}

long
itest_auth_refresh(const char *refresh, struct itest_tokens *t)
{
	struct itest_resp	 r;
	json_t			*body;
	long			 status;

	body = json_pack("{s:s}", "refresh_token", refresh);
	assert_non_null(body);
	assert_int_equal(itest_auth_post_json("/api/v1/auth/refresh", body,
	    NULL, &r), 0);
	json_decref(body);
	status = r.status;
	if (status == 200)
		take_tokens(&r, t);
	itest_resp_cleanup(&r);
	return status;
}

long
itest_auth_logout(const char *access)
{
	struct itest_resp	 r;
	long			 status;

	assert_int_equal(itest_auth_post("/api/v1/auth/logout", NULL, 0,
	    access, &r), 0);
	status = r.status;
	itest_resp_cleanup(&r);
	return status;
}

const char *
itest_auth_config(const char *name, char *out, size_t len)
{
	FILE		*fp;
	char		 path[1024], line[1024];
	size_t		 nlen = strlen(name), n;
	const char	*v = NULL;
	int		 w;

	w = snprintf(path, sizeof(path), "%s/websands.env",
	    itest_env("WS_RUN_DIR"));
	assert_true(w > 0 && (size_t)w < sizeof(path));
	if ((fp = fopen(path, "re")) == NULL)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	/* A later line wins, as in the configuration loader. */
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, name, nlen) != 0 || line[nlen] != '=')
			continue;
		n = strcspn(line + nlen + 1, "\r\n");
		if (n >= len)
			fail_msg("%s is too long in %s", name, path);
		memcpy(out, line + nlen + 1, n);
		out[n] = '\0';
		v = out;
	}
	fclose(fp);
	return v;
}

long
itest_auth_config_long(const char *name, long def)
{
	char	 v[64], *end;
	long	 n;

	if (itest_auth_config(name, v, sizeof(v)) == NULL)
		return def;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0')
		fail_msg("%s=%s is not a number", name, v);
	return n;
}

struct parallel_arg {
	pthread_barrier_t	*start;
	void			(*fn)(int, void *);
	void			*arg;
	int			 i;
};

static void *
parallel_main(void *p)
{
	struct parallel_arg	*a = p;

	pthread_barrier_wait(a->start);
	a->fn(a->i, a->arg);
	return NULL;
}

void
itest_auth_parallel(int n, void (*fn)(int, void *), void *arg)
{
	pthread_barrier_t	 start;
	pthread_t		 th[THREADS_MAX];
	struct parallel_arg	 a[THREADS_MAX];
	int			 i;

	assert_true(n > 0 && n <= THREADS_MAX);
	assert_int_equal(pthread_barrier_init(&start, NULL,
	    (unsigned)n), 0);
	for (i = 0; i < n; i++) {
		a[i].start = &start;
		a[i].fn = fn;
		a[i].arg = arg;
		a[i].i = i;
		if (pthread_create(&th[i], NULL, parallel_main, &a[i]) != 0)
			fail_msg("pthread_create: %s", strerror(errno));
	}
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start);
}

/* --- JWTs ------------------------------------------------------------ */

char *
itest_auth_b64url(const void *p, size_t n)
{
	char	*s = NULL;

	assert_int_equal(b64url_encode_alloc(p, n, &s), 0);
	return s;
}

char *
itest_auth_jwt_part(const char *token, int i)
{
	const char	*p = token, *e;
	char		*s;

	for (; i > 0; i--) {
		assert_non_null(p = strchr(p, '.'));
		p++;
	}
	e = strchr(p, '.');
	if (e == NULL)
		e = p + strlen(p);
	assert_non_null(s = strndup(p, (size_t)(e - p)));
	return s;
}

json_t *
itest_auth_jwt_json(const char *token, int i)
{
	unsigned char	*raw;
	size_t		 n;
	char		*p;
	json_t		*j;

	p = itest_auth_jwt_part(token, i);
	assert_int_equal(b64url_decode_alloc(p, strlen(p), &raw, &n), 0);
	j = json_loadb((const char *)raw, n, 0, NULL);
	assert_non_null(j);
	free(raw);
	free(p);
	return j;
}
