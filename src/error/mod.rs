//! The one error type of fypass, shared by the server and the browser.
//!
//! Every failure anywhere — a REST reply, a server function called by a hydrated page, a
//! framework rejection, a plain-HTML form — ends up as an [`ApiError`]: a code from
//! [`ErrorCode`] plus a human message (and field `details` for validation). The table in
//! [`error_codes!`] below is the only place a code's HTTP status, default message,
//! "solution" line and documentation group are written; the API, the pages and the
//! `/docs/errors` list all read it.

mod decode;
#[cfg(feature = "ssr")]
mod http;

pub use decode::describe_message;
pub(crate) use decode::strip_position;

use crate::locale::{self, Locale};
use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The groups of the source's Error Code List, in its order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorGroup {
    Clients,
    Users,
    Others,
}

impl ErrorGroup {
    pub const ALL: [ErrorGroup; 3] = [Self::Clients, Self::Users, Self::Others];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Clients => "Clients",
            Self::Users => "Users",
            Self::Others => "Others",
        }
    }
}

/// Declares [`ErrorCode`] and its lookup functions from one table, so that a code cannot
/// exist without its status and group, nor (through the translations' typed keys) without
/// its message and solution in every language.
macro_rules! error_codes {
    ($(
        $(#[$doc:meta])*
        $variant:ident = $code:literal {
            status: $status:literal,
            group: $group:ident,
            seed: $seed:literal $(,)?
        }
    )*) => {
        /// Every error code fypass answers with. Serializes as the exact code string (its
        /// OpenAPI schema, below, lists the same strings).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum ErrorCode {
            $( $(#[$doc])* #[serde(rename = $code)] $variant, )*
        }

        impl ErrorCode {
            /// All codes, in documentation order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The wire spelling, e.g. `"UNITSYSTEM00001"`.
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $code,)* }
            }

            /// The HTTP status an error with this code is answered with.
            pub const fn status(self) -> u16 {
                match self { $(Self::$variant => $status,)* }
            }

            /// The section of the Error Code List this code is listed under.
            pub const fn group(self) -> ErrorGroup {
                match self { $(Self::$variant => ErrorGroup::$group,)* }
            }

            /// Whether the code comes from the source documentation (others were added by fypass).
            pub const fn from_source(self) -> bool {
                match self { $(Self::$variant => $seed,)* }
            }

            /// The default message of an error with this code, in `locale` (the texts are
            /// `<Variant>.message` in `src/locales/*/errors.json`; one missing in any
            /// language fails the build).
            pub fn message_in(self, locale: Locale) -> &'static str {
                match self { $(Self::$variant => locale.get_keys_const().errors().$variant().message().inner(),)* }
            }

            /// What the caller can do about it, as shown in the Error Code List, in `locale`.
            pub fn solution_in(self, locale: Locale) -> &'static str {
                match self { $(Self::$variant => locale.get_keys_const().errors().$variant().solution().inner(),)* }
            }
        }

        impl std::str::FromStr for ErrorCode {
            type Err = ();
            fn from_str(s: &str) -> Result<Self, ()> {
                match s { $($code => Ok(Self::$variant),)* _ => Err(()) }
            }
        }
    };
}

/// The `ErrorCode` schema of `/api/openapi.json`: the codes as the wire carries them
/// (`UNITSYSTEM00001`), read from the table. (utoipa's derive, expanded inside the macro
/// above, did not see the variants' `serde(rename)` and listed the Rust names, which a client
/// generated from the document then expects and never receives.)
#[cfg(feature = "ssr")]
impl utoipa::PartialSchema for ErrorCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .description(Some("A code of the Error Code List (/docs/errors)."))
            .enum_values(Some(ErrorCode::ALL.iter().map(|c| c.as_str())))
            .into()
    }
}

#[cfg(feature = "ssr")]
impl utoipa::ToSchema for ErrorCode {}

error_codes! {
    // ---- Clients -------------------------------------------------------------------
    /// The caller went away before the response was ready (logged and counted, never sent).
    ClientClosedRequest = "CLIENT_CLOSED_REQUEST" { status: 499, group: Clients, seed: true }
    ClientAccountInactive = "CLIENT_ACCOUNT_INACTIVE" { status: 403, group: Clients, seed: true }
    ClientAccountSuspended = "CLIENT_ACCOUNT_SUSPENDED" { status: 403, group: Clients, seed: true }
    ClientAccountDeleted = "CLIENT_ACCOUNT_DELETED" { status: 403, group: Clients, seed: true }
    /// `x-client-key` missing, unknown, or revoked.
    UnknownClientKey = "UNITSYSTEM00001" { status: 401, group: Clients, seed: true }
    /// The client lacks the grant of the endpoint it called.
    EndpointNotGranted = "UNITSYSTEM00002" { status: 403, group: Clients, seed: true }
    // ---- Users ---------------------------------------------------------------------
    UserNotFound = "USER_NOT_FOUND" { status: 404, group: Users, seed: true }
    InvalidPassword = "INVALID_PASSWORD" { status: 401, group: Users, seed: true }
    UserNotActive = "USER_NOT_ACTIVE" { status: 403, group: Users, seed: true }
    UserSuspended = "USER_SUSPENDED" { status: 403, group: Users, seed: true }
    UserDeleted = "USER_DELETED" { status: 403, group: Users, seed: true }
    /// Login / register with a reqToken that is unknown, expired or already completed.
    FailedUpdateUserToken = "FAILED_UPDATE_USER_TOKEN" { status: 400, group: Users, seed: true }
    /// A one-time code or a login request's user code that is not the right one.
    InvalidCode = "INVALID_CODE" { status: 400, group: Users, seed: false }
    /// A one-time code that expired, was used already, or is void after too many wrong tries.
    CodeExpired = "CODE_EXPIRED" { status: 400, group: Users, seed: false }
    /// A passkey sign-in or a new passkey that cannot be accepted.
    PasskeyRejected = "PASSKEY_REJECTED" { status: 401, group: Users, seed: false }
    /// Bearer access token missing where required, unknown, expired or revoked.
    Unauthorized = "UNAUTHORIZED" { status: 401, group: Users, seed: false }
    /// A change that needs the person to have proved who they are in this browser within the
    /// last few minutes (their password or a passkey again).
    ReauthenticationRequired = "REAUTHENTICATION_REQUIRED" { status: 401, group: Users, seed: false }
    /// The login request asks for a strong sign-in (`"require": "mfa"`) and this one is not:
    /// a password or code alone, from a person without a second factor (or a "Continue as"
    /// with a one-factor session).
    MfaRequired = "MFA_REQUIRED" { status: 401, group: Users, seed: false }
    // ---- Others --------------------------------------------------------------------
    RequestTimeout = "REQUEST_TIMEOUT" { status: 504, group: Others, seed: true }
    DuplicateKey = "DUPLICATE_KEY" { status: 409, group: Others, seed: true }
    InvalidObjectId = "INVALID_OBJECT_ID" { status: 400, group: Others, seed: true }
    ValidationError = "VALIDATION_ERROR" { status: 422, group: Others, seed: false }
    DeviceNotFound = "DEVICE_NOT_FOUND" { status: 404, group: Others, seed: false }
    TooManyRequests = "TOO_MANY_REQUESTS" { status: 429, group: Others, seed: false }
    NotFound = "NOT_FOUND" { status: 404, group: Others, seed: false }
    MethodNotAllowed = "METHOD_NOT_ALLOWED" { status: 405, group: Others, seed: false }
    PayloadTooLarge = "PAYLOAD_TOO_LARGE" { status: 413, group: Others, seed: false }
    ServiceUnavailable = "SERVICE_UNAVAILABLE" { status: 503, group: Others, seed: false }
    /// A state-changing browser request that did not come from a fypass page (CSRF).
    OriginNotAllowed = "ORIGIN_NOT_ALLOWED" { status: 403, group: Others, seed: false }
    // ---- OAuth 2.0 / OpenID Connect (SPEC §15): on `/oauth/*` each rides beside OAuth's
    // own `error` (RFC 6749 §5.2), with the status OAuth gives it.
    /// An authorization code, refresh token or device code that is unknown, expired, used,
    /// another client's, or whose PKCE verifier or redirect URI does not match.
    InvalidGrant = "INVALID_GRANT" { status: 400, group: Others, seed: false }
    /// A `grant_type` (or `response_type`) the token endpoint does not offer.
    UnsupportedGrantType = "UNSUPPORTED_GRANT_TYPE" { status: 400, group: Others, seed: false }
    /// A `scope` outside `openid profile email phone offline_access`.
    InvalidScope = "INVALID_SCOPE" { status: 400, group: Others, seed: false }
    /// A redirect URI the client did not register (shown on a page, never redirected to).
    InvalidRedirectUri = "INVALID_REDIRECT_URI" { status: 400, group: Others, seed: false }
    /// `prompt=none` (or a sign-in that was not fresh enough) and nobody signed in.
    LoginRequired = "LOGIN_REQUIRED" { status: 401, group: Others, seed: false }
    /// The device grant: the person has not completed the request yet; poll again.
    AuthorizationPending = "AUTHORIZATION_PENDING" { status: 400, group: Others, seed: false }
    /// The device grant: polled sooner than `interval` allows; wait 5 s longer from now on.
    SlowDown = "SLOW_DOWN" { status: 400, group: Others, seed: false }
    /// The person may not sign in to this app (their account is not active) or the request
    /// was ended.
    AccessDenied = "ACCESS_DENIED" { status: 403, group: Others, seed: false }
    InternalError = "INTERNAL_ERROR" { status: 500, group: Others, seed: false }
}

impl ErrorCode {
    /// The default message, in the language of the request being served.
    pub fn message(self) -> &'static str {
        self.message_in(locale::current())
    }

    /// The solution, in the language of the request being served.
    pub fn solution(self) -> &'static str {
        self.solution_in(locale::current())
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One invalid input field of a `VALIDATION_ERROR` (or the duplicate field of a `DUPLICATE_KEY`).
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The field's name as the caller spelled it (`camelCase`, dotted for nested fields).
    pub field: String,
    pub message: String,
}

/// The error body of every failed request: `{ "code", "message", "details"? }`.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<FieldError>,
    /// Seconds until a retry can succeed (`TOO_MANY_REQUESTS`); also sent as `Retry-After`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with the code's default message.
    pub fn new(code: ErrorCode) -> Self {
        Self::with_message(code, code.message())
    }

    /// An error with a message more precise than the code's default.
    pub fn with_message(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: Vec::new(),
            retry_after: None,
        }
    }

    /// A `VALIDATION_ERROR` for one field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationError).and_field(field, message)
    }

    /// One `VALIDATION_ERROR` listing every problem, or `Ok` when there is none.
    pub fn check_fields<F, M>(problems: impl IntoIterator<Item = (F, M)>) -> Result<(), ApiError>
    where
        F: Into<String>,
        M: Into<String>,
    {
        let error = problems
            .into_iter()
            .fold(Self::new(ErrorCode::ValidationError), |e, (f, m)| {
                e.and_field(f, m)
            });
        if error.details.is_empty() {
            Ok(())
        } else {
            Err(error)
        }
    }

    /// Adds a field to `details`.
    pub fn and_field(mut self, field: impl Into<String>, message: impl Into<String>) -> Self {
        self.details.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
        self
    }

    /// A `TOO_MANY_REQUESTS` that can be retried after `seconds`.
    pub fn too_many(message: impl Into<String>, seconds: u64) -> Self {
        Self {
            retry_after: Some(seconds.max(1)),
            ..Self::with_message(ErrorCode::TooManyRequests, message)
        }
    }

    /// The message for `field`, if this error names it (for showing beside a form input).
    pub fn field_message(&self, field: &str) -> Option<&str> {
        self.details
            .iter()
            .find(|d| d.field == field)
            .map(|d| d.message.as_str())
    }

    pub fn is(&self, code: ErrorCode) -> bool {
        self.code == code
    }
}

/// What a caught panic says, for the log (never for a caller).
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)")
}

impl From<ErrorCode> for ApiError {
    fn from(code: ErrorCode) -> Self {
        Self::new(code)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        for d in &self.details {
            write!(f, " ({}: {})", d.field, d.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// How a server function's own plumbing failures become `ApiError`s, on both sides of the wire.
impl FromServerFnError for ApiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // On the server these only come from decoding the request (body or query):
            // that is the caller's input, so it is a validation error with the field named
            // when the decoder knew it (see `crate::api::codec`).
            ServerFnErrorErr::Args(m)
            | ServerFnErrorErr::Deserialization(m)
            | ServerFnErrorErr::MissingArg(m)
                if cfg!(feature = "ssr") =>
            {
                let detail = serde_json::from_str::<FieldError>(&m)
                    .unwrap_or_else(|_| describe_message(".", &m));
                Self::new(ErrorCode::ValidationError).and_field(detail.field, detail.message)
            }
            // In the browser: the network failed, or the reply could not be read.
            ServerFnErrorErr::Request(_) => Self::with_message(
                ErrorCode::ServiceUnavailable,
                crate::tr!(common.unreachable),
            ),
            other => {
                #[cfg(feature = "ssr")]
                tracing::error!(error = %other, "server function failure");
                #[cfg(not(feature = "ssr"))]
                let _ = other;
                Self::new(ErrorCode::InternalError)
            }
        }
    }

    /// An error reply that is not our JSON (a proxy's HTML page, say) must not pass for
    /// the caller's own mistake.
    fn de(data: leptos::server_fn::Bytes) -> Self {
        serde_json::from_slice(&data).unwrap_or_else(|_| Self::new(ErrorCode::InternalError))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_their_exact_spelling() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(code.as_str().parse::<ErrorCode>(), Ok(*code));
        }
        assert_eq!(ErrorCode::UnknownClientKey.as_str(), "UNITSYSTEM00001");
    }

    #[test]
    fn every_status_is_an_error_status() {
        for code in ErrorCode::ALL {
            assert!((400..600).contains(&code.status()), "{code}");
        }
    }

    #[test]
    fn body_has_code_message_and_details_only_when_present() {
        let plain = serde_json::to_value(ApiError::new(ErrorCode::NotFound)).unwrap();
        assert_eq!(
            plain,
            serde_json::json!({"code": "NOT_FOUND", "message": ErrorCode::NotFound.message()})
        );
        let invalid = serde_json::to_value(ApiError::invalid("name", "is required")).unwrap();
        assert_eq!(
            invalid["details"],
            serde_json::json!([{"field": "name", "message": "is required"}])
        );
    }

    #[test]
    fn a_foreign_error_body_is_not_a_validation_error() {
        let e = ApiError::de(leptos::server_fn::Bytes::from_static(b"<html>502</html>"));
        assert_eq!(e.code, ErrorCode::InternalError);
    }
}
