//! `/oauth/token`: codes are single use, bound to their client, redirect URI and PKCE
//! verifier, and a replay revokes what the first use issued; client authentication in
//! each of its ways and each way wrong; refresh rotation with reuse detection and a new ID
//! token.

use super::*;
use crate::support::TestApp;
use fypass::{clients::Grant, status::Status};
use serde_json::Value;

/// A fresh code of `rp` for `email` and its verifier.
async fn new_code(t: &TestApp, rp: &Rp, email: &str, extra: &[(&str, &str)]) -> (String, String) {
    let (verifier, challenge) = pkce();
    let url = authorize_url(t, rp, &challenge, extra);
    let (back, _) = sign_in(t, &url, email).await;
    (query(&back)["code"].clone(), verifier)
}

fn exchange_pairs<'a>(code: &'a str, verifier: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CALLBACK),
        ("code_verifier", verifier),
    ]
}

#[tokio::test]
async fn a_code_works_once_and_its_replay_revokes_what_the_first_use_issued() {
    let t = TestApp::spawn().await;
    let rp = Rp::new(&t).await;
    t.person("nia@example.com").register().await;
    let (code, verifier) = new_code(&t, &rp, "nia@example.com", &[]).await;
    let first = rp.exchange(&t, &code, &verifier).await;
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(userinfo(&t, access).await.status(), 200);

    let res = rp.token(&t, &exchange_pairs(&code, &verifier)).await;
    expect_oauth(res, 400, "invalid_grant", "INVALID_GRANT").await;
    // Whoever replayed it may hold what the first use gave: all of it is revoked.
    let res = userinfo(&t, access).await;
    assert_eq!(res.status(), 401);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    let res = rp
        .token(
            &t,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", first["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    expect_oauth(res, 400, "invalid_grant", "INVALID_GRANT").await;
}

#[tokio::test]
async fn a_wrong_verifier_redirect_uri_or_an_expired_code_gets_nothing() {
    let t = TestApp::spawn().await;
    let rp = Rp::new(&t).await;
    t.person("nia@example.com").register().await;
    let (_, other_verifier) = pkce();
    let cases: Vec<(&str, String)> = vec![
        ("code_verifier", other_verifier),
        ("redirect_uri", format!("{CALLBACK}/extra")),
        ("redirect_uri", format!("{CALLBACK}?x=1")),
    ];
    for (name, value) in cases {
        let (code, verifier) = new_code(&t, &rp, "nia@example.com", &[]).await;
        let mut pairs = exchange_pairs(&code, &verifier);
        pairs.retain(|(k, _)| *k != name);
        pairs.push((name, value.as_str()));
        let res = rp.token(&t, &pairs).await;
        expect_oauth(res, 400, "invalid_grant", "INVALID_GRANT").await;
        // Spent: the right verifier afterwards does not help.
        let res = rp.token(&t, &exchange_pairs(&code, &verifier)).await;
        expect_oauth(res, 400, "invalid_grant", "INVALID_GRANT").await;
    }
    // Malformed or missing parameters are the request's fault.
    let (code, verifier) = new_code(&t, &rp, "nia@example.com", &[]).await;
    for drop in ["code", "redirect_uri", "code_verifier", "grant_type"] {
        let mut pairs = exchange_pairs(&code, &verifier);
        pairs.retain(|(k, _)| *k != drop);
        expect_oauth(
            rp.token(&t, &pairs).await,
            400,
            "invalid_request",
            "VALIDATION_ERROR",
        )
        .await;
    }
    let mut short = exchange_pairs(&code, &verifier);
    short.retain(|(k, _)| *k != "code_verifier");
    short.push(("code_verifier", "too-short"));
    expect_oauth(
        rp.token(&t, &short).await,
        400,
        "invalid_request",
        "VALIDATION_ERROR",
    )
    .await;
    // Untouched by all that, the code still works.
    rp.exchange(&t, &code, &verifier).await;

    // Expired (60 s): moved into the past.
    let (code, verifier) = new_code(&t, &rp, "nia@example.com", &[]).await;
    let sql = "UPDATE oidc_codes SET expires_at = 0";
    t.execute(sql).await;
    expect_oauth(
        rp.token(&t, &exchange_pairs(&code, &verifier)).await,
        400,
        "invalid_grant",
        "INVALID_GRANT",
    )
    .await;
    // Made up.
    let made_up = format!("fyo_{}", "A".repeat(43));
    expect_oauth(
        rp.token(&t, &exchange_pairs(&made_up, &verifier)).await,
        400,
        "invalid_grant",
        "INVALID_GRANT",
    )
    .await;
}

#[tokio::test]
async fn another_clients_code_is_worth_nothing_and_stays_its_owners() {
    let t = TestApp::spawn().await;
    let victim = Rp::new(&t).await;
    let attacker = Rp::new(&t).await;
    t.person("nia@example.com").register().await;
    let (code, verifier) = new_code(&t, &victim, "nia@example.com", &[]).await;
    // Injected into another client's exchange, with the right verifier even.
    let res = attacker.token(&t, &exchange_pairs(&code, &verifier)).await;
    expect_oauth(res, 400, "invalid_grant", "INVALID_GRANT").await;
    victim.exchange(&t, &code, &verifier).await;
}

#[tokio::test]
async fn a_client_authenticates_one_way_and_each_wrong_way_is_invalid_client() {
    let t = TestApp::spawn().await;
    let rp = Rp::new(&t).await;
    t.person("nia@example.com").register().await;
    let (code, verifier) = new_code(&t, &rp, "nia@example.com", &[]).await;
    let pairs = exchange_pairs(&code, &verifier);
    let form = |extra: &[(&str, &str)]| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs.iter().chain(extra) {
            s.append_pair(k, v);
        }
        s.finish()
    };
    let post = |body: String| {
        t.http
            .post(t.url("/oauth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    };
    let id = rp.id.to_string();
    let key = rp.secret.clone().unwrap();
    // Wrong secret, unknown client, a key of another client, no secret for a confidential one.
    let other = Rp::new(&t).await;
    let other_key = other.secret.clone().unwrap();
    let unknown_id = Uuid::now_v7().to_string();
    for extra in [
        vec![("client_id", id.as_str()), ("client_secret", "fyk_wrong")],
        vec![
            ("client_id", unknown_id.as_str()),
            ("client_secret", key.as_str()),
        ],
        vec![
            ("client_id", id.as_str()),
            ("client_secret", other_key.as_str()),
        ],
        vec![("client_id", id.as_str())],
        vec![("client_id", "not-a-uuid"), ("client_secret", key.as_str())],
    ] {
        let res = post(form(&extra)).send().await.unwrap();
        expect_oauth(res, 401, "invalid_client", "UNITSYSTEM00001").await;
    }
    let res = post(form(&[]))
        .basic_auth(&id, Some("fyk_wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["www-authenticate"], "Basic realm=\"fypass\"");
    expect_oauth(res, 401, "invalid_client", "UNITSYSTEM00001").await;
    // Both ways at once.
    let res = post(form(&[("client_secret", key.as_str())]))
        .basic_auth(&id, Some(&key))
        .send()
        .await
        .unwrap();
    expect_oauth(res, 400, "invalid_request", "VALIDATION_ERROR").await;
    // No client at all.
    expect_oauth(
        post(form(&[])).send().await.unwrap(),
        400,
        "invalid_request",
        "VALIDATION_ERROR",
    )
    .await;
    // A repeated parameter, a JSON body.
    let res = post(form(&[
        ("client_id", id.as_str()),
        ("client_id", id.as_str()),
        ("client_secret", key.as_str()),
    ]))
    .send()
    .await
    .unwrap();
    expect_oauth(res, 400, "invalid_request", "VALIDATION_ERROR").await;
    let res = t
        .http
        .post(t.url("/oauth/token"))
        .json(&serde_json::json!({"grant_type": "authorization_code"}))
        .send()
        .await
        .unwrap();
    expect_oauth(res, 400, "invalid_request", "VALIDATION_ERROR").await;
    // client_secret_post, right: works.
    let res = post(form(&[
        ("client_id", id.as_str()),
        ("client_secret", key.as_str()),
    ]))
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    // An unknown grant type.
    let res = rp
        .token(
            &t,
            &[
                ("grant_type", "password"),
                ("username", "x"),
                ("password", "y"),
            ],
        )
        .await;
    expect_oauth(res, 400, "unsupported_grant_type", "UNSUPPORTED_GRANT_TYPE").await;
}

#[tokio::test]
async fn a_suspended_client_or_one_without_the_grant_gets_no_tokens() {
    let t = TestApp::spawn().await;
    let rp = Rp::new(&t).await;
    t.person("nia@example.com").register().await;
    let (code, verifier) = new_code(&t, &rp, "nia@example.com", &[]).await;
    let mut tx = t.db().begin().await.unwrap();
    fypass::clients::store::update(
        &mut tx,
        rp.id,
        fypass::clients::store::Change::Status(Status::Suspended),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    // The client key cache learns of the change within a second or two.
    let mut last = None;
    for _ in 0..40 {
        let res = rp.token(&t, &exchange_pairs(&code, &verifier)).await;
        let got = oauth_error(res).await;
        if got.2 == "CLIENT_ACCOUNT_SUSPENDED" {
            last = Some(got);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        last,
        Some((
            401,
            "invalid_client".into(),
            "CLIENT_ACCOUNT_SUSPENDED".into()
        ))
    );

    let limited = Rp::with(&t, &[Grant::UsersLogin]).await;
    let res = limited.token(&t, &exchange_pairs(&code, &verifier)).await;
    expect_oauth(res, 400, "unauthorized_client", "UNITSYSTEM00002").await;
}

#[tokio::test]
async fn refreshing_rotates_gives_a_new_id_token_and_a_reused_token_ends_the_sign_in() {
    let t = TestApp::spawn().await;
    let rp = Rp::new(&t).await;
    let other = Rp::new(&t).await;
    t.person("nia@example.com").register().await;
    let first = tokens(&t, &rp, "nia@example.com").await;
    let refresh = first["refresh_token"].as_str().unwrap().to_string();
    let first_claims = verified(&t, first["id_token"].as_str().unwrap())
        .await
        .unwrap();

    // Another client's refresh token, a widened scope: nothing, and nothing spent.
    let res = other
        .token(
            &t,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    expect_oauth(res, 400, "invalid_grant", "INVALID_GRANT").await;
    let res = rp
        .token(
            &t,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh),
                ("scope", "openid admin"),
            ],
        )
        .await;
    expect_oauth(res, 400, "invalid_scope", "INVALID_SCOPE").await;

    let res = rp
        .token(
            &t,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh),
                ("scope", "openid email"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let second: Value = res.json().await.unwrap();
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    let claims = verified(&t, second["id_token"].as_str().unwrap())
        .await
        .unwrap();
    for same in ["sub", "sid", "auth_time", "amr", "aud"] {
        assert_eq!(claims[same], first_claims[same], "{same}");
    }
    assert!(claims.get("nonce").is_none());
    assert!(
        claims.get("name").is_none(),
        "the narrowed scope has no profile"
    );

    // The first refresh token again, after §14's grace window: reuse; the sign-in ends.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let res = rp
        .token(
            &t,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    expect_oauth(res, 400, "invalid_grant", "INVALID_GRANT").await;
    assert_eq!(
        userinfo(&t, second["access_token"].as_str().unwrap())
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn without_offline_access_there_is_no_refresh_token_and_without_openid_no_id_token() {
    let t = TestApp::spawn().await;
    let rp = Rp::new(&t).await;
    t.person("nia@example.com").register().await;
    let (code, verifier) = new_code(&t, &rp, "nia@example.com", &[("scope", "openid")]).await;
    let reply = rp.exchange(&t, &code, &verifier).await;
    assert!(reply.get("refresh_token").is_none());
    assert_eq!(reply["scope"], "openid");
    let claims = verified(&t, reply["id_token"].as_str().unwrap())
        .await
        .unwrap();
    assert!(claims.get("email").is_none() && claims.get("name").is_none());
    let (code, verifier) = new_code(&t, &rp, "nia@example.com", &[("scope", "email")]).await;
    let reply = rp.exchange(&t, &code, &verifier).await;
    assert!(reply.get("id_token").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_one_group_a_refresh_asking_beyond_its_grant_is_refused_alone_and_spends_nothing() {
    let t = TestApp::spawn().await;
    let rp = Rp::new(&t).await;
    // One sign-in granted only `openid offline_access`; five granted everything.
    t.person("ona@example.com").register().await;
    let (code, verifier) = new_code(
        &t,
        &rp,
        "ona@example.com",
        &[("scope", "openid offline_access")],
    )
    .await;
    let narrow = rp.exchange(&t, &code, &verifier).await;
    let narrow_refresh = narrow["refresh_token"].as_str().unwrap().to_string();
    let mut wide = Vec::new();
    for i in 0..5 {
        let email = format!("wide{i}@example.com");
        t.person(&email).register().await;
        wide.push(tokens(&t, &rp, &email).await);
    }

    // All at once, so that they are read and rotated together: the narrow sign-in asks
    // for `email`, which it was not granted; the others refresh, one of them narrowing.
    let asks: Vec<(String, Option<&str>)> =
        std::iter::once((narrow_refresh.clone(), Some("openid email")))
            .chain(wide.iter().enumerate().map(|(i, w)| {
                (
                    w["refresh_token"].as_str().unwrap().to_string(),
                    (i == 0).then_some("openid"),
                )
            }))
            .collect();
    let replies = futures::future::join_all(asks.iter().map(|(token, scope)| {
        let mut pairs = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", token.as_str()),
        ];
        if let Some(scope) = scope {
            pairs.push(("scope", scope));
        }
        let (rp, t) = (&rp, &t);
        async move { rp.token(t, &pairs).await }
    }))
    .await;
    let mut replies = replies.into_iter();
    expect_oauth(
        replies.next().unwrap(),
        400,
        "invalid_scope",
        "INVALID_SCOPE",
    )
    .await;
    for (i, (res, before)) in replies.zip(&wide).enumerate() {
        assert_eq!(res.status(), 200, "refresh {i}");
        let after: Value = res.json().await.unwrap();
        let claims = verified(&t, after["id_token"].as_str().unwrap())
            .await
            .unwrap();
        let first = verified(&t, before["id_token"].as_str().unwrap())
            .await
            .unwrap();
        assert_eq!(
            claims["sub"], first["sub"],
            "refresh {i} is its own person's"
        );
        let scope = if i == 0 {
            "openid offline_access"
        } else {
            "openid profile email phone offline_access"
        };
        assert_eq!(after["scope"], scope, "refresh {i}");
    }

    // The refused refresh spent nothing: its token still works, for what was granted.
    let res = rp
        .token(
            &t,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &narrow_refresh),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let after: Value = res.json().await.unwrap();
    assert_eq!(after["scope"], "openid offline_access");
}
