/*
 * Unit tests of common/keyring.c in a temporary KEYS_DIR: the files a
 * new key is written to, what loading refuses (open private keys,
 * missing or mismatched metadata, weak keys), rotation (the old key
 * verifies until its retirement, the new one signs) and the JWKS.
 * Most keys are EC or Ed25519, which are quick to make; RSA only where
 * RSA itself is tested.
 */
/* For nftw, which cleans up the temporary directory. */
#define _GNU_SOURCE

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "b64url.h"
#include "error.h"
#include "jwt.h"
#include "keyring.h"
#include "log.h"

static char	 base[64];
static int	 ndirs;

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

/* A new empty key directory, mode 0700, under the test's base dir. */
static const char *
new_dir(char *out, size_t len)
{
	int	 n;

	n = snprintf(out, len, "%s/d%d", base, ndirs++);
	assert_true(n > 0 && (size_t)n < len);
	assert_int_equal(mkdir(out, 0700), 0);
	return out;
}

static void
path_of(char *out, size_t len, const char *dir, const char *kid,
    const char *ext)
{
	int	 n = snprintf(out, len, "%s/%s%s", dir, kid, ext);

	assert_true(n > 0 && (size_t)n < len);
}

static void
write_text(const char *path, const char *text, mode_t mode)
{
	FILE	*f;

	unlink(path);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* Rewrites the metadata of kid with the given dates (0: null). */
static void
write_meta(const char *dir, const char *kid, const char *alg,
    long long created, long long retire)
{
	char	 path[256], text[256], rbuf[32];

	if (retire != 0)
		snprintf(rbuf, sizeof(rbuf), "%lld", retire);
	else
		snprintf(rbuf, sizeof(rbuf), "null");
	snprintf(text, sizeof(text), "{\"kid\":\"%s\",\"alg\":\"%s\","
	    "\"created_at\":%lld,\"retire_at\":%s}\n", kid, alg, created,
	    rbuf);
	path_of(path, sizeof(path), dir, kid, ".json");
	write_text(path, text, 0644);
}

static void
gen(const char *dir, enum keyring_alg alg, char *kid)
{
	assert_int_equal(keyring_generate(dir, alg, kid), 0);
	assert_true(keyring_kid_valid(kid, strlen(kid)));
}

static struct keyring *
load_ok(const char *dir)
{
	struct keyring	*kr = NULL;

	assert_int_equal(keyring_load(dir, &kr), 0);
	assert_non_null(kr);
	return kr;
}

static void
load_refused(const char *dir, int want)
{
	struct keyring	*kr = (struct keyring *)(uintptr_t)1;

	assert_int_equal(keyring_load(dir, &kr), want);
	assert_null(kr);
}

static size_t
count_entries(const char *dir)
{
	struct dirent	*de;
	DIR		*d;
	size_t		 n = 0;

	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* Signs a token with the ring's signer whose exp is far away. */
static char *
sign_long(const struct keyring *kr, long long now)
{
	json_t	*c;
	char	*tok = NULL;

	c = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I}",
	    "iss", "https://ws.test", "aud", "websands", "sub", "u1",
	    "sid", "s1", "jti", "j1", "iat", (json_int_t)now,
	    "nbf", (json_int_t)now, "exp", (json_int_t)(now + 100000));
	assert_non_null(c);
	assert_int_equal(jwt_sign(kr, c, JWT_TYP_ACCESS, &tok), 0);
	json_decref(c);
	return tok;
}

static int
verify_at(const struct keyring *kr, const char *tok, long long now)
{
	struct jwt_expect e = {
		.issuer = "https://ws.test", .audience = "websands",
		.typ = JWT_TYP_ACCESS, .leeway = 60, .now = now
	};

	return jwt_verify(kr, tok, &e, NULL);
}

/* The JWK of kid in a JWKS document, or NULL. */
static json_t *
jwk_of(json_t *jwks, const char *kid)
{
	json_t	*k;
	size_t	 i;

	json_array_foreach(json_object_get(jwks, "keys"), i, k)
		if (strcmp(json_string_value(json_object_get(k, "kid")),
		    kid) == 0)
			return k;
	return NULL;
}

/* The decoded length of a base64url member of a JWK, -1 if invalid. */
static long
jwk_member_len(json_t *jwk, const char *name, unsigned char *out,
    size_t outsize)
{
	const char	*s = json_string_value(json_object_get(jwk, name));
	size_t		 n;

	if (s == NULL || b64url_decode(s, strlen(s), out, outsize, &n) != 0)
		return -1;
	return (long)n;
}

static void
assert_no_private_members(json_t *jwk)
{
	static const char *const priv[] = { "d", "p", "q", "dp", "dq",
	    "qi", "oth", "k" };
	size_t	 i;

	for (i = 0; i < sizeof(priv) / sizeof(priv[0]); i++)
		assert_null(json_object_get(jwk, priv[i]));
}

static void
test_generate_writes_pem_0600_and_json(void **state)
{
	char		 dir[128], kid[KEYRING_KID_SIZE], path[256];
	struct stat	 st;

	(void)state;
	gen(new_dir(dir, sizeof(dir)), KEYRING_ES256, kid);
	path_of(path, sizeof(path), dir, kid, ".pem");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	path_of(path, sizeof(path), dir, kid, ".json");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 022, 0);
	/* The two files and no temporary left behind. */
	assert_int_equal(count_entries(dir), 2);
}

static void
test_generate_json_contents(void **state)
{
	char		 dir[128], kid[KEYRING_KID_SIZE], path[256];
	long long	 t0, t1, created;
	json_error_t	 jerr;
	json_t		*o;

	(void)state;
	t0 = time(NULL);
	gen(new_dir(dir, sizeof(dir)), KEYRING_EDDSA, kid);
	t1 = time(NULL);
	path_of(path, sizeof(path), dir, kid, ".json");
	assert_non_null(o = json_load_file(path, JSON_REJECT_DUPLICATES,
	    &jerr));
	assert_string_equal(json_string_value(json_object_get(o, "kid")),
	    kid);
	assert_string_equal(json_string_value(json_object_get(o, "alg")),
	    "EdDSA");
	created = json_integer_value(json_object_get(o, "created_at"));
	assert_true(created >= t0 && created <= t1);
	assert_true(json_is_null(json_object_get(o, "retire_at")));
	assert_int_equal(json_object_size(o), 4);
	json_decref(o);
}

static void
test_generate_missing_dir_refused(void **state)
{
	char	 dir[160], kid[KEYRING_KID_SIZE];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/no/such/dir", base);
	assert_int_equal(keyring_generate(dir, KEYRING_ES256, kid),
	    WS_ERR_NOTFOUND);
	load_refused(dir, WS_ERR_NOTFOUND);
}

static void
test_load_empty_dir_has_no_signer(void **state)
{
	struct keyring	*kr;
	char		 dir[128];

	(void)state;
	kr = load_ok(new_dir(dir, sizeof(dir)));
	assert_int_equal(keyring_count(kr), 0);
	assert_null(keyring_signer(kr));
	keyring_free(kr);
}

static void
test_load_refuses_world_readable_pem(void **state)
{
	char	 dir[128], kid[KEYRING_KID_SIZE], path[256];

	(void)state;
	gen(new_dir(dir, sizeof(dir)), KEYRING_ES256, kid);
	path_of(path, sizeof(path), dir, kid, ".pem");
	assert_int_equal(chmod(path, 0644), 0);
	load_refused(dir, WS_ERR_INVALID);
}

static void
test_load_refuses_group_readable_pem(void **state)
{
	char	 dir[128], kid[KEYRING_KID_SIZE], path[256];

	(void)state;
	gen(new_dir(dir, sizeof(dir)), KEYRING_ES256, kid);
	path_of(path, sizeof(path), dir, kid, ".pem");
	assert_int_equal(chmod(path, 0640), 0);
	load_refused(dir, WS_ERR_INVALID);
}

static void
test_load_accepts_pem_0400(void **state)
{
	struct keyring	*kr;
	char		 dir[128], kid[KEYRING_KID_SIZE], path[256];

	(void)state;
	gen(new_dir(dir, sizeof(dir)), KEYRING_ES256, kid);
	path_of(path, sizeof(path), dir, kid, ".pem");
	assert_int_equal(chmod(path, 0400), 0);
	kr = load_ok(dir);
	assert_int_equal(keyring_count(kr), 1);
	assert_string_equal(keyring_key_kid(keyring_signer(kr)), kid);
	keyring_free(kr);
}

static void
test_load_refuses_pem_without_json(void **state)
{
	char	 dir[128], kid[KEYRING_KID_SIZE], path[256];

	(void)state;
	gen(new_dir(dir, sizeof(dir)), KEYRING_ES256, kid);
	path_of(path, sizeof(path), dir, kid, ".json");
	assert_int_equal(unlink(path), 0);
	load_refused(dir, WS_ERR_INVALID);
}

static void
test_load_refuses_json_of_another_kid(void **state)
{
	char	 dir[128], kid[KEYRING_KID_SIZE], path[256];
	char	 text[200];

	(void)state;
	gen(new_dir(dir, sizeof(dir)), KEYRING_ES256, kid);
	path_of(path, sizeof(path), dir, kid, ".json");
	snprintf(text, sizeof(text), "{\"kid\":\"AAAAAAAAAAAAAAAAAAAAAA\","
	    "\"alg\":\"ES256\",\"created_at\":1700000000,"
	    "\"retire_at\":null}");
	write_text(path, text, 0644);
	load_refused(dir, WS_ERR_INVALID);
}

static void
test_load_refuses_alg_the_key_cannot_do(void **state)
{
	char		 dir[128], kid[KEYRING_KID_SIZE];

	(void)state;
	gen(new_dir(dir, sizeof(dir)), KEYRING_ES256, kid);
	/* A P-256 key claimed to be Ed25519, then RSA. */
	write_meta(dir, kid, "EdDSA", 1700000000, 0);
	load_refused(dir, WS_ERR_INVALID);
	write_meta(dir, kid, "RS256", 1700000000, 0);
	load_refused(dir, WS_ERR_INVALID);
	write_meta(dir, kid, "ES256", 1700000000, 0);
	keyring_free(load_ok(dir));
}

static void
test_load_refuses_unknown_alg_in_json(void **state)
{
	char		 dir[128], kid[KEYRING_KID_SIZE];

	(void)state;
	gen(new_dir(dir, sizeof(dir)), KEYRING_EDDSA, kid);
	write_meta(dir, kid, "HS256", 1700000000, 0);
	load_refused(dir, WS_ERR_INVALID);
	write_meta(dir, kid, "none", 1700000000, 0);
	load_refused(dir, WS_ERR_INVALID);
	write_meta(dir, kid, "eddsa", 1700000000, 0);
	load_refused(dir, WS_ERR_INVALID);
}

static void
test_load_refuses_malformed_json(void **state)
{
	char	 dir[128], kid[KEYRING_KID_SIZE], path[256], text[256];

	(void)state;
	gen(new_dir(dir, sizeof(dir)), KEYRING_EDDSA, kid);
	path_of(path, sizeof(path), dir, kid, ".json");
	snprintf(text, sizeof(text), "{\"kid\":\"%s\",\"alg\":\"EdDSA\","
	    "\"alg\":\"EdDSA\",\"created_at\":1,\"retire_at\":null}", kid);
	write_text(path, text, 0644);
	load_refused(dir, WS_ERR_INVALID);
	snprintf(text, sizeof(text), "{\"kid\":\"%s\",\"alg\":\"EdDSA\","
	    "\"created_at\":\"1\",\"retire_at\":null}", kid);
	write_text(path, text, 0644);
	load_refused(dir, WS_ERR_INVALID);
	snprintf(text, sizeof(text), "{\"kid\":\"%s\",\"alg\":\"EdDSA\","
	    "\"created_at\":1,\"retire_at\":null,\"x\":1}", kid);
	write_text(path, text, 0644);
	load_refused(dir, WS_ERR_INVALID);
	snprintf(text, sizeof(text), "{\"kid\":\"%s\",\"alg\":\"EdDSA\","
	    "\"created_at\":1}", kid);
	write_text(path, text, 0644);
	load_refused(dir, WS_ERR_INVALID);
}

static void
test_load_refuses_writable_json(void **state)
{
	char	 dir[128], kid[KEYRING_KID_SIZE], path[256];

	(void)state;
	gen(new_dir(dir, sizeof(dir)), KEYRING_EDDSA, kid);
	path_of(path, sizeof(path), dir, kid, ".json");
	assert_int_equal(chmod(path, 0666), 0);
	load_refused(dir, WS_ERR_INVALID);
}

static void
test_load_refuses_fifo_as_key(void **state)
{
	char	 dir[128], path[256];
	const char *kid = "AAAAAAAAAAAAAAAAAAAAAA";

	(void)state;
	new_dir(dir, sizeof(dir));
	write_meta(dir, kid, "EdDSA", 1700000000, 0);
	path_of(path, sizeof(path), dir, kid, ".pem");
	assert_int_equal(mkfifo(path, 0600), 0);
	/* Must fail at once rather than wait for a writer. */
	load_refused(dir, WS_ERR_INVALID);
}

static void
test_load_refuses_rsa_2048(void **state)
{
	char		 dir[128], path[256];
	const char	*kid = "BBBBBBBBBBBBBBBBBBBBBA";
	EVP_PKEY	*pk;
	FILE		*f;

	(void)state;
	new_dir(dir, sizeof(dir));
	assert_non_null(pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
	    (size_t)2048));
	path_of(path, sizeof(path), dir, kid, ".pem");
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL,
	    NULL), 1);
	fclose(f);
	EVP_PKEY_free(pk);
	write_meta(dir, kid, "RS256", 1700000000, 0);
	load_refused(dir, WS_ERR_INVALID);
}

static void
test_load_skips_unrelated_files(void **state)
{
	struct keyring	*kr;
	char		 dir[128], kid[KEYRING_KID_SIZE], path[256];

	(void)state;
	gen(new_dir(dir, sizeof(dir)), KEYRING_EDDSA, kid);
	snprintf(path, sizeof(path), "%s/README", dir);
	write_text(path, "keys live here\n", 0644);
	snprintf(path, sizeof(path), "%s/.%s.pem.tmp", dir, kid);
	write_text(path, "half a key", 0600);
	snprintf(path, sizeof(path), "%s/notakid.pem", dir);
	write_text(path, "junk", 0600);
	kr = load_ok(dir);
	assert_int_equal(keyring_count(kr), 1);
	keyring_free(kr);
}

static void
test_alg_names_are_exact(void **state)
{
	static const char *const bad[] = { "rs256", "none", "None", "HS256",
	    "RS512", "EDDSA", "ES256 ", "", "Ed25519" };
	enum keyring_alg a;
	size_t		 i;

	(void)state;
	assert_int_equal(keyring_alg_parse("RS256", &a), 0);
	assert_int_equal(a, KEYRING_RS256);
	assert_int_equal(keyring_alg_parse("PS256", &a), 0);
	assert_int_equal(a, KEYRING_PS256);
	assert_int_equal(keyring_alg_parse("ES256", &a), 0);
	assert_int_equal(a, KEYRING_ES256);
	assert_int_equal(keyring_alg_parse("EdDSA", &a), 0);
	assert_int_equal(a, KEYRING_EDDSA);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(keyring_alg_parse(bad[i], &a),
		    WS_ERR_INVALID);
	assert_int_equal(keyring_alg_parse(NULL, &a), WS_ERR_INVALID);
	assert_null(keyring_alg_name((enum keyring_alg)99));
}

static void
test_kid_form(void **state)
{
	(void)state;
	assert_true(keyring_kid_valid("AAAAAAAAAAAAAAAAAAAAAA", 22));
	assert_true(keyring_kid_valid("abcdefghijklmnopqrs-_w", 22));
	assert_false(keyring_kid_valid("AAAAAAAAAAAAAAAAAAAAA", 21));
	assert_false(keyring_kid_valid("AAAAAAAAAAAAAAAAAAAAAAA", 23));
	/* The last character may only carry 2 bits: 'B' sets a spare one. */
	assert_false(keyring_kid_valid("AAAAAAAAAAAAAAAAAAAAAB", 22));
	assert_false(keyring_kid_valid("AAAAAAAAAAAAAAAAAAAA==", 22));
	assert_false(keyring_kid_valid("../../../../etc/passwd", 22));
	assert_false(keyring_kid_valid(NULL, 22));
}

static void
test_signer_is_newest_active_key(void **state)
{
	struct keyring	*kr;
	char		 dir[128], old[KEYRING_KID_SIZE];
	char		 young[KEYRING_KID_SIZE];
	long long	 now = time(NULL);

	(void)state;
	new_dir(dir, sizeof(dir));
	gen(dir, KEYRING_EDDSA, old);
	gen(dir, KEYRING_ES256, young);
	write_meta(dir, old, "EdDSA", now - 1000, 0);
	write_meta(dir, young, "ES256", now - 10, 0);
	kr = load_ok(dir);
	assert_string_equal(keyring_key_kid(keyring_signer(kr)), young);
	keyring_free(kr);
	/* The newer one scheduled to retire: the older active one signs. */
	write_meta(dir, young, "ES256", now - 10, now + 500);
	kr = load_ok(dir);
	assert_string_equal(keyring_key_kid(keyring_signer(kr)), old);
	keyring_free(kr);
}

static void
test_no_signer_when_every_key_retires(void **state)
{
	struct keyring	*kr;
	char		 dir[128], kid[KEYRING_KID_SIZE], *tok = NULL;
	long long	 now = time(NULL);
	json_t		*c;

	(void)state;
	gen(new_dir(dir, sizeof(dir)), KEYRING_EDDSA, kid);
	write_meta(dir, kid, "EdDSA", now - 10, now + 500);
	kr = load_ok(dir);
	assert_null(keyring_signer(kr));
	/* It still verifies until its date. */
	assert_non_null(keyring_find(kr, kid, strlen(kid), now));
	assert_null(keyring_find(kr, kid, strlen(kid), now + 500));
	assert_non_null(c = json_pack("{s:s}", "sub", "u1"));
	assert_int_equal(jwt_sign(kr, c, JWT_TYP_ACCESS, &tok),
	    WS_ERR_UNAVAILABLE);
	assert_null(tok);
	json_decref(c);
	keyring_free(kr);
}

static void
test_rotate_new_key_signs(void **state)
{
	struct keyring		*kr;
	struct keyring_info	 ki;
	char			 dir[128], a[KEYRING_KID_SIZE];
	char			 b[KEYRING_KID_SIZE];
	long long		 t0 = time(NULL), t1;
	size_t			 i;

	(void)state;
	gen(new_dir(dir, sizeof(dir)), KEYRING_ES256, a);
	assert_int_equal(keyring_rotate(dir, KEYRING_EDDSA, 600, b), 0);
	t1 = time(NULL);
	assert_string_not_equal(a, b);
	kr = load_ok(dir);
	assert_int_equal(keyring_count(kr), 2);
	assert_string_equal(keyring_key_kid(keyring_signer(kr)), b);
	assert_int_equal(keyring_key_alg(keyring_signer(kr)), KEYRING_EDDSA);
	for (i = 0; i < 2; i++) {
		assert_int_equal(keyring_info(kr, i, 0, &ki), 0);
		if (strcmp(ki.kid, a) == 0) {
			assert_int_equal(ki.state, KEYRING_VERIFYING);
			assert_true(ki.retire_at >= t0 + 600 &&
			    ki.retire_at <= t1 + 600);
		} else {
			assert_int_equal(ki.state, KEYRING_SIGNING);
			assert_int_equal(ki.retire_at, 0);
		}
	}
	assert_int_equal(keyring_info(kr, 2, 0, &ki), WS_ERR_NOTFOUND);
	keyring_free(kr);
}

static void
test_rotate_old_key_still_verifies(void **state)
{
	struct keyring	*before, *after;
	char		 dir[128], a[KEYRING_KID_SIZE], b[KEYRING_KID_SIZE];
	char		*old_tok, *new_tok;
	long long	 now;

	(void)state;
	gen(new_dir(dir, sizeof(dir)), KEYRING_ES256, a);
	before = load_ok(dir);
	now = time(NULL);
	old_tok = sign_long(before, now);
	assert_int_equal(keyring_rotate(dir, KEYRING_ES256, 100, b), 0);
	after = load_ok(dir);
	new_tok = sign_long(after, now);
	assert_int_equal(verify_at(after, old_tok, now + 50), 0);
	assert_int_equal(verify_at(after, new_tok, now + 50), 0);
	free(old_tok);
	free(new_tok);
	keyring_free(before);
	keyring_free(after);
}

static void
test_rotate_retired_key_no_longer_verifies(void **state)
{
	struct keyring	*before, *after;
	char		 dir[128], a[KEYRING_KID_SIZE], b[KEYRING_KID_SIZE];
	char		*old_tok, *new_tok;
	long long	 now;

	(void)state;
	gen(new_dir(dir, sizeof(dir)), KEYRING_EDDSA, a);
	before = load_ok(dir);
	now = time(NULL);
	old_tok = sign_long(before, now);
	assert_int_equal(keyring_rotate(dir, KEYRING_EDDSA, 100, b), 0);
	after = load_ok(dir);
	new_tok = sign_long(after, now);
	/* Both tokens are far from expiry; only the key's date differs. */
	assert_int_equal(verify_at(after, old_tok, now + 102),
	    WS_ERR_INVALID);
	assert_int_equal(verify_at(after, new_tok, now + 102), 0);
	free(old_tok);
	free(new_tok);
	keyring_free(before);
	keyring_free(after);
}

static void
test_rotate_grace_zero_retires_at_once(void **state)
{
	struct keyring		*kr;
	struct keyring_info	 ki;
	char			 dir[128], a[KEYRING_KID_SIZE];
	char			 b[KEYRING_KID_SIZE];
	size_t			 i;

	(void)state;
	gen(new_dir(dir, sizeof(dir)), KEYRING_EDDSA, a);
	assert_int_equal(keyring_rotate(dir, KEYRING_EDDSA, 0, b), 0);
	kr = load_ok(dir);
	assert_null(keyring_find(kr, a, strlen(a), 0));
	assert_non_null(keyring_find(kr, b, strlen(b), 0));
	for (i = 0; i < keyring_count(kr); i++) {
		assert_int_equal(keyring_info(kr, i, 0, &ki), 0);
		assert_int_equal(ki.state, strcmp(ki.kid, a) == 0 ?
		    KEYRING_RETIRED : KEYRING_SIGNING);
	}
	keyring_free(kr);
}

static void
test_rotate_keeps_an_earlier_retirement(void **state)
{
	struct keyring		*kr;
	struct keyring_info	 ki;
	char			 dir[128], a[KEYRING_KID_SIZE];
	char			 b[KEYRING_KID_SIZE];
	long long		 now = time(NULL);
	size_t			 i;

	(void)state;
	gen(new_dir(dir, sizeof(dir)), KEYRING_EDDSA, a);
	write_meta(dir, a, "EdDSA", now - 100, now + 30);
	assert_int_equal(keyring_rotate(dir, KEYRING_EDDSA, 900, b), 0);
	kr = load_ok(dir);
	for (i = 0; i < keyring_count(kr); i++) {
		assert_int_equal(keyring_info(kr, i, 0, &ki), 0);
		if (strcmp(ki.kid, a) == 0)
			assert_int_equal(ki.retire_at, now + 30);
	}
	keyring_free(kr);
}

static void
test_rotate_refuses_broken_dir_untouched(void **state)
{
	char	 dir[128], a[KEYRING_KID_SIZE], b[KEYRING_KID_SIZE];
	char	 path[256];

	(void)state;
	gen(new_dir(dir, sizeof(dir)), KEYRING_EDDSA, a);
	path_of(path, sizeof(path), dir, a, ".pem");
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(keyring_rotate(dir, KEYRING_EDDSA, 900, b),
	    WS_ERR_INVALID);
	assert_int_equal(count_entries(dir), 2);
	assert_int_equal(keyring_rotate(dir, KEYRING_EDDSA, -1, b),
	    WS_ERR_INVALID);
}

static void
test_jwks_lists_only_verifying_keys(void **state)
{
	struct keyring	*kr;
	char		 dir[128], c[KEYRING_KID_SIZE], a[KEYRING_KID_SIZE];
	char		 b[KEYRING_KID_SIZE];
	json_t		*jwks;

	(void)state;
	gen(new_dir(dir, sizeof(dir)), KEYRING_EDDSA, c);
	assert_int_equal(keyring_rotate(dir, KEYRING_ES256, 0, a), 0);
	assert_int_equal(keyring_rotate(dir, KEYRING_EDDSA, 600, b), 0);
	kr = load_ok(dir);
	assert_int_equal(keyring_count(kr), 3);
	assert_non_null(jwks = keyring_jwks(kr));
	assert_int_equal(json_object_size(jwks), 1);
	assert_int_equal(json_array_size(json_object_get(jwks, "keys")), 2);
	assert_non_null(jwk_of(jwks, a));
	assert_non_null(jwk_of(jwks, b));
	assert_null(jwk_of(jwks, c));
	json_decref(jwks);
	keyring_free(kr);
}

static void
test_jwks_rsa_modulus_is_3072_bits(void **state)
{
	struct keyring	*kr;
	char		 dir[128], kid[KEYRING_KID_SIZE];
	unsigned char	 n[600];
	json_t		*jwks, *k;

	(void)state;
	gen(new_dir(dir, sizeof(dir)), KEYRING_RS256, kid);
	kr = load_ok(dir);
	assert_non_null(jwks = keyring_jwks(kr));
	assert_non_null(k = jwk_of(jwks, kid));
	assert_string_equal(json_string_value(json_object_get(k, "kty")),
	    "RSA");
	assert_string_equal(json_string_value(json_object_get(k, "alg")),
	    "RS256");
	assert_string_equal(json_string_value(json_object_get(k, "use")),
	    "sig");
	assert_string_equal(json_string_value(json_object_get(k, "e")),
	    "AQAB");
	/* 384 bytes with the top bit set: exactly 3072 bits. */
	assert_int_equal(jwk_member_len(k, "n", n, sizeof(n)), 384);
	assert_true(n[0] & 0x80);
	assert_no_private_members(k);
	json_decref(jwks);
	keyring_free(kr);
}

static void
test_jwks_ec_key_is_p256(void **state)
{
	struct keyring	*kr;
	char		 dir[128], kid[KEYRING_KID_SIZE];
	unsigned char	 buf[64];
	json_t		*jwks, *k;

	(void)state;
	gen(new_dir(dir, sizeof(dir)), KEYRING_ES256, kid);
	kr = load_ok(dir);
	assert_non_null(jwks = keyring_jwks(kr));
	assert_non_null(k = jwk_of(jwks, kid));
	assert_string_equal(json_string_value(json_object_get(k, "kty")),
	    "EC");
	assert_string_equal(json_string_value(json_object_get(k, "crv")),
	    "P-256");
	assert_string_equal(json_string_value(json_object_get(k, "alg")),
	    "ES256");
	assert_int_equal(jwk_member_len(k, "x", buf, sizeof(buf)), 32);
	assert_int_equal(jwk_member_len(k, "y", buf, sizeof(buf)), 32);
	assert_no_private_members(k);
	json_decref(jwks);
	keyring_free(kr);
}

static void
test_jwks_okp_key_is_the_public_ed25519(void **state)
{
	struct keyring	*kr;
	char		 dir[128], kid[KEYRING_KID_SIZE], path[256];
	unsigned char	 x[64], raw[32];
	size_t		 rawlen = sizeof(raw);
	json_t		*jwks, *k;
	EVP_PKEY	*pk;
	FILE		*f;

	(void)state;
	gen(new_dir(dir, sizeof(dir)), KEYRING_EDDSA, kid);
	kr = load_ok(dir);
	assert_non_null(jwks = keyring_jwks(kr));
	assert_non_null(k = jwk_of(jwks, kid));
	assert_string_equal(json_string_value(json_object_get(k, "kty")),
	    "OKP");
	assert_string_equal(json_string_value(json_object_get(k, "crv")),
	    "Ed25519");
	assert_string_equal(json_string_value(json_object_get(k, "alg")),
	    "EdDSA");
	assert_int_equal(jwk_member_len(k, "x", x, sizeof(x)), 32);
	assert_no_private_members(k);
	path_of(path, sizeof(path), dir, kid, ".pem");
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(pk = PEM_read_PrivateKey(f, NULL, NULL, NULL));
	fclose(f);
	assert_int_equal(EVP_PKEY_get_raw_public_key(pk, raw, &rawlen), 1);
	assert_memory_equal(x, raw, 32);
	EVP_PKEY_free(pk);
	json_decref(jwks);
	keyring_free(kr);
}

static int
group_setup(void **state)
{
	const char	*tmp = getenv("TMPDIR");

	(void)state;
	log_init("test_keyring", LOG_WARN);
	snprintf(base, sizeof(base), "%s/ws-keyring-XXXXXX",
	    tmp != NULL && *tmp != '\0' && strlen(tmp) < 32 ? tmp : "/tmp");
	return mkdtemp(base) == NULL ? -1 : 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	return nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate_writes_pem_0600_and_json),
		cmocka_unit_test(test_generate_json_contents),
		cmocka_unit_test(test_generate_missing_dir_refused),
		cmocka_unit_test(test_load_empty_dir_has_no_signer),
		cmocka_unit_test(test_load_refuses_world_readable_pem),
		cmocka_unit_test(test_load_refuses_group_readable_pem),
		cmocka_unit_test(test_load_accepts_pem_0400),
		cmocka_unit_test(test_load_refuses_pem_without_json),
		cmocka_unit_test(test_load_refuses_json_of_another_kid),
		cmocka_unit_test(test_load_refuses_alg_the_key_cannot_do),
		cmocka_unit_test(test_load_refuses_unknown_alg_in_json),
		cmocka_unit_test(test_load_refuses_malformed_json),
		cmocka_unit_test(test_load_refuses_writable_json),
		cmocka_unit_test(test_load_refuses_fifo_as_key),
		cmocka_unit_test(test_load_refuses_rsa_2048),
		cmocka_unit_test(test_load_skips_unrelated_files),
		cmocka_unit_test(test_alg_names_are_exact),
		cmocka_unit_test(test_kid_form),
		cmocka_unit_test(test_signer_is_newest_active_key),
		cmocka_unit_test(test_no_signer_when_every_key_retires),
		cmocka_unit_test(test_rotate_new_key_signs),
		cmocka_unit_test(test_rotate_old_key_still_verifies),
		cmocka_unit_test(test_rotate_retired_key_no_longer_verifies),
		cmocka_unit_test(test_rotate_grace_zero_retires_at_once),
		cmocka_unit_test(test_rotate_keeps_an_earlier_retirement),
		cmocka_unit_test(test_rotate_refuses_broken_dir_untouched),
		cmocka_unit_test(test_jwks_lists_only_verifying_keys),
		cmocka_unit_test(test_jwks_rsa_modulus_is_3072_bits),
		cmocka_unit_test(test_jwks_ec_key_is_p256),
		cmocka_unit_test(test_jwks_okp_key_is_the_public_ed25519),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
