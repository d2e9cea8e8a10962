//! What every request goes through on its way in and out: one structured log line, the
//! Prometheus counters and latency histogram, the processing deadline, and the record of
//! callers that hung up.
//!
//! The deadline and the hang-up work the same way: the handler's future is dropped. Every
//! write runs inside a database transaction owned by that future, and a transaction that
//! is dropped before `commit` is rolled back — so a request answered `REQUEST_TIMEOUT`, or
//! abandoned by its caller (`CLIENT_CLOSED_REQUEST`, 499), leaves nothing half-written.

use super::AppState;
use crate::error::{ApiError, ErrorCode};
use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::{
    any::Any,
    sync::{Arc, OnceLock},
    time::{Duration, Instant},
};
use tracing::Instrument;

const REQUESTS: &str = "http_requests_total";
const LATENCY: &str = "http_request_duration_seconds";

/// Filled by [`tag_route`] once the router has matched a route, so that the metrics use the
/// route template (`/api/v1/devices/{id}`), never a raw path.
#[derive(Clone, Default)]
struct RouteSlot(Arc<OnceLock<String>>);

/// Records the matched route template for [`observe`].
pub async fn tag_route(matched: Option<MatchedPath>, req: Request, next: Next) -> Response {
    if let (Some(matched), Some(slot)) = (matched, req.extensions().get::<RouteSlot>()) {
        let _ = slot.0.set(matched.as_str().to_string());
    }
    next.run(req).await
}

/// Logs, measures and bounds one request.
pub async fn observe(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let slot = RouteSlot::default();
    req.extensions_mut().insert(slot.clone());
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    // The query string is left out of logs on purpose: it can carry a reqToken.
    let span = tracing::info_span!("request", id = %request_id, method = %req.method(), path = %req.uri().path());
    let mut record = Record {
        method: method_label(req.method()),
        path: req.uri().path().to_string(),
        slot,
        start: Instant::now(),
        finished: false,
        span: span.clone(),
    };
    let deadline = state.config.request_timeout();
    let res = match tokio::time::timeout(deadline, next.run(req).instrument(span)).await {
        Ok(res) => res,
        Err(_) => ApiError::new(ErrorCode::RequestTimeout).into_response(),
    };
    record.finish(&res);
    res
}

/// The `method` label: one of HTTP's methods, or `other`. A request line may name any
/// token as its method, and every distinct label is a new series kept for the life of the
/// process, so a stranger sending made-up methods must not be able to mint them.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

struct Record {
    method: &'static str,
    path: String,
    slot: RouteSlot,
    start: Instant,
    finished: bool,
    span: tracing::Span,
}

impl Record {
    fn route(&self) -> &str {
        match self.slot.0.get() {
            Some(route) => route,
            None if self.path.starts_with("/pkg/") => "/pkg/{file}",
            None => "unmatched",
        }
    }

    fn finish(&mut self, res: &Response) {
        self.finished = true;
        let code = res.extensions().get::<ErrorCode>().copied();
        self.emit(res.status().as_u16(), code);
    }

    fn emit(&self, status: u16, code: Option<ErrorCode>) {
        let elapsed = self.start.elapsed();
        let route = self.route().to_string();
        let code_label = code.map_or("", ErrorCode::as_str);
        metrics::counter!(REQUESTS,
            "method" => self.method, "route" => route.clone(),
            "status" => status.to_string(), "code" => code_label)
        .increment(1);
        metrics::histogram!(LATENCY, "method" => self.method, "route" => route.clone())
            .record(elapsed.as_secs_f64());
        let _enter = self.span.enter();
        let ms = elapsed.as_secs_f64() * 1000.0;
        match status {
            500.. => tracing::error!(
                status,
                code = code_label,
                route,
                latency_ms = ms,
                "request failed"
            ),
            499 => tracing::warn!(
                status,
                code = code_label,
                route,
                latency_ms = ms,
                "caller closed the request"
            ),
            _ => tracing::info!(status, code = code_label, route, latency_ms = ms, "request"),
        }
    }
}

/// A request future dropped before it finished: the caller hung up.
impl Drop for Record {
    fn drop(&mut self) {
        if !self.finished {
            self.emit(
                ErrorCode::ClientClosedRequest.status(),
                Some(ErrorCode::ClientClosedRequest),
            );
        }
    }
}

/// A panic becomes `INTERNAL_ERROR`; its message goes to the log, never to the caller.
pub fn panic_response(err: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!(
        panic = crate::error::panic_message(&*err),
        "handler panicked"
    );
    ApiError::new(ErrorCode::InternalError).into_response()
}

/// The process-wide Prometheus recorder (installed once, even when tests start many apps).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(LATENCY.into()),
                    &[
                        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                        10.0,
                    ],
                )
                .expect("static buckets are valid")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed");
            }
            handle
        })
        .clone()
}

/// Histograms need periodic upkeep to keep their memory bounded.
pub fn spawn_metrics_upkeep(handle: PrometheusHandle) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            handle.run_upkeep();
        }
    });
}
