/*
 * What every admin handler shares: the administrator check, the
 * standard failure replies, the audit record of an action and the
 * conversion of result cells to JSON.
 */
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "app.h"
#include "audit.h"
#include "error.h"
#include "log.h"

int
admin_or_reply(struct req *r, struct resp *rs, struct admin *a)
{
	struct db_res	*res = NULL;
	const char	*params[1];
	int		 rc;

	memset(a, 0, sizeof(*a));
	if (authn_or_reply(r, rs, &a->p) != 0)
		return WS_ERR_INVALID;
	if ((a->c = app_db_or_reply(r, rs)) == NULL)
		return WS_ERR_UNAVAILABLE;
	/*
	 * The token's role claim is what the role was at sign-in; the
	 * row is what it is now, so a demoted or suspended administrator
	 * is refused from the first request after the change.
	 */
	params[0] = a->p.user_id;
	if ((rc = db_query(a->c, "SELECT role = 'admin' AND"
	    " status = 'active', mfa_enabled FROM users"
	    " WHERE id = $1::uuid", 1, params, &res)) != 0) {
		admin_fail(r, rs, rc);
		goto out;
	}
	if (db_res_nrows(res) != 1 ||
	    strcmp(db_res_value(res, 0, 0), "t") != 0) {
		log_event(LOG_WARN, "admin_refused", "user", a->p.user_id,
		    NULL);
		resp_problem(rs, r, 403, "FORBIDDEN",
		    "Administrator access is required.", NULL);
		rc = WS_ERR_INVALID;
		goto out;
	}
	if (admin_cfg.require_mfa &&
	    strcmp(db_res_value(res, 0, 1), "t") != 0) {
		resp_problem(rs, r, 403, "MFA_REQUIRED", "Administrators "
		    "must turn on multi-factor authentication first.", NULL);
		rc = WS_ERR_INVALID;
		goto out;
	}
out:
	db_res_free(res);
	if (rc != 0)
		admin_done(a);
	return rc;
}

void
admin_done(struct admin *a)
{
	db_pool_release(a->c);
	a->c = NULL;
}

int
admin_path_id_or_reply(struct req *r, struct resp *rs,
    char id[UUID_LEN + 1])
{
	const char	*v = req_param(r, "id");
	size_t		 i;

	if (!uuid_valid(v)) {
		admin_not_found(r, rs);
		return WS_ERR_NOTFOUND;
	}
	/* One spelling for ids in events and comparisons: lower case. */
	for (i = 0; i <= UUID_LEN; i++)
		id[i] = (v[i] >= 'A' && v[i] <= 'F') ? (char)(v[i] + 32) :
		    v[i];
	return 0;
}

void
admin_not_found(struct req *r, struct resp *rs)
{
	resp_problem(rs, r, 404, "NOT_FOUND", "No such user.", NULL);
}

void
admin_fail(struct req *r, struct resp *rs, int rc)
{
	app_fail_reply(r, rs, rc);
}

void
admin_reply(struct req *r, struct resp *rs, int status,
    const json_t *body)
{
	if (body == NULL || resp_json(rs, status, body) != 0)
		admin_fail(r, rs, WS_ERR_NOMEM);
}

int
admin_audit(struct req *r, const struct admin *a, const char *type,
    const char *user_id, const json_t *details)
{
	struct audit_event	 ev = { .type = type, .user_id = user_id,
				    .actor_id = a->p.user_id,
				    .details = details };

	audit_from_request(&ev, r);
	return audit_record(a->c, &ev);
}

json_t *
admin_json_text(const struct db_res *res, size_t row, size_t col)
{
	if (db_res_isnull(res, row, col))
		return json_null();
	return json_string(db_res_value(res, row, col));
}

json_t *
admin_json_bool(const struct db_res *res, size_t row, size_t col)
{
	if (db_res_isnull(res, row, col))
		return json_null();
	return json_boolean(strcmp(db_res_value(res, row, col), "t") == 0);
}

json_t *
admin_json_int(const struct db_res *res, size_t row, size_t col)
{
	if (db_res_isnull(res, row, col))
		return json_null();
	return json_integer((json_int_t)strtoll(db_res_value(res, row, col),
	    NULL, 10));
}

void
admin_read_reply(struct req *r, struct resp *rs, const struct admin *a,
    int (*run)(struct db_conn *, const void *, json_t *), const void *query)
{
	json_t	*body;
	int	 rc;

	if ((body = json_object()) == NULL) {
		admin_fail(r, rs, WS_ERR_NOMEM);
		return;
	}
	if ((rc = db_begin(a->c)) != 0)
		admin_fail(r, rs, rc);
	else if ((rc = run(a->c, query, body)) != 0 ||
	    (rc = db_commit(a->c)) != 0) {
		db_rollback(a->c);
		admin_fail(r, rs, rc);
	} else
		admin_reply(r, rs, 200, body);
	json_decref(body);
}
