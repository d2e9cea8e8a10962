//! Client authentication, declared on each client route next to its `#[server]` attribute:
//!
//! ```ignore
//! #[server(prefix = "/api/v1", endpoint = "clients/info", input = GetUrl)]
//! #[middleware(crate::clients::auth::RequireGrant(Grant::ClientsInfo))]
//! pub async fn get_client_info() -> Result<ClientInfo, ApiError> { ... }
//! ```
//!
//! [`RequireGrant`] runs *before* the request body is decoded, which is what gives every
//! client route the check order of SPEC §2: key → client status → grant → input → user
//! token → operation. The authenticated client is then available to the function through
//! [`current_client`].

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
        ApiError::with_message(
            ErrorCode::UnknownClientKey,
            "The x-client-key header is missing. Send the key the admin gave you.",
        )
    })?;
    let state = crate::server::state()?;
    let client = state
        .clients
        .lookup(&state.db, key)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::UnknownClientKey))?;
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
            format!("The client does not have the '{grant}' grant this endpoint requires."),
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
