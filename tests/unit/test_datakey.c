/*
 * Unit tests of common/datakey.c: round trips, the ciphertext layout,
 * tampering with each byte, associated data, unknown keys, rotation,
 * and the key file's format and mode.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datakey.h"
#include "error.h"

#define K1	"1 000102030405060708090a0b0c0d0e0f" \
		"101112131415161718191a1b1c1d1e1f\n"
#define K2	"2 f0e1d2c3b4a5968778695a4b3c2d1e0f" \
		"00112233445566778899aabbccddeeff\n"
#define K7	"7 77777777777777777777777777777777" \
		"77777777777777777777777777777777\n"

#define AAD	"users.first_name:6f1c0e4e-8c1b-4e57-9a55-0d0f4a1e2b3c"

/* Writes text to a new temporary file of the given mode; returns its path. */
static char *
keyfile(const char *text, mode_t mode)
{
	char	 tmpl[] = "/tmp/ws-datakey-XXXXXX";
	size_t	 n = strlen(text);
	int	 fd;

	fd = mkstemp(tmpl);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return strdup(tmpl);
}

static struct datakey_ring *
ring(const char *text)
{
	struct datakey_ring	*kr = NULL;
	char			*path;

	path = keyfile(text, 0600);
	assert_int_equal(datakey_ring_load(&kr, path), 0);
	unlink(path);
	free(path);
	return kr;
}

static int
load_rc(const char *text, mode_t mode)
{
	struct datakey_ring	*kr = NULL;
	char			*path;
	int			 rc;

	path = keyfile(text, mode);
	rc = datakey_ring_load(&kr, path);
	if (rc != 0)
		assert_null(kr);
	datakey_ring_free(kr);
	unlink(path);
	free(path);
	return rc;
}

static void
test_round_trip(void **state)
{
	struct datakey_ring	*kr = ring(K1);
	unsigned char		*ct, *pt;
	size_t			 ctlen, ptlen;

	(void)state;
	assert_int_equal(datakey_encrypt(kr, "Alice", 5, AAD, &ct, &ctlen),
	    0);
	assert_int_equal(ctlen, 5 + DATAKEY_OVERHEAD);
	assert_int_equal(ct[0], 1);
	assert_int_equal(ct[1], 1);
	assert_int_equal(datakey_decrypt(kr, ct, ctlen, AAD, &pt, &ptlen),
	    0);
	assert_int_equal(ptlen, 5);
	assert_string_equal((char *)pt, "Alice");
	datakey_plain_free(pt, ptlen);
	free(ct);
	datakey_ring_free(kr);
}

static void
test_empty_plaintext(void **state)
{
	struct datakey_ring	*kr = ring(K1);
	unsigned char		*ct, *pt;
	size_t			 ctlen, ptlen;

	(void)state;
	assert_int_equal(datakey_encrypt(kr, "", 0, AAD, &ct, &ctlen), 0);
	assert_int_equal(ctlen, DATAKEY_OVERHEAD);
	assert_int_equal(datakey_decrypt(kr, ct, ctlen, AAD, &pt, &ptlen),
	    0);
	assert_int_equal(ptlen, 0);
	assert_string_equal((char *)pt, "");
	datakey_plain_free(pt, ptlen);
	free(ct);
	datakey_ring_free(kr);
}

static void
test_fresh_nonce_each_time(void **state)
{
	struct datakey_ring	*kr = ring(K1);
	unsigned char		*a, *b;
	size_t			 alen, blen;

	(void)state;
	assert_int_equal(datakey_encrypt(kr, "Alice", 5, AAD, &a, &alen), 0);
	assert_int_equal(datakey_encrypt(kr, "Alice", 5, AAD, &b, &blen), 0);
	assert_int_equal(alen, blen);
	assert_memory_not_equal(a + 2, b + 2, DATAKEY_NONCE_BYTES);
	assert_memory_not_equal(a + DATAKEY_HEADER_BYTES,
	    b + DATAKEY_HEADER_BYTES, alen - DATAKEY_HEADER_BYTES);
	free(a);
	free(b);
	datakey_ring_free(kr);
}

/* Flipping any bit of any byte (header, nonce, body, tag) is caught. */
static void
test_tamper_every_byte(void **state)
{
	struct datakey_ring	*kr = ring(K1 K2);
	unsigned char		*ct, *pt;
	size_t			 ctlen, ptlen, i;
	int			 bit, rc;

	(void)state;
	assert_int_equal(datakey_encrypt(kr, "Secret name", 11, AAD, &ct,
	    &ctlen), 0);
	for (i = 0; i < ctlen; i++) {
		for (bit = 0; bit < 8; bit++) {
			ct[i] ^= (unsigned char)(1u << bit);
			rc = datakey_decrypt(kr, ct, ctlen, AAD, &pt, &ptlen);
			/* A changed key id may name no key at all. */
			assert_true(rc == WS_ERR_INVALID ||
			    (i == 1 && rc == WS_ERR_NOTFOUND));
			assert_null(pt);
			ct[i] ^= (unsigned char)(1u << bit);
		}
	}
	/* Cut short, or with a byte more. */
	assert_int_equal(datakey_decrypt(kr, ct, ctlen - 1, AAD, &pt,
	    &ptlen), WS_ERR_INVALID);
	assert_int_equal(datakey_decrypt(kr, ct, DATAKEY_OVERHEAD - 1, AAD,
	    &pt, &ptlen), WS_ERR_INVALID);
	ct = realloc(ct, ctlen + 1);
	assert_non_null(ct);
	ct[ctlen] = 0;
	assert_int_equal(datakey_decrypt(kr, ct, ctlen + 1, AAD, &pt,
	    &ptlen), WS_ERR_INVALID);
	/* Unchanged, it still decrypts. */
	assert_int_equal(datakey_decrypt(kr, ct, ctlen, AAD, &pt, &ptlen),
	    0);
	datakey_plain_free(pt, ptlen);
	free(ct);
	datakey_ring_free(kr);
}

/* A ciphertext moved to another row or column does not decrypt. */
static void
test_wrong_aad(void **state)
{
	struct datakey_ring	*kr = ring(K1);
	unsigned char		*ct, *pt = NULL;
	size_t			 ctlen, ptlen;

	(void)state;
	assert_int_equal(datakey_encrypt(kr, "Alice", 5, AAD, &ct, &ctlen),
	    0);
	assert_int_equal(datakey_decrypt(kr, ct, ctlen,
	    "users.last_name:6f1c0e4e-8c1b-4e57-9a55-0d0f4a1e2b3c", &pt,
	    &ptlen), WS_ERR_INVALID);
	assert_int_equal(datakey_decrypt(kr, ct, ctlen,
	    "users.first_name:00000000-0000-0000-0000-000000000000", &pt,
	    &ptlen), WS_ERR_INVALID);
	assert_int_equal(datakey_decrypt(kr, ct, ctlen, "", &pt, &ptlen),
	    WS_ERR_INVALID);
	assert_int_equal(datakey_decrypt(kr, ct, ctlen, NULL, &pt, &ptlen),
	    WS_ERR_INVALID);
	assert_null(pt);
	free(ct);
	datakey_ring_free(kr);
}

static void
test_aad_required(void **state)
{
	struct datakey_ring	*kr = ring(K1);
	unsigned char		*ct;
	size_t			 ctlen;

	(void)state;
	assert_int_equal(datakey_encrypt(kr, "x", 1, NULL, &ct, &ctlen),
	    WS_ERR_INVALID);
	assert_int_equal(datakey_encrypt(kr, "x", 1, "", &ct, &ctlen),
	    WS_ERR_INVALID);
	assert_null(ct);
	datakey_ring_free(kr);
}

static void
test_unknown_key_id(void **state)
{
	struct datakey_ring	*a = ring(K7), *b = ring(K1 K2);
	unsigned char		*ct, *pt = NULL;
	size_t			 ctlen, ptlen;

	(void)state;
	assert_int_equal(datakey_encrypt(a, "Alice", 5, AAD, &ct, &ctlen), 0);
	assert_int_equal(datakey_ciphertext_key_id(ct, ctlen), 7);
	assert_int_equal(datakey_decrypt(b, ct, ctlen, AAD, &pt, &ptlen),
	    WS_ERR_NOTFOUND);
	assert_null(pt);
	free(ct);
	datakey_ring_free(a);
	datakey_ring_free(b);
}

/* The last key encrypts; older ones still decrypt what they wrote. */
static void
test_rotation(void **state)
{
	struct datakey_ring	*old = ring(K1), *both = ring(K1 K2);
	struct datakey_ring	*only_new = ring(K2);
	unsigned char		*c1, *c2, *pt;
	size_t			 c1len, c2len, ptlen;

	(void)state;
	assert_int_equal(datakey_active_id(old), 1);
	assert_int_equal(datakey_active_id(both), 2);
	assert_int_equal(datakey_count(both), 2);
	assert_int_equal(datakey_encrypt(old, "Alice", 5, AAD, &c1, &c1len),
	    0);
	assert_int_equal(datakey_encrypt(both, "Bob", 3, AAD, &c2, &c2len),
	    0);
	assert_int_equal(datakey_ciphertext_key_id(c1, c1len), 1);
	assert_int_equal(datakey_ciphertext_key_id(c2, c2len), 2);
	assert_int_equal(datakey_decrypt(both, c1, c1len, AAD, &pt, &ptlen),
	    0);
	assert_string_equal((char *)pt, "Alice");
	datakey_plain_free(pt, ptlen);
	assert_int_equal(datakey_decrypt(only_new, c2, c2len, AAD, &pt,
	    &ptlen), 0);
	assert_string_equal((char *)pt, "Bob");
	datakey_plain_free(pt, ptlen);
	/* Once the old key is retired, its ciphertexts are unreadable. */
	assert_int_equal(datakey_decrypt(only_new, c1, c1len, AAD, &pt,
	    &ptlen), WS_ERR_NOTFOUND);
	free(c1);
	free(c2);
	datakey_ring_free(old);
	datakey_ring_free(both);
	datakey_ring_free(only_new);
}

/* The order of lines, not the ids, picks the active key. */
static void
test_last_line_is_active(void **state)
{
	struct datakey_ring	*kr = ring(K2 "# retired soon\n\n" K1);

	(void)state;
	assert_int_equal(datakey_active_id(kr), 1);
	assert_int_equal(datakey_next_id(kr), 3);
	datakey_ring_free(kr);
}

static void
test_file_mode(void **state)
{
	(void)state;
	assert_int_equal(load_rc(K1, 0600), 0);
	assert_int_equal(load_rc(K1, 0400), 0);
	assert_int_equal(load_rc(K1, 0640), WS_ERR_INVALID);
	assert_int_equal(load_rc(K1, 0604), WS_ERR_INVALID);
	assert_int_equal(load_rc(K1, 0644), WS_ERR_INVALID);
	assert_int_equal(load_rc(K1, 0620), WS_ERR_INVALID);
}

static void
test_file_missing(void **state)
{
	struct datakey_ring	*kr = NULL;

	(void)state;
	assert_int_equal(datakey_ring_load(&kr, "/nonexistent/ws-keys"),
	    WS_ERR_NOTFOUND);
	assert_null(kr);
	datakey_ring_free(NULL);
}

static void
test_file_malformed(void **state)
{
	(void)state;
	/* No key at all. */
	assert_int_equal(load_rc("", 0600), WS_ERR_INVALID);
	assert_int_equal(load_rc("# only a comment\n", 0600),
	    WS_ERR_INVALID);
	/* One hex digit short, one too many, a non-hex digit. */
	assert_int_equal(load_rc("1 000102030405060708090a0b0c0d0e0f"
	    "101112131415161718191a1b1c1d1e1\n", 0600), WS_ERR_INVALID);
	assert_int_equal(load_rc("1 000102030405060708090a0b0c0d0e0f"
	    "101112131415161718191a1b1c1d1e1f0\n", 0600), WS_ERR_INVALID);
	assert_int_equal(load_rc("1 000102030405060708090a0b0c0d0e0f"
	    "101112131415161718191a1b1c1d1e1g\n", 0600), WS_ERR_INVALID);
	/* Ids out of range, missing, repeated. */
	assert_int_equal(load_rc("0 000102030405060708090a0b0c0d0e0f"
	    "101112131415161718191a1b1c1d1e1f\n", 0600), WS_ERR_INVALID);
	assert_int_equal(load_rc("256 000102030405060708090a0b0c0d0e0f"
	    "101112131415161718191a1b1c1d1e1f\n", 0600), WS_ERR_INVALID);
	assert_int_equal(load_rc("000102030405060708090a0b0c0d0e0f"
	    "101112131415161718191a1b1c1d1e1f\n", 0600), WS_ERR_INVALID);
	assert_int_equal(load_rc(K1 K1, 0600), WS_ERR_INVALID);
	/* CRLF line ends and a missing final newline are fine. */
	assert_int_equal(load_rc("1 000102030405060708090a0b0c0d0e0f"
	    "101112131415161718191a1b1c1d1e1f\r\n" "2 f0e1d2c3b4a596877869"
	    "5a4b3c2d1e0f00112233445566778899aabbccddeeff", 0600), 0);
}

static void
test_text_round_trip(void **state)
{
	struct datakey_ring	*kr = ring(K1);
	char			*b64, *pt = NULL;

	(void)state;
	assert_int_equal(datakey_encrypt_text(kr, "J\xc3\xb8rgen", AAD,
	    &b64), 0);
	assert_int_equal(strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijkl"
	    "mnopqrstuvwxyz0123456789+/="), strlen(b64));
	assert_int_equal(datakey_decrypt_text(kr, b64, AAD, &pt), 0);
	assert_string_equal(pt, "J\xc3\xb8rgen");
	datakey_plain_free(pt, strlen(pt));
	/* A changed character and garbage are both refused. */
	b64[10] = b64[10] == 'A' ? 'B' : 'A';
	assert_int_equal(datakey_decrypt_text(kr, b64, AAD, &pt),
	    WS_ERR_INVALID);
	assert_int_equal(datakey_decrypt_text(kr, "!!not base64!!", AAD,
	    &pt), WS_ERR_INVALID);
	assert_null(pt);
	free(b64);
	datakey_ring_free(kr);
}

static void
test_generate_line(void **state)
{
	struct datakey_ring	*kr;
	char			 line[DATAKEY_LINE_MAX], text[256];
	int			 n;

	(void)state;
	assert_int_equal(datakey_generate_line(0, line, sizeof(line)),
	    WS_ERR_INVALID);
	assert_int_equal(datakey_generate_line(256, line, sizeof(line)),
	    WS_ERR_INVALID);
	assert_int_equal(datakey_generate_line(3, line, 10), WS_ERR_INVALID);
	assert_int_equal(datakey_generate_line(255, line, sizeof(line)), 0);
	assert_int_equal(strlen(line), 4 + 64 + 1);
	assert_memory_equal(line, "255 ", 4);
	assert_int_equal(line[68], '\n');
	/* A generated line appended to a file becomes the active key. */
	n = snprintf(text, sizeof(text), "%s%s", K1, line);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	kr = ring(text);
	assert_int_equal(datakey_active_id(kr), 255);
	assert_int_equal(datakey_next_id(kr), 2);
	datakey_ring_free(kr);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_empty_plaintext),
		cmocka_unit_test(test_fresh_nonce_each_time),
		cmocka_unit_test(test_tamper_every_byte),
		cmocka_unit_test(test_wrong_aad),
		cmocka_unit_test(test_aad_required),
		cmocka_unit_test(test_unknown_key_id),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_last_line_is_active),
		cmocka_unit_test(test_file_mode),
		cmocka_unit_test(test_file_missing),
		cmocka_unit_test(test_file_malformed),
		cmocka_unit_test(test_text_round_trip),
		cmocka_unit_test(test_generate_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
