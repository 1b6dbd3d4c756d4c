/*
 * websands-users: the signed-in user's own account (profile, settings,
 * password, address, sessions, two-step verification, security events,
 * data export and deletion).  Every route but the public email
 * confirmation needs a bearer access token.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "log.h"
#include "password.h"
#include "recovery.h"
#include "totp.h"
#include "users.h"

struct users_config	users_cfg;
struct password_policy	users_policy;
struct mfa_opts		users_mfa;

/*
 * The hashing, policy and lockout settings carry the names and
 * defaults websands-auth reads, so one configuration file gives both
 * responders the same rules.
 */
#define F(x)	offsetof(struct users_config, x)
static const struct config_spec	users_specs[] = {
	{ "PASSWORD_HASH", CONFIG_ENUM, F(password_algo), "bcrypt", 0, 0,
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
	{ "PASSWORD_COMPOSITION", CONFIG_BOOL, F(password_composition),
	    "true", 0, 0, NULL, 0, "require upper, lower, digit, special" },
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
	{ "TOTP_ISSUER", CONFIG_STRING, F(totp_issuer), "WebSands", 0, 0,
	    NULL, 0, "the issuer authenticator apps show" },
	{ "PROFILE_CACHE_TTL_S", CONFIG_INT, F(profile_cache_ttl_s), "300",
	    1, 86400, NULL, 0, "how long memcached keeps a GET /me reply" },
	{ "EMAIL_CHANGE_TTL_S", CONFIG_INT, F(email_change_ttl_s), "86400",
	    60, 604800, NULL, 0, "life of an address-change link" },
	{ "RATE_WINDOW_S", CONFIG_INT, F(rl_window_s), "60", 1, 3600, NULL,
	    0, "window of the per-endpoint rate limits" },
	{ "RATE_VERIFY", CONFIG_INT, F(rl_verify), "20", 0, 1000000, NULL,
	    0, "token uses (address change) per address per window" },
};
#undef F

static const struct route	users_routes[] = {
	{ "GET",    "/api/v1/users/me",			users_me_get },
	{ "PATCH",  "/api/v1/users/me",			users_me_patch },
	{ "DELETE", "/api/v1/users/me",			users_me_delete },
	{ "GET",    "/api/v1/users/me/settings",	users_settings_get },
	{ "PATCH",  "/api/v1/users/me/settings",	users_settings_patch },
	{ "PUT",    "/api/v1/users/me/password",	users_password_put },
	{ "PUT",    "/api/v1/users/me/email",		users_email_put },
	{ "POST",   "/api/v1/users/email/confirm",	users_email_confirm },
	{ "GET",    "/api/v1/users/me/sessions",	users_sessions_get },
	{ "DELETE", "/api/v1/users/me/sessions/{id}",
	    users_session_delete },
	{ "POST",   "/api/v1/users/me/sessions/revoke-all",
	    users_sessions_revoke_all },
	{ "POST",   "/api/v1/users/me/mfa/totp",	users_totp_begin },
	{ "POST",   "/api/v1/users/me/mfa/totp/confirm",
	    users_totp_confirm },
	{ "DELETE", "/api/v1/users/me/mfa/totp",	users_totp_delete },
	{ "POST",   "/api/v1/users/me/mfa/recovery-codes",
	    users_recovery_codes },
	{ "GET",    "/api/v1/users/me/events",		users_events_get },
	{ "GET",    "/api/v1/users/me/export",		users_export_get },
};

/*
 * Whether s can name the issuer in an otpauth:// URI, so a bad value
 * stops the start rather than every enrolment.
 */
static int
users_issuer_ok(const char *s)
{
	size_t	 i, n;

	if (s == NULL || (n = strlen(s)) == 0 || n > TOTP_ISSUER_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] == ':' || (unsigned char)s[i] < 0x20 ||
		    s[i] == 0x7f)
			return 0;
	return 1;
}

/*
 * Sets up hashing (passwords and recovery codes), the password policy
 * and the MFA lockout once the configuration is known.
 */
static int
users_start(void)
{
	struct password_opts		 po;
	struct password_denylist	*deny = NULL;

	password_opts_default(&po);
	po.algo = (enum password_algo)users_cfg.password_algo;
	po.bcrypt_cost = (int)users_cfg.bcrypt_cost;
	po.argon2_opslimit = (unsigned long long)users_cfg.argon2_opslimit;
	po.argon2_memlimit = (size_t)users_cfg.argon2_memlimit_kib * 1024;
	po.max_concurrent = (int)users_cfg.hash_concurrency;
	po.wait_ms = users_cfg.hash_wait_ms;
	if (password_init(&po) != 0) {
		fprintf(stderr, "websands-users: configuration: "
		    "PASSWORD_HASH: cannot set up hashing\n");
		return -1;
	}
	password_policy_init(&users_policy, po.algo);
	users_policy.composition = users_cfg.password_composition;
	if (users_cfg.denylist_path != NULL) {
		if (password_denylist_load(&deny,
		    users_cfg.denylist_path) != 0) {
			fprintf(stderr, "websands-users: configuration: "
			    "PASSWORD_DENYLIST: cannot load %s\n",
			    users_cfg.denylist_path);
			return -1;
		}
		users_policy.denylist = deny;
	}
	if (recovery_init(0, 0) != 0) {
		fprintf(stderr, "websands-users: cannot set up the "
		    "recovery-code hash\n");
		return -1;
	}
	if (!users_issuer_ok(users_cfg.totp_issuer)) {
		fprintf(stderr, "websands-users: configuration: "
		    "TOTP_ISSUER: must be 1 to %d bytes without ':' or "
		    "control characters\n", TOTP_ISSUER_MAX);
		return -1;
	}
	users_mfa.max_failures = users_cfg.mfa_max_failures;
	users_mfa.window_s = users_cfg.mfa_window_s;
	users_mfa.lock_s = users_cfg.mfa_lock_s;
	return 0;
}

int
main(int argc, char **argv)
{
	struct app_opts	 o = {
		.name = "websands-users",
		.routes = users_routes,
		.nroutes = sizeof(users_routes) / sizeof(users_routes[0]),
		.specs = users_specs,
		.nspecs = sizeof(users_specs) / sizeof(users_specs[0]),
		.cfg = &users_cfg,
		.auth = 1,
		.start = users_start,
	};

	return app_main(argc, argv, &o);
}
