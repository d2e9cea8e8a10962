-- People, their login requests (the device flow), access tokens, browser sessions and
-- failed-login counters. Times are Unix milliseconds.
CREATE TABLE users (
    id            BLOB PRIMARY KEY,
    name          TEXT NOT NULL,
    email         TEXT UNIQUE,                  -- lowercased
    whatsapp      TEXT UNIQUE,                  -- E.164
    password_hash TEXT NOT NULL,                -- Argon2id PHC string
    status        TEXT NOT NULL DEFAULT 'active'
                  CHECK (status IN ('active', 'inactive', 'suspended', 'deleted')),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    CHECK (email IS NOT NULL OR whatsapp IS NOT NULL)
);

-- One "Login (UI by fypass)" request: created by an app, completed once by a person,
-- collected once by the app's poll.
CREATE TABLE login_requests (
    id            BLOB PRIMARY KEY,
    token_hash    BLOB NOT NULL UNIQUE,      -- SHA-256 of the reqToken
    client_id     BLOB NOT NULL REFERENCES clients (id),
    mode          TEXT NOT NULL CHECK (mode IN ('login', 'register')),
    redirect_url  TEXT,
    locale        TEXT,
    device_info   TEXT,                         -- JSON deviceInfo, saved as a device on completion
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    completed_at  INTEGER,
    outcome       TEXT CHECK (outcome IN ('LOGGED_IN', 'REGISTERED')),
    user_id       BLOB REFERENCES users (id),
    device_id     BLOB,                           -- the device saved from device_info on completion
    delivered_at  INTEGER                          -- when a poll took the access token
);
CREATE INDEX login_requests_expires_at ON login_requests (expires_at);

CREATE TABLE access_tokens (
    id          BLOB PRIMARY KEY,
    token_hash  BLOB NOT NULL UNIQUE,        -- SHA-256 of the fyp_ token
    user_id     BLOB NOT NULL REFERENCES users (id),
    client_id   BLOB NOT NULL REFERENCES clients (id),
    device_id   BLOB,                            -- the device the login carried, if any
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE INDEX access_tokens_user_id ON access_tokens (user_id);
CREATE INDEX access_tokens_device_id ON access_tokens (device_id);

CREATE TABLE sessions (
    id          BLOB PRIMARY KEY,
    token_hash  BLOB NOT NULL UNIQUE,        -- SHA-256 of the cookie value
    user_id     BLOB NOT NULL REFERENCES users (id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE INDEX sessions_user_id ON sessions (user_id);

-- Failed sign-ins per identifier and per client address, in fixed windows.
CREATE TABLE login_failures (
    key           TEXT PRIMARY KEY,             -- 'identifier:<normalized>' or 'address:<ip>'
    window_start  INTEGER NOT NULL,
    failures      INTEGER NOT NULL
);
