/*
 * Column encryption of datakey.h.  The AEAD is libsodium's
 * crypto_aead_xchacha20poly1305_ietf: its 192-bit nonces can be drawn
 * at random for every value without any fear of a repeat, so no
 * counter has to be kept across processes.  Keys sit in one block of
 * memory that is locked (when the limits allow) so they are not
 * swapped out or dumped, and wiped when the ring is freed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "datakey.h"
#include "error.h"
#include "log.h"

struct datakey_ring {
	/* Indexed by key id; a slot holds a key when present[id] is set. */
	unsigned char	(*keys)[DATAKEY_KEY_BYTES];
	unsigned char	 present[DATAKEY_MAX_ID + 1];
	size_t		 n;
	int		 active;
	int		 locked;	/* keys is mlock'ed */
};

#define KEYS_SIZE	((size_t)(DATAKEY_MAX_ID + 1) * DATAKEY_KEY_BYTES)

void
datakey_ring_free(struct datakey_ring *kr)
{
	if (kr == NULL)
		return;
	if (kr->keys != NULL) {
		/* sodium_munlock zeroes the memory before unlocking it. */
		if (kr->locked)
			sodium_munlock(kr->keys, KEYS_SIZE);
		else
			sodium_memzero(kr->keys, KEYS_SIZE);
		free(kr->keys);
	}
	free(kr);
}

int
datakey_active_id(const struct datakey_ring *kr)
{
	return kr->active;
}

size_t
datakey_count(const struct datakey_ring *kr)
{
	return kr->n;
}

int
datakey_next_id(const struct datakey_ring *kr)
{
	int	 id, max = 0;

	for (id = 1; id <= DATAKEY_MAX_ID; id++)
		if (kr->present[id])
			max = id;
	if (max < DATAKEY_MAX_ID)
		return max + 1;
	for (id = 1; id <= DATAKEY_MAX_ID; id++)
		if (!kr->present[id])
			return id;
	return 0;
}

/*
 * Parses one line "<id> <64 hex>" (trailing blanks allowed) into the
 * ring.  Returns 0, 1 for a line with nothing on it, or
 * WS_ERR_INVALID.
 */
static int
parse_line(struct datakey_ring *kr, char *line)
{
	const char	*end;
	char		*p = line;
	size_t		 n, binlen;
	int		 id = 0, digits = 0;

	/* The caller wipes the whole buffer, line included. */

	n = strlen(line);
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' ||
	    line[n - 1] == '\r'))
		line[--n] = '\0';
	if (n == 0 || line[0] == '#')
		return 1;
	while (*p >= '0' && *p <= '9' && digits < 4) {
		id = id * 10 + (*p++ - '0');
		digits++;
	}
	if (digits == 0 || digits > 3 || id < 1 || id > DATAKEY_MAX_ID ||
	    (*p != ' ' && *p != '\t'))
		return WS_ERR_INVALID;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strlen(p) != 2 * DATAKEY_KEY_BYTES || kr->present[id])
		return WS_ERR_INVALID;
	if (sodium_hex2bin(kr->keys[id], DATAKEY_KEY_BYTES, p,
	    2 * DATAKEY_KEY_BYTES, NULL, &binlen, &end) != 0 ||
	    binlen != DATAKEY_KEY_BYTES || *end != '\0') {
		sodium_memzero(kr->keys[id], DATAKEY_KEY_BYTES);
		return WS_ERR_INVALID;
	}
	kr->present[id] = 1;
	kr->active = id;
	kr->n++;
	return 0;
}

/* Reads the key file, already open as fd, into a new buffer. */
static int
read_keyfile(int fd, const char *path, char **out, size_t *outlen)
{
	struct stat	 st;
	char		*data;
	size_t		 len = 0;
	ssize_t		 r;
	char		 mode[8];

	*out = NULL;
	if (fstat(fd, &st) == -1)
		return WS_ERR_IO;
	if (!S_ISREG(st.st_mode))
		return WS_ERR_INVALID;
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(mode, sizeof(mode), "%04o",
		    (unsigned)(st.st_mode & 07777));
		log_event(LOG_ERROR, "datakey_file_mode", "path", path,
		    "mode", mode, "want", "0600", NULL);
		return WS_ERR_INVALID;
	}
	if (st.st_size > DATAKEY_FILE_MAX)
		return WS_ERR_TOOBIG;
	if ((data = malloc(DATAKEY_FILE_MAX + 1)) == NULL)
		return WS_ERR_NOMEM;
	while (len < DATAKEY_FILE_MAX) {
		r = read(fd, data + len, DATAKEY_FILE_MAX - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			sodium_memzero(data, DATAKEY_FILE_MAX + 1);
			free(data);
			return WS_ERR_IO;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	data[len] = '\0';
	*out = data;
	*outlen = len;
	return 0;
}

int
datakey_ring_load(struct datakey_ring **out, const char *path)
{
	struct datakey_ring	*kr = NULL;
	char			*data = NULL, *line, *nl;
	char			 lineno[16];
	size_t			 len = 0, no = 0;
	int			 fd = -1, rc;

	*out = NULL;
	if (sodium_init() < 0)
		return WS_ERR_INTERNAL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		rc = errno == ENOENT ? WS_ERR_NOTFOUND : WS_ERR_IO;
		goto out;
	}
	if ((rc = read_keyfile(fd, path, &data, &len)) != 0)
		goto out;
	rc = WS_ERR_NOMEM;
	if ((kr = calloc(1, sizeof(*kr))) == NULL ||
	    (kr->keys = calloc(1, KEYS_SIZE)) == NULL)
		goto out;
	/* Failing to lock (RLIMIT_MEMLOCK) costs protection, not service. */
	kr->locked = sodium_mlock(kr->keys, KEYS_SIZE) == 0;
	rc = WS_ERR_INVALID;
	if (memchr(data, '\0', len) != NULL)
		goto out;
	for (line = data; line < data + len; line = nl + 1) {
		no++;
		if ((nl = strchr(line, '\n')) != NULL)
			*nl = '\0';
		else
			nl = data + len;
		if (parse_line(kr, line) == WS_ERR_INVALID) {
			/* The line number only: the line holds a key. */
			snprintf(lineno, sizeof(lineno), "%zu", no);
			log_event(LOG_ERROR, "datakey_file_invalid", "path",
			    path, "line", lineno, NULL);
			goto out;
		}
	}
	if (kr->n == 0) {
		log_event(LOG_ERROR, "datakey_file_invalid", "path", path,
		    "error", "no key", NULL);
		goto out;
	}
	rc = 0;
out:
	if (data != NULL) {
		sodium_memzero(data, DATAKEY_FILE_MAX + 1);
		free(data);
	}
	if (fd != -1)
		close(fd);
	if (rc == 0)
		*out = kr;
	else
		datakey_ring_free(kr);
	return rc;
}

/* The associated data: the ciphertext's version and key id, then aad. */
static int
make_ad(unsigned char ad[2 + DATAKEY_AAD_MAX], int id, const char *aad,
    size_t *adlen)
{
	size_t	 n;

	if (aad == NULL || (n = strnlen(aad, DATAKEY_AAD_MAX + 1)) == 0 ||
	    n > DATAKEY_AAD_MAX)
		return WS_ERR_INVALID;
	ad[0] = DATAKEY_VERSION;
	ad[1] = (unsigned char)id;
	memcpy(ad + 2, aad, n);
	*adlen = n + 2;
	return 0;
}

int
datakey_encrypt(const struct datakey_ring *kr, const void *pt, size_t len,
    const char *aad, unsigned char **out, size_t *outlen)
{
	unsigned char		 ad[2 + DATAKEY_AAD_MAX];
	unsigned char		*ct;
	unsigned long long	 clen;
	size_t			 adlen;
	int			 rc;

	*out = NULL;
	*outlen = 0;
	if (kr == NULL || kr->active == 0 || (pt == NULL && len > 0))
		return WS_ERR_INVALID;
	if (len > DATAKEY_PLAIN_MAX)
		return WS_ERR_TOOBIG;
	if ((rc = make_ad(ad, kr->active, aad, &adlen)) != 0)
		return rc;
	if ((ct = malloc(len + DATAKEY_OVERHEAD)) == NULL)
		return WS_ERR_NOMEM;
	ct[0] = DATAKEY_VERSION;
	ct[1] = (unsigned char)kr->active;
	randombytes_buf(ct + 2, DATAKEY_NONCE_BYTES);
	crypto_aead_xchacha20poly1305_ietf_encrypt(ct + DATAKEY_HEADER_BYTES,
	    &clen, pt, len, ad, adlen, NULL, ct + 2, kr->keys[kr->active]);
	*out = ct;
	*outlen = (size_t)clen + DATAKEY_HEADER_BYTES;
	return 0;
}

int
datakey_ciphertext_key_id(const unsigned char *ct, size_t len)
{
	if (ct == NULL || len < DATAKEY_OVERHEAD || ct[0] != DATAKEY_VERSION ||
	    ct[1] == 0)
		return -1;
	return ct[1];
}

int
datakey_decrypt(const struct datakey_ring *kr, const unsigned char *ct,
    size_t len, const char *aad, unsigned char **out, size_t *outlen)
{
	unsigned char		 ad[2 + DATAKEY_AAD_MAX];
	unsigned char		*pt;
	unsigned long long	 plen;
	size_t			 adlen, max;
	int			 id, rc;

	*out = NULL;
	*outlen = 0;
	if (kr == NULL || (id = datakey_ciphertext_key_id(ct, len)) < 0)
		return WS_ERR_INVALID;
	if (!kr->present[id])
		return WS_ERR_NOTFOUND;
	max = len - DATAKEY_OVERHEAD;
	if (max > DATAKEY_PLAIN_MAX)
		return WS_ERR_TOOBIG;
	if ((rc = make_ad(ad, id, aad, &adlen)) != 0)
		return rc;
	if ((pt = malloc(max + 1)) == NULL)
		return WS_ERR_NOMEM;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &plen, NULL,
	    ct + DATAKEY_HEADER_BYTES, len - DATAKEY_HEADER_BYTES, ad, adlen,
	    ct + 2, kr->keys[id]) != 0) {
		datakey_plain_free(pt, max + 1);
		return WS_ERR_INVALID;
	}
	pt[plen] = '\0';
	*out = pt;
	*outlen = (size_t)plen;
	return 0;
}

void
datakey_plain_free(void *p, size_t len)
{
	if (p == NULL)
		return;
	sodium_memzero(p, len);
	free(p);
}

int
datakey_encrypt_text(const struct datakey_ring *kr, const char *pt,
    const char *aad, char **out)
{
	unsigned char	*ct = NULL;
	size_t		 ctlen, n;
	int		 rc;

	*out = NULL;
	if (pt == NULL)
		return WS_ERR_INVALID;
	if ((rc = datakey_encrypt(kr, pt, strnlen(pt, DATAKEY_PLAIN_MAX + 1),
	    aad, &ct, &ctlen)) != 0)
		return rc;
	n = sodium_base64_ENCODED_LEN(ctlen, sodium_base64_VARIANT_ORIGINAL);
	if ((*out = malloc(n)) == NULL)
		rc = WS_ERR_NOMEM;
	else
		sodium_bin2base64(*out, n, ct, ctlen,
		    sodium_base64_VARIANT_ORIGINAL);
	free(ct);
	return rc;
}

int
datakey_decrypt_text(const struct datakey_ring *kr, const char *b64,
    const char *aad, char **out)
{
	unsigned char	*ct = NULL, *pt = NULL;
	size_t		 len, max, ctlen, ptlen;
	int		 rc;

	*out = NULL;
	if (b64 == NULL)
		return WS_ERR_INVALID;
	max = sodium_base64_ENCODED_LEN(DATAKEY_PLAIN_MAX + DATAKEY_OVERHEAD,
	    sodium_base64_VARIANT_ORIGINAL);
	if ((len = strnlen(b64, max + 1)) > max)
		return WS_ERR_TOOBIG;
	if ((ct = malloc(len / 4 * 3 + 3)) == NULL)
		return WS_ERR_NOMEM;
	rc = WS_ERR_INVALID;
	if (sodium_base642bin(ct, len / 4 * 3 + 3, b64, len, NULL, &ctlen,
	    NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		goto out;
	if ((rc = datakey_decrypt(kr, ct, ctlen, aad, &pt, &ptlen)) != 0)
		goto out;
	/* Text never holds a NUL; a plaintext with one is not ours. */
	if (memchr(pt, '\0', ptlen) != NULL) {
		datakey_plain_free(pt, ptlen);
		rc = WS_ERR_INVALID;
		goto out;
	}
	*out = (char *)pt;
out:
	free(ct);
	return rc;
}

int
datakey_generate_line(int id, char *out, size_t outlen)
{
	unsigned char	 key[DATAKEY_KEY_BYTES];
	char		 hex[2 * DATAKEY_KEY_BYTES + 1];
	int		 n;

	if (outlen > 0)
		out[0] = '\0';
	if (id < 1 || id > DATAKEY_MAX_ID || outlen < DATAKEY_LINE_MAX ||
	    sodium_init() < 0)
		return WS_ERR_INVALID;
	randombytes_buf(key, sizeof(key));
	sodium_bin2hex(hex, sizeof(hex), key, sizeof(key));
	n = snprintf(out, outlen, "%d %s\n", id, hex);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(hex, sizeof(hex));
	if (n < 0 || (size_t)n >= outlen) {
		sodium_memzero(out, outlen);
		return WS_ERR_INVALID;
	}
	return 0;
}
