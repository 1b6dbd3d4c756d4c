/*
 * websands-admin: user management and the audit log, for accounts
 * whose role is admin in the database at the moment of each request.
 */
#include <stddef.h>

#include "admin.h"
#include "app.h"

struct admin_config	admin_cfg;

#define F(x)	offsetof(struct admin_config, x)
static const struct config_spec	admin_specs[] = {
	{ "ADMIN_REQUIRE_MFA", CONFIG_BOOL, F(require_mfa), "false", 0, 0,
	    NULL, 0, "admin routes refuse administrators without MFA" },
	{ "RESET_TOKEN_TTL_S", CONFIG_INT, F(reset_ttl_s), "3600", 60,
	    86400, NULL, 0, "life of a password reset link" },
};
#undef F

static const struct route	admin_routes[] = {
	{ "GET",    "/api/v1/admin/users",		admin_users_list },
	{ "GET",    "/api/v1/admin/users/{id}",	admin_user_get },
	{ "PATCH",  "/api/v1/admin/users/{id}",	admin_user_patch },
	{ "DELETE", "/api/v1/admin/users/{id}",	admin_user_delete },
	{ "POST",   "/api/v1/admin/users/{id}/unlock",
	    admin_user_unlock },
	{ "POST",   "/api/v1/admin/users/{id}/revoke-sessions",
	    admin_user_revoke_sessions },
	{ "POST",   "/api/v1/admin/users/{id}/reset-mfa",
	    admin_user_reset_mfa },
	{ "POST",   "/api/v1/admin/users/{id}/send-password-reset",
	    admin_user_send_reset },
	{ "GET",    "/api/v1/admin/users/{id}/sessions",
	    admin_user_sessions },
	{ "GET",    "/api/v1/admin/audit",		admin_audit_list },
	{ "GET",    "/api/v1/admin/stats",		admin_stats },
};

int
main(int argc, char **argv)
{
	struct app_opts	 o = {
		.name = "websands-admin",
		.routes = admin_routes,
		.nroutes = sizeof(admin_routes) / sizeof(admin_routes[0]),
		.specs = admin_specs,
		.nspecs = sizeof(admin_specs) / sizeof(admin_specs[0]),
		.cfg = &admin_cfg,
		.auth = 1,
	};

	return app_main(argc, argv, &o);
}
