-- fypass as an OpenID Connect provider (SPEC §15, src/oidc/).
--
-- oidc_keys: the keys that sign ID tokens. A key is published (JWKS) from created_at, signs
-- from signs_from (the publish delay lets every relying party's JWKS cache learn it first),
-- and stays published after a newer key takes over until every token it signed has
-- expired. private_key is PKCS#8 DER, sealed with AES-256-GCM when sealed = true (a key
-- derived from FYPASS_SECRET_KEY).
CREATE TABLE oidc_keys (
    kid          TEXT PRIMARY KEY,
    alg          TEXT NOT NULL,
    private_key  BYTEA NOT NULL,
    sealed       BOOLEAN NOT NULL,
    public_jwk   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    signs_from   BIGINT NOT NULL
);

-- An /oauth/authorize request waiting for the person to sign in on the hosted pages (its
-- login request), then resumed once in that browser.
CREATE TABLE oidc_authorizations (
    id               UUID PRIMARY KEY,
    client_id        UUID NOT NULL REFERENCES clients (id),
    login_request_id UUID NOT NULL,
    redirect_uri     TEXT NOT NULL,
    state            TEXT,
    nonce            TEXT,
    scope            TEXT NOT NULL,
    code_challenge   TEXT NOT NULL,
    max_age          BIGINT,
    fresh            BOOLEAN NOT NULL,          -- prompt=login: a sign-in after created_at
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    resumed_at       BIGINT
);
CREATE INDEX oidc_authorizations_expires_at ON oidc_authorizations (expires_at);

-- Authorization codes: single use, 60 s. family_id is the sign-in the first use started,
-- revoked when the code is presented again.
CREATE TABLE oidc_codes (
    code_hash      BYTEA PRIMARY KEY,
    client_id      UUID NOT NULL REFERENCES clients (id),
    user_id        UUID NOT NULL REFERENCES users (id),
    redirect_uri   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    nonce          TEXT,
    code_challenge TEXT NOT NULL,
    session_id     UUID,
    auth_time      BIGINT NOT NULL,
    amr            TEXT,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT,
    family_id      UUID
);
CREATE INDEX oidc_codes_expires_at ON oidc_codes (expires_at);

-- What an OpenID Connect sign-in (a token family) was granted, so a refresh can issue its
-- ID token again and userinfo knows the scope.
CREATE TABLE oidc_grants (
    family_id   UUID PRIMARY KEY,
    client_id   UUID NOT NULL REFERENCES clients (id),
    user_id     UUID NOT NULL REFERENCES users (id),
    scope       TEXT NOT NULL,
    session_id  UUID,
    auth_time   BIGINT NOT NULL,
    amr         TEXT,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

-- RFC 8628 device codes over the login requests: the request's reqToken sealed with a key
-- derived from the device code (which only the device holds), so a poll completes through
-- the login flow's own collection rule.
CREATE TABLE oidc_device_codes (
    code_hash        BYTEA PRIMARY KEY,
    client_id        UUID NOT NULL REFERENCES clients (id),
    login_request_id UUID NOT NULL,
    sealed_request   BYTEA NOT NULL,
    scope            TEXT NOT NULL,
    interval_secs    BIGINT NOT NULL,
    last_poll_at     BIGINT,
    used_at          BIGINT,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL
);
CREATE INDEX oidc_device_codes_expires_at ON oidc_device_codes (expires_at);

-- How the person proved who they are when a browser session started (an ID token's amr):
-- pwd, otp, hwk; NULL for sessions from before.
ALTER TABLE sessions ADD COLUMN amr TEXT;

-- A public client (an app on a phone, a TV, a browser) holds no secret and must use PKCE.
ALTER TABLE clients ADD COLUMN public BOOLEAN NOT NULL DEFAULT FALSE;
