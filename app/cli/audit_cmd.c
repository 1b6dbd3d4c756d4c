/*
 * `websands audit verify`: checks the hash chain of auth_events
 * (sql/0002_audit_chain.sql) and names the first row that breaks it.
 *
 * The check runs in PostgreSQL, in one statement over the rows in id
 * order, with ws_audit_hash, the same function the rows were written
 * with, so the writer and the checker cannot disagree on the form of
 * a row.  For each row it checks that
 *   - row_hash is the hash of the row's content and its prev_hash;
 *   - prev_hash is the row_hash of the row before it, or for the
 *     first row, the through_hash of the newest purge anchor (NULL
 *     when nothing was ever purged; see sql/0006_admin.sql);
 *   - user_ref, actor_ref and client_ref are the digests of user_id,
 *     actor_id, and ip with user_agent wherever those are still
 *     present (deleting an account clears them; the digests stay).
 * An edited row fails the first test, a removed row the second at the
 * row after the gap, a swapped id the third.  Removing rows from the
 * end of the log leaves a shorter chain that is still whole; the
 * count and last id printed are what an operator compares with an
 * earlier run to notice that.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_admin.h"

static const char	verify_sql[] =
    "WITH a AS (SELECT through_id, through_hash FROM audit_anchors"
    " ORDER BY through_id DESC LIMIT 1),"
    " w AS (SELECT e.id, e.prev_hash, e.row_hash,"
    " ws_audit_hash(e.prev_hash, e.id, e.occurred_at, e.user_ref,"
    " e.actor_ref, e.event_type, e.client_ref, e.details) AS calc,"
    " CASE WHEN row_number() OVER (ORDER BY e.id) = 1"
    " THEN (SELECT through_hash FROM a)"
    " ELSE lag(e.row_hash) OVER (ORDER BY e.id) END AS want_prev,"
    " e.id <= coalesce((SELECT through_id FROM a), 0) AS before_anchor,"
    " e.user_id IS NOT NULL AND e.user_ref IS DISTINCT FROM"
    " ws_audit_ref(e.user_id) AS bad_user,"
    " e.actor_id IS NOT NULL AND e.actor_ref IS DISTINCT FROM"
    " ws_audit_ref(e.actor_id) AS bad_actor,"
    " (e.ip IS NOT NULL OR e.user_agent IS NOT NULL) AND"
    " e.client_ref IS DISTINCT FROM"
    " ws_audit_client_ref(e.ip, e.user_agent) AS bad_client"
    " FROM auth_events e)"
    " SELECT id, CASE"
    " WHEN row_hash IS NULL OR row_hash <> calc THEN 'content'"
    " WHEN before_anchor THEN 'anchor'"
    " WHEN prev_hash IS DISTINCT FROM want_prev THEN 'link'"
    " WHEN bad_user THEN 'user' WHEN bad_actor THEN 'actor'"
    " ELSE 'client' END"
    " FROM w WHERE row_hash IS NULL OR row_hash <> calc"
    " OR before_anchor OR prev_hash IS DISTINCT FROM want_prev"
    " OR bad_user OR bad_actor OR bad_client ORDER BY id LIMIT 1";

static const char	summary_sql[] =
    "SELECT count(*), coalesce(min(id), 0), coalesce(max(id), 0),"
    " (SELECT coalesce(max(through_id), 0) FROM audit_anchors)"
    " FROM auth_events";

static const char *
audit_reason(const char *code)
{
	if (strcmp(code, "content") == 0)
		return "its row_hash does not match its content";
	if (strcmp(code, "anchor") == 0)
		return "it should have been removed with the rows before "
		    "the purge anchor";
	if (strcmp(code, "link") == 0)
		return "its prev_hash is not the row_hash of the row before "
		    "it (a row before it was removed or changed)";
	if (strcmp(code, "user") == 0)
		return "its user_id does not match its user_ref";
	if (strcmp(code, "actor") == 0)
		return "its actor_id does not match its actor_ref";
	return "its ip or user_agent does not match its client_ref";
}

static int
audit_verify(const char *cmd, const char *config)
{
	struct ws_config	 cfg;
	struct db_conn		*c = NULL;
	struct db_res		*res = NULL, *sum = NULL;
	int			 status = CLI_FAIL;

	if (cli_admin_open(cmd, config, &cfg, &c) != CLI_OK)
		return CLI_FAIL;
	/* One snapshot, so concurrent writers cannot look like a gap. */
	if (db_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") ||
	    db_query(c, verify_sql, 0, NULL, &res) != 0 ||
	    db_query(c, summary_sql, 0, NULL, &sum) != 0) {
		fprintf(stderr, "websands %s: the audit log could not be "
		    "read\n", cmd);
		goto out;
	}
	if (db_res_nrows(res) == 1) {
		printf("websands %s: the chain breaks at row %s: %s\n", cmd,
		    db_res_value(res, 0, 0),
		    audit_reason(db_res_value(res, 0, 1)));
		goto out;
	}
	printf("websands %s: %s events, rows %s to %s, chain intact",
	    cmd, db_res_value(sum, 0, 0), db_res_value(sum, 0, 1),
	    db_res_value(sum, 0, 2));
	if (strcmp(db_res_value(sum, 0, 3), "0") != 0)
		printf(" (from the purge anchor at row %s)",
		    db_res_value(sum, 0, 3));
	printf("\n");
	status = CLI_OK;
out:
	db_rollback(c);
	db_res_free(sum);
	db_res_free(res);
	cli_admin_close(&cfg, c);
	return status;
}

int
cmd_audit(int argc, char **argv)
{
	const char	*config = NULL;
	int		 i, r;

	if (argc < 2)
		return cli_usage_error(argv[0], "verify?");
	if (cli_is_help(argv[1])) {
		cli_print_usage(stdout, argv[0]);
		return CLI_OK;
	}
	if (strcmp(argv[1], "verify") != 0)
		return cli_usage_error(argv[0], "no verb \"%.64s\"", argv[1]);
	for (i = 2; i < argc; i++) {
		if (cli_is_help(argv[i])) {
			cli_print_usage(stdout, argv[0]);
			return CLI_OK;
		}
		if ((r = cli_opt_value(argc, argv, &i, "config",
		    &config)) < 0)
			return cli_usage_error(argv[0],
			    "--config needs a file name");
		if (r == 0)
			return cli_usage_error(argv[0],
			    "unexpected argument \"%.64s\"", argv[i]);
	}
	return audit_verify(argv[0], config);
}
