/*
 * The mail outbox (design.md 9).  A handler never talks SMTP: it
 * queues a mail in email_outbox inside the transaction of the change
 * that caused it, so the mail exists if and only if the change
 * committed, and websands-mailer delivers it later.
 */
#ifndef WEBSANDS_OUTBOX_H
#define WEBSANDS_OUTBOX_H

#include <jansson.h>

#include "db.h"

/* The channel the mailer LISTENs on. */
#define OUTBOX_CHANNEL		"websands_outbox"
/* Bytes of the values of one mail, as compact JSON. */
#define OUTBOX_VARS_MAX		(16 * 1024)

/*
 * Queues the mail tmpl (a name mail_template_known accepts) in locale
 * (NULL: "en") to recipient, with the template values vars (a JSON
 * object, or NULL for none; "link_path", when present, must pass
 * mail_template_link_path_valid), for the user user_id (a UUID, or
 * NULL).  It inserts one email_outbox row and runs NOTIFY on
 * OUTBOX_CHANNEL on c, which must be inside a transaction the caller
 * began: the row and the notification take effect at its COMMIT and
 * vanish with a ROLLBACK.  Returns 0, WS_ERR_INVALID (a recipient that
 * mail_message_addr_valid refuses, an unknown template, a malformed
 * locale or link_path, vars not an object), WS_ERR_TOOBIG (vars over
 * OUTBOX_VARS_MAX), WS_ERR_NOMEM, or an error of db_query.
 */
int	 outbox_queue(struct db_conn *c, const char *user_id,
	    const char *recipient, const char *tmpl, const char *locale,
	    const json_t *vars);

#endif
