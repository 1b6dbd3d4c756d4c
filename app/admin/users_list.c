/*
 * GET /api/v1/admin/users: search, filters, three sort orders in
 * either direction, keyset pagination and a total.
 *
 * No parameter ever becomes SQL text.  The six orders are six fixed
 * statements, built here at compile time and chosen from a table;
 * every filter is a statement parameter, written "$n IS NULL OR ..."
 * so that an absent filter costs nothing.  The statements run with
 * plan_cache_mode = force_custom_plan, which makes PostgreSQL plan
 * each call with its actual values: the absent filters fold away and
 * the search prefix reaches the index, where a generic plan (the
 * default after five calls of a prepared statement) could use
 * neither.  The boolean filters are spelled so that what is left after
 * folding is the plain condition ("email_verified_at IS NULL") the
 * partial indexes of sql/0006_admin.sql are defined by.
 *
 * A page ends with a cursor holding the sort, the direction, the last
 * row's sort key and its id; the next page starts strictly after that
 * (key, id) pair, so rows inserted or deleted between pages neither
 * repeat nor hide any other row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "error.h"
#include "validate.h"

#define LIST_FILTER \
	" WHERE ($1::text IS NULL OR" \
	" lower(username) COLLATE \"C\" LIKE lower($1::text) OR" \
	" lower(email) COLLATE \"C\" LIKE lower($1::text))" \
	" AND ($2::text IS NULL OR role = $2::text)" \
	" AND ($3::text IS NULL OR status = $3::text)" \
	" AND ($4::boolean IS NULL" \
	" OR ($4::boolean AND email_verified_at IS NOT NULL)" \
	" OR (NOT $4::boolean AND email_verified_at IS NULL))" \
	" AND ($5::boolean IS NULL" \
	" OR ($5::boolean AND locked_until > now())" \
	" OR (NOT $5::boolean AND (locked_until IS NULL" \
	" OR locked_until <= now())))" \
	" AND ($6::boolean IS NULL OR mfa_enabled = $6::boolean)"

/*
 * One statement: keytext renders the sort key for the cursor, key is
 * the sort expression (as indexed in sql/0006_admin.sql), param turns
 * the cursor's key back into that type, cmp and dir set the way.
 */
#define LIST_SQL(keytext, key, param, cmp, dir) \
	"SELECT " ADMIN_USER_COLS ", " keytext " FROM users" LIST_FILTER \
	" AND ($7::text IS NULL OR (" key ", id) " cmp \
	" (" param ", $8::uuid))" \
	" ORDER BY " key " " dir ", id " dir " LIMIT $9::int"

#define KEY_CREATED	"created_at"
#define TEXT_CREATED	ADMIN_TS_US("created_at")
#define PARAM_CREATED	"$7::timestamptz"
#define KEY_LOGIN	"coalesce(last_login_at, '-infinity'::timestamptz)"
#define TEXT_LOGIN	"coalesce(" ADMIN_TS_US("last_login_at") ", '')"
#define PARAM_LOGIN	"CASE WHEN $7::text = '' THEN" \
			" '-infinity'::timestamptz" \
			" ELSE $7::timestamptz END"
#define KEY_NAME	"lower(username) COLLATE \"C\""
#define TEXT_NAME	"lower(username)"
#define PARAM_NAME	"$7::text"

static const char	list_count_sql[] =
    "SELECT count(*) FROM users" LIST_FILTER;

/* The key kinds a cursor's key is checked against. */
enum list_key {
	LIST_KEY_TIME,		/* RFC 3339 */
	LIST_KEY_TIME_OR_NONE,	/* RFC 3339 or "" (never signed in) */
	LIST_KEY_TEXT
};

struct list_order {
	const char	*sort;
	const char	*order;
	enum list_key	 key;
	const char	*sql;
};

static const struct list_order	list_orders[] = {
	{ "created_at", "asc", LIST_KEY_TIME, LIST_SQL(TEXT_CREATED,
	    KEY_CREATED, PARAM_CREATED, ">", "ASC") },
	{ "created_at", "desc", LIST_KEY_TIME, LIST_SQL(TEXT_CREATED,
	    KEY_CREATED, PARAM_CREATED, "<", "DESC") },
	{ "last_login_at", "asc", LIST_KEY_TIME_OR_NONE, LIST_SQL(TEXT_LOGIN,
	    KEY_LOGIN, PARAM_LOGIN, ">", "ASC") },
	{ "last_login_at", "desc", LIST_KEY_TIME_OR_NONE,
	    LIST_SQL(TEXT_LOGIN, KEY_LOGIN, PARAM_LOGIN, "<", "DESC") },
	{ "username", "asc", LIST_KEY_TEXT, LIST_SQL(TEXT_NAME, KEY_NAME,
	    PARAM_NAME, ">", "ASC") },
	{ "username", "desc", LIST_KEY_TEXT, LIST_SQL(TEXT_NAME, KEY_NAME,
	    PARAM_NAME, "<", "DESC") },
};

#define LIST_NORDERS	(sizeof(list_orders) / sizeof(list_orders[0]))
#define LIST_NPARAMS	9

static const char * const	list_allowed[] = {
	"q", "role", "status", "verified", "locked", "mfa", "sort",
	"order", "limit", "cursor", NULL
};

/* What a request asks for, validated. */
struct list_query {
	char	 q[ADMIN_Q_MAX + 1];
	char	 like[2 * ADMIN_Q_MAX + 2];
	char	 role[16];
	char	 status[16];
	char	 verified[8];
	char	 locked[8];
	char	 mfa[8];
	char	 sort[16];
	char	 order[8];
	char	 limit_text[8];
	char	 cursor[ADMIN_CURSOR_MAX + 1];
	long	 limit;
	const struct list_order *lo;
	json_t	*cur;		/* the decoded cursor, or NULL */
};

/* Reads an optional enumerated parameter; "" when absent. */
static void
list_choice(const struct req *r, const char *name, const char *choices,
    char *out, size_t outlen, json_t *errors)
{
	size_t	 n;
	const char *p;

	if (admin_param(r, name, out, outlen, errors) != 0) {
		out[0] = '\0';
		return;
	}
	n = strlen(out);
	for (p = choices; p != NULL; p = strchr(p, '|')) {
		if (*p == '|')
			p++;
		if (strncmp(p, out, n) == 0 && (p[n] == '|' ||
		    p[n] == '\0'))
			return;
	}
	validate_add_error(errors, name, "is not one of the allowed values");
	out[0] = '\0';
}

/* Reads an optional true|false parameter into out ("" when absent). */
static void
list_bool(const struct req *r, const char *name, char *out,
    size_t outlen, json_t *errors)
{
	int	 b;

	if (admin_param(r, name, out, outlen, errors) != 0)
		out[0] = '\0';
	else if (admin_parse_bool(out, &b) != 0) {
		validate_add_error(errors, name, "must be true or false");
		out[0] = '\0';
	}
}

/* Whether the cursor's key fits the kind of the chosen sort. */
static int
list_key_ok(enum list_key kind, const char *key)
{
	switch (kind) {
	case LIST_KEY_TIME_OR_NONE:
		if (key[0] == '\0')
			return 1;
		/* FALLTHROUGH */
	case LIST_KEY_TIME:
		return admin_parse_rfc3339(key) == 0;
	case LIST_KEY_TEXT:
		return strlen(key) <= 4 * 64;
	}
	return 0;
}

static void
list_cursor(struct list_query *lq, json_t *errors)
{
	const char	*key, *id;

	if (admin_cursor_decode(lq->cursor, 5, &lq->cur) != 0)
		goto bad;
	if (strcmp(json_string_value(json_array_get(lq->cur, 0)),
	    "u") != 0 ||
	    strcmp(json_string_value(json_array_get(lq->cur, 1)),
	    lq->lo->sort) != 0 ||
	    strcmp(json_string_value(json_array_get(lq->cur, 2)),
	    lq->lo->order) != 0)
		goto bad;
	key = json_string_value(json_array_get(lq->cur, 3));
	id = json_string_value(json_array_get(lq->cur, 4));
	if (!list_key_ok(lq->lo->key, key) || !uuid_valid(id))
		goto bad;
	return;
bad:
	json_decref(lq->cur);
	lq->cur = NULL;
	validate_add_error(errors, "cursor",
	    "is not a cursor of this sort order");
}

/* Parses the query string; non-zero after replying 400. */
static int
list_parse_or_reply(struct req *r, struct resp *rs, struct list_query *lq)
{
	json_t	*errors;
	size_t	 i;
	int	 bad;

	memset(lq, 0, sizeof(*lq));
	lq->limit = ADMIN_LIMIT_DEFAULT;
	if ((errors = json_object()) == NULL) {
		admin_fail(r, rs, WS_ERR_NOMEM);
		return 1;
	}
	admin_param_known(r, list_allowed, errors);
	if (admin_param(r, "q", lq->q, sizeof(lq->q), errors) == 0 &&
	    admin_like_prefix(lq->q, lq->like, sizeof(lq->like)) != 0)
		validate_add_error(errors, "q", "is too long");
	list_choice(r, "role", "user|admin", lq->role, sizeof(lq->role),
	    errors);
	list_choice(r, "status", "active|suspended", lq->status,
	    sizeof(lq->status), errors);
	list_bool(r, "verified", lq->verified, sizeof(lq->verified), errors);
	list_bool(r, "locked", lq->locked, sizeof(lq->locked), errors);
	list_bool(r, "mfa", lq->mfa, sizeof(lq->mfa), errors);
	list_choice(r, "sort", "created_at|last_login_at|username",
	    lq->sort, sizeof(lq->sort), errors);
	list_choice(r, "order", "asc|desc", lq->order, sizeof(lq->order),
	    errors);
	if (admin_param(r, "limit", lq->limit_text, sizeof(lq->limit_text),
	    errors) == 0 && admin_parse_long(lq->limit_text, 1,
	    ADMIN_LIMIT_MAX, &lq->limit) != 0)
		validate_add_error(errors, "limit",
		    "must be a whole number from 1 to 100");
	bad = json_object_size(errors) > 0;
	if (!bad) {
		/* Newest first unless asked otherwise; names A to Z. */
		const char *sort = lq->sort[0] != '\0' ? lq->sort :
		    "created_at";
		const char *order = lq->order[0] != '\0' ? lq->order :
		    strcmp(sort, "username") == 0 ? "asc" : "desc";

		for (i = 0; i < LIST_NORDERS; i++)
			if (strcmp(list_orders[i].sort, sort) == 0 &&
			    strcmp(list_orders[i].order, order) == 0)
				lq->lo = &list_orders[i];
		if (admin_param(r, "cursor", lq->cursor, sizeof(lq->cursor),
		    errors) == 0)
			list_cursor(lq, errors);
		bad = json_object_size(errors) > 0;
	}
	if (bad)
		resp_problem(rs, r, 400, "VALIDATION_FAILED",
		    "The query parameters are not valid.", errors);
	json_decref(errors);
	return bad;
}

/* The cursor after row of res, whose sort key is the last column. */
static json_t *
list_next_cursor(const struct list_query *lq, const struct db_res *res,
    size_t row)
{
	const char	*parts[5];
	char		*cursor = NULL;
	json_t		*v;

	parts[0] = "u";
	parts[1] = lq->lo->sort;
	parts[2] = lq->lo->order;
	parts[3] = db_res_value(res, row, ADMIN_USER_NCOLS);
	parts[4] = db_res_value(res, row, 0);
	if (admin_cursor_encode(parts, 5, &cursor) != 0)
		return NULL;
	v = json_string(cursor);
	free(cursor);
	return v;
}

/* The page and the total, inside the read transaction on c. */
static int
list_run(struct db_conn *c, const void *query, json_t *out)
{
	const struct list_query	*lq = query;
	struct db_res	*res = NULL, *count = NULL;
	const char	*params[LIST_NPARAMS];
	char		 limit[24];
	json_t		*users = NULL, *u;
	size_t		 i, n;
	int		 rc;

	params[0] = lq->q[0] != '\0' ? lq->like : NULL;
	params[1] = lq->role[0] != '\0' ? lq->role : NULL;
	params[2] = lq->status[0] != '\0' ? lq->status : NULL;
	params[3] = lq->verified[0] != '\0' ? lq->verified : NULL;
	params[4] = lq->locked[0] != '\0' ? lq->locked : NULL;
	params[5] = lq->mfa[0] != '\0' ? lq->mfa : NULL;
	params[6] = lq->cur != NULL ?
	    json_string_value(json_array_get(lq->cur, 3)) : NULL;
	params[7] = lq->cur != NULL ?
	    json_string_value(json_array_get(lq->cur, 4)) : NULL;
	/* One row more than asked tells whether a next page exists. */
	snprintf(limit, sizeof(limit), "%ld", lq->limit + 1);
	params[8] = limit;
	/* One snapshot for the page and its total. */
	if ((rc = db_exec(c, "SET TRANSACTION ISOLATION LEVEL"
	    " REPEATABLE READ, READ ONLY")) != 0 ||
	    (rc = db_exec(c, "SET LOCAL plan_cache_mode ="
	    " force_custom_plan")) != 0 ||
	    (rc = db_query(c, lq->lo->sql, LIST_NPARAMS, params,
	    &res)) != 0 ||
	    (rc = db_query(c, list_count_sql, 6, params, &count)) != 0)
		goto out;
	rc = WS_ERR_NOMEM;
	if ((users = json_array()) == NULL)
		goto out;
	n = db_res_nrows(res);
	for (i = 0; i < n && i < (size_t)lq->limit; i++)
		if ((u = admin_user_json(res, i)) == NULL ||
		    json_array_append_new(users, u) != 0)
			goto out;
	if (json_object_set(out, "users", users) != 0 ||
	    json_object_set_new(out, "total",
	    admin_json_int(count, 0, 0)) != 0 ||
	    json_object_set_new(out, "limit",
	    json_integer(lq->limit)) != 0 ||
	    json_object_set_new(out, "next_cursor",
	    n > (size_t)lq->limit ? list_next_cursor(lq, res,
	    (size_t)lq->limit - 1) : json_null()) != 0)
		goto out;
	rc = 0;
out:
	json_decref(users);
	db_res_free(count);
	db_res_free(res);
	return rc;
}

void
admin_users_list(struct req *r, struct resp *rs)
{
	struct admin		 a;
	struct list_query	 lq;

	memset(&lq, 0, sizeof(lq));
	if (admin_or_reply(r, rs, &a) != 0)
		return;
	if (list_parse_or_reply(r, rs, &lq) == 0)
		admin_read_reply(r, rs, &a, list_run, &lq);
	json_decref(lq.cur);
	admin_done(&a);
}
