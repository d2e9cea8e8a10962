//! Email over SMTP with lettre (tokio, rustls with ring: no OpenSSL).
//!
//! `FYPASS_SMTP_URL` is lettre's URL: `smtps://user:pass@host` (TLS from the start, port
//! 465), `smtp://user:pass@host:587?tls=required` (STARTTLS), or `smtp://host:port` (no TLS:
//! allowed only to this machine, so a password never crosses a network in clear text).

use super::Message;
use crate::config::Config;
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Tokio1Executor,
    message::{Mailbox, MultiPart, header::ContentType},
};
use std::time::Duration;

/// How long one SMTP conversation may take.
const TIMEOUT: Duration = Duration::from_secs(10);

pub struct Sender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The domain of Message-IDs (lettre writes `@localhost` otherwise).
    domain: String,
}

impl Sender {
    pub fn from_config(config: &Config) -> Result<Option<Sender>, String> {
        let Some(url) = config.smtp_url.as_deref().filter(|u| !u.is_empty()) else {
            return Ok(None);
        };
        let parsed = url::Url::parse(url).map_err(|e| format!("FYPASS_SMTP_URL: {e}"))?;
        let plain =
            parsed.scheme() == "smtp" && !parsed.query().unwrap_or_default().contains("tls=");
        let local = matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        if plain && !local {
            return Err(
                "FYPASS_SMTP_URL: a server on another machine needs TLS: use smtps://… or smtp://…?tls=required"
                    .into(),
            );
        }
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("FYPASS_SMTP_URL: {e}"))?
            .timeout(Some(TIMEOUT))
            .build();
        let from: Mailbox = config
            .mail_from
            .parse()
            .map_err(|e| format!("FYPASS_MAIL_FROM: {e}"))?;
        let domain = from.email.domain().to_string();
        Ok(Some(Sender {
            transport,
            from,
            domain,
        }))
    }

    pub async fn send(&self, message: &Message) -> Result<(), String> {
        let to: Mailbox = message
            .to
            .parse()
            .map_err(|e| format!("the recipient is not an address: {e}"))?;
        let builder = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&message.subject)
            .message_id(Some(format!(
                "<{}@{}>",
                uuid::Uuid::now_v7().simple(),
                self.domain
            )));
        let email = match &message.html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                message.text.clone(),
                html.clone(),
            )),
            None => builder
                .header(ContentType::TEXT_PLAIN)
                .body(message.text.clone()),
        }
        .map_err(|e| format!("the message cannot be built: {e}"))?;
        self.transport
            .send(email)
            .await
            .map(drop)
            .map_err(|e| format!("SMTP: {e}"))
    }
}
