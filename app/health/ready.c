/*
 * Liveness and readiness.  Liveness says only that this process
 * answers; readiness asks each dependency once, so an orchestrator can
 * take an instance out of rotation while the database is unreachable.
 * The database is the one dependency WebSands cannot work without:
 * its loss makes the answer 503.  memcached and a replica only degrade
 * it, since every request falls back to the primary.
 */
#include <stdio.h>
#include <stdlib.h>

#include "app.h"
#include "error.h"
#include "health.h"
#include "log.h"

void
health_live(struct req *r, struct resp *rs)
{
	json_t	*body;

	body = json_pack("{s:s}", "status", "ok");
	if (body == NULL || resp_json(rs, 200, body) != 0)
		resp_problem(rs, r, 500, "INTERNAL_ERROR", NULL, NULL);
	json_decref(body);
}

/* One component's entry: {"status": "up"|"down", "latency_ms": N}. */
static json_t *
ready_component(int up, double ms)
{
	if (!up)
		return json_pack("{s:s}", "status", "down");
	return json_pack("{s:s,s:f}", "status", "up", "latency_ms", ms);
}

/*
 * The mail outbox's backlog, so a stuck mailer shows on the dashboard
 * before users notice missing mail.  NULL when the query failed.
 */
static json_t *
ready_outbox(void)
{
	struct db_conn	*c = NULL;
	struct db_res	*res = NULL;
	json_t		*out = NULL;

	if (db_pool_acquire(ws_app.db, &c) != 0)
		goto out;
	if (db_query(c, "SELECT count(*) FILTER (WHERE status = 'pending'),"
	    " count(*) FILTER (WHERE status = 'failed') FROM email_outbox",
	    0, NULL, &res) != 0 || db_res_nrows(res) != 1)
		goto out;
	out = json_pack("{s:s,s:I,s:I}", "status", "up",
	    "pending", (json_int_t)strtoll(db_res_value(res, 0, 0), NULL, 10),
	    "failed", (json_int_t)strtoll(db_res_value(res, 0, 1), NULL, 10));
out:
	db_res_free(res);
	db_pool_release(c);
	return out;
}

void
health_ready(struct req *r, struct resp *rs)
{
	json_t		*body = NULL, *comps = NULL, *outbox;
	double		 ms = 0;
	int		 db_up, degraded = 0, status;

	if ((comps = json_object()) == NULL)
		goto fail;

	db_up = db_pool_ping(ws_app.db, &ms) == 0;
	json_object_set_new(comps, "database", ready_component(db_up, ms));
	if (ws_app.db_read != NULL) {
		int up = db_pool_ping(ws_app.db_read, &ms) == 0;

		json_object_set_new(comps, "replica",
		    ready_component(up, ms));
		degraded |= !up;
	}
	if (ws_app.cache != NULL) {
		int up = cache_ping(ws_app.cache, &ms) == 0;

		json_object_set_new(comps, "memcached",
		    ready_component(up, ms));
		degraded |= !up;
	}
	if (db_up) {
		if ((outbox = ready_outbox()) == NULL) {
			outbox = json_pack("{s:s}", "status", "unknown");
			degraded = 1;
		}
		json_object_set_new(comps, "outbox", outbox);
	}

	status = !db_up ? 503 : 200;
	body = json_pack("{s:s,s:O}", "status", !db_up ? "unavailable" :
	    degraded ? "degraded" : "ok", "components", comps);
	if (body == NULL)
		goto fail;
	if (!db_up)
		resp_header(rs, "Retry-After", "1");
	if (resp_json(rs, status, body) != 0)
		goto fail;
	json_decref(body);
	json_decref(comps);
	return;
fail:
	json_decref(body);
	json_decref(comps);
	resp_problem(rs, r, 500, "INTERNAL_ERROR", NULL, NULL);
}
