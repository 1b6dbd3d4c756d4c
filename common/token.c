/*
 * Tokens of token.h, all through libsodium: randombytes_buf for the
 * bits, sodium_bin2base64 for the text, crypto_hash_sha256 for the
 * stored form, sodium_memcmp for comparisons.
 */
#include <string.h>

#include <sodium.h>

#include "error.h"
#include "token.h"

int
token_new(char out[TOKEN_LEN + 1])
{
	unsigned char	 raw[TOKEN_BYTES];

	out[0] = '\0';
	if (sodium_init() < 0)
		return WS_ERR_INTERNAL;
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out, TOKEN_LEN + 1, raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	return 0;
}

int
token_valid(const char *s)
{
	unsigned char	 raw[TOKEN_BYTES];
	size_t		 n;
	int		 ok;

	if (s == NULL || strnlen(s, TOKEN_LEN + 1) != TOKEN_LEN)
		return 0;
	/*
	 * The decoder refuses characters outside the alphabet and, for
	 * 43 characters, non-zero bits past the 256th.
	 */
	ok = sodium_base642bin(raw, sizeof(raw), s, TOKEN_LEN, NULL, &n,
	    NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 &&
	    n == TOKEN_BYTES;
	sodium_memzero(raw, sizeof(raw));
	return ok;
}

void
token_hash(const char *token, unsigned char out[TOKEN_HASH_BYTES])
{
	crypto_hash_sha256(out, (const unsigned char *)token,
	    strlen(token));
}

void
token_hash_hex(const char *token, char out[TOKEN_HASH_HEX_LEN + 1])
{
	unsigned char	 h[TOKEN_HASH_BYTES];

	token_hash(token, h);
	sodium_bin2hex(out, TOKEN_HASH_HEX_LEN + 1, h, sizeof(h));
}

int
token_equal(const char *a, const char *b)
{
	size_t	 n;

	if (a == NULL || b == NULL)
		return 0;
	/* The length of a token is public; its bytes are not. */
	n = strlen(a);
	if (strlen(b) != n)
		return 0;
	return sodium_memcmp(a, b, n) == 0;
}
