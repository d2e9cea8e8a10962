//! One identifier, one account (SPEC §10, §13): an email address or WhatsApp number belongs
//! to one account, a code acts on that account only, and a recovery through an identifier
//! that was never verified leaves whoever registered it first with nothing.

use crate::{
    channels::code_in,
    passkeys::{add_passkey, assertion, finish, login_start, origin},
    support::{
        LOGIN, PASSWORD, REGISTER, TestApp, TestDb, cookie_named, expect_error, on_postgres,
        session_cookie,
    },
};
use fypass::db::Db;
use serde_json::{Value, json};
use std::time::Duration;
use uuid::Uuid;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

/// The app on `http://localhost:PORT` (passkeys need a host name), behind a trusted proxy
/// at 127.0.0.1 so that a test can act from several networks.
async fn spawn() -> TestApp {
    TestApp::spawn_behind_proxy(|c| {
        c.public_url = Some(format!("http://localhost:{}", c.listen.port()));
    })
    .await
}

/// A JSON POST from `ip` with the browser cookies `cookies`.
async fn post_as(
    t: &TestApp,
    ip: &str,
    cookies: &[&str],
    path: &str,
    body: Value,
) -> reqwest::Response {
    let mut req = t
        .http
        .post(t.url(path))
        .header("x-forwarded-for", ip)
        .json(&body);
    if !cookies.is_empty() {
        req = req.header("cookie", cookies.join("; "));
    }
    req.send().await.unwrap()
}

/// The code of the newest message to `to` for `purpose` once there are `n` of them (no
/// channel is configured: messages wait in the outbox; a send stores its code after its
/// reply, so this waits for it).
pub(crate) async fn code_for(t: &TestApp, to: &str, purpose: &str, n: usize) -> String {
    for _ in 0..100 {
        let listed = fypass::courier::outbox::list(t.db(), 200).await.unwrap();
        let mine: Vec<_> = listed
            .iter()
            .filter(|m| m.to == to && m.purpose == purpose)
            .collect();
        if mine.len() >= n {
            return code_in(mine[0].body.as_deref().unwrap());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no {n} {purpose} messages to {to}");
}

/// The messages to `to` for `purpose`, newest first.
pub(crate) async fn messages_to(
    t: &TestApp,
    to: &str,
    purpose: &str,
) -> Vec<fypass::courier::outbox::Listed> {
    fypass::courier::outbox::list(t.db(), 200)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.to == to && m.purpose == purpose)
        .collect()
}

async fn account(t: &TestApp, session: &str) -> reqwest::Response {
    t.http
        .get(t.url("/_app/account"))
        .header("cookie", session)
        .send()
        .await
        .unwrap()
}

/// Types `code` for `identifier` on the verification step, from `ip`, signed in as `session`.
async fn verify_in(
    t: &TestApp,
    ip: &str,
    session: Option<&str>,
    identifier: &str,
    code: &str,
) -> reqwest::Response {
    let cookies: Vec<&str> = session.into_iter().collect();
    let body = json!({"identifier": identifier, "code": code});
    post_as(t, ip, &cookies, "/api/v1/fypass/verify", body).await
}

/// Strangers' wrong guesses at `identifier`, each from its own network, until the account
/// is slowed down (a browser that signed in to it before would still get through).
async fn slow_down(t: &TestApp, identifier: &str) {
    for i in 0..20 {
        let res = t
            .post_from(
                &format!("192.0.2.{}", i + 1),
                LOGIN,
                json!({"identifier": identifier, "password": "a wrong guess"}),
            )
            .await;
        match res.status().as_u16() {
            401 => continue,
            429 => return,
            other => panic!("{other}"),
        }
    }
    panic!("the account was never slowed down");
}

#[tokio::test]
async fn registering_an_identifier_another_account_has_is_duplicate_key() {
    let t = spawn().await;
    t.person("ana@example.com")
        .whatsapp("0812-3000-0001")
        .register()
        .await;
    // Neither is verified, and still neither can be registered again.
    let cases = [
        (json!({"email": "Ana@Example.com"}), vec!["email"]),
        (
            json!({"email": "other@example.com", "whatsapp": "+62 812-3000-0001"}),
            vec!["whatsapp"],
        ),
        (
            json!({"email": "ANA@example.com", "whatsapp": "6281230000001"}),
            vec!["email", "whatsapp"],
        ),
    ];
    for (i, (identifiers, fields)) in cases.into_iter().enumerate() {
        let mut body = json!({"name": "Ben", "password": PASSWORD});
        body.as_object_mut()
            .unwrap()
            .extend(identifiers.as_object().unwrap().clone());
        let res = t
            .post_from(&format!("198.51.100.{}", i + 1), REGISTER, body)
            .await;
        let e = expect_error(res, 409, "DUPLICATE_KEY").await;
        let named: Vec<_> = e["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["field"].as_str().unwrap())
            .collect();
        assert_eq!(named, fields);
    }
    assert_eq!(fypass::users::store::list(t.db()).await.unwrap().len(), 1);
}

/// The attack of issue 23 point 2: an attacker registers the person's address after them;
/// the person's recovery code must sign the person in to their own account.
#[tokio::test]
async fn the_persons_recovery_code_never_signs_in_to_an_attackers_account() {
    let t = spawn().await;
    let app = t.app_client().await;
    let person = t
        .person("rina@example.com")
        .from("203.0.113.1")
        .register()
        .await
        .id;
    let res = t
        .post_from("198.51.100.66", REGISTER, json!({"name": "Rina", "email": "rina@example.com", "whatsapp": "0812-6666-0001", "password": "attackers password"}))
        .await;
    expect_error(res, 409, "DUPLICATE_KEY").await;

    // (The app started its request from 127.0.0.1, where Rina is.)
    let token = t.start(&app, json!({})).await;
    let res = t
        .post_from(
            "127.0.0.1",
            "/api/v1/fypass/recovery",
            json!({"reqToken": token, "identifier": "rina@example.com"}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let code = code_for(&t, "rina@example.com", "recovery", 1).await;
    let res = t
        .post_from(
            "127.0.0.1",
            "/api/v1/fypass/recovery/complete",
            json!({"reqToken": token, "identifier": "rina@example.com", "code": code, "newPassword": "a new passphrase"}),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let polled: Value = t.poll(&app, &token).await.json().await.unwrap();
    assert_eq!(polled["user"]["id"], person.to_string());
    assert_eq!(fypass::users::store::list(t.db()).await.unwrap().len(), 1);
}

/// The attack of issue 23 point 3: a signed-in attacker asks to change their email to the
/// person's unverified address; the person's own code must still verify it for the person.
#[tokio::test]
async fn the_persons_verification_code_never_verifies_their_address_for_another_account() {
    let t = spawn().await;
    let res = t
        .post_from(
            "203.0.113.1",
            REGISTER,
            json!({"name": "Sari", "email": "sari@example.com", "password": PASSWORD}),
        )
        .await;
    let persons = session_cookie(&res);
    let sent: Value = res.json().await.unwrap();
    assert_eq!(sent["verify"], json!(["sari@example.com"]));
    let attackers = t
        .person("mallory@example.com")
        .from("198.51.100.66")
        .register()
        .await
        .session;
    let res = post_as(
        &t,
        "198.51.100.66",
        &[&attackers],
        "/_app/account/identifier",
        json!({"identifier": "sari@example.com"}),
    )
    .await;
    let e = expect_error(res, 409, "DUPLICATE_KEY").await;
    assert_eq!(e["details"][0]["field"], "identifier");

    // The person types the code from their inbox, signed in as themselves.
    let code = code_for(&t, "sari@example.com", "verify", 1).await;
    let verify = |session: Option<&'static str>, ip: &'static str| {
        let (t, code) = (&t, code.clone());
        let session = session.map(|s| {
            if s == "person" {
                persons.clone()
            } else {
                attackers.clone()
            }
        });
        async move { verify_in(t, ip, session.as_deref(), "sari@example.com", &code).await }
    };
    // Not without a session, and not in another person's.
    expect_error(verify(None, "203.0.113.1").await, 401, "UNAUTHORIZED").await;
    expect_error(
        verify(Some("attacker"), "198.51.100.66").await,
        400,
        "INVALID_CODE",
    )
    .await;
    let res = verify(Some("person"), "203.0.113.1").await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let mine: Value = account(&t, &persons).await.json().await.unwrap();
    assert_eq!(mine["user"]["email"], "sari@example.com");
    assert!(mine["user"]["emailVerifiedAt"].is_string(), "{mine}");
    let theirs: Value = account(&t, &attackers).await.json().await.unwrap();
    assert_eq!(theirs["user"]["email"], "mallory@example.com");
    // The person still signs in by email.
    let res = t
        .post_from(
            "203.0.113.1",
            LOGIN,
            json!({"identifier": "sari@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 200);
}

/// Two accounts ask for codes to one new address: each code verifies only for the account
/// that asked for it, in its own session, and the second send does not void the first code.
#[tokio::test]
async fn a_change_code_verifies_only_for_the_account_that_asked_for_it() {
    let t = spawn().await;
    let bima = t
        .person("bima@example.com")
        .from("203.0.113.1")
        .register()
        .await;
    let (bimas_id, bima) = (bima.id, bima.session);
    let mallory = t
        .person("mallory@example.com")
        .from("198.51.100.66")
        .register()
        .await
        .session;
    let change = |cookie: String, ip: &'static str| {
        let t = &t;
        async move {
            let res = post_as(
                t,
                ip,
                &[&cookie],
                "/_app/account/identifier",
                json!({"identifier": "bima.new@example.com"}),
            )
            .await;
            assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        }
    };
    change(bima.clone(), "203.0.113.1").await;
    let bimas_code = code_for(&t, "bima.new@example.com", "change", 1).await;
    // (The minute between two codes to one address passes.)
    t.execute("DELETE FROM throttle WHERE key LIKE 'code:cooldown:%'")
        .await;
    change(mallory.clone(), "198.51.100.66").await;
    let mallorys_code = code_for(&t, "bima.new@example.com", "change", 2).await;
    assert_ne!(bimas_code, mallorys_code);

    let new = "bima.new@example.com";
    // Mallory's code in Bima's session is a wrong code; Bima's own still works.
    let res = verify_in(&t, "203.0.113.1", Some(&bima), new, &mallorys_code).await;
    expect_error(res, 400, "INVALID_CODE").await;
    let res = verify_in(&t, "203.0.113.1", Some(&bima), new, &bimas_code).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(t.holder(new).await, Some(bimas_id));
    let bimas: Value = account(&t, &bima).await.json().await.unwrap();
    assert_eq!(bimas["user"]["email"], "bima.new@example.com");
    // The address is Bima's now: Mallory's code cannot take it.
    let res = verify_in(&t, "198.51.100.66", Some(&mallory), new, &mallorys_code).await;
    expect_error(res, 409, "DUPLICATE_KEY").await;
    let mallorys: Value = account(&t, &mallory).await.json().await.unwrap();
    assert_eq!(mallorys["user"]["email"], "mallory@example.com");
}

/// Issue 23 point 11 (the part of codes): once a change lands, the old address is told, in
/// the person's language; by WhatsApp through the notice template. One never verified (it
/// may be a stranger's) gets a notice; a verified one the alert, with its "this wasn't me"
/// link by email (a WhatsApp template carries none). A new identifier replacing one never
/// verified is told to the verified address of the other kind, with the alert.
#[tokio::test]
async fn the_old_address_is_told_when_a_change_lands() {
    let api = crate::channels::WhatsappApi::start().await;
    let url = api.url();
    let t = TestApp::spawn_with(move |c| {
        c.whatsapp_api_url = url;
        c.whatsapp_phone_number_id = Some(crate::channels::WHATSAPP_PHONE_ID.into());
        c.whatsapp_token = Some(crate::channels::WHATSAPP_TOKEN.into());
    })
    .await;
    let dewi = t
        .person("dewi@example.com")
        .whatsapp("0812-4000-0001")
        .register()
        .await
        .session;
    // The first two replace identifiers never verified; the last two the ones they verified.
    for (new, kind, old, told_by) in [
        (
            "dewi.baru@example.com",
            "email",
            "dewi@example.com",
            "changed",
        ),
        ("0812-4000-0002", "whatsapp", "+6281240000001", "changed"),
        (
            "dewi.lagi@example.com",
            "email",
            "dewi.baru@example.com",
            "alert",
        ),
        ("0812-4000-0003", "whatsapp", "+6281240000002", "alert"),
    ] {
        let res = t
            .http
            .post(t.url("/_app/account/identifier"))
            .header("cookie", &dewi)
            .header("accept-language", "id")
            .json(&json!({"identifier": new}))
            .send()
            .await
            .unwrap();
        let stored: String = res.json().await.unwrap();
        let code = match kind {
            "email" => code_for(&t, &stored, "change", 1).await,
            _ => crate::channels::whatsapp_code(&api.wait_for(&stored, 1).await[0]),
        };
        // (The second number, replacing one never verified, was also an addition the
        // verified address was alerted to, before the address itself was replaced.)
        let before = messages_to(&t, old, told_by).await.len();
        let res = t
            .http
            .post(t.url("/api/v1/fypass/verify"))
            .header("cookie", &dewi)
            .header("accept-language", "id")
            .json(&json!({"identifier": stored, "code": code}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        let told = messages_to(&t, old, told_by).await;
        assert_eq!(told.len(), before + 1, "nothing before it lands: {told:?}");
        if kind == "email" {
            let body = told[0].body.as_deref().unwrap();
            assert!(body.contains("Alamat email akun fypass Anda"), "{body}");
            assert!(!body.contains(new), "the new address is not named");
            assert_eq!(
                body.contains("/fypass/not-me?token="),
                told_by == "alert",
                "{body}"
            );
        } else {
            // (The number's first message was a code: of its registration, or of the change.)
            let sent = api.wait_for(old, 2).await;
            let notice = sent.last().unwrap();
            assert_eq!(notice["template"]["name"], "fypass_number_changed");
            assert!(notice["template"].get("components").is_none(), "{notice}");
        }
        if old == "+6281240000001" {
            let alerts = messages_to(&t, "dewi.baru@example.com", "alert").await;
            assert_eq!(alerts.len(), 1, "{alerts:?}");
            let body = alerts[0].body.as_deref().unwrap();
            assert!(
                body.contains("Sebuah nomor WhatsApp baru saja ditambahkan"),
                "{body}"
            );
        }
    }
}

/// Issue 23 point 2, the squatter: someone registers a person's address (with their own
/// verified WhatsApp number, a passkey, an app's tokens and a remembered browser) before
/// the person does. Once the person recovers the account through that address, the
/// squatter has nothing left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_owners_recovery_the_squatter_has_nothing_left() {
    let t = spawn().await;
    let app = t.app_client().await;
    let squatter_ip = "198.51.100.66";
    let squatter_number = "+6281266660001";
    // (The request was started from 127.0.0.1: the squatter completes it from there.)
    let wulan = t
        .person("wulan@example.com")
        .whatsapp("0812-6666-0001")
        .from("127.0.0.1")
        .via(&app)
        .on_device(json!({"deviceId": "squatter-phone", "platform": "android", "deviceName": "Squatter's phone"}))
        .register()
        .await;
    let access = wulan.access_token().to_string();
    let refresh = wulan.reply()["refreshToken"].as_str().unwrap().to_string();
    let (session, browser, squatter) = (wulan.session, wulan.browser, wulan.id);
    // The squatter proves their own number, and adds a passkey.
    let code = code_for(&t, squatter_number, "verify", 1).await;
    let res = verify_in(&t, squatter_ip, Some(&session), squatter_number, &code).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let mut key = SoftPasskey::new(true);
    let cred = add_passkey(&t, &session, &mut key).await;
    assert_eq!(t.me(&app, &access).await.status(), 200);

    // Wulan, whose address it is, recovers the account through it.
    let wulans_request = t.start(&app, json!({})).await;
    let res = post_as(
        &t,
        "127.0.0.1",
        &[],
        "/api/v1/fypass/recovery",
        json!({"reqToken": wulans_request, "identifier": "wulan@example.com"}),
    )
    .await;
    assert_eq!(res.status(), 202);
    let code = code_for(&t, "wulan@example.com", "recovery", 1).await;
    let res = post_as(
        &t,
        "127.0.0.1",
        &[],
        "/api/v1/fypass/recovery/complete",
        json!({"reqToken": wulans_request, "identifier": "wulan@example.com", "code": code, "newPassword": "wulans own passphrase"}),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let wulans_browser = cookie_named(&res, "fypass_browser").unwrap();
    let polled: Value = t.poll(&app, &wulans_request).await.json().await.unwrap();
    let user = &polled["user"];
    assert_eq!(
        user["id"],
        squatter.to_string(),
        "the same account, now hers"
    );
    assert_eq!(user["email"], "wulan@example.com");
    assert!(user["emailVerifiedAt"].is_string());
    assert!(user.get("whatsapp").is_none(), "{user}");
    assert!(user["whatsappVerifiedAt"].is_null());
    let wulans_access = polled["accessToken"].as_str().unwrap().to_string();
    assert_eq!(t.me(&app, &wulans_access).await.status(), 200);

    // The squatter's tokens, session, password, number and passkey are all dead.
    expect_error(t.me(&app, &access).await, 401, "UNAUTHORIZED").await;
    let res = t
        .http
        .post(t.url("/api/v1/users/token"))
        .header("x-client-key", &app.key)
        .json(&json!({"refreshToken": refresh}))
        .send()
        .await
        .unwrap();
    expect_error(res, 401, "UNAUTHORIZED").await;
    expect_error(account(&t, &session).await, 401, "UNAUTHORIZED").await;
    let res = post_as(
        &t,
        squatter_ip,
        &[],
        LOGIN,
        json!({"identifier": "wulan@example.com", "password": PASSWORD}),
    )
    .await;
    expect_error(res, 401, "INVALID_PASSWORD").await;
    let res = post_as(
        &t,
        squatter_ip,
        &[],
        LOGIN,
        json!({"identifier": squatter_number, "password": PASSWORD}),
    )
    .await;
    expect_error(res, 404, "USER_NOT_FOUND").await;
    let (ceremony, options) = login_start(&t, None).await;
    let signed = assertion(&mut key, origin(&t), options, &cred, squatter);
    expect_error(
        finish(&t, &ceremony, &signed).await,
        401,
        "PASSKEY_REJECTED",
    )
    .await;
    // Nor does the squatter's device show on Wulan's dashboard.
    let devices = fypass::devices::store::list_for_user(t.db(), squatter)
        .await
        .unwrap();
    assert!(devices.is_empty(), "{devices:?}");
    // The squatter's browser is a stranger's now: once strangers' failures slow the account
    // down, it is slowed down too (a browser that signed in before would not be)...
    slow_down(&t, "wulan@example.com").await;
    let res = post_as(
        &t,
        "203.0.113.99",
        &[&browser],
        LOGIN,
        json!({"identifier": "wulan@example.com", "password": "another guess"}),
    )
    .await;
    expect_error(res, 429, "TOO_MANY_REQUESTS").await;
    // ...while Wulan's is hers.
    let res = post_as(
        &t,
        "127.0.0.1",
        &[&wulans_browser],
        LOGIN,
        json!({"identifier": "wulan@example.com", "password": "wulans own passphrase"}),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

/// Issue 23 points 4 and 14: a recovery of an account whose address is verified also
/// removes its passkeys and the browsers it remembered, and keeps its other identifier.
#[tokio::test]
async fn a_recovery_removes_passkeys_and_remembered_browsers() {
    let t = spawn().await;
    let yanti = t
        .person("yanti@example.com")
        .whatsapp("0812-7000-0001")
        .register()
        .await;
    let (session, browser, user) = (yanti.session, yanti.browser, yanti.id);
    t.verified("yanti@example.com").await;
    let mut key = SoftPasskey::new(true);
    let cred = add_passkey(&t, &session, &mut key).await;
    // (The page that offers a passkey once after a sign-in did so.)
    fypass::users::store::mark_passkey_offered(t.db(), user)
        .await
        .unwrap();
    // Someone with the old password and the passkey; Yanti recovers her account.
    let res = t
        .post(
            "/api/v1/fypass/recovery",
            json!({"identifier": "yanti@example.com"}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let code = code_for(&t, "yanti@example.com", "recovery", 1).await;
    let res = t
        .post(
            "/api/v1/fypass/recovery/complete",
            json!({"identifier": "yanti@example.com", "code": code, "newPassword": "a new passphrase"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let new_session = session_cookie(&res);
    let mine: Value = account(&t, &new_session).await.json().await.unwrap();
    assert_eq!(mine["passkeys"], json!([]));
    assert_eq!(
        mine["user"]["whatsapp"], "+6281270000001",
        "her number stays"
    );
    let (ceremony, options) = login_start(&t, None).await;
    let signed = assertion(&mut key, origin(&t), options, &cred, user);
    expect_error(
        finish(&t, &ceremony, &signed).await,
        401,
        "PASSKEY_REJECTED",
    )
    .await;
    // The old browser's cookie no longer passes for hers once the account is slowed down.
    slow_down(&t, "yanti@example.com").await;
    let res = post_as(
        &t,
        "203.0.113.99",
        &[&browser],
        LOGIN,
        json!({"identifier": "yanti@example.com", "password": "another guess"}),
    )
    .await;
    expect_error(res, 429, "TOO_MANY_REQUESTS").await;
    // The page after the recovery offers to add a passkey again.
    assert!(
        fypass::users::store::mark_passkey_offered(t.db(), user)
            .await
            .unwrap(),
        "offered again"
    );
}

/// A user row as an older release stored it.
struct Claim {
    id: Uuid,
    email: Option<&'static str>,
    whatsapp: Option<&'static str>,
    created_at: i64,
    email_verified: bool,
    whatsapp_verified: bool,
}

async fn insert_claim(db: &Db, c: &Claim) {
    let sql = "INSERT INTO users (id, name, email, whatsapp, password_hash, status, created_at, updated_at, email_verified_at, whatsapp_verified_at)
               VALUES ($1, 'Old', $2, $3, 'x', 'active', $4, $4, $5, $6)";
    let verified = |yes: bool| yes.then_some(c.created_at + 1);
    match db {
        Db::Sqlite { writer, .. } => sqlx::query(sql)
            .bind(c.id)
            .bind(c.email)
            .bind(c.whatsapp)
            .bind(c.created_at)
            .bind(verified(c.email_verified))
            .bind(verified(c.whatsapp_verified))
            .execute(writer)
            .await
            .map(drop),
        Db::Postgres(pg) => sqlx::query(sql)
            .bind(c.id)
            .bind(c.email)
            .bind(c.whatsapp)
            .bind(c.created_at)
            .bind(verified(c.email_verified))
            .bind(verified(c.whatsapp_verified))
            .execute(&pg.pool)
            .await
            .map(drop),
    }
    .unwrap();
}

async fn insert_code(db: &Db, user: Uuid, identifier: &str) -> Uuid {
    let id = Uuid::now_v7();
    let sql =
        "INSERT INTO codes (id, purpose, identifier, user_id, code_hash, created_at, expires_at)
               VALUES ($1, 'recovery', $2, $3, $4, 1, 9999999999999)";
    match db {
        Db::Sqlite { writer, .. } => sqlx::query(sql)
            .bind(id)
            .bind(identifier)
            .bind(user)
            .bind(vec![0u8; 32])
            .execute(writer)
            .await
            .map(drop),
        Db::Postgres(pg) => sqlx::query(sql)
            .bind(id)
            .bind(identifier)
            .bind(user)
            .bind(vec![0u8; 32])
            .execute(&pg.pool)
            .await
            .map(drop),
    }
    .unwrap();
    id
}

async fn code_ids(db: &Db) -> Vec<Uuid> {
    let sql = "SELECT id FROM codes ORDER BY id";
    let rows: Vec<(Uuid,)> = match db {
        Db::Sqlite { reader, .. } => sqlx::query_as(sql).fetch_all(reader).await,
        Db::Postgres(pg) => sqlx::query_as(sql).fetch_all(&pg.pool).await,
    }
    .unwrap();
    rows.into_iter().map(|(id,)| id).collect()
}

/// Migration 0009 on a database where several accounts claim one identifier (as the
/// releases before it allowed): the verified claim keeps it, else the oldest; the others
/// lose it (and its codes), and from then on no value can be claimed twice.
#[tokio::test]
async fn the_migration_leaves_each_identifier_to_one_account() {
    let test_db = TestDb::create().await;
    let db = Db::connect(&test_db.url, 2, fypass::db::Pooler::None)
        .await
        .unwrap();
    db.migrate_until(8, None).await.unwrap();
    let claim = |n: u128, email, whatsapp, created_at, email_verified, whatsapp_verified| Claim {
        id: Uuid::from_u128(n),
        email,
        whatsapp,
        created_at,
        email_verified,
        whatsapp_verified,
    };
    let claims = [
        // dup@: the oldest (1), a verified one (2), the newest (3): the verified one keeps it.
        claim(
            1,
            Some("dup@example.com"),
            Some("+628111"),
            100,
            false,
            false,
        ),
        claim(2, Some("dup@example.com"), None, 200, true, false),
        claim(3, Some("dup@example.com"), None, 300, false, false),
        // +628222: nobody verified it: the oldest (4) keeps it; 5 keeps its email.
        claim(4, None, Some("+628222"), 100, false, false),
        claim(
            5,
            Some("five@example.com"),
            Some("+628222"),
            100,
            false,
            false,
        ),
        claim(6, None, Some("+628222"), 400, false, false),
        // Alone: untouched.
        claim(
            7,
            Some("solo@example.com"),
            Some("+628777"),
            50,
            false,
            true,
        ),
    ];
    for c in &claims {
        insert_claim(&db, c).await;
    }
    let lost = insert_code(&db, Uuid::from_u128(3), "dup@example.com").await;
    let kept = insert_code(&db, Uuid::from_u128(2), "dup@example.com").await;
    let also_kept = insert_code(&db, Uuid::from_u128(1), "+628111").await;
    db.migrate(None).await.unwrap();

    let users = fypass::users::store::list(&db).await.unwrap();
    let of = |n: u128| {
        let u = users.iter().find(|u| u.id == Uuid::from_u128(n)).unwrap();
        (
            u.email.as_deref(),
            u.whatsapp.as_deref(),
            u.email_verified_at.is_some(),
            u.whatsapp_verified_at.is_some(),
        )
    };
    assert_eq!(of(1), (None, Some("+628111"), false, false));
    assert_eq!(of(2), (Some("dup@example.com"), None, true, false));
    assert_eq!(of(3), (None, None, false, false), "left with nothing");
    // 4 and 5 were created at the same millisecond: the smaller id is the older.
    assert_eq!(of(4), (None, Some("+628222"), false, false));
    assert_eq!(of(5), (Some("five@example.com"), None, false, false));
    assert_eq!(of(6), (None, None, false, false));
    assert_eq!(
        of(7),
        (Some("solo@example.com"), Some("+628777"), false, true)
    );
    let mut expected = vec![kept, also_kept];
    expected.sort();
    assert_eq!(code_ids(&db).await, expected, "{lost} went");
    // From now on a value is one account's, verified or not.
    let again = Claim {
        id: Uuid::from_u128(8),
        email: Some("five@example.com"),
        whatsapp: None,
        created_at: 500,
        email_verified: false,
        whatsapp_verified: false,
    };
    let sql = "INSERT INTO users (id, name, email, password_hash, status, created_at, updated_at)
               VALUES ($1, 'New', $2, 'x', 'active', $3, $3)";
    let refused = match &db {
        Db::Sqlite { writer, .. } => sqlx::query(sql)
            .bind(again.id)
            .bind(again.email)
            .bind(again.created_at)
            .execute(writer)
            .await
            .map(drop),
        Db::Postgres(pg) => sqlx::query(sql)
            .bind(again.id)
            .bind(again.email)
            .bind(again.created_at)
            .execute(&pg.pool)
            .await
            .map(drop),
    };
    let error = refused.expect_err("a second claim is refused");
    let code = fypass::error::ApiError::from(error).code;
    assert_eq!(
        code.as_str(),
        "DUPLICATE_KEY",
        "on {}",
        if on_postgres() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    db.close().await;
}

/// The registration budget is spent before an "already taken" answer: one network cannot
/// test any number of addresses for accounts (issue 23 point 10).
#[tokio::test]
async fn the_registration_budget_comes_before_already_taken() {
    let t = TestApp::spawn_behind_proxy(|c| c.registrations_per_hour = 3).await;
    for (i, email) in ["a@example.com", "b@example.com", "c@example.com"]
        .iter()
        .enumerate()
    {
        let res = t
            .post_from(
                &format!("203.0.113.{}", i + 1),
                REGISTER,
                json!({"name": "Someone", "email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(res.status(), 200);
    }
    // One network asks about them, and about addresses nobody has.
    let probe = |email: &str| {
        t.post_from(
            "198.51.100.7",
            REGISTER,
            json!({"name": "Probe", "email": email, "password": PASSWORD}),
        )
    };
    for email in ["a@example.com", "b@example.com", "c@example.com"] {
        expect_error(probe(email).await, 409, "DUPLICATE_KEY").await;
    }
    for email in ["a@example.com", "nobody@example.com"] {
        expect_error(probe(email).await, 429, "TOO_MANY_REQUESTS").await;
    }
}

/// A sign-in code proves the address as a recovery code does: through an address that was
/// never verified, the account is handed over the same way (and its password is one nobody
/// knows until the person sets one), so signing in with a code does not leave a squatter in.
#[tokio::test]
async fn a_sign_in_code_through_a_never_verified_address_hands_the_account_over_too() {
    let t = spawn().await;
    let app = t.app_client().await;
    let squatters = t
        .person("lia@example.com")
        .whatsapp("0812-6666-0002")
        .from("198.51.100.66")
        .register()
        .await
        .session;
    let token = t.start(&app, json!({})).await;
    let res = post_as(
        &t,
        "127.0.0.1",
        &[],
        "/api/v1/fypass/code",
        json!({"reqToken": token, "identifier": "lia@example.com"}),
    )
    .await;
    assert_eq!(res.status(), 202);
    let code = code_for(&t, "lia@example.com", "sign-in", 1).await;
    let res = post_as(
        &t,
        "127.0.0.1",
        &[],
        "/api/v1/fypass/code/login",
        json!({"reqToken": token, "identifier": "lia@example.com", "code": code}),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let polled: Value = t.poll(&app, &token).await.json().await.unwrap();
    assert!(polled["user"]["emailVerifiedAt"].is_string());
    assert!(polled["user"].get("whatsapp").is_none(), "{polled}");
    expect_error(account(&t, &squatters).await, 401, "UNAUTHORIZED").await;
    for identifier in ["lia@example.com", "0812-6666-0002"] {
        let res = post_as(
            &t,
            "198.51.100.66",
            &[],
            LOGIN,
            json!({"identifier": identifier, "password": PASSWORD}),
        )
        .await;
        assert!(
            [401, 404].contains(&res.status().as_u16()),
            "{identifier}: {}",
            res.status()
        );
    }
    // A second code sign-in, now through a verified address, just signs in.
    t.execute("DELETE FROM throttle WHERE key LIKE 'code:cooldown:%'")
        .await;
    let token = t.start(&app, json!({})).await;
    let res = post_as(
        &t,
        "127.0.0.1",
        &[],
        "/api/v1/fypass/code",
        json!({"reqToken": token, "identifier": "lia@example.com"}),
    )
    .await;
    assert_eq!(res.status(), 202);
    let code = code_for(&t, "lia@example.com", "sign-in", 2).await;
    let res = post_as(
        &t,
        "127.0.0.1",
        &[],
        "/api/v1/fypass/code/login",
        json!({"reqToken": token, "identifier": "lia@example.com", "code": code}),
    )
    .await;
    assert_eq!(res.status(), 200);
}
