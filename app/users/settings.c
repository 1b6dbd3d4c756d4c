/*
 * GET and PATCH /api/v1/users/me/settings: the user's preferences.  A
 * user without a profile_settings row has the defaults of its columns;
 * the first PATCH creates the row.
 */
#include <string.h>

#include "app.h"
#include "error.h"
#include "users.h"
#include "validate.h"

static const struct field_rule	settings_rules[] = {
	{ .name = "notification_email", .type = FIELD_BOOL },
	{ .name = "notification_security", .type = FIELD_BOOL },
	{ .name = "ui_theme", .type = FIELD_ENUM,
	    .choices = "light|dark|system", .min_len = 1, .max_len = 16 },
	{ .name = "ui_density", .type = FIELD_ENUM,
	    .choices = "comfortable|compact", .min_len = 1, .max_len = 16 },
};

/* The settings document from a row of the four columns. */
static json_t *
settings_json(const struct db_res *res)
{
	return json_pack("{s:b,s:b,s:s,s:s}",
	    "notification_email", strcmp(db_res_value(res, 0, 0), "t") == 0,
	    "notification_security",
	    strcmp(db_res_value(res, 0, 1), "t") == 0,
	    "ui_theme", db_res_value(res, 0, 2),
	    "ui_density", db_res_value(res, 0, 3));
}

void
users_settings_get(struct req *r, struct resp *rs)
{
	struct principal	 p;
	struct db_conn		*c = NULL;
	struct db_res		*res = NULL;
	json_t			*body = NULL, *out = NULL;
	const char		*id;
	int			 rc;

	if (users_begin_or_reply(r, rs, &p, NULL, 0, &body, &c))
		goto out;
	id = p.user_id;
	/* The defaults are those of profile_settings' columns. */
	if ((rc = db_query(c, "SELECT coalesce(p.notification_email, true),"
	    " coalesce(p.notification_security, true),"
	    " coalesce(p.ui_theme, 'system'),"
	    " coalesce(p.ui_density, 'comfortable')"
	    " FROM (SELECT $1::uuid AS id) me"
	    " LEFT JOIN profile_settings p ON p.user_id = me.id",
	    1, &id, &res)) != 0) {
		users_fail(r, rs, rc);
		goto out;
	}
	out = settings_json(res);
	users_reply(r, rs, 200, out);
out:
	db_res_free(res);
	db_pool_release(c);
	json_decref(out);
	json_decref(body);
}

/* A FIELD_BOOL of body as "t", "f" or NULL (absent: unchanged). */
static const char *
settings_bool(json_t *body, const char *name)
{
	json_t	*v = json_object_get(body, name);

	if (v == NULL || json_is_null(v))
		return NULL;
	return json_is_true(v) ? "t" : "f";
}

void
users_settings_patch(struct req *r, struct resp *rs)
{
	struct principal	 p;
	struct audit_event	 ev;
	struct db_conn		*c = NULL;
	struct db_res		*res = NULL;
	json_t			*body = NULL, *out = NULL, *details = NULL;
	json_t			*fields = NULL, *v;
	const char		*params[5], *k;
	int			 rc;

	if (users_begin_or_reply(r, rs, &p, settings_rules,
	    sizeof(settings_rules) / sizeof(settings_rules[0]), &body, &c))
		goto out;
	if ((fields = json_array()) == NULL) {
		users_internal(r, rs);
		goto out;
	}
	json_object_foreach(body, k, v)
		if (!json_is_null(v))
			json_array_append_new(fields, json_string(k));
	if (json_array_size(fields) == 0) {
		resp_problem(rs, r, 400, "VALIDATION_FAILED",
		    "Nothing to change.", NULL);
		goto out;
	}
	params[0] = p.user_id;
	params[1] = settings_bool(body, "notification_email");
	params[2] = settings_bool(body, "notification_security");
	params[3] = json_string_value(json_object_get(body, "ui_theme"));
	params[4] = json_string_value(json_object_get(body, "ui_density"));
	details = json_pack("{s:O}", "fields", fields);
	users_event(&ev, r, "settings_updated", p.user_id);
	ev.details = details;
	if ((rc = db_begin(c)) != 0)
		goto fail;
	if ((rc = db_query(c, "INSERT INTO profile_settings AS s (user_id,"
	    " notification_email, notification_security, ui_theme,"
	    " ui_density) VALUES ($1::uuid, coalesce($2::boolean, true),"
	    " coalesce($3::boolean, true), coalesce($4, 'system'),"
	    " coalesce($5, 'comfortable')) ON CONFLICT (user_id) DO UPDATE"
	    " SET notification_email = coalesce($2::boolean,"
	    " s.notification_email),"
	    " notification_security = coalesce($3::boolean,"
	    " s.notification_security),"
	    " ui_theme = coalesce($4, s.ui_theme),"
	    " ui_density = coalesce($5, s.ui_density)"
	    " RETURNING notification_email, notification_security,"
	    " ui_theme, ui_density", 5, params, &res)) != 0 ||
	    (rc = audit_record(c, &ev)) != 0 || (rc = db_commit(c)) != 0)
		goto fail;
	users_forget(p.user_id);
	out = settings_json(res);
	users_reply(r, rs, 200, out);
	goto out;
fail:
	db_rollback(c);
	users_fail(r, rs, rc);
out:
	db_res_free(res);
	db_pool_release(c);
	json_decref(fields);
	json_decref(details);
	json_decref(out);
	json_decref(body);
}
