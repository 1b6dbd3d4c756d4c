/*
 * Appending to the chained audit log.  Two statements, not one: the
 * advisory lock must be held before the statement that reads the
 * previous row's hash takes its snapshot, or two writers could both
 * chain onto the same predecessor.
 */
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "error.h"

/* Any fixed number will do; it names the audit chain's lock. */
#define AUDIT_LOCK_KEY	"727001"
#define AUDIT_UA_MAX	512

static const char	audit_insert_sql[] =
    "WITH prev AS (SELECT row_hash FROM auth_events"
    " ORDER BY id DESC LIMIT 1),"
    " row AS (SELECT nextval('auth_events_id_seq') AS id,"
    " clock_timestamp() AS at)"
    " INSERT INTO auth_events (id, occurred_at, user_id, actor_id,"
    " user_ref, actor_ref, client_ref, event_type, ip, user_agent,"
    " details, prev_hash, row_hash)"
    " SELECT row.id, row.at, $1::uuid, $2::uuid,"
    " ws_audit_ref($1::uuid), ws_audit_ref($2::uuid),"
    " ws_audit_client_ref($4, $5), $3, $4, $5, $6::jsonb,"
    " (SELECT row_hash FROM prev),"
    " ws_audit_hash((SELECT row_hash FROM prev), row.id, row.at,"
    " ws_audit_ref($1::uuid), ws_audit_ref($2::uuid), $3,"
    " ws_audit_client_ref($4, $5), $6::jsonb) FROM row";

int
audit_record(struct db_conn *c, const struct audit_event *ev)
{
	const char	*params[6];
	char		 ua[AUDIT_UA_MAX + 1];
	char		*details = NULL;
	int		 rc;

	if (ev->details != NULL)
		details = json_dumps(ev->details, JSON_COMPACT |
		    JSON_SORT_KEYS);
	if (ev->user_agent != NULL) {
		/* Cut on a character boundary, so the text stays UTF-8. */
		size_t n = strlen(ev->user_agent);

		if (n > AUDIT_UA_MAX) {
			n = AUDIT_UA_MAX;
			while (n > 0 && ((unsigned char)ev->user_agent[n] &
			    0xC0) == 0x80)
				n--;
		}
		memcpy(ua, ev->user_agent, n);
		ua[n] = '\0';
	}
	params[0] = ev->user_id;
	params[1] = ev->actor_id;
	params[2] = ev->type;
	params[3] = ev->ip;
	params[4] = ev->user_agent != NULL ? ua : NULL;
	params[5] = details != NULL ? details : "{}";
	if ((rc = db_query(c, "SELECT pg_advisory_xact_lock("
	    AUDIT_LOCK_KEY ")", 0, NULL, NULL)) == 0)
		rc = db_query(c, audit_insert_sql, 6, params, NULL);
	free(details);
	return rc;
}

int
audit_record_now(struct db_conn *c, const struct audit_event *ev)
{
	int	 rc;

	if ((rc = db_begin(c)) != 0)
		return rc;
	if ((rc = audit_record(c, ev)) != 0 || (rc = db_commit(c)) != 0)
		db_rollback(c);
	return rc;
}

void
audit_from_request(struct audit_event *ev, const struct req *r)
{
	ev->ip = r->remote_addr;
	ev->user_agent = req_header(r, "User-Agent");
}
