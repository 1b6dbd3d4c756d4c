/*
 * Unit tests of common/b64url.c: the RFC 4648 vectors in the URL-safe
 * alphabet, and the strictness that keeps one value from having two
 * spellings (padding, whitespace, foreign characters, dangling or
 * non-zero bits), plus the size checks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "b64url.h"
#include "error.h"

struct vector {
	const char	*plain;
	const char	*coded;
};

/* RFC 4648 section 10, without the padding. */
static const struct vector vectors[] = {
	{ "", "" },
	{ "f", "Zg" },
	{ "fo", "Zm8" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg" },
	{ "fooba", "Zm9vYmE" },
	{ "foobar", "Zm9vYmFy" },
};
#define NVECTORS	(sizeof(vectors) / sizeof(vectors[0]))

/* Decodes s (its strlen) into a scratch buffer; returns the error. */
static int
decode_str(const char *s)
{
	unsigned char	 out[64];
	size_t		 n = 99;
	int		 rc;

	rc = b64url_decode(s, strlen(s), out, sizeof(out), &n);
	if (rc != 0)
		assert_int_equal(n, 0);
	return rc;
}

static void
test_encode_rfc4648_vectors(void **state)
{
	char	 out[32];
	size_t	 i;

	(void)state;
	for (i = 0; i < NVECTORS; i++) {
		assert_int_equal(b64url_encode(vectors[i].plain,
		    strlen(vectors[i].plain), out, sizeof(out)), 0);
		assert_string_equal(out, vectors[i].coded);
	}
}

static void
test_decode_rfc4648_vectors(void **state)
{
	unsigned char	 out[32];
	size_t		 i, n;

	(void)state;
	for (i = 0; i < NVECTORS; i++) {
		assert_int_equal(b64url_decode(vectors[i].coded,
		    strlen(vectors[i].coded), out, sizeof(out), &n), 0);
		assert_int_equal(n, strlen(vectors[i].plain));
		assert_memory_equal(out, vectors[i].plain, n);
	}
}

static void
test_url_alphabet_used(void **state)
{
	static const unsigned char in[] = { 0xfb, 0xff, 0xbf };
	char	 out[8];

	(void)state;
	/* Standard base64 would give "+/+/". */
	assert_int_equal(b64url_encode(in, sizeof(in), out, sizeof(out)), 0);
	assert_string_equal(out, "-_-_");
}

static void
test_round_trip_all_lengths(void **state)
{
	unsigned char	 in[200], back[200];
	char		 coded[300];
	size_t		 len, n, i;

	(void)state;
	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 37 + 11);
	for (len = 0; len <= sizeof(in); len++) {
		assert_int_equal(b64url_encode(in, len, coded,
		    sizeof(coded)), 0);
		assert_int_equal(strlen(coded), b64url_encoded_len(len));
		assert_int_equal(b64url_decode(coded, strlen(coded), back,
		    sizeof(back), &n), 0);
		assert_int_equal(n, len);
		assert_memory_equal(back, in, len);
	}
}

static void
test_padding_refused(void **state)
{
	(void)state;
	assert_int_equal(decode_str("Zg=="), WS_ERR_INVALID);
	assert_int_equal(decode_str("Zm8="), WS_ERR_INVALID);
	assert_int_equal(decode_str("Zg="), WS_ERR_INVALID);
	assert_int_equal(decode_str("Zm9v===="), WS_ERR_INVALID);
	assert_int_equal(decode_str("="), WS_ERR_INVALID);
}

static void
test_whitespace_refused(void **state)
{
	(void)state;
	assert_int_equal(decode_str("Zm9v\n"), WS_ERR_INVALID);
	assert_int_equal(decode_str(" Zm9v"), WS_ERR_INVALID);
	assert_int_equal(decode_str("Zm 9v"), WS_ERR_INVALID);
	assert_int_equal(decode_str("Zm9v\r\nYg"), WS_ERR_INVALID);
	assert_int_equal(decode_str("Zm9\tv"), WS_ERR_INVALID);
}

static void
test_standard_alphabet_refused(void **state)
{
	(void)state;
	assert_int_equal(decode_str("+/+/"), WS_ERR_INVALID);
	assert_int_equal(decode_str("ab+c"), WS_ERR_INVALID);
	assert_int_equal(decode_str("ab/c"), WS_ERR_INVALID);
	assert_int_equal(decode_str("ab.c"), WS_ERR_INVALID);
	assert_int_equal(decode_str("ab\xc3\xa9"), WS_ERR_INVALID);
}

static void
test_only_alphabet_accepted(void **state)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char	 out[8];
	char		 s[5] = "abcA";
	size_t		 n;
	int		 c, want;

	(void)state;
	/*
	 * Every byte value in a position with no unused bits; libsodium
	 * 1.0.18 alone would decode each of 0x80..0xff as a digit.
	 */
	for (c = 0; c <= 0xff; c++) {
		s[2] = (char)c;
		want = c != 0 && strchr(alphabet, c) != NULL ? 0 :
		    WS_ERR_INVALID;
		assert_int_equal(b64url_decode(s, 4, out, sizeof(out), &n),
		    want);
	}
}

static void
test_embedded_nul_refused(void **state)
{
	unsigned char	 out[8];
	size_t		 n;

	(void)state;
	assert_int_equal(b64url_decode("Zm\0v", 4, out, sizeof(out), &n),
	    WS_ERR_INVALID);
	assert_int_equal(b64url_decode("Zm9v\0", 5, out, sizeof(out), &n),
	    WS_ERR_INVALID);
}

static void
test_dangling_character_refused(void **state)
{
	(void)state;
	/* 4k+1 characters: 6 bits that make no byte. */
	assert_int_equal(decode_str("Z"), WS_ERR_INVALID);
	assert_int_equal(decode_str("Zm9vY"), WS_ERR_INVALID);
	assert_int_equal(b64url_decoded_len(5), SIZE_MAX);
}

static void
test_noncanonical_trailing_bits_refused(void **state)
{
	(void)state;
	/* "Zg" is "f"; "Zh".."Zv" carry the same byte with stray bits. */
	assert_int_equal(decode_str("Zg"), 0);
	assert_int_equal(decode_str("Zh"), WS_ERR_INVALID);
	assert_int_equal(decode_str("Zv"), WS_ERR_INVALID);
	assert_int_equal(decode_str("Zm8"), 0);
	assert_int_equal(decode_str("Zm9"), WS_ERR_INVALID);
	assert_int_equal(decode_str("Zm-"), WS_ERR_INVALID);
}

static void
test_encode_small_buffer_refused(void **state)
{
	char	 out[4] = "xyz";

	(void)state;
	/* "foo" needs 4 characters and a NUL. */
	assert_int_equal(b64url_encode("foo", 3, out, sizeof(out)),
	    WS_ERR_TOOBIG);
	assert_string_equal(out, "");
	assert_int_equal(b64url_encode("foo", 3, out, 0), WS_ERR_TOOBIG);
}

static void
test_decode_small_buffer_refused(void **state)
{
	unsigned char	 out[5];
	size_t		 n = 7;

	(void)state;
	assert_int_equal(b64url_decode("Zm9vYmFy", 8, out, sizeof(out), &n),
	    WS_ERR_TOOBIG);
	assert_int_equal(n, 0);
	assert_int_equal(b64url_decode("Zm9vYmE", 7, out, sizeof(out), &n),
	    0);
	assert_int_equal(n, 5);
}

static void
test_lengths_and_overflow(void **state)
{
	(void)state;
	assert_int_equal(b64url_encoded_len(0), 0);
	assert_int_equal(b64url_encoded_len(1), 2);
	assert_int_equal(b64url_encoded_len(2), 3);
	assert_int_equal(b64url_encoded_len(3), 4);
	assert_int_equal(b64url_encoded_len(16), 22);
	assert_int_equal(b64url_encoded_len(384), 512);
	assert_int_equal(b64url_decoded_len(22), 16);
	assert_int_equal(b64url_decoded_len(512), 384);
	assert_true(b64url_encoded_len(SIZE_MAX) == SIZE_MAX);
	assert_true(b64url_encoded_len(B64URL_MAX_INPUT + 1) == SIZE_MAX);
	assert_true(b64url_decoded_len(SIZE_MAX - 3) == SIZE_MAX);
}

static void
test_huge_lengths_refused_without_reading(void **state)
{
	unsigned char	 out[4];
	char		*s = NULL;
	size_t		 n;

	(void)state;
	/* Neither call may touch the (absent) input of that size. */
	assert_int_equal(b64url_decode("Zm9v", SIZE_MAX - 2, out,
	    sizeof(out), &n), WS_ERR_TOOBIG);
	assert_int_equal(b64url_encode_alloc("x", SIZE_MAX / 2, &s),
	    WS_ERR_TOOBIG);
	assert_null(s);
}

static void
test_alloc_variants(void **state)
{
	unsigned char	*p = NULL;
	char		*s = NULL;
	size_t		 n;

	(void)state;
	assert_int_equal(b64url_encode_alloc("fooba", 5, &s), 0);
	assert_string_equal(s, "Zm9vYmE");
	assert_int_equal(b64url_decode_alloc(s, strlen(s), &p, &n), 0);
	assert_int_equal(n, 5);
	/* Decoded text comes NUL-terminated for the JSON parser. */
	assert_string_equal((char *)p, "fooba");
	free(p);
	p = NULL;
	assert_int_equal(b64url_decode_alloc("Zm9v=", 5, &p, &n),
	    WS_ERR_INVALID);
	assert_null(p);
	assert_int_equal(n, 0);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_rfc4648_vectors),
		cmocka_unit_test(test_decode_rfc4648_vectors),
		cmocka_unit_test(test_url_alphabet_used),
		cmocka_unit_test(test_round_trip_all_lengths),
		cmocka_unit_test(test_padding_refused),
		cmocka_unit_test(test_whitespace_refused),
		cmocka_unit_test(test_standard_alphabet_refused),
		cmocka_unit_test(test_only_alphabet_accepted),
		cmocka_unit_test(test_embedded_nul_refused),
		cmocka_unit_test(test_dangling_character_refused),
		cmocka_unit_test(test_noncanonical_trailing_bits_refused),
		cmocka_unit_test(test_encode_small_buffer_refused),
		cmocka_unit_test(test_decode_small_buffer_refused),
		cmocka_unit_test(test_lengths_and_overflow),
		cmocka_unit_test(test_huge_lengths_refused_without_reading),
		cmocka_unit_test(test_alloc_variants),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
