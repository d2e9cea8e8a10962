//! Client authentication (the check order of `/docs`) and Get Info Client.

use crate::support::{TestApp, expect_error};
use fypass::{
    clients::{Grant, store},
    secret,
    status::Status,
};
use std::time::{Duration, Instant};

const INFO: &str = "/api/v1/clients/info";

#[tokio::test]
async fn info_returns_the_calling_client_and_never_its_key() {
    let app = TestApp::spawn_with(|c| c.public_url = Some("https://id.example.com".into())).await;
    let (client, key) = app
        .client_with(
            &[Grant::ClientsInfo, Grant::DevicesRead],
            &["https://app.example.com/done"],
        )
        .await;
    let res = app.get_as(&key, INFO).await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(!text.contains(&key) && !text.contains("key"), "{text}");
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["id"], client.id.to_string());
    assert_eq!(body["name"], "Test app");
    assert_eq!(body["status"], "active");
    assert_eq!(
        body["grants"],
        serde_json::json!(["clients.info", "devices.read"])
    );
    assert_eq!(
        body["redirectUrls"],
        serde_json::json!(["https://app.example.com/done"])
    );
    assert_eq!(body["fypassUrl"], "https://id.example.com/fypass");
    assert!(body["createdAt"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn a_missing_unknown_or_malformed_key_is_unitsystem00001() {
    let app = TestApp::spawn().await;
    expect_error(app.get(INFO).await, 401, "UNITSYSTEM00001").await;
    expect_error(app.get_as("", INFO).await, 401, "UNITSYSTEM00001").await;
    expect_error(
        app.get_as("fyk_not-a-real-key", INFO).await,
        401,
        "UNITSYSTEM00001",
    )
    .await;
    let unknown = secret::issue("fyk_").plaintext;
    expect_error(app.get_as(&unknown, INFO).await, 401, "UNITSYSTEM00001").await;
}

#[tokio::test]
async fn a_client_without_the_grant_is_unitsystem00002() {
    let app = TestApp::spawn().await;
    let (_, key) = app.client(&[Grant::DevicesRead]).await;
    let body = expect_error(app.get_as(&key, INFO).await, 403, "UNITSYSTEM00002").await;
    assert!(
        body["message"].as_str().unwrap().contains("clients.info"),
        "{body}"
    );
    let (_, all) = app.client(&[Grant::All]).await;
    assert_eq!(app.get_as(&all, INFO).await.status(), 200);
}

async fn set(app: &TestApp, id: uuid::Uuid, change: store::Change<'_>) {
    let mut tx = app.db().begin().await.unwrap();
    assert!(store::update(&mut tx, id, change).await.unwrap());
    tx.commit().await.unwrap();
}

/// Polls until `path` answers `code` (or 200 for `None`), failing after `limit`.
async fn answers_within(app: &TestApp, key: &str, code: Option<&str>, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let res = app.get_as(key, INFO).await;
        let got = if res.status() == 200 {
            None
        } else {
            Some(
                res.json::<serde_json::Value>().await.unwrap()["code"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        };
        if got.as_deref() == code {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "still {got:?} after {limit:?}, wanted {code:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn status_is_checked_before_the_grant_and_changes_apply_within_five_seconds() {
    let app = TestApp::spawn().await;
    // No clients.info grant: the status error must still win.
    let (client, key) = app.client(&[Grant::DevicesRead]).await;
    expect_error(app.get_as(&key, INFO).await, 403, "UNITSYSTEM00002").await; // cached now
    for (status, code) in [
        (Status::Suspended, "CLIENT_ACCOUNT_SUSPENDED"),
        (Status::Inactive, "CLIENT_ACCOUNT_INACTIVE"),
        (Status::Deleted, "CLIENT_ACCOUNT_DELETED"),
    ] {
        set(&app, client.id, store::Change::Status(status)).await;
        answers_within(&app, &key, Some(code), Duration::from_secs(5)).await;
        let res = app.get_as(&key, INFO).await;
        expect_error(res, 403, code).await;
    }
    set(&app, client.id, store::Change::Status(Status::Active)).await;
    set(
        &app,
        client.id,
        store::Change::Grants(&[Grant::ClientsInfo]),
    )
    .await;
    answers_within(&app, &key, None, Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_rotated_key_stops_working_and_the_new_one_works() {
    let app = TestApp::spawn().await;
    let (client, old) = app.client(&[Grant::All]).await;
    assert_eq!(app.get_as(&old, INFO).await.status(), 200);
    let new = secret::issue("fyk_");
    let prefix = secret::display_prefix(&new.plaintext);
    set(
        &app,
        client.id,
        store::Change::Key {
            hash: &new.hash,
            prefix: &prefix,
        },
    )
    .await;
    assert_eq!(app.get_as(&new.plaintext, INFO).await.status(), 200);
    answers_within(&app, &old, Some("UNITSYSTEM00001"), Duration::from_secs(5)).await;
}

#[tokio::test]
async fn the_demo_client_is_created_once_on_an_empty_database() {
    let app = TestApp::spawn().await;
    let origin = app.state.config.public_origin();
    let demo = store::create_demo_if_empty(app.db(), &origin)
        .await
        .unwrap()
        .expect("created");
    assert_eq!(demo.client.grants, vec![Grant::All]);
    assert!(
        store::create_demo_if_empty(app.db(), &origin)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store::list(app.db()).await.unwrap().len(), 1);
    assert_eq!(app.get_as(&demo.key, INFO).await.status(), 200);
}
