/*
 * The websands command-line tool: one table of subcommands in main.c,
 * one file per subcommand.  A subcommand is called with argv[0] set
 * to its own name and returns the process's exit status: CLI_OK,
 * CLI_FAIL after writing the problem to stderr, or CLI_USAGE after
 * cli_usage_error.
 */
#ifndef WEBSANDS_CLI_H
#define WEBSANDS_CLI_H

#include <stdio.h>

#include "config.h"

#define CLI_OK		0
#define CLI_FAIL	1
#define CLI_USAGE	2

struct cli_cmd {
	const char	*name;
	int		(*run)(int argc, char **argv);
	const char	*usage;	/* the arguments, after the name */
	const char	*help;	/* one line */
};

/*
 * Matches argv[*i] against the option --name with a value, as
 * "--name VALUE" or "--name=VALUE".  Returns 1 and sets *value (and
 * moves *i past a separate value) on a match, 0 when argv[*i] is
 * another argument, and -1 when the value is missing.
 */
int	 cli_opt_value(int argc, char **argv, int *i, const char *name,
	    const char **value);
/* 1 when arg asks for help (-h, --help). */
int	 cli_is_help(const char *arg);
/* Prints the usage line of cmd to f. */
void	 cli_print_usage(FILE *f, const char *cmd);
/*
 * Writes "websands CMD: " and the message to stderr, then the usage
 * of cmd; returns CLI_USAGE.
 */
int	 cli_usage_error(const char *cmd, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/*
 * Loads the shared settings (ws_config_specs) from the environment
 * and the env file at path (NULL: WEBSANDS_CONFIG), then sets the log
 * level from them.  On failure it writes the problem to stderr and
 * returns CLI_FAIL; cfg is then empty.  Free with cli_free_config.
 */
int	 cli_load_config(const char *cmd, const char *path,
	    struct ws_config *cfg);
void	 cli_free_config(struct ws_config *cfg);

/* The subcommands. */
int	 cmd_migrate(int argc, char **argv);

#endif
