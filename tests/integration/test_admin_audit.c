/*
 * GET /api/v1/admin/audit and GET /api/v1/admin/stats through nginx:
 * every admin action leaves an event naming the acting administrator;
 * the log filters by user, actor, type, address and time range and
 * pages by id without repeats while new events arrive; the stats
 * count what the database holds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "itest_admin.h"

#define MAX_EVENTS	128

static struct itest_admin	admin;

struct events {
	long	 id[MAX_EVENTS];
	char	 type[MAX_EVENTS][48];
	char	 user[MAX_EVENTS][37];
	char	 actor[MAX_EVENTS][37];
	char	 ip[MAX_EVENTS][48];
	size_t	 n;
	char	 next[600];
};

static int
setup(void **state)
{
	(void)state;
	itest_admin_new(&admin, "audadmin", 1);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	itest_admin_db_close();
	return 0;
}

static void
copy_text(char *out, size_t len, const json_t *v)
{
	snprintf(out, len, "%s", json_is_string(v) ? json_string_value(v) :
	    "");
}

/* GET /api/v1/admin/audit?QUERY into ev; asserts 200. */
static void
audit(const char *query, struct events *ev)
{
	json_t	*j, *e;
	char	 path[1024];
	size_t	 i;

	memset(ev, 0, sizeof(*ev));
	snprintf(path, sizeof(path), "/api/v1/admin/audit?%s", query);
	j = itest_admin_get_json(path, admin.t.access);
	json_array_foreach(json_object_get(j, "events"), i, e) {
		assert_true(i < MAX_EVENTS);
		ev->id[i] = (long)json_integer_value(json_object_get(e, "id"));
		copy_text(ev->type[i], sizeof(ev->type[i]),
		    json_object_get(e, "type"));
		copy_text(ev->user[i], sizeof(ev->user[i]),
		    json_object_get(e, "user_id"));
		copy_text(ev->actor[i], sizeof(ev->actor[i]),
		    json_object_get(e, "actor_id"));
		copy_text(ev->ip[i], sizeof(ev->ip[i]),
		    json_object_get(e, "ip"));
		assert_true(json_is_object(json_object_get(e, "details")));
		assert_true(json_is_string(json_object_get(e,
		    "occurred_at")));
		/* Newest first. */
		if (i > 0)
			assert_true(ev->id[i] < ev->id[i - 1]);
		ev->n = i + 1;
	}
	copy_text(ev->next, sizeof(ev->next), json_object_get(j,
	    "next_cursor"));
	json_decref(j);
}

static int
has_type(const struct events *ev, const char *type)
{
	size_t	 i;

	for (i = 0; i < ev->n; i++)
		if (strcmp(ev->type[i], type) == 0)
			return 1;
	return 0;
}

static void
post(const char *bearer, const char *id, const char *action, long want)
{
	char	 path[160];

	snprintf(path, sizeof(path), "/api/v1/admin/users/%s/%s", id, action);
	assert_int_equal(itest_admin_status("POST", path, bearer, NULL),
	    want);
}

/* Every kind of admin action, by one administrator on one user. */
static void
test_audit_every_action_is_an_event(void **state)
{
	static const char * const	 types[] = {
		"account_unlocked", "sessions_revoked_by_admin",
		"mfa_reset_by_admin", "password_reset_sent_by_admin",
		"username_changed", "user_suspended", "user_reactivated",
		"user_role_changed", "account_deleted",
	};
	struct itest_admin	 actor;
	struct itest_user	 u;
	struct events		 ev;
	char			 path[160], body[128], name[64], q[128];
	size_t			 i;

	(void)state;
	itest_admin_new(&actor, "audactor", 1);
	itest_admin_create(&u, "audtarget", 0);
	post(actor.t.access, u.id, "unlock", 204);
	post(actor.t.access, u.id, "revoke-sessions", 200);
	post(actor.t.access, u.id, "reset-mfa", 204);
	post(actor.t.access, u.id, "send-password-reset", 202);
	snprintf(path, sizeof(path), "/api/v1/admin/users/%s", u.id);
	itest_auth_unique(name, sizeof(name), "audnew");
	snprintf(body, sizeof(body), "{\"username\":\"%s\"}", name);
	assert_int_equal(itest_admin_status("PATCH", path, actor.t.access,
	    body), 200);
	assert_int_equal(itest_admin_status("PATCH", path, actor.t.access,
	    "{\"status\":\"suspended\"}"), 200);
	assert_int_equal(itest_admin_status("PATCH", path, actor.t.access,
	    "{\"status\":\"active\"}"), 200);
	assert_int_equal(itest_admin_status("PATCH", path, actor.t.access,
	    "{\"role\":\"admin\"}"), 200);
	assert_int_equal(itest_admin_status("DELETE", path, actor.t.access,
	    NULL), 204);

	snprintf(q, sizeof(q), "actor=%s&limit=100", actor.u.id);
	audit(q, &ev);
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!has_type(&ev, types[i]))
			fail_msg("no %s event by the acting admin", types[i]);
	for (i = 0; i < ev.n; i++) {
		assert_string_equal(ev.actor[i], actor.u.id);
		assert_string_equal(ev.ip[i], "127.0.0.1");
	}
}

/* Filters by user, type, actor, address and time. */
static void
test_audit_filters(void **state)
{
	struct itest_admin	 u;
	struct events		 ev;
	char			 q[256], from[32], to[32];
	time_t			 now = time(NULL);
	struct tm		 tm;
	size_t			 i;

	(void)state;
	itest_admin_new(&u, "audfilt", 0);
	post(admin.t.access, u.u.id, "unlock", 204);
	post(admin.t.access, u.u.id, "unlock", 204);

	snprintf(q, sizeof(q), "user=%s&limit=100", u.u.id);
	audit(q, &ev);
	assert_true(has_type(&ev, "user_created"));
	assert_true(has_type(&ev, "login_succeeded"));
	assert_true(has_type(&ev, "account_unlocked"));
	for (i = 0; i < ev.n; i++)
		assert_string_equal(ev.user[i], u.u.id);

	snprintf(q, sizeof(q), "user=%s&type=account_unlocked", u.u.id);
	audit(q, &ev);
	assert_int_equal(ev.n, 2);
	snprintf(q, sizeof(q), "user=%s&actor=%s&type=account_unlocked",
	    u.u.id, admin.u.id);
	audit(q, &ev);
	assert_int_equal(ev.n, 2);
	/* The user signed in, the admin did not sign in as the user. */
	snprintf(q, sizeof(q), "user=%s&actor=%s&type=login_succeeded",
	    u.u.id, admin.u.id);
	audit(q, &ev);
	assert_int_equal(ev.n, 0);

	snprintf(q, sizeof(q), "user=%s&ip=127.0.0.1", u.u.id);
	audit(q, &ev);
	assert_true(ev.n >= 3);
	snprintf(q, sizeof(q), "user=%s&ip=10.9.8.7", u.u.id);
	audit(q, &ev);
	assert_int_equal(ev.n, 0);
	snprintf(q, sizeof(q), "user=%s&ip=::ffff:10.9.8.7", u.u.id);
	audit(q, &ev);
	assert_int_equal(ev.n, 0);

	now -= 3600;
	gmtime_r(&now, &tm);
	strftime(from, sizeof(from), "%Y-%m-%dT%H:%M:%SZ", &tm);
	now += 7200;
	gmtime_r(&now, &tm);
	strftime(to, sizeof(to), "%Y-%m-%dT%H:%M:%S%%2B00:00", &tm);
	snprintf(q, sizeof(q), "user=%s&from=%s&to=%s&limit=100", u.u.id,
	    from, to);
	audit(q, &ev);
	assert_true(ev.n >= 4);
	/* A window that ends before the account was made. */
	snprintf(q, sizeof(q), "user=%s&to=%s", u.u.id, from);
	audit(q, &ev);
	assert_int_equal(ev.n, 0);
	snprintf(q, sizeof(q), "user=%s&from=%s", u.u.id,
	    "2999-01-01T00:00:00.123456-05:00");
	audit(q, &ev);
	assert_int_equal(ev.n, 0);
}

/* Pages by id: each event once, new ones never shift a page. */
static void
test_audit_pagination(void **state)
{
	struct itest_admin	 u;
	struct events		 ev;
	long			 seen[MAX_EVENTS], orig[MAX_EVENTS];
	char			 q[900];
	size_t			 i, j, nseen = 0, norig, pages = 0, count;

	(void)state;
	itest_admin_new(&u, "audpage", 0);
	for (i = 0; i < 9; i++)
		post(admin.t.access, u.u.id, "unlock", 204);
	snprintf(q, sizeof(q), "user=%s&limit=100", u.u.id);
	audit(q, &ev);
	norig = ev.n;
	assert_true(norig >= 11);
	memcpy(orig, ev.id, sizeof(orig));
	snprintf(q, sizeof(q), "user=%s&limit=3", u.u.id);
	for (;;) {
		audit(q, &ev);
		assert_true(ev.n <= 3);
		for (i = 0; i < ev.n; i++) {
			for (j = 0; j < nseen; j++)
				assert_true(seen[j] != ev.id[i]);
			seen[nseen++] = ev.id[i];
		}
		if (ev.next[0] == '\0')
			break;
		assert_true(++pages < 30);
		/* A new event for the same user between pages. */
		post(admin.t.access, u.u.id, "revoke-sessions", 200);
		snprintf(q, sizeof(q), "user=%s&limit=3&cursor=%s", u.u.id,
		    ev.next);
	}
	for (i = 0; i < norig; i++) {
		for (count = 0, j = 0; j < nseen; j++)
			if (seen[j] == orig[i])
				count++;
		assert_int_equal(count, 1);
	}
	/* Only the original events: the new ones are newer than page 1. */
	assert_int_equal(nseen, norig);
}

static long
stat_value(const json_t *j, const char *group, const char *name)
{
	const json_t	*v = json_object_get(json_object_get(j, group), name);

	assert_true(json_is_integer(v));
	return (long)json_integer_value(v);
}

static void
test_audit_stats(void **state)
{
	struct itest_admin	 u;
	json_t			*j;
	char			 v[32];
	long			 total, locked, susp, failed;

	(void)state;
	j = itest_admin_get_json("/api/v1/admin/stats", admin.t.access);
	itest_admin_sql_value("SELECT count(*) FROM users", 0, NULL, v,
	    sizeof(v));
	assert_int_equal(stat_value(j, "users", "total"), atol(v));
	assert_true(stat_value(j, "users", "admins") >= 1);
	assert_true(stat_value(j, "logins_24h", "succeeded") >= 1);
	assert_true(json_is_real(json_object_get(json_object_get(j, "users"),
	    "mfa_share")) || json_is_integer(json_object_get(
	    json_object_get(j, "users"), "mfa_share")));
	total = stat_value(j, "users", "total");
	locked = stat_value(j, "users", "locked");
	susp = stat_value(j, "users", "suspended");
	failed = stat_value(j, "logins_24h", "failed");
	(void)stat_value(j, "outbox", "pending");
	(void)stat_value(j, "outbox", "failed");
	json_decref(j);

	itest_admin_new(&u, "audstat", 0);
	itest_admin_sql("UPDATE users SET locked_until = now() +"
	    " interval '1 hour', status = 'suspended' WHERE id = $1::uuid",
	    1, (const char *[]){ u.u.id });
	assert_int_equal(itest_auth_login_as(u.u.username, "Wr0ng!pass",
	    NULL), 403);
	assert_int_equal(itest_auth_login_as("nobody_at_all_here",
	    "Wr0ng!pass", NULL), 401);
	j = itest_admin_get_json("/api/v1/admin/stats", admin.t.access);
	assert_int_equal(stat_value(j, "users", "total"), total + 1);
	assert_int_equal(stat_value(j, "users", "locked"), locked + 1);
	assert_int_equal(stat_value(j, "users", "suspended"), susp + 1);
	assert_true(stat_value(j, "logins_24h", "failed") >= failed + 1);
	json_decref(j);
	assert_int_equal(itest_admin_status("GET",
	    "/api/v1/admin/stats?x=1", admin.t.access, NULL), 400);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_audit_every_action_is_an_event),
		cmocka_unit_test(test_audit_filters),
		cmocka_unit_test(test_audit_pagination),
		cmocka_unit_test(test_audit_stats),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
