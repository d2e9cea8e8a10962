//! Recovery, sign-in codes and verification through real channels: maildev for email, a
//! local server in the WhatsApp Cloud API's shape (`channels.rs`), and the outbox.

use crate::{
    channels::{
        MailServer, WHATSAPP_PHONE_ID, WHATSAPP_TOKEN, WhatsappApi, code_in, free_port,
        whatsapp_code,
    },
    support::{LOGIN, REGISTER, TestApp, expect_error, join_all, session_cookie},
};
use fypass::config::Config;
use serde_json::{Value, json};
use std::time::Duration;

const PASSWORD: &str = "correct horse";
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

async fn register(t: &TestApp, email: Option<&str>, whatsapp: Option<&str>) -> reqwest::Response {
    let res = t
        .post(
            REGISTER,
            json!({"name": "Rina", "email": email, "whatsapp": whatsapp, "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 200);
    res
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
    let res = register(&t, Some("rina@example.com"), None).await;
    let old_session = session_cookie(&res);
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
    // The outbox forgot the message's body once it was sent.
    let listed = outbox(&t).await;
    assert!(
        listed
            .iter()
            .all(|m| m.status == "sent" && m.body.is_none()),
        "{listed:?}"
    );
}

#[tokio::test]
async fn wrong_and_expired_codes_are_refused_and_five_wrong_void_the_code() {
    let t = TestApp::spawn().await;
    register(&t, Some("sari@example.com"), None).await;
    let send = || {
        t.post(
            "/api/v1/fypass/recovery",
            json!({"identifier": "sari@example.com"}),
        )
    };
    assert_eq!(send().await.status(), 202);
    // No channel: the code waits in the outbox.
    let listed = outbox(&t).await;
    let recovery = listed.iter().find(|m| m.purpose == "recovery").unwrap();
    assert_eq!(
        (recovery.status.as_str(), recovery.channel.as_str()),
        ("pending", "email")
    );
    let code = code_in(recovery.body.as_deref().unwrap());
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

async fn tx_exec(tx: &mut fypass::db::Tx, sql: &str) -> u64 {
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
    register(&t, Some("tari@example.com"), None).await;
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
    register(&t, None, Some("0812-5555-0101")).await;
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
    register(&t, Some("umi@example.com"), None).await;
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
        let res = t
            .post_from(
                &format!("198.51.100.{}", i + 1),
                REGISTER,
                json!({"name": "Vina", "email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(res.status(), 200);
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

#[tokio::test]
async fn an_unverified_claim_does_not_block_the_owner_who_verifies_it() {
    let mail = MailServer::start().await;
    let t = TestApp::spawn_with(with_mail(&mail)).await;
    // An impostor registers the owner's address first.
    let impostor = t
        .post(REGISTER, json!({"name": "Impostor", "email": "wati@example.com", "whatsapp": "0812-7777-0001", "password": PASSWORD}))
        .await;
    assert_eq!(impostor.status(), 200);
    // The owner registers anyway, and verifies with the code only they receive.
    let res = register(&t, Some("wati@example.com"), None).await;
    let completion: Value = res.json().await.unwrap();
    assert_eq!(completion["verify"], json!(["wati@example.com"]));
    let mails = mail.wait_for("wati@example.com", 2, WAIT).await;
    let newest = mails
        .iter()
        .max_by_key(|m| m["date"].as_str().unwrap_or_default().to_string())
        .unwrap();
    // Each verification mail carries its own code; only the owner's account's verifies.
    let mut verified = false;
    for message in &mails {
        let res = t
            .post(
                "/api/v1/fypass/verify",
                json!({"identifier": "wati@example.com", "code": code_in(&text(message))}),
            )
            .await;
        if res.status() == 200 {
            assert_eq!(
                res.json::<Value>().await.unwrap(),
                json!({"verified": "email"})
            );
            verified = true;
            break;
        }
    }
    assert!(verified, "{newest}");
    // The owner signs in with the address; the impostor lost it (but keeps their number).
    let res = t
        .post(
            LOGIN,
            json!({"identifier": "wati@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let users: Vec<fypass::users::User> = fypass::users::store::list(t.db())
        .await
        .unwrap()
        .iter()
        .map(|u| u.view())
        .collect();
    let impostor = users.iter().find(|u| u.name == "Impostor").unwrap();
    assert_eq!(impostor.email, None);
    assert_eq!(impostor.whatsapp.as_deref(), Some("+6281277770001"));
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
        .post(
            "/api/v1/fypass/verify",
            json!({"identifier": "xena@example.com", "code": code}),
        )
        .await;
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
    let res = register(&t, Some("yuni@example.com"), None).await;
    let cookie = session_cookie(&res);
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
        .post(
            "/api/v1/fypass/verify",
            json!({"identifier": "yuni.new@example.com", "code": code}),
        )
        .await;
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
        register(&t, Some(&email), None).await;
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
