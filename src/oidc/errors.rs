//! Errors of the OAuth routes: RFC 6749 §5.2's `{ "error", "error_description" }`, which
//! every OAuth library reads, with fypass's own `code` and `message` from the one enum
//! beside them. The HTTP status is OAuth's (400, or 401 for a client that failed to
//! authenticate, RFC 6749 §5.2; 401 with `WWW-Authenticate` for a bad Bearer token, RFC
//! 6750 §3.1).

use crate::error::{ApiError, ErrorCode};
use axum::{
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use std::collections::HashMap;

/// OAuth's error codes (RFC 6749 §4.1.2.1 and §5.2, RFC 8628 §3.5, RFC 6750 §3.1, OpenID
/// Connect Core §3.1.2.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    AccessDenied,
    LoginRequired,
    AuthorizationPending,
    SlowDown,
    ExpiredToken,
    InvalidToken,
    ServerError,
    TemporarilyUnavailable,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::InvalidRequest => "invalid_request",
            Kind::InvalidClient => "invalid_client",
            Kind::InvalidGrant => "invalid_grant",
            Kind::UnauthorizedClient => "unauthorized_client",
            Kind::UnsupportedGrantType => "unsupported_grant_type",
            Kind::UnsupportedResponseType => "unsupported_response_type",
            Kind::InvalidScope => "invalid_scope",
            Kind::AccessDenied => "access_denied",
            Kind::LoginRequired => "login_required",
            Kind::AuthorizationPending => "authorization_pending",
            Kind::SlowDown => "slow_down",
            Kind::ExpiredToken => "expired_token",
            Kind::InvalidToken => "invalid_token",
            Kind::ServerError => "server_error",
            Kind::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            Kind::InvalidClient | Kind::InvalidToken => StatusCode::UNAUTHORIZED,
            Kind::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            Kind::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// An OAuth error and the fypass error it is.
#[derive(Clone, Debug)]
pub struct OAuthError {
    pub kind: Kind,
    pub api: ApiError,
    /// A client that tried HTTP Basic gets a `WWW-Authenticate: Basic` challenge back.
    pub basic_challenge: bool,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'static str,
    error_description: String,
    code: ErrorCode,
    message: &'a str,
}

impl OAuthError {
    pub fn new(kind: Kind, api: ApiError) -> Self {
        Self {
            kind,
            api,
            basic_challenge: false,
        }
    }

    pub fn of(kind: Kind, code: ErrorCode) -> Self {
        Self::new(kind, ApiError::new(code))
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(
            Kind::InvalidRequest,
            ApiError::with_message(ErrorCode::ValidationError, message),
        )
    }

    pub fn invalid_grant(message: impl Into<String>) -> Self {
        Self::new(
            Kind::InvalidGrant,
            ApiError::with_message(ErrorCode::InvalidGrant, message),
        )
    }

    /// `error_description`: RFC 6749 allows printable ASCII only, without `"` and `\`.
    pub fn description(&self) -> String {
        self.api
            .message
            .chars()
            .filter(|c| matches!(c, ' '..='~') && *c != '"' && *c != '\\')
            .collect()
    }
}

/// A failure that is not about the request (the database, a bug) keeps its own code.
impl From<ApiError> for OAuthError {
    fn from(api: ApiError) -> Self {
        let kind = match api.code {
            ErrorCode::ServiceUnavailable | ErrorCode::RequestTimeout => {
                Kind::TemporarilyUnavailable
            }
            ErrorCode::ValidationError => Kind::InvalidRequest,
            ErrorCode::TooManyRequests => Kind::SlowDown,
            _ => Kind::ServerError,
        };
        Self::new(kind, api)
    }
}

impl From<sqlx::Error> for OAuthError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = Body {
            error: self.kind.as_str(),
            error_description: self.description(),
            code: self.api.code,
            message: &self.api.message,
        };
        // A refusal for too many requests keeps HTTP's own status and says when to retry,
        // whatever OAuth error it is told as.
        let status = match self.api.retry_after {
            Some(_) if self.api.code == ErrorCode::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            _ => self.kind.status(),
        };
        let mut res = (status, axum::Json(body)).into_response();
        let headers = res.headers_mut();
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if let Some(seconds) = self.api.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.basic_challenge {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"fypass\""),
            );
        }
        if self.kind == Kind::InvalidToken {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"fypass\", error=\"invalid_token\""),
            );
        }
        // Counted and logged by its code, as every error reply is.
        res.extensions_mut().insert(self.api.code);
        res
    }
}

/// The parameters of an OAuth request (query or form body). RFC 6749 §3.1: a parameter
/// sent without a value is as if it were omitted, and none may be repeated.
#[derive(Clone, Debug, Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    pub fn parse(input: &[u8]) -> Result<Params, OAuthError> {
        let mut map = HashMap::new();
        for (k, v) in form_urlencoded::parse(input) {
            if v.is_empty() {
                continue;
            }
            if map.insert(k.to_string(), v.to_string()).is_some() {
                return Err(OAuthError::invalid_request(format!(
                    "The parameter {k} is repeated."
                )));
            }
        }
        Ok(Params(map))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A parameter that must be there.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("The parameter {name} is missing.")))
    }
}

/// The body of an OAuth POST: a form (RFC 6749 §3.2), nothing else.
pub fn form(headers: &HeaderMap, body: &[u8]) -> Result<Params, OAuthError> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form {
        return Err(OAuthError::invalid_request(
            "Send the parameters as application/x-www-form-urlencoded.",
        ));
    }
    Params::parse(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_are_refused_and_empty_ones_omitted() {
        assert!(Params::parse(b"a=1&a=2").is_err());
        let p = Params::parse(b"a=&b=x%20y").unwrap();
        assert_eq!(p.get("a"), None);
        assert_eq!(p.get("b"), Some("x y"));
        assert!(p.require("a").is_err());
    }

    #[test]
    fn descriptions_are_the_ascii_that_rfc_6749_allows() {
        let e = OAuthError::invalid_request("bad \"x\" \\ é\n");
        assert_eq!(e.description(), "bad x  ");
    }
}
