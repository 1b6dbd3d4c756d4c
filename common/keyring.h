/*
 * The token-signing keys of WebSands.  KEYS_DIR holds, for each key,
 *   <kid>.pem   its private key (PKCS#8 PEM), mode 0600 or stricter;
 *   <kid>.json  {"kid":..., "alg":..., "created_at":N, "retire_at":N}
 *               in unix seconds, retire_at null while none is set.
 * A kid is 16 random bytes in base64url (22 characters).
 *
 * The life of a key:
 *   active     no retire_at.  The newest active key signs; the others
 *              verify only.
 *   retiring   retire_at in the future: it verifies, never signs.
 *   retired    retire_at reached: it neither signs nor verifies.
 *
 * Rotation (keyring_rotate) adds a new active key and gives every other
 * key that would still verify later than now + grace a retire_at of
 * now + grace.  The caller passes grace = the access-token lifetime +
 * the verification leeway: every token an old key signed was signed
 * before the rotation, so it expires (leeway included) before that key
 * stops verifying, and no valid token is refused because of a
 * rotation.  Rotate every 90 days.  Running processes see a new key
 * only when they load the key ring again.
 *
 * A loaded key ring is read-only, so any number of threads may sign
 * and verify with it at once.
 */
#ifndef WEBSANDS_KEYRING_H
#define WEBSANDS_KEYRING_H

#include <stddef.h>
#include <jansson.h>

#define KEYRING_KID_LEN		22	/* characters, without the NUL */
#define KEYRING_KID_SIZE	(KEYRING_KID_LEN + 1)
#define KEYRING_MAX_KEYS	64	/* more files in KEYS_DIR: refused */
#define KEYRING_SIG_MAX		512	/* the largest signature (RSA 4096) */
#define KEYRING_RSA_BITS	3072	/* generated; the least accepted */
#define KEYRING_RSA_MAX_BITS	4096	/* the most accepted on load */

/* The JWS algorithms a key can be pinned to (RFC 7518, RFC 8037). */
enum keyring_alg {
	KEYRING_RS256,		/* RSA PKCS#1 v1.5, SHA-256: the default */
	KEYRING_PS256,		/* RSA-PSS, SHA-256, salt length 32 */
	KEYRING_ES256,		/* ECDSA P-256, SHA-256 */
	KEYRING_EDDSA		/* Ed25519 */
};

enum keyring_state {
	KEYRING_SIGNING,	/* the key new tokens are signed with */
	KEYRING_VERIFYING,	/* verifies, does not sign */
	KEYRING_RETIRED		/* neither */
};

/* What `websands keys list` shows about one key. */
struct keyring_info {
	char			 kid[KEYRING_KID_SIZE];
	enum keyring_alg	 alg;
	long long		 created_at;
	long long		 retire_at;	/* 0: none set */
	enum keyring_state	 state;
	int			 bits;		/* key size in bits */
};

struct keyring;
struct keyring_key;

/* The JOSE name of alg ("RS256"), or NULL for an unknown value. */
const char *keyring_alg_name(enum keyring_alg alg);
/*
 * Parses a JOSE algorithm name, exactly (case matters), into *alg.
 * Returns 0 or WS_ERR_INVALID.
 */
int	 keyring_alg_parse(const char *name, enum keyring_alg *alg);
/* Whether s[0..len) has the form of a kid (not whether it is known). */
int	 keyring_kid_valid(const char *s, size_t len);

/*
 * Loads every key in dir into a new key ring (*out, freed with
 * keyring_free), retired keys included so they can be listed.  An
 * empty directory gives an empty ring: a caller that signs checks
 * keyring_signer.  Fails, logging which file and why, on a private key
 * file that group or others may access, a key without its .json, a
 * .json that does not match its key, an unknown alg, an alg the key
 * type cannot do, an RSA key under KEYRING_RSA_BITS bits, or more than
 * KEYRING_MAX_KEYS keys.  Returns 0, WS_ERR_NOTFOUND (no such
 * directory), WS_ERR_INVALID, WS_ERR_TOOBIG, WS_ERR_IO or WS_ERR_NOMEM;
 * *out is NULL on failure.
 */
int	 keyring_load(const char *dir, struct keyring **out);
/* Frees a key ring and wipes its private keys; NULL-safe. */
void	 keyring_free(struct keyring *kr);

/*
 * Creates a new active key for alg in dir (RS256 and PS256: RSA 3072,
 * ES256: P-256, EdDSA: Ed25519): the .json first, then the .pem, each
 * written to a temporary file created with O_EXCL, mode 0600, and
 * renamed into place, so a reader never sees a key without its .json
 * or a partly written file.  Copies the new kid into kid_out (at least
 * KEYRING_KID_SIZE bytes) unless it is NULL.  Returns 0,
 * WS_ERR_NOTFOUND (no such directory), WS_ERR_IO or WS_ERR_INTERNAL.
 */
int	 keyring_generate(const char *dir, enum keyring_alg alg,
	    char *kid_out);
/*
 * Rotates the keys in dir as described at the top of this file: adds a
 * key for alg, then sets retire_at = now + grace_s on every other key
 * that would verify past that time.  grace_s is the access-token
 * lifetime plus the leeway, in seconds (0 retires the old keys at
 * once).  kid_out as keyring_generate.  Returns 0 or an error of
 * keyring_load or keyring_generate; on failure after the new key was
 * written, the new key stays and the old ones keep their dates.
 */
int	 keyring_rotate(const char *dir, enum keyring_alg alg,
	    long long grace_s, char *kid_out);

/* The number of keys loaded, retired ones included. */
size_t	 keyring_count(const struct keyring *kr);
/*
 * Describes key i (0 <= i < keyring_count) as of now (0: time(NULL)).
 * Keys are ordered newest first.  Returns 0 or WS_ERR_NOTFOUND.
 */
int	 keyring_info(const struct keyring *kr, size_t i, long long now,
	    struct keyring_info *out);

/*
 * The JWKS document ({"keys":[...]}) of every key that verifies now:
 * the public parts only (RSA n and e; EC crv, x and y; OKP crv and x),
 * with kty, kid, alg and use "sig".  Returns a new reference the
 * caller must json_decref, or NULL when out of memory or when a key
 * cannot be exported (logged).
 */
json_t	*keyring_jwks(const struct keyring *kr);

/*
 * The key that signs: the newest active key (the greatest kid first
 * among keys created in the same second), or NULL when there is none.
 * The pointer lives as long as kr.
 */
const struct keyring_key *keyring_signer(const struct keyring *kr);
/*
 * The key whose kid is exactly kid[0..len) and that verifies at now
 * (0: time(NULL)), or NULL.  The kid is only compared with the loaded
 * kids; it never reaches a path or any other lookup.
 */
const struct keyring_key *keyring_find(const struct keyring *kr,
	    const char *kid, size_t len, long long now);
/* The kid of k (a NUL-terminated string of KEYRING_KID_LEN). */
const char *keyring_key_kid(const struct keyring_key *k);
/* The algorithm k is pinned to. */
enum keyring_alg keyring_key_alg(const struct keyring_key *k);

/*
 * Signs msg[0..len) with k in its pinned algorithm and writes the JWS
 * signature (ES256: the raw 64-byte r||s of RFC 7518 3.4) into sig,
 * which has sigsize bytes (KEYRING_SIG_MAX is always enough), setting
 * *siglen.  Returns 0, WS_ERR_TOOBIG or WS_ERR_INTERNAL.
 */
int	 keyring_sign(const struct keyring_key *k, const void *msg,
	    size_t len, unsigned char *sig, size_t sigsize, size_t *siglen);
/*
 * Checks the JWS signature sig[0..siglen) over msg[0..len) with k in
 * its pinned algorithm; a signature of the wrong length is refused
 * before any arithmetic.  Returns 0 when it is valid, WS_ERR_INVALID
 * otherwise.
 */
int	 keyring_verify(const struct keyring_key *k, const void *msg,
	    size_t len, const unsigned char *sig, size_t siglen);

#endif
