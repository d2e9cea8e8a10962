//! The second factor (SPEC §16) as the person and an attacker see it: enrolling an
//! authenticator app from its QR code's secret, the second step after a password or a code,
//! recovery codes, apps that ask for two factors, and the attacks on the second step —
//! replaying a code, guessing codes, skipping the step, and posting from another site.

use crate::account::age_sessions;
use crate::support::{
    App, LOGIN, PASSWORD, TestApp, cookie_named, expect_error, no_redirects, session_cookie,
};
use fypass::factors::totp::{STEP, code_at};
use serde_json::{Value, json};

pub(crate) const MFA: &str = "/api/v1/fypass/mfa";

/// A JSON POST carrying `cookies` (`a=1; b=2`), from `ip` (`X-Forwarded-For`) when given.
pub(crate) async fn post(
    t: &TestApp,
    cookies: &str,
    ip: Option<&str>,
    path: &str,
    body: Value,
) -> reqwest::Response {
    let mut req = t.http.post(t.url(path)).json(&body);
    if !cookies.is_empty() {
        req = req.header("cookie", cookies);
    }
    if let Some(ip) = ip {
        req = req.header("x-forwarded-for", ip);
    }
    req.send().await.unwrap()
}

pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// RFC 4648 base32 (no padding), as an authenticator app reads the QR code's secret.
fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut value, mut out) = (0u32, 0u32, Vec::new());
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace()) {
        let v = ALPHABET.iter().position(|a| *a == c).expect("base32") as u32;
        value = (value << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((value >> bits) as u8);
        }
    }
    out
}

/// The secret an authenticator app reads from the `otpauth://` URI of the QR code.
fn secret_of(uri: &str) -> Vec<u8> {
    let query = uri.split_once('?').expect("a query").1;
    let secret = form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "secret")
        .expect("a secret")
        .1;
    base32_decode(&secret)
}

/// Sets up the authenticator app in the session `cookie`: the secret (read from the QR
/// code's URI, as an app would) and the recovery codes shown once.
pub(crate) async fn enrol(t: &TestApp, cookie: &str) -> (Vec<u8>, Vec<String>) {
    let res = post(t, cookie, None, "/_app/account/totp/start", json!({})).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let setup: Value = res.json().await.unwrap();
    let uri = setup["uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/fypass"), "{uri}");
    assert!(
        setup["qrSvg"].as_str().unwrap_or_default().contains("<svg")
            || setup["qr_svg"]
                .as_str()
                .unwrap_or_default()
                .contains("<svg"),
        "{setup}"
    );
    let secret = secret_of(uri);
    assert_eq!(secret.len(), 20);
    let res = post(
        t,
        cookie,
        None,
        "/_app/account/totp/confirm",
        json!({"code": code_at(&secret, now())}),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let codes: Vec<String> = res.json().await.unwrap();
    (secret, codes)
}

/// The password step of a sign-in for `token` (if any), from `cookies`.
async fn password_step(
    t: &TestApp,
    cookies: &str,
    ip: Option<&str>,
    token: Option<&str>,
    email: &str,
) -> reqwest::Response {
    post(
        t,
        cookies,
        ip,
        LOGIN,
        json!({"reqToken": token, "identifier": email, "password": PASSWORD}),
    )
    .await
}

/// The waiting second step's cookie a first step set.
pub(crate) fn step_cookie(res: &reqwest::Response) -> String {
    cookie_named(res, "fypass_mfa").expect("a second-step cookie")
}

async fn poll_status(t: &TestApp, app: &App, token: &str) -> Value {
    let res = t.poll(app, token).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn a_password_alone_no_longer_signs_in_once_the_app_is_on() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let cookie = t.person("ana@example.com").register().await.session;
    let (secret, codes) = enrol(&t, &cookie).await;
    assert_eq!(codes.len(), 10);
    assert!(codes.iter().all(|c| c.len() == 19), "{codes:?}");

    let token = t.start(&app, json!({})).await;
    let res = password_step(&t, "", None, Some(&token), "ana@example.com").await;
    assert_eq!(res.status(), 200);
    assert!(
        cookie_named(&res, "fypass_session").is_none(),
        "no session yet"
    );
    let step = step_cookie(&res);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "PENDING");
    assert_eq!(body["secondFactor"], true);
    assert!(body.get("redirectUrl").is_none());
    assert_eq!(poll_status(&t, &app, &token).await["status"], "PENDING");

    // A wrong code: refused, and still nothing for the app.
    let wrong = if code_at(&secret, now()) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let res = post(
        &t,
        &step,
        None,
        MFA,
        json!({"reqToken": token, "code": wrong}),
    )
    .await;
    let body = expect_error(res, 400, "INVALID_CODE").await;
    assert_eq!(body["details"][0]["field"], "code");
    assert_eq!(poll_status(&t, &app, &token).await["status"], "PENDING");

    // The app's next code (the one of enrolment is spent already).
    let code = code_at(&secret, now() + STEP);
    let res = post(
        &t,
        &step,
        None,
        MFA,
        json!({"reqToken": token, "code": code}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let signed_in = session_cookie(&res);
    assert!(
        res.headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("fypass_mfa=;")),
        "the step's cookie is cleared"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "LOGGED_IN");
    let status = poll_status(&t, &app, &token).await;
    assert_eq!(status["status"], "LOGGED_IN");
    assert!(status["accessToken"].as_str().is_some());
    let res = t
        .http
        .get(t.url("/_app/account"))
        .header("cookie", &signed_in)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // Replay: the same code in a new sign-in is refused (each code works once).
    let token = t.start(&app, json!({})).await;
    let res = password_step(&t, "", None, Some(&token), "ana@example.com").await;
    let step = step_cookie(&res);
    let res = post(
        &t,
        &step,
        None,
        MFA,
        json!({"reqToken": token, "code": code}),
    )
    .await;
    expect_error(res, 400, "INVALID_CODE").await;
    assert_eq!(poll_status(&t, &app, &token).await["status"], "PENDING");
}

#[tokio::test]
async fn going_straight_to_the_second_step_signs_nobody_in() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let cookie = t.person("ana@example.com").register().await.session;
    let (secret, _) = enrol(&t, &cookie).await;
    let token = t.start(&app, json!({})).await;
    let code = code_at(&secret, now() + STEP);

    // Without the first step (no cookie), or with a made-up one: nothing to finish.
    let res = post(&t, "", None, MFA, json!({"reqToken": token, "code": code})).await;
    expect_error(res, 401, "UNAUTHORIZED").await;
    let forged = "fypass_mfa=fym_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let res = post(
        &t,
        forged,
        None,
        MFA,
        json!({"reqToken": token, "code": code}),
    )
    .await;
    expect_error(res, 401, "UNAUTHORIZED").await;

    // The first step's cookie is no session: /account does not open with it.
    let res = password_step(&t, "", None, Some(&token), "ana@example.com").await;
    let step = step_cookie(&res);
    let res = t
        .http
        .get(t.url("/_app/account"))
        .header("cookie", &step)
        .send()
        .await
        .unwrap();
    expect_error(res, 401, "UNAUTHORIZED").await;

    // Nor does it finish another app's request.
    let other = t.start(&app, json!({})).await;
    let res = post(
        &t,
        &step,
        None,
        MFA,
        json!({"reqToken": other, "code": code}),
    )
    .await;
    expect_error(res, 400, "FAILED_UPDATE_USER_TOKEN").await;
    assert_eq!(poll_status(&t, &app, &other).await["status"], "PENDING");

    // Used once, it is gone.
    let res = post(
        &t,
        &step,
        None,
        MFA,
        json!({"reqToken": token, "code": code}),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let again = code_at(&secret, now() + STEP);
    let res = post(&t, &step, None, MFA, json!({"code": again})).await;
    expect_error(res, 401, "UNAUTHORIZED").await;
}

#[tokio::test]
async fn guessing_the_second_factor_voids_the_step_and_slows_the_account() {
    let t = TestApp::spawn_behind_proxy(|_| {}).await;
    let ana = t.person("ana@example.com").register().await;
    let (cookie, browser) = (ana.session, ana.browser);
    let (secret, _) = enrol(&t, &cookie).await;

    // A stranger with the password, from their own network.
    let res = password_step(&t, "", Some("203.0.113.9"), None, "ana@example.com").await;
    assert_eq!(res.status(), 200);
    let step = step_cookie(&res);
    let mut guesses = 0;
    for i in 0..fypass::factors::MAX_STEP_FAILURES {
        let guess = format!("{:06}", 100_000 + i);
        if [now() - STEP, now(), now() + STEP]
            .iter()
            .any(|t| code_at(&secret, *t) == guess)
        {
            continue;
        }
        let res = post(&t, &step, Some("203.0.113.9"), MFA, json!({"code": guess})).await;
        let status = res.status().as_u16();
        assert!(status == 400 || status == 429, "{status}");
        guesses += 1;
    }
    assert!(guesses >= 4);
    // The step is void (or the account slowed down): even the right code does not get in.
    let res = post(
        &t,
        &step,
        Some("203.0.113.9"),
        MFA,
        json!({"code": code_at(&secret, now() + STEP)}),
    )
    .await;
    let status = res.status().as_u16();
    assert!(
        status == 401 || status == 429,
        "{status}: {}",
        res.text().await.unwrap()
    );
    assert!(cookie_named(&res, "fypass_session").is_none());

    // The stranger's guesses counted like wrong passwords: their next try waits.
    let res = password_step(&t, "", Some("203.0.113.9"), None, "ana@example.com").await;
    expect_error(res, 429, "TOO_MANY_REQUESTS").await;

    // The owner's browser is not locked out by them.
    let res = password_step(&t, &browser, Some("198.51.100.7"), None, "ana@example.com").await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let step = format!("{}; {browser}", step_cookie(&res));
    let res = post(
        &t,
        &step,
        Some("198.51.100.7"),
        MFA,
        json!({"code": code_at(&secret, now() + STEP)}),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    session_cookie(&res);
}

#[tokio::test]
async fn each_recovery_code_signs_in_once() {
    let t = TestApp::spawn().await;
    let cookie = t.person("ana@example.com").register().await.session;
    let (_, codes) = enrol(&t, &cookie).await;
    let res = password_step(&t, "", None, None, "ana@example.com").await;
    let step = step_cookie(&res);
    // Typed with capitals and without dashes, as people do.
    let typed = codes[3].replace('-', " ").to_uppercase();
    let res = post(&t, &step, None, MFA, json!({"code": typed})).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let signed_in = session_cookie(&res);

    let res = password_step(&t, "", None, None, "ana@example.com").await;
    let step = step_cookie(&res);
    let res = post(&t, &step, None, MFA, json!({"code": codes[3]})).await;
    expect_error(res, 400, "INVALID_CODE").await;

    // Nine are left, as /account says.
    let res = t
        .http
        .get(t.url("/_app/account"))
        .header("cookie", &signed_in)
        .send()
        .await
        .unwrap();
    let account: Value = res.json().await.unwrap();
    let factor = &account["second_factor"];
    assert_eq!(factor["on"], true, "{account}");
    assert_eq!(factor["recovery_codes_left"], 9, "{account}");
}

#[tokio::test]
async fn a_sign_in_code_is_one_factor_too() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let cookie = t.person("ana@example.com").register().await.session;
    t.verified("ana@example.com").await;
    let (secret, _) = enrol(&t, &cookie).await;
    let token = t.start(&app, json!({})).await;
    let res = t
        .post(
            "/api/v1/fypass/code",
            json!({"reqToken": token, "identifier": "ana@example.com"}),
        )
        .await;
    assert_eq!(res.status(), 202);
    // The code from the outbox.
    let code = wait_for_code(&t).await;
    let res = post(
        &t,
        "",
        None,
        "/api/v1/fypass/code/login",
        json!({"reqToken": token, "identifier": "ana@example.com", "code": code}),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert!(cookie_named(&res, "fypass_session").is_none());
    let step = step_cookie(&res);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["secondFactor"], true);
    assert_eq!(poll_status(&t, &app, &token).await["status"], "PENDING");
    let res = post(
        &t,
        &step,
        None,
        MFA,
        json!({"reqToken": token, "code": code_at(&secret, now() + STEP)}),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(poll_status(&t, &app, &token).await["status"], "LOGGED_IN");
}

/// The latest sign-in code in the outbox (its body holds the six digits).
async fn wait_for_code(t: &TestApp) -> String {
    for _ in 0..100 {
        let rows = fypass::courier::outbox::list(t.db(), 10).await.unwrap();
        if let Some(row) = rows.iter().find(|r| r.purpose == "sign-in") {
            let body = row.body.clone().unwrap_or_default();
            if let Some(code) = body
                .split(|c: char| !c.is_ascii_digit())
                .find(|w| w.len() == 6)
            {
                return code.to_string();
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no sign-in code was stored");
}

#[tokio::test]
async fn an_app_can_ask_for_two_factors() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let one = t.person("one@example.com").register().await.session;
    let two = t.person("two@example.com").register().await.session;
    let (secret, _) = enrol(&t, &two).await;

    // No second factor: the password is right, but the app asked for more.
    let token = t.start(&app, json!({"require": "mfa"})).await;
    let res = password_step(&t, "", None, Some(&token), "one@example.com").await;
    expect_error(res, 401, "MFA_REQUIRED").await;
    assert_eq!(poll_status(&t, &app, &token).await["status"], "PENDING");
    // Nor does "Continue as" with a one-factor session.
    let res = post(
        &t,
        &one,
        None,
        "/_app/fypass/continue",
        json!({"reqToken": token}),
    )
    .await;
    expect_error(res, 401, "MFA_REQUIRED").await;
    assert_eq!(poll_status(&t, &app, &token).await["status"], "PENDING");

    // With one: the second step completes it.
    let res = password_step(&t, "", None, Some(&token), "two@example.com").await;
    let step = step_cookie(&res);
    let res = post(
        &t,
        &step,
        None,
        MFA,
        json!({"reqToken": token, "code": code_at(&secret, now() + STEP)}),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(poll_status(&t, &app, &token).await["status"], "LOGGED_IN");
    // That session is strong: "Continue as" completes the next such request at once.
    let strong = session_cookie(&res);
    let next = t.start(&app, json!({"require": "mfa"})).await;
    let res = post(
        &t,
        &strong,
        None,
        "/_app/fypass/continue",
        json!({"reqToken": next}),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(poll_status(&t, &app, &next).await["status"], "LOGGED_IN");

    // An unknown requirement is a validation error, not ignored.
    let res = t
        .http
        .post(t.url(crate::support::START))
        .header("x-client-key", &app.key)
        .json(&json!({"require": "everything"}))
        .send()
        .await
        .unwrap();
    expect_error(res, 422, "VALIDATION_ERROR").await;
}

#[tokio::test]
async fn setting_up_or_removing_the_factor_needs_a_recent_proof() {
    let t = TestApp::spawn().await;
    let cookie = t.person("ana@example.com").register().await.session;
    age_sessions(&t).await;
    let res = post(&t, &cookie, None, "/_app/account/totp/start", json!({})).await;
    expect_error(res, 401, "REAUTHENTICATION_REQUIRED").await;
    let res = post(
        &t,
        &cookie,
        None,
        "/_app/account/totp/start",
        json!({"password": "not it at all"}),
    )
    .await;
    expect_error(res, 401, "INVALID_PASSWORD").await;
    let res = post(
        &t,
        &cookie,
        None,
        "/_app/account/totp/start",
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let setup: Value = res.json().await.unwrap();
    let secret = secret_of(setup["uri"].as_str().unwrap());
    let res = post(
        &t,
        &cookie,
        None,
        "/_app/account/totp/confirm",
        json!({"code": code_at(&secret, now())}),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());

    // Turning it off needs the proof again once it is old.
    age_sessions(&t).await;
    let res = post(&t, &cookie, None, "/_app/account/totp/remove", json!({})).await;
    expect_error(res, 401, "REAUTHENTICATION_REQUIRED").await;
    // From another site: refused before anything else.
    let res = t
        .http
        .post(t.url("/_app/account/totp/remove"))
        .header("cookie", &cookie)
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .json(&json!({"password": PASSWORD}))
        .send()
        .await
        .unwrap();
    expect_error(res, 403, "ORIGIN_NOT_ALLOWED").await;
    let res = post(
        &t,
        &cookie,
        None,
        "/_app/account/totp/remove",
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    // Off: the password alone signs in again.
    let res = password_step(&t, "", None, None, "ana@example.com").await;
    assert_eq!(res.status(), 200);
    session_cookie(&res);
}

#[tokio::test]
async fn a_wrong_first_code_does_not_turn_the_factor_on() {
    let t = TestApp::spawn().await;
    let cookie = t.person("ana@example.com").register().await.session;
    let res = post(&t, &cookie, None, "/_app/account/totp/start", json!({})).await;
    let setup: Value = res.json().await.unwrap();
    let secret = secret_of(setup["uri"].as_str().unwrap());
    let wrong = if code_at(&secret, now()) == "123456" {
        "654321"
    } else {
        "123456"
    };
    let res = post(
        &t,
        &cookie,
        None,
        "/_app/account/totp/confirm",
        json!({"code": wrong}),
    )
    .await;
    expect_error(res, 400, "INVALID_CODE").await;
    let res = password_step(&t, "", None, None, "ana@example.com").await;
    assert_eq!(res.status(), 200);
    session_cookie(&res);
}

#[tokio::test]
async fn the_second_step_from_another_site_is_refused() {
    let t = TestApp::spawn().await;
    let cookie = t.person("ana@example.com").register().await.session;
    let (secret, _) = enrol(&t, &cookie).await;
    let res = password_step(&t, "", None, None, "ana@example.com").await;
    let step = step_cookie(&res);
    let res = t
        .http
        .post(t.url(MFA))
        .header("cookie", &step)
        .header("sec-fetch-site", "cross-site")
        .json(&json!({"code": code_at(&secret, now() + STEP)}))
        .send()
        .await
        .unwrap();
    expect_error(res, 403, "ORIGIN_NOT_ALLOWED").await;
}

/// Without JavaScript: the sign-in form leads to the second step's page, whose form signs in.
#[tokio::test]
async fn the_second_step_works_without_javascript() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let cookie = t.person("ana@example.com").register().await.session;
    let (secret, _) = enrol(&t, &cookie).await;
    let token = t.start(&app, json!({})).await;
    let browser = no_redirects();
    let form = |path: String, fields: Vec<(&'static str, String)>, cookie: String| {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        browser
            .post(t.url(&path))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", format!("http://{}", t.addr))
            .header("cookie", cookie)
            .body(body)
            .send()
    };
    let res = form(
        format!("/fypass?reqToken={token}"),
        vec![
            ("identifier", "ana@example.com".into()),
            ("password", PASSWORD.into()),
        ],
        String::new(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 303);
    let next = res.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(next, format!("/fypass/second-factor?reqToken={token}"));
    let step = step_cookie(&res);

    for lang in ["en", "id"] {
        let res = t
            .http
            .get(t.url(&next))
            .header("accept", "text/html")
            .header("cookie", format!("{step}; fypass_lang={lang}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let html = TestApp::page_html(res).await;
        assert!(html.contains(r#"name="code""#), "{html}");
        let heading = if lang == "en" {
            "authenticator app"
        } else {
            "aplikasi autentikator"
        };
        assert!(html.contains(heading), "{lang}: {html}");
    }

    // A wrong code: the page again, with the error beside the field.
    let res = form(next.clone(), vec![("code", "12".into())], step.clone())
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let res = form(
        next.clone(),
        vec![("code", code_at(&secret, now() + STEP))],
        step.clone(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    assert_eq!(
        res.headers()["location"].to_str().unwrap(),
        format!("/fypass/status?reqToken={token}")
    );
    session_cookie(&res);
    assert_eq!(poll_status(&t, &app, &token).await["status"], "LOGGED_IN");
}

/// Without JavaScript on `/account`: the QR code and the key appear after "Set up", the
/// recovery codes once on the answer that turns the app on; later, new ones once on the
/// answer that makes them (after the password, when the last proof is old).
#[tokio::test]
async fn enrolling_and_new_recovery_codes_work_without_javascript() {
    let t = TestApp::spawn().await;
    let cookie = t.person("ana@example.com").register().await.session;
    let browser = no_redirects();
    let form = |fields: Vec<(&'static str, String)>| {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        browser
            .post(t.url("/account"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", format!("http://{}", t.addr))
            .header("cookie", cookie.clone())
            .body(body)
            .send()
    };
    let res = form(vec![("intent", "totp-start".into())]).await.unwrap();
    assert_eq!(res.status(), 303);
    let html = TestApp::page_html(
        t.http
            .get(t.url("/account"))
            .header("accept", "text/html")
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(html.contains("<svg"), "a QR code");
    let uri_start = html.find("otpauth://totp/").expect("the otpauth URI");
    let uri: String = html[uri_start..]
        .chars()
        .take_while(|c| *c != '"')
        .collect::<String>()
        .replace("&amp;", "&");
    let secret = secret_of(&uri);
    let res = form(vec![
        ("intent", "totp-confirm".into()),
        ("code", code_at(&secret, now())),
    ])
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    let html = TestApp::page_html(res).await;
    let first = recovery_codes_in(&html);
    assert_eq!(first.len(), 10, "the ten recovery codes: {html}");
    // With the news that the other browsers were signed out, and where the apps are.
    assert!(
        html.contains("Every other browser signed in to your account has been signed out"),
        "{html}"
    );
    assert!(html.contains(r#"href="/account/activity""#), "{html}");
    // Never again.
    let html = TestApp::page_html(
        t.http
            .get(t.url("/account"))
            .header("accept", "text/html")
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(recovery_codes_in(&html).is_empty(), "{html}");

    // New codes, once the last proof is old: the password first, in that form.
    age_sessions(&t).await;
    let res = form(vec![("intent", "totp-codes".into())]).await.unwrap();
    assert_eq!(res.status(), 401);
    let html = TestApp::page_html(res).await;
    assert!(html.contains(r#"id="reauth-lead""#), "{html}");
    assert!(recovery_codes_in(&html).is_empty(), "{html}");
    let res = form(vec![
        ("intent", "totp-codes".into()),
        ("password", PASSWORD.into()),
    ])
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    let html = TestApp::page_html(res).await;
    let renewed = recovery_codes_in(&html);
    assert_eq!(renewed.len(), 10, "{html}");
    assert!(renewed.is_disjoint(&first));
    assert!(
        html.contains("Your old recovery codes no longer work."),
        "{html}"
    );
}

/// The distinct recovery codes (`xxxx-xxxx-xxxx-xxxx`) written in `html`.
fn recovery_codes_in(html: &str) -> std::collections::BTreeSet<String> {
    html.split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
        .filter(|w| {
            w.len() == 19
                && w.char_indices()
                    .all(|(i, c)| if i % 5 == 4 { c == '-' } else { c != '-' })
        })
        .map(str::to_owned)
        .collect()
}

/// A sign-in halfway — the password proven, a code of the app not typed yet — ends with
/// everything else when the owner signs out everywhere (or changes the password, or uses
/// "this wasn't me"): a code typed afterwards, even a right one, signs nobody in.
#[tokio::test]
async fn signing_out_everywhere_ends_a_sign_in_waiting_for_its_second_factor() {
    let t = TestApp::spawn().await;
    let owner = t.person("ana@example.com").register().await.session;
    let (secret, _) = enrol(&t, &owner).await;
    // Someone with the password (who will have a code of the app too: phished, in real time).
    let res = password_step(&t, "", None, None, "ana@example.com").await;
    assert_eq!(res.status(), 200);
    let step = step_cookie(&res);
    let res = post(
        &t,
        &owner,
        None,
        "/_app/account/sign-out-everywhere",
        json!({}),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let res = post(
        &t,
        &step,
        None,
        MFA,
        json!({"code": code_at(&secret, now() + STEP)}),
    )
    .await;
    assert!(cookie_named(&res, "fypass_session").is_none());
    expect_error(res, 401, "UNAUTHORIZED").await;
}

/// Turning the factor on ends every other browser session of the person — each was proven
/// with one factor (a browser left signed in on a shared computer, a thief's) — while the
/// browser that turned it on stays signed in, now with two factors. Apps' tokens stay: the
/// activity lists them, to be ended there, and says what happened.
#[tokio::test]
async fn turning_the_factor_on_signs_out_every_other_browser() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let ana = t.person("ana@example.com").via(&app).register().await;
    // A second browser, signed in with the password before the factor was on.
    let res = password_step(&t, "", None, None, "ana@example.com").await;
    assert_eq!(res.status(), 200);
    let other = session_cookie(&res);
    let account = |cookie: &str| {
        t.http
            .get(t.url("/_app/account"))
            .header("cookie", cookie)
            .send()
    };
    assert_eq!(account(&other).await.unwrap().status(), 200);

    enrol(&t, &ana.session).await;

    expect_error(account(&other).await.unwrap(), 401, "UNAUTHORIZED").await;
    assert_eq!(account(&ana.session).await.unwrap().status(), 200);
    let res = t.me(&app, ana.access_token()).await;
    assert_eq!(res.status(), 200, "the app's token stays");

    let page: Value = t.json_as(&ana.session, "/_app/account/activity").await;
    let listed = page["signed_in"].as_array().unwrap();
    let browsers: Vec<&Value> = listed
        .iter()
        .filter(|s| s["id"].as_str().unwrap().starts_with("session:"))
        .collect();
    assert_eq!(browsers.len(), 1, "{page}");
    assert_eq!(browsers[0]["current"], true, "{page}");
    assert_eq!(browsers[0]["strong"], true, "{page}");
    assert!(
        listed
            .iter()
            .any(|s| s["id"].as_str().unwrap().starts_with("app:")),
        "{page}"
    );
    let newest = &page["entries"][0];
    assert_eq!(newest["kind"], "factor_added", "{page}");
    assert_eq!(newest["detail"], "others_signed_out", "{page}");
}

/// Where new recovery codes are made.
const RENEW: &str = "/_app/account/totp/recovery-codes";

/// New recovery codes replace the old ones at once, the factor staying on: an old code no
/// longer signs in, a new one does; the person is told, as of any change to the factor, and
/// the activity lists it.
#[tokio::test]
async fn new_recovery_codes_void_the_old_ones_at_once() {
    let t = TestApp::spawn().await;
    let cookie = t.person("ana@example.com").register().await.session;
    t.verified("ana@example.com").await;
    let (_, old) = enrol(&t, &cookie).await;
    let res = post(&t, &cookie, None, RENEW, json!({})).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let new: Vec<String> = res.json().await.unwrap();
    assert_eq!(new.len(), 10);
    assert!(new.iter().all(|c| !old.contains(c)), "{new:?} {old:?}");

    let res = password_step(&t, "", None, None, "ana@example.com").await;
    let step = step_cookie(&res);
    let res = post(&t, &step, None, MFA, json!({"code": old[0]})).await;
    expect_error(res, 400, "INVALID_CODE").await;
    let res = post(&t, &step, None, MFA, json!({"code": new[0]})).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let there = session_cookie(&res);

    let outbox = fypass::courier::outbox::list(t.db(), 50).await.unwrap();
    let factor_alerts = outbox
        .iter()
        .filter(|m| m.purpose == "alert")
        .filter(|m| {
            m.body
                .as_deref()
                .is_some_and(|b| b.contains("recovery codes were replaced"))
        })
        .count();
    assert_eq!(factor_alerts, 2, "turned on, then new codes: {outbox:?}");
    let page: Value = t.json_as(&there, "/_app/account/activity").await;
    let kinds: Vec<&str> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"recovery_codes_renewed"), "{kinds:?}");
    let account: Value = t.json_as(&there, "/_app/account").await;
    assert_eq!(account["second_factor"]["recovery_codes_left"], 9);
}

/// Making new recovery codes needs what turning the factor off needs: a recent proof of who
/// the person is (else their password), from a fypass page — and a factor that is on.
#[tokio::test]
async fn new_recovery_codes_need_a_recent_proof() {
    let t = TestApp::spawn().await;
    let cookie = t.person("ana@example.com").register().await.session;
    let res = post(&t, &cookie, None, RENEW, json!({})).await;
    expect_error(res, 422, "VALIDATION_ERROR").await;
    let (_, codes) = enrol(&t, &cookie).await;

    age_sessions(&t).await;
    let res = post(&t, &cookie, None, RENEW, json!({})).await;
    expect_error(res, 401, "REAUTHENTICATION_REQUIRED").await;
    let res = post(
        &t,
        &cookie,
        None,
        RENEW,
        json!({"password": "not it at all"}),
    )
    .await;
    expect_error(res, 401, "INVALID_PASSWORD").await;
    let res = t
        .http
        .post(t.url(RENEW))
        .header("cookie", &cookie)
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .json(&json!({"password": PASSWORD}))
        .send()
        .await
        .unwrap();
    expect_error(res, 403, "ORIGIN_NOT_ALLOWED").await;
    let res = post(&t, "", None, RENEW, json!({"password": PASSWORD})).await;
    expect_error(res, 401, "UNAUTHORIZED").await;

    // None of that replaced the codes: the old ones still sign in.
    let res = password_step(&t, "", None, None, "ana@example.com").await;
    let step = step_cookie(&res);
    let res = post(&t, &step, None, MFA, json!({"code": codes[0]})).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());

    let res = post(&t, &cookie, None, RENEW, json!({"password": PASSWORD})).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let new: Vec<String> = res.json().await.unwrap();
    assert_eq!(new.len(), 10);
}
