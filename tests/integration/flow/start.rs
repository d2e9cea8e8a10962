//! Starting a login request, the app's status route, and what the flow's routes accept
//! as a body.

use crate::support::{LOGIN, START, STATUS, TestApp, expect_error};
use fypass::clients::Grant;
use serde_json::{Value, json};

#[tokio::test]
async fn starting_a_login_returns_the_fypass_url_with_201() {
    let t = TestApp::spawn_with(|c| c.public_url = Some("https://id.example.com".into())).await;
    let app = t.app_client().await;
    let res = t
        .http
        .post(t.url(START))
        .header("x-client-key", &app.key)
        .json(&json!({"redirectUrl": "https://app.example.com/done?x=1", "mode": "login", "locale": "id-ID"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: Value = res.json().await.unwrap();
    let token = body["reqToken"].as_str().unwrap();
    assert!(token.starts_with("fyr_") && token.len() == 47, "{token}");
    assert_eq!(
        body["url"],
        format!("https://id.example.com/fypass?reqToken={token}")
    );
    assert_eq!(body["interval"], 2);
    assert!(body["expiresAt"].as_str().unwrap().ends_with('Z'));
    // A bare POST works too: every field is optional; register mode opens the register page.
    let res = t
        .http
        .post(t.url(START))
        .header("x-client-key", &app.key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let register = t.start(&app, json!({"mode": "register"})).await;
    let res = t
        .http
        .post(t.url(START))
        .header("x-client-key", &app.key)
        .json(&json!({"mode": "register"}))
        .send()
        .await
        .unwrap();
    assert!(
        res.json::<Value>().await.unwrap()["url"]
            .as_str()
            .unwrap()
            .contains("/fypass/register?reqToken=")
    );
    assert!(register.starts_with("fyr_"));
}

#[tokio::test]
async fn start_login_validates_its_body_after_key_status_and_grant() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let send = |body: Value, key: String| {
        let t = &t;
        async move {
            t.http
                .post(t.url(START))
                .header("x-client-key", key)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let bad = json!({"redirectUrl": "https://app.example.com.evil.net/"});
    let e = expect_error(
        send(bad.clone(), app.key.clone()).await,
        422,
        "VALIDATION_ERROR",
    )
    .await;
    assert_eq!(e["details"][0]["field"], "redirectUrl");
    let e = expect_error(
        send(json!({"mode": "signup"}), app.key.clone()).await,
        422,
        "VALIDATION_ERROR",
    )
    .await;
    assert_eq!(e["details"][0]["field"], "mode");
    let e = expect_error(
        send(json!({"surprise": 1}), app.key.clone()).await,
        422,
        "VALIDATION_ERROR",
    )
    .await;
    assert_eq!(e["details"][0]["field"], "surprise");
    let e = expect_error(
        send(
            json!({"deviceInfo": {"deviceId": "", "platform": "tizen"}}),
            app.key.clone(),
        )
        .await,
        422,
        "VALIDATION_ERROR",
    )
    .await;
    assert_eq!(e["details"][0]["field"], "deviceInfo.platform");
    let e = expect_error(
        send(
            json!({"deviceInfo": {"deviceId": " ", "platform": "ios", "model": "x".repeat(200)}}),
            app.key.clone(),
        )
        .await,
        422,
        "VALIDATION_ERROR",
    )
    .await;
    let fields: Vec<_> = e["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["deviceInfo.deviceId", "deviceInfo.model"]);
    // Key and grant are checked before the body: a bad body still gets the auth errors.
    let (_, no_grant) = t.client(&[Grant::ClientsInfo]).await;
    expect_error(send(bad.clone(), no_grant).await, 403, "UNITSYSTEM00002").await;
    expect_error(send(bad, "fyk_nope".into()).await, 401, "UNITSYSTEM00001").await;
    let res = t
        .http
        .post(t.url(START))
        .header("x-client-key", &app.key)
        .header("content-type", "application/json")
        .body("{oops")
        .send()
        .await
        .unwrap();
    let e = expect_error(res, 422, "VALIDATION_ERROR").await;
    assert_eq!(e["details"][0]["field"], "body");
}

#[tokio::test]
async fn the_status_route_only_knows_its_own_clients_tokens() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let other = t.app_client().await;
    let token = t.start(&app, json!({})).await;
    expect_error(t.poll(&other, &token).await, 400, "INVALID_OBJECT_ID").await;
    expect_error(t.poll(&app, "not-a-token").await, 400, "INVALID_OBJECT_ID").await;
    expect_error(t.poll(&app, "").await, 400, "INVALID_OBJECT_ID").await;
    let e = expect_error(t.get_as(&app.key, STATUS).await, 422, "VALIDATION_ERROR").await;
    assert_eq!(e["details"][0]["field"], "reqToken");
    let (_, no_status_grant) = t.client(&[Grant::UsersLogin]).await;
    expect_error(
        t.get_as(&no_status_grant, &format!("{STATUS}?reqToken={token}"))
            .await,
        403,
        "UNITSYSTEM00002",
    )
    .await;
}

#[tokio::test]
async fn request_bodies_are_limited_typed_and_json() {
    let t = TestApp::spawn().await;
    let big = json!({"identifier": "x".repeat(70 * 1024), "password": "p"});
    expect_error(t.post(LOGIN, big).await, 413, "PAYLOAD_TOO_LARGE").await;
    let res = t
        .http
        .post(t.url(LOGIN))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    let e = expect_error(res, 422, "VALIDATION_ERROR").await;
    assert_eq!(e["details"][0]["field"], "Content-Type");
    let e = expect_error(
        t.post(LOGIN, json!({"identifier": "a@b.co"})).await,
        422,
        "VALIDATION_ERROR",
    )
    .await;
    assert_eq!(
        e["details"][0],
        json!({"field": "password", "message": "is required"})
    );
    let e = expect_error(
        t.post(LOGIN, json!({"identifier": 5, "password": "p"}))
            .await,
        422,
        "VALIDATION_ERROR",
    )
    .await;
    assert_eq!(e["details"][0]["field"], "identifier");
}
