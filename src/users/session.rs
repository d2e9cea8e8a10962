//! The browser session: set by a successful hosted login or registration, it lets a person
//! open the device dashboard and continue a later login with one click.
//!
//! The cookie holds an opaque secret (stored hashed). It is `HttpOnly` and `SameSite=Lax`;
//! behind https it is also `Secure` and named with the `__Host-` prefix, which browsers only
//! accept from a secure origin, for the whole host, without a `Domain`.
//!
//! [`require`] and [`require_change`] are the guard of every server function that acts for
//! the person signed in in this browser, as `clients::auth::RequireGrant` is for apps; the
//! second also refuses a request that did not come from a fypass page ([`check_origin`]).

use super::store::UserRow;
use crate::{
    config::Config,
    db::{Db, Tx, now_ms, with_reader, with_tx, with_writer},
    error::{ApiError, ErrorCode},
    request::Caller,
    secret,
    server::AppState,
};
use axum::http::HeaderValue;
use cookie::{Cookie, SameSite};
use uuid::Uuid;

/// How long a browser stays signed in.
pub const TTL_SECS: i64 = 14 * 24 * 3600;
const PREFIX: &str = "fys_";

pub fn cookie_name(config: &Config) -> &'static str {
    if config.is_https() {
        "__Host-fypass_session"
    } else {
        "fypass_session"
    }
}

/// Starts a session for `user_id`, returning the `Set-Cookie` value.
pub async fn start(tx: &mut Tx, config: &Config, user_id: Uuid) -> Result<HeaderValue, ApiError> {
    let issued = secret::issue(PREFIX);
    let now = now_ms();
    let sql = "INSERT INTO sessions (id, token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";
    with_tx!(tx, |c| sqlx::query(sql)
        .bind(Uuid::now_v7())
        .bind(&issued.hash)
        .bind(user_id)
        .bind(now)
        .bind(now + TTL_SECS * 1000)
        .execute(c)
        .await
        .map(drop))?;
    Ok(set_cookie(config, &issued.plaintext, TTL_SECS))
}

fn set_cookie(config: &Config, value: &str, max_age_secs: i64) -> HeaderValue {
    let cookie = Cookie::build((cookie_name(config), value.to_string()))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(config.is_https())
        .path("/")
        .max_age(cookie::time::Duration::seconds(max_age_secs))
        .build();
    HeaderValue::from_str(&cookie.to_string()).expect("cookie values are header-safe")
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie(config: &Config) -> HeaderValue {
    set_cookie(config, "", 0)
}

/// The session secret the browser sent, if any.
pub fn secret_of<'c>(caller: &'c Caller, config: &Config) -> Option<&'c str> {
    caller
        .cookie(cookie_name(config))
        .filter(|v| secret::well_formed(PREFIX, v))
}

/// The signed-in user of a live session (not expired, not revoked, user active).
pub async fn user(db: &Db, secret: &str) -> Result<Option<UserRow>, ApiError> {
    let sql = "SELECT u.id, u.name, u.email, u.whatsapp, u.password_hash, u.status, u.created_at
               FROM sessions s JOIN users u ON u.id = s.user_id
               WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 AND u.status = 'active'";
    let hash = secret::hash(secret);
    Ok(with_reader!(db, |c| sqlx::query_as(sql)
        .bind(&hash)
        .bind(now_ms())
        .fetch_optional(c)
        .await)?)
}

/// Ends the session with this secret (sign-out).
async fn end(db: &Db, secret: &str) -> Result<(), ApiError> {
    let sql = "UPDATE sessions SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL";
    let hash = secret::hash(secret);
    with_writer!(db, |c| sqlx::query(sql)
        .bind(&hash)
        .bind(now_ms())
        .execute(c)
        .await
        .map(drop))?;
    Ok(())
}

/// The person signed in in this browser, if any.
pub async fn current(state: &AppState, caller: &Caller) -> Result<Option<UserRow>, ApiError> {
    match secret_of(caller, &state.config) {
        Some(secret) => user(&state.db, secret).await,
        None => Ok(None),
    }
}

/// The guard of a server function that reads for the signed-in person: that person, or
/// `UNAUTHORIZED` saying `message`.
pub async fn require(
    state: &AppState,
    caller: &Caller,
    message: &str,
) -> Result<UserRow, ApiError> {
    current(state, caller)
        .await?
        .ok_or_else(|| ApiError::with_message(ErrorCode::Unauthorized, message))
}

/// The guard of a server function that changes something for the signed-in person: the
/// request must come from a fypass page, then as [`require`].
pub async fn require_change(
    state: &AppState,
    caller: &Caller,
    message: &str,
) -> Result<UserRow, ApiError> {
    check_origin(caller, &state.config)?;
    require(state, caller, message).await
}

/// Ends this browser's session; returns the cookie that clears it.
pub async fn sign_out(state: &AppState, caller: &Caller) -> Result<HeaderValue, ApiError> {
    check_origin(caller, &state.config)?;
    if let Some(secret) = secret_of(caller, &state.config) {
        end(&state.db, secret).await?;
    }
    Ok(clear_cookie(&state.config))
}

/// A state-changing request from a browser must come from a fypass page (CSRF): a cookie
/// rides along with any request to fypass, wherever the page that sent it came from.
///
/// Browsers say where a request comes from in `Sec-Fetch-Site` (Fetch Metadata), and in
/// `Origin` — which is `null` for a plain form post from a page with
/// `Referrer-Policy: no-referrer`, as fypass's pages are. Other clients (apps, curl) send
/// neither and carry no browser cookies, so they are not what this is about.
pub fn check_origin(caller: &Caller, config: &Config) -> Result<(), ApiError> {
    let refused = || Err(ApiError::new(ErrorCode::OriginNotAllowed));
    match caller.header("sec-fetch-site") {
        Some("same-origin" | "none") => return Ok(()),
        Some(_) => return refused(),
        None => {}
    }
    match caller.header(axum::http::header::ORIGIN) {
        None => Ok(()),
        Some(origin) => {
            let host = caller.header(axum::http::header::HOST);
            let same_host = host.is_some_and(|h| {
                origin
                    .split_once("://")
                    .is_some_and(|(_, authority)| authority == h)
            });
            if origin == config.public_origin() || same_host {
                Ok(())
            } else {
                refused()
            }
        }
    }
}
