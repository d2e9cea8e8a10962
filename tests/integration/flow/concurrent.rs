//! Many at once: of concurrent completions of one request one wins, of concurrent polls one
//! gets the token.

use crate::support::{LOGIN, PASSWORD, TestApp, join_all};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_concurrent_completions_exactly_one_wins() {
    let t = TestApp::spawn_with(|c| c.password_queue = Some(64)).await;
    let app = t.app_client().await;
    t.person("gus@example.com").register().await;
    let token = t.start(&app, json!({})).await;
    let body = json!({"reqToken": token, "identifier": "gus@example.com", "password": PASSWORD});
    // As many at once as the account's free attempts (`/docs#brute-force`).
    let parallel = crate::support::limits().sign_in_free_per_account as usize;
    let attempts = (0..parallel).map(|_| t.post(LOGIN, body.clone()));
    let statuses: Vec<u16> = futures_statuses(attempts).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 400),
        "{statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_concurrent_polls_exactly_one_gets_the_token() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let hal = t
        .person("hal@example.com")
        .via(&app)
        .uncollected()
        .register()
        .await;
    let polls = (0..16).map(|_| t.poll(&app, hal.request()));
    let mut with_token = 0;
    for res in join_all(polls).await {
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["status"], "REGISTERED");
        with_token += usize::from(body.get("accessToken").is_some());
    }
    assert_eq!(with_token, 1);
}

async fn futures_statuses<F>(futures: impl IntoIterator<Item = F>) -> Vec<u16>
where
    F: std::future::Future<Output = reqwest::Response> + Send + 'static,
{
    join_all(futures)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect()
}
