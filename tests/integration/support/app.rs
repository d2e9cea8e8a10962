//! The app under test: the real application, started in the test's process on its own
//! database and port, served the way the binary serves it, and called over real HTTP.
//! With `FYPASS_TEST_POOLER_URL` set (a PgBouncer in transaction mode in front of the
//! PostgreSQL server, as `make test-postgres` starts), the apps reach their database
//! through the pooler, as several app nodes do in production; the tests' own SQL goes
//! directly to the server.

use super::{
    START, STATUS,
    db::{DbTarget, TestDb},
};
use fypass::{
    clients::{Grant, store},
    config::Config,
    db::Db,
    server,
    state::AppState,
};
use serde_json::Value;
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

    /// `GET /api/v1/users/me` as `app`, with the person's access token.
    pub async fn me(&self, app: &App, access: &str) -> reqwest::Response {
        self.http
            .get(self.url("/api/v1/users/me"))
            .header("x-client-key", &app.key)
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
    }

    /// The JSON a page's server function at `path` answers the browser signed in with
    /// session `cookie`.
    pub async fn json_as(&self, cookie: &str, path: &str) -> Value {
        self.http
            .get(self.url(path))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
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
