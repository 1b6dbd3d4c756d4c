/*
 * Schema migrations (migrate.h).  A run takes a session-level advisory
 * lock, so two deployments starting at once apply each file once;
 * checks every recorded file against its checksum before touching
 * anything; then applies each pending file in its own transaction
 * together with the row that records it, so a file is either applied
 * and recorded or neither.
 *
 * A migration file must not contain its own BEGIN or COMMIT, nor
 * statements that refuse to run in a transaction block (CREATE INDEX
 * CONCURRENTLY, for example).
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "db.h"
#include "error.h"
#include "log.h"
#include "migrate.h"

/* pg_advisory_lock key: the bytes of "websands" as a bigint. */
#define MIGRATE_LOCK_SQL \
	"SELECT pg_advisory_lock(8603390910856586355)"
#define MIGRATE_UNLOCK_SQL \
	"SELECT pg_advisory_unlock(8603390910856586355)"
#define MIGRATE_FILE_MAX	(4 * 1024 * 1024)
#define MIGRATE_FILES_MAX	1000
#define MIGRATE_NAME_MAX	200
#define MIGRATE_CONNECT_S	10

struct migration {
	char	 name[MIGRATE_NAME_MAX + 1];	/* 0001_initial.sql */
	char	 version[MIGRATE_NAME_MAX + 1];	/* 0001_initial */
	char	 sum[crypto_hash_sha256_BYTES * 2 + 1];
	int	 applied;
};

/* ^[0-9]{4}_[a-z0-9_]+\.sql$ */
static int
migrate_name_ok(const char *s)
{
	size_t	 i, n = strlen(s);

	if (n < 10 || n > MIGRATE_NAME_MAX ||
	    strcmp(s + n - 4, ".sql") != 0)
		return 0;
	for (i = 0; i < 4; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	if (s[4] != '_')
		return 0;
	for (i = 5; i < n - 4; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

static int
migrate_cmp(const void *a, const void *b)
{
	return strcmp(((const struct migration *)a)->name,
	    ((const struct migration *)b)->name);
}

/* Lists the migration files of dir, sorted, into *out. */
static int
migrate_list(const char *dir, struct migration **out, size_t *count,
    char *err, size_t errlen)
{
	struct migration	*m = NULL, *grown;
	struct dirent		*de;
	DIR			*d;
	size_t			 n = 0, cap = 0, i, len;
	int			 rc = WS_ERR_IO;

	*out = NULL;
	*count = 0;
	if ((d = opendir(dir)) == NULL) {
		snprintf(err, errlen, "cannot read the directory %s: %s",
		    dir, strerror(errno));
		return WS_ERR_IO;
	}
	while ((de = readdir(d)) != NULL) {
		if (!migrate_name_ok(de->d_name))
			continue;
		if (n == MIGRATE_FILES_MAX) {
			snprintf(err, errlen, "%s holds more than %d "
			    "migrations", dir, MIGRATE_FILES_MAX);
			rc = WS_ERR_TOOBIG;
			goto out;
		}
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			if ((grown = realloc(m, cap * sizeof(*m))) == NULL) {
				rc = WS_ERR_NOMEM;
				snprintf(err, errlen, "out of memory");
				goto out;
			}
			m = grown;
		}
		/* migrate_name_ok bounded the length of the name. */
		len = strlen(de->d_name);
		memset(&m[n], 0, sizeof(m[n]));
		memcpy(m[n].name, de->d_name, len);
		memcpy(m[n].version, de->d_name, len - 4);
		n++;
	}
	if (n > 0)
		qsort(m, n, sizeof(*m), migrate_cmp);
	/* Two files with one number would apply in a fragile order. */
	for (i = 1; i < n; i++)
		if (strncmp(m[i - 1].name, m[i].name, 4) == 0) {
			snprintf(err, errlen, "%s/%s and %s/%s share a number",
			    dir, m[i - 1].name, dir, m[i].name);
			rc = WS_ERR_INVALID;
			goto out;
		}
	*out = m;
	*count = n;
	m = NULL;
	rc = 0;
out:
	closedir(d);
	free(m);
	return rc;
}

/*
 * Reads the whole file dir/name (a regular file of at most
 * MIGRATE_FILE_MAX bytes without NUL bytes) into *text, NUL-ended,
 * and its hex SHA-256 into sum.  *text is the caller's to free.
 */
static int
migrate_read(const char *dir, const char *name, char **text, char *sum,
    size_t sumlen, char *err, size_t errlen)
{
	unsigned char	 digest[crypto_hash_sha256_BYTES];
	struct stat	 st;
	char		 path[4096], *buf = NULL;
	size_t		 got = 0;
	ssize_t		 r;
	int		 fd = -1, rc = WS_ERR_IO, n;

	*text = NULL;
	n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		snprintf(err, errlen, "the path of %s is too long", name);
		return WS_ERR_INVALID;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		snprintf(err, errlen, "cannot read %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > MIGRATE_FILE_MAX) {
		snprintf(err, errlen, "%s is not a regular file of at most "
		    "%d bytes", path, MIGRATE_FILE_MAX);
		rc = WS_ERR_TOOBIG;
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, errlen, "out of memory reading %s", path);
		rc = WS_ERR_NOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, errlen, "cannot read %s: %s", path,
			    r < 0 ? strerror(errno) : "it shrank");
			goto out;
		}
		got += (size_t)r;
	}
	buf[got] = '\0';
	if (strlen(buf) != got) {
		snprintf(err, errlen, "%s contains a NUL byte", path);
		rc = WS_ERR_INVALID;
		goto out;
	}
	crypto_hash_sha256(digest, (const unsigned char *)buf, got);
	sodium_bin2hex(sum, sumlen, digest, sizeof(digest));
	*text = buf;
	buf = NULL;
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	free(buf);
	return rc;
}

/*
 * Compares every file with what schema_migrations recorded for it:
 * marks the applied ones and fails on the first whose checksum moved.
 */
static int
migrate_check(struct db_conn *c, const char *dir, struct migration *m,
    size_t n, char *err, size_t errlen)
{
	struct db_res	*res = NULL;
	const char	*ver, *sum;
	char		*text = NULL;
	size_t		 i, row;
	int		 rc, found;

	if ((rc = db_query(c, "SELECT version, checksum FROM "
	    "schema_migrations ORDER BY version", 0, NULL, &res)) != 0) {
		snprintf(err, errlen, "cannot read schema_migrations (%s)",
		    ws_err_name(rc));
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((rc = migrate_read(dir, m[i].name, &text, m[i].sum,
		    sizeof(m[i].sum), err, errlen)) != 0)
			goto out;
		free(text);
		text = NULL;
	}
	for (row = 0; row < db_res_nrows(res); row++) {
		ver = db_res_value(res, row, 0);
		sum = db_res_value(res, row, 1);
		found = 0;
		for (i = 0; i < n && !found; i++) {
			if (strcmp(m[i].version, ver) != 0)
				continue;
			found = 1;
			m[i].applied = 1;
			if (strcmp(m[i].sum, sum) == 0)
				continue;
			snprintf(err, errlen, "%s/%s was changed after it "
			    "was applied (checksum %.16s... recorded, "
			    "%.16s... now)", dir, m[i].name, sum, m[i].sum);
			rc = WS_ERR_CONFLICT;
			goto out;
		}
		if (!found)
			log_event(LOG_WARN, "migration_file_missing",
			    "version", ver, "dir", dir, NULL);
	}
	rc = 0;
out:
	free(text);
	db_res_free(res);
	return rc;
}

/* Applies one file and records it, in one transaction. */
static int
migrate_apply(struct db_conn *c, const char *dir, struct migration *m,
    char *err, size_t errlen)
{
	const char	*params[2];
	char		*text = NULL, sum[sizeof(m->sum)];
	int		 rc;

	/* What is recorded is the checksum of what is applied. */
	if ((rc = migrate_read(dir, m->name, &text, sum, sizeof(sum), err,
	    errlen)) != 0)
		goto out;
	params[0] = m->version;
	params[1] = sum;
	if ((rc = db_begin(c)) != 0 || (rc = db_exec(c, text)) != 0 ||
	    (rc = db_query(c, "INSERT INTO schema_migrations (version, "
	    "checksum) VALUES ($1, $2)", 2, params, NULL)) != 0 ||
	    (rc = db_commit(c)) != 0) {
		snprintf(err, errlen, "%s/%s failed (%s, SQLSTATE %s; the "
		    "server's message is in the log above); nothing of it "
		    "was applied", dir, m->name, ws_err_name(rc),
		    db_conn_sqlstate(c)[0] != '\0' ?
		    db_conn_sqlstate(c) : "none");
		db_rollback(c);
		goto out;
	}
	log_event(LOG_INFO, "migration_applied", "version", m->version,
	    "checksum", sum, NULL);
out:
	free(text);
	return rc;
}

int
migrate_run(const char *url, const char *dir, int *applied, char *err,
    size_t errlen)
{
	struct migration	*m = NULL;
	struct db_conn		*c = NULL;
	size_t			 n = 0, i;
	int			 rc, locked = 0;

	*applied = 0;
	if (errlen > 0)
		err[0] = '\0';
	if (url == NULL || dir == NULL) {
		snprintf(err, errlen, "no database URL or directory");
		return WS_ERR_INVALID;
	}
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium cannot start");
		return WS_ERR_INTERNAL;
	}
	if ((rc = migrate_list(dir, &m, &n, err, errlen)) != 0)
		goto out;
	if ((rc = db_conn_open(&c, url, MIGRATE_CONNECT_S)) != 0) {
		snprintf(err, errlen, "cannot connect to the database "
		    "(the reason is in the log above)");
		goto out;
	}
	/*
	 * Waiting for another run is bounded: a run stuck for a minute
	 * needs a person, not a queue of deployments behind it.
	 */
	if ((rc = db_exec(c, "SET lock_timeout = '60s'")) != 0 ||
	    (rc = db_query(c, MIGRATE_LOCK_SQL, 0, NULL, NULL)) != 0) {
		snprintf(err, errlen, "cannot take the migration lock (%s)%s",
		    ws_err_name(rc), strcmp(db_conn_sqlstate(c), "55P03") == 0 ?
		    ": another migration has held it for a minute" : "");
		goto out;
	}
	locked = 1;
	if ((rc = db_exec(c, "RESET lock_timeout")) != 0 ||
	    (rc = db_exec(c, "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    "version text PRIMARY KEY, checksum text NOT NULL, "
	    "applied_at timestamptz NOT NULL DEFAULT now())")) != 0) {
		snprintf(err, errlen, "cannot create schema_migrations (%s)",
		    ws_err_name(rc));
		goto out;
	}
	if ((rc = migrate_check(c, dir, m, n, err, errlen)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (m[i].applied)
			continue;
		if ((rc = migrate_apply(c, dir, &m[i], err, errlen)) != 0)
			goto out;
		(*applied)++;
	}
	rc = 0;
out:
	if (locked)
		(void)db_query(c, MIGRATE_UNLOCK_SQL, 0, NULL, NULL);
	db_conn_close(c);
	free(m);
	return rc;
}
