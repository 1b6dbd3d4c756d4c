/*
 * Mail templates: loading a set per locale with fallback, and filling
 * its placeholders with values escaped for the part they land in.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "error.h"
#include "log.h"
#include "mail_template.h"

/*
 * Every template WebSands sends.  outbox_queue refuses any other
 * name, so a typo in a handler fails in its test, not in the mailer.
 */
static const char * const template_names[] = {
	"verify_email",
	"password_reset",
	"account_locked",
	"password_changed",
	"email_changed",
	"email_change_verify",
	"register_existing",
	"new_signin_after_failures",
	"mfa_enabled",
	"mfa_disabled",
	NULL
};

int
mail_template_known(const char *name)
{
	size_t	 i;

	if (name == NULL)
		return 0;
	for (i = 0; template_names[i] != NULL; i++)
		if (strcmp(name, template_names[i]) == 0)
			return 1;
	return 0;
}

const char * const *
mail_template_names(void)
{
	return template_names;
}

static int
is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static int
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

int
mail_template_locale_valid(const char *locale)
{
	size_t	 i, n;

	if (locale == NULL)
		return 0;
	for (i = 0; is_lower(locale[i]); i++)
		;
	if (i < 2 || i > 3)
		return 0;
	if (locale[i] == '\0')
		return 1;
	if (locale[i] != '-' && locale[i] != '_')
		return 0;
	locale += i + 1;
	for (n = 0; is_alnum(locale[n]); n++)
		;
	return n >= 2 && n <= 8 && locale[n] == '\0';
}

int
mail_template_link_path_valid(const char *path)
{
	static const char	 extra[] = "-._~!$&*+,;=:@/?#%";
	size_t			 i;

	if (path == NULL || path[0] != '/' || path[1] == '/')
		return 0;
	for (i = 0; path[i] != '\0'; i++) {
		if (i >= MAIL_TEMPLATE_LINK_MAX)
			return 0;
		if (!is_alnum(path[i]) && strchr(extra, path[i]) == NULL)
			return 0;
	}
	return 1;
}

/*
 * The length of the valid UTF-8 sequence at s (of n bytes left), or 0
 * when it is malformed, overlong, a surrogate or past U+10FFFF.
 */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	size_t		 len, i;
	unsigned long	 cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

static int
utf8_valid(const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, k;

	for (i = 0; i < n; i += k)
		if ((k = utf8_seq(p + i, n - i)) == 0)
			return 0;
	return 1;
}

/*
 * Reads the whole file at path into a new string (*out, the caller's
 * to free).  WS_ERR_NOTFOUND when it does not exist, so the loader
 * can fall back to another locale.
 */
static int
read_template_file(const char *path, char **out)
{
	struct stat	 st;
	char		*data = NULL;
	size_t		 len = 0;
	ssize_t		 r;
	int		 fd, rc = WS_ERR_IO;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			return WS_ERR_NOTFOUND;
		log_event(LOG_ERROR, "mail_template_open", "path", path,
		    "error", strerror(errno), NULL);
		return WS_ERR_IO;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
		goto out;
	if (st.st_size > MAIL_TEMPLATE_FILE_MAX) {
		rc = WS_ERR_TOOBIG;
		goto out;
	}
	/* One byte more than allowed shows a file that grew meanwhile. */
	if ((data = malloc(MAIL_TEMPLATE_FILE_MAX + 2)) == NULL) {
		rc = WS_ERR_NOMEM;
		goto out;
	}
	while (len <= MAIL_TEMPLATE_FILE_MAX) {
		r = read(fd, data + len, MAIL_TEMPLATE_FILE_MAX + 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			goto out;
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > MAIL_TEMPLATE_FILE_MAX) {
		rc = WS_ERR_TOOBIG;
		goto out;
	}
	data[len] = '\0';
	if (memchr(data, '\0', len) != NULL || !utf8_valid(data, len)) {
		log_event(LOG_ERROR, "mail_template_malformed", "path", path,
		    "reason", "not UTF-8 text", NULL);
		rc = WS_ERR_INVALID;
		goto out;
	}
	*out = data;
	data = NULL;
	rc = 0;
out:
	free(data);
	close(fd);
	return rc;
}

/* Loads the three files of name in dir/locale into t. */
static int
load_set(struct mail_template *t, const char *dir, const char *name,
    const char *locale)
{
	static const char	*ext[] = { "subject", "txt", "html" };
	char			**dst[3];
	char			 path[4096];
	size_t			 i, n;
	int			 len, rc;

	dst[0] = &t->subject;
	dst[1] = &t->text;
	dst[2] = &t->html;
	for (i = 0; i < 3; i++) {
		len = snprintf(path, sizeof(path), "%s/%s/%s.%s", dir, locale,
		    name, ext[i]);
		if (len < 0 || (size_t)len >= sizeof(path))
			return WS_ERR_TOOBIG;
		if ((rc = read_template_file(path, dst[i])) != 0)
			return rc;
	}
	/* The subject is one line; its final newline is not part of it. */
	n = strlen(t->subject);
	while (n > 0 && (t->subject[n - 1] == '\n' ||
	    t->subject[n - 1] == '\r' || t->subject[n - 1] == ' '))
		t->subject[--n] = '\0';
	if (strpbrk(t->subject, "\r\n") != NULL) {
		log_event(LOG_ERROR, "mail_template_malformed", "name", name,
		    "locale", locale, "reason", "subject of several lines",
		    NULL);
		return WS_ERR_INVALID;
	}
	return 0;
}

int
mail_template_load(struct mail_template *t, const char *dir,
    const char *name, const char *locale)
{
	char	 cand[3][MAIL_TEMPLATE_LOCALE_MAX + 1];
	size_t	 ncand = 0, i, lang;
	int	 rc = WS_ERR_NOTFOUND;

	memset(t, 0, sizeof(*t));
	if (locale == NULL)
		locale = "en";
	if (dir == NULL || !mail_template_known(name) ||
	    !mail_template_locale_valid(locale))
		return WS_ERR_INVALID;

	/* The locale, then its language, then English, without repeats. */
	snprintf(cand[ncand++], sizeof(cand[0]), "%s", locale);
	lang = strcspn(locale, "-_");
	if (locale[lang] != '\0') {
		snprintf(cand[ncand], sizeof(cand[0]), "%.*s", (int)lang,
		    locale);
		ncand++;
	}
	if (strcmp(cand[ncand - 1], "en") != 0)
		snprintf(cand[ncand++], sizeof(cand[0]), "en");

	for (i = 0; i < ncand; i++) {
		rc = load_set(t, dir, name, cand[i]);
		if (rc == 0) {
			snprintf(t->name, sizeof(t->name), "%s", name);
			memcpy(t->locale, cand[i], sizeof(t->locale));
			return 0;
		}
		mail_template_cleanup(t);
		/* A broken file is an error to fix, not a reason to fall
		 * back to another language silently. */
		if (rc != WS_ERR_NOTFOUND)
			break;
	}
	if (rc == WS_ERR_NOTFOUND)
		log_event(LOG_ERROR, "mail_template_missing", "name", name,
		    "locale", locale, NULL);
	return rc;
}

void
mail_template_cleanup(struct mail_template *t)
{
	if (t == NULL)
		return;
	free(t->subject);
	free(t->text);
	free(t->html);
	memset(t, 0, sizeof(*t));
}

/* Wipes and frees s: a rendered mail may carry a one-time token. */
static void
free_wiped(char *s)
{
	if (s == NULL)
		return;
	sodium_memzero(s, strlen(s));
	free(s);
}

void
mail_rendered_cleanup(struct mail_rendered *r)
{
	if (r == NULL)
		return;
	free_wiped(r->subject);
	free_wiped(r->text);
	free_wiped(r->html);
	memset(r, 0, sizeof(*r));
}

/* Appends the n bytes of v to out, escaped for ctx. */
static int
put_value(struct buf *out, enum mail_ctx ctx, const char *v, size_t n)
{
	const unsigned char	*p = (const unsigned char *)v;
	const char		*ent;
	size_t			 i;
	int			 rc;

	for (i = 0; i < n; i++) {
		ent = NULL;
		/* C1 controls (U+0080..U+009F) are dropped like C0 ones. */
		if (p[i] == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 &&
		    p[i + 1] <= 0x9f) {
			i++;
			continue;
		}
		if (p[i] < 0x20 || p[i] == 0x7f) {
			if (ctx == MAIL_CTX_SUBJECT)
				continue;
			if (p[i] == '\r' || p[i] == '\n')
				ent = " ";
			else if (p[i] == '\t')
				ent = "\t";
			else
				continue;
		} else if (ctx == MAIL_CTX_HTML) {
			switch (p[i]) {
			case '&':
				ent = "&amp;";
				break;
			case '<':
				ent = "&lt;";
				break;
			case '>':
				ent = "&gt;";
				break;
			case '"':
				ent = "&quot;";
				break;
			case '\'':
				ent = "&#39;";
				break;
			default:
				break;
			}
		}
		rc = ent != NULL ? buf_puts(out, ent) :
		    buf_putc(out, (char)p[i]);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/*
 * The text of one value: *s and *n point into v or into tmp.  Returns
 * 1 when the value renders, 0 when it is of a kind that cannot.
 */
static int
value_text(const json_t *v, char *tmp, size_t tmplen, const char **s,
    size_t *n)
{
	int	 len;

	*s = "";
	*n = 0;
	switch (json_typeof(v)) {
	case JSON_STRING:
		*s = json_string_value(v);
		*n = json_string_length(v);
		return 1;
	case JSON_INTEGER:
		len = snprintf(tmp, tmplen, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		break;
	case JSON_REAL:
		len = snprintf(tmp, tmplen, "%g", json_real_value(v));
		break;
	case JSON_TRUE:
		len = snprintf(tmp, tmplen, "true");
		break;
	case JSON_FALSE:
		len = snprintf(tmp, tmplen, "false");
		break;
	case JSON_NULL:
		return 1;
	default:
		return 0;
	}
	if (len < 0 || (size_t)len >= tmplen)
		return 0;
	*s = tmp;
	*n = (size_t)len;
	return 1;
}

/* Appends the value of the placeholder name for ctx. */
static int
put_placeholder(struct buf *out, enum mail_ctx ctx, const char *name,
    const json_t *vars, const char *link, const char *public_url)
{
	const json_t	*v = NULL;
	const char	*s;
	char		 tmp[64];
	size_t		 n;

	if (strcmp(name, "link") == 0)
		s = link;
	else if (strcmp(name, "public_url") == 0)
		s = public_url;
	else {
		if (vars != NULL)
			v = json_object_get(vars, name);
		if (v == NULL || !value_text(v, tmp, sizeof(tmp), &s, &n)) {
			log_event(LOG_WARN, "mail_placeholder_empty",
			    "name", name, "reason", v == NULL ? "absent" :
			    "not a scalar", NULL);
			return 0;
		}
		if (n > MAIL_TEMPLATE_VALUE_MAX)
			return WS_ERR_TOOBIG;
		return put_value(out, ctx, s, n);
	}
	if (s == NULL)
		return 0;
	return put_value(out, ctx, s, strlen(s));
}

int
mail_template_expand(const char *tmpl, enum mail_ctx ctx,
    const json_t *vars, const char *link, const char *public_url,
    struct buf *out)
{
	const char	*p = tmpl, *open, *q;
	char		 name[MAIL_TEMPLATE_NAME_MAX + 1];
	size_t		 n;
	int		 rc;

	if (vars != NULL && !json_is_object(vars))
		return WS_ERR_INVALID;
	while ((open = strstr(p, "{{")) != NULL) {
		if ((rc = buf_append(out, p, (size_t)(open - p))) != 0)
			return rc;
		q = open + 2;
		for (n = 0; (is_lower(q[n]) || (q[n] >= '0' && q[n] <= '9') ||
		    q[n] == '_') && n < MAIL_TEMPLATE_NAME_MAX; n++)
			;
		if (n == 0 || q[n] != '}' || q[n + 1] != '}') {
			/* Not a placeholder: keep one brace and look again
			 * from the next, so "{{{x}}}" still finds {{x}}. */
			if ((rc = buf_putc(out, '{')) != 0)
				return rc;
			p = open + 1;
			continue;
		}
		memcpy(name, q, n);
		name[n] = '\0';
		rc = put_placeholder(out, ctx, name, vars, link, public_url);
		if (rc != 0)
			return rc;
		p = q + n + 2;
	}
	return buf_puts(out, p);
}

/*
 * Copies PUBLIC_URL without its trailing slashes into out.  It must be
 * an http or https URL of printable characters without quotes,
 * spaces or angle brackets.
 */
static int
public_base(const char *url, char *out, size_t outlen)
{
	size_t	 i, n;

	if (url == NULL || (strncmp(url, "https://", 8) != 0 &&
	    strncmp(url, "http://", 7) != 0))
		return WS_ERR_INVALID;
	n = strlen(url);
	for (i = 0; i < n; i++)
		if (url[i] <= ' ' || url[i] >= 0x7f || url[i] == '"' ||
		    url[i] == '\'' || url[i] == '<' || url[i] == '>' ||
		    url[i] == '\\')
			return WS_ERR_INVALID;
	while (n > 0 && url[n - 1] == '/')
		n--;
	if (n >= outlen)
		return WS_ERR_TOOBIG;
	memcpy(out, url, n);
	out[n] = '\0';
	return 0;
}

int
mail_template_render(const struct mail_template *t, const json_t *vars,
    const char *public_url, struct mail_rendered *out)
{
	struct buf	 link, part[3];
	const char	*src[3];
	const json_t	*lp = NULL;
	char		 base[1024], *res[3] = { NULL, NULL, NULL };
	const char	*basep = NULL, *linkp = NULL;
	size_t		 i;
	int		 rc;

	memset(out, 0, sizeof(*out));
	buf_init(&link, MAIL_TEMPLATE_LINK_MAX + sizeof(base));
	for (i = 0; i < 3; i++)
		buf_init(&part[i], MAIL_TEMPLATE_OUT_MAX);

	rc = WS_ERR_INVALID;
	if (t == NULL || t->subject == NULL || t->text == NULL ||
	    t->html == NULL || (vars != NULL && !json_is_object(vars)))
		goto out;
	if (public_url != NULL && public_url[0] != '\0') {
		if ((rc = public_base(public_url, base, sizeof(base))) != 0)
			goto out;
		basep = base;
	}
	if (vars != NULL)
		lp = json_object_get(vars, "link_path");
	if (lp != NULL) {
		rc = WS_ERR_INVALID;
		if (!json_is_string(lp) ||
		    !mail_template_link_path_valid(json_string_value(lp)) ||
		    basep == NULL)
			goto out;
		if ((rc = buf_puts(&link, basep)) != 0 ||
		    (rc = buf_puts(&link, json_string_value(lp))) != 0)
			goto out;
		linkp = buf_str(&link);
	}

	src[0] = t->subject;
	src[1] = t->text;
	src[2] = t->html;
	for (i = 0; i < 3; i++) {
		rc = mail_template_expand(src[i], (enum mail_ctx)i, vars,
		    linkp, basep, &part[i]);
		if (rc != 0)
			goto out;
		rc = WS_ERR_NOMEM;
		if ((res[i] = strdup(buf_str(&part[i]))) == NULL)
			goto out;
	}
	out->subject = res[0];
	out->text = res[1];
	out->html = res[2];
	res[0] = res[1] = res[2] = NULL;
	rc = 0;
out:
	for (i = 0; i < 3; i++) {
		free(res[i]);
		buf_cleanup(&part[i]);
	}
	buf_cleanup(&link);
	return rc;
}
