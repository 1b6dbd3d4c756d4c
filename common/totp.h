/*
 * TOTP (RFC 6238) as design.md 7 fixes it: HMAC-SHA-1, 6 digits,
 * 30-second steps counted from the Unix epoch, one step of drift either
 * way, and a step that was used once is never accepted again.  The
 * HMAC is OpenSSL's; secrets and codes are compared in constant time.
 * Secrets travel as RFC 4648 base32 without padding, as authenticator
 * apps expect them.
 */
#ifndef WEBSANDS_TOTP_H
#define WEBSANDS_TOTP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"

#define TOTP_SECRET_BYTES	20	/* 160 bits, as RFC 4226 advises */
#define TOTP_SECRET_B32_LEN	32	/* base32 characters of a secret */
#define TOTP_STEP_SECONDS	30
#define TOTP_DIGITS		6
#define TOTP_DRIFT_STEPS	1	/* steps accepted either side of now */
#define TOTP_KEY_MAX		64	/* bytes of a decoded secret */
#define TOTP_ISSUER_MAX		128	/* bytes of an issuer name */
#define TOTP_ACCOUNT_MAX	256	/* bytes of an account name */

/*
 * Writes a new secret (TOTP_SECRET_BYTES from the CSPRNG, base32) and
 * its NUL into out.  Returns 0 or WS_ERR_INTERNAL.
 */
int	 totp_secret_new(char out[TOTP_SECRET_B32_LEN + 1]);

/*
 * Encodes in[0..n) as base32 without padding into out (outlen bytes,
 * NUL included).  Returns 0 or WS_ERR_TOOBIG.
 */
int	 totp_base32_encode(const unsigned char *in, size_t n, char *out,
	    size_t outlen);
/*
 * Decodes the base32 string in (either case; trailing '=' padding
 * allowed; nothing else) into out (outlen bytes), setting *n.  A
 * length no encoder produces and non-zero unused bits are refused.
 * Returns 0, WS_ERR_INVALID or WS_ERR_TOOBIG.
 */
int	 totp_base32_decode(const char *in, unsigned char *out,
	    size_t outlen, size_t *n);

/*
 * The HOTP value (RFC 4226) of key for counter, with digits digits
 * (6..8), in *code.  TOTP is this with the step number as the counter;
 * RFC 6238's test vectors use 8 digits.  Returns 0, WS_ERR_INVALID or
 * WS_ERR_INTERNAL.
 */
int	 totp_hotp(const unsigned char *key, size_t keylen, uint64_t counter,
	    int digits, uint32_t *code);

/* The step number of time now (now / 30); 0 before the epoch. */
int64_t	 totp_step(time_t now);

/*
 * Writes the 6-digit code of secret_b32 for step, zero-padded, with a
 * NUL, into out.  Returns 0, WS_ERR_INVALID (a bad secret) or
 * WS_ERR_INTERNAL.
 */
int	 totp_code(const char *secret_b32, int64_t step,
	    char out[TOTP_DIGITS + 1]);

/*
 * Checks code (exactly 6 ASCII digits) against the steps around now
 * (now - 1 .. now + 1).  Every candidate is computed and compared in
 * constant time, whatever matches.  A step at or below last_used_step
 * (pass 0 or less when none was used) is not accepted, so a code works
 * once.  Returns 0 with the step that matched in *matched_step (store
 * it as the new last used step); WS_ERR_CONFLICT when the code is
 * right but its step was already used (a replay: worth an audit
 * event); WS_ERR_INVALID for a wrong or malformed code; or
 * WS_ERR_INTERNAL for a bad secret.
 */
int	 totp_verify(const char *secret_b32, const char *code, time_t now,
	    int64_t last_used_step, int64_t *matched_step);

/*
 * Appends the otpauth:// URI authenticator apps read (Key URI format)
 * to out:
 *   otpauth://totp/ISSUER:ACCOUNT?secret=S&issuer=ISSUER
 *       &algorithm=SHA1&digits=6&period=30
 * with issuer and account percent-encoded (all but A-Z a-z 0-9 - . _ ~).
 * Neither may hold ':' or a control character, nor be empty.  Returns
 * 0, WS_ERR_INVALID, WS_ERR_TOOBIG or a buf error.
 */
int	 totp_uri(struct buf *out, const char *issuer, const char *account,
	    const char *secret_b32);

#endif
