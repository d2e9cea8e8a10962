//! The tokens an app holds: rotation and reuse detection, expiry, introspection, userinfo
//! and logout, and every way a sign-in ends (`/docs#tokens`).

use crate::support::{App, DEVICES, LOGIN, PASSWORD, TestApp, expect_error, join_all};
use serde_json::{Value, json};
use std::time::Duration;

/// Another sign-in of the registered person `email` in `app` (optionally with a device).
async fn signed_in_again(t: &TestApp, app: &App, email: &str, device: Option<Value>) -> Value {
    let token = t.start(app, json!({"deviceInfo": device})).await;
    let res = t
        .post(
            LOGIN,
            json!({"reqToken": token, "identifier": email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 200);
    t.poll(app, &token).await.json().await.unwrap()
}

pub(crate) fn refresh(t: &TestApp, app: &App, token: &str) -> reqwest::RequestBuilder {
    t.http
        .post(t.url("/api/v1/users/token"))
        .header("x-client-key", &app.key)
        .json(&json!({"refreshToken": token}))
}

pub(crate) async fn introspect(t: &TestApp, app: &App, token: &str) -> Value {
    let res = t
        .http
        .post(t.url("/api/v1/users/introspect"))
        .header("x-client-key", &app.key)
        .json(&json!({"token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

pub(crate) async fn logout(t: &TestApp, app: &App, access: &str, body: Value) -> reqwest::Response {
    t.http
        .post(t.url("/api/v1/users/logout"))
        .header("x-client-key", &app.key)
        .header("authorization", format!("Bearer {access}"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

pub(crate) fn field(v: &Value, name: &str) -> String {
    v[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} in {v}"))
        .to_string()
}

#[tokio::test]
async fn the_first_poll_hands_over_an_hour_long_access_token_and_a_month_long_refresh_token() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let polled = t
        .person("ana@example.com")
        .via(&app)
        .register()
        .await
        .reply()
        .clone();
    assert!(field(&polled, "accessToken").starts_with("fyp_"));
    let refresh = field(&polled, "refreshToken");
    assert!(
        refresh.starts_with("fyt_") && refresh.len() == 47,
        "{refresh}"
    );
    // RFC 3339 times of one format order as text.
    let within = |at: String, secs: i64| {
        let now = fypass::db::now_ms();
        let (low, high) = (
            fypass::db::rfc3339(now + (secs - 100) * 1000),
            fypass::db::rfc3339(now + secs * 1000),
        );
        assert!(low <= at && at <= high, "{low} <= {at} <= {high}");
    };
    within(field(&polled, "accessTokenExpiresAt"), 3600);
    within(field(&polled, "refreshTokenExpiresAt"), 2_592_000);
    let who = t.me(&app, &field(&polled, "accessToken")).await;
    assert_eq!(
        who.json::<Value>().await.unwrap()["email"],
        "ana@example.com"
    );
}

#[tokio::test]
async fn refreshing_rotates_and_a_reused_refresh_token_revokes_the_whole_sign_in() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let first = t
        .person("budi@example.com")
        .via(&app)
        .register()
        .await
        .reply()
        .clone();
    let old = field(&first, "refreshToken");
    let res = refresh(&t, &app, &old).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let second: Value = res.json().await.unwrap();
    let (access, newer) = (
        field(&second, "accessToken"),
        field(&second, "refreshToken"),
    );
    assert_ne!(newer, old);
    assert_eq!(t.me(&app, &access).await.status(), 200);
    // The old one is spent: presented again at once by the same app on the same device
    // (its own parallel request), it gets the very same pair, not a new one...
    let again = refresh(&t, &app, &old).send().await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap(), second);
    assert_eq!(
        t.me(&app, &access).await.status(),
        200,
        "a parallel refresh (within the grace window) revokes nothing"
    );
    // ...and presenting it again later means someone copied it: the sign-in ends.
    tokio::time::sleep(Duration::from_millis(
        fypass::tokens::refresh::GRACE_MS as u64 + 200,
    ))
    .await;
    expect_error(
        refresh(&t, &app, &old).send().await.unwrap(),
        401,
        "UNAUTHORIZED",
    )
    .await;
    expect_error(t.me(&app, &access).await, 401, "UNAUTHORIZED").await;
    expect_error(
        t.me(&app, &field(&first, "accessToken")).await,
        401,
        "UNAUTHORIZED",
    )
    .await;
    expect_error(
        refresh(&t, &app, &newer).send().await.unwrap(),
        401,
        "UNAUTHORIZED",
    )
    .await;
    assert_eq!(introspect(&t, &app, &newer).await, json!({"active": false}));
}

#[tokio::test]
async fn each_kind_of_token_expires() {
    let t = TestApp::spawn_with(|c| {
        c.token_ttl_secs = 1;
        c.refresh_ttl_secs = 2;
    })
    .await;
    let app = t.app_client().await;
    let polled = t
        .person("citra@example.com")
        .via(&app)
        .register()
        .await
        .reply()
        .clone();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let access = field(&polled, "accessToken");
    expect_error(t.me(&app, &access).await, 401, "UNAUTHORIZED").await;
    assert_eq!(
        introspect(&t, &app, &access).await,
        json!({"active": false})
    );
    // The refresh token still works for a while, and each refresh starts its time again.
    let res = refresh(&t, &app, &field(&polled, "refreshToken"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let next: Value = res.json().await.unwrap();
    assert_eq!(t.me(&app, &field(&next, "accessToken")).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    expect_error(
        refresh(&t, &app, &field(&next, "refreshToken"))
            .send()
            .await
            .unwrap(),
        401,
        "UNAUTHORIZED",
    )
    .await;
}

#[tokio::test]
async fn another_apps_token_is_inactive_and_cannot_be_refreshed() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let other = t.app_client().await;
    let polled = t
        .person("dewi@example.com")
        .via(&app)
        .register()
        .await
        .reply()
        .clone();
    let (access, refresh_token) = (
        field(&polled, "accessToken"),
        field(&polled, "refreshToken"),
    );
    assert_eq!(
        introspect(&t, &other, &access).await,
        json!({"active": false})
    );
    assert_eq!(
        introspect(&t, &other, &refresh_token).await,
        json!({"active": false})
    );
    expect_error(
        refresh(&t, &other, &refresh_token).send().await.unwrap(),
        401,
        "UNAUTHORIZED",
    )
    .await;
    expect_error(t.me(&other, &access).await, 401, "UNAUTHORIZED").await;
    // Nothing the other app did touched the owner's sign-in.
    let mine = introspect(&t, &app, &refresh_token).await;
    assert_eq!(mine["active"], true);
    assert_eq!(mine["tokenType"], "refresh");
    assert_eq!(mine["clientId"], app.id.to_string());
    let mine = introspect(&t, &app, &access).await;
    assert_eq!(mine["tokenType"], "access");
    assert_eq!(mine["userId"], polled["user"]["id"]);
    assert!(mine["expiresAt"].as_str().unwrap().ends_with('Z'));
    for garbage in [
        "",
        "fyp_nope",
        "not a token at all",
        "fyt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        assert_eq!(
            introspect(&t, &app, garbage).await,
            json!({"active": false}),
            "{garbage}"
        );
    }
    assert_eq!(
        refresh(&t, &app, &refresh_token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_parallel_refreshes_of_one_token_exactly_one_pair_is_made_and_all_get_it() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let polled = t
        .person("eko@example.com")
        .via(&app)
        .register()
        .await
        .reply()
        .clone();
    let token = field(&polled, "refreshToken");
    let attempts = (0..8).map(|_| {
        let req = refresh(&t, &app, &token).header("user-agent", "ExampleApp/2.1");
        async move { req.send().await.unwrap() }
    });
    let mut pairs = Vec::new();
    for res in join_all(attempts).await {
        assert_eq!(res.status(), 200, "the app's racing requests get no error");
        pairs.push(res.json::<Value>().await.unwrap());
    }
    pairs.dedup();
    assert_eq!(pairs.len(), 1, "one trade, one pair: {pairs:?}");
    let winner = &pairs[0];
    assert_eq!(
        t.me(&app, &field(winner, "accessToken")).await.status(),
        200
    );
    let next = refresh(&t, &app, &field(winner, "refreshToken"))
        .send()
        .await
        .unwrap();
    assert_eq!(next.status(), 200, "the family was not left half-rotated");
}

/// Refreshes arriving together are written in one transaction (`tokens::rotation`): each
/// app still gets its own person's pair, every pair works, and every presented token is
/// spent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refreshes_of_many_people_at_once_each_get_their_own_pair() {
    // Twelve people from one address: more than a network may register by default.
    let t = TestApp::spawn_with(|c| c.registrations_per_hour = 100).await;
    let app = t.app_client().await;
    let mut people = Vec::new();
    for i in 0..12 {
        let email = format!("person{i}@example.com");
        let polled = t.person(&email).via(&app).register().await.reply().clone();
        people.push((field(&polled["user"], "id"), field(&polled, "refreshToken")));
    }
    let refreshes = join_all(people.iter().map(|(_, token)| {
        let req = refresh(&t, &app, token);
        async move { req.send().await.unwrap() }
    }))
    .await;
    for ((id, old), res) in people.iter().zip(refreshes) {
        assert_eq!(res.status(), 200);
        let pair: Value = res.json().await.unwrap();
        let me = t.me(&app, &field(&pair, "accessToken")).await;
        assert_eq!(me.status(), 200);
        let me: Value = me.json().await.unwrap();
        assert_eq!(
            me["id"],
            id.as_str(),
            "each app is handed its own person's pair"
        );
        let inspected = introspect(&t, &app, &field(&pair, "refreshToken")).await;
        assert_eq!(inspected["userId"], id.as_str());
        assert_eq!(introspect(&t, &app, old).await, json!({"active": false}));
    }
}

#[tokio::test]
async fn logout_ends_the_sign_in_and_everywhere_ends_them_all() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let other_app = t.app_client().await;
    let first = t
        .person("fajar@example.com")
        .via(&app)
        .register()
        .await
        .reply()
        .clone();
    let second = signed_in_again(&t, &app, "fajar@example.com", None).await;
    let elsewhere = signed_in_again(&t, &other_app, "fajar@example.com", None).await;

    let res = logout(&t, &app, &field(&first, "accessToken"), json!({})).await;
    assert_eq!(res.status(), 204);
    assert_eq!(res.text().await.unwrap(), "");
    for token in [field(&first, "accessToken"), field(&first, "refreshToken")] {
        assert_eq!(introspect(&t, &app, &token).await, json!({"active": false}));
    }
    // Other sign-ins go on; a second logout of a spent token is still 204.
    assert_eq!(
        t.me(&app, &field(&second, "accessToken")).await.status(),
        200
    );
    assert_eq!(
        logout(&t, &app, &field(&first, "accessToken"), json!({}))
            .await
            .status(),
        204
    );

    let res = logout(
        &t,
        &app,
        &field(&second, "accessToken"),
        json!({"everywhere": true}),
    )
    .await;
    assert_eq!(res.status(), 204);
    expect_error(
        refresh(&t, &app, &field(&second, "refreshToken"))
            .send()
            .await
            .unwrap(),
        401,
        "UNAUTHORIZED",
    )
    .await;
    // Everywhere means every sign-in in this app, not in other apps.
    assert_eq!(
        t.me(&other_app, &field(&elsewhere, "accessToken"))
            .await
            .status(),
        200
    );
    // No Bearer, or someone else's, is UNAUTHORIZED.
    let res = t
        .http
        .post(t.url("/api/v1/users/logout"))
        .header("x-client-key", &app.key)
        .send()
        .await
        .unwrap();
    expect_error(res, 401, "UNAUTHORIZED").await;
    expect_error(
        logout(&t, &app, &field(&elsewhere, "accessToken"), json!({})).await,
        401,
        "UNAUTHORIZED",
    )
    .await;
}

#[tokio::test]
async fn a_status_change_and_a_removed_device_end_the_sign_ins_they_touch() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let polled = t
        .person("gita@example.com")
        .via(&app)
        .register()
        .await
        .reply()
        .clone();
    let device = json!({"deviceId": "tv-7", "platform": "android"});
    let on_tv = signed_in_again(&t, &app, "gita@example.com", Some(device)).await;

    // Removing the TV ends the TV's sign-in, refresh token included...
    let list: Value = t
        .http
        .get(t.url(DEVICES))
        .header("x-client-key", &app.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = list["items"][0]["id"].as_str().unwrap();
    let res = t
        .http
        .delete(t.url(&format!("{DEVICES}/{id}")))
        .header("x-client-key", &app.key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    expect_error(
        refresh(&t, &app, &field(&on_tv, "refreshToken"))
            .send()
            .await
            .unwrap(),
        401,
        "UNAUTHORIZED",
    )
    .await;
    // ...not the other one.
    assert_eq!(
        t.me(&app, &field(&polled, "accessToken")).await.status(),
        200
    );

    // A suspended person is told so when their app refreshes, and their tokens are dead.
    let user_id = uuid::Uuid::parse_str(polled["user"]["id"].as_str().unwrap()).unwrap();
    let mut tx = t.db().begin().await.unwrap();
    fypass::tokens::set_user_status(&mut tx, user_id, fypass::status::Status::Suspended)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let res = refresh(&t, &app, &field(&polled, "refreshToken"))
        .send()
        .await
        .unwrap();
    expect_error(res, 403, "USER_SUSPENDED").await;
    expect_error(
        t.me(&app, &field(&polled, "accessToken")).await,
        401,
        "UNAUTHORIZED",
    )
    .await;
    assert_eq!(
        introspect(&t, &app, &field(&polled, "refreshToken")).await,
        json!({"active": false})
    );
}

#[tokio::test]
async fn token_routes_check_their_grants_and_the_bearer() {
    let t = TestApp::spawn().await;
    let (_, only_token) = t.client(&[fypass::clients::Grant::UsersToken]).await;
    let res = t.get_as(&only_token, "/api/v1/users/me").await;
    expect_error(res, 403, "UNITSYSTEM00002").await;
    let app = t.app_client().await;
    let res = t.get_as(&app.key, "/api/v1/users/me").await;
    expect_error(res, 401, "UNAUTHORIZED").await;
    let res = t
        .http
        .post(t.url("/api/v1/users/token"))
        .header("x-client-key", &app.key)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let body = expect_error(res, 422, "VALIDATION_ERROR").await;
    assert_eq!(body["details"][0]["field"], "refreshToken");
}

/// Within the grace window, only the app's own device gets the pair back: the same token
/// presented from another device (another `User-Agent`, another network) is a thief
/// replaying it quickly, and revokes the sign-in; so is any presentation after the window.
#[tokio::test]
async fn a_quick_replay_from_another_device_is_reuse_and_revokes_the_sign_in() {
    let t = TestApp::spawn_behind_proxy(|_| {}).await;
    let app = t.app_client().await;
    let from = |token: &str, ip: &str, agent: &str| {
        refresh(&t, &app, token)
            .header("x-forwarded-for", ip)
            .header("user-agent", agent)
    };
    for (ip, agent) in [
        ("203.0.113.5", "ThiefTool/1.0"),
        ("198.51.100.66", "ExampleApp/2.1"),
    ] {
        let email = format!("fitri-{}@example.com", agent.len());
        let polled = t.person(&email).via(&app).register().await.reply().clone();
        let old = field(&polled, "refreshToken");
        let res = from(&old, "203.0.113.5", "ExampleApp/2.1")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let pair: Value = res.json().await.unwrap();
        // The same app on the same device: the same pair, in the window.
        let res = from(&old, "203.0.113.5", "ExampleApp/2.1")
            .send()
            .await
            .unwrap();
        assert_eq!(res.json::<Value>().await.unwrap(), pair);
        // Anyone else, at once: reuse.
        let thief = from(&old, ip, agent).send().await.unwrap();
        let body = expect_error(thief, 401, "UNAUTHORIZED").await;
        assert!(body.get("accessToken").is_none());
        expect_error(
            t.me(&app, &field(&pair, "accessToken")).await,
            401,
            "UNAUTHORIZED",
        )
        .await;
        expect_error(
            from(
                &field(&pair, "refreshToken"),
                "203.0.113.5",
                "ExampleApp/2.1",
            )
            .send()
            .await
            .unwrap(),
            401,
            "UNAUTHORIZED",
        )
        .await;
        // And the app itself gets nothing more from the old token.
        expect_error(
            from(&old, "203.0.113.5", "ExampleApp/2.1")
                .send()
                .await
                .unwrap(),
            401,
            "UNAUTHORIZED",
        )
        .await;
    }
}
