//! Access tokens: what an app gets from the login flow and sends as `Authorization:
//! Bearer fyp_...` on routes that act for a user. Opaque, stored hashed, bound to one user
//! and one client (and the login's device), expiring, revocable.

use super::store::UserRow;
use crate::{
    db::{Db, Tx, now_ms, with_reader, with_tx, with_writer},
    error::{ApiError, ErrorCode},
    secret,
};
use uuid::Uuid;

pub const PREFIX: &str = "fyp_";

pub struct Issued {
    pub token: String,
    pub expires_at: i64,
}

pub async fn issue(
    tx: &mut Tx,
    user_id: Uuid,
    client_id: Uuid,
    device_id: Option<Uuid>,
    ttl_secs: u64,
) -> Result<Issued, ApiError> {
    let issued = secret::issue(PREFIX);
    let now = now_ms();
    let expires_at = now + ttl_secs as i64 * 1000;
    let sql = "INSERT INTO access_tokens (id, token_hash, user_id, client_id, device_id, created_at, expires_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)";
    with_tx!(tx, |c| sqlx::query(sql)
        .bind(Uuid::now_v7())
        .bind(&issued.hash)
        .bind(user_id)
        .bind(client_id)
        .bind(device_id)
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

/// The active user holding `token`, which must have been issued to `client_id` and be
/// neither expired nor revoked. Anything else is `UNAUTHORIZED`.
pub async fn authenticate(
    db: &Db,
    token: &str,
    client_id: Uuid,
) -> Result<(UserRow, Option<Uuid>), ApiError> {
    if !secret::well_formed(PREFIX, token) {
        return Err(ApiError::with_message(
            ErrorCode::Unauthorized,
            "The access token is malformed.",
        ));
    }
    let sql = "SELECT u.id, u.name, u.email, u.whatsapp, u.password_hash, u.status, u.created_at, t.device_id
               FROM access_tokens t JOIN users u ON u.id = t.user_id
               WHERE t.token_hash = $1 AND t.client_id = $2 AND t.revoked_at IS NULL
                 AND t.expires_at > $3 AND u.status = 'active'";
    let hash = secret::hash(token);
    let row: Option<(UserRow, Option<Uuid>)> = with_reader!(db, |c| {
        use sqlx::Row;
        sqlx::query(sql)
            .bind(&hash)
            .bind(client_id)
            .bind(now_ms())
            .fetch_optional(c)
            .await
            .and_then(|r| match r {
                Some(r) => Ok(Some((
                    sqlx::FromRow::from_row(&r)?,
                    r.try_get("device_id")?,
                ))),
                None => Ok(None),
            })
    })?;
    row.ok_or_else(|| ApiError::new(ErrorCode::Unauthorized))
}

/// Binds the access token `token` to `device_id` (a device the app saved with it), unless
/// it is bound to a device already: removing that device then signs the app out.
pub async fn bind_device(db: &Db, token: &str, device_id: Uuid) -> Result<(), ApiError> {
    let sql = "UPDATE access_tokens SET device_id = $2 WHERE token_hash = $1 AND device_id IS NULL";
    with_writer!(db, |c| sqlx::query(sql)
        .bind(secret::hash(token))
        .bind(device_id)
        .execute(c)
        .await
        .map(drop))?;
    Ok(())
}

/// Removes, at most `limit` at a time, tokens expired for over `grace_ms`.
pub async fn purge(db: &Db, grace_ms: i64, limit: i64) -> Result<u64, ApiError> {
    let sql = "DELETE FROM access_tokens WHERE id IN
                 (SELECT id FROM access_tokens WHERE expires_at < $1 LIMIT $2)";
    Ok(with_writer!(db, |c| sqlx::query(sql)
        .bind(now_ms() - grace_ms)
        .bind(limit)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?)
}

/// Revokes every live token bound to `device_id` (the device was removed).
pub async fn revoke_for_device(tx: &mut Tx, device_id: Uuid) -> Result<u64, ApiError> {
    let sql =
        "UPDATE access_tokens SET revoked_at = $2 WHERE device_id = $1 AND revoked_at IS NULL";
    Ok(with_tx!(tx, |c| sqlx::query(sql)
        .bind(device_id)
        .bind(now_ms())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?)
}
