//! What a grant issues, whichever grant it is (a code, a refresh, a device's poll) and
//! what userinfo reads back: the token reply, the ID token with the claims the scope grants,
//! and the record of what the sign-in was granted (its scope, session, time and methods),
//! which later refreshes and userinfo answer from.
//!
//! The ID token (OpenID Connect Core §2) names the person (`sub`), the app (`aud`, `azp`),
//! when and how they signed in (`auth_time`, `amr`, `acr`), the browser session (`sid`),
//! the request's `nonce`, the access token it came with (`at_hash`), and what the scope
//! grants: `name`; `email`, `email_verified`; `phone_number` (E.164),
//! `phone_number_verified`.

use super::{
    Scope,
    errors::{Kind, OAuthError},
    keys,
};
use crate::{
    clients::store::Client,
    db::{Db, Tx, db_row, now_ms, with_reader, with_tx},
    error::{ApiError, ErrorCode},
    state::AppState,
    tokens::{TokenPair, refresh},
    users::store::{self as users, UserRow, refusal},
};
use axum::{
    Json,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use uuid::Uuid;

/// A token reply (RFC 6749 §5.1, OpenID Connect Core §3.1.3.3).
#[derive(Serialize)]
pub struct Reply {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    pub scope: String,
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut res = Json(self).into_response();
        res.headers_mut()
            .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        res
    }
}

/// The person a grant is for, if they may still get tokens: active, and not signed out
/// everywhere since `granted_at` (`tokens::collectable`, which also locks their row).
pub async fn person(
    tx: &mut Tx<'_>,
    user_id: Uuid,
    granted_at: i64,
) -> Result<UserRow, OAuthError> {
    let user = users::find_in(tx, user_id)
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("The person no longer exists."))?;
    if let Some(code) = refusal(user.status()) {
        return Err(OAuthError::new(Kind::InvalidGrant, ApiError::new(code)));
    }
    if !crate::tokens::collectable(tx, user.id, granted_at).await? {
        return Err(OAuthError::invalid_grant(
            "The person signed out everywhere since; sign them in again.",
        ));
    }
    Ok(user)
}

/// How the person of a grant signed in.
pub struct Granted<'a> {
    pub session_id: Option<Uuid>,
    pub auth_time: i64,
    pub amr: Option<&'a str>,
}

/// Starts the token family of a grant and records what it was granted.
pub async fn start(
    tx: &mut Tx<'_>,
    state: &AppState,
    client: &Client,
    user: &UserRow,
    scope: &Scope,
    granted: Granted<'_>,
) -> Result<(TokenPair, Uuid), OAuthError> {
    let pair = crate::tokens::start_family(tx, &state.config, user.id, client.id, None).await?;
    let family = refresh::find_in(tx, &pair.refresh_token, client.id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::InternalError))?
        .family_id;
    record_grant(tx, state, family, client.id, user.id, scope, &granted).await?;
    Ok((pair, family))
}

/// Records what the sign-in of token family `family` was granted.
pub async fn record_grant(
    tx: &mut Tx<'_>,
    state: &AppState,
    family: Uuid,
    client_id: Uuid,
    user_id: Uuid,
    scope: &Scope,
    granted: &Granted<'_>,
) -> Result<(), ApiError> {
    let now = now_ms();
    let sql = "INSERT INTO oidc_grants (family_id, client_id, user_id, scope, session_id, auth_time, amr, created_at, expires_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    with_tx!(tx, |c| sqlx::query(sql)
        .bind(family)
        .bind(client_id)
        .bind(user_id)
        .bind(scope.to_string())
        .bind(granted.session_id)
        .bind(granted.auth_time)
        .bind(granted.amr)
        .bind(now)
        .bind(now + state.config.refresh_ttl_secs as i64 * 1000)
        .execute(c)
        .await
        .map(drop))?;
    Ok(())
}

/// The token reply; the refresh token only with `offline_access`.
pub fn reply(state: &AppState, pair: TokenPair, scope: &Scope, id_token: Option<String>) -> Reply {
    Reply {
        access_token: pair.access_token,
        token_type: "Bearer",
        expires_in: state.config.token_ttl_secs,
        refresh_token: scope.has("offline_access").then_some(pair.refresh_token),
        id_token,
        scope: scope.to_string(),
    }
}

/// The claims the scope grants about `user` (ID token and userinfo alike).
pub fn person_claims(user: &UserRow, scope: &Scope) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::Value;
    let mut claims = serde_json::Map::new();
    claims.insert("sub".into(), Value::String(user.id.to_string()));
    if scope.has("profile") {
        claims.insert("name".into(), Value::String(user.name.clone()));
    }
    if scope.has("email")
        && let Some(email) = &user.email
    {
        claims.insert("email".into(), Value::String(email.clone()));
        claims.insert(
            "email_verified".into(),
            Value::Bool(user.email_verified_at.is_some()),
        );
    }
    if scope.has("phone")
        && let Some(phone) = &user.whatsapp
    {
        claims.insert("phone_number".into(), Value::String(phone.clone()));
        claims.insert(
            "phone_number_verified".into(),
            Value::Bool(user.whatsapp_verified_at.is_some()),
        );
    }
    claims
}

/// A signed ID token, with how it is signed when the caller read that already (else it is
/// looked up).
#[allow(clippy::too_many_arguments)]
pub async fn id_token(
    state: &AppState,
    client_id: Uuid,
    signing: Option<keys::Signing>,
    user: &UserRow,
    scope: &Scope,
    granted: &Granted<'_>,
    nonce: Option<&str>,
    access_token: &str,
) -> Result<String, OAuthError> {
    use serde_json::{Value, json};
    let now = now_ms() / 1000;
    let mut claims = person_claims(user, scope);
    claims.insert("iss".into(), Value::String(super::issuer(state)));
    claims.insert("aud".into(), Value::String(client_id.to_string()));
    claims.insert("azp".into(), Value::String(client_id.to_string()));
    claims.insert("iat".into(), json!(now));
    claims.insert(
        "exp".into(),
        json!(now + state.config.token_ttl_secs as i64),
    );
    claims.insert("auth_time".into(), json!(granted.auth_time / 1000));
    if let Some(nonce) = nonce {
        claims.insert("nonce".into(), Value::String(nonce.to_string()));
    }
    if let Some(amr) = granted.amr {
        let methods: Vec<&str> = amr.split(' ').filter(|m| !m.is_empty()).collect();
        // Two factors (a passkey counts as both, SPEC §16) meet `acr_values=mfa`.
        let acr = if methods.iter().any(|m| *m == "mfa" || *m == "hwk") {
            super::ACR_MFA
        } else {
            super::ACR_ONE
        };
        claims.insert("amr".into(), json!(methods));
        claims.insert("acr".into(), Value::String(acr.into()));
    }
    if let Some(sid) = granted.session_id {
        claims.insert("sid".into(), Value::String(sid.to_string()));
    }
    claims.insert("at_hash".into(), Value::String(keys::at_hash(access_token)));
    let signing = match signing {
        Some(signing) => signing,
        None => keys::Signing {
            alg: super::client::id_token_alg(&state.db, client_id).await?,
            kid: None,
        },
    };
    Ok(keys::sign(&state.db, &state.config, &claims, &signing).await?)
}

db_row! {
    #[derive(Clone)]
    pub struct GrantRow {
        pub scope: String,
        pub session_id: Option<Uuid>,
        pub auth_time: i64,
        pub amr: Option<String>,
    }
}

/// What the sign-in of token family `family` was granted, if it was an OAuth one.
pub async fn grant_of(db: &Db, family: Uuid) -> Result<Option<GrantRow>, ApiError> {
    let sql = "SELECT scope, session_id, auth_time, amr FROM oidc_grants WHERE family_id = $1";
    Ok(with_reader!(db, |c| sqlx::query_as(sql)
        .bind(family)
        .fetch_optional(c)
        .await)?)
}
