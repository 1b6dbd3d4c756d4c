/*
 * MFA checks and enrolment (mfa.h).  Every function starts by locking
 * the users row, so the decision about a code and the write that
 * records it (the used step, a failure, a used recovery code) happen
 * under one lock: two requests carrying the same code cannot both
 * pass, and parallel wrong codes are counted one after the other.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "error.h"
#include "log.h"
#include "mfa.h"

/* Bytes of a ciphertext column as base64 text: a secret is small. */
#define MFA_CT_B64_MAX	512

/* The MFA columns of one users row, read under its lock. */
struct mfa_row {
	int	 enabled;
	int	 has_secret;
	int	 has_pending;
	char	 secret_ct[MFA_CT_B64_MAX];	/* base64 ciphertext */
	char	 pending_ct[MFA_CT_B64_MAX];
	long long last_step;			/* 0 when none */
	long	 locked_s;			/* seconds of lock left */
};

void
mfa_opts_default(struct mfa_opts *o)
{
	o->max_failures = MFA_DEFAULT_MAX_FAILURES;
	o->window_s = MFA_DEFAULT_WINDOW_S;
	o->lock_s = MFA_DEFAULT_LOCK_S;
}

/* Writes "users.<column>:<id>"; 0 or WS_ERR_INVALID when too long. */
static int
mfa_aad(char *out, size_t len, const char *column, const char *user_id)
{
	int	 w;

	w = snprintf(out, len, "users.%s:%s", column, user_id);
	return w > 0 && (size_t)w < len ? 0 : WS_ERR_INVALID;
}

/* Copies a cell into out; WS_ERR_TOOBIG when it does not fit. */
static int
mfa_copy(char *out, size_t len, const char *v)
{
	size_t	 n = strlen(v);

	if (n >= len)
		return WS_ERR_TOOBIG;
	memcpy(out, v, n + 1);
	return 0;
}

/* Locks and reads the MFA columns of user_id into m. */
static int
mfa_load(struct db_conn *c, const char *user_id, struct mfa_row *m)
{
	struct db_res	*res = NULL;
	const char	*params[1] = { user_id };
	int		 rc;

	memset(m, 0, sizeof(*m));
	if ((rc = db_query(c, "SELECT mfa_enabled,"
	    " translate(encode(mfa_secret, 'base64'), E'\\n', ''),"
	    " translate(encode(mfa_pending_secret, 'base64'), E'\\n', ''),"
	    " coalesce(mfa_last_step, 0),"
	    " CASE WHEN mfa_locked_until > now() THEN ceil(extract(epoch"
	    " FROM mfa_locked_until - now()))::bigint ELSE 0 END"
	    " FROM users WHERE id = $1::uuid FOR UPDATE",
	    1, params, &res)) != 0)
		goto out;
	if (db_res_nrows(res) != 1) {
		rc = WS_ERR_NOTFOUND;
		goto out;
	}
	m->enabled = strcmp(db_res_value(res, 0, 0), "t") == 0;
	m->has_secret = !db_res_isnull(res, 0, 1);
	m->has_pending = !db_res_isnull(res, 0, 2);
	if ((rc = mfa_copy(m->secret_ct, sizeof(m->secret_ct),
	    db_res_value(res, 0, 1))) != 0 ||
	    (rc = mfa_copy(m->pending_ct, sizeof(m->pending_ct),
	    db_res_value(res, 0, 2))) != 0)
		goto out;
	m->last_step = strtoll(db_res_value(res, 0, 3), NULL, 10);
	m->locked_s = strtol(db_res_value(res, 0, 4), NULL, 10);
	if (m->locked_s < 0)
		m->locked_s = 0;
out:
	db_res_free(res);
	return rc;
}

/*
 * Counts one wrong code.  The count restarts when the window since the
 * first failure has passed; reaching max_failures sets the lock and
 * restarts the count, and *locked_s tells the caller.
 */
static int
mfa_fail(struct db_conn *c, const struct mfa_opts *o, const char *user_id,
    long *locked_s)
{
	struct db_res	*res = NULL;
	char		 window[32], lock[32];
	const char	*params[2] = { user_id, window };
	int		 rc;

	*locked_s = 0;
	snprintf(window, sizeof(window), "%ld", o->window_s);
	snprintf(lock, sizeof(lock), "%ld", o->lock_s);
	if ((rc = db_query(c, "UPDATE users SET mfa_failed_count ="
	    " CASE WHEN mfa_failed_first_at IS NULL OR mfa_failed_first_at"
	    " < now() - make_interval(secs => $2::int) THEN 1"
	    " ELSE mfa_failed_count + 1 END,"
	    " mfa_failed_first_at = CASE WHEN mfa_failed_first_at IS NULL"
	    " OR mfa_failed_first_at < now() - make_interval(secs =>"
	    " $2::int) THEN now() ELSE mfa_failed_first_at END"
	    " WHERE id = $1::uuid RETURNING mfa_failed_count",
	    2, params, &res)) != 0)
		goto out;
	if (db_res_nrows(res) != 1) {
		rc = WS_ERR_NOTFOUND;
		goto out;
	}
	if (strtol(db_res_value(res, 0, 0), NULL, 10) < o->max_failures)
		goto out;
	/* Every parameter sent must appear, or its type is unknown. */
	params[1] = lock;
	if ((rc = db_query(c, "UPDATE users SET mfa_locked_until = now() +"
	    " make_interval(secs => $2::int), mfa_failed_count = 0,"
	    " mfa_failed_first_at = NULL WHERE id = $1::uuid",
	    2, params, NULL)) != 0)
		goto out;
	*locked_s = o->lock_s;
	log_event(LOG_WARN, "mfa_locked", "user", user_id, NULL);
out:
	db_res_free(res);
	return rc;
}

/* Clears the failure count after an accepted code. */
static int
mfa_clear(struct db_conn *c, const char *user_id)
{
	const char	*params[1] = { user_id };

	return db_query(c, "UPDATE users SET mfa_failed_count = 0,"
	    " mfa_failed_first_at = NULL, mfa_locked_until = NULL"
	    " WHERE id = $1::uuid", 1, params, NULL);
}

/* Decrypts the base64 ciphertext ct of column into *secret. */
static int
mfa_open(const struct datakey_ring *dk, const char *ct,
    const char *column, const char *user_id, char **secret)
{
	char	 aad[MFA_AAD_MAX];
	int	 rc;

	*secret = NULL;
	if ((rc = mfa_aad(aad, sizeof(aad), column, user_id)) != 0)
		return rc;
	if ((rc = datakey_decrypt_text(dk, ct, aad, secret)) != 0) {
		log_event(LOG_ERROR, "mfa_secret_unreadable", "user",
		    user_id, "error", ws_err_name(rc), NULL);
		return WS_ERR_INTERNAL;
	}
	return 0;
}

static void
mfa_secret_free(char *secret)
{
	if (secret != NULL)
		datakey_plain_free(secret, strlen(secret));
}

int
mfa_verify_totp(struct db_conn *c, const struct datakey_ring *dk,
    const struct mfa_opts *o, const char *user_id, const char *code,
    int *ok, long *retry_s)
{
	struct mfa_row	 m;
	char		*secret = NULL, step[32];
	const char	*params[2] = { user_id, step };
	int64_t		 matched;
	int		 rc;

	*ok = 0;
	*retry_s = 0;
	if ((rc = mfa_load(c, user_id, &m)) != 0)
		goto out;
	if (!m.enabled || !m.has_secret) {
		rc = WS_ERR_INVALID;
		goto out;
	}
	if (m.locked_s > 0) {
		*retry_s = m.locked_s;
		rc = WS_ERR_CONFLICT;
		goto out;
	}
	if ((rc = mfa_open(dk, m.secret_ct, "mfa_secret", user_id,
	    &secret)) != 0)
		goto out;
	rc = totp_verify(secret, code, time(NULL), (int64_t)m.last_step,
	    &matched);
	if (rc == WS_ERR_INVALID || rc == WS_ERR_CONFLICT) {
		/* A wrong code and a replayed one count alike. */
		if (rc == WS_ERR_CONFLICT)
			log_event(LOG_WARN, "totp_replay", "user", user_id,
			    NULL);
		rc = mfa_fail(c, o, user_id, retry_s);
		goto out;
	}
	if (rc != 0)
		goto out;
	snprintf(step, sizeof(step), "%lld", (long long)matched);
	if ((rc = db_query(c, "UPDATE users SET mfa_last_step ="
	    " $2::bigint WHERE id = $1::uuid", 2, params, NULL)) != 0 ||
	    (rc = mfa_clear(c, user_id)) != 0)
		goto out;
	*ok = 1;
out:
	mfa_secret_free(secret);
	sodium_memzero(&m, sizeof(m));
	return rc;
}

int
mfa_verify_recovery(struct db_conn *c, const struct mfa_opts *o,
    const char *user_id, const char *code, int *ok, long *retry_s)
{
	struct mfa_row	 m;
	struct db_res	*res = NULL;
	const char	*stored[RECOVERY_CODES * 4];
	const char	*params[1] = { user_id };
	size_t		 i, n, idx;
	int		 rc;

	*ok = 0;
	*retry_s = 0;
	if ((rc = mfa_load(c, user_id, &m)) != 0)
		goto out;
	if (!m.enabled) {
		rc = WS_ERR_INVALID;
		goto out;
	}
	if (m.locked_s > 0) {
		*retry_s = m.locked_s;
		rc = WS_ERR_CONFLICT;
		goto out;
	}
	/* A set holds RECOVERY_CODES; the bound only guards the array. */
	if ((rc = db_query(c, "SELECT id, code_hash FROM recovery_codes"
	    " WHERE user_id = $1::uuid AND used_at IS NULL ORDER BY id"
	    " LIMIT 40", 1, params, &res)) != 0)
		goto out;
	n = db_res_nrows(res);
	if (n > sizeof(stored) / sizeof(stored[0]))
		n = sizeof(stored) / sizeof(stored[0]);
	for (i = 0; i < n; i++)
		stored[i] = db_res_value(res, i, 1);
	rc = n > 0 ? recovery_find(code, stored, n, &idx) : WS_ERR_NOTFOUND;
	if (rc == WS_ERR_NOTFOUND) {
		rc = mfa_fail(c, o, user_id, retry_s);
		goto out;
	}
	if (rc != 0)
		goto out;
	params[0] = db_res_value(res, idx, 0);
	if ((rc = db_query(c, "UPDATE recovery_codes SET used_at = now()"
	    " WHERE id = $1::bigint AND used_at IS NULL", 1, params,
	    NULL)) != 0 || (rc = mfa_clear(c, user_id)) != 0)
		goto out;
	*ok = 1;
out:
	db_res_free(res);
	sodium_memzero(&m, sizeof(m));
	return rc;
}

int
mfa_is_enabled(struct db_conn *c, const char *user_id, int *on)
{
	struct db_res	*res = NULL;
	const char	*params[1] = { user_id };
	int		 rc;

	*on = 0;
	if ((rc = db_query(c, "SELECT mfa_enabled FROM users"
	    " WHERE id = $1::uuid", 1, params, &res)) != 0)
		goto out;
	if (db_res_nrows(res) != 1)
		rc = WS_ERR_NOTFOUND;
	else
		*on = strcmp(db_res_value(res, 0, 0), "t") == 0;
out:
	db_res_free(res);
	return rc;
}

/* Encrypts secret for column of user_id into *ct (base64; free()). */
static int
mfa_seal(const struct datakey_ring *dk, const char *secret,
    const char *column, const char *user_id, char **ct)
{
	char	 aad[MFA_AAD_MAX];
	int	 rc;

	*ct = NULL;
	if ((rc = mfa_aad(aad, sizeof(aad), column, user_id)) != 0)
		return rc;
	return datakey_encrypt_text(dk, secret, aad, ct);
}

int
mfa_begin(struct db_conn *c, const struct datakey_ring *dk,
    const char *user_id, char secret[TOTP_SECRET_B32_LEN + 1])
{
	struct mfa_row	 m;
	char		*ct = NULL;
	const char	*params[2];
	int		 rc;

	secret[0] = '\0';
	if ((rc = mfa_load(c, user_id, &m)) != 0)
		goto out;
	if (m.enabled) {
		rc = WS_ERR_CONFLICT;
		goto out;
	}
	if ((rc = totp_secret_new(secret)) != 0 ||
	    (rc = mfa_seal(dk, secret, "mfa_pending_secret", user_id,
	    &ct)) != 0)
		goto out;
	params[0] = user_id;
	params[1] = ct;
	rc = db_query(c, "UPDATE users SET mfa_pending_secret ="
	    " decode($2, 'base64') WHERE id = $1::uuid", 2, params, NULL);
out:
	if (rc != 0)
		sodium_memzero(secret, TOTP_SECRET_B32_LEN + 1);
	free(ct);
	sodium_memzero(&m, sizeof(m));
	return rc;
}

/* Hashes codes and stores them as user_id's only set. */
static int
mfa_store_codes(struct db_conn *c, const char *user_id,
    char codes[RECOVERY_CODES][RECOVERY_CODE_LEN + 1])
{
	char		 hash[RECOVERY_HASH_MAX];
	const char	*params[2] = { user_id, hash };
	size_t		 i;
	int		 rc;

	if ((rc = db_query(c, "DELETE FROM recovery_codes"
	    " WHERE user_id = $1::uuid", 1, params, NULL)) != 0)
		return rc;
	for (i = 0; i < RECOVERY_CODES; i++) {
		if ((rc = recovery_hash(codes[i], hash)) != 0 ||
		    (rc = db_query(c, "INSERT INTO recovery_codes (user_id,"
		    " code_hash) VALUES ($1::uuid, $2)", 2, params,
		    NULL)) != 0)
			break;
	}
	sodium_memzero(hash, sizeof(hash));
	return rc;
}

int
mfa_recovery_renew(struct db_conn *c, const char *user_id,
    char codes[RECOVERY_CODES][RECOVERY_CODE_LEN + 1])
{
	int	 rc;

	if ((rc = recovery_codes_new(codes)) != 0 ||
	    (rc = mfa_store_codes(c, user_id, codes)) != 0)
		sodium_memzero(codes, RECOVERY_CODES *
		    (RECOVERY_CODE_LEN + 1));
	return rc;
}

int
mfa_confirm(struct db_conn *c, const struct datakey_ring *dk,
    const char *user_id, const char *code,
    char codes[RECOVERY_CODES][RECOVERY_CODE_LEN + 1], int *ok)
{
	struct mfa_row	 m;
	char		*secret = NULL, *ct = NULL, step[32];
	const char	*params[3];
	int64_t		 matched;
	int		 rc;

	*ok = 0;
	if ((rc = mfa_load(c, user_id, &m)) != 0)
		goto out;
	if (m.enabled) {
		rc = WS_ERR_CONFLICT;
		goto out;
	}
	if (!m.has_pending) {
		rc = WS_ERR_NOTFOUND;
		goto out;
	}
	if ((rc = mfa_open(dk, m.pending_ct, "mfa_pending_secret", user_id,
	    &secret)) != 0)
		goto out;
	rc = totp_verify(secret, code, time(NULL), 0, &matched);
	if (rc == WS_ERR_INVALID || rc == WS_ERR_CONFLICT) {
		rc = 0;
		goto out;
	}
	if (rc != 0)
		goto out;
	/* The confirmed secret is bound to its own column. */
	if ((rc = mfa_seal(dk, secret, "mfa_secret", user_id, &ct)) != 0)
		goto out;
	snprintf(step, sizeof(step), "%lld", (long long)matched);
	params[0] = user_id;
	params[1] = ct;
	params[2] = step;
	if ((rc = db_query(c, "UPDATE users SET mfa_enabled = true,"
	    " mfa_secret = decode($2, 'base64'), mfa_pending_secret = NULL,"
	    " mfa_last_step = $3::bigint, mfa_failed_count = 0,"
	    " mfa_failed_first_at = NULL, mfa_locked_until = NULL"
	    " WHERE id = $1::uuid", 3, params, NULL)) != 0 ||
	    (rc = mfa_recovery_renew(c, user_id, codes)) != 0)
		goto out;
	*ok = 1;
out:
	mfa_secret_free(secret);
	free(ct);
	sodium_memzero(&m, sizeof(m));
	return rc;
}

int
mfa_disable(struct db_conn *c, const char *user_id)
{
	struct mfa_row	 m;
	const char	*params[1] = { user_id };
	int		 rc;

	if ((rc = mfa_load(c, user_id, &m)) != 0)
		goto out;
	if (!m.enabled) {
		rc = WS_ERR_INVALID;
		goto out;
	}
	if ((rc = db_query(c, "UPDATE users SET mfa_enabled = false,"
	    " mfa_secret = NULL, mfa_pending_secret = NULL,"
	    " mfa_last_step = NULL, mfa_failed_count = 0,"
	    " mfa_failed_first_at = NULL, mfa_locked_until = NULL"
	    " WHERE id = $1::uuid", 1, params, NULL)) != 0)
		goto out;
	rc = db_query(c, "DELETE FROM recovery_codes WHERE user_id ="
	    " $1::uuid", 1, params, NULL);
out:
	sodium_memzero(&m, sizeof(m));
	return rc;
}
