/*
 * Unit tests of the shared-memory metrics: forked children stand in
 * for sibling processes, each with its own file in a scratch directory;
 * the rendered Prometheus text is checked line by line and parsed back
 * to assert the sums (counters of every process, gauges of the live
 * ones only).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "error.h"
#include "metrics.h"

static char	 dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_metrics.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int
teardown(void **state)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[512];
	int		 tries;

	(void)state;
	metrics_close();
	/* Unlinking while reading a directory may skip entries: retry. */
	for (tries = 0; tries < 5 && rmdir(dir) != 0; tries++) {
		assert_non_null(d = opendir(dir));
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir,
			    de->d_name);
			unlink(path);
		}
		closedir(d);
	}
	assert_true(tries < 5);
	return 0;
}

/* How many *.metrics files dir holds. */
static int
count_files(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;
	size_t		 len;

	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len > 8 && strcmp(de->d_name + len - 8, ".metrics") == 0)
			n++;
	}
	closedir(d);
	return n;
}

/*
 * Checks the exposition text: every line is a comment or a sample
 * "name{k="v",...} value", each metric family has exactly one # TYPE
 * line, before its samples.
 */
static void
check_format(const char *text)
{
	char		 types[256][80], name[80];
	const char	*p = text, *nl, *q;
	char		*end;
	size_t		 ntypes = 0, i, n;
	int		 found;

	while (*p != '\0') {
		nl = strchr(p, '\n');
		assert_non_null(nl);
		if (strncmp(p, "# TYPE ", 7) == 0) {
			q = strchr(p + 7, ' ');
			assert_true(q != NULL && q < nl);
			n = (size_t)(q - (p + 7));
			assert_true(n < sizeof(name));
			memcpy(name, p + 7, n);
			name[n] = '\0';
			for (i = 0; i < ntypes; i++)
				assert_string_not_equal(types[i], name);
			assert_true(ntypes < 256);
			strcpy(types[ntypes++], name);
		} else if (strncmp(p, "# HELP ", 7) != 0) {
			q = p;
			while (*q != '{' && q < nl)
				q++;
			assert_true(*q == '{');
			n = (size_t)(q - p);
			assert_true(n < sizeof(name));
			memcpy(name, p, n);
			name[n] = '\0';
			/* The family: histograms add _bucket, _sum, _count. */
			found = 0;
			for (i = 0; i < ntypes; i++)
				if (strncmp(name, types[i],
				    strlen(types[i])) == 0)
					found = 1;
			assert_true(found);
			/* Labels: k="v" with \\ \" \n escapes only. */
			q++;
			while (*q != '}') {
				while (*q != '=')
					assert_true(*q++ != '\n');
				assert_int_equal(q[1], '"');
				for (q += 2; *q != '"'; q++) {
					assert_true(*q != '\n');
					if (*q == '\\') {
						q++;
						assert_non_null(strchr("\\\"n",
						    *q));
					}
				}
				q++;
				if (*q == ',')
					q++;
			}
			assert_int_equal(q[1], ' ');
			strtod(q + 2, &end);
			assert_true(end == nl);
		}
		p = nl + 1;
	}
}

/* The value of the sample series (name{labels}), or -1 if absent. */
static double
value_of(const char *text, const char *series)
{
	const char	*p = text;
	size_t		 n = strlen(series);

	while (p != NULL && *p != '\0') {
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return -1;
}

/* Renders dir and returns the text (caller frees); checks the format. */
static char *
render(void)
{
	struct buf	 out;

	buf_init(&out, 0);
	assert_int_equal(metrics_render(dir, &out), 0);
	check_format(buf_str(&out));
	return out.data != NULL ? out.data : strdup("");
}

struct child {
	pid_t	 pid;
	int	 hold;		/* closing it lets the child exit */
};

/* The hold pipes still open, which a new child must not keep open. */
static int	 holds[8];
static size_t	 nholds;

/*
 * Forks a process of component that opens its metrics, records nreq
 * requests of GET /y, counts logins and sets a gauge, then either exits
 * (stay == 0, reaped before returning) or waits until released.
 */
static void
spawn(struct child *c, const char *component, int nreq, long logins,
    long gauge, int stay)
{
	int	 ready[2], hold[2], i, status;
	char	 b;

	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(hold), 0);
	c->pid = fork();
	assert_true(c->pid != -1);
	if (c->pid == 0) {
		close(ready[0]);
		close(hold[1]);
		for (i = 0; i < (int)nholds; i++)
			close(holds[i]);
		if (metrics_open(dir, component) != 0)
			_exit(2);
		for (i = 0; i < nreq; i++)
			metrics_request("/y", "GET", 200, 0.02);
		metrics_count("websands_logins_total", "result=\"ok\"",
		    logins);
		metrics_gauge("websands_db_pool_in_use", "", gauge);
		if (write(ready[1], "r", 1) != 1)
			_exit(3);
		if (stay)
			while (read(hold[0], &b, 1) > 0)
				continue;
		_exit(0);
	}
	close(ready[1]);
	close(hold[0]);
	assert_int_equal(read(ready[0], &b, 1), 1);
	close(ready[0]);
	c->hold = hold[1];
	if (!stay) {
		close(c->hold);
		assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		return;
	}
	assert_true(nholds < sizeof(holds) / sizeof(holds[0]));
	holds[nholds++] = c->hold;
}

static void
release(struct child *c)
{
	size_t	 i;
	int	 status;

	for (i = 0; i < nholds; i++)
		if (holds[i] == c->hold)
			holds[i] = holds[--nholds];
	close(c->hold);
	assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

#define REQ(s) "websands_http_requests_total{component=\"websands-a\"," \
	"route=\"/x\",method=\"" s
#define HIST "websands_http_request_duration_seconds"
#define AX "{component=\"websands-a\",route=\"/x\",method=\"GET\""

static void
test_one_process_requests(void **state)
{
	char	*t;

	(void)state;
	assert_int_equal(metrics_open(dir, "websands-a"), 0);
	metrics_request("/x", "GET", 200, 0.003);
	metrics_request("/x", "GET", 204, 0.02);
	metrics_request("/x", "GET", 404, 0.7);
	metrics_request("/x", "POST", 401, 9.0);
	t = render();
	assert_true(value_of(t, REQ("GET\",status=\"2xx\"}")) == 2);
	assert_true(value_of(t, REQ("GET\",status=\"4xx\"}")) == 1);
	assert_true(value_of(t, REQ("POST\",status=\"4xx\"}")) == 1);
	assert_true(value_of(t, REQ("GET\",status=\"5xx\"}")) == -1);
	assert_true(value_of(t, HIST "_bucket" AX ",le=\"0.005\"}") == 1);
	assert_true(value_of(t, HIST "_bucket" AX ",le=\"0.01\"}") == 1);
	assert_true(value_of(t, HIST "_bucket" AX ",le=\"0.025\"}") == 2);
	assert_true(value_of(t, HIST "_bucket" AX ",le=\"0.5\"}") == 2);
	assert_true(value_of(t, HIST "_bucket" AX ",le=\"1\"}") == 3);
	assert_true(value_of(t, HIST "_bucket" AX ",le=\"+Inf\"}") == 3);
	assert_true(value_of(t, HIST "_count" AX "}") == 3);
	assert_float_equal(value_of(t, HIST "_sum" AX "}"), 0.723, 1e-9);
	assert_true(value_of(t, "websands_processes{component="
	    "\"websands-a\"}") == 1);
	free(t);
}

static void
test_counters_and_gauges(void **state)
{
	char	*t;

	(void)state;
	assert_int_equal(metrics_open(dir, "websands-a"), 0);
	metrics_count("websands_logins_total", "result=\"ok\"", 3);
	metrics_count("websands_logins_total", "result=\"ok\"", 2);
	metrics_count("websands_logins_total", "result=\"fail\"", 1);
	metrics_count("websands_logins_total", "result=\"ok\"", -5);
	metrics_count("websands_lockouts_total", "", 0);
	metrics_gauge("websands_outbox_backlog", "", 9);
	metrics_gauge("websands_outbox_backlog", "", 4);
	t = render();
	assert_true(value_of(t, "websands_logins_total{component="
	    "\"websands-a\",result=\"ok\"}") == 5);
	assert_true(value_of(t, "websands_logins_total{component="
	    "\"websands-a\",result=\"fail\"}") == 1);
	assert_true(value_of(t, "websands_lockouts_total{component="
	    "\"websands-a\"}") == 0);
	assert_true(value_of(t, "websands_outbox_backlog{component="
	    "\"websands-a\"}") == 4);
	assert_non_null(strstr(t, "# TYPE websands_logins_total counter\n"));
	assert_non_null(strstr(t, "# TYPE websands_outbox_backlog gauge\n"));
	free(t);
}

#define BY(s) "{component=\"websands-b\"" s "}"

static void
test_processes_add_up(void **state)
{
	struct child	 live, dead;
	char		*t;

	(void)state;
	assert_int_equal(metrics_open(dir, "websands-a"), 0);
	metrics_count("websands_logins_total", "result=\"ok\"", 10);
	metrics_gauge("websands_db_pool_in_use", "", 1);
	/* One sibling keeps running, the other has exited. */
	spawn(&live, "websands-b", 2, 20, 5, 1);
	spawn(&dead, "websands-b", 3, 300, 7, 0);
	assert_int_equal(count_files(), 3);
	t = render();
	assert_true(value_of(t, "websands_http_requests_total"
	    BY(",route=\"/y\",method=\"GET\",status=\"2xx\"")) == 5);
	assert_true(value_of(t, HIST "_count"
	    BY(",route=\"/y\",method=\"GET\"")) == 5);
	assert_true(value_of(t, "websands_logins_total"
	    BY(",result=\"ok\"")) == 320);
	assert_true(value_of(t, "websands_logins_total{component="
	    "\"websands-a\",result=\"ok\"}") == 10);
	/* The dead process's gauge no longer counts. */
	assert_true(value_of(t, "websands_db_pool_in_use" BY("")) == 5);
	assert_true(value_of(t, "websands_db_pool_in_use{component="
	    "\"websands-a\"}") == 1);
	assert_true(value_of(t, "websands_processes" BY("")) == 1);
	assert_true(value_of(t, "websands_processes{component="
	    "\"websands-a\"}") == 1);
	free(t);

	release(&live);
	t = render();
	assert_true(value_of(t, "websands_logins_total"
	    BY(",result=\"ok\"")) == 320);
	assert_true(value_of(t, "websands_db_pool_in_use" BY("")) == -1);
	assert_true(value_of(t, "websands_processes" BY("")) == 0);
	free(t);
}

static void
test_dead_file_adopted(void **state)
{
	struct child	 first, second, third;
	char		*t;

	(void)state;
	spawn(&first, "websands-b", 1, 1, 7, 0);
	assert_int_equal(count_files(), 1);
	/* A new process takes over the dead one's file, counters and all. */
	spawn(&second, "websands-b", 2, 10, 3, 1);
	assert_int_equal(count_files(), 1);
	t = render();
	assert_true(value_of(t, "websands_logins_total"
	    BY(",result=\"ok\"")) == 11);
	assert_true(value_of(t, "websands_http_requests_total"
	    BY(",route=\"/y\",method=\"GET\",status=\"2xx\"")) == 3);
	assert_true(value_of(t, "websands_db_pool_in_use" BY("")) == 3);
	assert_true(value_of(t, "websands_processes" BY("")) == 1);
	free(t);
	/* While it lives, a third gets a file of its own. */
	spawn(&third, "websands-b", 0, 100, 4, 1);
	assert_int_equal(count_files(), 2);
	t = render();
	assert_true(value_of(t, "websands_logins_total"
	    BY(",result=\"ok\"")) == 111);
	assert_true(value_of(t, "websands_db_pool_in_use" BY("")) == 7);
	assert_true(value_of(t, "websands_processes" BY("")) == 2);
	free(t);
	release(&second);
	release(&third);
}

static void
test_foreign_files_not_adopted(void **state)
{
	struct child	 other;
	struct stat	 st;
	char		 from[256], to[256], junk[4096], *t;
	int		 fd;

	(void)state;
	/* A dead websands-b file renamed to look like websands-a's. */
	spawn(&other, "websands-b", 1, 6, 0, 0);
	snprintf(from, sizeof(from), "%s/websands-b.%ld.metrics", dir,
	    (long)other.pid);
	snprintf(to, sizeof(to), "%s/websands-a.1.metrics", dir);
	assert_int_equal(rename(from, to), 0);
	/* And a file of the right name but the wrong size. */
	memset(junk, 0x41, sizeof(junk));
	snprintf(to, sizeof(to), "%s/websands-a.2.metrics", dir);
	assert_true((fd = open(to, O_CREAT | O_WRONLY, 0644)) != -1);
	assert_int_equal(write(fd, junk, sizeof(junk)), sizeof(junk));
	close(fd);
	assert_int_equal(metrics_open(dir, "websands-a"), 0);
	assert_int_equal(count_files(), 3);
	assert_int_equal(stat(to, &st), 0);
	assert_int_equal(st.st_size, sizeof(junk));
	t = render();
	assert_true(value_of(t, "websands_logins_total"
	    BY(",result=\"ok\"")) == 6);
	free(t);
}

static void
test_label_values_escaped(void **state)
{
	char	*t;

	(void)state;
	assert_int_equal(metrics_open(dir, "websands-a"), 0);
	metrics_request("/q\"uo\\te\nx", "GET", 500, 0.1);
	metrics_request(NULL, "BREW", 405, 0.1);
	metrics_request("/x", NULL, 200, 0.1);
	t = render();
	assert_true(value_of(t, "websands_http_requests_total{component="
	    "\"websands-a\",route=\"/q\\\"uo\\\\te\\nx\",method=\"GET\","
	    "status=\"5xx\"}") == 1);
	assert_true(value_of(t, "websands_http_requests_total{component="
	    "\"websands-a\",route=\"unmatched\",method=\"OTHER\","
	    "status=\"4xx\"}") == 1);
	assert_true(value_of(t, "websands_http_requests_total{component="
	    "\"websands-a\",route=\"/x\",method=\"OTHER\","
	    "status=\"2xx\"}") == 1);
	free(t);
}

static void
test_bad_names_dropped(void **state)
{
	char	*t;

	(void)state;
	assert_int_equal(metrics_open(dir, "websands-a"), 0);
	metrics_count("bad name", "", 1);
	metrics_count("1bad", "", 1);
	metrics_count("websands_x_total", "a=\"unterminated", 1);
	metrics_count("websands_x_total", "a=\"v\"} 99\nevil{b=\"", 1);
	metrics_count("websands_x_total", "a=\"v\",", 1);
	metrics_count("websands_x_total", "a=\"ok\\\"\",b=\"2\"", 1);
	/* One name cannot be both a counter and a gauge. */
	metrics_gauge("websands_x_total", "", 5);
	t = render();
	assert_null(strstr(t, "bad name"));
	assert_null(strstr(t, "1bad"));
	assert_null(strstr(t, "evil"));
	assert_true(value_of(t, "websands_x_total{component="
	    "\"websands-a\",a=\"ok\\\"\",b=\"2\"}") == 1);
	assert_true(value_of(t, "websands_x_total{component="
	    "\"websands-a\"}") == -1);
	free(t);
}

static void
test_full_tables_drop(void **state)
{
	char	 route[32], name[32], *t;
	int	 i;

	(void)state;
	assert_int_equal(metrics_open(dir, "websands-a"), 0);
	for (i = 0; i < 70; i++) {
		snprintf(route, sizeof(route), "/r%d", i);
		metrics_request(route, "GET", 200, 0.001);
	}
	for (i = 0; i < 140; i++) {
		snprintf(name, sizeof(name), "websands_c%d_total", i);
		metrics_count(name, "", 1);
	}
	t = render();
	assert_true(value_of(t, "websands_http_requests_total{component="
	    "\"websands-a\",route=\"/r63\",method=\"GET\","
	    "status=\"2xx\"}") == 1);
	assert_true(value_of(t, "websands_http_requests_total{component="
	    "\"websands-a\",route=\"/r64\",method=\"GET\","
	    "status=\"2xx\"}") == -1);
	assert_true(value_of(t, "websands_c127_total{component="
	    "\"websands-a\"}") == 1);
	assert_true(value_of(t, "websands_c128_total{component="
	    "\"websands-a\"}") == -1);
	free(t);
}

static void
test_garbage_files_ignored(void **state)
{
	char	 path[256], junk[4096], *t;
	int	 fd;

	(void)state;
	assert_int_equal(metrics_open(dir, "websands-a"), 0);
	metrics_count("websands_y_total", "", 1);
	memset(junk, 0x41, sizeof(junk));
	snprintf(path, sizeof(path), "%s/junk.1.metrics", dir);
	assert_true((fd = open(path, O_CREAT | O_WRONLY, 0644)) != -1);
	assert_int_equal(write(fd, junk, sizeof(junk)), sizeof(junk));
	close(fd);
	snprintf(path, sizeof(path), "%s/empty.2.metrics", dir);
	assert_true((fd = open(path, O_CREAT | O_WRONLY, 0644)) != -1);
	close(fd);
	snprintf(path, sizeof(path), "%s/notes.txt", dir);
	assert_true((fd = open(path, O_CREAT | O_WRONLY, 0644)) != -1);
	close(fd);
	t = render();
	assert_true(value_of(t, "websands_y_total{component="
	    "\"websands-a\"}") == 1);
	assert_null(strstr(t, "junk"));
	free(t);
}

static void
test_open_rejects_bad_component(void **state)
{
	(void)state;
	assert_int_equal(metrics_open(dir, "../escape"), WS_ERR_INVALID);
	assert_int_equal(metrics_open(dir, "a/b"), WS_ERR_INVALID);
	assert_int_equal(metrics_open(dir, "a.1"), WS_ERR_INVALID);
	assert_int_equal(metrics_open(dir, ""), WS_ERR_INVALID);
	assert_int_equal(metrics_open(NULL, "websands-a"), WS_ERR_INVALID);
	assert_int_equal(count_files(), 0);
}

static void
test_open_creates_directory(void **state)
{
	char		 sub[128];
	struct stat	 st;
	struct buf	 out;

	(void)state;
	snprintf(sub, sizeof(sub), "%s/deeper/still", dir);
	assert_int_equal(metrics_open(sub, "websands-a"), 0);
	assert_int_equal(stat(sub, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	metrics_count("websands_z_total", "", 2);
	buf_init(&out, 0);
	assert_int_equal(metrics_render(sub, &out), 0);
	assert_non_null(strstr(buf_str(&out), "websands_z_total{component="
	    "\"websands-a\"} 2\n"));
	buf_cleanup(&out);
	metrics_close();
	/* Clean the nested directories here; teardown removes dir. */
	snprintf(sub, sizeof(sub), "%s/deeper/still/websands-a.%ld.metrics",
	    dir, (long)getpid());
	assert_int_equal(unlink(sub), 0);
	snprintf(sub, sizeof(sub), "%s/deeper/still", dir);
	assert_int_equal(rmdir(sub), 0);
	snprintf(sub, sizeof(sub), "%s/deeper", dir);
	assert_int_equal(rmdir(sub), 0);
}

static void
test_closed_records_nothing(void **state)
{
	struct buf	 out;
	char		*t;

	(void)state;
	metrics_close();
	metrics_request("/x", "GET", 200, 0.1);
	metrics_count("websands_c_total", "", 1);
	metrics_gauge("websands_g", "", 1);
	t = render();
	assert_null(strstr(t, "component="));
	free(t);
	buf_init(&out, 0);
	assert_int_equal(metrics_render("/nonexistent/dir", &out),
	    WS_ERR_IO);
	buf_cleanup(&out);
}

#define THREADS		8
#define PER_THREAD	20000

static void *
count_thread(void *arg)
{
	int	 i;

	(void)arg;
	for (i = 0; i < PER_THREAD; i++) {
		metrics_count("websands_race_total", "", 1);
		metrics_request("/race", "GET", 200, 0.001);
	}
	return NULL;
}

static void
test_threads_count_exactly(void **state)
{
	pthread_t	 t[THREADS];
	char		*text;
	int		 i;

	(void)state;
	assert_int_equal(metrics_open(dir, "websands-a"), 0);
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, count_thread,
		    NULL), 0);
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	text = render();
	assert_true(value_of(text, "websands_race_total{component="
	    "\"websands-a\"}") == THREADS * PER_THREAD);
	assert_true(value_of(text, HIST "_count{component=\"websands-a\","
	    "route=\"/race\",method=\"GET\"}") == THREADS * PER_THREAD);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_one_process_requests),
		T(test_counters_and_gauges),
		T(test_processes_add_up),
		T(test_dead_file_adopted),
		T(test_foreign_files_not_adopted),
		T(test_label_values_escaped),
		T(test_bad_names_dropped),
		T(test_full_tables_drop),
		T(test_garbage_files_ignored),
		T(test_open_rejects_bad_component),
		T(test_open_creates_directory),
		T(test_closed_records_nothing),
		T(test_threads_count_exactly),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
