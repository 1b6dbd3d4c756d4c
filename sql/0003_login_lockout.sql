-- Adds what the login lockout needs to count failures in a window:
-- the time of the first failure of the current run.  The counter
-- itself (failed_login_count) and the lock (locked_until) came with
-- 0001; together they make the lockout hold without memcached.

ALTER TABLE users ADD COLUMN failed_login_first_at timestamptz;

COMMENT ON COLUMN users.failed_login_first_at IS
    'First failed login of the current window; NULL after a success.';
