/*
 * No secret in any log.  Named to run after every other integration
 * test: the auth tests append each password, access token, refresh
 * token and mailed token they used to $WS_RUN_DIR/secrets.txt, one a
 * line, and this test looks for every one of them in every log of the
 * stack: each file ending in .log in $WS_RUN_DIR and in its nginx/.
 *
 * The logs and the list both grow with every run on one state
 * directory, so rather than one search per secret the logs are read
 * once: each secret is indexed by a window of WINDOW bytes from its
 * middle, a rolling hash finds where such a window occurs, and only
 * there is the whole secret compared.
 */
#define _GNU_SOURCE

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "itest.h"

#define WINDOW		16
/* Shorter secrets would match by chance; the tests make none. */
#define SECRET_MIN	WINDOW
#define LOG_MAX		(512u * 1024 * 1024)
#define HASH_BASE	1099511628211ULL
#define REPORT_MAX	20

struct secret {
	char		*s;
	size_t		 len;
	size_t		 off;	/* where its window starts */
	uint64_t	 h;	/* the window's hash */
	struct secret	*next;	/* in its bucket */
};

struct index {
	struct secret	*all;
	size_t		 n;
	struct secret	**bucket;
	size_t		 nbucket;	/* a power of two */
	uint64_t	 top;		/* HASH_BASE^(WINDOW-1) */
};

static uint64_t
window_hash(const unsigned char *p)
{
	uint64_t	 h = 0;
	size_t		 i;

	for (i = 0; i < WINDOW; i++)
		h = h * HASH_BASE + p[i];
	return h;
}

/* Reads a whole file into b; 0, or -1 with errno. */
static int
read_file(const char *path, struct buf *b)
{
	char	 chunk[65536];
	ssize_t	 n;
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
		if (buf_append(b, chunk, (size_t)n) != 0) {
			errno = EFBIG;
			goto out;
		}
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char * const *)a, *(char * const *)b);
}

/* Loads secrets.txt into ix; 0, or -1 when there is no list. */
static int
index_load(struct index *ix, const char *path)
{
	struct buf	 text;
	char		*p, *nl, **lines = NULL;
	size_t		 n = 0, cap = 0, i, b;
	uint64_t	 top = 1;

	memset(ix, 0, sizeof(*ix));
	buf_init(&text, LOG_MAX);
	if (read_file(path, &text) != 0) {
		buf_cleanup(&text);
		return -1;
	}
	for (p = text.data; p != NULL && *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		if ((size_t)(nl - p) >= SECRET_MIN) {
			if (n == cap) {
				cap = cap ? cap * 2 : 256;
				lines = realloc(lines, cap * sizeof(*lines));
				assert_non_null(lines);
			}
			lines[n] = strndup(p, (size_t)(nl - p));
			assert_non_null(lines[n]);
			n++;
		}
		if (*nl == '\0')
			break;
	}
	buf_cleanup(&text);
	/* The same token is often recorded twice; keep each once. */
	if (n > 0)
		qsort(lines, n, sizeof(*lines), cmp_str);
	ix->all = calloc(n > 0 ? n : 1, sizeof(*ix->all));
	assert_non_null(ix->all);
	for (i = 0; i < n; i++) {
		if (ix->n > 0 && strcmp(lines[i], ix->all[ix->n - 1].s) == 0) {
			free(lines[i]);
			continue;
		}
		ix->all[ix->n].s = lines[i];
		ix->all[ix->n].len = strlen(lines[i]);
		ix->all[ix->n].off = (ix->all[ix->n].len - WINDOW) / 2;
		ix->all[ix->n].h = window_hash((const unsigned char *)
		    lines[i] + ix->all[ix->n].off);
		ix->n++;
	}
	free(lines);
	for (ix->nbucket = 1024; ix->nbucket < ix->n * 2; ix->nbucket *= 2)
		;
	ix->bucket = calloc(ix->nbucket, sizeof(*ix->bucket));
	assert_non_null(ix->bucket);
	for (i = 0; i < ix->n; i++) {
		b = ix->all[i].h & (ix->nbucket - 1);
		ix->all[i].next = ix->bucket[b];
		ix->bucket[b] = &ix->all[i];
	}
	for (i = 1; i < WINDOW; i++)
		top *= HASH_BASE;
	ix->top = top;
	return 0;
}

static void
index_free(struct index *ix)
{
	size_t	 i;

	for (i = 0; i < ix->n; i++)
		free(ix->all[i].s);
	free(ix->all);
	free(ix->bucket);
}

/* The line number of offset off in d. */
static size_t
line_of(const unsigned char *d, size_t off)
{
	size_t	 i, line = 1;

	for (i = 0; i < off; i++)
		if (d[i] == '\n')
			line++;
	return line;
}

/*
 * Counts the secrets found in the log at path, printing where each is
 * (the line, and only the first characters of the secret).
 */
static int
scan_log(const struct index *ix, const char *path, int *reported)
{
	struct buf		 log;
	const unsigned char	*d;
	const struct secret	*s;
	uint64_t		 h = 0;
	size_t			 i, start, line;
	int			 found = 0;

	buf_init(&log, LOG_MAX);
	if (read_file(path, &log) != 0)
		fail_msg("cannot read %s: %s", path, strerror(errno));
	d = (const unsigned char *)log.data;
	for (i = 0; i < log.len; i++) {
		if (i >= WINDOW)
			h -= ix->top * d[i - WINDOW];
		h = h * HASH_BASE + d[i];
		if (i + 1 < WINDOW)
			continue;
		start = i + 1 - WINDOW;
		for (s = ix->bucket[h & (ix->nbucket - 1)]; s != NULL;
		    s = s->next) {
			if (s->h != h || start < s->off ||
			    start - s->off + s->len > log.len ||
			    memcmp(d + start - s->off, s->s, s->len) != 0)
				continue;
			found++;
			if ((*reported)++ >= REPORT_MAX)
				continue;
			line = line_of(d, start);
			print_error("secret %.6s... (%zu bytes) in %s line "
			    "%zu\n", s->s, s->len, path, line);
		}
	}
	buf_cleanup(&log);
	return found;
}

/* Appends to paths every *.log in dir. */
static void
list_logs(const char *dir, char ***paths, size_t *n)
{
	struct dirent	*de;
	DIR		*d;
	size_t		 len;
	char		*p;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 4, ".log") != 0)
			continue;
		if (asprintf(&p, "%s/%s", dir, de->d_name) < 0)
			fail_msg("out of memory");
		*paths = realloc(*paths, (*n + 1) * sizeof(**paths));
		assert_non_null(*paths);
		(*paths)[(*n)++] = p;
	}
	closedir(d);
}

static void
test_no_secret_in_logs(void **state)
{
	struct index	 ix;
	char		 path[1024], nginx[1024], **logs = NULL;
	const char	*run = itest_env("WS_RUN_DIR");
	size_t		 nlogs = 0, i;
	int		 total = 0, reported = 0, n;

	(void)state;
	snprintf(path, sizeof(path), "%s/secrets.txt", run);
	if (index_load(&ix, path) != 0) {
		print_message("no %s: no auth test ran before this one\n",
		    path);
		skip();
	}
	list_logs(run, &logs, &nlogs);
	snprintf(nginx, sizeof(nginx), "%s/nginx", run);
	list_logs(nginx, &logs, &nlogs);
	assert_true(nlogs > 0);
	print_message("%zu secrets, %zu logs\n", ix.n, nlogs);
	for (i = 0; i < nlogs; i++) {
		if ((n = scan_log(&ix, logs[i], &reported)) > 0) {
			print_error("%d secret(s) in %s\n", n, logs[i]);
			total += n;
		}
	}
	for (i = 0; i < nlogs; i++)
		free(logs[i]);
	free(logs);
	index_free(&ix);
	if (total > 0)
		fail_msg("%d secret(s) found in the logs (see above)", total);
}

/* Writes text to path, or fails. */
static void
write_file(const char *path, const char *text)
{
	FILE	*fp;

	if ((fp = fopen(path, "we")) == NULL)
		fail_msg("cannot write %s: %s", path, strerror(errno));
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

/*
 * The scanner itself: secrets planted at the start, in the middle and
 * at the very end of a log are found, a near miss is not.
 */
static void
test_scanner_finds_planted(void **state)
{
	struct index	 ix;
	struct buf	 log, list;
	char		 dir[] = "/tmp/ws-zz-XXXXXX", spath[64], lpath[64];
	char		 jwt[701];
	int		 reported = REPORT_MAX;	/* planted: not printed */

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(spath, sizeof(spath), "%s/secrets.txt", dir);
	snprintf(lpath, sizeof(lpath), "%s/x.log", dir);
	memset(jwt, 'J', sizeof(jwt) - 1);
	jwt[sizeof(jwt) - 1] = '\0';
	jwt[350] = '.';
	buf_init(&list, 0);
	buf_init(&log, 0);
	/* Listed three times: each occurrence still counts once. */
	assert_int_equal(buf_printf(&list, "short\n0123456789abcdef\n"
	    "0123456789abcdef\n0123456789abcdef\n"
	    "Tk-00112233445566778899-9!\n%s\nTk-ffffffffffffffffffff-9!\n",
	    jwt), 0);
	write_file(spath, buf_str(&list));
	/* The last password appears with one character changed. */
	assert_int_equal(buf_printf(&log, "0123456789abcdef level=info\n"
	    "x event=login password=Tk-00112233445566778899-9! y\n"
	    "z Tk-fffffffffffffffffffe-9!\nBearer %s", jwt), 0);
	write_file(lpath, buf_str(&log));
	assert_int_equal(index_load(&ix, spath), 0);
	assert_int_equal(scan_log(&ix, lpath, &reported), 3);
	index_free(&ix);
	unlink(spath);
	unlink(lpath);
	rmdir(dir);
	buf_cleanup(&list);
	buf_cleanup(&log);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_scanner_finds_planted),
		cmocka_unit_test(test_no_secret_in_logs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
