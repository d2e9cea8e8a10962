//! The routes around the tokens: `/oauth/userinfo` (OpenID Connect Core §5.3),
//! `/oauth/revoke` (RFC 7009), `/oauth/introspect` (RFC 7662), `/oauth/logout`
//! (RP-initiated logout 1.0), and CORS for public clients' registered origins.
//!
//! Each answers from the rules of `tokens` (which token is live, whose it is, what
//! revoking it ends); what is here is OAuth's wire format.

use super::{
    Scope,
    client::{self, admitted},
    errors::{Kind, OAuthError, Params, form},
    grant::{grant_of, person_claims},
    keys, pages,
};
use crate::{
    clients::{Grant, store::Client},
    db::{with_reader, with_writer},
    error::{ApiError, ErrorCode},
    request::Caller,
    secret,
    state::AppState,
    status::Status,
    tokens::{TokenType, access, refresh},
    users::session,
};
use axum::{
    Json,
    body::Bytes,
    extract::{ConnectInfo, RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};
use std::{net::SocketAddr, sync::Arc};
use uuid::Uuid;

// ---- CORS ------------------------------------------------------------------------------

/// The origin of the request, if a public client registered a redirect URL there (its
/// app runs in a browser on that origin).
async fn allowed_origin(state: &AppState, headers: &HeaderMap) -> Option<HeaderValue> {
    let origin = headers.get(header::ORIGIN)?.to_str().ok()?;
    let sql = "SELECT redirect_urls FROM clients WHERE public = TRUE AND status = 'active'";
    let rows: Vec<(String,)> =
        with_reader!(&state.db, |c| sqlx::query_as(sql).fetch_all(c).await).ok()?;
    let registered = rows
        .iter()
        .flat_map(|(urls,)| urls.split_whitespace())
        .filter_map(|u| url::Url::parse(u).ok())
        .any(|u| u.origin().ascii_serialization() == origin);
    registered
        .then(|| HeaderValue::from_str(origin).ok())
        .flatten()
}

/// `res` with `Access-Control-Allow-Origin` when the caller's origin is a public client's.
pub async fn with_cors(state: &AppState, headers: &HeaderMap, mut res: Response) -> Response {
    if let Some(origin) = allowed_origin(state, headers).await {
        let h = res.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    res
}

/// `OPTIONS` on the routes a browser app calls: allowed for public clients' origins only.
pub async fn preflight(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let mut res = StatusCode::NO_CONTENT.into_response();
    if let Some(origin) = allowed_origin(&state, &headers).await {
        let h = res.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    res
}

// ---- userinfo ----------------------------------------------------------------------------

fn invalid_token(message: &str) -> OAuthError {
    OAuthError::new(
        Kind::InvalidToken,
        ApiError::with_message(ErrorCode::Unauthorized, message),
    )
}

/// The client an access token was issued to, and its sign-in (token family).
async fn issued_to(
    state: &AppState,
    token: &str,
) -> Result<Option<(Uuid, Option<Uuid>)>, ApiError> {
    let Some(keys) = access::keys_of(token) else {
        return Ok(None);
    };
    let sql = "SELECT client_id, family_id FROM access_tokens WHERE token_hash = $1";
    Ok(secret::first_found!(keys, |key| with_reader!(
        &state.db,
        |c| sqlx::query_as(sql).bind(&key).fetch_optional(c).await
    ))?)
}

/// An OAuth client that may still act: active, with an OAuth grant.
fn oauth_client(client: Client) -> Result<Arc<Client>, OAuthError> {
    let client = Arc::new(client);
    admitted(client.clone(), Grant::OauthCode).or_else(|_| admitted(client, Grant::OauthDevice))
}

/// `GET|POST /oauth/userinfo` with `Authorization: Bearer` (or, in a POST form,
/// `access_token`, RFC 6750 §2.2).
pub async fn userinfo(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let caller = Caller::new(&headers, Some(peer), &state.config);
    let res = match claims(&state, &caller, &headers, &body).await {
        Ok(claims) => Json(claims).into_response(),
        Err(e) => e.into_response(),
    };
    with_cors(&state, &headers, res).await
}

async fn claims(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<serde_json::Map<String, Value>, OAuthError> {
    let in_body = if body.is_empty() {
        None
    } else {
        form(headers, body)?.get("access_token").map(str::to_owned)
    };
    let bearer = caller
        .bearer()
        .map_err(|e| invalid_token(&e.message))?
        .map(str::to_owned);
    let token = match (bearer, in_body) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request("Send the access token once."));
        }
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => {
            return Err(invalid_token(
                "This route needs `Authorization: Bearer <access_token>`.",
            ));
        }
    };
    let (client_id, family) = issued_to(state, &token)
        .await?
        .ok_or_else(|| invalid_token("The access token is unknown."))?;
    // The rule of a live access token: `access::authenticate`.
    let (user, _) = access::authenticate(&state.db, &token, client_id)
        .await
        .map_err(|e| invalid_token(&e.message))?;
    let client = client::find(&state.db, client_id)
        .await?
        .ok_or_else(|| invalid_token("The access token is unknown."))?;
    oauth_client(client).map_err(|e| invalid_token(&e.api.message))?;
    let scope = match family {
        Some(f) => grant_of(&state.db, f)
            .await?
            .and_then(|g| Scope::parse(&g.scope)),
        None => None,
    }
    .unwrap_or(Scope(Vec::new()));
    Ok(person_claims(&user, &scope))
}

// ---- revoke and introspect ---------------------------------------------------------------

/// `POST /oauth/revoke` (RFC 7009): ends the sign-in (token family) of an access or refresh
/// token of this client. Always 200 for a token it cannot find: revoking is idempotent and
/// says nothing about other clients' tokens.
pub async fn revoke(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let res = match revoke_token(&state, &headers, &body).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => e.into_response(),
    };
    with_cors(&state, &headers, res).await
}

async fn revoke_token(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), OAuthError> {
    let params = form(headers, body)?;
    let client = client::authenticate_any(state, headers, &params).await?;
    let token = params.require("token")?;
    let family = match access::find(&state.db, token, client.id).await? {
        Some(row) => row.family_id.map(|f| (row.user_id, f)),
        None => refresh::find(&state.db, token, client.id)
            .await?
            .map(|r| (r.user_id, r.family_id)),
    };
    if let Some((user_id, family)) = family {
        let mut tx = state.db.begin().await?;
        crate::tokens::revoke_family(&mut tx, user_id, family).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// `POST /oauth/introspect` (RFC 7662), for a confidential client about its own tokens:
/// `{ "active": false }` for anything else.
pub async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match introspection(&state, &headers, &body).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn introspection(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, OAuthError> {
    let params = form(headers, body)?;
    let client = client::authenticate_any(state, headers, &params).await?;
    if client::is_public(&state.db, client.id).await? {
        return Err(OAuthError::new(
            Kind::InvalidClient,
            ApiError::with_message(
                ErrorCode::UnknownClientKey,
                "Introspection is for confidential clients (with a client_secret).",
            ),
        ));
    }
    let token = params.require("token")?;
    let found = crate::tokens::introspect_token(state, client.id, token).await?;
    if !found.active {
        return Ok(json!({ "active": false }));
    }
    let (family, expires_at, kind) = match found.token_type {
        Some(TokenType::Access) => {
            let row = access::find(&state.db, token, client.id).await?;
            (
                row.as_ref().and_then(|r| r.family_id),
                row.map(|r| r.expires_at),
                "access_token",
            )
        }
        _ => {
            let row = refresh::find(&state.db, token, client.id).await?;
            (
                row.as_ref().map(|r| r.family_id),
                row.map(|r| r.expires_at),
                "refresh_token",
            )
        }
    };
    let mut reply = json!({
        "active": true,
        "token_type": kind,
        "client_id": client.id.to_string(),
        "sub": found.user_id,
        "iss": super::issuer(state),
        "exp": expires_at.map(|ms| ms / 1000),
    });
    if let Some(family) = family
        && let Some(grant) = grant_of(&state.db, family).await?
    {
        reply["scope"] = Value::String(grant.scope);
    }
    Ok(reply)
}

// ---- RP-initiated logout -----------------------------------------------------------------

#[derive(serde::Deserialize)]
struct Hint {
    sub: String,
    aud: Value,
}

impl Hint {
    fn client(&self) -> Option<Uuid> {
        let aud = match &self.aud {
            Value::String(s) => Some(s.as_str()),
            Value::Array(a) => a.first().and_then(Value::as_str),
            _ => None,
        }?;
        Uuid::parse_str(aud).ok()
    }
}

/// What a logout request asks, once checked.
struct Logout {
    /// The person the `id_token_hint` names, when it is a valid one of ours.
    hinted: Option<Uuid>,
    /// Where to send the browser afterwards (registered for the client), with `state`.
    back_to: Option<String>,
}

async fn check_logout(state: &AppState, params: &Params) -> Result<Logout, ApiError> {
    let invalid = |m: &str| ApiError::with_message(ErrorCode::ValidationError, m);
    let hint: Option<Hint> = match params.get("id_token_hint") {
        Some(token) => Some(
            keys::verify(&state.db, &state.config, token)
                .await
                .ok_or_else(|| invalid("id_token_hint is not an ID token of this provider."))?,
        ),
        None => None,
    };
    let client_id = match (
        params.get("client_id"),
        hint.as_ref().and_then(Hint::client),
    ) {
        (Some(raw), Some(aud)) if client::parse_id(raw) != Some(aud) => {
            return Err(invalid(
                "client_id differs from the id_token_hint's audience.",
            ));
        }
        (Some(raw), _) => {
            Some(client::parse_id(raw).ok_or_else(|| ApiError::new(ErrorCode::UnknownClientKey))?)
        }
        (None, aud) => aud,
    };
    let back_to = match params.get("post_logout_redirect_uri") {
        None => None,
        Some(uri) => {
            let client = match client_id {
                Some(id) => client::find(&state.db, id).await?,
                None => None,
            }
            .ok_or_else(|| invalid("post_logout_redirect_uri needs client_id or id_token_hint."))?;
            if client.status != Status::Active
                || !client::redirect_allowed(uri, &client.redirect_urls)
            {
                return Err(ApiError::new(ErrorCode::InvalidRedirectUri));
            }
            let mut url =
                url::Url::parse(uri).map_err(|_| ApiError::new(ErrorCode::InvalidRedirectUri))?;
            if let Some(s) = params.get("state") {
                url.query_pairs_mut().append_pair("state", s);
            }
            Some(url.to_string())
        }
    };
    Ok(Logout {
        hinted: hint.and_then(|h| Uuid::parse_str(&h.sub).ok()),
        back_to,
    })
}

/// Ends this browser's session; the reply goes back to the app or says it is done.
async fn sign_out(
    state: &AppState,
    caller: &Caller,
    logout: &Logout,
) -> Result<Response, ApiError> {
    if let Some(secret) = session::secret_of(caller, &state.config) {
        session::end(&state.db, secret).await?;
    }
    let mut res = match &logout.back_to {
        Some(url) => {
            let mut res = StatusCode::SEE_OTHER.into_response();
            res.headers_mut().insert(
                header::LOCATION,
                HeaderValue::from_str(url)
                    .map_err(|_| ApiError::new(ErrorCode::InvalidRedirectUri))?,
            );
            res
        }
        None => pages::signed_out(),
    };
    res.headers_mut()
        .append(header::SET_COOKIE, session::clear_cookie(&state.config));
    Ok(res)
}

/// `GET /oauth/logout`: with a valid `id_token_hint` naming the person signed in here (or
/// nobody signed in), signs out at once; otherwise asks first (a link on any site could
/// otherwise sign people out).
pub async fn logout_get(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let caller = Caller::new(&headers, Some(peer), &state.config);
    let query = query.unwrap_or_default();
    logout_asked(&state, &caller, &query)
        .await
        .unwrap_or_else(|e| pages::error(&e))
}

async fn logout_asked(
    state: &AppState,
    caller: &Caller,
    query: &str,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_bytes()).map_err(|e| e.api)?;
    let logout = check_logout(state, &params).await?;
    let here = session::current(state, caller).await?.map(|u| u.id);
    let vouched = logout.hinted.is_some() && (here.is_none() || here == logout.hinted);
    if vouched {
        sign_out(state, caller, &logout).await
    } else {
        Ok(pages::confirm_logout(query))
    }
}

/// `POST /oauth/logout`: the person's answer to the question of [`logout_get`] (from a
/// fypass page only).
pub async fn logout_post(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let caller = Caller::new(&headers, Some(peer), &state.config);
    logout_confirmed(&state, &caller, &query.unwrap_or_default())
        .await
        .unwrap_or_else(|e| pages::error(&e))
}

async fn logout_confirmed(
    state: &AppState,
    caller: &Caller,
    query: &str,
) -> Result<Response, ApiError> {
    session::check_origin(caller, &state.config)?;
    let params = Params::parse(query.as_bytes()).map_err(|e| e.api)?;
    let logout = check_logout(state, &params).await?;
    sign_out(state, caller, &logout).await
}

/// Removes, at most `limit` at a time, expired codes, authorization requests, device codes
/// and the grants of token families that have expired.
pub async fn purge(db: &crate::db::Db, limit: i64) -> Result<u64, ApiError> {
    let now = crate::db::now_ms();
    let mut removed = 0;
    for table in [
        "oidc_codes",
        "oidc_authorizations",
        "oidc_device_codes",
        "oidc_grants",
    ] {
        let key = if table == "oidc_grants" {
            "family_id"
        } else if table == "oidc_authorizations" {
            "id"
        } else {
            "code_hash"
        };
        let sql = format!(
            "DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE expires_at < $1 LIMIT $2)"
        );
        removed += with_writer!(db, |c| sqlx::query(&sql)
            .bind(now)
            .bind(limit)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
    }
    Ok(removed)
}
