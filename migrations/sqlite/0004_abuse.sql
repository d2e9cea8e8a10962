-- Abuse resistance.

-- The failed-sign-in counters become the general throttle (src/throttle.rs): any counter
-- of events in a window, with the time of the last event for the doubling delay.
ALTER TABLE login_failures RENAME TO throttle;
ALTER TABLE throttle RENAME COLUMN failures TO events;
ALTER TABLE throttle ADD COLUMN last_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX throttle_last_at ON throttle (last_at);

-- A login request shows a user code (RFC 8628) that a person on another network than the
-- one that started the request confirms before completing it.
ALTER TABLE login_requests ADD COLUMN user_code TEXT;
ALTER TABLE login_requests ADD COLUMN started_from TEXT;          -- the starter's network
ALTER TABLE login_requests ADD COLUMN confirmed_at INTEGER;
ALTER TABLE login_requests ADD COLUMN confirm_failures INTEGER NOT NULL DEFAULT 0;
-- A completed request's token must be collected by then, or the request expires unused.
ALTER TABLE login_requests ADD COLUMN collect_by INTEGER;

-- Browsers that signed in to an account: others' failed guesses do not slow them down.
CREATE TABLE trusted_browsers (
    token_hash  BLOB NOT NULL,  -- SHA-256 of the fypass_browser cookie
    user_id     BLOB NOT NULL REFERENCES users (id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (token_hash, user_id)
);
CREATE INDEX trusted_browsers_expires_at ON trusted_browsers (expires_at);

-- Expired rows are purged in batches (src/server/upkeep.rs) by these.
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX access_tokens_expires_at ON access_tokens (expires_at);
