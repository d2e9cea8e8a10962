-- Re-authentication, "sign out everywhere", and passkey ceremonies that cost no row to start.

-- When the person last proved who they are again in this browser session (typed their
-- password or used a passkey), Unix ms; the session's start counts as a proof too.
-- Existing sessions get NULL: only their start counts.
ALTER TABLE sessions ADD COLUMN reauthenticated_at INTEGER;

-- Every sign-in of the person completed before this time (Unix ms) is revoked: a login
-- request completed earlier but not yet collected hands out no token. Set by a password
-- change, a recovery, a status change and "sign out everywhere". Existing people get NULL:
-- nothing was revoked that way.
ALTER TABLE users ADD COLUMN revoked_before INTEGER;

-- Keys of this deployment, made at the first start and shared by every node (by name):
-- `passkey-ceremony` signs (HMAC-SHA-256) the passkey ceremony state handed to the page.
CREATE TABLE sealing_keys (
    name        TEXT PRIMARY KEY,
    key         BLOB NOT NULL,
    created_at  INTEGER NOT NULL
);

-- From now on a passkey ceremony's state travels signed in its ceremony id, and
-- `passkey_ceremonies` only records ceremonies that were used (so none is used twice):
-- ceremonies started before this migration can no longer be finished (the page says to
-- try again), and their rows are purged when they expire.
