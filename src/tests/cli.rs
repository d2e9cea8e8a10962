//! The admin commands, run as the real `fypass` binary against the test database.

use crate::support::{TestApp, TestDb};
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
    let client = crate::flow::app_client(&app).await;
    crate::flow::register(
        &app,
        &client,
        "uma@example.com",
        Some("0812-1111-2222"),
        "correct horse",
    )
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
