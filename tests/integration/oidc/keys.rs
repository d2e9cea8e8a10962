//! Discovery, the JWKS, and the signing keys' life: rotation with a publish delay, the old
//! key kept until its tokens expire, keys sealed at rest, and what a token of a key that is
//! gone (or of no key: `alg: none`) is worth.

use super::*;
use crate::support::TestApp;
use serde_json::Value;

#[tokio::test]
async fn both_discovery_documents_describe_this_issuer() {
    let t = TestApp::spawn().await;
    let oidc = t.get("/.well-known/openid-configuration").await;
    assert_eq!(oidc.status(), 200);
    assert_eq!(oidc.headers()["access-control-allow-origin"], "*");
    let oidc: Value = oidc.json().await.unwrap();
    let rfc8414: Value = t
        .get("/.well-known/oauth-authorization-server")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(oidc, rfc8414);
    let issuer = t.url("");
    assert_eq!(oidc["issuer"], issuer.as_str());
    for (field, path) in [
        ("authorization_endpoint", "/oauth/authorize"),
        ("token_endpoint", "/oauth/token"),
        ("userinfo_endpoint", "/oauth/userinfo"),
        ("jwks_uri", "/oauth/jwks"),
        ("revocation_endpoint", "/oauth/revoke"),
        ("introspection_endpoint", "/oauth/introspect"),
        ("end_session_endpoint", "/oauth/logout"),
        (
            "device_authorization_endpoint",
            "/oauth/device_authorization",
        ),
    ] {
        assert_eq!(oidc[field], t.url(path).as_str(), "{field}");
    }
    assert_eq!(
        oidc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        oidc["id_token_signing_alg_values_supported"],
        serde_json::json!(["ES256", "RS256"])
    );
    assert_eq!(
        oidc["response_types_supported"],
        serde_json::json!(["code"])
    );
    assert_eq!(oidc["authorization_response_iss_parameter_supported"], true);
    assert_eq!(oidc["request_uri_parameter_supported"], false);
}

#[tokio::test]
async fn a_rotated_key_is_published_first_then_signs_and_the_old_one_lasts_as_long_as_its_tokens() {
    let t = TestApp::spawn_with(|c| c.token_ttl_secs = 2).await;
    let rp = Rp::new(&t).await;
    t.person("nia@example.com").register().await;
    let first = tokens(&t, &rp, "nia@example.com").await;
    let first_id = first["id_token"].as_str().unwrap().to_string();
    let old_kid = jwt_header(&first_id)["kid"].as_str().unwrap().to_string();
    assert!(verified(&t, &first_id).await.is_some());

    // A new key with a publish delay: in the JWKS at once, not yet signing.
    let waiting = fypass::oidc::keys::rotate(&t.state.db, &t.state.config, 3600)
        .await
        .unwrap();
    let jwks: Value = t.get("/oauth/jwks").await.json().await.unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(
        kids.contains(&old_kid.as_str()) && kids.contains(&waiting.kid.as_str()),
        "{kids:?}"
    );
    let second = tokens(&t, &rp, "nia@example.com").await;
    assert_eq!(
        jwt_header(second["id_token"].as_str().unwrap())["kid"],
        old_kid.as_str()
    );
    // A refresh reads which key signs with its token: still the old one.
    let refreshed = refresh(&t, &rp, &first).await;
    assert_eq!(
        jwt_header(refreshed["id_token"].as_str().unwrap())["kid"],
        old_kid.as_str()
    );

    // A key that must go now (no delay) signs at once; the old one stays published while
    // the tokens it signed live, and the first ID token still verifies.
    let now = fypass::oidc::keys::rotate(&t.state.db, &t.state.config, 0)
        .await
        .unwrap();
    let third = tokens(&t, &rp, "nia@example.com").await;
    assert_eq!(
        jwt_header(third["id_token"].as_str().unwrap())["kid"],
        now.kid.as_str()
    );
    // A refresh too, though the last one signed with the old key.
    let refreshed = refresh(&t, &rp, &refreshed).await;
    assert_eq!(
        jwt_header(refreshed["id_token"].as_str().unwrap())["kid"],
        now.kid.as_str()
    );
    assert!(
        verified(&t, &first_id).await.is_some(),
        "the old key is still published"
    );

    // Once its tokens have expired, the old key is gone: its tokens verify no more.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let later = fypass::oidc::keys::rotate(&t.state.db, &t.state.config, 3600)
        .await
        .unwrap();
    assert!(later.removed.contains(&old_kid), "{:?}", later.removed);
    assert!(verified(&t, &first_id).await.is_none());
    assert!(
        verified(&t, third["id_token"].as_str().unwrap())
            .await
            .is_some()
    );
}

#[tokio::test]
async fn with_a_secret_key_the_private_keys_are_sealed_at_rest() {
    let t = TestApp::spawn_with(|c| c.secret_key = Some("s".repeat(40))).await;
    let rp = Rp::new(&t).await;
    t.person("nia@example.com").register().await;
    let reply = tokens(&t, &rp, "nia@example.com").await;
    assert!(
        verified(&t, reply["id_token"].as_str().unwrap())
            .await
            .is_some()
    );
    let rows: Vec<(bool, Vec<u8>)> = match t.db() {
        fypass::db::Db::Sqlite { reader, .. } => {
            sqlx::query_as("SELECT sealed, private_key FROM oidc_keys")
                .fetch_all(reader)
                .await
                .unwrap()
        }
        fypass::db::Db::Postgres(pg) => sqlx::query_as("SELECT sealed, private_key FROM oidc_keys")
            .fetch_all(&pg.pool)
            .await
            .unwrap(),
    };
    assert!(!rows.is_empty());
    for (sealed, key) in rows {
        assert!(sealed);
        // A PKCS#8 document starts with a DER SEQUENCE (0x30); a sealed one with a nonce.
        assert!(
            !key.windows(7)
                .any(|w| w == [0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d])
        );
    }
    // Another node with another secret cannot sign with it (and says so, without a token).
    let other = t
        .another_node(|c| c.secret_key = Some("x".repeat(40)))
        .await;
    let (verifier, challenge) = pkce();
    let (back, _) = sign_in(
        &other,
        &authorize_url(&other, &rp, &challenge, &[]),
        "nia@example.com",
    )
    .await;
    let res = rp
        .token(
            &other,
            &[
                ("grant_type", "authorization_code"),
                ("code", &query(&back)["code"]),
                ("redirect_uri", &rp.redirect),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(oauth_error(res).await.0, 500);
}

#[tokio::test]
async fn two_nodes_on_one_database_sign_with_one_key_and_accept_each_others_tokens() {
    let t = TestApp::spawn().await;
    let other = t.another_node(|_| {}).await;
    let rp = Rp::new(&t).await;
    t.person("nia@example.com").register().await;
    let here = tokens(&t, &rp, "nia@example.com").await;
    let there = tokens(&other, &rp, "nia@example.com").await;
    assert_eq!(
        jwt_header(here["id_token"].as_str().unwrap())["kid"],
        jwt_header(there["id_token"].as_str().unwrap())["kid"]
    );
    // Each node answers for the other's tokens.
    assert_eq!(
        userinfo(&other, here["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
    assert_eq!(
        userinfo(&t, there["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
    let res = rp
        .token(
            &other,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", here["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
}

/// Keys rotated while refreshes keep coming (SPEC §15: a rotation loses no valid token):
/// every refresh is answered, every ID token issued before, during and after verifies
/// against the JWKS at the end, and each sign-in's last tokens still work.
#[tokio::test]
async fn rotating_keys_while_refreshes_keep_coming_loses_no_token() {
    let t = TestApp::spawn().await;
    let rp = Rp::new(&t).await;
    t.person("nia@example.com").register().await;
    let mut chains = Vec::new();
    for _ in 0..4 {
        chains.push(tokens(&t, &rp, "nia@example.com").await);
    }
    // Refreshes answered so far: each rotation waits for some more, so that it falls
    // between refreshes of every sign-in, whatever the machine's speed.
    let done = std::sync::atomic::AtomicUsize::new(0);
    let refreshing = futures::future::join_all(chains.into_iter().map(|first| {
        let (t, rp, done) = (&t, &rp, &done);
        async move {
            let mut issued = Vec::new();
            let mut last = first;
            for _ in 0..15 {
                last = refresh(t, rp, &last).await;
                issued.push(last["id_token"].as_str().unwrap().to_string());
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            (issued, last)
        }
    }));
    let rotating = async {
        let mut kids = Vec::new();
        for (after, delay) in [(8, 0), (20, 3600), (32, 0), (44, 3600)] {
            while done.load(std::sync::atomic::Ordering::SeqCst) < after {
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
            let key = fypass::oidc::keys::rotate(&t.state.db, &t.state.config, delay)
                .await
                .unwrap();
            kids.push(key.kid);
        }
        kids
    };
    let (chains, rotated) = tokio::join!(refreshing, rotating);
    let mut signed_by = std::collections::BTreeSet::new();
    for (issued, last) in &chains {
        for id_token in issued {
            signed_by.insert(jwt_header(id_token)["kid"].as_str().unwrap().to_string());
            assert!(
                verified(&t, id_token).await.is_some(),
                "an ID token of {} no longer verifies",
                jwt_header(id_token)["kid"]
            );
        }
        assert_eq!(
            userinfo(&t, last["access_token"].as_str().unwrap())
                .await
                .status(),
            200
        );
        refresh(&t, &rp, last).await;
    }
    // The rotations took effect during the refreshes: the first key and the two that were
    // to sign at once each signed some of them.
    assert_eq!(
        signed_by.len(),
        3,
        "{signed_by:?} signed; rotated {rotated:?}"
    );
    assert!(signed_by.contains(&rotated[0]) && signed_by.contains(&rotated[2]));
}

/// The real binary's admin command `args` on the database at `url`: its JSON output
/// (asserted to succeed).
fn fypass_cli(url: &str, args: &[&str]) -> Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fypass"))
        .args(args)
        .env("FYPASS_DATABASE_URL", url)
        .env_remove("RUST_LOG")
        .output()
        .expect("the fypass binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout).unwrap()
}

/// `fypass keys rotate` and `fypass client create --public`, as the real binary.
#[tokio::test]
async fn the_admin_commands_rotate_keys_and_make_public_clients() {
    let t = TestApp::spawn().await;
    let url = t.database_url();
    let run = |args: &[&str]| fypass_cli(url, args);
    let rotated = run(&["keys", "rotate"]);
    let kid = rotated["kid"].as_str().unwrap().to_string();
    assert_eq!(rotated["sealed"], false);
    let listed = run(&["keys", "list"]);
    assert!(
        listed["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == kid.as_str())
    );
    assert!(
        !listed.to_string().contains("\"d\""),
        "no private key is printed"
    );
    // The new key waits for its publish delay (an hour): tokens are signed by another.
    let rp = Rp::new(&t).await;
    t.person("nia@example.com").register().await;
    let reply = tokens(&t, &rp, "nia@example.com").await;
    assert_ne!(
        jwt_header(reply["id_token"].as_str().unwrap())["kid"],
        kid.as_str()
    );

    let public = run(&[
        "client",
        "create",
        "--name",
        "TV",
        "--public",
        "--redirect-url",
        "https://tv.example.com/",
    ]);
    assert_eq!(public["public"], true);
    assert!(
        public.get("key").is_none(),
        "a public client has no key to show"
    );
    let id: Uuid = public["id"].as_str().unwrap().parse().unwrap();
    assert!(fypass::oidc::client::is_public(t.db(), id).await.unwrap());
}

/// A client whose library knows only RSA asks for RS256 (`fypass client set-id-token-alg`):
/// its ID tokens, at sign-in and at every refresh, are RS256 by an RSA key of the JWKS;
/// every other client's stay ES256; a rotation then rotates both kinds of key.
#[tokio::test]
async fn a_client_that_asks_for_rs256_gets_rs256_id_tokens_and_the_others_keep_es256() {
    let t = TestApp::spawn().await;
    let old = Rp::new(&t).await;
    let es = Rp::new(&t).await;
    t.person("nia@example.com").register().await;
    let url = t.database_url();
    let set = fypass_cli(
        url,
        &["client", "set-id-token-alg", &old.id.to_string(), "rs256"],
    );
    assert_eq!(set["idTokenAlg"], "RS256", "{set}");
    let reply = tokens(&t, &old, "nia@example.com").await;
    let id_token = reply["id_token"].as_str().unwrap();
    assert_eq!(jwt_header(id_token)["alg"], "RS256");
    let claims = verified(&t, id_token)
        .await
        .expect("an RSA key of the JWKS signed it");
    assert_eq!(claims["aud"], old.id.to_string());
    let refreshed: Value = old
        .token(
            &t,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", reply["refresh_token"].as_str().unwrap()),
            ],
        )
        .await
        .json()
        .await
        .unwrap();
    let again = refreshed["id_token"].as_str().unwrap();
    assert_eq!(jwt_header(again)["alg"], "RS256");
    assert!(verified(&t, again).await.is_some());
    let other = tokens(&t, &es, "nia@example.com").await;
    let es_token = other["id_token"].as_str().unwrap();
    assert_eq!(jwt_header(es_token)["alg"], "ES256");
    assert!(verified(&t, es_token).await.is_some());
    let jwks: Value = t.get("/oauth/jwks").await.json().await.unwrap();
    let kinds: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kty"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"RSA") && kinds.contains(&"EC"), "{jwks}");
    let rotated = fypass_cli(url, &["keys", "rotate", "--publish-delay-secs", "0"]);
    assert!(rotated["rs256Kid"].is_string(), "{rotated}");
    let after = tokens(&t, &old, "nia@example.com").await;
    let after = after["id_token"].as_str().unwrap();
    assert_eq!(jwt_header(after)["kid"], rotated["rs256Kid"]);
    assert!(verified(&t, after).await.is_some());
    // The rotation was another process's: a refresh here signs with the new key at once.
    let again = refresh(&t, &old, &refreshed).await;
    let again = again["id_token"].as_str().unwrap();
    assert_eq!(jwt_header(again)["kid"], rotated["rs256Kid"]);
    assert!(verified(&t, again).await.is_some());
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_fypass"))
        .args(["client", "set-id-token-alg", &old.id.to_string(), "HS256"])
        .env("FYPASS_DATABASE_URL", url)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("ES256 or RS256"));
}

/// The reply to refreshing `reply`'s refresh token.
async fn refresh(t: &TestApp, rp: &Rp, reply: &Value) -> Value {
    let res = rp
        .token(
            t,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", reply["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}
