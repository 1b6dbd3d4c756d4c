-- 0006_admin: what websands-admin and the operator's CLI need.
--
-- 1. Indexes for the admin user search (GET /api/v1/admin/users): a
--    case-insensitive prefix of the username or the address, and the
--    three sort orders, each with id as the tie-break that keyset
--    pagination needs.  The lower-cased columns are indexed under the
--    "C" collation: the cluster's collation (C.UTF-8 in the test
--    stack, often en_US elsewhere) cannot serve a LIKE prefix, while
--    "C" compares bytes, so one index serves both `LIKE 'abc%'` and
--    `ORDER BY ... , id` with a row comparison for the next page.
-- 2. Indexes for the audit query (GET /api/v1/admin/audit), which
--    pages newest first by id and filters by user, actor, type or
--    address, so each filter column is paired with id.
-- 3. audit_anchors: where `websands purge` records the last row it
--    removed from the hash chain, so `websands audit verify` can
--    start from there and the shortened chain stays verifiable.
-- 4. ws_reset_mfa(): an administrator's reset of a user's MFA.

CREATE INDEX users_username_c ON users ((lower(username)) COLLATE "C", id);
CREATE INDEX users_email_c ON users ((lower(email)) COLLATE "C", id);
-- Accounts that never signed in sort as the oldest sign-in.
CREATE INDEX users_last_login ON users
    ((coalesce(last_login_at, '-infinity'::timestamptz)), id);
-- The filters that pick out a few accounts (administrators, suspended,
-- locked, unverified, with MFA) get small partial indexes, so their
-- pages and totals touch only those rows; the filters that keep most
-- accounts are served as well by the scans above.
CREATE INDEX users_admins ON users (created_at, id) WHERE role = 'admin';
CREATE INDEX users_suspended ON users (created_at, id)
    WHERE status = 'suspended';
CREATE INDEX users_locked ON users (locked_until)
    WHERE locked_until IS NOT NULL;
CREATE INDEX users_unverified ON users (created_at, id)
    WHERE email_verified_at IS NULL;
CREATE INDEX users_mfa ON users (created_at, id) WHERE mfa_enabled;

-- 0004_mfa makes the same index for GET /me/events.
CREATE INDEX IF NOT EXISTS auth_events_user_id ON auth_events (user_id, id);
CREATE INDEX auth_events_actor_id ON auth_events (actor_id, id);
CREATE INDEX auth_events_type_id ON auth_events (event_type, id);
CREATE INDEX auth_events_ip_id ON auth_events (ip, id);

-- Failed mail is what an operator lists and retries.
CREATE INDEX email_outbox_failed ON email_outbox (id)
    WHERE status = 'failed';

-- The rule `websands purge` follows for auth_events: it removes only
-- a prefix of the chain (every row below the first one still within
-- AUDIT_RETENTION_DAYS, and never the newest row), and before
-- removing it stores the row_hash of the last row removed here.  The
-- first remaining row's prev_hash must equal the newest anchor's
-- through_hash; each purge is also itself an event in the chain.
CREATE TABLE audit_anchors (
	id			bigserial PRIMARY KEY,
	through_id		bigint NOT NULL,
	through_hash		bytea NOT NULL,
	purged_rows		bigint NOT NULL CHECK (purged_rows > 0),
	created_at		timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE audit_anchors IS
    'Where the audit chain starts after websands purge removed its head.';
COMMENT ON COLUMN audit_anchors.through_id IS
    'The id of the last auth_events row this purge removed.';
COMMENT ON COLUMN audit_anchors.through_hash IS
    'That row''s row_hash: the prev_hash of the first row kept.';
CREATE INDEX audit_anchors_through ON audit_anchors (through_id);

-- Sets every MFA column of the user back to its default (MFA off, no
-- secret, no pending enrolment, no counters) and removes the recovery
-- codes and any open MFA sign-in challenge.  The MFA columns are found
-- by their "mfa_" prefix when the function runs, so columns a later
-- migration adds are reset too; their names come from the catalog,
-- never from a caller.  Returns whether MFA was on.
CREATE FUNCTION ws_reset_mfa(uid uuid) RETURNS boolean
    LANGUAGE plpgsql AS $$
DECLARE
	was_on	boolean;
	sets	text;
BEGIN
	SELECT mfa_enabled INTO was_on FROM users WHERE id = uid
	    FOR UPDATE;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	SELECT string_agg(format('%I = DEFAULT', attname), ', ')
	    INTO sets FROM pg_attribute
	    WHERE attrelid = 'users'::regclass AND attnum > 0
	    AND NOT attisdropped AND attname LIKE 'mfa\_%';
	EXECUTE 'UPDATE users SET ' || sets || ' WHERE id = $1' USING uid;
	DELETE FROM recovery_codes WHERE user_id = uid;
	IF to_regclass('mfa_challenges') IS NOT NULL THEN
		EXECUTE 'DELETE FROM mfa_challenges WHERE user_id = $1'
		    USING uid;
	END IF;
	RETURN was_on;
END;
$$;
COMMENT ON FUNCTION ws_reset_mfa IS
    'Turns MFA off for a user: every users.mfa_* column to its default.';
