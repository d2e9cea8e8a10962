//! WhatsApp through the Cloud API: `POST {api}/{phone number id}/messages` with a Bearer
//! token, sending an authentication template whose one parameter is the code (WhatsApp only
//! lets a business start a conversation with a template Meta approved); a message without a
//! code (a number was replaced on its account) is the notice template, without parameters.
//!
//! The HTTP client is hyper's, with rustls and ring (the TLS stack email uses too).

use super::Message;
use crate::config::Config;
use axum::{
    body::Bytes,
    http::{Request, header},
};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::{TokioExecutor, TokioTimer},
};
use serde_json::json;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);

pub struct Sender {
    http: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    url: String,
    token: String,
    template: String,
    notice_template: String,
    language: String,
}

impl Sender {
    pub fn from_config(config: &Config) -> Result<Option<Sender>, String> {
        let (Some(phone), Some(token)) = (
            config
                .whatsapp_phone_number_id
                .as_deref()
                .filter(|v| !v.is_empty()),
            config.whatsapp_token.as_deref().filter(|v| !v.is_empty()),
        ) else {
            return Ok(None);
        };
        let api = config.whatsapp_api_url.trim_end_matches('/');
        let parsed = url::Url::parse(api).map_err(|e| format!("FYPASS_WHATSAPP_API_URL: {e}"))?;
        let local = matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        if parsed.scheme() != "https" && !local {
            return Err("FYPASS_WHATSAPP_API_URL must be https (or on this machine)".into());
        }
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(Duration::from_secs(5)));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .map_err(|e| format!("TLS: {e}"))?
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let http = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_timer(TokioTimer::new())
            .build(https);
        Ok(Some(Sender {
            http,
            url: format!("{api}/{phone}/messages"),
            token: token.to_string(),
            template: config.whatsapp_template.clone(),
            notice_template: config.whatsapp_notice_template.clone(),
            language: config.whatsapp_language.clone(),
        }))
    }

    /// The Cloud API's body for an authentication template carrying `code`.
    fn body(&self, to: &str, code: &str) -> serde_json::Value {
        json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to.trim_start_matches('+'),
            "type": "template",
            "template": {
                "name": self.template,
                "language": {"code": self.language},
                "components": [
                    {"type": "body", "parameters": [{"type": "text", "text": code}]},
                    {"type": "button", "sub_type": "url", "index": "0",
                     "parameters": [{"type": "text", "text": code}]}
                ]
            }
        })
    }

    /// The Cloud API's body for the notice template (it has no parameters).
    fn notice(&self, to: &str) -> serde_json::Value {
        json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to.trim_start_matches('+'),
            "type": "template",
            "template": {
                "name": self.notice_template,
                "language": {"code": self.language},
            }
        })
    }

    pub async fn send(&self, message: &Message) -> Result<(), String> {
        let body = match message.code.as_deref() {
            Some(code) => self.body(&message.to, code),
            None => self.notice(&message.to),
        };
        let body = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
        let request = Request::post(&self.url)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let reply = tokio::time::timeout(TIMEOUT, async {
            let res = self
                .http
                .request(request)
                .await
                .map_err(|e| e.to_string())?;
            let status = res.status();
            let bytes = Limited::new(res.into_body(), 64 * 1024)
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok::<_, String>((status, bytes))
        })
        .await
        .map_err(|_| "the WhatsApp API did not answer in time".to_string())??;
        let (status, bytes) = reply;
        if status.is_success() {
            return Ok(());
        }
        // The API's own error message (never our request, which holds the code).
        let said = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(String::from))
            .unwrap_or_default();
        Err(format!("the WhatsApp API answered {status}: {said}"))
    }
}
