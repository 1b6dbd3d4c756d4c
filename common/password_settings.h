/*
 * The password, lockout and MFA settings every program that checks or
 * sets a password reads (websands-auth, websands-users, `websands
 * user create`): one table, so one configuration gives every program
 * the same rules under the same names.
 */
#ifndef WEBSANDS_PASSWORD_SETTINGS_H
#define WEBSANDS_PASSWORD_SETTINGS_H

#include <stddef.h>

#include "config.h"
#include "lockout.h"
#include "mfa.h"
#include "password_policy.h"

struct password_settings {
	int	 algo;			/* enum password_algo */
	long	 bcrypt_cost;
	long	 argon2_opslimit;
	long	 argon2_memlimit_kib;
	long	 hash_concurrency;
	long	 hash_wait_ms;
	char	*denylist_path;
	int	 composition;
	long	 history_depth;
	long	 lockout_threshold;
	long	 lockout_window_s;
	long	 lockout_duration_s;
	long	 mfa_max_failures;
	long	 mfa_window_s;
	long	 mfa_lock_s;
};

extern const struct config_spec	password_settings_specs[];
extern const size_t		password_settings_nspecs;

/*
 * Sets up hashing (password_init) with s and fills policy, loading the
 * deny-list when one is named.  Returns 0, or an error with a message
 * naming the variable in err.  password_settings_cleanup frees what
 * the policy holds.
 */
int	 password_settings_apply(const struct password_settings *s,
	    struct password_policy *policy, char *err, size_t errlen);
void	 password_settings_cleanup(struct password_policy *policy);
/* The lockout and MFA-lockout parts of s. */
void	 password_settings_lockout(const struct password_settings *s,
	    struct lockout_opts *o);
void	 password_settings_mfa(const struct password_settings *s,
	    struct mfa_opts *o);

#endif
