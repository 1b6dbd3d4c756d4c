/*
 * The operator's commands around user management and the audit log:
 * `websands user`, `websands audit`, `websands purge` and
 * `websands outbox`, and the few helpers they share (cli_admin.c).
 * Each command takes --config FILE like every WebSands program and
 * returns CLI_OK, CLI_FAIL (the reason on stderr) or CLI_USAGE.
 */
#ifndef WEBSANDS_CLI_ADMIN_H
#define WEBSANDS_CLI_ADMIN_H

#include <stdio.h>

#include "config.h"
#include "db.h"

/*
 * user create [--admin] --username NAME --email ADDRESS: a verified
 * account (an administrator with --admin), its password read from
 * the terminal with echo off, or as one line from stdin when stdin is
 * not a terminal, never from the command line.
 * user list [--role user|admin] [--status active|suspended]
 * [--limit N]: the accounts, oldest first.
 */
int	 cmd_user(int argc, char **argv);
/*
 * audit verify: walks auth_events in id order from the newest purge
 * anchor, recomputing each row's hash; exits 1 naming the first row
 * that breaks the chain.
 */
int	 cmd_audit(int argc, char **argv);
/*
 * purge: removes expired email and refresh tokens, sessions ended
 * more than SESSION_RETENTION_DAYS ago, mail sent more than
 * MAIL_RETENTION_DAYS ago and events older than AUDIT_RETENTION_DAYS
 * (keeping the chain verifiable through an anchor).
 */
int	 cmd_purge(int argc, char **argv);
/*
 * outbox list [--status pending|failed|sent|unsent|all] [--limit N]
 * outbox retry [ID]: queues failed mail (or mail ID) again.
 */
int	 cmd_outbox(int argc, char **argv);

/*
 * Loads the shared settings from path (see cli_load_config) and opens
 * a connection to DATABASE_URL into *c.  Returns CLI_OK, or CLI_FAIL
 * after writing why to stderr (nothing is then left to free).
 */
int	 cli_admin_open(const char *cmd, const char *path,
	    struct ws_config *cfg, struct db_conn **c);
/* Closes what cli_admin_open opened; NULL-safe. */
void	 cli_admin_close(struct ws_config *cfg, struct db_conn *c);
/*
 * Parses a decimal in [min, max] (digits only, no sign); 0 or -1.
 */
int	 cli_admin_parse_long(const char *s, long min, long max, long *out);
/*
 * Writes s to f with every control character (C0, DEL, C1) shown as
 * '?', so a stored value cannot drive the operator's terminal.
 */
void	 cli_admin_print(FILE *f, const char *s);

#endif
