-- Where an alert went (SPEC §16): the email address or WhatsApp number the "this wasn't me"
-- link was sent to, as it was then. Using the link sends the recovery code there, and gives
-- that address back to the account when someone replaced it since: an intruder who changed
-- the account's email address cannot have the code sent to theirs.
--
-- Existing rows get NULL: their link acts as before (the code goes to the account's
-- verified address as it is when the link is used).
ALTER TABLE alert_links ADD COLUMN sent_to TEXT;
