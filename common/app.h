/*
 * The start-up every responder shares: arguments, configuration, logs,
 * metrics, the database pools and the cache, then the transport.  A
 * responder's main() names its routes and calls app_main.
 */
#ifndef WEBSANDS_APP_H
#define WEBSANDS_APP_H

#include <stddef.h>

#include "cache.h"
#include "config.h"
#include "datakey.h"
#include "db.h"
#include "password_settings.h"
#include "router.h"

struct app_opts {
	const char		*name;	/* "websands-health" */
	const struct route	*routes;
	size_t			 nroutes;
	/* The program's own settings, or NULL/0. */
	const struct config_spec *specs;
	size_t			 nspecs;
	void			*cfg;
	/*
	 * Non-zero: verifies bearer tokens (authn.h) and encrypts
	 * personal data (datakey.h); needs KEYS_DIR and DATA_KEYS_FILE.
	 */
	int			 auth;
	/*
	 * Non-zero: checks or sets passwords; reads the settings of
	 * password_settings.h and sets up hashing and the policy.
	 */
	int			 passwords;
	/*
	 * Called once the configuration is loaded and before serving;
	 * non-zero stops the program with the configuration status.
	 */
	int			(*start)(void);
};

/* The process-wide state handlers read; set up by app_main. */
struct app {
	const char	*name;
	struct ws_config cfg;
	struct db_pool	*db;		/* primary (reads and writes) */
	struct db_pool	*db_read;	/* replica, or NULL */
	struct cache	*cache;
	char		*data_keys_file;
	struct datakey_ring *datakeys;	/* with app_opts.auth only */
	/* With app_opts.passwords only: */
	struct password_settings passwords;
	struct password_policy	 policy;
};

extern struct app	ws_app;

/*
 * Parses --config FILE, --listen ADDR, --threads N, --version and
 * --help, loads and validates the configuration (exiting with status
 * 78 and a message naming the variable when it is bad), then serves
 * until SIGTERM.  Returns the process exit status.
 */
int	 app_main(int argc, char **argv, const struct app_opts *o);

/*
 * Replies for a failure code: 503 SERVICE_UNAVAILABLE with Retry-After
 * for WS_ERR_UNAVAILABLE and WS_ERR_TIMEOUT (a dependency is down or
 * busy: try again soon), 500 INTERNAL_ERROR for anything else.  The
 * client learns nothing about which dependency or why.
 */
void	 app_fail_reply(struct req *r, struct resp *rs, int rc);

/*
 * Acquires a primary connection for the handler, or replies 503 with
 * Retry-After and returns NULL.
 */
struct db_conn *app_db_or_reply(struct req *r, struct resp *rs);

#endif
