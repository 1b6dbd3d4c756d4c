/*
 * The signing keys of keyring.h: loading KEYS_DIR, creating and
 * rotating keys, the JWKS document and the signature primitives.  All
 * of the OpenSSL in WebSands' token code lives here, so jwt.c deals
 * only in JOSE and never sees a key's internals.
 *
 * Files are opened relative to a descriptor of the directory, so a
 * kid never becomes part of a path string, and writes go to a
 * temporary file that is renamed into place under an exclusive lock on
 * the directory, so two rotations cannot interleave.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <sodium.h>

#include "b64url.h"
#include "error.h"
#include "keyring.h"
#include "log.h"

#define KR_KID_BYTES	16
#define KR_PEM_MAX	(64 * 1024)	/* a 4096-bit RSA key is ~3.3 KiB */
#define KR_META_MAX	4096
#define KR_NAME_MAX	64		/* "<kid>.json" and temporaries */
/* Dates past this (year 9999) are nonsense, not a key's lifetime. */
#define KR_TIME_MAX	253402300799LL
#define KR_GRACE_MAX	(10LL * 366 * 24 * 3600)
#define KR_ES256_LEN	32		/* bytes of r, of s, of x, of y */

struct keyring_key {
	char			 kid[KEYRING_KID_SIZE];
	enum keyring_alg	 alg;
	long long		 created_at;
	long long		 retire_at;	/* 0: none */
	int			 bits;
	EVP_PKEY		*pkey;
};

struct keyring {
	struct keyring_key	*keys;	/* newest first */
	size_t			 n;
};

static const char *const kr_alg_names[] = {
	[KEYRING_RS256] = "RS256",
	[KEYRING_PS256] = "PS256",
	[KEYRING_ES256] = "ES256",
	[KEYRING_EDDSA] = "EdDSA"
};
#define KR_NALGS	(sizeof(kr_alg_names) / sizeof(kr_alg_names[0]))

static long long
kr_now(long long now)
{
	return now != 0 ? now : (long long)time(NULL);
}

const char *
keyring_alg_name(enum keyring_alg alg)
{
	if ((int)alg < 0 || (size_t)alg >= KR_NALGS)
		return NULL;
	return kr_alg_names[alg];
}

int
keyring_alg_parse(const char *name, enum keyring_alg *alg)
{
	size_t	 i;

	if (name == NULL)
		return WS_ERR_INVALID;
	for (i = 0; i < KR_NALGS; i++)
		if (strcmp(name, kr_alg_names[i]) == 0) {
			*alg = (enum keyring_alg)i;
			return 0;
		}
	return WS_ERR_INVALID;
}

int
keyring_kid_valid(const char *s, size_t len)
{
	unsigned char	 raw[KR_KID_BYTES];
	size_t		 n;

	if (s == NULL || len != KEYRING_KID_LEN)
		return 0;
	/* The strict decoder also refuses a non-canonical last character. */
	return b64url_decode(s, len, raw, sizeof(raw), &n) == 0 &&
	    n == KR_KID_BYTES;
}

static int
kr_verifies(const struct keyring_key *k, long long now)
{
	return k->retire_at == 0 || k->retire_at > now;
}

static void
kr_log_fail(const char *dir, const char *file, const char *reason)
{
	log_event(LOG_ERROR, "keyring_error", "dir", dir, "file", file,
	    "reason", reason, NULL);
}

/* Leaves no OpenSSL error behind to confuse this thread's next call. */
static void
kr_ssl_fail(const char *dir, const char *file, const char *what)
{
	char	 detail[256];

	ERR_error_string_n(ERR_peek_last_error(), detail, sizeof(detail));
	ERR_clear_error();
	log_event(LOG_ERROR, "keyring_error", "dir", dir, "file", file,
	    "reason", what, "openssl", detail, NULL);
}

/*
 * Reads the regular file name (relative to dfd) into a new buffer of
 * at most max bytes, NUL-terminated.  A private key must not be open
 * to group or others; the check is made on the descriptor that is
 * then read, so the file cannot be swapped between check and read.
 * O_NONBLOCK keeps a FIFO planted under a key's name from hanging us.
 */
static int
kr_read_file(int dfd, const char *dir, const char *name, size_t max,
    int private, unsigned char **out, size_t *outlen)
{
	struct stat	 st;
	unsigned char	*p = NULL;
	size_t		 len = 0;
	ssize_t		 r;
	char		 why[128];
	int		 fd, rc = WS_ERR_IO;

	*out = NULL;
	*outlen = 0;
	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK);
	if (fd == -1) {
		rc = errno == ENOENT ? WS_ERR_NOTFOUND : WS_ERR_IO;
		kr_log_fail(dir, name, errno == ENOENT ? "missing" :
		    strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		kr_log_fail(dir, name, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = WS_ERR_INVALID;
		kr_log_fail(dir, name, "not a regular file");
		goto out;
	}
	if (private && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		rc = WS_ERR_INVALID;
		snprintf(why, sizeof(why), "private key file has mode %04o, "
		    "open to group or others; chmod 600 it",
		    (unsigned)(st.st_mode & 07777));
		kr_log_fail(dir, name, why);
		goto out;
	}
	if (!private && (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		rc = WS_ERR_INVALID;
		kr_log_fail(dir, name, "writable by group or others");
		goto out;
	}
	if (st.st_size < 0 || (unsigned long long)st.st_size > max) {
		rc = WS_ERR_TOOBIG;
		kr_log_fail(dir, name, "file too large");
		goto out;
	}
	if ((p = malloc(max + 1)) == NULL) {
		rc = WS_ERR_NOMEM;
		goto out;
	}
	/* Read to the end, not to st_size, and refuse what grew past max. */
	for (;;) {
		r = read(fd, p + len, max + 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			kr_log_fail(dir, name, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > max) {
			rc = WS_ERR_TOOBIG;
			kr_log_fail(dir, name, "file too large");
			goto out;
		}
	}
	p[len] = '\0';
	*out = p;
	*outlen = len;
	p = NULL;
	rc = 0;
out:
	if (p != NULL) {
		sodium_memzero(p, max + 1);
		free(p);
	}
	if (fd != -1)
		close(fd);
	return rc;
}

static int
kr_json_time(const json_t *v, long long *out)
{
	json_int_t	 t;

	if (!json_is_integer(v))
		return WS_ERR_INVALID;
	t = json_integer_value(v);
	if (t <= 0 || t > KR_TIME_MAX)
		return WS_ERR_INVALID;
	*out = (long long)t;
	return 0;
}

/* Reads <kid>.json into k's kid, alg and dates. */
static int
kr_load_meta(int dfd, const char *dir, const char *kid,
    struct keyring_key *k)
{
	char		 name[KR_NAME_MAX];
	unsigned char	*data = NULL;
	size_t		 len;
	json_t		*o = NULL, *v;
	json_error_t	 jerr;
	const char	*key;
	int		 rc;

	snprintf(name, sizeof(name), "%s.json", kid);
	if ((rc = kr_read_file(dfd, dir, name, KR_META_MAX, 0, &data,
	    &len)) != 0) {
		if (rc == WS_ERR_NOTFOUND)
			rc = WS_ERR_INVALID;
		goto out;
	}
	rc = WS_ERR_INVALID;
	o = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES,
	    &jerr);
	if (!json_is_object(o)) {
		kr_log_fail(dir, name, "not a JSON object (malformed, or "
		    "a member given twice)");
		goto out;
	}
	json_object_foreach(o, key, v) {
		if (strcmp(key, "kid") != 0 && strcmp(key, "alg") != 0 &&
		    strcmp(key, "created_at") != 0 &&
		    strcmp(key, "retire_at") != 0) {
			kr_log_fail(dir, name, "unknown member");
			goto out;
		}
	}
	v = json_object_get(o, "kid");
	if (!json_is_string(v) || strcmp(json_string_value(v), kid) != 0) {
		kr_log_fail(dir, name, "kid does not match the file name");
		goto out;
	}
	if (keyring_alg_parse(json_string_value(json_object_get(o, "alg")),
	    &k->alg) != 0) {
		kr_log_fail(dir, name,
		    "alg is not one of RS256, PS256, ES256, EdDSA");
		goto out;
	}
	if (kr_json_time(json_object_get(o, "created_at"),
	    &k->created_at) != 0) {
		kr_log_fail(dir, name, "created_at is not a unix time");
		goto out;
	}
	v = json_object_get(o, "retire_at");
	k->retire_at = 0;
	if (v == NULL || (!json_is_null(v) &&
	    kr_json_time(v, &k->retire_at) != 0)) {
		kr_log_fail(dir, name, "retire_at is neither null nor a "
		    "unix time");
		goto out;
	}
	memcpy(k->kid, kid, KEYRING_KID_SIZE);
	rc = 0;
out:
	json_decref(o);
	free(data);
	return rc;
}

/* Whether the key's type and size can do its pinned algorithm. */
static const char *
kr_key_mismatch(const struct keyring_key *k)
{
	char	 group[64];
	size_t	 glen;

	switch (k->alg) {
	case KEYRING_RS256:
	case KEYRING_PS256:
		if (!EVP_PKEY_is_a(k->pkey, "RSA"))
			return "alg needs an RSA key";
		if (k->bits < KEYRING_RSA_BITS)
			return "RSA key shorter than 3072 bits";
		if (k->bits > KEYRING_RSA_MAX_BITS)
			return "RSA key longer than 4096 bits";
		return NULL;
	case KEYRING_ES256:
		if (!EVP_PKEY_is_a(k->pkey, "EC"))
			return "alg needs an EC key";
		if (EVP_PKEY_get_group_name(k->pkey, group, sizeof(group),
		    &glen) != 1 || (strcmp(group, "prime256v1") != 0 &&
		    strcmp(group, "P-256") != 0))
			return "ES256 needs a P-256 key";
		return NULL;
	case KEYRING_EDDSA:
		if (!EVP_PKEY_is_a(k->pkey, "ED25519"))
			return "EdDSA needs an Ed25519 key";
		return NULL;
	}
	return "unknown alg";
}

/*
 * The passphrase callback: our keys are never encrypted, and without
 * this OpenSSL would prompt on the terminal for an encrypted one.
 */
static int
kr_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static int
kr_load_key(int dfd, const char *dir, const char *kid,
    struct keyring_key *k)
{
	char		 name[KR_NAME_MAX];
	unsigned char	*pem = NULL;
	size_t		 len = 0;
	const char	*why;
	BIO		*bio = NULL;
	int		 rc;

	if ((rc = kr_load_meta(dfd, dir, kid, k)) != 0)
		goto out;
	snprintf(name, sizeof(name), "%s.pem", kid);
	if ((rc = kr_read_file(dfd, dir, name, KR_PEM_MAX, 1, &pem,
	    &len)) != 0)
		goto out;
	rc = WS_ERR_INVALID;
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		rc = WS_ERR_NOMEM;
		goto out;
	}
	k->pkey = PEM_read_bio_PrivateKey(bio, NULL, kr_no_passphrase, NULL);
	if (k->pkey == NULL) {
		kr_ssl_fail(dir, name, "not a PEM private key");
		goto out;
	}
	k->bits = EVP_PKEY_get_bits(k->pkey);
	if ((why = kr_key_mismatch(k)) != NULL) {
		kr_log_fail(dir, name, why);
		goto out;
	}
	rc = 0;
out:
	BIO_free(bio);
	if (pem != NULL) {
		sodium_memzero(pem, len);
		free(pem);
	}
	if (rc != 0) {
		EVP_PKEY_free(k->pkey);
		k->pkey = NULL;
	}
	return rc;
}

/* Newest first; among keys of the same second, the greater kid first. */
static int
kr_cmp(const void *a, const void *b)
{
	const struct keyring_key *x = a, *y = b;

	if (x->created_at != y->created_at)
		return x->created_at > y->created_at ? -1 : 1;
	return -strcmp(x->kid, y->kid);
}

/* Whether name is "<kid>.pem", copying the kid out if so. */
static int
kr_pem_name(const char *name, char *kid)
{
	size_t	 len = strlen(name);

	if (len != KEYRING_KID_LEN + 4 ||
	    strcmp(name + KEYRING_KID_LEN, ".pem") != 0 ||
	    !keyring_kid_valid(name, KEYRING_KID_LEN))
		return 0;
	memcpy(kid, name, KEYRING_KID_LEN);
	kid[KEYRING_KID_LEN] = '\0';
	return 1;
}

/* Opens dir; -1 with the error in *rc (WS_ERR_NOTFOUND when absent). */
static int
kr_open_dir(const char *dir, int *rc)
{
	int	 dfd, e;

	if (dir == NULL || *dir == '\0') {
		kr_log_fail("-", NULL, "no key directory given (KEYS_DIR)");
		*rc = WS_ERR_NOTFOUND;
		return -1;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1) {
		e = errno;
		*rc = e == ENOENT || e == ENOTDIR ? WS_ERR_NOTFOUND :
		    WS_ERR_IO;
		kr_log_fail(dir, NULL, strerror(e));
	}
	return dfd;
}

static void
kr_check_dir(int dfd, const char *dir)
{
	struct stat	 st;

	/*
	 * Whoever can write the directory can plant a key that signs.
	 * Only a warning: some secret mounts are shared directories
	 * with the sticky bit, which is safe enough.
	 */
	if (fstat(dfd, &st) == 0 && (st.st_mode & (S_IWGRP | S_IWOTH)) &&
	    !(st.st_mode & S_ISVTX))
		log_event(LOG_WARN, "keyring_dir_writable", "dir", dir,
		    "reason", "group or others may add keys; chmod 700 it",
		    NULL);
}

int
keyring_load(const char *dir, struct keyring **out)
{
	struct keyring	*kr = NULL;
	struct dirent	*de;
	DIR		*d = NULL;
	char		 kid[KEYRING_KID_SIZE];
	int		 dfd, fd2, rc = WS_ERR_IO;

	*out = NULL;
	if ((dfd = kr_open_dir(dir, &rc)) == -1)
		goto out;
	kr_check_dir(dfd, dir);
	if ((fd2 = dup(dfd)) == -1 || (d = fdopendir(fd2)) == NULL) {
		if (fd2 != -1)
			close(fd2);
		kr_log_fail(dir, NULL, strerror(errno));
		goto out;
	}
	if ((kr = calloc(1, sizeof(*kr))) == NULL ||
	    (kr->keys = calloc(KEYRING_MAX_KEYS, sizeof(*kr->keys))) ==
	    NULL) {
		rc = WS_ERR_NOMEM;
		goto out;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				rc = WS_ERR_IO;
				kr_log_fail(dir, NULL, strerror(errno));
				goto out;
			}
			break;
		}
		if (!kr_pem_name(de->d_name, kid)) {
			size_t l = strlen(de->d_name);

			if (l > 4 && strcmp(de->d_name + l - 4, ".pem") == 0)
				log_event(LOG_WARN, "keyring_file_skipped",
				    "dir", dir, "file", de->d_name, "reason",
				    "name is not <kid>.pem", NULL);
			continue;
		}
		if (kr->n == KEYRING_MAX_KEYS) {
			rc = WS_ERR_TOOBIG;
			kr_log_fail(dir, NULL, "more keys than allowed "
			    "(64); delete retired ones");
			goto out;
		}
		if ((rc = kr_load_key(dfd, dir, kid, &kr->keys[kr->n])) != 0)
			goto out;
		kr->n++;
	}
	qsort(kr->keys, kr->n, sizeof(*kr->keys), kr_cmp);
	*out = kr;
	kr = NULL;
	rc = 0;
out:
	keyring_free(kr);
	if (d != NULL)
		closedir(d);
	if (dfd != -1)
		close(dfd);
	return rc;
}

void
keyring_free(struct keyring *kr)
{
	size_t	 i;

	if (kr == NULL)
		return;
	/* EVP_PKEY_free clears the private numbers before freeing them. */
	for (i = 0; i < kr->n; i++)
		EVP_PKEY_free(kr->keys[i].pkey);
	free(kr->keys);
	free(kr);
}

size_t
keyring_count(const struct keyring *kr)
{
	return kr != NULL ? kr->n : 0;
}

const struct keyring_key *
keyring_signer(const struct keyring *kr)
{
	size_t	 i;

	if (kr == NULL)
		return NULL;
	/* Sorted newest first, so the first active key is the signer. */
	for (i = 0; i < kr->n; i++)
		if (kr->keys[i].retire_at == 0)
			return &kr->keys[i];
	return NULL;
}

const struct keyring_key *
keyring_find(const struct keyring *kr, const char *kid, size_t len,
    long long now)
{
	size_t	 i;

	if (kr == NULL || kid == NULL || len != KEYRING_KID_LEN)
		return NULL;
	now = kr_now(now);
	for (i = 0; i < kr->n; i++)
		if (memcmp(kr->keys[i].kid, kid, KEYRING_KID_LEN) == 0)
			return kr_verifies(&kr->keys[i], now) ?
			    &kr->keys[i] : NULL;
	return NULL;
}

const char *
keyring_key_kid(const struct keyring_key *k)
{
	return k->kid;
}

enum keyring_alg
keyring_key_alg(const struct keyring_key *k)
{
	return k->alg;
}

int
keyring_info(const struct keyring *kr, size_t i, long long now,
    struct keyring_info *out)
{
	const struct keyring_key *k;

	if (kr == NULL || i >= kr->n)
		return WS_ERR_NOTFOUND;
	now = kr_now(now);
	k = &kr->keys[i];
	memcpy(out->kid, k->kid, KEYRING_KID_SIZE);
	out->alg = k->alg;
	out->created_at = k->created_at;
	out->retire_at = k->retire_at;
	out->bits = k->bits;
	if (!kr_verifies(k, now))
		out->state = KEYRING_RETIRED;
	else if (k == keyring_signer(kr))
		out->state = KEYRING_SIGNING;
	else
		out->state = KEYRING_VERIFYING;
	return 0;
}

/* Sets member name of o to the base64url of p[0..n). */
static int
kr_jwk_b64(json_t *o, const char *name, const unsigned char *p, size_t n)
{
	char	*s;
	int	 rc;

	if ((rc = b64url_encode_alloc(p, n, &s)) != 0)
		return rc;
	rc = json_object_set_new(o, name, json_string(s)) == 0 ? 0 :
	    WS_ERR_NOMEM;
	free(s);
	return rc;
}

/* Sets member name to a big number parameter of the key, padded to pad. */
static int
kr_jwk_bn(json_t *o, const char *name, const EVP_PKEY *pkey,
    const char *param, int pad)
{
	BIGNUM		*bn = NULL;
	unsigned char	 buf[KEYRING_SIG_MAX];
	int		 len, rc = WS_ERR_INTERNAL;

	if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1)
		goto out;
	len = BN_num_bytes(bn);
	if (len <= 0 || (size_t)len > sizeof(buf) || pad > (int)sizeof(buf))
		goto out;
	/* RSA n and e are unpadded (RFC 7518 6.3.1); EC x and y are not. */
	if (pad > 0)
		len = BN_bn2binpad(bn, buf, pad);
	else
		len = BN_bn2bin(bn, buf);
	if (len <= 0)
		goto out;
	rc = kr_jwk_b64(o, name, buf, (size_t)len);
out:
	BN_free(bn);
	return rc;
}

static json_t *
kr_jwk(const struct keyring_key *k)
{
	unsigned char	 raw[64];
	size_t		 rawlen = sizeof(raw);
	json_t		*o;
	int		 rc = WS_ERR_INTERNAL;

	o = json_pack("{s:s, s:s, s:s, s:s}", "kty",
	    k->alg == KEYRING_ES256 ? "EC" :
	    k->alg == KEYRING_EDDSA ? "OKP" : "RSA",
	    "kid", k->kid, "use", "sig", "alg", keyring_alg_name(k->alg));
	if (o == NULL)
		return NULL;
	switch (k->alg) {
	case KEYRING_RS256:
	case KEYRING_PS256:
		if ((rc = kr_jwk_bn(o, "n", k->pkey, OSSL_PKEY_PARAM_RSA_N,
		    0)) == 0)
			rc = kr_jwk_bn(o, "e", k->pkey,
			    OSSL_PKEY_PARAM_RSA_E, 0);
		break;
	case KEYRING_ES256:
		rc = json_object_set_new(o, "crv", json_string("P-256")) ?
		    WS_ERR_NOMEM : 0;
		if (rc == 0)
			rc = kr_jwk_bn(o, "x", k->pkey,
			    OSSL_PKEY_PARAM_EC_PUB_X, KR_ES256_LEN);
		if (rc == 0)
			rc = kr_jwk_bn(o, "y", k->pkey,
			    OSSL_PKEY_PARAM_EC_PUB_Y, KR_ES256_LEN);
		break;
	case KEYRING_EDDSA:
		rc = json_object_set_new(o, "crv", json_string("Ed25519")) ?
		    WS_ERR_NOMEM : 0;
		if (rc == 0 && EVP_PKEY_get_raw_public_key(k->pkey, raw,
		    &rawlen) != 1)
			rc = WS_ERR_INTERNAL;
		if (rc == 0)
			rc = kr_jwk_b64(o, "x", raw, rawlen);
		break;
	}
	if (rc != 0) {
		ERR_clear_error();
		log_event(LOG_ERROR, "keyring_jwk_failed", "kid", k->kid,
		    "reason", ws_err_name(rc), NULL);
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
keyring_jwks(const struct keyring *kr)
{
	json_t		*doc = NULL, *keys, *jwk;
	long long	 now = kr_now(0);
	size_t		 i;

	if ((keys = json_array()) == NULL)
		return NULL;
	for (i = 0; kr != NULL && i < kr->n; i++) {
		if (!kr_verifies(&kr->keys[i], now))
			continue;
		if ((jwk = kr_jwk(&kr->keys[i])) == NULL ||
		    json_array_append_new(keys, jwk) != 0)
			goto out;
	}
	doc = json_pack("{s:O}", "keys", keys);
out:
	json_decref(keys);
	return doc;
}

/*
 * Prepares ctx to sign or verify with k: the digest, and for the RSA
 * algorithms the padding, which must be set on every use because
 * RS256 and PS256 keys are both plain RSA keys.
 */
static int
kr_md_init(EVP_MD_CTX *ctx, const struct keyring_key *k, int sign)
{
	EVP_PKEY_CTX	*pctx = NULL;
	const EVP_MD	*md = k->alg == KEYRING_EDDSA ? NULL : EVP_sha256();
	int		 ok;

	if (sign)
		ok = EVP_DigestSignInit(ctx, &pctx, md, NULL, k->pkey);
	else
		ok = EVP_DigestVerifyInit(ctx, &pctx, md, NULL, k->pkey);
	if (ok != 1)
		return WS_ERR_INTERNAL;
	switch (k->alg) {
	case KEYRING_RS256:
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING);
		break;
	case KEYRING_PS256:
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx,
		    RSA_PKCS1_PSS_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) == 1 &&
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1;
		break;
	default:
		ok = 1;
		break;
	}
	return ok == 1 ? 0 : WS_ERR_INTERNAL;
}

/* The exact length of k's JWS signatures. */
static size_t
kr_sig_len(const struct keyring_key *k)
{
	if (k->alg == KEYRING_ES256)
		return 2 * KR_ES256_LEN;
	return (size_t)EVP_PKEY_get_size(k->pkey);
}

int
keyring_sign(const struct keyring_key *k, const void *msg, size_t len,
    unsigned char *sig, size_t sigsize, size_t *siglen)
{
	EVP_MD_CTX	*ctx = NULL;
	ECDSA_SIG	*es = NULL;
	unsigned char	 der[KEYRING_SIG_MAX];
	const unsigned char *p;
	const BIGNUM	*r, *s;
	size_t		 n;
	int		 rc = WS_ERR_INTERNAL;

	*siglen = 0;
	if (sigsize < kr_sig_len(k))
		return WS_ERR_TOOBIG;
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		rc = WS_ERR_NOMEM;
		goto out;
	}
	if ((rc = kr_md_init(ctx, k, 1)) != 0)
		goto out;
	rc = WS_ERR_INTERNAL;
	if (k->alg != KEYRING_ES256) {
		n = sigsize;
		if (EVP_DigestSign(ctx, sig, &n, msg, len) != 1 ||
		    n != kr_sig_len(k))
			goto out;
		*siglen = n;
		rc = 0;
		goto out;
	}
	/* OpenSSL gives ECDSA as DER; JOSE wants r and s, 32 bytes each. */
	n = sizeof(der);
	if (EVP_DigestSign(ctx, der, &n, msg, len) != 1)
		goto out;
	p = der;
	if ((es = d2i_ECDSA_SIG(NULL, &p, (long)n)) == NULL)
		goto out;
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, sig, KR_ES256_LEN) != KR_ES256_LEN ||
	    BN_bn2binpad(s, sig + KR_ES256_LEN, KR_ES256_LEN) !=
	    KR_ES256_LEN)
		goto out;
	*siglen = 2 * KR_ES256_LEN;
	rc = 0;
out:
	if (rc != 0) {
		ERR_clear_error();
		log_event(LOG_ERROR, "keyring_sign_failed", "kid", k->kid,
		    NULL);
	}
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* Turns a JOSE r||s into the DER OpenSSL verifies; der has room. */
static int
kr_es256_der(const unsigned char *sig, unsigned char *der, size_t dersize,
    size_t *derlen)
{
	ECDSA_SIG	*es = NULL;
	BIGNUM		*r = NULL, *s = NULL;
	unsigned char	*p;
	int		 n, rc = WS_ERR_INVALID;

	if ((es = ECDSA_SIG_new()) == NULL ||
	    (r = BN_bin2bn(sig, KR_ES256_LEN, NULL)) == NULL ||
	    (s = BN_bin2bn(sig + KR_ES256_LEN, KR_ES256_LEN, NULL)) == NULL)
		goto out;
	if (ECDSA_SIG_set0(es, r, s) != 1)
		goto out;
	r = s = NULL;
	if ((n = i2d_ECDSA_SIG(es, NULL)) <= 0 || (size_t)n > dersize)
		goto out;
	p = der;
	if (i2d_ECDSA_SIG(es, &p) != n)
		goto out;
	*derlen = (size_t)n;
	rc = 0;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return rc;
}

int
keyring_verify(const struct keyring_key *k, const void *msg, size_t len,
    const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX	*ctx = NULL;
	unsigned char	 der[KEYRING_SIG_MAX];
	size_t		 derlen;
	int		 rc = WS_ERR_INVALID;

	if (sig == NULL || siglen != kr_sig_len(k))
		return WS_ERR_INVALID;
	if (k->alg == KEYRING_ES256) {
		if (kr_es256_der(sig, der, sizeof(der), &derlen) != 0)
			goto out;
		sig = der;
		siglen = derlen;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL || kr_md_init(ctx, k, 0) != 0)
		goto out;
	if (EVP_DigestVerify(ctx, sig, siglen, msg, len) == 1)
		rc = 0;
out:
	/* A bad signature leaves errors on the queue; they mean nothing. */
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	return rc;
}

/*
 * Writes data to name in dfd: to ".<name>.tmp" created with O_EXCL and
 * mode, flushed to disk, then renamed over name.  The caller holds the
 * directory lock, so a left-over temporary is from a crash and removed.
 */
static int
kr_write_file(int dfd, const char *dir, const char *name,
    const void *data, size_t len, mode_t mode)
{
	char		 tmp[KR_NAME_MAX];
	const char	*p = data;
	size_t		 off = 0;
	ssize_t		 w;
	int		 fd = -1, n, rc = WS_ERR_IO, made = 0;

	n = snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return WS_ERR_INTERNAL;
	if (unlinkat(dfd, tmp, 0) == -1 && errno != ENOENT) {
		kr_log_fail(dir, tmp, strerror(errno));
		goto out;
	}
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode);
	if (fd == -1) {
		kr_log_fail(dir, tmp, strerror(errno));
		goto out;
	}
	made = 1;
	while (off < len) {
		w = write(fd, p + off, len - off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			kr_log_fail(dir, tmp, strerror(errno));
			goto out;
		}
		off += (size_t)w;
	}
	if (fsync(fd) == -1 || close(fd) == -1) {
		fd = -1;
		kr_log_fail(dir, tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (renameat(dfd, tmp, dfd, name) == -1) {
		kr_log_fail(dir, name, strerror(errno));
		goto out;
	}
	made = 0;
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (made)
		unlinkat(dfd, tmp, 0);
	return rc;
}

static int
kr_write_meta(int dfd, const char *dir, const struct keyring_key *k)
{
	char	 name[KR_NAME_MAX];
	char	*text = NULL, *line = NULL;
	size_t	 len;
	json_t	*o;
	int	 rc = WS_ERR_NOMEM;

	o = json_pack("{s:s, s:s, s:I, s:o}", "kid", k->kid, "alg",
	    keyring_alg_name(k->alg), "created_at",
	    (json_int_t)k->created_at, "retire_at",
	    k->retire_at != 0 ? json_integer(k->retire_at) : json_null());
	if (o == NULL || (text = json_dumps(o, JSON_INDENT(2))) == NULL)
		goto out;
	/* A text file ends in a newline, which json_dumps leaves out. */
	len = strlen(text);
	if ((line = malloc(len + 2)) == NULL)
		goto out;
	memcpy(line, text, len);
	line[len++] = '\n';
	line[len] = '\0';
	snprintf(name, sizeof(name), "%s.json", k->kid);
	rc = kr_write_file(dfd, dir, name, line, len, 0644);
out:
	free(line);
	free(text);
	json_decref(o);
	return rc;
}

static EVP_PKEY *
kr_keygen(enum keyring_alg alg)
{
	switch (alg) {
	case KEYRING_RS256:
	case KEYRING_PS256:
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
		    (size_t)KEYRING_RSA_BITS);
	case KEYRING_ES256:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	case KEYRING_EDDSA:
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	}
	return NULL;
}

static int
kr_write_pem(int dfd, const char *dir, const struct keyring_key *k)
{
	char	 name[KR_NAME_MAX];
	BIO	*bio;
	char	*data;
	long	 len;
	int	 rc = WS_ERR_INTERNAL;

	/* A secure-memory BIO wipes the PEM text when it grows or is freed. */
	if ((bio = BIO_new(BIO_s_secmem())) == NULL)
		return WS_ERR_NOMEM;
	if (PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL,
	    NULL) != 1) {
		kr_ssl_fail(dir, k->kid, "cannot encode the private key");
		goto out;
	}
	if ((len = BIO_get_mem_data(bio, &data)) <= 0)
		goto out;
	snprintf(name, sizeof(name), "%s.pem", k->kid);
	rc = kr_write_file(dfd, dir, name, data, (size_t)len, 0600);
out:
	BIO_free(bio);
	return rc;
}

static int
kr_fsync_dir(int dfd, const char *dir)
{
	if (fsync(dfd) == -1) {
		kr_log_fail(dir, NULL, strerror(errno));
		return WS_ERR_IO;
	}
	return 0;
}

/* Creates one key in the locked directory dfd; fills k. */
static int
kr_generate_locked(int dfd, const char *dir, enum keyring_alg alg,
    struct keyring_key *k)
{
	unsigned char	 raw[KR_KID_BYTES];
	int		 rc;

	memset(k, 0, sizeof(*k));
	if (keyring_alg_name(alg) == NULL)
		return WS_ERR_INVALID;
	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		kr_ssl_fail(dir, NULL, "no random bytes for a kid");
		return WS_ERR_INTERNAL;
	}
	if ((rc = b64url_encode(raw, sizeof(raw), k->kid,
	    sizeof(k->kid))) != 0)
		return rc;
	k->alg = alg;
	k->created_at = kr_now(0);
	if ((k->pkey = kr_keygen(alg)) == NULL) {
		kr_ssl_fail(dir, NULL, "key generation failed");
		return WS_ERR_INTERNAL;
	}
	k->bits = EVP_PKEY_get_bits(k->pkey);
	/* The .json first: until the .pem exists, no reader sees the key. */
	if ((rc = kr_write_meta(dfd, dir, k)) != 0 ||
	    (rc = kr_write_pem(dfd, dir, k)) != 0 ||
	    (rc = kr_fsync_dir(dfd, dir)) != 0)
		return rc;
	log_event(LOG_INFO, "key_generated", "dir", dir, "kid", k->kid,
	    "alg", keyring_alg_name(alg), NULL);
	return 0;
}

/* Opens and exclusively locks dir; -1 with the error in *rc. */
static int
kr_lock_dir(const char *dir, int *rc)
{
	int	 dfd;

	if ((dfd = kr_open_dir(dir, rc)) == -1)
		return -1;
	kr_check_dir(dfd, dir);
	while (flock(dfd, LOCK_EX) == -1) {
		if (errno == EINTR)
			continue;
		kr_log_fail(dir, NULL, strerror(errno));
		close(dfd);
		*rc = WS_ERR_IO;
		return -1;
	}
	return dfd;
}

int
keyring_generate(const char *dir, enum keyring_alg alg, char *kid_out)
{
	struct keyring_key	 k;
	int			 dfd, rc;

	memset(&k, 0, sizeof(k));
	if ((dfd = kr_lock_dir(dir, &rc)) == -1)
		return rc;
	rc = kr_generate_locked(dfd, dir, alg, &k);
	if (rc == 0 && kid_out != NULL)
		memcpy(kid_out, k.kid, KEYRING_KID_SIZE);
	EVP_PKEY_free(k.pkey);
	close(dfd);
	return rc;
}

int
keyring_rotate(const char *dir, enum keyring_alg alg, long long grace_s,
    char *kid_out)
{
	struct keyring		*kr = NULL;
	struct keyring_key	 nk, *k;
	long long		 retire;
	size_t			 i;
	int			 dfd, rc;

	memset(&nk, 0, sizeof(nk));
	if (grace_s < 0 || grace_s > KR_GRACE_MAX)
		return WS_ERR_INVALID;
	if ((dfd = kr_lock_dir(dir, &rc)) == -1)
		return rc;
	/* Loading first means a broken directory is refused untouched. */
	if ((rc = keyring_load(dir, &kr)) != 0)
		goto out;
	if ((rc = kr_generate_locked(dfd, dir, alg, &nk)) != 0)
		goto out;
	if (kid_out != NULL)
		memcpy(kid_out, nk.kid, KEYRING_KID_SIZE);
	/*
	 * Counted from after the new key exists, so every token an old
	 * key signed predates the start of the grace period.
	 */
	retire = kr_now(0) + grace_s;
	for (i = 0; i < kr->n; i++) {
		k = &kr->keys[i];
		if (k->retire_at != 0 && k->retire_at <= retire)
			continue;
		k->retire_at = retire;
		if ((rc = kr_write_meta(dfd, dir, k)) != 0)
			goto out;
		log_event(LOG_INFO, "key_retiring", "dir", dir, "kid",
		    k->kid, NULL);
	}
	rc = kr_fsync_dir(dfd, dir);
out:
	EVP_PKEY_free(nk.pkey);
	keyring_free(kr);
	close(dfd);
	return rc;
}
