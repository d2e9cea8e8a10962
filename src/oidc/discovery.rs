//! Discovery (OpenID Connect Discovery 1.0; RFC 8414 serves the same document) and the
//! JWKS. Both are public and cacheable by anyone, so they carry
//! `Access-Control-Allow-Origin: *` (a browser app reads them before it signs anyone in).

use super::{SCOPES, errors::OAuthError, keys};
use crate::state::AppState;
use axum::{
    Json,
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

/// The provider's metadata.
pub fn document(issuer: &str) -> Value {
    let at = |path: &str| format!("{issuer}{path}");
    json!({
        "issuer": issuer,
        "authorization_endpoint": at("/oauth/authorize"),
        "token_endpoint": at("/oauth/token"),
        "userinfo_endpoint": at("/oauth/userinfo"),
        "jwks_uri": at("/oauth/jwks"),
        "revocation_endpoint": at("/oauth/revoke"),
        "introspection_endpoint": at("/oauth/introspect"),
        "end_session_endpoint": at("/oauth/logout"),
        "device_authorization_endpoint": at("/oauth/device_authorization"),
        "scopes_supported": SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": [
            "authorization_code",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:device_code"
        ],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": keys::SigningAlg::ALL.map(keys::SigningAlg::as_str),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login"],
        "acr_values_supported": [super::ACR_ONE, super::ACR_MFA],
        "ui_locales_supported": ["en", "id"],
        "claims_supported": [
            "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "amr", "acr", "sid", "azp",
            "at_hash", "name", "email", "email_verified", "phone_number", "phone_number_verified"
        ],
        "authorization_response_iss_parameter_supported": true,
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "frontchannel_logout_supported": false,
        "backchannel_logout_supported": false,
    })
}

fn public(mut res: Response) -> Response {
    let headers = res.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    res
}

/// `GET /.well-known/openid-configuration` and `/.well-known/oauth-authorization-server`.
pub async fn configuration(State(state): State<AppState>) -> Response {
    public(Json(document(&super::issuer(&state))).into_response())
}

/// `GET /oauth/jwks`: every published key (the signing one, one waiting for its publish
/// delay, and retired ones whose tokens may still be alive).
pub async fn jwks(State(state): State<AppState>) -> Response {
    match keys::jwks(&state.db, &state.config).await {
        Ok(set) => {
            let mut res = public(Json(set).into_response());
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/jwk-set+json"),
            );
            res
        }
        Err(e) => OAuthError::from(e).into_response(),
    }
}
