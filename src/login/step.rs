//! A sign-in waiting for its second factor (`second_steps`): the first factor was proven in
//! a browser, which holds the step's secret in a cookie (`HttpOnly`, `SameSite=Lax`, five
//! minutes). Only that browser can finish it, only once, and only for the login request the
//! first factor was for. Without the cookie there is nothing to finish: going straight to
//! the second step's route signs nobody in.

use super::{MAX_STEP_FAILURES, Proof, STEP_SECS};
use crate::{
    config::Config,
    db::{Db, Tx, db_row, now_ms, with_reader, with_tx, with_writer},
    error::ApiError,
    request::Caller,
    secret,
};
use axum::http::HeaderValue;
use uuid::Uuid;

const PREFIX: &str = "fym_";

fn cookie_name(config: &Config) -> &'static str {
    if config.is_https() {
        "__Host-fypass_mfa"
    } else {
        "fypass_mfa"
    }
}

db_row! {
    #[derive(Clone, Debug)]
    pub struct StepRow {
        pub id: Uuid,
        pub user_id: Uuid,
        pub request_id: Option<Uuid>,
        pub first: String,
        pub failures: i64,
        // When the first factor was proven.
        pub created_at: i64,
    }
}

impl StepRow {
    /// The first factor the person proved.
    pub fn first(&self) -> Proof {
        Proof::parse(&self.first).unwrap_or(Proof::Password)
    }
}

/// Starts the second step for `user_id`, who proved `first` (for `request_id`, when the
/// sign-in is for an app): the `Set-Cookie` of the step's secret.
pub async fn begin(
    tx: &mut Tx<'_>,
    config: &Config,
    user_id: Uuid,
    request_id: Option<Uuid>,
    first: Proof,
) -> Result<HeaderValue, ApiError> {
    let issued = secret::issue(PREFIX);
    let now = now_ms();
    let sql = "INSERT INTO second_steps (id, token_hash, user_id, request_id, first, created_at, expires_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)";
    with_tx!(tx, |c| sqlx::query(sql)
        .bind(Uuid::now_v7())
        .bind(&issued.hash)
        .bind(user_id)
        .bind(request_id)
        .bind(first.as_str())
        .bind(now)
        .bind(now + STEP_SECS * 1000)
        .execute(c)
        .await
        .map(drop))?;
    Ok(crate::users::session::cookie(
        cookie_name(config),
        config,
        &issued.plaintext,
        STEP_SECS,
    ))
}

/// The `Set-Cookie` that removes the step's cookie.
pub fn clear(config: &Config) -> HeaderValue {
    crate::users::session::cookie(cookie_name(config), config, "", 0)
}

/// The step this browser is in the middle of: open (not expired, not used, not void after
/// too many wrong codes).
pub async fn current(
    db: &Db,
    config: &Config,
    caller: &Caller,
) -> Result<Option<StepRow>, ApiError> {
    let Some(secret) = caller
        .cookie(cookie_name(config))
        .filter(|v| secret::well_formed(PREFIX, v))
    else {
        return Ok(None);
    };
    let sql = "SELECT id, user_id, request_id, first, failures, created_at FROM second_steps
               WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 AND failures < $3";
    Ok(with_reader!(db, |c| sqlx::query_as(sql)
        .bind(secret::hash(secret))
        .bind(now_ms())
        .bind(MAX_STEP_FAILURES)
        .fetch_optional(c)
        .await)?)
}

/// Counts a wrong code against step `id` (at [`MAX_STEP_FAILURES`] it is void).
pub async fn fail(tx: &mut Tx<'_>, id: Uuid) -> Result<(), ApiError> {
    let sql = "UPDATE second_steps SET failures = failures + 1 WHERE id = $1";
    with_tx!(tx, |c| sqlx::query(sql).bind(id).execute(c).await.map(drop))?;
    Ok(())
}

/// Uses step `id`, once: `false` when another request used it (or it went void) first.
pub async fn spend(tx: &mut Tx<'_>, id: Uuid) -> Result<bool, ApiError> {
    let sql = "UPDATE second_steps SET used_at = $2
               WHERE id = $1 AND used_at IS NULL AND expires_at > $2 AND failures < $3";
    let n = with_tx!(tx, |c| sqlx::query(sql)
        .bind(id)
        .bind(now_ms())
        .bind(MAX_STEP_FAILURES)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Removes, at most `limit` at a time, steps that expired.
pub async fn purge(db: &Db, limit: i64) -> Result<u64, ApiError> {
    let sql = "DELETE FROM second_steps WHERE id IN
                 (SELECT id FROM second_steps WHERE expires_at < $1 LIMIT $2)";
    Ok(with_writer!(db, |c| sqlx::query(sql)
        .bind(now_ms())
        .bind(limit)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?)
}
