/*
 * `websands migrate` against the stack's PostgreSQL: a fresh target
 * gets every table, a second run changes nothing, and an applied file
 * that was edited stops the run with a message naming it.
 *
 * Each test migrates a target of its own: a new database when the
 * role of WS_DATABASE_URL may create one, otherwise (the stack's
 * application role is deliberately no superuser and cannot) a new
 * schema in its database, reached through search_path.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "db.h"
#include "itest.h"

struct target {
	char	 name[64];
	int	 is_db;		/* a database, else a schema */
	char	 url[1024];
};

static const char *const tables[] = {
	"users", "profile_settings", "password_history", "sessions",
	"refresh_tokens", "email_tokens", "recovery_codes", "auth_events",
	"email_outbox", "schema_migrations",
};

/* Appends s to b in single quotes, for sh. */
static void
shell_quote(struct buf *b, const char *s)
{
	assert_int_equal(buf_putc(b, '\''), 0);
	for (; *s != '\0'; s++)
		if (*s == '\'')
			assert_int_equal(buf_puts(b, "'\\''"), 0);
		else
			assert_int_equal(buf_putc(b, *s), 0);
	assert_int_equal(buf_putc(b, '\''), 0);
}

/* base with its database replaced by db. */
static void
url_with_db(char *out, size_t outlen, const char *base, const char *db)
{
	const char	*auth, *path, *query;
	int		 n;

	if ((auth = strstr(base, "://")) == NULL) {
		n = snprintf(out, outlen, "%s dbname=%s", base, db);
		assert_true(n > 0 && (size_t)n < outlen);
		return;
	}
	auth += 3;
	query = strchr(auth, '?');
	path = strchr(auth, '/');
	if (path == NULL || (query != NULL && path > query))
		path = query != NULL ? query : auth + strlen(auth);
	n = snprintf(out, outlen, "%.*s/%s%s", (int)(path - base), base, db,
	    query != NULL ? query : "");
	assert_true(n > 0 && (size_t)n < outlen);
}

/* base with search_path set to schema alone. */
static void
url_with_schema(char *out, size_t outlen, const char *base,
    const char *schema)
{
	int	 n;

	if (strstr(base, "://") == NULL)
		n = snprintf(out, outlen, "%s options='-csearch_path=%s'",
		    base, schema);
	else
		n = snprintf(out, outlen, "%s%coptions=-csearch_path%%3D%s",
		    base, strchr(base, '?') != NULL ? '&' : '?', schema);
	assert_true(n > 0 && (size_t)n < outlen);
}

static struct db_conn *
open_base(void)
{
	struct db_conn	*c = NULL;

	assert_int_equal(db_conn_open(&c, itest_env("WS_DATABASE_URL"), 5),
	    0);
	return c;
}

static int
setup_target(void **state)
{
	static int	 serial;
	struct target	*t;
	struct db_conn	*c;
	struct db_res	*res = NULL;
	char		 sql[160];

	assert_non_null(t = calloc(1, sizeof(*t)));
	snprintf(t->name, sizeof(t->name), "ws_migrate_test_%ld_%d",
	    (long)getpid(), ++serial);
	c = open_base();
	assert_int_equal(db_query(c, "SELECT rolcreatedb OR rolsuper FROM "
	    "pg_roles WHERE rolname = current_user", 0, NULL, &res), 0);
	t->is_db = strcmp(db_res_value(res, 0, 0), "t") == 0;
	db_res_free(res);
	snprintf(sql, sizeof(sql), "CREATE %s %s",
	    t->is_db ? "DATABASE" : "SCHEMA", t->name);
	assert_int_equal(db_exec(c, sql), 0);
	db_conn_close(c);
	if (t->is_db)
		url_with_db(t->url, sizeof(t->url),
		    itest_env("WS_DATABASE_URL"), t->name);
	else
		url_with_schema(t->url, sizeof(t->url),
		    itest_env("WS_DATABASE_URL"), t->name);
	*state = t;
	return 0;
}

static int
teardown_target(void **state)
{
	struct target	*t = *state;
	struct db_conn	*c = NULL;
	char		 sql[160];

	if (t == NULL)
		return 0;
	if (db_conn_open(&c, itest_env("WS_DATABASE_URL"), 5) == 0) {
		snprintf(sql, sizeof(sql), t->is_db ?
		    "DROP DATABASE IF EXISTS %s WITH (FORCE)" :
		    "DROP SCHEMA IF EXISTS %s CASCADE", t->name);
		(void)db_exec(c, sql);
		db_conn_close(c);
	}
	free(t);
	return 0;
}

/* Runs websands migrate on url with SQL_DIR=dir; output in out. */
static int
run_migrate(const char *url, const char *dir, struct buf *out)
{
	struct buf	 cmd;
	char		 prog[1024];
	int		 rc;

	snprintf(prog, sizeof(prog), "%s/websands",
	    itest_env("WS_BUILD_DIR"));
	buf_init(&cmd, 0);
	assert_int_equal(buf_puts(&cmd, "env -u WEBSANDS_CONFIG "
	    "DATABASE_URL="), 0);
	shell_quote(&cmd, url);
	assert_int_equal(buf_puts(&cmd, " SQL_DIR="), 0);
	shell_quote(&cmd, dir);
	assert_int_equal(buf_putc(&cmd, ' '), 0);
	shell_quote(&cmd, prog);
	assert_int_equal(buf_puts(&cmd, " migrate 2>&1"), 0);
	buf_reset(out);
	rc = itest_run(buf_str(&cmd), out);
	buf_cleanup(&cmd);
	return rc;
}

static const char *
sql_dir(char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/sql", itest_env("WS_SOURCE_DIR"));
	return out;
}

/* The migration files in dir, counted as migrate.c finds them. */
static int
count_migrations(const char *dir)
{
	struct dirent	*de;
	DIR		*d;
	size_t		 n;
	int		 count = 0;

	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n > 9 && strspn(de->d_name, "0123456789") == 4 &&
		    de->d_name[4] == '_' &&
		    strcmp(de->d_name + n - 4, ".sql") == 0)
			count++;
	}
	closedir(d);
	return count;
}

/* One value of a one-row query on the target. */
static void
target_value(const struct target *t, const char *sql, const char *param,
    char *out, size_t outlen)
{
	struct db_conn	*c = NULL;
	struct db_res	*res = NULL;
	const char	*params[1] = { param };

	assert_int_equal(db_conn_open(&c, t->url, 5), 0);
	assert_int_equal(db_query(c, sql, param != NULL ? 1 : 0,
	    param != NULL ? params : NULL, &res), 0);
	snprintf(out, outlen, "%s", db_res_value(res, 0, 0));
	db_res_free(res);
	db_conn_close(c);
}

/* Every version, checksum and time recorded, as one string. */
static void
recorded(const struct target *t, char *out, size_t outlen)
{
	target_value(t, "SELECT coalesce(string_agg(version || ' ' || "
	    "checksum || ' ' || applied_at::text, ';' ORDER BY version), "
	    "'') FROM schema_migrations", NULL, out, outlen);
}

static void
test_fresh_target_gets_every_table(void **state)
{
	struct target	*t = *state;
	struct buf	 out;
	char		 dir[1024], want[64], v[64];
	size_t		 i;
	int		 n;

	buf_init(&out, 0);
	n = count_migrations(sql_dir(dir, sizeof(dir)));
	assert_true(n >= 1);
	assert_int_equal(run_migrate(t->url, dir, &out), 0);
	snprintf(want, sizeof(want), "%d migration%s applied", n,
	    n == 1 ? "" : "s");
	if (strstr(buf_str(&out), want) == NULL)
		fail_msg("no \"%s\" in: %s", want, buf_str(&out));
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		target_value(t, "SELECT count(*) FROM pg_tables WHERE "
		    "schemaname = current_schema() AND tablename = $1",
		    tables[i], v, sizeof(v));
		if (strcmp(v, "1") != 0)
			fail_msg("table %s is missing", tables[i]);
	}
	target_value(t, "SELECT count(*) FROM schema_migrations", NULL, v,
	    sizeof(v));
	assert_int_equal(atoi(v), n);
	buf_cleanup(&out);
}

static void
test_outbox_has_the_agreed_columns(void **state)
{
	struct target	*t = *state;
	struct buf	 out;
	char		 dir[1024], v[512];

	buf_init(&out, 0);
	assert_int_equal(run_migrate(t->url, sql_dir(dir, sizeof(dir)),
	    &out), 0);
	target_value(t, "SELECT string_agg(column_name::text, ',' ORDER BY "
	    "ordinal_position) FROM information_schema.columns WHERE "
	    "table_schema = current_schema() AND table_name = $1",
	    "email_outbox", v, sizeof(v));
	assert_string_equal(v, "id,user_id,recipient,template,locale,vars,"
	    "status,attempts,next_attempt_at,last_error,message_id,"
	    "created_at,sent_at");
	buf_cleanup(&out);
}

static void
test_second_run_applies_nothing(void **state)
{
	struct target	*t = *state;
	struct buf	 out;
	char		 dir[1024], before[4096], after[4096];

	buf_init(&out, 0);
	sql_dir(dir, sizeof(dir));
	assert_int_equal(run_migrate(t->url, dir, &out), 0);
	recorded(t, before, sizeof(before));
	assert_true(before[0] != '\0');
	assert_int_equal(run_migrate(t->url, dir, &out), 0);
	if (strstr(buf_str(&out), "0 migrations applied") == NULL)
		fail_msg("second run said: %s", buf_str(&out));
	recorded(t, after, sizeof(after));
	assert_string_equal(before, after);
	buf_cleanup(&out);
}

/* Changes one byte in the middle of the first line of path. */
static void
flip_one_byte(const char *path)
{
	FILE	*f;
	int	 ch;

	assert_non_null(f = fopen(path, "r+b"));
	assert_int_equal(fseek(f, 10, SEEK_SET), 0);
	assert_true((ch = fgetc(f)) != EOF);
	assert_int_equal(fseek(f, 10, SEEK_SET), 0);
	assert_true(fputc(ch == 'x' ? 'y' : 'x', f) != EOF);
	assert_int_equal(fclose(f), 0);
}

static void
test_changed_applied_file_is_refused(void **state)
{
	struct target	*t = *state;
	struct buf	 out, cmd;
	char		 dir[1024], copy[] = "/tmp/ws_migrate_sql_XXXXXX";
	char		 path[1100], before[4096], after[4096];

	buf_init(&out, 0);
	buf_init(&cmd, 0);
	sql_dir(dir, sizeof(dir));
	assert_int_equal(run_migrate(t->url, dir, &out), 0);
	recorded(t, before, sizeof(before));
	assert_non_null(mkdtemp(copy));
	assert_int_equal(buf_printf(&cmd, "cp -R '%s/.' '%s/'", dir, copy),
	    0);
	assert_int_equal(itest_run(buf_str(&cmd), NULL), 0);
	snprintf(path, sizeof(path), "%s/0001_initial.sql", copy);
	flip_one_byte(path);

	assert_int_equal(run_migrate(t->url, copy, &out), 1);
	if (strstr(buf_str(&out), "0001_initial.sql") == NULL ||
	    strstr(buf_str(&out), "changed") == NULL)
		fail_msg("the refusal does not name the file: %s",
		    buf_str(&out));
	recorded(t, after, sizeof(after));
	assert_string_equal(before, after);

	buf_reset(&cmd);
	assert_int_equal(buf_printf(&cmd, "rm -rf '%s'", copy), 0);
	assert_int_equal(itest_run(buf_str(&cmd), NULL), 0);
	buf_cleanup(&cmd);
	buf_cleanup(&out);
}

static void
test_unreachable_database_exits_1(void **state)
{
	struct buf	 out;
	char		 dir[1024];

	(void)state;
	buf_init(&out, 0);
	/* Port 1 on loopback: refused at once. */
	assert_int_equal(run_migrate("postgresql://websands@127.0.0.1:1/"
	    "websands", sql_dir(dir, sizeof(dir)), &out), 1);
	if (strstr(buf_str(&out), "cannot connect") == NULL)
		fail_msg("unexpected output: %s", buf_str(&out));
	buf_cleanup(&out);
}

static void
test_command_line_errors_exit_2(void **state)
{
	struct buf	 out, cmd;

	(void)state;
	buf_init(&out, 0);
	buf_init(&cmd, 0);
	assert_int_equal(buf_printf(&cmd, "'%s/websands' migrate --bogus "
	    "2>&1", itest_env("WS_BUILD_DIR")), 0);
	assert_int_equal(itest_run(buf_str(&cmd), &out), 2);
	assert_non_null(strstr(buf_str(&out), "usage: websands migrate"));
	buf_reset(&cmd);
	buf_reset(&out);
	assert_int_equal(buf_printf(&cmd, "'%s/websands' no-such-command "
	    "2>&1", itest_env("WS_BUILD_DIR")), 0);
	assert_int_equal(itest_run(buf_str(&cmd), &out), 2);
	buf_reset(&cmd);
	buf_reset(&out);
	assert_int_equal(buf_printf(&cmd, "'%s/websands' --version",
	    itest_env("WS_BUILD_DIR")), 0);
	assert_int_equal(itest_run(buf_str(&cmd), &out), 0);
	assert_true(strncmp(buf_str(&out), "websands ", 9) == 0);
	buf_cleanup(&cmd);
	buf_cleanup(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup_target, \
	    teardown_target)
		T(test_fresh_target_gets_every_table),
		T(test_outbox_has_the_agreed_columns),
		T(test_second_run_applies_nothing),
		T(test_changed_applied_file_is_refused),
#undef T
		cmocka_unit_test(test_unreachable_database_exits_1),
		cmocka_unit_test(test_command_line_errors_exit_2),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
