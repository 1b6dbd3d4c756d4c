/*
 * Unit tests of common/token.c: shape and uniqueness of new tokens,
 * the stored hash against known SHA-256 values, and comparisons.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "token.h"

#define SAMPLES	1000

static int
cmp_str(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static void
test_new_shape(void **state)
{
	char	 t[TOKEN_LEN + 1];
	size_t	 n;

	(void)state;
	assert_int_equal(token_new(t), 0);
	n = strlen(t);
	assert_int_equal(n, 43);
	assert_int_equal(strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_"), n);
	assert_int_equal(token_valid(t), 1);
}

/* 1000 tokens are all distinct (ASVS 7.2.3 samples the same way). */
static void
test_new_unique(void **state)
{
	char	(*t)[TOKEN_LEN + 1];
	size_t	 i;

	(void)state;
	t = calloc(SAMPLES, sizeof(*t));
	assert_non_null(t);
	for (i = 0; i < SAMPLES; i++)
		assert_int_equal(token_new(t[i]), 0);
	qsort(t, SAMPLES, sizeof(*t), cmp_str);
	for (i = 1; i < SAMPLES; i++)
		assert_string_not_equal(t[i - 1], t[i]);
	free(t);
}

static void
test_valid_refuses_garbage(void **state)
{
	char	 t[TOKEN_LEN + 2];

	(void)state;
	assert_int_equal(token_valid(NULL), 0);
	assert_int_equal(token_valid(""), 0);
	assert_int_equal(token_new(t), 0);
	/* One character short, one too many. */
	t[42] = '\0';
	assert_int_equal(token_valid(t), 0);
	assert_int_equal(token_new(t), 0);
	t[43] = 'A';
	t[44] = '\0';
	assert_int_equal(token_valid(t), 0);
	/* Standard base64 characters and padding are not base64url. */
	assert_int_equal(token_new(t), 0);
	t[5] = '+';
	assert_int_equal(token_valid(t), 0);
	assert_int_equal(token_new(t), 0);
	t[5] = '/';
	assert_int_equal(token_valid(t), 0);
	assert_int_equal(token_new(t), 0);
	t[42] = '=';
	assert_int_equal(token_valid(t), 0);
	/* The last character carries 4 bits; 'B' sets an unused one. */
	memset(t, 'A', 42);
	t[42] = 'B';
	t[43] = '\0';
	assert_int_equal(token_valid(t), 0);
	t[42] = 'E';
	assert_int_equal(token_valid(t), 1);
}

/* SHA-256 of "" and of "abc" (FIPS 180-2 examples). */
static void
test_hash_known_values(void **state)
{
	char		 hex[TOKEN_HASH_HEX_LEN + 1];
	unsigned char	 raw[TOKEN_HASH_BYTES];

	(void)state;
	token_hash_hex("", hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	token_hash_hex("abc", hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	token_hash("abc", raw);
	assert_int_equal(raw[0], 0xba);
	assert_int_equal(raw[31], 0xad);
}

static void
test_hash_differs_per_token(void **state)
{
	char	 a[TOKEN_LEN + 1], b[TOKEN_LEN + 1];
	char	 ha[TOKEN_HASH_HEX_LEN + 1], hb[TOKEN_HASH_HEX_LEN + 1];

	(void)state;
	assert_int_equal(token_new(a), 0);
	memcpy(b, a, sizeof(b));
	b[0] = b[0] == 'A' ? 'B' : 'A';
	token_hash_hex(a, ha);
	token_hash_hex(b, hb);
	assert_string_not_equal(ha, hb);
	assert_int_equal(strlen(ha), 64);
}

static void
test_equal(void **state)
{
	char	 a[TOKEN_LEN + 1], b[TOKEN_LEN + 1];

	(void)state;
	assert_int_equal(token_new(a), 0);
	memcpy(b, a, sizeof(b));
	assert_int_equal(token_equal(a, b), 1);
	b[42] = b[42] == 'A' ? 'E' : 'A';
	assert_int_equal(token_equal(a, b), 0);
	assert_int_equal(token_equal(a, "short"), 0);
	assert_int_equal(token_equal("", ""), 1);
	assert_int_equal(token_equal(a, NULL), 0);
	assert_int_equal(token_equal(NULL, NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_new_shape),
		cmocka_unit_test(test_new_unique),
		cmocka_unit_test(test_valid_refuses_garbage),
		cmocka_unit_test(test_hash_known_values),
		cmocka_unit_test(test_hash_differs_per_token),
		cmocka_unit_test(test_equal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
