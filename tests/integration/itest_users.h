/*
 * Helpers for the integration tests of websands-users: JSON requests
 * with any method and a bearer token, TOTP codes made by oathtool (an
 * implementation independent of ours), MFA enrolment, and direct SQL
 * against the stack's database for checks a client cannot make (what
 * is stored, and how).
 */
#ifndef WEBSANDS_ITEST_USERS_H
#define WEBSANDS_ITEST_USERS_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "itest_auth.h"

#define ITEST_USERS_SECRET_MAX	64
#define ITEST_USERS_CODES	10
#define ITEST_USERS_CODE_MAX	32

/* A user with TOTP on, and what the tests need to pass its checks. */
struct itest_mfa {
	char		 secret[ITEST_USERS_SECRET_MAX];	/* base32 */
	char		 codes[ITEST_USERS_CODES][ITEST_USERS_CODE_MAX];
	int64_t		 last_step;	/* the last step a code was made for */
};

/*
 * Sends method path with body (serialized compactly; NULL for none) as
 * JSON and, when bearer is not NULL, the bearer header.  Asserts that
 * a response came back.
 */
void	 itest_users_req(const char *method, const char *path,
	    const char *bearer, const json_t *body, struct itest_resp *out);
/* As itest_users_req and returns only the status. */
long	 itest_users_status(const char *method, const char *path,
	    const char *bearer, const json_t *body);
/* GET /api/v1/users/me; asserts 200 and returns the body (new ref). */
json_t	*itest_users_me(const char *bearer);

/*
 * The 6-digit code of secret for the TOTP step step, from oathtool,
 * into out (7 bytes or more).
 */
void	 itest_users_totp_at(const char *secret, int64_t step, char *out);
/* The current step (now / 30). */
int64_t	 itest_users_step_now(void);
/*
 * A fresh code for m: of a step after m->last_step that the server
 * accepts now (waiting for the next step when the drift window is
 * used up); m->last_step moves to it.
 */
void	 itest_users_totp(struct itest_mfa *m, char *out);

/*
 * Turns TOTP on for the user signed in with access (its password pw):
 * starts the enrolment, confirms it with an oathtool code and keeps
 * the secret and the recovery codes in m (recorded as secrets).
 */
void	 itest_users_enable_mfa(const char *access, const char *pw,
	    struct itest_mfa *m);
/*
 * Signs in as u when u has MFA on: asserts the password step answers
 * mfa_required and returns its mfa_token in out (len bytes).
 */
void	 itest_users_mfa_token(const struct itest_user *u, char *out,
	    size_t len);
/*
 * Finishes a sign-in with mfa_token and the TOTP code (or, when code is
 * NULL, the recovery code); returns the status and on 200 fills t.
 */
long	 itest_users_mfa_verify(const char *mfa_token, const char *code,
	    const char *recovery_code, struct itest_tokens *t);

/* A direct connection to the stack's database; closed by the caller. */
struct db_conn *itest_users_db(void);
/*
 * Runs sql on c with the text parameters p1 and p2 (NULL when the
 * query has fewer; p2 only with p1) and returns the first cell of the
 * first row (copied into out), or NULL when there is no row.  Asserts
 * the query ran.
 */
const char *itest_users_sql(struct db_conn *c, const char *sql,
	    const char *p1, const char *p2, char *out, size_t len);
/* The same as a number (0 when no row). */
long	 itest_users_sql_long(struct db_conn *c, const char *sql,
	    const char *p1, const char *p2);

#endif
