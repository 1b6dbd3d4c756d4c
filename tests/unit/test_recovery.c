/*
 * Unit tests of common/recovery.c: the shape and entropy of new codes,
 * forgiving input, hashing with Argon2id (cheap limits), verifying,
 * finding a code in a set, and the shared hash slots.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "error.h"
#include "password.h"
#include "recovery.h"

static const char	 alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";

static int
setup(void **state)
{
	struct password_opts	 o;

	(void)state;
	password_opts_default(&o);
	o.bcrypt_cost = 4;
	o.max_concurrent = 1;
	if (password_init(&o) != 0)
		return -1;
	return recovery_init(1, (size_t)1024 * 1024);
}

static int
teardown(void **state)
{
	(void)state;
	password_cleanup();
	return recovery_init(0, 0);
}

static void
test_codes_shape(void **state)
{
	char	 c[RECOVERY_CODES][RECOVERY_CODE_LEN + 1];
	size_t	 i, j;

	(void)state;
	assert_int_equal(recovery_codes_new(c), 0);
	for (i = 0; i < RECOVERY_CODES; i++) {
		assert_int_equal(strlen(c[i]), 11);
		assert_int_equal(c[i][5], '-');
		assert_int_equal(strspn(c[i], alphabet), 5);
		assert_int_equal(strspn(c[i] + 6, alphabet), 5);
		for (j = 0; j < i; j++)
			assert_string_not_equal(c[i], c[j]);
	}
}

/*
 * 32 symbols a character, 10 characters: 50 bits.  Over 100 sets every
 * symbol shows up in every position, so none is stuck or missing.
 */
static void
test_codes_use_whole_alphabet(void **state)
{
	char	 c[RECOVERY_CODES][RECOVERY_CODE_LEN + 1];
	int	 seen[RECOVERY_CODE_LEN][32];
	size_t	 i, k, p;
	int	 r;

	(void)state;
	assert_int_equal(sizeof(alphabet) - 1, 32);
	memset(seen, 0, sizeof(seen));
	for (r = 0; r < 100; r++) {
		assert_int_equal(recovery_codes_new(c), 0);
		for (i = 0; i < RECOVERY_CODES; i++)
			for (p = 0; p < RECOVERY_CODE_LEN; p++) {
				if (p == 5)
					continue;
				k = (size_t)(strchr(alphabet, c[i][p]) -
				    alphabet);
				seen[p][k]++;
			}
	}
	for (p = 0; p < RECOVERY_CODE_LEN; p++)
		for (k = 0; p != 5 && k < 32; k++)
			assert_true(seen[p][k] > 0);
}

static void
test_normalize(void **state)
{
	char	 n[RECOVERY_CODE_LEN + 1];

	(void)state;
	assert_int_equal(recovery_normalize("ab3de-fg7hj", n), 0);
	assert_string_equal(n, "ab3de-fg7hj");
	assert_int_equal(recovery_normalize("AB3DEFG7HJ", n), 0);
	assert_string_equal(n, "ab3de-fg7hj");
	assert_int_equal(recovery_normalize(" ab3 de - fg7 hj ", n), 0);
	assert_string_equal(n, "ab3de-fg7hj");
	/* Look-alikes read as the digits they resemble. */
	assert_int_equal(recovery_normalize("Oilab-cdefg", n), 0);
	assert_string_equal(n, "011ab-cdefg");
}

static void
test_normalize_refuses(void **state)
{
	char	 n[RECOVERY_CODE_LEN + 1];

	(void)state;
	assert_int_equal(recovery_normalize("ab3de-fg7h", n),
	    WS_ERR_INVALID);
	assert_int_equal(recovery_normalize("ab3de-fg7hjk", n),
	    WS_ERR_INVALID);
	assert_int_equal(recovery_normalize("ab3de-fg7hu", n),
	    WS_ERR_INVALID);
	assert_int_equal(recovery_normalize("ab3de_fg7hj", n),
	    WS_ERR_INVALID);
	assert_int_equal(recovery_normalize("", n), WS_ERR_INVALID);
	assert_int_equal(recovery_normalize(NULL, n), WS_ERR_INVALID);
	assert_int_equal(recovery_normalize("ab3de-fg7hj"
	    "                                ", n), WS_ERR_INVALID);
	assert_string_equal(n, "");
}

static void
test_hash_is_argon2id_and_salted(void **state)
{
	char	 a[RECOVERY_HASH_MAX], b[RECOVERY_HASH_MAX];

	(void)state;
	assert_int_equal(recovery_hash("ab3de-fg7hj", a), 0);
	assert_int_equal(recovery_hash("ab3de-fg7hj", b), 0);
	assert_memory_equal(a, "$argon2id$", 10);
	assert_string_not_equal(a, b);
	assert_null(strstr(a, "ab3de"));
}

static void
test_verify(void **state)
{
	char	 c[RECOVERY_CODES][RECOVERY_CODE_LEN + 1];
	char	 h[RECOVERY_HASH_MAX];
	char	 typed[RECOVERY_CODE_LEN + 1];
	int	 ok = -1;
	size_t	 i;

	(void)state;
	assert_int_equal(recovery_codes_new(c), 0);
	assert_int_equal(recovery_hash(c[0], h), 0);
	assert_int_equal(recovery_verify(c[0], h, &ok), 0);
	assert_int_equal(ok, 1);
	/* Typed in capitals without the dash, it still matches. */
	for (i = 0; i < 5; i++) {
		typed[i] = (char)(c[0][i] >= 'a' ? c[0][i] - 32 : c[0][i]);
		typed[i + 5] = (char)(c[0][i + 6] >= 'a' ? c[0][i + 6] - 32 :
		    c[0][i + 6]);
	}
	typed[10] = '\0';
	assert_int_equal(recovery_verify(typed, h, &ok), 0);
	assert_int_equal(ok, 1);
	assert_int_equal(recovery_verify(c[1], h, &ok), 0);
	assert_int_equal(ok, 0);
	assert_int_equal(recovery_verify("not a code", h, &ok), 0);
	assert_int_equal(ok, 0);
}

static void
test_find(void **state)
{
	char		 c[RECOVERY_CODES][RECOVERY_CODE_LEN + 1];
	char		 h[3][RECOVERY_HASH_MAX];
	const char	*stored[3];
	size_t		 i, idx = 99;

	(void)state;
	assert_int_equal(recovery_codes_new(c), 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(recovery_hash(c[i], h[i]), 0);
		stored[i] = h[i];
	}
	assert_int_equal(recovery_find(c[2], stored, 3, &idx), 0);
	assert_int_equal(idx, 2);
	assert_int_equal(recovery_find(c[0], stored, 3, &idx), 0);
	assert_int_equal(idx, 0);
	/* Once used and removed from the set, the code no longer works. */
	assert_int_equal(recovery_find(c[0], stored + 1, 2, &idx),
	    WS_ERR_NOTFOUND);
	assert_int_equal(recovery_find(c[5], stored, 3, &idx),
	    WS_ERR_NOTFOUND);
	assert_int_equal(recovery_find("garbage", stored, 3, &idx),
	    WS_ERR_NOTFOUND);
}

static void
test_slots_shared_with_passwords(void **state)
{
	char	 h[RECOVERY_HASH_MAX];
	int	 ok = -1;

	(void)state;
	assert_int_equal(recovery_hash("ab3de-fg7hj", h), 0);
	assert_int_equal(password_slot_acquire(), 0);
	assert_int_equal(recovery_hash("ab3de-fg7hj", h), WS_ERR_UNAVAILABLE);
	assert_string_equal(h, "");
	password_slot_release();
	assert_int_equal(recovery_hash("ab3de-fg7hj", h), 0);
	assert_int_equal(password_slot_acquire(), 0);
	assert_int_equal(recovery_verify("ab3de-fg7hj", h, &ok),
	    WS_ERR_UNAVAILABLE);
	assert_int_equal(ok, 0);
	password_slot_release();
}

static void
test_init_limits(void **state)
{
	(void)state;
	assert_int_equal(recovery_init(0, 1024), WS_ERR_INVALID);
	assert_int_equal(recovery_init(1, 16), WS_ERR_INVALID);
	assert_int_equal(recovery_init(1, (size_t)1024 * 1024), 0);
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		T(test_codes_shape),
		T(test_codes_use_whole_alphabet),
		T(test_normalize),
		T(test_normalize_refuses),
		T(test_hash_is_argon2id_and_salted),
		T(test_verify),
		T(test_find),
		T(test_slots_shared_with_passwords),
		T(test_init_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
