//! A registration cut short, by the request's deadline or by its caller hanging up, leaves
//! nothing written.

use crate::support::{App, PASSWORD, REGISTER, TestApp, expect_error};
use fypass::users;
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_past_its_deadline_is_request_timeout_and_rolled_back() {
    let t = TestApp::spawn_with(|c| c.request_timeout_ms = 700).await;
    let app = t.app_client().await;
    let token = t.start(&app, json!({})).await;
    let blocker = block_registration(&t, &token).await;
    let res = t.post(REGISTER, json!({"reqToken": token, "name": "Rae", "email": "rae@example.com", "password": PASSWORD})).await;
    expect_error(res, 504, "REQUEST_TIMEOUT").await;
    blocker.release().await;
    nothing_was_written(&t, &app, &token, "rae@example.com").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_whose_caller_hangs_up_is_client_closed_request_and_rolled_back() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let token = t.start(&app, json!({})).await;
    let series = "http_requests_total{method=\"POST\",route=\"/api/v1/fypass/register\",status=\"499\",code=\"CLIENT_CLOSED_REQUEST\"}";
    let before = t.metric(series).await;
    let blocker = block_registration(&t, &token).await;
    let body =
        json!({"reqToken": token, "name": "Sam", "email": "sam@example.com", "password": PASSWORD});
    let gave_up = tokio::time::timeout(Duration::from_millis(700), t.post(REGISTER, body)).await;
    assert!(gave_up.is_err(), "still in flight when the caller left");
    let mut counted = false;
    for _ in 0..50 {
        if t.metric(series).await > before {
            counted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    blocker.release().await;
    assert!(counted, "the hang-up was counted as 499");
    nothing_was_written(&t, &app, &token, "sam@example.com").await;
}

/// Holds the database so that a registration for `token` blocks: on PostgreSQL a row lock
/// on its login request (the registration has inserted the user when it blocks), on SQLite
/// the write lock, from another connection as another process would.
enum Blocker {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

async fn block_registration(t: &TestApp, token: &str) -> Blocker {
    use sqlx::Connection;
    if crate::support::on_postgres() {
        let mut conn = sqlx::PgConnection::connect(t.database_url()).await.unwrap();
        sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
        sqlx::query("SELECT id FROM login_requests WHERE token_hash = $1 FOR UPDATE")
            .bind(fypass::secret::hash(token))
            .execute(&mut conn)
            .await
            .unwrap();
        Blocker::Postgres(conn)
    } else {
        let mut conn = sqlx::SqliteConnection::connect(t.database_url())
            .await
            .unwrap();
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut conn)
            .await
            .unwrap();
        Blocker::Sqlite(conn)
    }
}

impl Blocker {
    async fn release(self) {
        match self {
            Blocker::Sqlite(mut c) => drop(sqlx::query("ROLLBACK").execute(&mut c).await),
            Blocker::Postgres(mut c) => drop(sqlx::query("ROLLBACK").execute(&mut c).await),
        }
    }
}

/// After `blocker` is released, the registration of `email` must have left nothing.
async fn nothing_was_written(t: &TestApp, app: &App, token: &str, email: &str) {
    let identifier = users::identifier::Identifier::parse(email, 62).unwrap();
    // Give the abandoned transaction the moment it needs to finish rolling back.
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            users::store::find_by_identifier(t.db(), &identifier)
                .await
                .unwrap()
                .is_none(),
            "user written"
        );
    }
    let polled: Value = t.poll(app, token).await.json().await.unwrap();
    assert_eq!(polled["status"], "PENDING", "the request was not completed");
}
