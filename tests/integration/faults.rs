//! Database faults on PostgreSQL, under load: the database stopped and started again, the
//! pooler in front of it restarted, a connection ended by the server. Each request meanwhile
//! is answered (503 `SERVICE_UNAVAILABLE` while the database cannot serve, never 500), and
//! fypass serves again within 5 s of the database's return, without a restart.
//!
//! Stopping the shared test server would break the tests running beside these, so they
//! start a PostgreSQL cluster and a PgBouncer of their own (Debian's binaries; as the
//! `postgres` user when the tests run as root, since both refuse root).

use crate::support::{TestApp, free_port, on_postgres};
use fypass::clients::Grant;
use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

/// Whether these tests run: on PostgreSQL, in the run that talks to it directly (the run
/// through the shared PgBouncer would only repeat them).
fn enabled() -> bool {
    on_postgres() && std::env::var("FYPASS_TEST_POOLER_URL").is_err()
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// `program args…`, as the `postgres` user when this runs as root; its output is shown only
/// when it fails.
fn as_postgres(program: &Path, args: &[&str]) {
    let output = if running_as_root() {
        Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(program)
            .args(args)
            .output()
    } else {
        Command::new(program).args(args).output()
    }
    .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    assert!(
        output.status.success(),
        "{} {args:?}: {}\n{}{}",
        program.display(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A scratch directory the `postgres` user may write.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fypass-{name}-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    if running_as_root() {
        let status = Command::new("chown")
            .arg("postgres:")
            .arg(&dir)
            .status()
            .unwrap();
        assert!(status.success());
    }
    dir
}

/// A PostgreSQL cluster of this test's own, on a free port.
struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl Cluster {
    fn start_new() -> Cluster {
        // The newest installed server's binaries (/usr/lib/postgresql/<major>/bin).
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL's server binaries")
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|b| b.join("pg_ctl").exists())
            .max_by_key(|b| {
                let major = b
                    .parent()
                    .and_then(Path::file_name)
                    .and_then(|n| n.to_str());
                major.and_then(|m| m.parse::<u32>().ok()).unwrap_or(0)
            })
            .expect("pg_ctl");
        let cluster = Cluster {
            dir: scratch("pg"),
            port: free_port(),
            bin,
        };
        let data = cluster.data();
        as_postgres(
            &cluster.bin.join("initdb"),
            &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
        );
        cluster.start();
        cluster
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c shared_buffers=16MB",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("log").display().to_string();
        as_postgres(
            &self.bin.join("pg_ctl"),
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "start",
            ],
        );
    }

    /// A fast shutdown, as an operator's restart does: every session is ended at once.
    fn stop(&self) {
        as_postgres(
            &self.bin.join("pg_ctl"),
            &["-D", &self.data(), "-m", "fast", "-w", "stop"],
        );
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args(["-D", &self.data(), "-m", "immediate", "stop"])
            .output();
        let _ = Command::new(self.bin.join("pg_ctl"))
            .args(["-D", &self.data(), "-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A PgBouncer of this test's own in transaction mode, in front of `upstream_port`.
struct Bouncer {
    dir: PathBuf,
    port: u16,
}

impl Bouncer {
    fn start_new(upstream_port: u16) -> Bouncer {
        let bouncer = Bouncer {
            dir: scratch("pgbouncer"),
            port: free_port(),
        };
        let dir = bouncer.dir.display();
        std::fs::write(
            bouncer.dir.join("pgbouncer.ini"),
            format!(
                "[databases]\n* = host=127.0.0.1 port={upstream_port}\n[pgbouncer]\n\
                 listen_addr = 127.0.0.1\nlisten_port = {}\nunix_socket_dir =\n\
                 auth_type = trust\nauth_file = {dir}/users.txt\npool_mode = transaction\n\
                 ignore_startup_parameters = extra_float_digits\nquery_wait_timeout = 3\n\
                 server_login_retry = 1\nlogfile = {dir}/pgbouncer.log\n\
                 pidfile = {dir}/pgbouncer.pid\n",
                bouncer.port
            ),
        )
        .unwrap();
        std::fs::write(
            bouncer.dir.join("users.txt"),
            "\"postgres\" \"\"\n\"root\" \"\"\n",
        )
        .unwrap();
        bouncer.start();
        bouncer
    }

    fn start(&self) {
        let ini = self.dir.join("pgbouncer.ini").display().to_string();
        as_postgres(Path::new("pgbouncer"), &["-d", &ini]);
        wait_for_port(self.port);
    }

    /// PgBouncer's immediate shutdown (SIGTERM: every connection closed at once, as when
    /// it is restarted or its host fails); `true` once it no longer listens.
    fn stop(&self) -> bool {
        let pid = std::fs::read_to_string(self.dir.join("pgbouncer.pid")).unwrap_or_default();
        if let Ok(pid) = pid.trim().parse::<i32>() {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        true
    }
}

impl Drop for Bouncer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Requests that read the database, sent without pause by a few callers until stopped: the
/// statuses seen, and when.
struct Load {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<Vec<(Instant, u16)>>>,
}

impl Load {
    async fn start(app: &TestApp) -> Load {
        let (_, key) = app.client(&[Grant::All]).await;
        let res = app
            .http
            .post(app.url("/api/v1/devices"))
            .header("x-client-key", &key)
            .json(&serde_json::json!({ "deviceId": "tv-1", "platform": "android" }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let id = res.json::<serde_json::Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let tasks = (0..4)
            .map(|_| {
                let (http, stop) = (app.http.clone(), stop.clone());
                let (url, key) = (app.url(&format!("/api/v1/devices/{id}")), key.clone());
                tokio::spawn(async move {
                    let mut seen = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        let res = http.get(&url).header("x-client-key", &key).send().await;
                        let status = res.map(|r| r.status().as_u16()).unwrap_or(0);
                        seen.push((Instant::now(), status));
                        if status != 200 {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                    seen
                })
            })
            .collect();
        Load { stop, tasks }
    }

    async fn finish(self) -> Vec<(Instant, u16)> {
        self.stop.store(true, Ordering::Relaxed);
        let mut seen = Vec::new();
        for task in self.tasks {
            seen.extend(task.await.unwrap());
        }
        seen.sort();
        seen
    }
}

/// Every reply was 200 or 503; some were 503 during the fault; and from 5 s after `back` on,
/// every reply was 200.
fn assert_recovered(seen: &[(Instant, u16)], back: Instant) {
    let odd: Vec<u16> = seen
        .iter()
        .map(|s| s.1)
        .filter(|s| ![200, 503].contains(s))
        .collect();
    assert!(odd.is_empty(), "answers other than 200 or 503: {odd:?}");
    assert!(seen.iter().any(|s| s.1 == 503), "the fault showed as 503");
    let late: Vec<_> = seen
        .iter()
        .filter(|s| s.0 > back + Duration::from_secs(5))
        .collect();
    assert!(late.len() >= 10, "requests went on after the recovery");
    assert!(
        late.iter().all(|s| s.1 == 200),
        "served again within 5 s: {:?}",
        late.iter().map(|s| s.1).collect::<Vec<_>>()
    );
}

/// How long each fault lasts: longer than the app's pool waits for a connection (3 s) and
/// PgBouncer holds a query for a server (`query_wait_timeout = 3`), so a request that starts
/// during the fault is answered 503. (A shorter one may be ridden out: a request that waits
/// and gets its connection once the database is back is answered 200, and a run where every
/// request did so showed no 503 at all.)
const FAULT: Duration = Duration::from_secs(4);

/// Requests against `app` while `fault` runs, `down` long, then `repair`; then asserts what
/// [`assert_recovered`] says.
async fn survives(app: &TestApp, fault: impl FnOnce(), down: Duration, repair: impl FnOnce()) {
    let load = Load::start(app).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    tokio::task::block_in_place(fault);
    tokio::time::sleep(down).await;
    tokio::task::block_in_place(repair);
    let back = Instant::now();
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert_recovered(&load.finish().await, back);
}

/// An app on a cluster of the test's own, through `bouncer` when given.
async fn app_on(cluster: &Cluster, bouncer: Option<&Bouncer>) -> TestApp {
    let through = bouncer.map(|b| format!("postgres://postgres@127.0.0.1:{}/postgres", b.port));
    TestApp::spawn_on_postgres(&cluster.url(), through.as_deref()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn postgresql_stopped_under_load_is_service_unavailable_and_served_again_after_its_restart() {
    if !enabled() {
        return;
    }
    let cluster = Cluster::start_new();
    let app = app_on(&cluster, None).await;
    survives(&app, || cluster.stop(), FAULT, || cluster.start()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgresql_stopped_behind_pgbouncer_is_service_unavailable_and_served_again() {
    if !enabled() {
        return;
    }
    let cluster = Cluster::start_new();
    let bouncer = Bouncer::start_new(cluster.port);
    let app = app_on(&cluster, Some(&bouncer)).await;
    survives(&app, || cluster.stop(), FAULT, || cluster.start()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pgbouncer_restart_under_load_is_service_unavailable_and_served_again() {
    if !enabled() {
        return;
    }
    let cluster = Cluster::start_new();
    let bouncer = Bouncer::start_new(cluster.port);
    let app = app_on(&cluster, Some(&bouncer)).await;
    let stop = || assert!(bouncer.stop(), "PgBouncer stopped");
    survives(&app, stop, FAULT, || bouncer.start()).await;
}
