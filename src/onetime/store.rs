//! The `codes` table. A code is six digits from the operating system's RNG; only a hash of
//! it (with its row id) is stored. Checking a code takes one of its tries with one
//! conditional `UPDATE` before comparing; using it is another, so of parallel submissions of
//! one code exactly one wins. A code is for one account: the one that has the identifier
//! (recovery, sign-in) or the one that asked for it where it is typed (verification).

use super::{CODE_DIGITS, CODE_TTL_MINUTES, MAX_CODE_FAILURES};
use crate::{
    db::{Db, Tx, db_row, now_ms, with_reader, with_tx, with_writer},
    error::{ApiError, ErrorCode},
    users::identifier::Identifier,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// What a code is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Setting a new password.
    Recovery,
    /// Signing in instead of a password.
    SignIn,
    /// Proving an identifier the account already has.
    Verify,
    /// Proving an identifier that is to replace the account's current one.
    Change,
}

impl Purpose {
    pub const fn as_str(self) -> &'static str {
        match self {
            Purpose::Recovery => "recovery",
            Purpose::SignIn => "sign-in",
            Purpose::Verify => "verify",
            Purpose::Change => "change",
        }
    }
}

db_row! {
    #[derive(Clone, Debug)]
    pub struct CodeRow {
        pub id: Uuid,
        pub purpose: String,
        pub identifier: String,
        pub user_id: Uuid,
        pub code_hash: Vec<u8>,
        pub created_at: i64,
        pub expires_at: i64,
        pub failures: i64,
        pub used_at: Option<i64>,
    }
}

fn hash(id: Uuid, code: &str) -> Vec<u8> {
    let mut digest = Sha256::new();
    digest.update(id.as_bytes());
    digest.update(code.as_bytes());
    digest.finalize().to_vec()
}

fn new_code() -> String {
    // 4 bytes give 32 bits; the largest multiple of 10^6 below 2^32 keeps digits unbiased.
    const LIMIT: u32 = u32::MAX - u32::MAX % 1_000_000;
    loop {
        let mut bytes = [0u8; 4];
        getrandom::fill(&mut bytes).expect("the operating system's random number generator failed");
        let n = u32::from_le_bytes(bytes);
        if n < LIMIT {
            return format!("{:0width$}", n % 1_000_000, width = CODE_DIGITS);
        }
    }
}

/// A new code of `purpose` for `user_id`, sent to `identifier`; the code itself is
/// returned once, to go into its message.
pub async fn create(
    tx: &mut Tx<'_>,
    purpose: Purpose,
    identifier: &str,
    user_id: Uuid,
) -> Result<String, ApiError> {
    let id = Uuid::now_v7();
    let code = new_code();
    let now = now_ms();
    let sql =
        "INSERT INTO codes (id, purpose, identifier, user_id, code_hash, created_at, expires_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)";
    with_tx!(tx, |c| sqlx::query(sql)
        .bind(id)
        .bind(purpose.as_str())
        .bind(identifier)
        .bind(user_id)
        .bind(hash(id, &code))
        .bind(now)
        .bind(now + CODE_TTL_MINUTES as i64 * 60_000)
        .execute(c)
        .await
        .map(drop))?;
    Ok(code)
}

/// Whether a code of `purpose` was sent to `identifier` for `user_id` in the last `ms` (on
/// `tx`).
pub async fn sent_within(
    tx: &mut Tx<'_>,
    purpose: Purpose,
    identifier: &str,
    user_id: Uuid,
    ms: i64,
) -> Result<bool, ApiError> {
    let sql = "SELECT COUNT(*) FROM codes
               WHERE identifier = $1 AND purpose = $2 AND user_id = $3 AND created_at > $4";
    let (n,): (i64,) = with_tx!(tx, |c| sqlx::query_as(sql)
        .bind(identifier)
        .bind(purpose.as_str())
        .bind(user_id)
        .bind(now_ms() - ms)
        .fetch_one(c)
        .await)?;
    Ok(n > 0)
}

fn invalid() -> ApiError {
    ApiError::new(ErrorCode::InvalidCode)
}

fn expired() -> ApiError {
    ApiError::new(ErrorCode::CodeExpired)
}

/// Whose code a check looks for.
#[derive(Clone, Copy, Debug)]
pub enum For {
    /// The account that has the identifier now (a recovery or sign-in code: whoever types it
    /// proves they receive the identifier's messages, and it acts on that account only).
    Holder,
    /// The account `Uuid` (signed in where the code is typed): its own codes only, for an
    /// identifier it has or (a change) one that is to replace it.
    Account(Uuid),
}

const ROW: &str =
    "id, purpose, identifier, user_id, code_hash, created_at, expires_at, failures, used_at";

/// The id of the code a check is about: the latest of one of `purposes` sent to
/// `identifier` for the account `whose` says — an account that still has the identifier,
/// except for a change (`$1` the identifier, `$2` the account or NULL).
fn latest(purposes: &[Purpose], identifier: &Identifier) -> String {
    let list = purposes
        .iter()
        .map(|p| format!("'{}'", p.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let column = match identifier {
        Identifier::Email(_) => "email",
        Identifier::Whatsapp(_) => "whatsapp",
    };
    format!(
        "SELECT c.id FROM codes c
         WHERE c.identifier = $1 AND c.purpose IN ({list}) AND ($2 IS NULL OR c.user_id = $2)
           AND (c.purpose = '{change}'
                OR EXISTS (SELECT 1 FROM users u WHERE u.id = c.user_id AND u.{column} = c.identifier))
         ORDER BY c.created_at DESC, c.id DESC LIMIT 1",
        change = Purpose::Change.as_str(),
    )
}

/// The latest code of one of `purposes` sent to `identifier` (for the account `whose`
/// says), if `typed` is that code and it can still be used; else `INVALID_CODE` — a wrong
/// code, whatever state the code is in, or no code at all: the same answer whether or not
/// the identifier has an account — or `CODE_EXPIRED` (the right code, but expired, used, or
/// void after too many wrong tries). Does not use it.
///
/// Each try takes one of the code's [`MAX_CODE_FAILURES`] tries *before* it is compared,
/// with one conditional `UPDATE`: however many arrive at once, no more than that many are
/// ever compared with a live code.
pub async fn check(
    db: &Db,
    purposes: &[Purpose],
    identifier: &Identifier,
    whose: For,
    typed: &str,
) -> Result<CodeRow, ApiError> {
    let latest = latest(purposes, identifier);
    let account = match whose {
        For::Holder => None,
        For::Account(id) => Some(id),
    };
    let now = now_ms();
    let take_try = format!(
        "UPDATE codes SET failures = failures + 1
         WHERE id = ({latest}) AND used_at IS NULL AND failures < $3 AND expires_at > $4
         RETURNING {ROW}"
    );
    let live: Option<CodeRow> = with_writer!(db, |c| {
        sqlx::query_as(&take_try)
            .bind(identifier.as_str())
            .bind(account)
            .bind(MAX_CODE_FAILURES)
            .bind(now)
            .fetch_optional(c)
            .await
    })?;
    if let Some(row) = live {
        return if hash(row.id, typed.trim()) == row.code_hash {
            Ok(row)
        } else {
            Err(invalid())
        };
    }
    // No try left, or no live code: only the right code learns that it can no longer be used.
    let sql = format!("SELECT {ROW} FROM codes WHERE id = ({latest})");
    let spent: Option<CodeRow> = with_reader!(db, |c| {
        sqlx::query_as(&sql)
            .bind(identifier.as_str())
            .bind(account)
            .fetch_optional(c)
            .await
    })?;
    match spent {
        Some(row) if hash(row.id, typed.trim()) == row.code_hash => Err(expired()),
        _ => Err(invalid()),
    }
}

/// Uses the code `id` (checked before): `CODE_EXPIRED` when another submission used it
/// first or it expired meanwhile. (Its try was taken when it was checked.)
pub async fn consume(tx: &mut Tx<'_>, id: Uuid) -> Result<(), ApiError> {
    let now = now_ms();
    let sql = "UPDATE codes SET used_at = $2
               WHERE id = $1 AND used_at IS NULL AND failures <= $3 AND expires_at > $2";
    let won = with_tx!(tx, |c| sqlx::query(sql)
        .bind(id)
        .bind(now)
        .bind(MAX_CODE_FAILURES)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    if won == 1 { Ok(()) } else { Err(expired()) }
}

/// Voids every code of `user_id` not used yet (a recovery: `codes::recovery`).
pub async fn void_for_user(tx: &mut Tx<'_>, user_id: Uuid) -> Result<(), ApiError> {
    let sql = "UPDATE codes SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL";
    with_tx!(tx, |c| sqlx::query(sql)
        .bind(user_id)
        .bind(now_ms())
        .execute(c)
        .await
        .map(drop))?;
    Ok(())
}

/// Removes, at most `limit` at a time, codes expired for over `grace_ms`.
pub async fn purge(db: &Db, grace_ms: i64, limit: i64) -> Result<u64, ApiError> {
    let sql = "DELETE FROM codes WHERE id IN (SELECT id FROM codes WHERE expires_at < $1 LIMIT $2)";
    Ok(with_writer!(db, |c| sqlx::query(sql)
        .bind(now_ms() - grace_ms)
        .bind(limit)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_hashed_with_their_id() {
        for _ in 0..100 {
            let code = new_code();
            assert_eq!(code.len(), 6);
            assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
        }
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert_ne!(hash(a, "123456"), hash(b, "123456"));
        assert_eq!(hash(a, "123456"), hash(a, "123456"));
    }
}
