/*
 * Password hashing of password.h.  bcrypt goes through libcrypt's
 * crypt_r and Argon2id through libsodium; nothing here implements a
 * primitive itself.  The module keeps one process-wide state, set up
 * by password_init before threads start and only read afterwards,
 * apart from the semaphore, which is thread-safe by itself.
 */
#include <crypt.h>
#include <errno.h>
#include <limits.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "error.h"
#include "log.h"
#include "password.h"

/* An upper bound on the semaphore, far above any sensible setting. */
#define PASSWORD_MAX_CONCURRENT	1024
/* The longest wait for a slot that password_init accepts. */
#define PASSWORD_MAX_WAIT_MS	10000L

#define BCRYPT_PREFIX_LEN	4	/* "$2b$" */
#define ARGON2ID_PREFIX		"$argon2id$"

static struct {
	int			 ready;
	struct password_opts	 o;
	sem_t			 sem;
	char			 dummy[PASSWORD_HASH_MAX];
} pw_state;

void
password_opts_default(struct password_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->algo = PASSWORD_BCRYPT;
	o->bcrypt_cost = PASSWORD_DEFAULT_BCRYPT_COST;
	o->argon2_opslimit = PASSWORD_DEFAULT_ARGON2_OPSLIMIT;
	o->argon2_memlimit = PASSWORD_DEFAULT_ARGON2_MEMLIMIT;
	o->max_concurrent = 0;
	o->wait_ms = 0;
}

const char *
password_algo_name(enum password_algo a)
{
	switch (a) {
	case PASSWORD_BCRYPT:
		return "bcrypt";
	case PASSWORD_ARGON2ID:
		return "argon2id";
	}
	return "unknown";
}

enum password_algo
password_algo_current(void)
{
	return pw_state.o.algo;
}

/* 1 if s starts with one of the bcrypt prefixes libcrypt verifies. */
static int
is_bcrypt(const char *s)
{
	return strncmp(s, "$2b$", BCRYPT_PREFIX_LEN) == 0 ||
	    strncmp(s, "$2a$", BCRYPT_PREFIX_LEN) == 0 ||
	    strncmp(s, "$2y$", BCRYPT_PREFIX_LEN) == 0;
}

static int
is_argon2id(const char *s)
{
	return strncmp(s, ARGON2ID_PREFIX, sizeof(ARGON2ID_PREFIX) - 1) == 0;
}

int
password_slot_acquire(void)
{
	struct timespec	 ts;
	long		 ms;
	int		 rc;

	if (!pw_state.ready)
		return WS_ERR_INTERNAL;
	ms = pw_state.o.wait_ms;
	if (ms == 0) {
		do
			rc = sem_trywait(&pw_state.sem);
		while (rc == -1 && errno == EINTR);
	} else {
		/*
		 * sem_timedwait measures against CLOCK_REALTIME; a clock
		 * step can only lengthen or shorten a wait that is at most
		 * a few seconds, which is harmless here.
		 */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += ms / 1000;
		ts.tv_nsec += (ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		do
			rc = sem_timedwait(&pw_state.sem, &ts);
		while (rc == -1 && errno == EINTR);
	}
	if (rc == 0)
		return 0;
	if (errno == EAGAIN || errno == ETIMEDOUT)
		return WS_ERR_UNAVAILABLE;
	return WS_ERR_INTERNAL;
}

void
password_slot_release(void)
{
	if (pw_state.ready)
		sem_post(&pw_state.sem);
}

/*
 * Runs crypt_r with a heap crypt_data (it is tens of KiB, too big for
 * a worker thread's stack) and copies the result into out.  The
 * scratch space held key material, so it is wiped before it is freed.
 */
static int
bcrypt_run(const char *phrase, const char *setting, char *out, size_t outlen)
{
	struct crypt_data	*cd;
	const char		*r;
	size_t			 n;
	int			 rc = WS_ERR_INTERNAL;

	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return WS_ERR_NOMEM;
	r = crypt_r(phrase, setting, cd);
	/* A failure is NULL or a "*0"-style token, never a "$" string. */
	if (r == NULL || r[0] != '$')
		goto out;
	n = strlen(r);
	if (n >= outlen)
		goto out;
	memcpy(out, r, n + 1);
	rc = 0;
out:
	sodium_memzero(cd, sizeof(*cd));
	free(cd);
	return rc;
}

static int
hash_bcrypt(const char *pw, size_t len, char out[PASSWORD_HASH_MAX])
{
	char	 setting[CRYPT_GENSALT_OUTPUT_SIZE];
	int	 rc;

	if (len > PASSWORD_BCRYPT_MAX)
		return WS_ERR_TOOBIG;
	/* NULL random bytes: libcrypt takes them from the kernel. */
	if (crypt_gensalt_rn("$2b$", (unsigned long)pw_state.o.bcrypt_cost,
	    NULL, 0, setting, (int)sizeof(setting)) == NULL) {
		log_event(LOG_ERROR, "password_salt_failed", "algo", "bcrypt",
		    "error", strerror(errno), NULL);
		return WS_ERR_INTERNAL;
	}
	rc = bcrypt_run(pw, setting, out, PASSWORD_HASH_MAX);
	if (rc == WS_ERR_INTERNAL)
		log_event(LOG_ERROR, "password_hash_failed", "algo", "bcrypt",
		    NULL);
	return rc;
}

static int
hash_argon2id(const char *pw, size_t len, char out[PASSWORD_HASH_MAX])
{
	char	 h[crypto_pwhash_STRBYTES];

	if (len > PASSWORD_MAX)
		return WS_ERR_TOOBIG;
	/* libsodium fails only when it cannot get the memory. */
	if (crypto_pwhash_str_alg(h, pw, len, pw_state.o.argon2_opslimit,
	    pw_state.o.argon2_memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
		log_event(LOG_ERROR, "password_hash_failed", "algo",
		    "argon2id", "error", "out of memory", NULL);
		return WS_ERR_NOMEM;
	}
	if (strlen(h) >= PASSWORD_HASH_MAX)
		return WS_ERR_INTERNAL;
	memcpy(out, h, strlen(h) + 1);
	return 0;
}

/* Hashes without taking a slot; the callers decide about that. */
static int
hash_unlocked(const char *pw, char out[PASSWORD_HASH_MAX])
{
	size_t	 len;

	len = strnlen(pw, PASSWORD_MAX + 1);
	if (pw_state.o.algo == PASSWORD_ARGON2ID)
		return hash_argon2id(pw, len, out);
	return hash_bcrypt(pw, len, out);
}

int
password_hash(const char *pw, char out[PASSWORD_HASH_MAX])
{
	int	 rc;

	out[0] = '\0';
	if (pw == NULL)
		return WS_ERR_INVALID;
	if (!pw_state.ready)
		return WS_ERR_INTERNAL;
	/* Refuse an over-long password before queueing for a slot. */
	if (strnlen(pw, PASSWORD_MAX + 1) > (pw_state.o.algo ==
	    PASSWORD_BCRYPT ? PASSWORD_BCRYPT_MAX : PASSWORD_MAX))
		return WS_ERR_TOOBIG;
	if ((rc = password_slot_acquire()) != 0)
		return rc;
	rc = hash_unlocked(pw, out);
	password_slot_release();
	if (rc != 0)
		out[0] = '\0';
	return rc;
}

/*
 * bcrypt reads at most 72 bytes, so a longer password would match a
 * hash of its first 72 bytes.  Such a password can never be the right
 * one (hashing refuses it), but it still costs a full hash here, so
 * that its answer takes as long as any other.
 */
static int
verify_bcrypt(const char *pw, size_t len, const char *stored, int *ok)
{
	char	 key[PASSWORD_BCRYPT_MAX + 1];
	char	 out[PASSWORD_HASH_MAX];
	size_t	 slen, klen;
	int	 rc;

	klen = len > PASSWORD_BCRYPT_MAX ? PASSWORD_BCRYPT_MAX : len;
	memcpy(key, pw, klen);
	key[klen] = '\0';
	rc = bcrypt_run(key, stored, out, sizeof(out));
	sodium_memzero(key, sizeof(key));
	if (rc == WS_ERR_INTERNAL) {
		/* crypt_r refused the setting: the stored hash is bad. */
		log_event(LOG_ERROR, "password_stored_invalid", "algo",
		    "bcrypt", NULL);
		return WS_ERR_INVALID;
	}
	if (rc != 0)
		return rc;
	slen = strlen(stored);
	/* Lengths are public (bcrypt output is always 60 bytes). */
	if (strlen(out) == slen && sodium_memcmp(out, stored, slen) == 0 &&
	    len <= PASSWORD_BCRYPT_MAX)
		*ok = 1;
	sodium_memzero(out, sizeof(out));
	return 0;
}

/* Verifies with the semaphore held by the caller. */
static int
verify_unlocked(const char *pw, const char *stored, int *ok)
{
	size_t	 len;

	len = strnlen(pw, PASSWORD_MAX + 1);
	if (is_bcrypt(stored))
		return verify_bcrypt(pw, len, stored, ok);
	/* libsodium decodes the parameters and compares in constant time. */
	if (crypto_pwhash_str_verify(stored, pw, len) == 0)
		*ok = 1;
	return 0;
}

int
password_verify(const char *pw, const char *stored, int *ok)
{
	int	 rc;

	*ok = 0;
	if (pw == NULL || stored == NULL)
		return WS_ERR_INVALID;
	if (!pw_state.ready)
		return WS_ERR_INTERNAL;
	if (strnlen(stored, PASSWORD_HASH_MAX) >= PASSWORD_HASH_MAX ||
	    !(is_bcrypt(stored) || is_argon2id(stored))) {
		log_event(LOG_ERROR, "password_stored_invalid", NULL);
		return WS_ERR_INVALID;
	}
	/*
	 * Past the cap nothing can match and no hash is run; this depends
	 * only on the length the client sent, so it tells nothing about
	 * the account (password_dummy_verify does the same).
	 */
	if (strnlen(pw, PASSWORD_MAX + 1) > PASSWORD_MAX)
		return 0;
	if ((rc = password_slot_acquire()) != 0)
		return rc;
	rc = verify_unlocked(pw, stored, ok);
	password_slot_release();
	if (rc != 0)
		*ok = 0;
	return rc;
}

int
password_dummy_verify(const char *pw)
{
	int	 ok;

	if (!pw_state.ready)
		return WS_ERR_INTERNAL;
	return password_verify(pw, pw_state.dummy, &ok);
}

/* The cost of a "$2b$NN$" string, or -1 when it has none. */
static int
bcrypt_cost(const char *stored)
{
	const char	*p = stored + BCRYPT_PREFIX_LEN;

	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9' ||
	    p[2] != '$')
		return -1;
	return (p[0] - '0') * 10 + (p[1] - '0');
}

int
password_needs_rehash(const char *stored)
{
	int	 cost;

	if (stored == NULL ||
	    strnlen(stored, PASSWORD_HASH_MAX) >= PASSWORD_HASH_MAX)
		return 1;
	if (is_bcrypt(stored)) {
		if (pw_state.o.algo != PASSWORD_BCRYPT ||
		    strncmp(stored, "$2b$", BCRYPT_PREFIX_LEN) != 0)
			return 1;
		cost = bcrypt_cost(stored);
		return cost < 0 || cost < pw_state.o.bcrypt_cost;
	}
	if (is_argon2id(stored)) {
		if (pw_state.o.algo != PASSWORD_ARGON2ID)
			return 1;
		/* 0: same parameters; 1: other ones; -1: malformed. */
		return crypto_pwhash_str_needs_rehash(stored,
		    pw_state.o.argon2_opslimit,
		    pw_state.o.argon2_memlimit) != 0;
	}
	return 1;
}

static int
opts_check(const struct password_opts *o)
{
	if (o->algo != PASSWORD_BCRYPT && o->algo != PASSWORD_ARGON2ID)
		return WS_ERR_INVALID;
	if (o->bcrypt_cost < PASSWORD_BCRYPT_COST_MIN ||
	    o->bcrypt_cost > PASSWORD_BCRYPT_COST_MAX)
		return WS_ERR_INVALID;
	if (o->argon2_opslimit < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
	    o->argon2_opslimit > crypto_pwhash_argon2id_OPSLIMIT_MAX)
		return WS_ERR_INVALID;
	if (o->argon2_memlimit < crypto_pwhash_argon2id_MEMLIMIT_MIN ||
	    o->argon2_memlimit > crypto_pwhash_argon2id_MEMLIMIT_MAX)
		return WS_ERR_INVALID;
	if (o->max_concurrent < 0 ||
	    o->max_concurrent > PASSWORD_MAX_CONCURRENT)
		return WS_ERR_INVALID;
	if (o->wait_ms < 0 || o->wait_ms > PASSWORD_MAX_WAIT_MS)
		return WS_ERR_INVALID;
	return 0;
}

int
password_init(const struct password_opts *o)
{
	unsigned char	 rnd[16];
	char		 secret[sizeof(rnd) * 2 + 1];
	long		 n;
	int		 rc;

	password_cleanup();
	if ((rc = opts_check(o)) != 0)
		return rc;
	if (sodium_init() < 0)
		return WS_ERR_INTERNAL;
	pw_state.o = *o;
	n = o->max_concurrent;
	if (n == 0) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		if (n < 1)
			n = 1;
		if (n > PASSWORD_MAX_CONCURRENT)
			n = PASSWORD_MAX_CONCURRENT;
		pw_state.o.max_concurrent = (int)n;
	}
	if (sem_init(&pw_state.sem, 0, (unsigned int)n) != 0)
		return WS_ERR_INTERNAL;
	/*
	 * The dummy hash is of a random password nobody knows, made with
	 * the configured parameters, so verifying against it costs what
	 * verifying a real user's current hash costs.
	 */
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(secret, sizeof(secret), rnd, sizeof(rnd));
	rc = hash_unlocked(secret, pw_state.dummy);
	sodium_memzero(rnd, sizeof(rnd));
	sodium_memzero(secret, sizeof(secret));
	if (rc != 0) {
		sem_destroy(&pw_state.sem);
		memset(&pw_state, 0, sizeof(pw_state));
		return rc;
	}
	pw_state.ready = 1;
	return 0;
}

void
password_cleanup(void)
{
	if (!pw_state.ready)
		return;
	sem_destroy(&pw_state.sem);
	memset(&pw_state, 0, sizeof(pw_state));
}
