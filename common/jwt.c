/*
 * JWS compact tokens over the keys of keyring.c.  Verification runs in
 * a fixed order, each step trusting only what the steps before it
 * checked: size and shape, then the header (which only selects a key
 * we already hold and must agree with it), then the signature over the
 * bytes as received, and only then the claims.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "b64url.h"
#include "buf.h"
#include "error.h"
#include "jwt.h"
#include "keyring.h"
#include "log.h"

/* Our header is about 80 bytes; 512 encoded characters leave room. */
#define JWT_HEADER_B64_MAX	512
#define JWT_TYP_MAX		32
/* Long enough for any sub, sid or jti WebSands issues. */
#define JWT_ID_MAX		256

static void
jwt_refuse(const char *why, const struct keyring_key *k)
{
	log_event(LOG_INFO, "jwt_refused", "reason", why, "kid",
	    k != NULL ? keyring_key_kid(k) : NULL, NULL);
}

/* Whether s is a typ we are willing to put in or expect of a header. */
static int
jwt_typ_ok(const char *s)
{
	size_t	 i;

	if (s == NULL || *s == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (i == JWT_TYP_MAX || s[i] <= ' ' || s[i] > '~')
			return 0;
	return 1;
}

static int
jwt_append_b64(struct buf *b, const void *p, size_t n)
{
	char	*s;
	int	 rc;

	if ((rc = b64url_encode_alloc(p, n, &s)) != 0)
		return rc;
	rc = buf_puts(b, s);
	free(s);
	return rc;
}

int
jwt_sign(const struct keyring *kr, const json_t *claims, const char *typ,
    char **out)
{
	const struct keyring_key *k;
	struct buf	 b;
	json_t		*hdr = NULL;
	char		*htext = NULL, *ctext = NULL;
	unsigned char	 sig[KEYRING_SIG_MAX];
	size_t		 siglen;
	int		 rc = WS_ERR_INVALID;

	*out = NULL;
	buf_init(&b, JWT_MAX_LEN);
	if (!json_is_object(claims) || !jwt_typ_ok(typ))
		goto out;
	if ((k = keyring_signer(kr)) == NULL) {
		rc = WS_ERR_UNAVAILABLE;
		log_event(LOG_ERROR, "jwt_no_signing_key", "reason",
		    "KEYS_DIR has no active key; run websands keys rotate",
		    NULL);
		goto out;
	}
	rc = WS_ERR_NOMEM;
	hdr = json_pack("{s:s, s:s, s:s}", "alg",
	    keyring_alg_name(keyring_key_alg(k)), "typ", typ, "kid",
	    keyring_key_kid(k));
	if (hdr == NULL ||
	    (htext = json_dumps(hdr, JSON_COMPACT)) == NULL ||
	    (ctext = json_dumps(claims, JSON_COMPACT)) == NULL)
		goto out;
	if (strlen(ctext) > JWT_CLAIMS_MAX) {
		rc = WS_ERR_TOOBIG;
		goto out;
	}
	if ((rc = jwt_append_b64(&b, htext, strlen(htext))) != 0 ||
	    (rc = buf_putc(&b, '.')) != 0 ||
	    (rc = jwt_append_b64(&b, ctext, strlen(ctext))) != 0)
		goto out;
	if ((rc = keyring_sign(k, b.data, b.len, sig, sizeof(sig),
	    &siglen)) != 0)
		goto out;
	if ((rc = buf_putc(&b, '.')) != 0 ||
	    (rc = jwt_append_b64(&b, sig, siglen)) != 0)
		goto out;
	/* The buffer's memory is plain malloc'ed text: hand it over. */
	*out = b.data;
	buf_init(&b, 0);
	rc = 0;
out:
	buf_cleanup(&b);
	free(htext);
	free(ctext);
	json_decref(hdr);
	return rc;
}

/* Parses decoded JSON text that must be one object, no duplicates. */
static json_t *
jwt_parse_object(const unsigned char *p, size_t n)
{
	json_error_t	 jerr;
	json_t		*o;

	/*
	 * jansson refuses invalid UTF-8, "\u0000" inside strings (without
	 * JSON_ALLOW_NUL) and anything after the value.
	 */
	o = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &jerr);
	if (o != NULL && !json_is_object(o)) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

/*
 * Checks the header members and finds the key they name.  Returns the
 * key, or NULL having set *why.
 */
static const struct keyring_key *
jwt_header_key(const struct keyring *kr, json_t *hdr,
    const struct jwt_expect *e, long long now, const char **why)
{
	const struct keyring_key *k;
	const json_t	*alg, *typ, *kid;
	json_t		*v;
	const char	*name;

	json_object_foreach(hdr, name, v) {
		if (strcmp(name, "alg") != 0 && strcmp(name, "typ") != 0 &&
		    strcmp(name, "kid") != 0) {
			/* Covers jwk, jku, x5c, x5u, crit, b64 and the rest. */
			*why = "header member not allowed";
			return NULL;
		}
	}
	alg = json_object_get(hdr, "alg");
	typ = json_object_get(hdr, "typ");
	kid = json_object_get(hdr, "kid");
	if (!json_is_string(alg) || !json_is_string(typ) ||
	    !json_is_string(kid)) {
		*why = "header lacks a string alg, typ or kid";
		return NULL;
	}
	/* Compared only with the kids in memory, by length and bytes. */
	k = keyring_find(kr, json_string_value(kid), json_string_length(kid),
	    now);
	if (k == NULL) {
		*why = "unknown or retired kid";
		return NULL;
	}
	if (strcmp(json_string_value(alg),
	    keyring_alg_name(keyring_key_alg(k))) != 0 ||
	    json_string_length(alg) != strlen(json_string_value(alg))) {
		*why = "alg differs from the key's";
		return NULL;
	}
	if (strcmp(json_string_value(typ), e->typ) != 0 ||
	    json_string_length(typ) != strlen(e->typ)) {
		*why = "wrong typ";
		return NULL;
	}
	return k;
}

static int
jwt_claim_str(const json_t *c, const char *name, const char *want)
{
	const json_t	*v = json_object_get(c, name);
	size_t		 len;

	if (!json_is_string(v))
		return 0;
	len = json_string_length(v);
	if (want != NULL)
		return len == strlen(want) &&
		    strcmp(json_string_value(v), want) == 0;
	return len > 0 && len <= JWT_ID_MAX;
}

static int
jwt_claim_time(const json_t *c, const char *name, long long *t)
{
	const json_t	*v = json_object_get(c, name);
	json_int_t	 i;

	/* A real (1.5, 1e20) or a string is refused, as is a negative. */
	if (!json_is_integer(v))
		return 0;
	i = json_integer_value(v);
	if (i < 0 || i > JWT_TIME_MAX)
		return 0;
	*t = (long long)i;
	return 1;
}

/* Checks the claims of a token whose signature is valid. */
static const char *
jwt_check_claims(const json_t *c, const struct jwt_expect *e,
    long long now)
{
	long long	 exp, nbf, iat;

	if (!jwt_claim_str(c, "iss", e->issuer))
		return "wrong or missing iss";
	if (!jwt_claim_str(c, "aud", e->audience))
		return "wrong or missing aud";
	if (!jwt_claim_str(c, "sub", NULL) ||
	    !jwt_claim_str(c, "sid", NULL) ||
	    !jwt_claim_str(c, "jti", NULL))
		return "missing sub, sid or jti";
	if (!jwt_claim_time(c, "exp", &exp) ||
	    !jwt_claim_time(c, "nbf", &nbf) ||
	    !jwt_claim_time(c, "iat", &iat))
		return "exp, nbf or iat missing or not an integer time";
	/* All values are at most JWT_TIME_MAX: these sums cannot overflow. */
	if (now >= exp + e->leeway)
		return "expired";
	if (nbf > now + e->leeway)
		return "not yet valid";
	if (iat > now + e->leeway)
		return "issued in the future";
	if (exp < iat || exp < nbf)
		return "exp before iat or nbf";
	if (e->max_lifetime > 0 && exp - iat > e->max_lifetime)
		return "lifetime longer than allowed";
	return NULL;
}

static int
jwt_expect_ok(const struct jwt_expect *e)
{
	return e != NULL && e->issuer != NULL && e->audience != NULL &&
	    jwt_typ_ok(e->typ) && e->leeway >= 0 &&
	    e->leeway <= JWT_LEEWAY_MAX && e->now >= 0 &&
	    e->now <= JWT_TIME_MAX && e->max_lifetime >= 0;
}

int
jwt_verify(const struct keyring *kr, const char *token,
    const struct jwt_expect *e, json_t **claims_out)
{
	const struct keyring_key *k = NULL;
	const char	*why = "malformed token", *d1, *d2;
	unsigned char	 hbuf[JWT_HEADER_B64_MAX];
	unsigned char	 sig[KEYRING_SIG_MAX];
	unsigned char	*payload = NULL;
	size_t		 len, hlen, plen, slen, n, siglen;
	json_t		*hdr = NULL, *claims = NULL;
	long long	 now;
	int		 rc = WS_ERR_INVALID;

	if (claims_out != NULL)
		*claims_out = NULL;
	if (!jwt_expect_ok(e)) {
		log_event(LOG_ERROR, "jwt_bad_expectations", NULL);
		return WS_ERR_INVALID;
	}
	now = e->now != 0 ? e->now : (long long)time(NULL);
	if (token == NULL)
		goto out;
	/* strnlen stops early, so a huge token costs no more than a limit. */
	if ((len = strnlen(token, JWT_MAX_LEN + 1)) > JWT_MAX_LEN) {
		why = "token too long";
		goto out;
	}
	if ((d1 = memchr(token, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token))) ==
	    NULL ||
	    memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)) != NULL) {
		why = "not three parts";
		goto out;
	}
	hlen = (size_t)(d1 - token);
	plen = (size_t)(d2 - d1 - 1);
	slen = len - (size_t)(d2 + 1 - token);
	if (hlen == 0 || plen == 0 || slen == 0) {
		why = "empty part";
		goto out;
	}
	if (hlen > JWT_HEADER_B64_MAX ||
	    b64url_decode(token, hlen, hbuf, sizeof(hbuf), &n) != 0 ||
	    (hdr = jwt_parse_object(hbuf, n)) == NULL) {
		why = "header is not a base64url JSON object";
		goto out;
	}
	if ((k = jwt_header_key(kr, hdr, e, now, &why)) == NULL)
		goto out;
	if (b64url_decode(d2 + 1, slen, sig, sizeof(sig), &siglen) != 0) {
		why = "signature is not base64url of a valid length";
		goto out;
	}
	/* The signature covers the header and payload as received. */
	if (keyring_verify(k, token, (size_t)(d2 - token), sig,
	    siglen) != 0) {
		why = "bad signature";
		goto out;
	}
	if (b64url_decode_alloc(d1 + 1, plen, &payload, &n) != 0 ||
	    (claims = jwt_parse_object(payload, n)) == NULL) {
		why = "claims are not a base64url JSON object";
		goto out;
	}
	if ((why = jwt_check_claims(claims, e, now)) != NULL)
		goto out;
	if (claims_out != NULL) {
		*claims_out = claims;
		claims = NULL;
	}
	rc = 0;
out:
	if (rc != 0)
		jwt_refuse(why, k);
	json_decref(hdr);
	json_decref(claims);
	free(payload);
	return rc;
}
