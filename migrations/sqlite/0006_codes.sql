-- Recovery, verification and one-time codes.

-- An email address or WhatsApp number is verified once someone proves they receive its
-- codes. Only a verified one is exclusive: an unverified claim must not block the real
-- owner from registering, so several accounts may claim one unverified identifier until
-- one verifies it (and the others lose it). SQLite changes a constraint by rebuilding
-- the table (run with foreign keys off, see src/db/mod.rs).
CREATE TABLE users_new (
    id                    BLOB PRIMARY KEY,
    name                  TEXT NOT NULL,
    email                 TEXT,                   -- lowercased
    whatsapp              TEXT,                   -- E.164
    password_hash         TEXT NOT NULL,          -- Argon2id PHC string
    status                TEXT NOT NULL DEFAULT 'active'
                          CHECK (status IN ('active', 'inactive', 'suspended', 'deleted')),
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    email_verified_at     INTEGER,
    whatsapp_verified_at  INTEGER
);
INSERT INTO users_new (id, name, email, whatsapp, password_hash, status, created_at, updated_at)
    SELECT id, name, email, whatsapp, password_hash, status, created_at, updated_at FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
CREATE UNIQUE INDEX users_email_key ON users (email) WHERE email_verified_at IS NOT NULL;
CREATE UNIQUE INDEX users_whatsapp_key ON users (whatsapp) WHERE whatsapp_verified_at IS NOT NULL;
CREATE INDEX users_email ON users (email);
CREATE INDEX users_whatsapp ON users (whatsapp);

-- One-time codes: six digits, stored hashed, valid for minutes, void after five wrong tries.
CREATE TABLE codes (
    id          BLOB PRIMARY KEY,
    purpose     TEXT NOT NULL CHECK (purpose IN ('recovery', 'sign-in', 'verify', 'change')),
    identifier  TEXT NOT NULL,              -- the normalized address it was sent to
    user_id     BLOB NOT NULL REFERENCES users (id),
    code_hash   BLOB NOT NULL,              -- SHA-256 of the code id and the code
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    failures    INTEGER NOT NULL DEFAULT 0,
    used_at     INTEGER
);
CREATE INDEX codes_identifier ON codes (identifier, purpose, created_at);
CREATE INDEX codes_expires_at ON codes (expires_at);

-- Messages waiting to leave (src/courier/outbox.rs).
CREATE TABLE outbox (
    id               BLOB PRIMARY KEY,
    channel          TEXT NOT NULL CHECK (channel IN ('email', 'whatsapp')),
    recipient        TEXT NOT NULL,
    purpose          TEXT NOT NULL,
    subject          TEXT NOT NULL,
    body_text        TEXT,                  -- forgotten once sent
    body_html        TEXT,
    code             TEXT,                  -- WhatsApp's template parameter; forgotten once sent
    status           TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts         INTEGER NOT NULL,
    next_attempt_at  INTEGER NOT NULL,
    locked_until     INTEGER,               -- a node's lease while it delivers
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    sent_at          INTEGER
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_created_at ON outbox (created_at);
