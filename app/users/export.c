/*
 * GET /api/v1/users/me/export: everything WebSands holds about the
 * caller, as one JSON document: the profile, the account's state, the
 * settings, every session and refresh token, the password history,
 * mailed tokens, recovery codes, MFA sign-in challenges, security
 * events and mail.  Secrets stay out: no password or code hash, no
 * token or its hash, no TOTP secret, no mail values (they may hold a
 * link with a token); each row says only what it is and when.
 *
 * Each section is one query that PostgreSQL turns into a JSON array,
 * so a column is named once, in SQL, and NULLs and types come out
 * right.  The export itself is recorded as an event.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "error.h"
#include "log.h"
#include "users.h"

/* The rows of one section at most; far beyond any real account. */
#define EXPORT_ROWS_MAX	"100000"

struct export_section {
	const char	*name;
	const char	*sql;	/* $1 the user id, $2 the row limit */
};

static const struct export_section	export_sections[] = {
	{ "account", "SELECT to_json(a)::text FROM (SELECT status,"
	    " password_changed_at, locked_until, failed_login_count,"
	    " mfa_locked_until, updated_at"
	    " FROM users WHERE id = $1::uuid LIMIT $2::int) a" },
	{ "settings", "SELECT coalesce((SELECT to_json(s) FROM (SELECT"
	    " notification_email, notification_security, ui_theme,"
	    " ui_density, updated_at FROM profile_settings"
	    " WHERE user_id = $1::uuid LIMIT $2::int) s), 'null')::text" },
	{ "sessions", "SELECT coalesce(json_agg(s ORDER BY s.created_at),"
	    " '[]')::text FROM (SELECT id, created_at, last_used_at,"
	    " expires_at, idle_expires_at, revoked_at, revoke_reason, ip,"
	    " user_agent FROM sessions WHERE user_id = $1::uuid"
	    " ORDER BY created_at LIMIT $2::int) s" },
	{ "refresh_tokens", "SELECT coalesce(json_agg(t ORDER BY"
	    " t.created_at), '[]')::text FROM (SELECT t.session_id,"
	    " t.created_at, t.expires_at, t.used_at FROM refresh_tokens t"
	    " JOIN sessions s ON s.id = t.session_id"
	    " WHERE s.user_id = $1::uuid ORDER BY t.id LIMIT $2::int) t" },
	{ "password_history", "SELECT coalesce(json_agg(h ORDER BY"
	    " h.created_at), '[]')::text FROM (SELECT created_at"
	    " FROM password_history WHERE user_id = $1::uuid"
	    " ORDER BY id LIMIT $2::int) h" },
	{ "email_tokens", "SELECT coalesce(json_agg(t ORDER BY"
	    " t.created_at), '[]')::text FROM (SELECT purpose, new_email,"
	    " created_at, expires_at, used_at FROM email_tokens"
	    " WHERE user_id = $1::uuid ORDER BY id LIMIT $2::int) t" },
	{ "recovery_codes", "SELECT coalesce(json_agg(r ORDER BY"
	    " r.created_at), '[]')::text FROM (SELECT created_at, used_at"
	    " FROM recovery_codes WHERE user_id = $1::uuid"
	    " ORDER BY id LIMIT $2::int) r" },
	{ "events", "SELECT coalesce(json_agg(e ORDER BY e.id),"
	    " '[]')::text FROM (SELECT id, occurred_at, event_type, ip,"
	    " user_agent, details, CASE WHEN actor_id IS NULL THEN"
	    " 'system' WHEN actor_id = user_id THEN 'self' ELSE 'admin'"
	    " END AS actor FROM auth_events WHERE user_id = $1::uuid"
	    " ORDER BY id LIMIT $2::int) e" },
	{ "mails", "SELECT coalesce(json_agg(m ORDER BY m.created_at),"
	    " '[]')::text FROM (SELECT template, status, created_at,"
	    " sent_at FROM email_outbox WHERE user_id = $1::uuid"
	    " ORDER BY id LIMIT $2::int) m" },
};

/*
 * The MFA sign-in challenges of websands-auth's second step, when its
 * table exists (it comes with a later migration than this file).
 */
static const struct export_section	export_challenges = {
	"mfa_challenges", "SELECT coalesce(json_agg(m ORDER BY"
	    " m.created_at), '[]')::text FROM (SELECT created_at,"
	    " expires_at, used_at FROM mfa_challenges"
	    " WHERE user_id = $1::uuid ORDER BY created_at"
	    " LIMIT $2::int) m" };

/* Runs one section's query and adds its JSON to doc. */
static int
export_add(struct db_conn *c, const struct export_section *s,
    const char *user_id, json_t *doc)
{
	struct db_res	*res = NULL;
	json_t		*v = NULL;
	const char	*params[2] = { user_id, EXPORT_ROWS_MAX };
	int		 rc;

	if ((rc = db_query(c, s->sql, 2, params, &res)) != 0)
		goto out;
	if (db_res_nrows(res) != 1 || db_res_isnull(res, 0, 0))
		v = json_null();
	else if ((v = json_loads(db_res_value(res, 0, 0), JSON_ALLOW_NUL,
	    NULL)) == NULL) {
		log_event(LOG_ERROR, "export_bad_json", "section", s->name,
		    NULL);
		rc = WS_ERR_INTERNAL;
		goto out;
	}
	if (json_object_set_new(doc, s->name, v) != 0)
		rc = WS_ERR_NOMEM;
out:
	db_res_free(res);
	return rc;
}

/* Whether the table name exists in the search path. */
static int
export_table_exists(struct db_conn *c, const char *name, int *yes)
{
	struct db_res	*res = NULL;
	int		 rc;

	*yes = 0;
	if ((rc = db_query(c, "SELECT to_regclass($1) IS NOT NULL", 1,
	    &name, &res)) == 0 && db_res_nrows(res) == 1)
		*yes = strcmp(db_res_value(res, 0, 0), "t") == 0;
	db_res_free(res);
	return rc;
}

void
users_export_get(struct req *r, struct resp *rs)
{
	struct principal	 p;
	struct audit_event	 ev;
	struct db_conn		*c = NULL;
	json_t			*doc = NULL, *prof = NULL, *body = NULL;
	size_t			 i;
	int			 rc, challenges = 0;

	if (users_begin_or_reply(r, rs, &p, NULL, 0, &body, &c))
		goto out;
	if ((doc = json_object()) == NULL) {
		users_internal(r, rs);
		goto out;
	}
	/* One snapshot, so the sections agree with each other. */
	if ((rc = db_begin(c)) != 0 ||
	    (rc = db_exec(c, "SET TRANSACTION ISOLATION LEVEL REPEATABLE"
	    " READ, READ ONLY")) != 0 ||
	    (rc = users_profile_json(c, p.user_id, &prof)) != 0 ||
	    (rc = json_object_set(doc, "profile", prof)) != 0)
		goto fail;
	for (i = 0; i < sizeof(export_sections) /
	    sizeof(export_sections[0]); i++)
		if ((rc = export_add(c, &export_sections[i], p.user_id,
		    doc)) != 0)
			goto fail;
	if ((rc = export_table_exists(c, "mfa_challenges",
	    &challenges)) != 0 || (challenges && (rc = export_add(c,
	    &export_challenges, p.user_id, doc)) != 0))
		goto fail;
	db_rollback(c);
	users_event(&ev, r, "data_exported", p.user_id);
	if ((rc = audit_record_now(c, &ev)) != 0)
		goto fail;
	resp_header(rs, "Content-Disposition",
	    "attachment; filename=\"websands-export.json\"");
	users_reply(r, rs, 200, doc);
	goto out;
fail:
	db_rollback(c);
	users_fail(r, rs, rc == WS_ERR_NOTFOUND ? WS_ERR_INTERNAL : rc);
out:
	db_pool_release(c);
	json_decref(prof);
	json_decref(doc);
	json_decref(body);
}
