//! Which client is calling an OAuth route, and where it may be sent back to.
//!
//! `client_id` is the client's id and `client_secret` its key (SPEC §15), sent either in
//! HTTP Basic (`client_secret_basic`) or in the form body (`client_secret_post`), never
//! both. A public client (`fypass client create --public`: apps on phones, TVs and in
//! browsers) has no secret and sends only `client_id`; PKCE, required of every client, is
//! what binds its code to it. After the client is known, the same checks as on every
//! client route run (`clients::auth::admit`): status, then grant.

use super::errors::{Kind, OAuthError, Params};
use crate::{
    clients::{Grant, auth::admit, store::Client},
    db::{Db, Tx, with_reader, with_tx},
    error::{ApiError, ErrorCode},
    state::AppState,
};
use axum::http::{HeaderMap, header};
use base64::{Engine, engine::general_purpose::STANDARD};
use std::sync::Arc;
use uuid::Uuid;

/// Whether client `id` is public (has no secret).
pub async fn is_public(db: &Db, id: Uuid) -> Result<bool, ApiError> {
    let row: Option<(bool,)> = with_reader!(db, |c| sqlx::query_as(
        "SELECT public FROM clients WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?;
    Ok(row.is_some_and(|(p,)| p))
}

/// Marks client `id` public (`fypass client create --public`).
pub async fn make_public(tx: &mut Tx<'_>, id: Uuid) -> Result<(), ApiError> {
    with_tx!(tx, |c| sqlx::query(
        "UPDATE clients SET public = TRUE WHERE id = $1"
    )
    .bind(id)
    .execute(c)
    .await
    .map(drop))?;
    Ok(())
}

/// How client `id`'s ID tokens are signed (ES256 unless it asked for RS256).
pub async fn id_token_alg(db: &Db, id: Uuid) -> Result<super::keys::SigningAlg, ApiError> {
    let row: Option<(Option<String>,)> = with_reader!(db, |c| sqlx::query_as(
        "SELECT id_token_alg FROM clients WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)?;
    Ok(super::keys::SigningAlg::of_client(
        row.and_then(|(alg,)| alg).as_deref(),
    ))
}

/// Signs client `id`'s ID tokens with `alg` from now on (`fypass client set-id-token-alg`);
/// whether the client exists.
pub async fn set_id_token_alg(
    tx: &mut Tx<'_>,
    id: Uuid,
    alg: super::keys::SigningAlg,
) -> Result<bool, ApiError> {
    let stored = (alg != super::keys::SigningAlg::Es256).then_some(alg.as_str());
    Ok(with_tx!(tx, |c| sqlx::query(
        "UPDATE clients SET id_token_alg = $2 WHERE id = $1"
    )
    .bind(id)
    .bind(stored)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?
        == 1)
}

/// A `client_id` as sent: the client's UUID.
pub fn parse_id(raw: &str) -> Option<Uuid> {
    Uuid::parse_str(raw).ok()
}

/// The client `id`, if it exists.
pub async fn find(db: &Db, id: Uuid) -> Result<Option<Client>, ApiError> {
    crate::clients::store::find(db, id).await
}

/// The credentials of a request: from `Authorization: Basic` or the body.
struct Credentials {
    id: String,
    secret: Option<String>,
    basic: bool,
}

fn credentials(headers: &HeaderMap, params: &Params) -> Result<Credentials, OAuthError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"));
    let unknown = |basic: bool| OAuthError {
        basic_challenge: basic,
        ..OAuthError::of(Kind::InvalidClient, ErrorCode::UnknownClientKey)
    };
    match basic {
        Some((_, encoded)) => {
            if params.get("client_secret").is_some() {
                return Err(OAuthError::invalid_request(
                    "Authenticate the client one way: HTTP Basic or client_secret in the body, not both.",
                ));
            }
            let decoded = STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| unknown(true))?;
            let (id, secret) = decoded.split_once(':').ok_or_else(|| unknown(true))?;
            // RFC 6749 §2.3.1: both parts are form-urlencoded first.
            let decode = |s: &str| {
                form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            let id = decode(id);
            if params.get("client_id").is_some_and(|body_id| body_id != id) {
                return Err(OAuthError::invalid_request(
                    "client_id in the body differs from the one in HTTP Basic.",
                ));
            }
            Ok(Credentials {
                id,
                secret: Some(decode(secret)).filter(|s| !s.is_empty()),
                basic: true,
            })
        }
        None => Ok(Credentials {
            id: params.require("client_id")?.to_string(),
            secret: params.get("client_secret").map(str::to_owned),
            basic: false,
        }),
    }
}

/// Whether the request names its client without a secret (a public client): what it
/// starts, anyone could have started.
pub fn without_secret(headers: &HeaderMap, params: &Params) -> bool {
    credentials(headers, params).is_ok_and(|c| c.secret.is_none())
}

/// The client calling a token-side route (`/oauth/token`, `/oauth/revoke`, ...), which
/// must hold `grant`.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
    grant: Grant,
) -> Result<Arc<Client>, OAuthError> {
    let creds = credentials(headers, params)?;
    let fail = |code: ErrorCode| OAuthError {
        basic_challenge: creds.basic,
        ..OAuthError::of(Kind::InvalidClient, code)
    };
    let id = parse_id(&creds.id).ok_or_else(|| fail(ErrorCode::UnknownClientKey))?;
    let client = match &creds.secret {
        Some(secret) => crate::clients::ClientCache::of(state)
            .lookup(&state.db, secret)
            .await?
            .filter(|c| c.id == id)
            .ok_or_else(|| fail(ErrorCode::UnknownClientKey))?,
        None => {
            let client = find(&state.db, id)
                .await?
                .ok_or_else(|| fail(ErrorCode::UnknownClientKey))?;
            if !is_public(&state.db, id).await? {
                return Err(OAuthError {
                    api: ApiError::with_message(
                        ErrorCode::UnknownClientKey,
                        "This client must authenticate with its client_secret (its key).",
                    ),
                    ..fail(ErrorCode::UnknownClientKey)
                });
            }
            Arc::new(client)
        }
    };
    admitted(client, grant).map_err(|e| OAuthError {
        basic_challenge: creds.basic,
        ..e
    })
}

/// The client calling a route that serves sign-ins of either kind (refresh, revoke,
/// introspect): it must hold `oauth.code` or `oauth.device`.
pub async fn authenticate_any(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Arc<Client>, OAuthError> {
    match authenticate(state, headers, params, Grant::OauthCode).await {
        Err(e) if e.kind == Kind::UnauthorizedClient => {
            authenticate(state, headers, params, Grant::OauthDevice).await
        }
        other => other,
    }
}

/// `client`, if its status and grants let it use a route of `grant`.
pub fn admitted(client: Arc<Client>, grant: Grant) -> Result<Arc<Client>, OAuthError> {
    admit(client, grant).map_err(|e| {
        let kind = if e.is(ErrorCode::EndpointNotGranted) {
            Kind::UnauthorizedClient
        } else {
            Kind::InvalidClient
        };
        OAuthError::new(kind, e)
    })
}

/// Whether `uri` is one of `registered`, exactly; for a loopback `http` URI (a native app,
/// RFC 8252 §7.3) only the port may differ, as the app listens wherever the system lets it.
pub fn redirect_allowed(uri: &str, registered: &[String]) -> bool {
    registered
        .iter()
        .any(|r| r == uri || same_but_loopback_port(r, uri))
}

fn same_but_loopback_port(registered: &str, uri: &str) -> bool {
    let (Ok(r), Ok(u)) = (url::Url::parse(registered), url::Url::parse(uri)) else {
        return false;
    };
    let loopback = match r.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    // The parsed forms must be the very strings sent: no normalization may make two
    // different texts equal (`/a/../b`, `%2e`, a default port, upper-case host).
    loopback
        && r.scheme() == "http"
        && u.as_str() == uri
        && r.as_str() == registered
        && u.scheme() == "http"
        && u.host() == r.host()
        && u.path() == r.path()
        && u.query() == r.query()
        && u.fragment().is_none()
        && u.username().is_empty()
        && u.password().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_match_exactly_but_for_a_loopback_port() {
        let reg = vec![
            "https://app.example.com/cb".to_string(),
            "http://127.0.0.1/cb".to_string(),
            "http://[::1]:8080/cb".to_string(),
        ];
        for ok in [
            "https://app.example.com/cb",
            "http://127.0.0.1/cb",
            "http://127.0.0.1:51234/cb",
            "http://[::1]:1/cb",
        ] {
            assert!(redirect_allowed(ok, &reg), "{ok}");
        }
        for bad in [
            "https://app.example.com/cb/",
            "https://app.example.com/cb?x=1",
            "https://app.example.com/cb#x",
            "https://app.example.com/cb/../cb",
            "https://app.example.com:443/cb",
            "https://APP.example.com/cb",
            "https://app.example.com.evil.net/cb",
            "http://app.example.com/cb",
            "https://app.example.com",
            "http://127.0.0.1:5000/cb/x",
            "http://127.0.0.1:5000/cb?x",
            "http://user@127.0.0.1:5000/cb",
            "http://127.0.0.2:5000/cb",
            "http://localhost:5000/cb",
        ] {
            assert!(!redirect_allowed(bad, &reg), "{bad}");
        }
    }
}
