-- The second step of a sign-in with MFA.  A right password for an
-- account with TOTP on opens a challenge instead of a session; the
-- mfa_token handed out names it, and POST /api/v1/auth/mfa/verify
-- closes it with a code.  A challenge is used at most once and lives a
-- few minutes, so an mfa_token cannot be replayed.

CREATE TABLE mfa_challenges (
	id			uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	user_id			uuid NOT NULL
	    REFERENCES users (id) ON DELETE CASCADE,
	created_at		timestamptz NOT NULL DEFAULT now(),
	expires_at		timestamptz NOT NULL,
	used_at			timestamptz
);
COMMENT ON TABLE mfa_challenges IS
    'Open second steps of MFA sign-ins; one per right password.';
CREATE INDEX mfa_challenges_user ON mfa_challenges (user_id);
CREATE INDEX mfa_challenges_expires ON mfa_challenges (expires_at);
