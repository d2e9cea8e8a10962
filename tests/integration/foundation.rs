//! The plumbing every route shares: error bodies, routing, request ids, deadlines, hang-ups,
//! health, metrics, headers and static files.

use crate::support::{TestApp, expect_error};
use axum::{Router, routing::get};
use fypass::{clients::Grant, db::Db, server};
use std::time::Duration;

#[tokio::test]
async fn unknown_api_route_is_json_not_found() {
    let app = TestApp::spawn().await;
    expect_error(app.get("/api/v1/nothing/here").await, 404, "NOT_FOUND").await;
    // Also for other methods, and without an Accept header preference.
    let res = app
        .http
        .delete(app.url("/api/v1/nothing"))
        .send()
        .await
        .unwrap();
    expect_error(res, 404, "NOT_FOUND").await;
}

#[tokio::test]
async fn unknown_page_is_an_html_not_found_page_for_browsers() {
    let app = TestApp::spawn().await;
    let res = app
        .http
        .get(app.url("/no-such-page"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let html = TestApp::page_html(res).await;
    assert!(html.contains("NOT_FOUND"), "{html}");
    // Without text/html it is the API's JSON.
    expect_error(app.get("/no-such-page").await, 404, "NOT_FOUND").await;
}

#[tokio::test]
async fn wrong_method_on_a_known_route_is_method_not_allowed_with_allow() {
    let app = TestApp::spawn().await;
    let res = app
        .http
        .post(app.url("/api/v1/clients/info"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["allow"], "GET,HEAD");
    expect_error(res, 405, "METHOD_NOT_ALLOWED").await;
}

#[tokio::test]
async fn request_id_is_generated_or_echoed() {
    let app = TestApp::spawn().await;
    let res = app.get("/healthz").await;
    let generated = res.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(generated.len(), 36, "{generated}");
    let res = app
        .http
        .get(app.url("/api/v1/clients/info"))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-me-42");
}

#[tokio::test]
async fn api_replies_are_not_cached_and_carry_security_headers() {
    let app = TestApp::spawn().await;
    let (_, key) = app.client(&[Grant::All]).await;
    for res in [
        app.get_as(&key, "/api/v1/clients/info").await,
        app.get("/api/v1/clients/info").await,
    ] {
        let h = res.headers();
        assert_eq!(h["cache-control"], "no-store");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
    }
}

#[tokio::test]
async fn pages_get_a_csp_nonce_that_matches_their_hydration_script() {
    let app = TestApp::spawn().await;
    let res = app.get("/docs/errors").await;
    assert_eq!(res.status(), 200);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(res.headers()["referrer-policy"], "no-referrer");
    assert_eq!(res.headers()["cache-control"], "no-store");
    let html = TestApp::page_html(res).await;
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .expect("the CSP names a nonce");
    assert!(nonce.len() >= 16);
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(
        html.contains(&format!("<script type=\"module\" nonce=\"{nonce}\">")),
        "{html}"
    );
    // A second page view gets a different nonce.
    let again = app.get("/docs/errors").await;
    assert!(
        !again.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains(nonce)
    );
}

#[tokio::test]
async fn error_list_page_shows_every_code_with_status_and_solution() {
    let app = TestApp::spawn().await;
    let html = TestApp::page_html(app.get("/docs/errors").await).await;
    for code in fypass::error::ErrorCode::ALL {
        assert!(
            html.contains(&format!("id=\"{}\"", code.as_str())),
            "{code} missing"
        );
        assert!(
            html.contains(&html_escape(code.solution())),
            "{code} solution missing"
        );
    }
    for group in ["Clients", "Users", "Others"] {
        assert!(html.contains(&format!(">{group}</h2>")), "{group}");
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[tokio::test]
async fn docs_page_quotes_the_public_base_url() {
    let app = TestApp::spawn_with(|c| c.public_url = Some("https://id.example.com".into())).await;
    let html = TestApp::page_html(app.get("/docs").await).await;
    assert!(html.contains("https://id.example.com/api/v1"), "{html}");
}

#[tokio::test]
async fn healthz_and_readyz_answer() {
    let app = TestApp::spawn().await;
    let res = app.get("/healthz").await;
    assert_eq!(res.status(), 200);
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ready");
}

/// Holds every connection of the pool requests read from, as a stalled database would.
async fn hold_read_pool(db: &Db, max: u32) -> Vec<Box<dyn std::any::Any + Send>> {
    let mut held: Vec<Box<dyn std::any::Any + Send>> = Vec::new();
    for _ in 0..max {
        match db {
            Db::Sqlite { reader, .. } => held.push(Box::new(reader.acquire().await.unwrap())),
            Db::Postgres(pg) => held.push(Box::new(pg.pool.acquire().await.unwrap())),
        }
    }
    held
}

#[tokio::test]
async fn readyz_is_service_unavailable_while_the_database_is_stuck_and_recovers() {
    let app = TestApp::spawn_with(|c| c.db_max_connections = 1).await;
    let held = hold_read_pool(&app.state.db, 1).await;
    expect_error(app.get("/readyz").await, 503, "SERVICE_UNAVAILABLE").await;
    drop(held);
    assert_eq!(
        app.get("/readyz").await.status(),
        200,
        "recovers without a restart"
    );
}

#[tokio::test]
async fn a_request_past_its_deadline_is_request_timeout() {
    let app = TestApp::spawn_with(|c| {
        c.db_max_connections = 1;
        c.request_timeout_ms = 300;
    })
    .await;
    let (_, key) = app.client(&[Grant::All]).await;
    let held = hold_read_pool(&app.state.db, 1).await;
    let started = std::time::Instant::now();
    let res = app.get_as(&key, "/api/v1/clients/info").await;
    let body = expect_error(res, 504, "REQUEST_TIMEOUT").await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "answered at the deadline: {body}"
    );
    drop(held);
    assert_eq!(app.get_as(&key, "/api/v1/clients/info").await.status(), 200);
}

#[tokio::test]
async fn a_caller_that_hangs_up_is_recorded_as_client_closed_request() {
    let app = TestApp::spawn_with(|c| c.db_max_connections = 1).await;
    let (_, key) = app.client(&[Grant::All]).await;
    let series = "http_requests_total{method=\"GET\",route=\"/api/v1/clients/info\",status=\"499\",code=\"CLIENT_CLOSED_REQUEST\"}";
    let before = app.metric(series).await;
    let held = hold_read_pool(&app.state.db, 1).await;
    // The caller gives up after 200 ms; the server is still waiting for the database.
    let attempt = tokio::time::timeout(
        Duration::from_millis(200),
        app.get_as(&key, "/api/v1/clients/info"),
    )
    .await;
    assert!(attempt.is_err(), "the request was still in flight");
    let mut recorded = false;
    for _ in 0..50 {
        if app.metric(series).await > before {
            recorded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(held);
    assert!(recorded, "a 499 CLIENT_CLOSED_REQUEST was counted");
}

#[tokio::test]
async fn metrics_count_requests_by_route_status_and_code() {
    let app = TestApp::spawn().await;
    app.get("/api/v1/clients/info").await;
    let text = app.metrics_text().await;
    assert!(
        text.contains("http_requests_total{method=\"GET\",route=\"/api/v1/clients/info\",status=\"401\",code=\"UNITSYSTEM00001\"}"),
        "{text}"
    );
    assert!(
        text.contains(
            "http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/clients/info\""
        ),
        "{text}"
    );
    // Unknown paths are one series, never one per raw path.
    app.get("/api/v1/random-1").await;
    let text = app.metrics_text().await;
    assert!(!text.contains("random-1"));
    assert!(text.contains("route=\"unmatched\""));
}

/// A stranger who sends 300 made-up HTTP methods does not make 300 series: every label
/// comes from a closed set, and an unknown method is `other`.
#[tokio::test]
async fn made_up_http_methods_do_not_mint_metric_series() {
    let app = TestApp::spawn().await;
    for i in 0..300 {
        let method = reqwest::Method::from_bytes(format!("INVENTED{i}").as_bytes()).unwrap();
        let res = app
            .http
            .request(method, app.url("/api/v1/clients/info"))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_client_error(), "{}", res.status());
    }
    let text = app.metrics_text().await;
    assert!(!text.contains("INVENTED"), "a series per made-up method");
    assert!(
        text.lines()
            .any(|l| l.starts_with("http_requests_total{method=\"other\"")),
        "{text}"
    );
}

#[tokio::test]
async fn a_panic_is_an_internal_error_that_leaks_nothing() {
    let app = TestApp::spawn().await;
    let boom = Router::new().route(
        "/boom",
        get(|| async {
            if true {
                panic!("secret connection string postgres://admin:hunter2@db");
            }
            "unreachable"
        }),
    );
    let router = server::with_layers(boom, app.state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let res = reqwest::get(format!("http://{addr}/boom")).await.unwrap();
    let body = expect_error(res, 500, "INTERNAL_ERROR").await;
    assert!(!body.to_string().contains("hunter2"), "{body}");
}

#[tokio::test]
async fn front_end_files_are_served_precompressed_and_cached_forever() {
    let app = TestApp::spawn_hashed().await;
    let wasm = "/pkg/fypass.abc123.wasm";
    for (accept, encoding, body) in [
        ("br", Some("br"), "brotli bytes"),
        ("gzip", Some("gzip"), "gzip bytes"),
        ("gzip, deflate, br", Some("br"), "brotli bytes"),
        ("identity", None, "raw wasm bytes"),
        ("br;q=0.5, gzip", Some("gzip"), "gzip bytes"),
        ("br;q=0, *", Some("gzip"), "gzip bytes"),
        ("*;q=0", None, "raw wasm bytes"),
    ] {
        let res = app
            .http
            .get(app.url(wasm))
            .header("accept-encoding", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap()),
            encoding,
            "{accept}"
        );
        assert_eq!(
            res.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(res.headers()["content-type"], "application/wasm");
        assert_eq!(res.bytes().await.unwrap(), body.as_bytes(), "{accept}");
    }
    let head = app.http.head(app.url(wasm)).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-type"], "application/wasm");
    let post = app.http.post(app.url(wasm)).send().await.unwrap();
    expect_error(post, 405, "METHOD_NOT_ALLOWED").await;
    let missing = app.get("/pkg/fypass.nope.wasm").await;
    assert_eq!(missing.headers()["cache-control"], "no-store");
    expect_error(missing, 404, "NOT_FOUND").await;
    // Without hashed names a file must be revalidated.
    let unhashed = TestApp::spawn().await;
    assert_eq!(
        unhashed.get(wasm).await.headers()["cache-control"],
        "no-cache"
    );
    let favicon = app.get("/favicon.svg").await;
    assert_eq!(favicon.status(), 200);
    assert_eq!(favicon.headers()["cache-control"], "public, max-age=86400");
}

/// A pooled connection the server ended (`pg_terminate_backend`, as a restart or a failover
/// does) fails its next query with SQLSTATE 57P01: that request is `SERVICE_UNAVAILABLE`,
/// never `INTERNAL_ERROR`, and the requests after it get fresh connections.
#[tokio::test]
async fn a_connection_the_server_killed_is_service_unavailable_then_recovers() {
    if !crate::support::on_postgres() {
        return; // SQLite has no server to end a connection.
    }
    let app = TestApp::spawn_with(|c| c.db_max_connections = 2).await;
    let (_, key) = app.client(&[Grant::All]).await;
    let save = |n: u32| {
        app.http
            .post(app.url("/api/v1/devices"))
            .header("x-client-key", &key)
            .json(&serde_json::json!({ "deviceId": format!("tv-{n}"), "platform": "android" }))
            .send()
    };
    assert_eq!(save(0).await.unwrap().status(), 201);
    // End every connection of the app's pool, from another session.
    let database = url::Url::parse(app.database_url()).unwrap().path()[1..].to_string();
    let admin_url = std::env::var("FYPASS_TEST_DATABASE_URL").unwrap();
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url)
        .await
        .unwrap();
    let (ended,): (i64,) = sqlx::query_as(
        "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
         WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(&database)
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert!(ended > 0, "the app held a connection to end");
    let res = save(1).await.unwrap();
    if res.status() != 201 {
        expect_error(res, 503, "SERVICE_UNAVAILABLE").await;
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut n = 2;
    loop {
        let res = save(n).await.unwrap();
        if res.status() == 201 {
            break;
        }
        expect_error(res, 503, "SERVICE_UNAVAILABLE").await;
        assert!(
            std::time::Instant::now() < deadline,
            "recovers within 5 s without a restart"
        );
        n += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
