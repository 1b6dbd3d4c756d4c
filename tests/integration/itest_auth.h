/*
 * Helpers for the integration tests of websands-auth: unique users,
 * JSON requests, the SMTP sink's mail, the usual sign-in steps, the
 * stack's configuration and a few threads started at once.
 *
 * Every password, access token, refresh token and mailed token these
 * helpers create or receive is appended to $WS_RUN_DIR/secrets.txt,
 * one a line, so that test_zz_log_secrets can prove none of them ever
 * reached a log.  A test that makes a secret of its own records it
 * with itest_auth_secret.
 */
#ifndef WEBSANDS_ITEST_AUTH_H
#define WEBSANDS_ITEST_AUTH_H

#include <stddef.h>

#include "itest.h"

#define ITEST_AUTH_NAME_MAX	51	/* a username: 3 to 50 characters */
#define ITEST_AUTH_EMAIL_MAX	128
#define ITEST_AUTH_PASSWORD_MAX	64
#define ITEST_AUTH_ID_MAX	64
#define ITEST_AUTH_ACCESS_MAX	8193	/* JWT_MAX_LEN and its NUL */
#define ITEST_AUTH_REFRESH_MAX	129	/* the refresh rule's max_len */
/* How long a mail may take from the request to the sink's Maildir. */
#define ITEST_AUTH_MAIL_WAIT_MS	10000

struct itest_user {
	char	 username[ITEST_AUTH_NAME_MAX];
	char	 email[ITEST_AUTH_EMAIL_MAX];
	char	 password[ITEST_AUTH_PASSWORD_MAX];
	char	 id[ITEST_AUTH_ID_MAX];
};

struct itest_tokens {
	char	 access[ITEST_AUTH_ACCESS_MAX];
	char	 refresh[ITEST_AUTH_REFRESH_MAX];
};

/*
 * Writes prefix followed by a suffix unique to this process, call and
 * moment into out (lower case letters, digits and "_"), cut so that it
 * is a valid username of at most 50 characters.
 */
void	 itest_auth_unique(char *out, size_t len, const char *prefix);
/*
 * Writes a new random password that meets the policy (upper, lower,
 * digit, special, 8 to 72 bytes, no context word) into out and records
 * it as a secret.
 */
void	 itest_auth_password(char *out, size_t len);
/* Appends s as one line to $WS_RUN_DIR/secrets.txt. */
void	 itest_auth_secret(const char *s);

/*
 * POSTs body (JSON text, len bytes; NULL for none) to path with
 * Content-Type application/json and, when bearer is not NULL, an
 * "Authorization: Bearer" header.  Returns what itest_http returns.
 */
int	 itest_auth_post(const char *path, const char *body, size_t len,
	    const char *bearer, struct itest_resp *out);
/* As itest_auth_post with body serialized compactly (not stolen). */
int	 itest_auth_post_json(const char *path, const json_t *body,
	    const char *bearer, struct itest_resp *out);
/* The problem reply's "code", or "" when there is none. */
const char *itest_auth_code(const struct itest_resp *r);
/* Fails the test with the reply when its status is not want. */
void	 itest_auth_expect(const struct itest_resp *r, long want,
	    const char *what);

/*
 * Registers a new user named prefix + a unique suffix, with an address
 * at example.com and a fresh password; asserts 201 and fills u.
 */
void	 itest_auth_register(struct itest_user *u, const char *prefix);
/*
 * Finds the newest mail to the address to (any case) whose decoded
 * text part contains needle (any mail when NULL), waiting up to
 * timeout_ms for one to arrive.  Appends the decoded text/plain part
 * to text (may be NULL) and copies the raw Subject into subject (may
 * be NULL).  Returns 0, or -1 when none came in time.
 */
int	 itest_auth_mail(const char *to, const char *needle,
	    long timeout_ms, struct buf *text, char *subject,
	    size_t sublen);
/*
 * How many mails to the address to (any case) whose decoded text
 * contains needle (every one when NULL) the sink holds.
 */
int	 itest_auth_mail_count(const char *to, const char *needle);
/*
 * Copies the token after the first "token=" in text (base64url
 * characters) into out.  Returns 0, or -1 when there is none or it
 * does not fit.
 */
int	 itest_auth_mail_token(const char *text, char *out, size_t len);
/* Reads u's verification mail, verifies the address; asserts 200. */
void	 itest_auth_verify(const struct itest_user *u);
/*
 * Logs in as who with password and returns the status; on 200 fills
 * t (may be NULL) and records both tokens as secrets.
 */
long	 itest_auth_login_as(const char *who, const char *password,
	    struct itest_tokens *t);
/* Logs u in by username; asserts 200 and fills t. */
void	 itest_auth_login(const struct itest_user *u, struct itest_tokens *t);
/* Registers, verifies and logs in a new user (see the above). */
void	 itest_auth_new_user(struct itest_user *u, struct itest_tokens *t,
	    const char *prefix);
/*
 * Refreshes with refresh and returns the status; on 200 fills t (may
 * be NULL) and records the new tokens as secrets.
 */
long	 itest_auth_refresh(const char *refresh, struct itest_tokens *t);
/* POSTs an empty logout with the bearer token; returns the status. */
long	 itest_auth_logout(const char *access);

/* s[0..n) in unpadded base64url; a new string, or fails the test. */
char	*itest_auth_b64url(const void *p, size_t n);
/*
 * Part i (0 header, 1 claims, 2 signature) of a compact JWT, a new
 * string; fails the test when the token has fewer parts.
 */
char	*itest_auth_jwt_part(const char *token, int i);
/* The decoded JSON of part i of a compact JWT: a new reference. */
json_t	*itest_auth_jwt_json(const char *token, int i);

/*
 * The value of name in the stack's configuration file
 * ($WS_RUN_DIR/websands.env) copied into out, or NULL when it is not
 * set there.
 */
const char *itest_auth_config(const char *name, char *out, size_t len);
/* As itest_auth_config, as a number, or def when it is not set. */
long	 itest_auth_config_long(const char *name, long def);
/* Sleeps ms milliseconds. */
void	 itest_auth_sleep_ms(long ms);
/*
 * Runs fn(i, arg) for i in 0..n-1, each in its own thread, released
 * together so the calls overlap, and waits for all of them.  fn must
 * not use cmocka assertions (they jump across threads): it records
 * what it saw for the caller to check.
 */
void	 itest_auth_parallel(int n, void (*fn)(int, void *), void *arg);

#endif
