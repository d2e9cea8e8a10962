-- Passkeys (WebAuthn).

-- A person's passkeys. `passkey` is the credential as webauthn-rs serializes it (the
-- source of truth); the other columns are what is looked up, compared or shown.
CREATE TABLE passkeys (
    id               UUID PRIMARY KEY,
    user_id          UUID NOT NULL REFERENCES users (id),
    cred_id          BYTEA NOT NULL UNIQUE,       -- the credential id the authenticator gave
    passkey          TEXT NOT NULL,
    sign_count       BIGINT NOT NULL,                -- only moves forward (compare-and-set)
    backup_eligible  BOOLEAN NOT NULL,
    backup_state     BOOLEAN NOT NULL,               -- synced to the person's other devices
    transports       TEXT,                         -- JSON array, a hint for the browser
    name             TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    last_used_at     BIGINT
);
CREATE INDEX passkeys_user_id ON passkeys (user_id);

-- One run of navigator.credentials.create or get: taken once (DELETE … RETURNING), briefly.
CREATE TABLE passkey_ceremonies (
    id          UUID PRIMARY KEY,
    token_hash  BYTEA NOT NULL UNIQUE,        -- SHA-256 of the ceremony id handed to the page
    kind        TEXT NOT NULL CHECK (kind IN ('register', 'login')),
    user_id     UUID,                           -- register: the signed-in person
    request_id  UUID,                           -- login: the login request it completes
    state       TEXT NOT NULL,                 -- webauthn-rs' ceremony state, as JSON
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX passkey_ceremonies_expires_at ON passkey_ceremonies (expires_at);

-- The one-time offer to create a passkey after signing in.
ALTER TABLE users ADD COLUMN passkey_offered_at BIGINT;
