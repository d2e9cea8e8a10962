//! Step-up (SPEC §16, RFC 9470): an app that sends `acr_values=mfa` gets a sign-in with two
//! factors or none — a one-factor session is not reused, a person without a second factor
//! is told `MFA_REQUIRED`, and the ID token says how strong the sign-in was (`acr`, `amr`).

use super::*;
use crate::factors::{enrol, now, post, step_cookie};
use crate::support::{LOGIN, TestApp, expect_error, session_cookie};
use fypass::factors::totp::{STEP, code_at};

#[tokio::test]
async fn acr_values_mfa_gets_a_two_factor_sign_in_or_none() {
    let t = TestApp::spawn().await;
    let rp = Rp::new(&t).await;
    let person = t.person("nia@example.com").register().await;
    let (verifier, challenge) = pkce();
    let mfa = [("acr_values", "mfa")];

    // The registration's session is one factor: single sign-on answers a plain request at
    // once, but not one that asks for two factors.
    let back = location(
        &visit(
            &authorize_url(&t, &rp, &challenge, &[]),
            Some(&person.session),
        )
        .await,
    );
    assert!(query(&back).contains_key("code"), "{back}");
    let page = location(
        &visit(
            &authorize_url(&t, &rp, &challenge, &mfa),
            Some(&person.session),
        )
        .await,
    );
    assert!(page.starts_with("/fypass?reqToken="), "{page}");
    // prompt=none cannot step up: login_required, no code.
    let none = [("acr_values", "mfa"), ("prompt", "none")];
    let back = location(
        &visit(
            &authorize_url(&t, &rp, &challenge, &none),
            Some(&person.session),
        )
        .await,
    );
    assert_eq!(
        query(&back).get("error").map(String::as_str),
        Some("login_required"),
        "{back}"
    );

    // Without a second factor, the password alone cannot complete it.
    let req_token = query(&t.url(&page))["reqToken"].clone();
    let res = post(
        &t,
        "",
        None,
        LOGIN,
        json!({"reqToken": req_token, "identifier": "nia@example.com", "password": PASSWORD}),
    )
    .await;
    expect_error(res, 401, "MFA_REQUIRED").await;

    // With the authenticator app on, the password then its code complete it.
    let (secret, _) = enrol(&t, &person.session).await;
    // The browser that turned it on typed a code from the app: its session is two factors.
    let back = location(
        &visit(
            &authorize_url(&t, &rp, &challenge, &mfa),
            Some(&person.session),
        )
        .await,
    );
    assert!(query(&back).contains_key("code"), "{back}");
    // Another browser signs in with the password, then the app's code.
    let page = location(&visit(&authorize_url(&t, &rp, &challenge, &mfa), None).await);
    assert!(page.starts_with("/fypass?reqToken="), "{page}");
    let req_token = query(&t.url(&page))["reqToken"].clone();
    let res = post(
        &t,
        "",
        None,
        LOGIN,
        json!({"reqToken": req_token, "identifier": "nia@example.com", "password": PASSWORD}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let step = step_cookie(&res);
    let first: Value = res.json().await.unwrap();
    assert_eq!(first["secondFactor"], true, "{first}");
    let res = post(
        &t,
        &step,
        None,
        "/api/v1/fypass/mfa",
        json!({"reqToken": req_token, "code": code_at(&secret, now() + STEP)}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let strong = session_cookie(&res);
    let done: Value = res.json().await.unwrap();
    let resume = done["redirectUrl"]
        .as_str()
        .expect("a way back")
        .to_string();
    let back = location(&visit(&resume, Some(&strong)).await);
    let reply = rp.exchange(&t, &query(&back)["code"], &verifier).await;
    let claims = verified(&t, reply["id_token"].as_str().unwrap())
        .await
        .expect("signed");
    assert_eq!(claims["acr"], "mfa", "{claims}");
    assert!(
        claims["amr"].as_array().unwrap().iter().any(|m| m == "mfa"),
        "{claims}"
    );

    // That two-factor session answers a step-up at once.
    let back = location(&visit(&authorize_url(&t, &rp, &challenge, &mfa), Some(&strong)).await);
    assert!(query(&back).contains_key("code"), "{back}");
    let discovery: Value = t
        .get("/.well-known/openid-configuration")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["acr_values_supported"], json!(["1", "mfa"]));
}
