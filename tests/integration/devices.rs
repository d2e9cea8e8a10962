//! Devices over REST and the owner's dashboard endpoints.

use crate::support::{App, DEVICES, LOGIN, PASSWORD, TestApp, expect_error, no_redirects};
use fypass::clients::Grant;
use serde_json::{Value, json};

fn save(t: &TestApp, app: &App, body: Value) -> reqwest::RequestBuilder {
    t.http
        .post(t.url(DEVICES))
        .header("x-client-key", &app.key)
        .json(&body)
}

async fn saved(t: &TestApp, app: &App, body: Value) -> Value {
    let res = save(t, app, body).send().await.unwrap();
    assert!(
        res.status() == 201 || res.status() == 200,
        "{}",
        res.status()
    );
    res.json().await.unwrap()
}

fn device(id: &str) -> Value {
    json!({"deviceId": id, "platform": "android", "model": "Pixel 7", "osVersion": "14", "appVersion": "2.1.0"})
}

#[tokio::test]
async fn saving_creates_then_updates_the_same_device() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let res = save(&t, &app, device("install-1"))
        .header("user-agent", "ExampleApp/2.1 (Android 14)")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["deviceId"], "install-1");
    assert_eq!(created["clientId"], app.id.to_string());
    assert_eq!(created["platform"], "android");
    assert_eq!(created["model"], "Pixel 7");
    assert_eq!(created["ipAddress"], "127.0.0.1");
    assert_eq!(created["userAgent"], "ExampleApp/2.1 (Android 14)");
    assert!(created.get("userId").is_none());
    for field in ["createdAt", "updatedAt", "lastSeenAt"] {
        assert!(created[field].as_str().unwrap().ends_with('Z'), "{field}");
    }

    let res = save(
        &t,
        &app,
        json!({"deviceId": "install-1", "platform": "android", "appVersion": "2.2.0"}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    let updated: Value = res.json().await.unwrap();
    assert_eq!(updated["id"], created["id"]);
    assert_eq!(updated["createdAt"], created["createdAt"]);
    assert_eq!(updated["appVersion"], "2.2.0");
    assert!(
        updated.get("model").is_none(),
        "the saved info is what the app sent now"
    );
    let got: Value = t
        .get_as(
            &app.key,
            &format!("{DEVICES}/{}", created["id"].as_str().unwrap()),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got, updated);
}

#[tokio::test]
async fn device_info_is_validated_strictly() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    for (body, field) in [
        (
            json!({"deviceId": "a", "platform": "android", "color": "red"}),
            "color",
        ),
        (json!({"deviceId": "a", "platform": "tizen"}), "platform"),
        (json!({"platform": "ios"}), "deviceId"),
        (json!({"deviceId": "", "platform": "ios"}), "deviceId"),
        (
            json!({"deviceId": "x".repeat(129), "platform": "ios"}),
            "deviceId",
        ),
        (
            json!({"deviceId": "a", "platform": "ios", "model": ""}),
            "model",
        ),
        (
            json!({"deviceId": "a", "platform": "ios", "osVersion": "1".repeat(65)}),
            "osVersion",
        ),
        (json!({"deviceId": 7, "platform": "ios"}), "deviceId"),
    ] {
        let e = expect_error(
            save(&t, &app, body.clone()).send().await.unwrap(),
            422,
            "VALIDATION_ERROR",
        )
        .await;
        assert_eq!(e["details"][0]["field"], field, "{body}");
    }
    let (_, reader) = t.client(&[Grant::DevicesRead]).await;
    let res = t
        .http
        .post(t.url(DEVICES))
        .header("x-client-key", reader)
        .json(&json!({"bad": 1}))
        .send()
        .await
        .unwrap();
    expect_error(res, 403, "UNITSYSTEM00002").await;
}

#[tokio::test]
async fn a_bearer_token_links_the_device_to_its_user() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let vic = t.person("vic@example.com").via(&app).register().await;
    let (token, user) = (vic.access_token(), &vic.reply()["user"]);
    let res = save(&t, &app, device("phone-1"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["userId"], user["id"]);
    // Saving again without a token keeps the owner.
    assert_eq!(
        saved(&t, &app, device("phone-1")).await["userId"],
        user["id"]
    );

    let bad = save(&t, &app, device("phone-2"))
        .bearer_auth("fyp_not-a-token")
        .send()
        .await
        .unwrap();
    expect_error(bad, 401, "UNAUTHORIZED").await;
    let other = t.app_client().await;
    let foreign = save(&t, &other, device("phone-2"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    expect_error(foreign, 401, "UNAUTHORIZED").await;
    let basic = save(&t, &app, device("phone-2"))
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    expect_error(basic, 401, "UNAUTHORIZED").await;
    // Input is checked before the user's token.
    let both = save(&t, &app, json!({"deviceId": ""}))
        .bearer_auth("fyp_bad")
        .send()
        .await
        .unwrap();
    expect_error(both, 422, "VALIDATION_ERROR").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_concurrent_saves_of_one_device_make_one_row_and_no_error() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let handles: Vec<_> = (0..32)
        .map(|i| {
            let req = save(&t, &app, json!({"deviceId": "shared-install", "platform": "ios", "appVersion": format!("1.{i}")}));
            tokio::spawn(async move { req.send().await.unwrap() })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    let mut created = 0;
    for h in handles {
        let res = h.await.unwrap();
        let status = res.status().as_u16();
        assert!(
            status == 200 || status == 201,
            "{status}: {}",
            res.text().await.unwrap()
        );
        created += usize::from(status == 201);
        ids.insert(
            res.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!((created, ids.len()), (1, 1));
    let page: Value = t.get_as(&app.key, DEVICES).await.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
}

/// Saves arriving together are committed together: each still gets its own
/// device back, as its own save left it, and a device saved twice in one burst is one row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_distinct_and_repeated_saves_answers_each_with_its_own_device() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let handles: Vec<_> = (0..48)
        .map(|i| {
            let (device, version) = (format!("install-{}", i % 16), format!("3.{i}"));
            let req = save(
                &t,
                &app,
                json!({"deviceId": device, "platform": "android", "appVersion": version}),
            );
            tokio::spawn(async move { (device, version, req.send().await.unwrap()) })
        })
        .collect();
    let mut created = 0;
    for h in handles {
        let (device, version, res) = h.await.unwrap();
        let status = res.status().as_u16();
        assert!(status == 200 || status == 201, "{status}");
        created += usize::from(status == 201);
        let body: Value = res.json().await.unwrap();
        assert_eq!(
            (body["deviceId"].as_str(), body["appVersion"].as_str()),
            (Some(&*device), Some(&*version))
        );
    }
    assert_eq!(created, 16, "one creation per distinct device");
    let page: Value = t
        .get_as(&app.key, &format!("{DEVICES}?limit=100"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 16);
}

#[tokio::test]
async fn reading_a_device_needs_a_valid_id_of_this_client() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let other = t.app_client().await;
    let mine = saved(&t, &app, device("d-1")).await;
    let id = mine["id"].as_str().unwrap();
    assert_eq!(
        t.get_as(&app.key, &format!("{DEVICES}/{id}"))
            .await
            .status(),
        200
    );
    expect_error(
        t.get_as(&other.key, &format!("{DEVICES}/{id}")).await,
        404,
        "DEVICE_NOT_FOUND",
    )
    .await;
    expect_error(
        t.get_as(&app.key, &format!("{DEVICES}/{}", uuid::Uuid::now_v7()))
            .await,
        404,
        "DEVICE_NOT_FOUND",
    )
    .await;
    expect_error(
        t.get_as(&app.key, &format!("{DEVICES}/not-an-id")).await,
        400,
        "INVALID_OBJECT_ID",
    )
    .await;
    let (_, saver) = t.client(&[Grant::DevicesSave]).await;
    expect_error(
        t.get_as(&saver, &format!("{DEVICES}/{id}")).await,
        403,
        "UNITSYSTEM00002",
    )
    .await;
}

#[tokio::test]
async fn the_list_pages_newest_first_and_its_cursor_is_stable_under_inserts() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    for i in 1..=5 {
        saved(&t, &app, device(&format!("d-{i}"))).await;
    }
    let page = |query: String| {
        let t = &t;
        let key = app.key.clone();
        async move {
            t.get_as(&key, &format!("{DEVICES}{query}"))
                .await
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let ids = |p: &Value| {
        p["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["deviceId"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let first = page("?limit=2".into()).await;
    assert_eq!(ids(&first), ["d-5", "d-4"]);
    let cursor = first["nextCursor"].as_str().unwrap().to_string();
    // New devices arrive between pages; the next page neither repeats nor skips.
    saved(&t, &app, device("d-6")).await;
    let second = page(format!("?limit=2&cursor={cursor}")).await;
    assert_eq!(ids(&second), ["d-3", "d-2"]);
    let third = page(format!(
        "?limit=2&cursor={}",
        second["nextCursor"].as_str().unwrap()
    ))
    .await;
    assert_eq!(ids(&third), ["d-1"]);
    assert!(third.get("nextCursor").is_none());
    assert_eq!(
        ids(&page(String::new()).await).len(),
        6,
        "default limit covers them"
    );

    for (query, code, status) in [
        ("?limit=0", "VALIDATION_ERROR", 422),
        ("?limit=101", "VALIDATION_ERROR", 422),
        ("?limit=x", "VALIDATION_ERROR", 422),
        ("?cursor=nope", "INVALID_OBJECT_ID", 400),
        ("?userId=nope", "INVALID_OBJECT_ID", 400),
    ] {
        expect_error(
            t.get_as(&app.key, &format!("{DEVICES}{query}")).await,
            status,
            code,
        )
        .await;
    }
}

#[tokio::test]
async fn a_login_with_device_info_saves_the_device_for_its_user_and_filters_by_user() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    saved(&t, &app, device("someone-elses")).await;
    let info =
        json!({"deviceId": "tv-livingroom", "platform": "android", "deviceName": "Living room TV"});
    let wes = t
        .person("wes@example.com")
        .via(&app)
        .on_device(info)
        .register()
        .await;
    let user = &wes.reply()["user"];
    let page: Value = t
        .get_as(
            &app.key,
            &format!("{DEVICES}?userId={}", user["id"].as_str().unwrap()),
        )
        .await
        .json()
        .await
        .unwrap();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["deviceName"], "Living room TV");
    assert_eq!(items[0]["userId"], user["id"]);
}

#[tokio::test]
async fn deleting_a_device_revokes_the_tokens_bound_to_it() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let info = json!({"deviceId": "tablet-1", "platform": "ios"});
    let xia = t
        .person("xia@example.com")
        .via(&app)
        .on_device(info)
        .register()
        .await;
    let (token, user) = (xia.access_token(), &xia.reply()["user"]);
    assert_eq!(
        save(&t, &app, device("other"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    let page: Value = t
        .get_as(
            &app.key,
            &format!("{DEVICES}?userId={}", user["id"].as_str().unwrap()),
        )
        .await
        .json()
        .await
        .unwrap();
    let tablet = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["deviceId"] == "tablet-1")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    let other = t.app_client().await;
    let res = t
        .http
        .delete(t.url(&format!("{DEVICES}/{tablet}")))
        .header("x-client-key", &other.key)
        .send()
        .await
        .unwrap();
    expect_error(res, 404, "DEVICE_NOT_FOUND").await;
    assert_eq!(
        save(&t, &app, device("other"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "still valid"
    );

    let res = t
        .http
        .delete(t.url(&format!("{DEVICES}/{tablet}")))
        .header("x-client-key", &app.key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert!(res.bytes().await.unwrap().is_empty());
    expect_error(
        t.get_as(&app.key, &format!("{DEVICES}/{tablet}")).await,
        404,
        "DEVICE_NOT_FOUND",
    )
    .await;
    let res = save(&t, &app, device("other"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    expect_error(res, 401, "UNAUTHORIZED").await;
    let res = t
        .http
        .delete(t.url(&format!("{DEVICES}/{tablet}")))
        .header("x-client-key", &app.key)
        .send()
        .await
        .unwrap();
    expect_error(res, 404, "DEVICE_NOT_FOUND").await;
    let res = t
        .http
        .delete(t.url(&format!("{DEVICES}/nope")))
        .header("x-client-key", &app.key)
        .send()
        .await
        .unwrap();
    expect_error(res, 400, "INVALID_OBJECT_ID").await;
}

#[tokio::test]
async fn the_address_comes_from_forwarded_headers_only_behind_a_trusted_proxy() {
    let direct = TestApp::spawn().await;
    let app = direct.app_client().await;
    let res = save(&direct, &app, device("a"))
        .header("x-forwarded-for", "203.0.113.7")
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["ipAddress"], "127.0.0.1");

    let proxied =
        TestApp::spawn_with(|c| c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    let app = proxied.app_client().await;
    let res = save(&proxied, &app, device("a"))
        .header("x-forwarded-for", "198.51.100.1, 203.0.113.7")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.json::<Value>().await.unwrap()["ipAddress"],
        "203.0.113.7"
    );
}

#[tokio::test]
async fn the_owner_sees_and_removes_their_devices_in_the_dashboard() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let yan = t
        .person("yan@example.com")
        .via(&app)
        .on_device(json!({"deviceId": "car-1", "platform": "other", "deviceName": "Car"}))
        .register()
        .await;
    let (cookie, access) = (yan.session.clone(), yan.access_token());
    saved(&t, &app, device("unowned")).await;

    let dashboard = |cookie: Option<&str>| {
        let mut req = t.http.get(t.url("/_app/devices"));
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        async move { req.send().await.unwrap() }
    };
    let body: Value = dashboard(Some(&cookie)).await.json().await.unwrap();
    let devices = body["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 1, "only the owner's devices");
    assert_eq!(devices[0]["app"], "Test app");
    assert_eq!(devices[0]["last_seen"], "just now");
    let id = devices[0]["device"]["id"].as_str().unwrap().to_string();
    expect_error(dashboard(None).await, 401, "UNAUTHORIZED").await;

    // Someone else cannot remove it.
    let other_cookie = t.person("zed@example.com").register().await.session;
    let res = t
        .http
        .post(t.url("/_app/devices/remove"))
        .header("cookie", &other_cookie)
        .json(&json!({"id": id}))
        .send()
        .await
        .unwrap();
    expect_error(res, 404, "DEVICE_NOT_FOUND").await;

    let res = t
        .http
        .post(t.url("/_app/devices/remove"))
        .header("cookie", &cookie)
        .json(&json!({"id": id}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = dashboard(Some(&cookie)).await.json().await.unwrap();
    assert!(body["devices"].as_array().unwrap().is_empty());
    let res = save(&t, &app, device("x"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    expect_error(res, 401, "UNAUTHORIZED").await;

    // The page itself sends a signed-out browser to sign in.
    let res = no_redirects()
        .get(t.url("/devices"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["location"], "/fypass");
}

/// The dashboard sends what its cards show and nothing more: not a device's push token,
/// nor the address and user agent an app saved it from, neither in the page (whose list
/// is an island, so its data travels with it) nor from `GET /_app/devices`.
#[tokio::test]
async fn the_dashboard_sends_only_what_it_shows() {
    let t = TestApp::spawn_behind_proxy(|_| {}).await;
    let app = t.app_client().await;
    let uli = t.person("uli@example.com").via(&app).register().await;
    let (cookie, access) = (uli.session.clone(), uli.access_token());
    let secrets = ["push-4f9e2c7a", "198.51.100.77", "SecretPhoneAgent/9.1"];
    let res = save(
        &t,
        &app,
        json!({"deviceId": "uli-phone", "platform": "ios", "model": "iPhone 15", "pushToken": secrets[0]}),
    )
    .bearer_auth(access)
    .header("x-forwarded-for", secrets[1])
    .header("user-agent", secrets[2])
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), 201);

    let data = t
        .http
        .get(t.url("/_app/devices"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(data.contains("iPhone 15"), "{data}");
    let res = t
        .http
        .get(t.url("/devices"))
        .header("cookie", &cookie)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    let page = TestApp::page_html(res).await;
    assert!(page.contains("iPhone 15"), "{page}");
    for secret in secrets {
        assert!(
            !data.contains(secret),
            "/_app/devices sends {secret}: {data}"
        );
        assert!(!page.contains(secret), "/devices sends {secret}");
    }
}

/// Another person of the same app cannot take over someone's device: with their own token
/// they cannot move it to themselves (and then remove it from their dashboard, revoking
/// its owner's tokens), a save without a token cannot change its push token, and a login
/// request carrying its deviceId does not move it either. Once the owner's tokens on it
/// are revoked, it is free (`/docs#devices`).
#[tokio::test]
async fn another_person_cannot_take_over_a_device() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let phone = json!({"deviceId": "phone-7", "platform": "android", "model": "Pixel 8", "pushToken": "owner-push"});
    let olga = t
        .person("olga@example.com")
        .via(&app)
        .on_device(phone.clone())
        .register()
        .await;
    let (owner_token, owner) = (olga.access_token(), &olga.reply()["user"]);
    let mallory = t.person("mallory@example.com").via(&app).register().await;
    let (mallory_token, mallory) = (mallory.access_token(), &mallory.reply()["user"]);
    let taken = json!({"deviceId": "phone-7", "platform": "android", "pushToken": "mallory-push"});
    let the_phone = || async {
        let page: Value = t.get_as(&app.key, DEVICES).await.json().await.unwrap();
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["deviceId"] == "phone-7")
            .cloned()
            .unwrap()
    };

    // With the attacker's own token: refused, nothing moves.
    let res = save(&t, &app, taken.clone())
        .bearer_auth(mallory_token)
        .send()
        .await
        .unwrap();
    let e = expect_error(res, 409, "DUPLICATE_KEY").await;
    assert_eq!(e["details"][0]["field"], "deviceId", "{e}");
    // Without a token, a new push token is refused too; the same one is fine.
    let res = save(&t, &app, taken.clone()).send().await.unwrap();
    expect_error(res, 409, "DUPLICATE_KEY").await;
    let res = save(
        &t,
        &app,
        json!({"deviceId": "phone-7", "platform": "android"}),
    )
    .send()
    .await
    .unwrap();
    expect_error(res, 409, "DUPLICATE_KEY").await;
    assert_eq!(saved(&t, &app, phone.clone()).await["userId"], owner["id"]);
    // A login request that carries the device, completed by the attacker, does not move it
    // and does not bind the attacker's tokens to it.
    let req = t.start(&app, json!({"deviceInfo": taken})).await;
    let res = t
        .post(
            LOGIN,
            json!({"reqToken": req, "identifier": "mallory@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let polled: Value = t.poll(&app, &req).await.json().await.unwrap();
    let introspected: Value = t
        .http
        .post(t.url("/api/v1/users/introspect"))
        .header("x-client-key", &app.key)
        .json(&json!({"token": polled["accessToken"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(introspected["active"], true);
    assert!(introspected.get("deviceId").is_none(), "{introspected}");

    let device = the_phone().await;
    assert_eq!(device["userId"], owner["id"]);
    assert_eq!(device["pushToken"], "owner-push");
    assert_eq!(device["model"], "Pixel 8");
    // The owner still signed in there, and changes it with her own token.
    let res = save(
        &t,
        &app,
        json!({"deviceId": "phone-7", "platform": "android", "pushToken": "owner-push-2"}),
    )
    .bearer_auth(owner_token)
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(the_phone().await["pushToken"], "owner-push-2");

    // Once she signs out everywhere, the phone is free: another person may take it.
    let res = t
        .http
        .post(t.url("/api/v1/users/logout"))
        .header("x-client-key", &app.key)
        .bearer_auth(owner_token)
        .json(&json!({"everywhere": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = save(
        &t,
        &app,
        json!({"deviceId": "phone-7", "platform": "android", "pushToken": "mallory-push"}),
    )
    .bearer_auth(mallory_token)
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    let device = the_phone().await;
    assert_eq!(device["userId"], mallory["id"]);
    assert_eq!(device["pushToken"], "mallory-push");
}
