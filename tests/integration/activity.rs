//! `/account/activity` (SPEC §16): what happened on the account, newest first, with app,
//! network and browser; where the person is signed in, and signing one of them out — never
//! another person's; entries older than 180 days purged.

use crate::support::{
    LOGIN, PASSWORD, TestApp, expect_error, lands_on, no_redirects, session_cookie,
};
use serde_json::{Value, json};

/// Signs in as `email` from a browser saying `agent`; its session cookie.
pub(crate) async fn sign_in(t: &TestApp, email: &str, agent: &str, token: Option<&str>) -> String {
    sign_in_from(t, None, email, agent, token).await
}

/// As [`sign_in`], from the network of `ip` when given (as a trusted proxy forwards it:
/// `spawn_behind_proxy`).
async fn sign_in_from(
    t: &TestApp,
    ip: Option<&str>,
    email: &str,
    agent: &str,
    token: Option<&str>,
) -> String {
    let mut req = t
        .http
        .post(t.url(LOGIN))
        .header("user-agent", agent)
        .json(&json!({"reqToken": token, "identifier": email, "password": PASSWORD}));
    if let Some(ip) = ip {
        req = req.header("x-forwarded-for", ip);
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    session_cookie(&res)
}

pub(crate) async fn activity(t: &TestApp, cookie: &str) -> Value {
    let res = t
        .http
        .get(t.url("/_app/account/activity"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

fn kinds(page: &Value) -> Vec<String> {
    page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

/// A plain form post to `/account/activity`, as a browser sends it from the page.
async fn form(t: &TestApp, cookie: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    no_redirects()
        .post(t.url("/account/activity"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", format!("http://{}", t.addr))
        .header("cookie", cookie)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn sign_ins_and_failures_are_listed_newest_first_with_app_and_browser() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    t.person("ana@example.com").register().await;
    let res = t
        .post(
            LOGIN,
            json!({"identifier": "ana@example.com", "password": "not my password"}),
        )
        .await;
    expect_error(res, 401, "INVALID_PASSWORD").await;
    let token = t
        .start(
            &app,
            json!({"deviceInfo": {"deviceId": "tv-1", "platform": "android", "deviceName": "Living room TV"}}),
        )
        .await;
    let cookie = sign_in(&t, "ana@example.com", "Firefox/140 on a test", Some(&token)).await;
    let page = activity(&t, &cookie).await;
    assert_eq!(
        kinds(&page),
        ["signed_in", "sign_in_failed", "signed_in"],
        "{page}"
    );
    let latest = &page["entries"][0];
    assert_eq!(latest["detail"], "password");
    assert_eq!(latest["device"], "Living room TV");
    assert_eq!(latest["network"], "127.0.0.1");
    assert_eq!(latest["browser"], "Firefox/140 on a test");
    assert!(latest["app"].as_str().is_some(), "{latest}");
    assert_eq!(page["entries"][2]["detail"], "registration");

    // The page itself, in both languages.
    for (lang, word) in [("en", "Failed sign-in"), ("id", "Gagal masuk")] {
        let res = t
            .http
            .get(t.url("/account/activity"))
            .header("accept", "text/html")
            .header("cookie", format!("{cookie}; fypass_lang={lang}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let html = TestApp::page_html(res).await;
        assert!(html.contains(word), "{lang}: {html}");
        assert!(html.contains("Living room TV"));
    }
}

#[tokio::test]
async fn another_persons_activity_is_not_shown() {
    let t = TestApp::spawn().await;
    let ana = t.person("ana@example.com").register().await.session;
    let bo = t.person("bo@example.com").register().await.session;
    let res = t
        .post(
            LOGIN,
            json!({"identifier": "bo@example.com", "password": "wrong wrong"}),
        )
        .await;
    expect_error(res, 401, "INVALID_PASSWORD").await;
    assert_eq!(kinds(&activity(&t, &ana).await), ["signed_in"]);
    assert_eq!(
        kinds(&activity(&t, &bo).await),
        ["sign_in_failed", "signed_in"]
    );
    let res = t
        .http
        .get(t.url("/_app/account/activity"))
        .send()
        .await
        .unwrap();
    expect_error(res, 401, "UNAUTHORIZED").await;
}

#[tokio::test]
async fn a_second_browser_is_listed_and_signed_out_from_the_first() {
    let t = TestApp::spawn().await;
    let first = t.person("ana@example.com").register().await.session;
    let second = sign_in(&t, "ana@example.com", "Other browser", None).await;
    let page = activity(&t, &first).await;
    let listed = page["signed_in"].as_array().unwrap();
    assert_eq!(listed.len(), 2, "{page}");
    let this: Vec<bool> = listed
        .iter()
        .map(|s| s["current"].as_bool().unwrap())
        .collect();
    assert_eq!(this.iter().filter(|c| **c).count(), 1);
    let other = listed
        .iter()
        .find(|s| !s["current"].as_bool().unwrap())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Another person cannot end it (nor learn it exists).
    let stranger = t.person("bo@example.com").register().await.session;
    let res = form(&t, &stranger, &[("intent", "end"), ("target", &other)]).await;
    assert_eq!(res.status(), 404);
    assert_eq!(
        activity(&t, &second).await["signed_in"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Nor a page of another site.
    let res = reqwest::Client::new()
        .post(t.url("/account/activity"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .header("cookie", &first)
        .body(format!("intent=end&target={other}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    let res = form(&t, &first, &[("intent", "end"), ("target", &other)]).await;
    assert_eq!(res.status(), 303);
    let res = t
        .http
        .get(t.url("/_app/account"))
        .header("cookie", &second)
        .send()
        .await
        .unwrap();
    expect_error(res, 401, "UNAUTHORIZED").await;
    let page = activity(&t, &first).await;
    assert_eq!(page["signed_in"].as_array().unwrap().len(), 1);
    assert_eq!(kinds(&page)[0], "session_ended");
}

/// "Where you are signed in" tells a person's browser sessions apart — to the eye and to a
/// screen reader: each names its browser and system (read from the User-Agent it signed in
/// with), its network and when it signed in, and each "Sign out" button says which it ends.
#[tokio::test]
async fn each_browser_session_is_named_by_its_browser_system_and_network() {
    const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 \
        (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
    const FIREFOX: &str = "Mozilla/5.0 (Android 14; Mobile; rv:127.0) Gecko/127.0 Firefox/127.0";
    let t = TestApp::spawn_behind_proxy(|_| {}).await;
    t.person("ana@example.com").register().await;
    let here = sign_in_from(&t, Some("203.0.113.7"), "ana@example.com", CHROME, None).await;
    sign_in_from(&t, Some("198.51.100.20"), "ana@example.com", FIREFOX, None).await;
    sign_in_from(&t, Some("198.51.100.20"), "ana@example.com", FIREFOX, None).await;

    let html = t.page("/account/activity").cookie(&here).await.ok().html;
    let panel = &html[html.find(r#"id="signed-in""#).expect("the sessions' panel")..];
    let panel = &panel[..panel.find("</section>").unwrap()];
    assert!(panel.contains("Chrome on Windows"), "{panel}");
    assert!(panel.contains("network 203.0.113.7"), "{panel}");
    assert!(panel.contains("Firefox on Android"), "{panel}");
    assert!(panel.contains("network 198.51.100.20"), "{panel}");
    let labels: Vec<&str> = panel
        .split(r#"aria-label=""#)
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect();
    assert_eq!(labels.len(), 4, "{labels:?}");
    let distinct: std::collections::BTreeSet<&&str> = labels.iter().collect();
    assert_eq!(
        distinct.len(),
        4,
        "each button says which session it ends: {labels:?}"
    );
    assert!(
        labels.iter().any(|l| l.starts_with("Sign out Chrome on Windows, this browser, network 203.0.113.7")),
        "{labels:?}"
    );

    // And in Bahasa Indonesia.
    let html = t
        .page("/account/activity")
        .cookie(&format!("{here}; fypass_lang=id"))
        .await
        .ok()
        .html;
    assert!(html.contains("Chrome di Windows"), "{html}");
}

/// A User-Agent is whatever its sender writes. One that names no browser fypass knows is
/// shown as it came, but marked as such: it cannot pass itself off as a name fypass gave, nor
/// say "this browser" where this browser's own mark (and its button's name) would be — or
/// someone signed in with the password could make the person end their own session instead.
#[tokio::test]
async fn a_user_agent_cannot_pass_for_this_browser() {
    const CHROME: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 \
        (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
    let t = TestApp::spawn_behind_proxy(|_| {}).await;
    t.person("ana@example.com").register().await;
    let here = sign_in_from(&t, Some("203.0.113.7"), "ana@example.com", CHROME, None).await;
    let forged = "Chrome on macOS, this browser";
    sign_in_from(&t, Some("203.0.113.7"), "ana@example.com", forged, None).await;

    let html = t.page("/account/activity").cookie(&here).await.ok().html;
    let panel = &html[html.find(r#"id="signed-in""#).expect("the sessions' panel")..];
    let panel = &panel[..panel.find("</section>").unwrap()];
    let headings: Vec<&str> = panel
        .split("<strong>")
        .skip(1)
        .map(|rest| &rest[..rest.find("</strong>").unwrap()])
        .collect();
    assert_eq!(
        headings
            .iter()
            .filter(|h| h.starts_with("Chrome on macOS"))
            .count(),
        1,
        "only the real Chrome is named so: {headings:?}"
    );
    let labels: Vec<&str> = panel
        .split(r#"aria-label=""#)
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect();
    assert_eq!(
        labels
            .iter()
            .filter(|l| l.starts_with("Sign out Chrome on macOS, this browser"))
            .count(),
        1,
        "one button says it ends this browser: {labels:?}"
    );
}

#[tokio::test]
async fn an_apps_sign_in_is_listed_and_can_be_ended() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    t.person("ana@example.com").register().await;
    let token = t.start(&app, json!({})).await;
    let cookie = sign_in(&t, "ana@example.com", "Browser", Some(&token)).await;
    let status: Value = t.poll(&app, &token).await.json().await.unwrap();
    let access = status["accessToken"].as_str().unwrap().to_string();
    let page = activity(&t, &cookie).await;
    let app_entry = page["signed_in"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"].as_str().unwrap().starts_with("app:"))
        .unwrap_or_else(|| panic!("{page}"))
        .clone();
    let res = form(
        &t,
        &cookie,
        &[
            ("intent", "end"),
            ("target", app_entry["id"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let res = t.me(&app, &access).await;
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn entries_older_than_180_days_are_purged() {
    let t = TestApp::spawn().await;
    let cookie = t.person("ana@example.com").register().await.session;
    sign_in(&t, "ana@example.com", "Browser", None).await;
    let day = 24 * 3600 * 1000i64;
    t.execute(&format!(
        "UPDATE activity SET created_at = created_at - {} WHERE detail = 'registration'",
        181 * day
    ))
    .await;
    fypass::server::upkeep::purge(t.db()).await.unwrap();
    assert_eq!(kinds(&activity(&t, &cookie).await), ["signed_in"]);
}

#[tokio::test]
async fn the_export_holds_the_persons_own_data_and_no_secret() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    t.person("bo@example.com").register().await;
    t.person("ana@example.com").register().await;
    let token = t
        .start(
            &app,
            json!({"deviceInfo": {"deviceId": "tv-1", "platform": "android", "deviceName": "Living room TV"}}),
        )
        .await;
    let cookie = sign_in(&t, "ana@example.com", "Browser", Some(&token)).await;
    let res = t
        .http
        .get(t.url("/account/export"))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let text = res.text().await.unwrap();
    let export: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(export["user"]["email"], "ana@example.com");
    assert_eq!(
        export["devices"][0]["deviceName"], "Living room TV",
        "{export}"
    );
    assert!(!export["activity"].as_array().unwrap().is_empty());
    assert!(!text.contains("bo@example.com"), "another person's data");
    for secret in [
        "argon2",
        "password_hash",
        "passwordhash",
        "hash",
        "fys_",
        "fyp_",
        "fyt_",
        "fyb_",
        "secret",
    ] {
        assert!(!text.to_lowercase().contains(secret), "{secret} in {text}");
    }
    // Without a session, or from another site's page: nothing.
    let res = t.http.get(t.url("/account/export")).send().await.unwrap();
    expect_error(res, 401, "UNAUTHORIZED").await;
    let res = t
        .http
        .get(t.url("/account/export"))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    expect_error(res, 403, "ORIGIN_NOT_ALLOWED").await;
}

#[tokio::test]
async fn deleting_the_account_needs_the_person_and_frees_the_address() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    t.person("ana@example.com").register().await;
    let token = t.start(&app, json!({})).await;
    let cookie = sign_in(&t, "ana@example.com", "Browser", Some(&token)).await;
    let status: Value = t.poll(&app, &token).await.json().await.unwrap();
    let access = status["accessToken"].as_str().unwrap().to_string();

    // A form on another site, posted with the person's cookie: refused.
    let res = no_redirects()
        .post(t.url("/account"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .header("cookie", &cookie)
        .body(format!("intent=delete-account&password={PASSWORD}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // As JSON from another site too.
    let res = t
        .http
        .post(t.url("/_app/account/delete"))
        .header("cookie", &cookie)
        .header("origin", "https://evil.example")
        .json(&json!({"password": PASSWORD}))
        .send()
        .await
        .unwrap();
    expect_error(res, 403, "ORIGIN_NOT_ALLOWED").await;
    // A session whose proof is old, without the password: asked for it.
    crate::account::age_sessions(&t).await;
    let res = t
        .http
        .post(t.url("/_app/account/delete"))
        .header("cookie", &cookie)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    expect_error(res, 401, "REAUTHENTICATION_REQUIRED").await;
    let res = t
        .http
        .post(t.url("/_app/account/delete"))
        .header("cookie", &cookie)
        .json(&json!({"password": "not my password"}))
        .send()
        .await
        .unwrap();
    expect_error(res, 401, "INVALID_PASSWORD").await;
    assert_eq!(t.me(&app, &access).await.status(), 200);

    let res = no_redirects()
        .post(t.url("/account"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", format!("http://{}", t.addr))
        .header("cookie", &cookie)
        .body(format!(
            "intent=delete-account&password={}",
            PASSWORD.replace(' ', "+")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let location = res.headers()["location"].to_str().unwrap();
    assert_eq!(lands_on(&t, "/account#leaving", location), "/fypass#");

    // Everything of theirs is gone: session, tokens, the address.
    let res = t
        .http
        .get(t.url("/_app/account"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    expect_error(res, 401, "UNAUTHORIZED").await;
    assert_eq!(t.me(&app, &access).await.status(), 401);
    let res = t
        .post(
            LOGIN,
            json!({"identifier": "ana@example.com", "password": PASSWORD}),
        )
        .await;
    expect_error(res, 404, "USER_NOT_FOUND").await;
    // Anyone may register the address again.
    t.person("ana@example.com").register().await;
}

/// The delete form sits at `/account#leaving` (a failed try shows that panel again): once
/// the account is gone the person lands on the sign-in page itself, the fragment of a panel
/// that no longer exists left behind.
#[tokio::test]
async fn after_deleting_the_account_the_address_keeps_no_fragment_of_the_form() {
    let t = TestApp::spawn().await;
    let cookie = t.person("ana@example.com").register().await.session;
    let html = t.page("/account").cookie(&cookie).await.ok().html;
    assert!(html.contains(r#"action="/account#leaving""#), "{html}");
    let res = no_redirects()
        .post(t.url("/account"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", format!("http://{}", t.addr))
        .header("cookie", &cookie)
        .body(format!(
            "intent=delete-account&password={}",
            PASSWORD.replace(' ', "+")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let location = res.headers()["location"].to_str().unwrap();
    let landed = lands_on(&t, "/account#leaving", location);
    assert!(!landed.contains("leaving"), "{landed}");
    assert_eq!(landed.split('#').next(), Some("/fypass"));
}
