-- Chains auth_events by hash so that editing or deleting a row shows.
-- Each row's row_hash is SHA-256 over the previous row's row_hash and
-- this row's own content in a fixed text form; ws_audit_hash is that
-- form, used both when a row is written and when the chain is checked
-- (`websands audit verify`), so the two can never disagree.
--
-- The chain covers digests of the user and actor ids (user_ref,
-- actor_ref), not the ids themselves: deleting an account clears
-- user_id and actor_id from its events, as the account's personal
-- data must go, while the digest stays as an anonymous id and the
-- chain still verifies.  A row whose id is present must match its
-- digest, so an id cannot be swapped either.

ALTER TABLE auth_events ADD COLUMN user_ref bytea;
ALTER TABLE auth_events ADD COLUMN actor_ref bytea;
COMMENT ON COLUMN auth_events.user_ref IS
    'SHA-256 of user_id as text: the anonymous id kept after deletion.';
COMMENT ON COLUMN auth_events.actor_ref IS
    'SHA-256 of actor_id as text, kept like user_ref.';

CREATE FUNCTION ws_audit_ref(id uuid) RETURNS bytea
    LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN id IS NULL THEN NULL
	    ELSE sha256(convert_to(id::text, 'UTF8')) END
$$;

CREATE FUNCTION ws_audit_hash(prev bytea, id bigint, at timestamptz,
    user_ref bytea, actor_ref bytea, event_type text, ip text,
    user_agent text, details jsonb) RETURNS bytea
    LANGUAGE sql IMMUTABLE AS $$
	SELECT sha256(coalesce(prev, '\x'::bytea) || convert_to(
	    concat_ws(chr(31), id::text,
	        extract(epoch FROM at)::text,
	        coalesce(encode(user_ref, 'hex'), ''),
	        coalesce(encode(actor_ref, 'hex'), ''),
	        event_type, coalesce(ip, ''), coalesce(user_agent, ''),
	        details::text), 'UTF8'))
$$;

COMMENT ON FUNCTION ws_audit_hash IS
    'The chained hash of one auth_events row (see 0002_audit_chain).';
