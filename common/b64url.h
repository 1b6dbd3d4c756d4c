/*
 * Base64url without padding (RFC 4648 section 5, as JOSE uses it).
 * Decoding is strict, so that one value has exactly one spelling: a
 * padding '=', whitespace, a character outside [A-Za-z0-9_-], a length
 * of 4k+1 characters or non-zero unused bits in the last character are
 * all refused.  A token that could be spelled two ways would let two
 * different strings carry the same signed bytes.
 */
#ifndef WEBSANDS_B64URL_H
#define WEBSANDS_B64URL_H

#include <stddef.h>

/* The largest input b64url_encode and b64url_decode accept (bytes). */
#define B64URL_MAX_INPUT	((size_t)1 << 28)

/*
 * The encoded length of n bytes, without a NUL; SIZE_MAX when n is
 * past B64URL_MAX_INPUT.
 */
size_t	 b64url_encoded_len(size_t n);
/*
 * The decoded length of len encoded characters, or SIZE_MAX when len
 * is past B64URL_MAX_INPUT or is 4k+1 (which no encoding produces).
 */
size_t	 b64url_decoded_len(size_t len);

/*
 * Encodes in[0..n) into out, which has outsize bytes, and terminates it
 * with a NUL.  Returns 0, or WS_ERR_TOOBIG (out is then "" when outsize
 * is not 0) when out is too small or n too large.
 */
int	 b64url_encode(const void *in, size_t n, char *out, size_t outsize);
/* As b64url_encode into a new string the caller frees; WS_ERR_NOMEM. */
int	 b64url_encode_alloc(const void *in, size_t n, char **out);

/*
 * Decodes in[0..len) into out (outsize bytes) and sets *outlen.
 * Returns 0, WS_ERR_INVALID for anything but canonical unpadded
 * base64url (including an embedded NUL), or WS_ERR_TOOBIG when out is
 * too small or len too large.  On failure *outlen is 0 and out holds
 * nothing meaningful.
 */
int	 b64url_decode(const char *in, size_t len, unsigned char *out,
	    size_t outsize, size_t *outlen);
/*
 * As b64url_decode into a new buffer the caller frees; the buffer has
 * one more byte, set to NUL, so decoded text can be used as a string
 * (the length does not count it).  *out is NULL on failure.
 */
int	 b64url_decode_alloc(const char *in, size_t len, unsigned char **out,
	    size_t *outlen);

#endif
