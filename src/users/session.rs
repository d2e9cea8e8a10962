//! The browser session: set by a successful hosted login or registration, it lets a person
//! open the device dashboard and continue a later login with one click.
//!
//! The cookie holds an opaque secret (stored hashed). It is `HttpOnly` and `SameSite=Lax`;
//! behind https it is also `Secure` and named with the `__Host-` prefix, which browsers only
//! accept from a secure origin, for the whole host, without a `Domain`.

use super::store::UserRow;
use crate::{
    db::{Db, Tx, now_ms, with_reader, with_tx, with_writer},
    error::ApiError,
    server::{Config, token},
};
use axum::http::{HeaderMap, HeaderValue, header};
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
    let secret = token::issue(PREFIX);
    let now = now_ms();
    let sql = "INSERT INTO sessions (id, token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";
    with_tx!(tx, |c| sqlx::query(sql)
        .bind(Uuid::now_v7())
        .bind(&secret.hash)
        .bind(user_id)
        .bind(now)
        .bind(now + TTL_SECS * 1000)
        .execute(c)
        .await
        .map(drop))?;
    Ok(set_cookie(config, &secret.plaintext, TTL_SECS))
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
pub fn from_headers<'h>(headers: &'h HeaderMap, config: &Config) -> Option<&'h str> {
    let name = cookie_name(config);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
        .filter(|v| token::well_formed(PREFIX, v))
}

/// The signed-in user of a live session (not expired, not revoked, user active).
pub async fn user(db: &Db, secret: &str) -> Result<Option<UserRow>, ApiError> {
    let sql = "SELECT u.id, u.name, u.email, u.whatsapp, u.password_hash, u.status, u.created_at
               FROM sessions s JOIN users u ON u.id = s.user_id
               WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 AND u.status = 'active'";
    let hash = token::hash(secret);
    Ok(with_reader!(db, |c| sqlx::query_as(sql)
        .bind(&hash)
        .bind(now_ms())
        .fetch_optional(c)
        .await)?)
}

/// Ends the session with this secret (sign-out).
pub async fn end(db: &Db, secret: &str) -> Result<(), ApiError> {
    let sql = "UPDATE sessions SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL";
    let hash = token::hash(secret);
    with_writer!(db, |c| sqlx::query(sql)
        .bind(&hash)
        .bind(now_ms())
        .execute(c)
        .await
        .map(drop))?;
    Ok(())
}
