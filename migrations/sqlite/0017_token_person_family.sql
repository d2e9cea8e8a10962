-- Each token table's person and sign-in in one index, where there were one for each.
--
-- Every new token adds an entry to each index of its table, and an entry for a random
-- person or sign-in lands on a page of its own: the refresh grant, which writes two tokens,
-- wrote about seven pages of its own a refresh (BENCHMARKS.md), four of them for these
-- four indexes (the id, expiry and device entries go at the end of theirs, beside the last
-- one written). Everything that looks tokens up by sign-in knows the person too:
-- "revoke this sign-in" (reuse detection, a replayed code, RFC 7009, the security centre)
-- and binding a sign-in's tokens to a device; "revoke everything of this person" uses the
-- index's first column.
--
-- The new indexes are built before the old ones go, so the tables are never without one.
CREATE INDEX refresh_tokens_user_family ON refresh_tokens (user_id, family_id);
CREATE INDEX access_tokens_user_family ON access_tokens (user_id, family_id);
DROP INDEX refresh_tokens_family_id;
DROP INDEX refresh_tokens_user_id;
DROP INDEX access_tokens_family_id;
DROP INDEX access_tokens_user_id;
