/*
 * Unit tests of common/jwt.c with real keys in a temporary KEYS_DIR:
 * a round trip for each algorithm, then every attack of the security
 * checklist (section 5, J1-J15) built as a token and refused.  Forged
 * tokens are signed with the real key wherever that makes sense, so
 * each one fails for the reason under test and not merely for a bad
 * signature.  The clock is fixed through jwt_expect.now.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/mman.h>
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "b64url.h"
#include "error.h"
#include "jwt.h"
#include "keyring.h"
#include "log.h"

#define ISS	"https://ws.test"
#define AUD	"websands"

struct ring {
	char		 dir[128];
	char		 kid[KEYRING_KID_SIZE];
	struct keyring	*kr;
};

static char		 base[64];
static long long	 now;
/* RS256, PS256, ES256, EdDSA; an attacker's RSA and EC keys. */
static struct ring	 rs, ps, es, ed, atk, atk_es;
/* Stands in *claims_out before a call, to see that it is cleared. */
static json_t		*marker;

static struct jwt_expect
expect(void)
{
	struct jwt_expect e = {
		.issuer = ISS, .audience = AUD, .typ = JWT_TYP_ACCESS,
		.leeway = 60, .now = now, .max_lifetime = 0
	};

	return e;
}

/* Verifies tok against kr as the responders will; checks claims_out. */
static int
verify(const struct keyring *kr, const char *tok)
{
	struct jwt_expect e = expect();
	json_t		*c = marker;
	int		 rc;

	rc = jwt_verify(kr, tok, &e, &c);
	if (rc != 0)
		assert_null(c);
	else
		assert_true(json_is_object(c));
	json_decref(c);
	return rc;
}

static void
refused(const struct keyring *kr, const char *tok)
{
	assert_int_equal(verify(kr, tok), WS_ERR_INVALID);
}

/* Valid access-token claims at now. */
static json_t *
claims(void)
{
	json_t	*c;

	c = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I}",
	    "iss", ISS, "aud", AUD, "sub", "u1", "sid", "s1",
	    "role", "user", "jti", "j1", "iat", (json_int_t)now,
	    "nbf", (json_int_t)now, "exp", (json_int_t)(now + 900));
	assert_non_null(c);
	return c;
}

/* The compact text of c, which is released. */
static char *
text_of(json_t *c)
{
	char	*s;

	assert_non_null(s = json_dumps(c, JSON_COMPACT));
	json_decref(c);
	return s;
}

static char *
b64(const void *p, size_t n)
{
	char	*s = NULL;

	assert_int_equal(b64url_encode_alloc(p, n, &s), 0);
	return s;
}

/* "a.b.c" ("a.b" when c is NULL), newly allocated. */
static char *
join(const char *a, const char *b, const char *c)
{
	size_t	 n = strlen(a) + strlen(b) + (c ? strlen(c) : 0) + 3;
	char	*s;

	assert_non_null(s = malloc(n));
	if (c != NULL)
		snprintf(s, n, "%s.%s.%s", a, b, c);
	else
		snprintf(s, n, "%s.%s", a, b);
	return s;
}

/* Part i (0-2) of a well-formed token, newly allocated. */
static char *
part(const char *tok, int i)
{
	const char	*p = tok, *e;

	while (i-- > 0)
		p = strchr(p, '.') + 1;
	e = strchr(p, '.');
	return strndup(p, e != NULL ? (size_t)(e - p) : strlen(p));
}

/* A token of header and payload texts with sig[0..n) as signature. */
static char *
with_sig(const char *hjson, const char *pjson, const void *sig, size_t n)
{
	char	*h = b64(hjson, strlen(hjson)), *p = b64(pjson, strlen(pjson));
	char	*s = b64(sig, n), *tok = join(h, p, s);

	free(h);
	free(p);
	free(s);
	return tok;
}

/*
 * A token of the given encoded header and payload parts, signed by k
 * over exactly those parts (so padded or odd parts stay signed).
 */
static char *
sign_parts(const struct keyring_key *k, const char *h, const char *p)
{
	unsigned char	 sig[KEYRING_SIG_MAX];
	size_t		 n;
	char		*in = join(h, p, NULL), *s, *tok;

	assert_int_equal(keyring_sign(k, in, strlen(in), sig, sizeof(sig),
	    &n), 0);
	s = b64(sig, n);
	tok = join(h, p, s);
	free(in);
	free(s);
	return tok;
}

/* A token of header and payload texts signed by the ring's key. */
static char *
forge(const struct ring *r, const char *hjson, const char *pjson)
{
	char	*h = b64(hjson, strlen(hjson)), *p = b64(pjson, strlen(pjson));
	char	*tok = sign_parts(keyring_signer(r->kr), h, p);

	free(h);
	free(p);
	return tok;
}

static char *
header(const char *alg, const char *typ, const char *kid)
{
	json_t	*h = json_object();

	if (alg != NULL)
		json_object_set_new(h, "alg", json_string(alg));
	if (typ != NULL)
		json_object_set_new(h, "typ", json_string(typ));
	if (kid != NULL)
		json_object_set_new(h, "kid", json_string(kid));
	return text_of(h);
}

/* Signs the standard claims with rs under a header of these texts. */
static char *
forge_rs(const char *hjson)
{
	char	*p = text_of(claims()), *tok = forge(&rs, hjson, p);

	free(p);
	return tok;
}

/* Signs claims c (released) with rs's key under its normal header. */
static char *
forge_claims(json_t *c)
{
	char	*h = header("RS256", JWT_TYP_ACCESS, rs.kid);
	char	*p = text_of(c), *tok = forge(&rs, h, p);

	free(h);
	free(p);
	return tok;
}

/* As forge_claims, from raw claim text (numbers jansson cannot hold). */
static char *forge_claims_text(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static char *
forge_claims_text(const char *fmt, ...)
{
	char	 text[1024], *h, *tok;
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	h = header("RS256", JWT_TYP_ACCESS, rs.kid);
	tok = forge(&rs, h, text);
	free(h);
	return tok;
}

static char *
sign_ok(const struct ring *r)
{
	json_t	*c = claims();
	char	*tok = NULL;

	assert_int_equal(jwt_sign(r->kr, c, JWT_TYP_ACCESS, &tok), 0);
	json_decref(c);
	return tok;
}

static EVP_PKEY *
load_pkey(const struct ring *r)
{
	char		 path[256];
	EVP_PKEY	*pk;
	FILE		*f;

	snprintf(path, sizeof(path), "%s/%s.pem", r->dir, r->kid);
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(pk = PEM_read_PrivateKey(f, NULL, NULL, NULL));
	fclose(f);
	return pk;
}

/* The standard claims under header, HMAC'ed with secret by md. */
static char *
forge_hmac(const char *alg, const EVP_MD *md, const void *secret,
    size_t slen)
{
	unsigned char	 mac[EVP_MAX_MD_SIZE];
	unsigned int	 mlen = 0;
	char		*hj = header(alg, JWT_TYP_ACCESS, rs.kid);
	char		*h = b64(hj, strlen(hj)), *pj = text_of(claims());
	char		*p = b64(pj, strlen(pj)), *in = join(h, p, NULL);
	char		*tok;

	assert_non_null(HMAC(md, secret, (int)slen, (unsigned char *)in,
	    strlen(in), mac, &mlen));
	tok = with_sig(hj, pj, mac, mlen);
	free(hj);
	free(h);
	free(pj);
	free(p);
	free(in);
	return tok;
}

/* Every HS variant keyed with secret is refused. */
static void
hmac_refused(const void *secret, size_t slen)
{
	char	*tok;

	tok = forge_hmac("HS256", EVP_sha256(), secret, slen);
	refused(rs.kr, tok);
	free(tok);
	tok = forge_hmac("HS384", EVP_sha384(), secret, slen);
	refused(rs.kr, tok);
	free(tok);
	tok = forge_hmac("HS512", EVP_sha512(), secret, slen);
	refused(rs.kr, tok);
	free(tok);
}

/* The public half of rs's key in an encoding OpenSSL can write. */
static size_t
public_encoding(const char *format, const char *structure,
    unsigned char **out)
{
	OSSL_ENCODER_CTX *ctx;
	EVP_PKEY	*pk = load_pkey(&rs);
	size_t		 n = 0;

	*out = NULL;
	ctx = OSSL_ENCODER_CTX_new_for_pkey(pk, EVP_PKEY_PUBLIC_KEY, format,
	    structure, NULL);
	assert_non_null(ctx);
	assert_int_equal(OSSL_ENCODER_to_data(ctx, out, &n), 1);
	OSSL_ENCODER_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return n;
}

/* Signs in with r's RSA key under md, with PSS or PKCS#1 v1.5. */
static size_t
rsa_sign_as(const struct ring *r, const EVP_MD *md, int pss, const char *in,
    unsigned char *sig, size_t size)
{
	EVP_MD_CTX	*ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX	*pctx = NULL;
	EVP_PKEY	*pk = load_pkey(r);
	size_t		 n = size;

	assert_int_equal(EVP_DigestSignInit(ctx, &pctx, md, NULL, pk), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, pss ?
	    RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING), 1);
	if (pss)
		assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32),
		    1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &n,
	    (const unsigned char *)in, strlen(in)), 1);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return n;
}

static void
roundtrip(const struct ring *r, const char *alg)
{
	struct jwt_expect e = expect();
	json_t		*c = NULL, *h;
	char		*tok = sign_ok(r), *hp;
	unsigned char	*raw;
	size_t		 n;

	assert_int_equal(jwt_verify(r->kr, tok, &e, &c), 0);
	assert_string_equal(json_string_value(json_object_get(c, "sub")),
	    "u1");
	assert_string_equal(json_string_value(json_object_get(c, "role")),
	    "user");
	hp = part(tok, 0);
	assert_int_equal(b64url_decode_alloc(hp, strlen(hp), &raw, &n), 0);
	assert_non_null(h = json_loadb((char *)raw, n, 0, NULL));
	assert_int_equal(json_object_size(h), 3);
	assert_string_equal(json_string_value(json_object_get(h, "alg")),
	    alg);
	assert_string_equal(json_string_value(json_object_get(h, "typ")),
	    "at+jwt");
	assert_string_equal(json_string_value(json_object_get(h, "kid")),
	    r->kid);
	json_decref(h);
	json_decref(c);
	free(raw);
	free(hp);
	free(tok);
}

static void
test_roundtrip_rs256(void **state)
{
	(void)state;
	roundtrip(&rs, "RS256");
}

static void
test_roundtrip_ps256(void **state)
{
	(void)state;
	roundtrip(&ps, "PS256");
}

static void
test_roundtrip_es256(void **state)
{
	(void)state;
	roundtrip(&es, "ES256");
}

static void
test_roundtrip_eddsa(void **state)
{
	(void)state;
	roundtrip(&ed, "EdDSA");
}

static void
test_signature_sizes(void **state)
{
	const struct ring *rings[] = { &rs, &ps, &es, &ed };
	const size_t	 want[] = { 384, 384, 64, 64 };
	unsigned char	 sig[KEYRING_SIG_MAX];
	size_t		 i, n;
	char		*tok, *s;

	(void)state;
	/* RSA 3072 gives 384 bytes (ASVS 11.2.3); ES256 is raw r||s. */
	for (i = 0; i < 4; i++) {
		tok = sign_ok(rings[i]);
		s = part(tok, 2);
		assert_int_equal(b64url_decode(s, strlen(s), sig,
		    sizeof(sig), &n), 0);
		assert_int_equal(n, want[i]);
		free(s);
		free(tok);
	}
}

static void
test_alg_none_empty_signature(void **state)
{
	static const char *const nones[] = { "none", "None", "NONE",
	    "nOnE" };
	char	*h, *p, *tok, *hb, *pb;
	size_t	 i;

	(void)state;
	p = text_of(claims());
	pb = b64(p, strlen(p));
	for (i = 0; i < 4; i++) {
		h = header(nones[i], JWT_TYP_ACCESS, rs.kid);
		hb = b64(h, strlen(h));
		tok = join(hb, pb, "");
		refused(rs.kr, tok);
		free(tok);
		free(hb);
		free(h);
	}
	free(pb);
	free(p);
}

static void
test_alg_none_without_trailing_dot(void **state)
{
	static const char *const nones[] = { "none", "None", "NONE",
	    "nOnE" };
	char	*h, *p, *tok, *hb, *pb;
	size_t	 i;

	(void)state;
	p = text_of(claims());
	pb = b64(p, strlen(p));
	for (i = 0; i < 4; i++) {
		h = header(nones[i], JWT_TYP_ACCESS, NULL);
		hb = b64(h, strlen(h));
		tok = join(hb, pb, NULL);
		refused(rs.kr, tok);
		free(tok);
		free(hb);
		free(h);
	}
	free(pb);
	free(p);
}

static void
test_alg_none_with_original_signature(void **state)
{
	static const char *const nones[] = { "none", "None", "NONE",
	    "nOnE" };
	char	*good = sign_ok(&rs), *pb = part(good, 1);
	char	*sb = part(good, 2), *h, *hb, *tok;
	size_t	 i;

	(void)state;
	for (i = 0; i < 4; i++) {
		h = header(nones[i], JWT_TYP_ACCESS, rs.kid);
		hb = b64(h, strlen(h));
		tok = join(hb, pb, sb);
		refused(rs.kr, tok);
		free(tok);
		free(hb);
		free(h);
	}
	free(sb);
	free(pb);
	free(good);
}

static void
test_hs_keyed_with_public_pem(void **state)
{
	unsigned char	*pem;
	size_t		 n;

	(void)state;
	n = public_encoding("PEM", "SubjectPublicKeyInfo", &pem);
	assert_true(n > 2 && pem[n - 1] == '\n');
	hmac_refused(pem, n);
	hmac_refused(pem, n - 1);
	OPENSSL_free(pem);
}

static void
test_hs_keyed_with_pkcs1_pem(void **state)
{
	unsigned char	*pem;
	size_t		 n;

	(void)state;
	n = public_encoding("PEM", "type-specific", &pem);
	assert_non_null(strstr((char *)pem, "RSA PUBLIC KEY"));
	hmac_refused(pem, n);
	hmac_refused(pem, n - 1);
	OPENSSL_free(pem);
}

static void
test_hs_keyed_with_public_der(void **state)
{
	unsigned char	*der;
	size_t		 n;

	(void)state;
	n = public_encoding("DER", "SubjectPublicKeyInfo", &der);
	hmac_refused(der, n);
	OPENSSL_free(der);
	n = public_encoding("DER", "type-specific", &der);
	hmac_refused(der, n);
	OPENSSL_free(der);
}

static void
test_hs_keyed_with_jwk_modulus(void **state)
{
	json_t		*jwks = keyring_jwks(rs.kr), *k;
	const char	*nb64;
	unsigned char	 n[512];
	size_t		 len;

	(void)state;
	assert_non_null(jwks);
	k = json_array_get(json_object_get(jwks, "keys"), 0);
	nb64 = json_string_value(json_object_get(k, "n"));
	assert_non_null(nb64);
	hmac_refused(nb64, strlen(nb64));
	assert_int_equal(b64url_decode(nb64, strlen(nb64), n, sizeof(n),
	    &len), 0);
	hmac_refused(n, len);
	json_decref(jwks);
}

static void
test_signature_stripped(void **state)
{
	char	*good = sign_ok(&rs), *h = part(good, 0), *p = part(good, 1);
	char	*tok;

	(void)state;
	tok = join(h, p, "");
	refused(rs.kr, tok);
	free(tok);
	tok = join(h, p, NULL);
	refused(rs.kr, tok);
	free(tok);
	free(h);
	free(p);
	free(good);
}

static void
test_signature_truncated_or_zero(void **state)
{
	unsigned char	 zero[384];
	char		*good = sign_ok(&rs), *h = part(good, 0);
	char		*p = part(good, 1), *s = part(good, 2), *z, *tok;

	(void)state;
	s[strlen(s) - 4] = '\0';
	tok = join(h, p, s);
	refused(rs.kr, tok);
	free(tok);
	memset(zero, 0, sizeof(zero));
	z = b64(zero, sizeof(zero));
	tok = join(h, p, z);
	refused(rs.kr, tok);
	free(tok);
	free(z);
	free(s);
	free(h);
	free(p);
	free(good);
}

static void
test_signature_from_another_token(void **state)
{
	json_t	*c = claims();
	char	*t1 = sign_ok(&rs), *t2 = NULL, *h, *p, *s, *tok;

	(void)state;
	json_object_set_new(c, "sub", json_string("u2"));
	assert_int_equal(jwt_sign(rs.kr, c, JWT_TYP_ACCESS, &t2), 0);
	json_decref(c);
	h = part(t1, 0);
	p = part(t1, 1);
	s = part(t2, 2);
	tok = join(h, p, s);
	refused(rs.kr, tok);
	free(tok);
	free(h);
	free(p);
	free(s);
	free(t1);
	free(t2);
}

static void
test_other_key_with_real_kid(void **state)
{
	char	*h, *p = text_of(claims()), *tok;

	(void)state;
	/* Well formed: the attacker's own ring accepts it under its kid. */
	h = header("RS256", JWT_TYP_ACCESS, atk.kid);
	tok = forge(&atk, h, p);
	assert_int_equal(verify(atk.kr, tok), 0);
	free(tok);
	free(h);
	h = header("RS256", JWT_TYP_ACCESS, rs.kid);
	tok = forge(&atk, h, p);
	refused(rs.kr, tok);
	free(tok);
	free(h);
	free(p);
}

/*
 * A token for ring r's kid under header alg, signed by r's own RSA key
 * with md and PSS or PKCS#1 v1.5 padding: a valid signature by the
 * real key, made the way the header's alg (not the key's) says.
 */
static char *
rsa_forge(const struct ring *r, const char *alg, const EVP_MD *md, int pss)
{
	unsigned char	 sig[KEYRING_SIG_MAX];
	char		*hj = header(alg, JWT_TYP_ACCESS, r->kid);
	char		*h = b64(hj, strlen(hj)), *pj = text_of(claims());
	char		*p = b64(pj, strlen(pj)), *in = join(h, p, NULL);
	char		*s, *tok;
	size_t		 n;

	n = rsa_sign_as(r, md, pss, in, sig, sizeof(sig));
	s = b64(sig, n);
	tok = join(h, p, s);
	free(s);
	free(in);
	free(p);
	free(pj);
	free(h);
	free(hj);
	return tok;
}

static void
test_other_alg_than_pinned(void **state)
{
	char	*hj, *pj = text_of(claims()), *tok;

	(void)state;
	/* The RS256 key signing as PS256, and as RS512. */
	tok = rsa_forge(&rs, "PS256", EVP_sha256(), 1);
	refused(rs.kr, tok);
	free(tok);
	tok = rsa_forge(&rs, "RS512", EVP_sha512(), 0);
	refused(rs.kr, tok);
	free(tok);
	/* The PS256 key signing as RS256, under either alg. */
	tok = rsa_forge(&ps, "RS256", EVP_sha256(), 0);
	refused(ps.kr, tok);
	free(tok);
	tok = rsa_forge(&ps, "PS256", EVP_sha256(), 0);
	refused(ps.kr, tok);
	free(tok);
	/* Sanity: done the PS256 way, the same forge verifies. */
	tok = rsa_forge(&ps, "PS256", EVP_sha256(), 1);
	assert_int_equal(verify(ps.kr, tok), 0);
	free(tok);
	/* An attacker's EC key claiming the RSA kid with alg ES256. */
	hj = header("ES256", JWT_TYP_ACCESS, rs.kid);
	tok = forge(&atk_es, hj, pj);
	refused(rs.kr, tok);
	free(tok);
	free(hj);
	free(pj);
}

static void
test_kid_injection(void **state)
{
	static const char *const kids[] = {
		"\"../../etc/passwd\"", "\"../../../../dev/null\"",
		"\"/proc/self/environ\"", "\"' OR 1=1--\"",
		"\"x' UNION SELECT 'k'--\"", "\"$(id)\"", "\"|id\"",
		"\"\\u0000\"", "\"\"", "1", "{}", "[]", "null", "true",
	};
	static const char prefix[] =
	    "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"";
	char	 hj[256], *tok, *big;
	size_t	 i, pl = sizeof(prefix) - 1;

	(void)state;
	for (i = 0; i < sizeof(kids) / sizeof(kids[0]); i++) {
		snprintf(hj, sizeof(hj), "{\"alg\":\"RS256\",\"typ\":"
		    "\"at+jwt\",\"kid\":%s}", kids[i]);
		tok = forge_rs(hj);
		refused(rs.kr, tok);
		free(tok);
	}
	/* The real kid with a NUL, a space, or another case appended. */
	snprintf(hj, sizeof(hj), "{\"alg\":\"RS256\",\"typ\":\"at+jwt\","
	    "\"kid\":\"%s\\u0000\"}", rs.kid);
	tok = forge_rs(hj);
	refused(rs.kr, tok);
	free(tok);
	snprintf(hj, sizeof(hj), "{\"alg\":\"RS256\",\"typ\":\"at+jwt\","
	    "\"kid\":\"%s \"}", rs.kid);
	tok = forge_rs(hj);
	refused(rs.kr, tok);
	free(tok);
	/* A 10 KiB kid. */
	assert_non_null(big = malloc(pl + 10240 + 3));
	memcpy(big, prefix, pl);
	memset(big + pl, 'A', 10240);
	memcpy(big + pl + 10240, "\"}", 3);
	tok = forge_rs(big);
	refused(rs.kr, tok);
	free(tok);
	free(big);
}

static void
test_kid_of_a_key_not_in_the_ring(void **state)
{
	char	*h = header("RS256", JWT_TYP_ACCESS, atk.kid), *tok;

	(void)state;
	tok = forge_rs(h);
	refused(rs.kr, tok);
	free(tok);
	free(h);
}

static void
test_embedded_and_remote_key_headers(void **state)
{
	json_t		*jwks = keyring_jwks(atk_es.kr), *h;
	const char	*names[] = { "jwk", "jku", "x5c", "x5u", "crit",
	    "b64", "x5t", "cty", "zip" };
	json_t		*values[9];
	char		*hj, *tok;
	size_t		 i;

	(void)state;
	/*
	 * The attacker's key is EC so that the header stays small enough
	 * to reach the member check rather than the size limit.
	 */
	assert_non_null(jwks);
	values[0] = json_incref(json_array_get(json_object_get(jwks,
	    "keys"), 0));
	values[1] = json_string("http://127.0.0.1:9/jwks.json");
	values[2] = json_pack("[s]", "MIIBszCCAVmgAwIBAgIUQ");
	values[3] = json_string("http://127.0.0.1:9/cert.pem");
	values[4] = json_pack("[s]", "exp");
	values[5] = json_false();
	values[6] = json_string("AAAA");
	values[7] = json_string("JWT");
	values[8] = json_string("DEF");
	for (i = 0; i < 9; i++) {
		h = json_pack("{s:s, s:s, s:s, s:O}", "alg", "RS256", "typ",
		    JWT_TYP_ACCESS, "kid", rs.kid, names[i], values[i]);
		hj = text_of(h);
		tok = forge_rs(hj);
		refused(rs.kr, tok);
		free(tok);
		free(hj);
		json_decref(values[i]);
	}
	json_decref(jwks);
}

static void
test_header_alg_missing_or_not_a_string(void **state)
{
	static const char *const algs[] = { "", "256", "null", "[\"RS256\"]",
	    "\"RS256 \"", "\"rs256\"", "\"\"" };
	char	 hj[256], *tok;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		if (*algs[i] == '\0')
			snprintf(hj, sizeof(hj), "{\"typ\":\"at+jwt\","
			    "\"kid\":\"%s\"}", rs.kid);
		else
			snprintf(hj, sizeof(hj), "{\"alg\":%s,\"typ\":"
			    "\"at+jwt\",\"kid\":\"%s\"}", algs[i], rs.kid);
		tok = forge_rs(hj);
		refused(rs.kr, tok);
		free(tok);
	}
}

static void
test_header_not_an_object(void **state)
{
	static const char *const hs[] = { "[]", "\"RS256\"", "null", "{",
	    "{}", "not json", "{\"alg\":\"RS256\"} x" };
	char	*tok;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(hs) / sizeof(hs[0]); i++) {
		tok = forge_rs(hs[i]);
		refused(rs.kr, tok);
		free(tok);
	}
}

static void
test_header_duplicate_alg(void **state)
{
	char	 hj[256], *tok;

	(void)state;
	snprintf(hj, sizeof(hj), "{\"alg\":\"RS256\",\"alg\":\"none\","
	    "\"typ\":\"at+jwt\",\"kid\":\"%s\"}", rs.kid);
	tok = forge_rs(hj);
	refused(rs.kr, tok);
	free(tok);
	/* Even two identical members are refused. */
	snprintf(hj, sizeof(hj), "{\"alg\":\"RS256\",\"alg\":\"RS256\","
	    "\"typ\":\"at+jwt\",\"kid\":\"%s\"}", rs.kid);
	tok = forge_rs(hj);
	refused(rs.kr, tok);
	free(tok);
}

static void
test_claims_duplicate_sub(void **state)
{
	char	*tok;

	(void)state;
	tok = forge_claims_text("{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":"
	    "\"u1\",\"sub\":\"admin\",\"sid\":\"s1\",\"jti\":\"j1\","
	    "\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld}", ISS, AUD, now, now,
	    now + 900);
	refused(rs.kr, tok);
	free(tok);
}

static void
test_claims_not_an_object(void **state)
{
	static const char *const ps_[] = { "[]", "null", "\"u1\"", "{",
	    "{\"sub\":\"\\u0000\"}" };
	char	*h = header("RS256", JWT_TYP_ACCESS, rs.kid), *tok;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(ps_) / sizeof(ps_[0]); i++) {
		tok = forge(&rs, h, ps_[i]);
		refused(rs.kr, tok);
		free(tok);
	}
	free(h);
}

/* The token with its claims text edited by replacing from with to. */
static char *
edit_claims(const char *tok, const char *from, const char *to)
{
	char		*h = part(tok, 0), *p = part(tok, 1), *s = part(tok, 2);
	char		*np, *out, *at, edited[2048];
	unsigned char	*raw;
	size_t		 n;

	assert_int_equal(b64url_decode_alloc(p, strlen(p), &raw, &n), 0);
	assert_non_null(at = strstr((char *)raw, from));
	assert_true(n + strlen(to) < sizeof(edited));
	snprintf(edited, sizeof(edited), "%.*s%s%s", (int)(at - (char *)raw),
	    (char *)raw, to, at + strlen(from));
	np = b64(edited, strlen(edited));
	out = join(h, np, s);
	free(np);
	free(raw);
	free(h);
	free(p);
	free(s);
	return out;
}

static void
test_payload_sub_edited(void **state)
{
	const struct ring *rings[] = { &rs, &ps, &es, &ed };
	char	*good, *tok;
	size_t	 i;

	(void)state;
	for (i = 0; i < 4; i++) {
		good = sign_ok(rings[i]);
		/* "u1" -> "u3": one bit of one character. */
		tok = edit_claims(good, "\"u1\"", "\"u3\"");
		refused(rings[i]->kr, tok);
		free(tok);
		free(good);
	}
}

static void
test_payload_role_edited(void **state)
{
	char	*good = sign_ok(&rs), *tok;

	(void)state;
	tok = edit_claims(good, "\"user\"", "\"admin\"");
	refused(rs.kr, tok);
	free(tok);
	free(good);
}

static void
test_payload_character_flipped(void **state)
{
	char	*good = sign_ok(&es), *tok = strdup(good), *d;

	(void)state;
	/* A character in the middle of the payload part changes a bit. */
	d = strchr(tok, '.') + 10;
	*d = *d == 'A' ? 'B' : 'A';
	refused(es.kr, tok);
	free(tok);
	free(good);
}

static void
test_expired(void **state)
{
	json_t	*c = claims();
	char	*tok;

	(void)state;
	/* Past the 60 s leeway by one second, and exactly at it. */
	json_object_set_new(c, "exp", json_integer(now - 61));
	json_object_set_new(c, "iat", json_integer(now - 961));
	json_object_set_new(c, "nbf", json_integer(now - 961));
	tok = forge_claims(json_incref(c));
	refused(rs.kr, tok);
	free(tok);
	json_object_set_new(c, "exp", json_integer(now - 60));
	tok = forge_claims(c);
	refused(rs.kr, tok);
	free(tok);
}

static void
test_expired_within_leeway_accepted(void **state)
{
	json_t	*c = claims();
	char	*tok;

	(void)state;
	json_object_set_new(c, "exp", json_integer(now - 59));
	json_object_set_new(c, "iat", json_integer(now - 959));
	json_object_set_new(c, "nbf", json_integer(now - 959));
	tok = forge_claims(c);
	assert_int_equal(verify(rs.kr, tok), 0);
	free(tok);
}

static void
test_not_yet_valid(void **state)
{
	json_t	*c = claims();
	char	*tok;

	(void)state;
	json_object_set_new(c, "nbf", json_integer(now + 120));
	tok = forge_claims(json_incref(c));
	refused(rs.kr, tok);
	free(tok);
	/* Within the leeway it is accepted. */
	json_object_set_new(c, "nbf", json_integer(now + 60));
	tok = forge_claims(c);
	assert_int_equal(verify(rs.kr, tok), 0);
	free(tok);
}

static void
test_issued_in_the_future(void **state)
{
	json_t	*c = claims();
	char	*tok;

	(void)state;
	json_object_set_new(c, "iat", json_integer(now + 120));
	tok = forge_claims(c);
	refused(rs.kr, tok);
	free(tok);
}

/* Copies pattern into out with each 'N' replaced by the number n. */
static void
with_number(char *out, size_t len, const char *pattern, long long n)
{
	char	 num[32];
	size_t	 o = 0, k;

	snprintf(num, sizeof(num), "%lld", n);
	for (; *pattern != '\0'; pattern++) {
		if (*pattern == 'N')
			for (k = 0; num[k] != '\0' && o + 1 < len; k++)
				out[o++] = num[k];
		else if (o + 1 < len)
			out[o++] = *pattern;
	}
	out[o] = '\0';
}

static void
test_exp_of_the_wrong_type(void **state)
{
	static const char *const exps[] = { "\"N\"", "N.0", "N.5",
	    "1e400", "1e20", "99999999999999999999", "-1", "null", "true",
	    "[N]", "{}", "253402300800" };
	char	 e[64], *tok;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(exps) / sizeof(exps[0]); i++) {
		with_number(e, sizeof(e), exps[i], now + 900);
		tok = forge_claims_text("{\"iss\":\"%s\",\"aud\":\"%s\","
		    "\"sub\":\"u1\",\"sid\":\"s1\",\"jti\":\"j1\","
		    "\"iat\":%lld,\"nbf\":%lld,\"exp\":%s}", ISS, AUD, now,
		    now, e);
		refused(rs.kr, tok);
		free(tok);
	}
}

static void
test_nbf_and_iat_of_the_wrong_type(void **state)
{
	static const char *const names[] = { "nbf", "iat" };
	json_t	*c;
	char	*tok;
	size_t	 i;

	(void)state;
	for (i = 0; i < 2; i++) {
		c = claims();
		json_object_set_new(c, names[i], json_real((double)now));
		tok = forge_claims(c);
		refused(rs.kr, tok);
		free(tok);
		c = claims();
		json_object_set_new(c, names[i], json_string("0"));
		tok = forge_claims(c);
		refused(rs.kr, tok);
		free(tok);
	}
}

static void
test_required_claim_missing(void **state)
{
	static const char *const names[] = { "exp", "nbf", "iat", "iss",
	    "aud", "sub", "sid", "jti" };
	json_t	*c;
	char	*tok;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		c = claims();
		json_object_del(c, names[i]);
		tok = forge_claims(c);
		refused(rs.kr, tok);
		free(tok);
	}
}

static void
test_ids_empty_or_not_strings(void **state)
{
	static const char *const names[] = { "sub", "sid", "jti" };
	json_t	*c;
	char	*tok;
	size_t	 i;

	(void)state;
	for (i = 0; i < 3; i++) {
		c = claims();
		json_object_set_new(c, names[i], json_string(""));
		tok = forge_claims(c);
		refused(rs.kr, tok);
		free(tok);
		c = claims();
		json_object_set_new(c, names[i], json_integer(1));
		tok = forge_claims(c);
		refused(rs.kr, tok);
		free(tok);
	}
}

static void
test_wrong_issuer(void **state)
{
	static const char *const isss[] = { "https://evil.test",
	    "HTTPS://ws.test", "https://ws.test/", "" };
	json_t	*c;
	char	*tok;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(isss) / sizeof(isss[0]); i++) {
		c = claims();
		json_object_set_new(c, "iss", json_string(isss[i]));
		tok = forge_claims(c);
		refused(rs.kr, tok);
		free(tok);
	}
}

static void
test_wrong_audience(void **state)
{
	json_t	*c = claims();
	char	*tok;

	(void)state;
	json_object_set_new(c, "aud", json_string("billing"));
	tok = forge_claims(c);
	refused(rs.kr, tok);
	free(tok);
}

static void
test_audience_array_without_ours(void **state)
{
	json_t	*c = claims();
	char	*tok;

	(void)state;
	json_object_set_new(c, "aud", json_pack("[s, s]", "billing",
	    "mail"));
	tok = forge_claims(c);
	refused(rs.kr, tok);
	free(tok);
}

static void
test_audience_array_with_ours_refused(void **state)
{
	json_t	*c = claims();
	char	*tok;

	(void)state;
	/* Strict by choice: WebSands issues aud as one string. */
	json_object_set_new(c, "aud", json_pack("[s]", AUD));
	tok = forge_claims(c);
	refused(rs.kr, tok);
	free(tok);
}

static void
test_wrong_typ(void **state)
{
	static const char *const typs[] = { NULL, "JWT", "refresh",
	    "AT+JWT", "application/at+jwt", "at+jwt " };
	char	*h, *tok;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(typs) / sizeof(typs[0]); i++) {
		h = header("RS256", typs[i], rs.kid);
		tok = forge_rs(h);
		refused(rs.kr, tok);
		free(tok);
		free(h);
	}
}

static void
test_refresh_typed_token_refused_as_access(void **state)
{
	json_t	*c = claims();
	char	*tok = NULL;

	(void)state;
	/* A genuine signature by jwt_sign, of another token type. */
	assert_int_equal(jwt_sign(rs.kr, c, "refresh", &tok), 0);
	refused(rs.kr, tok);
	free(tok);
	json_decref(c);
}

static void
test_token_of_64_kib_refused(void **state)
{
	char	*good = sign_ok(&rs), *big;
	size_t	 len = 64 * 1024, glen = strlen(good);
	clock_t	 t0;
	int	 i;

	(void)state;
	assert_non_null(big = malloc(len + 1));
	memcpy(big, good, glen);
	memset(big + glen, 'A', len - glen);
	big[len] = '\0';
	t0 = clock();
	for (i = 0; i < 1000; i++)
		refused(rs.kr, big);
	/* No signature or parse work: a thousand take well under 0.5 s. */
	assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 0.5);
	free(big);
	free(good);
}

static void
test_overlong_token_read_no_further_than_the_limit(void **state)
{
	long	 pg = sysconf(_SC_PAGESIZE);
	size_t	 readable = (size_t)pg * ((JWT_MAX_LEN + 1) / (size_t)pg + 1);
	char	*m;

	(void)state;
	/* Unterminated text ending at a guard page: reading on faults. */
	m = mmap(NULL, readable + (size_t)pg, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);
	memset(m, 'A', readable);
	assert_int_equal(mprotect(m + readable, (size_t)pg, PROT_NONE), 0);
	refused(rs.kr, m);
	munmap(m, readable + (size_t)pg);
}

static void
test_wrong_number_of_parts(void **state)
{
	char	*good = sign_ok(&rs), *h = part(good, 0), *p = part(good, 1);
	char	*s = part(good, 2), buf[4096];

	(void)state;
	snprintf(buf, sizeof(buf), "%s.", good);
	refused(rs.kr, buf);
	snprintf(buf, sizeof(buf), "%s.x", good);
	refused(rs.kr, buf);
	snprintf(buf, sizeof(buf), "%s.x.y", good);
	refused(rs.kr, buf);
	snprintf(buf, sizeof(buf), "%s.%s..%s", h, p, s);
	refused(rs.kr, buf);
	snprintf(buf, sizeof(buf), "%s..%s.%s", h, p, s);
	refused(rs.kr, buf);
	snprintf(buf, sizeof(buf), ".%s", good);
	refused(rs.kr, buf);
	refused(rs.kr, h);
	snprintf(buf, sizeof(buf), ".%s.%s", p, s);
	refused(rs.kr, buf);
	snprintf(buf, sizeof(buf), "%s..%s", h, s);
	refused(rs.kr, buf);
	refused(rs.kr, "");
	refused(rs.kr, "..");
	refused(rs.kr, NULL);
	free(h);
	free(p);
	free(s);
	free(good);
}

static void
test_non_canonical_base64_parts(void **state)
{
	char	*good = sign_ok(&rs), buf[4096], *hj, *h, *pj, *p, *tok;

	(void)state;
	snprintf(buf, sizeof(buf), "%s=", good);
	refused(rs.kr, buf);
	snprintf(buf, sizeof(buf), "%s\n", good);
	refused(rs.kr, buf);
	snprintf(buf, sizeof(buf), " %s", good);
	refused(rs.kr, buf);
	/* A padded payload part, validly signed as it stands. */
	hj = header("RS256", JWT_TYP_ACCESS, rs.kid);
	h = b64(hj, strlen(hj));
	pj = text_of(claims());
	assert_non_null(p = malloc(strlen(pj) * 2 + 8));
	assert_int_equal(b64url_encode(pj, strlen(pj), p,
	    strlen(pj) * 2), 0);
	strcat(p, strlen(p) % 4 == 2 ? "==" : strlen(p) % 4 == 3 ? "=" :
	    "====");
	tok = sign_parts(keyring_signer(rs.kr), h, p);
	refused(rs.kr, tok);
	free(tok);
	free(p);
	free(pj);
	free(h);
	free(hj);
	free(good);
}

static void
test_es256_psychic_and_der_signatures(void **state)
{
	unsigned char	 zero[64], der[80];
	char		*h = header("ES256", JWT_TYP_ACCESS, es.kid);
	char		*p = text_of(claims()), *tok;

	(void)state;
	/* r = s = 0 (CVE-2022-21449). */
	memset(zero, 0, sizeof(zero));
	tok = with_sig(h, p, zero, sizeof(zero));
	refused(es.kr, tok);
	free(tok);
	/* A DER-shaped signature is not the JOSE form. */
	memset(der, 0x30, sizeof(der));
	tok = with_sig(h, p, der, 70);
	refused(es.kr, tok);
	free(tok);
	free(h);
	free(p);
}

static void
test_eddsa_wrong_signature_length(void **state)
{
	char	*good = sign_ok(&ed), *h = part(good, 0), *p = part(good, 1);
	char	*s, *tok;
	unsigned char sig[65];

	(void)state;
	memset(sig, 7, sizeof(sig));
	s = b64(sig, sizeof(sig));
	tok = join(h, p, s);
	refused(ed.kr, tok);
	free(tok);
	free(s);
	free(h);
	free(p);
	free(good);
}

static void
test_max_lifetime(void **state)
{
	struct jwt_expect e = expect();
	json_t	*c = claims();
	char	*tok;

	(void)state;
	e.max_lifetime = 900;
	tok = forge_claims(json_incref(c));
	assert_int_equal(jwt_verify(rs.kr, tok, &e, NULL), 0);
	free(tok);
	json_object_set_new(c, "exp", json_integer(now + 901));
	tok = forge_claims(c);
	assert_int_equal(jwt_verify(rs.kr, tok, &e, NULL), WS_ERR_INVALID);
	free(tok);
}

static void
test_bad_expectations_refuse_everything(void **state)
{
	struct jwt_expect e = expect();
	char	*tok = sign_ok(&rs);

	(void)state;
	e.typ = NULL;
	assert_int_equal(jwt_verify(rs.kr, tok, &e, NULL), WS_ERR_INVALID);
	e = expect();
	e.leeway = JWT_LEEWAY_MAX + 1;
	assert_int_equal(jwt_verify(rs.kr, tok, &e, NULL), WS_ERR_INVALID);
	e = expect();
	e.audience = NULL;
	assert_int_equal(jwt_verify(rs.kr, tok, &e, NULL), WS_ERR_INVALID);
	assert_int_equal(jwt_verify(rs.kr, tok, NULL, NULL), WS_ERR_INVALID);
	free(tok);
}

static void
test_sign_refuses_bad_input(void **state)
{
	json_t	*c = claims(), *arr = json_array();
	char	 dummy, *tok = &dummy, big[5000];

	(void)state;
	assert_int_equal(jwt_sign(rs.kr, arr, JWT_TYP_ACCESS, &tok),
	    WS_ERR_INVALID);
	assert_null(tok);
	assert_int_equal(jwt_sign(rs.kr, c, "", &tok), WS_ERR_INVALID);
	assert_int_equal(jwt_sign(rs.kr, c, "at jwt", &tok), WS_ERR_INVALID);
	assert_int_equal(jwt_sign(rs.kr, c, NULL, &tok), WS_ERR_INVALID);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	json_object_set_new(c, "sub", json_string(big));
	assert_int_equal(jwt_sign(rs.kr, c, JWT_TYP_ACCESS, &tok),
	    WS_ERR_TOOBIG);
	assert_null(tok);
	json_decref(arr);
	json_decref(c);
}

static void
make_ring(struct ring *r, const char *name, enum keyring_alg alg)
{
	snprintf(r->dir, sizeof(r->dir), "%s/%s", base, name);
	assert_int_equal(mkdir(r->dir, 0700), 0);
	assert_int_equal(keyring_generate(r->dir, alg, r->kid), 0);
	assert_int_equal(keyring_load(r->dir, &r->kr), 0);
}

static void
drop_ring(struct ring *r)
{
	char	 path[256];

	keyring_free(r->kr);
	snprintf(path, sizeof(path), "%s/%s.pem", r->dir, r->kid);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s.json", r->dir, r->kid);
	unlink(path);
	rmdir(r->dir);
}

static int
group_setup(void **state)
{
	const char	*tmp = getenv("TMPDIR");

	(void)state;
	/* Refusals log at info; keep the test output to real problems. */
	log_init("test_jwt", LOG_WARN);
	snprintf(base, sizeof(base), "%s/ws-jwt-XXXXXX",
	    tmp != NULL && *tmp != '\0' && strlen(tmp) < 40 ? tmp : "/tmp");
	if (mkdtemp(base) == NULL)
		return -1;
	now = (long long)time(NULL);
	marker = json_object();
	make_ring(&rs, "rs", KEYRING_RS256);
	make_ring(&ps, "ps", KEYRING_PS256);
	make_ring(&es, "es", KEYRING_ES256);
	make_ring(&ed, "ed", KEYRING_EDDSA);
	make_ring(&atk, "atk", KEYRING_RS256);
	make_ring(&atk_es, "atk_es", KEYRING_ES256);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	drop_ring(&rs);
	drop_ring(&ps);
	drop_ring(&es);
	drop_ring(&ed);
	drop_ring(&atk);
	drop_ring(&atk_es);
	json_decref(marker);
	return rmdir(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_rs256),
		cmocka_unit_test(test_roundtrip_ps256),
		cmocka_unit_test(test_roundtrip_es256),
		cmocka_unit_test(test_roundtrip_eddsa),
		cmocka_unit_test(test_signature_sizes),
		cmocka_unit_test(test_alg_none_empty_signature),
		cmocka_unit_test(test_alg_none_without_trailing_dot),
		cmocka_unit_test(test_alg_none_with_original_signature),
		cmocka_unit_test(test_hs_keyed_with_public_pem),
		cmocka_unit_test(test_hs_keyed_with_pkcs1_pem),
		cmocka_unit_test(test_hs_keyed_with_public_der),
		cmocka_unit_test(test_hs_keyed_with_jwk_modulus),
		cmocka_unit_test(test_signature_stripped),
		cmocka_unit_test(test_signature_truncated_or_zero),
		cmocka_unit_test(test_signature_from_another_token),
		cmocka_unit_test(test_other_key_with_real_kid),
		cmocka_unit_test(test_other_alg_than_pinned),
		cmocka_unit_test(test_kid_injection),
		cmocka_unit_test(test_kid_of_a_key_not_in_the_ring),
		cmocka_unit_test(test_embedded_and_remote_key_headers),
		cmocka_unit_test(test_header_alg_missing_or_not_a_string),
		cmocka_unit_test(test_header_not_an_object),
		cmocka_unit_test(test_header_duplicate_alg),
		cmocka_unit_test(test_claims_duplicate_sub),
		cmocka_unit_test(test_claims_not_an_object),
		cmocka_unit_test(test_payload_sub_edited),
		cmocka_unit_test(test_payload_role_edited),
		cmocka_unit_test(test_payload_character_flipped),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_expired_within_leeway_accepted),
		cmocka_unit_test(test_not_yet_valid),
		cmocka_unit_test(test_issued_in_the_future),
		cmocka_unit_test(test_exp_of_the_wrong_type),
		cmocka_unit_test(test_nbf_and_iat_of_the_wrong_type),
		cmocka_unit_test(test_required_claim_missing),
		cmocka_unit_test(test_ids_empty_or_not_strings),
		cmocka_unit_test(test_wrong_issuer),
		cmocka_unit_test(test_wrong_audience),
		cmocka_unit_test(test_audience_array_without_ours),
		cmocka_unit_test(test_audience_array_with_ours_refused),
		cmocka_unit_test(test_wrong_typ),
		cmocka_unit_test(test_refresh_typed_token_refused_as_access),
		cmocka_unit_test(test_token_of_64_kib_refused),
		cmocka_unit_test(
		    test_overlong_token_read_no_further_than_the_limit),
		cmocka_unit_test(test_wrong_number_of_parts),
		cmocka_unit_test(test_non_canonical_base64_parts),
		cmocka_unit_test(test_es256_psychic_and_der_signatures),
		cmocka_unit_test(test_eddsa_wrong_signature_length),
		cmocka_unit_test(test_max_lifetime),
		cmocka_unit_test(test_bad_expectations_refuse_everything),
		cmocka_unit_test(test_sign_refuses_bad_input),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
