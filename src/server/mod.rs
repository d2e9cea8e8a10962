//! The HTTP server: start-up (`AppState::init` builds the [`crate::state`] once), the router,
//! and the layers every request goes through.
//!
//! ```text
//! connection ─► listen.rs (header timeout, connection cap, graceful drain)
//! request ─► x-request-id ─► language (locale::scope) ─► observe (log line, metrics,
//!         deadline, 499) ─► panic guard ─► security headers ─► router:
//!              /healthz /readyz                health.rs
//!              /api/v1/...                     api::routes (one route per #[server] fn)
//!              pages (/fypass, /docs, ...)     app.rs (page_facts: language and app look;
//!                                              render_again: a failed plain form post's
//!                                              page), rendered by leptos_axum
//!              /lang                           lang.rs: the pages' language switch
//!              /pkg/*                          assets.rs (precompressed, immutable)
//!              anything else                   public files, else NOT_FOUND
//! ```
//!
//! `/metrics` has a listener of its own (`FYPASS_METRICS_ADDR`, loopback by default): the
//! counts of sign-in outcomes must not be public.

mod assets;
mod health;
mod lang;
mod listen;
mod observe;
pub mod upkeep;

pub use listen::{Limits, serve_on};

use crate::{
    clients::ClientCache,
    config::Config,
    db::{Db, group::Group},
    error::{ApiError, ErrorCode},
    state::{AppState, CarriesSecrets, Services},
    tokens::rotation::{self, Refreshes},
};
use axum::{
    Router,
    extract::{DefaultBodyLimit, Request, State},
    handler::Handler,
    http::{HeaderName, HeaderValue, header},
    middleware::{from_fn, from_fn_with_state},
    response::{IntoResponse, Response},
    routing::get,
};
use leptos::config::LeptosOptions;
use leptos_axum::LeptosRoutes;
use std::{
    error::Error,
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, LazyLock},
};
use tower::ServiceBuilder;
use tower_http::{
    catch_panic::CatchPanicLayer,
    compression::{CompressionLayer, DefaultPredicate, Predicate},
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    set_header::SetResponseHeaderLayer,
};

impl AppState {
    /// Connects to and migrates the database, and starts the background upkeep.
    pub async fn init(
        config: Config,
        leptos_options: LeptosOptions,
    ) -> Result<AppState, Box<dyn Error>> {
        let db = Db::open(&config, config.db_max_connections).await?;
        let clients = Arc::new(ClientCache::default());
        clients.spawn_refresher(db.clone());
        let passwords = Arc::new(crate::password::Hasher::for_this_machine(
            config.password_queue,
        ));
        let courier = Arc::new(crate::courier::Courier::from_config(&config)?);
        let webauthn = crate::passkeys::flow::relying_party(&config).map(Arc::new);
        let ceremony_key = Arc::new(
            crate::passkeys::store::SealKey::load(&db)
                .await
                .map_err(|e| format!("cannot read the passkey ceremony key: {}", e.message))?,
        );
        courier.spawn(db.clone());
        let services = Services::default()
            .with(clients)
            .with(Arc::new(crate::devices::store::Saves::new(&db)))
            .with(Arc::new(Refreshes::<rotation::Nothing>::new(&db)))
            .with(Arc::new(Refreshes::<crate::oidc::token::GrantRead>::new(
                &db,
            )))
            .with(Arc::new(crate::oidc::device::PollClocks::default()))
            .with(Arc::new(
                Group::<crate::login::requests::LoginStarts>::start(&db),
            ))
            .with(ceremony_key);
        Ok(AppState {
            config: Arc::new(config),
            db,
            webauthn,
            services,
            passwords,
            courier,
            leptos_options,
            metrics: observe::metrics_handle(),
        })
    }
}

/// Where the built front end is (cargo-leptos' `LEPTOS_*` variables win), defaulting to
/// the layout of a cargo-leptos build: `<target>/site` beside `<target>/release/fypass`.
pub fn leptos_options(listen: SocketAddr) -> LeptosOptions {
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(PathBuf::from))
        .unwrap_or_default();
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let site_root = env("LEPTOS_SITE_ROOT")
        .unwrap_or_else(|| exe_dir.join("../site").to_string_lossy().into_owned());
    let hash_file = env("LEPTOS_HASH_FILE_NAME").unwrap_or_else(|| "hash.txt".into());
    let hash_files = env("LEPTOS_HASH_FILES")
        .map(|v| v == "true")
        .unwrap_or_else(|| exe_dir.join(&hash_file).exists());
    LeptosOptions::builder()
        .output_name(env("LEPTOS_OUTPUT_NAME").unwrap_or_else(|| "fypass".into()))
        .site_root(site_root)
        .site_pkg_dir(env("LEPTOS_SITE_PKG_DIR").unwrap_or_else(|| "pkg".into()))
        .site_addr(listen)
        .hash_file(Arc::<str>::from(hash_file))
        .hash_files(hash_files)
        .build()
}

/// The OpenAPI document (cheap to build, and rarely asked for).
async fn openapi_document(State(state): State<AppState>) -> axum::Json<serde_json::Value> {
    axum::Json(crate::openapi::document(&state.config.public_origin()))
}

/// The pages' routes, generated once per process (the server functions are mounted by
/// `api::routes`, not by leptos_axum).
///
/// Leptos generates them by running the app with resource loading switched off through a
/// process-wide flag (leptos_server's `SuppressResourceLoad`), and a resource whose loading
/// first starts while that flag is up waits forever (leptos-rs/leptos#4773). So a page
/// rendered while another router was being built never finished and was answered 504 at
/// the deadline: in one process that runs many apps (the integration tests) now and then.
/// Generated once, before the first router serves anything, no page can be rendering then.
static PAGE_ROUTES: LazyLock<Vec<leptos_axum::AxumRouteListing>> = LazyLock::new(|| {
    leptos_axum::generate_route_list_with_exclusions(
        crate::app::App,
        Some(crate::api::server_fn_paths()),
    )
});

/// The whole application.
pub fn router(state: AppState) -> Router {
    let options = state.leptos_options.clone();
    let routes = PAGE_ROUTES.clone();
    // The pages and their plain-form posts decide their language and app first.
    let pages = Router::new()
        .merge(crate::login::forms::routes())
        .merge(crate::codes::forms::routes())
        .merge(crate::account::forms::routes())
        .merge(crate::factors::forms::routes())
        .merge(crate::account::activity::routes())
        .leptos_routes_with_context(&state, routes, crate::app::page_context(state.clone()), {
            let options = options.clone();
            move || crate::app::shell(options.clone())
        })
        .route_layer(from_fn_with_state(state.clone(), crate::app::render_again))
        .route_layer(from_fn_with_state(state.clone(), crate::app::page_facts));
    let (pkg, front_ends) = assets::pkg(&options);
    // Each page names the smallest front end that hydrates it, and goes out compressed
    // when the browser takes gzip (the sign-in page's 5.4 KiB of HTML become 2.1 KiB) unless
    // it carries a secret ([`CarriesSecrets`]); the front-end files are precompressed.
    let pages = pages
        .layer(axum::middleware::map_response_with_state(
            Arc::new(front_ends),
            assets::bundle_for_page,
        ))
        .layer(CompressionLayer::new().compress_when(DefaultPredicate::new().and(no_secrets)));
    let not_found = not_found
        .layer(from_fn_with_state(state.clone(), crate::app::page_facts))
        .with_state(state.clone());
    let app = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/api/openapi.json", get(openapi_document))
        .route("/lang", get(lang::switch))
        .merge(crate::api::routes())
        .merge(crate::oidc::routes())
        .merge(pages)
        .method_not_allowed_fallback(method_not_allowed)
        .route_layer(from_fn(observe::tag_route))
        .nest_service("/pkg", pkg)
        .fallback_service(assets::public(&options, not_found));
    with_layers(app, state)
}

fn no_secrets(
    _: axum::http::StatusCode,
    _: axum::http::Version,
    _: &axum::http::HeaderMap,
    extensions: &axum::http::Extensions,
) -> bool {
    extensions.get::<CarriesSecrets>().is_none()
}

/// The layers every request goes through (see the module docs), around `app`.
pub fn with_layers(app: Router<AppState>, state: AppState) -> Router {
    let https = state.config.is_https();
    app.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(from_fn(crate::locale::scope))
            .layer(from_fn_with_state(state.clone(), observe::observe))
            .layer(CatchPanicLayer::custom(observe::panic_response))
            .layer(default_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .layer(default_header(header::REFERRER_POLICY, "no-referrer"))
            .layer(default_header(header::X_FRAME_OPTIONS, "DENY"))
            .layer(default_header(
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; frame-ancestors 'none'",
            ))
            .layer(default_header(header::CACHE_CONTROL, "no-store"))
            .layer(SetResponseHeaderLayer::if_not_present(
                header::STRICT_TRANSPORT_SECURITY,
                https.then(|| HeaderValue::from_static("max-age=63072000")),
            ))
            .layer(DefaultBodyLimit::max(state.config.body_limit_bytes)),
    )
    .with_state(state)
}

fn default_header(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

/// A known path asked with a method it does not take.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed)
}

/// No route matched: an HTML page for browsers, the JSON error for everyone else.
async fn not_found(State(state): State<AppState>, req: Request) -> Response {
    let wants_html = !req.uri().path().starts_with("/api/")
        && req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"));
    if !wants_html {
        return ApiError::new(ErrorCode::NotFound).into_response();
    }
    crate::app::render_page(state, req, || ()).await
}

/// Serves until SIGTERM or Ctrl-C, then lets in-flight requests finish.
pub async fn serve(config: Config) -> Result<(), Box<dyn Error>> {
    let listen = config.listen;
    let state = AppState::init(config, leptos_options(listen)).await?;
    // Only a deployment on this machine gets a client nobody asked for; its key goes to
    // standard output, to the person who started the server, and never into the log.
    if state.config.public_is_loopback()
        && let Some(demo) =
            crate::clients::store::create_demo_if_empty(&state.db, &state.config.public_origin())
                .await?
    {
        announce_demo_client(&state.config.public_origin(), &demo);
    }
    observe::spawn_metrics_upkeep(state.metrics.clone());
    upkeep::spawn(state.db.clone());
    state.courier.announce();
    if state.webauthn.is_none() {
        tracing::info!(
            public_url = %state.config.public_origin(),
            "passkeys are off: they need an https public URL (or http://localhost)"
        );
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let metrics = match state.config.metrics_addr.0 {
        Some(addr) => Some((
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| format!("cannot listen for metrics on {addr}: {e}"))?,
            addr,
        )),
        None => None,
    };
    tracing::info!(
        address = %listen,
        metrics = %metrics.as_ref().map_or("off".to_string(), |(_, a)| a.to_string()),
        public_url = %state.config.public_origin(),
        database = state.db.backend(),
        "fypass is serving"
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
    };
    let limits = listen::Limits::of(&state.config);
    let metrics = metrics.map(|(listener, _)| {
        tokio::spawn(listen::serve_on(
            listener,
            metrics_router(state.clone()),
            limits.clone(),
            until_stopped(),
        ))
    });
    let app = listen::serve_on(listener, router(state.clone()), limits, until_stopped());
    tokio::pin!(app);
    tokio::select! {
        () = &mut app => {}
        () = shutdown_signal() => {
            let _ = stop.send(true);
            app.await;
        }
    }
    if let Some(metrics) = metrics {
        let _ = metrics.await;
    }
    tracing::info!("in-flight requests finished; closing the database");
    state.db.close().await;
    Ok(())
}

/// The metrics listener's whole application: `/metrics`, and nothing else.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(health::metrics))
        .fallback(|| async { ApiError::new(ErrorCode::NotFound) })
        .with_state(state)
}

/// The demo client's key is printed once, with a request to try at once.
fn announce_demo_client(origin: &str, demo: &crate::clients::store::Created) {
    println!(
        "\n  A demo client was created for this new database (its key is shown only now):\n\n    \
         id:  {}\n    key: {}\n\n  Try it:\n\n    curl -H \"x-client-key: {}\" {origin}/api/v1/clients/info\n",
        demo.client.id, demo.key, demo.key
    );
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutdown signal received");
}
