/*
 * `websands keys rotate-data` against a schema of its own: names and a
 * TOTP secret sealed with data key 1 come out sealed with the new key,
 * still decrypting to the same text, and the old key stays in the file
 * so a second run works too.  The stack's own data and key file are
 * left alone, since its running responders know only their keys.
 */
#include "itest.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datakey.h"
#include "db.h"

struct fixture {
	char	 schema[64];
	char	 url[1024];
	char	 dir[64];
	char	 keys[128];
	char	 id[37];
};

static void
run_ok(const char *cmd, struct buf *out)
{
	buf_reset(out);
	if (itest_run(cmd, out) != 0)
		fail_msg("%s failed: %s", cmd, buf_str(out));
}

static int
setup(void **state)
{
	struct fixture	*f;
	struct db_conn	*c = NULL;
	struct buf	 out;
	char		 sql[128], cmd[2048], line[DATAKEY_LINE_MAX];
	const char	*base = itest_env("WS_DATABASE_URL");
	int		 fd;

	assert_non_null(f = calloc(1, sizeof(*f)));
	snprintf(f->schema, sizeof(f->schema), "ws_rotate_%ld",
	    (long)getpid());
	snprintf(f->url, sizeof(f->url), "%s%coptions=-csearch_path%%3D%s",
	    base, strchr(base, '?') != NULL ? '&' : '?', f->schema);
	assert_int_equal(db_conn_open(&c, base, 5), 0);
	snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", f->schema);
	assert_int_equal(db_exec(c, sql), 0);
	db_conn_close(c);

	strcpy(f->dir, "/tmp/ws-rotate.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->keys, sizeof(f->keys), "%s/data-keys", f->dir);
	assert_int_equal(datakey_generate_line(1, line, sizeof(line)), 0);
	fd = open(f->keys, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, line, strlen(line)),
	    (ssize_t)strlen(line));
	close(fd);

	buf_init(&out, 0);
	snprintf(cmd, sizeof(cmd), "DATABASE_URL='%s' SQL_DIR='%s/sql' "
	    "'%s/websands' migrate 2>&1", f->url,
	    itest_env("WS_SOURCE_DIR"), itest_env("WS_BUILD_DIR"));
	run_ok(cmd, &out);
	buf_cleanup(&out);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	struct db_conn	*c = NULL;
	char		 sql[128];

	if (f == NULL)
		return 0;
	if (db_conn_open(&c, itest_env("WS_DATABASE_URL"), 5) == 0) {
		snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE",
		    f->schema);
		db_exec(c, sql);
		db_conn_close(c);
	}
	unlink(f->keys);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Seals text for users.<col> of the fixture's user. */
static char *
seal(const struct datakey_ring *kr, const struct fixture *f,
    const char *col, const char *text)
{
	char	 aad[96], *out = NULL;

	snprintf(aad, sizeof(aad), "users.%s:%s", col, f->id);
	assert_int_equal(datakey_encrypt_text(kr, text, aad, &out), 0);
	return out;
}

/* The key id and plaintext of users.<col>, read from the database. */
static void
check_column(struct db_conn *c, const struct datakey_ring *kr,
    const struct fixture *f, const char *col, int want_id,
    const char *want_text)
{
	struct db_res	*res = NULL;
	char		 sql[160], aad[96], *plain = NULL;

	snprintf(sql, sizeof(sql), "SELECT get_byte(%s, 1), translate("
	    "encode(%s, 'base64'), E'\\n', '') FROM users WHERE id = $1",
	    col, col);
	assert_int_equal(db_query(c, sql, 1,
	    (const char *[]){ f->id }, &res), 0);
	assert_int_equal(db_res_nrows(res), 1);
	assert_int_equal(atoi(db_res_value(res, 0, 0)), want_id);
	snprintf(aad, sizeof(aad), "users.%s:%s", col, f->id);
	assert_int_equal(datakey_decrypt_text(kr, db_res_value(res, 0, 1),
	    aad, &plain), 0);
	assert_string_equal(plain, want_text);
	datakey_plain_free(plain, strlen(plain));
	db_res_free(res);
}

static void
test_rotate_data_reseals(void **state)
{
	struct fixture		*f = *state;
	struct datakey_ring	*kr = NULL;
	struct db_conn		*c = NULL;
	struct db_res		*res = NULL;
	struct buf		 out;
	char			*first, *last, *secret, cmd[2048];
	int			 round;

	assert_int_equal(datakey_ring_load(&kr, f->keys), 0);
	assert_int_equal(db_conn_open(&c, f->url, 5), 0);
	assert_int_equal(db_query(c, "SELECT gen_random_uuid()", 0, NULL,
	    &res), 0);
	snprintf(f->id, sizeof(f->id), "%s", db_res_value(res, 0, 0));
	db_res_free(res);
	first = seal(kr, f, "first_name", "Ada");
	last = seal(kr, f, "last_name", "Lovelace \xc3\xa9");
	secret = seal(kr, f, "mfa_secret", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP");
	assert_int_equal(db_query(c, "INSERT INTO users (id, username,"
	    " email, password_hash, first_name, last_name, mfa_secret)"
	    " VALUES ($1, 'rotate', 'rotate@example.com', 'x',"
	    " decode($2, 'base64'), decode($3, 'base64'),"
	    " decode($4, 'base64'))", 4,
	    (const char *[]){ f->id, first, last, secret }, NULL), 0);
	free(first);
	free(last);
	free(secret);
	datakey_ring_free(kr);

	buf_init(&out, 0);
	for (round = 2; round <= 3; round++) {
		snprintf(cmd, sizeof(cmd), "DATABASE_URL='%s' "
		    "DATA_KEYS_FILE='%s' '%s/websands' keys rotate-data 2>&1",
		    f->url, f->keys, itest_env("WS_BUILD_DIR"));
		run_ok(cmd, &out);
		assert_non_null(strstr(buf_str(&out), "1 user re-encrypted"));
		kr = NULL;
		assert_int_equal(datakey_ring_load(&kr, f->keys), 0);
		assert_int_equal(datakey_active_id(kr), round);
		check_column(c, kr, f, "first_name", round, "Ada");
		check_column(c, kr, f, "last_name", round,
		    "Lovelace \xc3\xa9");
		check_column(c, kr, f, "mfa_secret", round,
		    "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP");
		datakey_ring_free(kr);
	}
	buf_cleanup(&out);
	db_conn_close(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rotate_data_reseals,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
