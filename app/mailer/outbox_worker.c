/*
 * One row of email_outbox from claim to commit.  The row stays locked
 * (FOR UPDATE) while its mail is sent, so a second mailer skips it
 * (SKIP LOCKED) instead of sending it again; the send is bounded by
 * SMTP_TIMEOUT_S, so the lock is too.
 *
 * Delivery is at least once: if the server accepted the mail but the
 * COMMIT that records it fails, the row is still pending and will be
 * sent again.  Nothing short of a two-phase commit with the SMTP
 * server could avoid that, and a repeated mail is the lesser harm.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "buf.h"
#include "error.h"
#include "log.h"
#include "mail_message.h"
#include "mail_template.h"
#include "mailer.h"
#include "metrics.h"

static const char claim_sql[] =
    "SELECT id, recipient, template, locale, vars::text, attempts, "
    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') "
    "FROM email_outbox "
    "WHERE status = 'pending' AND next_attempt_at <= now() "
    "ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED";

/*
 * clock_timestamp(), not now(): now() is the start of the transaction,
 * before a send that may have taken up to SMTP_TIMEOUT_S.  link_path
 * is dropped once the row is final because it may carry a token.
 */
static const char sent_sql[] =
    "UPDATE email_outbox SET status = 'sent', "
    "sent_at = clock_timestamp(), attempts = attempts + 1, "
    "message_id = $2, last_error = NULL, vars = vars - 'link_path' "
    "WHERE id = $1";

static const char failed_sql[] =
    "UPDATE email_outbox SET attempts = attempts + 1, last_error = $2, "
    "status = CASE WHEN $3::boolean OR attempts + 1 >= $4::int "
    "THEN 'failed' ELSE 'pending' END, "
    "vars = CASE WHEN $3::boolean OR attempts + 1 >= $4::int "
    "THEN vars - 'link_path' ELSE vars END, "
    "next_attempt_at = clock_timestamp() + "
    "make_interval(secs => $5::double precision) "
    "WHERE id = $1 RETURNING status, attempts";

static const char deferred_sql[] =
    "UPDATE email_outbox SET last_error = $2 WHERE id = $1";

/* One claimed row, copied out of its result. */
struct outbox_row {
	char	 id[32];
	char	*recipient;
	char	 tmpl[MAIL_TEMPLATE_NAME_MAX + 1];
	char	 locale[MAIL_TEMPLATE_LOCALE_MAX + 1];
	char	*vars;
	long	 attempts;
	char	 queued_at[40];	/* created_at, UTC, to the minute */
};

static void
row_cleanup(struct outbox_row *row)
{
	free(row->recipient);
	/* link_path in vars may hold a token. */
	if (row->vars != NULL)
		sodium_memzero(row->vars, strlen(row->vars));
	free(row->vars);
	memset(row, 0, sizeof(*row));
}

long
outbox_worker_backoff_s(long base_s, long attempts)
{
	long	 d = base_s < 1 ? 1 : base_s;

	/* Doubling stops at the cap, so the shift cannot overflow. */
	while (--attempts > 0 && d < MAILER_BACKOFF_MAX_S)
		d *= 2;
	return d < MAILER_BACKOFF_MAX_S ? d : MAILER_BACKOFF_MAX_S;
}

/* The domain of an address, for logs: a user's address is personal. */
static const char *
addr_domain(const char *addr)
{
	const char	*at = addr != NULL ? strchr(addr, '@') : NULL;

	return at != NULL ? at + 1 : "-";
}

/*
 * Renders the row into a whole message in out and its Message-ID.
 * Any failure here is permanent: the same row would fail the same way
 * on every try.  Writes the reason into err.
 */
static int
outbox_worker_compose(struct outbox_worker *w, const struct outbox_row *row,
    struct buf *out, char *msgid, size_t idlen, char *err, size_t errlen)
{
	struct mail_template	 t;
	struct mail_rendered	 r;
	struct mail_message	 m;
	json_error_t		 jerr;
	json_t			*vars = NULL;
	int			 rc;

	memset(&r, 0, sizeof(r));
	rc = mail_template_load(&t, w->cfg->template_dir, row->tmpl,
	    row->locale);
	if (rc != 0) {
		snprintf(err, errlen, "template %s/%s: %s", row->locale,
		    row->tmpl, ws_err_name(rc));
		goto out;
	}
	vars = json_loads(row->vars, JSON_REJECT_DUPLICATES, &jerr);
	if (vars == NULL || !json_is_object(vars)) {
		snprintf(err, errlen, "vars: not a JSON object");
		rc = WS_ERR_INVALID;
		goto out;
	}
	/* The row was written with the event it reports, so its time is
	 * the event's when the caller gave none. */
	if (json_object_get(vars, "time") == NULL &&
	    json_object_set_new(vars, "time", json_string(row->queued_at))) {
		snprintf(err, errlen, "vars: out of memory");
		rc = WS_ERR_NOMEM;
		goto out;
	}
	if ((rc = mail_template_render(&t, vars, w->public_url, &r)) != 0) {
		snprintf(err, errlen, "render: %s", ws_err_name(rc));
		goto out;
	}
	m.from = w->cfg->mail_from;
	m.from_name = w->cfg->mail_from_name;
	m.to = row->recipient;
	m.subject = r.subject;
	m.text = r.text;
	m.html = r.html;
	rc = mail_message_build(&m, time(NULL), out, msgid, idlen);
	if (rc != 0)
		snprintf(err, errlen, "message: %s", ws_err_name(rc));
out:
	json_decref(vars);
	mail_rendered_cleanup(&r);
	mail_template_cleanup(&t);
	return rc;
}

/* Copies the claimed row out of res; 0 or WS_ERR_NOMEM. */
static int
row_load(struct outbox_row *row, const struct db_res *res)
{
	memset(row, 0, sizeof(*row));
	snprintf(row->id, sizeof(row->id), "%s", db_res_value(res, 0, 0));
	snprintf(row->tmpl, sizeof(row->tmpl), "%s",
	    db_res_value(res, 0, 2));
	snprintf(row->locale, sizeof(row->locale), "%s",
	    db_res_value(res, 0, 3));
	row->attempts = strtol(db_res_value(res, 0, 5), NULL, 10);
	snprintf(row->queued_at, sizeof(row->queued_at), "%s UTC",
	    db_res_value(res, 0, 6));
	row->recipient = strdup(db_res_value(res, 0, 1));
	row->vars = strdup(db_res_value(res, 0, 4));
	if (row->recipient == NULL || row->vars == NULL)
		return WS_ERR_NOMEM;
	return 0;
}

/*
 * Records that the server could not be used, without counting an
 * attempt or moving next_attempt_at, so the mail goes first once the
 * server is back.
 */
static int
record_server_fault(struct db_conn *c, const struct outbox_row *row,
    const struct smtp_result *sr)
{
	const char	*params[2];

	params[0] = row->id;
	params[1] = sr->error;
	log_event(LOG_WARN, "mail_deferred", "id", row->id, "template",
	    row->tmpl, "error", sr->error, NULL);
	metrics_count("websands_mail_total", "result=\"deferred\"", 1);
	return db_query(c, deferred_sql, 2, params, NULL);
}

/* Records a failed try; 0 or a db_query error. */
static int
record_failure(struct outbox_worker *w, struct db_conn *c,
    const struct outbox_row *row, const struct smtp_result *sr)
{
	struct db_res	*res = NULL;
	const char	*params[5];
	char		 maxs[24], delays[24];
	const char	*status = "-", *attempts = "-";
	long		 next = row->attempts + 1;
	int		 rc;

	snprintf(maxs, sizeof(maxs), "%ld", w->cfg->smtp_max_attempts);
	snprintf(delays, sizeof(delays), "%ld",
	    outbox_worker_backoff_s(w->cfg->smtp_retry_base_s, next));
	params[0] = row->id;
	params[1] = sr->error;
	params[2] = sr->permanent ? "true" : "false";
	params[3] = maxs;
	params[4] = delays;
	rc = db_query(c, failed_sql, 5, params, &res);
	if (rc == 0 && db_res_nrows(res) == 1) {
		status = db_res_value(res, 0, 0);
		attempts = db_res_value(res, 0, 1);
	}
	if (strcmp(status, "failed") == 0) {
		log_event(LOG_ERROR, "mail_failed", "id", row->id,
		    "template", row->tmpl, "to_domain",
		    addr_domain(row->recipient), "attempts", attempts,
		    "error", sr->error, NULL);
		metrics_count("websands_mail_total", "result=\"failed\"", 1);
	} else {
		log_event(LOG_WARN, "mail_retry", "id", row->id,
		    "template", row->tmpl, "to_domain",
		    addr_domain(row->recipient), "attempts", attempts,
		    "retry_in_s", delays, "error", sr->error, NULL);
		metrics_count("websands_mail_total", "result=\"retry\"", 1);
	}
	db_res_free(res);
	return rc;
}

int
outbox_worker_run_one(struct outbox_worker *w, struct db_conn *c)
{
	struct outbox_row	 row;
	struct smtp_result	 sr;
	struct db_res		*res = NULL;
	struct buf		 msg;
	char			 msgid[MAIL_MESSAGE_ID_MAX], ms[24];
	char			 attempts[24];
	const char		*params[2];
	long long		 t0;
	int			 rc, ret = OUTBOX_WORK_DB_ERROR;

	memset(&row, 0, sizeof(row));
	memset(&sr, 0, sizeof(sr));
	buf_init(&msg, MAIL_MESSAGE_MAX);
	if (db_begin(c) != 0)
		goto out;
	if (db_query(c, claim_sql, 0, NULL, &res) != 0) {
		db_rollback(c);
		goto out;
	}
	if (db_res_nrows(res) == 0) {
		db_rollback(c);
		ret = OUTBOX_WORK_IDLE;
		goto out;
	}
	if (row_load(&row, res) != 0) {
		/* Nothing was tried: leave the row for the next pass. */
		db_rollback(c);
		goto out;
	}
	rate_take(w->rate);

	t0 = mailer_now_ms();
	rc = outbox_worker_compose(w, &row, &msg, msgid, sizeof(msgid),
	    sr.error, sizeof(sr.error));
	if (rc != 0)
		sr.permanent = 1;
	else
		smtp_send(w->smtp, row.recipient, msg.data, msg.len, &sr);
	snprintf(ms, sizeof(ms), "%lld", mailer_now_ms() - t0);

	if (sr.sent) {
		params[0] = row.id;
		params[1] = msgid;
		rc = db_query(c, sent_sql, 2, params, NULL);
	} else if (sr.server_fault)
		rc = record_server_fault(c, &row, &sr);
	else
		rc = record_failure(w, c, &row, &sr);
	if (rc == 0)
		rc = db_commit(c);
	if (rc != 0) {
		db_rollback(c);
		log_event(LOG_ERROR, "mail_record_failed", "id", row.id,
		    "sent", sr.sent ? "yes" : "no", "error", ws_err_name(rc),
		    "note", sr.sent ? "the mail may be sent again" : NULL,
		    NULL);
		goto out;
	}
	if (sr.sent) {
		snprintf(attempts, sizeof(attempts), "%ld", row.attempts + 1);
		log_event(LOG_INFO, "mail_sent", "id", row.id, "template",
		    row.tmpl, "locale", row.locale, "to_domain",
		    addr_domain(row.recipient), "attempts", attempts,
		    "ms", ms, NULL);
		metrics_count("websands_mail_total", "result=\"sent\"", 1);
	}
	ret = sr.server_fault ? OUTBOX_WORK_SMTP_DOWN : OUTBOX_WORK_DONE;
out:
	db_res_free(res);
	if (msg.data != NULL)
		sodium_memzero(msg.data, msg.cap);
	buf_cleanup(&msg);
	row_cleanup(&row);
	return ret;
}
