//! The one door to the current request, for server functions and the plain-form handlers:
//! the app's state, who is calling ([`Caller`]), and what the reply carries beside its body
//! (its status and cookies).
//!
//! A server function reaches the request through Leptos' context: [`crate::api`]'s
//! dispatcher (REST) and the page renderer (`app::render`) both provide the request's
//! `Parts`, the `ResponseOptions` and the [`AppState`]. Only this module reads them.

use crate::{
    config::Config,
    error::{ApiError, ErrorCode},
    state::AppState,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts};
use leptos::prelude::use_context;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The longest `User-Agent` kept (a device's, a session's): the rest is noise or abuse.
const MAX_USER_AGENT_CHARS: usize = 512;

/// The state of the current request.
pub fn state() -> Result<AppState, ApiError> {
    use_context::<AppState>().ok_or_else(|| internal("AppState"))
}

fn internal(what: &str) -> ApiError {
    tracing::error!("{what} missing from the request context");
    ApiError::new(ErrorCode::InternalError)
}

/// Sets the status of the current server function's successful reply (e.g. 201).
pub fn reply_status(status: StatusCode) {
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(status);
    }
}

/// Adds a `Set-Cookie` to the current server function's reply.
pub fn reply_cookie(value: HeaderValue) {
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.append_header(header::SET_COOKIE, value);
    }
}

/// Who is calling: their address (through trusted proxies) and what their request said
/// about itself (headers: cookies, `Authorization`, `Origin`, `User-Agent`).
#[derive(Clone, Debug)]
pub struct Caller {
    headers: HeaderMap,
    pub ip: IpAddr,
}

impl Caller {
    pub fn new(headers: &HeaderMap, peer: Option<SocketAddr>, config: &Config) -> Caller {
        Caller {
            ip: client_ip(headers, peer, &config.trusted_proxies),
            headers: headers.clone(),
        }
    }

    /// The state and the caller of the current server-function request.
    pub fn current() -> Result<(AppState, Caller), ApiError> {
        let state = state()?;
        let parts = use_context::<Parts>().ok_or_else(|| internal("the request"))?;
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        let caller = Caller::new(&parts.headers, peer, &state.config);
        Ok((state, caller))
    }

    pub fn header(&self, name: impl header::AsHeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The browser or app that made the request, as it names itself (shortened).
    pub fn user_agent(&self) -> Option<String> {
        self.header(header::USER_AGENT)
            .map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect())
    }

    /// The value of the cookie `name`, if the request carries it.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }

    /// The Bearer token of `Authorization`, if the header is there; a header that is not a
    /// Bearer token is `UNAUTHORIZED`.
    pub fn bearer(&self) -> Result<Option<&str>, ApiError> {
        let Some(value) = self.headers.get(header::AUTHORIZATION) else {
            return Ok(None);
        };
        let malformed = || ApiError::with_message(ErrorCode::Unauthorized, crate::tr!(api.bearer));
        let (scheme, token) = value
            .to_str()
            .ok()
            .and_then(|v| v.trim().split_once(' '))
            .ok_or_else(malformed)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(malformed());
        }
        Ok(Some(token.trim()))
    }
}

/// The client's address: the connection's peer, or — when that peer is a trusted proxy —
/// the nearest address in `X-Forwarded-For` that is not one of the trusted proxies.
///
/// Addresses are compared and returned in their canonical form: an IPv4 address a dual-
/// stack socket reports as `::ffff:203.0.113.9` is `203.0.113.9`, as the configuration
/// writes it.
fn client_ip(headers: &HeaderMap, peer: Option<SocketAddr>, trusted: &[IpAddr]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|t| t.to_canonical() == *ip);
    let peer = peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.ip().to_canonical());
    if !is_trusted(&peer) {
        return peer;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .map(|ip| ip.to_canonical())
        .rev()
        .find(|ip| !is_trusted(ip))
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().unwrap());
        headers
    }

    #[test]
    fn an_ipv4_mapped_proxy_is_the_configured_ipv4_proxy() {
        let trusted: Vec<IpAddr> = vec!["10.0.0.1".parse().unwrap()];
        let mapped: SocketAddr = "[::ffff:10.0.0.1]:443".parse().unwrap();
        let ip = client_ip(&forwarded("203.0.113.9"), Some(mapped), &trusted);
        assert_eq!(ip, "203.0.113.9".parse::<IpAddr>().unwrap());
        // A mapped client address comes out plain, too.
        let ip = client_ip(&forwarded("::ffff:198.51.100.4"), Some(mapped), &trusted);
        assert_eq!(ip, "198.51.100.4".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn an_untrusted_peer_cannot_choose_its_address() {
        let trusted: Vec<IpAddr> = vec!["10.0.0.1".parse().unwrap()];
        let peer: SocketAddr = "198.51.100.4:5000".parse().unwrap();
        let ip = client_ip(&forwarded("203.0.113.9"), Some(peer), &trusted);
        assert_eq!(ip, "198.51.100.4".parse::<IpAddr>().unwrap());
    }
}
