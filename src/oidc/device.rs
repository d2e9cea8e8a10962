//! The device authorization grant (RFC 8628) for TVs and other devices without a browser,
//! on the login requests, user codes and hosted pages of `/api/v1/users/login`.
//!
//! `POST /oauth/device_authorization` starts a login request of the client and answers the
//! RFC's fields: the person opens `verification_uri_complete` (the request's hosted page, or
//! its QR code) on their phone, where — on another network than the device's — they
//! confirm the user code first (SPEC §13). The device polls `/oauth/token` with its
//! `device_code`, a secret of its own: the login request's reqToken is in the person's
//! browser, so it must not be what collects the tokens. The device code's row keeps the
//! reqToken sealed under a key derived from the device code, and a poll opens it and asks
//! the login flow itself (`login::flow::status`: single collection, sign-outs since, an
//! inactive person), so the grant has no rule of its own about completion.

use super::{
    Scope, client,
    errors::{Kind, OAuthError, Params, form},
    grant::{self, Granted, Reply},
};
use crate::{
    clients::{Grant, store::Client},
    db::{db_row, now_ms, with_reader, with_tx, with_writer},
    error::{ApiError, ErrorCode},
    login::{LoginMode, LoginStatus, POLL_INTERVAL_SECS, StartLoginBody, requests},
    request::Caller,
    secret,
    state::AppState,
    throttle::network,
    users::store as users,
};
use axum::{
    Json,
    body::Bytes,
    extract::{ConnectInfo, State},
    http::HeaderMap,
    response::{IntoResponse, Response},
};
use ring::{aead, hkdf};
use serde::Serialize;
use std::{collections::HashMap, net::SocketAddr, sync::Mutex};
use uuid::Uuid;

pub const DEVICE_CODE_PREFIX: &str = "fyd_";
/// What a `slow_down` adds to the interval (RFC 8628 §3.5).
const SLOW_DOWN_SECS: i64 = 5;
/// Device codes whose polls a node keeps the time of, at most ([`PollClocks`]).
const MAX_CLOCKS: usize = 65_536;

/// The time of each device code's last poll, and its interval, as this node saw them: a
/// poll sooner than its interval after the last one is answered `slow_down` from here,
/// without a database statement — what a device that polls too fast sends is most of the
/// polls there are, and each was a write (the poll's `UPDATE`, which keeps the same clock
/// in the database for every node). A poll on time goes to the database as before, whose
/// answer sets the clock here again; so the clock here is never laxer than the database's,
/// only stricter when this node saw more of the device's polls (a device polling two nodes
/// alternately may poll each as often as its interval allows). A clock is kept only for a
/// code the database answered for (a known, unexpired code of the polling client), until
/// the code expires or is used, and for at most [`MAX_CLOCKS`] codes: with more, a poll of
/// a code without a clock here goes to the database.
#[derive(Default)]
pub struct PollClocks {
    clocks: Mutex<HashMap<ClockKey, Clock>>,
}

/// A device code's hash (SHA-256) and the client polling it: kept inline, so a lookup
/// allocates nothing.
type ClockKey = ([u8; 32], Uuid);

fn clock_key(code: &[u8], client: Uuid) -> Option<ClockKey> {
    Some((code.try_into().ok()?, client))
}

struct Clock {
    last_poll_at: i64,
    interval_ms: i64,
    expires_at: i64,
}

impl PollClocks {
    pub fn of(state: &AppState) -> &PollClocks {
        state.services.get()
    }

    fn clocks(&self) -> std::sync::MutexGuard<'_, HashMap<ClockKey, Clock>> {
        // A panic while it was held left nothing half-written: the map is still usable.
        self.clocks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the poll of `code` (by `client`) at `now` comes too soon after the last one
    /// seen here; it then counts as the last poll and adds to the interval, as the
    /// database's `slow_down` does.
    fn too_soon(&self, code: &[u8], client: Uuid, now: i64) -> bool {
        let Some(key) = clock_key(code, client) else {
            return false;
        };
        let mut clocks = self.clocks();
        let Some(clock) = clocks.get_mut(&key) else {
            return false;
        };
        if clock.expires_at <= now || now - clock.last_poll_at >= clock.interval_ms {
            return false;
        }
        clock.interval_ms += SLOW_DOWN_SECS * 1000;
        clock.last_poll_at = now;
        true
    }

    /// Sets the clock of `code` to the database's answer to a poll at `now`.
    fn polled(&self, code: &[u8], client: Uuid, now: i64, interval_secs: i64, expires_at: i64) {
        let Some(key) = clock_key(code, client) else {
            return;
        };
        let mut clocks = self.clocks();
        if clocks.len() >= MAX_CLOCKS {
            clocks.retain(|_, c| c.expires_at > now);
        }
        if clocks.len() < MAX_CLOCKS || clocks.contains_key(&key) {
            clocks.insert(
                key,
                Clock {
                    last_poll_at: now,
                    interval_ms: interval_secs * 1000,
                    expires_at,
                },
            );
        }
    }

    fn forget(&self, code: &[u8], client: Uuid) {
        if let Some(key) = clock_key(code, client) {
            self.clocks().remove(&key);
        }
    }
}

/// The key that seals a device code's reqToken: HKDF-SHA256 of the device code itself.
fn key(device_code: &str) -> aead::LessSafeKey {
    let salt = hkdf::Salt::new(hkdf::HKDF_SHA256, b"fypass device code v1");
    let prk = salt.extract(device_code.as_bytes());
    let okm = prk
        .expand(&[], &aead::AES_256_GCM)
        .expect("an AES-256 key is a valid HKDF output length");
    aead::LessSafeKey::new(aead::UnboundKey::from(okm))
}

fn seal(device_code: &str, req_token: &str) -> Vec<u8> {
    let mut nonce = [0u8; aead::NONCE_LEN];
    getrandom::fill(&mut nonce).expect("the operating system's random number generator failed");
    let mut sealed = req_token.as_bytes().to_vec();
    key(device_code)
        .seal_in_place_append_tag(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::empty(),
            &mut sealed,
        )
        .expect("a reqToken is far below AES-GCM's length limit");
    [nonce.as_slice(), &sealed].concat()
}

fn open(device_code: &str, sealed: &[u8]) -> Option<String> {
    let (nonce, ciphertext) = sealed.split_at_checked(aead::NONCE_LEN)?;
    let nonce = aead::Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut in_out = ciphertext.to_vec();
    let plain = key(device_code)
        .open_in_place(nonce, aead::Aad::empty(), &mut in_out)
        .ok()?;
    String::from_utf8(plain.to_vec()).ok()
}

/// RFC 8628 §3.2.
#[derive(Serialize)]
pub struct Authorization {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: u64,
    pub interval: u32,
}

/// `POST /oauth/device_authorization`.
pub async fn authorization(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let caller = Caller::new(&headers, Some(peer), &state.config);
    let res = match start(&state, &caller, &headers, &body).await {
        Ok(a) => Json(a).into_response(),
        Err(e) => e.into_response(),
    };
    super::endpoints::with_cors(&state, &headers, res).await
}

async fn start(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Authorization, OAuthError> {
    let params = form(headers, body)?;
    let client = client::authenticate(state, headers, &params, Grant::OauthDevice).await?;
    let scope = Scope::parse(params.get("scope").unwrap_or("openid"))
        .ok_or_else(|| OAuthError::of(Kind::InvalidScope, ErrorCode::InvalidScope))?;
    if client::without_secret(headers, &params) {
        super::start_allowed(state, caller).await?;
    }
    let body = StartLoginBody {
        redirect_url: None,
        mode: Some(LoginMode::Login),
        locale: None,
        device_info: None,
        require: None,
    };
    // Started from the device's network: a person completing it elsewhere confirms the code.
    let created = requests::create(
        crate::login::requests::LoginStarts::of(state),
        client.id,
        &body,
        &network(caller.ip),
        state.config.login_ttl_secs,
    )
    .await?;
    let login = requests::find(&state.db, &created.token)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::InternalError))?;
    let device_code = secret::issue(DEVICE_CODE_PREFIX);
    let now = now_ms();
    let sql =
        "INSERT INTO oidc_device_codes (code_hash, client_id, login_request_id, sealed_request,
                   scope, interval_secs, created_at, expires_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    let mut tx = state.db.begin().await?;
    with_tx!(&mut tx, |c| sqlx::query(sql)
        .bind(&device_code.hash)
        .bind(client.id)
        .bind(login.id)
        .bind(seal(&device_code.plaintext, &created.token))
        .bind(scope.to_string())
        .bind(i64::from(POLL_INTERVAL_SECS))
        .bind(now)
        .bind(created.expires_at)
        .execute(c)
        .await
        .map(drop))?;
    tx.commit().await?;
    let page = format!("{}/fypass?reqToken={}", super::issuer(state), created.token);
    Ok(Authorization {
        device_code: device_code.plaintext,
        user_code: requests::display_user_code(&created.user_code),
        verification_uri: page.clone(),
        verification_uri_complete: page,
        expires_in: ((created.expires_at - now) / 1000).max(0) as u64,
        interval: POLL_INTERVAL_SECS,
    })
}

db_row! {
    struct Polled {
        sealed_request: Vec<u8>,
        scope: String,
        slowed_at: Option<i64>,
        interval_secs: i64,
        expires_at: i64,
    }
}

/// The token endpoint's `urn:ietf:params:oauth:grant-type:device_code`.
///
/// A poll is one statement, outside a transaction: it finds the client's unused, unexpired
/// code, notes the poll, and — for a poll before the code's interval ran out — adds to the
/// interval (RFC 8628 §3.5's `slow_down`) and says so. Of concurrent polls one is on time,
/// the rest slow down. Only a code it does not find costs a second (read) statement, to
/// tell an expired code from an unknown one. A poll this node saw come too soon is answered
/// without a statement ([`PollClocks`]).
pub async fn poll(state: &AppState, client: &Client, params: &Params) -> Result<Reply, OAuthError> {
    let device_code = params.require("device_code")?;
    let unknown =
        || OAuthError::invalid_grant("The device_code is unknown, used, or another client's.");
    if !secret::well_formed(DEVICE_CODE_PREFIX, device_code) {
        return Err(unknown());
    }
    let hash = secret::hash(device_code);
    let now = now_ms();
    let clocks = PollClocks::of(state);
    if clocks.too_soon(&hash, client.id, now) {
        return Err(OAuthError::of(Kind::SlowDown, ErrorCode::SlowDown));
    }
    let sql = "UPDATE oidc_device_codes
               SET slowed_at = CASE WHEN last_poll_at IS NULL OR last_poll_at <= $3 - interval_secs * 1000
                                    THEN NULL ELSE $3 END,
                   interval_secs = CASE WHEN last_poll_at IS NULL OR last_poll_at <= $3 - interval_secs * 1000
                                        THEN interval_secs ELSE interval_secs + $4 END,
                   last_poll_at = $3
               WHERE code_hash = $1 AND client_id = $2 AND used_at IS NULL AND expires_at > $3
               RETURNING sealed_request, scope, slowed_at, interval_secs, expires_at";
    let polled: Option<Polled> = with_writer!(&state.db, |c| sqlx::query_as(sql)
        .bind(&hash)
        .bind(client.id)
        .bind(now)
        .bind(SLOW_DOWN_SECS)
        .fetch_optional(c)
        .await)?;
    let Some(row) = polled else {
        let sql = "SELECT 1 FROM oidc_device_codes
                   WHERE code_hash = $1 AND client_id = $2 AND used_at IS NULL";
        let expired: Option<(i32,)> = with_reader!(&state.db, |c| sqlx::query_as(sql)
            .bind(&hash)
            .bind(client.id)
            .fetch_optional(c)
            .await)?;
        clocks.forget(&hash, client.id);
        return Err(match expired {
            Some(_) => OAuthError::of(Kind::ExpiredToken, ErrorCode::CodeExpired),
            None => unknown(),
        });
    };
    clocks.polled(&hash, client.id, now, row.interval_secs, row.expires_at);
    if row.slowed_at.is_some() {
        return Err(OAuthError::of(Kind::SlowDown, ErrorCode::SlowDown));
    }
    let req_token = open(device_code, &row.sealed_request).ok_or_else(unknown)?;
    let status = crate::login::flow::status(state, client, &req_token).await?;
    match status.status {
        LoginStatus::Pending => {
            return Err(OAuthError::of(
                Kind::AuthorizationPending,
                ErrorCode::AuthorizationPending,
            ));
        }
        LoginStatus::Expired => {
            clocks.forget(&hash, client.id);
            return Err(OAuthError::of(Kind::ExpiredToken, ErrorCode::CodeExpired));
        }
        LoginStatus::LoggedIn | LoginStatus::Registered => {}
    }
    let (Some(access_token), Some(refresh_token), Some(user)) =
        (status.access_token, status.refresh_token, status.user)
    else {
        // Completed, but nothing to collect: taken already, or the person may not sign in.
        clocks.forget(&hash, client.id);
        return Err(OAuthError::of(Kind::AccessDenied, ErrorCode::AccessDenied));
    };
    let pair = crate::tokens::TokenPair {
        access_token,
        access_token_expires_at: status.access_token_expires_at.unwrap_or_default(),
        refresh_token,
        refresh_token_expires_at: status.refresh_token_expires_at.unwrap_or_default(),
    };
    let user_id =
        uuid::Uuid::parse_str(&user.id).map_err(|_| ApiError::new(ErrorCode::InternalError))?;
    let user = users::find(&state.db, user_id)
        .await?
        .ok_or_else(|| OAuthError::of(Kind::AccessDenied, ErrorCode::AccessDenied))?;
    let scope = Scope::parse(&row.scope).unwrap_or_else(|| Scope(Vec::new()));
    let family = crate::tokens::refresh::find(&state.db, &pair.refresh_token, client.id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::InternalError))?
        .family_id;
    let granted = Granted {
        session_id: None,
        auth_time: requests::find(&state.db, &req_token)
            .await?
            .and_then(|r| r.completed_at)
            .unwrap_or(now),
        amr: None,
    };
    let mut tx = state.db.begin().await?;
    grant::record_grant(&mut tx, state, family, client.id, user.id, &scope, &granted).await?;
    let sql = "UPDATE oidc_device_codes SET used_at = $2 WHERE code_hash = $1";
    with_tx!(&mut tx, |c| sqlx::query(sql)
        .bind(&hash)
        .bind(now)
        .execute(c)
        .await
        .map(drop))?;
    tx.commit().await?;
    clocks.forget(&hash, client.id);
    let id_token = match scope.has("openid") {
        true => Some(
            grant::id_token(
                state,
                client.id,
                None,
                &user,
                &scope,
                &granted,
                None,
                &pair.access_token,
            )
            .await?,
        ),
        false => None,
    };
    Ok(grant::reply(state, pair, &scope, id_token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_request_opens_only_with_its_device_code() {
        let sealed = seal("fyd_a", "fyr_token");
        assert_eq!(open("fyd_a", &sealed).as_deref(), Some("fyr_token"));
        assert!(open("fyd_b", &sealed).is_none());
    }
}
