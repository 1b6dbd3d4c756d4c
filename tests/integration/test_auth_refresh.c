/*
 * Refresh-token rotation (design.md 6) through nginx: each use gives a
 * new pair; a rotated token used again after the grace ends its whole
 * session but no other; parallel uses of one token give one new pair;
 * tokens never issued revoke nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest_auth.h"

#define GRACE_DEFAULT	5
#define PARALLEL	10

static struct itest_user	 user;

static int
group_setup(void **state)
{
	(void)state;
	itest_auth_register(&user, "refresh");
	itest_auth_verify(&user);
	return 0;
}

/* The claim name of the access token, a new string. */
static char *
claim(const char *access, const char *name)
{
	json_t	*c;
	char	*s;

	c = itest_auth_jwt_json(access, 1);
	assert_non_null(json_string_value(json_object_get(c, name)));
	s = strdup(json_string_value(json_object_get(c, name)));
	assert_non_null(s);
	json_decref(c);
	return s;
}

/* A refresh gives a new pair for the same session. */
static void
test_refresh_rotates(void **state)
{
	struct itest_tokens	 a, b;
	char			*sid_a, *sid_b, *jti_a, *jti_b;

	(void)state;
	itest_auth_login(&user, &a);
	assert_int_equal(itest_auth_refresh(a.refresh, &b), 200);
	assert_string_not_equal(a.refresh, b.refresh);
	assert_string_not_equal(a.access, b.access);
	sid_a = claim(a.access, "sid");
	sid_b = claim(b.access, "sid");
	jti_a = claim(a.access, "jti");
	jti_b = claim(b.access, "jti");
	assert_string_equal(sid_a, sid_b);
	assert_string_not_equal(jti_a, jti_b);
	/* The new pair works: it refreshes again, and logs out. */
	assert_int_equal(itest_auth_refresh(b.refresh, &a), 200);
	assert_int_equal(itest_auth_logout(a.access), 204);
	free(sid_a);
	free(sid_b);
	free(jti_a);
	free(jti_b);
}

/*
 * A rotated token used again after the grace ends its session: the
 * newest refresh token and the access token fail too.  The user's
 * other session is untouched.
 */
static void
test_refresh_reuse_revokes(void **state)
{
	struct itest_tokens	 first, second, other, other2;
	long			 grace;

	(void)state;
	grace = itest_auth_config_long("REFRESH_REUSE_GRACE_S",
	    GRACE_DEFAULT);
	if (grace > 10)
		skip();
	itest_auth_login(&user, &first);
	itest_auth_login(&user, &other);
	assert_int_equal(itest_auth_refresh(first.refresh, &second), 200);
	itest_auth_sleep_ms(grace * 1000 + 500);

	assert_int_equal(itest_auth_refresh(first.refresh, NULL), 401);
	assert_int_equal(itest_auth_refresh(second.refresh, NULL), 401);
	assert_int_equal(itest_auth_logout(second.access), 401);
	assert_int_equal(itest_auth_logout(first.access), 401);

	assert_int_equal(itest_auth_refresh(other.refresh, &other2), 200);
	assert_int_equal(itest_auth_logout(other2.access), 204);
}

/*
 * Inside the grace a second use is a race between tabs, not theft:
 * it is refused but the session lives on.
 */
static void
test_refresh_reuse_within_grace(void **state)
{
	struct itest_tokens	 first, second, third;

	(void)state;
	itest_auth_login(&user, &first);
	assert_int_equal(itest_auth_refresh(first.refresh, &second), 200);
	assert_int_equal(itest_auth_refresh(first.refresh, NULL), 401);
	assert_int_equal(itest_auth_refresh(second.refresh, &third), 200);
	assert_int_equal(itest_auth_logout(third.access), 204);
}

struct parallel_run {
	const char	*refresh;
	long		 status[PARALLEL];
	char		 new_refresh[PARALLEL][ITEST_AUTH_REFRESH_MAX];
	char		 new_access[PARALLEL][ITEST_AUTH_ACCESS_MAX];
};

/* One thread's refresh; no assertions off the main thread. */
static void
parallel_one(int i, void *arg)
{
	struct parallel_run	*run = arg;
	struct itest_resp	 r;
	char			 body[256];
	const char		*rt, *at;
	int			 n;

	run->status[i] = -1;
	n = snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}",
	    run->refresh);
	if (n < 0 || (size_t)n >= sizeof(body))
		return;
	if (itest_auth_post("/api/v1/auth/refresh", body, (size_t)n, NULL,
	    &r) != 0)
		return;
	run->status[i] = r.status;
	rt = json_string_value(json_object_get(r.json, "refresh_token"));
	at = json_string_value(json_object_get(r.json, "access_token"));
	if (rt != NULL)
		snprintf(run->new_refresh[i], sizeof(run->new_refresh[i]),
		    "%s", rt);
	if (at != NULL)
		snprintf(run->new_access[i], sizeof(run->new_access[i]),
		    "%s", at);
	itest_resp_cleanup(&r);
}

/* Ten refreshes with one token at once: exactly one new pair. */
static void
test_refresh_parallel(void **state)
{
	struct itest_tokens	 t, next;
	struct parallel_run	*run;
	int			 i, winner = -1, wins = 0;

	(void)state;
	itest_auth_login(&user, &t);
	run = calloc(1, sizeof(*run));
	assert_non_null(run);
	run->refresh = t.refresh;
	itest_auth_parallel(PARALLEL, parallel_one, run);
	for (i = 0; i < PARALLEL; i++) {
		if (run->status[i] == 200) {
			wins++;
			winner = i;
			itest_auth_secret(run->new_refresh[i]);
			itest_auth_secret(run->new_access[i]);
		} else if (run->status[i] != 401)
			fail_msg("refresh %d: status %ld", i, run->status[i]);
	}
	if (wins != 1)
		fail_msg("%d of %d parallel refreshes succeeded", wins,
		    PARALLEL);
	/* The losers were a race inside the grace: the winner goes on. */
	assert_int_equal(itest_auth_refresh(run->new_refresh[winner], &next),
	    200);
	assert_int_equal(itest_auth_logout(next.access), 204);
	free(run);
}

/* Tokens never issued are refused and revoke nothing. */
static void
test_refresh_garbage(void **state)
{
	struct itest_tokens	 t, next;
	struct itest_resp	 r;
	char			 bad[8][200];
	char			*never;
	unsigned char		 raw[32];
	size_t			 i, n = 0;

	(void)state;
	itest_auth_login(&user, &t);
	snprintf(bad[n++], sizeof(bad[0]), "{\"refresh_token\":\"garbage\"}");
	/* Well-formed, never issued. */
	memset(raw, 0x5a, sizeof(raw));
	never = itest_auth_b64url(raw, sizeof(raw));
	snprintf(bad[n++], sizeof(bad[0]), "{\"refresh_token\":\"%s\"}",
	    never);
	free(never);
	/* The real token with its last character changed, or one more. */
	snprintf(bad[n++], sizeof(bad[0]), "{\"refresh_token\":\"%.*s%c\"}",
	    (int)strlen(t.refresh) - 1, t.refresh,
	    t.refresh[strlen(t.refresh) - 1] == 'A' ? 'B' : 'A');
	snprintf(bad[n++], sizeof(bad[0]), "{\"refresh_token\":\"%sx\"}",
	    t.refresh);
	snprintf(bad[n++], sizeof(bad[0]), "{\"refresh_token\":\"\"}");
	snprintf(bad[n++], sizeof(bad[0]), "{\"refresh_token\":1}");
	snprintf(bad[n++], sizeof(bad[0]), "{\"refresh_token\":null}");
	snprintf(bad[n++], sizeof(bad[0]), "{}");
	for (i = 0; i < n; i++) {
		assert_int_equal(itest_auth_post("/api/v1/auth/refresh",
		    bad[i], strlen(bad[i]), NULL, &r), 0);
		if (r.status != 400 && r.status != 401)
			fail_msg("%s: status %ld: %s", bad[i], r.status,
			    buf_str(&r.body));
		assert_null(json_object_get(r.json, "access_token"));
		itest_resp_cleanup(&r);
	}
	/* Nor is the access token a refresh token. */
	assert_int_equal(itest_auth_refresh(t.access, NULL) / 100, 4);
	/* The real session was not touched. */
	assert_int_equal(itest_auth_refresh(t.refresh, &next), 200);
	assert_int_equal(itest_auth_logout(next.access), 204);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_refresh_rotates),
		cmocka_unit_test(test_refresh_reuse_revokes),
		cmocka_unit_test(test_refresh_reuse_within_grace),
		cmocka_unit_test(test_refresh_parallel),
		cmocka_unit_test(test_refresh_garbage),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
