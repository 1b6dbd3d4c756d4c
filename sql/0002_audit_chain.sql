-- Chains auth_events by hash so that editing or deleting a row shows.
-- Each row's row_hash is SHA-256 over the previous row's row_hash and
-- this row's own content in a fixed text form; ws_audit_hash is that
-- form, used both when a row is written and when the chain is checked
-- (`websands audit verify`), so the two can never disagree.
--
-- The chain covers digests of the personal parts of a row (user_ref,
-- actor_ref for the ids, client_ref for the address and user agent),
-- not the values themselves: deleting an account clears its ids, IP
-- addresses and user agents from its events, as its personal data
-- must go, while the digests stay as an anonymous id and the chain
-- still verifies.  A row whose values are present must match their
-- digests, so a value cannot be swapped either.

ALTER TABLE auth_events ADD COLUMN user_ref bytea;
ALTER TABLE auth_events ADD COLUMN actor_ref bytea;
COMMENT ON COLUMN auth_events.user_ref IS
    'SHA-256 of user_id as text: the anonymous id kept after deletion.';
COMMENT ON COLUMN auth_events.actor_ref IS
    'SHA-256 of actor_id as text, kept like user_ref.';
ALTER TABLE auth_events ADD COLUMN client_ref bytea;
COMMENT ON COLUMN auth_events.client_ref IS
    'SHA-256 of ip and user_agent, kept when they are cleared.';

CREATE FUNCTION ws_audit_ref(id uuid) RETURNS bytea
    LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN id IS NULL THEN NULL
	    ELSE sha256(convert_to(id::text, 'UTF8')) END
$$;

CREATE FUNCTION ws_audit_client_ref(ip text, user_agent text)
    RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
	SELECT sha256(convert_to(concat_ws(chr(31), coalesce(ip, ''),
	    coalesce(user_agent, '')), 'UTF8'))
$$;

CREATE FUNCTION ws_audit_hash(prev bytea, id bigint, at timestamptz,
    user_ref bytea, actor_ref bytea, event_type text, client_ref bytea,
    details jsonb) RETURNS bytea
    LANGUAGE sql IMMUTABLE AS $$
	SELECT sha256(coalesce(prev, '\x'::bytea) || convert_to(
	    concat_ws(chr(31), id::text,
	        extract(epoch FROM at)::text,
	        coalesce(encode(user_ref, 'hex'), ''),
	        coalesce(encode(actor_ref, 'hex'), ''),
	        event_type, coalesce(encode(client_ref, 'hex'), ''),
	        details::text), 'UTF8'))
$$;

COMMENT ON FUNCTION ws_audit_hash IS
    'The chained hash of one auth_events row (see 0002_audit_chain).';
