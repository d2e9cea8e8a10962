-- Tokens an app can live with: short access tokens, rotating refresh tokens.
--
-- Every token an app gets from one sign-in (the login request's first poll) belongs to one
-- family; refreshing rotates the family's refresh token, and presenting a rotated one
-- again revokes the whole family (reuse detection).
CREATE TABLE refresh_tokens (
    id          UUID PRIMARY KEY,
    token_hash  BYTEA NOT NULL UNIQUE,       -- SHA-256 of the fyt_ token
    family_id   UUID NOT NULL,
    user_id     UUID NOT NULL REFERENCES users (id),
    client_id   UUID NOT NULL REFERENCES clients (id),
    device_id   UUID,                          -- the device the login carried or the app saved
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    rotated_at  BIGINT,                         -- when a refresh replaced it
    revoked_at  BIGINT
);
CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_id ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_device_id ON refresh_tokens (device_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

-- Access tokens issued before refresh tokens existed have no family.
ALTER TABLE access_tokens ADD COLUMN family_id UUID;
CREATE INDEX access_tokens_family_id ON access_tokens (family_id);
