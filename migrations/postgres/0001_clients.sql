-- Partner apps and their keys. Times are Unix milliseconds (see src/db/mod.rs).
CREATE TABLE clients (
    id            UUID    PRIMARY KEY,          -- UUIDv7
    name          TEXT    NOT NULL,
    key_hash      BYTEA   NOT NULL UNIQUE,      -- SHA-256 of the key; the key itself is never stored
    key_prefix    TEXT    NOT NULL,             -- the key's first characters, safe to display
    status        TEXT    NOT NULL DEFAULT 'active'
                  CHECK (status IN ('active', 'inactive', 'suspended', 'deleted')),
    grants        TEXT    NOT NULL,             -- space-separated, e.g. 'clients.info devices.read' or '*'
    redirect_urls TEXT    NOT NULL DEFAULT '',  -- space-separated absolute URLs
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);

-- Bumped in the same transaction as every change to a table whose rows the server caches,
-- so every app node notices a change made elsewhere (another node, an admin command).
CREATE TABLE generations (
    name  TEXT   PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO generations (name, value) VALUES ('clients', 0);
