/*
 * Recovery codes of recovery.h.  Codes come from libsodium's CSPRNG
 * and are hashed with its Argon2id; this file only spells them.
 */
#include <ctype.h>
#include <string.h>

#include <sodium.h>

#include "error.h"
#include "password.h"
#include "recovery.h"

/* Crockford's base32 alphabet, lowercase: 32 symbols, 5 bits each. */
static const char	 code_alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";

static unsigned long long	 rec_opslimit =
    crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE;
static size_t			 rec_memlimit =
    crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE;

int
recovery_init(unsigned long long opslimit, size_t memlimit)
{
	if (opslimit == 0 && memlimit == 0) {
		opslimit = crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE;
		memlimit = crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE;
	}
	if (opslimit < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
	    opslimit > crypto_pwhash_argon2id_OPSLIMIT_MAX ||
	    memlimit < crypto_pwhash_argon2id_MEMLIMIT_MIN ||
	    memlimit > crypto_pwhash_argon2id_MEMLIMIT_MAX)
		return WS_ERR_INVALID;
	if (sodium_init() < 0)
		return WS_ERR_INTERNAL;
	rec_opslimit = opslimit;
	rec_memlimit = memlimit;
	return 0;
}

/* Writes one new code in canonical form. */
static void
code_new(char out[RECOVERY_CODE_LEN + 1])
{
	unsigned char	 raw[RECOVERY_CODE_CHARS];
	size_t		 i, o = 0;

	randombytes_buf(raw, sizeof(raw));
	for (i = 0; i < RECOVERY_CODE_CHARS; i++) {
		if (i == RECOVERY_CODE_CHARS / 2)
			out[o++] = '-';
		/* 256 is a multiple of 32, so the low 5 bits are uniform. */
		out[o++] = code_alphabet[raw[i] & 0x1f];
	}
	out[o] = '\0';
	sodium_memzero(raw, sizeof(raw));
}

int
recovery_codes_new(char out[RECOVERY_CODES][RECOVERY_CODE_LEN + 1])
{
	size_t	 i, j;

	if (sodium_init() < 0)
		return WS_ERR_INTERNAL;
	for (i = 0; i < RECOVERY_CODES; i++) {
		/* A repeat is a 2^-50 event, but two equal codes are one. */
		do {
			code_new(out[i]);
			for (j = 0; j < i; j++)
				if (strcmp(out[i], out[j]) == 0)
					break;
		} while (j < i);
	}
	return 0;
}

int
recovery_normalize(const char *in, char out[RECOVERY_CODE_LEN + 1])
{
	size_t	 i, n = 0, o = 0;
	int	 c;

	out[0] = '\0';
	if (in == NULL || strnlen(in, RECOVERY_INPUT_MAX + 1) >
	    RECOVERY_INPUT_MAX)
		return WS_ERR_INVALID;
	for (i = 0; in[i] != '\0'; i++) {
		c = tolower((unsigned char)in[i]);
		if (c == '-' || c == ' ')
			continue;
		/* The letters left out of the alphabet read as look-alikes. */
		if (c == 'o')
			c = '0';
		else if (c == 'i' || c == 'l')
			c = '1';
		if (c == '\0' || strchr(code_alphabet, c) == NULL ||
		    n == RECOVERY_CODE_CHARS)
			goto bad;
		if (n == RECOVERY_CODE_CHARS / 2)
			out[o++] = '-';
		out[o++] = (char)c;
		n++;
	}
	if (n != RECOVERY_CODE_CHARS)
		goto bad;
	out[o] = '\0';
	return 0;
bad:
	sodium_memzero(out, RECOVERY_CODE_LEN + 1);
	return WS_ERR_INVALID;
}

int
recovery_hash(const char *code, char out[RECOVERY_HASH_MAX])
{
	char	 canon[RECOVERY_CODE_LEN + 1];
	char	 h[crypto_pwhash_STRBYTES];
	int	 rc;

	out[0] = '\0';
	if (recovery_normalize(code, canon) != 0)
		return WS_ERR_INVALID;
	if ((rc = password_slot_acquire()) != 0)
		goto out;
	if (crypto_pwhash_str_alg(h, canon, strlen(canon), rec_opslimit,
	    rec_memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0)
		rc = WS_ERR_NOMEM;
	else if (strlen(h) >= RECOVERY_HASH_MAX)
		rc = WS_ERR_INTERNAL;
	else
		memcpy(out, h, strlen(h) + 1);
	password_slot_release();
out:
	sodium_memzero(canon, sizeof(canon));
	return rc;
}

/* Compares canon with stored; the caller holds a hash slot. */
static int
matches(const char *canon, const char *stored)
{
	if (stored == NULL ||
	    strnlen(stored, RECOVERY_HASH_MAX) >= RECOVERY_HASH_MAX)
		return 0;
	return crypto_pwhash_str_verify(stored, canon, strlen(canon)) == 0;
}

int
recovery_verify(const char *code, const char *stored, int *ok)
{
	char	 canon[RECOVERY_CODE_LEN + 1];
	int	 rc;

	*ok = 0;
	if (recovery_normalize(code, canon) != 0)
		return 0;
	if ((rc = password_slot_acquire()) != 0)
		goto out;
	*ok = matches(canon, stored);
	password_slot_release();
out:
	sodium_memzero(canon, sizeof(canon));
	return rc;
}

int
recovery_find(const char *code, const char * const *stored, size_t n,
    size_t *index)
{
	char	 canon[RECOVERY_CODE_LEN + 1];
	size_t	 i;
	int	 rc;

	*index = 0;
	if (recovery_normalize(code, canon) != 0)
		return WS_ERR_NOTFOUND;
	if ((rc = password_slot_acquire()) != 0)
		goto out;
	rc = WS_ERR_NOTFOUND;
	for (i = 0; i < n; i++) {
		if (matches(canon, stored[i])) {
			*index = i;
			rc = 0;
			break;
		}
	}
	password_slot_release();
out:
	sodium_memzero(canon, sizeof(canon));
	return rc;
}
