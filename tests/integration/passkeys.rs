//! Passkeys over the real routes, with a software authenticator in place of a browser's
//! (`webauthn-authenticator-rs`): the happy path, and each ceremony that must fail.

use crate::{
    account::age_sessions,
    support::{App, LOGIN, PASSWORD, Person, TestApp, expect_error, no_redirects, session_cookie},
};
use fypass::passkeys::store::{self, Kind};
use serde_json::{Value, json};
use webauthn_authenticator_rs::{
    AuthenticatorBackend, WebauthnAuthenticator, softpasskey::SoftPasskey,
};
use webauthn_rs_proto::{
    AllowCredentials, CreationChallengeResponse, PublicKeyCredential, RequestChallengeResponse,
};

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
    let Person {
        session: cookie,
        id: user,
        ..
    } = t.person("pia@example.com").register().await;
    let mut key = SoftPasskey::new(true);
    let id = add_passkey(&t, &cookie, &mut key).await;
    let listed: Value = t.json_as(&cookie, "/api/v1/account/passkeys").await;
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
    let Person {
        session: cookie,
        id: user,
        ..
    } = t.person("rudi@example.com").register().await;
    let other_user = t.person("sinta@example.com").register().await.id;
    let mut key = SoftPasskey::new(true);
    let id = add_passkey(&t, &cookie, &mut key).await;

    // Expired: the ceremony's time ran out (the same ceremony, signed as ending in the past).
    let (ceremony, options) = login_start(&t, None).await;
    let signed = assertion(&mut key, origin(&t), options, &id, user);
    let mut opened = store::open(store::SealKey::of(&t.state), &ceremony, Kind::Login).unwrap();
    opened.expires_at = 0;
    let expired = store::seal_ceremony(store::SealKey::of(&t.state), &opened);
    expect_error(finish(&t, &expired, &signed).await, 401, "PASSKEY_REJECTED").await;
    // Forged: its state changed (a later expiry), its signature kept.
    opened.expires_at = i64::MAX;
    let changed = store::seal_ceremony(store::SealKey::of(&t.state), &opened);
    let (changed_state, _) = changed.split_once('.').unwrap();
    let (_, signature) = ceremony.split_once('.').unwrap();
    expect_error(
        finish(&t, &format!("{changed_state}.{signature}"), &signed).await,
        401,
        "PASSKEY_REJECTED",
    )
    .await;
    // The genuine one still works, once.
    assert_eq!(finish(&t, &ceremony, &signed).await.status(), 200);
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
    let Person {
        session: cookie,
        id: user,
        ..
    } = t.person("tono@example.com").register().await;
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
    let Person {
        session: cookie,
        id: user,
        ..
    } = t.person("umar@example.com").register().await;
    let mut key = SoftPasskey::new(true);
    let id = add_passkey(&t, &cookie, &mut key).await;
    let mut tx = t.db().begin().await.unwrap();
    fypass::tokens::set_user_status(&mut tx, user, fypass::status::Status::Suspended)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let (ceremony, options) = login_start(&t, None).await;
    let signed = assertion(&mut key, origin(&t), options, &id, user);
    expect_error(finish(&t, &ceremony, &signed).await, 403, "USER_SUSPENDED").await;
}

/// Adding a passkey needs a recent proof of who the person is in this browser: the sign-in
/// itself, the password again (sent along, or on its own), or another of their passkeys.
#[tokio::test]
async fn adding_a_passkey_to_an_older_session_needs_the_password_or_a_passkey_again() {
    let t = spawn().await;
    let Person {
        session: cookie,
        id: user,
        ..
    } = t.person("vera@example.com").register().await;
    let mut key = SoftPasskey::new(true);
    let id = add_passkey(&t, &cookie, &mut key).await;
    age_sessions(&t).await;
    let start = "/api/v1/account/passkeys/register/start";
    expect_error(
        post(&t, Some(&cookie), start, json!({})).await,
        401,
        "REAUTHENTICATION_REQUIRED",
    )
    .await;
    let body = expect_error(
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
    assert_eq!(body["details"][0]["field"], "password");
    assert_eq!(
        post(&t, Some(&cookie), start, json!({"password": PASSWORD}))
            .await
            .status(),
        200
    );

    // With a passkey of theirs: a sign-in ceremony without a login request, answered here.
    age_sessions(&t).await;
    expect_error(
        post(&t, Some(&cookie), start, json!({})).await,
        401,
        "REAUTHENTICATION_REQUIRED",
    )
    .await;
    let reauth = "/api/v1/account/reauthenticate";
    let (ceremony, options) = login_start(&t, None).await;
    let signed = assertion(&mut key, origin(&t), options, &id, user);
    let answer = json!({"ceremonyId": ceremony, "credential": signed});
    assert_eq!(
        post(&t, Some(&cookie), reauth, answer.clone())
            .await
            .status(),
        204
    );
    assert_eq!(
        post(&t, Some(&cookie), start, json!({})).await.status(),
        200
    );
    // An answer proves once.
    age_sessions(&t).await;
    expect_error(
        post(&t, Some(&cookie), reauth, answer).await,
        401,
        "PASSKEY_REJECTED",
    )
    .await;
    // Someone else's passkey proves nothing about this person.
    let other_cookie = t.person("wira@example.com").register().await.session;
    age_sessions(&t).await;
    let (ceremony, options) = login_start(&t, None).await;
    let signed = assertion(&mut key, origin(&t), options, &id, user);
    expect_error(
        post(
            &t,
            Some(&other_cookie),
            reauth,
            json!({"ceremonyId": ceremony, "credential": signed}),
        )
        .await,
        401,
        "PASSKEY_REJECTED",
    )
    .await;
    expect_error(
        post(&t, Some(&other_cookie), start, json!({})).await,
        401,
        "REAUTHENTICATION_REQUIRED",
    )
    .await;
    // Without a session, nothing.
    expect_error(post(&t, None, start, json!({})).await, 401, "UNAUTHORIZED").await;
}

/// Someone with a fresh session adds a passkey; the owner changes the password: the page
/// lists the passkeys and offers to remove them, and removed they no longer sign in.
#[tokio::test]
async fn a_password_change_offers_to_remove_the_passkeys() {
    let t = spawn().await;
    let Person {
        session: cookie,
        id: user,
        ..
    } = t.person("xena@example.com").register().await;
    let mut key = SoftPasskey::new(true);
    let id = add_passkey(&t, &cookie, &mut key).await;
    let html = t
        .http
        .get(t.url("/account"))
        .header("accept", "text/html")
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let password_form = &html[html.find("value=\"password\"").expect("the password form")..];
    assert!(password_form.contains("Test key"), "{html}");
    assert!(password_form.contains("name=\"removePasskeys\""), "{html}");

    // Changed without ticking it: the passkey stays, and still signs in.
    let res = post(
        &t,
        Some(&cookie),
        "/_app/account/password",
        json!({"current": PASSWORD, "new": "a second password"}),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let cookie = session_cookie(&res);
    let (ceremony, options) = login_start(&t, None).await;
    let signed = assertion(&mut key, origin(&t), options, &id, user);
    assert_eq!(finish(&t, &ceremony, &signed).await.status(), 200);

    // Ticked (a plain form post): gone with the other sessions.
    let body = "intent=password&current=a+second+password&new=a+third+password&removePasskeys=on";
    let res = no_redirects()
        .post(t.url("/account"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", t.state.config.public_origin())
        .header("cookie", &cookie)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let (ceremony, options) = login_start(&t, None).await;
    let signed = assertion(&mut key, origin(&t), options, &id, user);
    expect_error(
        finish(&t, &ceremony, &signed).await,
        401,
        "PASSKEY_REJECTED",
    )
    .await;
}

/// A stranger's wrong passwords slow the account's password sign-ins down; they must not
/// stop its owner's passkey, from any browser and network.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strangers_wrong_passwords_do_not_stop_the_owners_passkey() {
    let t = TestApp::spawn_behind_proxy(|c| {
        c.public_url = Some(format!("http://localhost:{}", c.listen.port()));
        c.password_queue = Some(64);
    })
    .await;
    let Person {
        session: cookie,
        id: user,
        ..
    } = t.person("yoga@example.com").register().await;
    let mut key = SoftPasskey::new(true);
    let id = add_passkey(&t, &cookie, &mut key).await;
    let guesses = (0..30).map(|i| {
        t.post_from(
            &format!("198.51.100.{}", i + 1),
            LOGIN,
            json!({"identifier": "yoga@example.com", "password": "wrong guess"}),
        )
    });
    let refused = crate::support::join_all(guesses)
        .await
        .iter()
        .filter(|r| r.status() == 429)
        .count();
    assert!(refused > 0, "the account is slowed down");
    // The owner, on a new phone on another network, with their passkey.
    let res = t
        .post_from(
            "203.0.113.7",
            "/api/v1/fypass/passkeys/login/start",
            json!({}),
        )
        .await;
    let challenge: Value = res.json().await.unwrap();
    let options = serde_json::from_value(json!({"publicKey": challenge["publicKey"]})).unwrap();
    let signed = assertion(&mut key, origin(&t), options, &id, user);
    let res = t
        .post_from(
            "203.0.113.7",
            "/api/v1/fypass/passkeys/login/finish",
            json!({"ceremonyId": challenge["ceremonyId"], "credential": signed}),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

/// Every sign-in page starts a passkey ceremony for its autofill: starting one must cost the
/// server no row, however many a network (or its many IPv6 /64s) starts, and a ceremony
/// still works once.
#[tokio::test]
async fn starting_passkey_sign_ins_stores_nothing() {
    let t = TestApp::spawn_behind_proxy(|c| {
        c.public_url = Some(format!("http://localhost:{}", c.listen.port()));
    })
    .await;
    let Person {
        session: cookie,
        id: user,
        ..
    } = t.person("zara@example.com").register().await;
    let mut key = SoftPasskey::new(true);
    let id = add_passkey(&t, &cookie, &mut key).await;
    let rows = |sql: &'static str| {
        let t = &t;
        async move {
            let mut tx = t.db().begin().await.unwrap();
            let (n,): (i64,) = match &mut tx {
                fypass::db::Tx::Sqlite(c) => sqlx::query_as(sql).fetch_one(&mut **c).await.unwrap(),
                fypass::db::Tx::Postgres(c) => {
                    sqlx::query_as(sql).fetch_one(c.exec()).await.unwrap()
                }
            };
            n
        }
    };
    let count =
        "SELECT (SELECT COUNT(*) FROM passkey_ceremonies) + (SELECT COUNT(*) FROM throttle)";
    let before = rows(count).await;
    for i in 0..400 {
        // One IPv4 address, then many /64s.
        let from = if i < 350 {
            "198.51.100.9".to_string()
        } else {
            format!("2001:db8:{i:x}::1")
        };
        let res = t
            .post_from(&from, "/api/v1/fypass/passkeys/login/start", json!({}))
            .await;
        assert_eq!(
            res.status(),
            200,
            "start {i}: {}",
            res.text().await.unwrap()
        );
    }
    assert_eq!(rows(count).await, before, "no row for a start");
    // A ceremony still signs in, once.
    let (ceremony, options) = login_start(&t, None).await;
    let signed = assertion(&mut key, origin(&t), options, &id, user);
    assert_eq!(finish(&t, &ceremony, &signed).await.status(), 200);
    expect_error(
        finish(&t, &ceremony, &signed).await,
        401,
        "PASSKEY_REJECTED",
    )
    .await;
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
