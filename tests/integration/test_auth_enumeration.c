/*
 * Login must not tell an unknown account from a wrong password: the
 * same status and the same body byte for byte (the request id aside),
 * and the same time, measured as medians over many interleaved tries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "itest_auth.h"

#define TRIES		30
/* Failures per account, kept under the lockout threshold. */
#define FAILS_PER_USER	3
#define NUSERS		((TRIES + FAILS_PER_USER - 1) / FAILS_PER_USER)
/* design: medians within 20 percent of each other. */
#define MEDIAN_RATIO	1.20

/* A login's whole reply, with its time in microseconds. */
struct attempt {
	long		 status;
	struct buf	 body;		/* request_id's value removed */
	char		 ctype[128];
	int		 has_www_auth;
	int		 has_retry_after;
	double		 us;
};

static double
now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/*
 * Copies the body into a->body with the value of "request_id" cut
 * out, so two replies compare equal only if all else is equal.
 */
static void
strip_request_id(const struct itest_resp *r, struct attempt *a)
{
	const char	*body = buf_str(&r->body), *p, *end;
	const char	*id;

	buf_init(&a->body, 0);
	id = json_string_value(json_object_get(r->json, "request_id"));
	if (id == NULL || *id == '\0' || (p = strstr(body, id)) == NULL) {
		assert_int_equal(buf_puts(&a->body, body), 0);
		return;
	}
	end = p + strlen(id);
	assert_int_equal(buf_append(&a->body, body, (size_t)(p - body)), 0);
	assert_int_equal(buf_puts(&a->body, end), 0);
	/* The id must occur once only: nothing else may echo it. */
	assert_null(strstr(end, id));
}

static void
attempt_login(const char *who, const char *password, struct attempt *a)
{
	struct itest_resp	 r;
	json_t			*body;
	char			 v[16];
	double			 t0;

	body = json_pack("{s:s,s:s}", "username_or_email", who,
	    "password", password);
	assert_non_null(body);
	t0 = now_us();
	assert_int_equal(itest_auth_post_json("/api/v1/auth/login", body,
	    NULL, &r), 0);
	a->us = now_us() - t0;
	json_decref(body);
	a->status = r.status;
	strip_request_id(&r, a);
	if (itest_header(&r, "Content-Type", a->ctype,
	    sizeof(a->ctype)) == NULL)
		a->ctype[0] = '\0';
	a->has_www_auth = itest_header(&r, "WWW-Authenticate", v,
	    sizeof(v)) != NULL;
	a->has_retry_after = itest_header(&r, "Retry-After", v,
	    sizeof(v)) != NULL;
	itest_resp_cleanup(&r);
}

static void
attempt_cleanup(struct attempt *a)
{
	buf_cleanup(&a->body);
}

static void
assert_same(const struct attempt *unknown, const struct attempt *wrong,
    const char *what)
{
	if (unknown->status != wrong->status)
		fail_msg("%s: unknown user %ld, wrong password %ld", what,
		    unknown->status, wrong->status);
	if (unknown->body.len != wrong->body.len ||
	    memcmp(unknown->body.data, wrong->body.data,
	    unknown->body.len) != 0)
		fail_msg("%s: bodies differ:\n%s\n%s", what,
		    buf_str(&unknown->body), buf_str(&wrong->body));
	assert_string_equal(unknown->ctype, wrong->ctype);
	assert_int_equal(unknown->has_www_auth, wrong->has_www_auth);
	assert_int_equal(unknown->has_retry_after, wrong->has_retry_after);
}

/* Same status, body and headers, by username and by address. */
static void
test_enum_same_reply(void **state)
{
	struct itest_user	 u;
	struct attempt		 unknown, wrong;
	char			 ghost[ITEST_AUTH_NAME_MAX];
	char			 ghost_mail[ITEST_AUTH_EMAIL_MAX];
	char			 pw[ITEST_AUTH_PASSWORD_MAX];

	(void)state;
	itest_auth_register(&u, "enumsame");
	itest_auth_verify(&u);
	itest_auth_unique(ghost, sizeof(ghost), "ghost");
	snprintf(ghost_mail, sizeof(ghost_mail), "%s@example.com", ghost);

	itest_auth_password(pw, sizeof(pw));
	attempt_login(ghost, pw, &unknown);
	itest_auth_password(pw, sizeof(pw));
	attempt_login(u.username, pw, &wrong);
	assert_int_equal(unknown.status, 401);
	assert_same(&unknown, &wrong, "by username");
	attempt_cleanup(&unknown);
	attempt_cleanup(&wrong);

	itest_auth_password(pw, sizeof(pw));
	attempt_login(ghost_mail, pw, &unknown);
	itest_auth_password(pw, sizeof(pw));
	attempt_login(u.email, pw, &wrong);
	assert_int_equal(unknown.status, 401);
	assert_same(&unknown, &wrong, "by address");
	attempt_cleanup(&unknown);
	attempt_cleanup(&wrong);
}

static int
cmp_double(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The medians of thirty of each, interleaved, within 20 percent. */
static void
test_enum_same_time(void **state)
{
	struct itest_user	 users[NUSERS];
	struct attempt		 a;
	double			 t_unknown[TRIES], t_wrong[TRIES];
	double			 m_unknown, m_wrong, ratio;
	char			 ghost[ITEST_AUTH_NAME_MAX];
	char			 pw[ITEST_AUTH_PASSWORD_MAX];
	int			 i;

	(void)state;
	for (i = 0; i < NUSERS; i++) {
		itest_auth_register(&users[i], "enumtime");
		itest_auth_verify(&users[i]);
	}
	/* A first request of each kind warms connections and caches. */
	itest_auth_unique(ghost, sizeof(ghost), "ghost");
	itest_auth_password(pw, sizeof(pw));
	attempt_login(ghost, pw, &a);
	attempt_cleanup(&a);

	for (i = 0; i < TRIES; i++) {
		/* Alternate which kind goes first, so drift cancels. */
		int	 k;

		for (k = 0; k < 2; k++) {
			itest_auth_password(pw, sizeof(pw));
			if ((k == 0) == (i % 2 == 0)) {
				itest_auth_unique(ghost, sizeof(ghost),
				    "ghost");
				attempt_login(ghost, pw, &a);
				t_unknown[i] = a.us;
			} else {
				attempt_login(users[i / FAILS_PER_USER].
				    username, pw, &a);
				t_wrong[i] = a.us;
			}
			if (a.status != 401)
				fail_msg("try %d: status %ld: %s", i,
				    a.status, buf_str(&a.body));
			attempt_cleanup(&a);
		}
	}
	m_unknown = median(t_unknown, TRIES);
	m_wrong = median(t_wrong, TRIES);
	ratio = m_unknown > m_wrong ? m_unknown / m_wrong :
	    m_wrong / m_unknown;
	print_message("median: unknown user %.0f us, wrong password %.0f us,"
	    " ratio %.3f\n", m_unknown, m_wrong, ratio);
	if (ratio > MEDIAN_RATIO)
		fail_msg("medians differ by a factor %.3f (unknown %.0f us, "
		    "wrong password %.0f us)", ratio, m_unknown, m_wrong);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_enum_same_reply),
		cmocka_unit_test(test_enum_same_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
