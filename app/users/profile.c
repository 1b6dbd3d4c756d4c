/*
 * GET /api/v1/users/me answers from memcached when it can: the profile
 * document is kept there under account_profile_key, and every change
 * to the account drops it (account_forget) once committed, here and in
 * websands-admin.  With the session state also in memcached, the
 * common read costs no database query.  PATCH /api/v1/users/me changes
 * the username and the names (encrypted at rest).
 *
 * XXX: a reader that missed the cache and read the row just before a
 * change commits may store the old document just after the change
 * dropped it; it is then served until PROFILE_CACHE_TTL_S passes.
 * The window is the length of one query, the document is for display
 * only (authorisation never reads it) and the TTL bounds it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "app.h"
#include "error.h"
#include "log.h"
#include "metrics.h"
#include "users.h"
#include "validate.h"

/* The largest cached document read back; a profile is far smaller. */
#define PROFILE_CACHE_MAX	(16 * 1024)

static const struct field_rule	me_rules[] = {
	{ .name = "username", .type = FIELD_STRING, .min_len = 3,
	    .max_len = 50, .check = validate_username },
	{ .name = "first_name", .type = FIELD_STRING, .max_len = 100 },
	{ .name = "last_name", .type = FIELD_STRING, .max_len = 100 },
};

void
users_me_get(struct req *r, struct resp *rs)
{
	struct principal	 p;
	struct db_conn		*c = NULL;
	struct buf		 val;
	json_t			*prof = NULL;
	char			 key[64], *text = NULL;
	int			 rc;

	buf_init(&val, PROFILE_CACHE_MAX);
	if (authn_or_reply(r, rs, &p) != 0)
		goto out;
	account_profile_key(key, sizeof(key), p.user_id);
	if (cache_get(ws_app.cache, key, &val) == 0 && val.len > 0) {
		metrics_count("websands_cache_total",
		    "cache=\"profile\",result=\"hit\"", 1);
		if (resp_text(rs, 200, "application/json", val.data,
		    val.len) != 0)
			users_internal(r, rs);
		goto out;
	}
	metrics_count("websands_cache_total",
	    "cache=\"profile\",result=\"miss\"", 1);
	if ((c = app_db_or_reply(r, rs)) == NULL)
		goto out;
	if ((rc = users_profile_json(c, p.user_id, &prof)) != 0) {
		if (rc == WS_ERR_NOTFOUND)
			resp_problem(rs, r, 404, "NOT_FOUND",
			    "The account does not exist.", NULL);
		else
			users_fail(r, rs, rc);
		goto out;
	}
	if ((text = json_dumps(prof, JSON_COMPACT)) == NULL) {
		users_internal(r, rs);
		goto out;
	}
	/* A cache that is down only costs the next request a query. */
	if (cache_set(ws_app.cache, key, text, strlen(text),
	    (time_t)users_cfg.profile_cache_ttl_s) != 0)
		log_event(LOG_DEBUG, "profile_cache_write_failed", "user",
		    p.user_id, NULL);
	if (resp_text(rs, 200, "application/json", text, strlen(text)) != 0)
		users_internal(r, rs);
out:
	free(text);
	json_decref(prof);
	buf_cleanup(&val);
	db_pool_release(c);
}

/*
 * The new ciphertext of a name field of body for users.<column>:<id>:
 * *set is 0 when the field is absent (no change); an empty string or
 * null clears the name (*ct stays NULL).  *ct is the caller's to free.
 */
static int
me_seal(json_t *body, const char *column, const char *id, int *set,
    char **ct)
{
	json_t		*v;
	const char	*s;
	char		 aad[MFA_AAD_MAX];

	*set = 0;
	*ct = NULL;
	if ((v = json_object_get(body, column)) == NULL)
		return 0;
	*set = 1;
	if (json_is_null(v) || *(s = json_string_value(v)) == '\0')
		return 0;
	snprintf(aad, sizeof(aad), "users.%s:%s", column, id);
	return datakey_encrypt_text(ws_app.datakeys, s, aad, ct);
}

/* Audit details naming (never showing) the fields that changed. */
static json_t *
me_changed(json_t *body)
{
	json_t		*fields, *v;
	const char	*k;

	if ((fields = json_array()) == NULL)
		return NULL;
	json_object_foreach(body, k, v)
		json_array_append_new(fields, json_string(k));
	return json_pack("{s:o}", "fields", fields);
}

void
users_me_patch(struct req *r, struct resp *rs)
{
	struct principal	 p;
	struct audit_event	 ev;
	struct db_conn		*c = NULL;
	struct db_res		*res = NULL;
	json_t			*body = NULL, *prof = NULL, *details = NULL;
	const char		*params[6];
	char			*first = NULL, *last = NULL;
	int			 rc, set_first, set_last;

	if (users_begin_or_reply(r, rs, &p, me_rules,
	    sizeof(me_rules) / sizeof(me_rules[0]), &body, &c))
		goto out;
	if (json_object_size(body) == 0) {
		resp_problem(rs, r, 400, "VALIDATION_FAILED",
		    "Nothing to change.", NULL);
		goto out;
	}
	if ((rc = me_seal(body, "first_name", p.user_id, &set_first,
	    &first)) != 0 || (rc = me_seal(body, "last_name", p.user_id,
	    &set_last, &last)) != 0 || (details = me_changed(body)) == NULL) {
		users_internal(r, rs);
		goto out;
	}
	params[0] = p.user_id;
	params[1] = json_string_value(json_object_get(body, "username"));
	params[2] = set_first ? "t" : "f";
	params[3] = first;
	params[4] = set_last ? "t" : "f";
	params[5] = last;
	users_event(&ev, r, "profile_updated", p.user_id);
	ev.details = details;
	if ((rc = db_begin(c)) != 0)
		goto fail;
	rc = db_query(c, "UPDATE users SET"
	    " username = coalesce($2, username),"
	    " first_name = CASE WHEN $3::boolean THEN decode($4, 'base64')"
	    " ELSE first_name END,"
	    " last_name = CASE WHEN $5::boolean THEN decode($6, 'base64')"
	    " ELSE last_name END WHERE id = $1::uuid", 6, params, &res);
	if (rc == WS_ERR_CONFLICT) {
		db_rollback(c);
		resp_problem(rs, r, 409, "USERNAME_TAKEN",
		    "That username is taken.", NULL);
		goto out;
	}
	if (rc != 0 || (rc = audit_record(c, &ev)) != 0 ||
	    (rc = db_commit(c)) != 0)
		goto fail;
	users_forget(p.user_id);
	if ((rc = users_profile_json(c, p.user_id, &prof)) != 0) {
		users_fail(r, rs, rc);
		goto out;
	}
	users_reply(r, rs, 200, prof);
	goto out;
fail:
	db_rollback(c);
	users_fail(r, rs, rc);
out:
	db_res_free(res);
	db_pool_release(c);
	free(first);
	free(last);
	json_decref(details);
	json_decref(prof);
	json_decref(body);
}
