/*
 * Column encryption (design.md 8) for TOTP secrets and personal names:
 * XChaCha20-Poly1305 from libsodium with a keyring of 256-bit data
 * keys.  A ciphertext is
 *     version (1 byte, 1) || key id (1 byte, 1..255)
 *     || nonce (24 random bytes) || ciphertext || tag (16 bytes)
 * and the version and key id are authenticated with the caller's
 * associated data.  The associated data names the row and column a
 * value belongs to ("users.first_name:<uuid>"), so a ciphertext copied
 * into another row or column does not decrypt.
 *
 * The key file (DATA_KEYS_FILE) holds one key a line,
 *     <key id 1..255> <64 hex digits>
 * with empty lines and "#" comments allowed; the last key is the one
 * that encrypts, every key decrypts.  It must not be readable or
 * writable by group or others (mode 0600 or 0400).  A keyring is
 * read-only once loaded, so threads may share it.
 */
#ifndef WEBSANDS_DATAKEY_H
#define WEBSANDS_DATAKEY_H

#include <stddef.h>

#define DATAKEY_VERSION		1
#define DATAKEY_KEY_BYTES	32
#define DATAKEY_NONCE_BYTES	24
#define DATAKEY_TAG_BYTES	16
#define DATAKEY_HEADER_BYTES	(2 + DATAKEY_NONCE_BYTES)
#define DATAKEY_OVERHEAD	(DATAKEY_HEADER_BYTES + DATAKEY_TAG_BYTES)
#define DATAKEY_MAX_ID		255
#define DATAKEY_FILE_MAX	(64 * 1024)	/* bytes of a key file */
#define DATAKEY_PLAIN_MAX	(1024 * 1024)	/* bytes of a plaintext */
#define DATAKEY_AAD_MAX		1024		/* bytes of associated data */
/* A key line: up to 3 digits, a space, 64 hex digits, LF, NUL. */
#define DATAKEY_LINE_MAX	(3 + 1 + 2 * DATAKEY_KEY_BYTES + 2)

struct datakey_ring;

/*
 * Loads the key file at path.  *out is the caller's to free with
 * datakey_ring_free.  Returns 0; WS_ERR_NOTFOUND; WS_ERR_INVALID for a
 * file that group or others may read or write, that is no regular
 * file, a malformed line, a repeated key id or no key at all; WS_ERR_IO;
 * WS_ERR_TOOBIG past DATAKEY_FILE_MAX; or WS_ERR_NOMEM.  The file's
 * contents never reach a log.
 */
int	 datakey_ring_load(struct datakey_ring **out, const char *path);
/* Wipes every key and frees the ring; NULL-safe. */
void	 datakey_ring_free(struct datakey_ring *kr);
/* The id of the key that encrypts, and the number of keys. */
int	 datakey_active_id(const struct datakey_ring *kr);
size_t	 datakey_count(const struct datakey_ring *kr);
/*
 * The lowest unused id above the highest one in kr, else the lowest
 * unused one, for a new key; 0 when all 255 are taken.
 */
int	 datakey_next_id(const struct datakey_ring *kr);

/*
 * Encrypts pt (len bytes, at most DATAKEY_PLAIN_MAX) with the active
 * key, bound to aad (a string of 1..DATAKEY_AAD_MAX bytes).  *out (of
 * *outlen = len + DATAKEY_OVERHEAD bytes) is the caller's to free().
 * Returns 0, WS_ERR_INVALID, WS_ERR_TOOBIG or WS_ERR_NOMEM.
 */
int	 datakey_encrypt(const struct datakey_ring *kr, const void *pt,
	    size_t len, const char *aad, unsigned char **out,
	    size_t *outlen);
/*
 * Decrypts ct (len bytes) with the key its header names, checking it
 * against aad.  *out holds *outlen bytes and a NUL after them (so text
 * can be used as a string); the caller frees it with
 * datakey_plain_free.  Returns 0, WS_ERR_NOTFOUND for a key id not in
 * kr, WS_ERR_INVALID for anything malformed or altered (a wrong aad
 * included), WS_ERR_TOOBIG or WS_ERR_NOMEM.
 */
int	 datakey_decrypt(const struct datakey_ring *kr,
	    const unsigned char *ct, size_t len, const char *aad,
	    unsigned char **out, size_t *outlen);
/* Wipes len bytes at p and frees it; NULL-safe. */
void	 datakey_plain_free(void *p, size_t len);

/*
 * The same for text columns: the ciphertext as standard base64 with
 * padding, the plaintext as a NUL-terminated string.  *out is the
 * caller's: free() for datakey_encrypt_text, datakey_plain_free (with
 * strlen(*out)) for datakey_decrypt_text.  Returns as above.
 */
int	 datakey_encrypt_text(const struct datakey_ring *kr, const char *pt,
	    const char *aad, char **out);
int	 datakey_decrypt_text(const struct datakey_ring *kr, const char *b64,
	    const char *aad, char **out);

/*
 * The key id a ciphertext names, or -1 when it is too short or of
 * another version; lets `websands keys rotate-data` find the rows
 * still under an old key.
 */
int	 datakey_ciphertext_key_id(const unsigned char *ct, size_t len);

/*
 * Writes a new key line "<id> <64 hex digits>\n" for id (1..255) with
 * a fresh random key into out (outlen >= DATAKEY_LINE_MAX).  The line
 * is a secret: the caller wipes it.  Returns 0 or WS_ERR_INVALID.
 */
int	 datakey_generate_line(int id, char *out, size_t outlen);

#endif
