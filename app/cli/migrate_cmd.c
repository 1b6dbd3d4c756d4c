/*
 * websands migrate: applies the pending SQL migrations (common/migrate.c)
 * from SQL_DIR, or the directory compiled in, to DATABASE_URL.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "config.h"
#include "migrate.h"

int
cmd_migrate(int argc, char **argv)
{
	struct ws_config	 cfg;
	const char		*path = NULL, *dir;
	char			 err[1024];
	int			 i, r, applied = 0, status;

	for (i = 1; i < argc; i++) {
		if (cli_is_help(argv[i])) {
			cli_print_usage(stdout, argv[0]);
			return CLI_OK;
		}
		if ((r = cli_opt_value(argc, argv, &i, "config", &path)) < 0)
			return cli_usage_error(argv[0],
			    "--config needs a file name");
		if (r == 0)
			return cli_usage_error(argv[0],
			    "unexpected argument \"%.64s\"", argv[i]);
	}
	if (cli_load_config(argv[0], path, &cfg) != CLI_OK)
		return CLI_FAIL;
	/* Read after the env file, which may set SQL_DIR too. */
	if ((dir = getenv("SQL_DIR")) == NULL || *dir == '\0')
		dir = WEBSANDS_SQL_DIR;
	if (migrate_run(cfg.database_url, dir, &applied, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "websands migrate: %s\n", err);
		if (applied > 0)
			fprintf(stderr, "websands migrate: %d migration%s "
			    "applied before that\n", applied,
			    applied == 1 ? " was" : "s were");
		status = CLI_FAIL;
	} else {
		if (applied == 0)
			printf("websands migrate: 0 migrations applied; the "
			    "schema is up to date\n");
		else
			printf("websands migrate: %d migration%s applied\n",
			    applied, applied == 1 ? "" : "s");
		status = CLI_OK;
	}
	cli_free_config(&cfg);
	return status;
}
