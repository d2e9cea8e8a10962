//! The test harness: the real application, on a fresh database, over real HTTP.
//!
//! Every test gets its own database: a new SQLite file, or — when
//! `FYPASS_TEST_DATABASE_URL` points at a PostgreSQL server — a new database created on
//! that server and dropped afterwards. The same tests thus run on both backends. With
//! `FYPASS_TEST_POOLER_URL` too (a PgBouncer in transaction mode in front of that server,
//! as `make test-postgres` starts), the apps reach their database through the pooler, as
//! several app nodes do in production; the tests' own SQL goes directly to the server.

use fypass::{
    clients::{Grant, store},
    config::Config,
    db::Db,
    server,
    state::AppState,
};
use serde_json::{Value, json};
use std::{future::Future, net::SocketAddr, path::PathBuf};
use uuid::Uuid;

/// The abuse limits the apps of these tests run with (the settings' defaults).
pub fn limits() -> fypass::limits::Limits {
    Config::defaults().limits
}

pub struct TestApp {
    pub addr: SocketAddr,
    /// The metrics listener (`FYPASS_METRICS_ADDR`).
    pub metrics_addr: SocketAddr,
    pub state: AppState,
    pub http: reqwest::Client,
    pub site: PathBuf,
    /// The tests' own handle on the database, straight to the server (never through the
    /// pooler: tests' ad hoc SQL would leave named statements on its server connections).
    direct: Db,
    /// Where the app's database is, and how the app reaches it.
    target: DbTarget,
    /// The database, dropped with the app; `None` for a second node on another app's.
    _db: Option<TestDb>,
}

/// A test database as the app and the tests reach it.
#[derive(Clone)]
struct DbTarget {
    /// What the app is configured with: the database itself, or the pooler in front of it.
    app_url: String,
    /// The database itself.
    direct_url: String,
    through_pooler: bool,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Starts the app with a configuration adjusted by `configure`.
    pub async fn spawn_with(configure: impl FnOnce(&mut Config)) -> TestApp {
        Self::launch("127.0.0.1:0", configure, false).await
    }

    /// Behind a trusted proxy at 127.0.0.1, so a test can call from any address with
    /// [`TestApp::post_from`] (`X-Forwarded-For`).
    pub async fn spawn_behind_proxy(configure: impl FnOnce(&mut Config)) -> TestApp {
        Self::spawn_with(|c| {
            c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
            configure(c);
        })
        .await
    }

    /// Listening on `bind` (`[::]:0`: both IPv6 and IPv4, whose callers then arrive as
    /// IPv4-mapped IPv6 addresses).
    pub async fn spawn_listening(bind: &str, configure: impl FnOnce(&mut Config)) -> TestApp {
        Self::launch(bind, configure, false).await
    }

    /// With `hash-files` on, as a release build runs. (Pages cannot render then: Leptos reads
    /// the hash file cargo-leptos writes beside the binary, which a test binary lacks.)
    pub async fn spawn_hashed() -> TestApp {
        Self::launch("127.0.0.1:0", |_| {}, true).await
    }

    /// On the PostgreSQL database at `direct_url` (which the test made and drops), reached
    /// through the transaction pooler at `pooler_url` when given.
    pub async fn spawn_on_postgres(direct_url: &str, pooler_url: Option<&str>) -> TestApp {
        let target = DbTarget {
            app_url: pooler_url.unwrap_or(direct_url).to_string(),
            direct_url: direct_url.to_string(),
            through_pooler: pooler_url.is_some(),
        };
        Self::boot("127.0.0.1:0", None, target, |_| {}, false).await
    }

    async fn launch(bind: &str, configure: impl FnOnce(&mut Config), hash_files: bool) -> TestApp {
        let db = TestDb::create().await;
        let target = db.target.clone();
        Self::boot(bind, Some(db), target, configure, hash_files).await
    }

    /// Another app node on this app's database (as several nodes share one PostgreSQL).
    pub async fn another_node(&self, configure: impl FnOnce(&mut Config)) -> TestApp {
        Self::boot("127.0.0.1:0", None, self.target.clone(), configure, false).await
    }

    async fn boot(
        bind: &str,
        db: Option<TestDb>,
        target: DbTarget,
        configure: impl FnOnce(&mut Config),
        hash_files: bool,
    ) -> TestApp {
        let listener = tokio::net::TcpListener::bind(bind).await.unwrap();
        let mut addr = listener.local_addr().unwrap();
        if addr.ip().is_unspecified() {
            addr.set_ip("127.0.0.1".parse().unwrap());
        }
        let mut config = Config::defaults();
        config.database_url = target.app_url.clone();
        if target.through_pooler {
            config.database_pooler = fypass::db::Pooler::Transaction;
            config.database_migrate_url = Some(target.direct_url.clone());
        }
        config.listen = addr;
        config.db_max_connections = 4;
        configure(&mut config);

        let site = fake_site();
        let mut options = server::leptos_options(addr);
        options.site_root = site.to_string_lossy().as_ref().into();
        options.hash_files = hash_files;
        let state = AppState::init(config, options).await.expect("app starts");
        serve(listener, server::router(state.clone()), &state.config);
        let metrics = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let metrics_addr = metrics.local_addr().unwrap();
        serve(
            metrics,
            server::metrics_router(state.clone()),
            &state.config,
        );
        let direct = if target.through_pooler {
            Db::connect(&target.direct_url, 2, fypass::db::Pooler::None)
                .await
                .expect("the test database, directly")
        } else {
            state.db.clone()
        };
        TestApp {
            addr,
            metrics_addr,
            state,
            http: reqwest::Client::builder().build().unwrap(),
            site,
            direct,
            target,
            _db: db,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The app's database, for a test to set a scene or look at what the app stored: a
    /// handle straight to the database server (also when the app goes through a pooler).
    pub fn db(&self) -> &Db {
        &self.direct
    }

    /// The URL of the app's database itself (for the admin commands and ad hoc
    /// connections; the app itself may reach it through a pooler).
    pub fn database_url(&self) -> &str {
        &self.target.direct_url
    }

    /// A page's HTML as a reader sees it: without the empty comments (`<!>`) Leptos puts
    /// after dynamic text to hydrate it, which tests should not depend on.
    pub async fn page_html(res: reqwest::Response) -> String {
        res.text().await.unwrap().replace("<!>", "")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    pub async fn get_as(&self, key: &str, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .header("x-client-key", key)
            .send()
            .await
            .unwrap()
    }

    /// A new client, created the way `fypass client create` does.
    pub async fn client(&self, grants: &[Grant]) -> (store::Client, String) {
        self.client_with(grants, &["https://app.example.com/done"])
            .await
    }

    pub async fn client_with(
        &self,
        grants: &[Grant],
        redirect_urls: &[&str],
    ) -> (store::Client, String) {
        let urls: Vec<String> = redirect_urls.iter().map(|s| s.to_string()).collect();
        let mut tx = self.db().begin().await.unwrap();
        let created = store::create(&mut tx, "Test app", grants, &urls)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        (created.client, created.key)
    }

    /// The text of `/metrics`, from the metrics listener.
    pub async fn metrics_text(&self) -> String {
        let url = format!("http://{}/metrics", self.metrics_addr);
        self.http
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The current value of a Prometheus counter line starting with `prefix`, or 0.
    pub async fn metric(&self, series: &str) -> f64 {
        let text = self.metrics_text().await;
        text.lines()
            .filter(|l| l.starts_with(series))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
}

/// An app (client) with every grant, as the tests' caller.
pub struct App {
    pub key: String,
    pub id: Uuid,
}

/// The login flow's routes, as an app and the hosted pages call them.
impl TestApp {
    /// A client with every grant, redirecting to `https://app.example.com/done`.
    pub async fn app_client(&self) -> App {
        let (client, key) = self
            .client_with(&[Grant::All], &["https://app.example.com/done"])
            .await;
        App { key, id: client.id }
    }

    /// A JSON POST from `ip`, as a trusted proxy forwards it (see `spawn_behind_proxy`).
    pub fn post_from(
        &self,
        ip: &str,
        path: &str,
        body: Value,
    ) -> impl Future<Output = reqwest::Response> + Send + 'static + use<> {
        let req = self
            .http
            .post(self.url(path))
            .header("x-forwarded-for", ip)
            .json(&body);
        async move { req.send().await.unwrap() }
    }

    /// A JSON POST, as a future that owns everything (so tests can spawn many at once).
    pub fn post(
        &self,
        path: &str,
        body: Value,
    ) -> impl Future<Output = reqwest::Response> + Send + 'static + use<> {
        let req = self.http.post(self.url(path)).json(&body);
        async move { req.send().await.unwrap() }
    }

    /// Starts a login request as `app`; returns its reqToken.
    pub async fn start(&self, app: &App, body: Value) -> String {
        let res = self
            .http
            .post(self.url(START))
            .header("x-client-key", &app.key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        res.json::<Value>().await.unwrap()["reqToken"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Polls the status of login request `token` as `app`.
    pub fn poll(
        &self,
        app: &App,
        token: &str,
    ) -> impl Future<Output = reqwest::Response> + Send + 'static + use<> {
        let req = self
            .http
            .get(self.url(&format!("{STATUS}?reqToken={token}")))
            .header("x-client-key", &app.key);
        async move { req.send().await.unwrap() }
    }

    /// Registers a person through a login request; returns the request's token.
    pub async fn register(
        &self,
        app: &App,
        email: &str,
        whatsapp: Option<&str>,
        password: &str,
    ) -> String {
        let token = self.start(app, json!({})).await;
        let res = self.post(REGISTER, json!({"reqToken": token, "name": "Alice", "email": email, "whatsapp": whatsapp, "password": password})).await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        token
    }
}

impl TestApp {
    /// Marks `identifier` verified for the account that claims it, as a code sent there
    /// would (only a verified identifier is exclusive).
    pub async fn verified(&self, identifier: &str) {
        let parsed = fypass::users::identifier::Identifier::parse(identifier, 62).unwrap();
        let user = fypass::users::store::find_by_identifier(self.db(), &parsed)
            .await
            .unwrap()
            .expect("someone claims it");
        let mut tx = self.db().begin().await.unwrap();
        fypass::users::store::verify_identifier(&mut tx, user.id, &parsed, false)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
}

pub const START: &str = "/api/v1/users/login";
pub const STATUS: &str = "/api/v1/users/login-status";
pub const LOGIN: &str = "/api/v1/fypass/login";
pub const REGISTER: &str = "/api/v1/fypass/register";

/// Runs `futures` at once (each spawned on the multi-threaded runtime) and collects their
/// outputs in order.
pub async fn join_all<F>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// The `name=value` of the session cookie a reply sets.
pub fn session_cookie(res: &reqwest::Response) -> String {
    cookie_named(res, "fypass_session").expect("a session cookie is set")
}

/// The `name=value` of the cookie `name` a reply sets, if it sets one.
pub fn cookie_named(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(|c| c.split(';').next().unwrap().to_string())
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.site);
    }
}

/// Serves `app` the way the binary does (`server::serve_on`: its timeouts and limits).
fn serve(listener: tokio::net::TcpListener, app: axum::Router, config: &Config) {
    let limits = server::Limits::of(config);
    tokio::spawn(server::serve_on(
        listener,
        app,
        limits,
        std::future::pending(),
    ));
}

/// A site root with a hashed, precompressed front-end file, as a release build leaves it.
fn fake_site() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fypass-site-{}", Uuid::now_v7().simple()));
    let pkg = dir.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("fypass.abc123.wasm"), b"raw wasm bytes").unwrap();
    std::fs::write(pkg.join("fypass.abc123.wasm.br"), b"brotli bytes").unwrap();
    std::fs::write(pkg.join("fypass.abc123.wasm.gz"), b"gzip bytes").unwrap();
    std::fs::write(dir.join("favicon.svg"), b"<svg/>").unwrap();
    dir
}

/// A database of the backend under test, removed when the test ends.
pub struct TestDb {
    /// The database itself (the admin commands' and the tests' own connections).
    pub url: String,
    target: DbTarget,
    cleanup: Cleanup,
}

enum Cleanup {
    SqliteDir(PathBuf),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    pub async fn create() -> TestDb {
        let id = Uuid::now_v7().simple().to_string();
        match std::env::var("FYPASS_TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            Some(admin_url) => {
                use sqlx::Connection;
                let name = format!("fypass_t_{id}");
                let mut admin = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .expect("PostgreSQL for tests");
                sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                    .execute(&mut admin)
                    .await
                    .unwrap();
                let on = |server: &str| {
                    let mut url = url::Url::parse(server).unwrap();
                    url.set_path(&name);
                    url.to_string()
                };
                let direct_url = on(&admin_url);
                let pooler = std::env::var("FYPASS_TEST_POOLER_URL")
                    .ok()
                    .filter(|u| !u.is_empty());
                TestDb {
                    url: direct_url.clone(),
                    target: DbTarget {
                        app_url: pooler.as_deref().map_or_else(|| direct_url.clone(), on),
                        through_pooler: pooler.is_some(),
                        direct_url,
                    },
                    cleanup: Cleanup::Postgres { admin_url, name },
                }
            }
            None => {
                let dir = std::env::temp_dir().join(format!("fypass-test-{id}"));
                let url = format!("sqlite://{}/fypass.db", dir.display());
                TestDb {
                    url: url.clone(),
                    target: DbTarget {
                        app_url: url.clone(),
                        direct_url: url,
                        through_pooler: false,
                    },
                    cleanup: Cleanup::SqliteDir(dir),
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::SqliteDir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Postgres { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop cannot await; a short-lived runtime on its own thread does the work.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    rt.block_on(async {
                        use sqlx::Connection;
                        if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                            let _ = sqlx::query(&format!(
                                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                            ))
                            .execute(&mut admin)
                            .await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

/// Whether this run tests PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var("FYPASS_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty())
}

/// The `{code, message}` body of an error response, with its status.
pub async fn error_of(res: reqwest::Response) -> (u16, serde_json::Value) {
    let status = res.status().as_u16();
    let body: serde_json::Value = res.json().await.expect("error bodies are JSON");
    (status, body)
}

/// Asserts an error response's status and code, returning its body.
pub async fn expect_error(res: reqwest::Response, status: u16, code: &str) -> serde_json::Value {
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let (got_status, body) = error_of(res).await;
    assert_eq!(
        (got_status, body["code"].as_str().unwrap_or_default()),
        (status, code),
        "{body}"
    );
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body
}
