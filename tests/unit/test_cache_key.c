/*
 * cache_key's output, and the key checks every cache call makes before
 * it could talk to a server: each test uses a cache without servers,
 * so nothing here touches the network.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "buf.h"
#include "cache.h"
#include "error.h"

/* SHA-256 test vectors (FIPS 180-2). */
#define SHA256_ABC \
	"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA256_EMPTY \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static int
setup_none(void **state)
{
	struct cache	*c = NULL;

	assert_int_equal(cache_new(&c, "none", 100, 3, 1000), 0);
	assert_non_null(c);
	*state = c;
	return 0;
}

static int
teardown(void **state)
{
	cache_free(*state);
	return 0;
}

static void
test_key_is_prefix_colon_sha256_hex(void **state)
{
	char	 out[128];

	(void)state;
	cache_key(out, sizeof(out), "lock", "abc");
	assert_string_equal(out, "lock:" SHA256_ABC);
}

static void
test_key_of_empty_input(void **state)
{
	char	 out[128];

	(void)state;
	cache_key(out, sizeof(out), "rl", "");
	assert_string_equal(out, "rl:" SHA256_EMPTY);
}

static void
test_key_fits_exactly_in_documented_size(void **state)
{
	char	 out[4 + 66];

	(void)state;
	cache_key(out, sizeof(out), "sess", "abc");
	assert_string_equal(out, "sess:" SHA256_ABC);
}

static void
test_key_too_small_buffer_gives_empty(void **state)
{
	char	 out[4 + 65];

	(void)state;
	memset(out, 'x', sizeof(out));
	cache_key(out, sizeof(out), "sess", "abc");
	assert_string_equal(out, "");
}

static void
test_key_from_hostile_input_is_safe(void **state)
{
	static const char	*inputs[] = {
		"alice example", "\r\nflush_all\r\n",
		"\r\nset x 0 0 1\r\nA", "\x01\x02\x7f", "caf\xc3\xa9",
	};
	char			 out[128];
	size_t			 i, j;

	(void)state;
	for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		cache_key(out, sizeof(out), "login", inputs[i]);
		assert_int_equal(strlen(out), strlen("login:") + 64);
		for (j = strlen("login:"); out[j] != '\0'; j++)
			assert_true((out[j] >= '0' && out[j] <= '9') ||
			    (out[j] >= 'a' && out[j] <= 'f'));
	}
}

static void
test_same_input_same_key_other_input_other_key(void **state)
{
	char	 a[128], b[128], c[128];

	(void)state;
	cache_key(a, sizeof(a), "u", "alice@example.com");
	cache_key(b, sizeof(b), "u", "alice@example.com");
	cache_key(c, sizeof(c), "u", "Alice@example.com");
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
}

/* Each refused key must be refused by every call that takes a key. */
static void
assert_refused(struct cache *c, const char *key)
{
	struct buf	 b;
	uint64_t	 v = 0;

	buf_init(&b, 0);
	assert_int_equal(cache_get(c, key, &b), WS_ERR_INVALID);
	assert_int_equal(cache_set(c, key, "1", 1, 60), WS_ERR_INVALID);
	assert_int_equal(cache_add(c, key, "1", 1, 60), WS_ERR_INVALID);
	assert_int_equal(cache_delete(c, key), WS_ERR_INVALID);
	assert_int_equal(cache_incr(c, key, 1, 60, &v), WS_ERR_INVALID);
	buf_cleanup(&b);
}

static void
test_key_with_space_is_refused(void **state)
{
	assert_refused(*state, "lock:alice example");
}

static void
test_key_with_crlf_injection_is_refused(void **state)
{
	assert_refused(*state, "x\r\nflush_all\r\n");
	assert_refused(*state, "x\r\nset y 0 0 1\r\nA");
}

static void
test_key_with_control_or_high_bytes_is_refused(void **state)
{
	assert_refused(*state, "a\tb");
	assert_refused(*state, "a\x01");
	assert_refused(*state, "a\x7f");
	assert_refused(*state, "caf\xc3\xa9");
}

static void
test_empty_and_null_keys_are_refused(void **state)
{
	assert_refused(*state, "");
	assert_refused(*state, NULL);
}

static void
test_key_over_250_bytes_is_refused(void **state)
{
	char	 key[252];

	memset(key, 'k', 251);
	key[251] = '\0';
	assert_refused(*state, key);
}

static void
test_valid_key_without_servers_is_unavailable(void **state)
{
	struct buf	 b;
	char		 key[251];
	uint64_t	 v = 0;

	memset(key, 'k', 250);
	key[250] = '\0';
	buf_init(&b, 0);
	assert_int_equal(cache_get(*state, key, &b), WS_ERR_UNAVAILABLE);
	assert_int_equal(cache_set(*state, "ok:1", "1", 1, 60),
	    WS_ERR_UNAVAILABLE);
	assert_int_equal(cache_incr(*state, "ok:1", 1, 60, &v),
	    WS_ERR_UNAVAILABLE);
	assert_int_equal(cache_ping(*state, NULL), WS_ERR_UNAVAILABLE);
	buf_cleanup(&b);
}

static void
test_null_and_empty_server_lists_mean_no_cache(void **state)
{
	struct cache	*c = NULL;

	(void)state;
	assert_int_equal(cache_new(&c, NULL, 100, 3, 1000), 0);
	assert_int_equal(cache_delete(c, "k"), WS_ERR_UNAVAILABLE);
	assert_int_equal(cache_delete(c, "bad key"), WS_ERR_INVALID);
	cache_free(c);
	assert_int_equal(cache_new(&c, "", 100, 3, 1000), 0);
	assert_int_equal(cache_delete(c, "k"), WS_ERR_UNAVAILABLE);
	cache_free(c);
	cache_free(NULL);
}

static void
test_malformed_server_lists_are_refused(void **state)
{
	static const char	*bad[] = {
		"127.0.0.1:notaport", "127.0.0.1:0", "127.0.0.1:70000",
		"127.0.0.1:", ",,", " , ", "[::1", "[::1]x", "::1:11211",
	};
	struct cache		*c;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = (struct cache *)1;
		assert_int_equal(cache_new(&c, bad[i], 100, 3, 1000),
		    WS_ERR_INVALID);
		assert_null(c);
	}
}

static void
test_well_formed_server_list_is_accepted_offline(void **state)
{
	struct cache	*c = NULL;

	(void)state;
	/* Creating the cache opens no connection, so none must listen. */
	assert_int_equal(cache_new(&c, "127.0.0.1:1, [::1]:11211,"
	    "localhost,/nonexistent/memcached.sock", 100, 3, 1000), 0);
	assert_non_null(c);
	cache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_is_prefix_colon_sha256_hex),
		cmocka_unit_test(test_key_of_empty_input),
		cmocka_unit_test(test_key_fits_exactly_in_documented_size),
		cmocka_unit_test(test_key_too_small_buffer_gives_empty),
		cmocka_unit_test(test_key_from_hostile_input_is_safe),
		cmocka_unit_test(
		    test_same_input_same_key_other_input_other_key),
#define T(f)	cmocka_unit_test_setup_teardown(f, setup_none, teardown)
		T(test_key_with_space_is_refused),
		T(test_key_with_crlf_injection_is_refused),
		T(test_key_with_control_or_high_bytes_is_refused),
		T(test_empty_and_null_keys_are_refused),
		T(test_key_over_250_bytes_is_refused),
		T(test_valid_key_without_servers_is_unavailable),
#undef T
		cmocka_unit_test(
		    test_null_and_empty_server_lists_mean_no_cache),
		cmocka_unit_test(test_malformed_server_lists_are_refused),
		cmocka_unit_test(
		    test_well_formed_server_list_is_accepted_offline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
