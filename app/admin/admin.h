/*
 * websands-admin: user management and the audit log for operators.
 * Its settings, its handlers (one file per resource) and the helpers
 * they share (admin_common.c, admin_param.c).
 */
#ifndef WEBSANDS_ADMIN_H
#define WEBSANDS_ADMIN_H

#include <stddef.h>

#include <jansson.h>

#include "authn.h"
#include "db.h"
#include "http.h"
#include "uuid.h"

struct admin_config {
	int	 require_mfa;		/* ADMIN_REQUIRE_MFA */
	long	 reset_ttl_s;		/* RESET_TOKEN_TTL_S */
};

extern struct admin_config	admin_cfg;

/* Pages: a default and a cap for every list. */
#define ADMIN_LIMIT_DEFAULT	20
#define ADMIN_LIMIT_MAX		100
/* The longest cursor accepted, in characters. */
#define ADMIN_CURSOR_MAX	512
/* The longest search prefix, in bytes (an address is at most 254). */
#define ADMIN_Q_MAX		254

/*
 * SQL that renders a timestamptz column as RFC 3339 in UTC, to the
 * second, for replies.
 */
#define ADMIN_TS(col)	"to_char(" col " AT TIME ZONE 'UTC', " \
			"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
/* The same to the microsecond, for cursors that must be exact. */
#define ADMIN_TS_US(col) "to_char(" col " AT TIME ZONE 'UTC', " \
			"'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/*
 * The columns of a user in lists and replies, read by
 * admin_user_json: id, username, email, role, status, verified,
 * locked, locked_until, mfa_enabled, created_at, last_login_at.
 */
#define ADMIN_USER_COLS	"id, username, email, role, status," \
	" email_verified_at IS NOT NULL," \
	" coalesce(locked_until > now(), false), " \
	ADMIN_TS("locked_until") ", mfa_enabled, " \
	ADMIN_TS("created_at") ", " ADMIN_TS("last_login_at")
#define ADMIN_USER_NCOLS	11

/* The caller of an admin route, once admin_or_reply let it through. */
struct admin {
	struct principal	 p;
	struct db_conn		*c;	/* the handler's connection */
};

/*
 * The user in row of res (columns as ADMIN_USER_COLS, from the first)
 * as a JSON object; a new reference, NULL when out of memory.
 */
json_t	*admin_user_json(const struct db_res *res, size_t row);

/* GET /api/v1/admin/users */
void	 admin_users_list(struct req *r, struct resp *rs);
/* GET, PATCH, DELETE /api/v1/admin/users/{id} */
void	 admin_user_get(struct req *r, struct resp *rs);
void	 admin_user_patch(struct req *r, struct resp *rs);
void	 admin_user_delete(struct req *r, struct resp *rs);
/* POST /api/v1/admin/users/{id}/unlock and the other actions */
void	 admin_user_unlock(struct req *r, struct resp *rs);
void	 admin_user_revoke_sessions(struct req *r, struct resp *rs);
void	 admin_user_reset_mfa(struct req *r, struct resp *rs);
void	 admin_user_send_reset(struct req *r, struct resp *rs);
/* GET /api/v1/admin/users/{id}/sessions */
void	 admin_user_sessions(struct req *r, struct resp *rs);
/* GET /api/v1/admin/audit */
void	 admin_audit_list(struct req *r, struct resp *rs);
/* GET /api/v1/admin/stats */
void	 admin_stats(struct req *r, struct resp *rs);

/*
 * admin_common.c.  Each _or_reply function has answered the request
 * when it returns non-zero.
 */

/*
 * Lets only an administrator through: verifies the bearer token
 * (401), takes a connection (503), and asks PostgreSQL, now, whether
 * the caller's account has role admin and is active (403 FORBIDDEN
 * otherwise) and, with ADMIN_REQUIRE_MFA, has MFA on (403
 * MFA_REQUIRED).  On success a->c is the handler's to release with
 * admin_done.
 */
int	 admin_or_reply(struct req *r, struct resp *rs, struct admin *a);
/* Releases what admin_or_reply took; safe on a zeroed struct admin. */
void	 admin_done(struct admin *a);
/*
 * Copies the path parameter "id" into id when it is a UUID; otherwise
 * replies 404 NOT_FOUND (a malformed id names no user).
 */
int	 admin_path_id_or_reply(struct req *r, struct resp *rs,
	    char id[UUID_LEN + 1]);
/* Replies 404 NOT_FOUND for a user that does not exist. */
void	 admin_not_found(struct req *r, struct resp *rs);
/* Replies 503 or 500 for a failure rc of the database or memory. */
void	 admin_fail(struct req *r, struct resp *rs, int rc);
/*
 * Runs run(c, query, body) in a transaction of its own on a's
 * connection and replies 200 with the body it filled, or the failure.
 */
void	 admin_read_reply(struct req *r, struct resp *rs,
	    const struct admin *a,
	    int (*run)(struct db_conn *, const void *, json_t *),
	    const void *query);
/* Replies status with body (not stolen); 500 when that fails. */
void	 admin_reply(struct req *r, struct resp *rs, int status,
	    const json_t *body);
/*
 * Records an admin action on user_id (may be NULL) by the caller a,
 * inside the transaction on a->c; details may be NULL.  The last step
 * before COMMIT (audit.h).  Returns 0 or an error of db_query.
 */
int	 admin_audit(struct req *r, const struct admin *a, const char *type,
	    const char *user_id, const json_t *details);
/*
 * A JSON value for the text of a result cell: null for SQL NULL, else
 * a string; a new reference (NULL only when out of memory).
 */
json_t	*admin_json_text(const struct db_res *res, size_t row, size_t col);
/* The same for a boolean cell ("t"/"f"). */
json_t	*admin_json_bool(const struct db_res *res, size_t row, size_t col);
/* The same for an integer cell. */
json_t	*admin_json_int(const struct db_res *res, size_t row, size_t col);

/*
 * admin_param.c: strict parsing of query parameters.  Each returns 0
 * when the value is good, else WS_ERR_INVALID (the caller answers
 * 400); none ever reads past the NUL.
 */

/*
 * Checks that the query string names only parameters in allowed (a
 * NULL-terminated list) and none twice; adds an error per bad one to
 * errors.  Returns 0 or WS_ERR_INVALID.
 */
int	 admin_param_known(const struct req *r, const char * const *allowed,
	    json_t *errors);
/*
 * Reads parameter name into out (outlen bytes).  Returns 0 when
 * present, WS_ERR_NOTFOUND when absent, WS_ERR_INVALID (and an entry
 * in errors) when it is empty, too long, not UTF-8, has a control
 * character, or could not be decoded.
 */
int	 admin_param(const struct req *r, const char *name, char *out,
	    size_t outlen, json_t *errors);
/* A decimal in [min, max]: digits only, no sign, no leading zero. */
int	 admin_parse_long(const char *s, long min, long max, long *out);
/* "true" or "false" only. */
int	 admin_parse_bool(const char *s, int *out);
/*
 * An RFC 3339 date-time, "2026-12-03T13:06:22Z" or with a fraction
 * of up to 9 digits and a numeric offset ("+01:00", at most 15:59);
 * the fields are range-checked (days per month, leap years, year 1 to
 * 9999), so PostgreSQL can take it as a timestamptz without an error.
 */
int	 admin_parse_rfc3339(const char *s);
/* 1 when s (NUL-terminated) is valid UTF-8 without control chars. */
int	 admin_text_ok(const char *s);
/*
 * Writes the LIKE pattern matching strings that start with prefix
 * into out: '\', '%' and '_' escaped with '\', then '%'.  Returns 0
 * or WS_ERR_TOOBIG.
 */
int	 admin_like_prefix(const char *prefix, char *out, size_t outlen);
/*
 * Cursors: the strings in parts[0..n) as a JSON array, in base64url;
 * *out is the caller's to free.  admin_cursor_decode reverses it into
 * a new array (the caller's to json_decref), refusing anything that
 * is not canonical base64url of an array of exactly n strings.
 */
int	 admin_cursor_encode(const char * const *parts, size_t n,
	    char **out);
int	 admin_cursor_decode(const char *cursor, size_t n, json_t **out);

#endif
