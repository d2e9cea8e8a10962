//! fypass as an OAuth 2.0 authorization server and OpenID Connect provider (SPEC §15): the
//! standard doors onto what exists, so an app signs people in with the library it already
//! uses (openid-client, AppAuth, Spring Security, oidc-client-ts, golang.org/x/oauth2).
//!
//! | route | what | file |
//! |---|---|---|
//! | `GET /.well-known/openid-configuration`, `/.well-known/oauth-authorization-server` | discovery (RFC 8414) | `discovery` |
//! | `GET /oauth/jwks` | the signing keys | `discovery`, `keys` |
//! | `GET\|POST /oauth/authorize` | code + PKCE S256, through the hosted sign-in | `authorize` |
//! | `POST /oauth/token` | `authorization_code`, `refresh_token`, `device_code` | `token`, `device`; what each issues: `grant` |
//! | `POST /oauth/device_authorization` | RFC 8628 on the login requests | `device` |
//! | `GET\|POST /oauth/userinfo`, `POST /oauth/revoke`, `POST /oauth/introspect`, `GET /oauth/logout` | | `endpoints` |
//!
//! Nothing here has rules of its own about people, sessions or tokens: a code exchange
//! starts a token family as a login request's collection does (`tokens::start_family`), a
//! refresh is §14's rotation with its reuse detection (`tokens::refresh_pair`), the sign-in
//! is the hosted pages' (a login request whose redirect comes back to
//! `/oauth/authorize/resume`), the device grant completes through the login flow's own
//! collection (`login::flow::status`), and client checks are `clients::auth::admit`.
//! What is new is OAuth's wire format, PKCE, codes and ID tokens.

pub mod authorize;
pub mod cli;
pub mod client;
mod crypto;
pub mod device;
pub mod discovery;
pub mod endpoints;
pub mod errors;
pub mod grant;
pub mod keys;
pub mod openapi;
pub mod pages;
pub mod session;
pub mod token;

use crate::state::AppState;
use axum::{
    Router,
    routing::{get, post},
};

/// Every OAuth / OpenID Connect route.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::configuration),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::configuration),
        )
        .route("/oauth/jwks", get(discovery::jwks))
        .route(
            "/oauth/authorize",
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .route("/oauth/authorize/resume", get(authorize::resume))
        .route(
            "/oauth/token",
            post(token::token).options(endpoints::preflight),
        )
        .route(
            "/oauth/device_authorization",
            post(device::authorization).options(endpoints::preflight),
        )
        .route(
            "/oauth/userinfo",
            get(endpoints::userinfo)
                .post(endpoints::userinfo)
                .options(endpoints::preflight),
        )
        .route(
            "/oauth/revoke",
            post(endpoints::revoke).options(endpoints::preflight),
        )
        .route("/oauth/introspect", post(endpoints::introspect))
        .route(
            "/oauth/logout",
            get(endpoints::logout_get).post(endpoints::logout_post),
        )
}

/// The scopes fypass grants; anything else is `invalid_scope`.
/// The `acr` of a sign-in with one factor.
pub const ACR_ONE: &str = "1";
/// The `acr` of a sign-in with two factors (a passkey, or a first factor and the
/// authenticator app); asked for with `acr_values=mfa` on `/oauth/authorize` (RFC 9470).
pub const ACR_MFA: &str = "mfa";
pub const SCOPES: [&str; 5] = ["openid", "profile", "email", "phone", "offline_access"];

/// A granted scope: a set of [`SCOPES`], in their order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope(Vec<&'static str>);

impl Scope {
    /// `scope` as sent (space-separated); `None` for an unknown scope.
    pub fn parse(raw: &str) -> Option<Scope> {
        let mut granted = Vec::new();
        for s in raw.split(' ').filter(|s| !s.is_empty()) {
            let known = SCOPES.iter().find(|k| **k == s)?;
            if !granted.contains(known) {
                granted.push(*known);
            }
        }
        granted.sort_by_key(|s| SCOPES.iter().position(|k| k == s));
        Some(Scope(granted))
    }

    pub fn has(&self, scope: &str) -> bool {
        self.0.contains(&scope)
    }

    /// Whether every scope of `self` is in `other` (a refresh may narrow, never widen).
    pub fn within(&self, other: &Scope) -> bool {
        self.0.iter().all(|s| other.has(s))
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

/// Where each route is, for discovery and the docs.
pub fn issuer(state: &AppState) -> String {
    state.config.public_origin()
}

/// Takes a place for a request that anyone may start without a secret (a browser's
/// `/oauth/authorize`, a public client's device authorization): each stores a login
/// request, so one network may start only so many an hour
/// (`FYPASS_OAUTH_STARTS_PER_NETWORK_HOUR`). A refusal is `temporarily_unavailable` with
/// `TOO_MANY_REQUESTS` (429) and `Retry-After`.
async fn start_allowed(
    state: &AppState,
    caller: &crate::request::Caller,
) -> Result<(), errors::OAuthError> {
    use crate::throttle::{Counter, Rule, network, take};
    let counter = Counter::new(
        format!("oauth:start:{}", network(caller.ip)),
        Rule::Cap(state.config.limits.oauth_starts_per_network_hour),
        std::time::Duration::from_secs(3600),
        crate::tr!(common.throttle.oauth_starts),
    );
    match take(&state.db, &[counter]).await {
        Ok(taken) => {
            taken.keep();
            Ok(())
        }
        Err(refused) => Err(errors::OAuthError::new(
            errors::Kind::TemporarilyUnavailable,
            refused,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::Scope;

    #[test]
    fn scopes_are_the_known_ones_in_order() {
        let s = Scope::parse("email  openid email").unwrap();
        assert_eq!(s.to_string(), "openid email");
        assert!(Scope::parse("openid admin").is_none());
        assert!(Scope::parse("openid").unwrap().within(&s));
        assert!(!s.within(&Scope::parse("openid").unwrap()));
    }
}
