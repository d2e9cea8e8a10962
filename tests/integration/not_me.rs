//! The alerts' "this wasn't me" link (SPEC §16) against an account takeover (§13): using it
//! signs everyone out and starts a recovery at the address the alert went to — also when
//! whoever got in has since replaced that address with theirs, which then is the account's
//! again. Its page only looks: a used or expired link shows no button.

use crate::{
    activity::{activity, sign_in},
    factors::{self, enrol},
    identifiers::{code_for, messages_to},
    support::{PASSWORD, TestApp, cookie_named, expect_error, no_redirects, session_cookie},
};
use fypass::users::identifier::Identifier;
use serde_json::{Value, json};

/// The browser of whoever got into the account.
const INTRUDER: &str = "Intruder's browser";

/// The path (`/fypass/not-me?token=…`) of the link in the alert `body`.
fn link_path(body: &str) -> String {
    let link = body
        .split_whitespace()
        .find(|w| w.contains("/fypass/not-me?token="))
        .unwrap_or_else(|| panic!("a link in {body}"));
    link[link.find("/fypass").unwrap()..].to_string()
}

/// The newest alert to `to` (its text) and the path of its link.
async fn newest_alert(t: &TestApp, to: &str) -> (String, String) {
    let alerts = messages_to(t, to, "alert").await;
    let body = alerts
        .first()
        .and_then(|m| m.body.clone())
        .unwrap_or_else(|| panic!("an alert to {to}"));
    let path = link_path(&body);
    (body, path)
}

/// Presses the button on the link's page (a plain form post from this site).
async fn press(t: &TestApp, path: &str) -> reqwest::Response {
    no_redirects()
        .post(t.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", format!("http://{}", t.addr))
        .body("")
        .send()
        .await
        .unwrap()
}

/// Presses the button of link `path`, which works: sent on to recover the account at `to`.
async fn assert_recovers_to(t: &TestApp, path: &str, to: &str) {
    let res = press(t, path).await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    assert_eq!(res.headers()["location"], to);
}

/// Whether the browser holding `cookie` is still signed in.
async fn signed_in(t: &TestApp, cookie: &str) -> bool {
    let res = t
        .http
        .get(t.url("/_app/account"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    match res.status().as_u16() {
        200 => true,
        _ => {
            expect_error(res, 401, "UNAUTHORIZED").await;
            false
        }
    }
}

/// Gives the account signed in as `cookie` (in the intruder's browser) the email address or
/// number `identifier` — in place of its own of that kind, or as its first of that kind —,
/// as a person does on `/account`: a code sent there, typed (the sign-in a moment ago is the
/// proof it needs).
async fn change(t: &TestApp, cookie: &str, identifier: &str) {
    let res = t
        .http
        .post(t.url("/_app/account/identifier"))
        .header("cookie", cookie)
        .json(&json!({"identifier": identifier}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let code = code_for(t, &stored(identifier), "change", 1).await;
    let res = t
        .http
        .post(t.url("/api/v1/fypass/verify"))
        .header("cookie", cookie)
        .header("user-agent", INTRUDER)
        .json(&json!({"identifier": identifier, "code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

/// `identifier` as stored and as messages are addressed (a number in E.164).
fn stored(identifier: &str) -> String {
    Identifier::parse(identifier, 62)
        .unwrap()
        .as_str()
        .to_string()
}

/// Sets a new password with the recovery code a link sent to `address` (the owner, back in
/// their account): the reply (a session, or the second step the account asks for).
async fn recover(t: &TestApp, address: &str) -> reqwest::Response {
    let code = code_for(t, address, "recovery", 1).await;
    let res = t
        .post(
            "/api/v1/fypass/recovery/complete",
            json!({"identifier": address, "code": code, "newPassword": "a brand new passphrase"}),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    res
}

/// What the activity `page` says a "this wasn't me" link did (its entries' kinds, sorted).
fn by_link(page: &Value) -> Vec<&str> {
    let mut kinds: Vec<&str> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["detail"] == "not_me")
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    kinds.sort();
    kinds
}

/// Ana, registered with a verified address, and the cookie of an intruder who just signed in
/// to her account from another browser (which alerted her).
async fn ana_and_an_intruder(t: &TestApp) -> (uuid::Uuid, String) {
    let ana = t.person("ana@example.com").register().await;
    t.verified("ana@example.com").await;
    let intruder = sign_in(t, "ana@example.com", INTRUDER, None).await;
    (ana.id, intruder)
}

/// The alert of a new browser's sign-in, and its "this wasn't me" link: the intruder is out
/// (session and app token), a recovery code is on its way, and the link works once.
#[tokio::test]
async fn this_wasnt_me_locks_the_intruder_out_once() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    t.person("ana@example.com").register().await;
    t.verified("ana@example.com").await;
    let token = t.start(&app, json!({})).await;
    let intruder = sign_in(&t, "ana@example.com", INTRUDER, Some(&token)).await;
    let status: Value = t.poll(&app, &token).await.json().await.unwrap();
    let access = status["accessToken"].as_str().unwrap().to_string();

    let (body, path) = newest_alert(&t, "ana@example.com").await;
    assert!(body.contains(INTRUDER), "{body}");

    // Opening the link changes nothing (a mail scanner may open it).
    let page = t.page(&path).await.ok().html;
    assert!(page.contains(&format!("action=\"{path}\"")), "{page}");
    assert!(signed_in(&t, &intruder).await);

    assert_recovers_to(&t, &path, "/fypass/recover?to=ana%40example.com").await;
    assert!(!signed_in(&t, &intruder).await);
    let res = t.me(&app, &access).await;
    assert_eq!(res.status(), 401);
    let outbox = fypass::courier::outbox::list(t.db(), 20).await.unwrap();
    assert_eq!(outbox[0].purpose, "recovery", "{outbox:?}");

    // Once only.
    let res = press(&t, &path).await;
    assert_eq!(res.status(), 400);
}

/// Someone who got into Ana's account moves it to their own address. Her address gets the
/// alert (the new one is not named), and its link gives the account back: the intruder is
/// out, their address is gone, and the recovery code goes to Ana's address, with which she
/// sets a new password and sees what happened.
#[tokio::test]
async fn the_replaced_address_gets_the_alert_and_its_link_takes_the_account_back() {
    let t = TestApp::spawn().await;
    let (ana, intruder) = ana_and_an_intruder(&t).await;
    change(&t, &intruder, "mallory@example.com").await;

    let (body, path) = newest_alert(&t, "ana@example.com").await;
    assert!(
        body.contains("The email address of your fypass account was just changed"),
        "{body}"
    );
    assert!(body.contains(INTRUDER), "where from: {body}");
    assert!(!body.contains("mallory"), "the new address is not named");
    assert!(
        messages_to(&t, "mallory@example.com", "alert")
            .await
            .is_empty()
    );

    assert_recovers_to(&t, &path, "/fypass/recover?to=ana%40example.com").await;
    assert!(!signed_in(&t, &intruder).await);
    assert_eq!(t.holder("ana@example.com").await, Some(ana));
    assert_eq!(t.holder("mallory@example.com").await, None);
    assert!(
        messages_to(&t, "mallory@example.com", "recovery")
            .await
            .is_empty()
    );

    let res = recover(&t, "ana@example.com").await;
    let page = activity(&t, &session_cookie(&res)).await;
    assert_eq!(
        by_link(&page),
        ["identifier_changed", "signed_out_everywhere"],
        "{page}"
    );
}

/// An alert sent before the address was replaced (here: the intruder's sign-in) still
/// recovers to the address it went to, which is the account's again.
#[tokio::test]
async fn a_link_sent_before_the_change_still_recovers_to_its_address() {
    let t = TestApp::spawn().await;
    let (ana, intruder) = ana_and_an_intruder(&t).await;
    let (_, before) = newest_alert(&t, "ana@example.com").await;
    change(&t, &intruder, "mallory@example.com").await;

    assert_recovers_to(&t, &before, "/fypass/recover?to=ana%40example.com").await;
    assert!(!signed_in(&t, &intruder).await);
    assert_eq!(t.holder("ana@example.com").await, Some(ana));
    assert_eq!(t.holder("mallory@example.com").await, None);
    let outbox = fypass::courier::outbox::list(t.db(), 20).await.unwrap();
    assert_eq!(
        (outbox[0].purpose.as_str(), outbox[0].to.as_str()),
        ("recovery", "ana@example.com"),
        "{outbox:?}"
    );
}

/// Once the intruder moved the account away, someone else registered Ana's old address.
/// The link still signs everyone out of her account and removes the intruder's address from
/// it, but leaves the other account alone and sends no recovery code anywhere; its page
/// says why.
#[tokio::test]
async fn when_another_account_has_the_address_now_everyone_is_out_and_no_code_is_sent() {
    let t = TestApp::spawn().await;
    let (ana, intruder) = ana_and_an_intruder(&t).await;
    change(&t, &intruder, "mallory@example.com").await;
    let (_, path) = newest_alert(&t, "ana@example.com").await;
    let other = t.person("ana@example.com").register().await;
    let sent_before = fypass::courier::outbox::list(t.db(), 200)
        .await
        .unwrap()
        .len();

    let res = press(&t, &path).await;
    assert_eq!(res.status(), 409);
    let page = TestApp::page_html(res).await;
    assert!(page.contains("now belongs to another account"), "{page}");
    assert!(!page.contains(&format!("action=\"{path}\"")), "{page}");
    assert!(!signed_in(&t, &intruder).await);
    assert!(
        signed_in(&t, &other.session).await,
        "the other account is left alone"
    );
    assert_eq!(t.holder("ana@example.com").await, Some(other.id));
    assert_eq!(t.holder("mallory@example.com").await, None);
    let outbox = fypass::courier::outbox::list(t.db(), 200).await.unwrap();
    assert_eq!(outbox.len(), sent_before, "nothing sent: {outbox:?}");
    let anas = fypass::users::store::find(t.db(), ana)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        anas.email, None,
        "the intruder's address is gone from her account"
    );
}

/// The page of a link used, expired or never made says so, shows no button and leads to the
/// recovery page; opening a working link's page (twice) does not spend it.
#[tokio::test]
async fn a_used_or_expired_links_page_has_no_button_and_leads_to_recovery() {
    let t = TestApp::spawn().await;
    ana_and_an_intruder(&t).await;
    let (_, path) = newest_alert(&t, "ana@example.com").await;
    let button = format!("action=\"{path}\"");
    let recover = "href=\"/fypass/recover\"";
    for _ in 0..2 {
        let page = t.page(&path).await.ok().html;
        assert!(page.contains(&button), "{page}");
        assert!(!page.contains(recover), "{page}");
    }

    assert_eq!(press(&t, &path).await.status(), 303);
    let used = t.page(&path).await.ok().html;
    assert!(!used.contains(&button), "{used}");
    assert!(used.contains("This link no longer works"), "{used}");
    assert!(used.contains(recover), "{used}");
    // Pressed again (a page left open): the same, with why.
    let res = press(&t, &path).await;
    assert_eq!(res.status(), 400);
    let again = TestApp::page_html(res).await;
    assert!(!again.contains(&button), "{again}");
    assert!(again.contains(recover), "{again}");

    // A fresh link, left 7 days; and one never made.
    sign_in(&t, "ana@example.com", "Another browser", None).await;
    let (_, fresh) = newest_alert(&t, "ana@example.com").await;
    t.execute("UPDATE alert_links SET expires_at = 0").await;
    for path in [fresh.as_str(), "/fypass/not-me?token=fyx_made_up"] {
        let page = t.page(path).await.ok().html;
        assert!(!page.contains("action=\"/fypass/not-me"), "{page}");
        assert!(page.contains(recover), "{page}");
    }
    // In Indonesian too.
    let page = t.page(&fresh).language("id").await.ok().html;
    assert!(page.contains("Tautan ini tidak berlaku lagi"), "{page}");
}

/// Someone who got into an account whose only identifier is of one kind gives it one of the
/// other kind — theirs, through which they could recover the account later. The account's
/// verified address gets the alert with its link (the new one is not named); so it does when
/// the identifier replaced was never verified (the code told only that one).
#[tokio::test]
async fn an_identifier_added_alerts_the_verified_address() {
    let t = TestApp::spawn().await;
    t.person("ana@example.com").register().await;
    t.person_on_whatsapp("0812-5000-0001").register().await;
    t.person("cita@example.com")
        .whatsapp("0812-5000-0002")
        .register()
        .await;
    let scenes = [
        // Their address, the intruder's, what the alert says.
        (
            "ana@example.com",
            "0812-5000-0009",
            "A WhatsApp number was just added to your fypass account",
        ),
        (
            "+6281250000001",
            "mallory@example.com",
            "An email address was just added to your fypass account",
        ),
        // (Cita's number was never verified: a notice tells it, the alert her address.)
        (
            "cita@example.com",
            "0812-5000-0008",
            "A WhatsApp number was just added to your fypass account",
        ),
    ];
    for (theirs, intruders, says) in scenes {
        t.verified(theirs).await;
        let intruder = sign_in(&t, theirs, INTRUDER, None).await;
        let before = messages_to(&t, theirs, "alert").await.len();
        change(&t, &intruder, intruders).await;
        let alerts = messages_to(&t, theirs, "alert").await;
        assert_eq!(alerts.len(), before + 1, "{theirs}: {alerts:?}");
        let (body, _) = newest_alert(&t, theirs).await;
        assert!(body.contains(says), "{body}");
        assert!(body.contains(INTRUDER), "where from: {body}");
        assert!(!body.contains(&stored(intruders)), "not named: {body}");
        let mine = messages_to(&t, &stored(intruders), "alert").await;
        assert!(mine.is_empty(), "{mine:?}");
    }
    assert_eq!(messages_to(&t, "+6281250000002", "changed").await.len(), 1);
}

/// The intruder verified their own number on Ana's account (her address was alerted). The
/// link of that alert, or of the sign-in before, takes the number off the account: it cannot
/// recover the account again. A number the account had verified before the link was made
/// stays.
#[tokio::test]
async fn the_link_removes_what_was_verified_since_it_was_made() {
    let t = TestApp::spawn().await;
    for (email, number, which) in [
        ("ana@example.com", "0812-5100-0001", "the addition's"),
        ("budi@example.com", "0812-5100-0002", "the sign-in's"),
    ] {
        let (id, intruder) = {
            let person = t.person(email).register().await;
            t.verified(email).await;
            (person.id, sign_in(&t, email, INTRUDER, None).await)
        };
        let (_, sign_in_link) = newest_alert(&t, email).await;
        change(&t, &intruder, number).await;
        let (_, added_link) = newest_alert(&t, email).await;
        assert_eq!(t.holder(number).await, Some(id));
        let path = match which {
            "the addition's" => added_link,
            _ => sign_in_link,
        };

        let res = press(&t, &path).await;
        assert_eq!(res.status(), 303, "{which}: {}", res.text().await.unwrap());
        assert_eq!(t.holder(email).await, Some(id));
        assert_eq!(t.holder(number).await, None, "{which} link removes it");
        let res = recover(&t, email).await;
        let page = activity(&t, &session_cookie(&res)).await;
        assert_eq!(
            by_link(&page),
            ["identifier_removed", "signed_out_everywhere"],
            "{page}"
        );
    }

    // Cita's number, verified before the intruder's sign-in, is hers still.
    let cita = t
        .person("cita@example.com")
        .whatsapp("0812-5100-0003")
        .register()
        .await;
    t.verified("cita@example.com").await;
    t.verified("0812-5100-0003").await;
    sign_in(&t, "cita@example.com", INTRUDER, None).await;
    let (_, path) = newest_alert(&t, "cita@example.com").await;
    assert_eq!(press(&t, &path).await.status(), 303);
    assert_eq!(t.holder("0812-5100-0003").await, Some(cita.id));
    let account = fypass::users::store::find(t.db(), cita.id)
        .await
        .unwrap()
        .unwrap();
    assert!(account.whatsapp_verified_at.is_some());
}

/// The intruder turned on their own authenticator app on Ana's account. The link of the
/// alert that told her removes it with its recovery codes: her recovery signs her in, with
/// no second step set up by someone else in the way. Budi's own app, on before the link was
/// made (the alert of a password change), stays: his recovery still asks for it.
#[tokio::test]
async fn the_link_removes_a_second_factor_turned_on_since_it_was_made() {
    let t = TestApp::spawn().await;
    let (ana, intruder) = ana_and_an_intruder(&t).await;
    enrol(&t, &intruder).await;
    let (body, path) = newest_alert(&t, "ana@example.com").await;
    assert!(
        body.contains("An authenticator app was just turned on"),
        "{body}"
    );

    assert_eq!(press(&t, &path).await.status(), 303);
    let res = recover(&t, "ana@example.com").await;
    let cookie = cookie_named(&res, "fypass_session");
    let reply: Value = res.json().await.unwrap();
    assert_eq!(reply["secondFactor"], Value::Null, "{reply}");
    let page = activity(&t, &cookie.expect("signed in, no second step")).await;
    assert_eq!(
        by_link(&page),
        ["factor_removed", "signed_out_everywhere"],
        "{page}"
    );
    let left = fypass::users::factor::recovery_codes_left(t.db(), ana);
    assert_eq!(left.await.unwrap(), 0, "its recovery codes are gone too");

    let budi = t.person("budi@example.com").register().await;
    t.verified("budi@example.com").await;
    enrol(&t, &budi.session).await;
    let res = factors::post(
        &t,
        &budi.session,
        None,
        "/_app/account/password",
        json!({"current": PASSWORD, "new": "a second password"}),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let (body, path) = newest_alert(&t, "budi@example.com").await;
    assert!(body.contains("password"), "{body}");
    assert_eq!(press(&t, &path).await.status(), 303);
    let res = recover(&t, "budi@example.com").await;
    assert_eq!(cookie_named(&res, "fypass_session"), None);
    let reply: Value = res.json().await.unwrap();
    assert_eq!(reply["secondFactor"], true, "{reply}");
}
