-- What two-step verification (TOTP) needs beyond the columns 0001
-- made (mfa_enabled, mfa_secret, mfa_last_step): an enrolment waiting
-- for its first code, and a lockout of its own for wrong codes, kept
-- apart from the password lockout so that a right password followed
-- by guessed codes locks the second step, and the count holds without
-- memcached.  The pending secret is encrypted like mfa_secret, bound
-- to its own column, so it cannot be copied into mfa_secret unseen.

ALTER TABLE users ADD COLUMN mfa_pending_secret bytea;
ALTER TABLE users ADD COLUMN mfa_failed_count integer NOT NULL DEFAULT 0
    CHECK (mfa_failed_count >= 0);
ALTER TABLE users ADD COLUMN mfa_failed_first_at timestamptz;
ALTER TABLE users ADD COLUMN mfa_locked_until timestamptz;

COMMENT ON COLUMN users.mfa_pending_secret IS
    'TOTP secret of an unconfirmed enrolment, encrypted like mfa_secret.';
COMMENT ON COLUMN users.mfa_failed_count IS
    'Wrong MFA codes since mfa_failed_first_at.';
COMMENT ON COLUMN users.mfa_failed_first_at IS
    'First wrong MFA code of the current window; NULL after a success.';
COMMENT ON COLUMN users.mfa_locked_until IS
    'MFA refuses every code until then after too many wrong ones.';

-- GET /me/events pages through a user's events newest first by id.
CREATE INDEX auth_events_user_id ON auth_events (user_id, id);
