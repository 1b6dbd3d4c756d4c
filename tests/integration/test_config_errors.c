/*
 * A responder with a missing or bad setting stops at once with a
 * message naming what is wrong (design.md 11), and never prints a
 * secret while doing so.  Each case runs the real websands-health in a
 * clean environment (env -i) so nothing leaks in from the harness.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "itest.h"

/* sysexits.h EX_CONFIG, the status of every configuration error. */
#define EXIT_CONFIG	78
#define SECRET		"s3cretpw"
#define SECRET_URL	"postgresql://u:" SECRET "@127.0.0.1:1/x"

struct fixture {
	char	 bin[4096];
	char	 dir[256];	/* scratch: metrics and config files */
	char	 file[512];	/* a config file in dir */
};

static int
setup(void **state)
{
	static struct fixture	 fx;
	const char		*build = itest_env("WS_BUILD_DIR");
	static const char * const rel[] = {
		"websands-health", "app/health/websands-health"
	};
	size_t			 i;
	int			 n;

	memset(&fx, 0, sizeof(fx));
	for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		n = snprintf(fx.bin, sizeof(fx.bin), "%s/%s", build, rel[i]);
		if (n > 0 && (size_t)n < sizeof(fx.bin) &&
		    access(fx.bin, X_OK) == 0)
			break;
		fx.bin[0] = '\0';
	}
	if (fx.bin[0] == '\0') {
		print_error("no websands-health under %s\n", build);
		return -1;
	}
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/ws-itest-config.XXXXXX");
	if (mkdtemp(fx.dir) == NULL)
		return -1;
	n = snprintf(fx.file, sizeof(fx.file), "%s/websands.env", fx.dir);
	if (n < 0 || (size_t)n >= sizeof(fx.file))
		return -1;
	*state = &fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*fx = *state;
	char		 cmd[512];
	int		 n;

	n = snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	if (n > 0 && (size_t)n < sizeof(cmd))
		(void)itest_run(cmd, NULL);
	return 0;
}

/* "NAME='value' " for the variables every case shares but DATABASE_URL. */
static void
base_vars(struct buf *b)
{
	const char	*pub = getenv("WS_PUBLIC_URL");

	assert_int_equal(buf_printf(b, "MEMCACHED_SERVERS='%s' ",
	    itest_env("WS_MEMCACHED")), 0);
	if (pub != NULL && *pub != '\0')
		assert_int_equal(buf_printf(b, "PUBLIC_URL='%s' ", pub), 0);
}

/*
 * Runs the binary with only the shared variables, vars and args, stdin
 * from /dev/null so it can never wait for a CGI body.  With both set,
 * stdout is captured too; else only stderr.  Returns the exit status.
 */
static int
run_health(const struct fixture *fx, const char *vars, const char *args,
    int both, struct buf *out)
{
	struct buf	 cmd;
	int		 rc;

	buf_init(&cmd, 0);
	assert_int_equal(buf_printf(&cmd, "timeout 10 env -i "
	    "PATH=/usr/bin:/bin METRICS_DIR='%s' ", fx->dir), 0);
	base_vars(&cmd);
	assert_int_equal(buf_printf(&cmd, "%s '%s' %s </dev/null %s",
	    vars, fx->bin, args,
	    both ? "2>&1" : "2>&1 >/dev/null"), 0);
	rc = itest_run(buf_str(&cmd), out);
	print_message("exit %d: %s", rc, buf_str(out));
	buf_cleanup(&cmd);
	return rc;
}

/* Writes text to the fixture's config file. */
static void
write_config(const struct fixture *fx, const char *text)
{
	FILE	*fp;

	fp = fopen(fx->file, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static void
test_missing_database_url(void **state)
{
	struct fixture	*fx = *state;
	struct buf	 out;

	buf_init(&out, 0);
	assert_int_equal(run_health(fx, "", "", 0, &out), EXIT_CONFIG);
	assert_non_null(strstr(buf_str(&out), "DATABASE_URL"));
	buf_cleanup(&out);
}

static void
test_pool_size_not_a_number(void **state)
{
	struct fixture	*fx = *state;
	struct buf	 vars, out;

	buf_init(&vars, 0);
	buf_init(&out, 0);
	assert_int_equal(buf_printf(&vars, "DATABASE_URL='%s' "
	    "DB_POOL_SIZE=abc", itest_env("WS_DATABASE_URL")), 0);
	assert_int_not_equal(run_health(fx, buf_str(&vars), "", 0, &out),
	    0);
	assert_non_null(strstr(buf_str(&out), "DB_POOL_SIZE"));
	buf_cleanup(&vars);
	buf_cleanup(&out);
}

static void
test_pool_size_out_of_range(void **state)
{
	struct fixture	*fx = *state;
	struct buf	 vars, out;

	buf_init(&vars, 0);
	buf_init(&out, 0);
	assert_int_equal(buf_printf(&vars, "DATABASE_URL='%s' "
	    "DB_POOL_SIZE=0", itest_env("WS_DATABASE_URL")), 0);
	assert_int_not_equal(run_health(fx, buf_str(&vars), "", 0, &out),
	    0);
	assert_non_null(strstr(buf_str(&out), "DB_POOL_SIZE"));
	buf_cleanup(&vars);
	buf_cleanup(&out);
}

static void
test_config_file_malformed_line(void **state)
{
	struct fixture	*fx = *state;
	struct buf	 text, args, out;

	buf_init(&text, 0);
	buf_init(&args, 0);
	buf_init(&out, 0);
	assert_int_equal(buf_printf(&text, "# WebSands test settings\n"
	    "DATABASE_URL=%s\nthis line assigns nothing\n",
	    itest_env("WS_DATABASE_URL")), 0);
	write_config(fx, buf_str(&text));
	assert_int_equal(buf_printf(&args, "--config '%s'", fx->file), 0);
	assert_int_not_equal(run_health(fx, "", buf_str(&args), 0, &out),
	    0);
	assert_non_null(strstr(buf_str(&out), fx->file));
	buf_cleanup(&text);
	buf_cleanup(&args);
	buf_cleanup(&out);
}

static void
test_config_file_missing(void **state)
{
	struct fixture	*fx = *state;
	struct buf	 args, out;

	buf_init(&args, 0);
	buf_init(&out, 0);
	assert_int_equal(buf_printf(&args, "--config '%s/absent.env'",
	    fx->dir), 0);
	assert_int_not_equal(run_health(fx, "", buf_str(&args), 0, &out),
	    0);
	assert_non_null(strstr(buf_str(&out), "absent.env"));
	buf_cleanup(&args);
	buf_cleanup(&out);
}

/* Another variable is bad: the message names it, not the password. */
static void
test_secret_not_in_message(void **state)
{
	struct fixture	*fx = *state;
	struct buf	 vars, out;

	buf_init(&vars, 0);
	buf_init(&out, 0);
	assert_int_equal(buf_printf(&vars, "DATABASE_URL='%s' "
	    "DB_POOL_SIZE=abc", SECRET_URL), 0);
	assert_int_not_equal(run_health(fx, buf_str(&vars), "", 1, &out),
	    0);
	assert_non_null(strstr(buf_str(&out), "DB_POOL_SIZE"));
	assert_null(strstr(buf_str(&out), SECRET));
	buf_cleanup(&vars);
	buf_cleanup(&out);
}

/*
 * A line of the file that cannot be parsed may well hold a secret, so
 * the message points at the file and line without quoting it.
 */
static void
test_secret_line_not_quoted(void **state)
{
	struct fixture	*fx = *state;
	struct buf	 args, out;

	buf_init(&args, 0);
	buf_init(&out, 0);
	write_config(fx, "DATABASE_URL " SECRET_URL "\n");
	assert_int_equal(buf_printf(&args, "--config '%s'", fx->file), 0);
	assert_int_not_equal(run_health(fx, "", buf_str(&args), 1, &out),
	    0);
	assert_non_null(strstr(buf_str(&out), fx->file));
	assert_null(strstr(buf_str(&out), SECRET));
	buf_cleanup(&args);
	buf_cleanup(&out);
}

static void
test_unknown_option(void **state)
{
	struct fixture	*fx = *state;
	struct buf	 vars, out;

	buf_init(&vars, 0);
	buf_init(&out, 0);
	assert_int_equal(buf_printf(&vars, "DATABASE_URL='%s'",
	    itest_env("WS_DATABASE_URL")), 0);
	assert_int_not_equal(run_health(fx, buf_str(&vars),
	    "--no-such-option", 0, &out), 0);
	assert_true(out.len > 0);
	buf_cleanup(&vars);
	buf_cleanup(&out);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_missing_database_url),
		cmocka_unit_test(test_pool_size_not_a_number),
		cmocka_unit_test(test_pool_size_out_of_range),
		cmocka_unit_test(test_config_file_malformed_line),
		cmocka_unit_test(test_config_file_missing),
		cmocka_unit_test(test_secret_not_in_message),
		cmocka_unit_test(test_secret_line_not_quoted),
		cmocka_unit_test(test_unknown_option),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
