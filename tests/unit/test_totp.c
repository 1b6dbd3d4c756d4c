/*
 * Unit tests of common/totp.c against the published vectors: RFC 4226
 * appendix D (HOTP, 6 digits), RFC 6238 appendix B (TOTP, SHA-1,
 * 8 digits) and RFC 4648 section 10 (base32); then the drift window,
 * replay refusal and the otpauth URI.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "totp.h"

/* The RFC test key "12345678901234567890" and its base32 form. */
static const unsigned char	 rfc_key[] = "12345678901234567890";
#define RFC_KEY_LEN	20
#define RFC_SECRET	"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

static void
test_hotp_rfc4226(void **state)
{
	static const uint32_t	 want[] = {
		755224, 287082, 359152, 969429, 338314,
		254676, 287922, 162583, 399871, 520489
	};
	uint32_t		 code;
	uint64_t		 i;

	(void)state;
	for (i = 0; i < 10; i++) {
		assert_int_equal(totp_hotp(rfc_key, RFC_KEY_LEN, i, 6, &code),
		    0);
		assert_int_equal(code, want[i]);
	}
}

static void
test_totp_rfc6238_sha1_8_digits(void **state)
{
	static const struct {
		long long	 t;
		uint32_t	 code;
	} v[] = {
		{ 59LL, 94287082 },
		{ 1111111109LL, 7081804 },
		{ 1111111111LL, 14050471 },
		{ 1234567890LL, 89005924 },
		{ 2000000000LL, 69279037 },
		{ 20000000000LL, 65353130 },
	};
	uint32_t	 code;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(totp_hotp(rfc_key, RFC_KEY_LEN,
		    (uint64_t)totp_step((time_t)v[i].t), 8, &code), 0);
		assert_int_equal(code, v[i].code);
	}
}

/* The same vectors cut to 6 digits, zero-padded, from base32. */
static void
test_totp_code_6_digits(void **state)
{
	char	 code[TOTP_DIGITS + 1];

	(void)state;
	assert_int_equal(totp_code(RFC_SECRET, totp_step(59), code), 0);
	assert_string_equal(code, "287082");
	assert_int_equal(totp_code(RFC_SECRET, totp_step(1111111109),
	    code), 0);
	assert_string_equal(code, "081804");
	assert_int_equal(totp_code(RFC_SECRET, totp_step(1234567890),
	    code), 0);
	assert_string_equal(code, "005924");
	/* The secret may come in lowercase. */
	assert_int_equal(totp_code("gezdgnbvgy3tqojqgezdgnbvgy3tqojq",
	    totp_step(59), code), 0);
	assert_string_equal(code, "287082");
}

static void
test_hotp_refuses_bad_arguments(void **state)
{
	uint32_t	 code;

	(void)state;
	assert_int_equal(totp_hotp(rfc_key, RFC_KEY_LEN, 0, 5, &code),
	    WS_ERR_INVALID);
	assert_int_equal(totp_hotp(rfc_key, RFC_KEY_LEN, 0, 9, &code),
	    WS_ERR_INVALID);
	assert_int_equal(totp_hotp(rfc_key, 0, 0, 6, &code),
	    WS_ERR_INVALID);
	assert_int_equal(totp_hotp(rfc_key, TOTP_KEY_MAX + 1, 0, 6, &code),
	    WS_ERR_INVALID);
}

static void
test_base32_rfc4648(void **state)
{
	static const struct {
		const char	*plain;
		const char	*enc;
	} v[] = {
		{ "", "" }, { "f", "MY" }, { "fo", "MZXQ" },
		{ "foo", "MZXW6" }, { "foob", "MZXW6YQ" },
		{ "fooba", "MZXW6YTB" }, { "foobar", "MZXW6YTBOI" },
	};
	unsigned char	 dec[16];
	char		 enc[32];
	size_t		 i, n;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(totp_base32_encode((const unsigned char *)
		    v[i].plain, strlen(v[i].plain), enc, sizeof(enc)), 0);
		assert_string_equal(enc, v[i].enc);
		assert_int_equal(totp_base32_decode(v[i].enc, dec,
		    sizeof(dec), &n), 0);
		assert_int_equal(n, strlen(v[i].plain));
		assert_memory_equal(dec, v[i].plain, n);
	}
	/* Padded forms decode too. */
	assert_int_equal(totp_base32_decode("MZXW6YTBOI======", dec,
	    sizeof(dec), &n), 0);
	assert_int_equal(n, 6);
	assert_memory_equal(dec, "foobar", 6);
}

static void
test_base32_round_trip(void **state)
{
	unsigned char	 raw[64], back[64];
	char		 enc[128];
	size_t		 len, n, i;

	(void)state;
	for (len = 0; len <= sizeof(raw); len++) {
		for (i = 0; i < len; i++)
			raw[i] = (unsigned char)(i * 37 + len);
		assert_int_equal(totp_base32_encode(raw, len, enc,
		    sizeof(enc)), 0);
		assert_int_equal(strlen(enc), (len * 8 + 4) / 5);
		assert_int_equal(totp_base32_decode(enc, back, sizeof(back),
		    &n), 0);
		assert_int_equal(n, len);
		assert_memory_equal(back, raw, len);
	}
}

static void
test_base32_refuses_bad_input(void **state)
{
	unsigned char	 dec[32];
	char		 enc[8];
	size_t		 n;

	(void)state;
	assert_int_equal(totp_base32_decode("MZXW1", dec, sizeof(dec), &n),
	    WS_ERR_INVALID);
	assert_int_equal(totp_base32_decode("MZ XW", dec, sizeof(dec), &n),
	    WS_ERR_INVALID);
	/* 1, 3 and 6 trailing characters encode no whole byte. */
	assert_int_equal(totp_base32_decode("M", dec, sizeof(dec), &n),
	    WS_ERR_INVALID);
	assert_int_equal(totp_base32_decode("MZX", dec, sizeof(dec), &n),
	    WS_ERR_INVALID);
	assert_int_equal(totp_base32_decode("MZXW6Y", dec, sizeof(dec), &n),
	    WS_ERR_INVALID);
	/* "MZ" is "f"; "M3" has non-zero unused bits. */
	assert_int_equal(totp_base32_decode("M3", dec, sizeof(dec), &n),
	    WS_ERR_INVALID);
	assert_int_equal(totp_base32_decode(RFC_SECRET, dec, 10, &n),
	    WS_ERR_TOOBIG);
	assert_int_equal(totp_base32_encode(rfc_key, RFC_KEY_LEN, enc,
	    sizeof(enc)), WS_ERR_TOOBIG);
}

static void
test_secret_new(void **state)
{
	char		 s[200][TOTP_SECRET_B32_LEN + 1];
	unsigned char	 raw[TOTP_KEY_MAX];
	size_t		 i, j, n;

	(void)state;
	for (i = 0; i < 200; i++) {
		assert_int_equal(totp_secret_new(s[i]), 0);
		assert_int_equal(strlen(s[i]), 32);
		assert_int_equal(totp_base32_decode(s[i], raw, sizeof(raw),
		    &n), 0);
		assert_int_equal(n, 20);
		for (j = 0; j < i; j++)
			assert_string_not_equal(s[i], s[j]);
	}
}

/* A fixed clock in the middle of a step. */
#define NOW	((time_t)1700000015)

static void
code_at(int64_t step, char out[TOTP_DIGITS + 1])
{
	assert_int_equal(totp_code(RFC_SECRET, step, out), 0);
}

static void
test_verify_current_step(void **state)
{
	char	 c[TOTP_DIGITS + 1];
	int64_t	 m = 0;

	(void)state;
	code_at(totp_step(NOW), c);
	assert_int_equal(totp_verify(RFC_SECRET, c, NOW, 0, &m), 0);
	assert_true(m == totp_step(NOW));
}

static void
test_verify_drift_one_step(void **state)
{
	char	 c[TOTP_DIGITS + 1];
	int64_t	 m = 0, s = totp_step(NOW);

	(void)state;
	code_at(s - 1, c);
	assert_int_equal(totp_verify(RFC_SECRET, c, NOW, 0, &m), 0);
	assert_true(m == s - 1);
	code_at(s + 1, c);
	assert_int_equal(totp_verify(RFC_SECRET, c, NOW, 0, &m), 0);
	assert_true(m == s + 1);
}

static void
test_verify_two_steps_away_fails(void **state)
{
	char	 c[TOTP_DIGITS + 1];
	int64_t	 m = 0, s = totp_step(NOW);

	(void)state;
	code_at(s - 2, c);
	assert_int_equal(totp_verify(RFC_SECRET, c, NOW, 0, &m),
	    WS_ERR_INVALID);
	assert_true(m == -1);
	code_at(s + 2, c);
	assert_int_equal(totp_verify(RFC_SECRET, c, NOW, 0, &m),
	    WS_ERR_INVALID);
}

static void
test_verify_step_reuse_refused(void **state)
{
	char	 c[TOTP_DIGITS + 1];
	int64_t	 m = 0, s = totp_step(NOW);

	(void)state;
	code_at(s, c);
	assert_int_equal(totp_verify(RFC_SECRET, c, NOW, 0, &m), 0);
	/* The same code again, with the step stored as used. */
	assert_int_equal(totp_verify(RFC_SECRET, c, NOW, m, &m),
	    WS_ERR_CONFLICT);
	/* Still refused ten seconds later, inside the drift window. */
	assert_int_equal(totp_verify(RFC_SECRET, c, NOW + 10, s, &m),
	    WS_ERR_CONFLICT);
}

/* After a step was used, an older step's code is refused too. */
static void
test_verify_older_step_after_newer(void **state)
{
	char	 c[TOTP_DIGITS + 1];
	int64_t	 m = 0, s = totp_step(NOW);

	(void)state;
	code_at(s - 1, c);
	assert_int_equal(totp_verify(RFC_SECRET, c, NOW, s, &m),
	    WS_ERR_CONFLICT);
	code_at(s + 1, c);
	assert_int_equal(totp_verify(RFC_SECRET, c, NOW, s, &m), 0);
	assert_true(m == s + 1);
}

static void
test_verify_malformed_codes(void **state)
{
	static const char * const	 bad[] = {
		"", "12345", "1234567", "12345a", " 12345", "123456 ",
		"12 345", "-12345",
		"\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93", NULL
	};
	int64_t				 m = 0;
	size_t				 i;

	(void)state;
	for (i = 0; bad[i] != NULL; i++)
		assert_int_equal(totp_verify(RFC_SECRET, bad[i], NOW, 0, &m),
		    WS_ERR_INVALID);
	assert_int_equal(totp_verify(RFC_SECRET, NULL, NOW, 0, &m),
	    WS_ERR_INVALID);
}

static void
test_verify_wrong_code(void **state)
{
	char	 c[TOTP_DIGITS + 1];
	int64_t	 m = 0;

	(void)state;
	code_at(totp_step(NOW), c);
	c[5] = c[5] == '9' ? '0' : (char)(c[5] + 1);
	assert_int_equal(totp_verify(RFC_SECRET, c, NOW, 0, &m),
	    WS_ERR_INVALID);
}

static void
test_verify_bad_secret(void **state)
{
	int64_t	 m = 0;

	(void)state;
	assert_int_equal(totp_verify("not base32!", "123456", NOW, 0, &m),
	    WS_ERR_INTERNAL);
	assert_int_equal(totp_verify("", "123456", NOW, 0, &m),
	    WS_ERR_INTERNAL);
}

static void
test_uri(void **state)
{
	struct buf	 b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(totp_uri(&b, "WebSands Dev", "alice+x@example.com",
	    RFC_SECRET), 0);
	assert_string_equal(buf_str(&b), "otpauth://totp/WebSands%20Dev:"
	    "alice%2Bx%40example.com?secret=" RFC_SECRET
	    "&issuer=WebSands%20Dev&algorithm=SHA1&digits=6&period=30");
	buf_cleanup(&b);
}

static void
test_uri_encodes_utf8_and_reserved(void **state)
{
	struct buf	 b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(totp_uri(&b, "Caf\xc3\xa9&Co", "j\xc3\xb8rn/?#",
	    RFC_SECRET), 0);
	assert_non_null(strstr(buf_str(&b),
	    "totp/Caf%C3%A9%26Co:j%C3%B8rn%2F%3F%23?secret="));
	buf_cleanup(&b);
}

static void
test_uri_refuses_bad_labels(void **state)
{
	struct buf	 b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(totp_uri(&b, "Web:Sands", "alice", RFC_SECRET),
	    WS_ERR_INVALID);
	assert_int_equal(totp_uri(&b, "WebSands", "ali:ce", RFC_SECRET),
	    WS_ERR_INVALID);
	assert_int_equal(totp_uri(&b, "", "alice", RFC_SECRET),
	    WS_ERR_INVALID);
	assert_int_equal(totp_uri(&b, "WebSands", "al\nice", RFC_SECRET),
	    WS_ERR_INVALID);
	assert_int_equal(totp_uri(&b, "WebSands", "alice",
	    "GEZD&issuer=Evil"), WS_ERR_INVALID);
	assert_int_equal(b.len, 0);
	buf_cleanup(&b);
}

/* A failed append leaves what the buffer held before. */
static void
test_uri_too_big_leaves_buffer(void **state)
{
	struct buf	 b;

	(void)state;
	buf_init(&b, 40);
	assert_int_equal(buf_puts(&b, "keep"), 0);
	assert_int_equal(totp_uri(&b, "WebSands", "alice", RFC_SECRET),
	    WS_ERR_TOOBIG);
	assert_string_equal(buf_str(&b), "keep");
	buf_cleanup(&b);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_hotp_rfc4226),
		cmocka_unit_test(test_totp_rfc6238_sha1_8_digits),
		cmocka_unit_test(test_totp_code_6_digits),
		cmocka_unit_test(test_hotp_refuses_bad_arguments),
		cmocka_unit_test(test_base32_rfc4648),
		cmocka_unit_test(test_base32_round_trip),
		cmocka_unit_test(test_base32_refuses_bad_input),
		cmocka_unit_test(test_secret_new),
		cmocka_unit_test(test_verify_current_step),
		cmocka_unit_test(test_verify_drift_one_step),
		cmocka_unit_test(test_verify_two_steps_away_fails),
		cmocka_unit_test(test_verify_step_reuse_refused),
		cmocka_unit_test(test_verify_older_step_after_newer),
		cmocka_unit_test(test_verify_malformed_codes),
		cmocka_unit_test(test_verify_wrong_code),
		cmocka_unit_test(test_verify_bad_secret),
		cmocka_unit_test(test_uri),
		cmocka_unit_test(test_uri_encodes_utf8_and_reserved),
		cmocka_unit_test(test_uri_refuses_bad_labels),
		cmocka_unit_test(test_uri_too_big_leaves_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
