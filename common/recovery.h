/*
 * MFA recovery codes (design.md 7): ten single-use codes given to the
 * user once, when TOTP is enabled or the codes are renewed.  A code is
 * 10 characters of Crockford's base32 alphabet (digits and lowercase
 * letters without i, l, o and u), 50 bits from the CSPRNG, shown as
 * "xxxxx-xxxxx".  Input is read forgivingly: any case, with or without
 * the dash and spaces, o read as 0 and i or l as 1.
 *
 * Only an Argon2id hash of each code is stored (crypto_pwhash_str,
 * libsodium's interactive limits by default).  50 bits would resist a
 * fast hash for a while; a slow salted one keeps a stolen table
 * useless.  Hashing and verifying take a slot of password.h's
 * semaphore, so password_init must have run first.
 */
#ifndef WEBSANDS_RECOVERY_H
#define WEBSANDS_RECOVERY_H

#include <stddef.h>

#define RECOVERY_CODES		10	/* codes in a set */
#define RECOVERY_CODE_CHARS	10	/* significant characters */
#define RECOVERY_CODE_LEN	11	/* "xxxxx-xxxxx" */
#define RECOVERY_HASH_MAX	128	/* bytes of a stored hash, with NUL */
#define RECOVERY_INPUT_MAX	32	/* bytes of a code as typed */

/*
 * Sets the Argon2id limits of new hashes; 0 and 0 restore libsodium's
 * interactive ones (tests pass cheap ones).  Call before threads
 * start.  Returns 0 or WS_ERR_INVALID for limits libsodium refuses.
 */
int	 recovery_init(unsigned long long opslimit, size_t memlimit);

/*
 * Writes a set of RECOVERY_CODES distinct new codes, each with its NUL,
 * into out.  Returns 0 or WS_ERR_INTERNAL.
 */
int	 recovery_codes_new(char out[RECOVERY_CODES][RECOVERY_CODE_LEN + 1]);

/*
 * Writes the canonical form "xxxxx-xxxxx" of the typed code in into
 * out.  Returns 0, or WS_ERR_INVALID when in is not a code.
 */
int	 recovery_normalize(const char *in, char out[RECOVERY_CODE_LEN + 1]);

/*
 * Hashes code (typed or canonical) for storage into out.  Returns 0,
 * WS_ERR_INVALID (not a code), WS_ERR_UNAVAILABLE (no hash slot free),
 * WS_ERR_NOMEM or WS_ERR_INTERNAL.
 */
int	 recovery_hash(const char *code, char out[RECOVERY_HASH_MAX]);

/*
 * Sets *ok to 1 when code matches stored, else 0.  A code that is not
 * well formed never matches and costs no hash.  Returns 0 (look at
 * *ok), WS_ERR_UNAVAILABLE or WS_ERR_INTERNAL.
 */
int	 recovery_verify(const char *code, const char *stored, int *ok);

/*
 * Looks for code among the n stored hashes of a user's unused codes,
 * holding one hash slot for the whole search.  Returns 0 with the
 * position of the match in *index (the caller marks that code used in
 * the same transaction), WS_ERR_NOTFOUND when none matches or code is
 * not well formed, WS_ERR_UNAVAILABLE or WS_ERR_INTERNAL.
 */
int	 recovery_find(const char *code, const char * const *stored,
	    size_t n, size_t *index);

#endif
