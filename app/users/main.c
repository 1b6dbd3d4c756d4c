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
struct mfa_opts		users_mfa;

/*
 * The settings of websands-users alone; the password, lockout and MFA
 * settings it shares with websands-auth are password_settings.h's.
 */
#define F(x)	offsetof(struct users_config, x)
static const struct config_spec	users_specs[] = {
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
 * Sets up the recovery-code hash, checks the issuer and takes the MFA
 * lockout once the configuration is known (app_main has set up the
 * password hashing and policy by then).
 */
static int
users_start(void)
{
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
	password_settings_mfa(&ws_app.passwords, &users_mfa);
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
		.passwords = 1,
		.start = users_start,
	};

	return app_main(argc, argv, &o);
}
