/*
 * GET /api/v1/admin/stats: the numbers an operator looks at first.
 * Three aggregate queries, one per table, each one pass: the users
 * (one scan of a table of modest width), the sign-ins of the last 24
 * hours (through the (event_type, occurred_at) index) and the mail
 * outbox (its pending and failed rows, each through a partial index).
 */
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "error.h"

static const char	stats_users_sql[] =
    "SELECT count(*),"
    " count(*) FILTER (WHERE email_verified_at IS NOT NULL),"
    " count(*) FILTER (WHERE status = 'suspended'),"
    " count(*) FILTER (WHERE locked_until > now()),"
    " count(*) FILTER (WHERE mfa_enabled),"
    " count(*) FILTER (WHERE role = 'admin'),"
    " count(*) FILTER (WHERE created_at > now() - interval '24 hours'),"
    " CASE WHEN count(*) = 0 THEN 0 ELSE round(count(*) FILTER"
    " (WHERE mfa_enabled)::numeric / count(*), 4) END"
    " FROM users";

static const char	stats_events_sql[] =
    "SELECT count(*) FILTER (WHERE event_type = 'login_succeeded'),"
    " count(*) FILTER (WHERE event_type = 'login_failed'),"
    " count(*) FILTER (WHERE event_type = 'account_locked')"
    " FROM auth_events WHERE event_type IN ('login_succeeded',"
    " 'login_failed', 'account_locked')"
    " AND occurred_at > now() - interval '24 hours'";

static const char	stats_outbox_sql[] =
    "SELECT (SELECT count(*) FROM email_outbox"
    " WHERE status = 'pending'),"
    " (SELECT count(*) FROM email_outbox WHERE status = 'failed'),"
    " (SELECT coalesce(floor(extract(epoch FROM now() - min(created_at))),"
    " 0)::bigint FROM email_outbox WHERE status = 'pending')";

static int
stats_run(struct db_conn *c, json_t **out)
{
	struct db_res	*u = NULL, *e = NULL, *o = NULL;
	int		 rc;

	*out = NULL;
	if ((rc = db_query(c, stats_users_sql, 0, NULL, &u)) != 0 ||
	    (rc = db_query(c, stats_events_sql, 0, NULL, &e)) != 0 ||
	    (rc = db_query(c, stats_outbox_sql, 0, NULL, &o)) != 0)
		goto out;
	*out = json_pack("{s:{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:f},"
	    "s:{s:o,s:o,s:o},s:{s:o,s:o,s:o}}",
	    "users",
	    "total", admin_json_int(u, 0, 0),
	    "verified", admin_json_int(u, 0, 1),
	    "suspended", admin_json_int(u, 0, 2),
	    "locked", admin_json_int(u, 0, 3),
	    "mfa_enabled", admin_json_int(u, 0, 4),
	    "admins", admin_json_int(u, 0, 5),
	    "created_24h", admin_json_int(u, 0, 6),
	    "mfa_share", strtod(db_res_value(u, 0, 7), NULL),
	    "logins_24h",
	    "succeeded", admin_json_int(e, 0, 0),
	    "failed", admin_json_int(e, 0, 1),
	    "lockouts", admin_json_int(e, 0, 2),
	    "outbox",
	    "pending", admin_json_int(o, 0, 0),
	    "failed", admin_json_int(o, 0, 1),
	    "oldest_pending_s", admin_json_int(o, 0, 2));
	if (*out == NULL)
		rc = WS_ERR_NOMEM;
out:
	db_res_free(o);
	db_res_free(e);
	db_res_free(u);
	return rc;
}

void
admin_stats(struct req *r, struct resp *rs)
{
	struct admin	 a;
	json_t		*body = NULL;
	int		 rc;

	if (admin_or_reply(r, rs, &a) != 0)
		return;
	if (r->query[0] != '\0') {
		resp_problem(rs, r, 400, "VALIDATION_FAILED",
		    "This resource takes no parameters.", NULL);
		goto out;
	}
	if ((rc = stats_run(a.c, &body)) != 0) {
		admin_fail(r, rs, rc);
		goto out;
	}
	admin_reply(r, rs, 200, body);
out:
	json_decref(body);
	admin_done(&a);
}
