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

use super::store::{U_COLUMNS, UserRow};
use crate::{
    config::Config,
    db::{Db, Tx, now_ms, with_reader, with_tx, with_writer},
    error::{ApiError, ErrorCode},
    request::Caller,
    secret,
    state::AppState,
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

/// The cookie a successful sign-in leaves in a browser, to know it again: that browser is
/// not slowed down by strangers' guesses at the same account (`login::throttle`).
fn browser_cookie_name(config: &Config) -> &'static str {
    if config.is_https() {
        "__Host-fypass_browser"
    } else {
        "fypass_browser"
    }
}
const BROWSER_PREFIX: &str = "fyb_";
/// How long a browser is remembered after its last sign-in.
const BROWSER_TTL_SECS: i64 = 180 * 24 * 3600;

/// Starts a session for `user_id` in `caller`'s browser, returning the `Set-Cookie` value.
/// `client_id` is the app whose login request the person signed in for: the session's pages
/// show that app. `strong`: the person proved two factors (a passkey, or the second step),
/// which a login request that asks for a strong sign-in needs of "Continue as". The browser
/// (its User-Agent) and network are kept, for the person's list of sessions.
pub async fn start(
    tx: &mut Tx<'_>,
    config: &Config,
    caller: &Caller,
    user_id: Uuid,
    client_id: Option<Uuid>,
    strong: bool,
) -> Result<HeaderValue, ApiError> {
    start_by(tx, config, caller, user_id, client_id, None, strong).await
}

/// As [`start`], remembering how the person proved who they are (`amr`, RFC 8176: `pwd`,
/// `otp`, `hwk`), which an OpenID Connect ID token of this session tells the app.
pub async fn start_by(
    tx: &mut Tx<'_>,
    config: &Config,
    caller: &Caller,
    user_id: Uuid,
    client_id: Option<Uuid>,
    amr: Option<&str>,
    strong: bool,
) -> Result<HeaderValue, ApiError> {
    let issued = secret::issue(PREFIX);
    let now = now_ms();
    let sql = "INSERT INTO sessions (id, token_hash, user_id, created_at, expires_at, client_id, amr, strong_at, user_agent, network)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
    let agent = caller.user_agent();
    with_tx!(tx, |c| sqlx::query(sql)
        .bind(Uuid::now_v7())
        .bind(&issued.hash)
        .bind(user_id)
        .bind(now)
        .bind(now + TTL_SECS * 1000)
        .bind(client_id)
        .bind(amr)
        .bind(strong.then_some(now))
        .bind(agent.as_deref())
        .bind(crate::throttle::network(caller.ip))
        .execute(c)
        .await
        .map(drop))?;
    Ok(set_cookie(config, &issued.plaintext, TTL_SECS))
}

/// Marks this browser's session as proven with two factors (the person just typed a code of
/// the authenticator app they set up).
pub async fn mark_strong(
    tx: &mut Tx<'_>,
    config: &Config,
    caller: &Caller,
) -> Result<(), ApiError> {
    let Some(secret) = secret_of(caller, config) else {
        return Ok(());
    };
    let sql = "UPDATE sessions SET strong_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL";
    with_tx!(tx, |c| sqlx::query(sql)
        .bind(secret::hash(secret))
        .bind(now_ms())
        .execute(c)
        .await
        .map(drop))?;
    Ok(())
}

/// Whether this browser's live session was proven with two factors.
pub async fn is_strong(state: &AppState, caller: &Caller) -> Result<bool, ApiError> {
    let Some(secret) = secret_of(caller, &state.config) else {
        return Ok(false);
    };
    let sql = "SELECT strong_at FROM sessions
               WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2";
    let row: Option<(Option<i64>,)> = with_reader!(&state.db, |c| sqlx::query_as(sql)
        .bind(secret::hash(secret))
        .bind(now_ms())
        .fetch_optional(c)
        .await)?;
    Ok(row.is_some_and(|(at,)| at.is_some()))
}

fn set_cookie(config: &Config, value: &str, max_age_secs: i64) -> HeaderValue {
    cookie(cookie_name(config), config, value, max_age_secs)
}

/// A cookie of fypass's browser state (`HttpOnly`, `SameSite=Lax`, the whole site, `Secure`
/// behind https), as a `Set-Cookie` value.
pub(crate) fn cookie(
    name: &'static str,
    config: &Config,
    value: &str,
    max_age_secs: i64,
) -> HeaderValue {
    let cookie = Cookie::build((name, value.to_string()))
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
    let sql = format!("SELECT {U_COLUMNS}
               FROM sessions s JOIN users u ON u.id = s.user_id
               WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 AND u.status = 'active'");
    let hash = secret::hash(secret);
    Ok(with_reader!(db, |c| sqlx::query_as(&sql)
        .bind(&hash)
        .bind(now_ms())
        .fetch_optional(c)
        .await)?)
}

/// The app whose login request opened this browser's session, if any (a new session for
/// the same person keeps showing it).
pub async fn app_of(state: &AppState, caller: &Caller) -> Result<Option<Uuid>, ApiError> {
    let Some(secret) = secret_of(caller, &state.config) else {
        return Ok(None);
    };
    let sql = "SELECT client_id FROM sessions WHERE token_hash = $1";
    let row: Option<(Option<Uuid>,)> = with_reader!(&state.db, |c| sqlx::query_as(sql)
        .bind(secret::hash(secret))
        .fetch_optional(c)
        .await)?;
    Ok(row.and_then(|(id,)| id))
}

/// Ends every session of `user_id` (a new password, a recovery, a status change, "sign out
/// everywhere"). Called with `tokens::revoke_for_user`, which also voids the sign-ins not yet
/// collected by an app.
pub async fn revoke_all(tx: &mut Tx<'_>, user_id: Uuid) -> Result<(), ApiError> {
    let sql = "UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL";
    with_tx!(tx, |c| sqlx::query(sql)
        .bind(user_id)
        .bind(now_ms())
        .execute(c)
        .await
        .map(drop))?;
    Ok(())
}

/// Ends every live session of `user_id` but this browser's: turning a second factor on, the
/// others were proven with one factor only. How many it ended.
pub async fn revoke_others(
    tx: &mut Tx<'_>,
    config: &Config,
    caller: &Caller,
    user_id: Uuid,
) -> Result<u64, ApiError> {
    let this = secret_of(caller, config)
        .map(secret::hash)
        .unwrap_or_default();
    let sql = "UPDATE sessions SET revoked_at = $3
               WHERE user_id = $1 AND revoked_at IS NULL AND token_hash <> $2";
    Ok(with_tx!(tx, |c| sqlx::query(sql)
        .bind(user_id)
        .bind(&this)
        .bind(now_ms())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?)
}

/// Ends the session with this secret (sign-out; also OpenID Connect's RP-initiated logout).
pub(crate) async fn end(db: &Db, secret: &str) -> Result<(), ApiError> {
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

/// When the person last proved who they are in this browser's live session, if it has
/// one: its start (a sign-in), or a later re-authentication ([`mark_reauthenticated`]).
pub async fn proven_at(state: &AppState, caller: &Caller) -> Result<Option<i64>, ApiError> {
    let Some(secret) = secret_of(caller, &state.config) else {
        return Ok(None);
    };
    let sql = "SELECT created_at, reauthenticated_at FROM sessions
               WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2";
    let row: Option<(i64, Option<i64>)> = with_reader!(&state.db, |c| sqlx::query_as(sql)
        .bind(secret::hash(secret))
        .bind(now_ms())
        .fetch_optional(c)
        .await)?;
    Ok(row.map(|(started, again)| again.map_or(started, |a| a.max(started))))
}

/// Whether the person proved who they are in this browser's live session less than
/// [`REAUTH_WINDOW_SECS`](super::REAUTH_WINDOW_SECS) ago ([`proven_at`]).
pub async fn proven_recently(state: &AppState, caller: &Caller) -> Result<bool, ApiError> {
    let window_ms = super::REAUTH_WINDOW_SECS as i64 * 1000;
    Ok(proven_at(state, caller)
        .await?
        .is_some_and(|at| now_ms() - at < window_ms))
}

/// Records that the person just proved who they are again in this browser's session.
pub async fn mark_reauthenticated(
    tx: &mut Tx<'_>,
    config: &Config,
    caller: &Caller,
) -> Result<(), ApiError> {
    let Some(secret) = secret_of(caller, config) else {
        return Ok(());
    };
    let sql =
        "UPDATE sessions SET reauthenticated_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL";
    with_tx!(tx, |c| sqlx::query(sql)
        .bind(secret::hash(secret))
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

/// Remembers this browser as one that signed in as `user_id`: the `Set-Cookie` of its
/// browser cookie (a new one when it has none yet).
pub async fn remember_browser(
    tx: &mut Tx<'_>,
    config: &Config,
    caller: &Caller,
    user_id: Uuid,
) -> Result<HeaderValue, ApiError> {
    let existing = caller
        .cookie(browser_cookie_name(config))
        .filter(|v| secret::well_formed(BROWSER_PREFIX, v))
        .map(str::to_owned);
    let value = existing.unwrap_or_else(|| secret::issue(BROWSER_PREFIX).plaintext);
    let now = now_ms();
    let sql = "INSERT INTO trusted_browsers (token_hash, user_id, created_at, expires_at)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (token_hash, user_id) DO UPDATE SET expires_at = excluded.expires_at";
    with_tx!(tx, |c| sqlx::query(sql)
        .bind(secret::hash(&value))
        .bind(user_id)
        .bind(now)
        .bind(now + BROWSER_TTL_SECS * 1000)
        .execute(c)
        .await
        .map(drop))?;
    Ok(cookie(
        browser_cookie_name(config),
        config,
        &value,
        BROWSER_TTL_SECS,
    ))
}

/// Forgets every browser remembered as one that signed in as `user_id` (a recovery, "sign out
/// everywhere"): none of them is spared others' failed guesses any more, until it signs in
/// again.
pub async fn forget_browsers(tx: &mut Tx<'_>, user_id: Uuid) -> Result<(), ApiError> {
    let sql = "DELETE FROM trusted_browsers WHERE user_id = $1";
    with_tx!(tx, |c| sqlx::query(sql)
        .bind(user_id)
        .execute(c)
        .await
        .map(drop))?;
    Ok(())
}

/// A key for this browser if it signed in as `user_id` before — it holds their live
/// session, or the browser cookie of an earlier sign-in — else `None`.
pub async fn trusted_browser(
    state: &AppState,
    caller: &Caller,
    user_id: Uuid,
) -> Result<Option<String>, ApiError> {
    let short = |secret: &str| {
        let hash = secret::hash(secret);
        hash[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    if let Some(secret) = secret_of(caller, &state.config)
        && user(&state.db, secret)
            .await?
            .is_some_and(|u| u.id == user_id)
    {
        return Ok(Some(format!("session-{}", short(secret))));
    }
    let Some(browser) = caller
        .cookie(browser_cookie_name(&state.config))
        .filter(|v| secret::well_formed(BROWSER_PREFIX, v))
    else {
        return Ok(None);
    };
    let sql = "SELECT COUNT(*) FROM trusted_browsers
               WHERE token_hash = $1 AND user_id = $2 AND expires_at > $3";
    let (known,): (i64,) = with_reader!(&state.db, |c| sqlx::query_as(sql)
        .bind(secret::hash(browser))
        .bind(user_id)
        .bind(now_ms())
        .fetch_one(c)
        .await)?;
    Ok((known > 0).then(|| format!("browser-{}", short(browser))))
}

/// A key for this browser if it signed in before (its live session, or the browser cookie
/// of an earlier sign-in) as the active person whose **verified** identifier `identifier`
/// is, else `None`: codes sent to that identifier and typed in this browser are the owner's
/// own, and count against this browser, not against its network (`codes::flow`), so
/// strangers behind the same carrier-grade NAT cannot use up the owner's budget.
///
/// Only a verified identifier counts: the browsers of someone who registered another
/// person's address are not the address's owner's, and must not escape the network's caps
/// (they could void every code the owner asks for to take the account over). One query,
/// whether or not anyone has the identifier, and none for a browser without either cookie,
/// so the answer takes as long either way (a code send must not tell them apart).
pub async fn trusted_for(
    state: &AppState,
    caller: &Caller,
    identifier: &super::identifier::Identifier,
) -> Result<Option<String>, ApiError> {
    let session = secret_of(caller, &state.config);
    let browser = caller
        .cookie(browser_cookie_name(&state.config))
        .filter(|v| secret::well_formed(BROWSER_PREFIX, v));
    if session.is_none() && browser.is_none() {
        return Ok(None);
    }
    let column = match identifier {
        super::identifier::Identifier::Email(_) => "email",
        super::identifier::Identifier::Whatsapp(_) => "whatsapp",
    };
    let sql = format!(
        "SELECT COUNT(*) FROM users u
         WHERE u.{column} = $1 AND u.{column}_verified_at IS NOT NULL AND u.status = 'active'
           AND (EXISTS (SELECT 1 FROM sessions s WHERE s.user_id = u.id AND s.token_hash = $2
                          AND s.revoked_at IS NULL AND s.expires_at > $4)
                OR EXISTS (SELECT 1 FROM trusted_browsers b WHERE b.user_id = u.id
                             AND b.token_hash = $3 AND b.expires_at > $4))"
    );
    let (session_hash, browser_hash) = (session.map(secret::hash), browser.map(secret::hash));
    let (known,): (i64,) = with_reader!(&state.db, |c| sqlx::query_as(&sql)
        .bind(identifier.as_str())
        .bind(&session_hash)
        .bind(&browser_hash)
        .bind(now_ms())
        .fetch_one(c)
        .await)?;
    let short = |hash: &[u8]| {
        hash[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let key = match (&browser_hash, &session_hash) {
        (Some(hash), _) => format!("browser-{}", short(hash)),
        (None, Some(hash)) => format!("session-{}", short(hash)),
        (None, None) => return Ok(None),
    };
    Ok((known > 0).then_some(key))
}

/// Removes, at most `limit` at a time, sessions and remembered browsers that expired.
pub async fn purge(db: &Db, limit: i64) -> Result<u64, ApiError> {
    let now = now_ms();
    let sessions = with_writer!(db, |c| {
        sqlx::query(
        "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expires_at < $1 LIMIT $2)"
    )
    .bind(now)
    .bind(limit)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    let browsers = with_writer!(db, |c| sqlx::query(
        "DELETE FROM trusted_browsers WHERE (token_hash, user_id) IN
           (SELECT token_hash, user_id FROM trusted_browsers WHERE expires_at < $1 LIMIT $2)"
    )
    .bind(now)
    .bind(limit)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(sessions + browsers)
}
