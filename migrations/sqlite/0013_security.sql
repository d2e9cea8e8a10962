-- The security centre (SPEC §16): a second factor (TOTP and recovery codes), the sign-ins
-- waiting for it, strong sessions, login requests that ask for a strong sign-in, and the
-- person's activity. (0012 is left to OpenID Connect.) Times are Unix milliseconds.

-- A person's authenticator app (RFC 6238: SHA-1, 6 digits, 30 s). `secret` is the shared
-- key itself: it must be read to check a code, so hashing is no option, and sealing it with
-- a key kept in this same database would protect nothing. `confirmed_at` is NULL while the
-- person is enrolling (the QR code is shown, no code typed yet): such a row is no factor.
-- `last_step` is the highest time step a code was accepted for; a code of that step or an
-- earlier one is refused (each code works once, compare-and-set).
CREATE TABLE totp_factors (
    user_id       BLOB PRIMARY KEY REFERENCES users (id),
    secret        BLOB NOT NULL,
    created_at    INTEGER NOT NULL,
    confirmed_at  INTEGER,
    last_step     INTEGER NOT NULL DEFAULT 0
);

-- Single-use recovery codes of the second factor: SHA-256 of the code (80 random bits),
-- `used_at` set once (compare-and-set).
CREATE TABLE recovery_codes (
    code_hash   BLOB PRIMARY KEY,
    user_id     BLOB NOT NULL REFERENCES users (id),
    created_at  INTEGER NOT NULL,
    used_at     INTEGER
);
CREATE INDEX recovery_codes_user_id ON recovery_codes (user_id);

-- A sign-in that proved the first factor (a password, a sign-in or recovery code) and waits
-- for the second, in the browser that holds the step's cookie (SHA-256 here). It completes
-- `request_id` (when the sign-in was for an app), once (`used_at`), within minutes.
CREATE TABLE second_steps (
    id          BLOB PRIMARY KEY,
    token_hash  BLOB NOT NULL UNIQUE,
    user_id     BLOB NOT NULL REFERENCES users (id),
    request_id  BLOB,
    first       TEXT NOT NULL,          -- 'password', 'code' or 'recovery'
    failures    INTEGER NOT NULL DEFAULT 0, -- wrong codes typed for this step: void at 5
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);
CREATE INDEX second_steps_expires_at ON second_steps (expires_at);

-- When the browser session was proven with two factors (a passkey, or a password or code
-- and then the second factor); NULL for a one-factor session (and every existing one).
ALTER TABLE sessions ADD COLUMN strong_at INTEGER;

-- The app asked for a strong sign-in (`"require": "mfa"`): only a two-factor proof
-- completes the request. Existing requests asked for nothing.
ALTER TABLE login_requests ADD COLUMN require_mfa INTEGER NOT NULL DEFAULT 0;

-- What happened on a person's account (`/account/activity`), written in the transaction of
-- the change it records; kept 180 days. `network` is the caller's network (an IPv4 address
-- or an IPv6 /64), `browser` its User-Agent (cut short), `client_id` the app of the sign-in.
CREATE TABLE activity (
    id          BLOB PRIMARY KEY,
    user_id     BLOB NOT NULL REFERENCES users (id),
    kind        TEXT NOT NULL,
    detail      TEXT,                   -- how (a sign-in: password, code, passkey, …)
    client_id   BLOB,
    device      TEXT,
    network     TEXT,
    browser     TEXT,
    created_at  INTEGER NOT NULL
);
CREATE INDEX activity_user_id ON activity (user_id, created_at);
CREATE INDEX activity_created_at ON activity (created_at);

-- The "this wasn't me" link of an alert (a new browser's sign-in, a recovery, a changed
-- password, identifier or second factor): SHA-256 of its token, single use, 7 days. Using
-- it signs every session out, revokes every token and starts a recovery.
CREATE TABLE alert_links (
    token_hash  BLOB PRIMARY KEY,
    user_id     BLOB NOT NULL REFERENCES users (id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);
CREATE INDEX alert_links_expires_at ON alert_links (expires_at);
