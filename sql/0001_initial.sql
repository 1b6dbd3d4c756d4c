-- 0001_initial: the first WebSands schema (design.md section 8).
--
-- It creates the accounts and everything hanging off them (settings,
-- password history, sessions with their refresh tokens, single-use
-- e-mail tokens, MFA recovery codes), the hash-chained audit log and
-- the mail outbox.  Secrets are never stored in the clear: passwords
-- as password hashes, tokens and recovery codes as hashes, TOTP
-- secrets and personal names as XChaCha20-Poly1305 ciphertext that
-- carries its key id.  ids are random UUIDs (gen_random_uuid() is
-- built into PostgreSQL 13 and later), so they reveal neither the
-- number of accounts nor their order.  `websands migrate` runs this
-- file in one transaction.

-- Keeps updated_at true without every UPDATE having to remember it.
CREATE FUNCTION ws_touch_updated_at() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
	NEW.updated_at := now();
	RETURN NEW;
END;
$$;

CREATE TABLE users (
	id			uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	username		text NOT NULL
	    CHECK (char_length(username) BETWEEN 1 AND 64),
	email			text NOT NULL
	    CHECK (char_length(email) BETWEEN 3 AND 254),
	password_hash		text NOT NULL,
	role			text NOT NULL DEFAULT 'user'
	    CHECK (role IN ('user', 'admin')),
	status			text NOT NULL DEFAULT 'active'
	    CHECK (status IN ('active', 'suspended')),
	email_verified_at	timestamptz,
	locked_until		timestamptz,
	failed_login_count	integer NOT NULL DEFAULT 0
	    CHECK (failed_login_count >= 0),
	password_changed_at	timestamptz NOT NULL DEFAULT now(),
	tokens_valid_after	timestamptz NOT NULL DEFAULT '-infinity',
	mfa_enabled		boolean NOT NULL DEFAULT false,
	mfa_secret		bytea,
	mfa_last_step		bigint,
	pending_email		text
	    CHECK (char_length(pending_email) BETWEEN 3 AND 254),
	first_name		bytea,
	last_name		bytea,
	last_login_at		timestamptz,
	created_at		timestamptz NOT NULL DEFAULT now(),
	updated_at		timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE users IS
    'One row per account; username and email unique whatever their case.';
COMMENT ON COLUMN users.password_hash IS
    'bcrypt or Argon2id in its own string form, parameters included.';
COMMENT ON COLUMN users.locked_until IS
    'Lockout after repeated failed logins; NULL or past: not locked.';
COMMENT ON COLUMN users.tokens_valid_after IS
    'Access tokens issued before this time are refused.';
COMMENT ON COLUMN users.mfa_secret IS
    'TOTP secret, encrypted (XChaCha20-Poly1305, with key id).';
COMMENT ON COLUMN users.mfa_last_step IS
    'Last TOTP time step accepted, so no code is accepted twice.';
COMMENT ON COLUMN users.pending_email IS
    'A new address waiting for verification; email stays until then.';
COMMENT ON COLUMN users.first_name IS 'Encrypted like mfa_secret.';
COMMENT ON COLUMN users.last_name IS 'Encrypted like mfa_secret.';
CREATE UNIQUE INDEX users_username_lower ON users (lower(username));
CREATE UNIQUE INDEX users_email_lower ON users (lower(email));
CREATE INDEX users_created_at ON users (created_at, id);
CREATE TRIGGER users_touch BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION ws_touch_updated_at();

CREATE TABLE profile_settings (
	user_id			uuid PRIMARY KEY
	    REFERENCES users (id) ON DELETE CASCADE,
	notification_email	boolean NOT NULL DEFAULT true,
	notification_security	boolean NOT NULL DEFAULT true,
	ui_theme		text NOT NULL DEFAULT 'system'
	    CHECK (ui_theme IN ('light', 'dark', 'system')),
	ui_density		text NOT NULL DEFAULT 'comfortable'
	    CHECK (ui_density IN ('comfortable', 'compact')),
	updated_at		timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE profile_settings IS
    'A user''s preferences; a missing row means all defaults.';
CREATE TRIGGER profile_settings_touch BEFORE UPDATE ON profile_settings
    FOR EACH ROW EXECUTE FUNCTION ws_touch_updated_at();

CREATE TABLE password_history (
	id			bigserial PRIMARY KEY,
	user_id			uuid NOT NULL
	    REFERENCES users (id) ON DELETE CASCADE,
	password_hash		text NOT NULL,
	created_at		timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE password_history IS
    'Hashes of earlier passwords, so the last few cannot be reused.';
CREATE INDEX password_history_user
    ON password_history (user_id, created_at DESC);

CREATE TABLE sessions (
	id			uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	user_id			uuid NOT NULL
	    REFERENCES users (id) ON DELETE CASCADE,
	created_at		timestamptz NOT NULL DEFAULT now(),
	last_used_at		timestamptz NOT NULL DEFAULT now(),
	expires_at		timestamptz NOT NULL,
	idle_expires_at		timestamptz NOT NULL,
	revoked_at		timestamptz,
	revoke_reason		text,
	ip			text,
	user_agent		text
);
COMMENT ON TABLE sessions IS
    'One sign-in (a device); its refresh tokens form one family.';
COMMENT ON COLUMN sessions.expires_at IS
    'Absolute end of the session, however active it is.';
COMMENT ON COLUMN sessions.idle_expires_at IS
    'End of the session unless a refresh moves it on.';
COMMENT ON COLUMN sessions.revoked_at IS
    'Set once the session is ended; it is never reopened.';
CREATE INDEX sessions_user ON sessions (user_id, created_at);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE refresh_tokens (
	id			bigserial PRIMARY KEY,
	session_id		uuid NOT NULL
	    REFERENCES sessions (id) ON DELETE CASCADE,
	token_hash		bytea NOT NULL UNIQUE,
	created_at		timestamptz NOT NULL DEFAULT now(),
	expires_at		timestamptz NOT NULL,
	used_at			timestamptz,
	replaced_by		bigint
	    REFERENCES refresh_tokens (id) ON DELETE SET NULL
);
COMMENT ON TABLE refresh_tokens IS
    'Refresh tokens by SHA-256 only; each use rotates to a new row.';
COMMENT ON COLUMN refresh_tokens.used_at IS
    'When it was rotated; a second use outside the grace ends the session.';
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

CREATE TABLE email_tokens (
	id			bigserial PRIMARY KEY,
	user_id			uuid NOT NULL
	    REFERENCES users (id) ON DELETE CASCADE,
	purpose			text NOT NULL
	    CHECK (purpose IN ('verify', 'reset', 'email_change')),
	token_hash		bytea NOT NULL UNIQUE,
	new_email		text,
	created_at		timestamptz NOT NULL DEFAULT now(),
	expires_at		timestamptz NOT NULL,
	used_at			timestamptz
);
COMMENT ON TABLE email_tokens IS
    'Mailed single-use tokens, by SHA-256 only, each with an expiry.';
COMMENT ON COLUMN email_tokens.new_email IS
    'For email_change: the address that becomes active when used.';
CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose);
CREATE INDEX email_tokens_expires ON email_tokens (expires_at);

CREATE TABLE recovery_codes (
	id			bigserial PRIMARY KEY,
	user_id			uuid NOT NULL
	    REFERENCES users (id) ON DELETE CASCADE,
	code_hash		text NOT NULL,
	used_at			timestamptz,
	created_at		timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE recovery_codes IS
    'Single-use MFA recovery codes, hashed; a new set replaces the old.';
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

CREATE TABLE auth_events (
	id			bigserial PRIMARY KEY,
	occurred_at		timestamptz NOT NULL DEFAULT now(),
	user_id			uuid,
	actor_id		uuid,
	event_type		text NOT NULL,
	ip			text,
	user_agent		text,
	details			jsonb NOT NULL DEFAULT '{}',
	prev_hash		bytea,
	row_hash		bytea
);
COMMENT ON TABLE auth_events IS
    'Append-only audit of authentication and admin events.';
COMMENT ON COLUMN auth_events.user_id IS
    'No foreign key: events outlive the account (anonymised on delete).';
COMMENT ON COLUMN auth_events.actor_id IS
    'Who acted: the user, an admin, or NULL for the system.';
COMMENT ON COLUMN auth_events.prev_hash IS
    'row_hash of the previous event, chaining the log.';
COMMENT ON COLUMN auth_events.row_hash IS
    'Hash over prev_hash and this row, so a changed row shows.';
CREATE INDEX auth_events_user ON auth_events (user_id, occurred_at);
CREATE INDEX auth_events_type ON auth_events (event_type, occurred_at);
CREATE INDEX auth_events_time ON auth_events (occurred_at);

CREATE TABLE email_outbox (
	id bigserial PRIMARY KEY,
	user_id uuid REFERENCES users (id) ON DELETE SET NULL,
	recipient text NOT NULL,
	template text NOT NULL,
	locale text NOT NULL DEFAULT 'en',
	vars jsonb NOT NULL DEFAULT '{}',
	status text NOT NULL DEFAULT 'pending'
	    CHECK (status IN ('pending', 'sent', 'failed')),
	attempts int NOT NULL DEFAULT 0,
	next_attempt_at timestamptz NOT NULL DEFAULT now(),
	last_error text,
	message_id text,
	created_at timestamptz NOT NULL DEFAULT now(),
	sent_at timestamptz
);
COMMENT ON TABLE email_outbox IS
    'Mail to send, written in the transaction of the change it reports.';
COMMENT ON COLUMN email_outbox.status IS
    'pending until sent; failed after the last allowed attempt.';
COMMENT ON COLUMN email_outbox.vars IS
    'Values for the template, escaped when the mail is rendered.';
CREATE INDEX email_outbox_due ON email_outbox (next_attempt_at)
    WHERE status = 'pending';
