//! Email over SMTP with lettre (tokio, rustls with ring: no OpenSSL).
//!
//! `FYPASS_SMTP_URL` is lettre's URL: `smtps://user:pass@host` (TLS from the start, port
//! 465), `smtp://user:pass@host:587?tls=required` (STARTTLS), or `smtp://host:port`. A plain
//! `smtp://` URL is sent in clear text only to this machine (`localhost`, `127.0.0.0/8`,
//! `::1`); to any other host it means STARTTLS, required ([`connection_url`]), so neither a
//! password nor a code crosses a network in clear text, even when someone in between strips
//! the server's offer of TLS. Only an explicit `?tls=opportunistic` allows that fallback.

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

/// The URL lettre connects with: `url`, with `tls=required` added to a plain `smtp://` URL
/// whose host is not this machine. The `tls` parameter is read as lettre reads it (the query
/// pair named `tls`), so no other text in the URL can pass for it.
fn connection_url(url: &str) -> Result<String, String> {
    let mut parsed = url::Url::parse(url).map_err(|e| format!("FYPASS_SMTP_URL: {e}"))?;
    let tls = parsed
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.into_owned());
    let scheme = parsed.scheme().to_string();
    match (scheme.as_str(), tls.as_deref()) {
        ("smtps", _) | ("smtp", Some("required")) => Ok(url.to_string()),
        ("smtp", Some("opportunistic")) => {
            if !is_this_machine(&parsed) {
                tracing::warn!(
                    "FYPASS_SMTP_URL asks for tls=opportunistic: mail falls back to clear text \
                     if anyone between fypass and the server hides its STARTTLS"
                );
            }
            Ok(url.to_string())
        }
        ("smtp", None) if is_this_machine(&parsed) => Ok(url.to_string()),
        ("smtp", None) => {
            parsed.query_pairs_mut().append_pair("tls", "required");
            Ok(parsed.to_string())
        }
        ("smtp", Some(other)) => Err(format!(
            "FYPASS_SMTP_URL: tls={other} is not a choice: use tls=required or tls=opportunistic"
        )),
        (scheme, _) => Err(format!(
            "FYPASS_SMTP_URL: {scheme}:// is not an SMTP URL: use smtps://… or smtp://…"
        )),
    }
}

/// Whether the URL's host is this machine: `localhost` or a loopback address. (`smtp:` is
/// not a scheme the URL standard knows, so an IPv4 address in it is an opaque host name.)
fn is_this_machine(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost")
                || d.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.to_canonical().is_loopback())
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.to_canonical().is_loopback(),
        None => false,
    }
}

impl Sender {
    pub fn from_config(config: &Config) -> Result<Option<Sender>, String> {
        let Some(url) = config.smtp_url.as_deref().filter(|u| !u.is_empty()) else {
            return Ok(None);
        };
        let url = connection_url(url)?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
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

#[cfg(test)]
mod tests {
    use super::connection_url;

    #[test]
    fn plain_smtp_stays_on_this_machine() {
        for local in [
            "smtp://127.0.0.1:1025",
            "smtp://localhost:25",
            "smtp://[::1]:25",
            "smtp://127.0.0.2:25",
        ] {
            assert_eq!(connection_url(local).unwrap(), local);
        }
        // Elsewhere a plain URL means STARTTLS, required; other text cannot pass for `tls`.
        for remote in [
            "smtp://u:p@mail.example.com:587",
            "smtp://u:p@mail.example.com:587?notls=1",
            "smtp://u:p@10.0.0.5/?x=tls=none",
            "smtp://u:p@[::ffff:10.0.0.5]:25",
        ] {
            let url = url::Url::parse(&connection_url(remote).unwrap()).unwrap();
            let tls: Vec<_> = url.query_pairs().filter(|(k, _)| k == "tls").collect();
            assert_eq!(tls.len(), 1, "{remote}");
            assert_eq!(tls[0].1, "required", "{remote}");
        }
        for kept in [
            "smtps://u:p@mail.example.com",
            "smtp://u:p@mail.example.com:587?tls=required",
            "smtp://u:p@mail.example.com:587?tls=opportunistic",
        ] {
            assert_eq!(connection_url(kept).unwrap(), kept);
        }
        assert!(connection_url("smtp://mail.example.com?tls=none").is_err());
        assert!(connection_url("http://mail.example.com").is_err());
    }
}
