/*
 * Helpers for the admin and CLI integration tests (itest_admin.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "itest_admin.h"

static struct db_conn	*itest_admin_conn;
static char		 scratch_db[64];
static char		 scratch_url[512];
static struct db_conn	*scratch;

int
itest_admin_cli(const char *args, const char *stdin_text, struct buf *out)
{
	return itest_admin_cli_env(NULL, args, stdin_text, out);
}

int
itest_admin_cli_env(const char *env, const char *args,
    const char *stdin_text, struct buf *out)
{
	struct buf	 cmd;
	char		 path[] = "/tmp/ws-itest-admin-stdin.XXXXXX";
	int		 fd, rc;
	size_t		 len;

	/* mkstemp makes the file 0600: the password stays the test's. */
	if ((fd = mkstemp(path)) == -1)
		fail_msg("mkstemp: %s", strerror(errno));
	if (stdin_text != NULL) {
		len = strlen(stdin_text);
		if (write(fd, stdin_text, len) != (ssize_t)len)
			fail_msg("cannot write %s", path);
	}
	close(fd);
	buf_init(&cmd, 0);
	assert_int_equal(buf_printf(&cmd, "%s '%s/websands' %s --config "
	    "'%s/websands.env' <'%s' 2>&1", env != NULL ? env : "",
	    itest_env("WS_BUILD_DIR"), args, itest_env("WS_RUN_DIR"), path),
	    0);
	rc = itest_run(buf_str(&cmd), out);
	unlink(path);
	buf_cleanup(&cmd);
	return rc;
}

void
itest_admin_create(struct itest_user *u, const char *prefix, int admin)
{
	struct buf	 args, out, line;
	const char	*nl, *p;
	int		 rc, w;

	memset(u, 0, sizeof(*u));
	itest_auth_unique(u->username, sizeof(u->username), prefix);
	w = snprintf(u->email, sizeof(u->email), "%s@example.com",
	    u->username);
	assert_true(w > 0 && (size_t)w < sizeof(u->email));
	itest_auth_password(u->password, sizeof(u->password));
	buf_init(&args, 0);
	buf_init(&out, 0);
	buf_init(&line, 0);
	assert_int_equal(buf_printf(&args, "user create %s--username %s "
	    "--email %s", admin ? "--admin " : "", u->username, u->email),
	    0);
	assert_int_equal(buf_printf(&line, "%s\n", u->password), 0);
	rc = itest_admin_cli(buf_str(&args), buf_str(&line), &out);
	if (rc != 0)
		fail_msg("websands user create exited %d: %s", rc,
		    buf_str(&out));
	/* The id is a line of its own on stdout. */
	for (p = buf_str(&out); p != NULL; p = nl != NULL ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		if (nl != NULL && nl - p == 36 && p[8] == '-') {
			memcpy(u->id, p, 36);
			u->id[36] = '\0';
			break;
		}
	}
	if (u->id[0] == '\0')
		fail_msg("no id in: %s", buf_str(&out));
	buf_cleanup(&line);
	buf_cleanup(&out);
	buf_cleanup(&args);
}

void
itest_admin_new(struct itest_admin *a, const char *prefix, int admin)
{
	memset(a, 0, sizeof(*a));
	itest_admin_create(&a->u, prefix, admin);
	itest_auth_login(&a->u, &a->t);
}

int
itest_admin_call(const char *method, const char *path, const char *bearer,
    const char *body, struct itest_resp *out)
{
	struct buf	 auth;
	const char	*headers[3] = { NULL, NULL, NULL };
	size_t		 n = 0;
	int		 rc;

	buf_init(&auth, 0);
	if (body != NULL)
		headers[n++] = "Content-Type: application/json";
	if (bearer != NULL) {
		if (buf_printf(&auth, "Authorization: Bearer %s",
		    bearer) != 0) {
			buf_cleanup(&auth);
			return -1;
		}
		headers[n++] = buf_str(&auth);
	}
	rc = itest_http(method, path, headers, body,
	    body != NULL ? strlen(body) : 0, out);
	buf_cleanup(&auth);
	return rc;
}

long
itest_admin_status(const char *method, const char *path,
    const char *bearer, const char *body)
{
	struct itest_resp	 r;
	long			 status;

	assert_int_equal(itest_admin_call(method, path, bearer, body, &r), 0);
	status = r.status;
	itest_resp_cleanup(&r);
	return status;
}

json_t *
itest_admin_get_json(const char *path, const char *bearer)
{
	struct itest_resp	 r;
	json_t			*j;

	assert_int_equal(itest_admin_call("GET", path, bearer, NULL, &r), 0);
	itest_auth_expect(&r, 200, path);
	assert_non_null(r.json);
	j = json_incref(r.json);
	itest_resp_cleanup(&r);
	return j;
}

struct db_conn *
itest_admin_db(void)
{
	if (itest_admin_conn == NULL &&
	    db_conn_open(&itest_admin_conn, itest_env("WS_DATABASE_URL"),
	    5) != 0)
		fail_msg("cannot connect to WS_DATABASE_URL");
	return itest_admin_conn;
}

void
itest_admin_sql(const char *sql, int n, const char * const *params)
{
	if (db_query(itest_admin_db(), sql, n, params, NULL) != 0)
		fail_msg("SQL failed (%s): %.300s",
		    db_conn_sqlstate(itest_admin_db()), sql);
}

void
itest_admin_sql_value(const char *sql, int n, const char * const *params,
    char *out, size_t outlen)
{
	struct db_res	*res = NULL;

	if (db_query(itest_admin_db(), sql, n, params, &res) != 0)
		fail_msg("SQL failed (%s): %.300s",
		    db_conn_sqlstate(itest_admin_db()), sql);
	snprintf(out, outlen, "%s", db_res_nrows(res) > 0 ?
	    db_res_value(res, 0, 0) : "");
	db_res_free(res);
}

void
itest_admin_db_close(void)
{
	db_conn_close(itest_admin_conn);
	itest_admin_conn = NULL;
}

/* host:port of the stack's database, from WS_DATABASE_URL. */
static void
db_host(char *out, size_t len)
{
	const char	*url = itest_env("WS_DATABASE_URL"), *at, *slash;

	at = strchr(url, '@');
	assert_non_null(at);
	slash = strchr(at, '/');
	assert_non_null(slash);
	assert_true((size_t)(slash - at - 1) < len);
	memcpy(out, at + 1, (size_t)(slash - at - 1));
	out[slash - at - 1] = '\0';
}

/* Runs sql as the cluster's superuser. */
static void
as_superuser(const char *sql)
{
	struct buf	 cmd, out;
	char		 host[256];

	db_host(host, sizeof(host));
	buf_init(&cmd, 0);
	buf_init(&out, 0);
	assert_int_equal(buf_printf(&cmd, "psql 'postgresql://postgres@%s/"
	    "postgres' -X -q -v ON_ERROR_STOP=1 -c \"%s\" 2>&1", host, sql),
	    0);
	if (itest_run(buf_str(&cmd), &out) != 0)
		fail_msg("%s: %s", sql, buf_str(&out));
	buf_cleanup(&out);
	buf_cleanup(&cmd);
}

void
itest_admin_scratch_drop(void)
{
	char	 sql[128];

	db_conn_close(scratch);
	scratch = NULL;
	if (scratch_db[0] == '\0')
		return;
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", scratch_db);
	as_superuser(sql);
	scratch_db[0] = '\0';
}

void
itest_admin_scratch_create(void)
{
	struct buf	 out;
	char		 host[256], sql[128], env[600];
	static int	 n;

	itest_admin_scratch_drop();
	db_host(host, sizeof(host));
	snprintf(scratch_db, sizeof(scratch_db), "ws_scratch_%d_%d",
	    (int)getpid(), ++n);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s OWNER websands",
	    scratch_db);
	as_superuser(sql);
	snprintf(scratch_url, sizeof(scratch_url),
	    "postgresql://websands@%s/%s", host, scratch_db);
	snprintf(env, sizeof(env), "DATABASE_URL='%s'", scratch_url);
	buf_init(&out, 0);
	if (itest_admin_cli_env(env, "migrate", NULL, &out) != 0)
		fail_msg("migrate: %s", buf_str(&out));
	buf_cleanup(&out);
	if (db_conn_open(&scratch, scratch_url, 5) != 0)
		fail_msg("cannot connect to %s", scratch_db);
}

struct db_conn *
itest_admin_scratch(void)
{
	assert_non_null(scratch);
	return scratch;
}

int
itest_admin_scratch_cli(const char *args, struct buf *out)
{
	return itest_admin_scratch_cli_env(NULL, args, out);
}

int
itest_admin_scratch_cli_env(const char *env, const char *args,
    struct buf *out)
{
	char	 all[1024];
	int	 w;

	w = snprintf(all, sizeof(all), "DATABASE_URL='%s' %s", scratch_url,
	    env != NULL ? env : "");
	assert_true(w > 0 && (size_t)w < sizeof(all));
	buf_reset(out);
	return itest_admin_cli_env(all, args, NULL, out);
}

void
itest_admin_scratch_value(const char *sql, char *out, size_t len)
{
	struct db_res	*res = NULL;

	if (db_query(itest_admin_scratch(), sql, 0, NULL, &res) != 0)
		fail_msg("SQL failed: %.300s", sql);
	snprintf(out, len, "%s", db_res_nrows(res) > 0 ?
	    db_res_value(res, 0, 0) : "");
	db_res_free(res);
}
