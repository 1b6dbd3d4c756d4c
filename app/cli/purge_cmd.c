/*
 * `websands purge`: the data retention of design.md 8.  Meant to run
 * daily from cron or a systemd timer; each kind of data goes in a
 * transaction of its own, so an interrupted run leaves everything
 * consistent and the next run finishes the job.
 *
 *   email tokens     once expired (used or not)
 *   refresh tokens   once expired
 *   sessions         ended (revoked, expired or idle) more than
 *                    SESSION_RETENTION_DAYS ago, with their tokens
 *   sent mail        sent more than MAIL_RETENTION_DAYS ago (failed
 *                    mail stays for an operator to look at)
 *   events           older than AUDIT_RETENTION_DAYS
 *
 * Events are chained by hash, so removing any of them must leave a
 * chain `websands audit verify` can still check.  The rule: only a
 * prefix of the chain is removed, every row below the first row that
 * is still within the retention (so a row with an odd timestamp never
 * leaves a hole), and never the newest row, which the next event
 * chains onto.  Before removing, the row_hash of the last row removed
 * is stored in audit_anchors; verify starts from the newest anchor.
 * The purge itself is recorded as an "audit_purged" event.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit.h"
#include "cli.h"
#include "cli_admin.h"
#include "error.h"

struct purge_config {
	long	 session_days;
	long	 mail_days;
	long	 audit_days;
};

#define F(x)	offsetof(struct purge_config, x)
static const struct config_spec	purge_specs[] = {
	{ "SESSION_RETENTION_DAYS", CONFIG_INT, F(session_days), "30", 1,
	    36500, NULL, 0, "days ended sessions are kept" },
	{ "MAIL_RETENTION_DAYS", CONFIG_INT, F(mail_days), "30", 1, 36500,
	    NULL, 0, "days sent mail is kept in the outbox" },
	{ "AUDIT_RETENTION_DAYS", CONFIG_INT, F(audit_days), "365", 1,
	    36500, NULL, 0, "days audit events are kept" },
};
#undef F

/* One DELETE in a transaction of its own; the rows removed in *n. */
static int
purge_delete(struct db_conn *c, const char *sql, const char *days,
    long *n)
{
	struct db_res	*res = NULL;
	const char	*params[1] = { days };
	int		 rc;

	*n = 0;
	if ((rc = db_begin(c)) != 0)
		return rc;
	if ((rc = db_query(c, sql, days != NULL ? 1 : 0, params,
	    &res)) == 0 && (rc = db_commit(c)) == 0)
		*n = db_res_affected(res);
	if (rc != 0)
		db_rollback(c);
	db_res_free(res);
	return rc;
}

/* The events older than days, as the rule above says. */
static int
purge_events(struct db_conn *c, const char *days, long *n)
{
	struct audit_event	 ev = { .type = "audit_purged" };
	struct db_res		*res = NULL, *del = NULL;
	const char		*params[3];
	json_t			*details = NULL;
	char			 count[24];
	int			 rc;

	*n = 0;
	if ((rc = db_begin(c)) != 0)
		return rc;
	/* The last row to remove: just below the first one to keep. */
	if ((rc = db_query(c, "SELECT e.id, encode(e.row_hash, 'hex')"
	    " FROM auth_events e WHERE e.id < least("
	    " (SELECT min(id) FROM auth_events WHERE occurred_at >="
	    " now() - make_interval(days => $1::int)),"
	    " (SELECT max(id) FROM auth_events))"
	    " ORDER BY e.id DESC LIMIT 1", 1, &days, &res)) != 0)
		goto out;
	if (db_res_nrows(res) == 0)
		goto out;
	params[0] = db_res_value(res, 0, 0);
	params[1] = db_res_value(res, 0, 1);
	if ((rc = db_query(c, "DELETE FROM auth_events WHERE id <="
	    " $1::bigint", 1, params, &del)) != 0)
		goto out;
	*n = db_res_affected(del);
	snprintf(count, sizeof(count), "%ld", *n);
	params[2] = count;
	if ((rc = db_query(c, "INSERT INTO audit_anchors (through_id,"
	    " through_hash, purged_rows) VALUES ($1::bigint,"
	    " decode($2, 'hex'), $3::bigint)", 3, params, NULL)) != 0)
		goto out;
	details = json_pack("{s:I,s:I,s:s}", "through_id",
	    (json_int_t)strtoll(params[0], NULL, 10), "rows",
	    (json_int_t)*n, "retention_days", days);
	ev.details = details;
	if ((rc = audit_record(c, &ev)) == 0)
		rc = db_commit(c);
out:
	if (rc != 0 || *n == 0)
		db_rollback(c);
	if (rc != 0)
		*n = 0;
	json_decref(details);
	db_res_free(del);
	db_res_free(res);
	return rc;
}

static int
purge_run(const char *cmd, const char *config)
{
	struct purge_config	 pc;
	struct ws_config	 cfg;
	struct db_conn		*c = NULL;
	char			 err[512], sdays[24], mdays[24], adays[24];
	long			 tok = 0, rt = 0, sess = 0, mail = 0, ev = 0;
	int			 rc, status = CLI_FAIL;

	memset(&pc, 0, sizeof(pc));
	if (config_load(purge_specs, sizeof(purge_specs) /
	    sizeof(purge_specs[0]), &pc, config, err, sizeof(err)) != 0) {
		fprintf(stderr, "websands %s: configuration: %s\n", cmd, err);
		return CLI_FAIL;
	}
	if (cli_admin_open(cmd, config, &cfg, &c) != CLI_OK)
		return CLI_FAIL;
	snprintf(sdays, sizeof(sdays), "%ld", pc.session_days);
	snprintf(mdays, sizeof(mdays), "%ld", pc.mail_days);
	snprintf(adays, sizeof(adays), "%ld", pc.audit_days);
	if ((rc = purge_delete(c, "DELETE FROM email_tokens"
	    " WHERE expires_at < now()", NULL, &tok)) != 0 ||
	    (rc = purge_delete(c, "DELETE FROM refresh_tokens"
	    " WHERE expires_at < now()", NULL, &rt)) != 0 ||
	    (rc = purge_delete(c, "DELETE FROM sessions WHERE"
	    " least(coalesce(revoked_at, 'infinity'), expires_at,"
	    " idle_expires_at) < now() - make_interval(days => $1::int)",
	    sdays, &sess)) != 0 ||
	    (rc = purge_delete(c, "DELETE FROM email_outbox"
	    " WHERE status = 'sent'"
	    " AND sent_at < now() - make_interval(days => $1::int)",
	    mdays, &mail)) != 0 ||
	    (rc = purge_events(c, adays, &ev)) != 0) {
		fprintf(stderr, "websands %s: stopped: %s (what was removed "
		    "before stays removed)\n", cmd, ws_err_name(rc));
		goto out;
	}
	status = CLI_OK;
out:
	printf("websands %s: removed %ld email tokens, %ld refresh tokens, "
	    "%ld sessions, %ld sent mails, %ld events\n", cmd, tok, rt,
	    sess, mail, ev);
	cli_admin_close(&cfg, c);
	config_free(purge_specs, sizeof(purge_specs) /
	    sizeof(purge_specs[0]), &pc);
	return status;
}

int
cmd_purge(int argc, char **argv)
{
	const char	*config = NULL;
	int		 i, r;

	for (i = 1; i < argc; i++) {
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
	return purge_run(argv[0], config);
}
