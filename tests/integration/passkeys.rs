//! Passkeys over the real routes, with a software authenticator in place of a browser's
//! (`webauthn-authenticator-rs`): the happy path, and each ceremony that must fail.

use crate::support::{App, TestApp, expect_error, session_cookie};
use serde_json::{Value, json};
use webauthn_authenticator_rs::{
    AuthenticatorBackend, WebauthnAuthenticator, softpasskey::SoftPasskey,
};
use webauthn_rs_proto::{
    AllowCredentials, CreationChallengeResponse, PublicKeyCredential, RequestChallengeResponse,
};

const PASSWORD: &str = "correct horse";

/// The app on `http://localhost:PORT` (a relying party id cannot be an IP address).
async fn spawn() -> TestApp {
    TestApp::spawn_with(|c| c.public_url = Some(format!("http://localhost:{}", c.listen.port())))
        .await
}

pub(crate) fn origin(t: &TestApp) -> url::Url {
    url::Url::parse(&t.state.config.public_origin()).unwrap()
}

/// A JSON POST with the browser session `cookie`.
async fn post(t: &TestApp, cookie: Option<&str>, path: &str, body: Value) -> reqwest::Response {
    let mut req = t.http.post(t.url(path)).json(&body);
    if let Some(cookie) = cookie {
        req = req.header("cookie", cookie);
    }
    req.send().await.unwrap()
}

/// A person, signed in (their session cookie) and their id.
async fn person(t: &TestApp, email: &str) -> (String, uuid::Uuid) {
    let res = post(
        t,
        None,
        "/api/v1/fypass/register",
        json!({"name": "Pia", "email": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let cookie = session_cookie(&res);
    let parsed = fypass::users::identifier::Identifier::parse(email, 62).unwrap();
    let user = fypass::users::store::find_by_identifier(t.db(), &parsed)
        .await
        .unwrap()
        .unwrap();
    (cookie, user.id)
}

/// Adds a passkey made by `key` for the person of `cookie`; its credential id.
pub(crate) async fn add_passkey(t: &TestApp, cookie: &str, key: &mut SoftPasskey) -> Vec<u8> {
    let res = post(
        t,
        Some(cookie),
        "/api/v1/account/passkeys/register/start",
        json!({}),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let challenge: Value = res.json().await.unwrap();
    let mut options: CreationChallengeResponse =
        serde_json::from_value(json!({"publicKey": challenge["publicKey"]})).unwrap();
    // The server asks for a discoverable credential; the software key keeps none.
    let selection = options.public_key.authenticator_selection.as_mut().unwrap();
    assert!(selection.require_resident_key, "passkeys are discoverable");
    selection.require_resident_key = false;
    selection.resident_key = None;
    let made = key.do_registration(origin(t), options).unwrap();
    let id = made.raw_id.to_vec();
    let res = post(
        t,
        Some(cookie),
        "/api/v1/account/passkeys/register/finish",
        json!({"ceremonyId": challenge["ceremonyId"], "credential": made, "name": "Test key"}),
    )
    .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    id
}

/// A passkey sign-in's start: its ceremony id and request options.
pub(crate) async fn login_start(
    t: &TestApp,
    req_token: Option<&str>,
) -> (String, RequestChallengeResponse) {
    let res = post(
        t,
        None,
        "/api/v1/fypass/passkeys/login/start",
        json!({"reqToken": req_token}),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let challenge: Value = res.json().await.unwrap();
    let options = serde_json::from_value(json!({"publicKey": challenge["publicKey"]})).unwrap();
    (
        challenge["ceremonyId"].as_str().unwrap().to_string(),
        options,
    )
}

/// The assertion `key` signs for `options` as a browser at `at` would, for `user`.
pub(crate) fn assertion(
    key: &mut SoftPasskey,
    at: url::Url,
    mut options: RequestChallengeResponse,
    cred_id: &[u8],
    user: uuid::Uuid,
) -> PublicKeyCredential {
    options.mediation = None;
    options.public_key.allow_credentials = vec![AllowCredentials {
        type_: "public-key".into(),
        id: cred_id.to_vec(),
        transports: None,
    }];
    let mut signed = key.do_authentication(at, options).unwrap();
    // The user handle is not signed: a discoverable credential's authenticator names it.
    signed.response.user_handle = Some(user.as_bytes().to_vec());
    signed
}

pub(crate) async fn finish(
    t: &TestApp,
    ceremony: &str,
    credential: &PublicKeyCredential,
) -> reqwest::Response {
    post(
        t,
        None,
        "/api/v1/fypass/passkeys/login/finish",
        json!({"ceremonyId": ceremony, "credential": credential}),
    )
    .await
}

async fn app_request(t: &TestApp) -> (App, String) {
    let app = t.app_client().await;
    let token = t.start(&app, json!({})).await;
    (app, token)
}

#[tokio::test]
async fn a_passkey_completes_an_apps_login_request_like_a_password() {
    let t = spawn().await;
    let (cookie, user) = person(&t, "pia@example.com").await;
    let mut key = SoftPasskey::new(true);
    let id = add_passkey(&t, &cookie, &mut key).await;
    let listed: Value = t
        .http
        .get(t.url("/api/v1/account/passkeys"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["name"], "Test key");
    assert!(listed[0].get("lastUsedAt").is_none());

    let (app, token) = app_request(&t).await;
    let (ceremony, options) = login_start(&t, Some(&token)).await;
    let signed = assertion(&mut key, origin(&t), options, &id, user);
    let res = finish(&t, &ceremony, &signed).await;
    assert_eq!(res.status(), 200);
    session_cookie(&res);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "LOGGED_IN");
    let polled: Value = t.poll(&app, &token).await.json().await.unwrap();
    assert_eq!(polled["status"], "LOGGED_IN");
    assert!(polled["accessToken"].is_string());
    let again: Value = t.poll(&app, &token).await.json().await.unwrap();
    assert!(again.get("accessToken").is_none(), "the token once");

    // A replayed answer finds its ceremony used.
    let res = finish(&t, &ceremony, &signed).await;
    expect_error(res, 401, "PASSKEY_REJECTED").await;
    // Renamed, then removed: it no longer signs in.
    let passkey_id = listed[0]["id"].as_str().unwrap();
    let res = post(
        &t,
        Some(&cookie),
        "/api/v1/account/passkeys/rename",
        json!({"id": passkey_id, "name": "Laptop"}),
    )
    .await;
    assert_eq!(res.json::<Value>().await.unwrap()["name"], "Laptop");
    let res = t
        .http
        .delete(t.url(&format!("/api/v1/account/passkeys/{passkey_id}")))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let (ceremony, options) = login_start(&t, None).await;
    let signed = assertion(&mut key, origin(&t), options, &id, user);
    expect_error(
        finish(&t, &ceremony, &signed).await,
        401,
        "PASSKEY_REJECTED",
    )
    .await;
}

#[tokio::test]
async fn expired_wrong_user_and_wrong_origin_ceremonies_are_refused() {
    let t = spawn().await;
    let (cookie, user) = person(&t, "rudi@example.com").await;
    let (_, other_user) = person(&t, "sinta@example.com").await;
    let mut key = SoftPasskey::new(true);
    let id = add_passkey(&t, &cookie, &mut key).await;

    // Expired: the ceremony's time ran out.
    let (ceremony, options) = login_start(&t, None).await;
    let signed = assertion(&mut key, origin(&t), options, &id, user);
    let mut tx = t.db().begin().await.unwrap();
    match &mut tx {
        fypass::db::Tx::Sqlite(c) => drop(
            sqlx::query("UPDATE passkey_ceremonies SET expires_at = 0")
                .execute(&mut **c)
                .await
                .unwrap(),
        ),
        fypass::db::Tx::Postgres(c) => drop(
            sqlx::query("UPDATE passkey_ceremonies SET expires_at = 0")
                .execute(&mut **c)
                .await
                .unwrap(),
        ),
    }
    tx.commit().await.unwrap();
    expect_error(
        finish(&t, &ceremony, &signed).await,
        401,
        "PASSKEY_REJECTED",
    )
    .await;

    // Another user's handle on this credential.
    let (ceremony, options) = login_start(&t, None).await;
    let signed = assertion(&mut key, origin(&t), options, &id, other_user);
    expect_error(
        finish(&t, &ceremony, &signed).await,
        401,
        "PASSKEY_REJECTED",
    )
    .await;

    // Signed for another origin (a phishing page), which the key itself does not check.
    let (ceremony, mut options) = login_start(&t, None).await;
    options.public_key.allow_credentials = vec![AllowCredentials {
        type_: "public-key".into(),
        id: id.clone(),
        transports: None,
    }];
    let evil = url::Url::parse("https://evil.example").unwrap();
    let mut signed =
        AuthenticatorBackend::perform_auth(&mut key, evil, options.public_key, 60_000).unwrap();
    signed.response.user_handle = Some(user.as_bytes().to_vec());
    expect_error(
        finish(&t, &ceremony, &signed).await,
        401,
        "PASSKEY_REJECTED",
    )
    .await;

    // An answer to one ceremony does not finish another.
    let (first, options) = login_start(&t, None).await;
    let (second, _) = login_start(&t, None).await;
    let signed = assertion(&mut key, origin(&t), options, &id, user);
    expect_error(finish(&t, &second, &signed).await, 401, "PASSKEY_REJECTED").await;
    // (and the ceremony it belonged to still works, once)
    assert_eq!(finish(&t, &first, &signed).await.status(), 200);
}

#[tokio::test]
async fn a_sign_counter_that_goes_backwards_is_refused() {
    let t = spawn().await;
    let (cookie, user) = person(&t, "tono@example.com").await;
    let mut key = SoftPasskey::new(true);
    let id = add_passkey(&t, &cookie, &mut key).await;
    // Two answers signed in order (counters 1 and 2); the later one arrives first.
    let (first, options) = login_start(&t, None).await;
    let older = assertion(&mut key, origin(&t), options, &id, user);
    let (second, options) = login_start(&t, None).await;
    let newer = assertion(&mut key, origin(&t), options, &id, user);
    assert_eq!(finish(&t, &second, &newer).await.status(), 200);
    let body = expect_error(finish(&t, &first, &older).await, 401, "PASSKEY_REJECTED").await;
    assert!(
        body["message"].as_str().unwrap().contains("counter"),
        "{body}"
    );
}

#[tokio::test]
async fn an_inactive_person_cannot_use_a_passkey() {
    let t = spawn().await;
    let (cookie, user) = person(&t, "umar@example.com").await;
    let mut key = SoftPasskey::new(true);
    let id = add_passkey(&t, &cookie, &mut key).await;
    let mut tx = t.db().begin().await.unwrap();
    fypass::users::store::set_status(&mut tx, user, fypass::status::Status::Suspended)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let (ceremony, options) = login_start(&t, None).await;
    let signed = assertion(&mut key, origin(&t), options, &id, user);
    expect_error(finish(&t, &ceremony, &signed).await, 403, "USER_SUSPENDED").await;
}

#[tokio::test]
async fn adding_a_passkey_to_an_older_session_asks_for_the_password() {
    let t = spawn().await;
    let (cookie, _) = person(&t, "vera@example.com").await;
    let mut tx = t.db().begin().await.unwrap();
    let older = "UPDATE sessions SET created_at = created_at - 3600000";
    match &mut tx {
        fypass::db::Tx::Sqlite(c) => drop(sqlx::query(older).execute(&mut **c).await.unwrap()),
        fypass::db::Tx::Postgres(c) => drop(sqlx::query(older).execute(&mut **c).await.unwrap()),
    }
    tx.commit().await.unwrap();
    let start = "/api/v1/account/passkeys/register/start";
    let body = expect_error(
        post(&t, Some(&cookie), start, json!({})).await,
        422,
        "VALIDATION_ERROR",
    )
    .await;
    assert_eq!(body["details"][0]["field"], "password");
    expect_error(
        post(
            &t,
            Some(&cookie),
            start,
            json!({"password": "not it at all"}),
        )
        .await,
        401,
        "INVALID_PASSWORD",
    )
    .await;
    assert_eq!(
        post(&t, Some(&cookie), start, json!({"password": PASSWORD}))
            .await
            .status(),
        200
    );
    // Without a session, nothing.
    expect_error(post(&t, None, start, json!({})).await, 401, "UNAUTHORIZED").await;
}

#[tokio::test]
async fn on_an_ip_address_passkeys_are_off() {
    let t = TestApp::spawn().await;
    let res = post(&t, None, "/api/v1/fypass/passkeys/login/start", json!({})).await;
    let body = expect_error(res, 401, "PASSKEY_REJECTED").await;
    assert!(
        body["message"].as_str().unwrap().contains("https"),
        "{body}"
    );
}
