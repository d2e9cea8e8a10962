//! Mounting server functions as REST routes.
//!
//! Every registered server function becomes an axum route at its own method and path, so
//! the router itself answers `METHOD_NOT_ALLOWED` (with `Allow`) for a known path and
//! `NOT_FOUND` for an unknown one, and path parameters work: a function registered at
//! `/api/v1/devices/{id}` receives the `id` segment as its `id` argument (the segment is
//! appended to the query string its input encoding decodes).
//!
//! [`dispatch`] then runs the function the way `leptos_axum` does (a reactive owner with
//! the request parts, `ResponseOptions` and the app state in context), with what a public
//! API needs on top: the body limit, a JSON content-type check, no HTML form redirects,
//! and error replies rewritten through `ApiError`'s `IntoResponse` so each carries its
//! own status.

use crate::{
    error::{ApiError, ErrorCode},
    state::AppState,
};
use axum::{
    Router,
    body::Body,
    extract::{MatchedPath, RawPathParams, Request, State},
    http::{HeaderValue, Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
    routing::{MethodFilter, MethodRouter},
};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use leptos::{
    prelude::provide_context,
    reactive::{computed::ScopedFuture, owner::Owner},
    server_fn::{
        axum::{get_server_fn_service, server_fn_paths as server_fn_paths_and_methods},
        error::SERVER_FN_ERROR_HEADER,
    },
};
use leptos_axum::ResponseOptions;
use std::collections::BTreeMap;

/// The method and path of every registered server function.
pub fn server_fn_routes() -> Vec<(String, String)> {
    let mut routes: Vec<(String, String)> = server_fn_paths_and_methods()
        .map(|(p, m)| (m.as_str().to_ascii_lowercase(), p.to_string()))
        .collect();
    routes.sort();
    routes
}

/// The path of every registered server function.
pub fn server_fn_paths() -> Vec<String> {
    let mut paths: Vec<String> = server_fn_paths_and_methods()
        .map(|(p, _)| p.to_string())
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

/// One route per registered server function.
pub fn routes() -> Router<AppState> {
    let mut by_path: BTreeMap<&'static str, MethodRouter<AppState>> = BTreeMap::new();
    for (path, method) in server_fn_paths_and_methods() {
        let filter = MethodFilter::try_from(method.clone())
            .unwrap_or_else(|_| panic!("server function {path} uses unsupported method {method}"));
        let route = by_path.remove(path).unwrap_or_default();
        by_path.insert(path, route.on(filter, dispatch));
    }
    by_path
        .into_iter()
        .fold(Router::new(), |router, (path, route)| {
            router.route(path, route)
        })
}

async fn dispatch(
    State(state): State<AppState>,
    matched: MatchedPath,
    params: RawPathParams,
    req: Request,
) -> Response {
    let Some(mut service) = get_server_fn_service(matched.as_str(), req.method().clone()) else {
        return ApiError::new(ErrorCode::NotFound).into_response();
    };
    let req = match prepare(req, &params, state.config.body_limit_bytes).await {
        Ok(req) => req,
        Err(e) => return e.into_response(),
    };
    let (req, parts) = leptos_axum::generate_request_and_parts(req);
    let options = ResponseOptions::default();
    let res = Owner::new()
        .with(|| {
            ScopedFuture::new({
                let options = options.clone();
                async move {
                    provide_context(parts);
                    provide_context(options);
                    provide_context(state);
                    service.run(req).await
                }
            })
        })
        .await;
    finish(res, &options).await
}

/// Normalizes a request before the function decodes it.
async fn prepare(req: Request, params: &RawPathParams, limit: usize) -> Result<Request, ApiError> {
    let (mut parts, body) = req.into_parts();

    // server_fn answers a request accepting HTML with a redirect (for no-JS forms). The
    // REST routes always answer JSON; the pages post their plain forms elsewhere.
    parts
        .headers
        .insert(header::ACCEPT, HeaderValue::from_static("application/json"));

    if params.iter().next().is_some() {
        parts.uri = with_path_params(&parts.uri, params)?;
    }

    let has_body_method = matches!(parts.method, Method::POST | Method::PUT | Method::PATCH);
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large(limit));
    }
    let bytes = Limited::new(body, limit)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<LengthLimitError>() {
                too_large(limit)
            } else {
                ApiError::invalid("body", crate::tr!(api.unreadable))
            }
        })?
        .to_bytes();
    if has_body_method && !bytes.is_empty() {
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        if !(essence.eq_ignore_ascii_case("application/json") || essence.ends_with("+json")) {
            return Err(ApiError::invalid(
                "Content-Type",
                crate::tr!(api.content_type, found = content_type),
            ));
        }
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

fn too_large(limit: usize) -> ApiError {
    ApiError::with_message(
        ErrorCode::PayloadTooLarge,
        crate::tr!(api.too_large, n = limit),
    )
}

/// Appends the path parameters to the query string (`/devices/abc` → `?id=abc`), where
/// the function's `GetUrl`/`DeleteUrl` input decoding reads its arguments.
fn with_path_params(uri: &Uri, params: &RawPathParams) -> Result<Uri, ApiError> {
    let mut query = form_urlencoded::Serializer::new(uri.query().unwrap_or_default().to_string());
    for (name, value) in params.iter() {
        query.append_pair(name, value);
    }
    let path_and_query = format!("{}?{}", uri.path(), query.finish());
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(
        path_and_query
            .parse()
            .map_err(|_| ApiError::invalid("path", crate::tr!(api.unreadable)))?,
    );
    Uri::from_parts(parts).map_err(|_| ApiError::invalid("path", crate::tr!(api.unreadable)))
}

/// Applies `ResponseOptions`, and gives error replies their code's status.
async fn finish(res: Response, options: &ResponseOptions) -> Response {
    let parts = std::mem::take(&mut *options.0.write().unwrap_or_else(|p| p.into_inner()));
    let mut res = if res.headers().contains_key(SERVER_FN_ERROR_HEADER) {
        // server_fn wrote the error body (ours: ApiError's JSON) with status 500.
        let body = res
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        serde_json::from_slice::<ApiError>(&body)
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "server function error body is not an ApiError");
                ApiError::new(ErrorCode::InternalError)
            })
            .into_response()
    } else {
        let mut res = res;
        if let Some(status) = parts.status {
            *res.status_mut() = status;
        }
        if res.status() == StatusCode::NO_CONTENT {
            *res.body_mut() = Body::empty();
            res.headers_mut().remove(header::CONTENT_TYPE);
        }
        res
    };
    res.headers_mut().extend(parts.headers);
    res
}
