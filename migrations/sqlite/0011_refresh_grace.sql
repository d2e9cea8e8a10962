-- A refresh token's grace window (/docs#tokens). A rotated refresh token presented again
-- within the window by the same app from the same device gets the same new pair back (two
-- requests of one app racing), where before it got an error; anything else is reuse.
--
-- successor:  the new pair its rotation issued, sealed (AES-256-GCM) with a key derived
--             from the rotated token itself, which only its holder has; cleared by the
--             upkeep once the window is over.
-- rotated_by: SHA-256 of the device (network and User-Agent) whose request rotated it.
--
-- Existing rows get NULL in both: a token rotated before this migration has no pair to
-- hand back, and presenting it again is reuse, as it was.
ALTER TABLE refresh_tokens ADD COLUMN successor BLOB;
ALTER TABLE refresh_tokens ADD COLUMN rotated_by BLOB;
