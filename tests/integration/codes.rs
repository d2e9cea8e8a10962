//! Recovery, sign-in codes and verification through real channels: maildev for email, a
//! local server in the WhatsApp Cloud API's shape (`channels.rs`), and the outbox.

use crate::{
    channels::{
        MailServer, WHATSAPP_PHONE_ID, WHATSAPP_TOKEN, WhatsappApi, code_in, whatsapp_code,
    },
    support::{
        LOGIN, PASSWORD, REGISTER, TestApp, expect_error, free_port, join_all, session_cookie,
    },
};
use fypass::config::Config;
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

fn with_mail(mail: &MailServer) -> impl FnOnce(&mut Config) {
    let url = mail.smtp_url();
    move |c| c.smtp_url = Some(url)
}

fn with_whatsapp(api: &WhatsappApi) -> impl FnOnce(&mut Config) {
    let url = api.url();
    move |c| {
        c.whatsapp_api_url = url;
        c.whatsapp_phone_number_id = Some(WHATSAPP_PHONE_ID.into());
        c.whatsapp_token = Some(WHATSAPP_TOKEN.into());
    }
}

fn text(message: &Value) -> String {
    message["text"].as_str().unwrap_or_default().to_string()
}

async fn outbox(t: &TestApp) -> Vec<fypass::courier::outbox::Listed> {
    fypass::courier::outbox::list(t.db(), 100).await.unwrap()
}

#[tokio::test]
async fn a_forgotten_password_is_reset_through_a_real_smtp_server() {
    let mail = MailServer::start().await;
    let t = TestApp::spawn_with(with_mail(&mail)).await;
    let app = t.app_client().await;
    let old_session = t.person("rina@example.com").register().await.session;
    // The registration's verification mail, then a recovery code.
    mail.wait_for("rina@example.com", 1, WAIT).await;
    let token = t.start(&app, json!({})).await;
    let res = t
        .post(
            "/api/v1/fypass/recovery",
            json!({"reqToken": token, "identifier": "Rina@Example.com"}),
        )
        .await;
    assert_eq!(res.status(), 202);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"sent": true, "retryAfter": 60})
    );
    let mails = mail.wait_for("rina@example.com", 2, WAIT).await;
    let recovery = mails
        .iter()
        .find(|m| m["subject"] == "Your fypass recovery code")
        .expect("the recovery mail arrived");
    assert!(
        recovery["html"].as_str().unwrap().contains("<p"),
        "text and HTML parts"
    );
    let code = code_in(&text(recovery));

    let complete = |password: &str, code: &str| {
        t.post(
            "/api/v1/fypass/recovery/complete",
            json!({"reqToken": token, "identifier": "rina@example.com", "code": code, "newPassword": password}),
        )
    };
    let res = complete("short", &code).await;
    let body = expect_error(res, 422, "VALIDATION_ERROR").await;
    assert_eq!(body["details"][0]["field"], "newPassword");
    let res = complete("a brand new passphrase", &code).await;
    assert_eq!(res.status(), 200);
    assert!(session_cookie(&res).starts_with("fypass_session="));
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "LOGGED_IN");
    // The app's request completed; the old password and the old session are gone.
    let polled: Value = t.poll(&app, &token).await.json().await.unwrap();
    assert_eq!(polled["status"], "LOGGED_IN");
    assert!(
        polled["user"]["emailVerifiedAt"].is_string(),
        "receiving the code verified it"
    );
    let res = t
        .post(
            LOGIN,
            json!({"identifier": "rina@example.com", "password": PASSWORD}),
        )
        .await;
    expect_error(res, 401, "INVALID_PASSWORD").await;
    let res = t
        .http
        .get(t.url("/_app/account"))
        .header("cookie", &old_session)
        .send()
        .await
        .unwrap();
    expect_error(res, 401, "UNAUTHORIZED").await;
    let res = t
        .post(
            LOGIN,
            json!({"identifier": "rina@example.com", "password": "a brand new passphrase"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    // A used code is spent.
    let res = t
        .post(
            "/api/v1/fypass/recovery/complete",
            json!({"identifier": "rina@example.com", "code": code, "newPassword": "another passphrase"}),
        )
        .await;
    expect_error(res, 400, "CODE_EXPIRED").await;
    // The outbox forgot the recovery message's body once it was sent (and every other sent
    // message's: the security alerts of the new password may still be on their way).
    let listed = outbox(&t).await;
    assert!(
        listed
            .iter()
            .any(|m| m.purpose == "recovery" && m.status == "sent"),
        "{listed:?}"
    );
    assert!(
        listed
            .iter()
            .filter(|m| m.status == "sent")
            .all(|m| m.body.is_none()),
        "{listed:?}"
    );
}

#[tokio::test]
async fn wrong_and_expired_codes_are_refused_and_five_wrong_void_the_code() {
    let t = TestApp::spawn().await;
    t.person("sari@example.com").register().await;
    let send = || {
        t.post(
            "/api/v1/fypass/recovery",
            json!({"identifier": "sari@example.com"}),
        )
    };
    assert_eq!(send().await.status(), 202);
    // No channel: the code waits in the outbox.
    let code = code_for(&t, "sari@example.com", "recovery", 1).await;
    let listed = outbox(&t).await;
    let recovery = listed.iter().find(|m| m.purpose == "recovery").unwrap();
    assert_eq!(
        (recovery.status.as_str(), recovery.channel.as_str()),
        ("pending", "email")
    );
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let complete = |code: &str| {
        t.post(
            "/api/v1/fypass/recovery/complete",
            json!({"identifier": "sari@example.com", "code": code, "newPassword": "a new passphrase"}),
        )
    };
    for _ in 0..fypass::codes::MAX_CODE_FAILURES {
        expect_error(complete(wrong).await, 400, "INVALID_CODE").await;
    }
    expect_error(complete(&code).await, 400, "CODE_EXPIRED").await;
    // An unknown identifier is a wrong code too: nothing tells it apart.
    let res = t
        .post(
            "/api/v1/fypass/recovery/complete",
            json!({"identifier": "nobody@example.com", "code": "123456", "newPassword": "a new passphrase"}),
        )
        .await;
    expect_error(res, 400, "INVALID_CODE").await;
    // An expired code.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut tx = t.db().begin().await.unwrap();
    assert!(tx_exec(&mut tx, "UPDATE codes SET expires_at = 0").await > 0);
    tx.commit().await.unwrap();
    let res = t
        .post(
            "/api/v1/fypass/recovery/complete",
            json!({"identifier": "sari@example.com", "code": code, "newPassword": "a new passphrase"}),
        )
        .await;
    expect_error(res, 400, "CODE_EXPIRED").await;
}

async fn tx_exec(tx: &mut fypass::db::Tx<'_>, sql: &str) -> u64 {
    match tx {
        fypass::db::Tx::Sqlite(t) => sqlx::query(sql)
            .execute(&mut **t)
            .await
            .unwrap()
            .rows_affected(),
        fypass::db::Tx::Postgres(t) => sqlx::query(sql)
            .execute(t.exec())
            .await
            .unwrap()
            .rows_affected(),
    }
}

#[tokio::test]
async fn sends_are_limited_and_look_the_same_for_unknown_identifiers() {
    let t = TestApp::spawn().await;
    t.person("tari@example.com").register().await;
    let before = outbox(&t).await.len();
    for who in ["tari@example.com", "nobody@example.com"] {
        let res = t
            .post("/api/v1/fypass/recovery", json!({"identifier": who}))
            .await;
        assert_eq!(res.status(), 202, "{who}");
        assert_eq!(
            res.json::<Value>().await.unwrap(),
            json!({"sent": true, "retryAfter": 60})
        );
        // A second send within the minute is refused, for both alike.
        let res = t
            .post("/api/v1/fypass/recovery", json!({"identifier": who}))
            .await;
        assert!(
            (1..=60).contains(
                &res.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse::<u64>()
                    .unwrap()
            )
        );
        expect_error(res, 429, "TOO_MANY_REQUESTS").await;
    }
    code_for(&t, "tari@example.com", "recovery", 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        outbox(&t).await.len(),
        before + 1,
        "nothing sent to nobody@example.com"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whatsapp_code_signs_in_once_even_when_submitted_in_parallel() {
    let api = WhatsappApi::start().await;
    let t = TestApp::spawn_with(|c| {
        with_whatsapp(&api)(c);
        c.verification = "off".into();
    })
    .await;
    let app = t.app_client().await;
    t.person_on_whatsapp("0812-5555-0101").register().await;
    let token = t.start(&app, json!({})).await;
    let res = t
        .post(
            "/api/v1/fypass/code",
            json!({"reqToken": token, "identifier": "+62 812-5555-0101"}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let sent = api.wait_for("+6281255550101", 1).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["type"], "template");
    assert_eq!(sent[0]["template"]["name"], "fypass_code");
    let code = whatsapp_code(&sent[0]);
    let attempts = (0..6).map(|_| {
        t.post(
            "/api/v1/fypass/code/login",
            json!({"reqToken": token, "identifier": "081255550101", "code": code}),
        )
    });
    let statuses: Vec<u16> = join_all(attempts)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    let polled: Value = t.poll(&app, &token).await.json().await.unwrap();
    assert_eq!(polled["status"], "LOGGED_IN");
    assert!(polled["user"]["whatsappVerifiedAt"].is_string());
}

/// A message stored while the SMTP server is down is retried later and never lost.
#[tokio::test]
async fn an_smtp_server_that_is_down_gets_the_message_later() {
    let port = free_port();
    let t = TestApp::spawn_with(|c| c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"))).await;
    t.person("umi@example.com").register().await;
    // The first attempt fails (nothing listens), and the message waits for another.
    let mut failed = None;
    for _ in 0..100 {
        let listed = outbox(&t).await;
        if let Some(m) = listed.iter().find(|m| m.attempts > 0) {
            failed = Some(m.status.clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(failed.as_deref(), Some("pending"));
    let mail = MailServer::start_on(port).await;
    let got = mail
        .wait_for("umi@example.com", 1, Duration::from_secs(20))
        .await;
    assert_eq!(got.len(), 1);
}

/// Two nodes sending from one outbox deliver each message once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_send_each_message_once() {
    let port = free_port();
    let url = format!("smtp://127.0.0.1:{port}");
    let t = TestApp::spawn_behind_proxy({
        let url = url.clone();
        move |c| c.smtp_url = Some(url)
    })
    .await;
    let other = t.another_node(move |c| c.smtp_url = Some(url)).await;
    // Messages pile up while the SMTP server is down; both nodes then race for them.
    let people: Vec<String> = (0..12).map(|i| format!("vina{i}@example.com")).collect();
    for (i, email) in people.iter().enumerate() {
        let ip = format!("198.51.100.{}", i + 1);
        t.person(email).from(&ip).register().await;
    }
    let mail = MailServer::start_on(port).await;
    for email in &people {
        mail.wait_for(email, 1, Duration::from_secs(30)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    for email in &people {
        assert_eq!(mail.to(email).await.len(), 1, "{email} got one message");
    }
    drop(other);
}

/// One identifier, one account: an address someone else registered first is the owner's
/// once they prove it with a recovery code (the registration itself is `DUPLICATE_KEY`).
#[tokio::test]
async fn an_address_registered_by_someone_else_is_its_owners_once_recovered() {
    let mail = MailServer::start().await;
    let t = TestApp::spawn_with(with_mail(&mail)).await;
    // An impostor registers the owner's address first.
    t.person("wati@example.com")
        .whatsapp("0812-7777-0001")
        .register()
        .await;
    // The owner cannot register it again; they recover it, with the code only they receive.
    let res = t
        .post(
            REGISTER,
            json!({"name": "Wati", "email": "wati@example.com", "password": PASSWORD}),
        )
        .await;
    expect_error(res, 409, "DUPLICATE_KEY").await;
    let res = t
        .post(
            "/api/v1/fypass/recovery",
            json!({"identifier": "wati@example.com"}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let mails = mail.wait_for("wati@example.com", 2, WAIT).await;
    let recovery = mails
        .iter()
        .find(|m| m["subject"] == "Your fypass recovery code")
        .expect("the recovery mail arrived");
    let res = t
        .post(
            "/api/v1/fypass/recovery/complete",
            json!({"identifier": "wati@example.com", "code": code_in(&text(recovery)), "newPassword": "watis own passphrase"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    // The owner signs in with the address; the impostor lost their number with it.
    let res = t
        .post(
            LOGIN,
            json!({"identifier": "wati@example.com", "password": "watis own passphrase"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let users: Vec<fypass::users::User> = fypass::users::store::list(t.db())
        .await
        .unwrap()
        .iter()
        .map(|u| u.view())
        .collect();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].email.as_deref(), Some("wati@example.com"));
    assert!(users[0].email_verified_at.is_some());
    assert_eq!(users[0].whatsapp, None);
    let res = t
        .post(
            LOGIN,
            json!({"identifier": "0812-7777-0001", "password": PASSWORD}),
        )
        .await;
    expect_error(res, 404, "USER_NOT_FOUND").await;
    // A verified address is taken for good.
    let res = t
        .post(
            REGISTER,
            json!({"name": "Late", "email": "wati@example.com", "password": PASSWORD}),
        )
        .await;
    expect_error(res, 409, "DUPLICATE_KEY").await;
}

#[tokio::test]
async fn with_verification_required_a_request_completes_only_once_verified() {
    let t = TestApp::spawn_with(|c| c.verification = "required".into()).await;
    let app = t.app_client().await;
    let token = t.start(&app, json!({})).await;
    let res = t
        .post(REGISTER, json!({"reqToken": token, "name": "Xena", "email": "xena@example.com", "password": PASSWORD}))
        .await;
    assert_eq!(res.status(), 200);
    let cookie = session_cookie(&res);
    let completion: Value = res.json().await.unwrap();
    assert_eq!(completion["status"], "PENDING");
    assert_eq!(completion["verify"], json!(["xena@example.com"]));
    let polled: Value = t.poll(&app, &token).await.json().await.unwrap();
    assert_eq!(polled["status"], "PENDING");
    // The code (read from the outbox: no channel here) verifies; "Continue" completes.
    let listed = outbox(&t).await;
    let code = code_in(listed[0].body.as_deref().unwrap());
    let res = t
        .http
        .post(t.url("/api/v1/fypass/verify"))
        .header("cookie", &cookie)
        .json(&json!({"identifier": "xena@example.com", "code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = t
        .http
        .post(t.url("/_app/fypass/continue"))
        .header("cookie", &cookie)
        .json(&json!({"reqToken": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "LOGGED_IN");
    let polled: Value = t.poll(&app, &token).await.json().await.unwrap();
    assert_eq!(polled["status"], "LOGGED_IN");
    assert!(polled["accessToken"].is_string());
}

#[tokio::test]
async fn a_new_email_address_replaces_the_old_once_verified() {
    let t = TestApp::spawn().await;
    let cookie = t.person("yuni@example.com").register().await.session;
    let res = t
        .http
        .post(t.url("/_app/account/identifier"))
        .header("cookie", &cookie)
        .json(&json!({"identifier": "Yuni.New@Example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap(), "yuni.new@example.com");
    // Not yet: the old address still signs in.
    let res = t
        .post(
            LOGIN,
            json!({"identifier": "yuni@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let listed = outbox(&t).await;
    let change = listed
        .iter()
        .find(|m| m.to == "yuni.new@example.com")
        .unwrap();
    assert_eq!(change.purpose, "change");
    let code = code_in(change.body.as_deref().unwrap());
    let res = t
        .http
        .post(t.url("/api/v1/fypass/verify"))
        .header("cookie", &cookie)
        .json(&json!({"identifier": "yuni.new@example.com", "code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = t
        .post(
            LOGIN,
            json!({"identifier": "yuni.new@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = t
        .post(
            LOGIN,
            json!({"identifier": "yuni@example.com", "password": PASSWORD}),
        )
        .await;
    expect_error(res, 404, "USER_NOT_FOUND").await;
}

/// A plain SMTP server elsewhere on the network, as someone in between makes it look when
/// they strip its offer of STARTTLS: it records every byte fypass sends it.
struct PlainSmtp {
    host: String,
    port: u16,
    heard: std::sync::Arc<std::sync::Mutex<String>>,
}

impl PlainSmtp {
    async fn start() -> PlainSmtp {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        // An address of this machine that is not loopback (the one its default route uses);
        // connecting to 0.0.0.0 reaches this machine too, where it has no such address.
        let host = std::net::UdpSocket::bind("0.0.0.0:0")
            .and_then(|s| s.connect("192.0.2.1:9").map(|_| s))
            .and_then(|s| s.local_addr())
            .map(|a| a.ip())
            .ok()
            .filter(|ip| !ip.is_loopback() && !ip.is_unspecified())
            .map_or("0.0.0.0".to_string(), |ip| ip.to_string());
        let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let heard = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let log = heard.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    let (read, mut write) = tcp.into_split();
                    let mut lines = BufReader::new(read).lines();
                    let _ = write.write_all(b"220 mail.example.net ESMTP\r\n").await;
                    let mut in_data = false;
                    while let Ok(Some(line)) = lines.next_line().await {
                        log.lock().unwrap().push_str(&format!("{line}\n"));
                        let reply: &[u8] = if in_data {
                            if line == "." {
                                in_data = false;
                                b"250 queued\r\n"
                            } else {
                                continue;
                            }
                        } else {
                            match line
                                .get(..4)
                                .unwrap_or_default()
                                .to_ascii_uppercase()
                                .as_str()
                            {
                                "EHLO" => b"250-mail.example.net\r\n250 AUTH PLAIN LOGIN\r\n",
                                "AUTH" => b"235 ok\r\n",
                                "DATA" => {
                                    in_data = true;
                                    b"354 go on\r\n"
                                }
                                "QUIT" => b"221 bye\r\n",
                                _ => b"250 ok\r\n",
                            }
                        };
                        if write.write_all(reply).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        PlainSmtp { host, port, heard }
    }

    fn heard(&self) -> String {
        self.heard.lock().unwrap().clone()
    }
}

/// A plain `smtp://` URL to another machine never sends the password or a code in clear
/// text: it means STARTTLS, required, and a server that does not offer it (or whose offer
/// someone stripped) gets nothing past its greeting. No other text in the URL passes for
/// the `tls` parameter.
#[tokio::test]
async fn smtp_to_another_machine_never_falls_back_to_clear_text() {
    let server = PlainSmtp::start().await;
    for query in ["?notls=1", ""] {
        server.heard.lock().unwrap().clear();
        let url = format!(
            "smtp://mailer:smtp-secret-77@{}:{}/{query}",
            server.host, server.port
        );
        let t = TestApp::spawn_with(|c| c.smtp_url = Some(url)).await;
        let email = format!("remote{}@example.com", query.len());
        t.person(&email).register().await;
        // The courier's first attempt ends: sent, or failed with its error.
        let mut attempted = false;
        for _ in 0..100 {
            let listed = outbox(&t).await;
            if listed
                .iter()
                .any(|m| m.status == "sent" || m.last_error.is_some())
            {
                attempted = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(attempted, "the courier tried to deliver");
        let heard = server.heard();
        assert!(heard.contains("EHLO"), "it did reach the server: {heard}");
        for secret in ["AUTH", "DATA", &email] {
            assert!(
                !heard.contains(secret),
                "{query}: sent {secret} in clear text: {heard}"
            );
        }
        let listed = outbox(&t).await;
        assert!(listed.iter().all(|m| m.status != "sent"), "{query}");
    }
}

/// The code of the newest message to `to` for `purpose`, once there are `n` of them (a send
/// stores its code just after its reply).
async fn code_for(t: &TestApp, to: &str, purpose: &str, n: usize) -> String {
    for _ in 0..100 {
        let listed = outbox(t).await;
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

/// A code that is not `code`.
fn other_than(code: &str, n: u32) -> String {
    let value: u32 = code.parse().unwrap();
    format!("{:06}", (value + n) % 1_000_000)
}

/// Another transaction that holds the recovery code (PostgreSQL: its row; SQLite, which
/// locks the whole database for a write: the write lock), as a busy database would.
enum Busy {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl Busy {
    async fn hold(t: &TestApp) -> Busy {
        use sqlx::Connection;
        if crate::support::on_postgres() {
            let mut c = sqlx::PgConnection::connect(t.database_url()).await.unwrap();
            sqlx::query("BEGIN").execute(&mut c).await.unwrap();
            sqlx::query("SELECT id FROM codes WHERE purpose = 'recovery' FOR UPDATE")
                .execute(&mut c)
                .await
                .unwrap();
            Busy::Postgres(c)
        } else {
            let mut c = sqlx::SqliteConnection::connect(t.database_url())
                .await
                .unwrap();
            sqlx::query("BEGIN IMMEDIATE")
                .execute(&mut c)
                .await
                .unwrap();
            Busy::Sqlite(c)
        }
    }

    async fn release(self) {
        match self {
            Busy::Sqlite(mut c) => drop(sqlx::query("COMMIT").execute(&mut c).await.unwrap()),
            Busy::Postgres(mut c) => drop(sqlx::query("COMMIT").execute(&mut c).await.unwrap()),
        }
    }
}

/// Makes every `event` (`INSERT`, `UPDATE`) of the `codes` table take a while (at least
/// 300 ms), as a busy database would: PostgreSQL sleeps in a trigger; SQLite, which has no
/// sleep, counts a large cross join in one.
async fn slow_codes(t: &TestApp, event: &str) {
    if crate::support::on_postgres() {
        t.execute(
            "CREATE FUNCTION slowly() RETURNS trigger AS $$
             BEGIN PERFORM pg_sleep(0.3); RETURN NEW; END $$ LANGUAGE plpgsql",
        )
        .await;
        t.execute(&format!(
            "CREATE TRIGGER slow_codes BEFORE {event} ON codes
                 FOR EACH ROW EXECUTE FUNCTION slowly()"
        ))
        .await;
        return;
    }
    // Rows are added until one count takes 300 ms (a tenth more each time, so that it does
    // not overshoot by much: it burns a core while it counts).
    t.execute("CREATE TABLE slow (n INTEGER)").await;
    t.execute(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100)
         INSERT INTO slow (n) SELECT x FROM c",
    )
    .await;
    for _ in 0..40 {
        let started = std::time::Instant::now();
        t.execute("SELECT count(*) FROM slow a, slow b, slow c")
            .await;
        if started.elapsed() >= Duration::from_millis(300) {
            break;
        }
        t.execute("INSERT INTO slow (n) SELECT n FROM slow LIMIT (SELECT count(*) / 10 FROM slow)")
            .await;
    }
    t.execute(&format!(
        "CREATE TRIGGER slow_codes BEFORE {event} ON codes
             BEGIN SELECT count(*) FROM slow a, slow b, slow c; END"
    ))
    .await;
}

/// Issue 23 point 9: a wrong code answers `INVALID_CODE` however many came before, for an
/// identifier with an account as for one without; only the right code learns it is void.
#[tokio::test]
async fn wrong_codes_answer_alike_for_real_and_unknown_identifiers() {
    let t = TestApp::spawn_behind_proxy(|_| {}).await;
    t.person("ayu@example.com").register().await;
    let res = t
        .post(
            "/api/v1/fypass/recovery",
            json!({"identifier": "ayu@example.com"}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let code = code_for(&t, "ayu@example.com", "recovery", 1).await;
    let complete = |i: usize, who: &str, code: String| {
        t.post_from(
            &format!("198.51.100.{}", i + 1),
            "/api/v1/fypass/recovery/complete",
            json!({"identifier": who, "code": code, "newPassword": "a new passphrase"}),
        )
    };
    let tries = fypass::codes::MAX_CODE_FAILURES as usize + 3;
    for (i, who) in ["ayu@example.com", "nobody@example.com"].iter().enumerate() {
        for n in 0..tries {
            let wrong = other_than(&code, n as u32 + 1);
            let res = complete(i * 50 + n, who, wrong).await;
            expect_error(res, 400, "INVALID_CODE").await;
        }
    }
    // The person's own code was voided by the five first.
    expect_error(
        complete(200, "ayu@example.com", code).await,
        400,
        "CODE_EXPIRED",
    )
    .await;
}

/// Issue 23 point 9: wrong codes are limited per network — whatever identifier they are
/// for — so one address can neither guess on nor void many people's codes.
#[tokio::test]
async fn wrong_codes_are_limited_per_network() {
    let t = TestApp::spawn_behind_proxy(|_| {}).await;
    t.person("bayu@example.com").register().await;
    let res = t
        .post_from(
            "203.0.113.5",
            "/api/v1/fypass/recovery",
            json!({"identifier": "bayu@example.com"}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let code = code_for(&t, "bayu@example.com", "recovery", 1).await;
    let stranger = |who: String, code: String| {
        t.post_from(
            "198.51.100.9",
            "/api/v1/fypass/recovery/complete",
            json!({"identifier": who, "code": code, "newPassword": "a new passphrase"}),
        )
    };
    for n in 0..crate::support::limits().wrong_codes_per_network_hour {
        // A few at the person's code (not enough to void it), the rest at made-up ones.
        let who = if n < 3 {
            "bayu@example.com".to_string()
        } else {
            format!("nobody{n}@example.com")
        };
        let res = stranger(who, other_than(&code, n as u32 + 1)).await;
        expect_error(res, 400, "INVALID_CODE").await;
    }
    let res = stranger("bayu@example.com".into(), other_than(&code, 99)).await;
    let body = expect_error(res, 429, "TOO_MANY_REQUESTS").await;
    assert!(
        body["message"].as_str().unwrap().contains("network"),
        "{body}"
    );
    // The person, elsewhere, uses their code.
    let res = t
        .post_from(
            "203.0.113.5",
            "/api/v1/fypass/recovery/complete",
            json!({"identifier": "bayu@example.com", "code": code, "newPassword": "a new passphrase"}),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

/// Issue 23 point 9: tries at one code are counted atomically — many wrong codes at once,
/// even on a slow database, get no more than five of them compared with the code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_wrong_codes_get_five_tries_at_most() {
    let t = TestApp::spawn_behind_proxy(|c| c.db_max_connections = 16).await;
    t.person("citra@example.com").register().await;
    let res = t
        .post(
            "/api/v1/fypass/recovery",
            json!({"identifier": "citra@example.com"}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let code = code_for(&t, "citra@example.com", "recovery", 1).await;
    // The guesses arrive while another transaction holds the code: they all wait to write.
    let busy = Busy::hold(&t).await;
    let guesses: Vec<_> = (0..8u32)
        .map(|n| {
            t.post_from(
                &format!("198.51.100.{}", n + 1),
                "/api/v1/fypass/recovery/complete",
                json!({"identifier": "citra@example.com", "code": other_than(&code, n + 1), "newPassword": "a new passphrase"}),
            )
        })
        .collect();
    let guesses = tokio::spawn(join_all(guesses));
    tokio::time::sleep(Duration::from_millis(700)).await;
    busy.release().await;
    for res in guesses.await.unwrap() {
        expect_error(res, 400, "INVALID_CODE").await;
    }
    let mut tx = t.db().begin().await.unwrap();
    let compared = match &mut tx {
        fypass::db::Tx::Sqlite(c) => {
            sqlx::query_as::<_, (i64,)>("SELECT failures FROM codes WHERE purpose = 'recovery'")
                .fetch_one(&mut **c)
                .await
                .unwrap()
        }
        fypass::db::Tx::Postgres(c) => {
            sqlx::query_as::<_, (i64,)>("SELECT failures FROM codes WHERE purpose = 'recovery'")
                .fetch_one(c.exec())
                .await
                .unwrap()
        }
    };
    drop(tx);
    assert_eq!(
        compared.0,
        fypass::codes::MAX_CODE_FAILURES,
        "tries compared"
    );
}

/// Issue 23 point 20: a send answers as fast for an identifier with an account as for one
/// without, even when storing the code is slow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_takes_as_long_whether_or_not_an_account_has_the_identifier() {
    let t = TestApp::spawn_behind_proxy(|_| {}).await;
    for n in 0..3 {
        t.person(&format!("dian{n}@example.com")).register().await;
    }
    slow_codes(&t, "INSERT").await;
    let timed = |ip: String, who: String| {
        let send = t.post_from(&ip, "/api/v1/fypass/recovery", json!({"identifier": who}));
        async move {
            let started = std::time::Instant::now();
            let res = send.await;
            assert_eq!(res.status(), 202);
            (started.elapsed(), res.json::<Value>().await.unwrap())
        }
    };
    // The quickest of three sends each (other tests share the machine).
    let (mut known, mut unknown) = (Duration::MAX, Duration::MAX);
    for n in 0..3 {
        let (took, reply) = timed(
            format!("198.51.100.{}", n + 1),
            format!("nobody{n}@example.com"),
        )
        .await;
        assert_eq!(reply, json!({"sent": true, "retryAfter": 60}));
        unknown = unknown.min(took);
        let (took, reply) = timed(
            format!("198.51.100.{}", n + 11),
            format!("dian{n}@example.com"),
        )
        .await;
        assert_eq!(reply, json!({"sent": true, "retryAfter": 60}));
        known = known.min(took);
    }
    assert!(
        known < unknown + Duration::from_millis(150),
        "{known:?} for an account, {unknown:?} without"
    );
    // The codes were stored all the same.
    for n in 0..3 {
        code_for(&t, &format!("dian{n}@example.com"), "recovery", 1).await;
    }
}

/// Issue 23 point 16: a message given up after its last attempt forgets its body (the
/// code), as a sent one does.
#[tokio::test]
async fn a_message_given_up_forgets_its_body() {
    let port = free_port();
    let t = TestApp::spawn_with(|c| c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"))).await;
    t.person("eka@example.com").register().await;
    // Nothing listens: the first attempt fails; the last one is next.
    for _ in 0..100 {
        if outbox(&t).await.iter().any(|m| m.attempts > 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    t.execute(&format!(
        "UPDATE outbox SET attempts = {}, next_attempt_at = 0",
        fypass::courier::outbox::MAX_ATTEMPTS - 1
    ))
    .await;
    t.state.courier.wake();
    let mut given_up = None;
    for _ in 0..100 {
        let listed = outbox(&t).await;
        if listed[0].status == "failed" {
            given_up = Some(listed[0].body.clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(given_up, Some(None), "given up, and its body forgotten");
}

/// Behind carrier-grade NAT thousands of people share one address: an operator raises the
/// per-network cap (or lowers the cooldown) with a setting, and the server follows it.
#[tokio::test]
async fn the_send_limits_are_settings() {
    let t = TestApp::spawn_with(|c| {
        c.limits.code_sends_per_network_hour = 2;
        c.limits.code_send_cooldown_secs = 5;
        c.limits.sign_in_per_network = 4321;
    })
    .await;
    // `/docs#abuse` states the limits in force, not the defaults.
    let docs = TestApp::page_html(t.get("/docs").await).await;
    assert!(docs.contains("4321"), "the docs show the configured cap");
    let send = |who: &'static str| {
        let t = &t;
        async move {
            t.post("/api/v1/fypass/recovery", json!({"identifier": who}))
                .await
        }
    };
    let res = send("a@example.com").await;
    assert_eq!(res.status(), 202);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"sent": true, "retryAfter": 5}),
        "the reply names the configured cooldown"
    );
    assert_eq!(send("b@example.com").await.status(), 202);
    // The third send from this network within the hour is over the configured cap of 2
    // (the default, 20, would have let it through).
    expect_error(send("c@example.com").await, 429, "TOO_MANY_REQUESTS").await;
}
