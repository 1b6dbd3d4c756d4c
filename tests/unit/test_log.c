/*
 * Unit tests of the log: stderr is pointed at a temporary file, events
 * with hostile values are written, and every line is parsed back with
 * a small key=value parser to check that each field survives exactly
 * and that one event makes exactly one line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define MAX_FIELDS	64

struct field {
	char	*key;
	char	*value;
	int	 quoted;
};

struct line {
	char		*ts;
	struct field	 f[MAX_FIELDS];
	size_t		 n;
};

static int	 saved_stderr = -1;
static int	 capture_fd = -1;

/* Points fd 2 at a fresh, unlinked temporary file. */
static void
capture_start(void)
{
	char	 path[] = "/tmp/test_log.XXXXXX";

	capture_fd = mkstemp(path);
	assert_true(capture_fd != -1);
	unlink(path);
	saved_stderr = dup(STDERR_FILENO);
	assert_true(saved_stderr != -1);
	assert_true(dup2(capture_fd, STDERR_FILENO) != -1);
}

/* Restores fd 2 and returns what was written (caller frees). */
static char *
capture_end(size_t *lenp)
{
	char	*out;
	off_t	 size;
	ssize_t	 n;

	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	size = lseek(capture_fd, 0, SEEK_END);
	assert_true(size >= 0);
	out = malloc((size_t)size + 1);
	assert_non_null(out);
	n = pread(capture_fd, out, (size_t)size, 0);
	assert_int_equal(n, size);
	out[size] = '\0';
	close(capture_fd);
	*lenp = (size_t)size;
	return out;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Parses one line (without its newline) in place: a timestamp, then
 * space-separated key=value fields, values bare or quoted with the
 * escapes the log promises.  Returns 0, or -1 if the line is malformed.
 */
static int
parse_line(char *s, struct line *l)
{
	char	*p = s, *w;
	int	 hi, lo;

	memset(l, 0, sizeof(*l));
	l->ts = p;
	if ((p = strchr(p, ' ')) == NULL)
		return -1;
	*p++ = '\0';
	while (*p != '\0') {
		if (l->n == MAX_FIELDS)
			return -1;
		l->f[l->n].key = p;
		while (*p != '\0' && *p != '=' && *p != ' ' && *p != '"')
			p++;
		if (*p != '=' || p == l->f[l->n].key)
			return -1;
		*p++ = '\0';
		l->f[l->n].value = w = p;
		if (*p == '"') {
			l->f[l->n].quoted = 1;
			l->f[l->n].value = w = ++p;
			for (;;) {
				if (*p == '\0')
					return -1;
				if ((unsigned char)*p < 0x20 ||
				    (unsigned char)*p >= 0x7f)
					return -1;
				if (*p == '"')
					break;
				if (*p != '\\') {
					*w++ = *p++;
					continue;
				}
				p++;
				switch (*p) {
				case '"':
				case '\\':
					*w++ = *p++;
					break;
				case 'n':
					*w++ = '\n';
					p++;
					break;
				case 'r':
					*w++ = '\r';
					p++;
					break;
				case 't':
					*w++ = '\t';
					p++;
					break;
				case 'x':
					if ((hi = hexval(p[1])) < 0 ||
					    (lo = hexval(p[2])) < 0)
						return -1;
					*w++ = (char)(hi << 4 | lo);
					p += 3;
					break;
				default:
					return -1;
				}
			}
			p++;
			*w = '\0';
		} else {
			while (*p != '\0' && *p != ' ') {
				if (strchr("\"=\\", *p) != NULL)
					return -1;
				p++;
			}
			if (p == w)
				return -1;
		}
		l->n++;
		if (*p == ' ') {
			*p++ = '\0';
			if (*p == '\0')
				return -1;
		} else if (*p != '\0')
			return -1;
	}
	return 0;
}

static const char *
get(const struct line *l, const char *key)
{
	size_t	 i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->f[i].key, key) == 0)
			return l->f[i].value;
	return NULL;
}

/* Splits out into lines; checks each ends in '\n'; returns the count. */
static size_t
split_lines(char *out, size_t len, char **lines, size_t max)
{
	size_t	 n = 0;
	char	*p = out, *nl;

	assert_true(len > 0);
	assert_int_equal(out[len - 1], '\n');
	while (p < out + len) {
		nl = memchr(p, '\n', (size_t)(out + len - p));
		assert_non_null(nl);
		*nl = '\0';
		assert_true(n < max);
		lines[n++] = p;
		p = nl + 1;
	}
	return n;
}

/* Captures exactly one line and parses it into l; returns the buffer. */
static char *
one_line(struct line *l, size_t *lenp)
{
	char	*out, *lines[4];

	out = capture_end(lenp);
	assert_int_equal(split_lines(out, *lenp, lines, 4), 1);
	assert_int_equal(parse_line(lines[0], l), 0);
	return out;
}

static int
setup(void **state)
{
	(void)state;
	log_init("websands-test", LOG_DEBUG);
	log_set_request_id(NULL);
	return 0;
}

static void
test_fixed_fields(void **state)
{
	struct line	 l;
	size_t		 len;
	char		*out;
	const char	*t;

	(void)state;
	capture_start();
	log_event(LOG_INFO, "login", "user", "42", NULL);
	out = one_line(&l, &len);
	t = l.ts;
	/* 2026-12-03T13:06:22.123Z */
	assert_int_equal(strlen(t), 24);
	assert_int_equal(t[4], '-');
	assert_int_equal(t[10], 'T');
	assert_int_equal(t[19], '.');
	assert_int_equal(t[23], 'Z');
	assert_int_equal(l.n, 5);
	assert_string_equal(l.f[0].key, "level");
	assert_string_equal(l.f[0].value, "info");
	assert_string_equal(l.f[1].key, "component");
	assert_string_equal(l.f[1].value, "websands-test");
	assert_string_equal(l.f[2].key, "request_id");
	assert_string_equal(l.f[2].value, "-");
	assert_string_equal(l.f[3].key, "event");
	assert_string_equal(l.f[3].value, "login");
	assert_string_equal(l.f[4].key, "user");
	assert_string_equal(l.f[4].value, "42");
	free(out);
}

static void
test_hostile_values_round_trip(void **state)
{
	static const char *const values[] = {
		"line one\nlevel=error event=forged",
		"carriage\rreturn",
		"say \"hi\"",
		"key=value",
		"back\\slash\\",
		"%s%n%x%p",
		"tab\there",
		"\x01\x02\x1b[31mred\x7f",
		"caf\xc3\xa9 \xff\xfe\x80",
		"",
		" leading and trailing ",
		"\"}",
		"plain-value_1.2:3/4@5+6",
	};
	char		 key[16], *out;
	struct line	 l;
	size_t		 i, len;

	(void)state;
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		snprintf(key, sizeof(key), "k%zu", i);
		capture_start();
		log_event(LOG_WARN, "hostile", key, values[i], "after",
		    "ok", NULL);
		out = one_line(&l, &len);
		assert_string_equal(get(&l, "level"), "warn");
		assert_string_equal(get(&l, "event"), "hostile");
		assert_non_null(get(&l, key));
		assert_string_equal(get(&l, key), values[i]);
		assert_string_equal(get(&l, "after"), "ok");
		assert_int_equal(l.n, 6);
		free(out);
	}
}

static void
test_bare_only_when_safe(void **state)
{
	struct line	 l;
	size_t		 len;
	char		*out;

	(void)state;
	capture_start();
	log_event(LOG_INFO, "e", "a", "simple", "b", "two words", "c", "",
	    NULL);
	out = one_line(&l, &len);
	assert_false(l.f[4].quoted);
	assert_true(l.f[5].quoted);
	assert_true(l.f[6].quoted);
	assert_string_equal(l.f[6].value, "");
	free(out);
}

static void
test_null_value_is_dash(void **state)
{
	struct line	 l;
	size_t		 len;
	char		*out;

	(void)state;
	capture_start();
	log_event(LOG_INFO, "e", "missing", (const char *)NULL, "next", "x",
	    NULL);
	out = one_line(&l, &len);
	assert_string_equal(get(&l, "missing"), "-");
	assert_string_equal(get(&l, "next"), "x");
	free(out);
}

static void
test_request_id_field(void **state)
{
	struct line	 l;
	size_t		 len;
	char		*out;

	(void)state;
	log_set_request_id("req \"1\"\n");
	assert_string_equal(log_request_id(), "req \"1\"\n");
	capture_start();
	log_event(LOG_INFO, "e", NULL);
	out = one_line(&l, &len);
	assert_string_equal(get(&l, "request_id"), "req \"1\"\n");
	free(out);
	log_set_request_id(NULL);
	assert_null(log_request_id());
}

static void *
rid_thread(void *arg)
{
	const char	**seen = arg;

	*seen = log_request_id();
	log_set_request_id("thread-id");
	return NULL;
}

static void
test_request_id_is_per_thread(void **state)
{
	pthread_t	 t;
	const char	*seen = "unset";

	(void)state;
	log_set_request_id("main-id");
	assert_int_equal(pthread_create(&t, NULL, rid_thread, &seen), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_null(seen);
	assert_string_equal(log_request_id(), "main-id");
	log_set_request_id(NULL);
}

static void
test_level_filter(void **state)
{
	struct line	 l;
	size_t		 len;
	char		*out;

	(void)state;
	log_init("websands-test", LOG_WARN);
	capture_start();
	log_event(LOG_DEBUG, "dropped", NULL);
	log_event(LOG_INFO, "dropped", NULL);
	log_event(LOG_ERROR, "kept", NULL);
	out = one_line(&l, &len);
	assert_string_equal(get(&l, "level"), "error");
	assert_string_equal(get(&l, "event"), "kept");
	free(out);
	log_init("websands-test", LOG_DEBUG);
}

static void
test_errno_kept(void **state)
{
	size_t	 len;

	(void)state;
	capture_start();
	errno = EADDRINUSE;
	log_event(LOG_INFO, "e", "k", "v\n", NULL);
	assert_int_equal(errno, EADDRINUSE);
	errno = 0;
	free(capture_end(&len));
}

static void
test_long_value_truncated(void **state)
{
	struct line	 l;
	size_t		 len, n;
	char		*big, *out;
	const char	*v;

	(void)state;
	big = malloc(20001);
	assert_non_null(big);
	memset(big, 'a', 20000);
	big[20000] = '\0';
	capture_start();
	log_event(LOG_INFO, "e", "big", big, "after", "kept", NULL);
	out = one_line(&l, &len);
	assert_true(len <= 8192);
	v = get(&l, "big");
	n = strlen(v);
	assert_true(n > 100 && n < 8192);
	assert_string_equal(v + n - 3, "...");
	assert_memory_equal(v, big, n - 3);
	assert_string_equal(get(&l, "after"), "kept");
	free(out);
	free(big);
}

static void
test_long_quoted_value_truncated(void **state)
{
	struct line	 l;
	size_t		 len, n, i;
	char		*big, *out;
	const char	*v;

	(void)state;
	big = malloc(9001);
	assert_non_null(big);
	memset(big, '\n', 9000);
	big[9000] = '\0';
	capture_start();
	log_event(LOG_INFO, "e", "nl", big, NULL);
	out = one_line(&l, &len);
	assert_true(len <= 8192);
	v = get(&l, "nl");
	n = strlen(v);
	assert_true(n > 100);
	assert_string_equal(v + n - 3, "...");
	for (i = 0; i < n - 3; i++)
		assert_int_equal(v[i], '\n');
	free(out);
	free(big);
}

static void
test_line_capped_with_marker(void **state)
{
	struct line	 l;
	size_t		 len;
	char		 big[1500], *out;

	(void)state;
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	capture_start();
	log_event(LOG_INFO, "e", "a", big, "b", big, "c", big, "d", big,
	    "e", big, "f", big, "g", big, "h", big, NULL);
	out = one_line(&l, &len);
	assert_true(len <= 8192);
	assert_string_equal(get(&l, "a"), big);
	assert_string_equal(get(&l, "truncated"), "true");
	assert_null(get(&l, "h"));
	free(out);
}

static void
test_keys_sanitized(void **state)
{
	struct line	 l;
	size_t		 len;
	char		*out;

	(void)state;
	capture_start();
	log_event(LOG_INFO, "e", "bad key=\"x\"\n", "v", "", "empty", NULL);
	out = one_line(&l, &len);
	assert_string_equal(get(&l, "bad_key__x__"), "v");
	assert_string_equal(get(&l, "_"), "empty");
	free(out);
}

static void
test_event_and_component_escaped(void **state)
{
	struct line	 l;
	size_t		 len;
	char		*out;

	(void)state;
	log_init("odd component", LOG_DEBUG);
	capture_start();
	log_event(LOG_INFO, "ev\nlevel=error", NULL);
	out = one_line(&l, &len);
	assert_string_equal(get(&l, "component"), "odd component");
	assert_string_equal(get(&l, "event"), "ev\nlevel=error");
	assert_string_equal(get(&l, "level"), "info");
	free(out);
	log_init("websands-test", LOG_DEBUG);
}

#define THREADS		8
#define PER_THREAD	300

static void *
log_thread(void *arg)
{
	char	 id[32];
	int	 i;

	snprintf(id, sizeof(id), "t%d", (int)(intptr_t)arg);
	log_set_request_id(id);
	for (i = 0; i < PER_THREAD; i++)
		log_event(LOG_INFO, "spam", "text", "x y\nz \"q\"", "pad",
		    "0123456789012345678901234567890123456789", NULL);
	return NULL;
}

static void
test_threads_never_interleave(void **state)
{
	pthread_t	 t[THREADS];
	struct line	 l;
	size_t		 len, n, i;
	char		*out, **lines;
	int		 per[THREADS] = { 0 }, k;

	(void)state;
	capture_start();
	for (k = 0; k < THREADS; k++)
		assert_int_equal(pthread_create(&t[k], NULL, log_thread,
		    (void *)(intptr_t)k), 0);
	for (k = 0; k < THREADS; k++)
		assert_int_equal(pthread_join(t[k], NULL), 0);
	out = capture_end(&len);
	lines = calloc(THREADS * PER_THREAD + 1, sizeof(*lines));
	assert_non_null(lines);
	n = split_lines(out, len, lines, THREADS * PER_THREAD + 1);
	assert_int_equal(n, THREADS * PER_THREAD);
	for (i = 0; i < n; i++) {
		assert_int_equal(parse_line(lines[i], &l), 0);
		assert_string_equal(get(&l, "text"), "x y\nz \"q\"");
		k = atoi(get(&l, "request_id") + 1);
		assert_true(k >= 0 && k < THREADS);
		per[k]++;
	}
	for (k = 0; k < THREADS; k++)
		assert_int_equal(per[k], PER_THREAD);
	free(lines);
	free(out);
}

static void
test_escape_function(void **state)
{
	char	 out[64], small[8];

	(void)state;
	log_escape(out, sizeof(out), "abc");
	assert_string_equal(out, "abc");
	log_escape(out, sizeof(out), "a b");
	assert_string_equal(out, "\"a b\"");
	log_escape(out, sizeof(out), "\"\\\n\r\t\x01\xe9");
	assert_string_equal(out, "\"\\\"\\\\\\n\\r\\t\\x01\\xe9\"");
	log_escape(out, sizeof(out), NULL);
	assert_string_equal(out, "-");
	log_escape(small, sizeof(small), "abcdefghijkl");
	assert_string_equal(small, "abcd...");
	log_escape(small, sizeof(small), "a\nbcdefghij");
	assert_string_equal(small, "\"a...\"");
}

static void
test_level_names(void **state)
{
	(void)state;
	assert_string_equal(log_level_name(LOG_DEBUG), "debug");
	assert_string_equal(log_level_name(LOG_INFO), "info");
	assert_string_equal(log_level_name(LOG_WARN), "warn");
	assert_string_equal(log_level_name(LOG_ERROR), "error");
	assert_null(log_level_name((enum log_level)7));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_fixed_fields, setup),
		cmocka_unit_test_setup(test_hostile_values_round_trip, setup),
		cmocka_unit_test_setup(test_bare_only_when_safe, setup),
		cmocka_unit_test_setup(test_null_value_is_dash, setup),
		cmocka_unit_test_setup(test_request_id_field, setup),
		cmocka_unit_test_setup(test_request_id_is_per_thread, setup),
		cmocka_unit_test_setup(test_level_filter, setup),
		cmocka_unit_test_setup(test_errno_kept, setup),
		cmocka_unit_test_setup(test_long_value_truncated, setup),
		cmocka_unit_test_setup(test_long_quoted_value_truncated,
		    setup),
		cmocka_unit_test_setup(test_line_capped_with_marker, setup),
		cmocka_unit_test_setup(test_keys_sanitized, setup),
		cmocka_unit_test_setup(test_event_and_component_escaped,
		    setup),
		cmocka_unit_test_setup(test_threads_never_interleave, setup),
		cmocka_unit_test_setup(test_escape_function, setup),
		cmocka_unit_test_setup(test_level_names, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
