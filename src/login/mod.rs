//! The hosted login flow ("fypass"), in the shape of the OAuth device flow (RFC 8628).
//!
//! 1. An app calls [`start_login`] (`POST /api/v1/users/login`) and gets a reqToken and
//!    the URL of the hosted page.
//! 2. The person opens it: `crate::pages` serves the login, register and status pages; their
//!    forms call [`fypass_login`] / [`fypass_register`] (also plain REST), or post as plain
//!    HTML forms to the page itself when JavaScript is off (`forms`).
//! 3. The app polls [`get_login_status`] (`GET /api/v1/users/login-status`) and gets the access
//!    token on the first poll after completion, and never again.
//!
//! The rules live in `flow` (server only); `requests` is the `login_requests` table,
//! `throttle` the brute-force counters, `reauth` the recent proof some changes need, and
//! `kit` what the pages share with the plain-form handlers (`forms`).

#[cfg(feature = "ssr")]
pub(crate) mod flow;
#[cfg(feature = "ssr")]
pub mod forms;
pub mod kit;
#[cfg(feature = "ssr")]
pub mod reauth;
#[cfg(feature = "ssr")]
pub mod requests;
#[cfg(feature = "ssr")]
pub mod step;
#[cfg(feature = "ssr")]
pub use requests::purge;
#[cfg(feature = "ssr")]
pub mod throttle;

use crate::{api::JsonBody, devices::DeviceInfo, error::ApiError, json_body, users::User};
use leptos::{prelude::*, server_fn::codec::GetUrl};
use serde::{Deserialize, Serialize};

/// How long an app should wait between two polls of the login status, in seconds.
pub const POLL_INTERVAL_SECS: u32 = 2;
/// The prefix of a reqToken.
pub const REQ_TOKEN_PREFIX: &str = "fyr_";
/// Wrong user-code confirmations after which a login request is void.
pub const MAX_CONFIRM_FAILURES: i64 = 5;
/// How long a sign-in waits for its second factor, in seconds ([`step`]).
pub const STEP_SECS: i64 = 300;
/// Wrong codes after which a sign-in waiting for its second factor is void (the person
/// signs in again).
pub const MAX_STEP_FAILURES: i64 = 5;

/// How a person proved who they are: what `login::flow::finish` is told, and what the
/// activity list shows. A passkey and a first factor followed by the second are strong
/// (two factors); the others are one factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proof {
    Password,
    /// A one-time sign-in code sent to the person.
    Code,
    /// A password recovery with a code sent to the person.
    Recovery,
    /// A new account (it has no second factor yet).
    Registration,
    Passkey,
    /// The first factor, then the authenticator app or a recovery code.
    SecondFactor,
}

impl Proof {
    /// Whether this proof is two factors (SPEC §16: "a passkey counts as both factors").
    pub fn is_strong(self) -> bool {
        matches!(self, Proof::Passkey | Proof::SecondFactor)
    }

    /// The name stored with a waiting second step and in the activity list.
    pub fn as_str(self) -> &'static str {
        match self {
            Proof::Password => "password",
            Proof::Code => "code",
            Proof::Recovery => "recovery",
            Proof::Registration => "registration",
            Proof::Passkey => "passkey",
            Proof::SecondFactor => "second_factor",
        }
    }

    pub fn parse(s: &str) -> Option<Proof> {
        [
            Proof::Password,
            Proof::Code,
            Proof::Recovery,
            Proof::Registration,
            Proof::Passkey,
            Proof::SecondFactor,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }
}

/// Length limits of the flow's text fields, in characters.
pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_URL_CHARS: usize = 2048;
pub const MAX_LOCALE_CHARS: usize = 35;

/// Which page the person should see first.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoginMode {
    #[default]
    Login,
    Register,
}

/// The body of Login (UI by fypass). Every field is optional.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartLoginBody {
    /// Where to send the person afterwards; must start with one of the client's redirect URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<LoginMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// The device the login is for: saved for the person when they complete it, and bound
    /// to their access token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_info: Option<DeviceInfo>,
    /// `mfa`: only a sign-in with two factors completes the request (a passkey, or a
    /// password or code and then the person's second factor); a person without a second
    /// factor is answered `MFA_REQUIRED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require: Option<Require>,
}

/// What a login request asks of the sign-in that completes it.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Require {
    /// Two factors (SPEC §16).
    Mfa,
}

/// The Fypass URL schema: what an app shows or opens for the person.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FypassUrl {
    pub req_token: String,
    pub url: String,
    /// The code to show beside `url` (`XXXX-XXXX`, RFC 8628's user code): a person who
    /// completes the request on another network than the one that started it is shown
    /// this code and asked to confirm their device shows it too.
    pub user_code: String,
    pub expires_at: String,
    /// Seconds to wait between polls of the login status.
    pub interval: u32,
}

/// Where a login request stands.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LoginStatus {
    Pending,
    LoggedIn,
    Registered,
    Expired,
}

impl LoginStatus {
    pub fn is_done(self) -> bool {
        matches!(self, LoginStatus::LoggedIn | LoginStatus::Registered)
    }
}

/// Get User Login / Register Status.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginStatusReply {
    pub status: LoginStatus,
    pub expires_at: String,
    /// Only on the first poll after completion, with the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_expires_at: Option<String>,
    /// With the access token: trade it for a new pair at `POST /api/v1/users/token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_expires_at: Option<String>,
}

/// The hosted login form.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginBody {
    /// The login request to complete; without one, the person signs in to fypass only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req_token: Option<String>,
    /// An email address or a WhatsApp number, in any usual spelling.
    pub identifier: String,
    pub password: String,
}

/// The hosted registration form (an email address, a WhatsApp number, or both).
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req_token: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whatsapp: Option<String>,
    pub password: String,
}

/// A completed hosted login or registration.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Completion {
    /// `LOGGED_IN` or `REGISTERED`; `PENDING` when the person must first verify an email
    /// address or number (`FYPASS_VERIFICATION=required`).
    pub status: LoginStatus,
    /// The app's page to continue on, when the login request named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
    /// The email addresses and numbers a verification code was just sent to, which the
    /// person should (or, when `status` is `PENDING`, must) verify with
    /// `POST /api/v1/fypass/verify`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verify: Vec<String>,
    /// The password (or code) was right and the person has a second factor: `status` is
    /// `PENDING` until its code is given to `POST /api/v1/fypass/mfa`, in this same browser
    /// (the reply's cookie holds the waiting sign-in for five minutes).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub second_factor: bool,
}

/// `POST /api/v1/users/login` — Login (UI by fypass): starts a login request. Replies 201.
#[server(prefix = "/api/v1", endpoint = "users/login", input = JsonBody, input_derive = (Clone, serde::Serialize))]
#[middleware(crate::clients::auth::RequireGrant(crate::clients::Grant::UsersLogin))]
pub async fn start_login(#[server(flatten)] body: StartLoginBody) -> Result<FypassUrl, ApiError> {
    let client = crate::clients::auth::current_client()?;
    let (state, caller) = crate::request::Caller::current()?;
    let url = flow::start(&state, &caller, &client, body).await?;
    crate::request::reply_status(axum::http::StatusCode::CREATED);
    Ok(url)
}
json_body!(StartLogin {
    body: StartLoginBody
});

/// `GET /api/v1/users/login-status?reqToken=` — Get User Login / Register Status.
#[server(prefix = "/api/v1", endpoint = "users/login-status", input = GetUrl)]
#[middleware(crate::clients::auth::RequireGrant(crate::clients::Grant::UsersStatus))]
pub async fn get_login_status(
    #[server(rename = "reqToken")] req_token: String,
) -> Result<LoginStatusReply, ApiError> {
    let client = crate::clients::auth::current_client()?;
    flow::status(&crate::request::state()?, &client, &req_token).await
}

/// `POST /api/v1/fypass/login` — the hosted login form.
#[server(prefix = "/api/v1", endpoint = "fypass/login", input = JsonBody, input_derive = (Clone, serde::Serialize), client = crate::api::PageClient)]
pub async fn fypass_login(#[server(flatten)] body: LoginBody) -> Result<Completion, ApiError> {
    let (state, caller) = crate::request::Caller::current()?;
    let done = flow::login(&state, &caller, body).await?;
    done.cookies
        .into_iter()
        .for_each(crate::request::reply_cookie);
    Ok(done.completion)
}
json_body!(FypassLogin { body: LoginBody });

/// `POST /api/v1/fypass/register` — the hosted registration form.
#[server(prefix = "/api/v1", endpoint = "fypass/register", input = JsonBody, input_derive = (Clone, serde::Serialize), client = crate::api::PageClient)]
pub async fn fypass_register(
    #[server(flatten)] body: RegisterBody,
) -> Result<Completion, ApiError> {
    let (state, caller) = crate::request::Caller::current()?;
    let done = flow::register(&state, &caller, body).await?;
    done.cookies
        .into_iter()
        .for_each(crate::request::reply_cookie);
    Ok(done.completion)
}
json_body!(FypassRegister { body: RegisterBody });

/// The user-code confirmation of the hosted pages.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfirmBody {
    pub req_token: String,
    /// The user code the page showed (`XXXX-XXXX`, any spelling).
    pub user_code: String,
}

/// A login request confirmed in this browser.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Confirmed {
    pub confirmed: bool,
}

/// `POST /api/v1/fypass/confirm` — the person confirms the device's code (RFC 8628 §5.4), for
/// this browser: the reply's cookie is the confirmation.
#[server(prefix = "/api/v1", endpoint = "fypass/confirm", input = JsonBody, input_derive = (Clone, serde::Serialize), client = crate::api::PageClient)]
pub async fn fypass_confirm(#[server(flatten)] body: ConfirmBody) -> Result<Confirmed, ApiError> {
    let (state, caller) = crate::request::Caller::current()?;
    crate::request::reply_cookie(flow::confirm(&state, &caller, &body).await?);
    Ok(Confirmed { confirmed: true })
}
json_body!(FypassConfirm { body: ConfirmBody });

// ---- Page endpoints: called by the hosted pages only, not part of the REST API. ----------

/// What the login and register pages need to render.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageContext {
    pub request: Option<RequestView>,
    /// The person signed in in this browser, if any.
    pub signed_in: Option<User>,
    /// Whether passkeys work at this address.
    pub passkeys: bool,
}

/// A login request as the person may see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestView {
    pub client_name: String,
    /// What the app called the device the request is for ("Living room TV"), if anything.
    pub device_name: Option<String>,
    /// `XXXX-XXXX`.
    pub user_code: Option<String>,
    /// Whether this person must confirm the user code before completing the request.
    pub needs_confirmation: bool,
    pub mode: LoginMode,
    pub status: LoginStatus,
    /// Only once the request is completed.
    pub redirect_url: Option<String>,
    /// The hosted page's URL for this request (for the QR code).
    pub fypass_url: String,
}

/// The page context for `reqToken` (an unknown, expired or finished one is an error).
#[server(prefix = "/_app", endpoint = "fypass/context", input = GetUrl, client = crate::api::PageClient)]
pub async fn get_page_context(
    #[server(default)]
    #[server(rename = "reqToken")]
    req_token: Option<String>,
) -> Result<PageContext, ApiError> {
    let (state, caller) = crate::request::Caller::current()?;
    flow::page_context(&state, &caller, req_token.as_deref()).await
}

/// Completes `reqToken` as the person signed in in this browser ("Continue as …").
#[server(prefix = "/_app", endpoint = "fypass/continue", input = JsonBody, client = crate::api::PageClient)]
pub async fn continue_as(
    #[server(rename = "reqToken")] req_token: String,
) -> Result<Completion, ApiError> {
    let (state, caller) = crate::request::Caller::current()?;
    flow::continue_as(&state, &caller, &req_token).await
}

/// The live part of the status page, polled while the request is pending.
#[server(prefix = "/_app", endpoint = "fypass/poll", input = GetUrl, client = crate::api::PageClient)]
pub async fn poll_request(
    #[server(rename = "reqToken")] req_token: String,
) -> Result<RequestView, ApiError> {
    flow::request_view(&crate::request::state()?, &req_token).await
}
