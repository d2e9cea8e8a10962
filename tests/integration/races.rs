//! Races between what ends a person's sign-ins (a recovery, a new password, "sign out
//! everywhere") and what gives someone a sign-in (a password checked a moment before, a
//! refresh, a collected login request, an identifier change). Each test fires both at once,
//! many times, on whichever database the run uses, and checks what the loser can still do:
//! nothing.

use crate::support::{App, LOGIN, PASSWORD, TestApp, join_all, session_cookie};
use serde_json::{Value, json};
use std::time::Duration;

const SQUATTERS: &str = "the squatter's password";

/// Behind a trusted proxy (tests act from several networks), with room in the hashing queue
/// for every concurrent sign-in of a test.
async fn spawn() -> TestApp {
    TestApp::spawn_behind_proxy(|c| c.password_queue = Some(64)).await
}

/// A JSON POST from `ip` with the cookie header `cookie` (if any).
fn post_as(
    t: &TestApp,
    ip: &str,
    cookie: Option<&str>,
    path: &str,
    body: Value,
) -> impl std::future::Future<Output = reqwest::Response> + Send + 'static + use<> {
    let mut req = t
        .http
        .post(t.url(path))
        .header("x-forwarded-for", ip)
        .json(&body);
    if let Some(cookie) = cookie {
        req = req.header("cookie", cookie);
    }
    async move { req.send().await.unwrap() }
}

/// What `/_app/account` answers the browser holding `session`: its status, and the person.
async fn account(t: &TestApp, session: &str) -> (u16, Value) {
    let res = t
        .http
        .get(t.url("/_app/account"))
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// The code of the newest message to `to` for `purpose` (codes wait in the outbox: no
/// channel is configured).
async fn code_for(t: &TestApp, to: &str, purpose: &str) -> String {
    for _ in 0..100 {
        let listed = fypass::courier::outbox::list(t.db(), 500).await.unwrap();
        if let Some(m) = listed.iter().find(|m| m.to == to && m.purpose == purpose) {
            return crate::channels::code_in(m.body.as_deref().unwrap());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no {purpose} message to {to}");
}

fn refresh(
    t: &TestApp,
    app: &App,
    token: &str,
) -> impl std::future::Future<Output = reqwest::Response> + Send + 'static + use<> {
    let req = t
        .http
        .post(t.url("/api/v1/users/token"))
        .header("x-client-key", &app.key)
        .json(&json!({"refreshToken": token}));
    async move { req.send().await.unwrap() }
}

/// The app's request `req`, polled: the access token it hands out, if any.
async fn collected(t: &TestApp, app: &App, req: &str) -> Option<String> {
    let polled: Value = t.poll(app, req).await.json().await.unwrap();
    polled["accessToken"].as_str().map(String::from)
}

/// A revocation stamped in the very millisecond a sign-in completed cannot tell which came
/// first, so the sign-in is void: its app collects no token (`<`, not `<=`).
#[tokio::test]
async fn a_revocation_in_the_same_millisecond_as_a_completion_voids_it() {
    let t = spawn().await;
    let app = t.app_client().await;
    let milli = t
        .person("milli@example.com")
        .via(&app)
        .uncollected()
        .register()
        .await;
    let req = milli.request();
    // "Sign out everywhere" lands in the millisecond the registration completed.
    t.execute(
        "UPDATE users SET revoked_before =
           (SELECT completed_at FROM login_requests r WHERE r.user_id = users.id)",
    )
    .await;
    let polled: Value = t.poll(&app, req).await.json().await.unwrap();
    assert_eq!(polled["status"], "EXPIRED", "{polled}");
    assert!(polled.get("accessToken").is_none(), "{polled}");
    // A sign-in after it is collected as usual.
    let req = t.start(&app, json!({})).await;
    let res = post_as(
        &t,
        "127.0.0.1",
        None,
        LOGIN,
        json!({"reqToken": req, "identifier": "milli@example.com", "password": PASSWORD}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let token = collected(&t, &app, &req).await.expect("a token");
    assert_eq!(t.me(&app, &token).await.status(), 200);
}

/// An app's refreshes racing the person's "sign out everywhere": a pair issued by a refresh
/// that ran alongside it must be revoked with everything else (on PostgreSQL the revocation's
/// `UPDATE` did not see the rows a refresh was inserting; the person's row is now the lock
/// both take).
#[tokio::test]
async fn refreshes_racing_a_sign_out_everywhere_leave_no_working_token() {
    let t = spawn().await;
    let app = t.app_client().await;
    t.person("rafi@example.com")
        .from("127.0.0.1")
        .register()
        .await;
    let mut issued_alongside = 0;
    for round in 0..6 {
        // Twelve sign-ins of the app (twelve families), and this browser's session.
        let mut refresh_tokens = Vec::new();
        let mut session = String::new();
        for _ in 0..12 {
            let req = t.start(&app, json!({})).await;
            let res = post_as(
                &t,
                "127.0.0.1",
                None,
                LOGIN,
                json!({"reqToken": req, "identifier": "rafi@example.com", "password": PASSWORD}),
            )
            .await;
            assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
            session = session_cookie(&res);
            let polled: Value = t.poll(&app, &req).await.json().await.unwrap();
            refresh_tokens.push(polled["refreshToken"].as_str().unwrap().to_string());
        }
        let refreshes = join_all(refresh_tokens.iter().map(|r| refresh(&t, &app, r)));
        let sign_out = post_as(
            &t,
            "127.0.0.1",
            Some(&session),
            "/_app/account/sign-out-everywhere",
            json!({}),
        );
        let (refreshed, signed_out) = tokio::join!(refreshes, sign_out);
        assert_eq!(signed_out.status(), 200, "round {round}");
        for res in refreshed {
            if res.status() != 200 {
                assert_eq!(res.status(), 401, "round {round}");
                continue;
            }
            issued_alongside += 1;
            let pair: Value = res.json().await.unwrap();
            let access = pair["accessToken"].as_str().unwrap();
            assert_eq!(
                t.me(&app, access).await.status().as_u16(),
                401,
                "round {round}: a pair refreshed alongside the sign-out still works"
            );
            let again = refresh(&t, &app, pair["refreshToken"].as_str().unwrap()).await;
            assert_eq!(again.status(), 401, "round {round}");
        }
    }
    eprintln!("{issued_alongside} pairs issued alongside a sign-out everywhere, none working");
}

/// The squatter signs in with their password while the person recovers the address they
/// registered: a sign-in whose password was checked just before the recovery replaced it
/// must not start a session or complete a request after the recovery ended everything.
#[tokio::test]
async fn sign_ins_racing_a_recovery_of_a_squatted_account_keep_nothing() {
    let t = spawn().await;
    let app = t.app_client().await;
    let mut squatter_wins = Vec::new();
    for round in 0..4 {
        let email = format!("lia{round}@example.com");
        let squatter_ip = format!("198.51.100.{}", 10 + round);
        t.person(&email)
            .password(SQUATTERS)
            .from(&squatter_ip)
            .register()
            .await;
        let res = post_as(
            &t,
            "203.0.113.5",
            None,
            "/api/v1/fypass/recovery",
            json!({"identifier": email}),
        )
        .await;
        assert_eq!(res.status(), 202);
        let code = code_for(&t, &email, "recovery").await;

        // Six sign-ins of the squatter (requests of their own app) and Lia's recovery.
        let mut reqs = Vec::new();
        for _ in 0..6 {
            reqs.push(t.start(&app, json!({})).await);
        }
        let sign_ins = join_all(reqs.iter().map(|req| {
            post_as(
                &t,
                "127.0.0.1",
                None,
                LOGIN,
                json!({"reqToken": req, "identifier": email, "password": SQUATTERS}),
            )
        }));
        let recovery = post_as(
            &t,
            "203.0.113.5",
            None,
            "/api/v1/fypass/recovery/complete",
            json!({"identifier": email, "code": code, "newPassword": PASSWORD}),
        );
        let (sign_ins, recovered) = tokio::join!(sign_ins, recovery);
        assert_eq!(recovered.status(), 200, "round {round}");
        for (req, res) in reqs.iter().zip(sign_ins) {
            if res.status() != 200 {
                continue;
            }
            let session = session_cookie(&res);
            let (status, _) = account(&t, &session).await;
            let token = collected(&t, &app, req).await;
            if status != 401 || token.is_some() {
                squatter_wins.push((round, status, token.is_some()));
            }
        }
    }
    assert!(
        squatter_wins.is_empty(),
        "squatter sign-ins that outlived the recovery (round, /account status, token collected): {squatter_wins:?}"
    );
}

/// The squatter changes the password of the account while the person recovers it: the
/// recovery's password is the one that stays, and the squatter's session ends.
#[tokio::test]
async fn a_password_change_racing_the_hand_over_does_not_win_the_account_back() {
    let t = spawn().await;
    let mut lost = Vec::new();
    for round in 0..4 {
        let email = format!("ira{round}@example.com");
        let squatter_ip = format!("198.51.100.{}", 20 + round);
        let squatter = t
            .person(&email)
            .password(SQUATTERS)
            .from(&squatter_ip)
            .register()
            .await
            .session;
        let res = post_as(
            &t,
            "203.0.113.6",
            None,
            "/api/v1/fypass/recovery",
            json!({"identifier": email}),
        )
        .await;
        assert_eq!(res.status(), 202);
        let code = code_for(&t, &email, "recovery").await;

        let change = post_as(
            &t,
            &squatter_ip,
            Some(&squatter),
            "/_app/account/password",
            json!({"current": SQUATTERS, "new": "the squatter's new password"}),
        );
        let recovery = post_as(
            &t,
            "203.0.113.6",
            None,
            "/api/v1/fypass/recovery/complete",
            json!({"identifier": email, "code": code, "newPassword": PASSWORD}),
        );
        let (changed, recovered) = tokio::join!(change, recovery);
        assert_eq!(recovered.status(), 200, "round {round}");
        let sign_in = |password: &'static str| {
            post_as(
                &t,
                "203.0.113.6",
                None,
                LOGIN,
                json!({"identifier": email, "password": password}),
            )
        };
        let persons = sign_in(PASSWORD).await.status().as_u16();
        let squatters = sign_in("the squatter's new password")
            .await
            .status()
            .as_u16();
        let session_after = match changed.status().as_u16() {
            200 => account(&t, &session_cookie(&changed)).await.0,
            _ => 401,
        };
        if (persons, squatters, session_after) != (200, 401, 401) {
            lost.push((
                round,
                changed.status().as_u16(),
                persons,
                squatters,
                session_after,
            ));
        }
    }
    assert!(
        lost.is_empty(),
        "(round, the change's status, the person's sign-in, the squatter's new password, the squatter's new session): {lost:?}"
    );
}

/// The squatter moves the account to another address (with a code sent there) while the
/// person recovers the one they squatted: the person never ends up in an account whose
/// address the squatter holds (they could recover it back through it). Either the recovery
/// wins — the account has the person's address, verified — or the change does, and the
/// recovery is refused (the person's address is then free).
#[tokio::test]
async fn a_hand_over_racing_the_squatters_address_change_leaves_the_address_with_one_account() {
    let t = spawn().await;
    let mut broken = Vec::new();
    for round in 0..6u64 {
        let email = format!("uma{round}@example.com");
        let elsewhere = format!("squatter{round}@example.net");
        let squatter_ip = format!("198.51.100.{}", 30 + round);
        let squatter = t
            .person(&email)
            .password(SQUATTERS)
            .from(&squatter_ip)
            .register()
            .await
            .session;
        let res = post_as(
            &t,
            &squatter_ip,
            Some(&squatter),
            "/_app/account/identifier",
            json!({"identifier": elsewhere, "password": SQUATTERS}),
        )
        .await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        let change_code = code_for(&t, &elsewhere, "change").await;
        let res = post_as(
            &t,
            "203.0.113.7",
            None,
            "/api/v1/fypass/recovery",
            json!({"identifier": email}),
        )
        .await;
        assert_eq!(res.status(), 202);
        let code = code_for(&t, &email, "recovery").await;

        // The change lands while the recovery hashes its new password (or just before).
        let recovery = post_as(
            &t,
            "203.0.113.7",
            None,
            "/api/v1/fypass/recovery/complete",
            json!({"identifier": email, "code": code, "newPassword": PASSWORD}),
        );
        let change = post_as(
            &t,
            &squatter_ip,
            Some(&squatter),
            "/api/v1/fypass/verify",
            json!({"identifier": elsewhere, "code": change_code}),
        );
        let delayed_change = async move {
            tokio::time::sleep(Duration::from_millis(5 * round)).await;
            change.await
        };
        let (recovered, changed) = tokio::join!(recovery, delayed_change);
        let changed = changed.status().as_u16();
        match recovered.status().as_u16() {
            200 => {
                let (status, person) = account(&t, &session_cookie(&recovered)).await;
                let user = &person["user"];
                if status != 200
                    || user["email"] != email.as_str()
                    || !user["emailVerifiedAt"].is_string()
                {
                    broken.push((round, changed, format!("recovered into {person}")));
                }
                let (squatters, _) = account(&t, &squatter).await;
                if squatters != 401 {
                    broken.push((round, changed, "the squatter is still signed in".into()));
                }
            }
            400 => {
                // Refused: the squatter moved first, and the address is nobody's now.
                let parsed = fypass::users::identifier::Identifier::parse(&email, 62).unwrap();
                let holder = fypass::users::store::find_by_identifier(t.db(), &parsed)
                    .await
                    .unwrap();
                if holder.is_some() || changed != 200 {
                    broken.push((round, changed, format!("refused, holder {holder:?}")));
                }
            }
            other => broken.push((round, changed, format!("recovery answered {other}"))),
        }
    }
    assert!(broken.is_empty(), "{broken:#?}");
}

/// "Continue as" racing "sign out everywhere" in another tab: the request is completed
/// before the revocation (and voided by it) or refused, never completed after it.
#[tokio::test]
async fn continue_as_racing_a_sign_out_everywhere_hands_out_no_token() {
    let t = spawn().await;
    let app = t.app_client().await;
    t.person("cita@example.com")
        .from("127.0.0.1")
        .register()
        .await;
    let mut leaked = 0;
    for round in 0..8 {
        let res = post_as(
            &t,
            "127.0.0.1",
            None,
            LOGIN,
            json!({"identifier": "cita@example.com", "password": PASSWORD}),
        )
        .await;
        assert_eq!(res.status(), 200);
        let session = session_cookie(&res);
        let mut reqs = Vec::new();
        for _ in 0..6 {
            reqs.push(t.start(&app, json!({})).await);
        }
        let continues = join_all(reqs.iter().map(|req| {
            post_as(
                &t,
                "127.0.0.1",
                Some(&session),
                "/_app/fypass/continue",
                json!({"reqToken": req}),
            )
        }));
        let sign_out = post_as(
            &t,
            "127.0.0.1",
            Some(&session),
            "/_app/account/sign-out-everywhere",
            json!({}),
        );
        let (_, signed_out) = tokio::join!(continues, sign_out);
        assert_eq!(signed_out.status(), 200, "round {round}");
        for req in &reqs {
            if collected(&t, &app, req).await.is_some() {
                leaked += 1;
            }
        }
    }
    assert_eq!(
        leaked, 0,
        "requests continued alongside a sign-out that still gave a token"
    );
}
