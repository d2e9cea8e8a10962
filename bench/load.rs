//! The load benchmark (`bench/run.sh` runs it; see BENCHMARKS.md for what it found).
//!
//! It measures fypass against the machine's own limits, in one run, so that figures from
//! a shared, noisy machine still mean something: every request rate is reported as a
//! ratio to `GET /healthz` (the cheapest route: the same router, layers and logging, no
//! work) measured in the same run, and the login rate as a ratio to raw Argon2id
//! verifications per second with the server's own parameters, measured here too.
//!
//! Steps: raw Argon2id rate on every core; a fresh database (SQLite in a temporary
//! directory, or a new PostgreSQL database with `--postgres URL`) seeded through the
//! library's own store functions with one client, 10k users and 100k devices; the release
//! binary started on it; login requests created through the API; then `wrk` (Debian's
//! package) drives each route for a bounded time over loopback. It prints a table and
//! writes it, with the command, into BENCHMARKS.md between markers for the backend.

use fypass::{
    clients::{Grant, store as clients},
    db::Db,
    devices::{DeviceInfo, Platform, store as devices},
    password,
    users::store as users,
};
use serde_json::{Value, json};
use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};
use tokio::process::{Child, Command};

mod peer;

type Result<T, E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

const USERS: usize = 10_000;
const DEVICES: usize = 100_000;
const PASSWORD: &str = "bench password";
/// Pending login requests the status route is polled with.
const POLLED_REQUESTS: usize = 2_000;
/// Refresh tokens seeded per second of each measured run of the refresh route (one for each
/// count of connections, `peer::CONNECTIONS`): each is used once, and running out would be
/// counted as wrong answers (a reused token revokes its family).
const REFRESHES_PER_SEC: usize = 20_000;

struct Args {
    /// PostgreSQL server URL (a database is created on it and dropped afterwards).
    postgres: Option<String>,
    /// Seconds per measured route.
    secs: u64,
    bin: PathBuf,
    out: Option<PathBuf>,
    /// Measure node oidc-provider beside fypass (`bench/peer/`), when node is there.
    peer: bool,
    /// Only the side-by-side run with the peer, printed (`--peer-only`): the quick loop.
    peer_only: bool,
}

impl Args {
    fn parse() -> Args {
        let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
        let mut args = Args {
            postgres: None,
            secs: 10,
            bin: Path::new(&target).join("release/fypass"),
            out: Some("BENCHMARKS.md".into()),
            peer: true,
            peer_only: false,
        };
        let mut it = std::env::args().skip(1);
        while let Some(arg) = it.next() {
            match arg.as_str() {
                "--postgres" => args.postgres = it.next(),
                "--duration" => {
                    args.secs = it.next().and_then(|s| s.parse().ok()).unwrap_or(args.secs)
                }
                "--bin" => args.bin = it.next().expect("--bin PATH").into(),
                "--no-write" => args.out = None,
                "--no-peer" => args.peer = false,
                "--peer-only" => args.peer_only = true,
                "--bench" => {} // what `cargo bench` passes
                other => panic!("unknown argument {other}; see bench/run.sh"),
            }
        }
        args
    }
}

/// One measured route.
struct Row {
    name: String,
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
    /// The server's resident memory right after the run, MiB: all, and anonymous only.
    rss_mib: (f64, f64),
    /// (ratio the target is to, minimum)
    target: Option<(Baseline, f64)>,
}

#[derive(Clone, Copy)]
enum Baseline {
    Healthz,
    Argon2,
}

/// What `wrk` reports, through the `done` function every script shares.
#[derive(Debug, serde::Deserialize)]
struct WrkResult {
    requests: u64,
    duration_us: u64,
    p50_us: u64,
    p99_us: u64,
    non2xx: u64,
    socket_errors: u64,
}

const DONE_LUA: &str = r#"
done = function(s, latency, requests)
  local e = s.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"non2xx":%d,"socket_errors":%d}\n',
    s.requests, s.duration, latency:percentile(50), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout))
end
"#;

/// A script that reads `file` (one value per line) into `lines` in every wrk thread.
fn lines_lua(file: &Path) -> String {
    format!(
        r#"
local lines = {{}}
for line in io.lines("{}") do lines[#lines + 1] = line end
math.randomseed(os.time() + math.floor(os.clock() * 1000000))
local function pick() return lines[math.random(#lines)] end
"#,
        file.display()
    )
}

struct Bench {
    base: String,
    key: String,
    work: PathBuf,
    secs: u64,
    pid: u32,
}

impl Bench {
    /// Runs wrk with `script` for the configured time.
    async fn wrk(&self, name: &str, script: &str, threads: u32, conns: u32) -> Result<WrkResult> {
        self.wrk_at(&self.base, name, script, threads, conns).await
    }

    /// Runs wrk with `script` against `base` (fypass, or the peer) for the configured time.
    async fn wrk_at(
        &self,
        base: &str,
        name: &str,
        script: &str,
        threads: u32,
        conns: u32,
    ) -> Result<WrkResult> {
        let file = self
            .work
            .join(format!("{}.lua", name.replace(['/', ' ', '{', '}'], "_")));
        // A script that checks answers brings its own `done` (bench/peer.rs).
        let done = if script.contains("done = function") {
            ""
        } else {
            DONE_LUA
        };
        let script = format!(
            "wrk.headers['x-client-key'] = '{}'\n{script}\n{done}",
            self.key
        );
        std::fs::write(&file, script)?;
        let out = Command::new("wrk")
            .args(["-t", &threads.to_string(), "-c", &conns.to_string()])
            .args(["-d", &format!("{}s", self.secs), "--timeout", "5s", "-s"])
            .arg(&file)
            .arg(base)
            .stderr(Stdio::inherit())
            .output()
            .await?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let json = stdout
            .lines()
            .rev()
            .find(|l| l.starts_with('{'))
            .ok_or_else(|| format!("wrk printed no result for {name}: {stdout}"))?;
        Ok(serde_json::from_str(json)?)
    }

    async fn measure(
        &self,
        name: &str,
        script: &str,
        conns: u32,
        target: Option<(Baseline, f64)>,
    ) -> Result<Row> {
        let r = self.wrk(name, script, 2, conns).await?;
        let row = row(name, &r, target, self.pid);
        eprintln!("  {:<44} {:>9.0} req/s", row.name, row.rate);
        Ok(row)
    }
}

fn row(name: &str, r: &WrkResult, target: Option<(Baseline, f64)>, pid: u32) -> Row {
    Row {
        name: name.to_string(),
        rate: r.requests as f64 / (r.duration_us as f64 / 1e6),
        p50_ms: r.p50_us as f64 / 1000.0,
        p99_ms: r.p99_us as f64 / 1000.0,
        errors: r.non2xx + r.socket_errors,
        rss_mib: {
            let (all, _, anon) = rss(pid);
            (all, anon)
        },
        target,
    }
}

/// Raw Argon2id verifications per second, one thread per core, the server's parameters.
fn argon2_rate(for_: Duration) -> f64 {
    let hash = password::hash_blocking(PASSWORD);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let started = Instant::now();
    let done: usize = std::thread::scope(|s| {
        let workers: Vec<_> = (0..cores)
            .map(|_| {
                s.spawn(|| {
                    let mut n = 0;
                    while started.elapsed() < for_ {
                        assert!(password::verify_blocking(PASSWORD, &hash));
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    done as f64 / started.elapsed().as_secs_f64()
}

struct Seeded {
    client_id: String,
    key: String,
    emails: Vec<String>,
    device_ids: Vec<String>,
    /// Refresh tokens of OpenID Connect sign-ins (scope `openid offline_access`), each of
    /// its own sign-in, for the refresh grant (each can be used once: it rotates).
    refresh_tokens: Vec<String>,
}

/// One client with every grant, 10k users (one shared hash: verifying it costs the same
/// as any other), 100k devices of which every tenth belongs to a user, and `refreshes`
/// OpenID Connect sign-ins' refresh tokens.
async fn seed(db: &Db, refreshes: usize) -> Result<Seeded> {
    let mut tx = db.begin().await?;
    let created = clients::create(&mut tx, "Bench app", &[Grant::All], &[]).await?;
    tx.commit().await?;
    let client_id = created.client.id;

    let hash = password::hash_blocking(PASSWORD);
    let emails: Vec<String> = (0..USERS)
        .map(|i| format!("bench{i}@example.com"))
        .collect();
    let mut user_ids = Vec::with_capacity(USERS);
    for chunk in emails.chunks(1000) {
        let mut tx = db.begin().await?;
        for email in chunk {
            let new = users::NewUser {
                name: "Bench User",
                email: Some(email),
                whatsapp: None,
                password_hash: &hash,
            };
            user_ids.push(users::insert(&mut tx, new).await?.id);
        }
        tx.commit().await?;
    }

    let mut tasks = tokio::task::JoinSet::new();
    let per_task = DEVICES / 8;
    let saves = std::sync::Arc::new(devices::Saves::new(db));
    for t in 0..8 {
        let (saves, user_ids) = (saves.clone(), user_ids.clone());
        tasks.spawn(async move {
            let mut ids = Vec::with_capacity(per_task);
            for i in t * per_task..(t + 1) * per_task {
                let info = DeviceInfo {
                    device_id: format!("bench-{i}"),
                    device_name: Some(format!("Phone {i}")),
                    platform: Platform::Android,
                    os_version: Some("15".into()),
                    app_version: Some("1.0.0".into()),
                    model: Some("Pixel 9".into()),
                    manufacturer: Some("Google".into()),
                    push_token: None,
                    locale: Some("en".into()),
                    timezone: Some("Asia/Jakarta".into()),
                };
                let user = (i % 10 == 0).then(|| user_ids[i / 10 % USERS]);
                let (row, _) = saves
                    .save(client_id, user, info, Default::default())
                    .await?;
                ids.push(row.id.to_string());
            }
            Ok::<_, fypass::error::ApiError>(ids)
        });
    }
    let mut device_ids = Vec::with_capacity(DEVICES);
    while let Some(ids) = tasks.join_next().await {
        device_ids.extend(ids??);
    }

    // What `/oauth/token` leaves after an authorization code grant: a token pair and the
    // grant's record (scope, when and how the person signed in), from which a refresh
    // issues an ID token again.
    let config = fypass::config::Config::defaults();
    let mut refresh_tokens = Vec::with_capacity(refreshes);
    for chunk in (0..refreshes).collect::<Vec<_>>().chunks(1000) {
        let mut tx = db.begin().await?;
        for &i in chunk {
            let user_id = user_ids[i % USERS];
            let pair =
                fypass::tokens::start_family(&mut tx, &config, user_id, client_id, None).await?;
            let sql = "INSERT INTO oidc_grants (family_id, client_id, user_id, scope, auth_time, amr, created_at, expires_at)
                       SELECT family_id, client_id, user_id, 'openid offline_access', created_at, 'pwd', created_at, expires_at
                       FROM refresh_tokens WHERE token_hash = $1";
            let hash = fypass::tokens::refresh::keys_of(&pair.refresh_token)
                .and_then(|keys| keys.ordered)
                .expect("a refresh token issued now");
            match &mut tx {
                fypass::db::Tx::Sqlite(t) => {
                    sqlx::query(sql).bind(&hash).execute(&mut **t).await?;
                }
                fypass::db::Tx::Postgres(t) => {
                    sqlx::query(sql).bind(&hash).execute(t.exec()).await?;
                }
            }
            refresh_tokens.push(pair.refresh_token);
        }
        tx.commit().await?;
    }
    Ok(Seeded {
        client_id: client_id.to_string(),
        key: created.key,
        emails,
        device_ids,
        refresh_tokens,
    })
}

/// `n` pending login requests, created through the API as an app would.
async fn login_requests(http: &reqwest::Client, base: &str, key: &str, n: usize) -> Vec<String> {
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..16 {
        let (http, url, key) = (
            http.clone(),
            format!("{base}/api/v1/users/login"),
            key.to_string(),
        );
        tasks.spawn(async move {
            let mut tokens = Vec::new();
            for _ in (t..n).step_by(16) {
                let res = http
                    .post(&url)
                    .header("x-client-key", &key)
                    .json(&json!({}))
                    .send()
                    .await
                    .expect("start a login request");
                assert_eq!(res.status(), 201, "POST /api/v1/users/login");
                let body: Value = res.json().await.expect("a Fypass URL");
                tokens.push(body["reqToken"].as_str().unwrap().to_string());
            }
            tokens
        });
    }
    tasks.join_all().await.concat()
}

/// Resident memory of a process, in MiB: (now, peak, now without file-backed pages).
/// The first two include file-backed pages (the binary and its libraries), which the OS
/// page cache holds anyway.
fn rss(pid: u32) -> (f64, f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = |field: &str| {
        status
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (kib("VmRSS:"), kib("VmHWM:"), kib("RssAnon:"))
}

/// Bytes a first visit to `path` transfers with brotli: the page and every `/pkg/` file
/// it refers to, plus the favicon. Returns (total, [(file, bytes)]).
async fn first_load(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    cookie: Option<&str>,
) -> Result<(u64, Vec<(String, u64)>)> {
    let get = |p: String| {
        let req = http
            .get(format!("{base}{p}"))
            .header("accept-encoding", "br, gzip");
        match cookie {
            Some(c) => req.header("cookie", c),
            None => req,
        }
        .send()
    };
    // What crosses the wire (the page compressed), then the page itself to read its links.
    let page = get(path.to_string()).await?.bytes().await?;
    let mut files = vec![(path.to_string(), page.len() as u64)];
    let plain = match cookie {
        Some(c) => http.get(format!("{base}{path}")).header("cookie", c),
        None => http.get(format!("{base}{path}")),
    };
    let plain = plain.send().await?.bytes().await?;
    let html = String::from_utf8_lossy(&plain);
    let mut refs: Vec<String> = html
        .match_indices("/pkg/")
        .map(|(i, _)| {
            html[i..]
                .chars()
                .take_while(|c| !matches!(c, '"' | '\'' | ' ' | ')' | '>'))
                .collect()
        })
        .collect();
    refs.push("/favicon.svg".into()); // the icon the shell links
    refs.sort();
    refs.dedup();
    for r in refs {
        let res = get(r.clone()).await?;
        if res.status() == 200 {
            files.push((r, res.bytes().await?.len() as u64));
        }
    }
    Ok((files.iter().map(|(_, n)| n).sum(), files))
}

/// The whole front end's file with extension `ext` (`fypass.<hash>.<ext>`, not a bundle's
/// `fypass-<bundle>.<hash>.<ext>`).
fn site_file(bin: &Path, ext: &str) -> Option<PathBuf> {
    let pkg = bin.parent()?.parent()?.join("site/pkg");
    std::fs::read_dir(pkg)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.extension().is_some_and(|e| e == ext)
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("fypass."))
        })
}

fn size(p: &Path) -> u64 {
    std::fs::metadata(p).map_or(0, |m| m.len())
}

async fn start_server(
    bin: &Path,
    url: &str,
    port: u16,
    metrics_port: u16,
    log: &Path,
) -> Result<Child> {
    let child = Command::new(bin)
        .arg("serve")
        .env("FYPASS_DATABASE_URL", url)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("FYPASS_METRICS_ADDR", format!("127.0.0.1:{metrics_port}"))
        // The load comes from one address: lift the per-network caps meant for strangers.
        .env("FYPASS_REGISTRATIONS_PER_HOUR", "1000000")
        .env("FYPASS_MAX_CONNECTIONS_PER_ADDRESS", "1000000")
        .env("FYPASS_LOGIN_TTL_SECS", "3600")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log)?)
        .kill_on_drop(true)
        .spawn()?;
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(res) = http
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            && res.status() == 200
        {
            return Ok(child);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("the server did not become ready; see {}", log.display()).into())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let backend = if args.postgres.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    let work = std::env::temp_dir().join(format!("fypass-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    eprintln!("raw Argon2id verifies on {cores} threads for 5 s ...");
    let argon2 = argon2_rate(Duration::from_secs(5));
    eprintln!("  {argon2:.1} verifies/s");

    let (url, pg_cleanup) = match &args.postgres {
        None => (format!("sqlite://{}/fypass.db", work.display()), None),
        Some(admin) => {
            use sqlx::Connection;
            let name = format!("fypass_bench_{}", std::process::id());
            let mut conn = sqlx::PgConnection::connect(admin).await?;
            sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                .execute(&mut conn)
                .await?;
            let mut url = url::Url::parse(admin)?;
            url.set_path(&name);
            (url.to_string(), Some((admin.clone(), name)))
        }
    };
    eprintln!("seeding {USERS} users and {DEVICES} devices on {backend} ...");
    let seeding = Instant::now();
    let db = Db::connect(&url, 8, fypass::db::Pooler::None).await?;
    db.migrate(None).await?;
    let refreshes = REFRESHES_PER_SEC * args.secs as usize * peer::CONNECTIONS.len();
    let seeded = seed(&db, refreshes).await?;
    db.close().await;
    eprintln!("  done in {:.1} s", seeding.elapsed().as_secs_f64());

    let free_port = || -> Result<u16> {
        Ok(std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port())
    };
    let (port, metrics_port) = (free_port()?, free_port()?);
    let log = work.join("server.log");
    let server = start_server(&args.bin, &url, port, metrics_port, &log).await?;
    let pid = server.id().expect("the server runs");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (rss_idle, _, rss_idle_anon) = rss(pid);
    let base = format!("http://127.0.0.1:{port}");
    // `/metrics` has its own listener (FYPASS_METRICS_ADDR).
    let metrics = format!("http://127.0.0.1:{metrics_port}");
    let http = reqwest::Client::new();

    // Enough fresh login requests for the storm at several times the raw Argon2 rate.
    let storm_n = ((argon2 * 3.0) as usize * args.secs as usize).max(1000);
    let polled = login_requests(&http, &base, &seeded.key, POLLED_REQUESTS).await;
    let storm = login_requests(&http, &base, &seeded.key, storm_n * 2).await;

    let files = |name: &str, lines: &[String]| -> Result<PathBuf> {
        let p = work.join(name);
        std::fs::write(&p, lines.join("\n"))?;
        Ok(p)
    };
    let device_file = files("devices.txt", &seeded.device_ids)?;
    let polled_file = files("polled.txt", &polled)?;
    let storm_lines: Vec<String> = storm
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{t} {}", seeded.emails[i * 7919 % USERS]))
        .collect();
    let (alone, beside) = storm_lines.split_at(storm_n);
    let storm_files = [files("storm-a.txt", alone)?, files("storm-b.txt", beside)?];

    let bench = Bench {
        base: base.clone(),
        key: seeded.key.clone(),
        work: work.clone(),
        secs: args.secs,
        pid,
    };
    let wasm =
        site_file(&args.bin, "wasm").ok_or("no .wasm in the site: build the release first")?;
    let css = site_file(&args.bin, "css").ok_or("no .css in the site")?;
    let name_of = |p: &Path| p.file_name().unwrap().to_string_lossy().into_owned();
    let (wasm_name, css_name) = (name_of(&wasm), name_of(&css));

    if args.peer_only {
        let pairs = peer::compare(&bench, &http, &work, &polled_file, &seeded).await?;
        println!("{}", peer::markdown(&pairs));
        return Ok(());
    }
    eprintln!("driving each route for {} s with wrk ...", args.secs);
    let healthz = "wrk.path = '/healthz'";
    // A GET of `prefix` followed by a random line of `file`.
    let each_of = |file: &Path, prefix: &str| {
        format!(
            "{}\nrequest = function() return wrk.format('GET', '{prefix}' .. pick()) end",
            lines_lua(file)
        )
    };
    let reads = [
        ("GET /healthz", healthz.to_string(), None),
        (
            "GET /api/v1/clients/info",
            "wrk.path = '/api/v1/clients/info'".to_string(),
            Some((Baseline::Healthz, 0.6)),
        ),
        (
            "GET /api/v1/devices/{id}",
            each_of(&device_file, "/api/v1/devices/"),
            Some((Baseline::Healthz, 0.3)),
        ),
        (
            "GET /api/v1/users/login-status",
            each_of(&polled_file, "/api/v1/users/login-status?reqToken="),
            Some((Baseline::Healthz, 0.3)),
        ),
    ];
    let mut rows = Vec::new();
    for (name, script, target) in &reads {
        rows.push(bench.measure(name, script, 32, *target).await?);
    }
    // Half the ids exist (updates), half are new, and all repeat over the run.
    let save = format!(
        r#"wrk.method = 'POST'
wrk.headers['content-type'] = 'application/json'
math.randomseed(os.time() + math.floor(os.clock() * 1000000))
request = function()
  local body = '{{"deviceId":"bench-' .. math.random(0, {}) .. '","platform":"ios","appVersion":"2.0.' .. math.random(0, 9) .. '"}}'
  return wrk.format(nil, '/api/v1/devices', nil, body)
end"#,
        DEVICES * 2
    );
    let locked_before = locked_count(&log);
    let mut save_row = bench
        .measure(
            "POST /api/v1/devices (32 writers)",
            &save,
            32,
            Some((Baseline::Healthz, 0.2)),
        )
        .await?;
    let locked = locked_count(&log) - locked_before;
    save_row.errors += locked;
    rows.push(save_row);
    // Login starts: each a durable write of a new request (token, user code, expiry).
    let start = r#"wrk.method = 'POST'
wrk.path = '/api/v1/users/login'
wrk.headers['content-type'] = 'application/json'
wrk.body = '{"deviceInfo":{"deviceId":"tv-bench","platform":"android"}}'"#;
    let start_target = if backend == "sqlite" { 0.2 } else { 0.1 };
    rows.push(
        bench
            .measure(
                "POST /api/v1/users/login (start)",
                start,
                32,
                Some((Baseline::Healthz, start_target)),
            )
            .await?,
    );
    let side_by_side = if args.peer {
        peer::compare(&bench, &http, &work, &polled_file, &seeded).await?
    } else {
        Vec::new()
    };
    for (file, label) in [(&wasm_name, "wasm"), (&css_name, "css")] {
        let script = format!("wrk.path = '/pkg/{file}'\nwrk.headers['accept-encoding'] = 'br'");
        rows.push(
            bench
                .measure(
                    &format!("GET /pkg/*.{label} (br)"),
                    &script,
                    32,
                    Some((Baseline::Healthz, 0.5)),
                )
                .await?,
        );
    }

    // The login storm: alone for its rate, then again with client-key reads beside it.
    let login = |file: &Path| {
        format!(
            r#"wrk.method = 'POST'
wrk.headers['content-type'] = 'application/json'
local lines = {{}}
for line in io.lines("{}") do lines[#lines + 1] = line end
local n = 0
request = function()
  n = n + 1
  local token, email = lines[(n - 1) % #lines + 1]:match('(%S+) (%S+)')
  local body = '{{"reqToken":"' .. token .. '","identifier":"' .. email .. '","password":"{PASSWORD}"}}'
  return wrk.format(nil, '/api/v1/fypass/login', nil, body)
end"#,
            file.display()
        )
    };
    // As many sign-ins in flight as the hashing pool admits (a thread and 4 waiting per core).
    let storm_conns = cores as u32 * 5;
    let verifications_before = verifications(&http, &metrics).await;
    let storm_r = bench
        .wrk("login storm", &login(&storm_files[0]), 1, storm_conns)
        .await?;
    let verified = verifications(&http, &metrics).await - verifications_before;
    rows.push(row(
        "POST /api/v1/fypass/login (storm)",
        &storm_r,
        Some((Baseline::Argon2, 0.9)),
        pid,
    ));
    eprintln!("  login storm {:.1}/s", rows.last().unwrap().rate);
    let second = login(&storm_files[1]);
    let (storm_r, beside_r) = tokio::join!(
        bench.wrk("login storm 2", &second, 1, storm_conns),
        bench.wrk(
            "info beside storm",
            "wrk.path = '/api/v1/clients/info'",
            1,
            4
        ),
    );
    rows.push(row(
        "POST /api/v1/fypass/login (storm, reads beside)",
        &storm_r?,
        None,
        pid,
    ));
    let beside = row(
        "GET /api/v1/clients/info during the storm",
        &beside_r?,
        None,
        pid,
    );
    eprintln!(
        "  clients/info beside the storm: p99 {:.2} ms",
        beside.p99_ms
    );
    rows.push(beside);
    rows.push(
        bench
            .measure("GET /healthz (again, at the end)", healthz, 32, None)
            .await?,
    );
    let (_, rss_peak, _) = rss(pid);
    let rss_anon_peak = rows.iter().map(|r| r.rss_mib.1).fold(0.0, f64::max);

    let polled_token = &polled[0];
    let (first_bytes, first_files) = first_load(
        &http,
        &base,
        &format!("/fypass?reqToken={polled_token}"),
        None,
    )
    .await?;
    // The dashboard, as a person signed in with the first seeded email sees it.
    let signed_in = http
        .post(format!("{base}/api/v1/fypass/login"))
        .json(&json!({"identifier": seeded.emails[0], "password": PASSWORD}))
        .send()
        .await?;
    let session = signed_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("fypass_session="))
        .and_then(|c| c.split(';').next())
        .ok_or("signing in for the dashboard gave no session")?
        .to_string();
    let (devices_bytes, devices_files) =
        first_load(&http, &base, "/devices", Some(&session)).await?;
    let error_replies = error_replies(&http, &metrics).await;

    drop(server);
    if let Some((admin, name)) = pg_cleanup {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&admin).await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&mut conn)
            .await?;
    }

    let healthz_rate = (rows[0].rate + rows[rows.len() - 1].rate) / 2.0;
    let report = Report {
        backend,
        command: command_line(&args),
        cores,
        argon2,
        healthz: healthz_rate,
        rows,
        verified,
        error_replies,
        storm_secs: args.secs,
        rss_idle,
        rss_idle_anon,
        rss_peak,
        rss_anon_peak,
        first_bytes,
        first_files,
        devices_bytes,
        devices_files,
        wasm: (
            size(&wasm),
            size(&wasm.with_extension("wasm.br")),
            size(&wasm.with_extension("wasm.gz")),
        ),
        locked,
        side_by_side,
    };
    let text = report.markdown();
    println!("{text}");
    if let Some(out) = &args.out {
        write_section(out, backend, &text)?;
        eprintln!("wrote the {backend} section of {}", out.display());
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

/// How often the server has answered a write with SQLite's "database is locked".
fn locked_count(log: &Path) -> u64 {
    std::fs::read_to_string(log).map_or(0, |s| s.matches("database is locked").count() as u64)
}

async fn metrics_text(http: &reqwest::Client, base: &str) -> String {
    match http.get(format!("{base}/metrics")).send().await {
        Ok(res) => res.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// The server's count of password verifications (from /metrics), to check the storm's
/// logins were real verifications.
async fn verifications(http: &reqwest::Client, base: &str) -> u64 {
    metrics_text(http, base)
        .await
        .lines()
        .find(|l| l.starts_with("fypass_password_verifications_total"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

/// Every error reply the server counted (from /metrics), as "route status CODE: count":
/// the load is all valid requests, so each is worth a look.
async fn error_replies(http: &reqwest::Client, base: &str) -> Vec<String> {
    let text = metrics_text(http, base).await;
    let label = |labels: &str, name: &str| {
        let start = labels.find(&format!("{name}=\""))? + name.len() + 2;
        let len = labels[start..].find('"')?;
        Some(labels[start..start + len].to_string())
    };
    text.lines()
        .filter(|l| l.contains("http_requests_total{"))
        .filter_map(|l| {
            let (labels, count) = l.rsplit_once(' ')?;
            let status = label(labels, "status")?;
            if !status.starts_with(['4', '5']) {
                return None;
            }
            let count = count.parse::<f64>().ok()?;
            Some(format!(
                "`{} {}` {status} {}: {count}",
                label(labels, "method").unwrap_or_default(),
                label(labels, "route").unwrap_or_default(),
                label(labels, "code").unwrap_or_default(),
            ))
        })
        .collect()
}

fn command_line(args: &Args) -> String {
    let mut cmd = String::from("bench/run.sh");
    if args.postgres.is_some() {
        cmd.push_str(" --postgres");
    }
    if args.secs != 10 {
        let _ = write!(cmd, " --duration {}", args.secs);
    }
    cmd
}

struct Report {
    backend: &'static str,
    command: String,
    cores: usize,
    argon2: f64,
    healthz: f64,
    rows: Vec<Row>,
    verified: u64,
    error_replies: Vec<String>,
    storm_secs: u64,
    rss_idle: f64,
    /// Of it, anonymous (the process's own memory, not the binary or the database's pages).
    rss_idle_anon: f64,
    rss_peak: f64,
    rss_anon_peak: f64,
    first_bytes: u64,
    first_files: Vec<(String, u64)>,
    devices_bytes: u64,
    devices_files: Vec<(String, u64)>,
    wasm: (u64, u64, u64),
    locked: u64,
    side_by_side: Vec<peer::Pair>,
}

impl Report {
    fn markdown(&self) -> String {
        let mut s = String::new();
        let date = std::process::Command::new("date")
            .arg("-u")
            .arg("+%Y-%m-%d %H:%M UTC")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|c| {
                c.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_default();
        let _ = writeln!(s, "### {} — `{}`\n", self.backend, self.command);
        let _ = writeln!(
            s,
            "{date}; {} cores ({cpu}); wrk and the server on the same machine; {} s per route; \
             {USERS} users and {DEVICES} devices seeded. Baselines from this run: `GET /healthz` \
             {:.0} req/s (mean of the first and last run), raw Argon2id (m=19456, t=2, p=1) \
             {:.1} verifies/s on {} threads.\n",
            self.cores, self.storm_secs, self.healthz, self.argon2, self.cores
        );
        s.push_str("| route | req/s | p50 ms | p99 ms | errors | RSS after (anon), MiB | ratio | target | met |\n");
        s.push_str("|---|---:|---:|---:|---:|---:|---:|---|:---:|\n");
        for r in &self.rows {
            let (ratio, target, met) = match r.target {
                None => ("".to_string(), "".to_string(), ""),
                Some((b, min)) => {
                    let base = match b {
                        Baseline::Healthz => self.healthz,
                        Baseline::Argon2 => self.argon2,
                    };
                    let ratio = r.rate / base;
                    let what = match b {
                        Baseline::Healthz => "× /healthz",
                        Baseline::Argon2 => "× raw Argon2id",
                    };
                    let ok = ratio >= min && r.errors == 0;
                    (
                        format!("{ratio:.2}"),
                        format!("≥ {min} {what}, 0 errors"),
                        if ok { "yes" } else { "**no**" },
                    )
                }
            };
            let (target, met) = if r.name.contains("during the storm") {
                (
                    "p99 ≤ 10 ms".to_string(),
                    if r.p99_ms <= 10.0 { "yes" } else { "**no**" },
                )
            } else {
                (target, met)
            };
            let _ = writeln!(
                s,
                "| `{}` | {:.0} | {:.2} | {:.2} | {} | {:.0} ({:.0}) | {} | {} | {} |",
                r.name,
                r.rate,
                r.p50_ms,
                r.p99_ms,
                r.errors,
                r.rss_mib.0,
                r.rss_mib.1,
                ratio,
                target,
                met
            );
        }
        let (raw, br, gz) = self.wasm;
        let _ = writeln!(
            s,
            "\n* Login storm: {} password verifications counted by the server during it \
               ({:.1}/s). \"database is locked\" in the server log during the 32 writers: {}.",
            self.verified,
            self.verified as f64 / self.storm_secs as f64,
            self.locked
        );
        let _ = writeln!(
            s,
            "* Error replies the server counted over the whole run (its `/metrics`; a 499 is a \
               request still in flight when `wrk` stopped): {}.",
            if self.error_replies.is_empty() {
                "none".to_string()
            } else {
                self.error_replies.join("; ")
            }
        );
        let _ = writeln!(
            s,
            "* Server memory (RSS): {:.1} MiB idle after start ({:.1} MiB of it anonymous), \
             {:.1} MiB peak under load; at most {:.1} MiB of it anonymous after any route (the \
             rest is file-backed: the binary and its libraries).",
            self.rss_idle, self.rss_idle_anon, self.rss_peak, self.rss_anon_peak
        );
        let _ = writeln!(
            s,
            "* WASM: {:.1} KiB raw, {:.1} KiB brotli, {:.1} KiB gzip.",
            raw as f64 / 1024.0,
            br as f64 / 1024.0,
            gz as f64 / 1024.0
        );
        for (page, bytes, files, target) in [
            (
                "/fypass?reqToken=",
                self.first_bytes,
                &self.first_files,
                150_000,
            ),
            ("/devices", self.devices_bytes, &self.devices_files, 200_000),
        ] {
            let parts: Vec<String> = files
                .iter()
                .map(|(f, n)| {
                    format!(
                        "`{}` {:.1} KiB",
                        f.split('?').next().unwrap_or(f),
                        *n as f64 / 1024.0
                    )
                })
                .collect();
            let _ = writeln!(
                s,
                "* First load of `{page}` with `Accept-Encoding: br, gzip`: {:.1} KiB ({} bytes) in \
                 all (target ≤ {} KB: {}) — {}.",
                bytes as f64 / 1024.0,
                bytes,
                target / 1000,
                if bytes <= target {
                    "met"
                } else {
                    "**not met**"
                },
                parts.join(", ")
            );
        }
        s.push_str(&peer::markdown(&self.side_by_side));
        s
    }
}

/// Replaces this backend's section of BENCHMARKS.md (between its markers), keeping the
/// rest of the file, which explains the figures.
fn write_section(out: &Path, backend: &str, text: &str) -> Result<()> {
    let (start, end) = (
        format!("<!-- bench:{backend} -->"),
        format!("<!-- /bench:{backend} -->"),
    );
    let old = std::fs::read_to_string(out).unwrap_or_default();
    let section = format!("{start}\n{text}{end}");
    let new = match (old.find(&start), old.find(&end)) {
        (Some(a), Some(b)) if a < b => format!("{}{section}{}", &old[..a], &old[b + end.len()..]),
        _ => format!("{old}\n{section}\n"),
    };
    std::fs::write(out, new)?;
    Ok(())
}
