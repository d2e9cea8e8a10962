-- One identifier, one account (SPEC §10, §13).
--
-- Until now only a verified email address or WhatsApp number was exclusive: several
-- accounts could claim one unverified identifier, and a code sent there acted on the newest
-- claim. From now on an identifier belongs to one account, verified or not, and a code sent
-- to it acts on that account only.
--
-- What this does to existing rows, where several accounts claim one identifier:
-- * the verified claim keeps it, else the oldest (by created_at, then id);
-- * every other claim loses it: that column and its verified time are set to NULL (the
--   account keeps its other identifier, password, sessions, tokens and passkeys);
-- * codes for recovery, sign-in or verification that were sent to an identifier for an
--   account that no longer has it are removed (they could only act on the wrong account).
-- An account left with no email address and no number stays, and whoever holds its session
-- or a passkey can still use it (and add a new identifier on /account); nobody can sign in
-- to it with a password or a code, or recover it, until it has an identifier again.
-- No other row changes.

UPDATE users SET email = NULL, email_verified_at = NULL
WHERE email IS NOT NULL AND EXISTS (
    SELECT 1 FROM users k
    WHERE k.email = users.email AND k.id <> users.id
      AND ((k.email_verified_at IS NOT NULL AND users.email_verified_at IS NULL)
           OR ((k.email_verified_at IS NULL) = (users.email_verified_at IS NULL)
               AND (k.created_at < users.created_at
                    OR (k.created_at = users.created_at AND k.id < users.id)))));

UPDATE users SET whatsapp = NULL, whatsapp_verified_at = NULL
WHERE whatsapp IS NOT NULL AND EXISTS (
    SELECT 1 FROM users k
    WHERE k.whatsapp = users.whatsapp AND k.id <> users.id
      AND ((k.whatsapp_verified_at IS NOT NULL AND users.whatsapp_verified_at IS NULL)
           OR ((k.whatsapp_verified_at IS NULL) = (users.whatsapp_verified_at IS NULL)
               AND (k.created_at < users.created_at
                    OR (k.created_at = users.created_at AND k.id < users.id)))));

DELETE FROM codes
WHERE purpose IN ('recovery', 'sign-in', 'verify') AND used_at IS NULL
  AND NOT EXISTS (
    SELECT 1 FROM users u
    WHERE u.id = codes.user_id AND (u.email = codes.identifier OR u.whatsapp = codes.identifier));

-- Every value now exclusive (NULLs aside), verified or not.
DROP INDEX users_email_key;
DROP INDEX users_whatsapp_key;
DROP INDEX users_email;
DROP INDEX users_whatsapp;
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE UNIQUE INDEX users_whatsapp_key ON users (whatsapp);
