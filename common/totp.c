/*
 * TOTP of totp.h.  The HMAC-SHA-1 is OpenSSL's one-shot HMAC(); base32
 * is written here because neither OpenSSL nor libsodium offers it and
 * it is a few lines of table lookup.  Decoded secrets live on the
 * stack only as long as one computation and are wiped after it.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include "error.h"
#include "totp.h"

static const char	 b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int
totp_base32_encode(const unsigned char *in, size_t n, char *out,
    size_t outlen)
{
	size_t		 i, o = 0;
	unsigned	 acc = 0, bits = 0;

	if (outlen > 0)
		out[0] = '\0';
	/* ceil(n * 8 / 5) characters and a NUL. */
	if (n > (SIZE_MAX - 4) / 8 || (n * 8 + 4) / 5 >= outlen)
		return WS_ERR_TOOBIG;
	for (i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = b32_alphabet[(acc >> bits) & 0x1f];
		}
		acc &= (1u << bits) - 1;
	}
	if (bits > 0)
		out[o++] = b32_alphabet[(acc << (5 - bits)) & 0x1f];
	out[o] = '\0';
	return 0;
}

/* The value of base32 character c (either case), or -1. */
static int
b32_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

int
totp_base32_decode(const char *in, unsigned char *out, size_t outlen,
    size_t *n)
{
	size_t		 len, i, o = 0;
	unsigned	 acc = 0, bits = 0;
	int		 v;

	*n = 0;
	len = strlen(in);
	while (len > 0 && in[len - 1] == '=')
		len--;
	/* 1, 3 or 6 characters past a full group encode no whole byte. */
	switch (len % 8) {
	case 1:
	case 3:
	case 6:
		return WS_ERR_INVALID;
	}
	if (len / 8 * 5 + (len % 8) * 5 / 8 > outlen)
		return WS_ERR_TOOBIG;
	for (i = 0; i < len; i++) {
		if ((v = b32_value(in[i])) < 0)
			goto bad;
		acc = (acc << 5) | (unsigned)v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* What is left must be zero padding, or one value has two forms. */
	if (acc != 0)
		goto bad;
	*n = o;
	return 0;
bad:
	sodium_memzero(out, outlen);
	return WS_ERR_INVALID;
}

int
totp_secret_new(char out[TOTP_SECRET_B32_LEN + 1])
{
	unsigned char	 raw[TOTP_SECRET_BYTES];
	int		 rc;

	out[0] = '\0';
	if (sodium_init() < 0)
		return WS_ERR_INTERNAL;
	randombytes_buf(raw, sizeof(raw));
	rc = totp_base32_encode(raw, sizeof(raw), out,
	    TOTP_SECRET_B32_LEN + 1);
	sodium_memzero(raw, sizeof(raw));
	return rc != 0 ? WS_ERR_INTERNAL : 0;
}

int
totp_hotp(const unsigned char *key, size_t keylen, uint64_t counter,
    int digits, uint32_t *code)
{
	static const uint32_t	 mod[] = { 1000000, 10000000, 100000000 };
	unsigned char		 msg[8], md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0;
	uint32_t		 bin;
	unsigned		 off;
	int			 i;

	*code = 0;
	if (digits < 6 || digits > 8 || keylen == 0 ||
	    keylen > TOTP_KEY_MAX)
		return WS_ERR_INVALID;
	for (i = 7; i >= 0; i--) {
		msg[i] = (unsigned char)(counter & 0xff);
		counter >>= 8;
	}
	if (HMAC(EVP_sha1(), key, (int)keylen, msg, sizeof(msg), md,
	    &mdlen) == NULL || mdlen != 20)
		return WS_ERR_INTERNAL;
	/* RFC 4226 5.3: four bytes at an offset the last nibble picks. */
	off = md[19] & 0x0f;
	bin = ((uint32_t)(md[off] & 0x7f) << 24) |
	    ((uint32_t)md[off + 1] << 16) | ((uint32_t)md[off + 2] << 8) |
	    (uint32_t)md[off + 3];
	*code = bin % mod[digits - 6];
	sodium_memzero(md, sizeof(md));
	return 0;
}

int64_t
totp_step(time_t now)
{
	return now < 0 ? 0 : (int64_t)now / TOTP_STEP_SECONDS;
}

/* The code for step as 6 digits, with the key already decoded. */
static int
code_for(const unsigned char *key, size_t keylen, int64_t step,
    char out[TOTP_DIGITS + 1])
{
	uint32_t	 v;
	int		 rc, n;

	out[0] = '\0';
	if (step < 0)
		return WS_ERR_INVALID;
	if ((rc = totp_hotp(key, keylen, (uint64_t)step, TOTP_DIGITS,
	    &v)) != 0)
		return rc;
	n = snprintf(out, TOTP_DIGITS + 1, "%06u", (unsigned)v);
	return n == TOTP_DIGITS ? 0 : WS_ERR_INTERNAL;
}

int
totp_code(const char *secret_b32, int64_t step, char out[TOTP_DIGITS + 1])
{
	unsigned char	 key[TOTP_KEY_MAX];
	size_t		 keylen;
	int		 rc;

	out[0] = '\0';
	if (secret_b32 == NULL || totp_base32_decode(secret_b32, key,
	    sizeof(key), &keylen) != 0 || keylen == 0)
		return WS_ERR_INVALID;
	rc = code_for(key, keylen, step, out);
	sodium_memzero(key, sizeof(key));
	return rc;
}

/* 1 if code is exactly TOTP_DIGITS ASCII digits. */
static int
code_wellformed(const char *code)
{
	int	 i;

	for (i = 0; i < TOTP_DIGITS; i++)
		if (code[i] < '0' || code[i] > '9')
			return 0;
	return code[TOTP_DIGITS] == '\0';
}

int
totp_verify(const char *secret_b32, const char *code, time_t now,
    int64_t last_used_step, int64_t *matched_step)
{
	unsigned char	 key[TOTP_KEY_MAX];
	char		 want[TOTP_DIGITS + 1];
	size_t		 keylen;
	int64_t		 step, match = -1;
	int		 d, replay = 0, rc = WS_ERR_INTERNAL;

	*matched_step = -1;
	if (secret_b32 == NULL || totp_base32_decode(secret_b32, key,
	    sizeof(key), &keylen) != 0 || keylen == 0)
		return WS_ERR_INTERNAL;
	if (code == NULL || !code_wellformed(code)) {
		rc = WS_ERR_INVALID;
		goto out;
	}
	for (d = -TOTP_DRIFT_STEPS; d <= TOTP_DRIFT_STEPS; d++) {
		step = totp_step(now) + d;
		if (code_for(key, keylen, step, want) != 0)
			continue;
		if (sodium_memcmp(want, code, TOTP_DIGITS) != 0)
			continue;
		if (step > last_used_step) {
			if (match < 0)
				match = step;
		} else
			replay = 1;
	}
	if (match >= 0) {
		*matched_step = match;
		rc = 0;
	} else
		rc = replay ? WS_ERR_CONFLICT : WS_ERR_INVALID;
out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(want, sizeof(want));
	return rc;
}

/* 1 if s may stand in an otpauth label: not empty, no ':' or control. */
static int
label_ok(const char *s, size_t max)
{
	size_t	 i, n;

	if (s == NULL || (n = strnlen(s, max + 1)) == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] == ':' || (unsigned char)s[i] < 0x20 ||
		    s[i] == 0x7f)
			return 0;
	return 1;
}

/* Appends s percent-encoded, leaving only RFC 3986 unreserved bytes. */
static int
put_encoded(struct buf *out, const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	char			 e[3];
	unsigned char		 c;
	int			 rc;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			if ((rc = buf_putc(out, (char)c)) != 0)
				return rc;
			continue;
		}
		e[0] = '%';
		e[1] = hex[c >> 4];
		e[2] = hex[c & 0x0f];
		if ((rc = buf_append(out, e, sizeof(e))) != 0)
			return rc;
	}
	return 0;
}

int
totp_uri(struct buf *out, const char *issuer, const char *account,
    const char *secret_b32)
{
	unsigned char	 key[TOTP_KEY_MAX];
	size_t		 start, keylen;
	int		 rc;

	if (!label_ok(issuer, TOTP_ISSUER_MAX) ||
	    !label_ok(account, TOTP_ACCOUNT_MAX))
		return WS_ERR_INVALID;
	/* Only a decodable secret, so nothing but base32 reaches the URI. */
	if (secret_b32 == NULL || strchr(secret_b32, '=') != NULL ||
	    totp_base32_decode(secret_b32, key, sizeof(key), &keylen) != 0)
		return WS_ERR_INVALID;
	sodium_memzero(key, sizeof(key));
	start = out->len;
	if ((rc = buf_puts(out, "otpauth://totp/")) != 0 ||
	    (rc = put_encoded(out, issuer)) != 0 ||
	    (rc = buf_putc(out, ':')) != 0 ||
	    (rc = put_encoded(out, account)) != 0 ||
	    (rc = buf_puts(out, "?secret=")) != 0 ||
	    (rc = buf_puts(out, secret_b32)) != 0 ||
	    (rc = buf_puts(out, "&issuer=")) != 0 ||
	    (rc = put_encoded(out, issuer)) != 0 ||
	    (rc = buf_printf(out, "&algorithm=SHA1&digits=%d&period=%d",
	    TOTP_DIGITS, TOTP_STEP_SECONDS)) != 0) {
		/* Leave out as it was, not with half a URI. */
		out->len = start;
		if (out->data != NULL)
			out->data[start] = '\0';
		return rc;
	}
	return 0;
}
