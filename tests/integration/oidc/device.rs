//! The device grant (RFC 8628) on the login requests: a TV asks, a person completes the
//! request on the hosted page, the TV polls with its own device code.

use super::*;
use crate::support::{LOGIN, NAME, TestApp};
use fypass::{clients::Grant, status::Status};
use serde_json::{Value, json};
use std::time::Duration;

async fn start(t: &TestApp, rp: &Rp, scope: &str) -> Value {
    let res = rp
        .post(t, "/oauth/device_authorization", &[("scope", scope)])
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

async fn poll(t: &TestApp, rp: &Rp, device_code: &str) -> reqwest::Response {
    rp.token(
        t,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", device_code),
        ],
    )
    .await
}

/// The person completes the request the device shows, on its hosted page.
async fn complete(t: &TestApp, started: &Value, email: &str) {
    let page = started["verification_uri_complete"].as_str().unwrap();
    let req_token = query(page)["reqToken"].clone();
    let res = t
        .post(
            LOGIN,
            json!({"reqToken": req_token, "identifier": email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

#[tokio::test]
async fn a_tv_polls_until_the_person_completes_its_request_and_then_gets_its_tokens_once() {
    let t = TestApp::spawn().await;
    let tv = Rp::public(&t, "https://tv.example.com/").await;
    t.person("nia@example.com").register().await;
    let started = start(&t, &tv, "openid profile offline_access").await;
    assert_eq!(started["interval"], 2);
    assert!(started["expires_in"].as_u64().unwrap() > 500);
    let user_code = started["user_code"].as_str().unwrap();
    assert_eq!(user_code.len(), 9);
    assert!(
        started["verification_uri"]
            .as_str()
            .unwrap()
            .starts_with(&t.url("/fypass?reqToken="))
    );
    let device_code = started["device_code"].as_str().unwrap();
    assert!(device_code.starts_with("fyd_"));
    // The device code is the TV's own secret, not the page's reqToken.
    assert!(
        !started["verification_uri_complete"]
            .as_str()
            .unwrap()
            .contains(device_code)
    );

    expect_oauth(
        poll(&t, &tv, device_code).await,
        400,
        "authorization_pending",
        "AUTHORIZATION_PENDING",
    )
    .await;
    complete(&t, &started, "nia@example.com").await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let res = poll(&t, &tv, device_code).await;
    assert_eq!(res.status(), 200);
    let reply: Value = res.json().await.unwrap();
    assert!(reply["refresh_token"].is_string());
    let claims = verified(&t, reply["id_token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(claims["aud"], tv.id.to_string());
    assert_eq!(claims["name"], NAME);
    assert_eq!(
        userinfo(&t, reply["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
    // Once.
    expect_oauth(
        poll(&t, &tv, device_code).await,
        400,
        "invalid_grant",
        "INVALID_GRANT",
    )
    .await;
}

#[tokio::test]
async fn polling_too_fast_slows_the_device_down() {
    let t = TestApp::spawn().await;
    let tv = Rp::new(&t).await;
    let started = start(&t, &tv, "openid").await;
    let device_code = started["device_code"].as_str().unwrap();
    expect_oauth(
        poll(&t, &tv, device_code).await,
        400,
        "authorization_pending",
        "AUTHORIZATION_PENDING",
    )
    .await;
    expect_oauth(
        poll(&t, &tv, device_code).await,
        400,
        "slow_down",
        "SLOW_DOWN",
    )
    .await;
    // The interval grew by 5 s: 2.1 s later is still too soon.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    expect_oauth(
        poll(&t, &tv, device_code).await,
        400,
        "slow_down",
        "SLOW_DOWN",
    )
    .await;
}

/// A poll too soon is answered from the node's clock of the code (`oidc::device::PollClocks`),
/// which is the polling client's own: another client polling the same code right after is
/// told it does not know it, not to slow down; and a code collected is unknown at once.
#[tokio::test]
async fn the_clock_of_a_code_is_its_clients_and_ends_with_the_code() {
    let t = TestApp::spawn().await;
    let tv = Rp::new(&t).await;
    let other = Rp::new(&t).await;
    t.person("nia@example.com").register().await;
    let started = start(&t, &tv, "openid").await;
    let device_code = started["device_code"].as_str().unwrap();
    let pending = poll(&t, &tv, device_code).await;
    expect_oauth(
        pending,
        400,
        "authorization_pending",
        "AUTHORIZATION_PENDING",
    )
    .await;
    let theirs = poll(&t, &other, device_code).await;
    expect_oauth(theirs, 400, "invalid_grant", "INVALID_GRANT").await;
    complete(&t, &started, "nia@example.com").await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(poll(&t, &tv, device_code).await.status(), 200);
    // Collected: right after, it is unknown, not "too soon".
    expect_oauth(
        poll(&t, &tv, device_code).await,
        400,
        "invalid_grant",
        "INVALID_GRANT",
    )
    .await;
}

#[tokio::test]
async fn a_wrong_unknown_expired_or_another_clients_device_code_gets_nothing() {
    let t = TestApp::spawn().await;
    let tv = Rp::new(&t).await;
    let other = Rp::new(&t).await;
    t.person("nia@example.com").register().await;
    let started = start(&t, &tv, "openid").await;
    let device_code = started["device_code"].as_str().unwrap().to_string();
    complete(&t, &started, "nia@example.com").await;
    // Another client cannot collect it.
    expect_oauth(
        poll(&t, &other, &device_code).await,
        400,
        "invalid_grant",
        "INVALID_GRANT",
    )
    .await;
    for made_up in ["fyd_short", "nonsense", &format!("fyd_{}", "A".repeat(43))] {
        expect_oauth(
            poll(&t, &tv, made_up).await,
            400,
            "invalid_grant",
            "INVALID_GRANT",
        )
        .await;
    }
    let res = tv
        .token(
            &t,
            &[("grant_type", "urn:ietf:params:oauth:grant-type:device_code")],
        )
        .await;
    expect_oauth(res, 400, "invalid_request", "VALIDATION_ERROR").await;
    // A client without oauth.device may neither start nor poll.
    let no_device = Rp::with(&t, &[Grant::OauthCode]).await;
    let res = no_device.post(&t, "/oauth/device_authorization", &[]).await;
    expect_oauth(res, 400, "unauthorized_client", "UNITSYSTEM00002").await;
    expect_oauth(
        poll(&t, &no_device, &device_code).await,
        400,
        "unauthorized_client",
        "UNITSYSTEM00002",
    )
    .await;
    let res = tv
        .post(
            &t,
            "/oauth/device_authorization",
            &[("scope", "openid everything")],
        )
        .await;
    expect_oauth(res, 400, "invalid_scope", "INVALID_SCOPE").await;

    // Expired.
    let started = start(&t, &tv, "openid").await;
    let sql = "UPDATE oidc_device_codes SET expires_at = 0";
    t.execute(sql).await;
    let res = poll(&t, &tv, started["device_code"].as_str().unwrap()).await;
    expect_oauth(res, 400, "expired_token", "CODE_EXPIRED").await;
}

#[tokio::test]
async fn a_person_shut_out_after_completing_gives_the_device_nothing() {
    let t = TestApp::spawn().await;
    let tv = Rp::new(&t).await;
    t.person("nia@example.com").register().await;
    let started = start(&t, &tv, "openid").await;
    complete(&t, &started, "nia@example.com").await;
    let user = fypass::users::store::find_by_identifier(
        t.db(),
        &fypass::users::identifier::Identifier::parse("nia@example.com", 62).unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    let mut tx = t.db().begin().await.unwrap();
    fypass::tokens::set_user_status(&mut tx, user.id, Status::Suspended)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let res = poll(&t, &tv, started["device_code"].as_str().unwrap()).await;
    let (status, error, _) = oauth_error(res).await;
    assert_eq!(status, 400);
    assert!(
        matches!(error.as_str(), "expired_token" | "access_denied"),
        "{error}"
    );
}

/// A public client's device authorizations are anyone's to start (no secret): one network
/// may start only so many an hour, refused with 429, `Retry-After` and nothing stored. A
/// confidential client (its own servers, with its key) is not held to it.
#[tokio::test]
async fn a_public_client_may_start_only_so_many_device_authorizations_from_one_network() {
    let t = TestApp::spawn_with(|c| c.limits.oauth_starts_per_network_hour = 2).await;
    let tv = Rp::public(&t, "https://tv.example.com/").await;
    for _ in 0..2 {
        start(&t, &tv, "openid").await;
    }
    let refused = tv
        .post(&t, "/oauth/device_authorization", &[("scope", "openid")])
        .await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    assert_eq!(body["code"], "TOO_MANY_REQUESTS");
    assert!(body.get("device_code").is_none());
    let backend = Rp::new(&t).await;
    for _ in 0..3 {
        start(&t, &backend, "openid").await;
    }
}
