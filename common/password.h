/*
 * Password hashing (design.md 7): bcrypt through libcrypt's crypt_r by
 * default, Argon2id through libsodium by configuration.  Both kinds of
 * stored hash verify whatever the configured kind is, so an operator
 * can switch and let password_needs_rehash move users over at their
 * next login.
 *
 * A process-wide counting semaphore bounds the hashes that run at
 * once.  A hash is slow and Argon2id holds tens of MiB while it runs,
 * so a burst of logins must be refused (WS_ERR_UNAVAILABLE: the caller
 * answers 503 with Retry-After) rather than exhaust the CPU or memory.
 *
 * password_init must run before any worker thread starts and
 * password_cleanup after the last one stopped; every other function
 * is thread-safe.
 */
#ifndef WEBSANDS_PASSWORD_H
#define WEBSANDS_PASSWORD_H

#include <stddef.h>

enum password_algo {
	PASSWORD_BCRYPT = 0,
	PASSWORD_ARGON2ID
};

/* bcrypt reads at most this many bytes; longer passwords are refused. */
#define PASSWORD_BCRYPT_MAX	72
/* The documented cap on a password, in bytes, whatever the algorithm. */
#define PASSWORD_MAX		1024
/* Bytes of a stored hash, with its NUL; holds both kinds. */
#define PASSWORD_HASH_MAX	128

#define PASSWORD_BCRYPT_COST_MIN	4
#define PASSWORD_BCRYPT_COST_MAX	31
#define PASSWORD_DEFAULT_BCRYPT_COST	12
/*
 * The Argon2id defaults are the first of the OWASP Password Storage
 * Cheat Sheet's equivalent settings, m = 19 MiB, t = 2, p = 1 (libsodium
 * always uses one lane).  The other, m = 46 MiB, t = 1, is as strong;
 * 19 MiB was chosen because it lets more hashes run at once in the same
 * memory.
 */
#define PASSWORD_DEFAULT_ARGON2_OPSLIMIT	2ULL
#define PASSWORD_DEFAULT_ARGON2_MEMLIMIT	((size_t)19 * 1024 * 1024)

struct password_opts {
	enum password_algo	 algo;	/* the kind new hashes are made of */
	int			 bcrypt_cost;	/* 4..31 */
	unsigned long long	 argon2_opslimit; /* Argon2 t */
	size_t			 argon2_memlimit; /* bytes; Argon2 m * 1024 */
	/* Hashes running at once; 0: the number of online CPUs. */
	int			 max_concurrent;
	/*
	 * How long a hash may wait for a free slot, in milliseconds;
	 * 0 (the default) only tries, so a full semaphore answers at
	 * once.
	 */
	long			 wait_ms;
};

/* Fills o with the defaults above (bcrypt, cost 12, no wait). */
void	 password_opts_default(struct password_opts *o);

/*
 * Sets up hashing with o: checks the parameters against what bcrypt
 * and libsodium accept (not against a policy minimum, so that tests
 * can use cheap ones; the configuration sets the floor), creates the
 * semaphore and makes the dummy hash that password_dummy_verify uses.
 * Calling it again replaces the previous set-up.  Returns 0,
 * WS_ERR_INVALID, WS_ERR_NOMEM or WS_ERR_INTERNAL.
 */
int	 password_init(const struct password_opts *o);
/* Releases what password_init made; safe to call when not set up. */
void	 password_cleanup(void);

/*
 * Hashes pw with the configured algorithm into out, a NUL-terminated
 * string in crypt(3) form ("$2b$12$..." or "$argon2id$v=19$...").
 * Returns 0; WS_ERR_TOOBIG when pw is over PASSWORD_BCRYPT_MAX bytes
 * with bcrypt or over PASSWORD_MAX with Argon2id (nothing is ever
 * truncated); WS_ERR_UNAVAILABLE when every slot is busy;
 * WS_ERR_NOMEM; WS_ERR_INTERNAL when not set up or the hash failed.
 */
int	 password_hash(const char *pw, char out[PASSWORD_HASH_MAX]);

/*
 * Checks pw against stored (either kind, whatever is configured) and
 * sets *ok to 1 when it matches, else 0.  The comparison takes
 * constant time.  A password too long for the stored kind (over 72
 * bytes against bcrypt) costs a hash all the same and never matches;
 * one over PASSWORD_MAX never matches and costs nothing, which depends
 * only on what the client sent.  Returns 0 (look at *ok),
 * WS_ERR_UNAVAILABLE when every slot is busy, WS_ERR_INVALID when
 * stored is no hash this module knows, WS_ERR_NOMEM or
 * WS_ERR_INTERNAL; *ok is 0 on every failure.
 */
int	 password_verify(const char *pw, const char *stored, int *ok);

/*
 * 1 when stored should be replaced after a successful verify: it is of
 * another kind than the configured one ($2a$ and $2y$ count as other
 * than $2b$), a bcrypt cost is lower than the configured one, or an
 * Argon2id hash has parameters other than the configured ones (as
 * libsodium's crypto_pwhash_str_needs_rehash decides).  1 as well for
 * a string that is no known hash; else 0.
 */
int	 password_needs_rehash(const char *stored);

/*
 * Verifies pw against a hash of the configured kind made at
 * password_init, and throws the answer away, so that a login for an
 * unknown user costs what a wrong password costs.  Returns as
 * password_verify (WS_ERR_UNAVAILABLE included).
 */
int	 password_dummy_verify(const char *pw);

/*
 * Takes one slot of the hash semaphore for the caller's own slow work
 * (recovery.c hashes through it too) and gives it back.  Returns 0,
 * WS_ERR_UNAVAILABLE when none is free within wait_ms, or
 * WS_ERR_INTERNAL when password_init has not run.  Tests use these to
 * fill the semaphore.
 */
int	 password_slot_acquire(void);
void	 password_slot_release(void);

/* The configured algorithm, and its name ("bcrypt", "argon2id"). */
enum password_algo password_algo_current(void);
const char *password_algo_name(enum password_algo a);

#endif
