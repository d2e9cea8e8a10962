//! The `login_requests` table. A request is created by an app, completed once by a person,
//! and its access token collected once by the app; each of those steps is one conditional
//! `UPDATE` whose `WHERE` clause is the rule, so of N concurrent attempts exactly one wins.

use super::{LoginMode, LoginStatus, REQ_TOKEN_PREFIX, StartLoginBody};
use crate::{
    db::{Db, Tx, db_row, now_ms, with_reader, with_tx, with_writer},
    devices::DeviceInfo,
    error::{ApiError, ErrorCode},
    secret,
};
use uuid::Uuid;

db_row! {
    #[derive(Clone, Debug)]
    pub struct LoginRequestRow {
        pub id: Uuid,
        pub client_id: Uuid,
        pub mode: String,
        pub redirect_url: Option<String>,
        pub device_info: Option<String>,
        pub expires_at: i64,
        pub completed_at: Option<i64>,
        pub outcome: Option<String>,
        pub user_id: Option<Uuid>,
        pub device_id: Option<Uuid>,
        pub delivered_at: Option<i64>,
    }
}

const COLUMNS: &str = "id, client_id, mode, redirect_url, device_info, expires_at, completed_at, outcome, user_id, device_id, delivered_at";

impl LoginRequestRow {
    pub fn status(&self, now: i64) -> LoginStatus {
        match (self.completed_at, self.outcome.as_deref()) {
            (Some(_), Some("REGISTERED")) => LoginStatus::Registered,
            (Some(_), _) => LoginStatus::LoggedIn,
            (None, _) if now >= self.expires_at => LoginStatus::Expired,
            (None, _) => LoginStatus::Pending,
        }
    }

    pub fn mode(&self) -> LoginMode {
        if self.mode == "register" {
            LoginMode::Register
        } else {
            LoginMode::Login
        }
    }

    /// The device the app sent with the request, to save when it completes.
    pub fn device(&self) -> Option<DeviceInfo> {
        self.device_info
            .as_deref()
            .and_then(|json| serde_json::from_str(json).ok())
    }
}

pub struct Created {
    pub token: String,
    pub expires_at: i64,
}

pub async fn create(
    db: &Db,
    client_id: Uuid,
    body: &StartLoginBody,
    ttl_secs: u64,
) -> Result<Created, ApiError> {
    let issued = secret::issue(REQ_TOKEN_PREFIX);
    let now = now_ms();
    let expires_at = now + ttl_secs as i64 * 1000;
    let mode = match body.mode.unwrap_or_default() {
        LoginMode::Login => "login",
        LoginMode::Register => "register",
    };
    let device = body
        .device_info
        .as_ref()
        .map(|d| serde_json::to_string(d).expect("deviceInfo serializes"));
    let sql = "INSERT INTO login_requests (id, token_hash, client_id, mode, redirect_url, locale, device_info, created_at, expires_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    with_writer!(db, |c| sqlx::query(sql)
        .bind(Uuid::now_v7())
        .bind(&issued.hash)
        .bind(client_id)
        .bind(mode)
        .bind(&body.redirect_url)
        .bind(&body.locale)
        .bind(&device)
        .bind(now)
        .bind(expires_at)
        .execute(c)
        .await
        .map(drop))?;
    Ok(Created {
        token: issued.plaintext,
        expires_at,
    })
}

/// The request with this reqToken; `None` when malformed or unknown.
pub async fn find(db: &Db, token: &str) -> Result<Option<LoginRequestRow>, ApiError> {
    if !secret::well_formed(REQ_TOKEN_PREFIX, token) {
        return Ok(None);
    }
    let sql = format!("SELECT {COLUMNS} FROM login_requests WHERE token_hash = $1");
    let hash = secret::hash(token);
    Ok(with_reader!(db, |c| sqlx::query_as(&sql)
        .bind(&hash)
        .fetch_optional(c)
        .await)?)
}

/// The request a person may still complete: `FAILED_UPDATE_USER_TOKEN` when the reqToken is
/// malformed, unknown, expired or already completed.
pub async fn open(db: &Db, token: &str) -> Result<LoginRequestRow, ApiError> {
    let request = find(db, token)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::FailedUpdateUserToken))?;
    match request.status(now_ms()) {
        LoginStatus::Pending => Ok(request),
        LoginStatus::Expired => Err(ApiError::with_message(
            ErrorCode::FailedUpdateUserToken,
            "This login request has expired. Start again from the app.",
        )),
        LoginStatus::LoggedIn | LoginStatus::Registered => Err(ApiError::with_message(
            ErrorCode::FailedUpdateUserToken,
            "This login request is already completed.",
        )),
    }
}

/// Completes a pending, unexpired request for `user_id`. Of concurrent completions exactly
/// one succeeds; the others get `FAILED_UPDATE_USER_TOKEN`.
pub async fn complete(
    tx: &mut Tx,
    id: Uuid,
    user_id: Uuid,
    outcome: LoginStatus,
    device_id: Option<Uuid>,
) -> Result<(), ApiError> {
    let outcome = match outcome {
        LoginStatus::Registered => "REGISTERED",
        _ => "LOGGED_IN",
    };
    let now = now_ms();
    let sql =
        "UPDATE login_requests SET completed_at = $2, outcome = $3, user_id = $4, device_id = $5
               WHERE id = $1 AND completed_at IS NULL AND expires_at > $2";
    let won = with_tx!(tx, |c| sqlx::query(sql)
        .bind(id)
        .bind(now)
        .bind(outcome)
        .bind(user_id)
        .bind(device_id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    if won == 1 {
        Ok(())
    } else {
        Err(ApiError::with_message(
            ErrorCode::FailedUpdateUserToken,
            "This login request was completed or expired meanwhile.",
        ))
    }
}

/// Claims the access token of a completed request; `true` for exactly one caller.
pub async fn mark_delivered(tx: &mut Tx, id: Uuid) -> Result<bool, ApiError> {
    let sql = "UPDATE login_requests SET delivered_at = $2
               WHERE id = $1 AND completed_at IS NOT NULL AND delivered_at IS NULL";
    let won = with_tx!(tx, |c| sqlx::query(sql)
        .bind(id)
        .bind(now_ms())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(won == 1)
}
