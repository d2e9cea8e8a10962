//! The delivery channels the courier talks to, as real servers the tests start:
//!
//! * [`MailServer`]: maildev (npm, installed in `end2end/` by `make`), a real SMTP server
//!   whose received mail the tests read from its HTTP API;
//! * [`WhatsappApi`]: a small local HTTP server in the WhatsApp Cloud API's shape (the
//!   real one cannot be reached from CI), recording what it was sent.

use crate::support::free_port;
use axum::{Json, Router, extract::State, http::HeaderMap, routing::post};
use serde_json::{Value, json};
use std::{
    net::SocketAddr,
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

pub struct MailServer {
    pub smtp_port: u16,
    web_port: u16,
    _child: tokio::process::Child,
    http: reqwest::Client,
}

impl MailServer {
    /// maildev on free ports, once it answers.
    pub async fn start() -> MailServer {
        Self::start_on(free_port()).await
    }

    /// maildev receiving SMTP on `smtp_port`.
    pub async fn start_on(smtp_port: u16) -> MailServer {
        let web_port = free_port();
        let bin = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/end2end/node_modules/.bin/maildev"
        );
        let child = tokio::process::Command::new(bin)
            .args(["--smtp", &smtp_port.to_string(), "--ip", "127.0.0.1"])
            .args([
                "--web",
                &web_port.to_string(),
                "--web-ip",
                "127.0.0.1",
                "--silent",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("maildev starts ({bin}; `make tools` installs it): {e}"));
        let server = MailServer {
            smtp_port,
            web_port,
            _child: child,
            http: reqwest::Client::new(),
        };
        for _ in 0..200 {
            let smtp = tokio::net::TcpStream::connect(("127.0.0.1", smtp_port)).await;
            if smtp.is_ok() && server.all().await.is_some() {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("maildev did not start");
    }

    /// The URL fypass sends through (plain SMTP on this machine).
    pub fn smtp_url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.smtp_port)
    }

    async fn all(&self) -> Option<Vec<Value>> {
        let url = format!("http://127.0.0.1:{}/api/email", self.web_port);
        self.http.get(url).send().await.ok()?.json().await.ok()
    }

    /// The messages received for `to`.
    pub async fn to(&self, to: &str) -> Vec<Value> {
        self.all()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|m| {
                m["to"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|r| r["address"] == to))
            })
            .collect()
    }

    /// Waits (up to `limit`) until `n` messages reached `to`.
    pub async fn wait_for(&self, to: &str, n: usize, limit: Duration) -> Vec<Value> {
        let started = std::time::Instant::now();
        loop {
            let got = self.to(to).await;
            if got.len() >= n || started.elapsed() > limit {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The six-digit code in a message's text.
pub fn code_in(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap_or_else(|| panic!("no code in {text}"))
        .to_string()
}

/// A stand-in for the WhatsApp Cloud API: `POST /{phone id}/messages` with a Bearer token.
#[derive(Clone)]
pub struct WhatsappApi {
    pub addr: SocketAddr,
    sent: Sent,
}

pub const WHATSAPP_TOKEN: &str = "test-cloud-api-token";
pub const WHATSAPP_PHONE_ID: &str = "1234567890";

impl WhatsappApi {
    pub async fn start() -> WhatsappApi {
        let sent: Sent = Arc::default();
        let app = Router::new()
            .route(&format!("/{WHATSAPP_PHONE_ID}/messages"), post(receive))
            .with_state(sent.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        WhatsappApi { addr, sent }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bodies sent to `to` (E.164 without `+`, as the API takes it).
    pub fn to(&self, to: &str) -> Vec<Value> {
        let to = to.trim_start_matches('+');
        self.sent
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, body)| body["to"] == to)
            .map(|(_, body)| body.clone())
            .collect()
    }

    pub async fn wait_for(&self, to: &str, n: usize) -> Vec<Value> {
        for _ in 0..100 {
            let got = self.to(to);
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.to(to)
    }
}

/// What the stand-in received: each message's recipient and body.
type Sent = Arc<Mutex<Vec<(String, Value)>>>;

/// As the Cloud API: a wrong token is refused; a message answered with its id.
async fn receive(
    State(sent): State<Sent>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (axum::http::StatusCode, Json<Value>) {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if auth != format!("Bearer {WHATSAPP_TOKEN}") {
        return (
            axum::http::StatusCode::UNAUTHORIZED,
            Json(json!({"error": {"message": "Invalid OAuth access token.", "code": 190}})),
        );
    }
    sent.lock().unwrap().push((auth.to_string(), body.clone()));
    (
        axum::http::StatusCode::OK,
        Json(json!({
            "messaging_product": "whatsapp",
            "contacts": [{"input": body["to"], "wa_id": body["to"]}],
            "messages": [{"id": format!("wamid.{}", uuid::Uuid::now_v7().simple())}]
        })),
    )
}

/// The code in a WhatsApp template message (its body parameter).
pub fn whatsapp_code(body: &Value) -> String {
    body["template"]["components"][0]["parameters"][0]["text"]
        .as_str()
        .unwrap()
        .to_string()
}
