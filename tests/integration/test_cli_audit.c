/*
 * `websands audit verify` and the audit part of `websands purge`.
 * On the stack's live log: verify passes, then names the row after
 * one row is edited with SQL (content, or an id swapped under its
 * digest), and passes again once the row is put back.  In a database
 * of its own (made and dropped here, so the shared log keeps its
 * history): rows older than AUDIT_RETENTION_DAYS are purged through an
 * anchor and the chain still verifies; removing a kept row is caught;
 * the newest row is never purged, so new events chain on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest_admin.h"

/*
 * Appends one event dated days ago, chained as audit_record chains
 * it (the same statement, with a chosen time).
 */
static void
scratch_event(int days)
{
	struct db_conn	*c = itest_admin_scratch();
	char		 d[16];
	const char	*p[1] = { d };

	snprintf(d, sizeof(d), "%d", days);
	if (db_query(c, "WITH prev AS (SELECT row_hash FROM auth_events"
	    " ORDER BY id DESC LIMIT 1), r AS (SELECT"
	    " nextval('auth_events_id_seq') AS id, clock_timestamp() -"
	    " make_interval(days => $1::int) AS at)"
	    " INSERT INTO auth_events (id, occurred_at, user_id, actor_id,"
	    " user_ref, actor_ref, event_type, ip, user_agent, details,"
	    " prev_hash, row_hash) SELECT r.id, r.at, gen_random_uuid(),"
	    " NULL, NULL, NULL, 'login_failed', '192.0.2.7', 'test',"
	    " '{\"n\": 1}', (SELECT row_hash FROM prev), NULL FROM r",
	    1, p, NULL) != 0 ||
	    db_query(c, "UPDATE auth_events SET"
	    " user_ref = ws_audit_ref(user_id),"
	    " client_ref = ws_audit_client_ref(ip, user_agent),"
	    " row_hash = ws_audit_hash(prev_hash, id, occurred_at,"
	    " ws_audit_ref(user_id), actor_ref, event_type,"
	    " ws_audit_client_ref(ip, user_agent), details)"
	    " WHERE row_hash IS NULL",
	    0, NULL, NULL) != 0)
		fail_msg("cannot append an event");
}

static int
teardown(void **state)
{
	(void)state;
	itest_admin_scratch_drop();
	itest_admin_db_close();
	return 0;
}

static int
verify(struct buf *out)
{
	buf_reset(out);
	return itest_admin_cli("audit verify", NULL, out);
}

/*
 * Edits row id with edit ($1 the id, $2 other), expects verify to
 * name that row and why, then puts it back with restore ($1 the id).
 */
static void
assert_edit_caught(const char *edit, const char *restore, const char *id,
    const char *other, const char *why)
{
	struct buf	 out;
	char		 want[64];

	buf_init(&out, 0);
	itest_admin_sql(edit, 2, (const char *[]){ id, other });
	assert_int_equal(verify(&out), 1);
	snprintf(want, sizeof(want), "breaks at row %s:", id);
	if (strstr(buf_str(&out), want) == NULL ||
	    strstr(buf_str(&out), why) == NULL)
		fail_msg("verify said: %s", buf_str(&out));
	itest_admin_sql(restore, 1, (const char *[]){ id });
	assert_int_equal(verify(&out), 0);
	buf_cleanup(&out);
}

static void
test_verify_live_log(void **state)
{
	struct itest_admin	 a, b;
	struct buf		 out;
	char			 id[24];

	(void)state;
	itest_admin_new(&a, "verifa", 0);
	itest_admin_new(&b, "verifb", 0);
	buf_init(&out, 0);
	assert_int_equal(verify(&out), 0);
	assert_non_null(strstr(buf_str(&out), "chain intact"));
	/* a's sign-in: a row in the middle of the log by now. */
	itest_admin_sql_value("SELECT id FROM auth_events WHERE user_id ="
	    " $1::uuid AND event_type = 'login_succeeded'", 1,
	    (const char *[]){ a.u.id }, id, sizeof(id));
	assert_true(id[0] != '\0');
	/* The chain covers the address by its digest, client_ref. */
	assert_edit_caught("UPDATE auth_events SET ip = '203.0.113.9'"
	    " WHERE id = $1::bigint AND $2::text IS NOT NULL",
	    "UPDATE auth_events SET ip = '127.0.0.1' WHERE id = $1::bigint",
	    id, "-", "client_ref");
	assert_edit_caught("UPDATE auth_events SET details ="
	    " jsonb_build_object('edited', $2::text) WHERE id = $1::bigint",
	    "UPDATE auth_events SET details = '{}' WHERE id = $1::bigint",
	    id, "yes", "content");
	/* Pinning the event on b while its digest still says a. */
	assert_edit_caught("UPDATE auth_events SET user_id = $2::uuid"
	    " WHERE id = $1::bigint", "UPDATE auth_events SET user_id ="
	    " actor_id WHERE id = $1::bigint", id, b.u.id, "user_id");
	assert_edit_caught("UPDATE auth_events SET actor_id = $2::uuid"
	    " WHERE id = $1::bigint", "UPDATE auth_events SET actor_id ="
	    " user_id WHERE id = $1::bigint", id, b.u.id, "actor_id");
	buf_cleanup(&out);
}

static void
test_purge_keeps_chain(void **state)
{
	struct buf	 out;
	char		 v[64], first_kept[24], last_old[24], sql[128];
	int		 i;

	(void)state;
	itest_admin_scratch_create();
	buf_init(&out, 0);
	for (i = 0; i < 10; i++)
		scratch_event(400 - i);
	itest_admin_scratch_value("SELECT max(id) FROM auth_events",
	    last_old, sizeof(last_old));
	for (i = 0; i < 3; i++)
		scratch_event(1 - i);
	itest_admin_scratch_value("SELECT min(id) FROM auth_events"
	    " WHERE occurred_at > now() - interval '10 days'", first_kept,
	    sizeof(first_kept));
	assert_int_equal(itest_admin_scratch_cli("audit verify", &out), 0);
	assert_non_null(strstr(buf_str(&out), "13 events"));

	assert_int_equal(itest_admin_scratch_cli("purge", &out), 0);
	assert_non_null(strstr(buf_str(&out), "10 events"));
	itest_admin_scratch_value("SELECT through_id || '/' || purged_rows"
	    " FROM audit_anchors", v, sizeof(v));
	snprintf(sql, sizeof(sql), "%s/10", last_old);
	assert_string_equal(v, sql);
	itest_admin_scratch_value("SELECT count(*) FROM auth_events"
	    " WHERE event_type = 'audit_purged'", v, sizeof(v));
	assert_string_equal(v, "1");
	assert_int_equal(itest_admin_scratch_cli("audit verify", &out), 0);
	assert_non_null(strstr(buf_str(&out), "purge anchor"));
	/* Nothing more is old enough: a second run removes nothing. */
	assert_int_equal(itest_admin_scratch_cli("purge", &out), 0);
	assert_non_null(strstr(buf_str(&out), " 0 events"));
	assert_int_equal(itest_admin_scratch_cli("audit verify", &out), 0);

	/* Removing the first kept row is caught at the row after it. */
	snprintf(sql, sizeof(sql), "DELETE FROM auth_events WHERE id = %s",
	    first_kept);
	assert_int_equal(db_exec(itest_admin_scratch(), sql), 0);
	assert_int_equal(itest_admin_scratch_cli("audit verify", &out), 1);
	assert_non_null(strstr(buf_str(&out), "prev_hash"));
	buf_cleanup(&out);
	itest_admin_scratch_drop();
}

/* When every row is old, the newest stays so the chain goes on. */
static void
test_purge_keeps_newest(void **state)
{
	struct buf	 out;
	char		 v[64], newest[24];
	int		 i;

	(void)state;
	itest_admin_scratch_create();
	buf_init(&out, 0);
	for (i = 0; i < 4; i++)
		scratch_event(500 - i);
	itest_admin_scratch_value("SELECT max(id) FROM auth_events",
	    newest, sizeof(newest));
	assert_int_equal(itest_admin_scratch_cli("purge", &out), 0);
	assert_non_null(strstr(buf_str(&out), "3 events"));
	itest_admin_scratch_value("SELECT string_agg(event_type, ','"
	    " ORDER BY id) FROM auth_events", v, sizeof(v));
	assert_string_equal(v, "login_failed,audit_purged");
	itest_admin_scratch_value("SELECT min(id) FROM auth_events", v,
	    sizeof(v));
	assert_string_equal(v, newest);
	scratch_event(0);
	assert_int_equal(itest_admin_scratch_cli("audit verify", &out), 0);
	assert_non_null(strstr(buf_str(&out), "3 events"));
	/* An anchor edited to hide the purge is caught too. */
	assert_int_equal(db_exec(itest_admin_scratch(), "UPDATE audit_anchors"
	    " SET through_hash = sha256('x')"), 0);
	assert_int_equal(itest_admin_scratch_cli("audit verify", &out), 1);
	buf_cleanup(&out);
	itest_admin_scratch_drop();
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_verify_live_log),
		cmocka_unit_test(test_purge_keeps_chain),
		cmocka_unit_test(test_purge_keeps_newest),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
