/*
 * Unit tests of configuration loading: the env file format, the
 * environment winning over the file, every type's validation with a
 * message naming the variable, defaults, required values, and secrets
 * never appearing in a message.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "error.h"
#include "log.h"

struct tcfg {
	char	*str;
	long	 num;
	int	 flag;
	int	 choice;
	char	*url;
	char	*path;
	char	*secret;
	long	 secret_num;
};

static const struct config_spec tspecs[] = {
	{ .name = "T_STR", .type = CONFIG_STRING,
	  .offset = offsetof(struct tcfg, str), .help = "a string" },
	{ .name = "T_NUM", .type = CONFIG_INT,
	  .offset = offsetof(struct tcfg, num), .def = "5", .min = -3,
	  .max = 100, .help = "a number" },
	{ .name = "T_FLAG", .type = CONFIG_BOOL,
	  .offset = offsetof(struct tcfg, flag), .def = "off",
	  .help = "a flag" },
	{ .name = "T_CHOICE", .type = CONFIG_ENUM,
	  .offset = offsetof(struct tcfg, choice), .def = "b",
	  .choices = "a|b|c", .help = "a choice" },
	{ .name = "T_URL", .type = CONFIG_URL,
	  .offset = offsetof(struct tcfg, url), .help = "a URL" },
	{ .name = "T_PATH", .type = CONFIG_PATH,
	  .offset = offsetof(struct tcfg, path), .help = "a path" },
	{ .name = "T_SECRET", .type = CONFIG_URL,
	  .offset = offsetof(struct tcfg, secret),
	  .flags = CONFIG_SECRET, .help = "a secret URL" },
	{ .name = "T_SECRET_NUM", .type = CONFIG_INT,
	  .offset = offsetof(struct tcfg, secret_num), .min = 1,
	  .max = 9, .flags = CONFIG_SECRET, .help = "a secret number" },
};
#define NTSPECS	(sizeof(tspecs) / sizeof(tspecs[0]))

static char	 tmpdir[64];

static void
clear_env(void)
{
	size_t	 i;

	for (i = 0; i < NTSPECS; i++)
		unsetenv(tspecs[i].name);
	for (i = 0; i < ws_config_nspecs; i++)
		unsetenv(ws_config_specs[i].name);
	unsetenv("WEBSANDS_CONFIG");
	unsetenv("T_OTHER");
}

static int
setup(void **state)
{
	(void)state;
	clear_env();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	clear_env();
	return 0;
}

/* Writes text to a file in the scratch directory; returns its path. */
static const char *
write_file(const char *name, const char *text)
{
	static char	 path[128];
	FILE		*f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	return path;
}

/* Loads tspecs; returns the result and leaves the message in err. */
static int
load(struct tcfg *c, const char *path, char *err, size_t errlen)
{
	memset(c, 0xa5, sizeof(*c));
	return config_load(tspecs, NTSPECS, c, path, err, errlen);
}

static void
test_defaults_applied(void **state)
{
	struct ws_config	 c;
	char			 err[256];

	(void)state;
	setenv("DATABASE_URL", "postgresql://u:pw@db/websands", 1);
	assert_int_equal(config_load(ws_config_specs, ws_config_nspecs, &c,
	    NULL, err, sizeof(err)), 0);
	assert_string_equal(c.database_url, "postgresql://u:pw@db/websands");
	assert_null(c.database_read_url);
	assert_int_equal(c.db_pool_size, 8);
	assert_int_equal(c.db_acquire_timeout_ms, 1000);
	assert_int_equal(c.db_connect_timeout_s, 2);
	assert_int_equal(c.db_statement_timeout_ms, 5000);
	assert_string_equal(c.memcached_servers, "127.0.0.1:11211");
	assert_int_equal(c.memcached_timeout_ms, 100);
	assert_int_equal(c.log_level, LOG_INFO);
	assert_string_equal(c.metrics_dir, "/tmp/websands-metrics");
	assert_int_equal(c.body_limit, 16384);
	assert_null(c.trusted_proxies);
	assert_string_equal(c.public_url, "http://127.0.0.1:8080");
	assert_int_equal(c.breaker_failures, 3);
	assert_int_equal(c.breaker_open_ms, 1000);
	assert_int_equal(c.shutdown_grace_s, 10);
	config_free(ws_config_specs, ws_config_nspecs, &c);
	assert_null(c.database_url);
	assert_null(c.public_url);
}

static void
test_every_spec_has_help(void **state)
{
	size_t	 i;

	(void)state;
	assert_int_equal(ws_config_nspecs, 16);
	for (i = 0; i < ws_config_nspecs; i++) {
		assert_non_null(ws_config_specs[i].help);
		assert_true(strlen(ws_config_specs[i].help) > 5);
	}
}

static void
test_required_missing(void **state)
{
	struct ws_config	 c;
	char			 err[256];

	(void)state;
	memset(&c, 0xa5, sizeof(c));
	assert_int_equal(config_load(ws_config_specs, ws_config_nspecs, &c,
	    NULL, err, sizeof(err)), WS_ERR_INVALID);
	assert_string_equal(err, "DATABASE_URL is required");
	/* The target is left safe to free. */
	assert_null(c.database_url);
	assert_null(c.metrics_dir);
	config_free(ws_config_specs, ws_config_nspecs, &c);
}

static void
test_empty_counts_as_unset(void **state)
{
	struct ws_config	 c;
	char			 err[256];

	(void)state;
	setenv("DATABASE_URL", "", 1);
	assert_int_equal(config_load(ws_config_specs, ws_config_nspecs, &c,
	    NULL, err, sizeof(err)), WS_ERR_INVALID);
	assert_string_equal(err, "DATABASE_URL is required");
	setenv("DATABASE_URL", "postgres:///websands", 1);
	setenv("DB_POOL_SIZE", "", 1);
	assert_int_equal(config_load(ws_config_specs, ws_config_nspecs, &c,
	    NULL, err, sizeof(err)), 0);
	assert_int_equal(c.db_pool_size, 8);
	config_free(ws_config_specs, ws_config_nspecs, &c);
}

static void
test_none_means_no_cache(void **state)
{
	struct ws_config	 c;
	char			 err[256];

	(void)state;
	setenv("DATABASE_URL", "host=/tmp dbname=websands", 1);
	setenv("MEMCACHED_SERVERS", "none", 1);
	setenv("TRUSTED_PROXIES", "10.0.0.1,10.0.0.2", 1);
	assert_int_equal(config_load(ws_config_specs, ws_config_nspecs, &c,
	    NULL, err, sizeof(err)), 0);
	assert_null(c.memcached_servers);
	assert_string_equal(c.trusted_proxies, "10.0.0.1,10.0.0.2");
	config_free(ws_config_specs, ws_config_nspecs, &c);
}

static void
test_file_syntax(void **state)
{
	struct tcfg	 c;
	char		 err[256];
	const char	*path;

	(void)state;
	path = write_file("ok.env",
	    "# WebSands settings\n"
	    "\n"
	    "   # an indented comment\n"
	    "T_STR='single # not a comment'\n"
	    "export T_NUM=\"42\"\r\n"
	    "  T_FLAG = yes\n"
	    "T_CHOICE=c   \n"
	    "T_URL=postgresql://u:p#w=x@db:5432/ws?sslmode=require\n"
	    "T_PATH=/\n");
	assert_int_equal(load(&c, path, err, sizeof(err)), WS_ERR_INVALID);
	/* "T_FLAG " is not a name: blanks before '=' are an error. */
	assert_non_null(strstr(err, ":6:"));

	path = write_file("ok2.env",
	    "# WebSands settings\n"
	    "\n"
	    "   # an indented comment\n"
	    "T_STR='single # not a comment'\n"
	    "export T_NUM=\"42\"\r\n"
	    "  T_FLAG= yes\n"
	    "T_CHOICE=c   \n"
	    "T_URL=postgresql://u:p#w=x@db:5432/ws?sslmode=require\n"
	    "T_PATH=/\n"
	    "T_OTHER=\"\"\n");
	assert_int_equal(load(&c, path, err, sizeof(err)), 0);
	assert_string_equal(c.str, "single # not a comment");
	assert_int_equal(c.num, 42);
	assert_int_equal(c.flag, 1);
	assert_int_equal(c.choice, 2);
	assert_string_equal(c.url,
	    "postgresql://u:p#w=x@db:5432/ws?sslmode=require");
	assert_string_equal(c.path, "/");
	assert_null(c.secret);
	assert_string_equal(getenv("T_OTHER"), "");
	config_free(tspecs, NTSPECS, &c);
}

static void
test_file_malformed_line_named(void **state)
{
	struct tcfg	 c;
	char		 err[256], want[192];
	const char	*path;

	(void)state;
	path = write_file("bad.env",
	    "T_STR=fine\n"
	    "# comment\n"
	    "this line has no equals sign hunter2\n");
	assert_int_equal(load(&c, path, err, sizeof(err)), WS_ERR_INVALID);
	snprintf(want, sizeof(want), "%s:3:", path);
	assert_memory_equal(err, want, strlen(want));
	assert_null(strstr(err, "hunter2"));
	assert_null(c.str);
	config_free(tspecs, NTSPECS, &c);
}

static void
test_file_bad_name(void **state)
{
	struct tcfg	 c;
	char		 err[256], want[192];
	const char	*path;

	(void)state;
	path = write_file("lower.env", "t_str=x\n");
	assert_int_equal(load(&c, path, err, sizeof(err)), WS_ERR_INVALID);
	snprintf(want, sizeof(want), "%s:1:", path);
	assert_memory_equal(err, want, strlen(want));
	path = write_file("digit.env", "\n9LIVES=x\n");
	assert_int_equal(load(&c, path, err, sizeof(err)), WS_ERR_INVALID);
	snprintf(want, sizeof(want), "%s:2:", path);
	assert_memory_equal(err, want, strlen(want));
	path = write_file("empty.env", "=x\n");
	assert_int_equal(load(&c, path, err, sizeof(err)), WS_ERR_INVALID);
}

static void
test_file_unterminated_quote(void **state)
{
	struct tcfg	 c;
	char		 err[256], want[192];
	const char	*path;

	(void)state;
	path = write_file("quote.env", "T_STR=ok\nT_SECRET=\"s3cr3t'\n");
	assert_int_equal(load(&c, path, err, sizeof(err)), WS_ERR_INVALID);
	snprintf(want, sizeof(want), "%s:2: T_SECRET:", path);
	assert_memory_equal(err, want, strlen(want));
	assert_null(strstr(err, "s3cr3t"));
	path = write_file("quote1.env", "T_STR=\"\n");
	assert_int_equal(load(&c, path, err, sizeof(err)), WS_ERR_INVALID);
}

static void
test_file_missing(void **state)
{
	struct tcfg	 c;
	char		 err[256];

	(void)state;
	assert_int_equal(load(&c, "/nonexistent/websands.env", err,
	    sizeof(err)), WS_ERR_INVALID);
	assert_non_null(strstr(err, "/nonexistent/websands.env"));
	config_free(tspecs, NTSPECS, &c);
}

static void
test_env_wins_over_file(void **state)
{
	struct tcfg	 c;
	char		 err[256];
	const char	*path;

	(void)state;
	path = write_file("override.env", "T_STR=from-file\nT_NUM=7\n");
	setenv("T_STR", "from-env", 1);
	assert_int_equal(load(&c, path, err, sizeof(err)), 0);
	assert_string_equal(c.str, "from-env");
	assert_int_equal(c.num, 7);
	config_free(tspecs, NTSPECS, &c);
}

static void
test_websands_config_variable(void **state)
{
	struct tcfg	 c;
	char		 err[256];
	const char	*path;

	(void)state;
	path = write_file("named.env", "T_NUM=-3\n");
	setenv("WEBSANDS_CONFIG", path, 1);
	assert_int_equal(load(&c, NULL, err, sizeof(err)), 0);
	assert_int_equal(c.num, -3);
	config_free(tspecs, NTSPECS, &c);
}

static void
test_int_validation(void **state)
{
	static const char *const bad[] = { "abc", "12x", "101", "-4",
	    "99999999999999999999", " 8", "0x10", "+", "1.5" };
	struct tcfg	 c;
	char		 err[256], want[256];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("T_NUM", bad[i], 1);
		assert_int_equal(load(&c, NULL, err, sizeof(err)),
		    WS_ERR_INVALID);
		snprintf(want, sizeof(want), "T_NUM must be an integer "
		    "between -3 and 100 (got \"%s\")", bad[i]);
		assert_string_equal(err, want);
		assert_null(c.str);
	}
	setenv("T_NUM", "+100", 1);
	assert_int_equal(load(&c, NULL, err, sizeof(err)), 0);
	assert_int_equal(c.num, 100);
	config_free(tspecs, NTSPECS, &c);
}

static void
test_pool_size_message(void **state)
{
	struct ws_config	 c;
	char			 err[256];

	(void)state;
	setenv("DATABASE_URL", "postgresql://localhost/ws", 1);
	setenv("DB_POOL_SIZE", "abc", 1);
	assert_int_equal(config_load(ws_config_specs, ws_config_nspecs, &c,
	    NULL, err, sizeof(err)), WS_ERR_INVALID);
	assert_string_equal(err, "DB_POOL_SIZE must be an integer between "
	    "1 and 256 (got \"abc\")");
	assert_null(c.database_url);
}

static void
test_shown_value_sanitized(void **state)
{
	struct tcfg	 c;
	char		 err[256], big[300];

	(void)state;
	setenv("T_NUM", "1\x1b[31m\"\\", 1);
	assert_int_equal(load(&c, NULL, err, sizeof(err)), WS_ERR_INVALID);
	assert_string_equal(err, "T_NUM must be an integer between -3 and "
	    "100 (got \"1?[31m??\")");
	memset(big, '7', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	setenv("T_NUM", big, 1);
	assert_int_equal(load(&c, NULL, err, sizeof(err)), WS_ERR_INVALID);
	assert_non_null(strstr(err, "7...\")"));
	assert_true(strlen(err) < 150);
}

static void
test_secret_never_echoed(void **state)
{
	struct tcfg		 c;
	struct ws_config	 w;
	char			 err[256];

	(void)state;
	setenv("T_SECRET", "not a url but hunter2", 1);
	assert_int_equal(load(&c, NULL, err, sizeof(err)), WS_ERR_INVALID);
	assert_non_null(strstr(err, "T_SECRET"));
	assert_null(strstr(err, "hunter2"));
	unsetenv("T_SECRET");

	setenv("T_SECRET_NUM", "hunter2", 1);
	assert_int_equal(load(&c, NULL, err, sizeof(err)), WS_ERR_INVALID);
	assert_string_equal(err, "T_SECRET_NUM must be an integer between "
	    "1 and 9");

	setenv("DATABASE_URL", "db.example:5432 password=hunter2", 1);
	assert_int_equal(config_load(ws_config_specs, ws_config_nspecs, &w,
	    NULL, err, sizeof(err)), WS_ERR_INVALID);
	assert_non_null(strstr(err, "DATABASE_URL"));
	assert_null(strstr(err, "hunter2"));
}

static void
test_bool_validation(void **state)
{
	static const char *const yes[] = { "true", "1", "yes", "on", "TRUE",
	    "Yes" };
	static const char *const no[] = { "false", "0", "no", "off", "OFF" };
	struct tcfg	 c;
	char		 err[256];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		setenv("T_FLAG", yes[i], 1);
		assert_int_equal(load(&c, NULL, err, sizeof(err)), 0);
		assert_int_equal(c.flag, 1);
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		setenv("T_FLAG", no[i], 1);
		assert_int_equal(load(&c, NULL, err, sizeof(err)), 0);
		assert_int_equal(c.flag, 0);
	}
	setenv("T_FLAG", "maybe", 1);
	assert_int_equal(load(&c, NULL, err, sizeof(err)), WS_ERR_INVALID);
	assert_string_equal(err, "T_FLAG must be true or false "
	    "(got \"maybe\")");
}

static void
test_enum_validation(void **state)
{
	struct ws_config	 w;
	struct tcfg		 c;
	char			 err[256];

	(void)state;
	setenv("T_CHOICE", "a", 1);
	assert_int_equal(load(&c, NULL, err, sizeof(err)), 0);
	assert_int_equal(c.choice, 0);
	setenv("T_CHOICE", "C", 1);
	assert_int_equal(load(&c, NULL, err, sizeof(err)), 0);
	assert_int_equal(c.choice, 2);
	setenv("T_CHOICE", "ab", 1);
	assert_int_equal(load(&c, NULL, err, sizeof(err)), WS_ERR_INVALID);
	assert_string_equal(err, "T_CHOICE must be one of a, b, c "
	    "(got \"ab\")");

	setenv("DATABASE_URL", "postgresql://localhost/ws", 1);
	setenv("LOG_LEVEL", "warn", 1);
	assert_int_equal(config_load(ws_config_specs, ws_config_nspecs, &w,
	    NULL, err, sizeof(err)), 0);
	assert_int_equal(w.log_level, LOG_WARN);
	config_free(ws_config_specs, ws_config_nspecs, &w);
	setenv("LOG_LEVEL", "loud", 1);
	assert_int_equal(config_load(ws_config_specs, ws_config_nspecs, &w,
	    NULL, err, sizeof(err)), WS_ERR_INVALID);
	assert_string_equal(err, "LOG_LEVEL must be one of debug, info, "
	    "warn, error (got \"loud\")");
}

static void
test_url_validation(void **state)
{
	static const char *const good[] = { "postgresql://db/ws",
	    "postgres:///ws?host=/run/postgresql", "https://auth.example",
	    "host=/tmp port=5433 dbname=ws", "dbname=ws" };
	static const char *const bad[] = { "localhost:5432", "://x",
	    "http:/x", "1http://x", "http://a b", "" };
	struct tcfg	 c;
	char		 err[256];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		setenv("T_URL", good[i], 1);
		assert_int_equal(load(&c, NULL, err, sizeof(err)), 0);
		assert_string_equal(c.url, good[i]);
		config_free(tspecs, NTSPECS, &c);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("T_URL", bad[i], 1);
		if (bad[i][0] == '\0') {
			/* Empty is unset, and T_URL is optional. */
			assert_int_equal(load(&c, NULL, err, sizeof(err)), 0);
			assert_null(c.url);
			continue;
		}
		assert_int_equal(load(&c, NULL, err, sizeof(err)),
		    WS_ERR_INVALID);
		assert_memory_equal(err, "T_URL must be a URL", 19);
	}
}

static void
test_path_validation(void **state)
{
	struct tcfg	 c;
	char		 err[256];

	(void)state;
	setenv("T_PATH", tmpdir, 1);
	assert_int_equal(load(&c, NULL, err, sizeof(err)), 0);
	assert_string_equal(c.path, tmpdir);
	config_free(tspecs, NTSPECS, &c);
	setenv("T_PATH", "/nonexistent/keys/private.pem", 1);
	assert_int_equal(load(&c, NULL, err, sizeof(err)), WS_ERR_INVALID);
	assert_string_equal(err, "T_PATH must name an existing path (got "
	    "\"/nonexistent/keys/private.pem\"): No such file or directory");
}

static void
test_free_is_null_safe(void **state)
{
	struct tcfg	 c;

	(void)state;
	memset(&c, 0, sizeof(c));
	config_free(tspecs, NTSPECS, &c);
	config_free(tspecs, NTSPECS, NULL);
	config_free(NULL, 0, &c);
}

static void
test_small_error_buffer(void **state)
{
	struct tcfg	 c;
	char		 err[8];

	(void)state;
	setenv("T_NUM", "abc", 1);
	assert_int_equal(load(&c, NULL, err, sizeof(err)), WS_ERR_INVALID);
	assert_string_equal(err, "T_NUM m");
	assert_int_equal(load(&c, NULL, NULL, 0), WS_ERR_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_defaults_applied),
		T(test_every_spec_has_help),
		T(test_required_missing),
		T(test_empty_counts_as_unset),
		T(test_none_means_no_cache),
		T(test_file_syntax),
		T(test_file_malformed_line_named),
		T(test_file_bad_name),
		T(test_file_unterminated_quote),
		T(test_file_missing),
		T(test_env_wins_over_file),
		T(test_websands_config_variable),
		T(test_int_validation),
		T(test_pool_size_message),
		T(test_shown_value_sanitized),
		T(test_secret_never_echoed),
		T(test_bool_validation),
		T(test_enum_validation),
		T(test_url_validation),
		T(test_path_validation),
		T(test_free_is_null_safe),
		T(test_small_error_buffer),
#undef T
	};
	char	 cmd[128];
	int	 rc;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_config.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		rc = rc != 0 ? rc : 1;
	return rc;
}
