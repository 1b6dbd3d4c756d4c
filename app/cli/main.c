/*
 * websands: the operator's command-line tool (design.md 1).  main()
 * finds the subcommand in the table below and hands it the rest of the
 * command line; a new subcommand is one line here, one declaration in
 * cli.h and one file of its own.
 *
 * Exit status: 0 success, 1 failure (the reason on stderr), 2 a
 * command line that could not be understood.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_admin.h"
#include "cli_keys.h"
#include "config.h"
#include "log.h"

static int	 cmd_help(int argc, char **argv);

static const struct cli_cmd cli_cmds[] = {
	{ "migrate", cmd_migrate, "[--config FILE]",
	  "apply the pending SQL migrations of SQL_DIR to DATABASE_URL" },
	{ "keys", cli_keys,
	  "generate|rotate|list [--alg ALG] [--grace S] [--config FILE]",
	  "create, rotate or list the token-signing keys of KEYS_DIR" },
	{ "user", cmd_user,
	  "create [--admin] --username NAME --email ADDRESS | list "
	  "[--role user|admin] [--status active|suspended] [--limit N] "
	  "[--config FILE]",
	  "create an account (password from a prompt or stdin), or list" },
	{ "audit", cmd_audit, "verify [--config FILE]",
	  "check the audit log's hash chain; exit 1 naming a broken row" },
	{ "purge", cmd_purge, "[--config FILE]",
	  "remove expired tokens, ended sessions, old mail, old events" },
	{ "outbox", cmd_outbox,
	  "list [--status pending|failed|sent|unsent|all] [--limit N] | "
	  "retry [ID] [--config FILE]",
	  "show the mail outbox, or queue failed mail again" },
	{ "help", cmd_help, "[COMMAND]",
	  "describe the commands, or one of them" },
};

#define CLI_NCMDS	(sizeof(cli_cmds) / sizeof(cli_cmds[0]))

static const struct cli_cmd *
cli_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < CLI_NCMDS; i++)
		if (strcmp(cli_cmds[i].name, name) == 0)
			return &cli_cmds[i];
	return NULL;
}

int
cli_is_help(const char *arg)
{
	return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

int
cli_opt_value(int argc, char **argv, int *i, const char *name,
    const char **value)
{
	const char	*a = argv[*i];
	size_t		 n = strlen(name);

	if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, name, n) != 0)
		return 0;
	if (a[2 + n] == '=') {
		*value = a + 3 + n;
		return **value != '\0' ? 1 : -1;
	}
	if (a[2 + n] != '\0')
		return 0;
	if (*i + 1 >= argc || argv[*i + 1][0] == '\0')
		return -1;
	*value = argv[++*i];
	return 1;
}

void
cli_print_usage(FILE *f, const char *cmd)
{
	const struct cli_cmd	*c;

	if ((c = cli_find(cmd)) == NULL)
		return;
	fprintf(f, "usage: websands %s %s\n", c->name, c->usage);
}

int
cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "websands %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cli_print_usage(stderr, cmd);
	return CLI_USAGE;
}

int
cli_load_config(const char *cmd, const char *path, struct ws_config *cfg)
{
	char	 err[512];

	memset(cfg, 0, sizeof(*cfg));
	if (config_load(ws_config_specs, ws_config_nspecs, cfg, path, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "websands %s: configuration: %s\n", cmd, err);
		config_free(ws_config_specs, ws_config_nspecs, cfg);
		memset(cfg, 0, sizeof(*cfg));
		return CLI_FAIL;
	}
	log_init("websands", (enum log_level)cfg->log_level);
	return CLI_OK;
}

void
cli_free_config(struct ws_config *cfg)
{
	config_free(ws_config_specs, ws_config_nspecs, cfg);
}

static void
cli_print_commands(FILE *f)
{
	size_t	 i;

	fprintf(f, "usage: websands COMMAND [ARGS]\n"
	    "       websands --version\n\ncommands:\n");
	for (i = 0; i < CLI_NCMDS; i++)
		fprintf(f, "  %-10s %s\n", cli_cmds[i].name,
		    cli_cmds[i].help);
	fprintf(f, "\nSettings come from the environment, or from the env "
	    "file named by --config\nor WEBSANDS_CONFIG.  "
	    "Run \"websands help COMMAND\" for one command.\n");
}

static int
cmd_help(int argc, char **argv)
{
	const struct cli_cmd	*c;

	if (argc < 2 || cli_is_help(argv[1])) {
		cli_print_commands(stdout);
		return CLI_OK;
	}
	if (argc > 2)
		return cli_usage_error(argv[0], "one command at a time");
	if ((c = cli_find(argv[1])) == NULL)
		return cli_usage_error(argv[0], "no command \"%.64s\"",
		    argv[1]);
	printf("usage: websands %s %s\n\n%s\n", c->name, c->usage, c->help);
	return CLI_OK;
}

int
main(int argc, char **argv)
{
	const struct cli_cmd	*c;

	log_init("websands", LOG_INFO);
	if (argc < 2) {
		cli_print_commands(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0 ||
	    strcmp(argv[1], "version") == 0) {
		printf("websands %s\n", WEBSANDS_VERSION);
		return CLI_OK;
	}
	if (cli_is_help(argv[1])) {
		cli_print_commands(stdout);
		return CLI_OK;
	}
	if ((c = cli_find(argv[1])) == NULL) {
		fprintf(stderr, "websands: no command \"%.64s\"\n", argv[1]);
		cli_print_commands(stderr);
		return CLI_USAGE;
	}
	return c->run(argc - 1, argv + 1);
}
