/* The shared password, lockout and MFA settings; see the header. */
#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "password.h"
#include "password_settings.h"

#define F(x)	offsetof(struct password_settings, x)
const struct config_spec	password_settings_specs[] = {
	{ "PASSWORD_HASH", CONFIG_ENUM, F(algo), "bcrypt", 0, 0,
	    "bcrypt|argon2id", 0, "the hash new passwords get" },
	{ "BCRYPT_COST", CONFIG_INT, F(bcrypt_cost), "12", 4, 31, NULL, 0,
	    "bcrypt cost (log2 rounds)" },
	{ "ARGON2_OPSLIMIT", CONFIG_INT, F(argon2_opslimit), "2", 1, 64,
	    NULL, 0, "Argon2id passes (t)" },
	{ "ARGON2_MEMLIMIT_KIB", CONFIG_INT, F(argon2_memlimit_kib),
	    "19456", 8192, 4194304, NULL, 0, "Argon2id memory (m), KiB" },
	{ "HASH_CONCURRENCY", CONFIG_INT, F(hash_concurrency), "0", 0,
	    256, NULL, 0, "password hashes at once; 0: one per core" },
	{ "HASH_WAIT_MS", CONFIG_INT, F(hash_wait_ms), "1000", 0, 30000,
	    NULL, 0, "wait for a hash slot before answering 503" },
	{ "PASSWORD_DENYLIST", CONFIG_PATH, F(denylist_path), NULL, 0, 0,
	    NULL, 0, "file of common passwords to refuse" },
	{ "PASSWORD_COMPOSITION", CONFIG_BOOL, F(composition), "true", 0,
	    0, NULL, 0, "require upper, lower, digit, special" },
	{ "PASSWORD_HISTORY", CONFIG_INT, F(history_depth), "5", 1, 24,
	    NULL, 0, "recent passwords that cannot be reused" },
	{ "LOCKOUT_THRESHOLD", CONFIG_INT, F(lockout_threshold), "5", 1,
	    100, NULL, 0, "wrong passwords that lock an account" },
	{ "LOCKOUT_WINDOW_S", CONFIG_INT, F(lockout_window_s), "900", 1,
	    86400, NULL, 0, "window the failures are counted in" },
	{ "LOCKOUT_DURATION_S", CONFIG_INT, F(lockout_duration_s), "1800",
	    1, 604800, NULL, 0, "how long a lock lasts" },
	{ "MFA_MAX_FAILURES", CONFIG_INT, F(mfa_max_failures), "5", 1, 100,
	    NULL, 0, "wrong MFA codes that lock the second step" },
	{ "MFA_FAILURE_WINDOW_S", CONFIG_INT, F(mfa_window_s), "900", 1,
	    86400, NULL, 0, "window wrong MFA codes are counted in" },
	{ "MFA_LOCK_S", CONFIG_INT, F(mfa_lock_s), "900", 1, 86400, NULL,
	    0, "how long the second step stays locked" },
};
#undef F
const size_t	password_settings_nspecs =
    sizeof(password_settings_specs) / sizeof(password_settings_specs[0]);

int
password_settings_apply(const struct password_settings *s,
    struct password_policy *policy, char *err, size_t errlen)
{
	struct password_opts		 po;
	struct password_denylist	*deny = NULL;

	password_opts_default(&po);
	po.algo = (enum password_algo)s->algo;
	po.bcrypt_cost = (int)s->bcrypt_cost;
	po.argon2_opslimit = (unsigned long long)s->argon2_opslimit;
	po.argon2_memlimit = (size_t)s->argon2_memlimit_kib * 1024;
	po.max_concurrent = (int)s->hash_concurrency;
	po.wait_ms = s->hash_wait_ms;
	if (password_init(&po) != 0) {
		snprintf(err, errlen, "PASSWORD_HASH: cannot set up hashing");
		return WS_ERR_INVALID;
	}
	password_policy_init(policy, po.algo);
	policy->composition = s->composition;
	if (s->denylist_path != NULL) {
		if (password_denylist_load(&deny, s->denylist_path) != 0) {
			snprintf(err, errlen, "PASSWORD_DENYLIST: cannot load "
			    "%s", s->denylist_path);
			return WS_ERR_INVALID;
		}
		policy->denylist = deny;
	}
	return 0;
}

void
password_settings_cleanup(struct password_policy *policy)
{
	/* The policy only borrows the list; this is its one owner. */
	password_denylist_free((struct password_denylist *)(uintptr_t)
	    policy->denylist);
	policy->denylist = NULL;
}

void
password_settings_lockout(const struct password_settings *s,
    struct lockout_opts *o)
{
	o->threshold = s->lockout_threshold;
	o->window_s = s->lockout_window_s;
	o->duration_s = s->lockout_duration_s;
}

void
password_settings_mfa(const struct password_settings *s,
    struct mfa_opts *o)
{
	o->max_failures = s->mfa_max_failures;
	o->window_s = s->mfa_window_s;
	o->lock_s = s->mfa_lock_s;
}
