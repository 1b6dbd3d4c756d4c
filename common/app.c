/*
 * The start-up and per-request frame every responder shares.  main()
 * of a responder names its routes and calls app_main, which turns the
 * command line and configuration into the process-wide struct app,
 * serves until SIGTERM and releases everything on the way out.
 */
#include <errno.h>
#include <stddef.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "app.h"
#include "authn.h"
#include "error.h"
#include "log.h"
#include "metrics.h"
#include "password.h"
#include "server.h"

/* sysexits.h's EX_CONFIG: what service managers read as "fix config". */
#define APP_EXIT_CONFIG	78
#define APP_MAX_THREADS	256

struct app	ws_app;

static const struct config_spec	app_datakey_specs[] = {
	{ "DATA_KEYS_FILE", CONFIG_PATH,
	    offsetof(struct app, data_keys_file), NULL, 0, 0, NULL,
	    CONFIG_REQUIRED, "file of the keys that encrypt personal data" },
};

/* The running program's routes, for the request frame. */
static const struct app_opts	*app_current;

static void
app_usage(FILE *f, const struct app_opts *o)
{
	size_t	 i;

	fprintf(f, "usage: %s [--config FILE] [--listen ADDR] "
	    "[--threads N]\n"
	    "       %s --version | --help\n\n"
	    "Without --listen it serves a listening socket on fd 0 "
	    "(spawn-fcgi,\nmod_fcgid, systemd) or, when fd 0 is not a "
	    "socket, one CGI request.\n\nConfiguration (environment or "
	    "--config file):\n", o->name, o->name);
	for (i = 0; i < ws_config_nspecs; i++)
		fprintf(f, "  %-24s %s\n", ws_config_specs[i].name,
		    ws_config_specs[i].help);
	if (o->auth)
		fprintf(f, "  %-24s %s\n", app_datakey_specs[0].name,
		    app_datakey_specs[0].help);
	for (i = 0; o->passwords && i < password_settings_nspecs; i++)
		fprintf(f, "  %-24s %s\n", password_settings_specs[i].name,
		    password_settings_specs[i].help);
	for (i = 0; o->auth && i < authn_config_nspecs; i++)
		fprintf(f, "  %-24s %s\n", authn_config_specs[i].name,
		    authn_config_specs[i].help);
	for (i = 0; i < o->nspecs; i++)
		fprintf(f, "  %-24s %s\n", o->specs[i].name,
		    o->specs[i].help);
}

static double
app_seconds_since(const struct timespec *t0)
{
	struct timespec	 t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Publishes the pool's use after each request, for /metrics. */
static void
app_pool_gauges(void)
{
	int	 in_use = 0, size = 0;
	long	 timeouts = 0;

	if (ws_app.db == NULL)
		return;
	db_pool_stats(ws_app.db, &in_use, &size, &timeouts);
	metrics_gauge("websands_db_pool_in_use", "", in_use);
	metrics_gauge("websands_db_pool_size", "", size);
	metrics_gauge("websands_db_pool_timeouts", "", timeouts);
}

/*
 * The frame around every handler: request id into the log context,
 * routing, one log line and one metrics sample per request.
 */
static void
app_handle(struct req *r, struct resp *rs, void *arg)
{
	const struct app_opts	*o = app_current;
	struct timespec		 t0;
	char			 status[8], ms[32];
	double			 secs;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	log_set_request_id(r->request_id);
	router_dispatch(o->routes, o->nroutes, r, rs);
	secs = app_seconds_since(&t0);
	metrics_request(r->route != NULL ? r->route : "unmatched", r->method,
	    rs->status != 0 ? rs->status : 500, secs);
	snprintf(status, sizeof(status), "%d",
	    rs->status != 0 ? rs->status : 500);
	snprintf(ms, sizeof(ms), "%.3f", secs * 1000.0);
	log_event(rs->status >= 500 ? LOG_WARN : LOG_INFO, "request",
	    "method", r->method, "path", r->path, "status", status,
	    "ms", ms, "client", r->remote_addr,
	    "user_agent", req_header(r, "User-Agent"), NULL);
	log_set_request_id(NULL);
	app_pool_gauges();
}

static int
app_open_pools(char *err, size_t errlen)
{
	struct db_pool_opts	 po;
	int			 rc;

	memset(&po, 0, sizeof(po));
	po.name = "primary";
	po.size = (int)ws_app.cfg.db_pool_size;
	po.acquire_timeout_ms = ws_app.cfg.db_acquire_timeout_ms;
	po.connect_timeout_s = ws_app.cfg.db_connect_timeout_s;
	po.statement_timeout_ms = ws_app.cfg.db_statement_timeout_ms;
	po.breaker_failures = (int)ws_app.cfg.breaker_failures;
	po.breaker_open_ms = ws_app.cfg.breaker_open_ms;
	po.read_write = 1;
	if ((rc = db_pool_new(&ws_app.db, ws_app.cfg.database_url,
	    &po)) != 0) {
		snprintf(err, errlen, "DATABASE_URL: %s", ws_err_name(rc));
		return rc;
	}
	if (ws_app.cfg.database_read_url != NULL) {
		po.name = "replica";
		po.read_write = 0;
		if ((rc = db_pool_new(&ws_app.db_read,
		    ws_app.cfg.database_read_url, &po)) != 0) {
			snprintf(err, errlen, "DATABASE_READ_URL: %s",
			    ws_err_name(rc));
			return rc;
		}
	}
	if ((rc = cache_new(&ws_app.cache, ws_app.cfg.memcached_servers,
	    ws_app.cfg.memcached_timeout_ms,
	    (int)ws_app.cfg.breaker_failures,
	    ws_app.cfg.breaker_open_ms)) != 0) {
		snprintf(err, errlen, "MEMCACHED_SERVERS: %s",
		    ws_err_name(rc));
		return rc;
	}
	return 0;
}

int
app_main(int argc, char **argv, const struct app_opts *o)
{
	static const struct option longopts[] = {
		{ "config",	required_argument,	NULL, 'c' },
		{ "listen",	required_argument,	NULL, 'l' },
		{ "threads",	required_argument,	NULL, 't' },
		{ "version",	no_argument,		NULL, 'V' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	struct server_opts	 so;
	const char		*config = NULL, *listen = NULL;
	char			 err[512], *end;
	long			 threads = 4;
	int			 ch, status = APP_EXIT_CONFIG;

	memset(&ws_app, 0, sizeof(ws_app));
	ws_app.name = o->name;
	app_current = o;
	while ((ch = getopt_long(argc, argv, "c:l:t:Vh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'l':
			listen = optarg;
			break;
		case 't':
			errno = 0;
			threads = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || threads < 1 ||
			    threads > APP_MAX_THREADS) {
				fprintf(stderr, "%s: --threads must be "
				    "between 1 and %d\n", o->name,
				    APP_MAX_THREADS);
				return 2;
			}
			break;
		case 'V':
			printf("%s %s\n", o->name, WEBSANDS_VERSION);
			return 0;
		case 'h':
			app_usage(stdout, o);
			return 0;
		default:
			app_usage(stderr, o);
			return 2;
		}
	}
	if (optind != argc) {
		app_usage(stderr, o);
		return 2;
	}

	if (sodium_init() < 0) {
		fprintf(stderr, "%s: libsodium failed to start\n", o->name);
		return 1;
	}
	if (config_load(ws_config_specs, ws_config_nspecs, &ws_app.cfg,
	    config, err, sizeof(err)) != 0 ||
	    (o->auth && config_load(authn_config_specs,
	    authn_config_nspecs, &authn_cfg, config, err,
	    sizeof(err)) != 0) ||
	    (o->auth && config_load(app_datakey_specs, 1, &ws_app, config,
	    err, sizeof(err)) != 0) ||
	    (o->passwords && config_load(password_settings_specs,
	    password_settings_nspecs, &ws_app.passwords, config, err,
	    sizeof(err)) != 0) ||
	    (o->nspecs > 0 && config_load(o->specs, o->nspecs, o->cfg,
	    config, err, sizeof(err)) != 0)) {
		fprintf(stderr, "%s: configuration: %s\n", o->name, err);
		goto out;
	}
	log_init(o->name, (enum log_level)ws_app.cfg.log_level);
	if (metrics_open(ws_app.cfg.metrics_dir, o->name) != 0) {
		fprintf(stderr, "%s: configuration: METRICS_DIR: cannot "
		    "open %s\n", o->name, ws_app.cfg.metrics_dir);
		goto out;
	}
	if (app_open_pools(err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: configuration: %s\n", o->name, err);
		goto out;
	}
	if (o->auth && authn_init() != 0) {
		fprintf(stderr, "%s: configuration: KEYS_DIR: cannot load "
		    "the keys in %s\n", o->name, authn_cfg.keys_dir);
		goto out;
	}
	if (o->auth && datakey_ring_load(&ws_app.datakeys,
	    ws_app.data_keys_file) != 0) {
		fprintf(stderr, "%s: configuration: DATA_KEYS_FILE: cannot "
		    "load %s\n", o->name, ws_app.data_keys_file);
		goto out;
	}
	if (o->passwords && password_settings_apply(&ws_app.passwords,
	    &ws_app.policy, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: configuration: %s\n", o->name, err);
		goto out;
	}
	if (o->start != NULL && o->start() != 0)
		goto out;

	memset(&so, 0, sizeof(so));
	so.listen = listen;
	so.threads = (int)threads;
	so.backlog = 128;
	so.grace_s = ws_app.cfg.shutdown_grace_s;
	so.body_limit = (size_t)ws_app.cfg.body_limit;
	so.trusted_proxies = ws_app.cfg.trusted_proxies;
	log_event(LOG_INFO, "start", "version", WEBSANDS_VERSION,
	    "listen", listen != NULL ? listen : "inherited", NULL);
	status = server_run(&so, app_handle, NULL) == 0 ? 0 : 1;
	log_event(LOG_INFO, "stop", NULL);
out:
	if (o->passwords) {
		password_settings_cleanup(&ws_app.policy);
		password_cleanup();
		config_free(password_settings_specs, password_settings_nspecs,
		    &ws_app.passwords);
	}
	datakey_ring_free(ws_app.datakeys);
	authn_cleanup();
	cache_free(ws_app.cache);
	db_pool_free(ws_app.db_read);
	db_pool_free(ws_app.db);
	metrics_close();
	if (o->nspecs > 0)
		config_free(o->specs, o->nspecs, o->cfg);
	if (o->auth) {
		config_free(authn_config_specs, authn_config_nspecs,
		    &authn_cfg);
		config_free(app_datakey_specs, 1, &ws_app);
	}
	config_free(ws_config_specs, ws_config_nspecs, &ws_app.cfg);
	return status;
}

void
app_fail_reply(struct req *r, struct resp *rs, int rc)
{
	if (rc == WS_ERR_UNAVAILABLE || rc == WS_ERR_TIMEOUT) {
		resp_header(rs, "Retry-After", "1");
		resp_problem(rs, r, 503, "SERVICE_UNAVAILABLE",
		    "The service is temporarily unavailable.", NULL);
	} else
		resp_problem(rs, r, 500, "INTERNAL_ERROR",
		    "The request could not be completed.", NULL);
}

struct db_conn *
app_db_or_reply(struct req *r, struct resp *rs)
{
	struct db_conn	*c = NULL;

	if (db_pool_acquire(ws_app.db, &c) == 0)
		return c;
	/*
	 * Both a timed-out wait and a dead server mean "try again soon";
	 * the client is told so and nothing about which it was.
	 */
	app_fail_reply(r, rs, WS_ERR_UNAVAILABLE);
	return NULL;
}
