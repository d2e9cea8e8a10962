//! One-time codes: account recovery, sign-in with a code, and proof that an email address
//! or WhatsApp number belongs to whoever typed it (`/docs#codes`).
//!
//! * [`fypass_recovery`] / [`fypass_code`] send a code to an identifier (by email or
//!   WhatsApp, through the outbox of `crate::courier`); the reply is the same, and as fast,
//!   whether or not an account has that identifier, and nothing is sent when none has.
//! * [`fypass_recovery_complete`] sets a new password with the code (what else a recovery
//!   removes is `recovery`'s rule), [`fypass_code_login`] signs in with it; both act
//!   on the one account that has the identifier (`users::store`), and complete the app's
//!   login request when they name one, exactly like a password sign-in.
//!   [`fypass_verify`] verifies an identifier for the person signed in in this browser,
//!   with a code sent for their account only.
//! * Codes: [`CODE_DIGITS`] digits from the OS RNG, stored hashed, valid for
//!   [`CODE_TTL_MINUTES`] minutes, void after [`MAX_CODE_FAILURES`] wrong tries (counted
//!   per code before comparing), single use (also under parallel submissions); sends are
//!   throttled per identifier and network, wrong codes per network; a wrong code answers
//!   alike whether or not the identifier has an account.
//!
//! The rules are in `flow`, what a recovery removes in `recovery`; the `codes` table, the
//! messages and the sending are in [`crate::onetime`] (login sends verification codes too);
//! the pages in `crate::pages::codes` (and `forms` without JavaScript).

#[cfg(feature = "ssr")]
pub(crate) mod flow;
#[cfg(feature = "ssr")]
pub mod forms;
#[cfg(feature = "ssr")]
mod recovery;

use crate::{api::JsonBody, error::ApiError, json_body, login::Completion};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

pub use crate::onetime::{CODE_DIGITS, CODE_TTL_MINUTES, MAX_CODE_FAILURES};
// The send cooldown and caps, and the wrong codes a network may type, are settings:
// `crate::limits::Limits`.

/// Send a code to an identifier.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendCodeBody {
    /// The app's login request to complete afterwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req_token: Option<String>,
    /// An email address or a WhatsApp number, in any usual spelling.
    pub identifier: String,
}

/// A send was accepted (the same reply whether or not an account has the identifier).
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sent {
    pub sent: bool,
    /// Seconds before another code can be sent to this identifier.
    pub retry_after: u64,
}

/// Set a new password with a recovery code.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecoveryCompleteBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req_token: Option<String>,
    pub identifier: String,
    pub code: String,
    pub new_password: String,
}

/// Sign in with a code.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CodeLoginBody {
    pub req_token: String,
    pub identifier: String,
    pub code: String,
}

/// Verify an identifier with the code sent to it.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifyBody {
    pub identifier: String,
    pub code: String,
}

/// Which identifier was verified.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentifierKind {
    Email,
    Whatsapp,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verified {
    pub verified: IdentifierKind,
}

/// `POST /api/v1/fypass/recovery` — sends a recovery code. Replies 202.
#[server(prefix = "/api/v1", endpoint = "fypass/recovery", input = JsonBody, input_derive = (Clone, serde::Serialize), client = crate::api::PageClient)]
pub async fn fypass_recovery(#[server(flatten)] body: SendCodeBody) -> Result<Sent, ApiError> {
    let (state, caller) = crate::request::Caller::current()?;
    let sent = flow::send(
        &state,
        &caller,
        crate::onetime::store::Purpose::Recovery,
        &body,
    )
    .await?;
    crate::request::reply_status(axum::http::StatusCode::ACCEPTED);
    Ok(sent)
}
json_body!(FypassRecovery { body: SendCodeBody });

/// `POST /api/v1/fypass/recovery/complete` — a new password with the code.
#[server(prefix = "/api/v1", endpoint = "fypass/recovery/complete", input = JsonBody, input_derive = (Clone, serde::Serialize), client = crate::api::PageClient)]
pub async fn fypass_recovery_complete(
    #[server(flatten)] body: RecoveryCompleteBody,
) -> Result<Completion, ApiError> {
    let (state, caller) = crate::request::Caller::current()?;
    let done = flow::complete_recovery(&state, &caller, body).await?;
    done.cookies
        .into_iter()
        .for_each(crate::request::reply_cookie);
    Ok(done.completion)
}
json_body!(FypassRecoveryComplete {
    body: RecoveryCompleteBody
});

/// `POST /api/v1/fypass/code` — sends a sign-in code. Replies 202.
#[server(prefix = "/api/v1", endpoint = "fypass/code", input = JsonBody, input_derive = (Clone, serde::Serialize), client = crate::api::PageClient)]
pub async fn fypass_code(#[server(flatten)] body: SendCodeBody) -> Result<Sent, ApiError> {
    let (state, caller) = crate::request::Caller::current()?;
    let sent = flow::send(
        &state,
        &caller,
        crate::onetime::store::Purpose::SignIn,
        &body,
    )
    .await?;
    crate::request::reply_status(axum::http::StatusCode::ACCEPTED);
    Ok(sent)
}
json_body!(FypassCode { body: SendCodeBody });

/// `POST /api/v1/fypass/code/login` — signs in with a code.
#[server(prefix = "/api/v1", endpoint = "fypass/code/login", input = JsonBody, input_derive = (Clone, serde::Serialize), client = crate::api::PageClient)]
pub async fn fypass_code_login(
    #[server(flatten)] body: CodeLoginBody,
) -> Result<Completion, ApiError> {
    let (state, caller) = crate::request::Caller::current()?;
    let done = flow::code_login(&state, &caller, body).await?;
    done.cookies
        .into_iter()
        .for_each(crate::request::reply_cookie);
    Ok(done.completion)
}
json_body!(FypassCodeLogin {
    body: CodeLoginBody
});

/// `POST /api/v1/fypass/verify` — verifies an email address or WhatsApp number.
#[server(prefix = "/api/v1", endpoint = "fypass/verify", input = JsonBody, input_derive = (Clone, serde::Serialize), client = crate::api::PageClient)]
pub async fn fypass_verify(#[server(flatten)] body: VerifyBody) -> Result<Verified, ApiError> {
    let (state, caller) = crate::request::Caller::current()?;
    flow::verify(&state, &caller, body).await
}
json_body!(FypassVerify { body: VerifyBody });
