-- The installations of client apps. (client_id, device_id) is the app's own key for an
-- installation: saving it again updates the row, in one INSERT ... ON CONFLICT.
CREATE TABLE devices (
    id            UUID PRIMARY KEY,             -- UUIDv7: ordering by id is ordering by creation
    client_id     UUID NOT NULL REFERENCES clients (id),
    user_id       UUID REFERENCES users (id),
    device_id     TEXT NOT NULL,                -- the app's stable install id
    device_name   TEXT,
    platform      TEXT NOT NULL
                  CHECK (platform IN ('android', 'ios', 'web', 'windows', 'macos', 'linux', 'other')),
    os_version    TEXT,
    app_version   TEXT,
    model         TEXT,
    manufacturer  TEXT,
    push_token    TEXT,
    locale        TEXT,
    timezone      TEXT,
    ip_address    TEXT,
    user_agent    TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    UNIQUE (client_id, device_id)
);
-- A client's devices, newest first (the list route pages through this).
CREATE INDEX devices_client_id_id ON devices (client_id, id);
-- A person's devices (the dashboard, and filtering a client's list by user).
CREATE INDEX devices_user_id ON devices (user_id, id);
