//! The tokens an app holds for a person, and their whole life (`/docs#tokens`):
//!
//! 1. The login request's first poll after completion hands over an access token (an hour
//!    by default) and a refresh token (30 days), the two first tokens of a **family**: one
//!    sign-in of one person in one app (on one device, when the app named it).
//! 2. [`refresh_tokens`] (`POST /api/v1/users/token`) trades the refresh token for a new
//!    pair and rotates it; a rotated token presented again revokes the family, unless the
//!    same app presents it from the same device within a grace window (its own parallel
//!    request), which gets the same pair (`refresh`).
//! 3. [`get_me`] (`GET /api/v1/users/me`) tells the app whose access token it holds;
//!    [`introspect`] (`POST /api/v1/users/introspect`, RFC 7662) tells its back end whether
//!    any token still works, and for whom.
//! 4. [`logout`] (`POST /api/v1/users/logout`, RFC 7009's revocation) ends the family, or
//!    every family of the person in this app.
//!
//! A family also ends when the person's status changes, when the device it is bound to is
//! removed, and when the person changes their password.

#[cfg(feature = "ssr")]
pub mod access;
#[cfg(feature = "ssr")]
mod lifecycle;
#[cfg(feature = "ssr")]
mod pairs;
#[cfg(feature = "ssr")]
pub mod refresh;
#[cfg(feature = "ssr")]
pub mod rotation;

#[cfg(feature = "ssr")]
pub use lifecycle::{
    Family, collectable, introspect as introspect_token, refresh as refresh_pair, refresh_kept,
    revoke_family, revoke_for_device, revoke_for_user, set_user_status, start_family,
};

use crate::{api::JsonBody, error::ApiError, json_body, users::User};
use leptos::{prelude::*, server_fn::codec::GetUrl};
use serde::{Deserialize, Serialize};

/// How long after its rotation a refresh token presented again by the same app from the
/// same device gets the same new pair back (`refresh`), in seconds; also what the docs say.
pub const GRACE_SECS: i64 = 2;

/// A new pair of tokens.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenPair {
    /// Send as `Authorization: Bearer` on routes that act for the person.
    pub access_token: String,
    pub access_token_expires_at: String,
    /// Trade for a new pair with `POST /api/v1/users/token`; it works once.
    pub refresh_token: String,
    pub refresh_token_expires_at: String,
}

/// The body of a refresh.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefreshBody {
    pub refresh_token: String,
}

/// The body of an introspection: any token the app holds.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IntrospectBody {
    pub token: String,
}

/// Which kind of token an introspection looked at.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    Access,
    Refresh,
}

/// What a token is (RFC 7662's shape): `{ "active": false }` alone for anything that does
/// not work for this app — unknown, expired, revoked, rotated or another app's.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Introspection {
    pub active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<TokenType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// The body of a logout (every field optional).
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogoutBody {
    /// A refresh token to revoke too (its sign-in's, when it is another one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Sign the person out of this app everywhere: every token of theirs for this app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub everywhere: Option<bool>,
}

/// `POST /api/v1/users/token` — trades a refresh token for a new pair (rotation).
#[server(prefix = "/api/v1", endpoint = "users/token", input = JsonBody, input_derive = (Clone, serde::Serialize))]
#[middleware(crate::clients::auth::RequireGrant(crate::clients::Grant::UsersToken))]
pub async fn refresh_tokens(#[server(flatten)] body: RefreshBody) -> Result<TokenPair, ApiError> {
    let client = crate::clients::auth::current_client()?;
    let (state, caller) = crate::request::Caller::current()?;
    let device = refresh::device_of(caller.ip, caller.user_agent().as_deref());
    lifecycle::refresh(&state, client.id, &body.refresh_token, &device).await
}
json_body!(RefreshTokens { body: RefreshBody });

/// `GET /api/v1/users/me` — the person whose access token this is.
#[server(prefix = "/api/v1", endpoint = "users/me", input = GetUrl)]
#[middleware(crate::clients::auth::RequireGrant(crate::clients::Grant::UsersRead))]
pub async fn get_me() -> Result<User, ApiError> {
    let client = crate::clients::auth::current_client()?;
    let (state, caller) = crate::request::Caller::current()?;
    let token = caller.bearer()?.ok_or_else(lifecycle::no_bearer)?;
    let (user, _) = access::authenticate(&state.db, token, client.id).await?;
    Ok(user.view())
}

/// `POST /api/v1/users/introspect` — whether a token works for this app, and for whom.
#[server(prefix = "/api/v1", endpoint = "users/introspect", input = JsonBody, input_derive = (Clone, serde::Serialize))]
#[middleware(crate::clients::auth::RequireGrant(crate::clients::Grant::UsersRead))]
pub async fn introspect(
    #[server(flatten)] body: IntrospectBody,
) -> Result<Introspection, ApiError> {
    let client = crate::clients::auth::current_client()?;
    let state = crate::request::state()?;
    lifecycle::introspect(&state, client.id, &body.token).await
}
json_body!(Introspect {
    body: IntrospectBody
});

/// `POST /api/v1/users/logout` — revokes the Bearer access token's sign-in (or, with
/// `everywhere`, every sign-in of the person in this app). Replies 204.
#[server(prefix = "/api/v1", endpoint = "users/logout", input = JsonBody, input_derive = (Clone, serde::Serialize))]
#[middleware(crate::clients::auth::RequireGrant(crate::clients::Grant::UsersToken))]
pub async fn logout(#[server(flatten)] body: LogoutBody) -> Result<(), ApiError> {
    let client = crate::clients::auth::current_client()?;
    let (state, caller) = crate::request::Caller::current()?;
    let token = caller.bearer()?.ok_or_else(lifecycle::no_bearer)?;
    lifecycle::logout(&state, client.id, token, &body).await?;
    crate::request::reply_status(axum::http::StatusCode::NO_CONTENT);
    Ok(())
}
json_body!(Logout { body: LogoutBody });
