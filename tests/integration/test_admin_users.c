/*
 * GET /api/v1/admin/users through nginx: the prefix search on username
 * and address (any case, LIKE metacharacters taken literally), each
 * filter, each sort in both directions, and keyset pagination that
 * visits every row exactly once while rows are inserted between pages.
 * The accounts are written straight into the database with a prefix
 * of their own, so each test sees only its rows through q=PREFIX.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "itest_admin.h"

#define MAX_ROWS	64

static struct itest_admin	admin;

/* One account to seed. */
struct seed {
	const char	*name;		/* after the prefix */
	const char	*email;		/* before the prefix in the address */
	const char	*role;
	const char	*status;
	int		 verified;
	int		 locked;
	int		 mfa;
	int		 created_min;	/* minutes ago */
	int		 login_min;	/* minutes ago, -1 for never */
};

/* A page of the list, reduced to what the tests compare. */
struct page {
	char	 id[MAX_ROWS][37];
	char	 name[MAX_ROWS][65];
	size_t	 n;
	long	 total;
	char	 next[600];
};

static int
setup(void **state)
{
	(void)state;
	itest_admin_new(&admin, "uadmin", 1);
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
seed_user(const char *prefix, const struct seed *s, char id[37])
{
	char		 user[96], mail[160], created[16], login[16];
	char		 v[8], l[8], m[8];
	const char	*p[9];
	int		 w;

	w = snprintf(user, sizeof(user), "%s%s", prefix, s->name);
	assert_true(w > 0 && (size_t)w < sizeof(user));
	w = snprintf(mail, sizeof(mail), "%s%s%s@seed.example",
	    s->email != NULL ? s->email : "", prefix, s->name);
	assert_true(w > 0 && (size_t)w < sizeof(mail));
	snprintf(v, sizeof(v), "%s", s->verified ? "true" : "false");
	snprintf(l, sizeof(l), "%s", s->locked ? "true" : "false");
	snprintf(m, sizeof(m), "%s", s->mfa ? "true" : "false");
	snprintf(created, sizeof(created), "%d", s->created_min);
	snprintf(login, sizeof(login), "%d", s->login_min);
	p[0] = user;
	p[1] = mail;
	p[2] = s->role;
	p[3] = s->status;
	p[4] = v;
	p[5] = l;
	p[6] = m;
	p[7] = created;
	p[8] = login;
	itest_admin_sql_value("INSERT INTO users (username, email,"
	    " password_hash, role, status, email_verified_at, locked_until,"
	    " mfa_enabled, created_at, last_login_at) VALUES ($1,"
	    " lower($2), 'seeded', $3, $4,"
	    " CASE WHEN $5::boolean THEN now() END,"
	    " CASE WHEN $6::boolean THEN now() + interval '1 hour' END,"
	    " $7::boolean, now() - make_interval(mins => $8::int),"
	    " CASE WHEN $9::int >= 0 THEN now() -"
	    " make_interval(mins => $9::int) END) RETURNING id",
	    9, p, id, 37);
	assert_int_equal(strlen(id), 36);
}

/* GET /api/v1/admin/users?QUERY into pg; asserts 200. */
static void
list(const char *query, struct page *pg)
{
	json_t		*j, *u;
	char		 path[1024];
	size_t		 i;
	int		 w;

	memset(pg, 0, sizeof(*pg));
	w = snprintf(path, sizeof(path), "/api/v1/admin/users?%s", query);
	assert_true(w > 0 && (size_t)w < sizeof(path));
	j = itest_admin_get_json(path, admin.t.access);
	assert_true(json_is_integer(json_object_get(j, "total")));
	pg->total = (long)json_integer_value(json_object_get(j, "total"));
	json_array_foreach(json_object_get(j, "users"), i, u) {
		assert_true(i < MAX_ROWS);
		snprintf(pg->id[i], sizeof(pg->id[i]), "%s",
		    json_string_value(json_object_get(u, "id")));
		snprintf(pg->name[i], sizeof(pg->name[i]), "%s",
		    json_string_value(json_object_get(u, "username")));
		/* Never a hash, a secret or a token in a list. */
		assert_null(json_object_get(u, "password_hash"));
		assert_null(json_object_get(u, "mfa_secret"));
		pg->n = i + 1;
	}
	if (json_is_string(json_object_get(j, "next_cursor")))
		snprintf(pg->next, sizeof(pg->next), "%s", json_string_value(
		    json_object_get(j, "next_cursor")));
	else
		assert_true(json_is_null(json_object_get(j, "next_cursor")));
	json_decref(j);
}

static int
page_has(const struct page *pg, const char *id)
{
	size_t	 i;

	for (i = 0; i < pg->n; i++)
		if (strcmp(pg->id[i], id) == 0)
			return 1;
	return 0;
}

/* The rows seeded for the filter and sort tests. */
enum { S_PLAIN, S_ADMIN, S_SUSP, S_LOCKED, S_OTHERMAIL, S_N };

static const struct seed	seeds[S_N] = {
	[S_PLAIN] = { "mike", NULL, "user", "active", 1, 0, 0, 50, 30 },
	[S_ADMIN] = { "alice", NULL, "admin", "active", 1, 0, 1, 40, 5 },
	[S_SUSP] = { "Zed", NULL, "user", "suspended", 0, 0, 0, 30, -1 },
	[S_LOCKED] = { "bob", NULL, "user", "active", 1, 1, 0, 20, 60 },
	[S_OTHERMAIL] = { "carol", "other_", "user", "active", 1, 0, 0, 10,
	    -1 },
};

static void
seed_set(char *prefix, size_t len, char ids[S_N][37])
{
	size_t	 i;

	itest_auth_unique(prefix, len, "sx");
	/* A prefix only this test's accounts have; "_" is literal in q. */
	strncat(prefix, "_", len - strlen(prefix) - 1);
	for (i = 0; i < S_N; i++)
		seed_user(prefix, &seeds[i], ids[i]);
}

static void
test_users_search(void **state)
{
	struct page	 pg;
	char		 prefix[40], upper[40], q[160], ids[S_N][37];
	size_t		 i;

	(void)state;
	seed_set(prefix, sizeof(prefix), ids);
	snprintf(q, sizeof(q), "q=%s&limit=100", prefix);
	list(q, &pg);
	/* carol's address does not start with the prefix; her name does. */
	assert_int_equal(pg.n, S_N);
	assert_int_equal(pg.total, S_N);
	for (i = 0; i < S_N; i++)
		assert_true(page_has(&pg, ids[i]));

	/* Any case; a name stored as "Zed" is found by "zed". */
	for (i = 0; prefix[i] != '\0'; i++)
		upper[i] = (char)toupper((unsigned char)prefix[i]);
	upper[i] = '\0';
	snprintf(q, sizeof(q), "q=%sZE", upper);
	list(q, &pg);
	assert_int_equal(pg.n, 1);
	assert_string_equal(pg.id[0], ids[S_SUSP]);
	snprintf(q, sizeof(q), "q=%szed", prefix);
	list(q, &pg);
	assert_int_equal(pg.n, 1);

	/* The address alone: "other_" + prefix. */
	snprintf(q, sizeof(q), "q=OTHER_%s", prefix);
	list(q, &pg);
	assert_int_equal(pg.n, 1);
	assert_string_equal(pg.id[0], ids[S_OTHERMAIL]);

	/* LIKE metacharacters are literal: none of these may match. */
	snprintf(q, sizeof(q), "q=%%25%s", prefix);
	list(q, &pg);
	assert_int_equal(pg.n, 0);
	assert_int_equal(pg.total, 0);
	snprintf(q, sizeof(q), "q=%sm_ke", prefix);
	list(q, &pg);
	assert_int_equal(pg.n, 0);
	snprintf(q, sizeof(q), "q=%s%%25e", prefix);
	list(q, &pg);
	assert_int_equal(pg.n, 0);
	snprintf(q, sizeof(q), "q=%s%%5C", prefix);
	list(q, &pg);
	assert_int_equal(pg.n, 0);
	/* Not a prefix: the middle of a name does not match. */
	snprintf(q, sizeof(q), "q=%s", prefix + 2);
	list(q, &pg);
	assert_false(page_has(&pg, ids[S_PLAIN]));
}

/* q=PREFIX&FILTER must return exactly the seeds in want (a bitmask). */
static void
assert_filter(const char *prefix, const char *filter, char ids[S_N][37],
    unsigned want)
{
	struct page	 pg;
	char		 q[256];
	size_t		 i, n = 0;

	snprintf(q, sizeof(q), "q=%s&%s&limit=100", prefix, filter);
	list(q, &pg);
	for (i = 0; i < S_N; i++) {
		if ((want & (1u << i)) != 0) {
			n++;
			if (!page_has(&pg, ids[i]))
				fail_msg("%s: seed %zu missing", filter, i);
		} else if (page_has(&pg, ids[i]))
			fail_msg("%s: seed %zu should not be there", filter, i);
	}
	assert_int_equal(pg.n, n);
	assert_int_equal(pg.total, (long)n);
}

#define B(x)	(1u << (x))

static void
test_users_filters(void **state)
{
	char	 prefix[40], ids[S_N][37];
	unsigned all = B(S_N) - 1;

	(void)state;
	seed_set(prefix, sizeof(prefix), ids);
	assert_filter(prefix, "role=admin", ids, B(S_ADMIN));
	assert_filter(prefix, "role=user", ids, all & ~B(S_ADMIN));
	assert_filter(prefix, "status=suspended", ids, B(S_SUSP));
	assert_filter(prefix, "status=active", ids, all & ~B(S_SUSP));
	assert_filter(prefix, "verified=false", ids, B(S_SUSP));
	assert_filter(prefix, "verified=true", ids, all & ~B(S_SUSP));
	assert_filter(prefix, "locked=true", ids, B(S_LOCKED));
	assert_filter(prefix, "locked=false", ids, all & ~B(S_LOCKED));
	assert_filter(prefix, "mfa=true", ids, B(S_ADMIN));
	assert_filter(prefix, "mfa=false", ids, all & ~B(S_ADMIN));
	assert_filter(prefix, "role=user&status=active&verified=true"
	    "&locked=false", ids, B(S_PLAIN) | B(S_OTHERMAIL));
	assert_filter(prefix, "role=admin&mfa=false", ids, 0);
}

/* The order of names in q=PREFIX&sort=..., as seed indexes. */
static void
assert_order(const char *prefix, const char *sort, char ids[S_N][37],
    const int *want)
{
	struct page	 pg;
	char		 q[256];
	size_t		 i;

	snprintf(q, sizeof(q), "q=%s&%s", prefix, sort);
	list(q, &pg);
	assert_int_equal(pg.n, S_N);
	for (i = 0; i < S_N; i++)
		if (strcmp(pg.id[i], ids[want[i]]) != 0)
			fail_msg("%s: row %zu is %s, wanted seed %d", sort, i,
			    pg.name[i], want[i]);
}

static void
test_users_sorts(void **state)
{
	char	 prefix[40], ids[S_N][37];
	/* Oldest account first: mike, alice, Zed, bob, carol. */
	static const int created_asc[S_N] = { S_PLAIN, S_ADMIN, S_SUSP,
	    S_LOCKED, S_OTHERMAIL };
	static const int created_desc[S_N] = { S_OTHERMAIL, S_LOCKED,
	    S_SUSP, S_ADMIN, S_PLAIN };
	/* By name, ignoring case: alice, bob, carol, mike, Zed. */
	static const int name_asc[S_N] = { S_ADMIN, S_LOCKED, S_OTHERMAIL,
	    S_PLAIN, S_SUSP };
	static const int name_desc[S_N] = { S_SUSP, S_PLAIN, S_OTHERMAIL,
	    S_LOCKED, S_ADMIN };
	/* Never signed in counts as the oldest sign-in (ties by id). */
	int	 login_asc[S_N], login_desc[S_N];
	int	 nev0, nev1;

	(void)state;
	seed_set(prefix, sizeof(prefix), ids);
	nev0 = strcmp(ids[S_SUSP], ids[S_OTHERMAIL]) < 0 ? S_SUSP :
	    S_OTHERMAIL;
	nev1 = nev0 == S_SUSP ? S_OTHERMAIL : S_SUSP;
	login_asc[0] = nev0;
	login_asc[1] = nev1;
	login_asc[2] = S_LOCKED;
	login_asc[3] = S_PLAIN;
	login_asc[4] = S_ADMIN;
	login_desc[0] = S_ADMIN;
	login_desc[1] = S_PLAIN;
	login_desc[2] = S_LOCKED;
	login_desc[3] = nev1;
	login_desc[4] = nev0;
	assert_order(prefix, "sort=created_at&order=asc", ids, created_asc);
	assert_order(prefix, "sort=created_at&order=desc", ids,
	    created_desc);
	/* The defaults: newest first. */
	assert_order(prefix, "limit=20", ids, created_desc);
	assert_order(prefix, "sort=username&order=asc", ids, name_asc);
	assert_order(prefix, "sort=username", ids, name_asc);
	assert_order(prefix, "sort=username&order=desc", ids, name_desc);
	assert_order(prefix, "sort=last_login_at&order=asc", ids, login_asc);
	assert_order(prefix, "sort=last_login_at&order=desc", ids,
	    login_desc);
}

/*
 * Pages of 4 through 13 rows in one order, inserting two rows before
 * each next page: one that sorts before everything seen and one that
 * sorts after.  Each original row must come exactly once, no row
 * twice, and the pages must follow the order.
 */
static void
paginate_with_inserts(const char *sort, const char *order)
{
	struct seed	 s;
	struct page	 pg;
	char		 prefix[40], names[16][24], orig[13][37], extra[37];
	char		 seen[MAX_ROWS][37], q[900];
	size_t		 i, j, nseen = 0, pages = 0, count;

	itest_auth_unique(prefix, sizeof(prefix), "pg");
	strncat(prefix, "_", sizeof(prefix) - strlen(prefix) - 1);
	memset(&s, 0, sizeof(s));
	s.role = "user";
	s.status = "active";
	s.verified = 1;
	for (i = 0; i < 13; i++) {
		snprintf(names[i], sizeof(names[i]), "m%02zu", (i * 7) % 13);
		s.name = names[i];
		s.created_min = 100 + (int)((i * 5) % 13);
		s.login_min = i % 3 == 0 ? -1 : 200 + (int)((i * 3) % 13);
		seed_user(prefix, &s, orig[i]);
	}
	snprintf(q, sizeof(q), "q=%s&sort=%s&order=%s&limit=4", prefix, sort,
	    order);
	for (;;) {
		list(q, &pg);
		assert_true(pg.n <= 4);
		if (pages == 0)
			assert_int_equal(pg.total, 13);
		for (i = 0; i < pg.n; i++) {
			for (j = 0; j < nseen; j++)
				if (strcmp(seen[j], pg.id[i]) == 0)
					fail_msg("%s %s: %s came twice", sort,
					    order, pg.name[i]);
			assert_true(nseen < MAX_ROWS);
			memcpy(seen[nseen++], pg.id[i], 37);
		}
		pages++;
		assert_true(pages < 20);
		if (pg.next[0] == '\0')
			break;
		/* Before everything and after everything, in any order. */
		snprintf(names[13], sizeof(names[13]), "a%02zu", pages);
		s.name = names[13];
		s.created_min = 1000 + (int)pages;
		s.login_min = -1;
		seed_user(prefix, &s, extra);
		snprintf(names[14], sizeof(names[14]), "z%02zu", pages);
		s.name = names[14];
		s.created_min = 0;
		s.login_min = 0;
		seed_user(prefix, &s, extra);
		snprintf(q, sizeof(q), "q=%s&sort=%s&order=%s&limit=4"
		    "&cursor=%s", prefix, sort, order, pg.next);
	}
	for (i = 0; i < 13; i++) {
		for (count = 0, j = 0; j < nseen; j++)
			if (strcmp(seen[j], orig[i]) == 0)
				count++;
		if (count != 1)
			fail_msg("%s %s: m%02zu seen %zu times", sort, order,
			    (i * 7) % 13, count);
	}
}

static void
test_users_pagination_exactly_once(void **state)
{
	(void)state;
	paginate_with_inserts("created_at", "asc");
	paginate_with_inserts("created_at", "desc");
	paginate_with_inserts("username", "asc");
	paginate_with_inserts("username", "desc");
	paginate_with_inserts("last_login_at", "asc");
	paginate_with_inserts("last_login_at", "desc");
}

/* A cursor belongs to its sort order; another order refuses it. */
static void
test_users_cursor_bound_to_sort(void **state)
{
	struct page		 pg;
	struct itest_resp	 r;
	char			 prefix[40], ids[S_N][37], q[900];

	(void)state;
	seed_set(prefix, sizeof(prefix), ids);
	snprintf(q, sizeof(q), "q=%s&sort=username&limit=2", prefix);
	list(q, &pg);
	assert_true(pg.next[0] != '\0');
	snprintf(q, sizeof(q), "/api/v1/admin/users?q=%s&sort=created_at"
	    "&limit=2&cursor=%s", prefix, pg.next);
	assert_int_equal(itest_admin_call("GET", q, admin.t.access, NULL,
	    &r), 0);
	itest_auth_expect(&r, 400, "cursor of another sort");
	itest_resp_cleanup(&r);
	snprintf(q, sizeof(q), "/api/v1/admin/users?q=%s&sort=username"
	    "&order=desc&limit=2&cursor=%s", prefix, pg.next);
	assert_int_equal(itest_admin_status("GET", q, admin.t.access, NULL),
	    400);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_users_search),
		cmocka_unit_test(test_users_filters),
		cmocka_unit_test(test_users_sorts),
		cmocka_unit_test(test_users_pagination_exactly_once),
		cmocka_unit_test(test_users_cursor_bound_to_sort),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
