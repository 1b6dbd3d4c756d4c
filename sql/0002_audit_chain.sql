-- Chains auth_events by hash so that editing or deleting a row shows.
-- Each row's row_hash is SHA-256 over the previous row's row_hash and
-- this row's own content in a fixed text form; ws_audit_hash is that
-- form, used both when a row is written and when the chain is checked
-- (`websands audit verify`), so the two can never disagree.

CREATE FUNCTION ws_audit_hash(prev bytea, id bigint, at timestamptz,
    user_id uuid, actor_id uuid, event_type text, ip text,
    user_agent text, details jsonb) RETURNS bytea
    LANGUAGE sql IMMUTABLE AS $$
	SELECT sha256(coalesce(prev, '\x'::bytea) || convert_to(
	    concat_ws(chr(31), id::text,
	        extract(epoch FROM at)::text,
	        coalesce(user_id::text, ''), coalesce(actor_id::text, ''),
	        event_type, coalesce(ip, ''), coalesce(user_agent, ''),
	        details::text), 'UTF8'))
$$;

COMMENT ON FUNCTION ws_audit_hash IS
    'The chained hash of one auth_events row (see 0002_audit_chain).';
