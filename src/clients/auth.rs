//! Client authentication, declared on each client route next to its `#[server]` attribute:
//!
//! ```ignore
//! #[server(prefix = "/api/v1", endpoint = "clients/info", input = GetUrl)]
//! #[middleware(crate::clients::auth::RequireGrant(Grant::ClientsInfo))]
//! pub async fn get_client_info() -> Result<ClientInfo, ApiError> { ... }
//! ```
//!
//! [`RequireGrant`] runs *before* the request body is decoded, which is what gives every
//! client route the check order of the API (`/docs`, "Order of checks"): key → client
//! status → grant → input → user token → operation. The authenticated client is then
//! available to the function through [`current_client`].
//!
//! That attribute is the only place a route's grant is written: the OpenAPI document and
//! the docs read it back with [`grant_of`].

use super::{Grant, store::Client};
use crate::{
    error::{ApiError, ErrorCode},
    status::Status,
};
use axum::{
    body::Body,
    http::{Request, Response},
    response::IntoResponse,
};
use leptos::server_fn::ServerFn;
use leptos::{
    prelude::{provide_context, use_context},
    server_fn::middleware::{BoxedService, Layer, Service},
};
use std::{future::Future, pin::Pin, sync::Arc};

pub const CLIENT_KEY_HEADER: &str = "x-client-key";

/// The client that called the current request (set by [`RequireGrant`]).
#[derive(Clone, Debug)]
pub struct CurrentClient(pub Arc<Client>);

/// The authenticated client of this request.
pub fn current_client() -> Result<Arc<Client>, ApiError> {
    use_context::<CurrentClient>().map(|c| c.0).ok_or_else(|| {
        tracing::error!("a client route was called without RequireGrant");
        ApiError::new(ErrorCode::InternalError)
    })
}

/// Checks the caller's key, its client's status and `grant`, in that order.
pub async fn authenticate(key: Option<&str>, grant: Grant) -> Result<Arc<Client>, ApiError> {
    let key = key.filter(|k| !k.is_empty()).ok_or_else(|| {
        ApiError::with_message(ErrorCode::UnknownClientKey, crate::tr!(api.missing_key))
    })?;
    let state = crate::request::state()?;
    let client = super::ClientCache::of(&state)
        .lookup(&state.db, key)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::UnknownClientKey))?;
    admit(client, grant)
}

/// The client, if its status lets it call and it holds `grant` (the checks after the key;
/// the OAuth routes, which find a client by `client_id`, run them too).
pub fn admit(client: Arc<Client>, grant: Grant) -> Result<Arc<Client>, ApiError> {
    let status_error = match client.status {
        Status::Active => None,
        Status::Inactive => Some(ErrorCode::ClientAccountInactive),
        Status::Suspended => Some(ErrorCode::ClientAccountSuspended),
        Status::Deleted => Some(ErrorCode::ClientAccountDeleted),
    };
    if let Some(code) = status_error {
        return Err(ApiError::new(code));
    }
    if !client.has(grant) {
        return Err(ApiError::with_message(
            ErrorCode::EndpointNotGranted,
            crate::tr!(api.grant_required, grant = grant),
        ));
    }
    Ok(client)
}

/// The server-function middleware that guards a client route with `grant`.
#[derive(Clone, Copy, Debug)]
pub struct RequireGrant(pub Grant);

impl Layer<Request<Body>, Response<Body>> for RequireGrant {
    fn layer(
        &self,
        inner: BoxedService<Request<Body>, Response<Body>>,
    ) -> BoxedService<Request<Body>, Response<Body>> {
        BoxedService::new(
            inner.ser,
            GrantCheck {
                inner,
                grant: self.0,
            },
        )
    }
}

struct GrantCheck {
    inner: BoxedService<Request<Body>, Response<Body>>,
    grant: Grant,
}

impl Service<Request<Body>, Response<Body>> for GrantCheck {
    fn run(
        &mut self,
        req: Request<Body>,
        _ser: fn(leptos::server_fn::error::ServerFnErrorErr) -> leptos::server_fn::Bytes,
    ) -> Pin<Box<dyn Future<Output = Response<Body>> + Send>> {
        if req.extensions().get::<GrantProbe>().is_some() {
            let mut answer = Response::new(Body::empty());
            answer.extensions_mut().insert(self.grant);
            return Box::pin(std::future::ready(answer));
        }
        let key = req
            .headers()
            .get(CLIENT_KEY_HEADER)
            .map(|v| v.to_str().map(str::to_owned).unwrap_or_default());
        let grant = self.grant;
        // Futures are lazy: the function (and its body decoding) only runs if polled below.
        let next = self.inner.run(req);
        Box::pin(async move {
            match authenticate(key.as_deref(), grant).await {
                Ok(client) => {
                    provide_context(CurrentClient(client));
                    next.await
                }
                Err(e) => e.into_response(),
            }
        })
    }
}

/// Marks the in-process request with which [`grant_of`] asks a route's layers for their
/// grant. Request extensions cannot come from the network, so no caller can send one.
#[derive(Clone, Copy)]
struct GrantProbe;

/// The grant a server function's `#[middleware(RequireGrant(..))]` declares, if any.
pub fn grant_of<S>() -> Option<Grant>
where
    S: ServerFn,
    S::Server: leptos::server_fn::server::Server<
            S::Error,
            S::InputStreamError,
            S::OutputStreamError,
            Request = Request<Body>,
            Response = Response<Body>,
        >,
{
    /// The function itself: never reached by a probe, which the grant check answers.
    struct Unreached;
    impl Service<Request<Body>, Response<Body>> for Unreached {
        fn run(
            &mut self,
            _req: Request<Body>,
            _ser: fn(leptos::server_fn::error::ServerFnErrorErr) -> leptos::server_fn::Bytes,
        ) -> Pin<Box<dyn Future<Output = Response<Body>> + Send>> {
            Box::pin(std::future::ready(Response::new(Body::empty())))
        }
    }
    let never = |_| leptos::server_fn::Bytes::new();
    let mut service = S::middlewares()
        .iter()
        .fold(BoxedService::new(never, Unreached), |inner, layer| {
            layer.layer(inner)
        });
    let mut probe = Request::new(Body::empty());
    probe.extensions_mut().insert(GrantProbe);
    // Every layer answers a probe at once; a layer that did not would be a bug here.
    let mut answer = service.run(probe);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match answer.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(res) => res.extensions().get::<Grant>().copied(),
        std::task::Poll::Pending => None,
    }
}
