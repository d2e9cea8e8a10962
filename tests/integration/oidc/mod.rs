//! fypass as an OpenID Connect provider (SPEC §15), driven as a relying party would: over
//! HTTP, with PKCE, reading redirects, and checking ID tokens against the published JWKS
//! with its own ES256 verification (ring), not the server's.

mod authorize;
mod device;
mod endpoints;
mod keys;
mod step_up;
mod token;

use crate::support::{LOGIN, PASSWORD, TestApp, no_redirects, session_cookie};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use fypass::clients::Grant;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use uuid::Uuid;

pub const CALLBACK: &str = "https://app.example.com/cb";

/// A relying party: a client of fypass.
pub struct Rp {
    pub id: Uuid,
    /// The client key; `None` for a public client.
    pub secret: Option<String>,
    pub redirect: String,
}

impl Rp {
    /// A confidential client with `grants`, redirecting to [`CALLBACK`].
    pub async fn with(t: &TestApp, grants: &[Grant]) -> Rp {
        let (client, key) = t.client_with(grants, &[CALLBACK]).await;
        Rp {
            id: client.id,
            secret: Some(key),
            redirect: CALLBACK.into(),
        }
    }

    pub async fn new(t: &TestApp) -> Rp {
        Self::with(t, &[Grant::All]).await
    }

    /// A public client (no secret), as `fypass client create --public` makes it.
    pub async fn public(t: &TestApp, redirect: &str) -> Rp {
        let (client, _) = t.client_with(&[Grant::All], &[redirect]).await;
        let mut tx = t.db().begin().await.unwrap();
        fypass::oidc::client::make_public(&mut tx, client.id)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        Rp {
            id: client.id,
            secret: None,
            redirect: redirect.into(),
        }
    }

    /// A POST of form `pairs` to `path`, authenticated as this client (HTTP Basic when it
    /// has a secret, else `client_id` in the body).
    pub async fn post(&self, t: &TestApp, path: &str, pairs: &[(&str, &str)]) -> reqwest::Response {
        let mut body = form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            body.append_pair(k, v);
        }
        let id = self.id.to_string();
        let req = t
            .http
            .post(t.url(path))
            .header("content-type", "application/x-www-form-urlencoded");
        let req = match &self.secret {
            Some(secret) => req.basic_auth(&id, Some(secret)),
            None => {
                body.append_pair("client_id", &id);
                req
            }
        };
        req.body(body.finish()).send().await.unwrap()
    }

    pub async fn token(&self, t: &TestApp, pairs: &[(&str, &str)]) -> reqwest::Response {
        self.post(t, "/oauth/token", pairs).await
    }

    /// Exchanges `code` (with `verifier`) for tokens; the reply as JSON, asserted 200.
    pub async fn exchange(&self, t: &TestApp, code: &str, verifier: &str) -> Value {
        let res = self
            .token(
                t,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", &self.redirect),
                    ("code_verifier", verifier),
                ],
            )
            .await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        res.json().await.unwrap()
    }
}

/// A PKCE pair: a verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(Uuid::now_v7().as_bytes().repeat(2));
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// An authorization request of `rp` with `challenge`, plus `extra` (which replace the
/// defaults of the same name; an empty value removes one).
pub fn authorize_url(t: &TestApp, rp: &Rp, challenge: &str, extra: &[(&str, &str)]) -> String {
    let id = rp.id.to_string();
    let defaults = [
        ("response_type", "code"),
        ("client_id", id.as_str()),
        ("redirect_uri", rp.redirect.as_str()),
        ("scope", "openid profile email phone offline_access"),
        ("state", "st-123"),
        ("nonce", "n-456"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ];
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in defaults {
        if !extra.iter().any(|(ek, _)| *ek == k) {
            query.append_pair(k, v);
        }
    }
    for (k, v) in extra {
        if !v.is_empty() {
            query.append_pair(k, v);
        }
    }
    t.url(&format!("/oauth/authorize?{}", query.finish()))
}

/// A GET as a browser holding `cookie` (if any), following no redirect.
pub async fn visit(url: &str, cookie: Option<&str>) -> reqwest::Response {
    let req = no_redirects().get(url);
    let req = match cookie {
        Some(c) => req.header("cookie", c),
        None => req,
    };
    req.send().await.unwrap()
}

/// The `Location` of a redirect, asserted 303.
pub fn location(res: &reqwest::Response) -> String {
    assert_eq!(res.status(), 303, "expected a redirect");
    res.headers()["location"].to_str().unwrap().to_string()
}

/// The query parameters of `url`.
pub fn query(url: &str) -> HashMap<String, String> {
    let parsed = url::Url::parse(url).unwrap();
    parsed.query_pairs().into_owned().collect()
}

/// Sends `url` (an authorization request) through the hosted sign-in as `email`: the
/// redirect back to the app, and the browser's session cookie.
pub async fn sign_in(t: &TestApp, url: &str, email: &str) -> (String, String) {
    let res = visit(url, None).await;
    let page = location(&res);
    assert!(page.starts_with("/fypass?reqToken="), "{page}");
    let req_token = query(&t.url(&page))["reqToken"].clone();
    let res = t
        .post(
            LOGIN,
            json!({"reqToken": req_token, "identifier": email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let cookie = session_cookie(&res);
    let done: Value = res.json().await.unwrap();
    let resume = done["redirectUrl"]
        .as_str()
        .expect("a way back")
        .to_string();
    assert!(
        resume.starts_with(&t.url("/oauth/authorize/resume?id=")),
        "{resume}"
    );
    let back = location(&visit(&resume, Some(&cookie)).await);
    (back, cookie)
}

/// A whole sign-in of `email` in `rp` (a registered person): the token reply.
pub async fn tokens(t: &TestApp, rp: &Rp, email: &str) -> Value {
    let (verifier, challenge) = pkce();
    let (back, _) = sign_in(t, &authorize_url(t, rp, &challenge, &[]), email).await;
    rp.exchange(t, &query(&back)["code"], &verifier).await
}

/// The claims of `jwt` if a key of the JWKS signed it with the key's own algorithm, ES256
/// or RS256 (checked here with ring).
pub async fn verified(t: &TestApp, jwt: &str) -> Option<Value> {
    let jwks: Value = t.get("/oauth/jwks").await.json().await.unwrap();
    let mut parts = jwt.split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    let key = jwks["keys"]
        .as_array()?
        .iter()
        .find(|k| k["kid"] == header["kid"])?;
    if header["alg"] != key["alg"] {
        return None;
    }
    let b64 = |field: &str| URL_SAFE_NO_PAD.decode(key[field].as_str()?).ok();
    let signed = format!("{}.{}", jwt.split('.').next()?, payload);
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    match header["alg"].as_str()? {
        "ES256" => {
            let mut point = vec![4u8];
            point.extend(b64("x")?);
            point.extend(b64("y")?);
            ring::signature::UnparsedPublicKey::new(
                &ring::signature::ECDSA_P256_SHA256_FIXED,
                point,
            )
            .verify(signed.as_bytes(), &signature)
            .ok()?;
        }
        "RS256" => {
            let (n, e) = (b64("n")?, b64("e")?);
            ring::signature::RsaPublicKeyComponents { n: &n, e: &e }
                .verify(
                    &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                    signed.as_bytes(),
                    &signature,
                )
                .ok()?;
        }
        _ => return None,
    }
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

/// The header of `jwt`.
pub fn jwt_header(jwt: &str) -> Value {
    let header = jwt.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

/// An OAuth error reply: the status, `error`, and fypass's `code` (with a message).
pub async fn oauth_error(res: reqwest::Response) -> (u16, String, String) {
    let status = res.status().as_u16();
    let body: Value = res.json().await.expect("OAuth errors are JSON");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(body["error_description"].is_string(), "{body}");
    (
        status,
        body["error"].as_str().unwrap_or_default().to_string(),
        body["code"].as_str().unwrap_or_default().to_string(),
    )
}

/// Asserts `res` is an OAuth error `error` with fypass code `code`.
pub async fn expect_oauth(res: reqwest::Response, status: u16, error: &str, code: &str) {
    assert_eq!(
        oauth_error(res).await,
        (status, error.to_string(), code.to_string())
    );
}

/// The userinfo reply for `access_token`.
pub async fn userinfo(t: &TestApp, access_token: &str) -> reqwest::Response {
    t.http
        .get(t.url("/oauth/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
}
