/*
 * Attacks on the access token, each sent to the one bearer-protected
 * route of websands-auth (POST /api/v1/auth/logout) and each to be
 * refused with 401.  A refused token must not end the session, so
 * every test finally logs out with its real token and expects 204.
 *
 * Tokens are forged here with OpenSSL, independently of common/jwt.c:
 * with the real private key from $WS_RUN_DIR/keys/<kid>.pem when only
 * a claim should be wrong, with a key made in the test, or with HMAC
 * over the public key.  A first test proves the forging itself is
 * right: a forged token with correct claims is accepted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "b64url.h"
#include "itest_auth.h"

#define LEEWAY_DEFAULT		60
#define ACCESS_TTL_DEFAULT	900
#define HUGE_TOKEN		(64 * 1024)
#define HUGE_ANSWER_S		1.0
#define RSA_BITS		3072

/* How a forged token is signed. */
enum sig {
	SIG_EMPTY,	/* no signature at all: "h.p." */
	SIG_RS256,
	SIG_RS512,
	SIG_PS256,
	SIG_HS256,
	SIG_HS512
};

static struct {
	struct itest_user	 u;
	char			 kid[64];
	EVP_PKEY		*real;	/* the stack's signing key */
	EVP_PKEY		*other;	/* a key made by the test */
	json_t			*jwk;	/* the real key's JWKS entry */
} g;

/* --- Signing ------------------------------------------------------ */

/* Standard base64 with padding, as x5c wants. */
static char *
b64std(const unsigned char *p, size_t n)
{
	char	*s;

	s = malloc(4 * ((n + 2) / 3) + 1);
	assert_non_null(s);
	EVP_EncodeBlock((unsigned char *)s, p, (int)n);
	return s;
}

/* Signs in[0..n) as how says; the signature is the caller's. */
static unsigned char *
sign(enum sig how, EVP_PKEY *key, const void *secret, size_t slen,
    const char *in, size_t n, size_t *siglen)
{
	EVP_MD_CTX	*ctx;
	EVP_PKEY_CTX	*pctx = NULL;
	unsigned char	*sig;
	unsigned int	 hlen;
	const EVP_MD	*md;

	*siglen = 0;
	if (how == SIG_EMPTY)
		return NULL;
	if (how == SIG_HS256 || how == SIG_HS512) {
		md = how == SIG_HS256 ? EVP_sha256() : EVP_sha512();
		sig = malloc(EVP_MAX_MD_SIZE);
		assert_non_null(sig);
		/* HMAC wants a non-NULL key even when it is empty. */
		assert_non_null(HMAC(md, slen > 0 ? secret : "", (int)slen,
		    (const unsigned char *)in, n, sig, &hlen));
		*siglen = hlen;
		return sig;
	}
	md = how == SIG_RS512 ? EVP_sha512() : EVP_sha256();
	assert_non_null(ctx = EVP_MD_CTX_new());
	assert_int_equal(EVP_DigestSignInit(ctx, &pctx, md, NULL, key), 1);
	if (how == SIG_PS256) {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx,
		    RSA_PKCS1_PSS_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32),
		    1);
	}
	assert_int_equal(EVP_DigestSign(ctx, NULL, siglen,
	    (const unsigned char *)in, n), 1);
	assert_non_null(sig = malloc(*siglen));
	assert_int_equal(EVP_DigestSign(ctx, sig, siglen,
	    (const unsigned char *)in, n), 1);
	EVP_MD_CTX_free(ctx);
	return sig;
}

/*
 * A compact JWS of header and payload (JSON text, encoded here) signed
 * as how says; the caller frees it.
 */
static char *
forge(const char *header, const char *payload, enum sig how,
    EVP_PKEY *key, const void *secret, size_t slen)
{
	struct buf	 out;
	unsigned char	*sig;
	char		*h, *p, *s;
	size_t		 siglen;

	buf_init(&out, 0);
	h = itest_auth_b64url(header, strlen(header));
	p = itest_auth_b64url(payload, strlen(payload));
	assert_int_equal(buf_printf(&out, "%s.%s", h, p), 0);
	sig = sign(how, key, secret, slen, out.data, out.len, &siglen);
	s = sig != NULL ? itest_auth_b64url(sig, siglen) : strdup("");
	assert_non_null(s);
	assert_int_equal(buf_printf(&out, ".%s", s), 0);
	free(h);
	free(p);
	free(s);
	free(sig);
	/* The caller owns the string; out is not cleaned up. */
	return out.data;
}






/* --- Keys --------------------------------------------------------- */

static EVP_PKEY *
load_real_key(const char *kid)
{
	char		 path[1024];
	FILE		*fp;
	EVP_PKEY	*k;
	int		 n;

	n = snprintf(path, sizeof(path), "%s/keys/%s.pem",
	    itest_env("WS_RUN_DIR"), kid);
	assert_true(n > 0 && (size_t)n < sizeof(path));
	if ((fp = fopen(path, "re")) == NULL)
		fail_msg("cannot open %s", path);
	k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(k);
	return k;
}

/* The public half of key encoded as format/structure; a new buffer. */
static unsigned char *
encode_public(EVP_PKEY *key, const char *format, const char *structure,
    size_t *len)
{
	OSSL_ENCODER_CTX	*ctx;
	unsigned char		*data = NULL;

	ctx = OSSL_ENCODER_CTX_new_for_pkey(key, EVP_PKEY_PUBLIC_KEY,
	    format, structure, NULL);
	assert_non_null(ctx);
	assert_int_equal(OSSL_ENCODER_to_data(ctx, &data, len), 1);
	OSSL_ENCODER_CTX_free(ctx);
	return data;
}

/* An RSA parameter ("n", "e") of key in base64url. */
static char *
rsa_param(EVP_PKEY *key, const char *name)
{
	BIGNUM		*bn = NULL;
	unsigned char	 raw[1024];
	int		 n;

	assert_int_equal(EVP_PKEY_get_bn_param(key, name, &bn), 1);
	n = BN_bn2bin(bn, raw);
	assert_true(n > 0 && (size_t)n <= sizeof(raw));
	BN_free(bn);
	return itest_auth_b64url(raw, (size_t)n);
}

/* The JWK of key's public half, with kid. */
static char *
jwk_of(EVP_PKEY *key, const char *kid)
{
	char	*n, *e, *s;
	json_t	*j;

	n = rsa_param(key, OSSL_PKEY_PARAM_RSA_N);
	e = rsa_param(key, OSSL_PKEY_PARAM_RSA_E);
	j = json_pack("{s:s,s:s,s:s,s:s,s:s}", "kty", "RSA", "kid", kid,
	    "use", "sig", "n", n, "e", e);
	assert_non_null(j);
	s = json_dumps(j, JSON_COMPACT);
	assert_non_null(s);
	json_decref(j);
	free(n);
	free(e);
	return s;
}

/* A self-signed certificate for key, DER in standard base64. */
static char *
cert_of(EVP_PKEY *key)
{
	X509		*x;
	X509_NAME	*name;
	unsigned char	*der = NULL;
	char		*s;
	int		 n;

	assert_non_null(x = X509_new());
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 1), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -60));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	name = X509_get_subject_name(x);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN",
	    MBSTRING_ASC, (const unsigned char *)"websands", -1, -1, 0), 1);
	assert_int_equal(X509_set_issuer_name(x, name), 1);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	n = i2d_X509(x, &der);
	assert_true(n > 0);
	s = b64std(der, (size_t)n);
	OPENSSL_free(der);
	X509_free(x);
	return s;
}

/* --- Forging with the real key ---------------------------------- */

/* The real header for the real key, as text. */
static void
real_header(char *out, size_t len)
{
	int	 n;

	n = snprintf(out, len, "{\"alg\":\"RS256\",\"typ\":\"at+jwt\","
	    "\"kid\":\"%s\"}", g.kid);
	assert_true(n > 0 && (size_t)n < len);
}

/* The claims of token with json set over them, as JSON text. */
static char *
claims_with(const char *token, json_t *set)
{
	json_t	*c;
	char	*s;

	c = itest_auth_jwt_json(token, 1);
	if (set != NULL)
		assert_int_equal(json_object_update(c, set), 0);
	s = json_dumps(c, JSON_COMPACT);
	assert_non_null(s);
	json_decref(c);
	return s;
}

/* A token whose claims are token's with set over them, real key. */
static char *
resign(const char *token, json_t *set)
{
	char	 header[256], *claims, *t;

	real_header(header, sizeof(header));
	claims = claims_with(token, set);
	t = forge(header, claims, SIG_RS256, g.real, NULL, 0);
	free(claims);
	return t;
}

/* --- The route ----------------------------------------------------- */

/* Sends token as the bearer to logout; fails unless refused with 401. */
static void
refused(const char *token, const char *what)
{
	struct itest_resp	 r;

	assert_int_equal(itest_auth_post("/api/v1/auth/logout", NULL, 0,
	    token, &r), 0);
	if (r.status != 401)
		fail_msg("%s: status %ld, wanted 401: %.500s", what,
		    r.status, buf_str(&r.body));
	assert_string_equal(itest_auth_code(&r), "UNAUTHORIZED");
	itest_resp_cleanup(&r);
}

/* As refused, then frees token. */
static void
refused_free(char *token, const char *what)
{
	refused(token, what);
	free(token);
}

/* A fresh session of the group's user. */
static void
session(struct itest_tokens *t)
{
	itest_auth_login(&g.u, t);
}

/* The refused tokens left the session alive: it logs out now. */
static void
still_alive(const struct itest_tokens *t)
{
	long	 status;

	status = itest_auth_logout(t->access);
	if (status != 204)
		fail_msg("the real token after the attacks: %ld (the "
		    "session was ended by a refused token?)", status);
}

static long
config(const char *name, long def)
{
	return itest_auth_config_long(name, def);
}

static int
group_setup(void **state)
{
	struct itest_tokens	 t;
	struct itest_resp	 r;
	json_t			*h, *keys, *k;
	const char		*kid, *alg;
	size_t			 i;

	(void)state;
	memset(&g, 0, sizeof(g));
	itest_auth_register(&g.u, "jwt");
	itest_auth_verify(&g.u);
	itest_auth_login(&g.u, &t);
	h = itest_auth_jwt_json(t.access, 0);
	kid = json_string_value(json_object_get(h, "kid"));
	alg = json_string_value(json_object_get(h, "alg"));
	assert_non_null(kid);
	assert_non_null(alg);
	/* The forging here is RSA; other algorithms are not tested. */
	assert_string_equal(alg, "RS256");
	snprintf(g.kid, sizeof(g.kid), "%s", kid);
	json_decref(h);
	assert_int_equal(itest_auth_logout(t.access), 204);

	assert_int_equal(itest_http("GET", "/.well-known/jwks.json", NULL,
	    NULL, 0, &r), 0);
	itest_auth_expect(&r, 200, "jwks");
	keys = json_object_get(r.json, "keys");
	json_array_foreach(keys, i, k) {
		if (json_is_string(json_object_get(k, "kid")) &&
		    strcmp(json_string_value(json_object_get(k, "kid")),
		    g.kid) == 0)
			g.jwk = json_incref(k);
	}
	itest_resp_cleanup(&r);
	if (g.jwk == NULL)
		fail_msg("kid %s is not in the JWKS", g.kid);
	/* The JWKS publishes no private member. */
	assert_null(json_object_get(g.jwk, "d"));
	assert_null(json_object_get(g.jwk, "p"));

	g.real = load_real_key(g.kid);
	assert_non_null(g.other = EVP_RSA_gen(RSA_BITS));
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(g.real);
	EVP_PKEY_free(g.other);
	json_decref(g.jwk);
	return 0;
}

/* --- Tests --------------------------------------------------------- */

/*
 * The control: the JWKS and the PEM hold one key, and a token forged
 * here with correct claims is accepted, so the refusals below are due
 * to what each attack changed and not to the forging.
 */
static void
test_jwt_forged_control(void **state)
{
	struct itest_tokens	 t;
	char			*n, *tok;
	json_t			*set;

	(void)state;
	n = rsa_param(g.real, OSSL_PKEY_PARAM_RSA_N);
	assert_string_equal(n, json_string_value(json_object_get(g.jwk,
	    "n")));
	free(n);
	session(&t);
	/* A new jti: the token differs from the real one, validly. */
	set = json_pack("{s:s}", "jti", "forged-control-jti");
	tok = resign(t.access, set);
	assert_string_not_equal(tok, t.access);
	assert_int_equal(itest_auth_logout(tok), 204);
	/* It ended the real token's session. */
	assert_int_equal(itest_auth_logout(t.access), 401);
	free(tok);
	json_decref(set);
}

/* alg none in any case, with or without a signature or kid. */
static void
test_jwt_alg_none(void **state)
{
	static const char	*algs[] = { "none", "None", "NONE", "nOnE" };
	struct itest_tokens	 t;
	char			 header[256], what[128];
	char			*claims, *tok, *sig, *admin;
	json_t			*set;
	size_t			 i;
	int			 with_kid;

	(void)state;
	session(&t);
	claims = claims_with(t.access, NULL);
	set = json_pack("{s:s}", "role", "admin");
	admin = claims_with(t.access, set);
	sig = itest_auth_jwt_part(t.access, 2);
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		for (with_kid = 0; with_kid < 2; with_kid++) {
			if (with_kid)
				snprintf(header, sizeof(header), "{\"alg\":"
				    "\"%s\",\"typ\":\"at+jwt\",\"kid\":\"%s\"}",
				    algs[i], g.kid);
			else
				snprintf(header, sizeof(header), "{\"alg\":"
				    "\"%s\",\"typ\":\"at+jwt\"}", algs[i]);
			snprintf(what, sizeof(what), "alg %s%s", algs[i],
			    with_kid ? " with kid" : "");
			tok = forge(header, claims, SIG_EMPTY, NULL, NULL, 0);
			refused(tok, what);
			/* The same without the last dot. */
			tok[strlen(tok) - 1] = '\0';
			refused(tok, what);
			free(tok);
			tok = forge(header, admin, SIG_EMPTY, NULL, NULL, 0);
			refused_free(tok, what);
			/* With the real token's signature kept. */
			tok = forge(header, claims, SIG_EMPTY, NULL, NULL, 0);
			tok = realloc(tok, strlen(tok) + strlen(sig) + 1);
			assert_non_null(tok);
			strcat(tok, sig);
			refused_free(tok, what);
		}
	}
	free(claims);
	free(admin);
	free(sig);
	json_decref(set);
	still_alive(&t);
}

/* One HMAC key the attacker might try. */
struct hkey {
	const char	*what;
	char		*key;
	size_t		 len;
};

/* Adds a copy of p[0..n) to the keys. */
static void
hkey_add(struct hkey *k, size_t *nk, const char *what, const void *p,
    size_t n)
{
	k[*nk].what = what;
	assert_non_null(k[*nk].key = malloc(n + 1));
	memcpy(k[*nk].key, p, n);
	k[*nk].len = n;
	(*nk)++;
}

/* Adds the public half of key, encoded as format/structure. */
static void
hkey_add_public(struct hkey *k, size_t *nk, const char *what,
    EVP_PKEY *key, const char *format, const char *structure)
{
	unsigned char	*d;
	size_t		 n;

	d = encode_public(key, format, structure, &n);
	hkey_add(k, nk, what, d, n);
	OPENSSL_free(d);
}

/* The public key of a JWKS entry, built from its n and e. */
static EVP_PKEY *
key_from_jwk(const json_t *jwk)
{
	static const char	*names[2] = { OSSL_PKEY_PARAM_RSA_N,
				    OSSL_PKEY_PARAM_RSA_E };
	OSSL_PARAM_BLD		*bld;
	OSSL_PARAM		*params;
	EVP_PKEY_CTX		*ctx;
	EVP_PKEY		*k = NULL;
	BIGNUM			*bn[2];
	unsigned char		*raw;
	const char		*v;
	size_t			 len;
	int			 i;

	assert_non_null(bld = OSSL_PARAM_BLD_new());
	for (i = 0; i < 2; i++) {
		v = json_string_value(json_object_get(jwk, i ? "e" : "n"));
		assert_non_null(v);
		assert_int_equal(b64url_decode_alloc(v, strlen(v), &raw,
		    &len), 0);
		assert_non_null(bn[i] = BN_bin2bn(raw, (int)len, NULL));
		free(raw);
		assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, names[i], bn[i]),
		    1);
	}
	assert_non_null(params = OSSL_PARAM_BLD_to_param(bld));
	assert_non_null(ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL));
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY,
	    params), 1);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn[0]);
	BN_free(bn[1]);
	return k;
}

/*
 * HS256 and HS512 keyed with every form of the public key, taken from
 * the JWKS and from the private PEM, under the real kid or none.
 */
static void
test_jwt_hmac_public_key(void **state)
{
	struct itest_tokens	 t;
	struct hkey		 k[10];
	EVP_PKEY		*pub;
	const char		*n;
	char			 header[256], what[160], *claims, *text;
	unsigned char		*raw;
	size_t			 nk = 0, i, len;
	int			 alg, with_kid;

	(void)state;
	session(&t);
	claims = claims_with(t.access, NULL);
	pub = key_from_jwk(g.jwk);
	hkey_add_public(k, &nk, "JWKS key, SPKI PEM", pub, "PEM",
	    "SubjectPublicKeyInfo");
	hkey_add_public(k, &nk, "private PEM's key, SPKI PEM", g.real, "PEM",
	    "SubjectPublicKeyInfo");
	/* Both sources give the same text, as they must. */
	assert_int_equal(k[0].len, k[1].len);
	assert_memory_equal(k[0].key, k[1].key, k[0].len);
	hkey_add(k, &nk, "SPKI PEM without its last newline", k[0].key,
	    k[0].len - 1);
	hkey_add_public(k, &nk, "JWKS key, PKCS#1 PEM", pub, "PEM",
	    "type-specific");
	hkey_add_public(k, &nk, "JWKS key, SPKI DER", pub, "DER",
	    "SubjectPublicKeyInfo");
	hkey_add_public(k, &nk, "JWKS key, PKCS#1 DER", pub, "DER",
	    "type-specific");
	n = json_string_value(json_object_get(g.jwk, "n"));
	assert_int_equal(b64url_decode_alloc(n, strlen(n), &raw, &len), 0);
	hkey_add(k, &nk, "JWKS modulus bytes", raw, len);
	free(raw);
	hkey_add(k, &nk, "JWKS n text", n, strlen(n));
	assert_non_null(text = json_dumps(g.jwk, JSON_COMPACT));
	hkey_add(k, &nk, "JWK JSON", text, strlen(text));
	free(text);

	for (i = 0; i < nk; i++) {
		for (alg = 0; alg < 2; alg++) {
			for (with_kid = 0; with_kid < 2; with_kid++) {
				snprintf(header, sizeof(header), "{\"alg\":"
				    "\"%s\",\"typ\":\"at+jwt\"%s%s%s}",
				    alg ? "HS512" : "HS256",
				    with_kid ? ",\"kid\":\"" : "",
				    with_kid ? g.kid : "",
				    with_kid ? "\"" : "");
				snprintf(what, sizeof(what), "%s keyed with "
				    "the %s%s", alg ? "HS512" : "HS256",
				    k[i].what, with_kid ? ", real kid" : "");
				refused_free(forge(header, claims, alg ?
				    SIG_HS512 : SIG_HS256, NULL, k[i].key,
				    k[i].len), what);
			}
		}
	}
	for (i = 0; i < nk; i++)
		free(k[i].key);
	EVP_PKEY_free(pub);
	free(claims);
	still_alive(&t);
}

/* No signature, a cut one or one changed by a character. */
static void
test_jwt_stripped_signature(void **state)
{
	struct itest_tokens	 t;
	char			*tok, *dot;
	size_t			 len;

	(void)state;
	session(&t);
	len = strlen(t.access);
	assert_non_null(tok = strdup(t.access));
	dot = strrchr(tok, '.');
	dot[1] = '\0';
	refused(tok, "signature stripped, dot kept");
	dot[0] = '\0';
	refused(tok, "signature and its dot stripped");
	free(tok);

	assert_non_null(tok = strndup(t.access, len - 4));
	refused_free(tok, "signature cut short");
	assert_non_null(tok = strdup(t.access));
	tok[len - 2] = tok[len - 2] == 'A' ? 'B' : 'A';
	refused_free(tok, "one character of the signature changed");
	assert_non_null(tok = malloc(len + 2));
	snprintf(tok, len + 2, "%s=", t.access);
	refused_free(tok, "signature with a padding character");
	still_alive(&t);
}

/* The signature of another token over this token's parts. */
static void
test_jwt_foreign_signature(void **state)
{
	struct itest_tokens	 t, other;
	struct itest_user	 u2;
	char			*h, *p, *s, *tok;

	(void)state;
	session(&t);
	/* Another session of the same user, and a session of another. */
	session(&other);
	h = itest_auth_jwt_part(t.access, 0);
	p = itest_auth_jwt_part(t.access, 1);
	s = itest_auth_jwt_part(other.access, 2);
	assert_non_null(tok = malloc(strlen(h) + strlen(p) + strlen(s) + 3));
	sprintf(tok, "%s.%s.%s", h, p, s);
	refused_free(tok, "signature of the user's other session");
	free(s);
	assert_int_equal(itest_auth_logout(other.access), 204);

	itest_auth_new_user(&u2, &other, "jwtother");
	s = itest_auth_jwt_part(other.access, 2);
	assert_non_null(tok = malloc(strlen(h) + strlen(p) + strlen(s) + 3));
	sprintf(tok, "%s.%s.%s", h, p, s);
	refused_free(tok, "signature of another user's token");
	free(s);
	/* And this token's signature over the other's claims. */
	free(p);
	p = itest_auth_jwt_part(other.access, 1);
	s = itest_auth_jwt_part(t.access, 2);
	assert_non_null(tok = malloc(strlen(h) + strlen(p) + strlen(s) + 3));
	sprintf(tok, "%s.%s.%s", h, p, s);
	refused_free(tok, "this signature over another user's claims");
	assert_int_equal(itest_auth_logout(other.access), 204);
	free(h);
	free(p);
	free(s);
	still_alive(&t);
}

/* A key of the test's own, presented under the real kid. */
static void
test_jwt_other_key_real_kid(void **state)
{
	struct itest_tokens	 t;
	char			 header[256], *claims, *tok;
	json_t			*set;

	(void)state;
	session(&t);
	real_header(header, sizeof(header));
	claims = claims_with(t.access, NULL);
	tok = forge(header, claims, SIG_RS256, g.other, NULL, 0);
	refused_free(tok, "RS256 by another key, real kid");
	free(claims);
	set = json_pack("{s:s}", "role", "admin");
	claims = claims_with(t.access, set);
	tok = forge(header, claims, SIG_RS256, g.other, NULL, 0);
	refused_free(tok, "RS256 by another key, role admin");
	free(claims);
	json_decref(set);
	still_alive(&t);
}

/* The real key under another algorithm than the one pinned to it. */
static void
test_jwt_alg_pinned(void **state)
{
	struct itest_tokens	 t;
	char			 header[256], *claims, *tok;

	(void)state;
	session(&t);
	claims = claims_with(t.access, NULL);
	snprintf(header, sizeof(header), "{\"alg\":\"PS256\",\"typ\":"
	    "\"at+jwt\",\"kid\":\"%s\"}", g.kid);
	tok = forge(header, claims, SIG_PS256, g.real, NULL, 0);
	refused_free(tok, "PS256 with the real key");
	snprintf(header, sizeof(header), "{\"alg\":\"RS512\",\"typ\":"
	    "\"at+jwt\",\"kid\":\"%s\"}", g.kid);
	tok = forge(header, claims, SIG_RS512, g.real, NULL, 0);
	refused_free(tok, "RS512 with the real key");
	snprintf(header, sizeof(header), "{\"alg\":\"rs256\",\"typ\":"
	    "\"at+jwt\",\"kid\":\"%s\"}", g.kid);
	tok = forge(header, claims, SIG_RS256, g.real, NULL, 0);
	refused_free(tok, "alg rs256 in lower case");
	free(claims);
	still_alive(&t);
}

/* A wrong typ, though signed with the real key. */
static void
test_jwt_wrong_typ(void **state)
{
	static const char	*typs[] = { "\"JWT\"", "\"AT+JWT\"",
				    "\"application/at+jwt\"", "\"\"",
				    "null", "1" };
	struct itest_tokens	 t;
	char			 header[256], what[64], *claims, *tok;
	size_t			 i;

	(void)state;
	session(&t);
	claims = claims_with(t.access, NULL);
	for (i = 0; i < sizeof(typs) / sizeof(typs[0]); i++) {
		snprintf(header, sizeof(header), "{\"alg\":\"RS256\","
		    "\"typ\":%s,\"kid\":\"%s\"}", typs[i], g.kid);
		snprintf(what, sizeof(what), "typ %s", typs[i]);
		tok = forge(header, claims, SIG_RS256, g.real, NULL, 0);
		refused_free(tok, what);
	}
	snprintf(header, sizeof(header), "{\"alg\":\"RS256\",\"kid\":"
	    "\"%s\"}", g.kid);
	tok = forge(header, claims, SIG_RS256, g.real, NULL, 0);
	refused_free(tok, "no typ");
	free(claims);
	still_alive(&t);
}

/*
 * Appends tmpl to out with each "@K" replaced by the real kid and
 * each "@1".."@3" by the matching value of v (NULL-safe).
 */
static void
fill(struct buf *out, const char *tmpl, const char * const v[3])
{
	const char	*p;

	buf_reset(out);
	for (p = tmpl; *p != '\0'; p++) {
		if (p[0] == '@' && p[1] == 'K') {
			assert_int_equal(buf_puts(out, g.kid), 0);
			p++;
		} else if (p[0] == '@' && p[1] >= '1' && p[1] <= '3') {
			assert_int_equal(buf_puts(out, v[p[1] - '1'] != NULL ?
			    v[p[1] - '1'] : ""), 0);
			p++;
		} else
			assert_int_equal(buf_putc(out, *p), 0);
	}
}

/* kid values made to reach files, SQL or formats, signed two ways. */
static void
test_jwt_kid_injection(void **state)
{
	static const char	*kids[] = {
		"\"../../../../../../dev/null\"", "\"/dev/null\"",
		"\"../keys/@K\"", "\"@K/../@K\"", "\"@K.pem\"",
		"\"@K' OR '1'='1\"", "\"' UNION SELECT 'x' --\"",
		"\"|id\"", "\"$(id)\"", "\"%s%n%x%n\"", "\"\"",
		"\"@K \"", "\"@K\\u0000\"", "\"@K\\n\"", "1", "null",
		"[\"@K\"]", "{\"kid\":\"@K\"}", "\"http://127.0.0.1:1/k\"",
		"\"@1\"",
	};
	struct itest_tokens	 t;
	struct buf		 kid, h;
	char			 longkid[2100], what[3000], *claims;
	const char		*v[3] = { longkid, NULL, NULL };
	size_t			 i;

	(void)state;
	session(&t);
	claims = claims_with(t.access, NULL);
	memset(longkid, 'k', sizeof(longkid) - 1);
	longkid[sizeof(longkid) - 1] = '\0';
	buf_init(&kid, 0);
	buf_init(&h, 0);
	for (i = 0; i < sizeof(kids) / sizeof(kids[0]); i++) {
		fill(&kid, kids[i], v);
		buf_reset(&h);
		assert_int_equal(buf_printf(&h, "{\"alg\":\"RS256\","
		    "\"typ\":\"at+jwt\",\"kid\":%s}", buf_str(&kid)), 0);
		snprintf(what, sizeof(what), "RS256, kid %.100s",
		    buf_str(&kid));
		refused_free(forge(buf_str(&h), claims, SIG_RS256, g.real,
		    NULL, 0), what);
		/* The /dev/null trick: HMAC with an empty key. */
		buf_reset(&h);
		assert_int_equal(buf_printf(&h, "{\"alg\":\"HS256\","
		    "\"typ\":\"at+jwt\",\"kid\":%s}", buf_str(&kid)), 0);
		snprintf(what, sizeof(what), "HS256 empty key, kid %.100s",
		    buf_str(&kid));
		refused_free(forge(buf_str(&h), claims, SIG_HS256, NULL, "",
		    0), what);
	}
	buf_cleanup(&kid);
	buf_cleanup(&h);
	free(claims);
	still_alive(&t);
}

/* jwk, jku, x5c, x5u and crit in the header. */
static void
test_jwt_embedded_keys(void **state)
{
	/* @1 is a JWK, @2 the base URL, @3 a certificate. */
	static const char	*headers[] = {
		"{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"@K\","
		    "\"jwk\":@1}",
		"{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"jwk\":@1}",
		"{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"@K\","
		    "\"jku\":\"@2/.well-known/jwks.json\"}",
		"{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"@K\","
		    "\"jku\":\"http://127.0.0.1:1/jwks.json\"}",
		"{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"@K\","
		    "\"x5c\":[\"@3\"]}",
		"{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"@K\","
		    "\"x5u\":\"http://127.0.0.1:1/cert.pem\"}",
		"{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"@K\","
		    "\"crit\":[\"exp\"],\"exp\":1}",
		/* A duplicate alg: a lax parser keeps the last one. */
		"{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"@K\","
		    "\"alg\":\"none\"}",
	};
	struct itest_tokens	 t;
	struct buf		 h;
	char			 what[600], *claims, *jwk[2], *x5c;
	const char		*v[3];
	size_t			 i;
	int			 real;

	(void)state;
	session(&t);
	claims = claims_with(t.access, NULL);
	jwk[0] = jwk_of(g.other, g.kid);
	jwk[1] = jwk_of(g.real, g.kid);
	x5c = cert_of(g.other);
	buf_init(&h, 0);
	/*
	 * Each header signed by the test's key (the attack) and by the
	 * real key (the member alone must be refused).
	 */
	for (real = 0; real < 2; real++) {
		v[0] = jwk[real];
		v[1] = itest_env("WS_BASE_URL");
		v[2] = x5c;
		for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
			fill(&h, headers[i], v);
			snprintf(what, sizeof(what), "%s, header %.400s",
			    real ? "real key" : "test's key", buf_str(&h));
			refused_free(forge(buf_str(&h), claims, SIG_RS256,
			    real ? g.real : g.other, NULL, 0), what);
		}
	}
	buf_cleanup(&h);
	free(jwk[0]);
	free(jwk[1]);
	free(x5c);
	free(claims);
	still_alive(&t);
}

/* Time claims out of range, signed with the real key. */
static void
test_jwt_expired(void **state)
{
	struct itest_tokens	 t;
	json_int_t		 now = (json_int_t)time(NULL);
	json_int_t		 leeway, ttl, exp;
	json_t			*set;

	(void)state;
	session(&t);
	leeway = config("JWT_LEEWAY_S", LEEWAY_DEFAULT);
	ttl = config("ACCESS_TOKEN_TTL_S", ACCESS_TTL_DEFAULT);
	exp = now - leeway - 120;
	set = json_pack("{s:I,s:I,s:I}", "iat", exp - ttl, "nbf", exp - ttl,
	    "exp", exp);
	refused_free(resign(t.access, set), "expired");
	json_decref(set);
	/* Just past the leeway. */
	exp = now - leeway - 10;
	set = json_pack("{s:I,s:I,s:I}", "iat", exp - ttl + 60, "nbf",
	    exp - ttl + 60, "exp", exp);
	refused_free(resign(t.access, set), "expired just past the leeway");
	json_decref(set);
	/* A lifetime far past the access-token lifetime. */
	set = json_pack("{s:I}", "exp", now + 365 * 86400);
	refused_free(resign(t.access, set), "exp a year away");
	json_decref(set);
	set = json_pack("{s:s}", "exp", "9999999999");
	refused_free(resign(t.access, set), "exp as a string");
	json_decref(set);
	still_alive(&t);
}

static void
test_jwt_not_yet_valid(void **state)
{
	struct itest_tokens	 t;
	json_int_t		 now = (json_int_t)time(NULL);
	json_int_t		 leeway, nbf;
	json_t			*set;

	(void)state;
	session(&t);
	leeway = config("JWT_LEEWAY_S", LEEWAY_DEFAULT);
	nbf = now + leeway + 120;
	set = json_pack("{s:I,s:I,s:I}", "iat", nbf, "nbf", nbf, "exp",
	    nbf + 600);
	refused_free(resign(t.access, set), "not yet valid");
	json_decref(set);
	/* nbf alone in the future. */
	set = json_pack("{s:I}", "nbf", nbf);
	refused_free(resign(t.access, set), "nbf in the future");
	json_decref(set);
	still_alive(&t);
}

/* Removes one claim and signs the rest with the real key. */
static char *
resign_without(const char *token, const char *claim)
{
	char	 header[256], *claims, *tok;
	json_t	*c;

	c = itest_auth_jwt_json(token, 1);
	assert_int_equal(json_object_del(c, claim), 0);
	claims = json_dumps(c, JSON_COMPACT);
	assert_non_null(claims);
	real_header(header, sizeof(header));
	tok = forge(header, claims, SIG_RS256, g.real, NULL, 0);
	free(claims);
	json_decref(c);
	return tok;
}

static void
test_jwt_wrong_iss(void **state)
{
	static const char	*bad[] = { "websands-evil", "", "WebSands",
				    "websands ", "https://evil.example" };
	struct itest_tokens	 t;
	char			 what[128];
	json_t			*set;
	size_t			 i;

	(void)state;
	session(&t);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		set = json_pack("{s:s}", "iss", bad[i]);
		snprintf(what, sizeof(what), "iss \"%s\"", bad[i]);
		refused_free(resign(t.access, set), what);
		json_decref(set);
	}
	refused_free(resign_without(t.access, "iss"), "no iss");
	still_alive(&t);
}

static void
test_jwt_wrong_aud(void **state)
{
	static const char	*bad[] = { "other-service", "", "WebSands",
				    "websands " };
	struct itest_tokens	 t;
	char			 what[128];
	json_t			*set;
	size_t			 i;

	(void)state;
	session(&t);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		set = json_pack("{s:s}", "aud", bad[i]);
		snprintf(what, sizeof(what), "aud \"%s\"", bad[i]);
		refused_free(resign(t.access, set), what);
		json_decref(set);
	}
	set = json_pack("{s:[s]}", "aud", "other-service");
	refused_free(resign(t.access, set), "aud [\"other-service\"]");
	json_decref(set);
	refused_free(resign_without(t.access, "aud"), "no aud");
	still_alive(&t);
}

/* The opaque refresh token is no access token. */
static void
test_jwt_refresh_as_access(void **state)
{
	struct itest_tokens	 t;

	(void)state;
	session(&t);
	refused(t.refresh, "the refresh token as the bearer");
	still_alive(&t);
}

/* Claims edited under the original signature. */
static void
test_jwt_payload_edited(void **state)
{
	struct itest_tokens	 t;
	json_t			*c;
	char			*h, *s, *p, *text, *tok;
	size_t			 i;
	const struct {
		const char	*what;
		const char	*claim;
		json_t		*value;
	} edits[] = {
		{ "role admin", "role", json_string("admin") },
		{ "another sub", "sub",
		    json_string("00000000-0000-0000-0000-000000000001") },
		{ "another sid", "sid",
		    json_string("00000000-0000-0000-0000-000000000002") },
		{ "exp later", "exp", json_integer((json_int_t)time(NULL) +
		    600) },
	};

	(void)state;
	session(&t);
	h = itest_auth_jwt_part(t.access, 0);
	s = itest_auth_jwt_part(t.access, 2);
	for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		c = itest_auth_jwt_json(t.access, 1);
		assert_int_equal(json_object_set_new(c, edits[i].claim,
		    edits[i].value), 0);
		text = json_dumps(c, JSON_COMPACT);
		assert_non_null(text);
		p = itest_auth_b64url(text, strlen(text));
		assert_non_null(tok = malloc(strlen(h) + strlen(p) +
		    strlen(s) + 3));
		sprintf(tok, "%s.%s.%s", h, p, s);
		refused_free(tok, edits[i].what);
		free(p);
		free(text);
		json_decref(c);
	}
	/* The same claims spelt with other whitespace. */
	c = itest_auth_jwt_json(t.access, 1);
	text = json_dumps(c, JSON_INDENT(1));
	p = itest_auth_b64url(text, strlen(text));
	assert_non_null(tok = malloc(strlen(h) + strlen(p) + strlen(s) + 3));
	sprintf(tok, "%s.%s.%s", h, p, s);
	refused_free(tok, "claims re-spaced");
	free(p);
	free(text);
	json_decref(c);
	free(h);
	free(s);
	still_alive(&t);
}

/* A 64 KiB token is refused quickly, by nginx or the responder. */
static void
test_jwt_huge_token(void **state)
{
	struct itest_tokens	 t;
	struct itest_resp	 r;
	char			*tok, *h, *s;
	size_t			 i;

	(void)state;
	session(&t);
	h = itest_auth_jwt_part(t.access, 0);
	s = itest_auth_jwt_part(t.access, 2);
	assert_non_null(tok = malloc(HUGE_TOKEN + 1));
	/* The real header and signature around a huge payload. */
	memset(tok, 'A', HUGE_TOKEN);
	tok[HUGE_TOKEN] = '\0';
	memcpy(tok, h, strlen(h));
	tok[strlen(h)] = '.';
	i = HUGE_TOKEN - strlen(s) - 1;
	tok[i] = '.';
	memcpy(tok + i + 1, s, strlen(s));
	assert_int_equal(itest_auth_post("/api/v1/auth/logout", NULL, 0,
	    tok, &r), 0);
	print_message("64 KiB token: %ld in %.3f s\n", r.status, r.seconds);
	if (r.status != 431 && r.status != 401)
		fail_msg("64 KiB token: status %ld, wanted 431 or 401: %s",
		    r.status, buf_str(&r.body));
	assert_true(r.seconds < HUGE_ANSWER_S);
	itest_resp_cleanup(&r);
	free(tok);
	free(h);
	free(s);
	still_alive(&t);
}

/* Things that are no JWT at all. */
static void
test_jwt_garbage(void **state)
{
	static const char	*junk[] = { "garbage", "a.b.c", "...", ".",
				    "..", "eyJ", "Bearer", "null", "{}",
				    "eyJhbGciOiJub25lIn0", "a.b.c.d",
				    "a.b.c.d.e", "%00", "h.p.s!",
				    "\xc3\xa9.\xc3\xa9.\xc3\xa9",
				    "' OR '1'='1", "%s%n%x%n" };
	struct itest_tokens	 t;
	struct itest_resp	 r;
	struct buf		 hdr;
	const char		*hv[3];
	char			 what[128];
	size_t			 i;

	(void)state;
	session(&t);
	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		snprintf(what, sizeof(what), "garbage \"%s\"", junk[i]);
		refused(junk[i], what);
	}
	/* The real token under other schemes, or with the parts reversed. */
	buf_init(&hdr, 0);
	assert_int_equal(buf_printf(&hdr, "Authorization: Basic %s",
	    t.access), 0);
	hv[0] = buf_str(&hdr);
	hv[1] = NULL;
	assert_int_equal(itest_http("POST", "/api/v1/auth/logout", hv, NULL,
	    0, &r), 0);
	itest_auth_expect(&r, 401, "Basic scheme");
	itest_resp_cleanup(&r);
	buf_reset(&hdr);
	assert_int_equal(buf_printf(&hdr, "Authorization: %s", t.access), 0);
	hv[0] = buf_str(&hdr);
	assert_int_equal(itest_http("POST", "/api/v1/auth/logout", hv, NULL,
	    0, &r), 0);
	itest_auth_expect(&r, 401, "no scheme");
	itest_resp_cleanup(&r);
	buf_cleanup(&hdr);
	still_alive(&t);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_jwt_forged_control),
		cmocka_unit_test(test_jwt_alg_none),
		cmocka_unit_test(test_jwt_hmac_public_key),
		cmocka_unit_test(test_jwt_stripped_signature),
		cmocka_unit_test(test_jwt_foreign_signature),
		cmocka_unit_test(test_jwt_other_key_real_kid),
		cmocka_unit_test(test_jwt_alg_pinned),
		cmocka_unit_test(test_jwt_wrong_typ),
		cmocka_unit_test(test_jwt_kid_injection),
		cmocka_unit_test(test_jwt_embedded_keys),
		cmocka_unit_test(test_jwt_expired),
		cmocka_unit_test(test_jwt_not_yet_valid),
		cmocka_unit_test(test_jwt_wrong_iss),
		cmocka_unit_test(test_jwt_wrong_aud),
		cmocka_unit_test(test_jwt_refresh_as_access),
		cmocka_unit_test(test_jwt_payload_edited),
		cmocka_unit_test(test_jwt_huge_token),
		cmocka_unit_test(test_jwt_garbage),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
