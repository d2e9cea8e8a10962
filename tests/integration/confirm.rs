//! The user code of a login request is confirmed by the person, in the browser that
//! completes the request (SPEC §13). The attack these tests try: someone starts a request
//! on their own TV app, confirms its code from their own machine, and sends the link to a
//! person who is signed in to fypass; whatever that person then does in their browser, the
//! attacker's TV must not get their tokens, and the person is asked for the code instead.

use crate::support::{
    App, LOGIN, PASSWORD, REGISTER, START, TestApp, cookie_named, expect_error, no_redirects,
};
use serde_json::{Value, json};

/// Where the person who was sent the link is (not where the request was started).
const PERSON: &str = "203.0.113.50";
/// The attacker's own machine.
const ATTACKER: &str = "198.51.100.9";
/// What the person is told when this browser has not confirmed the code.
const CONFIRM_FIRST: &str = "Confirm the code shown on the device first.";

/// A browser on `ip` holding `cookies` (`name=value` each).
struct Browser<'t> {
    t: &'t TestApp,
    ip: &'static str,
    cookies: Vec<String>,
}

impl<'t> Browser<'t> {
    fn new(t: &'t TestApp, ip: &'static str) -> Self {
        Browser {
            t,
            ip,
            cookies: Vec::new(),
        }
    }

    fn with(mut self, cookie: String) -> Self {
        self.cookies.push(cookie);
        self
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut req = no_redirects()
            .request(method, self.t.url(path))
            .header("x-forwarded-for", self.ip)
            // A page of fypass itself sent it (`session::check_origin`).
            .header("sec-fetch-site", "same-origin");
        if !self.cookies.is_empty() {
            req = req.header("cookie", self.cookies.join("; "));
        }
        req
    }

    /// What a hydrated page's server function call sends.
    async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.request(reqwest::Method::POST, path)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// What a page's plain form sends without JavaScript.
    async fn form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.request(reqwest::Method::POST, path)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    async fn page_context(&self, token: &str) -> Value {
        self.request(
            reqwest::Method::GET,
            &format!("/_app/fypass/context?reqToken={token}"),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
    }
}

/// The attacker's app starts a login request (from its own network, 127.0.0.1): its
/// reqToken and user code, as the TV shows them.
async fn started(t: &TestApp, app: &App) -> (String, String) {
    let res = t
        .http
        .post(t.url(START))
        .header("x-client-key", &app.key)
        .json(&json!({"deviceInfo": {"deviceId": "tv-1", "platform": "android", "deviceName": "Living room TV"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    (
        body["reqToken"].as_str().unwrap().into(),
        body["userCode"].as_str().unwrap().into(),
    )
}

/// The app's poll: what the attacker's TV gets.
async fn poll(t: &TestApp, app: &App, token: &str) -> Value {
    let res = t.poll(app, token).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn still_pending(t: &TestApp, app: &App, token: &str) {
    let polled = poll(t, app, token).await;
    assert_eq!(polled["status"], "PENDING", "{polled}");
    assert!(polled.get("accessToken").is_none(), "{polled}");
}

/// The reply of a server function that refused because this browser did not confirm.
async fn asks_for_the_code(res: reqwest::Response, what: &str) {
    let body = expect_error(res, 400, "INVALID_CODE").await;
    assert_eq!(body["message"], CONFIRM_FIRST, "{what}: {body}");
}

/// The reply of a plain form that refused for the same reason: the page again, 400, with
/// the code to confirm and the reason.
async fn page_asks_for_the_code(res: reqwest::Response, code: &str, what: &str) {
    assert_eq!(res.status(), 400, "{what}");
    let html = TestApp::page_html(res).await;
    assert!(html.contains(CONFIRM_FIRST), "{what}: {html}");
    assert!(html.contains("name=\"intent\" value=\"confirm\""), "{what}");
    assert!(html.contains(code), "{what}");
}

/// The confirmation cookie a reply sets.
fn confirmation(res: &reqwest::Response) -> String {
    cookie_named(res, "fypass_confirm").expect("confirming sets the browser's confirmation")
}

#[tokio::test]
async fn an_attackers_confirmation_does_not_let_a_signed_in_person_continue() {
    let t = TestApp::spawn_behind_proxy(|_| {}).await;
    let app = t.app_client().await;
    let nia = t.person("nia@example.com").from(PERSON).register().await;
    let person = Browser::new(&t, PERSON).with(nia.session);
    let (token, code) = started(&t, &app).await;

    // The attacker confirms the code of their own TV from their own machine, as JSON...
    let attacker = Browser::new(&t, ATTACKER);
    let res = attacker
        .post(
            "/api/v1/fypass/confirm",
            json!({"reqToken": token, "userCode": code}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"confirmed": true})
    );

    // ...and sends the link. The person's page still asks them for the code, not "Continue as".
    let context = person.page_context(&token).await;
    assert_eq!(context["signed_in"]["email"], "nia@example.com");
    assert_eq!(context["request"]["needs_confirmation"], true, "{context}");

    // One click as the hydrated page sends it, or as its plain form does: refused.
    let res = person
        .post("/_app/fypass/continue", json!({"reqToken": token}))
        .await;
    asks_for_the_code(res, "continue").await;
    let res = person
        .form(
            &format!("/fypass?reqToken={token}"),
            &[("intent", "continue")],
        )
        .await;
    page_asks_for_the_code(res, &code, "continue (plain form)").await;
    // Nor does typing the password get around it.
    let res = person
        .post(
            LOGIN,
            json!({"reqToken": token, "identifier": "nia@example.com", "password": PASSWORD}),
        )
        .await;
    asks_for_the_code(res, "login").await;

    // The attacker's TV gets nothing.
    still_pending(&t, &app, &token).await;

    // Only a confirmation in the person's own browser lets it complete.
    let res = person
        .post(
            "/api/v1/fypass/confirm",
            json!({"reqToken": token, "userCode": code}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let person = person.with(confirmation(&res));
    assert_eq!(
        person.page_context(&token).await["request"]["needs_confirmation"],
        false
    );
    let res = person
        .post("/_app/fypass/continue", json!({"reqToken": token}))
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(poll(&t, &app, &token).await["status"], "LOGGED_IN");
}

#[tokio::test]
async fn a_confirmation_is_bound_to_the_browser_that_made_it() {
    let t = TestApp::spawn_behind_proxy(|_| {}).await;
    let app = t.app_client().await;
    // Two people behind one address (a family's router, a carrier's NAT).
    let ana = t.person("ana@example.com").from(PERSON).register().await;
    let ana = Browser::new(&t, PERSON).with(ana.session);
    let budi = t.person("budi@example.com").from(PERSON).register().await;
    let budi = Browser::new(&t, PERSON).with(budi.session);
    let (token, code) = started(&t, &app).await;

    // Ana confirms in her browser, as the plain form does (back to the page).
    let res = ana
        .form(
            &format!("/fypass?reqToken={token}"),
            &[("intent", "confirm"), ("userCode", &code)],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        format!("/fypass?reqToken={token}").as_str()
    );
    let ana = ana.with(confirmation(&res));

    // Budi's browser, on the same network, did not confirm: it is asked.
    assert_eq!(
        budi.page_context(&token).await["request"]["needs_confirmation"],
        true
    );
    let res = budi
        .post("/_app/fypass/continue", json!({"reqToken": token}))
        .await;
    asks_for_the_code(res, "another browser").await;
    // A made-up confirmation, or one of another request, is no confirmation.
    let made_up = budi.with(format!("fypass_confirm=fyc_{}", "A".repeat(43)));
    let res = made_up
        .post("/_app/fypass/continue", json!({"reqToken": token}))
        .await;
    asks_for_the_code(res, "made-up cookie").await;
    let (other_token, other_code) = started(&t, &app).await;
    let res = Browser::new(&t, ATTACKER)
        .post(
            "/api/v1/fypass/confirm",
            json!({"reqToken": other_token, "userCode": other_code}),
        )
        .await;
    let others = Browser::new(&t, PERSON)
        .with(made_up.cookies[0].clone())
        .with(confirmation(&res));
    let res = others
        .post("/_app/fypass/continue", json!({"reqToken": token}))
        .await;
    asks_for_the_code(res, "another request's confirmation").await;
    still_pending(&t, &app, &token).await;

    // Ana's browser completes it.
    let res = ana
        .post("/_app/fypass/continue", json!({"reqToken": token}))
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let polled = poll(&t, &app, &token).await;
    assert_eq!(polled["status"], "LOGGED_IN");
    assert_eq!(polled["user"]["email"], "ana@example.com");
}

/// Every route that completes a request (or sends a code for one) asks a browser that did
/// not confirm the code, whoever else confirmed it: one rule for all of them.
#[tokio::test]
async fn every_way_to_complete_a_request_asks_this_browser_for_the_code() {
    let t = TestApp::spawn_behind_proxy(|c| {
        // Passkeys need a host name.
        c.public_url = Some(format!("http://localhost:{}", c.listen.port()));
    })
    .await;
    let app = t.app_client().await;
    let nia = t.person("nia@example.com").from(PERSON).register().await;
    let person = Browser::new(&t, PERSON).with(nia.session);
    let (token, code) = started(&t, &app).await;
    // The attacker posts the confirmation form of the page, without any cookie.
    let res = Browser::new(&t, ATTACKER)
        .form(
            &format!("/fypass?reqToken={token}"),
            &[("intent", "confirm"), ("userCode", &code)],
        )
        .await;
    assert_eq!(res.status(), 303);

    let json_routes = [
        (
            LOGIN,
            json!({"reqToken": token, "identifier": "nia@example.com", "password": PASSWORD}),
        ),
        (
            REGISTER,
            json!({"reqToken": token, "name": "Eve", "email": "eve@example.com", "password": PASSWORD}),
        ),
        (
            "/api/v1/fypass/code",
            json!({"reqToken": token, "identifier": "nia@example.com"}),
        ),
        (
            "/api/v1/fypass/code/login",
            json!({"reqToken": token, "identifier": "nia@example.com", "code": "123456"}),
        ),
        (
            "/api/v1/fypass/recovery",
            json!({"reqToken": token, "identifier": "nia@example.com"}),
        ),
        (
            "/api/v1/fypass/recovery/complete",
            json!({"reqToken": token, "identifier": "nia@example.com", "code": "123456", "newPassword": "a new passphrase"}),
        ),
        (
            "/api/v1/fypass/passkeys/login/start",
            json!({"reqToken": token}),
        ),
        ("/_app/fypass/continue", json!({"reqToken": token})),
    ];
    for (path, body) in json_routes {
        asks_for_the_code(person.post(path, body).await, path).await;
    }
    let page = |path: &str| format!("{path}?reqToken={token}");
    let form_routes: [(String, Vec<(&str, &str)>); 6] = [
        (
            page("/fypass"),
            vec![
                ("intent", "login"),
                ("identifier", "nia@example.com"),
                ("password", PASSWORD),
            ],
        ),
        (page("/fypass"), vec![("intent", "continue")]),
        (
            page("/fypass/register"),
            vec![
                ("name", "Eve"),
                ("email", "eve@example.com"),
                ("password", PASSWORD),
            ],
        ),
        (
            page("/fypass/code"),
            vec![("intent", "send"), ("identifier", "nia@example.com")],
        ),
        (
            format!("/fypass/code?reqToken={token}&to=nia%40example.com"),
            vec![
                ("intent", "complete"),
                ("identifier", "nia@example.com"),
                ("code", "123456"),
            ],
        ),
        (
            format!("/fypass/recover?reqToken={token}&to=nia%40example.com"),
            vec![
                ("intent", "complete"),
                ("identifier", "nia@example.com"),
                ("code", "123456"),
                ("newPassword", "a new passphrase"),
            ],
        ),
    ];
    for (path, fields) in &form_routes {
        let res = person.form(path, fields).await;
        let status = res.status();
        let html = TestApp::page_html(res).await;
        assert_eq!(status, 400, "{path} {fields:?}");
        assert!(html.contains(CONFIRM_FIRST), "{path} {fields:?}: {html}");
    }
    still_pending(&t, &app, &token).await;

    // Once this browser confirmed, its password sign-in completes the request.
    let res = person
        .post(
            "/api/v1/fypass/confirm",
            json!({"reqToken": token, "userCode": code}),
        )
        .await;
    let person = person.with(confirmation(&res));
    let res = person
        .post(
            LOGIN,
            json!({"reqToken": token, "identifier": "nia@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(poll(&t, &app, &token).await["status"], "LOGGED_IN");
}

/// Where the request was started, nothing needs confirming (the person is beside the
/// device); and a browser's confirmation lasts while its request is open.
#[tokio::test]
async fn the_network_that_started_the_request_needs_no_confirmation() {
    let t = TestApp::spawn_behind_proxy(|_| {}).await;
    let app = t.app_client().await;
    let nia = t
        .person("nia@example.com")
        .from("127.0.0.1")
        .register()
        .await;
    let person = Browser::new(&t, "127.0.0.1").with(nia.session);
    let (token, _) = started(&t, &app).await;
    assert_eq!(
        person.page_context(&token).await["request"]["needs_confirmation"],
        false
    );
    let res = person
        .post("/_app/fypass/continue", json!({"reqToken": token}))
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}
