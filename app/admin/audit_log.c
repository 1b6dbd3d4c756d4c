/*
 * GET /api/v1/admin/audit: the auth_events log, newest first, filtered
 * by user, actor, event type, client address and a time range
 * [from, to), paged by id: a cursor names the last id seen and the
 * next page holds only smaller ids, so new events never shift a page.
 *
 * As for the user list, the statement is fixed, every filter is a
 * parameter written "$n IS NULL OR ...", and plans are made per call
 * so the absent filters fold away and the index of the present one
 * (sql/0006_admin.sql) is used.
 */
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "error.h"
#include "validate.h"

#define AUDIT_NPARAMS	8
#define AUDIT_TYPE_MAX	64

static const char	audit_sql[] =
    "SELECT id, " ADMIN_TS_US("occurred_at") ", event_type, user_id,"
    " actor_id, ip, user_agent, details::text"
    " FROM auth_events"
    " WHERE ($1::uuid IS NULL OR user_id = $1::uuid)"
    " AND ($2::text IS NULL OR event_type = $2::text)"
    " AND ($3::uuid IS NULL OR actor_id = $3::uuid)"
    " AND ($4::text IS NULL OR ip = $4::text)"
    " AND ($5::timestamptz IS NULL OR occurred_at >= $5::timestamptz)"
    " AND ($6::timestamptz IS NULL OR occurred_at < $6::timestamptz)"
    " AND ($7::bigint IS NULL OR id < $7::bigint)"
    " ORDER BY id DESC LIMIT $8::int";

static const char * const	audit_allowed[] = {
	"user", "type", "actor", "ip", "from", "to", "limit", "cursor", NULL
};

struct audit_query {
	char	 user[UUID_LEN + 1];
	char	 type[AUDIT_TYPE_MAX + 1];
	char	 actor[UUID_LEN + 1];
	char	 ip[INET6_ADDRSTRLEN];
	char	 from[48];
	char	 to[48];
	char	 limit_text[8];
	char	 cursor[ADMIN_CURSOR_MAX + 1];
	char	 after[24];	/* the cursor's id, or "" */
	long	 limit;
};

/* Event types are written by WebSands: lower case, digits and '_'. */
static int
audit_type_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    *s == '_'))
			return 0;
	return 1;
}

/* An address in the form nginx hands over, or the empty string. */
static int
audit_ip_canonical(char *ip, size_t len)
{
	unsigned char	 bin[16];

	if (inet_pton(AF_INET, ip, bin) == 1)
		return inet_ntop(AF_INET, bin, ip, (socklen_t)len) != NULL ?
		    0 : WS_ERR_INVALID;
	if (inet_pton(AF_INET6, ip, bin) == 1)
		return inet_ntop(AF_INET6, bin, ip, (socklen_t)len) != NULL ?
		    0 : WS_ERR_INVALID;
	return WS_ERR_INVALID;
}

static void
audit_uuid(const struct req *r, const char *name, char *out,
    size_t outlen, json_t *errors)
{
	char	 v[64];

	out[0] = '\0';
	if (admin_param(r, name, v, sizeof(v), errors) != 0)
		return;
	if (!uuid_valid(v) || outlen <= UUID_LEN)
		validate_add_error(errors, name, "must be a user id");
	else
		memcpy(out, v, UUID_LEN + 1);
}

static void
audit_time(const struct req *r, const char *name, char *out,
    size_t outlen, json_t *errors)
{
	if (admin_param(r, name, out, outlen, errors) != 0)
		out[0] = '\0';
	else if (admin_parse_rfc3339(out) != 0) {
		validate_add_error(errors, name,
		    "must be an RFC 3339 date-time");
		out[0] = '\0';
	}
}

static void
audit_cursor(struct audit_query *aq, json_t *errors)
{
	json_t	*cur = NULL;
	long	 id;

	if (admin_cursor_decode(aq->cursor, 2, &cur) != 0 ||
	    strcmp(json_string_value(json_array_get(cur, 0)), "a") != 0 ||
	    admin_parse_long(json_string_value(json_array_get(cur, 1)), 1,
	    900000000000000000L, &id) != 0)
		validate_add_error(errors, "cursor", "is not a valid cursor");
	else
		snprintf(aq->after, sizeof(aq->after), "%ld", id);
	json_decref(cur);
}

static int
audit_parse_or_reply(struct req *r, struct resp *rs,
    struct audit_query *aq)
{
	json_t	*errors;
	int	 bad;

	memset(aq, 0, sizeof(*aq));
	aq->limit = ADMIN_LIMIT_DEFAULT;
	if ((errors = json_object()) == NULL) {
		admin_fail(r, rs, WS_ERR_NOMEM);
		return 1;
	}
	admin_param_known(r, audit_allowed, errors);
	audit_uuid(r, "user", aq->user, sizeof(aq->user), errors);
	audit_uuid(r, "actor", aq->actor, sizeof(aq->actor), errors);
	if (admin_param(r, "type", aq->type, sizeof(aq->type), errors) ==
	    0 && !audit_type_ok(aq->type)) {
		validate_add_error(errors, "type", "is not an event type");
		aq->type[0] = '\0';
	}
	if (admin_param(r, "ip", aq->ip, sizeof(aq->ip), errors) == 0 &&
	    audit_ip_canonical(aq->ip, sizeof(aq->ip)) != 0) {
		validate_add_error(errors, "ip", "must be an IP address");
		aq->ip[0] = '\0';
	}
	audit_time(r, "from", aq->from, sizeof(aq->from), errors);
	audit_time(r, "to", aq->to, sizeof(aq->to), errors);
	if (admin_param(r, "limit", aq->limit_text, sizeof(aq->limit_text),
	    errors) == 0 && admin_parse_long(aq->limit_text, 1,
	    ADMIN_LIMIT_MAX, &aq->limit) != 0)
		validate_add_error(errors, "limit",
		    "must be a whole number from 1 to 100");
	if (admin_param(r, "cursor", aq->cursor, sizeof(aq->cursor),
	    errors) == 0)
		audit_cursor(aq, errors);
	bad = json_object_size(errors) > 0;
	if (bad)
		resp_problem(rs, r, 400, "VALIDATION_FAILED",
		    "The query parameters are not valid.", errors);
	json_decref(errors);
	return bad;
}

static json_t *
audit_row(const struct db_res *res, size_t i)
{
	json_t	*details;

	details = json_loads(db_res_value(res, i, 7), 0, NULL);
	return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
	    "id", admin_json_int(res, i, 0),
	    "occurred_at", admin_json_text(res, i, 1),
	    "type", admin_json_text(res, i, 2),
	    "user_id", admin_json_text(res, i, 3),
	    "actor_id", admin_json_text(res, i, 4),
	    "ip", admin_json_text(res, i, 5),
	    "user_agent", admin_json_text(res, i, 6),
	    "details", details != NULL ? details : json_object());
}

static json_t *
audit_next_cursor(const struct db_res *res, size_t row)
{
	const char	*parts[2] = { "a", db_res_value(res, row, 0) };
	char		*cursor = NULL;
	json_t		*v;

	if (admin_cursor_encode(parts, 2, &cursor) != 0)
		return NULL;
	v = json_string(cursor);
	free(cursor);
	return v;
}

static int
audit_run(struct db_conn *c, const void *query, json_t *out)
{
	const struct audit_query	*aq = query;
	struct db_res	*res = NULL;
	const char	*params[AUDIT_NPARAMS];
	char		 limit[24];
	json_t		*events = NULL, *ev;
	size_t		 i, n;
	int		 rc;

	params[0] = aq->user[0] != '\0' ? aq->user : NULL;
	params[1] = aq->type[0] != '\0' ? aq->type : NULL;
	params[2] = aq->actor[0] != '\0' ? aq->actor : NULL;
	params[3] = aq->ip[0] != '\0' ? aq->ip : NULL;
	params[4] = aq->from[0] != '\0' ? aq->from : NULL;
	params[5] = aq->to[0] != '\0' ? aq->to : NULL;
	params[6] = aq->after[0] != '\0' ? aq->after : NULL;
	snprintf(limit, sizeof(limit), "%ld", aq->limit + 1);
	params[7] = limit;
	if ((rc = db_exec(c, "SET LOCAL plan_cache_mode ="
	    " force_custom_plan")) != 0 ||
	    (rc = db_query(c, audit_sql, AUDIT_NPARAMS, params, &res)) != 0)
		goto out;
	rc = WS_ERR_NOMEM;
	if ((events = json_array()) == NULL)
		goto out;
	n = db_res_nrows(res);
	for (i = 0; i < n && i < (size_t)aq->limit; i++)
		if ((ev = audit_row(res, i)) == NULL ||
		    json_array_append_new(events, ev) != 0)
			goto out;
	if (json_object_set(out, "events", events) != 0 ||
	    json_object_set_new(out, "limit", json_integer(aq->limit)) ||
	    json_object_set_new(out, "next_cursor", n > (size_t)aq->limit ?
	    audit_next_cursor(res, (size_t)aq->limit - 1) : json_null()))
		goto out;
	rc = 0;
out:
	json_decref(events);
	db_res_free(res);
	return rc;
}

void
admin_audit_list(struct req *r, struct resp *rs)
{
	struct admin		 a;
	struct audit_query	 aq;

	if (admin_or_reply(r, rs, &a) != 0)
		return;
	if (audit_parse_or_reply(r, rs, &aq) == 0)
		admin_read_reply(r, rs, &a, audit_run, &aq);
	admin_done(&a);
}
