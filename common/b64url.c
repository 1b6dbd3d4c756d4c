/*
 * Base64url through libsodium, whose codec is constant-time and already
 * refuses padding, dangling characters and non-zero unused bits when no
 * characters are to be ignored.  This file adds what libsodium leaves
 * to its caller: sodium_bin2base64 aborts the process on a short
 * buffer, so every length is computed and compared here first; and the
 * decoder of libsodium 1.0.18 (Debian 12) takes every byte from 0x80
 * to 0xff for some digit, so the alphabet is checked here before it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "b64url.h"
#include "error.h"

#define B64URL_VARIANT	sodium_base64_VARIANT_URLSAFE_NO_PADDING

size_t
b64url_encoded_len(size_t n)
{
	if (n > B64URL_MAX_INPUT)
		return SIZE_MAX;
	/* Every 3 bytes give 4 characters; a tail of 1 or 2 gives 2 or 3. */
	return n / 3 * 4 + (n % 3 != 0 ? n % 3 + 1 : 0);
}

size_t
b64url_decoded_len(size_t len)
{
	if (len > B64URL_MAX_INPUT || len % 4 == 1)
		return SIZE_MAX;
	return len / 4 * 3 + (len % 4 != 0 ? len % 4 - 1 : 0);
}

int
b64url_encode(const void *in, size_t n, char *out, size_t outsize)
{
	size_t	 need;

	if (outsize != 0)
		out[0] = '\0';
	need = b64url_encoded_len(n);
	if (need == SIZE_MAX || outsize < need + 1)
		return WS_ERR_TOOBIG;
	/* libsodium counts the NUL in its own length, as we did above. */
	if (sodium_base64_encoded_len(n, B64URL_VARIANT) != need + 1)
		return WS_ERR_INTERNAL;
	sodium_bin2base64(out, outsize, in, n, B64URL_VARIANT);
	return 0;
}

int
b64url_encode_alloc(const void *in, size_t n, char **out)
{
	size_t	 need;
	char	*s;
	int	 rc;

	*out = NULL;
	need = b64url_encoded_len(n);
	if (need == SIZE_MAX)
		return WS_ERR_TOOBIG;
	if ((s = malloc(need + 1)) == NULL)
		return WS_ERR_NOMEM;
	if ((rc = b64url_encode(in, n, s, need + 1)) != 0) {
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

/* Whether c is in [lo, hi], by arithmetic rather than a branch. */
static unsigned
b64url_in(unsigned c, unsigned lo, unsigned hi)
{
	return c - lo <= hi - lo;
}

/*
 * Whether every byte of in[0..len) is in [A-Za-z0-9_-].  It looks at
 * every byte whatever it finds, so its time does not depend on where
 * a refresh or reset token first goes wrong.
 */
static int
b64url_alphabet_ok(const char *in, size_t len)
{
	unsigned	 c, bad = 0;
	size_t		 i;

	for (i = 0; i < len; i++) {
		c = (unsigned char)in[i];
		bad |= (b64url_in(c, 'A', 'Z') | b64url_in(c, 'a', 'z') |
		    b64url_in(c, '0', '9') | b64url_in(c, '-', '-') |
		    b64url_in(c, '_', '_')) ^ 1;
	}
	return bad == 0;
}

int
b64url_decode(const char *in, size_t len, unsigned char *out,
    size_t outsize, size_t *outlen)
{
	size_t	 need, got;

	*outlen = 0;
	if (len > B64URL_MAX_INPUT)
		return WS_ERR_TOOBIG;
	if ((need = b64url_decoded_len(len)) == SIZE_MAX)
		return WS_ERR_INVALID;
	if (outsize < need)
		return WS_ERR_TOOBIG;
	if (!b64url_alphabet_ok(in, len))
		return WS_ERR_INVALID;
	/*
	 * No characters to ignore and no end pointer: libsodium then fails
	 * on the first byte outside the alphabet ('=', space, NUL), on a
	 * dangling 6-bit group and on non-zero unused bits.
	 */
	got = 0;
	if (sodium_base642bin(out, outsize, in, len, NULL, &got, NULL,
	    B64URL_VARIANT) != 0)
		return WS_ERR_INVALID;
	if (got != need)
		return WS_ERR_INVALID;
	*outlen = got;
	return 0;
}

int
b64url_decode_alloc(const char *in, size_t len, unsigned char **out,
    size_t *outlen)
{
	unsigned char	*p;
	size_t		 need;
	int		 rc;

	*out = NULL;
	*outlen = 0;
	if (len > B64URL_MAX_INPUT)
		return WS_ERR_TOOBIG;
	if ((need = b64url_decoded_len(len)) == SIZE_MAX)
		return WS_ERR_INVALID;
	if ((p = malloc(need + 1)) == NULL)
		return WS_ERR_NOMEM;
	if ((rc = b64url_decode(in, len, p, need, outlen)) != 0) {
		free(p);
		return rc;
	}
	p[*outlen] = '\0';
	*out = p;
	return 0;
}
