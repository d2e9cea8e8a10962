//! Refresh tokens (`fyt_`): what an app trades for a new access token when the old one
//! runs out. Each trade *rotates* the refresh token: the presented one stops working and a
//! new one comes back. A rotated token presented again means two parties hold it — the
//! app and someone who copied it — so the whole family (every token of that sign-in) is
//! revoked (OAuth 2.0 Security BCP, RFC 9700 §4.14.2).

use super::Family;
use crate::{
    db::{Db, Tx, db_row, now_ms, with_reader, with_tx, with_writer},
    error::ApiError,
    secret,
};
use uuid::Uuid;

pub const PREFIX: &str = "fyt_";

/// A rotated token presented again within this many milliseconds of its rotation is taken
/// for the same app's parallel request, not a thief: it is refused without revoking the
/// family, so the request that won keeps its new tokens.
pub const RACE_MS: i64 = 2000;

pub struct Issued {
    pub token: String,
    pub expires_at: i64,
}

pub async fn issue(tx: &mut Tx, family: &Family, ttl_secs: u64) -> Result<Issued, ApiError> {
    let issued = secret::issue(PREFIX);
    let now = now_ms();
    let expires_at = now + ttl_secs as i64 * 1000;
    let sql = "INSERT INTO refresh_tokens (id, token_hash, family_id, user_id, client_id, device_id, created_at, expires_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    with_tx!(tx, |c| sqlx::query(sql)
        .bind(Uuid::now_v7())
        .bind(&issued.hash)
        .bind(family.id)
        .bind(family.user_id)
        .bind(family.client_id)
        .bind(family.device_id)
        .bind(now)
        .bind(expires_at)
        .execute(c)
        .await
        .map(drop))?;
    Ok(Issued {
        token: issued.plaintext,
        expires_at,
    })
}

db_row! {
    /// A refresh token as stored, with its person's status.
    #[derive(Clone, Debug)]
    pub struct RefreshRow {
        pub id: Uuid,
        pub family_id: Uuid,
        pub user_id: Uuid,
        pub client_id: Uuid,
        pub device_id: Option<Uuid>,
        pub expires_at: i64,
        pub rotated_at: Option<i64>,
        pub revoked_at: Option<i64>,
        pub user_status: String,
    }
}

impl RefreshRow {
    pub fn family(&self) -> Family {
        Family {
            id: self.family_id,
            user_id: self.user_id,
            client_id: self.client_id,
            device_id: self.device_id,
        }
    }

    /// Whether it can still be traded: not rotated, not revoked, not expired.
    pub fn is_live(&self, now: i64) -> bool {
        self.rotated_at.is_none() && self.revoked_at.is_none() && self.expires_at > now
    }
}

const SELECT: &str = "SELECT t.id, t.family_id, t.user_id, t.client_id, t.device_id, t.expires_at,
                             t.rotated_at, t.revoked_at, u.status AS user_status
                      FROM refresh_tokens t JOIN users u ON u.id = t.user_id";

/// The refresh token `token` of `client_id`, in whatever state; `None` when malformed,
/// unknown or another client's.
pub async fn find(db: &Db, token: &str, client_id: Uuid) -> Result<Option<RefreshRow>, ApiError> {
    if !secret::well_formed(PREFIX, token) {
        return Ok(None);
    }
    let sql = format!("{SELECT} WHERE t.token_hash = $1 AND t.client_id = $2");
    Ok(with_reader!(db, |c| sqlx::query_as(&sql)
        .bind(secret::hash(token))
        .bind(client_id)
        .fetch_optional(c)
        .await)?)
}

/// As [`find`], read on `tx`, so what it says holds for the transaction.
pub async fn find_in(
    tx: &mut Tx,
    token: &str,
    client_id: Uuid,
) -> Result<Option<RefreshRow>, ApiError> {
    if !secret::well_formed(PREFIX, token) {
        return Ok(None);
    }
    let sql = format!("{SELECT} WHERE t.token_hash = $1 AND t.client_id = $2");
    Ok(with_tx!(tx, |c| sqlx::query_as(&sql)
        .bind(secret::hash(token))
        .bind(client_id)
        .fetch_optional(c)
        .await)?)
}

/// Marks the live refresh token `id` rotated; `true` for exactly one of concurrent callers.
pub async fn rotate(tx: &mut Tx, id: Uuid) -> Result<bool, ApiError> {
    let now = now_ms();
    let sql = "UPDATE refresh_tokens SET rotated_at = $2
               WHERE id = $1 AND rotated_at IS NULL AND revoked_at IS NULL AND expires_at > $2";
    let won = with_tx!(tx, |c| sqlx::query(sql)
        .bind(id)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(won == 1)
}

/// Removes, at most `limit` at a time, refresh tokens expired for over `grace_ms` (a
/// rotated one is kept until then: presenting it must still be recognised as reuse).
pub async fn purge(db: &Db, grace_ms: i64, limit: i64) -> Result<u64, ApiError> {
    let sql = "DELETE FROM refresh_tokens WHERE id IN
                 (SELECT id FROM refresh_tokens WHERE expires_at < $1 LIMIT $2)";
    Ok(with_writer!(db, |c| sqlx::query(sql)
        .bind(now_ms() - grace_ms)
        .bind(limit)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?)
}
