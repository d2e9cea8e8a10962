//! An attacker's review, with an app key and a browser: what a stranger, or one signed-in
//! person, could still do to someone else's account or devices (SPEC §6, §10, §13).

use crate::support::{App, DEVICES, PASSWORD, TestApp};
use serde_json::{Value, json};
use std::time::Duration;

fn post_as(
    t: &TestApp,
    ip: &str,
    cookie: Option<&str>,
    path: &str,
    body: Value,
) -> impl std::future::Future<Output = reqwest::Response> + Send + 'static + use<> {
    let mut req = t
        .http
        .post(t.url(path))
        .header("x-forwarded-for", ip)
        .json(&body);
    if let Some(cookie) = cookie {
        req = req.header("cookie", cookie);
    }
    async move { req.send().await.unwrap() }
}

/// A device save by `app`, with `bearer` when given.
async fn save(t: &TestApp, app: &App, bearer: Option<&str>, body: Value) -> reqwest::Response {
    let mut req = t
        .http
        .post(t.url(DEVICES))
        .header("x-client-key", &app.key)
        .json(&body);
    if let Some(token) = bearer {
        req = req.bearer_auth(token);
    }
    req.send().await.unwrap()
}

/// The devices `app` lists for the person `user_id`.
async fn devices_of(t: &TestApp, app: &App, user_id: &str) -> Vec<Value> {
    let page: Value = t
        .get_as(&app.key, &format!("{DEVICES}?userId={user_id}"))
        .await
        .json()
        .await
        .unwrap();
    page["items"].as_array().unwrap().clone()
}

/// The device `device_id` of `app`, as the app reads it.
async fn device(t: &TestApp, app: &App, device_id: &str) -> Value {
    let page: Value = t.get_as(&app.key, DEVICES).await.json().await.unwrap();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["deviceId"] == device_id)
        .cloned()
        .unwrap_or_else(|| panic!("no device {device_id} in {page}"))
}

/// Point 3: revoking everything of a person also unlinks their devices, in both ways it is
/// asked for — "sign out everywhere" in the browser, an app's logout everywhere. Before, the
/// device stayed listed as theirs while nobody held it, so anyone with the app's key could
/// replace its push token (a save without a token is allowed on a device nobody holds) and
/// the app went on sending that person's notifications there.
#[tokio::test]
async fn revoking_everything_of_a_person_unlinks_their_devices() {
    let t = TestApp::spawn_behind_proxy(|_| {}).await;
    let app = t.app_client().await;
    let tv = json!({"deviceId": "tv-1", "platform": "other", "deviceName": "TV", "pushToken": "push-of-ana"});
    let ana = t
        .person("ana@example.com")
        .from("127.0.0.1")
        .via(&app)
        .on_device(tv)
        .register()
        .await;
    let (ana, session) = (ana.reply().clone(), ana.session);
    let ana_id = ana["user"]["id"].as_str().unwrap();
    assert_eq!(devices_of(&t, &app, ana_id).await.len(), 1);

    let res = post_as(
        &t,
        "127.0.0.1",
        Some(&session),
        "/_app/account/sign-out-everywhere",
        json!({}),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert!(devices_of(&t, &app, ana_id).await.is_empty());
    // A stranger's save without a token may change it now, and it is not Ana's.
    let res = save(
        &t,
        &app,
        None,
        json!({"deviceId": "tv-1", "platform": "other", "pushToken": "push-of-a-stranger"}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let tv = device(&t, &app, "tv-1").await;
    assert!(tv.get("userId").is_none(), "{tv}");
    assert!(devices_of(&t, &app, ana_id).await.is_empty());

    // An app's "logout everywhere" unlinks that app's devices of the person, not others'.
    let other = t.app_client().await;
    let phone = json!({"deviceId": "phone-1", "platform": "android", "pushToken": "push-of-budi"});
    let budi = t
        .person("budi@example.com")
        .from("127.0.0.1")
        .via(&app)
        .on_device(phone.clone())
        .register()
        .await;
    let budi = budi.reply();
    let budi_id = budi["user"]["id"].as_str().unwrap();
    let req = other_sign_in(&t, &other, "budi@example.com", phone).await;
    let res = t
        .http
        .post(t.url("/api/v1/users/logout"))
        .header("x-client-key", &app.key)
        .bearer_auth(budi["accessToken"].as_str().unwrap())
        .json(&json!({"everywhere": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert!(devices_of(&t, &app, budi_id).await.is_empty());
    assert_eq!(devices_of(&t, &other, budi_id).await.len(), 1, "{req}");
}

/// Budi signs in to `app` too, on `info`; returns the request's token.
async fn other_sign_in(t: &TestApp, app: &App, email: &str, info: Value) -> String {
    let req = t.start(app, json!({"deviceInfo": info})).await;
    let res = post_as(
        t,
        "127.0.0.1",
        None,
        crate::support::LOGIN,
        json!({"reqToken": req, "identifier": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let polled: Value = t.poll(app, &req).await.json().await.unwrap();
    assert!(polled["accessToken"].is_string(), "{polled}");
    req
}

/// Once nobody holds a device any more (its person signed out there: the app's logout of
/// that sign-in, or their tokens ran out), a save without a token may change it — and then
/// it is nobody's: before, it kept its person while taking a stranger's push token, so the
/// app sent that person's notifications to the stranger.
#[tokio::test]
async fn a_tokenless_save_that_replaces_a_free_devices_push_token_unlinks_it() {
    let t = TestApp::spawn_behind_proxy(|_| {}).await;
    let app = t.app_client().await;
    let tv = json!({"deviceId": "tv-2", "platform": "other", "pushToken": "push-of-cici"});
    let cici = t
        .person("cici@example.com")
        .from("127.0.0.1")
        .via(&app)
        .on_device(tv.clone())
        .register()
        .await;
    let cici = cici.reply();
    let cici_id = cici["user"]["id"].as_str().unwrap();
    let access = cici["accessToken"].as_str().unwrap();
    // While she is signed in there, only her token changes its push token.
    let stranger =
        json!({"deviceId": "tv-2", "platform": "other", "pushToken": "push-of-a-stranger"});
    let res = save(&t, &app, None, stranger.clone()).await;
    assert_eq!(res.status(), 409);
    // The app signs her out of it (this sign-in only).
    let res = t
        .http
        .post(t.url("/api/v1/users/logout"))
        .header("x-client-key", &app.key)
        .bearer_auth(access)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    // The same save as before changes nothing that is hers.
    let res = save(&t, &app, None, tv).await;
    assert_eq!(res.status(), 200);
    assert_eq!(devices_of(&t, &app, cici_id).await.len(), 1);
    let res = save(&t, &app, None, stranger).await;
    assert_eq!(res.status(), 200);
    let tv = device(&t, &app, "tv-2").await;
    assert_eq!(tv["pushToken"], "push-of-a-stranger");
    assert!(tv.get("userId").is_none(), "{tv}");
    assert!(devices_of(&t, &app, cici_id).await.is_empty());
}

/// Point 1: a sign-in code through an address the squatter registered (never verified)
/// hands the account over — and the squatter's app sign-ins, refresh tokens and device go
/// with it, as a recovery's would.
#[tokio::test]
async fn a_code_sign_in_on_a_squatted_account_leaves_the_squatter_no_app_token_or_device() {
    let t = TestApp::spawn_behind_proxy(|_| {}).await;
    let app = t.app_client().await;
    let tv = json!({"deviceId": "tv-3", "platform": "other", "pushToken": "push-of-squatter"});
    let dina = t
        .person("dina@example.com")
        .from("127.0.0.1")
        .via(&app)
        .on_device(tv)
        .register()
        .await;
    let (squatter, session) = (dina.reply().clone(), dina.session);
    let account_id = squatter["user"]["id"].as_str().unwrap().to_string();

    let req = t.start(&app, json!({})).await;
    let res = post_as(
        &t,
        "127.0.0.1",
        None,
        "/api/v1/fypass/code",
        json!({"reqToken": req, "identifier": "dina@example.com"}),
    )
    .await;
    assert_eq!(res.status(), 202);
    let code = sign_in_code(&t, "dina@example.com").await;
    let res = post_as(
        &t,
        "127.0.0.1",
        None,
        "/api/v1/fypass/code/login",
        json!({"reqToken": req, "identifier": "dina@example.com", "code": code}),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let polled: Value = t.poll(&app, &req).await.json().await.unwrap();
    assert_eq!(polled["user"]["id"], account_id.as_str());

    let me = t
        .http
        .get(t.url("/api/v1/users/me"))
        .header("x-client-key", &app.key)
        .bearer_auth(squatter["accessToken"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401);
    let refreshed = t
        .http
        .post(t.url("/api/v1/users/token"))
        .header("x-client-key", &app.key)
        .json(&json!({"refreshToken": squatter["refreshToken"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 401);
    assert!(devices_of(&t, &app, &account_id).await.is_empty());
    let res = t
        .http
        .get(t.url("/_app/account"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

async fn sign_in_code(t: &TestApp, to: &str) -> String {
    for _ in 0..100 {
        let listed = fypass::courier::outbox::list(t.db(), 200).await.unwrap();
        if let Some(m) = listed.iter().find(|m| m.to == to && m.purpose == "sign-in") {
            return crate::channels::code_in(m.body.as_deref().unwrap());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no sign-in code to {to}");
}

/// Point 4, carrier-grade NAT: one abuser behind a shared address spends that address's
/// hourly budgets of code sends and of wrong codes. The owner of an account, in a browser
/// that signed in to it before and through an identifier they verified, still gets and
/// uses their code there (their browser has a budget of its own, as a sign-in does, SPEC
/// §13); a stranger at that address — and the browser of someone who registered an address
/// they never verified — still meets the address's caps.
#[tokio::test]
async fn an_abuser_behind_a_shared_address_does_not_lock_owners_out_of_their_codes() {
    let limits = crate::support::limits();
    const NAT: &str = "100.64.0.1";
    let t = TestApp::spawn_behind_proxy(|_| {}).await;
    let owner = t
        .person("nia@example.com")
        .from(NAT)
        .register()
        .await
        .browser;
    t.verified("nia@example.com").await;
    // Someone registers an address that is not theirs, from the same address.
    let squatter = t
        .person("ola@example.com")
        .from(NAT)
        .register()
        .await
        .browser;

    // The abuser spends the address's budgets.
    for i in 0..limits.code_sends_per_network_hour {
        let res = post_as(
            &t,
            NAT,
            None,
            "/api/v1/fypass/recovery",
            json!({"identifier": format!("victim{i}@example.com")}),
        )
        .await;
        assert_eq!(res.status(), 202, "send {i}");
    }
    for i in 0..limits.wrong_codes_per_network_hour {
        let res = post_as(
            &t,
            NAT,
            None,
            "/api/v1/fypass/recovery/complete",
            json!({"identifier": format!("victim{i}@example.com"), "code": "000000", "newPassword": PASSWORD}),
        )
        .await;
        assert_eq!(res.status(), 400, "wrong code {i}");
    }
    let send_to = |identifier: &str, cookie: Option<&str>| {
        post_as(
            &t,
            NAT,
            cookie,
            "/api/v1/fypass/recovery",
            json!({"identifier": identifier}),
        )
    };
    // A stranger at that address, and the squatter's browser, meet the caps.
    assert_eq!(send_to("nia@example.com", None).await.status(), 429);
    assert_eq!(
        send_to("ola@example.com", Some(&squatter)).await.status(),
        429
    );
    let wrong = post_as(
        &t,
        NAT,
        Some(&squatter),
        "/api/v1/fypass/recovery/complete",
        json!({"identifier": "ola@example.com", "code": "000000", "newPassword": PASSWORD}),
    )
    .await;
    assert_eq!(wrong.status(), 429);
    // The owner's browser gets its code, and uses it (after a wrong try of its own).
    assert_eq!(send_to("nia@example.com", Some(&owner)).await.status(), 202);
    let code = recovery_code(&t, "nia@example.com").await;
    let typo = post_as(
        &t,
        NAT,
        Some(&owner),
        "/api/v1/fypass/recovery/complete",
        json!({"identifier": "nia@example.com", "code": if code == "000000" { "111111" } else { "000000" }, "newPassword": "a new passphrase"}),
    )
    .await;
    assert_eq!(typo.status(), 400);
    let res = post_as(
        &t,
        NAT,
        Some(&owner),
        "/api/v1/fypass/recovery/complete",
        json!({"identifier": "nia@example.com", "code": code, "newPassword": "a new passphrase"}),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

async fn recovery_code(t: &TestApp, to: &str) -> String {
    for _ in 0..100 {
        let listed = fypass::courier::outbox::list(t.db(), 200).await.unwrap();
        if let Some(m) = listed
            .iter()
            .find(|m| m.to == to && m.purpose == "recovery")
        {
            return crate::channels::code_in(m.body.as_deref().unwrap());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no recovery code to {to}");
}
