-- Tokens an app can live with: short access tokens, rotating refresh tokens.
--
-- Every token an app gets from one sign-in (the login request's first poll) belongs to one
-- family; refreshing rotates the family's refresh token, and presenting a rotated one
-- again revokes the whole family (reuse detection).
CREATE TABLE refresh_tokens (
    id          BLOB PRIMARY KEY,
    token_hash  BLOB NOT NULL UNIQUE,       -- SHA-256 of the fyt_ token
    family_id   BLOB NOT NULL,
    user_id     BLOB NOT NULL REFERENCES users (id),
    client_id   BLOB NOT NULL REFERENCES clients (id),
    device_id   BLOB,                          -- the device the login carried or the app saved
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    rotated_at  INTEGER,                         -- when a refresh replaced it
    revoked_at  INTEGER
);
CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_id ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_device_id ON refresh_tokens (device_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

-- Access tokens issued before refresh tokens existed have no family.
ALTER TABLE access_tokens ADD COLUMN family_id BLOB;
CREATE INDEX access_tokens_family_id ON access_tokens (family_id);
