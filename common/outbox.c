/*
 * Queuing mail in email_outbox for websands-mailer.
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "mail_message.h"
#include "mail_template.h"
#include "outbox.h"

int
outbox_queue(struct db_conn *c, const char *user_id,
    const char *recipient, const char *tmpl, const char *locale,
    const json_t *vars)
{
	static const char	*sql = "INSERT INTO email_outbox "
	    "(user_id, recipient, template, locale, vars) "
	    "VALUES ($1::uuid, $2, $3, $4, $5::jsonb)";
	const json_t		*lp;
	const char		*params[5];
	char			*js = NULL;
	int			 rc = WS_ERR_INVALID;

	if (locale == NULL)
		locale = "en";
	/* Checked here, in the handler's request, so a bad mail fails
	 * the test that queued it instead of failing in the mailer. */
	if (c == NULL || !mail_message_addr_valid(recipient) ||
	    !mail_template_known(tmpl) ||
	    !mail_template_locale_valid(locale) ||
	    (vars != NULL && !json_is_object(vars)))
		goto out;
	if (vars != NULL && (lp = json_object_get(vars, "link_path")) !=
	    NULL && (!json_is_string(lp) ||
	    !mail_template_link_path_valid(json_string_value(lp))))
		goto out;

	rc = WS_ERR_NOMEM;
	js = vars != NULL ? json_dumps(vars, JSON_COMPACT) : strdup("{}");
	if (js == NULL)
		goto out;
	rc = WS_ERR_TOOBIG;
	if (strlen(js) > OUTBOX_VARS_MAX)
		goto out;

	params[0] = user_id;
	params[1] = recipient;
	params[2] = tmpl;
	params[3] = locale;
	params[4] = js;
	if ((rc = db_query(c, sql, 5, params, NULL)) != 0)
		goto out;
	/* Delivered at COMMIT, so the mailer wakes once the row exists. */
	rc = db_exec(c, "NOTIFY " OUTBOX_CHANNEL);
out:
	if (rc != 0)
		log_event(LOG_WARN, "outbox_queue_failed", "template",
		    mail_template_known(tmpl) ? tmpl : "(invalid)",
		    "error", ws_err_name(rc), NULL);
	free(js);
	return rc;
}
