//! userinfo, revocation, introspection, RP-initiated logout and CORS, each tried wrong.

use super::*;
use crate::support::TestApp;
use serde_json::Value;

#[tokio::test]
async fn userinfo_tells_what_the_scope_grants_to_a_live_token_only() {
    let t = TestApp::spawn().await;
    let rp = Rp::new(&t).await;
    t.person("nia@example.com").register().await;
    let (verifier, challenge) = pkce();
    let url = authorize_url(&t, &rp, &challenge, &[("scope", "openid email")]);
    let (back, _) = sign_in(&t, &url, "nia@example.com").await;
    let reply = rp.exchange(&t, &query(&back)["code"], &verifier).await;
    let access = reply["access_token"].as_str().unwrap();
    let info: Value = userinfo(&t, access).await.json().await.unwrap();
    assert_eq!(info["email"], "nia@example.com");
    assert!(info.get("name").is_none(), "profile was not asked for");
    // POST with the token in the form works too; both at once does not.
    let body = format!("access_token={access}");
    let res = t
        .http
        .post(t.url("/oauth/userinfo"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = t
        .http
        .post(t.url("/oauth/userinfo"))
        .header("content-type", "application/x-www-form-urlencoded")
        .bearer_auth(access)
        .body(body)
        .send()
        .await
        .unwrap();
    expect_oauth(res, 400, "invalid_request", "VALIDATION_ERROR").await;
    // No token, a made-up one, another scheme.
    let res = t.http.get(t.url("/oauth/userinfo")).send().await.unwrap();
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    expect_oauth(res, 401, "invalid_token", "UNAUTHORIZED").await;
    expect_oauth(
        userinfo(&t, &format!("fyp_{}", "A".repeat(43))).await,
        401,
        "invalid_token",
        "UNAUTHORIZED",
    )
    .await;
    let res = t
        .http
        .get(t.url("/oauth/userinfo"))
        .header("authorization", format!("Basic {access}"))
        .send()
        .await
        .unwrap();
    expect_oauth(res, 401, "invalid_token", "UNAUTHORIZED").await;
}

#[tokio::test]
async fn revoking_ends_the_sign_in_and_another_clients_token_stays_untouched() {
    let t = TestApp::spawn().await;
    let rp = Rp::new(&t).await;
    let other = Rp::new(&t).await;
    t.person("nia@example.com").register().await;
    let mine = tokens(&t, &rp, "nia@example.com").await;
    let theirs = tokens(&t, &other, "nia@example.com").await;
    // Revoking another client's token: 200, and it keeps working.
    let res = rp
        .post(
            &t,
            "/oauth/revoke",
            &[("token", theirs["access_token"].as_str().unwrap())],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        userinfo(&t, theirs["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
    // Unknown: 200 too.
    let res = rp
        .post(
            &t,
            "/oauth/revoke",
            &[("token", "whatever"), ("token_type_hint", "refresh_token")],
        )
        .await;
    assert_eq!(res.status(), 200);
    // Its own refresh token: the access token of that sign-in ends with it.
    let res = rp
        .post(
            &t,
            "/oauth/revoke",
            &[("token", mine["refresh_token"].as_str().unwrap())],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        userinfo(&t, mine["access_token"].as_str().unwrap())
            .await
            .status(),
        401
    );
    // Missing token; a wrong secret.
    expect_oauth(
        rp.post(&t, "/oauth/revoke", &[]).await,
        400,
        "invalid_request",
        "VALIDATION_ERROR",
    )
    .await;
    let wrong = Rp {
        secret: Some("fyk_wrong".into()),
        ..Rp::new(&t).await
    };
    expect_oauth(
        wrong.post(&t, "/oauth/revoke", &[("token", "x")]).await,
        401,
        "invalid_client",
        "UNITSYSTEM00001",
    )
    .await;
}

#[tokio::test]
async fn introspection_answers_for_the_clients_own_live_tokens_only() {
    let t = TestApp::spawn().await;
    let rp = Rp::new(&t).await;
    let other = Rp::new(&t).await;
    t.person("nia@example.com").register().await;
    let reply = tokens(&t, &rp, "nia@example.com").await;
    let res = rp
        .post(
            &t,
            "/oauth/introspect",
            &[("token", reply["access_token"].as_str().unwrap())],
        )
        .await;
    let found: Value = res.json().await.unwrap();
    assert_eq!(found["active"], true);
    assert_eq!(found["token_type"], "access_token");
    assert_eq!(found["client_id"], rp.id.to_string());
    assert_eq!(found["scope"], "openid profile email phone offline_access");
    assert!(found["exp"].as_i64().unwrap() > 0 && found["sub"].is_string());
    let res = rp
        .post(
            &t,
            "/oauth/introspect",
            &[("token", reply["refresh_token"].as_str().unwrap())],
        )
        .await;
    assert_eq!(
        res.json::<Value>().await.unwrap()["token_type"],
        "refresh_token"
    );
    for token in [reply["access_token"].as_str().unwrap(), "fyp_nonsense", "x"] {
        let res = other
            .post(&t, "/oauth/introspect", &[("token", token)])
            .await;
        assert_eq!(
            res.json::<Value>().await.unwrap(),
            serde_json::json!({"active": false})
        );
    }
    // A public client holds no secret to prove it asks about its own tokens.
    let public = Rp::public(&t, "https://spa.example.com/cb").await;
    let res = public
        .post(
            &t,
            "/oauth/introspect",
            &[("token", reply["access_token"].as_str().unwrap())],
        )
        .await;
    expect_oauth(res, 401, "invalid_client", "UNITSYSTEM00001").await;
}

#[tokio::test]
async fn rp_initiated_logout_signs_out_with_a_valid_hint_and_asks_without_one() {
    let t = TestApp::spawn().await;
    let rp = Rp::new(&t).await;
    t.person("nia@example.com").register().await;
    let (verifier, challenge) = pkce();
    let (back, cookie) = sign_in(
        &t,
        &authorize_url(&t, &rp, &challenge, &[]),
        "nia@example.com",
    )
    .await;
    let reply = rp.exchange(&t, &query(&back)["code"], &verifier).await;
    let hint = reply["id_token"].as_str().unwrap();
    let logout = |pairs: &[(&str, &str)]| {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
        t.url(&format!("/oauth/logout?{}", q.finish()))
    };

    // A post-logout URI that was not registered, a forged hint (alg none), another hint's
    // audience: pages, no redirect, still signed in.
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = hint.split('.').nth(1).unwrap();
    let forged = format!("{header}.{payload}.");
    let other = Uuid::now_v7().to_string();
    for pairs in [
        vec![
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", "https://evil.example/"),
        ],
        vec![
            ("id_token_hint", forged.as_str()),
            ("post_logout_redirect_uri", CALLBACK),
        ],
        vec![("id_token_hint", hint), ("client_id", other.as_str())],
        vec![("post_logout_redirect_uri", CALLBACK)],
    ] {
        let res = visit(&logout(&pairs), Some(&cookie)).await;
        assert!(res.headers().get("location").is_none(), "{pairs:?}");
        assert!(res.status().is_client_error(), "{pairs:?}");
    }
    // Without a hint: a question, not a sign-out; a cross-site answer is refused.
    let res = visit(&logout(&[]), Some(&cookie)).await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("<form method=\"post\""));
    let res = no_redirects()
        .post(logout(&[]))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let still = location(&visit(&authorize_url(&t, &rp, &challenge, &[]), Some(&cookie)).await);
    assert!(
        query(&still).contains_key("code"),
        "still signed in: {still}"
    );

    // With the hint and a registered URI: signed out, back to the app with its state.
    let res = visit(
        &logout(&[
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", CALLBACK),
            ("state", "bye"),
        ]),
        Some(&cookie),
    )
    .await;
    let back = location(&res);
    assert!(
        back.starts_with(CALLBACK) && query(&back)["state"] == "bye",
        "{back}"
    );
    let page = location(&visit(&authorize_url(&t, &rp, &challenge, &[]), Some(&cookie)).await);
    assert!(page.starts_with("/fypass?reqToken="), "signed out: {page}");
}

#[tokio::test]
async fn a_browser_app_of_a_public_client_may_call_from_its_origin_and_nobody_else() {
    let t = TestApp::spawn().await;
    let spa = Rp::public(&t, "https://spa.example.com/callback").await;
    let preflight = |origin: &'static str| {
        t.http
            .request(reqwest::Method::OPTIONS, t.url("/oauth/token"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
    };
    let res = preflight("https://spa.example.com").await.unwrap();
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://spa.example.com"
    );
    let res = preflight("https://evil.example").await.unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
    // A confidential client's origin is no reason either.
    let _ = Rp::new(&t).await;
    let res = preflight("https://app.example.com").await.unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
    // The reply itself (an error here) carries it too, for the app's origin only.
    let res = t
        .http
        .post(t.url("/oauth/token"))
        .header("origin", "https://spa.example.com")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=refresh_token&refresh_token=x&client_id={}",
            spa.id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://spa.example.com"
    );
}

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
