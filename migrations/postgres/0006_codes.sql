-- Recovery, verification and one-time codes.

-- An email address or WhatsApp number is verified once someone proves they receive its
-- codes. Only a verified one is exclusive: an unverified claim must not block the real
-- owner from registering, so several accounts may claim one unverified identifier until
-- one verifies it (and the others lose it).
ALTER TABLE users DROP CONSTRAINT users_email_key;
ALTER TABLE users DROP CONSTRAINT users_whatsapp_key;
ALTER TABLE users DROP CONSTRAINT users_check;
ALTER TABLE users ADD COLUMN email_verified_at BIGINT;
ALTER TABLE users ADD COLUMN whatsapp_verified_at BIGINT;
CREATE UNIQUE INDEX users_email_key ON users (email) WHERE email_verified_at IS NOT NULL;
CREATE UNIQUE INDEX users_whatsapp_key ON users (whatsapp) WHERE whatsapp_verified_at IS NOT NULL;
CREATE INDEX users_email ON users (email);
CREATE INDEX users_whatsapp ON users (whatsapp);

-- One-time codes: six digits, stored hashed, valid for minutes, void after five wrong tries.
CREATE TABLE codes (
    id          UUID PRIMARY KEY,
    purpose     TEXT NOT NULL CHECK (purpose IN ('recovery', 'sign-in', 'verify', 'change')),
    identifier  TEXT NOT NULL,              -- the normalized address it was sent to
    user_id     UUID NOT NULL REFERENCES users (id),
    code_hash   BYTEA NOT NULL,             -- SHA-256 of the code id and the code
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    failures    BIGINT NOT NULL DEFAULT 0,
    used_at     BIGINT
);
CREATE INDEX codes_identifier ON codes (identifier, purpose, created_at);
CREATE INDEX codes_expires_at ON codes (expires_at);

-- Messages waiting to leave (src/courier/outbox.rs).
CREATE TABLE outbox (
    id               UUID PRIMARY KEY,
    channel          TEXT NOT NULL CHECK (channel IN ('email', 'whatsapp')),
    recipient        TEXT NOT NULL,
    purpose          TEXT NOT NULL,
    subject          TEXT NOT NULL,
    body_text        TEXT,                  -- forgotten once sent
    body_html        TEXT,
    code             TEXT,                  -- WhatsApp's template parameter; forgotten once sent
    status           TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts         BIGINT NOT NULL,
    next_attempt_at  BIGINT NOT NULL,
    locked_until     BIGINT,                -- a node's lease while it delivers
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    sent_at          BIGINT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_created_at ON outbox (created_at);
