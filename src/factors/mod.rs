//! The second factor (SPEC §16): an authenticator app (TOTP, RFC 6238) with ten single-use
//! recovery codes, and the second step of a sign-in that asks for it.
//!
//! * **Enrolment** on `/account` ([`start_totp`], [`confirm_totp`], [`remove_totp`]): each
//!   needs a proof of who the person is in this browser within the last 5 minutes
//!   (`login::reauth::gate`). The QR code carries a fresh 160-bit secret; the factor is on
//!   once a code from the app is typed, and the recovery codes are shown once, then stored
//!   hashed. Turning it on ends the person's other browser sessions (proven with one
//!   factor); this one stays, counted as two factors, and apps' tokens stay. While it is on,
//!   [`renew_recovery_codes`] (the same proof) replaces the recovery codes: ten new ones
//!   shown once, the old ones void at once.
//! * **The second step**: a person with a factor who proves the first one (a password, a
//!   sign-in code, a recovery of their password) gets no session yet: `login::flow::finish`
//!   starts a step (`login::step`) held by that browser in a short-lived cookie, and the reply
//!   says `secondFactor: true`. [`fypass_second_factor`] takes a code from the app or a
//!   recovery code, and only then signs the browser in and completes the app's request. A
//!   passkey is both factors and skips the step.
//! * **Abuse**: every code typed at the second step takes a place in the sign-in counters
//!   (`login::throttle`) as a password would, a right one gives it back; a step is void after
//!   [`MAX_STEP_FAILURES`] wrong codes; a code from the app works once (the step it belongs
//!   to must be later than the last one accepted); a recovery code once.
//!
//! The factor's rows are `users::factor` and the waiting step `login::step`, below the login
//! flow that starts it; this module holds the rules, the server functions and the form.

#[cfg(feature = "ssr")]
pub mod flow;
#[cfg(feature = "ssr")]
pub mod forms;
#[cfg(feature = "ssr")]
pub mod totp;

use crate::{api::JsonBody, error::ApiError, json_body, login::Completion};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

pub use crate::login::{MAX_STEP_FAILURES, STEP_SECS};

/// The second step of a sign-in: a code from the authenticator app (6 digits) or one of the
/// recovery codes.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecondFactorBody {
    /// The login request the sign-in is for, when it is for an app (it must be the one the
    /// first step was for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req_token: Option<String>,
    /// `123456` from the authenticator app, or a recovery code (`xxxx-xxxx-xxxx-xxxx`).
    pub code: String,
}

/// `POST /api/v1/fypass/mfa` — the second step of a sign-in, in the browser that did the
/// first (it holds the step's cookie): signs the browser in and completes the login request.
#[server(prefix = "/api/v1", endpoint = "fypass/mfa", input = JsonBody, input_derive = (Clone, serde::Serialize), client = crate::api::PageClient)]
pub async fn fypass_second_factor(
    #[server(flatten)] body: SecondFactorBody,
) -> Result<Completion, ApiError> {
    let (state, caller) = crate::request::Caller::current()?;
    let done = flow::second_step(&state, &caller, body).await?;
    done.cookies
        .into_iter()
        .for_each(crate::request::reply_cookie);
    Ok(done.completion)
}
json_body!(FypassSecondFactor {
    body: SecondFactorBody
});

/// The authenticator app being set up: what the person scans or types into it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpSetup {
    /// The secret in base32, in groups of four (for typing it in by hand).
    pub secret: String,
    /// The `otpauth://totp/…` URI the QR code holds.
    pub uri: String,
    /// The QR code of `uri`, as SVG.
    pub qr_svg: String,
}

/// The second factor as `/account` shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondFactorView {
    /// An authenticator app is set up and asked for after a password or a code.
    pub on: bool,
    /// Recovery codes not used yet.
    pub recovery_codes_left: i64,
    /// An enrolment under way (shown only within the re-authentication window).
    pub setup: Option<TotpSetup>,
}

/// Starts setting up an authenticator app (a new secret each time); needs a recent proof of
/// who the person is, or their `password` with it.
#[server(prefix = "/_app", endpoint = "account/totp/start", input = JsonBody, client = crate::api::PageClient)]
pub async fn start_totp(
    #[server(default)] password: Option<String>,
) -> Result<TotpSetup, ApiError> {
    let (state, caller) = crate::request::Caller::current()?;
    flow::start(&state, &caller, password).await
}

/// Turns the authenticator app on with a code from it; replies with the recovery codes,
/// shown this once. Every other browser session of the person ends.
#[server(prefix = "/_app", endpoint = "account/totp/confirm", input = JsonBody, client = crate::api::PageClient)]
pub async fn confirm_totp(
    code: String,
    #[server(default)] password: Option<String>,
) -> Result<Vec<String>, ApiError> {
    let (state, caller) = crate::request::Caller::current()?;
    flow::confirm(&state, &caller, &code, password).await
}

/// Ten new recovery codes in place of the old ones, which stop working at once; replies with
/// them, shown this once. The second factor must be on.
#[server(prefix = "/_app", endpoint = "account/totp/recovery-codes", input = JsonBody, client = crate::api::PageClient)]
pub async fn renew_recovery_codes(
    #[server(default)] password: Option<String>,
) -> Result<Vec<String>, ApiError> {
    let (state, caller) = crate::request::Caller::current()?;
    flow::renew_codes(&state, &caller, password).await
}

/// Turns the second factor off (the app and the recovery codes).
#[server(prefix = "/_app", endpoint = "account/totp/remove", input = JsonBody, client = crate::api::PageClient)]
pub async fn remove_totp(#[server(default)] password: Option<String>) -> Result<(), ApiError> {
    let (state, caller) = crate::request::Caller::current()?;
    flow::remove(&state, &caller, password).await
}
