/*
 * POST /api/v1/auth/register.  A taken username is said so (409): a
 * username is public.  A taken email address is not: the answer is
 * the same 201 a new account gets, and the address's owner is mailed
 * instead, so registration cannot be used to learn who has an account.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "app.h"
#include "audit.h"
#include "auth.h"
#include "email_token.h"
#include "error.h"
#include "log.h"
#include "outbox.h"
#include "password.h"
#include "uuid.h"
#include "validate.h"

static const struct field_rule	register_rules[] = {
	{ .name = "username", .type = FIELD_STRING, .required = 1,
	    .min_len = 3, .max_len = 50, .check = validate_username },
	{ .name = "email", .type = FIELD_STRING, .required = 1,
	    .min_len = 3, .max_len = 254, .check = validate_email },
	{ .name = "password", .type = FIELD_STRING, .required = 1,
	    .min_len = 1, .max_len = 1024 },
	{ .name = "first_name", .type = FIELD_STRING, .max_len = 100 },
	{ .name = "last_name", .type = FIELD_STRING, .max_len = 100 },
};

/* The reply is the same for a new account and for a taken address. */
static void
register_reply(struct req *r, struct resp *rs, const char *id,
    const char *username, const char *email, const char *first,
    const char *last, const char *created_at)
{
	json_t	*body;

	body = json_pack("{s:s,s:s,s:s,s:b,s:s,s:s?,s:s?,s:s}",
	    "id", id, "username", username, "email", email,
	    "email_verified", 0, "role", "user", "first_name", first,
	    "last_name", last, "created_at", created_at);
	if (body == NULL || resp_json(rs, 201, body) != 0)
		auth_internal(r, rs);
	json_decref(body);
}

/* Encrypts a name for users.<column> of row id; NULL stays NULL. */
static int
register_seal(const char *name, const char *column, const char *id,
    char **out)
{
	char	 aad[96];

	*out = NULL;
	if (name == NULL)
		return 0;
	snprintf(aad, sizeof(aad), "users.%s:%s", column, id);
	return datakey_encrypt_text(ws_app.datakeys, name, aad, out);
}

static void
register_now(char *out, size_t len)
{
	time_t		 t = time(NULL);
	struct tm	 tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/*
 * Mails the owner of a taken address, inside the transaction on c.
 * Its failure is logged, never shown: the reply must not differ.
 */
static void
register_existing(struct db_conn *c, const char *email)
{
	struct db_res	*res = NULL;
	json_t		*vars = NULL;
	const char	*params[1] = { email };

	if (db_query(c, "SELECT id, username FROM users"
	    " WHERE lower(email) = $1", 1, params, &res) != 0 ||
	    db_res_nrows(res) != 1)
		goto out;
	vars = auth_mail_vars(db_res_value(res, 0, 1), "/password/forgot",
	    NULL);
	if (vars == NULL || outbox_queue(c, db_res_value(res, 0, 0), email,
	    "register_existing", NULL, vars) != 0)
		log_event(LOG_ERROR, "mail_queue_failed", "template",
		    "register_existing", NULL);
out:
	json_decref(vars);
	db_res_free(res);
}

/*
 * Creates the account inside the transaction on c: 0 when created,
 * WS_ERR_CONFLICT with *username_taken set when the username or the
 * address was taken.
 */
static int
register_insert(struct db_conn *c, const char *id, const char *username,
    const char *email, const char *hash, const char *first,
    const char *last, char *created, size_t createdlen,
    int *username_taken)
{
	struct db_res	*res = NULL;
	const char	*params[6];
	int		 rc;

	*username_taken = 0;
	params[0] = id;
	params[1] = username;
	params[2] = email;
	params[3] = hash;
	params[4] = first;
	params[5] = last;
	/*
	 * ON CONFLICT DO NOTHING covers both unique indexes and keeps
	 * the transaction usable, so a lost race is an ordinary answer.
	 */
	if ((rc = db_query(c, "INSERT INTO users (id, username, email,"
	    " password_hash, first_name, last_name) VALUES ($1::uuid, $2,"
	    " $3, $4, decode($5, 'base64'), decode($6, 'base64'))"
	    " ON CONFLICT DO NOTHING RETURNING to_char(created_at AT TIME"
	    " ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
	    6, params, &res)) != 0)
		goto out;
	if (db_res_nrows(res) == 1) {
		snprintf(created, createdlen, "%s", db_res_value(res, 0, 0));
		goto out;
	}
	rc = WS_ERR_CONFLICT;
	db_res_free(res);
	res = NULL;
	if (db_query(c, "SELECT 1 FROM users WHERE lower(username) ="
	    " lower($1)", 1, params + 1, &res) == 0 &&
	    db_res_nrows(res) == 1)
		*username_taken = 1;
out:
	db_res_free(res);
	return rc;
}

/* Queues the verification mail and the audit event for a new user. */
static int
register_follow_up(struct req *r, struct db_conn *c, const char *id,
    const char *username, const char *email)
{
	struct audit_event	 ev = { .type = "user_registered",
				    .user_id = id, .actor_id = id };
	char			 token[TOKEN_LEN + 1];
	json_t			*vars = NULL;
	int			 rc;

	if ((rc = email_token_create(c, id, EMAIL_TOKEN_VERIFY, NULL,
	    auth_cfg.verify_ttl_s, token)) != 0)
		goto out;
	if ((vars = auth_mail_vars(username, "/verify-email#token=",
	    token)) == NULL) {
		rc = WS_ERR_NOMEM;
		goto out;
	}
	if ((rc = outbox_queue(c, id, email, "verify_email", NULL,
	    vars)) != 0)
		goto out;
	audit_from_request(&ev, r);
	rc = audit_record(c, &ev);
out:
	sodium_memzero(token, sizeof(token));
	json_decref(vars);
	return rc;
}

void
auth_register(struct req *r, struct resp *rs)
{
	struct db_conn	*c = NULL;
	struct db_res	*res = NULL;
	json_t		*body = NULL, *errors = NULL;
	const char	*username, *password, *first, *last;
	char		 email[256], id[UUID_LEN + 1], created[32];
	char		 hash[PASSWORD_HASH_MAX];
	char		*first_ct = NULL, *last_ct = NULL;
	int		 rc, taken;

	hash[0] = '\0';
	if (auth_limit_or_reply(r, rs, "register", auth_cfg.rl_register) ||
	    req_json_or_reply(r, rs, &body) ||
	    validate_or_reply(r, rs, body, register_rules,
	    sizeof(register_rules) / sizeof(register_rules[0])))
		goto out;
	username = json_string_value(json_object_get(body, "username"));
	password = json_string_value(json_object_get(body, "password"));
	first = json_string_value(json_object_get(body, "first_name"));
	last = json_string_value(json_object_get(body, "last_name"));
	/* Addresses are kept and compared in lower case. */
	validate_email_lower(email, sizeof(email),
	    json_string_value(json_object_get(body, "email")));

	if ((errors = json_object()) == NULL) {
		auth_internal(r, rs);
		goto out;
	}
	if ((c = app_db_or_reply(r, rs)) == NULL)
		goto out;
	/*
	 * A taken username is public, so say so before spending a hash
	 * on it; the insert below still settles a race.
	 */
	if ((rc = db_query(c, "SELECT 1 FROM users WHERE lower(username) ="
	    " lower($1)", 1, &username, &res)) != 0)
		goto fail_early;
	if (db_res_nrows(res) > 0) {
		resp_problem(rs, r, 409, "USERNAME_TAKEN",
		    "That username is taken.", NULL);
		goto out;
	}
	if (password_policy_check(&ws_app.policy, password, username, email,
	    errors) != 0) {
		resp_problem(rs, r, 400, "VALIDATION_FAILED",
		    "The password does not meet the policy.", errors);
		goto out;
	}
	if ((rc = password_hash(password, hash)) != 0) {
		if (rc == WS_ERR_UNAVAILABLE)
			auth_unavailable(r, rs);
		else
			auth_internal(r, rs);
		goto out;
	}
	uuid_new(id);
	if (register_seal(first, "first_name", id, &first_ct) != 0 ||
	    register_seal(last, "last_name", id, &last_ct) != 0) {
		auth_internal(r, rs);
		goto out;
	}
	if ((rc = db_begin(c)) != 0)
		goto fail;
	rc = register_insert(c, id, username, email, hash, first_ct,
	    last_ct, created, sizeof(created), &taken);
	if (rc == WS_ERR_CONFLICT && taken) {
		db_rollback(c);
		resp_problem(rs, r, 409, "USERNAME_TAKEN",
		    "That username is taken.", NULL);
		goto out;
	}
	if (rc == WS_ERR_CONFLICT) {
		/* A fresh id and time, as a new account would have. */
		uuid_new(id);
		register_now(created, sizeof(created));
		register_existing(c, email);
	} else if (rc != 0 ||
	    (rc = register_follow_up(r, c, id, username, email)) != 0)
		goto fail;
	if ((rc = db_commit(c)) != 0)
		goto fail;
	register_reply(r, rs, id, username, email, first, last, created);
	goto out;
fail:
	db_rollback(c);
fail_early:
	app_fail_reply(r, rs, rc);
out:
	db_res_free(res);
	db_pool_release(c);
	sodium_memzero(hash, sizeof(hash));
	free(first_ct);
	free(last_ct);
	json_decref(errors);
	json_decref(body);
}
