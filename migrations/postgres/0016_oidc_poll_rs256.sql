-- A device-code poll is one conditional UPDATE (src/oidc/device.rs): it notes the poll and,
-- for a poll before the interval ran out, when it was told to slow down, which the same
-- statement returns (RETURNING sees the row as updated, not as it was).
ALTER TABLE oidc_device_codes ADD COLUMN slowed_at BIGINT;

-- How a client's ID tokens are signed: NULL for ES256 (the default), 'RS256' for a client
-- whose library knows only RSA (`fypass client set-id-token-alg`).
ALTER TABLE clients ADD COLUMN id_token_alg TEXT;
