/*
 * The PostgreSQL pool (design.md 8): bounded, with an acquire timeout,
 * a statement timeout, reconnection with backoff after a broken
 * connection, statements prepared once per connection, and a circuit
 * breaker so a dead server fails fast.  Nothing outside db.c includes
 * libpq: results are read through struct db_res.
 */
#ifndef WEBSANDS_DB_H
#define WEBSANDS_DB_H

#include <stddef.h>

struct db_pool;
struct db_conn;
struct db_res;

struct db_pool_opts {
	const char	*name;		/* "primary", "replica": for logs */
	int		 size;		/* connections at most */
	long		 acquire_timeout_ms;
	long		 connect_timeout_s;
	long		 statement_timeout_ms;
	int		 breaker_failures;
	long		 breaker_open_ms;
	int		 read_write;	/* ask libpq for a writable host */
};

/*
 * Creates a pool for url (a libpq URL or keyword string; several hosts
 * allowed).  Connections are opened lazily, so this succeeds while
 * the server is down.  Returns 0, WS_ERR_NOMEM or WS_ERR_INVALID.
 */
int	 db_pool_new(struct db_pool **out, const char *url,
	    const struct db_pool_opts *o);
/* Closes every connection; all must have been released.  NULL-safe. */
void	 db_pool_free(struct db_pool *p);
/*
 * Takes a connection, connecting it if needed.  Returns 0,
 * WS_ERR_TIMEOUT when none came free in time, or WS_ERR_UNAVAILABLE
 * when the server cannot be reached or the breaker is open.
 */
int	 db_pool_acquire(struct db_pool *p, struct db_conn **out);
/* Returns c to its pool; a broken connection is closed.  NULL-safe. */
void	 db_pool_release(struct db_conn *c);
/* Connections in use and waits that timed out, for metrics. */
void	 db_pool_stats(struct db_pool *p, int *in_use, int *size,
	    long *timeouts);

/*
 * Runs sql with text parameters $1..$n (NULL for SQL NULL), prepared
 * on first use on this connection.  *out (may be NULL when the result
 * is not wanted) is the caller's to db_res_free.  Returns 0,
 * WS_ERR_CONFLICT for a unique violation, WS_ERR_TIMEOUT for a
 * statement timeout, WS_ERR_UNAVAILABLE when the connection broke,
 * or WS_ERR_DB for any other error (logged, with its SQLSTATE).
 */
int	 db_query(struct db_conn *c, const char *sql, int n,
	    const char * const *params, struct db_res **out);
/* Runs a statement without parameters and without preparing it. */
int	 db_exec(struct db_conn *c, const char *sql);
/* BEGIN, COMMIT, ROLLBACK; rollback is safe after any failure. */
int	 db_begin(struct db_conn *c);
int	 db_commit(struct db_conn *c);
void	 db_rollback(struct db_conn *c);
/* The SQLSTATE of the last error on c, or "" */
const char *db_conn_sqlstate(const struct db_conn *c);

/* Acquires, runs SELECT 1, releases; latency in *ms.  As acquire. */
int	 db_pool_ping(struct db_pool *p, double *ms);

size_t	 db_res_nrows(const struct db_res *res);
/* The text of a cell ("" for NULL); owned by res. */
const char *db_res_value(const struct db_res *res, size_t row, size_t col);
int	 db_res_isnull(const struct db_res *res, size_t row, size_t col);
/* Rows changed by an INSERT, UPDATE or DELETE. */
long	 db_res_affected(const struct db_res *res);
void	 db_res_free(struct db_res *res);

/*
 * A connection outside any pool, for LISTEN and long-running jobs
 * (the mailer, migrations).  Returns 0 or WS_ERR_UNAVAILABLE.
 */
int	 db_conn_open(struct db_conn **out, const char *url,
	    long connect_timeout_s);
void	 db_conn_close(struct db_conn *c);
/* LISTEN on channel (an identifier, checked). */
int	 db_conn_listen(struct db_conn *c, const char *channel);
/*
 * Waits up to timeout_ms for a notification on c.  Returns 0 when one
 * (or more) arrived, WS_ERR_TIMEOUT, or WS_ERR_UNAVAILABLE when the
 * connection broke.
 */
int	 db_conn_wait_notify(struct db_conn *c, long timeout_ms);

#endif
