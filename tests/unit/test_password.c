/*
 * Unit tests of common/password.c: both hash kinds with cheap
 * parameters (bcrypt cost 4, Argon2id with 1 MiB and one pass), rehash
 * decisions, the 72-byte bcrypt limit, the dummy verify and the
 * concurrency bound.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "password.h"

#define TEST_ARGON2_OPS	1ULL
#define TEST_ARGON2_MEM	((size_t)1024 * 1024)

static void
init_bcrypt(int cost, int max_concurrent)
{
	struct password_opts	 o;

	password_opts_default(&o);
	o.algo = PASSWORD_BCRYPT;
	o.bcrypt_cost = cost;
	o.max_concurrent = max_concurrent;
	assert_int_equal(password_init(&o), 0);
}

static void
init_argon2(unsigned long long ops, size_t mem)
{
	struct password_opts	 o;

	password_opts_default(&o);
	o.algo = PASSWORD_ARGON2ID;
	o.argon2_opslimit = ops;
	o.argon2_memlimit = mem;
	o.max_concurrent = 4;
	assert_int_equal(password_init(&o), 0);
}

static int
teardown(void **state)
{
	(void)state;
	password_cleanup();
	return 0;
}

/* Fills out with n bytes of a repeating printable pattern. */
static void
make_pw(char *out, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		out[i] = (char)('a' + i % 26);
	out[n] = '\0';
}

static void
test_defaults(void **state)
{
	struct password_opts	 o;

	(void)state;
	password_opts_default(&o);
	assert_int_equal(o.algo, PASSWORD_BCRYPT);
	assert_int_equal(o.bcrypt_cost, 12);
	/* OWASP: m = 19 MiB, t = 2. */
	assert_true(o.argon2_opslimit == 2);
	assert_true(o.argon2_memlimit == (size_t)19 * 1024 * 1024);
}

static void
test_bcrypt_roundtrip(void **state)
{
	char	 h[PASSWORD_HASH_MAX];
	int	 ok = -1;

	(void)state;
	init_bcrypt(4, 2);
	assert_int_equal(password_hash("Correct-Horse-9", h), 0);
	assert_memory_equal(h, "$2b$04$", 7);
	assert_int_equal(strlen(h), 60);
	assert_int_equal(password_verify("Correct-Horse-9", h, &ok), 0);
	assert_int_equal(ok, 1);
}

static void
test_bcrypt_wrong_password(void **state)
{
	char	 h[PASSWORD_HASH_MAX];
	int	 ok = -1;

	(void)state;
	init_bcrypt(4, 2);
	assert_int_equal(password_hash("Correct-Horse-9", h), 0);
	assert_int_equal(password_verify("correct-Horse-9", h, &ok), 0);
	assert_int_equal(ok, 0);
	assert_int_equal(password_verify("Correct-Horse-9 ", h, &ok), 0);
	assert_int_equal(ok, 0);
	assert_int_equal(password_verify("", h, &ok), 0);
	assert_int_equal(ok, 0);
}

static void
test_bcrypt_salted(void **state)
{
	char	 a[PASSWORD_HASH_MAX], b[PASSWORD_HASH_MAX];

	(void)state;
	init_bcrypt(4, 2);
	assert_int_equal(password_hash("Same-Password-1", a), 0);
	assert_int_equal(password_hash("Same-Password-1", b), 0);
	assert_string_not_equal(a, b);
}

static void
test_bcrypt_refuses_over_72(void **state)
{
	char	 pw[80], h[PASSWORD_HASH_MAX];
	int	 ok = -1;

	(void)state;
	init_bcrypt(4, 2);
	make_pw(pw, 73);
	assert_int_equal(password_hash(pw, h), WS_ERR_TOOBIG);
	assert_string_equal(h, "");
	make_pw(pw, 72);
	assert_int_equal(password_hash(pw, h), 0);
	assert_int_equal(password_verify(pw, h, &ok), 0);
	assert_int_equal(ok, 1);
}

/*
 * bcrypt ignores bytes past 72; a longer password that shares them
 * must still not match.
 */
static void
test_bcrypt_long_never_matches(void **state)
{
	char	 pw[100], h[PASSWORD_HASH_MAX];
	int	 ok = -1;

	(void)state;
	init_bcrypt(4, 2);
	make_pw(pw, 72);
	assert_int_equal(password_hash(pw, h), 0);
	make_pw(pw, 90);
	assert_int_equal(password_verify(pw, h, &ok), 0);
	assert_int_equal(ok, 0);
}

static void
test_argon2_roundtrip(void **state)
{
	char	 h[PASSWORD_HASH_MAX];
	int	 ok = -1;

	(void)state;
	init_argon2(TEST_ARGON2_OPS, TEST_ARGON2_MEM);
	assert_int_equal(password_hash("Correct-Horse-9", h), 0);
	assert_memory_equal(h, "$argon2id$v=19$m=1024,t=1,p=1$", 30);
	assert_int_equal(password_verify("Correct-Horse-9", h, &ok), 0);
	assert_int_equal(ok, 1);
	assert_int_equal(password_verify("Correct-Horse-8", h, &ok), 0);
	assert_int_equal(ok, 0);
}

/* ASVS 6.2.8: a 100-character password and its first 72 differ. */
static void
test_argon2_long_password_not_truncated(void **state)
{
	char	 pw100[101], pw72[73];
	char	 h100[PASSWORD_HASH_MAX], h72[PASSWORD_HASH_MAX];
	int	 ok = -1;

	(void)state;
	init_argon2(TEST_ARGON2_OPS, TEST_ARGON2_MEM);
	make_pw(pw100, 100);
	memcpy(pw72, pw100, 72);
	pw72[72] = '\0';
	assert_int_equal(password_hash(pw100, h100), 0);
	assert_int_equal(password_hash(pw72, h72), 0);
	assert_int_equal(password_verify(pw100, h100, &ok), 0);
	assert_int_equal(ok, 1);
	assert_int_equal(password_verify(pw72, h72, &ok), 0);
	assert_int_equal(ok, 1);
	assert_int_equal(password_verify(pw72, h100, &ok), 0);
	assert_int_equal(ok, 0);
	assert_int_equal(password_verify(pw100, h72, &ok), 0);
	assert_int_equal(ok, 0);
}

static void
test_argon2_refuses_over_cap(void **state)
{
	char	 pw[PASSWORD_MAX + 2], h[PASSWORD_HASH_MAX];

	(void)state;
	init_argon2(TEST_ARGON2_OPS, TEST_ARGON2_MEM);
	make_pw(pw, PASSWORD_MAX + 1);
	assert_int_equal(password_hash(pw, h), WS_ERR_TOOBIG);
	make_pw(pw, PASSWORD_MAX);
	assert_int_equal(password_hash(pw, h), 0);
}

/* Switching the algorithm keeps existing hashes of the other kind. */
static void
test_both_kinds_verify(void **state)
{
	char	 hb[PASSWORD_HASH_MAX], ha[PASSWORD_HASH_MAX];
	int	 ok = -1;

	(void)state;
	init_bcrypt(4, 2);
	assert_int_equal(password_hash("Kind-Of-Blue-59", hb), 0);
	init_argon2(TEST_ARGON2_OPS, TEST_ARGON2_MEM);
	assert_int_equal(password_hash("Kind-Of-Blue-59", ha), 0);
	assert_int_equal(password_verify("Kind-Of-Blue-59", hb, &ok), 0);
	assert_int_equal(ok, 1);
	init_bcrypt(4, 2);
	assert_int_equal(password_verify("Kind-Of-Blue-59", ha, &ok), 0);
	assert_int_equal(ok, 1);
}

static void
test_verify_unknown_format(void **state)
{
	int	 ok = -1;

	(void)state;
	init_bcrypt(4, 2);
	assert_int_equal(password_verify("x", "plaintext", &ok),
	    WS_ERR_INVALID);
	assert_int_equal(ok, 0);
	assert_int_equal(password_verify("x", "$1$abc$def", &ok),
	    WS_ERR_INVALID);
	assert_int_equal(password_verify("x", "$2b$99$garbage", &ok),
	    WS_ERR_INVALID);
	assert_int_equal(ok, 0);
	assert_int_equal(password_verify("x", "", &ok), WS_ERR_INVALID);
}

static void
test_bcrypt_2y_verifies(void **state)
{
	char	 h[PASSWORD_HASH_MAX];
	int	 ok = -1;

	(void)state;
	init_bcrypt(4, 2);
	assert_int_equal(password_hash("Older-Prefix-1", h), 0);
	/* Hashes made elsewhere with $2y$ hash the same way. */
	h[2] = 'y';
	assert_int_equal(password_verify("Older-Prefix-1", h, &ok), 0);
	assert_int_equal(ok, 1);
	assert_int_equal(password_needs_rehash(h), 1);
}

static void
test_needs_rehash_bcrypt_cost(void **state)
{
	char	 h4[PASSWORD_HASH_MAX], h6[PASSWORD_HASH_MAX];

	(void)state;
	init_bcrypt(4, 2);
	assert_int_equal(password_hash("Rehash-Me-1", h4), 0);
	assert_int_equal(password_needs_rehash(h4), 0);
	init_bcrypt(6, 2);
	assert_int_equal(password_hash("Rehash-Me-1", h6), 0);
	assert_int_equal(password_needs_rehash(h4), 1);
	assert_int_equal(password_needs_rehash(h6), 0);
	/* A stronger hash than the policy is kept. */
	init_bcrypt(5, 2);
	assert_int_equal(password_needs_rehash(h6), 0);
}

static void
test_needs_rehash_algo_change(void **state)
{
	char	 hb[PASSWORD_HASH_MAX], ha[PASSWORD_HASH_MAX];

	(void)state;
	init_bcrypt(4, 2);
	assert_int_equal(password_hash("Rehash-Me-1", hb), 0);
	init_argon2(TEST_ARGON2_OPS, TEST_ARGON2_MEM);
	assert_int_equal(password_hash("Rehash-Me-1", ha), 0);
	assert_int_equal(password_needs_rehash(hb), 1);
	assert_int_equal(password_needs_rehash(ha), 0);
	init_bcrypt(4, 2);
	assert_int_equal(password_needs_rehash(ha), 1);
}

static void
test_needs_rehash_argon2_params(void **state)
{
	char	 h[PASSWORD_HASH_MAX];

	(void)state;
	init_argon2(TEST_ARGON2_OPS, TEST_ARGON2_MEM);
	assert_int_equal(password_hash("Rehash-Me-1", h), 0);
	assert_int_equal(password_needs_rehash(h), 0);
	init_argon2(2, TEST_ARGON2_MEM);
	assert_int_equal(password_needs_rehash(h), 1);
	init_argon2(TEST_ARGON2_OPS, 2 * TEST_ARGON2_MEM);
	assert_int_equal(password_needs_rehash(h), 1);
	assert_int_equal(password_needs_rehash("garbage"), 1);
	assert_int_equal(password_needs_rehash(NULL), 1);
}

static void
test_dummy_verify(void **state)
{
	(void)state;
	init_bcrypt(4, 2);
	assert_int_equal(password_dummy_verify("Whatever-1"), 0);
	init_argon2(TEST_ARGON2_OPS, TEST_ARGON2_MEM);
	assert_int_equal(password_dummy_verify("Whatever-1"), 0);
}

static double
now_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * An unknown user's dummy verify costs what a real one costs: the
 * medians of seven runs each are within a factor of two (the real
 * margin is far tighter; the bound only allows for a busy machine).
 */
static void
test_dummy_verify_costs_the_same(void **state)
{
	char	 h[PASSWORD_HASH_MAX];
	double	 real[7], dummy[7], t;
	int	 i, ok;

	(void)state;
	init_argon2(2, (size_t)8 * 1024 * 1024);
	assert_int_equal(password_hash("Timing-Check-1", h), 0);
	for (i = 0; i < 7; i++) {
		t = now_s();
		assert_int_equal(password_verify("Wrong-Guess-1", h, &ok), 0);
		real[i] = now_s() - t;
		t = now_s();
		assert_int_equal(password_dummy_verify("Wrong-Guess-1"), 0);
		dummy[i] = now_s() - t;
	}
	qsort(real, 7, sizeof(real[0]), cmp_double);
	qsort(dummy, 7, sizeof(dummy[0]), cmp_double);
	assert_true(dummy[3] < real[3] * 2.0);
	assert_true(real[3] < dummy[3] * 2.0);
}

/* With every slot taken, each hashing call answers UNAVAILABLE. */
static void
test_semaphore_full(void **state)
{
	char	 h[PASSWORD_HASH_MAX], h2[PASSWORD_HASH_MAX];
	int	 ok = -1;

	(void)state;
	init_bcrypt(4, 1);
	assert_int_equal(password_hash("Before-Full-1", h2), 0);
	assert_int_equal(password_slot_acquire(), 0);
	assert_int_equal(password_slot_acquire(), WS_ERR_UNAVAILABLE);
	assert_int_equal(password_hash("Busy-Busy-1", h), WS_ERR_UNAVAILABLE);
	assert_int_equal(password_verify("Before-Full-1", h2, &ok),
	    WS_ERR_UNAVAILABLE);
	assert_int_equal(ok, 0);
	assert_int_equal(password_dummy_verify("Busy-Busy-1"),
	    WS_ERR_UNAVAILABLE);
	password_slot_release();
	assert_int_equal(password_hash("Busy-Busy-1", h), 0);
}

static void *
hold_slot(void *arg)
{
	(void)arg;
	if (password_slot_acquire() != 0)
		return (void *)1;
	usleep(100 * 1000);
	password_slot_release();
	return NULL;
}

/* A slot taken by another thread blocks a try; a bounded wait gets it. */
static void
test_semaphore_thread_and_wait(void **state)
{
	struct password_opts	 o;
	pthread_t		 t;
	char			 h[PASSWORD_HASH_MAX];
	void			*res;

	(void)state;
	password_opts_default(&o);
	o.bcrypt_cost = 4;
	o.max_concurrent = 1;
	o.wait_ms = 3000;
	assert_int_equal(password_init(&o), 0);
	assert_int_equal(pthread_create(&t, NULL, hold_slot, NULL), 0);
	/* Give the thread time to take the slot, then queue behind it. */
	usleep(20 * 1000);
	assert_int_equal(password_hash("Waited-For-It-1", h), 0);
	assert_int_equal(pthread_join(t, &res), 0);
	assert_null(res);

	o.wait_ms = 0;
	assert_int_equal(password_init(&o), 0);
	assert_int_equal(pthread_create(&t, NULL, hold_slot, NULL), 0);
	usleep(20 * 1000);
	assert_int_equal(password_hash("No-Waiting-1", h),
	    WS_ERR_UNAVAILABLE);
	assert_int_equal(pthread_join(t, &res), 0);
	assert_null(res);
}

static void
test_not_initialised(void **state)
{
	char	 h[PASSWORD_HASH_MAX];
	int	 ok = -1;

	(void)state;
	password_cleanup();
	assert_int_equal(password_hash("Anything-1", h), WS_ERR_INTERNAL);
	assert_int_equal(password_verify("Anything-1", "$2b$04$x", &ok),
	    WS_ERR_INTERNAL);
	assert_int_equal(password_slot_acquire(), WS_ERR_INTERNAL);
}

static void
test_init_refuses_bad_options(void **state)
{
	struct password_opts	 o;

	(void)state;
	password_opts_default(&o);
	o.bcrypt_cost = 3;
	assert_int_equal(password_init(&o), WS_ERR_INVALID);
	password_opts_default(&o);
	o.bcrypt_cost = 32;
	assert_int_equal(password_init(&o), WS_ERR_INVALID);
	password_opts_default(&o);
	o.argon2_opslimit = 0;
	assert_int_equal(password_init(&o), WS_ERR_INVALID);
	password_opts_default(&o);
	o.argon2_memlimit = 1024;
	assert_int_equal(password_init(&o), WS_ERR_INVALID);
	password_opts_default(&o);
	o.max_concurrent = -1;
	assert_int_equal(password_init(&o), WS_ERR_INVALID);
	password_opts_default(&o);
	o.algo = (enum password_algo)7;
	assert_int_equal(password_init(&o), WS_ERR_INVALID);
}

#define T(f)	cmocka_unit_test_teardown(f, teardown)

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		T(test_defaults),
		T(test_bcrypt_roundtrip),
		T(test_bcrypt_wrong_password),
		T(test_bcrypt_salted),
		T(test_bcrypt_refuses_over_72),
		T(test_bcrypt_long_never_matches),
		T(test_argon2_roundtrip),
		T(test_argon2_long_password_not_truncated),
		T(test_argon2_refuses_over_cap),
		T(test_both_kinds_verify),
		T(test_verify_unknown_format),
		T(test_bcrypt_2y_verifies),
		T(test_needs_rehash_bcrypt_cost),
		T(test_needs_rehash_algo_change),
		T(test_needs_rehash_argon2_params),
		T(test_dummy_verify),
		T(test_dummy_verify_costs_the_same),
		T(test_semaphore_full),
		T(test_semaphore_thread_and_wait),
		T(test_not_initialised),
		T(test_init_refuses_bad_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
