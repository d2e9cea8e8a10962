//! The `login_requests` table. A request is created by an app, confirmed (in the browser of
//! a person who is elsewhere) and completed once by a person, and its tokens collected once
//! by the app; each of those steps is one conditional `UPDATE` whose `WHERE` clause is the
//! rule, so of N concurrent attempts exactly one wins.

use super::{LoginMode, LoginStatus, MAX_CONFIRM_FAILURES, REQ_TOKEN_PREFIX, StartLoginBody};
use crate::{
    db::{
        Db, Tx, db_row,
        group::{Group, GroupWrite},
        now_ms, with_reader, with_tx, with_writer,
    },
    devices::DeviceInfo,
    error::{ApiError, ErrorCode},
    secret,
    status::Status,
};
use uuid::Uuid;

db_row! {
    #[derive(Clone, Debug)]
    pub struct LoginRequestRow {
        pub id: Uuid,
        pub client_id: Uuid,
        pub client_name: String,
        pub client_status: String,
        pub mode: String,
        pub redirect_url: Option<String>,
        pub device_info: Option<String>,
        pub expires_at: i64,
        pub completed_at: Option<i64>,
        pub outcome: Option<String>,
        pub user_id: Option<Uuid>,
        pub device_id: Option<Uuid>,
        pub delivered_at: Option<i64>,
        pub collect_by: Option<i64>,
        pub user_code: Option<String>,
        pub started_from: Option<String>,
        pub confirmed_at: Option<i64>,
        pub confirm_failures: i64,
        pub require_mfa: bool,
    }
}

const SELECT: &str = "SELECT r.id, r.client_id, c.name AS client_name, c.status AS client_status,
        r.mode, r.redirect_url, r.device_info, r.expires_at, r.completed_at, r.outcome, r.user_id,
        r.device_id, r.delivered_at, r.collect_by, r.user_code, r.started_from, r.confirmed_at,
        r.confirm_failures, r.require_mfa
    FROM login_requests r JOIN clients c ON c.id = r.client_id";

/// The letters of a user code: RFC 8628 §6.1's consonants, which spell no words and are
/// not mistaken for one another.
const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
const USER_CODE_LEN: usize = 8;

impl LoginRequestRow {
    pub fn status(&self, now: i64) -> LoginStatus {
        match (self.completed_at, self.outcome.as_deref()) {
            // Completed, but the app never came for its tokens: they are gone.
            (Some(_), _)
                if self.delivered_at.is_none() && self.collect_by.is_some_and(|b| now >= b) =>
            {
                LoginStatus::Expired
            }
            (Some(_), Some("REGISTERED")) => LoginStatus::Registered,
            (Some(_), _) => LoginStatus::LoggedIn,
            (None, _) if now >= self.expires_at => LoginStatus::Expired,
            // Too many wrong confirmations: void, like an expired request.
            (None, _) if self.confirm_failures >= MAX_CONFIRM_FAILURES => LoginStatus::Expired,
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
    /// The device as a person reads it: its name, else its model, else its platform.
    pub fn device_label(&self) -> Option<String> {
        self.device().map(|d| {
            d.device_name
                .or(d.model)
                .unwrap_or_else(|| d.platform.name().to_string())
        })
    }

    /// The app and device this request was for, as the activity list names them.
    pub fn for_activity(&self) -> crate::activity::ForApp {
        crate::activity::ForApp {
            client_id: self.client_id,
            device: self.device_label(),
        }
    }

    pub fn device(&self) -> Option<DeviceInfo> {
        self.device_info
            .as_deref()
            .and_then(|json| serde_json::from_str(json).ok())
    }

    /// The user code, as shown: `BDFG-HJKL`.
    pub fn user_code_display(&self) -> Option<String> {
        self.user_code.as_deref().map(display_user_code)
    }

    /// Whether a browser on `network` holding the confirmation `confirmed` (its
    /// `fypass_confirm` cookie) must confirm the user code before completing this request:
    /// it is not where the request was started, and it did not confirm this request itself.
    /// Whoever else confirmed it does not count (SPEC §13): an attacker who confirms the code
    /// of their own device from their own machine confirms it for their browser only.
    pub fn needs_confirmation(&self, network: &str, confirmed: Option<&str>) -> bool {
        self.user_code.is_some()
            && self.started_from.as_deref() != Some(network)
            && confirmed != Some(self.confirmation().as_str())
    }

    /// What a browser that confirmed this request's user code holds (in its
    /// `fypass_confirm` cookie): a digest of the request's row id, which never leaves the
    /// server, and its code. It is no secret from whoever confirmed; what makes it a
    /// confirmation is that fypass gives it only in reply to a browser's own confirmation
    /// (from a fypass page: `session::check_origin`), and a cookie stays in the browser it
    /// was given to (`HttpOnly`, and `__Host-` behind https, so no sibling site can set it).
    pub fn confirmation(&self) -> String {
        use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
        use sha2::{Digest, Sha256};
        let digest = Sha256::new()
            .chain_update(b"fypass user code confirmed\0")
            .chain_update(self.id.as_bytes())
            .chain_update(self.user_code.as_deref().unwrap_or_default().as_bytes())
            .finalize();
        format!("{CONFIRMATION_PREFIX}{}", URL_SAFE_NO_PAD.encode(digest))
    }
}

/// The prefix of a browser's confirmation of a user code.
pub const CONFIRMATION_PREFIX: &str = "fyc_";

/// `BDFGHJKL` → `BDFG-HJKL`.
pub fn display_user_code(code: &str) -> String {
    let (a, b) = code.split_at(code.len().min(USER_CODE_LEN / 2));
    format!("{a}-{b}")
}

/// A user code typed or sent back in any spelling (`bdfg hjkl`, `BDFG-HJKL`), normalized.
pub fn normalize_user_code(input: &str) -> String {
    input
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn new_user_code() -> String {
    let mut code = String::with_capacity(USER_CODE_LEN);
    let mut bytes = [0u8; 32];
    while code.len() < USER_CODE_LEN {
        getrandom::fill(&mut bytes).expect("the operating system's random number generator failed");
        // 240 is the largest multiple of 20 below 256: no letter is likelier than another.
        for b in bytes.iter().filter(|b| **b < 240) {
            if code.len() < USER_CODE_LEN {
                code.push(USER_CODE_ALPHABET[usize::from(*b % 20)] as char);
            }
        }
    }
    code
}

pub struct Created {
    pub token: String,
    pub user_code: String,
    pub expires_at: i64,
}

/// Login starts, committed in groups (see [`crate::db::group`]): a start is the hot
/// insert of every app's sign-in, and alone each was its own durable transaction.
pub struct LoginStarts;

/// A login request to insert.
pub struct NewRequest {
    token_hash: Vec<u8>,
    client_id: Uuid,
    mode: &'static str,
    redirect_url: Option<String>,
    locale: Option<String>,
    device_info: Option<String>,
    created_at: i64,
    expires_at: i64,
    user_code: String,
    started_from: String,
    require_mfa: bool,
}

impl GroupWrite for LoginStarts {
    type Job = NewRequest;
    type Done = ();

    async fn write(
        tx: &mut Tx<'_>,
        jobs: &[NewRequest],
    ) -> Result<Vec<Result<(), ApiError>>, ApiError> {
        macro_rules! insert_many {
            ($db:ty, $c:expr) => {{
                let mut query = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO login_requests (id, token_hash, client_id, mode, redirect_url, locale,
                         device_info, created_at, expires_at, user_code, started_from, require_mfa) ",
                );
                query.push_values(jobs, |mut b, r| {
                    b.push_bind(Uuid::now_v7())
                        .push_bind(r.token_hash.clone())
                        .push_bind(r.client_id)
                        .push_bind(r.mode)
                        .push_bind(r.redirect_url.clone())
                        .push_bind(r.locale.clone())
                        .push_bind(r.device_info.clone())
                        .push_bind(r.created_at)
                        .push_bind(r.expires_at)
                        .push_bind(r.user_code.clone())
                        .push_bind(r.started_from.clone())
                        .push_bind(r.require_mfa);
                });
                query.build().execute($c).await.map(drop)
            }};
        }
        match tx {
            Tx::Sqlite(t) => insert_many!(sqlx::Sqlite, &mut **t),
            Tx::Postgres(t) => insert_many!(sqlx::Postgres, t.exec()),
        }?;
        Ok(jobs.iter().map(|_| Ok(())).collect())
    }
}

impl LoginStarts {
    /// This server's group of login starts (kept in the app state's services).
    pub fn of(state: &crate::state::AppState) -> &Group<LoginStarts> {
        state.services.get()
    }
}

/// Starts a login request for `client_id`; answers once it is committed.
pub async fn create(
    starts: &Group<LoginStarts>,
    client_id: Uuid,
    body: &StartLoginBody,
    started_from: &str,
    ttl_secs: u64,
) -> Result<Created, ApiError> {
    let issued = secret::issue(REQ_TOKEN_PREFIX);
    let user_code = new_user_code();
    let now = now_ms();
    let expires_at = now + ttl_secs as i64 * 1000;
    let mode = match body.mode.unwrap_or_default() {
        LoginMode::Login => "login",
        LoginMode::Register => "register",
    };
    starts
        .write(NewRequest {
            token_hash: issued.hash,
            client_id,
            mode,
            redirect_url: body.redirect_url.clone(),
            locale: body.locale.clone(),
            device_info: body
                .device_info
                .as_ref()
                .map(|d| serde_json::to_string(d).expect("deviceInfo serializes")),
            created_at: now,
            expires_at,
            user_code: user_code.clone(),
            started_from: started_from.to_owned(),
            require_mfa: body.require == Some(super::Require::Mfa),
        })
        .await?;
    Ok(Created {
        token: issued.plaintext,
        user_code,
        expires_at,
    })
}

/// The request with this reqToken; `None` when malformed or unknown.
pub async fn find(db: &Db, token: &str) -> Result<Option<LoginRequestRow>, ApiError> {
    if !secret::well_formed(REQ_TOKEN_PREFIX, token) {
        return Ok(None);
    }
    let sql = format!("{SELECT} WHERE r.token_hash = $1");
    let hash = secret::hash(token);
    Ok(with_reader!(db, |c| sqlx::query_as(&sql)
        .bind(&hash)
        .fetch_optional(c)
        .await)?)
}

/// The request a person may still complete: `FAILED_UPDATE_USER_TOKEN` when the reqToken is
/// malformed, unknown, expired or already completed, or its app may no longer sign people in.
pub async fn open(db: &Db, token: &str) -> Result<LoginRequestRow, ApiError> {
    let request = find(db, token)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::FailedUpdateUserToken))?;
    still_open(request)
}

/// As [`open`], by the request's row id.
pub async fn open_id(db: &Db, id: Uuid) -> Result<LoginRequestRow, ApiError> {
    let sql = format!("{SELECT} WHERE r.id = $1");
    let request: Option<LoginRequestRow> = with_reader!(db, |c| sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(c)
        .await)?;
    still_open(request.ok_or_else(|| ApiError::new(ErrorCode::FailedUpdateUserToken))?)
}

fn still_open(request: LoginRequestRow) -> Result<LoginRequestRow, ApiError> {
    if request.client_status != Status::Active.as_str() {
        return Err(ApiError::with_message(
            ErrorCode::FailedUpdateUserToken,
            crate::tr!(login.msg.app_inactive),
        ));
    }
    match request.status(now_ms()) {
        LoginStatus::Pending => Ok(request),
        LoginStatus::Expired => Err(ApiError::with_message(
            ErrorCode::FailedUpdateUserToken,
            crate::tr!(login.msg.expired),
        )),
        LoginStatus::LoggedIn | LoginStatus::Registered => Err(ApiError::with_message(
            ErrorCode::FailedUpdateUserToken,
            crate::tr!(login.msg.completed),
        )),
    }
}

/// Checks the user code `typed` for request `id`: `Ok(true)` when it matched (the request
/// keeps the time of its first confirmation, for the record: the confirmation itself is the
/// browser's, [`LoginRequestRow::confirmation`]), `Ok(false)` (and one more failure) when not.
pub async fn confirm(db: &Db, id: Uuid, typed: &str) -> Result<bool, ApiError> {
    let now = now_ms();
    let sql = "UPDATE login_requests SET confirmed_at = COALESCE(confirmed_at, $2)
               WHERE id = $1 AND user_code = $3 AND completed_at IS NULL AND expires_at > $2
                 AND confirm_failures < $4";
    let matched = with_writer!(db, |c| sqlx::query(sql)
        .bind(id)
        .bind(now)
        .bind(normalize_user_code(typed))
        .bind(MAX_CONFIRM_FAILURES)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    if matched == 1 {
        return Ok(true);
    }
    let sql = "UPDATE login_requests SET confirm_failures = confirm_failures + 1 WHERE id = $1";
    with_writer!(db, |c| sqlx::query(sql).bind(id).execute(c).await.map(drop))?;
    Ok(false)
}

/// Completes a pending, unexpired request for `user_id`; its tokens must be collected within
/// `collect_secs`. Of concurrent completions exactly one succeeds; the others get
/// `FAILED_UPDATE_USER_TOKEN`.
///
/// The completion is stamped after the person's last revocation, also when that came in
/// this very transaction and millisecond (a recovery revokes everything, then completes the
/// request): a sign-in is void only if revoked at or after its completion
/// (`tokens::collectable`).
pub async fn complete(
    tx: &mut Tx<'_>,
    id: Uuid,
    user_id: Uuid,
    outcome: LoginStatus,
    device_id: Option<Uuid>,
    collect_secs: u64,
) -> Result<(), ApiError> {
    let outcome = match outcome {
        LoginStatus::Registered => "REGISTERED",
        _ => "LOGGED_IN",
    };
    let now = now_ms();
    let sql = "UPDATE login_requests
               SET completed_at = (SELECT CASE WHEN u.revoked_before >= $2 THEN u.revoked_before + 1
                                               ELSE $2 END
                                   FROM users u WHERE u.id = $4),
                   outcome = $3, user_id = $4, device_id = $5, collect_by = $6
               WHERE id = $1 AND completed_at IS NULL AND expires_at > $2";
    let won = with_tx!(tx, |c| sqlx::query(sql)
        .bind(id)
        .bind(now)
        .bind(outcome)
        .bind(user_id)
        .bind(device_id)
        .bind(now + collect_secs as i64 * 1000)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    if won == 1 {
        Ok(())
    } else {
        Err(ApiError::with_message(
            ErrorCode::FailedUpdateUserToken,
            crate::tr!(login.msg.meanwhile),
        ))
    }
}

/// Claims the tokens of a completed request; `true` for exactly one caller, and only
/// before the request's collection deadline.
pub async fn mark_delivered(tx: &mut Tx<'_>, id: Uuid) -> Result<bool, ApiError> {
    let sql = "UPDATE login_requests SET delivered_at = $2
               WHERE id = $1 AND completed_at IS NOT NULL AND delivered_at IS NULL AND collect_by > $2";
    let won = with_tx!(tx, |c| sqlx::query(sql)
        .bind(id)
        .bind(now_ms())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(won == 1)
}

/// Removes, at most `limit` at a time, requests nobody can use any more: expired, or
/// completed and past their collection deadline, for over `grace_ms`.
pub async fn purge(db: &Db, grace_ms: i64, limit: i64) -> Result<u64, ApiError> {
    let before = now_ms() - grace_ms;
    let sql = "DELETE FROM login_requests WHERE id IN (
                 SELECT id FROM login_requests
                 WHERE expires_at < $1 AND (collect_by IS NULL OR collect_by < $1)
                 LIMIT $2)";
    Ok(with_writer!(db, |c| sqlx::query(sql)
        .bind(before)
        .bind(limit)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_use_the_rfc_8628_alphabet_and_read_in_any_spelling() {
        for _ in 0..200 {
            let code = new_user_code();
            assert_eq!(code.len(), USER_CODE_LEN);
            assert!(
                code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)),
                "{code}"
            );
        }
        assert_eq!(display_user_code("BDFGHJKL"), "BDFG-HJKL");
        assert_eq!(normalize_user_code(" bdfg-hjkl "), "BDFGHJKL");
    }
}
