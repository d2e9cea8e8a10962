//! A person's second factor as stored (SPEC §16; its rules are `factors`): the
//! `totp_factors` and `recovery_codes` tables. Every use of a code is a compare-and-set
//! in the transaction that acts on it, so two requests racing with one code cannot both win.

use crate::{
    db::{Db, Tx, now_ms, with_reader, with_tx},
    error::ApiError,
    secret,
};
use uuid::Uuid;

/// How many recovery codes a person gets (each works once).
pub const RECOVERY_CODES: usize = 10;
/// The letters of a recovery code: Crockford's base32 (no i, l, o, u), lowercase.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// Characters of a recovery code: 16 × 5 = 80 random bits.
const RECOVERY_CHARS: usize = 16;

/// The person's authenticator app: its secret, whether it is on (confirmed with a code),
/// when it was set up.
pub struct Factor {
    pub secret: Vec<u8>,
    pub confirmed: bool,
    pub created_at: i64,
}

/// `user_id`'s authenticator app, on or being set up.
pub async fn factor(db: &Db, user_id: Uuid) -> Result<Option<Factor>, ApiError> {
    let sql = "SELECT secret, confirmed_at, created_at FROM totp_factors WHERE user_id = $1";
    let row: Option<(Vec<u8>, Option<i64>, i64)> = with_reader!(db, |c| sqlx::query_as(sql)
        .bind(user_id)
        .fetch_optional(c)
        .await)?;
    Ok(row.map(|(secret, confirmed, created_at)| Factor {
        secret,
        confirmed: confirmed.is_some(),
        created_at,
    }))
}

/// Whether `user_id` has a second factor on (read in `tx`, with the sign-in it gates).
pub async fn has_factor(tx: &mut Tx<'_>, user_id: Uuid) -> Result<bool, ApiError> {
    let sql = "SELECT COUNT(*) FROM totp_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL";
    let (n,): (i64,) = with_tx!(tx, |c| sqlx::query_as(sql).bind(user_id).fetch_one(c).await)?;
    Ok(n > 0)
}

/// Holds `user_id`'s app, when it is on, until `tx` ends (a row lock: turning it off, or
/// another renewal of the recovery codes, waits): whether it is on.
pub async fn hold_on(tx: &mut Tx<'_>, user_id: Uuid) -> Result<bool, ApiError> {
    let sql = "UPDATE totp_factors SET last_step = last_step
               WHERE user_id = $1 AND confirmed_at IS NOT NULL";
    let n = with_tx!(tx, |c| sqlx::query(sql)
        .bind(user_id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Starts setting up an app with `secret`, replacing a setup under way; `false` (nothing
/// written) when an app is already on.
pub async fn begin_setup(db: &Db, user_id: Uuid, secret: &[u8]) -> Result<bool, ApiError> {
    let sql = "INSERT INTO totp_factors (user_id, secret, created_at) VALUES ($1, $2, $3)
               ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at, last_step = 0
               WHERE totp_factors.confirmed_at IS NULL";
    let mut tx = db.begin().await?;
    let n = with_tx!(&mut tx, |c| sqlx::query(sql)
        .bind(user_id)
        .bind(secret)
        .bind(now_ms())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok(n == 1)
}

/// Turns on the app being set up with `secret` (the one the person's code matched), its
/// code of `step` spent; `false` when that setup is gone (replaced, or on already).
pub async fn confirm(
    tx: &mut Tx<'_>,
    user_id: Uuid,
    secret: &[u8],
    step: i64,
) -> Result<bool, ApiError> {
    let sql = "UPDATE totp_factors SET confirmed_at = $3, last_step = $4
               WHERE user_id = $1 AND secret = $2 AND confirmed_at IS NULL";
    let n = with_tx!(tx, |c| sqlx::query(sql)
        .bind(user_id)
        .bind(secret)
        .bind(now_ms())
        .bind(step)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Spends the code of `step`: `true` only if no code of this step or a later one was
/// accepted before (so each code works once, also under parallel requests).
pub async fn spend_step(tx: &mut Tx<'_>, user_id: Uuid, step: i64) -> Result<bool, ApiError> {
    let sql = "UPDATE totp_factors SET last_step = $2
               WHERE user_id = $1 AND confirmed_at IS NOT NULL AND last_step < $2";
    let n = with_tx!(tx, |c| sqlx::query(sql)
        .bind(user_id)
        .bind(step)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Removes `user_id`'s app and recovery codes (turning the factor off, a recovery that hands
/// the account over, deleting the account). Whether there was an app.
pub async fn remove(tx: &mut Tx<'_>, user_id: Uuid) -> Result<bool, ApiError> {
    let n = with_tx!(tx, |c| sqlx::query(
        "DELETE FROM totp_factors WHERE user_id = $1"
    )
    .bind(user_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    forget_recovery_codes(tx, user_id).await?;
    Ok(n == 1)
}

/// Removes what of `user_id`'s second factor was set up at or after `since` (when a "this
/// wasn't me" link was made: whoever got in may have set it up, and would stand between the
/// person and their account at the second step): an app turned on since, with its recovery
/// codes, or a setup started since. An app on before stays. Whether an app that was on went.
pub async fn remove_set_up_since(
    tx: &mut Tx<'_>,
    user_id: Uuid,
    since: i64,
) -> Result<bool, ApiError> {
    let sql = "DELETE FROM totp_factors
               WHERE user_id = $1 AND COALESCE(confirmed_at, created_at) >= $2
               RETURNING confirmed_at";
    let removed: Option<(Option<i64>,)> = with_tx!(tx, |c| sqlx::query_as(sql)
        .bind(user_id)
        .bind(since)
        .fetch_optional(c)
        .await)?;
    let was_on = matches!(removed, Some((Some(_),)));
    if was_on {
        forget_recovery_codes(tx, user_id).await?;
    }
    Ok(was_on)
}

/// Voids every recovery code of `user_id`.
async fn forget_recovery_codes(tx: &mut Tx<'_>, user_id: Uuid) -> Result<(), ApiError> {
    let sql = "DELETE FROM recovery_codes WHERE user_id = $1";
    Ok(with_tx!(tx, |c| sqlx::query(sql)
        .bind(user_id)
        .execute(c)
        .await
        .map(drop))?)
}

/// A recovery code as typed, normalized: lowercase, without spaces or dashes, with the
/// letters people mistake for digits read as those digits. `None` when it cannot be one.
pub fn normalize_recovery_code(input: &str) -> Option<String> {
    let code: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_lowercase() {
            'i' | 'l' => '1',
            'o' => '0',
            c => c,
        })
        .collect();
    (code.len() == RECOVERY_CHARS && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

fn recovery_hash(normalized: &str) -> Vec<u8> {
    secret::hash(&format!("fypass recovery code\0{normalized}"))
}

/// Ten new recovery codes for `user_id` (the old ones void), as shown: `xxxx-xxxx-xxxx-xxxx`.
pub async fn new_recovery_codes(tx: &mut Tx<'_>, user_id: Uuid) -> Result<Vec<String>, ApiError> {
    forget_recovery_codes(tx, user_id).await?;
    let now = now_ms();
    let mut shown = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let mut bytes = [0u8; RECOVERY_CHARS];
        getrandom::fill(&mut bytes).expect("the operating system's random number generator failed");
        let code: String = bytes
            .iter()
            .map(|b| ALPHABET[usize::from(b % 32)] as char)
            .collect();
        let sql = "INSERT INTO recovery_codes (code_hash, user_id, created_at) VALUES ($1, $2, $3)";
        with_tx!(tx, |c| sqlx::query(sql)
            .bind(recovery_hash(&code))
            .bind(user_id)
            .bind(now)
            .execute(c)
            .await
            .map(drop))?;
        shown.push(
            code.as_bytes()
                .chunks(4)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join("-"),
        );
    }
    Ok(shown)
}

/// Spends `user_id`'s recovery code `normalized`: `true` once, `false` when it is not theirs
/// or was used.
pub async fn spend_recovery_code(
    tx: &mut Tx<'_>,
    user_id: Uuid,
    normalized: &str,
) -> Result<bool, ApiError> {
    let sql = "UPDATE recovery_codes SET used_at = $3
               WHERE code_hash = $1 AND user_id = $2 AND used_at IS NULL";
    let n = with_tx!(tx, |c| sqlx::query(sql)
        .bind(recovery_hash(normalized))
        .bind(user_id)
        .bind(now_ms())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// How many of `user_id`'s recovery codes are still unused.
pub async fn recovery_codes_left(db: &Db, user_id: Uuid) -> Result<i64, ApiError> {
    let sql = "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL";
    let (n,): (i64,) = with_reader!(db, |c| sqlx::query_as(sql).bind(user_id).fetch_one(c).await)?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::normalize_recovery_code;

    #[test]
    fn recovery_codes_are_read_forgivingly() {
        assert_eq!(
            normalize_recovery_code("ABCD-EFGH-JKMN-PQRS").as_deref(),
            Some("abcdefghjkmnpqrs")
        );
        assert_eq!(
            normalize_recovery_code(" abcd efgh jkmn pqlo ").as_deref(),
            Some("abcdefghjkmnpq10")
        );
        assert_eq!(normalize_recovery_code("abcd-efgh-jkmn"), None);
        assert_eq!(normalize_recovery_code("abcd-efgh-jkmn-pqru"), None);
    }
}
