//! Abuse resistance, tried the way a stranger would try it: each test is one attack that
//! must fail while honest people still get in (`/docs#abuse`).

use crate::support::{
    DEVICES, LOGIN, PASSWORD, REGISTER, START, TestApp, cookie_named, expect_error, join_all,
};
use fypass::login::MAX_CONFIRM_FAILURES;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

fn guess(identifier: &str, password: &str) -> Value {
    json!({"identifier": identifier, "password": password})
}

fn retry_after(res: &reqwest::Response) -> u64 {
    res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Parallel wrong guesses at one account get exactly the free attempts evaluated; the owner
/// is slowed down for at most the delay, and a browser that signed in before not at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strangers_guesses_slow_an_account_but_never_lock_its_owner_out() {
    let t = TestApp::spawn_behind_proxy(|c| c.password_queue = Some(64)).await;
    let owner = t
        .person("ivy@example.com")
        .whatsapp("0812-1111-2222")
        .register()
        .await;
    t.person("jon@example.com").register().await;
    let before = t.state.passwords.verifications();
    // Guesses from fifty networks, by email address and by WhatsApp number, count against
    // one account.
    let guesses = (0..50).map(|i| {
        let who = if i % 2 == 0 {
            "ivy@example.com"
        } else {
            "+62 812-1111-2222"
        };
        t.post_from(
            &format!("198.51.100.{}", i + 1),
            LOGIN,
            guess(who, "wrong guess"),
        )
    });
    let (mut invalid, mut slowed) = (0, 0);
    for res in join_all(guesses).await {
        match res.status().as_u16() {
            401 => invalid += 1,
            429 => {
                let wait = retry_after(&res);
                assert!((1..=60).contains(&wait), "{wait}");
                slowed += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(
        invalid,
        crate::support::limits().sign_in_free_per_account as usize
    );
    assert_eq!(
        slowed,
        50 - crate::support::limits().sign_in_free_per_account as usize
    );
    assert_eq!(
        t.state.passwords.verifications() - before,
        crate::support::limits().sign_in_free_per_account as u64,
        "refused guesses cost no password check"
    );
    // The owner's browser, which signed in before, is not slowed down at all...
    let res = t
        .http
        .post(t.url(LOGIN))
        .header("cookie", &owner.browser)
        .header("x-forwarded-for", "203.0.113.1")
        .json(&guess("ivy@example.com", PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    // ...another browser waits at most the delay it is told...
    let res = t
        .post_from("203.0.113.2", LOGIN, guess("ivy@example.com", PASSWORD))
        .await;
    let wait = if res.status() == 429 {
        retry_after(&res)
    } else {
        0
    };
    assert!(wait <= 60, "{wait}");
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let res = t
        .post_from("203.0.113.2", LOGIN, guess("ivy@example.com", PASSWORD))
        .await;
    assert_eq!(res.status(), 200, "the owner gets in after {wait} s");
    // ...and another person is not affected.
    let res = t.post(LOGIN, guess("jon@example.com", PASSWORD)).await;
    assert_eq!(res.status(), 200);
}

/// One network gets a cap across accounts; an IPv6 network is its /64, and an
/// IPv4-mapped address is the IPv4 address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_network_is_capped_across_accounts_and_an_ipv6_network_is_its_slash_64() {
    let t = TestApp::spawn_behind_proxy(|c| c.password_queue = Some(64)).await;
    t.person("kai@example.com").register().await;
    let guesses = (0..crate::support::limits().sign_in_per_network).map(|i| {
        // Every guess from another address of one /64, at another (unknown) account.
        let ip = format!("2001:db8:7:8::{:x}", i + 1);
        t.post_from(
            &ip,
            LOGIN,
            guess(&format!("nobody{i}@example.com"), "guess"),
        )
    });
    for res in join_all(guesses).await {
        assert_eq!(res.status(), 404, "unknown accounts");
    }
    let res = t
        .post_from(
            "2001:db8:7:8:ffff::1",
            LOGIN,
            guess("kai@example.com", PASSWORD),
        )
        .await;
    let body = expect_error(res, 429, "TOO_MANY_REQUESTS").await;
    assert!(
        body["message"].as_str().unwrap().contains("network"),
        "{body}"
    );
    // Another /64 is another network.
    let res = t
        .post_from("2001:db8:7:9::1", LOGIN, guess("kai@example.com", PASSWORD))
        .await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn an_ipv4_mapped_proxy_address_matches_the_trusted_ipv4_proxy() {
    // Listening on [::] the IPv4 caller 127.0.0.1 arrives as ::ffff:127.0.0.1.
    let t = TestApp::spawn_listening("[::]:0", |c| {
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]
    })
    .await;
    let app = t.app_client().await;
    let res = t
        .http
        .post(t.url(DEVICES))
        .header("x-client-key", &app.key)
        .header("x-forwarded-for", "203.0.113.7")
        .json(&json!({"deviceId": "d1", "platform": "web"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.json::<Value>().await.unwrap()["ipAddress"],
        "203.0.113.7"
    );
}

/// A flood of registrations from one address is capped before any hashing, and leaves
/// other people's sign-ins working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_registrations_leaves_other_peoples_sign_ins_working() {
    let t = TestApp::spawn_behind_proxy(|_| {}).await;
    t.person("lia@example.com").register().await;
    let flood: Vec<_> = (0..40)
        .map(|i| {
            t.post_from(
                "198.51.100.66",
                REGISTER,
                json!({"name": "Bot", "email": format!("bot{i}@example.com"), "password": "bot password 1"}),
            )
        })
        .collect();
    let flood = tokio::spawn(join_all(flood));
    let sign_ins =
        (0..3).map(|_| t.post_from("203.0.113.20", LOGIN, guess("lia@example.com", PASSWORD)));
    for res in join_all(sign_ins).await {
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }
    let statuses: Vec<u16> = flood
        .await
        .unwrap()
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    let created = statuses.iter().filter(|s| **s == 200).count();
    assert!(
        created <= t.state.config.registrations_per_hour as usize,
        "at most the cap was created: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 429),
        "{statuses:?}"
    );
    // The cap is per network: a person elsewhere still registers.
    let res = t
        .post_from(
            "203.0.113.21",
            REGISTER,
            json!({"name": "Mia", "email": "mia@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 200);
    // A taken address is refused without hashing anything.
    t.verified("mia@example.com").await;
    let before = t.state.passwords.verifications();
    let res = t
        .post_from(
            "203.0.113.22",
            REGISTER,
            json!({"name": "Mia", "email": "mia@example.com", "password": PASSWORD}),
        )
        .await;
    expect_error(res, 409, "DUPLICATE_KEY").await;
    assert_eq!(t.state.passwords.verifications(), before);
}

/// A stranger's TV-app link sent to a signed-in person: on another network they must first
/// confirm their device shows the code, and cannot complete the request in one click.
#[tokio::test]
async fn a_request_from_another_network_needs_its_user_code_confirmed() {
    let t = TestApp::spawn_behind_proxy(|_| {}).await;
    let app = t.app_client().await;
    let session = t
        .person("nia@example.com")
        .from("203.0.113.50")
        .register()
        .await
        .session;
    // The attacker's app starts a request (from 127.0.0.1)...
    let res = t
        .http
        .post(t.url(START))
        .header("x-client-key", &app.key)
        .json(&json!({"deviceInfo": {"deviceId": "tv-1", "platform": "android", "deviceName": "Living room TV"}}))
        .send()
        .await
        .unwrap();
    let started: Value = res.json().await.unwrap();
    let token = started["reqToken"].as_str().unwrap().to_string();
    let code = started["userCode"].as_str().unwrap().to_string();
    assert!(
        code.len() == 9
            && code.chars().nth(4) == Some('-')
            && code
                .chars()
                .filter(|c| *c != '-')
                .all(|c| "BCDFGHJKLMNPQRSTVWXZ".contains(c)),
        "{code}"
    );
    // ...and the person elsewhere opens it: the page names the app, the device and the code.
    let context: Value = t
        .http
        .get(t.url(&format!("/_app/fypass/context?reqToken={token}")))
        .header("x-forwarded-for", "203.0.113.50")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let request = &context["request"];
    assert_eq!(request["device_name"], "Living room TV");
    assert_eq!(request["user_code"], code.as_str());
    assert_eq!(request["needs_confirmation"], true);
    // "Continue as" and a password sign-in are both refused until the code is confirmed.
    let continued = t
        .http
        .post(t.url("/_app/fypass/continue"))
        .header("x-forwarded-for", "203.0.113.50")
        .header("cookie", &session)
        .json(&json!({"reqToken": token}))
        .send()
        .await
        .unwrap();
    expect_error(continued, 400, "INVALID_CODE").await;
    let res = t
        .post_from(
            "203.0.113.50",
            LOGIN,
            json!({"reqToken": token, "identifier": "nia@example.com", "password": PASSWORD}),
        )
        .await;
    expect_error(res, 400, "INVALID_CODE").await;
    // A wrong code is refused; the right one confirms the request.
    let confirm = |code: &str| {
        t.post_from(
            "203.0.113.50",
            "/api/v1/fypass/confirm",
            json!({"reqToken": token, "userCode": code}),
        )
    };
    expect_error(confirm("BBBB-BBBB").await, 400, "INVALID_CODE").await;
    let res = confirm(&code.to_lowercase().replace('-', " ")).await;
    // The confirmation belongs to the browser that made it (`confirm.rs`): its cookie.
    let confirmed = cookie_named(&res, "fypass_confirm").expect("a confirmation cookie");
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"confirmed": true})
    );
    let res = t
        .http
        .post(t.url(LOGIN))
        .header("x-forwarded-for", "203.0.113.50")
        .header("cookie", &confirmed)
        .json(&json!({"reqToken": token, "identifier": "nia@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // On the network that started the request, nothing needs confirming.
    let token = t.start(&app, json!({})).await;
    let res = t
        .post(
            LOGIN,
            json!({"reqToken": token, "identifier": "nia@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn wrong_user_codes_void_the_request() {
    let t = TestApp::spawn_behind_proxy(|_| {}).await;
    let app = t.app_client().await;
    let token = t.start(&app, json!({})).await;
    for _ in 0..MAX_CONFIRM_FAILURES {
        let res = t
            .post_from(
                "203.0.113.60",
                "/api/v1/fypass/confirm",
                json!({"reqToken": token, "userCode": "BBBB-BBBB"}),
            )
            .await;
        expect_error(res, 400, "INVALID_CODE").await;
    }
    let res = t
        .post_from(
            "203.0.113.60",
            "/api/v1/fypass/confirm",
            json!({"reqToken": token, "userCode": "BBBB-BBBB"}),
        )
        .await;
    expect_error(res, 400, "FAILED_UPDATE_USER_TOKEN").await;
    let polled: Value = t.poll(&app, &token).await.json().await.unwrap();
    assert_eq!(polled["status"], "EXPIRED");
}

#[tokio::test]
async fn metrics_are_not_served_on_the_public_address() {
    let t = TestApp::spawn().await;
    expect_error(t.get("/metrics").await, 404, "NOT_FOUND").await;
    let text = t.metrics_text().await;
    assert!(text.contains("http_requests_total"), "{text}");
}

#[tokio::test]
async fn a_suspended_clients_open_requests_cannot_be_completed() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    t.person("ola@example.com").register().await;
    let token = t.start(&app, json!({})).await;
    let mut tx = t.db().begin().await.unwrap();
    fypass::clients::store::update(
        &mut tx,
        app.id,
        fypass::clients::store::Change::Status(fypass::status::Status::Suspended),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let res = t
        .post(
            LOGIN,
            json!({"reqToken": token, "identifier": "ola@example.com", "password": PASSWORD}),
        )
        .await;
    let body = expect_error(res, 400, "FAILED_UPDATE_USER_TOKEN").await;
    assert!(
        body["message"].as_str().unwrap().contains("no longer"),
        "{body}"
    );
}

/// A completed request whose tokens the app never collects expires, and expired rows are
/// purged in bounded batches.
#[tokio::test]
async fn uncollected_requests_expire_and_expired_rows_are_purged() {
    let t = TestApp::spawn_with(|c| c.login_ttl_secs = 1).await;
    let app = t.app_client().await;
    t.person("pia@example.com").register().await;
    let token = t.start(&app, json!({})).await;
    let res = t
        .post(
            LOGIN,
            json!({"reqToken": token, "identifier": "pia@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let polled: Value = t.poll(&app, &token).await.json().await.unwrap();
    assert_eq!(polled["status"], "EXPIRED");
    assert!(polled.get("accessToken").is_none(), "{polled}");

    // 1,200 idle counters, more than two batches, and the expired request are purged.
    let old = fypass::db::now_ms() - 2 * 24 * 3600 * 1000;
    for i in 0..1200 {
        let sql =
            "INSERT INTO throttle (key, window_start, events, last_at) VALUES ($1, $2, 1, $2)";
        match t.db() {
            fypass::db::Db::Sqlite { writer, .. } => {
                sqlx::query(sql)
                    .bind(format!("k{i}"))
                    .bind(old)
                    .execute(writer)
                    .await
                    .unwrap();
            }
            fypass::db::Db::Postgres(pg) => {
                sqlx::query(sql)
                    .bind(format!("k{i}"))
                    .bind(old)
                    .execute(&pg.pool)
                    .await
                    .unwrap();
            }
        }
    }
    sqlx_backdate_requests(&t).await;
    let purged = fypass::server::upkeep::purge(t.db()).await.unwrap();
    assert!(purged >= 1201, "{purged}");
    let (left,): (i64,) = count(&t, "SELECT COUNT(*) FROM throttle WHERE key LIKE 'k%'").await;
    assert_eq!(left, 0);
    let (requests,): (i64,) = count(&t, "SELECT COUNT(*) FROM login_requests").await;
    assert_eq!(requests, 0);
}

async fn count(t: &TestApp, sql: &str) -> (i64,) {
    match t.db() {
        fypass::db::Db::Sqlite { reader, .. } => {
            sqlx::query_as(sql).fetch_one(reader).await.unwrap()
        }
        fypass::db::Db::Postgres(pg) => sqlx::query_as(sql).fetch_one(&pg.pool).await.unwrap(),
    }
}

/// Moves every login request two hours into the past.
async fn sqlx_backdate_requests(t: &TestApp) {
    let sql = "UPDATE login_requests SET expires_at = expires_at - 7200000,
               collect_by = collect_by - 7200000";
    t.execute(sql).await;
}

/// Removing a device an app saved with a user's token signs that app out.
#[tokio::test]
async fn removing_a_device_saved_with_a_token_revokes_the_token() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let quin = t.person("quin@example.com").via(&app).register().await;
    let access = quin.access_token();
    let save = || {
        t.http
            .post(t.url(DEVICES))
            .header("x-client-key", &app.key)
            .header("authorization", format!("Bearer {access}"))
            .json(&json!({"deviceId": "phone-9", "platform": "ios"}))
    };
    let device: Value = save().send().await.unwrap().json().await.unwrap();
    let id = device["id"].as_str().unwrap();
    let res = t
        .http
        .delete(t.url(&format!("{DEVICES}/{id}")))
        .header("x-client-key", &app.key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    expect_error(save().send().await.unwrap(), 401, "UNAUTHORIZED").await;
}

#[tokio::test]
async fn a_json_array_is_not_a_body() {
    let t = TestApp::spawn().await;
    let app = t.app_client().await;
    let res = t
        .http
        .post(t.url(START))
        .header("x-client-key", &app.key)
        .header("content-type", "application/json")
        .body("[]")
        .send()
        .await
        .unwrap();
    let body = expect_error(res, 422, "VALIDATION_ERROR").await;
    assert_eq!(body["details"][0]["field"], "body");
    let res = t
        .post(LOGIN, json!(["fyr_x", "someone@example.com", "password"]))
        .await;
    expect_error(res, 422, "VALIDATION_ERROR").await;
}

// ---- Connections, with raw sockets ---------------------------------------------------------

/// Reads until the server closes the connection (or `limit` passes); the bytes read.
async fn read_until_closed(socket: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    let outcome = tokio::time::timeout(limit, async {
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => all.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    outcome.ok().map(|()| all)
}

#[tokio::test]
async fn a_connection_that_never_finishes_its_head_is_closed() {
    let t = TestApp::spawn_with(|c| c.header_timeout_secs = 1).await;
    let mut slow = TcpStream::connect(t.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let closed = read_until_closed(&mut slow, Duration::from_secs(5)).await;
    assert!(closed.is_some(), "still open after 5 s");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // An idle keep-alive connection is closed after as long.
    let mut idle = TcpStream::connect(t.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let read = read_until_closed(&mut idle, Duration::from_secs(5))
        .await
        .expect("closed");
    assert!(String::from_utf8_lossy(&read).starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn open_connections_are_capped() {
    let t = TestApp::spawn_with(|c| {
        c.max_connections = 2;
        c.header_timeout_secs = 30;
    })
    .await;
    let first = TcpStream::connect(t.addr).await.unwrap();
    let _second = TcpStream::connect(t.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The third connection waits to be accepted: no answer while two are open...
    let mut third = TcpStream::connect(t.addr).await.unwrap();
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(700), third.read(&mut buf)).await;
    assert!(early.is_err(), "answered beyond the cap");
    // ...and is served as soon as one closes.
    drop(first);
    let read = read_until_closed(&mut third, Duration::from_secs(5))
        .await
        .expect("served");
    assert!(String::from_utf8_lossy(&read).starts_with("HTTP/1.1 200"));
}

/// A request for `/healthz` on a new connection from `from`; the reply's first line, or
/// `None` when the server closes the connection unanswered (or within `wait` answers nothing).
async fn health_from(t: &TestApp, from: &str, wait: Duration) -> Option<String> {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    let mut tcp = socket.connect(t.addr).await.ok()?;
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .ok()?;
    let read = read_until_closed(&mut tcp, wait).await?;
    let text = String::from_utf8_lossy(&read).to_string();
    text.lines()
        .next()
        .map(str::to_string)
        .filter(|l| !l.is_empty())
}

/// One address holding idle sockets cannot take every connection slot: past its own cap
/// (below the global one) its connections are closed, and another address is served at
/// once. A trusted proxy, which carries everyone's connections, is not capped.
#[tokio::test]
async fn one_address_cannot_hold_every_connection_slot() {
    let t = TestApp::spawn_with(|c| {
        c.max_connections = 160;
        c.header_timeout_secs = 30;
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..160 {
        idle.push(TcpStream::connect(t.addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        health_from(&t, "127.0.0.2", Duration::from_secs(3))
            .await
            .as_deref(),
        Some("HTTP/1.1 200 OK"),
        "another address is served while one holds idle sockets"
    );
    assert_eq!(
        health_from(&t, "127.0.0.1", Duration::from_secs(3)).await,
        None,
        "the address past its cap gets no more connections"
    );
    // Its slots come back as its connections close.
    idle.truncate(100);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        health_from(&t, "127.0.0.1", Duration::from_secs(3))
            .await
            .as_deref(),
        Some("HTTP/1.1 200 OK")
    );
    drop(idle);

    // Behind a trusted proxy every connection comes from the proxy: no cap of its own.
    let proxied = TestApp::spawn_behind_proxy(|c| {
        c.max_connections = 160;
        c.header_timeout_secs = 30;
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..150 {
        idle.push(TcpStream::connect(proxied.addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        health_from(&proxied, "127.0.0.1", Duration::from_secs(3))
            .await
            .as_deref(),
        Some("HTTP/1.1 200 OK")
    );
}
