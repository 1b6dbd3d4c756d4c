/*
 * The circuit breaker's state machine, driven by an explicit clock
 * through breaker_allow_at and breaker_failure_at, plus one check on
 * the real monotonic clock.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>

#include "breaker.h"

#define THRESHOLD	3
#define OPEN_MS		1000

static int
setup(void **state)
{
	static struct breaker	 b;

	breaker_init(&b, "test", THRESHOLD, OPEN_MS);
	*state = &b;
	return 0;
}

static int
teardown(void **state)
{
	breaker_cleanup(*state);
	return 0;
}

/* Fails b threshold times at time t, which opens it. */
static void
trip(struct breaker *b, long long t)
{
	int	 i;

	for (i = 0; i < THRESHOLD; i++)
		breaker_failure_at(b, t);
	assert_int_equal(breaker_get_state(b), BREAKER_OPEN);
}

static void
test_new_breaker_is_closed_and_allows(void **state)
{
	struct breaker	*b = *state;

	assert_int_equal(breaker_get_state(b), BREAKER_CLOSED);
	assert_int_equal(breaker_allow_at(b, 0), 1);
	assert_int_equal(breaker_allow_at(b, 0), 1);
}

static void
test_failures_below_threshold_keep_it_closed(void **state)
{
	struct breaker	*b = *state;
	int		 i;

	for (i = 0; i < THRESHOLD - 1; i++)
		breaker_failure_at(b, 100);
	assert_int_equal(breaker_get_state(b), BREAKER_CLOSED);
	assert_int_equal(breaker_allow_at(b, 100), 1);
}

static void
test_threshold_failures_open_it(void **state)
{
	struct breaker	*b = *state;

	trip(b, 100);
	assert_int_equal(breaker_allow_at(b, 100), 0);
}

static void
test_success_resets_the_count(void **state)
{
	struct breaker	*b = *state;
	int		 i;

	for (i = 0; i < THRESHOLD - 1; i++)
		breaker_failure_at(b, 100);
	breaker_success(b);
	for (i = 0; i < THRESHOLD - 1; i++)
		breaker_failure_at(b, 200);
	assert_int_equal(breaker_get_state(b), BREAKER_CLOSED);
}

static void
test_open_refuses_until_open_ms_passed(void **state)
{
	struct breaker	*b = *state;

	trip(b, 1000);
	assert_int_equal(breaker_allow_at(b, 1001), 0);
	assert_int_equal(breaker_allow_at(b, 1000 + OPEN_MS - 1), 0);
	assert_int_equal(breaker_get_state(b), BREAKER_OPEN);
}

static void
test_after_open_ms_exactly_one_probe_passes(void **state)
{
	struct breaker	*b = *state;

	trip(b, 1000);
	assert_int_equal(breaker_allow_at(b, 1000 + OPEN_MS), 1);
	assert_int_equal(breaker_get_state(b), BREAKER_HALF_OPEN);
	assert_int_equal(breaker_allow_at(b, 1000 + OPEN_MS + 1), 0);
	assert_int_equal(breaker_allow_at(b, 1000 + OPEN_MS + 500), 0);
}

static void
test_probe_success_closes_it(void **state)
{
	struct breaker	*b = *state;

	trip(b, 1000);
	assert_int_equal(breaker_allow_at(b, 1000 + OPEN_MS), 1);
	breaker_success(b);
	assert_int_equal(breaker_get_state(b), BREAKER_CLOSED);
	assert_int_equal(breaker_allow_at(b, 1000 + OPEN_MS + 1), 1);
	assert_int_equal(breaker_allow_at(b, 1000 + OPEN_MS + 2), 1);
}

static void
test_probe_failure_reopens_for_a_full_period(void **state)
{
	struct breaker	*b = *state;
	long long	 t = 1000 + OPEN_MS;

	trip(b, 1000);
	assert_int_equal(breaker_allow_at(b, t), 1);
	/* One failure is enough in half-open, whatever the threshold. */
	breaker_failure_at(b, t + 300);
	assert_int_equal(breaker_get_state(b), BREAKER_OPEN);
	assert_int_equal(breaker_allow_at(b, t + 300 + OPEN_MS - 1), 0);
	assert_int_equal(breaker_allow_at(b, t + 300 + OPEN_MS), 1);
	assert_int_equal(breaker_get_state(b), BREAKER_HALF_OPEN);
}

static void
test_probe_that_never_reports_is_replaced(void **state)
{
	struct breaker	*b = *state;
	long long	 t = 1000 + OPEN_MS;

	trip(b, 1000);
	assert_int_equal(breaker_allow_at(b, t), 1);
	assert_int_equal(breaker_allow_at(b, t + OPEN_MS - 1), 0);
	assert_int_equal(breaker_allow_at(b, t + OPEN_MS), 1);
	assert_int_equal(breaker_allow_at(b, t + OPEN_MS + 1), 0);
}

static void
test_late_failures_do_not_extend_the_open_period(void **state)
{
	struct breaker	*b = *state;

	trip(b, 1000);
	/* Calls that began before it opened report afterwards. */
	breaker_failure_at(b, 1500);
	breaker_failure_at(b, 1900);
	assert_int_equal(breaker_allow_at(b, 1000 + OPEN_MS), 1);
}

static void
test_threshold_below_one_means_one(void **state)
{
	struct breaker	 b;

	(void)state;
	breaker_init(&b, "zero", 0, 10);
	breaker_failure_at(&b, 5);
	assert_int_equal(breaker_get_state(&b), BREAKER_OPEN);
	assert_int_equal(breaker_allow_at(&b, 6), 0);
	assert_int_equal(breaker_allow_at(&b, 15), 1);
	breaker_cleanup(&b);
}

static void
test_state_names(void **state)
{
	(void)state;
	assert_string_equal(breaker_state_name(BREAKER_CLOSED), "closed");
	assert_string_equal(breaker_state_name(BREAKER_OPEN), "open");
	assert_string_equal(breaker_state_name(BREAKER_HALF_OPEN),
	    "half_open");
	assert_string_equal(breaker_state_name((enum breaker_state)42),
	    "unknown");
}

static void
test_real_clock_open_then_probe(void **state)
{
	struct breaker	 b;
	struct timespec	 ts = { 0, 80 * 1000 * 1000 };

	(void)state;
	breaker_init(&b, "clock", 1, 50);
	assert_int_equal(breaker_allow(&b), 1);
	breaker_failure(&b);
	assert_int_equal(breaker_allow(&b), 0);
	nanosleep(&ts, NULL);
	assert_int_equal(breaker_allow(&b), 1);
	assert_int_equal(breaker_allow(&b), 0);
	breaker_success(&b);
	assert_int_equal(breaker_allow(&b), 1);
	breaker_cleanup(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_new_breaker_is_closed_and_allows),
		T(test_failures_below_threshold_keep_it_closed),
		T(test_threshold_failures_open_it),
		T(test_success_resets_the_count),
		T(test_open_refuses_until_open_ms_passed),
		T(test_after_open_ms_exactly_one_probe_passes),
		T(test_probe_success_closes_it),
		T(test_probe_failure_reopens_for_a_full_period),
		T(test_probe_that_never_reports_is_replaced),
		T(test_late_failures_do_not_extend_the_open_period),
#undef T
		cmocka_unit_test(test_threshold_below_one_means_one),
		cmocka_unit_test(test_state_names),
		cmocka_unit_test(test_real_clock_open_then_probe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
