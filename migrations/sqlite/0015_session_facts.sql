-- Where a browser session started, so that `/account/activity` can tell a person's sessions
-- apart (SPEC §16): the browser's User-Agent as it named itself (cut short, as the activity
-- keeps it) and the caller's network (an IPv4 address or an IPv6 /64). NULL for sessions
-- started before.
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
ALTER TABLE sessions ADD COLUMN network TEXT;
