/* Unit tests of the rule-table validation of request bodies. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "validate.h"

static const struct field_rule	rules[] = {
	{ .name = "username", .type = FIELD_STRING, .required = 1,
	    .min_len = 3, .max_len = 50, .check = validate_username },
	{ .name = "email", .type = FIELD_STRING, .required = 1,
	    .max_len = 254, .check = validate_email },
	{ .name = "first_name", .type = FIELD_STRING, .max_len = 5 },
	{ .name = "theme", .type = FIELD_ENUM, .choices = "light|dark" },
	{ .name = "keep", .type = FIELD_BOOL },
	{ .name = "limit", .type = FIELD_INT, .min = 1, .max = 100 },
};
#define NRULES	(sizeof(rules) / sizeof(rules[0]))

/* Validates text; returns the errors object (caller frees). */
static json_t *
check(const char *text, int *rc)
{
	json_t		*body, *errors;
	json_error_t	 e;

	body = json_loads(text, JSON_ALLOW_NUL, &e);
	assert_non_null(body);
	errors = json_object();
	*rc = validate_body(body, rules, NRULES, errors);
	json_decref(body);
	return errors;
}

static void
test_valid_body(void **state)
{
	json_t	*errors;
	int	 rc;

	(void)state;
	errors = check("{\"username\":\"ann_b-1\",\"email\":\"a@b.io\","
	    "\"theme\":\"dark\",\"keep\":true,\"limit\":5,"
	    "\"first_name\":null}", &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(json_object_size(errors), 0);
	json_decref(errors);
}

static void
test_unknown_field_refused(void **state)
{
	json_t	*errors;
	int	 rc;

	(void)state;
	errors = check("{\"username\":\"ann\",\"email\":\"a@b.io\","
	    "\"role\":\"admin\"}", &rc);
	assert_int_not_equal(rc, 0);
	assert_non_null(json_object_get(errors, "role"));
	json_decref(errors);
}

static void
test_missing_and_wrong_types(void **state)
{
	json_t	*errors;
	int	 rc;

	(void)state;
	errors = check("{\"username\":5,\"keep\":\"yes\",\"limit\":1.5}",
	    &rc);
	assert_int_not_equal(rc, 0);
	assert_non_null(json_object_get(errors, "username"));
	assert_non_null(json_object_get(errors, "email"));
	assert_non_null(json_object_get(errors, "keep"));
	assert_non_null(json_object_get(errors, "limit"));
	json_decref(errors);
}

static void
test_lengths_count_characters(void **state)
{
	json_t	*errors;
	int	 rc;

	(void)state;
	/* Five characters, ten bytes: within a max_len of 5. */
	errors = check("{\"username\":\"ann\",\"email\":\"a@b.io\","
	    "\"first_name\":\"\xc3\xa4\xc3\xb6\xc3\xbc\xc3\xa4\xc3\xb6\"}",
	    &rc);
	assert_int_equal(rc, 0);
	json_decref(errors);
	errors = check("{\"username\":\"ann\",\"email\":\"a@b.io\","
	    "\"first_name\":\"abcdef\"}", &rc);
	assert_int_not_equal(rc, 0);
	assert_non_null(json_object_get(errors, "first_name"));
	json_decref(errors);
}

static void
test_nul_and_control_refused(void **state)
{
	json_t	*errors;
	int	 rc;

	(void)state;
	errors = check("{\"username\":\"ann\","
	    "\"email\":\"a@b.io\\u0000@x.io\"}", &rc);
	assert_int_not_equal(rc, 0);
	assert_non_null(json_object_get(errors, "email"));
	json_decref(errors);
	errors = check("{\"username\":\"ann\",\"email\":\"a@b.io\","
	    "\"first_name\":\"x\\r\\nSet\"}", &rc);
	assert_int_not_equal(rc, 0);
	assert_non_null(json_object_get(errors, "first_name"));
	json_decref(errors);
}

static void
test_enum_and_range(void **state)
{
	json_t	*errors;
	int	 rc;

	(void)state;
	errors = check("{\"username\":\"ann\",\"email\":\"a@b.io\","
	    "\"theme\":\"darker\",\"limit\":101}", &rc);
	assert_int_not_equal(rc, 0);
	assert_non_null(json_object_get(errors, "theme"));
	assert_non_null(json_object_get(errors, "limit"));
	json_decref(errors);
}

static void
test_username_rules(void **state)
{
	(void)state;
	assert_null(validate_username("abc"));
	assert_null(validate_username("A_b-9"));
	assert_non_null(validate_username("ab"));
	assert_non_null(validate_username("a b c"));
	assert_non_null(validate_username("abc'--"));
	assert_non_null(validate_username(
	    "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijk"));
}

static void
test_email_rules(void **state)
{
	static const char *good[] = { "a@b.io", "first.last+tag@ex-ample.com",
	    "x_y@sub.domain.org" };
	static const char *bad[] = { "plain", "a@b", "@b.io", "a@.io",
	    "a@b..io", ".a@b.io", "a.@b.io", "a@b.io;touch canary",
	    "$(id)@x.io", "`id`@x.io", "a@b.io\r\nBcc: c@d.io", "a@@b.io",
	    "a@-b.io", "a b@c.io", "a@b_c.io" };
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_null(validate_email(good[i]));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_non_null(validate_email(bad[i]));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_body),
		cmocka_unit_test(test_unknown_field_refused),
		cmocka_unit_test(test_missing_and_wrong_types),
		cmocka_unit_test(test_lengths_count_characters),
		cmocka_unit_test(test_nul_and_control_refused),
		cmocka_unit_test(test_enum_and_range),
		cmocka_unit_test(test_username_rules),
		cmocka_unit_test(test_email_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
