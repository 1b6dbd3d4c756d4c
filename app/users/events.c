/*
 * GET /api/v1/users/me/events?limit=N&cursor=ID: the user's own
 * security events from the audit log, newest first.  limit is 1..100
 * (20 when absent); cursor is the next_cursor of the previous page
 * (the id of its last event).  Parameters are parsed strictly: an
 * unknown name, a repeated one, or a value that is not a plain decimal
 * number in range is a 400.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "error.h"
#include "users.h"

#define EVENTS_LIMIT_DEFAULT	20
#define EVENTS_LIMIT_MAX	100
/* Decimal digits of the largest cursor accepted (below 2^63). */
#define EVENTS_CURSOR_DIGITS	18

#define TS(col)	"to_char(" col " AT TIME ZONE 'UTC',"		\
		" 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* 1 when every parameter name in the raw query is one of names. */
static int
events_names_known(const char *query, const char * const *names,
    size_t n)
{
	const char	*p = query, *end, *eq;
	size_t		 i, len;

	while (*p != '\0') {
		end = strchr(p, '&');
		if (end == NULL)
			end = p + strlen(p);
		eq = memchr(p, '=', (size_t)(end - p));
		len = (size_t)((eq != NULL ? eq : end) - p);
		for (i = 0; i < n; i++)
			if (strlen(names[i]) == len &&
			    strncmp(p, names[i], len) == 0)
				break;
		if (i == n)
			return 0;
		p = *end == '&' ? end + 1 : end;
	}
	return 1;
}

/*
 * Reads query parameter name as a decimal in [min, max] into *v (left
 * alone when absent).  Returns 0, or WS_ERR_INVALID.
 */
static int
events_number(const struct req *r, const char *name, long long min,
    long long max, long long *v)
{
	char		 s[EVENTS_CURSOR_DIGITS + 2];
	size_t		 i;
	long long	 n;
	int		 rc;

	if ((rc = req_query(r, name, s, sizeof(s))) == WS_ERR_NOTFOUND)
		return 0;
	if (rc != 0 || s[0] == '\0' || strlen(s) > EVENTS_CURSOR_DIGITS)
		return WS_ERR_INVALID;
	for (i = 0; s[i] != '\0'; i++)
		if (s[i] < '0' || s[i] > '9')
			return WS_ERR_INVALID;
	n = strtoll(s, NULL, 10);
	if (n < min || n > max)
		return WS_ERR_INVALID;
	*v = n;
	return 0;
}

/* Who acted, as the user may know it: never another person's id. */
static const char *
events_actor(const struct db_res *res, size_t i)
{
	if (db_res_isnull(res, i, 6))
		return "system";
	return strcmp(db_res_value(res, i, 7), "t") == 0 ? "self" : "admin";
}

void
users_events_get(struct req *r, struct resp *rs)
{
	static const char * const names[] = { "limit", "cursor" };
	struct principal	 p;
	struct db_conn		*c = NULL;
	struct db_res		*res = NULL;
	json_t			*list = NULL, *out = NULL, *ev, *details;
	const char		*params[3];
	char			 cur[32], lim[32];
	long long		 limit = EVENTS_LIMIT_DEFAULT, cursor = 0;
	size_t			 i, n;
	int			 rc;

	if (authn_or_reply(r, rs, &p) != 0)
		goto out;
	if (!events_names_known(r->query, names, 2) ||
	    events_number(r, "limit", 1, EVENTS_LIMIT_MAX, &limit) != 0 ||
	    events_number(r, "cursor", 1, 999999999999999999LL,
	    &cursor) != 0) {
		resp_problem(rs, r, 400, "INVALID_QUERY", "limit must be 1 "
		    "to 100 and cursor a next_cursor value; no other "
		    "parameters are known.", NULL);
		goto out;
	}
	if ((c = app_db_or_reply(r, rs)) == NULL)
		goto out;
	snprintf(cur, sizeof(cur), "%lld", cursor);
	/* One more row than asked tells whether a next page exists. */
	snprintf(lim, sizeof(lim), "%lld", limit + 1);
	params[0] = p.user_id;
	params[1] = cursor > 0 ? cur : NULL;
	params[2] = lim;
	if ((rc = db_query(c, "SELECT id, " TS("occurred_at") ", event_type,"
	    " ip, user_agent, details::text, actor_id, actor_id = user_id"
	    " FROM auth_events WHERE user_id = $1::uuid"
	    " AND ($2::bigint IS NULL OR id < $2::bigint)"
	    " ORDER BY id DESC LIMIT $3::int", 3, params, &res)) != 0) {
		users_fail(r, rs, rc);
		goto out;
	}
	if ((list = json_array()) == NULL)
		goto nomem;
	n = db_res_nrows(res);
	if (n > (size_t)limit)
		n = (size_t)limit;
	for (i = 0; i < n; i++) {
		details = json_loads(db_res_value(res, i, 5), 0, NULL);
		ev = json_pack("{s:s,s:s,s:s,s:s?,s:s?,s:s,s:o}",
		    "id", db_res_value(res, i, 0),
		    "occurred_at", db_res_value(res, i, 1),
		    "type", db_res_value(res, i, 2),
		    "ip", db_res_isnull(res, i, 3) ? NULL :
		    db_res_value(res, i, 3),
		    "user_agent", db_res_isnull(res, i, 4) ? NULL :
		    db_res_value(res, i, 4),
		    "actor", events_actor(res, i),
		    "details", details != NULL ? details : json_object());
		if (ev == NULL || json_array_append_new(list, ev) != 0)
			goto nomem;
	}
	out = json_pack("{s:O,s:s?}", "events", list, "next_cursor",
	    db_res_nrows(res) > (size_t)limit && n > 0 ?
	    db_res_value(res, n - 1, 0) : NULL);
	users_reply(r, rs, 200, out);
	goto out;
nomem:
	users_internal(r, rs);
out:
	db_res_free(res);
	db_pool_release(c);
	json_decref(list);
	json_decref(out);
}
