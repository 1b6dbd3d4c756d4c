/*
 * `websands keys rotate-data`: adds a new data key to DATA_KEYS_FILE
 * and re-encrypts every encrypted column (names, TOTP secrets) that an
 * older key sealed, one user per transaction, so the command can be
 * stopped and run again.  Old keys stay in the file: a value that was
 * missed, or written meanwhile by a responder still running with the
 * old key, remains readable.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "cli_keys.h"
#include "datakey.h"
#include "db.h"
#include "error.h"

/* The encrypted columns of users, each sealed with "users.<col>:<id>". */
static const char * const	datakeys_columns[] = {
	"first_name", "last_name", "mfa_secret", "mfa_pending_secret"
};
#define NCOLUMNS	(sizeof(datakeys_columns) / sizeof(datakeys_columns[0]))

/* Appends a new key line to path; its id in *id. */
static int
datakeys_add(const char *path, const struct datakey_ring *kr, int *id)
{
	char	 line[DATAKEY_LINE_MAX];
	size_t	 len;
	int	 fd = -1, rc = WS_ERR_IO;

	if ((*id = datakey_next_id(kr)) == 0 ||
	    datakey_generate_line(*id, line, sizeof(line)) != 0) {
		rc = WS_ERR_INVALID;
		goto out;
	}
	len = strlen(line);
	if ((fd = open(path, O_WRONLY | O_APPEND)) == -1 ||
	    write(fd, line, len) != (ssize_t)len || fsync(fd) != 0)
		goto out;
	rc = 0;
out:
	if (rc == WS_ERR_IO)
		fprintf(stderr, "websands keys rotate-data: %s: %s\n", path,
		    strerror(errno));
	if (fd != -1)
		close(fd);
	sodium_memzero(line, sizeof(line));
	return rc;
}

/* Re-encrypts one column value; *out (base64) is the caller's. */
static int
datakeys_reseal(const struct datakey_ring *kr, const char *col,
    const char *id, const char *b64, char **out)
{
	char	 aad[96], *plain = NULL;
	int	 rc;

	snprintf(aad, sizeof(aad), "users.%s:%s", col, id);
	if ((rc = datakey_decrypt_text(kr, b64, aad, &plain)) != 0)
		return rc;
	rc = datakey_encrypt_text(kr, plain, aad, out);
	datakey_plain_free(plain, strlen(plain));
	return rc;
}

/* Re-encrypts the sealed columns of one user in a transaction. */
static int
datakeys_user(struct db_conn *c, const struct datakey_ring *kr,
    const char *id)
{
	struct db_res	*res = NULL;
	char		*sealed[NCOLUMNS] = { NULL };
	const char	*params[NCOLUMNS + 1];
	size_t		 i;
	int		 rc;

	if ((rc = db_begin(c)) != 0)
		return rc;
	if ((rc = db_query(c, "SELECT translate(encode(first_name,"
	    " 'base64'), E'\\n', ''), translate(encode(last_name, 'base64'),"
	    " E'\\n', ''), translate(encode(mfa_secret, 'base64'), E'\\n',"
	    " ''), translate(encode(mfa_pending_secret, 'base64'), E'\\n',"
	    " '') FROM users WHERE id = $1::uuid FOR UPDATE", 1, &id,
	    &res)) != 0 || db_res_nrows(res) != 1)
		goto out;
	for (i = 0; i < NCOLUMNS; i++)
		if (!db_res_isnull(res, 0, i) && (rc = datakeys_reseal(kr,
		    datakeys_columns[i], id, db_res_value(res, 0, i),
		    &sealed[i])) != 0)
			goto out;
	params[0] = id;
	for (i = 0; i < NCOLUMNS; i++)
		params[i + 1] = sealed[i];
	rc = db_query(c, "UPDATE users SET"
	    " first_name = decode($2, 'base64'),"
	    " last_name = decode($3, 'base64'),"
	    " mfa_secret = decode($4, 'base64'),"
	    " mfa_pending_secret = decode($5, 'base64')"
	    " WHERE id = $1::uuid", NCOLUMNS + 1, params, NULL);
out:
	if (rc == 0)
		rc = db_commit(c);
	else
		db_rollback(c);
	for (i = 0; i < NCOLUMNS; i++)
		free(sealed[i]);
	db_res_free(res);
	return rc;
}

int
cli_keys_rotate_data(int argc, char **argv)
{
	struct ws_config	 cfg;
	struct datakey_ring	*kr = NULL;
	struct db_conn		*c = NULL;
	struct db_res		*res = NULL;
	const char		*config = NULL, *path;
	char			 active[8];
	size_t			 i;
	long			 done = 0;
	int			 id, rc, status = CLI_FAIL, loaded = 0;

	for (id = 1; id < argc; id++)
		if (cli_opt_value(argc, argv, &id, "config", &config) != 1)
			return cli_usage_error("keys rotate-data",
			    "unexpected argument \"%.64s\"", argv[id]);
	memset(&cfg, 0, sizeof(cfg));
	if (cli_load_config("keys rotate-data", config, &cfg) != CLI_OK)
		return CLI_FAIL;
	loaded = 1;
	if ((path = getenv("DATA_KEYS_FILE")) == NULL || *path == '\0') {
		fprintf(stderr, "websands keys rotate-data: DATA_KEYS_FILE is "
		    "required\n");
		goto out;
	}
	/* Load, add a key, load again: the new key is now the active one. */
	if (datakey_ring_load(&kr, path) != 0 ||
	    datakeys_add(path, kr, &id) != 0)
		goto out;
	datakey_ring_free(kr);
	kr = NULL;
	if (datakey_ring_load(&kr, path) != 0 || datakey_active_id(kr) != id)
		goto out;
	if (db_conn_open(&c, cfg.database_url, 10) != 0) {
		fprintf(stderr, "websands keys rotate-data: the database is "
		    "unreachable\n");
		goto out;
	}
	snprintf(active, sizeof(active), "%d", id);
	/* Byte 1 of every ciphertext is the id of the key that sealed it. */
	if (db_query(c, "SELECT id FROM users WHERE"
	    " (first_name IS NOT NULL AND get_byte(first_name, 1) <> $1::int)"
	    " OR (last_name IS NOT NULL AND get_byte(last_name, 1) <> $1::int)"
	    " OR (mfa_secret IS NOT NULL AND get_byte(mfa_secret, 1) <>"
	    " $1::int) OR (mfa_pending_secret IS NOT NULL AND"
	    " get_byte(mfa_pending_secret, 1) <> $1::int) ORDER BY id",
	    1, (const char *[]){ active }, &res) != 0)
		goto out;
	for (i = 0; i < db_res_nrows(res); i++) {
		if ((rc = datakeys_user(c, kr, db_res_value(res, i, 0))) != 0) {
			fprintf(stderr, "websands keys rotate-data: user %s: "
			    "%s\n", db_res_value(res, i, 0), ws_err_name(rc));
			goto out;
		}
		done++;
	}
	printf("data key %d added; %ld user%s re-encrypted; restart the "
	    "responders so that they seal new values with it\n", id, done,
	    done == 1 ? "" : "s");
	status = CLI_OK;
out:
	db_res_free(res);
	db_conn_close(c);
	datakey_ring_free(kr);
	if (loaded)
		cli_free_config(&cfg);
	return status;
}
