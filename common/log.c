/*
 * One line per event on stderr (design.md 11).  Each line is built
 * whole in a buffer on the stack and handed to write(2) under a lock,
 * so lines from different threads never interleave and a line is never
 * split by stdio buffering.  Every value passes through one escaper,
 * which is what keeps client input from forging a line or a field.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* The longest line written, newline included. */
#define LOG_LINE_MAX	8192
/* The most one value may take, so a huge value leaves room for the rest. */
#define LOG_VALUE_MAX	2048
/* The smallest room a value needs: a truncated one is at least `"..."`. */
#define LOG_VALUE_MIN	5
#define LOG_KEY_MAX	64
#define LOG_RID_MAX	128
#define LOG_COMPONENT_MAX 64
/* Kept free at the end of a line for the marker and the newline. */
#define LOG_TAIL	" truncated=true"

static char		 log_component[LOG_COMPONENT_MAX] = "websands";
static int		 log_min = LOG_INFO;
static __thread char	 log_rid[LOG_RID_MAX];
static __thread int	 log_rid_set;
static pthread_mutex_t	 log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const log_names[] = { "debug", "info", "warn", "error" };

const char *
log_level_name(enum log_level level)
{
	if ((int)level < 0 || (size_t)level >= sizeof(log_names) /
	    sizeof(log_names[0]))
		return NULL;
	return log_names[level];
}

void
log_init(const char *component, enum log_level min)
{
	if (component != NULL && *component != '\0')
		snprintf(log_component, sizeof(log_component), "%s",
		    component);
	__atomic_store_n(&log_min, (int)min, __ATOMIC_RELAXED);
}

void
log_set_request_id(const char *id)
{
	if (id == NULL) {
		log_rid_set = 0;
		log_rid[0] = '\0';
		return;
	}
	/* A longer id is cut; it is only a correlation handle. */
	snprintf(log_rid, sizeof(log_rid), "%s", id);
	log_rid_set = 1;
}

const char *
log_request_id(void)
{
	return log_rid_set ? log_rid : NULL;
}

/* Whether c may appear in a value written without quotes. */
static int
log_bare(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("._:/@+-", c) != NULL;
}

/*
 * The quoted form of one byte into e (at least 5 bytes); returns its
 * length.  Every byte outside printable ASCII is escaped, non-ASCII
 * included: that is simpler than validating UTF-8 and just as safe.
 */
static size_t
log_quote_byte(char *e, unsigned char c)
{
	static const char	 hex[] = "0123456789abcdef";

	switch (c) {
	case '"':
	case '\\':
		e[0] = '\\';
		e[1] = (char)c;
		return 2;
	case '\n':
		memcpy(e, "\\n", 2);
		return 2;
	case '\r':
		memcpy(e, "\\r", 2);
		return 2;
	case '\t':
		memcpy(e, "\\t", 2);
		return 2;
	default:
		break;
	}
	if (c < 0x20 || c >= 0x7f) {
		e[0] = '\\';
		e[1] = 'x';
		e[2] = hex[c >> 4];
		e[3] = hex[c & 0xf];
		return 4;
	}
	e[0] = (char)c;
	return 1;
}

/*
 * Writes the value s into dst, taking at most room bytes (room >=
 * LOG_VALUE_MIN; no NUL is written) and returns how many it took.  A
 * value that does not fit is cut between escapes and ends in "...",
 * inside the closing quote when it is quoted, so it still parses.
 */
static size_t
log_value(char *dst, size_t room, const char *s)
{
	const unsigned char	*p;
	char			 e[5];
	size_t			 n, total, pos, el;
	int			 bare;

	if (s == NULL)
		s = "-";
	bare = *s != '\0';
	total = 0;
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (!log_bare(*p))
			bare = 0;
		total += log_quote_byte(e, *p);
	}
	if (bare) {
		n = strlen(s);
		if (n <= room) {
			memcpy(dst, s, n);
			return n;
		}
		memcpy(dst, s, room - 3);
		memcpy(dst + room - 3, "...", 3);
		return room;
	}
	pos = 0;
	dst[pos++] = '"';
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		el = log_quote_byte(e, *p);
		/* Keep room for the closing quote, and for "..." if cut. */
		if (total + 2 > room ? pos + el + 4 > room :
		    pos + el + 1 > room)
			break;
		memcpy(dst + pos, e, el);
		pos += el;
	}
	if (*p != '\0') {
		memcpy(dst + pos, "...", 3);
		pos += 3;
	}
	dst[pos++] = '"';
	return pos;
}

void
log_escape(char *out, size_t outlen, const char *s)
{
	size_t	 n;

	if (outlen == 0)
		return;
	if (outlen - 1 < LOG_VALUE_MIN) {
		out[0] = '\0';
		return;
	}
	n = log_value(out, outlen - 1, s);
	out[n] = '\0';
}

/* Appends s as a key: only [A-Za-z0-9_.-], other bytes become '_'. */
static size_t
log_key(char *dst, const char *k)
{
	size_t	 i;

	for (i = 0; k[i] != '\0' && i < LOG_KEY_MAX; i++) {
		if (log_bare((unsigned char)k[i]) && k[i] != ':' &&
		    k[i] != '/' && k[i] != '@' && k[i] != '+')
			dst[i] = k[i];
		else
			dst[i] = '_';
	}
	if (i == 0)
		dst[i++] = '_';
	return i;
}

/* The current UTC time as 2026-12-03T13:06:22.123Z into ts (32 bytes). */
static void
log_timestamp(char *ts, size_t tslen)
{
	struct timespec	 now;
	struct tm	 tm;
	int		 n;

	if (clock_gettime(CLOCK_REALTIME, &now) != 0 ||
	    gmtime_r(&now.tv_sec, &tm) == NULL) {
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = 70;
		tm.tm_mday = 1;
		now.tv_nsec = 0;
	}
	n = snprintf(ts, tslen, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000L);
	if (n < 0 || (size_t)n >= tslen)
		snprintf(ts, tslen, "1970-01-01T00:00:00.000Z");
}

/* Writes all of p under the lock, retrying short and interrupted writes. */
static void
log_write(const char *p, size_t n)
{
	ssize_t	 w;

	pthread_mutex_lock(&log_lock);
	while (n > 0) {
		w = write(STDERR_FILENO, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		p += w;
		n -= (size_t)w;
	}
	pthread_mutex_unlock(&log_lock);
}

/* Appends the literal s when it fits below limit; returns 0 if not. */
static int
log_lit(char *line, size_t *pos, size_t limit, const char *s)
{
	size_t	 n = strlen(s);

	if (*pos + n > limit)
		return 0;
	memcpy(line + *pos, s, n);
	*pos += n;
	return 1;
}

void
log_event(enum log_level level, const char *event, ...)
{
	char		 line[LOG_LINE_MAX], ts[32], key[LOG_KEY_MAX + 1];
	const char	*k, *v, *name;
	va_list		 ap;
	size_t		 pos = 0, limit, kn, room;
	int		 saved = errno, cut = 0;

	if ((int)level < __atomic_load_n(&log_min, __ATOMIC_RELAXED))
		return;
	if ((name = log_level_name(level)) == NULL)
		name = "error";
	/* What is left after the limit holds the marker and the newline. */
	limit = sizeof(line) - sizeof(LOG_TAIL);

	log_timestamp(ts, sizeof(ts));
	log_lit(line, &pos, limit, ts);
	log_lit(line, &pos, limit, " level=");
	log_lit(line, &pos, limit, name);
	log_lit(line, &pos, limit, " component=");
	pos += log_value(line + pos, LOG_VALUE_MAX, log_component);
	log_lit(line, &pos, limit, " request_id=");
	pos += log_value(line + pos, LOG_VALUE_MAX,
	    log_rid_set ? log_rid : NULL);
	log_lit(line, &pos, limit, " event=");
	pos += log_value(line + pos, LOG_VALUE_MAX, event);

	va_start(ap, event);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		kn = log_key(key, k);
		if (pos + 2 + kn + LOG_VALUE_MIN > limit) {
			cut = 1;
			break;
		}
		line[pos++] = ' ';
		memcpy(line + pos, key, kn);
		pos += kn;
		line[pos++] = '=';
		room = limit - pos;
		if (room > LOG_VALUE_MAX)
			room = LOG_VALUE_MAX;
		pos += log_value(line + pos, room, v);
	}
	va_end(ap);
	if (cut) {
		memcpy(line + pos, LOG_TAIL, sizeof(LOG_TAIL) - 1);
		pos += sizeof(LOG_TAIL) - 1;
	}
	line[pos++] = '\n';
	log_write(line, pos);
	errno = saved;
}
