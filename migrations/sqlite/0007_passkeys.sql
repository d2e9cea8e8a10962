-- Passkeys (WebAuthn).

-- A person's passkeys. `passkey` is the credential as webauthn-rs serializes it (the
-- source of truth); the other columns are what is looked up, compared or shown.
CREATE TABLE passkeys (
    id               BLOB PRIMARY KEY,
    user_id          BLOB NOT NULL REFERENCES users (id),
    cred_id          BLOB NOT NULL UNIQUE,       -- the credential id the authenticator gave
    passkey          TEXT NOT NULL,
    sign_count       INTEGER NOT NULL,                -- only moves forward (compare-and-set)
    backup_eligible  INTEGER NOT NULL,
    backup_state     INTEGER NOT NULL,               -- synced to the person's other devices
    transports       TEXT,                         -- JSON array, a hint for the browser
    name             TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    last_used_at     INTEGER
);
CREATE INDEX passkeys_user_id ON passkeys (user_id);

-- One run of navigator.credentials.create or get: taken once (DELETE … RETURNING), briefly.
CREATE TABLE passkey_ceremonies (
    id          BLOB PRIMARY KEY,
    token_hash  BLOB NOT NULL UNIQUE,        -- SHA-256 of the ceremony id handed to the page
    kind        TEXT NOT NULL CHECK (kind IN ('register', 'login')),
    user_id     BLOB,                           -- register: the signed-in person
    request_id  BLOB,                           -- login: the login request it completes
    state       TEXT NOT NULL,                 -- webauthn-rs' ceremony state, as JSON
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX passkey_ceremonies_expires_at ON passkey_ceremonies (expires_at);

-- The one-time offer to create a passkey after signing in.
ALTER TABLE users ADD COLUMN passkey_offered_at INTEGER;
