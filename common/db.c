/*
 * The PostgreSQL pool of db.h.  The pool is an array of slots, each a
 * connection that is opened on first use and kept; a mutex and a
 * condition variable on the monotonic clock hand slots out.
 *
 * Every exchange with the server goes through libpq's asynchronous
 * interface on a non-blocking socket, with poll() and a deadline, so
 * that no wait is unbounded: a server that stops answering (stopped,
 * frozen, or behind a dead network) costs a caller at most the
 * statement timeout plus a margin, never a hung worker.
 */
#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "breaker.h"
#include "db.h"
#include "error.h"
#include "log.h"

/* Distinct statements prepared per connection; the rest run unnamed. */
#define DB_STMT_MAX		256
/* More parameters than any WebSands statement has. */
#define DB_PARAMS_MAX		256
/* Reconnect backoff of one slot after a failed connect. */
#define DB_BACKOFF_MIN_MS	100
#define DB_BACKOFF_MAX_MS	1000
/* Client-side slack past the server's statement timeout. */
#define DB_MARGIN_MS		2000
/*
 * The client-side bound on one statement of a connection without a
 * statement timeout (db_conn_open: the mailer, migrations), long
 * enough for a migration that rewrites a big table.
 */
#define DB_STANDALONE_BOUND_MS	(30L * 60 * 1000)
#define DB_CONNECT_TIMEOUT_S	5
/* How much of a statement's text a log line carries. */
#define DB_LOG_SQL		120

struct db_stmt {
	uint64_t	 hash;
	char		*sql;
};

struct db_conn {
	PGconn		*pg;
	struct db_pool	*pool;		/* NULL for db_conn_open */
	int		 in_use;	/* under the pool's mutex */
	int		 broken;	/* close instead of reusing */
	long		 bound_ms;	/* client-side bound per statement */
	char		 sqlstate[6];
	struct db_stmt	 stmts[DB_STMT_MAX];
	size_t		 nstmts;
	long		 backoff_ms;	/* under the pool's mutex */
	long long	 retry_at_ms;	/* under the pool's mutex */
};

struct db_pool {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	char		*url;
	char		*name;
	char		*breaker_name;
	struct db_pool_opts o;
	struct breaker	 br;
	struct db_conn	*slots;
	int		 in_use;
	long		 timeouts;
};

struct db_res {
	PGresult	*r;
};

/* How a statement is handed to libpq. */
enum db_kind {
	DB_SIMPLE,	/* PQsendQuery: no parameters, several statements */
	DB_PARAMS,	/* PQsendQueryParams: unnamed, parameters */
	DB_PREPARE,	/* PQsendPrepare */
	DB_PREPARED	/* PQsendQueryPrepared */
};

static long long
db_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *
db_conn_name(const struct db_conn *c)
{
	return c->pool != NULL ? c->pool->name : "direct";
}

/* Copies a libpq message into out without its trailing newlines. */
static void
db_trim(char *out, size_t outlen, const char *msg)
{
	size_t	 n;

	if (outlen == 0)
		return;
	snprintf(out, outlen, "%s", msg != NULL ? msg : "");
	n = strlen(out);
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		out[--n] = '\0';
}

/*
 * Server notices (for example "relation already exists, skipping")
 * would otherwise go to stderr in libpq's own format; they become
 * debug events instead.
 */
static void
db_notice(void *arg, const char *msg)
{
	char	 text[256];

	(void)arg;
	db_trim(text, sizeof(text), msg);
	log_event(LOG_DEBUG, "db_notice", "message", text, NULL);
}

/*
 * Opens one connection.  Keywords before dbname are defaults the URL
 * may override; keywords after it are WebSands's policy and win.
 * Returns NULL after logging why.
 */
static PGconn *
db_connect(const char *url, const char *name, long connect_timeout_s,
    long statement_timeout_ms, int read_write)
{
	const char	*keys[16], *vals[16];
	char		 ctimeout[24], options[64], appname[64];
	char		 msg[300];
	PGconn		*pg;
	int		 k = 0;

	snprintf(ctimeout, sizeof(ctimeout), "%ld", connect_timeout_s);
	snprintf(appname, sizeof(appname), "websands:%s", name);
	keys[k] = "fallback_application_name"; vals[k++] = appname;
	/*
	 * Keepalives notice a peer that vanished without closing the
	 * connection (a dead host or network) while it sits idle.
	 */
	keys[k] = "keepalives"; vals[k++] = "1";
	keys[k] = "keepalives_idle"; vals[k++] = "10";
	keys[k] = "keepalives_interval"; vals[k++] = "5";
	keys[k] = "keepalives_count"; vals[k++] = "3";
	keys[k] = "dbname"; vals[k++] = url;
	keys[k] = "connect_timeout"; vals[k++] = ctimeout;
	keys[k] = "client_encoding"; vals[k++] = "UTF8";
	if (statement_timeout_ms > 0) {
		/*
		 * XXX: this replaces any "options" the URL carries, so
		 * server settings cannot be passed that way; set them on
		 * the database role instead (ALTER ROLE ... SET).
		 */
		snprintf(options, sizeof(options),
		    "-c statement_timeout=%ld", statement_timeout_ms);
		keys[k] = "options"; vals[k++] = options;
	}
	if (read_write) {
		keys[k] = "target_session_attrs"; vals[k++] = "read-write";
	}
	keys[k] = NULL; vals[k] = NULL;

	if ((pg = PQconnectdbParams(keys, vals, 1)) == NULL) {
		log_event(LOG_ERROR, "db_connect_failed", "pool", name,
		    "error", "out of memory", NULL);
		return NULL;
	}
	if (PQstatus(pg) != CONNECTION_OK) {
		db_trim(msg, sizeof(msg), PQerrorMessage(pg));
		log_event(LOG_ERROR, "db_connect_failed", "pool", name,
		    "error", msg, NULL);
		PQfinish(pg);
		return NULL;
	}
	PQsetNoticeProcessor(pg, db_notice, NULL);
	if (PQsetnonblocking(pg, 1) != 0) {
		log_event(LOG_ERROR, "db_connect_failed", "pool", name,
		    "error", "cannot make the socket non-blocking", NULL);
		PQfinish(pg);
		return NULL;
	}
	log_event(LOG_DEBUG, "db_connected", "pool", name, NULL);
	return pg;
}

/* Closes c's connection and forgets what was prepared on it. */
static void
db_conn_reset(struct db_conn *c)
{
	size_t	 i;

	if (c->pg != NULL)
		PQfinish(c->pg);
	c->pg = NULL;
	c->broken = 0;
	for (i = 0; i < c->nstmts; i++)
		free(c->stmts[i].sql);
	c->nstmts = 0;
}

/*
 * Waits until c's socket is ready for events or the deadline passes.
 * Returns 0 when ready (or in an error state libpq should look at),
 * WS_ERR_TIMEOUT, or WS_ERR_UNAVAILABLE when there is no socket.
 */
static int
db_wait_io(PGconn *pg, short events, long long deadline)
{
	struct pollfd	 pfd;
	long long	 left;
	int		 n;

	if ((pfd.fd = PQsocket(pg)) < 0)
		return WS_ERR_UNAVAILABLE;
	pfd.events = events;
	for (;;) {
		if ((left = deadline - db_now_ms()) <= 0)
			return WS_ERR_TIMEOUT;
		pfd.revents = 0;
		n = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n > 0)
			return (pfd.revents & POLLNVAL) ?
			    WS_ERR_UNAVAILABLE : 0;
		if (n < 0 && errno != EINTR)
			return WS_ERR_UNAVAILABLE;
	}
}

/* Sends everything libpq has queued for the server. */
static int
db_flush(PGconn *pg, long long deadline)
{
	int	 r, rc;

	for (;;) {
		if ((r = PQflush(pg)) == 0)
			return 0;
		if (r < 0)
			return WS_ERR_UNAVAILABLE;
		if ((rc = db_wait_io(pg, POLLIN | POLLOUT, deadline)) != 0)
			return rc;
		/* The server may be talking back before it reads more. */
		if (!PQconsumeInput(pg))
			return WS_ERR_UNAVAILABLE;
	}
}

/*
 * Reads every result of the statement in flight.  The first error
 * result is kept, else the last result; it goes to *out (may be NULL
 * when the server sent none).
 */
static int
db_collect(PGconn *pg, long long deadline, PGresult **out)
{
	PGresult	*keep = NULL, *r;
	ExecStatusType	 st;
	int		 rc = 0;

	*out = NULL;
	for (;;) {
		while (PQisBusy(pg)) {
			if ((rc = db_wait_io(pg, POLLIN, deadline)) != 0)
				goto out;
			if (!PQconsumeInput(pg)) {
				rc = WS_ERR_UNAVAILABLE;
				goto out;
			}
		}
		if ((r = PQgetResult(pg)) == NULL)
			break;
		st = PQresultStatus(r);
		if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT ||
		    st == PGRES_COPY_BOTH) {
			/* No WebSands statement copies; do not get stuck. */
			PQclear(r);
			rc = WS_ERR_INTERNAL;
			goto out;
		}
		if (keep != NULL && PQresultStatus(keep) == PGRES_FATAL_ERROR)
			PQclear(r);
		else {
			PQclear(keep);
			keep = r;
		}
	}
	*out = keep;
	keep = NULL;
out:
	PQclear(keep);
	return rc;
}

/* Class 08 and the shutdown codes mean the connection is gone. */
static int
db_sqlstate_lost(const char *st)
{
	return strncmp(st, "08", 2) == 0 || strcmp(st, "57P01") == 0 ||
	    strcmp(st, "57P02") == 0 || strcmp(st, "57P03") == 0;
}

/* Marks c broken after a connection failure and tells the breaker. */
static void
db_lost(struct db_conn *c, const char *what, const char *msg)
{
	char	 text[300];

	c->broken = 1;
	db_trim(text, sizeof(text), msg);
	log_event(LOG_ERROR, "db_unavailable", "pool", db_conn_name(c),
	    "during", what, "error", text, NULL);
	if (c->pool != NULL)
		breaker_failure(&c->pool->br);
}

/* Turns the outcome of one statement into an enum ws_err and logs. */
static int
db_classify(struct db_conn *c, const PGresult *res, const char *sql)
{
	const char	*st, *msg;
	char		 text[300], stmt[DB_LOG_SQL + 1];
	int		 rc;

	if (res != NULL) {
		switch (PQresultStatus(res)) {
		case PGRES_COMMAND_OK:
		case PGRES_TUPLES_OK:
		case PGRES_EMPTY_QUERY:
			if (c->pool != NULL)
				breaker_success(&c->pool->br);
			return 0;
		default:
			break;
		}
	}
	st = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	snprintf(c->sqlstate, sizeof(c->sqlstate), "%s",
	    st != NULL ? st : "");
	msg = res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(c->pg);
	if (PQstatus(c->pg) != CONNECTION_OK ||
	    (st != NULL && db_sqlstate_lost(st)) ||
	    (res == NULL && st == NULL)) {
		db_lost(c, "query", msg);
		return WS_ERR_UNAVAILABLE;
	}
	/* The server answered, so it is up whatever it said. */
	if (c->pool != NULL)
		breaker_success(&c->pool->br);
	if (st != NULL && strcmp(st, "23505") == 0) {
		log_event(LOG_DEBUG, "db_conflict", "pool", db_conn_name(c),
		    "constraint", PQresultErrorField(res,
		    PG_DIAG_CONSTRAINT_NAME), NULL);
		return WS_ERR_CONFLICT;
	}
	snprintf(stmt, sizeof(stmt), "%s", sql);
	if (st != NULL && strcmp(st, "57014") == 0) {
		log_event(LOG_WARN, "db_statement_timeout", "pool",
		    db_conn_name(c), "sql", stmt, NULL);
		return WS_ERR_TIMEOUT;
	}
	rc = WS_ERR_DB;
	db_trim(text, sizeof(text), res != NULL ?
	    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL);
	if (text[0] == '\0')
		db_trim(text, sizeof(text), msg);
	log_event(LOG_ERROR, "db_error", "pool", db_conn_name(c),
	    "sqlstate", st != NULL ? st : "-", "message", text,
	    "sql", stmt, NULL);
	return rc;
}

/*
 * Sends one statement in the given way and waits, bounded, for its
 * outcome.  On success the result goes to *out when out is not NULL.
 */
static int
db_run(struct db_conn *c, enum db_kind kind, const char *name,
    const char *sql, int n, const char * const *params, PGresult **out)
{
	PGresult	*res = NULL;
	long long	 deadline;
	int		 ok = 0, rc;

	if (out != NULL)
		*out = NULL;
	c->sqlstate[0] = '\0';
	if (c->pg == NULL || c->broken)
		return WS_ERR_UNAVAILABLE;
	deadline = db_now_ms() + c->bound_ms;
	switch (kind) {
	case DB_SIMPLE:
		ok = PQsendQuery(c->pg, sql);
		break;
	case DB_PARAMS:
		ok = PQsendQueryParams(c->pg, sql, n, NULL, params, NULL,
		    NULL, 0);
		break;
	case DB_PREPARE:
		ok = PQsendPrepare(c->pg, name, sql, n, NULL);
		break;
	case DB_PREPARED:
		ok = PQsendQueryPrepared(c->pg, name, n, params, NULL, NULL,
		    0);
		break;
	}
	if (!ok) {
		if (PQstatus(c->pg) != CONNECTION_OK) {
			db_lost(c, "send", PQerrorMessage(c->pg));
			return WS_ERR_UNAVAILABLE;
		}
		/* A statement still in flight: a bug; start afresh. */
		c->broken = 1;
		log_event(LOG_ERROR, "db_error", "pool", db_conn_name(c),
		    "error", "cannot send the statement", NULL);
		return WS_ERR_INTERNAL;
	}
	if ((rc = db_flush(c->pg, deadline)) == 0)
		rc = db_collect(c->pg, deadline, &res);
	if (rc == WS_ERR_TIMEOUT) {
		/*
		 * The server did not answer within even its own statement
		 * timeout: it is frozen or unreachable.  The connection is
		 * in an unknown state and is dropped.
		 */
		db_lost(c, "wait", "no answer in time");
		rc = WS_ERR_TIMEOUT;
		goto out;
	}
	if (rc == WS_ERR_UNAVAILABLE) {
		db_lost(c, "io", PQerrorMessage(c->pg));
		goto out;
	}
	if (rc != 0) {
		c->broken = 1;
		goto out;
	}
	if ((rc = db_classify(c, res, sql)) == 0 && out != NULL) {
		*out = res;
		res = NULL;
	}
out:
	PQclear(res);
	return rc;
}

/* FNV-1a: names a statement after its text; collisions are checked. */
static uint64_t
db_hash(const char *s)
{
	uint64_t	 h = 14695981039346656037ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

int
db_query(struct db_conn *c, const char *sql, int n,
    const char * const *params, struct db_res **out)
{
	struct db_res	*dr = NULL;
	PGresult	*res = NULL;
	struct db_stmt	*s = NULL;
	char		 name[32], *copy = NULL;
	uint64_t	 h;
	size_t		 i;
	int		 rc;

	if (out != NULL)
		*out = NULL;
	if (c == NULL || sql == NULL || n < 0 || n > DB_PARAMS_MAX ||
	    (n > 0 && params == NULL))
		return WS_ERR_INVALID;
	h = db_hash(sql);
	snprintf(name, sizeof(name), "ws_%016llx", (unsigned long long)h);
	for (i = 0; i < c->nstmts; i++)
		if (c->stmts[i].hash == h) {
			s = &c->stmts[i];
			break;
		}
	if (s != NULL && strcmp(s->sql, sql) == 0)
		rc = db_run(c, DB_PREPARED, name, sql, n, params, &res);
	else if (s != NULL || c->nstmts == DB_STMT_MAX ||
	    (copy = strdup(sql)) == NULL)
		/*
		 * Another text under the same name, a full table or no
		 * memory for the copy: run it unnamed, which costs only
		 * a parse per call.
		 */
		rc = db_run(c, DB_PARAMS, NULL, sql, n, params, &res);
	else {
		if ((rc = db_run(c, DB_PREPARE, name, sql, n, NULL,
		    NULL)) != 0) {
			free(copy);
			goto out;
		}
		c->stmts[c->nstmts].hash = h;
		c->stmts[c->nstmts].sql = copy;
		c->nstmts++;
		rc = db_run(c, DB_PREPARED, name, sql, n, params, &res);
	}
	if (rc != 0 || out == NULL)
		goto out;
	if ((dr = malloc(sizeof(*dr))) == NULL) {
		rc = WS_ERR_NOMEM;
		goto out;
	}
	dr->r = res;
	res = NULL;
	*out = dr;
out:
	PQclear(res);
	return rc;
}

int
db_exec(struct db_conn *c, const char *sql)
{
	if (c == NULL || sql == NULL)
		return WS_ERR_INVALID;
	return db_run(c, DB_SIMPLE, NULL, sql, 0, NULL, NULL);
}

int
db_begin(struct db_conn *c)
{
	return db_exec(c, "BEGIN");
}

int
db_commit(struct db_conn *c)
{
	PGresult	*res = NULL;
	int		 rc;

	if (c == NULL)
		return WS_ERR_INVALID;
	if (c->pg != NULL && !c->broken &&
	    PQtransactionStatus(c->pg) == PQTRANS_INERROR) {
		/* COMMIT would quietly roll back; say so instead. */
		db_rollback(c);
		return WS_ERR_DB;
	}
	if ((rc = db_run(c, DB_SIMPLE, NULL, "COMMIT", 0, NULL, &res)) != 0)
		goto out;
	if (strcmp(PQcmdStatus(res), "COMMIT") != 0)
		rc = WS_ERR_DB;
out:
	PQclear(res);
	return rc;
}

void
db_rollback(struct db_conn *c)
{
	char	 saved[sizeof(c->sqlstate)];

	if (c == NULL || c->pg == NULL || c->broken)
		return;
	switch (PQtransactionStatus(c->pg)) {
	case PQTRANS_IDLE:
		return;
	case PQTRANS_INTRANS:
	case PQTRANS_INERROR:
		/* Keep the SQLSTATE of the failure that led here. */
		memcpy(saved, c->sqlstate, sizeof(saved));
		if (db_run(c, DB_SIMPLE, NULL, "ROLLBACK", 0, NULL,
		    NULL) != 0)
			c->broken = 1;
		memcpy(c->sqlstate, saved, sizeof(saved));
		return;
	default:
		c->broken = 1;
		return;
	}
}

const char *
db_conn_sqlstate(const struct db_conn *c)
{
	return c != NULL ? c->sqlstate : "";
}

int
db_pool_new(struct db_pool **out, const char *url,
    const struct db_pool_opts *o)
{
	struct db_pool		*p = NULL;
	PQconninfoOption	*opts;
	pthread_condattr_t	 ca;
	char			*errmsg = NULL;
	const char		*name;
	size_t			 n;
	int			 i, rc = WS_ERR_INVALID;

	*out = NULL;
	if (url == NULL || *url == '\0' || o == NULL || o->size < 1 ||
	    o->size > 10000 || o->acquire_timeout_ms < 0)
		goto out;
	name = o->name != NULL && *o->name != '\0' ? o->name : "primary";
	/* A malformed URL is a configuration error, found at start-up. */
	if ((opts = PQconninfoParse(url, &errmsg)) == NULL) {
		log_event(LOG_ERROR, "db_bad_url", "pool", name, NULL);
		PQfreemem(errmsg);
		goto out;
	}
	PQconninfoFree(opts);
	rc = WS_ERR_NOMEM;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		goto out;
	p->o = *o;
	p->url = strdup(url);
	p->name = strdup(name);
	n = strlen(name) + sizeof("postgresql:");
	if ((p->breaker_name = malloc(n)) != NULL)
		snprintf(p->breaker_name, n, "postgresql:%s", name);
	p->slots = calloc((size_t)o->size, sizeof(*p->slots));
	if (p->url == NULL || p->name == NULL || p->breaker_name == NULL ||
	    p->slots == NULL)
		goto out;
	p->o.name = p->name;
	if (p->o.connect_timeout_s <= 0)
		p->o.connect_timeout_s = DB_CONNECT_TIMEOUT_S;
	for (i = 0; i < o->size; i++) {
		p->slots[i].pool = p;
		p->slots[i].bound_ms = p->o.statement_timeout_ms > 0 ?
		    p->o.statement_timeout_ms + DB_MARGIN_MS :
		    DB_STANDALONE_BOUND_MS;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cv, &ca);
	pthread_condattr_destroy(&ca);
	breaker_init(&p->br, p->breaker_name, o->breaker_failures,
	    o->breaker_open_ms);
	*out = p;
	p = NULL;
	rc = 0;
out:
	if (p != NULL) {
		free(p->slots);
		free(p->breaker_name);
		free(p->name);
		free(p->url);
		free(p);
	}
	return rc;
}

void
db_pool_free(struct db_pool *p)
{
	int	 i;

	if (p == NULL)
		return;
	for (i = 0; i < p->o.size; i++) {
		if (p->slots[i].in_use)
			log_event(LOG_ERROR, "db_pool_leak", "pool", p->name,
			    NULL);
		db_conn_reset(&p->slots[i]);
	}
	breaker_cleanup(&p->br);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->slots);
	free(p->breaker_name);
	free(p->name);
	free(p->url);
	free(p);
}

/*
 * An idle pooled connection has nothing to say; if its socket is
 * readable the server has closed it (a restart, an idle timeout) or
 * sent a shutdown notice.  Finding that now costs a poll() and saves
 * the caller a failed statement.  In the rare harmless case (a
 * parameter report after a reload) the price is one reconnect.
 * Returns 1 when c is still usable.
 */
static int
db_conn_alive(struct db_conn *c)
{
	struct pollfd	 pfd;

	if (c->pg == NULL || c->broken || PQstatus(c->pg) != CONNECTION_OK)
		return 0;
	if (PQtransactionStatus(c->pg) != PQTRANS_IDLE)
		return 0;
	if ((pfd.fd = PQsocket(c->pg)) < 0)
		return 0;
	pfd.events = POLLIN;
	pfd.revents = 0;
	return poll(&pfd, 1, 0) == 0;
}

/* Called with the pool's mutex held. */
static void
db_pool_unlock_slot(struct db_pool *p, struct db_conn *c)
{
	c->in_use = 0;
	p->in_use--;
	pthread_cond_signal(&p->cv);
}

int
db_pool_acquire(struct db_pool *p, struct db_conn **out)
{
	struct db_conn	*c = NULL;
	struct timespec	 ts;
	long long	 now, deadline;
	PGconn		*pg;
	int		 i, probe, backing_off, rc = 0;

	*out = NULL;
	/* No pool (no database configured) is a database that is down. */
	if (p == NULL || !breaker_allow(&p->br))
		return WS_ERR_UNAVAILABLE;
	/* The one probe of a half-open breaker ignores the backoff. */
	probe = breaker_get_state(&p->br) != BREAKER_CLOSED;
	deadline = db_now_ms() + p->o.acquire_timeout_ms;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct db_conn	*fresh = NULL;

		now = db_now_ms();
		backing_off = 0;
		/* A connected slot first, else one that may connect. */
		for (i = 0; i < p->o.size; i++) {
			struct db_conn	*s = &p->slots[i];

			if (s->in_use)
				continue;
			if (s->pg != NULL) {
				c = s;
				break;
			}
			if (!probe && s->retry_at_ms > now)
				backing_off = 1;
			else if (fresh == NULL)
				fresh = s;
		}
		if (c == NULL)
			c = fresh;
		if (c != NULL)
			break;
		if (backing_off) {
			/*
			 * Free slots exist but each failed to connect a
			 * moment ago: the server is down, so answer now
			 * (design.md 10: fast) rather than wait for the
			 * connections in use, which are likely dead too.
			 */
			pthread_mutex_unlock(&p->mu);
			return WS_ERR_UNAVAILABLE;
		}
		if (now >= deadline) {
			p->timeouts++;
			pthread_mutex_unlock(&p->mu);
			log_event(LOG_WARN, "db_pool_exhausted", "pool",
			    p->name, NULL);
			return WS_ERR_TIMEOUT;
		}
		ts.tv_sec = deadline / 1000;
		ts.tv_nsec = (deadline % 1000) * 1000000;
		pthread_cond_timedwait(&p->cv, &p->mu, &ts);
	}
	c->in_use = 1;
	p->in_use++;
	pthread_mutex_unlock(&p->mu);

	if (c->pg != NULL && !db_conn_alive(c)) {
		log_event(LOG_INFO, "db_reconnect", "pool", p->name, NULL);
		db_conn_reset(c);
	}
	if (c->pg == NULL) {
		pg = db_connect(p->url, p->name, p->o.connect_timeout_s,
		    p->o.statement_timeout_ms, p->o.read_write);
		pthread_mutex_lock(&p->mu);
		if (pg == NULL) {
			c->backoff_ms = c->backoff_ms == 0 ?
			    DB_BACKOFF_MIN_MS : c->backoff_ms * 2;
			if (c->backoff_ms > DB_BACKOFF_MAX_MS)
				c->backoff_ms = DB_BACKOFF_MAX_MS;
			c->retry_at_ms = db_now_ms() + c->backoff_ms;
			db_pool_unlock_slot(p, c);
			rc = WS_ERR_UNAVAILABLE;
		} else {
			/*
			 * The server is back: every slot may connect at
			 * once instead of sitting out its backoff.
			 */
			for (i = 0; i < p->o.size; i++) {
				p->slots[i].backoff_ms = 0;
				p->slots[i].retry_at_ms = 0;
			}
			c->pg = pg;
		}
		pthread_mutex_unlock(&p->mu);
		if (rc != 0) {
			breaker_failure(&p->br);
			return rc;
		}
		breaker_success(&p->br);
	}
	*out = c;
	return 0;
}

void
db_pool_release(struct db_conn *c)
{
	struct db_pool	*p;

	if (c == NULL)
		return;
	if ((p = c->pool) == NULL) {
		db_conn_close(c);
		return;
	}
	/* A transaction left open must not leak into the next user. */
	db_rollback(c);
	if (c->pg != NULL && (c->broken ||
	    PQstatus(c->pg) != CONNECTION_OK ||
	    PQtransactionStatus(c->pg) != PQTRANS_IDLE))
		db_conn_reset(c);
	pthread_mutex_lock(&p->mu);
	db_pool_unlock_slot(p, c);
	pthread_mutex_unlock(&p->mu);
}

void
db_pool_stats(struct db_pool *p, int *in_use, int *size, long *timeouts)
{
	if (p == NULL) {
		if (in_use != NULL)
			*in_use = 0;
		if (size != NULL)
			*size = 0;
		if (timeouts != NULL)
			*timeouts = 0;
		return;
	}
	pthread_mutex_lock(&p->mu);
	if (in_use != NULL)
		*in_use = p->in_use;
	if (size != NULL)
		*size = p->o.size;
	if (timeouts != NULL)
		*timeouts = p->timeouts;
	pthread_mutex_unlock(&p->mu);
}

int
db_pool_ping(struct db_pool *p, double *ms)
{
	struct db_conn	*c = NULL;
	long long	 t0;
	int		 rc;

	t0 = db_now_ms();
	if ((rc = db_pool_acquire(p, &c)) != 0)
		goto out;
	rc = db_query(c, "SELECT 1", 0, NULL, NULL);
out:
	db_pool_release(c);
	if (ms != NULL)
		*ms = (double)(db_now_ms() - t0);
	return rc;
}

size_t
db_res_nrows(const struct db_res *res)
{
	if (res == NULL)
		return 0;
	return (size_t)PQntuples(res->r);
}

/* 1 when (row, col) is a cell of res. */
static int
db_res_inside(const struct db_res *res, size_t row, size_t col)
{
	return res != NULL && row < (size_t)PQntuples(res->r) &&
	    col < (size_t)PQnfields(res->r);
}

const char *
db_res_value(const struct db_res *res, size_t row, size_t col)
{
	if (!db_res_inside(res, row, col))
		return "";
	return PQgetvalue(res->r, (int)row, (int)col);
}

int
db_res_isnull(const struct db_res *res, size_t row, size_t col)
{
	if (!db_res_inside(res, row, col))
		return 1;
	return PQgetisnull(res->r, (int)row, (int)col);
}

long
db_res_affected(const struct db_res *res)
{
	const char	*s;

	if (res == NULL)
		return 0;
	s = PQcmdTuples(res->r);
	return s[0] != '\0' ? strtol(s, NULL, 10) : 0;
}

void
db_res_free(struct db_res *res)
{
	if (res == NULL)
		return;
	PQclear(res->r);
	free(res);
}

int
db_conn_open(struct db_conn **out, const char *url,
    long connect_timeout_s)
{
	struct db_conn	*c;

	*out = NULL;
	if (url == NULL || *url == '\0')
		return WS_ERR_INVALID;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return WS_ERR_NOMEM;
	c->bound_ms = DB_STANDALONE_BOUND_MS;
	c->pg = db_connect(url, "direct", connect_timeout_s > 0 ?
	    connect_timeout_s : DB_CONNECT_TIMEOUT_S, 0, 0);
	if (c->pg == NULL) {
		free(c);
		return WS_ERR_UNAVAILABLE;
	}
	*out = c;
	return 0;
}

void
db_conn_close(struct db_conn *c)
{
	if (c == NULL)
		return;
	if (c->pool != NULL) {
		db_pool_release(c);
		return;
	}
	db_conn_reset(c);
	free(c);
}

int
db_conn_listen(struct db_conn *c, const char *channel)
{
	char	 sql[80];
	size_t	 i, n;

	if (c == NULL || channel == NULL)
		return WS_ERR_INVALID;
	/*
	 * The channel goes into the statement text, so only a plain
	 * lower-case identifier is accepted.
	 */
	n = strlen(channel);
	if (n == 0 || n > 63 || (channel[0] >= '0' && channel[0] <= '9'))
		return WS_ERR_INVALID;
	for (i = 0; i < n; i++)
		if (!((channel[i] >= 'a' && channel[i] <= 'z') ||
		    (channel[i] >= '0' && channel[i] <= '9') ||
		    channel[i] == '_'))
			return WS_ERR_INVALID;
	snprintf(sql, sizeof(sql), "LISTEN %s", channel);
	return db_exec(c, sql);
}

/* Frees every queued notification; returns how many there were. */
static int
db_drain_notifies(PGconn *pg)
{
	PGnotify	*nf;
	int		 n = 0;

	while ((nf = PQnotifies(pg)) != NULL) {
		PQfreemem(nf);
		n++;
	}
	return n;
}

int
db_conn_wait_notify(struct db_conn *c, long timeout_ms)
{
	long long	 deadline;
	int		 rc;

	if (c == NULL)
		return WS_ERR_INVALID;
	if (c->pg == NULL || c->broken)
		return WS_ERR_UNAVAILABLE;
	deadline = db_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	for (;;) {
		if (!PQconsumeInput(c->pg) ||
		    PQstatus(c->pg) != CONNECTION_OK) {
			db_lost(c, "listen", PQerrorMessage(c->pg));
			return WS_ERR_UNAVAILABLE;
		}
		if (db_drain_notifies(c->pg) > 0)
			return 0;
		if ((rc = db_wait_io(c->pg, POLLIN, deadline)) != 0) {
			if (rc == WS_ERR_UNAVAILABLE)
				db_lost(c, "listen", "no socket");
			return rc;
		}
	}
}
