//! `/oauth/authorize`: the code flow through the hosted sign-in, single sign-on, `prompt`
//! and `max_age`, and every parameter wrong — an unknown client or redirect URI is a page
//! (never a redirect: no open redirector), anything else goes back with `error`, `state`
//! and `iss`.

use super::*;
use crate::support::{NAME, TestApp};
use fypass::{clients::Grant, status::Status};

#[tokio::test]
async fn a_person_signs_in_through_the_hosted_page_and_the_app_gets_a_verified_id_token() {
    let t = TestApp::spawn().await;
    let rp = Rp::new(&t).await;
    t.person("nia@example.com").register().await;
    let (verifier, challenge) = pkce();
    let (back, _) = sign_in(
        &t,
        &authorize_url(&t, &rp, &challenge, &[]),
        "nia@example.com",
    )
    .await;
    assert!(back.starts_with(CALLBACK), "{back}");
    let q = query(&back);
    assert_eq!(q["state"], "st-123");
    assert_eq!(q["iss"], t.url(""));
    let reply = rp.exchange(&t, &q["code"], &verifier).await;
    assert_eq!(reply["token_type"], "Bearer");
    assert_eq!(reply["expires_in"], 3600);
    assert_eq!(reply["scope"], "openid profile email phone offline_access");
    assert!(reply["refresh_token"].as_str().unwrap().starts_with("fyt_"));
    let claims = verified(&t, reply["id_token"].as_str().unwrap())
        .await
        .expect("signed by a published key");
    assert_eq!(claims["iss"], t.url(""));
    assert_eq!(claims["aud"], rp.id.to_string());
    assert_eq!(claims["nonce"], "n-456");
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    assert_eq!(claims["email"], "nia@example.com");
    assert_eq!(claims["email_verified"], false);
    assert_eq!(claims["name"], NAME);
    assert!(claims["sid"].is_string() && claims["auth_time"].is_i64());
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());
    // at_hash binds the ID token to its access token.
    let access = reply["access_token"].as_str().unwrap();
    let digest = sha2::Sha256::digest(access.as_bytes());
    assert_eq!(claims["at_hash"], URL_SAFE_NO_PAD.encode(&digest[..16]));
    let info: serde_json::Value = userinfo(&t, access).await.json().await.unwrap();
    assert_eq!(info["sub"], claims["sub"]);
}

#[tokio::test]
async fn a_signed_in_browser_comes_straight_back_unless_a_fresh_sign_in_is_asked() {
    let t = TestApp::spawn().await;
    let rp = Rp::new(&t).await;
    let other_app = Rp::new(&t).await;
    t.person("nia@example.com").register().await;
    let (_, challenge) = pkce();
    let (_, cookie) = sign_in(
        &t,
        &authorize_url(&t, &rp, &challenge, &[]),
        "nia@example.com",
    )
    .await;

    // Another app: single sign-on, a code at once.
    let back = location(
        &visit(
            &authorize_url(&t, &other_app, &challenge, &[]),
            Some(&cookie),
        )
        .await,
    );
    assert!(query(&back).contains_key("code"), "{back}");
    // prompt=none with a session: a code too.
    let back = location(
        &visit(
            &authorize_url(&t, &rp, &challenge, &[("prompt", "none")]),
            Some(&cookie),
        )
        .await,
    );
    assert!(query(&back).contains_key("code"), "{back}");
    // prompt=login and max_age=0 ask for the sign-in page again.
    for extra in [("prompt", "login"), ("max_age", "0")] {
        let page =
            location(&visit(&authorize_url(&t, &rp, &challenge, &[extra]), Some(&cookie)).await);
        assert!(page.starts_with("/fypass?reqToken="), "{extra:?}: {page}");
    }
    // prompt=none without a session: login_required, with state and iss.
    let back = location(
        &visit(
            &authorize_url(&t, &rp, &challenge, &[("prompt", "none")]),
            None,
        )
        .await,
    );
    let q = query(&back);
    assert_eq!(
        (q["error"].as_str(), q["state"].as_str()),
        ("login_required", "st-123")
    );
    assert_eq!(q["iss"], t.url(""));
    assert!(!q.contains_key("code"));
}

#[tokio::test]
async fn an_unknown_client_or_redirect_uri_is_a_page_and_never_a_redirect() {
    let t = TestApp::spawn().await;
    let rp = Rp::new(&t).await;
    let (_, challenge) = pkce();
    let suspended = Rp::new(&t).await;
    let mut tx = t.db().begin().await.unwrap();
    fypass::clients::store::update(
        &mut tx,
        suspended.id,
        fypass::clients::store::Change::Status(Status::Suspended),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let no_grant = Rp::with(&t, &[Grant::UsersLogin]).await;
    let unknown = Uuid::now_v7().to_string();
    let cases: Vec<(String, &str)> = vec![
        (
            authorize_url(&t, &rp, &challenge, &[("client_id", &unknown)]),
            "UNITSYSTEM00001",
        ),
        (
            authorize_url(&t, &rp, &challenge, &[("client_id", "not-a-uuid")]),
            "UNITSYSTEM00001",
        ),
        (
            authorize_url(&t, &rp, &challenge, &[("client_id", "")]),
            "UNITSYSTEM00001",
        ),
        (
            authorize_url(&t, &rp, &challenge, &[("redirect_uri", "")]),
            "INVALID_REDIRECT_URI",
        ),
        (
            authorize_url(
                &t,
                &rp,
                &challenge,
                &[("redirect_uri", "https://app.example.com/cb/extra")],
            ),
            "INVALID_REDIRECT_URI",
        ),
        (
            authorize_url(
                &t,
                &rp,
                &challenge,
                &[("redirect_uri", "https://app.example.com/cb?x=1")],
            ),
            "INVALID_REDIRECT_URI",
        ),
        (
            authorize_url(
                &t,
                &rp,
                &challenge,
                &[("redirect_uri", "https://evil.example/cb")],
            ),
            "INVALID_REDIRECT_URI",
        ),
        (
            authorize_url(
                &t,
                &rp,
                &challenge,
                &[("redirect_uri", "https://app.example.com.evil.example/cb")],
            ),
            "INVALID_REDIRECT_URI",
        ),
        (
            authorize_url(&t, &suspended, &challenge, &[]),
            "CLIENT_ACCOUNT_SUSPENDED",
        ),
        (
            authorize_url(&t, &no_grant, &challenge, &[]),
            "UNITSYSTEM00002",
        ),
        // A repeated redirect_uri: which one would it be?
        (
            format!(
                "{}&redirect_uri=https%3A%2F%2Fevil.example%2Fcb",
                authorize_url(&t, &rp, &challenge, &[])
            ),
            "VALIDATION_ERROR",
        ),
    ];
    for (url, code) in cases {
        let res = visit(&url, None).await;
        assert!(res.headers().get("location").is_none(), "{url} redirected");
        assert!(res.status().is_client_error(), "{url}: {}", res.status());
        let html = res.text().await.unwrap();
        assert!(
            html.contains(&format!("<code id=\"code\">{code}</code>")),
            "{url}: {html}"
        );
        assert!(
            !html.contains("evil.example"),
            "the page does not echo the URI"
        );
    }
}

#[tokio::test]
async fn every_wrong_parameter_goes_back_with_its_error_state_and_iss_and_no_code() {
    let t = TestApp::spawn().await;
    let rp = Rp::new(&t).await;
    let (_, challenge) = pkce();
    let long = "x".repeat(1025);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("response_type", "")], "invalid_request"),
        (
            vec![("response_type", "token")],
            "unsupported_response_type",
        ),
        (
            vec![("response_type", "code id_token")],
            "unsupported_response_type",
        ),
        (vec![("code_challenge", "")], "invalid_request"),
        (vec![("code_challenge_method", "")], "invalid_request"),
        (vec![("code_challenge_method", "plain")], "invalid_request"),
        (vec![("code_challenge", "too-short")], "invalid_request"),
        (vec![("scope", "openid admin")], "invalid_scope"),
        (vec![("prompt", "none login")], "invalid_request"),
        (vec![("prompt", "sideways")], "invalid_request"),
        (vec![("max_age", "-1")], "invalid_request"),
        (vec![("max_age", "soon")], "invalid_request"),
        (vec![("response_mode", "fragment")], "invalid_request"),
        (
            vec![("request", "eyJhbGciOiJub25lIn0.e30.")],
            "invalid_request",
        ),
        (
            vec![("request_uri", "https://evil.example/r")],
            "invalid_request",
        ),
        (vec![("nonce", long.as_str())], "invalid_request"),
    ];
    for (extra, error) in cases {
        let back = location(&visit(&authorize_url(&t, &rp, &challenge, &extra), None).await);
        assert!(back.starts_with(CALLBACK), "{extra:?}: {back}");
        let q = query(&back);
        assert_eq!(q["error"], error, "{extra:?}");
        assert_eq!(q["state"], "st-123", "{extra:?}");
        assert_eq!(q["iss"], t.url(""), "{extra:?}");
        assert!(!q.contains_key("code"));
    }
}

#[tokio::test]
async fn a_native_app_on_loopback_may_listen_on_any_port_but_nothing_else_changes() {
    let t = TestApp::spawn().await;
    let rp = Rp::public(&t, "http://127.0.0.1/callback").await;
    t.person("nia@example.com").register().await;
    let (verifier, challenge) = pkce();
    let port_redirect = "http://127.0.0.1:53127/callback";
    let url = authorize_url(&t, &rp, &challenge, &[("redirect_uri", port_redirect)]);
    let (back, _) = sign_in(&t, &url, "nia@example.com").await;
    assert!(back.starts_with(port_redirect), "{back}");
    let code = query(&back)["code"].clone();
    // The exchange names the redirect URI of the request, port and all; a public client
    // sends no secret.
    let res = rp
        .token(
            &t,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", port_redirect),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    for other in [
        "http://127.0.0.1:53127/other",
        "http://localhost:53127/callback",
        "http://127.0.0.1:53127/callback?x",
    ] {
        let res = visit(
            &authorize_url(&t, &rp, &challenge, &[("redirect_uri", other)]),
            None,
        )
        .await;
        assert!(res.headers().get("location").is_none(), "{other}");
    }
}

#[tokio::test]
async fn only_the_browser_that_signed_in_gets_the_code_and_only_once() {
    let t = TestApp::spawn().await;
    let rp = Rp::new(&t).await;
    t.person("nia@example.com").register().await;
    t.person("eve@example.com").register().await;
    let (_, challenge) = pkce();
    let res = visit(&authorize_url(&t, &rp, &challenge, &[]), None).await;
    let req_token = query(&t.url(&location(&res)))["reqToken"].clone();
    let res = t
        .post(
            LOGIN,
            json!({"reqToken": req_token, "identifier": "nia@example.com", "password": PASSWORD}),
        )
        .await;
    let done: Value = res.json().await.unwrap();
    let resume = done["redirectUrl"].as_str().unwrap().to_string();

    // Another browser — without a session, or signed in as someone else — gets no code.
    let back = location(&visit(&resume, None).await);
    assert_eq!(query(&back)["error"], "login_required");
    let (_, eve) = sign_in(
        &t,
        &authorize_url(&t, &rp, &challenge, &[]),
        "eve@example.com",
    )
    .await;
    let back = location(&visit(&resume, Some(&eve)).await);
    assert_eq!(query(&back)["error"], "login_required");
    assert!(!query(&back).contains_key("code"));
}

#[tokio::test]
async fn a_resume_is_used_once_and_a_fresh_sign_in_is_checked_there_too() {
    let t = TestApp::spawn().await;
    let rp = Rp::new(&t).await;
    t.person("nia@example.com").register().await;
    let (_, challenge) = pkce();
    let res = visit(&authorize_url(&t, &rp, &challenge, &[]), None).await;
    let req_token = query(&t.url(&location(&res)))["reqToken"].clone();
    let res = t
        .post(
            LOGIN,
            json!({"reqToken": req_token, "identifier": "nia@example.com", "password": PASSWORD}),
        )
        .await;
    let cookie = crate::support::session_cookie(&res);
    let done: Value = res.json().await.unwrap();
    let resume = done["redirectUrl"].as_str().unwrap().to_string();
    let back = location(&visit(&resume, Some(&cookie)).await);
    assert!(query(&back).contains_key("code"));
    let again = visit(&resume, Some(&cookie)).await;
    assert!(again.headers().get("location").is_none());
    assert_eq!(again.status(), 400);

    // prompt=login, completed with "Continue as" (the old session, no new sign-in): no code.
    let res = visit(
        &authorize_url(&t, &rp, &challenge, &[("prompt", "login")]),
        Some(&cookie),
    )
    .await;
    let req_token = query(&t.url(&location(&res)))["reqToken"].clone();
    let res = no_redirects()
        .post(t.url("/_app/fypass/continue"))
        .header("cookie", &cookie)
        .json(&json!({"reqToken": req_token}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let resume = fypass::login::requests::find(t.db(), &req_token)
        .await
        .unwrap()
        .unwrap()
        .redirect_url
        .unwrap();
    let back = location(&visit(&resume, Some(&cookie)).await);
    assert_eq!(query(&back)["error"], "login_required");
}

#[tokio::test]
async fn a_person_who_is_not_active_gets_no_code() {
    let t = TestApp::spawn().await;
    let rp = Rp::new(&t).await;
    t.person("nia@example.com").register().await;
    let (verifier, challenge) = pkce();
    let (back, _) = sign_in(
        &t,
        &authorize_url(&t, &rp, &challenge, &[]),
        "nia@example.com",
    )
    .await;
    let code = query(&back)["code"].clone();
    let user = fypass::users::store::find_by_identifier(
        t.db(),
        &fypass::users::identifier::Identifier::parse("nia@example.com", 62).unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    let mut tx = t.db().begin().await.unwrap();
    fypass::tokens::set_user_status(&mut tx, user.id, Status::Suspended)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let res = rp
        .token(
            &t,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CALLBACK),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    expect_oauth(res, 400, "invalid_grant", "USER_SUSPENDED").await;
}

use crate::support::LOGIN;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::Digest;

/// Every sign-in started through `/oauth/authorize` stores a login request that no secret
/// guards: one network may start only so many an hour (the rest go back to the app with
/// `temporarily_unavailable`, and nothing is stored for them), and other networks are not
/// held up by it.
#[tokio::test]
async fn one_network_may_start_only_so_many_sign_ins_through_authorize() {
    let t = TestApp::spawn_behind_proxy(|c| c.limits.oauth_starts_per_network_hour = 3).await;
    let rp = Rp::new(&t).await;
    let (_, challenge) = pkce();
    let url = authorize_url(&t, &rp, &challenge, &[]);
    let from = |ip: &'static str| {
        no_redirects()
            .get(&url)
            .header("x-forwarded-for", ip)
            .send()
    };
    for _ in 0..3 {
        let page = location(&from("203.0.113.7").await.unwrap());
        assert!(page.starts_with("/fypass?reqToken="), "{page}");
    }
    let refused = location(&from("203.0.113.7").await.unwrap());
    assert!(refused.starts_with(CALLBACK), "{refused}");
    let back = query(&refused);
    assert_eq!(back["error"], "temporarily_unavailable");
    assert_eq!(back["state"], "st-123");
    assert_eq!(back["iss"], t.url(""));
    assert!(!back.contains_key("code"));
    let page = location(&from("198.51.100.9").await.unwrap());
    assert!(
        page.starts_with("/fypass?reqToken="),
        "another network: {page}"
    );
}

/// `login_hint` names who the app expects: the hosted sign-in comes filled with it, and a
/// browser signed in as someone else is not sent straight back as them (as that person
/// herself is).
#[tokio::test]
async fn login_hint_fills_the_sign_in_and_is_never_answered_with_someone_elses_session() {
    let t = TestApp::spawn().await;
    let rp = Rp::new(&t).await;
    t.person("nia@example.com").register().await;
    t.person("omar@example.com").register().await;
    let (_, challenge) = pkce();
    let (_, nia) = sign_in(
        &t,
        &authorize_url(&t, &rp, &challenge, &[]),
        "nia@example.com",
    )
    .await;
    let for_omar = authorize_url(&t, &rp, &challenge, &[("login_hint", " Omar@Example.com ")]);
    let page = location(&visit(&for_omar, Some(&nia)).await);
    assert!(page.starts_with("/fypass?reqToken="), "{page}");
    assert_eq!(query(&t.url(&page))["login_hint"], "omar@example.com");
    let html = t.page(&page).cookie(&nia).await.ok().html;
    assert!(
        html.contains(r#"value="omar@example.com""#),
        "the identifier field is filled in"
    );
    let for_nia = authorize_url(&t, &rp, &challenge, &[("login_hint", "nia@example.com")]);
    let back = location(&visit(&for_nia, Some(&nia)).await);
    assert!(back.starts_with(CALLBACK), "{back}");
    assert!(query(&back).contains_key("code"));
    let none = authorize_url(
        &t,
        &rp,
        &challenge,
        &[("login_hint", "omar@example.com"), ("prompt", "none")],
    );
    assert_eq!(
        query(&location(&visit(&none, Some(&nia)).await))["error"],
        "login_required"
    );
}
