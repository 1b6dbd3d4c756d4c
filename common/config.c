/*
 * Configuration from the environment, or from an env file for hosts
 * where the web server starts the process (design.md 11).  The file
 * only fills variables the real environment leaves unset, so an
 * operator can always override it; then every value in the caller's
 * table is checked once, here, and the first bad one is reported by
 * name.  This runs at start-up, before any thread exists: getenv and
 * setenv are not thread-safe.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <sodium.h>

#include "config.h"
#include "error.h"

/* The longest env file line accepted; a longer one is a mistake. */
#define CONFIG_LINE_MAX	8192
/* How much of a bad value a message echoes. */
#define CONFIG_SHOW_MAX	64

const struct config_spec ws_config_specs[] = {
	{ .name = "DATABASE_URL", .type = CONFIG_URL,
	  .offset = offsetof(struct ws_config, database_url),
	  .flags = CONFIG_REQUIRED | CONFIG_SECRET,
	  .help = "PostgreSQL URI or keyword string for reads and writes" },
	{ .name = "DATABASE_READ_URL", .type = CONFIG_URL,
	  .offset = offsetof(struct ws_config, database_read_url),
	  .flags = CONFIG_SECRET,
	  .help = "PostgreSQL replica for reads; unset: DATABASE_URL" },
	{ .name = "DB_POOL_SIZE", .type = CONFIG_INT,
	  .offset = offsetof(struct ws_config, db_pool_size),
	  .def = "8", .min = 1, .max = 256,
	  .help = "Database connections per process" },
	{ .name = "DB_ACQUIRE_TIMEOUT_MS", .type = CONFIG_INT,
	  .offset = offsetof(struct ws_config, db_acquire_timeout_ms),
	  .def = "1000", .min = 1, .max = 60000,
	  .help = "Longest wait for a free pool connection, in ms" },
	{ .name = "DB_CONNECT_TIMEOUT_S", .type = CONFIG_INT,
	  .offset = offsetof(struct ws_config, db_connect_timeout_s),
	  .def = "2", .min = 1, .max = 60,
	  .help = "Longest wait to connect to PostgreSQL, in seconds" },
	{ .name = "DB_STATEMENT_TIMEOUT_MS", .type = CONFIG_INT,
	  .offset = offsetof(struct ws_config, db_statement_timeout_ms),
	  .def = "5000", .min = 1, .max = 600000,
	  .help = "PostgreSQL statement_timeout for every query, in ms" },
	{ .name = "MEMCACHED_SERVERS", .type = CONFIG_STRING,
	  .offset = offsetof(struct ws_config, memcached_servers),
	  .def = "127.0.0.1:11211", .flags = CONFIG_NONE,
	  .help = "memcached host:port,host:port..., or \"none\"" },
	{ .name = "MEMCACHED_TIMEOUT_MS", .type = CONFIG_INT,
	  .offset = offsetof(struct ws_config, memcached_timeout_ms),
	  .def = "100", .min = 1, .max = 10000,
	  .help = "Longest wait for a memcached answer, in ms" },
	{ .name = "LOG_LEVEL", .type = CONFIG_ENUM,
	  .offset = offsetof(struct ws_config, log_level),
	  .def = "info", .choices = "debug|info|warn|error",
	  .help = "Lowest level logged: debug, info, warn or error" },
	{ .name = "METRICS_DIR", .type = CONFIG_STRING,
	  .offset = offsetof(struct ws_config, metrics_dir),
	  .def = "/tmp/websands-metrics",
	  .help = "Directory of the per-process metrics files" },
	{ .name = "BODY_LIMIT", .type = CONFIG_INT,
	  .offset = offsetof(struct ws_config, body_limit),
	  .def = "16384", .min = 256, .max = 1048576,
	  .help = "Largest request body accepted, in bytes" },
	{ .name = "TRUSTED_PROXIES", .type = CONFIG_STRING,
	  .offset = offsetof(struct ws_config, trusted_proxies),
	  .def = "", .flags = CONFIG_NONE,
	  .help = "Proxy addresses whose X-Forwarded-For is believed" },
	{ .name = "PUBLIC_URL", .type = CONFIG_URL,
	  .offset = offsetof(struct ws_config, public_url),
	  .def = "http://127.0.0.1:8080",
	  .help = "Canonical base URL for links in mail" },
	{ .name = "BREAKER_FAILURES", .type = CONFIG_INT,
	  .offset = offsetof(struct ws_config, breaker_failures),
	  .def = "3", .min = 1, .max = 1000,
	  .help = "Failures in a row that open a circuit breaker" },
	{ .name = "BREAKER_OPEN_MS", .type = CONFIG_INT,
	  .offset = offsetof(struct ws_config, breaker_open_ms),
	  .def = "1000", .min = 10, .max = 600000,
	  .help = "How long an open breaker fails fast, in ms" },
	{ .name = "SHUTDOWN_GRACE_S", .type = CONFIG_INT,
	  .offset = offsetof(struct ws_config, shutdown_grace_s),
	  .def = "10", .min = 1, .max = 600,
	  .help = "Time in-flight requests get after SIGTERM, in seconds" },
};

const size_t ws_config_nspecs =
    sizeof(ws_config_specs) / sizeof(ws_config_specs[0]);

/*
 * Writes a message into err.  A message cut short by errlen is still a
 * useful message, so truncation is accepted here on purpose.
 */
static void __attribute__((format(printf, 3, 4)))
config_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * A bad value as it may be echoed: at most CONFIG_SHOW_MAX bytes, with
 * anything but printable ASCII (and the quote and backslash that would
 * confuse the message) shown as '?'.
 */
static void
config_show(char *out, size_t outlen, const char *v)
{
	size_t	 i;

	for (i = 0; v[i] != '\0' && i < CONFIG_SHOW_MAX && i + 4 < outlen;
	    i++) {
		if (v[i] < 0x20 || v[i] > 0x7e || v[i] == '"' ||
		    v[i] == '\\')
			out[i] = '?';
		else
			out[i] = v[i];
	}
	if (v[i] != '\0' && i + 4 <= outlen) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
}

/* Whether s[0..n) is a variable name: [A-Z_][A-Z0-9_]*. */
static int
config_name_ok(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

static int
config_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Parses one env file line in place and sets its variable unless the
 * environment already has it.  Values are taken literally: no escapes
 * and no inline comments, because a '#' or a backslash is a legitimate
 * byte of a password inside a connection URL.  Surrounding blanks of an
 * unquoted value are dropped; matching quotes keep everything inside.
 * Messages never quote the line, which may hold a secret.
 */
static int
config_line(char *line, const char *path, unsigned long lineno,
    char *err, size_t errlen)
{
	char	*p, *eq, *v, *end;
	size_t	 vn;
	int	 saved;

	for (p = line; config_blank(*p); p++)
		continue;
	if (*p == '\0' || *p == '#')
		return 0;
	if (strncmp(p, "export", 6) == 0 && config_blank(p[6]))
		for (p += 6; config_blank(*p); p++)
			continue;
	if ((eq = strchr(p, '=')) == NULL || !config_name_ok(p,
	    (size_t)(eq - p))) {
		config_err(err, errlen, "%s:%lu: expected NAME=VALUE with "
		    "NAME made of A-Z, 0-9 and _", path, lineno);
		return WS_ERR_INVALID;
	}
	*eq = '\0';
	for (v = eq + 1; config_blank(*v); v++)
		continue;
	vn = strlen(v);
	while (vn > 0 && config_blank(v[vn - 1]))
		vn--;
	v[vn] = '\0';
	if (v[0] == '"' || v[0] == '\'') {
		end = v + vn - 1;
		if (vn < 2 || *end != v[0]) {
			config_err(err, errlen, "%s:%lu: %s: unterminated "
			    "quote", path, lineno, p);
			return WS_ERR_INVALID;
		}
		*end = '\0';
		v++;
	}
	if (setenv(p, v, 0) != 0) {
		saved = errno;
		config_err(err, errlen, "%s:%lu: %s: cannot be set: %s",
		    path, lineno, p, strerror(saved));
		return saved == ENOMEM ? WS_ERR_NOMEM : WS_ERR_INVALID;
	}
	return 0;
}

/* Reads the env file at path into the environment. */
static int
config_read_file(const char *path, char *err, size_t errlen)
{
	FILE		*f;
	char		*line = NULL;
	size_t		 cap = 0;
	ssize_t		 n;
	unsigned long	 lineno = 0;
	int		 rc = WS_ERR_INVALID;

	if ((f = fopen(path, "re")) == NULL) {
		config_err(err, errlen, "%s: cannot open: %s", path,
		    strerror(errno));
		goto out;
	}
	errno = 0;
	while ((n = getline(&line, &cap, f)) != -1) {
		lineno++;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if (n > CONFIG_LINE_MAX) {
			config_err(err, errlen, "%s:%lu: line longer than %d "
			    "bytes", path, lineno, CONFIG_LINE_MAX);
			goto out;
		}
		if (strlen(line) != (size_t)n) {
			config_err(err, errlen, "%s:%lu: line holds a NUL "
			    "byte", path, lineno);
			goto out;
		}
		if ((rc = config_line(line, path, lineno, err,
		    errlen)) != 0)
			goto out;
		rc = WS_ERR_INVALID;
		errno = 0;
	}
	if (ferror(f)) {
		config_err(err, errlen, "%s: cannot read: %s", path,
		    strerror(errno != 0 ? errno : EIO));
		goto out;
	}
	rc = 0;
out:
	if (line != NULL)
		sodium_memzero(line, cap);
	free(line);
	if (f != NULL)
		fclose(f);
	return rc;
}

/*
 * Whether v looks like a URL (scheme://...) or, for PostgreSQL, a libpq
 * keyword string ("host=... dbname=...").  This catches a value set to
 * the wrong thing without parsing either form fully; the library that
 * uses the value reports anything subtler when it first connects.
 */
static int
config_url_ok(const char *v)
{
	const char	*p = v;

	if (strstr(v, "host=") != NULL || strstr(v, "dbname=") != NULL) {
		for (; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return 0;
		return 1;
	}
	if (!isalpha((unsigned char)*p))
		return 0;
	while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' ||
	    *p == '.')
		p++;
	if (strncmp(p, "://", 3) != 0)
		return 0;
	for (; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

/* Whether v is one of the boolean words; sets *out. */
static int
config_bool(const char *v, int *out)
{
	static const char *const yes[] = { "true", "1", "yes", "on" };
	static const char *const no[] = { "false", "0", "no", "off" };
	size_t	 i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = 1;
			return 1;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = 0;
			return 1;
		}
	}
	return 0;
}

/* The index of v among the '|'-separated choices, or -1. */
static int
config_enum(const char *choices, const char *v)
{
	const char	*p = choices, *bar;
	size_t		 n, vn = strlen(v);
	int		 i;

	for (i = 0; p != NULL; i++) {
		bar = strchr(p, '|');
		n = bar != NULL ? (size_t)(bar - p) : strlen(p);
		if (n == vn && strncasecmp(p, v, n) == 0)
			return i;
		p = bar != NULL ? bar + 1 : NULL;
	}
	return -1;
}

/* The choices "a|b|c" as "a, b, c" for a message (truncated to fit). */
static void
config_choices(char *out, size_t outlen, const char *choices)
{
	size_t	 i, o = 0;

	for (i = 0; choices != NULL && choices[i] != '\0' && o + 3 < outlen;
	    i++) {
		if (choices[i] == '|') {
			out[o++] = ',';
			out[o++] = ' ';
		} else
			out[o++] = choices[i];
	}
	out[o] = '\0';
}

/* Validates and stores the one value of spec s into target. */
static int
config_one(const struct config_spec *s, void *target, char *err,
    size_t errlen)
{
	char		*field = (char *)target + s->offset;
	char		 shown[CONFIG_SHOW_MAX + 16], list[256], *end, *copy;
	const char	*v;
	struct stat	 st;
	long		 l;
	int		 i;

	v = getenv(s->name);
	if (v != NULL && *v == '\0')
		v = NULL;
	if (v == NULL)
		v = s->def;
	if (v != NULL && *v == '\0')
		v = NULL;
	if (v != NULL && (s->flags & CONFIG_NONE) &&
	    strcasecmp(v, "none") == 0)
		v = NULL;
	if (v == NULL) {
		if (s->flags & CONFIG_REQUIRED) {
			config_err(err, errlen, "%s is required", s->name);
			return WS_ERR_INVALID;
		}
		return 0;
	}
	/* A secret is never echoed, not even when it is wrong. */
	shown[0] = '\0';
	if (!(s->flags & CONFIG_SECRET)) {
		memcpy(shown, " (got \"", 7);
		config_show(shown + 7, sizeof(shown) - 9, v);
		strcat(shown, "\")");
	}

	switch (s->type) {
	case CONFIG_INT:
		errno = 0;
		l = strtol(v, &end, 10);
		if (!(isdigit((unsigned char)v[0]) || ((v[0] == '-' ||
		    v[0] == '+') && isdigit((unsigned char)v[1]))) ||
		    *end != '\0' || errno != 0 || l < s->min || l > s->max) {
			config_err(err, errlen, "%s must be an integer "
			    "between %ld and %ld%s", s->name, s->min, s->max,
			    shown);
			return WS_ERR_INVALID;
		}
		memcpy(field, &l, sizeof(l));
		return 0;
	case CONFIG_BOOL:
		if (!config_bool(v, &i)) {
			config_err(err, errlen, "%s must be true or false%s",
			    s->name, shown);
			return WS_ERR_INVALID;
		}
		memcpy(field, &i, sizeof(i));
		return 0;
	case CONFIG_ENUM:
		if ((i = config_enum(s->choices != NULL ? s->choices : "",
		    v)) < 0) {
			config_choices(list, sizeof(list), s->choices);
			config_err(err, errlen, "%s must be one of %s%s",
			    s->name, list, shown);
			return WS_ERR_INVALID;
		}
		memcpy(field, &i, sizeof(i));
		return 0;
	case CONFIG_URL:
		if (!config_url_ok(v)) {
			config_err(err, errlen, "%s must be a URL of the form "
			    "scheme://...%s", s->name, shown);
			return WS_ERR_INVALID;
		}
		break;
	case CONFIG_PATH:
		if (stat(v, &st) != 0) {
			config_err(err, errlen, "%s must name an existing "
			    "path%s: %s", s->name, shown, strerror(errno));
			return WS_ERR_INVALID;
		}
		break;
	case CONFIG_STRING:
		break;
	default:
		config_err(err, errlen, "%s has an unknown type", s->name);
		return WS_ERR_INTERNAL;
	}
	if ((copy = strdup(v)) == NULL) {
		config_err(err, errlen, "%s: out of memory", s->name);
		return WS_ERR_NOMEM;
	}
	memcpy(field, &copy, sizeof(copy));
	return 0;
}

/* Whether values of type t are strings the loader allocates. */
static int
config_is_string(enum config_type t)
{
	return t == CONFIG_STRING || t == CONFIG_URL || t == CONFIG_PATH;
}

int
config_load(const struct config_spec *specs, size_t n, void *target,
    const char *path, char *err, size_t errlen)
{
	char	*field, *null = NULL;
	long	 zl = 0;
	int	 zi = 0, rc;
	size_t	 i;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	/*
	 * Every field gets a known value first, so that config_free is
	 * safe on target whatever happens below.
	 */
	for (i = 0; i < n; i++) {
		field = (char *)target + specs[i].offset;
		if (config_is_string(specs[i].type))
			memcpy(field, &null, sizeof(null));
		else if (specs[i].type == CONFIG_INT)
			memcpy(field, &zl, sizeof(zl));
		else
			memcpy(field, &zi, sizeof(zi));
	}
	if (path == NULL && (path = getenv("WEBSANDS_CONFIG")) != NULL &&
	    *path == '\0')
		path = NULL;
	if (path != NULL && (rc = config_read_file(path, err, errlen)) != 0)
		return rc;
	for (i = 0; i < n; i++) {
		if ((rc = config_one(&specs[i], target, err, errlen)) != 0) {
			config_free(specs, n, target);
			return rc;
		}
	}
	return 0;
}

void
config_free(const struct config_spec *specs, size_t n, void *target)
{
	char	*field, *s, *null = NULL;
	size_t	 i;

	if (specs == NULL || target == NULL)
		return;
	for (i = 0; i < n; i++) {
		if (!config_is_string(specs[i].type))
			continue;
		field = (char *)target + specs[i].offset;
		memcpy(&s, field, sizeof(s));
		if (s == NULL)
			continue;
		/* A connection string may carry a password. */
		if (specs[i].flags & CONFIG_SECRET)
			sodium_memzero(s, strlen(s));
		free(s);
		memcpy(field, &null, sizeof(null));
	}
}
