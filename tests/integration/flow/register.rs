//! Registering through a login request: the request completed and its token delivered
//! once, the errors in their order, and the session cookie it sets.

use crate::support::{PASSWORD, REGISTER, TestApp, expect_error};
use serde_json::{Value, json};

#[tokio::test]
async fn a_registration_completes_the_request_and_the_token_is_delivered_once() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let token = t
        .start(&app, json!({"redirectUrl": "https://app.example.com/done"}))
        .await;
    let pending: Value = t.poll(&app, &token).await.json().await.unwrap();
    assert_eq!(pending["status"], "PENDING");
    assert!(pending.get("accessToken").is_none());

    let res = t.post(REGISTER, json!({"reqToken": token, "name": "Alice", "email": " Alice@Example.COM", "whatsapp": "0812-3456-7890", "password": PASSWORD})).await;
    assert_eq!(res.status(), 200);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
            && !cookie.contains("Secure"),
        "{cookie}"
    );
    let body: Value = res.json().await.unwrap();
    // A verification code went to each identifier (optional: the request is complete).
    assert_eq!(
        body,
        json!({"status": "REGISTERED", "redirectUrl": "https://app.example.com/done",
               "verify": ["alice@example.com", "+6281234567890"]})
    );

    let first: Value = t.poll(&app, &token).await.json().await.unwrap();
    assert_eq!(first["status"], "REGISTERED");
    assert!(first["accessToken"].as_str().unwrap().starts_with("fyp_"));
    assert!(first["accessTokenExpiresAt"].as_str().is_some());
    assert_eq!(first["user"]["email"], "alice@example.com");
    assert_eq!(first["user"]["whatsapp"], "+6281234567890");
    assert_eq!(first["user"]["status"], "active");
    assert!(first["user"].get("passwordHash").is_none());
    let second: Value = t.poll(&app, &token).await.json().await.unwrap();
    assert_eq!(second["status"], "REGISTERED");
    assert!(
        second.get("accessToken").is_none() && second.get("user").is_none(),
        "{second}"
    );
    // The token works for the app that got it, and only that app.
    let token_value = first["accessToken"].as_str().unwrap();
    let (user, _) = fypass::tokens::access::authenticate(t.db(), token_value, app.id)
        .await
        .unwrap();
    assert_eq!(user.email.as_deref(), Some("alice@example.com"));
    let other = t.app_client().await;
    assert!(
        fypass::tokens::access::authenticate(t.db(), token_value, other.id)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn registration_errors_come_in_order_and_name_their_fields() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    // The reqToken comes first, even when the fields are wrong too.
    let e = expect_error(
        t.post(
            REGISTER,
            json!({"reqToken": "fyr_unknown", "name": "", "password": "x"}),
        )
        .await,
        400,
        "FAILED_UPDATE_USER_TOKEN",
    )
    .await;
    assert!(e.get("details").is_none());
    let token = t.start(&app, json!({})).await;
    let e = expect_error(
        t.post(REGISTER, json!({"reqToken": token, "name": " ", "email": "not-an-email", "whatsapp": "12", "password": "short"})).await,
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
    assert_eq!(fields, ["name", "email", "whatsapp", "password"]);
    let e = expect_error(
        t.post(
            REGISTER,
            json!({"reqToken": token, "name": "A", "password": "long enough"}),
        )
        .await,
        422,
        "VALIDATION_ERROR",
    )
    .await;
    assert_eq!(e["details"][0]["field"], "email");
    // Nothing was written: the token is still open.
    t.person("carol@example.com")
        .whatsapp("081200000001")
        .via(&app)
        .register()
        .await;
    // Identifiers are exclusive, verified or not.
    t.verified("carol@example.com").await;
    t.verified("081200000001").await;
    let token = t.start(&app, json!({})).await;
    let e = expect_error(
        t.post(REGISTER, json!({"reqToken": token, "name": "C", "email": "CAROL@example.com", "whatsapp": "+62 812-0000-0001", "password": "long enough"})).await,
        409,
        "DUPLICATE_KEY",
    )
    .await;
    let fields: Vec<_> = e["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "whatsapp"]);
    // The failed registration left the request usable.
    let res = t.post(REGISTER, json!({"reqToken": token, "name": "Dan", "email": "dan@example.com", "password": "long enough"})).await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn behind_https_the_cookie_is_secure_and_host_prefixed() {
    let t = TestApp::spawn_with(|c| c.public_url = Some("https://id.example.com".into())).await;
    let app = t.app_client().await;
    let token = t.start(&app, json!({})).await;
    let res = t.post(REGISTER, json!({"reqToken": token, "name": "Ned", "email": "ned@example.com", "password": PASSWORD})).await;
    let cookie = res.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("__Host-fypass_session=fys_"), "{cookie}");
    assert!(
        cookie.contains("Secure") && cookie.contains("Path=/") && !cookie.contains("Domain"),
        "{cookie}"
    );
    assert_eq!(
        res.headers()["strict-transport-security"],
        "max-age=63072000"
    );
}
