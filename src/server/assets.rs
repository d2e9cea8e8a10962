//! Static files. `/pkg` holds the built front end (WASM, JS, CSS): with `hash-files` their
//! names change with their content, so they are cached forever, and the release build
//! precompresses them (`cargo leptos build --release -P` writes `.br` and `.gz` beside
//! each file), so serving one costs no compression work. The other files of `public/`
//! (the favicon) are served from the site root and cached for a day.

use crate::error::{ApiError, ErrorCode};
use axum::{
    Router,
    body::Body,
    extract::Request,
    http::{HeaderValue, Response, StatusCode, header},
    routing::any,
};
use leptos::config::LeptosOptions;
use std::{convert::Infallible, path::Path};
use tower::Service;
use tower_http::{services::ServeDir, set_header::SetResponseHeaderLayer};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";
const ONE_DAY: &str = "public, max-age=86400";

/// `/pkg/*` (mounted with `nest_service`): precompressed, immutable when hashed.
pub fn pkg(options: &LeptosOptions) -> Router {
    let dir = Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    let caching = if options.hash_files {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    // Read a file in one piece rather than 64 KiB at a time: the brotli WASM (~280 KiB)
    // then costs one trip to the blocking pool instead of five.
    let serve = ServeDir::new(dir)
        .with_buf_chunk_size(512 * 1024)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(any(|| async { ApiError::new(ErrorCode::NotFound) }));
    Router::new()
        .fallback_service(serve)
        .layer(cache_success(caching))
}

/// Files copied from `public/` into the site root; any other path goes to `not_found`.
pub fn public<F>(options: &LeptosOptions, not_found: F) -> Router
where
    F: Service<Request, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    F::Future: Send + 'static,
{
    let serve = ServeDir::new(&*options.site_root)
        .append_index_html_on_directories(false)
        .call_fallback_on_method_not_allowed(true)
        .fallback(not_found);
    Router::new()
        .fallback_service(serve)
        .layer(cache_success(ONE_DAY))
}

/// Sets `Cache-Control` on successful file responses only (errors stay `no-store`).
fn cache_success(
    value: &'static str,
) -> SetResponseHeaderLayer<impl Fn(&Response<Body>) -> Option<HeaderValue> + Clone> {
    SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, move |res: &Response<Body>| {
        (res.status().is_success() || res.status() == StatusCode::NOT_MODIFIED)
            .then(|| HeaderValue::from_static(value))
    })
}
