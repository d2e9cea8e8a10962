//! Passkeys (WebAuthn): sign in with a fingerprint or a screen lock instead of a password
//! (`/docs#passkeys`).
//!
//! * On `/account` the signed-in person adds passkeys ([`passkey_register_start`] /
//!   [`passkey_register_finish`]), names, renames and removes them.
//! * The sign-in page offers "Sign in with a passkey" and passkey autofill
//!   ([`passkey_login_start`] / [`passkey_login_finish`]); a passkey sign-in completes the
//!   app's login request exactly as a password does.
//!
//! The relying party is the host of `FYPASS_PUBLIC_URL` (https, or `http://localhost`:
//! browsers refuse anything else); on any other public URL passkeys are off. Each ceremony's
//! state travels signed in its id and is single use and short-lived (`store`): starting one
//! writes nothing, and any node can finish what another started. The server side is `webauthn-rs` (`flow`); the browser side
//! is this crate's WASM (`browser`).

#[cfg(feature = "hydrate")]
pub mod browser;
#[cfg(feature = "ssr")]
pub(crate) mod flow;
#[cfg(feature = "ssr")]
pub mod store;

use crate::{api::JsonBody, error::ApiError, json_body, login::Completion};
use leptos::{
    prelude::*,
    server_fn::codec::{DeleteUrl, GetUrl},
};
use serde::{Deserialize, Serialize};

/// How long a ceremony may take (the browser's timeout, and its stored state's life).
pub const CEREMONY_SECS: u64 = 300;
pub const MAX_NAME_CHARS: usize = 64;

/// A ceremony to run in the browser: its id, and the options for
/// `navigator.credentials.create` / `get` (WebAuthn's JSON form).
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasskeyChallenge {
    pub ceremony_id: String,
    /// `PublicKeyCredentialCreationOptions` or `PublicKeyCredentialRequestOptions` as JSON.
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub public_key: serde_json::Value,
}

/// Start a passkey sign-in.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasskeyLoginStartBody {
    /// The login request the sign-in completes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req_token: Option<String>,
}

/// Finish a ceremony with what the browser's authenticator answered.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasskeyFinishBody {
    pub ceremony_id: String,
    /// The `PublicKeyCredential`, as its `toJSON()` gives it.
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub credential: serde_json::Value,
    /// What to call a new passkey ("Pixel 8").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Start adding a passkey: the person must have proved who they are in this browser within
/// the last 5 minutes (`REAUTHENTICATION_REQUIRED` otherwise), or give their password here.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasskeyRegisterStartBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// A passkey of the signed-in person.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasskeyView {
    pub id: String,
    pub name: String,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
    /// Whether it is synced to the person's other devices (backed up).
    pub synced: bool,
}

/// Rename a passkey.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasskeyRenameBody {
    pub id: String,
    pub name: String,
}

/// `POST /api/v1/fypass/passkeys/login/start` — starts a passkey sign-in.
#[server(prefix = "/api/v1", endpoint = "fypass/passkeys/login/start", input = JsonBody, input_derive = (Clone, serde::Serialize), client = crate::api::PageClient)]
pub async fn passkey_login_start(
    #[server(flatten)] body: PasskeyLoginStartBody,
) -> Result<PasskeyChallenge, ApiError> {
    let (state, caller) = crate::request::Caller::current()?;
    flow::login_start(&state, &caller, body.req_token.as_deref()).await
}
json_body!(PasskeyLoginStart {
    body: PasskeyLoginStartBody
});

/// `POST /api/v1/fypass/passkeys/login/finish` — signs in with the passkey.
#[server(prefix = "/api/v1", endpoint = "fypass/passkeys/login/finish", input = JsonBody, input_derive = (Clone, serde::Serialize), client = crate::api::PageClient)]
pub async fn passkey_login_finish(
    #[server(flatten)] body: PasskeyFinishBody,
) -> Result<Completion, ApiError> {
    let (state, caller) = crate::request::Caller::current()?;
    let done = flow::login_finish(&state, &caller, &body).await?;
    done.cookies
        .into_iter()
        .for_each(crate::request::reply_cookie);
    Ok(done.completion)
}
json_body!(PasskeyLoginFinish {
    body: PasskeyFinishBody
});

/// `POST /api/v1/account/passkeys/register/start` — starts adding a passkey.
#[server(prefix = "/api/v1", endpoint = "account/passkeys/register/start", input = JsonBody, input_derive = (Clone, serde::Serialize), client = crate::api::PageClient)]
pub async fn passkey_register_start(
    #[server(flatten)] body: PasskeyRegisterStartBody,
) -> Result<PasskeyChallenge, ApiError> {
    let (state, caller) = crate::request::Caller::current()?;
    flow::register_start(&state, &caller, body.password).await
}
json_body!(PasskeyRegisterStart {
    body: PasskeyRegisterStartBody
});

/// `POST /api/v1/account/passkeys/register/finish` — stores the new passkey.
#[server(prefix = "/api/v1", endpoint = "account/passkeys/register/finish", input = JsonBody, input_derive = (Clone, serde::Serialize), client = crate::api::PageClient)]
pub async fn passkey_register_finish(
    #[server(flatten)] body: PasskeyFinishBody,
) -> Result<PasskeyView, ApiError> {
    let (state, caller) = crate::request::Caller::current()?;
    let view = flow::register_finish(&state, &caller, &body).await?;
    crate::request::reply_status(axum::http::StatusCode::CREATED);
    Ok(view)
}
json_body!(PasskeyRegisterFinish {
    body: PasskeyFinishBody
});

/// `GET /api/v1/account/passkeys` — the signed-in person's passkeys, newest first.
#[server(prefix = "/api/v1", endpoint = "account/passkeys", input = GetUrl, client = crate::api::PageClient)]
pub async fn list_passkeys() -> Result<Vec<PasskeyView>, ApiError> {
    let (state, caller) = crate::request::Caller::current()?;
    flow::list(&state, &caller).await
}

/// `POST /api/v1/account/passkeys/rename` — renames one of them.
#[server(prefix = "/api/v1", endpoint = "account/passkeys/rename", input = JsonBody, input_derive = (Clone, serde::Serialize), client = crate::api::PageClient)]
pub async fn rename_passkey(
    #[server(flatten)] body: PasskeyRenameBody,
) -> Result<PasskeyView, ApiError> {
    let (state, caller) = crate::request::Caller::current()?;
    flow::rename(&state, &caller, &body.id, &body.name).await
}
json_body!(RenamePasskey {
    body: PasskeyRenameBody
});

/// `DELETE /api/v1/account/passkeys/{id}` — removes one of them. Replies 204.
#[server(prefix = "/api/v1", endpoint = "account/passkeys/{id}", input = DeleteUrl, client = crate::api::PageClient)]
pub async fn remove_passkey(id: String) -> Result<(), ApiError> {
    let (state, caller) = crate::request::Caller::current()?;
    flow::remove(&state, &caller, &id).await?;
    crate::request::reply_status(axum::http::StatusCode::NO_CONTENT);
    Ok(())
}

/// The same for `/account`'s Remove button: a browser's server-function call cannot fill
/// the path parameter of the REST route.
#[server(prefix = "/_app", endpoint = "passkeys/remove", input = JsonBody, client = crate::api::PageClient)]
pub async fn remove_passkey_from_page(id: String) -> Result<(), ApiError> {
    let (state, caller) = crate::request::Caller::current()?;
    flow::remove(&state, &caller, &id).await
}
