//! `/account` as the person and as someone holding their session see it: password checks
//! that count like sign-ins, changes that need a recent proof of who the person is, signing
//! out everywhere, and what a revocation does to a sign-in an app has not collected yet.

use crate::support::{
    App, LOGIN, PASSWORD, Page, TestApp, expect_error, no_redirects, session_cookie,
};
use serde_json::{Value, json};

/// A JSON POST with `cookie`, from `ip` (a trusted proxy's `X-Forwarded-For`) when given.
async fn post(
    t: &TestApp,
    cookie: Option<&str>,
    ip: Option<&str>,
    path: &str,
    body: Value,
) -> reqwest::Response {
    let mut req = t.http.post(t.url(path)).json(&body);
    if let Some(cookie) = cookie {
        req = req.header("cookie", cookie);
    }
    if let Some(ip) = ip {
        req = req.header("x-forwarded-for", ip);
    }
    req.send().await.unwrap()
}

/// A plain form post, as a browser without JavaScript sends it from a fypass page.
async fn form(t: &TestApp, path: &str, fields: &[(&str, &str)], cookie: &str) -> reqwest::Response {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    no_redirects()
        .post(t.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", format!("http://{}", t.addr))
        .header("cookie", cookie)
        .body(body)
        .send()
        .await
        .unwrap()
}

/// Every session's last proof of who its person is, an hour ago.
pub async fn age_sessions(t: &TestApp) {
    t.execute("UPDATE sessions SET created_at = created_at - 3600000, reauthenticated_at = NULL")
        .await;
}

/// A stranger holding the person's session cannot try passwords on `/account` faster than
/// on the sign-in form: past the browser's allowance the answer is 429, before any hash.
#[tokio::test]
async fn wrong_passwords_on_account_are_counted_like_failed_sign_ins() {
    let t = TestApp::spawn().await;
    let cookie = t.person("ana@example.com").register().await.session;
    let before = t.state.passwords.verifications();
    let (mut wrong, mut throttled) = (0, 0);
    for i in 0..40 {
        let res = post(
            &t,
            Some(&cookie),
            None,
            "/_app/account/password",
            json!({"current": format!("guess number {i}"), "new": "a brand new password"}),
        )
        .await;
        match res.status().as_u16() {
            401 => wrong += 1,
            429 => {
                assert!(res.headers().contains_key("retry-after"));
                throttled += 1;
            }
            other => panic!("unexpected {other}: {}", res.text().await.unwrap()),
        }
    }
    assert_eq!(
        wrong,
        crate::support::limits().sign_in_per_trusted_browser,
        "then {throttled} refused"
    );
    assert_eq!(
        throttled,
        40 - crate::support::limits().sign_in_per_trusted_browser
    );
    assert_eq!(
        t.state.passwords.verifications() - before,
        crate::support::limits().sign_in_per_trusted_browser as u64,
        "refused guesses cost no password check"
    );

    // The confirmation of "it is you" counts the same way.
    let cookie = t.person("bea@example.com").register().await.session;
    age_sessions(&t).await;
    let mut statuses = Vec::new();
    for i in 0..(crate::support::limits().sign_in_per_trusted_browser + 3) {
        let res = post(
            &t,
            Some(&cookie),
            None,
            "/api/v1/account/reauthenticate",
            json!({"password": format!("guess number {i}")}),
        )
        .await;
        statuses.push(res.status().as_u16());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count() as i64,
        crate::support::limits().sign_in_per_trusted_browser,
        "{statuses:?}"
    );
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
}

/// A session alone (left signed in, or stolen) cannot move the account to a new email
/// address: that needs the password (or a passkey) again within the last 5 minutes, asked
/// for in place, with or without JavaScript.
#[tokio::test]
async fn a_new_email_address_needs_a_recent_proof_of_who_you_are() {
    let t = TestApp::spawn().await;
    let cookie = t.person("cai@example.com").register().await.session;
    let send = |identifier: &str, password: Option<&str>| {
        let body = match password {
            Some(p) => json!({"identifier": identifier, "password": p}),
            None => json!({"identifier": identifier}),
        };
        post(&t, Some(&cookie), None, "/_app/account/identifier", body)
    };
    // Just signed in: the sign-in is the proof.
    assert_eq!(send("cai.new@example.com", None).await.status(), 200);

    age_sessions(&t).await;
    let body = expect_error(
        send("thief@example.com", None).await,
        401,
        "REAUTHENTICATION_REQUIRED",
    )
    .await;
    assert!(
        body["message"].as_str().unwrap().contains("password"),
        "{body}"
    );
    // Verifying the address the person has is no change: no proof needed.
    assert_eq!(send("cai@example.com", None).await.status(), 200);
    // A wrong password is no proof; the right one, sent along, is.
    expect_error(
        send("thief@example.com", Some("not it at all")).await,
        401,
        "INVALID_PASSWORD",
    )
    .await;
    assert_eq!(
        send("cai.other@example.com", Some(PASSWORD)).await.status(),
        200
    );
    // ...and it lasts a few minutes.
    assert_eq!(send("cai.third@example.com", None).await.status(), 200);

    // Or proved on its own, then the change.
    age_sessions(&t).await;
    let reauth = |body: Value| {
        post(
            &t,
            Some(&cookie),
            None,
            "/api/v1/account/reauthenticate",
            body,
        )
    };
    expect_error(reauth(json!({})).await, 422, "VALIDATION_ERROR").await;
    expect_error(
        reauth(json!({"password": "not it at all"})).await,
        401,
        "INVALID_PASSWORD",
    )
    .await;
    assert_eq!(reauth(json!({"password": PASSWORD})).await.status(), 204);
    assert_eq!(send("cai.fourth@example.com", None).await.status(), 200);
    // Without a session, nothing.
    expect_error(
        post(
            &t,
            None,
            None,
            "/api/v1/account/reauthenticate",
            json!({"password": PASSWORD}),
        )
        .await,
        401,
        "UNAUTHORIZED",
    )
    .await;

    // Without JavaScript: the form asks for the password, and its next post carries on.
    age_sessions(&t).await;
    let res = form(
        &t,
        "/account",
        &[("intent", "send"), ("identifier", "cai.form@example.com")],
        &cookie,
    )
    .await;
    assert_eq!(res.status(), 401);
    let html = TestApp::page_html(res).await;
    assert!(html.contains("REAUTHENTICATION_REQUIRED"), "{html}");
    assert!(html.contains("name=\"password\""), "{html}");
    assert!(html.contains("value=\"cai.form@example.com\""), "{html}");
    let res = form(
        &t,
        "/account",
        &[
            ("intent", "send"),
            ("identifier", "cai.form@example.com"),
            ("password", PASSWORD),
        ],
        &cookie,
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        "/account?sent=cai.form%40example.com"
    );
}

/// A login request someone completed before the person revoked everything (a new password,
/// "sign out everywhere", a status change, an app's logout everywhere) hands its app no
/// token: the app sees it expired. A sign-in after the revocation works.
#[tokio::test]
async fn a_sign_in_completed_before_a_revocation_hands_out_no_token() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let dewi = t.person("dewi@example.com").register().await;
    let (cookie, id) = (dewi.session, dewi.id);
    // Someone who knows the password completes a request and leaves it uncollected.
    let completed = |password: &'static str| {
        let t = &t;
        let app = &app;
        async move {
            let token = t.start(app, json!({})).await;
            let res = t
                .post(
                    LOGIN,
                    json!({"reqToken": token, "identifier": "dewi@example.com", "password": password}),
                )
                .await;
            assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
            token
        }
    };
    let void = |token: String| {
        let t = &t;
        let app = &app;
        async move {
            let polled: Value = t.poll(app, &token).await.json().await.unwrap();
            assert_eq!(polled["status"], "EXPIRED", "{polled}");
            assert!(polled.get("accessToken").is_none(), "{polled}");
            // and stays so
            let polled: Value = t.poll(app, &token).await.json().await.unwrap();
            assert_eq!(polled["status"], "EXPIRED", "{polled}");
        }
    };

    // A new password.
    let token = completed(PASSWORD).await;
    let res = post(
        &t,
        Some(&cookie),
        None,
        "/_app/account/password",
        json!({"current": PASSWORD, "new": "a second password"}),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let cookie = session_cookie(&res);
    void(token).await;

    // A status change (suspended, then active again).
    let token = completed("a second password").await;
    for status in [
        fypass::status::Status::Suspended,
        fypass::status::Status::Active,
    ] {
        let mut tx = t.db().begin().await.unwrap();
        fypass::tokens::set_user_status(&mut tx, id, status)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    void(token).await;

    // "Sign out everywhere" (the session cookie is void after the status change: sign in).
    let res = t
        .post(
            LOGIN,
            json!({"identifier": "dewi@example.com", "password": "a second password"}),
        )
        .await;
    let cookie_after = session_cookie(&res);
    assert_ne!(cookie, cookie_after);
    let token = completed("a second password").await;
    let res = post(
        &t,
        Some(&cookie_after),
        None,
        "/_app/account/sign-out-everywhere",
        json!({}),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    void(token).await;

    // An app's logout everywhere voids that app's uncollected sign-ins too.
    let collected = completed("a second password").await;
    let polled: Value = t.poll(&app, &collected).await.json().await.unwrap();
    assert_eq!(polled["status"], "LOGGED_IN", "a sign-in after it works");
    let access = polled["accessToken"].as_str().unwrap().to_string();
    let token = completed("a second password").await;
    let res = t
        .http
        .post(t.url("/api/v1/users/logout"))
        .header("x-client-key", &app.key)
        .header("authorization", format!("Bearer {access}"))
        .json(&json!({"everywhere": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    void(token).await;
}

/// "Sign out everywhere" from a browser session, without JavaScript: every session (this
/// one and others), every app's token, and every remembered browser end.
#[tokio::test]
async fn signing_out_everywhere_ends_every_session_token_and_remembered_browser() {
    let t = TestApp::spawn().await;
    let app: App = t.app_client().await;
    let eka = t.person("eka@example.com").register().await;
    let (here, browser) = (eka.session, eka.browser);
    // Another browser, and an app, are signed in too.
    let res = t
        .post(
            LOGIN,
            json!({"identifier": "eka@example.com", "password": PASSWORD}),
        )
        .await;
    let elsewhere = session_cookie(&res);
    let token = t.start(&app, json!({})).await;
    let res = t
        .post(
            LOGIN,
            json!({"reqToken": token, "identifier": "eka@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let polled: Value = t.poll(&app, &token).await.json().await.unwrap();
    let access = polled["accessToken"].as_str().unwrap().to_string();

    // Offered on /account and on /devices.
    for path in ["/account", "/devices"] {
        let Page { status, html, .. } = t.page(path).cookie(&here).await;
        assert_eq!(status, 200);
        assert!(
            html.contains("value=\"sign-out-everywhere\""),
            "{path}: {html}"
        );
    }
    let res = form(&t, "/account", &[("intent", "sign-out-everywhere")], &here).await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    assert_eq!(res.headers()["location"], "/fypass");
    assert!(
        res.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );

    for cookie in [&here, &elsewhere] {
        let res = t
            .http
            .get(t.url("/_app/account"))
            .header("cookie", cookie.as_str())
            .send()
            .await
            .unwrap();
        expect_error(res, 401, "UNAUTHORIZED").await;
    }
    let res = t.me(&app, &access).await;
    expect_error(res, 401, "UNAUTHORIZED").await;

    // The browser is no longer remembered: its wrong guesses now count against the account
    // (free ones, then a delay) instead of against its own allowance.
    let mut statuses = Vec::new();
    for _ in 0..=crate::support::limits().sign_in_free_per_account {
        let res = t
            .http
            .post(t.url(LOGIN))
            .header("cookie", &browser)
            .json(&json!({"identifier": "eka@example.com", "password": "wrong guess"}))
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
}
