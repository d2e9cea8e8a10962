//! Access tokens: what an app sends as `Authorization: Bearer fyp_...` on routes that act
//! for a person. Opaque, stored hashed, bound to one person and one client (and a device),
//! short-lived (an hour by default), revocable; each belongs to the family of one sign-in.

use crate::{
    db::{Db, db_row, now_ms, with_reader, with_tx, with_writer},
    error::{ApiError, ErrorCode},
    secret,
    users::store::{U_COLUMNS, UserRow},
};
use uuid::Uuid;

pub const PREFIX: &str = "fyp_";

fn malformed() -> ApiError {
    ApiError::with_message(ErrorCode::Unauthorized, crate::tr!(api.token_malformed))
}

/// The stored keys `token` may be found by, if it is an access token at all.
pub fn keys_of(token: &str) -> Option<secret::Keys> {
    secret::Keys::of(PREFIX, token, crate::db::now_ms())
}

/// The active person holding `token`, which must have been issued to `client_id` and be
/// neither expired nor revoked, and the device it is bound to. Anything else is
/// `UNAUTHORIZED`.
pub async fn authenticate(
    db: &Db,
    token: &str,
    client_id: Uuid,
) -> Result<(UserRow, Option<Uuid>), ApiError> {
    let Some(keys) = keys_of(token) else {
        return Err(malformed());
    };
    let sql = format!(
        "SELECT {U_COLUMNS}, t.device_id
               FROM access_tokens t JOIN users u ON u.id = t.user_id
               WHERE t.token_hash = $1 AND t.client_id = $2 AND t.revoked_at IS NULL
                 AND t.expires_at > $3 AND u.status = 'active'"
    );
    let row: Option<(UserRow, Option<Uuid>)> =
        secret::first_found!(keys, |key| with_reader!(db, |c| {
            use sqlx::Row;
            sqlx::query(&sql)
                .bind(&key)
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
        }))?;
    row.ok_or_else(|| ApiError::new(ErrorCode::Unauthorized))
}

db_row! {
    /// An access token as stored, in whatever state it is.
    pub struct AccessRow {
        pub id: Uuid,
        pub family_id: Option<Uuid>,
        pub user_id: Uuid,
        pub client_id: Uuid,
        pub device_id: Option<Uuid>,
        pub expires_at: i64,
        pub revoked_at: Option<i64>,
        pub user_status: String,
    }
}

impl AccessRow {
    /// Whether the token still works: not revoked, not expired, its person active.
    pub fn is_live(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at > now && self.user_status == "active"
    }
}

/// The access token `token` of `client_id`, in whatever state it is; `None` when it is
/// malformed, unknown or another client's.
pub async fn find(db: &Db, token: &str, client_id: Uuid) -> Result<Option<AccessRow>, ApiError> {
    let Some(keys) = keys_of(token) else {
        return Ok(None);
    };
    let sql = "SELECT t.id, t.family_id, t.user_id, t.client_id, t.device_id, t.expires_at,
                      t.revoked_at, u.status AS user_status
               FROM access_tokens t JOIN users u ON u.id = t.user_id
               WHERE t.token_hash = $1 AND t.client_id = $2";
    Ok(secret::first_found!(keys, |key| with_reader!(db, |c| {
        sqlx::query_as(sql)
            .bind(&key)
            .bind(client_id)
            .fetch_optional(c)
            .await
    }))?)
}

/// Binds the access token `token` — and the refresh tokens of its sign-in — to `device_id`
/// (a device the app saved with it), unless they are bound to a device already: removing
/// that device then signs the app out. (The token is found by either of its keys, `$1` and
/// `$3`: this is no hot path.)
pub async fn bind_device(db: &Db, token: &str, device_id: Uuid) -> Result<(), ApiError> {
    let Some(keys) = keys_of(token) else {
        return Ok(());
    };
    let mut tx = db.begin().await?;
    let sql = "UPDATE access_tokens SET device_id = $2
               WHERE token_hash IN ($1, $3) AND device_id IS NULL";
    with_tx!(&mut tx, |c| sqlx::query(sql)
        .bind(&keys.ordered)
        .bind(device_id)
        .bind(&keys.hashed)
        .execute(c)
        .await
        .map(drop))?;
    let sql = "UPDATE refresh_tokens SET device_id = $2
               WHERE device_id IS NULL
                 AND user_id = (SELECT user_id FROM access_tokens WHERE token_hash IN ($1, $3))
                 AND family_id = (SELECT family_id FROM access_tokens WHERE token_hash IN ($1, $3))";
    with_tx!(&mut tx, |c| sqlx::query(sql)
        .bind(&keys.ordered)
        .bind(device_id)
        .bind(&keys.hashed)
        .execute(c)
        .await
        .map(drop))?;
    tx.commit().await
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
