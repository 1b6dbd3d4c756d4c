/*
 * websands-auth: registration, email verification, login with
 * lockout, token rotation, logout, password reset and the JWKS.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "app.h"
#include "auth.h"
#include "log.h"
#include "password.h"

struct auth_config	auth_cfg;
struct password_policy	auth_policy;

#define F(x)	offsetof(struct auth_config, x)
static const struct config_spec	auth_specs[] = {
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
	    100, NULL, 0, "failed logins that lock an account" },
	{ "LOCKOUT_WINDOW_S", CONFIG_INT, F(lockout_window_s), "900", 1,
	    86400, NULL, 0, "window the failures are counted in" },
	{ "LOCKOUT_DURATION_S", CONFIG_INT, F(lockout_duration_s), "1800",
	    1, 604800, NULL, 0, "how long a lock lasts" },
	{ "IP_BLOCK_THRESHOLD", CONFIG_INT, F(ip_block_threshold), "50",
	    0, 100000, NULL, 0, "failed logins from one address that "
	    "block it (0: off)" },
	{ "IP_BLOCK_WINDOW_S", CONFIG_INT, F(ip_block_window_s), "900", 1,
	    86400, NULL, 0, "window of the per-address block" },
	{ "RATE_WINDOW_S", CONFIG_INT, F(rl_window_s), "60", 1, 3600, NULL,
	    0, "window of the per-endpoint rate limits" },
	{ "RATE_LOGIN", CONFIG_INT, F(rl_login), "30", 0, 1000000, NULL,
	    0, "logins per address per window (0: off)" },
	{ "RATE_REGISTER", CONFIG_INT, F(rl_register), "10", 0, 1000000,
	    NULL, 0, "registrations per address per window" },
	{ "RATE_FORGOT", CONFIG_INT, F(rl_forgot), "5", 0, 1000000, NULL,
	    0, "reset requests per address per window" },
	{ "RATE_RESEND", CONFIG_INT, F(rl_resend), "5", 0, 1000000, NULL,
	    0, "verification resends per address per window" },
	{ "RATE_REFRESH", CONFIG_INT, F(rl_refresh), "60", 0, 1000000,
	    NULL, 0, "refreshes per address per window" },
	{ "RATE_VERIFY", CONFIG_INT, F(rl_verify), "20", 0, 1000000, NULL,
	    0, "token uses (verify, reset) per address per window" },
	{ "VERIFY_TOKEN_TTL_S", CONFIG_INT, F(verify_ttl_s), "86400", 60,
	    604800, NULL, 0, "life of an email verification link" },
	{ "RESET_TOKEN_TTL_S", CONFIG_INT, F(reset_ttl_s), "3600", 60,
	    86400, NULL, 0, "life of a password reset link" },
	{ "AUTH_COOKIE_MODE", CONFIG_BOOL, F(cookie_mode), "false", 0, 0,
	    NULL, 0, "refresh token in an HttpOnly cookie, with CSRF checks" },
	{ "RATE_MFA", CONFIG_INT, F(rl_mfa), "10", 0, 1000000, NULL, 0,
	    "second-step attempts per address per window" },
	{ "MFA_TOKEN_TTL_S", CONFIG_INT, F(mfa_token_ttl_s), "300", 10,
	    3600, NULL, 0, "life of the mfa_token of a sign-in" },
	{ "MFA_MAX_FAILURES", CONFIG_INT, F(mfa_max_failures), "5", 1, 100,
	    NULL, 0, "wrong codes that lock the second step" },
	{ "MFA_FAILURE_WINDOW_S", CONFIG_INT, F(mfa_window_s), "900", 1,
	    86400, NULL, 0, "window the wrong codes are counted in" },
	{ "MFA_LOCK_S", CONFIG_INT, F(mfa_lock_s), "900", 1, 86400, NULL,
	    0, "how long the second step stays locked" },
};
#undef F

static const struct route	auth_routes[] = {
	{ "POST", "/api/v1/auth/register",		auth_register },
	{ "POST", "/api/v1/auth/verify-email",		auth_verify_email },
	{ "POST", "/api/v1/auth/resend-verification",
	    auth_resend_verification },
	{ "POST", "/api/v1/auth/login",			auth_login },
	{ "POST", "/api/v1/auth/mfa/verify",		auth_mfa_verify },
	{ "POST", "/api/v1/auth/refresh",		auth_refresh },
	{ "POST", "/api/v1/auth/logout",		auth_logout },
	{ "POST", "/api/v1/auth/password/forgot",	auth_password_forgot },
	{ "POST", "/api/v1/auth/password/reset",	auth_password_reset },
	{ "GET",  "/.well-known/jwks.json",		auth_jwks },
};

/*
 * Sets up hashing and the password policy once the configuration is
 * known; app_main calls it before serving.
 */
static int
auth_start(void)
{
	struct password_opts		 po;
	struct password_denylist	*deny = NULL;

	password_opts_default(&po);
	po.algo = (enum password_algo)auth_cfg.password_algo;
	po.bcrypt_cost = (int)auth_cfg.bcrypt_cost;
	po.argon2_opslimit = (unsigned long long)auth_cfg.argon2_opslimit;
	po.argon2_memlimit = (size_t)auth_cfg.argon2_memlimit_kib * 1024;
	po.max_concurrent = (int)auth_cfg.hash_concurrency;
	po.wait_ms = auth_cfg.hash_wait_ms;
	if (password_init(&po) != 0) {
		fprintf(stderr, "websands-auth: configuration: "
		    "PASSWORD_HASH: cannot set up hashing\n");
		return -1;
	}
	password_policy_init(&auth_policy, po.algo);
	auth_policy.composition = auth_cfg.password_composition;
	if (auth_cfg.denylist_path != NULL) {
		if (password_denylist_load(&deny,
		    auth_cfg.denylist_path) != 0) {
			fprintf(stderr, "websands-auth: configuration: "
			    "PASSWORD_DENYLIST: cannot load %s\n",
			    auth_cfg.denylist_path);
			return -1;
		}
		auth_policy.denylist = deny;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct app_opts	 o = {
		.name = "websands-auth",
		.routes = auth_routes,
		.nroutes = sizeof(auth_routes) / sizeof(auth_routes[0]),
		.specs = auth_specs,
		.nspecs = sizeof(auth_specs) / sizeof(auth_specs[0]),
		.cfg = &auth_cfg,
		.auth = 1,
		.start = auth_start,
	};

	return app_main(argc, argv, &o);
}
