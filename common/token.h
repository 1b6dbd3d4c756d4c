/*
 * Opaque secrets handed to clients (design.md 6): refresh tokens,
 * email verification and password reset tokens, MFA tokens.  Each is
 * 256 bits from the kernel's CSPRNG (through libsodium), written as
 * base64url without padding.  Only a token's SHA-256 is stored, so a
 * copy of the database lets no one use a token; since the token has
 * full entropy, a plain fast hash is enough.
 */
#ifndef WEBSANDS_TOKEN_H
#define WEBSANDS_TOKEN_H

#include <stddef.h>

#define TOKEN_BYTES		32	/* random bytes in a token */
#define TOKEN_LEN		43	/* base64url characters, no padding */
#define TOKEN_HASH_BYTES	32	/* SHA-256 */
#define TOKEN_HASH_HEX_LEN	64

/*
 * Writes a new token and its NUL into out.  Returns 0, or
 * WS_ERR_INTERNAL when libsodium cannot start.
 */
int	 token_new(char out[TOKEN_LEN + 1]);

/*
 * 1 if s has the shape of a token (exactly TOKEN_LEN base64url
 * characters that decode to TOKEN_BYTES bytes), else 0, so garbage is
 * refused before any lookup.
 */
int	 token_valid(const char *s);

/*
 * The SHA-256 of the string token (any string: a client's garbage
 * hashes like a real token), as raw bytes or as lowercase hex with a
 * NUL, for storage and lookup.
 */
void	 token_hash(const char *token, unsigned char out[TOKEN_HASH_BYTES]);
void	 token_hash_hex(const char *token, char out[TOKEN_HASH_HEX_LEN + 1]);

/*
 * 1 if a and b are the same string, else 0, in time that depends only
 * on their lengths.
 */
int	 token_equal(const char *a, const char *b);

#endif
