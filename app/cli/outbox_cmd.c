/*
 * `websands outbox list | retry`: the mail outbox for an operator.
 *
 * retry puts failed mail back in the queue with a fresh count of
 * attempts and wakes the mailer.  When a mail finally fails the mailer
 * drops its link_path, because the link may carry a token; so a mail
 * whose link was a single-use token (verification, reset, change of
 * address) cannot be sent again and is named instead: its owner must
 * ask for a new one.  Every other template links to the
 * forgotten-password page, and that link is put back.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_admin.h"
#include "error.h"
#include "outbox.h"

#define OUTBOX_LIST_DEFAULT	50
#define OUTBOX_LIST_MAX		100000

/* The templates whose link is a token, in SQL. */
#define OUTBOX_TOKEN_TEMPLATES \
	"('verify_email', 'password_reset', 'email_change_verify')"

static const char	list_sql[] =
    "SELECT id, status, template, recipient, attempts::text,"
    " to_char(created_at AT TIME ZONE 'UTC',"
    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    " to_char(next_attempt_at AT TIME ZONE 'UTC',"
    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    " coalesce(last_error, '')"
    " FROM email_outbox WHERE CASE $1::text"
    " WHEN 'all' THEN true WHEN 'unsent' THEN status <> 'sent'"
    " ELSE status = $1::text END"
    " ORDER BY id LIMIT $2::int";

static const char	lost_sql[] =
    "SELECT id, template FROM email_outbox WHERE status = 'failed'"
    " AND ($1::bigint IS NULL OR id = $1::bigint)"
    " AND NOT vars ? 'link_path'"
    " AND template IN " OUTBOX_TOKEN_TEMPLATES " ORDER BY id";

/* With an id, a pending mail is made due now as well. */
static const char	retry_sql[] =
    "UPDATE email_outbox SET status = 'pending', attempts = 0,"
    " next_attempt_at = now(), last_error = NULL,"
    " vars = CASE WHEN vars ? 'link_path' THEN vars"
    " ELSE vars || '{\"link_path\": \"/password/forgot\"}'::jsonb END"
    " WHERE (status = 'failed' OR (status = 'pending'"
    " AND $1::bigint IS NOT NULL))"
    " AND ($1::bigint IS NULL OR id = $1::bigint)"
    " AND (vars ? 'link_path' OR template NOT IN "
    OUTBOX_TOKEN_TEMPLATES ") RETURNING id";

struct outbox_args {
	const char	*cmd;
	const char	*verb;
	const char	*config;
	const char	*status;
	const char	*id;
	long		 limit;
};

static int
outbox_list(const struct outbox_args *a)
{
	struct ws_config	 cfg;
	struct db_conn		*c = NULL;
	struct db_res		*res = NULL;
	const char		*params[2];
	char			 limit[24];
	size_t			 i, j;
	int			 status = CLI_FAIL;

	if (cli_admin_open(a->cmd, a->config, &cfg, &c) != CLI_OK)
		return CLI_FAIL;
	snprintf(limit, sizeof(limit), "%ld", a->limit);
	params[0] = a->status;
	params[1] = limit;
	if (db_query(c, list_sql, 2, params, &res) != 0) {
		fprintf(stderr, "websands %s: the outbox could not be read\n",
		    a->cmd);
		goto out;
	}
	printf("ID\tSTATUS\tTEMPLATE\tRECIPIENT\tATTEMPTS\tQUEUED\t"
	    "NEXT_ATTEMPT\tLAST_ERROR\n");
	for (i = 0; i < db_res_nrows(res); i++)
		for (j = 0; j < 8; j++) {
			cli_admin_print(stdout, db_res_value(res, i, j));
			fputs(j < 7 ? "\t" : "\n", stdout);
		}
	status = CLI_OK;
out:
	db_res_free(res);
	cli_admin_close(&cfg, c);
	return status;
}

static int
outbox_retry(const struct outbox_args *a)
{
	struct ws_config	 cfg;
	struct db_conn		*c = NULL;
	struct db_res		*lost = NULL, *res = NULL;
	const char		*params[1] = { a->id };
	size_t			 i;
	int			 rc, status = CLI_FAIL;

	if (cli_admin_open(a->cmd, a->config, &cfg, &c) != CLI_OK)
		return CLI_FAIL;
	if ((rc = db_begin(c)) != 0 ||
	    (rc = db_query(c, lost_sql, 1, params, &lost)) != 0 ||
	    (rc = db_query(c, retry_sql, 1, params, &res)) != 0 ||
	    (db_res_nrows(res) > 0 &&
	    (rc = db_exec(c, "NOTIFY " OUTBOX_CHANNEL)) != 0) ||
	    (rc = db_commit(c)) != 0) {
		db_rollback(c);
		fprintf(stderr, "websands %s: the outbox could not be "
		    "changed (%s)\n", a->cmd, ws_err_name(rc));
		goto out;
	}
	for (i = 0; i < db_res_nrows(res); i++)
		printf("websands %s: mail %s queued again\n", a->cmd,
		    db_res_value(res, i, 0));
	for (i = 0; i < db_res_nrows(lost); i++) {
		fprintf(stderr, "websands %s: mail %s (", a->cmd,
		    db_res_value(lost, i, 0));
		cli_admin_print(stderr, db_res_value(lost, i, 1));
		fprintf(stderr, ") carried a single-use link that was "
		    "removed when it failed; its owner must ask again\n");
	}
	if (a->id != NULL && db_res_nrows(res) == 0) {
		if (db_res_nrows(lost) == 0)
			fprintf(stderr, "websands %s: no failed or pending "
			    "mail %s\n", a->cmd, a->id);
		goto out;
	}
	if (a->id == NULL)
		printf("websands %s: %zu failed mails queued again, %zu "
		    "could not be\n", a->cmd, db_res_nrows(res),
		    db_res_nrows(lost));
	status = CLI_OK;
out:
	db_res_free(res);
	db_res_free(lost);
	cli_admin_close(&cfg, c);
	return status;
}

static int
outbox_parse(int argc, char **argv, struct outbox_args *a)
{
	const char	*v, *lim = NULL;
	long		 id;
	int		 i, r, list = strcmp(a->verb, "list") == 0;

	for (i = 2; i < argc; i++) {
		if (cli_is_help(argv[i])) {
			cli_print_usage(stdout, a->cmd);
			return -1;
		}
		if ((r = cli_opt_value(argc, argv, &i, "config", &v)) != 0)
			a->config = v;
		else if (list && (r = cli_opt_value(argc, argv, &i,
		    "status", &v)) != 0)
			a->status = v;
		else if (list && (r = cli_opt_value(argc, argv, &i,
		    "limit", &v)) != 0)
			lim = v;
		else if (!list && a->id == NULL && argv[i][0] != '-') {
			if (cli_admin_parse_long(argv[i], 1,
			    900000000000000000L, &id) != 0)
				return cli_usage_error(a->cmd, "ID is the "
				    "number of a mail");
			a->id = argv[i];
			continue;
		} else
			return cli_usage_error(a->cmd, "unexpected argument "
			    "\"%.64s\"", argv[i]);
		if (r < 0)
			return cli_usage_error(a->cmd, "%.64s needs a value",
			    argv[i]);
	}
	if (strcmp(a->status, "pending") != 0 &&
	    strcmp(a->status, "failed") != 0 &&
	    strcmp(a->status, "sent") != 0 &&
	    strcmp(a->status, "unsent") != 0 &&
	    strcmp(a->status, "all") != 0)
		return cli_usage_error(a->cmd, "--status is pending, failed, "
		    "sent, unsent or all");
	if (lim != NULL && cli_admin_parse_long(lim, 1, OUTBOX_LIST_MAX,
	    &a->limit) != 0)
		return cli_usage_error(a->cmd, "--limit takes 1 to %d",
		    OUTBOX_LIST_MAX);
	return CLI_OK;
}

int
cmd_outbox(int argc, char **argv)
{
	struct outbox_args	 a;
	int			 rc;

	memset(&a, 0, sizeof(a));
	a.cmd = argv[0];
	a.status = "unsent";
	a.limit = OUTBOX_LIST_DEFAULT;
	if (argc < 2)
		return cli_usage_error(a.cmd, "list or retry?");
	if (cli_is_help(argv[1])) {
		cli_print_usage(stdout, a.cmd);
		return CLI_OK;
	}
	a.verb = argv[1];
	if (strcmp(a.verb, "list") != 0 && strcmp(a.verb, "retry") != 0)
		return cli_usage_error(a.cmd, "no verb \"%.64s\"", a.verb);
	if ((rc = outbox_parse(argc, argv, &a)) != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	return strcmp(a.verb, "list") == 0 ? outbox_list(&a) :
	    outbox_retry(&a);
}
