/*
 * websands-health: liveness, readiness and Prometheus metrics for the
 * whole WebSands installation.
 */
#include "app.h"
#include "health.h"

static const struct route	health_routes[] = {
	{ "GET",	"/health",		health_live },
	{ "GET",	"/health/ready",	health_ready },
	{ "GET",	"/metrics",		health_metrics },
};

int
main(int argc, char **argv)
{
	struct app_opts	 o = {
		.name = "websands-health",
		.routes = health_routes,
		.nroutes = sizeof(health_routes) / sizeof(health_routes[0]),
	};

	return app_main(argc, argv, &o);
}
