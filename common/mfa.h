/*
 * Two-step verification (design.md 7) on top of totp.h, recovery.h and
 * datakey.h: the checks websands-auth runs at the second step of a
 * sign-in and websands-users runs before an MFA or account change, and
 * the enrolment steps of websands-users.
 *
 * State lives in the users row (sql/0001_initial.sql, 0004_mfa.sql):
 *   mfa_enabled, mfa_secret      the confirmed secret, encrypted with
 *                                the data key and the associated data
 *                                "users.mfa_secret:<id>";
 *   mfa_pending_secret           an enrolment not yet confirmed,
 *                                "users.mfa_pending_secret:<id>";
 *   mfa_last_step                the last TOTP step accepted;
 *   mfa_failed_count, mfa_failed_first_at, mfa_locked_until
 *                                the MFA lockout, separate from the
 *                                password lockout.
 * and the user's recovery_codes rows (Argon2id hashes, single use).
 *
 * Every function here runs inside a transaction the caller began, and
 * locks the users row (SELECT ... FOR UPDATE) first, so two requests
 * with the same code are decided one after the other and a step is
 * never accepted twice.  A wrong code is written as a failure in that
 * transaction: the caller must COMMIT it even when *ok is 0, or the
 * failure is not counted.  The secret and the codes never reach a log.
 */
#ifndef WEBSANDS_MFA_H
#define WEBSANDS_MFA_H

#include "datakey.h"
#include "db.h"
#include "recovery.h"
#include "totp.h"

/*
 * The MFA lockout.  Responders read it from MFA_MAX_FAILURES,
 * MFA_FAILURE_WINDOW_S and MFA_LOCK_S so that all of them apply the
 * same numbers.
 */
struct mfa_opts {
	long	 max_failures;	/* wrong codes that lock MFA (5) */
	long	 window_s;	/* the window they are counted in (900) */
	long	 lock_s;	/* how long the lock lasts (900) */
};

#define MFA_DEFAULT_MAX_FAILURES	5
#define MFA_DEFAULT_WINDOW_S		900
#define MFA_DEFAULT_LOCK_S		900
/* Bytes of an associated-data string "users.<column>:<uuid>". */
#define MFA_AAD_MAX			96

/* Fills o with the defaults above. */
void	 mfa_opts_default(struct mfa_opts *o);

/*
 * Inside the caller's transaction.  Checks a 6-digit TOTP code for
 * user_id: decrypts users.mfa_secret with the associated data
 * "users.mfa_secret:<id>", accepts the steps now - 1 .. now + 1 but
 * never a step at or below users.mfa_last_step (and stores the step it
 * accepts), counts a wrong, malformed or replayed code toward the MFA
 * lockout and clears the count on success.
 *
 * Returns 0 with *ok set to 1 (accepted) or 0 (refused; *retry_s is
 * then the length of the lock when this failure locked MFA, else 0);
 * WS_ERR_CONFLICT when MFA is locked, with the seconds left in
 * *retry_s, the code not even looked at; WS_ERR_INVALID when the user
 * has no MFA; WS_ERR_NOTFOUND when there is no such user;
 * WS_ERR_INTERNAL when the secret does not decrypt; or an error of
 * db_query.
 */
int	 mfa_verify_totp(struct db_conn *c, const struct datakey_ring *dk,
	    const struct mfa_opts *o, const char *user_id, const char *code,
	    int *ok, long *retry_s);

/*
 * The same for a recovery code: an unused code of user_id that
 * matches is marked used (each works once); a code that matches none
 * counts toward the same lockout.  Hashes are compared through
 * recovery_find, which takes a slot of the password hash semaphore:
 * WS_ERR_UNAVAILABLE when none came free (answer 503).  Other returns
 * as mfa_verify_totp.
 */
int	 mfa_verify_recovery(struct db_conn *c, const struct mfa_opts *o,
	    const char *user_id, const char *code, int *ok, long *retry_s);

/*
 * Inside the caller's transaction: whether user_id has MFA on (*on set
 * to 1 or 0).  Returns 0, WS_ERR_NOTFOUND or an error of db_query.
 */
int	 mfa_is_enabled(struct db_conn *c, const char *user_id, int *on);

/*
 * Enrolment, first step, inside the caller's transaction: makes a new
 * secret, keeps it encrypted in users.mfa_pending_secret (replacing an
 * earlier unconfirmed one) and copies it in base32 into secret for the
 * reply (the caller wipes it).  Returns 0; WS_ERR_CONFLICT when MFA is
 * already on; WS_ERR_NOTFOUND; WS_ERR_INTERNAL; or an error of
 * datakey_encrypt_text or db_query.
 */
int	 mfa_begin(struct db_conn *c, const struct datakey_ring *dk,
	    const char *user_id, char secret[TOTP_SECRET_B32_LEN + 1]);

/*
 * Enrolment, second step, inside the caller's transaction: when code
 * is right for the pending secret, turns MFA on with that secret (its
 * step stored as used), clears the MFA lockout, and stores a new set
 * of recovery codes, given once in codes (the caller wipes them).
 * Returns 0 with *ok set to 1 (enabled) or 0 (a wrong code; nothing
 * changed); WS_ERR_NOTFOUND when no enrolment is pending;
 * WS_ERR_CONFLICT when MFA is already on; WS_ERR_UNAVAILABLE when no
 * hash slot came free; or another error.
 */
int	 mfa_confirm(struct db_conn *c, const struct datakey_ring *dk,
	    const char *user_id, const char *code,
	    char codes[RECOVERY_CODES][RECOVERY_CODE_LEN + 1], int *ok);

/*
 * Inside the caller's transaction: replaces user_id's recovery codes
 * with a new set, given once in codes (the caller wipes them).  Only
 * their hashes are stored.  Returns 0, WS_ERR_UNAVAILABLE when no hash
 * slot came free, WS_ERR_INTERNAL, or an error of db_query.
 */
int	 mfa_recovery_renew(struct db_conn *c, const char *user_id,
	    char codes[RECOVERY_CODES][RECOVERY_CODE_LEN + 1]);

/*
 * Inside the caller's transaction: turns MFA off for user_id, forgets
 * its secret, a pending enrolment, the used step, the lockout and the
 * recovery codes.  Returns 0; WS_ERR_INVALID when MFA was not on;
 * WS_ERR_NOTFOUND; or an error of db_query.  Admins resetting MFA use
 * it too.
 */
int	 mfa_disable(struct db_conn *c, const char *user_id);

#endif
