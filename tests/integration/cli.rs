//! The admin commands, run as the real `fypass` binary against the test database.

use crate::support::{PASSWORD, REGISTER, TestApp, TestDb, free_port};
use std::{process::Command, time::Duration};

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn fypass(db_url: &str, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_fypass"))
        .args(args)
        .env("FYPASS_DATABASE_URL", db_url)
        .env_remove("RUST_LOG")
        .output()
        .expect("the fypass binary runs");
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn json(run: &Run) -> serde_json::Value {
    assert!(run.ok, "failed: {}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

/// A failure prints one line naming the problem, nothing on stdout.
fn one_line_error(run: &Run, mentions: &str) {
    assert!(!run.ok, "should fail: {}", run.stdout);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(run.stderr.contains(mentions), "{}", run.stderr);
}

#[tokio::test]
async fn client_commands_print_json_and_manage_clients() {
    let db = TestDb::create().await;
    let url = db.url.clone();
    let created = json(&fypass(
        &url,
        &[
            "client",
            "create",
            "--name",
            "Mobile app",
            "--redirect-url",
            "https://app.example.com/done",
        ],
    ));
    let key = created["key"].as_str().unwrap().to_string();
    let id = created["id"].as_str().unwrap().to_string();
    assert!(key.starts_with("fyk_") && key.len() == 47, "{key}");
    assert_eq!(
        created["grants"],
        serde_json::json!(["*"]),
        "no --grant means every grant"
    );
    assert_eq!(created["status"], "active");
    assert_eq!(created["keyPrefix"], key[..12]);

    let listed = json(&fypass(&url, &["client", "list"]));
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(!listed.to_string().contains(&key), "list never shows keys");

    let suspended = json(&fypass(&url, &["client", "set-status", &id, "suspended"]));
    assert_eq!(suspended["status"], "suspended");
    let granted = json(&fypass(
        &url,
        &["client", "set-grants", &id, "clients.info", "devices.read"],
    ));
    assert_eq!(
        granted["grants"],
        serde_json::json!(["clients.info", "devices.read"])
    );
    let rotated = json(&fypass(&url, &["client", "rotate-key", &id]));
    assert_eq!(rotated["id"], id);
    assert_ne!(rotated["key"], key);

    let limited = json(&fypass(
        &url,
        &[
            "client",
            "create",
            "--name",
            "TV",
            "--grant",
            "devices.save",
            "--grant",
            "devices.read",
        ],
    ));
    assert_eq!(
        limited["grants"],
        serde_json::json!(["devices.save", "devices.read"])
    );
}

#[tokio::test]
async fn bad_input_fails_with_a_clear_line_and_writes_nothing() {
    let db = TestDb::create().await;
    let url = db.url.clone();
    let id = json(&fypass(&url, &["client", "create", "--name", "App"]))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let unknown = uuid::Uuid::now_v7().to_string();

    one_line_error(
        &fypass(&url, &["client", "set-status", &unknown, "active"]),
        &format!("no client with id {unknown}"),
    );
    one_line_error(
        &fypass(&url, &["client", "rotate-key", &unknown]),
        "no client with id",
    );
    one_line_error(
        &fypass(&url, &["client", "set-status", "not-a-uuid", "active"]),
        "'not-a-uuid' is not a client id",
    );
    one_line_error(
        &fypass(&url, &["client", "set-status", &id, "paused"]),
        "unknown status 'paused'",
    );
    one_line_error(
        &fypass(&url, &["client", "set-grants", &id, "devices.write"]),
        "unknown grant 'devices.write'",
    );
    one_line_error(
        &fypass(
            &url,
            &["client", "create", "--name", "X", "--grant", "admin"],
        ),
        "unknown grant 'admin'",
    );
    one_line_error(
        &fypass(
            &url,
            &[
                "client",
                "create",
                "--name",
                "X",
                "--redirect-url",
                "not a url",
            ],
        ),
        "is not an absolute URL",
    );
    one_line_error(
        &fypass(
            &url,
            &[
                "client",
                "create",
                "--name",
                "X",
                "--redirect-url",
                "javascript:alert(1)",
            ],
        ),
        "javascript",
    );
    one_line_error(
        &fypass(&url, &["client", "create", "--name", "  "]),
        "must not be empty",
    );

    let listed = json(&fypass(&url, &["client", "list"]));
    assert_eq!(listed.as_array().unwrap().len(), 1, "nothing was written");
    assert_eq!(listed[0]["status"], "active");
    assert_eq!(listed[0]["grants"], serde_json::json!(["*"]));
}

#[tokio::test]
async fn a_status_set_by_the_cli_reaches_the_running_server_within_five_seconds() {
    let app = TestApp::spawn().await;
    let created = json(&fypass(
        app.database_url(),
        &["client", "create", "--name", "Live"],
    ));
    let (id, key) = (
        created["id"].as_str().unwrap(),
        created["key"].as_str().unwrap(),
    );
    assert_eq!(app.get_as(key, "/api/v1/clients/info").await.status(), 200);
    json(&fypass(
        app.database_url(),
        &["client", "set-status", id, "suspended"],
    ));
    let started = std::time::Instant::now();
    loop {
        let res = app.get_as(key, "/api/v1/clients/info").await;
        if res.status() == 403 {
            let body: serde_json::Value = res.json().await.unwrap();
            assert_eq!(body["code"], "CLIENT_ACCOUNT_SUSPENDED");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still served after 5 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn user_commands_list_and_set_status_by_any_spelling() {
    let app = TestApp::spawn().await;
    app.person("uma@example.com")
        .whatsapp("0812-1111-2222")
        .register()
        .await;
    let url = app.database_url().to_string();

    let listed = json(&fypass(&url, &["user", "list"]));
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["whatsapp"], "+6281211112222");
    assert!(
        !listed.to_string().contains("argon2"),
        "never the password hash"
    );

    let suspended = json(&fypass(
        &url,
        &["user", "set-status", "+62 812 1111 2222", "suspended"],
    ));
    assert_eq!(
        (suspended["email"].as_str(), suspended["status"].as_str()),
        (Some("uma@example.com"), Some("suspended"))
    );
    let active = json(&fypass(
        &url,
        &["user", "set-status", "UMA@example.com", "active"],
    ));
    assert_eq!(active["status"], "active");

    one_line_error(
        &fypass(
            &url,
            &["user", "set-status", "nobody@example.com", "active"],
        ),
        "no user with nobody@example.com",
    );
    one_line_error(
        &fypass(&url, &["user", "set-status", "not-an-identifier", "active"]),
        "is not an email address or WhatsApp number",
    );
    one_line_error(
        &fypass(&url, &["user", "set-status", "uma@example.com", "banned"]),
        "unknown status 'banned'",
    );
    assert_eq!(
        json(&fypass(&url, &["user", "list"]))[0]["status"],
        "active",
        "nothing written by the failures"
    );
}

/// Starts `fypass serve` on `port` with `env`, and waits until it is ready.
async fn serve(db_url: &str, port: u16, env: &[(&str, &str)]) -> tokio::process::Child {
    let server = tokio::process::Command::new(env!("CARGO_BIN_EXE_fypass"))
        .arg("serve")
        .env("FYPASS_DATABASE_URL", db_url)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        // Tests run side by side: the metrics listener takes any free port.
        .env("FYPASS_METRICS_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if http
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server
}

/// Stops `server` and returns what it printed on stdout and stderr.
async fn stop(server: tokio::process::Child) -> (String, String) {
    let pid = server.id().unwrap().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let out = tokio::time::timeout(Duration::from_secs(10), server.wait_with_output())
        .await
        .expect("exits")
        .unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// A demo client is made only for a server on this machine, and its key is printed on
/// standard output, never into the log.
#[tokio::test]
async fn the_demo_client_is_only_for_loopback_and_its_key_never_reaches_the_log() {
    let public = TestDb::create().await;
    let server = serve(
        &public.url,
        free_port(),
        &[("FYPASS_PUBLIC_URL", "https://id.example.com")],
    )
    .await;
    let (stdout, stderr) = stop(server).await;
    assert!(
        !stdout.contains("fyk_") && !stderr.contains("fyk_"),
        "{stdout}{stderr}"
    );
    assert_eq!(
        json(&fypass(&public.url, &["client", "list"])),
        serde_json::json!([])
    );

    let local = TestDb::create().await;
    let server = serve(&local.url, free_port(), &[]).await;
    let (stdout, stderr) = stop(server).await;
    let listed = json(&fypass(&local.url, &["client", "list"]));
    let prefix = listed[0]["keyPrefix"].as_str().unwrap();
    assert!(stdout.contains(&format!("key: {prefix}")), "{stdout}");
    assert!(!stderr.contains("fyk_"), "{stderr}");
}

/// SIGTERM lets a request in flight finish (and commit) before the process exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_requests_then_exits() {
    use sqlx::Connection;
    let db = TestDb::create().await;
    let created = json(&fypass(
        &db.url,
        &["client", "create", "--name", "Shutdown"],
    ));
    let key = created["key"].as_str().unwrap().to_string();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = serve(&db.url, port, &[]).await;
    let http = reqwest::Client::new();

    // Hold the database so the next write waits inside the server.
    let release: Box<dyn FnOnce() -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send> =
        if crate::support::on_postgres() {
            let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::query("BEGIN").execute(&mut c).await.unwrap();
            sqlx::query("LOCK TABLE devices IN EXCLUSIVE MODE")
                .execute(&mut c)
                .await
                .unwrap();
            Box::new(move || {
                Box::pin(async move { drop(sqlx::query("COMMIT").execute(&mut c).await) })
            })
        } else {
            let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            sqlx::query("BEGIN IMMEDIATE")
                .execute(&mut c)
                .await
                .unwrap();
            Box::new(move || {
                Box::pin(async move { drop(sqlx::query("COMMIT").execute(&mut c).await) })
            })
        };
    let save = http
        .post(format!("{base}/api/v1/devices"))
        .header("x-client-key", &key)
        .json(&serde_json::json!({"deviceId": "in-flight", "platform": "web"}));
    let in_flight = tokio::spawn(async move { save.send().await.unwrap().status().as_u16() });
    tokio::time::sleep(Duration::from_millis(400)).await;

    let pid = server.id().unwrap().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        server.try_wait().unwrap().is_none(),
        "still finishing the request in flight"
    );
    release().await;

    assert_eq!(
        in_flight.await.unwrap(),
        201,
        "the in-flight save completed"
    );
    let status = tokio::time::timeout(Duration::from_secs(10), server.wait())
        .await
        .expect("exits")
        .unwrap();
    assert!(status.success(), "{status:?}");
}

/// A message stored before the server is killed (`kill -9`) is delivered after a restart.
#[tokio::test]
async fn a_message_stored_before_a_crash_is_sent_after_the_restart() {
    let db = TestDb::create().await;
    let smtp = free_port();
    let smtp_url = format!("smtp://127.0.0.1:{smtp}");
    let port = free_port();
    let env = [("FYPASS_SMTP_URL", smtp_url.as_str())];
    let mut server = serve(&db.url, port, &env).await;
    let res = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}{REGISTER}"))
        .json(
            &serde_json::json!({"name": "Zara", "email": "zara@example.com", "password": PASSWORD}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    server.start_kill().unwrap();
    server.wait().await.unwrap();
    let pending = json(&fypass(&db.url, &["outbox", "list"]));
    assert_eq!(pending[0]["status"], "pending", "{pending}");
    assert_eq!(pending[0]["to"], "zara@example.com");
    assert!(pending[0]["body"].as_str().unwrap().contains("code"));

    let mail = crate::channels::MailServer::start_on(smtp).await;
    let server = serve(&db.url, port, &env).await;
    let got = mail
        .wait_for("zara@example.com", 1, Duration::from_secs(90))
        .await;
    assert_eq!(got.len(), 1);
    stop(server).await;
    let sent = json(&fypass(&db.url, &["outbox", "list"]));
    assert_eq!(sent[0]["status"], "sent");
    assert!(
        sent[0]["body"].is_null(),
        "a sent message's body is not kept"
    );
}

/// `--help` names each setting's environment variable but never prints its value: an
/// operator's help output (in a terminal, a CI log, a bug report) must not carry the
/// database's or the SMTP server's password.
#[tokio::test]
async fn help_never_prints_the_secrets_held_in_the_environment() {
    let secrets = [
        (
            "FYPASS_DATABASE_URL",
            "postgres://fypass:db-pass-6c1f@db.internal:5432/fypass",
        ),
        (
            "FYPASS_SMTP_URL",
            "smtps://mailer:smtp-pass-93ab@smtp.example.com",
        ),
        ("FYPASS_WHATSAPP_TOKEN", "wa-token-5d0e"),
        ("FYPASS_TRUSTED_PROXIES", "10.9.8.7"),
    ];
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["client", "--help"],
        &["client", "create", "--help"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_fypass"))
            .args(args)
            .envs(secrets)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        let help = String::from_utf8(out.stdout).unwrap();
        assert!(help.contains("FYPASS_SMTP_URL"), "{args:?}: {help}");
        for (name, value) in secrets {
            for part in [value, "db-pass-6c1f", "smtp-pass-93ab"] {
                assert!(!help.contains(part), "{args:?} shows {name}: {help}");
            }
        }
    }
}

/// Every abuse limit of SPEC §13 is a setting that `--help` lists with its default, so an
/// operator behind carrier-grade NAT can find and raise it.
#[tokio::test]
async fn help_lists_every_abuse_limit_with_its_default() {
    let out = Command::new(env!("CARGO_BIN_EXE_fypass"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for (env, default) in [
        ("FYPASS_CODE_SENDS_PER_NETWORK_HOUR", "20"),
        ("FYPASS_CODE_SENDS_PER_IDENTIFIER_HOUR", "5"),
        ("FYPASS_CODE_SEND_COOLDOWN_SECS", "60"),
        ("FYPASS_WRONG_CODES_PER_NETWORK_HOUR", "10"),
        ("FYPASS_REGISTRATIONS_PER_HOUR", "10"),
        ("FYPASS_REGISTRATIONS_PER_IDENTIFIER_HOUR", "3"),
        ("FYPASS_SIGN_IN_WINDOW_MINUTES", "15"),
        ("FYPASS_SIGN_IN_FREE_PER_ACCOUNT", "5"),
        ("FYPASS_SIGN_IN_MAX_DELAY_SECS", "60"),
        ("FYPASS_SIGN_IN_PER_ACCOUNT_AND_NETWORK", "10"),
        ("FYPASS_SIGN_IN_PER_NETWORK", "50"),
        ("FYPASS_SIGN_IN_PER_TRUSTED_BROWSER", "10"),
    ] {
        let line = help
            .split("\n\n")
            .find(|block| block.contains(&format!("env: {env}]")))
            .unwrap_or_else(|| panic!("--help does not list {env}: {help}"));
        assert!(
            line.contains(&format!("default: {default}")),
            "{env} should default to {default}: {line}"
        );
    }
}
