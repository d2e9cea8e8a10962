//! Signing in to a login request: with any spelling of an identifier, the errors in the
//! spec's order, "Continue as", posts from other sites, and what a status change ends.

use crate::support::{LOGIN, PASSWORD, TestApp, expect_error};
use fypass::{status::Status, users};
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test]
async fn one_person_signs_in_with_any_spelling_of_their_email_or_number() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    t.person("Bob@Example.com")
        .whatsapp("+62 812-3456-7890")
        .register()
        .await;
    for identifier in [
        "bob@example.com",
        "  BOB@EXAMPLE.COM ",
        "081234567890",
        "6281234567890",
        "+62 812 3456 7890",
    ] {
        let token = t.start(&app, json!({})).await;
        let res = t
            .post(
                LOGIN,
                json!({"reqToken": token, "identifier": identifier, "password": PASSWORD}),
            )
            .await;
        assert_eq!(
            res.status(),
            200,
            "{identifier}: {}",
            res.text().await.unwrap()
        );
        let polled: Value = t.poll(&app, &token).await.json().await.unwrap();
        assert_eq!(polled["status"], "LOGGED_IN");
        assert_eq!(polled["user"]["email"], "bob@example.com");
    }
}

#[tokio::test]
async fn login_errors_come_in_the_spec_order() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let erin = t
        .person("erin@example.com")
        .via(&app)
        .uncollected()
        .register()
        .await;
    let done = erin.request();
    let token = t.start(&app, json!({})).await;
    let attempt = |token: &str, identifier: &str, password: &str| json!({"reqToken": token, "identifier": identifier, "password": password});
    // A completed request, however wrong the rest.
    expect_error(
        t.post(LOGIN, attempt(done, "nobody@example.com", "x"))
            .await,
        400,
        "FAILED_UPDATE_USER_TOKEN",
    )
    .await;
    expect_error(
        t.post(LOGIN, attempt("garbage", "nobody@example.com", "x"))
            .await,
        400,
        "FAILED_UPDATE_USER_TOKEN",
    )
    .await;
    expect_error(
        t.post(LOGIN, attempt(&token, "nobody@example.com", "x"))
            .await,
        404,
        "USER_NOT_FOUND",
    )
    .await;
    let e = expect_error(
        t.post(LOGIN, attempt(&token, "not an identifier", "x"))
            .await,
        422,
        "VALIDATION_ERROR",
    )
    .await;
    assert_eq!(e["details"][0]["field"], "identifier");
    expect_error(
        t.post(LOGIN, attempt(&token, "erin@example.com", "wrong horse"))
            .await,
        401,
        "INVALID_PASSWORD",
    )
    .await;

    // Status is checked after the password: a wrong password still says so.
    let user = users::store::find_by_identifier(
        t.db(),
        &users::identifier::Identifier::parse("erin@example.com", 62).unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    for (status, code) in [
        (Status::Inactive, "USER_NOT_ACTIVE"),
        (Status::Suspended, "USER_SUSPENDED"),
        (Status::Deleted, "USER_DELETED"),
    ] {
        let mut tx = t.db().begin().await.unwrap();
        fypass::tokens::set_user_status(&mut tx, user.id, status)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        expect_error(
            t.post(LOGIN, attempt(&token, "erin@example.com", "wrong horse"))
                .await,
            401,
            "INVALID_PASSWORD",
        )
        .await;
        expect_error(
            t.post(LOGIN, attempt(&token, "erin@example.com", PASSWORD))
                .await,
            403,
            code,
        )
        .await;
    }
    let polled: Value = t.poll(&app, &token).await.json().await.unwrap();
    assert_eq!(
        polled["status"], "PENDING",
        "a refused login completes nothing"
    );
}

#[tokio::test]
async fn unknown_users_cost_one_dummy_verify_and_can_be_hidden() {
    let t = TestApp::spawn_with(|c| c.hide_user_existence = true).await;
    let app = t.app_client().await;
    let token = t.start(&app, json!({})).await;
    let before = t.state.passwords.verifications();
    expect_error(
        t.post(
            LOGIN,
            json!({"reqToken": token, "identifier": "ghost@example.com", "password": "anything"}),
        )
        .await,
        401,
        "INVALID_PASSWORD",
    )
    .await;
    assert_eq!(
        t.state.passwords.verifications(),
        before + 1,
        "one verify against the dummy hash"
    );
}

#[tokio::test]
async fn an_expired_request_cannot_be_completed_and_polls_as_expired() {
    let t = TestApp::spawn_with(|c| c.login_ttl_secs = 1).await;
    let app = t.app_client().await;
    t.person("fay@example.com").register().await;
    let token = t.start(&app, json!({})).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let polled: Value = t.poll(&app, &token).await.json().await.unwrap();
    assert_eq!(polled["status"], "EXPIRED");
    let e = expect_error(
        t.post(
            LOGIN,
            json!({"reqToken": token, "identifier": "fay@example.com", "password": PASSWORD}),
        )
        .await,
        400,
        "FAILED_UPDATE_USER_TOKEN",
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains("expired"), "{e}");
}

#[tokio::test]
async fn continue_as_completes_a_new_request_with_the_browser_session() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let cookie = t
        .person("lee@example.com")
        .via(&app)
        .register()
        .await
        .session;
    let second = t.start(&app, json!({})).await;
    let continued = t
        .http
        .post(t.url("/_app/fypass/continue"))
        .header("cookie", &cookie)
        .json(&json!({"reqToken": second}))
        .send()
        .await
        .unwrap();
    assert_eq!(continued.status(), 200);
    let polled: Value = t.poll(&app, &second).await.json().await.unwrap();
    assert_eq!(polled["status"], "LOGGED_IN");
    assert_eq!(polled["user"]["email"], "lee@example.com");
    // Without a session there is nobody to continue as.
    let third = t.start(&app, json!({})).await;
    let res = t
        .http
        .post(t.url("/_app/fypass/continue"))
        .json(&json!({"reqToken": third}))
        .send()
        .await
        .unwrap();
    expect_error(res, 401, "UNAUTHORIZED").await;
}

#[tokio::test]
async fn browser_posts_from_another_origin_are_refused() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    t.person("max@example.com").register().await;
    let token = t.start(&app, json!({})).await;
    let body = json!({"reqToken": token, "identifier": "max@example.com", "password": PASSWORD});
    let res = t
        .http
        .post(t.url(LOGIN))
        .header("origin", "https://evil.example")
        .json(&body)
        .send()
        .await
        .unwrap();
    expect_error(res, 403, "ORIGIN_NOT_ALLOWED").await;
    let own = format!("http://{}", t.addr);
    let res = t
        .http
        .post(t.url(LOGIN))
        .header("origin", own)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn a_non_active_status_revokes_tokens_and_sessions_at_once() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let kim = t.person("kim@example.com").via(&app).register().await;
    let (cookie, access) = (kim.session.clone(), kim.access_token());
    let signed_in = |t: &TestApp| {
        let req = t
            .http
            .get(t.url("/_app/fypass/context"))
            .header("cookie", cookie.clone());
        async move { req.send().await.unwrap().json::<Value>().await.unwrap()["signed_in"].clone() }
    };
    assert_eq!(signed_in(&t).await["email"], "kim@example.com");
    assert!(
        fypass::tokens::access::authenticate(t.db(), access, app.id)
            .await
            .is_ok()
    );

    let user_id = kim.id;
    let mut tx = t.db().begin().await.unwrap();
    fypass::tokens::set_user_status(&mut tx, user_id, Status::Suspended)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(signed_in(&t).await.is_null());
    let e = fypass::tokens::access::authenticate(t.db(), access, app.id)
        .await
        .unwrap_err();
    assert_eq!(e.code, fypass::error::ErrorCode::Unauthorized);
    // Reactivating does not bring old credentials back.
    let mut tx = t.db().begin().await.unwrap();
    fypass::tokens::set_user_status(&mut tx, user_id, Status::Active)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(signed_in(&t).await.is_null());
    assert!(
        fypass::tokens::access::authenticate(t.db(), access, app.id)
            .await
            .is_err()
    );
}
