//! The `codes` table. A code is six digits from the operating system's RNG; only a hash of
//! it (with its row id) is stored. Checking a code counts a wrong try with one conditional
//! `UPDATE`; using it is another, so of parallel submissions of one code exactly one wins.

use super::{CODE_DIGITS, CODE_TTL_MINUTES, MAX_CODE_FAILURES};
use crate::{
    db::{Db, Tx, db_row, now_ms, with_reader, with_tx, with_writer},
    error::{ApiError, ErrorCode},
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
    tx: &mut Tx,
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
    tx: &mut Tx,
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

/// The latest code of one of `purposes` sent to `identifier`, if `typed` is that code and it
/// can still be used: else `INVALID_CODE` (a wrong code, counted; or no code was sent) or
/// `CODE_EXPIRED` (expired, used, or void after too many wrong tries). Does not use it.
pub async fn check(
    db: &Db,
    purposes: &[Purpose],
    identifier: &str,
    typed: &str,
) -> Result<CodeRow, ApiError> {
    let list = purposes
        .iter()
        .map(|p| format!("'{}'", p.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT id, purpose, identifier, user_id, code_hash, created_at, expires_at, failures, used_at
         FROM codes WHERE identifier = $1 AND purpose IN ({list})
         ORDER BY created_at DESC, id DESC LIMIT 1"
    );
    let row: Option<CodeRow> = with_reader!(db, |c| sqlx::query_as(&sql)
        .bind(identifier)
        .fetch_optional(c)
        .await)?;
    let row = row.ok_or_else(invalid)?;
    if row.used_at.is_some() || row.failures >= MAX_CODE_FAILURES || row.expires_at <= now_ms() {
        return Err(expired());
    }
    if hash(row.id, typed.trim()) != row.code_hash {
        let sql = "UPDATE codes SET failures = failures + 1 WHERE id = $1 AND used_at IS NULL";
        with_writer!(db, |c| sqlx::query(sql)
            .bind(row.id)
            .execute(c)
            .await
            .map(drop))?;
        return Err(invalid());
    }
    Ok(row)
}

/// Uses the code `id` (checked before): `CODE_EXPIRED` when another submission used it
/// first, it expired meanwhile or was voided.
pub async fn consume(tx: &mut Tx, id: Uuid) -> Result<(), ApiError> {
    let now = now_ms();
    let sql = "UPDATE codes SET used_at = $2
               WHERE id = $1 AND used_at IS NULL AND failures < $3 AND expires_at > $2";
    let won = with_tx!(tx, |c| sqlx::query(sql)
        .bind(id)
        .bind(now)
        .bind(MAX_CODE_FAILURES)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    if won == 1 { Ok(()) } else { Err(expired()) }
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
