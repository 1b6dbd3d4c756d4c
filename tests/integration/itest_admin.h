/*
 * Helpers for the integration tests of websands-admin and of the
 * operator's CLI: accounts made with `websands user create` (the way
 * the first administrator comes to exist), calls to the admin routes
 * through nginx, direct SQL on the stack's database, and runs of the
 * CLI with the stack's configuration.
 */
#ifndef WEBSANDS_ITEST_ADMIN_H
#define WEBSANDS_ITEST_ADMIN_H

#include <stddef.h>

#include "db.h"
#include "itest_auth.h"

/* A signed-in account: who it is and its tokens. */
struct itest_admin {
	struct itest_user	 u;
	struct itest_tokens	 t;
};

/*
 * Runs `websands ARGS --config $WS_RUN_DIR/websands.env` with
 * stdin_text (may be NULL: an empty stdin) as its standard input,
 * through a file only the test can read.  stdout and stderr go into
 * out (may be NULL).  Returns the exit status.
 */
int	 itest_admin_cli(const char *args, const char *stdin_text,
	    struct buf *out);
/*
 * The same with env ("NAME='value' ...", may be NULL) set for the
 * command, overriding the configuration file.
 */
int	 itest_admin_cli_env(const char *env, const char *args,
	    const char *stdin_text, struct buf *out);
/*
 * Creates a verified account named prefix + a unique suffix with
 * `websands user create` (an administrator when admin is set) and a
 * fresh password; asserts success and fills u, id included.
 */
void	 itest_admin_create(struct itest_user *u, const char *prefix,
	    int admin);
/* itest_admin_create, then a sign-in; fills a. */
void	 itest_admin_new(struct itest_admin *a, const char *prefix,
	    int admin);

/*
 * One request to the stack with the bearer token (may be NULL) and a
 * JSON body (may be NULL).  Returns what itest_http returns.
 */
int	 itest_admin_call(const char *method, const char *path,
	    const char *bearer, const char *body, struct itest_resp *out);
/* The same, returning only the status (the reply is dropped). */
long	 itest_admin_status(const char *method, const char *path,
	    const char *bearer, const char *body);
/*
 * GET path with bearer; asserts status 200 and a JSON body, which is
 * returned (a new reference).
 */
json_t	*itest_admin_get_json(const char *path, const char *bearer);

/* The process's own connection to WS_DATABASE_URL (opened once). */
struct db_conn *itest_admin_db(void);
/* Runs sql with params; asserts success. */
void	 itest_admin_sql(const char *sql, int n, const char * const *params);
/*
 * Runs sql with params and copies the first cell of the first row
 * into out ("" when there is no row); asserts success.
 */
void	 itest_admin_sql_value(const char *sql, int n,
	    const char * const *params, char *out, size_t outlen);
/* Closes the connection of itest_admin_db; for teardowns. */
void	 itest_admin_db_close(void);

/*
 * A scratch database of the test's own in the stack's cluster, for
 * tests that must see a whole table (purge, outbox retry) without the
 * rows of other tests, or must change it past repair: created by the
 * cluster's superuser (trust on loopback, test clusters only), owned
 * by the stack's role, migrated with `websands migrate`.  Creating
 * one drops the previous one.
 */
void	 itest_admin_scratch_create(void);
/* Drops the scratch database, if any; for teardowns. */
void	 itest_admin_scratch_drop(void);
/* A connection to the scratch database. */
struct db_conn *itest_admin_scratch(void);
/* Runs `websands ARGS` on the scratch database (see itest_admin_cli). */
int	 itest_admin_scratch_cli(const char *args, struct buf *out);
/* The same with more of the environment set (see itest_admin_cli_env). */
int	 itest_admin_scratch_cli_env(const char *env, const char *args,
	    struct buf *out);
/* The first cell of sql on the scratch database, into out. */
void	 itest_admin_scratch_value(const char *sql, char *out, size_t len);

#endif
