//! The hosted pages as a browser without JavaScript sees them: server-rendered HTML and
//! plain form posts answered with redirects, or the page again with the error.

use crate::support::{NAME, PASSWORD, Page, REGISTER, TestApp, no_redirects, session_cookie};
use serde_json::{Value, json};

async fn form(
    t: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
    cookie: Option<&str>,
) -> reqwest::Response {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let mut req = no_redirects()
        .post(t.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", format!("http://{}", t.addr))
        .body(body);
    if let Some(cookie) = cookie {
        req = req.header("cookie", cookie);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn the_login_page_names_the_app_and_posts_to_itself() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let token = t.start(&app, json!({})).await;
    let Page { status, html, .. } = t.page(&format!("/fypass?reqToken={token}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Sign in to continue to Test app"), "{html}");
    assert!(
        html.contains(&format!("action=\"/fypass?reqToken={token}\"")),
        "{html}"
    );
    assert!(html.contains("name=\"identifier\"") && html.contains("name=\"password\""));
    assert!(html.contains(&format!("href=\"/fypass/register?reqToken={token}\"")));
    let Page { status, html, .. } = t.page("/fypass?reqToken=fyr_unknown").await;
    assert_eq!(status, 200);
    assert!(html.contains("FAILED_UPDATE_USER_TOKEN"), "{html}");
}

#[tokio::test]
async fn registering_and_signing_in_work_without_javascript() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let token = t
        .start(&app, json!({"redirectUrl": "https://app.example.com/done"}))
        .await;
    let path = format!("/fypass/register?reqToken={token}");

    // A mistake renders the page again: the error beside the field, the input kept.
    let res = form(
        &t,
        &path,
        &[
            ("name", "Ola"),
            ("email", "ola@example"),
            ("whatsapp", ""),
            ("password", "correct horse"),
        ],
        None,
    )
    .await;
    assert_eq!(res.status(), 422);
    let html = TestApp::page_html(res).await;
    assert!(
        html.contains("Email address is not a valid email address."),
        "{html}"
    );
    assert!(
        html.contains("value=\"ola@example\"") && html.contains("value=\"Ola\""),
        "{html}"
    );
    assert!(
        !html.contains("correct horse"),
        "the password is never echoed"
    );

    let res = form(
        &t,
        &path,
        &[
            ("name", "Ola"),
            ("email", "ola@example.com"),
            ("password", "correct horse"),
        ],
        None,
    )
    .await;
    // Completed; then the (optional) verification step of the address given.
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        format!("/fypass/verify?reqToken={token}&to=ola%40example.com")
    );
    session_cookie(&res);
    let polled: Value = t.poll(&app, &token).await.json().await.unwrap();
    assert_eq!(polled["status"], "REGISTERED");

    // Sign in on a new request: wrong password first, then right.
    let second = t.start(&app, json!({})).await;
    let path = format!("/fypass?reqToken={second}");
    let res = form(
        &t,
        &path,
        &[
            ("intent", "login"),
            ("identifier", "OLA@example.com"),
            ("password", "wrong"),
        ],
        None,
    )
    .await;
    assert_eq!(res.status(), 401);
    let html = TestApp::page_html(res).await;
    assert!(
        html.contains("The password used for login is not valid."),
        "{html}"
    );
    assert!(html.contains("value=\"OLA@example.com\""), "{html}");
    let res = form(
        &t,
        &path,
        &[
            ("intent", "login"),
            ("identifier", "ola@example.com"),
            ("password", "correct horse"),
        ],
        None,
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        format!("/fypass/status?reqToken={second}")
    );
}

#[tokio::test]
async fn a_signed_in_browser_is_offered_to_continue_with_one_click() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let cookie = t
        .person("pia@example.com")
        .via(&app)
        .register()
        .await
        .session;
    let second = t.start(&app, json!({})).await;
    let html = t
        .page(&format!("/fypass?reqToken={second}"))
        .cookie(&cookie)
        .await
        .html;
    assert!(html.contains(&format!("Continue as {NAME}")), "{html}");
    assert!(html.contains("Use another account"));
    let res = form(
        &t,
        &format!("/fypass?reqToken={second}"),
        &[("intent", "continue")],
        Some(&cookie),
    )
    .await;
    assert_eq!(res.status(), 303);
    let polled: Value = t.poll(&app, &second).await.json().await.unwrap();
    assert_eq!(
        (polled["status"].as_str(), polled["user"]["email"].as_str()),
        (Some("LOGGED_IN"), Some("pia@example.com"))
    );
    // Signing out ends it.
    let res = form(&t, "/fypass/sign-out", &[], Some(&cookie)).await;
    assert_eq!(res.status(), 303);
    assert!(
        res.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let third = t.start(&app, json!({})).await;
    let html = t
        .page(&format!("/fypass?reqToken={third}"))
        .cookie(&cookie)
        .await
        .html;
    assert!(!html.contains("Continue as"), "{html}");
}

#[tokio::test]
async fn a_form_posted_from_another_site_is_refused() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let token = t.start(&app, json!({})).await;
    let res = no_redirects()
        .post(t.url(&format!("/fypass?reqToken={token}")))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", "https://evil.example")
        .body("identifier=a%40example.com&password=x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("ORIGIN_NOT_ALLOWED"));
    // Fetch Metadata decides when a browser hides the origin (`Origin: null` under
    // `Referrer-Policy: no-referrer`).
    let post = |origin: &'static str, site: Option<&'static str>| {
        let mut req = no_redirects()
            .post(t.url(&format!("/fypass?reqToken={token}")))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", origin)
            .body("identifier=nobody%40example.com&password=x");
        if let Some(site) = site {
            req = req.header("sec-fetch-site", site);
        }
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(post("null", Some("cross-site")).await, 403);
    assert_eq!(post("null", None).await, 403);
    assert_eq!(
        post("null", Some("same-origin")).await,
        404,
        "accepted: the login ran (USER_NOT_FOUND)"
    );
}

#[tokio::test]
async fn the_status_page_shows_a_qr_code_while_pending_and_the_outcome_after() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let token = t
        .start(&app, json!({"redirectUrl": "https://app.example.com/done"}))
        .await;
    let path = format!("/fypass/status?reqToken={token}");
    let Page { status, html, .. } = t.page(&path).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Waiting for you to sign in to Test app"),
        "{html}"
    );
    assert!(html.contains("<svg"), "a QR code");
    assert!(
        html.contains("http-equiv=\"refresh\""),
        "refreshes without JavaScript"
    );
    t.post(
        REGISTER,
        json!({"reqToken": token, "name": "Q", "email": "q@example.com", "password": PASSWORD}),
    )
    .await;
    let html = t.page(&path).await.html;
    assert!(html.contains("Your account is ready"), "{html}");
    assert!(html.contains("https://app.example.com/done"), "{html}");
    assert!(!html.contains("<svg"));
}

/// How a page came back when the browser accepts gzip: its `Content-Encoding`, if any.
async fn encoding_of(t: &TestApp, path: &str, cookie: Option<&str>) -> Option<String> {
    let mut req = no_redirects()
        .get(t.url(path))
        .header("accept", "text/html")
        .header("accept-encoding", "gzip, br");
    if let Some(cookie) = cookie {
        req = req.header("cookie", cookie);
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), 200, "{path}");
    res.headers()
        .get("content-encoding")
        .map(|v| v.to_str().unwrap().to_string())
}

/// BREACH: every page reflects input its requester chose (the language switch carries the
/// page's URL back), so a page that also shows a signed-in person's own data is never
/// compressed, even when the browser asks for it. The sign-in page of an app's request,
/// without a session, holds nothing its requester does not know, and stays compressed.
#[tokio::test]
async fn pages_with_a_persons_secrets_are_not_compressed() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let token = t.start(&app, json!({})).await;
    let sign_in = format!("/fypass?reqToken={token}&reflected=guess");
    assert_eq!(
        encoding_of(&t, &sign_in, None).await.as_deref(),
        Some("gzip"),
        "the anonymous sign-in page is compressed"
    );
    assert_eq!(
        encoding_of(&t, "/docs?reflected=guess", None)
            .await
            .as_deref(),
        Some("gzip")
    );
    let cookie = t
        .person("sri@example.com")
        .via(&app)
        .register()
        .await
        .session;
    let another = t.start(&app, json!({})).await;
    for path in [
        "/devices?reflected=guess".to_string(),
        "/account?reflected=guess".to_string(),
        format!("/fypass?reqToken={another}&reflected=guess"),
        "/docs?reflected=guess".to_string(),
    ] {
        assert_eq!(
            encoding_of(&t, &path, Some(&cookie)).await,
            None,
            "{path} with a session is compressed"
        );
    }
}

/// A page renders while another app in the same process builds its router (as every app of
/// these tests does when it starts). Leptos builds a router's page routes by running the app
/// with resource loading switched off process-wide, and a page whose data started loading
/// meanwhile waited forever (leptos-rs/leptos#4773): answered 504 at the deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_render_while_another_app_builds_its_router() {
    use std::sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    };
    /// Stops the building when the test ends, passed or not.
    struct Stop(Arc<AtomicBool>);
    impl Drop for Stop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let token = t.start(&app, json!({})).await;
    let stop = Stop(Arc::new(AtomicBool::new(false)));
    let building = {
        let (state, stop) = (t.state.clone(), stop.0.clone());
        tokio::task::spawn_blocking(move || {
            let mut built = 0;
            while !stop.load(Ordering::Relaxed) {
                drop(fypass::server::router(state.clone()));
                built += 1;
            }
            built
        })
    };
    for _ in 0..20 {
        let page = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            t.page(&format!("/fypass?reqToken={token}")),
        )
        .await;
        let Ok(Page { status, html, .. }) = page else {
            panic!("the page did not render within 5 s");
        };
        assert_eq!(status, 200);
        assert!(html.contains("Sign in to continue to Test app"), "{html}");
    }
    drop(stop);
    assert!(building.await.unwrap() > 0, "no router was built beside");
}
