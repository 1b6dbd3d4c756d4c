/*
 * websands-auth: registration, email verification, login with
 * lockout, token rotation, logout, password reset and the JWKS.
 */
#include <stddef.h>

#include "app.h"
#include "auth.h"

struct auth_config	auth_cfg;

/*
 * The settings of websands-auth alone; the password, lockout and MFA
 * settings it shares with websands-users are password_settings.h's.
 */
#define F(x)	offsetof(struct auth_config, x)
static const struct config_spec	auth_specs[] = {
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
		.passwords = 1,
	};

	return app_main(argc, argv, &o);
}
