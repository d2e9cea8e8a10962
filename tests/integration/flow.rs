//! The hosted login flow over its REST routes: starting a login, registering, signing in,
//! polling for the token, and every error in its order.

use crate::support::{
    App, LOGIN, PASSWORD, REGISTER, START, STATUS, TestApp, expect_error, join_all,
};
use fypass::{clients::Grant, status::Status, users};
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test]
async fn starting_a_login_returns_the_fypass_url_with_201() {
    let t = TestApp::spawn_with(|c| c.public_url = Some("https://id.example.com".into())).await;
    let app = t.app_client().await;
    let res = t
        .http
        .post(t.url(START))
        .header("x-client-key", &app.key)
        .json(&json!({"redirectUrl": "https://app.example.com/done?x=1", "mode": "login", "locale": "id-ID"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: Value = res.json().await.unwrap();
    let token = body["reqToken"].as_str().unwrap();
    assert!(token.starts_with("fyr_") && token.len() == 47, "{token}");
    assert_eq!(
        body["url"],
        format!("https://id.example.com/fypass?reqToken={token}")
    );
    assert_eq!(body["interval"], 2);
    assert!(body["expiresAt"].as_str().unwrap().ends_with('Z'));
    // A bare POST works too: every field is optional; register mode opens the register page.
    let res = t
        .http
        .post(t.url(START))
        .header("x-client-key", &app.key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let register = t.start(&app, json!({"mode": "register"})).await;
    let res = t
        .http
        .post(t.url(START))
        .header("x-client-key", &app.key)
        .json(&json!({"mode": "register"}))
        .send()
        .await
        .unwrap();
    assert!(
        res.json::<Value>().await.unwrap()["url"]
            .as_str()
            .unwrap()
            .contains("/fypass/register?reqToken=")
    );
    assert!(register.starts_with("fyr_"));
}

#[tokio::test]
async fn start_login_validates_its_body_after_key_status_and_grant() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let send = |body: Value, key: String| {
        let t = &t;
        async move {
            t.http
                .post(t.url(START))
                .header("x-client-key", key)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let bad = json!({"redirectUrl": "https://app.example.com.evil.net/"});
    let e = expect_error(
        send(bad.clone(), app.key.clone()).await,
        422,
        "VALIDATION_ERROR",
    )
    .await;
    assert_eq!(e["details"][0]["field"], "redirectUrl");
    let e = expect_error(
        send(json!({"mode": "signup"}), app.key.clone()).await,
        422,
        "VALIDATION_ERROR",
    )
    .await;
    assert_eq!(e["details"][0]["field"], "mode");
    let e = expect_error(
        send(json!({"surprise": 1}), app.key.clone()).await,
        422,
        "VALIDATION_ERROR",
    )
    .await;
    assert_eq!(e["details"][0]["field"], "surprise");
    let e = expect_error(
        send(
            json!({"deviceInfo": {"deviceId": "", "platform": "tizen"}}),
            app.key.clone(),
        )
        .await,
        422,
        "VALIDATION_ERROR",
    )
    .await;
    assert_eq!(e["details"][0]["field"], "deviceInfo.platform");
    let e = expect_error(
        send(
            json!({"deviceInfo": {"deviceId": " ", "platform": "ios", "model": "x".repeat(200)}}),
            app.key.clone(),
        )
        .await,
        422,
        "VALIDATION_ERROR",
    )
    .await;
    let fields: Vec<_> = e["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["deviceInfo.deviceId", "deviceInfo.model"]);
    // Key and grant are checked before the body: a bad body still gets the auth errors.
    let (_, no_grant) = t.client(&[Grant::ClientsInfo]).await;
    expect_error(send(bad.clone(), no_grant).await, 403, "UNITSYSTEM00002").await;
    expect_error(send(bad, "fyk_nope".into()).await, 401, "UNITSYSTEM00001").await;
    let res = t
        .http
        .post(t.url(START))
        .header("x-client-key", &app.key)
        .header("content-type", "application/json")
        .body("{oops")
        .send()
        .await
        .unwrap();
    let e = expect_error(res, 422, "VALIDATION_ERROR").await;
    assert_eq!(e["details"][0]["field"], "body");
}

#[tokio::test]
async fn a_registration_completes_the_request_and_the_token_is_delivered_once() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let token = t
        .start(&app, json!({"redirectUrl": "https://app.example.com/done"}))
        .await;
    let pending: Value = t.poll(&app, &token).await.json().await.unwrap();
    assert_eq!(pending["status"], "PENDING");
    assert!(pending.get("accessToken").is_none());

    let res = t.post(REGISTER, json!({"reqToken": token, "name": "Alice", "email": " Alice@Example.COM", "whatsapp": "0812-3456-7890", "password": PASSWORD})).await;
    assert_eq!(res.status(), 200);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
            && !cookie.contains("Secure"),
        "{cookie}"
    );
    let body: Value = res.json().await.unwrap();
    // A verification code went to each identifier (optional: the request is complete).
    assert_eq!(
        body,
        json!({"status": "REGISTERED", "redirectUrl": "https://app.example.com/done",
               "verify": ["alice@example.com", "+6281234567890"]})
    );

    let first: Value = t.poll(&app, &token).await.json().await.unwrap();
    assert_eq!(first["status"], "REGISTERED");
    assert!(first["accessToken"].as_str().unwrap().starts_with("fyp_"));
    assert!(first["accessTokenExpiresAt"].as_str().is_some());
    assert_eq!(first["user"]["email"], "alice@example.com");
    assert_eq!(first["user"]["whatsapp"], "+6281234567890");
    assert_eq!(first["user"]["status"], "active");
    assert!(first["user"].get("passwordHash").is_none());
    let second: Value = t.poll(&app, &token).await.json().await.unwrap();
    assert_eq!(second["status"], "REGISTERED");
    assert!(
        second.get("accessToken").is_none() && second.get("user").is_none(),
        "{second}"
    );
    // The token works for the app that got it, and only that app.
    let token_value = first["accessToken"].as_str().unwrap();
    let (user, _) = fypass::tokens::access::authenticate(t.db(), token_value, app.id)
        .await
        .unwrap();
    assert_eq!(user.email.as_deref(), Some("alice@example.com"));
    let other = t.app_client().await;
    assert!(
        fypass::tokens::access::authenticate(t.db(), token_value, other.id)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn one_person_signs_in_with_any_spelling_of_their_email_or_number() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    t.person("Bob@Example.com")
        .whatsapp("+62 812-3456-7890")
        .register()
        .await;
    for identifier in [
        "bob@example.com",
        "  BOB@EXAMPLE.COM ",
        "081234567890",
        "6281234567890",
        "+62 812 3456 7890",
    ] {
        let token = t.start(&app, json!({})).await;
        let res = t
            .post(
                LOGIN,
                json!({"reqToken": token, "identifier": identifier, "password": PASSWORD}),
            )
            .await;
        assert_eq!(
            res.status(),
            200,
            "{identifier}: {}",
            res.text().await.unwrap()
        );
        let polled: Value = t.poll(&app, &token).await.json().await.unwrap();
        assert_eq!(polled["status"], "LOGGED_IN");
        assert_eq!(polled["user"]["email"], "bob@example.com");
    }
}

#[tokio::test]
async fn registration_errors_come_in_order_and_name_their_fields() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    // The reqToken comes first, even when the fields are wrong too.
    let e = expect_error(
        t.post(
            REGISTER,
            json!({"reqToken": "fyr_unknown", "name": "", "password": "x"}),
        )
        .await,
        400,
        "FAILED_UPDATE_USER_TOKEN",
    )
    .await;
    assert!(e.get("details").is_none());
    let token = t.start(&app, json!({})).await;
    let e = expect_error(
        t.post(REGISTER, json!({"reqToken": token, "name": " ", "email": "not-an-email", "whatsapp": "12", "password": "short"})).await,
        422,
        "VALIDATION_ERROR",
    )
    .await;
    let fields: Vec<_> = e["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "email", "whatsapp", "password"]);
    let e = expect_error(
        t.post(
            REGISTER,
            json!({"reqToken": token, "name": "A", "password": "long enough"}),
        )
        .await,
        422,
        "VALIDATION_ERROR",
    )
    .await;
    assert_eq!(e["details"][0]["field"], "email");
    // Nothing was written: the token is still open.
    t.person("carol@example.com")
        .whatsapp("081200000001")
        .via(&app)
        .register()
        .await;
    // Identifiers are exclusive, verified or not.
    t.verified("carol@example.com").await;
    t.verified("081200000001").await;
    let token = t.start(&app, json!({})).await;
    let e = expect_error(
        t.post(REGISTER, json!({"reqToken": token, "name": "C", "email": "CAROL@example.com", "whatsapp": "+62 812-0000-0001", "password": "long enough"})).await,
        409,
        "DUPLICATE_KEY",
    )
    .await;
    let fields: Vec<_> = e["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "whatsapp"]);
    // The failed registration left the request usable.
    let res = t.post(REGISTER, json!({"reqToken": token, "name": "Dan", "email": "dan@example.com", "password": "long enough"})).await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn login_errors_come_in_the_spec_order() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let erin = t
        .person("erin@example.com")
        .via(&app)
        .uncollected()
        .register()
        .await;
    let done = erin.request();
    let token = t.start(&app, json!({})).await;
    let attempt = |token: &str, identifier: &str, password: &str| json!({"reqToken": token, "identifier": identifier, "password": password});
    // A completed request, however wrong the rest.
    expect_error(
        t.post(LOGIN, attempt(done, "nobody@example.com", "x"))
            .await,
        400,
        "FAILED_UPDATE_USER_TOKEN",
    )
    .await;
    expect_error(
        t.post(LOGIN, attempt("garbage", "nobody@example.com", "x"))
            .await,
        400,
        "FAILED_UPDATE_USER_TOKEN",
    )
    .await;
    expect_error(
        t.post(LOGIN, attempt(&token, "nobody@example.com", "x"))
            .await,
        404,
        "USER_NOT_FOUND",
    )
    .await;
    let e = expect_error(
        t.post(LOGIN, attempt(&token, "not an identifier", "x"))
            .await,
        422,
        "VALIDATION_ERROR",
    )
    .await;
    assert_eq!(e["details"][0]["field"], "identifier");
    expect_error(
        t.post(LOGIN, attempt(&token, "erin@example.com", "wrong horse"))
            .await,
        401,
        "INVALID_PASSWORD",
    )
    .await;

    // Status is checked after the password: a wrong password still says so.
    let user = users::store::find_by_identifier(
        t.db(),
        &users::identifier::Identifier::parse("erin@example.com", 62).unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    for (status, code) in [
        (Status::Inactive, "USER_NOT_ACTIVE"),
        (Status::Suspended, "USER_SUSPENDED"),
        (Status::Deleted, "USER_DELETED"),
    ] {
        let mut tx = t.db().begin().await.unwrap();
        fypass::tokens::set_user_status(&mut tx, user.id, status)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        expect_error(
            t.post(LOGIN, attempt(&token, "erin@example.com", "wrong horse"))
                .await,
            401,
            "INVALID_PASSWORD",
        )
        .await;
        expect_error(
            t.post(LOGIN, attempt(&token, "erin@example.com", PASSWORD))
                .await,
            403,
            code,
        )
        .await;
    }
    let polled: Value = t.poll(&app, &token).await.json().await.unwrap();
    assert_eq!(
        polled["status"], "PENDING",
        "a refused login completes nothing"
    );
}

#[tokio::test]
async fn unknown_users_cost_one_dummy_verify_and_can_be_hidden() {
    let t = TestApp::spawn_with(|c| c.hide_user_existence = true).await;
    let app = t.app_client().await;
    let token = t.start(&app, json!({})).await;
    let before = t.state.passwords.verifications();
    expect_error(
        t.post(
            LOGIN,
            json!({"reqToken": token, "identifier": "ghost@example.com", "password": "anything"}),
        )
        .await,
        401,
        "INVALID_PASSWORD",
    )
    .await;
    assert_eq!(
        t.state.passwords.verifications(),
        before + 1,
        "one verify against the dummy hash"
    );
}

#[tokio::test]
async fn an_expired_request_cannot_be_completed_and_polls_as_expired() {
    let t = TestApp::spawn_with(|c| c.login_ttl_secs = 1).await;
    let app = t.app_client().await;
    t.person("fay@example.com").register().await;
    let token = t.start(&app, json!({})).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let polled: Value = t.poll(&app, &token).await.json().await.unwrap();
    assert_eq!(polled["status"], "EXPIRED");
    let e = expect_error(
        t.post(
            LOGIN,
            json!({"reqToken": token, "identifier": "fay@example.com", "password": PASSWORD}),
        )
        .await,
        400,
        "FAILED_UPDATE_USER_TOKEN",
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains("expired"), "{e}");
}

#[tokio::test]
async fn the_status_route_only_knows_its_own_clients_tokens() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let other = t.app_client().await;
    let token = t.start(&app, json!({})).await;
    expect_error(t.poll(&other, &token).await, 400, "INVALID_OBJECT_ID").await;
    expect_error(t.poll(&app, "not-a-token").await, 400, "INVALID_OBJECT_ID").await;
    expect_error(t.poll(&app, "").await, 400, "INVALID_OBJECT_ID").await;
    let e = expect_error(t.get_as(&app.key, STATUS).await, 422, "VALIDATION_ERROR").await;
    assert_eq!(e["details"][0]["field"], "reqToken");
    let (_, no_status_grant) = t.client(&[Grant::UsersLogin]).await;
    expect_error(
        t.get_as(&no_status_grant, &format!("{STATUS}?reqToken={token}"))
            .await,
        403,
        "UNITSYSTEM00002",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_concurrent_completions_exactly_one_wins() {
    let t = TestApp::spawn_with(|c| c.password_queue = Some(64)).await;
    let app = t.app_client().await;
    t.person("gus@example.com").register().await;
    let token = t.start(&app, json!({})).await;
    let body = json!({"reqToken": token, "identifier": "gus@example.com", "password": PASSWORD});
    // As many at once as the account's free attempts (`/docs#brute-force`).
    let parallel = crate::support::limits().sign_in_free_per_account as usize;
    let attempts = (0..parallel).map(|_| t.post(LOGIN, body.clone()));
    let statuses: Vec<u16> = futures_statuses(attempts).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 400),
        "{statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_concurrent_polls_exactly_one_gets_the_token() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let hal = t
        .person("hal@example.com")
        .via(&app)
        .uncollected()
        .register()
        .await;
    let polls = (0..16).map(|_| t.poll(&app, hal.request()));
    let mut with_token = 0;
    for res in join_all(polls).await {
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["status"], "REGISTERED");
        with_token += usize::from(body.get("accessToken").is_some());
    }
    assert_eq!(with_token, 1);
}

#[tokio::test]
async fn a_non_active_status_revokes_tokens_and_sessions_at_once() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let kim = t.person("kim@example.com").via(&app).register().await;
    let (cookie, access) = (kim.session.clone(), kim.access_token());
    let signed_in = |t: &TestApp| {
        let req = t
            .http
            .get(t.url("/_app/fypass/context"))
            .header("cookie", cookie.clone());
        async move { req.send().await.unwrap().json::<Value>().await.unwrap()["signed_in"].clone() }
    };
    assert_eq!(signed_in(&t).await["email"], "kim@example.com");
    assert!(
        fypass::tokens::access::authenticate(t.db(), access, app.id)
            .await
            .is_ok()
    );

    let user_id = kim.id;
    let mut tx = t.db().begin().await.unwrap();
    fypass::tokens::set_user_status(&mut tx, user_id, Status::Suspended)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(signed_in(&t).await.is_null());
    let e = fypass::tokens::access::authenticate(t.db(), access, app.id)
        .await
        .unwrap_err();
    assert_eq!(e.code, fypass::error::ErrorCode::Unauthorized);
    // Reactivating does not bring old credentials back.
    let mut tx = t.db().begin().await.unwrap();
    fypass::tokens::set_user_status(&mut tx, user_id, Status::Active)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(signed_in(&t).await.is_null());
    assert!(
        fypass::tokens::access::authenticate(t.db(), access, app.id)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn continue_as_completes_a_new_request_with_the_browser_session() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let cookie = t
        .person("lee@example.com")
        .via(&app)
        .register()
        .await
        .session;
    let second = t.start(&app, json!({})).await;
    let continued = t
        .http
        .post(t.url("/_app/fypass/continue"))
        .header("cookie", &cookie)
        .json(&json!({"reqToken": second}))
        .send()
        .await
        .unwrap();
    assert_eq!(continued.status(), 200);
    let polled: Value = t.poll(&app, &second).await.json().await.unwrap();
    assert_eq!(polled["status"], "LOGGED_IN");
    assert_eq!(polled["user"]["email"], "lee@example.com");
    // Without a session there is nobody to continue as.
    let third = t.start(&app, json!({})).await;
    let res = t
        .http
        .post(t.url("/_app/fypass/continue"))
        .json(&json!({"reqToken": third}))
        .send()
        .await
        .unwrap();
    expect_error(res, 401, "UNAUTHORIZED").await;
}

#[tokio::test]
async fn browser_posts_from_another_origin_are_refused() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    t.person("max@example.com").register().await;
    let token = t.start(&app, json!({})).await;
    let body = json!({"reqToken": token, "identifier": "max@example.com", "password": PASSWORD});
    let res = t
        .http
        .post(t.url(LOGIN))
        .header("origin", "https://evil.example")
        .json(&body)
        .send()
        .await
        .unwrap();
    expect_error(res, 403, "ORIGIN_NOT_ALLOWED").await;
    let own = format!("http://{}", t.addr);
    let res = t
        .http
        .post(t.url(LOGIN))
        .header("origin", own)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn behind_https_the_cookie_is_secure_and_host_prefixed() {
    let t = TestApp::spawn_with(|c| c.public_url = Some("https://id.example.com".into())).await;
    let app = t.app_client().await;
    let token = t.start(&app, json!({})).await;
    let res = t.post(REGISTER, json!({"reqToken": token, "name": "Ned", "email": "ned@example.com", "password": PASSWORD})).await;
    let cookie = res.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("__Host-fypass_session=fys_"), "{cookie}");
    assert!(
        cookie.contains("Secure") && cookie.contains("Path=/") && !cookie.contains("Domain"),
        "{cookie}"
    );
    assert_eq!(
        res.headers()["strict-transport-security"],
        "max-age=63072000"
    );
}

#[tokio::test]
async fn request_bodies_are_limited_typed_and_json() {
    let t = TestApp::spawn().await;
    let big = json!({"identifier": "x".repeat(70 * 1024), "password": "p"});
    expect_error(t.post(LOGIN, big).await, 413, "PAYLOAD_TOO_LARGE").await;
    let res = t
        .http
        .post(t.url(LOGIN))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    let e = expect_error(res, 422, "VALIDATION_ERROR").await;
    assert_eq!(e["details"][0]["field"], "Content-Type");
    let e = expect_error(
        t.post(LOGIN, json!({"identifier": "a@b.co"})).await,
        422,
        "VALIDATION_ERROR",
    )
    .await;
    assert_eq!(
        e["details"][0],
        json!({"field": "password", "message": "is required"})
    );
    let e = expect_error(
        t.post(LOGIN, json!({"identifier": 5, "password": "p"}))
            .await,
        422,
        "VALIDATION_ERROR",
    )
    .await;
    assert_eq!(e["details"][0]["field"], "identifier");
}

async fn futures_statuses<F>(futures: impl IntoIterator<Item = F>) -> Vec<u16>
where
    F: std::future::Future<Output = reqwest::Response> + Send + 'static,
{
    join_all(futures)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect()
}

/// Holds the database so that a registration for `token` blocks: on PostgreSQL a row lock
/// on its login request (the registration has inserted the user when it blocks), on SQLite
/// the write lock, from another connection as another process would.
enum Blocker {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

async fn block_registration(t: &TestApp, token: &str) -> Blocker {
    use sqlx::Connection;
    if crate::support::on_postgres() {
        let mut conn = sqlx::PgConnection::connect(t.database_url()).await.unwrap();
        sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
        sqlx::query("SELECT id FROM login_requests WHERE token_hash = $1 FOR UPDATE")
            .bind(fypass::secret::hash(token))
            .execute(&mut conn)
            .await
            .unwrap();
        Blocker::Postgres(conn)
    } else {
        let mut conn = sqlx::SqliteConnection::connect(t.database_url())
            .await
            .unwrap();
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut conn)
            .await
            .unwrap();
        Blocker::Sqlite(conn)
    }
}

impl Blocker {
    async fn release(self) {
        match self {
            Blocker::Sqlite(mut c) => drop(sqlx::query("ROLLBACK").execute(&mut c).await),
            Blocker::Postgres(mut c) => drop(sqlx::query("ROLLBACK").execute(&mut c).await),
        }
    }
}

/// After `blocker` is released, the registration of `email` must have left nothing.
async fn nothing_was_written(t: &TestApp, app: &App, token: &str, email: &str) {
    let identifier = users::identifier::Identifier::parse(email, 62).unwrap();
    // Give the abandoned transaction the moment it needs to finish rolling back.
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            users::store::find_by_identifier(t.db(), &identifier)
                .await
                .unwrap()
                .is_none(),
            "user written"
        );
    }
    let polled: Value = t.poll(app, token).await.json().await.unwrap();
    assert_eq!(polled["status"], "PENDING", "the request was not completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_past_its_deadline_is_request_timeout_and_rolled_back() {
    let t = TestApp::spawn_with(|c| c.request_timeout_ms = 700).await;
    let app = t.app_client().await;
    let token = t.start(&app, json!({})).await;
    let blocker = block_registration(&t, &token).await;
    let res = t.post(REGISTER, json!({"reqToken": token, "name": "Rae", "email": "rae@example.com", "password": PASSWORD})).await;
    expect_error(res, 504, "REQUEST_TIMEOUT").await;
    blocker.release().await;
    nothing_was_written(&t, &app, &token, "rae@example.com").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_whose_caller_hangs_up_is_client_closed_request_and_rolled_back() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let token = t.start(&app, json!({})).await;
    let series = "http_requests_total{method=\"POST\",route=\"/api/v1/fypass/register\",status=\"499\",code=\"CLIENT_CLOSED_REQUEST\"}";
    let before = t.metric(series).await;
    let blocker = block_registration(&t, &token).await;
    let body =
        json!({"reqToken": token, "name": "Sam", "email": "sam@example.com", "password": PASSWORD});
    let gave_up = tokio::time::timeout(Duration::from_millis(700), t.post(REGISTER, body)).await;
    assert!(gave_up.is_err(), "still in flight when the caller left");
    let mut counted = false;
    for _ in 0..50 {
        if t.metric(series).await > before {
            counted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    blocker.release().await;
    assert!(counted, "the hang-up was counted as 499");
    nothing_was_written(&t, &app, &token, "sam@example.com").await;
}
