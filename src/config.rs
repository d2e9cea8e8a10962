//! Configuration: every setting is a flag and an environment variable (the README's
//! table), read once at start by clap in `main.rs`. A leaf: it knows nothing of the
//! features that read it, so any module may take a `&Config` without a cycle.

use clap::{Args, Parser};
use std::{net::SocketAddr, time::Duration};

#[derive(Args, Debug, Clone)]
pub struct Config {
    /// `sqlite://PATH` or `postgres://...`. The SQLite file and its directory are created if missing.
    #[arg(
        long,
        env = "FYPASS_DATABASE_URL",
        default_value = "sqlite://data/fypass.db",
        global = true
    )]
    pub database_url: String,

    /// `transaction` when the PostgreSQL URL is a transaction pooler (PgBouncer with
    /// `pool_mode = transaction`): no named prepared statements, every statement in a
    /// transaction, migrations over `--database-migrate-url`. `none`: a direct connection
    /// (or a session pooler).
    #[arg(
        long,
        env = "FYPASS_DATABASE_POOLER",
        value_enum,
        default_value_t = Pooler::None,
        global = true
    )]
    pub database_pooler: Pooler,

    /// A direct PostgreSQL URL for the migrations at start (they hold a session-level lock,
    /// which a transaction pooler cannot keep). Required with `--database-pooler transaction`.
    #[arg(long, env = "FYPASS_DATABASE_MIGRATE_URL", global = true)]
    pub database_migrate_url: Option<String>,

    /// Address to listen on.
    #[arg(
        long = "addr",
        env = "LEPTOS_SITE_ADDR",
        default_value = "127.0.0.1:3000",
        global = true
    )]
    pub listen: SocketAddr,

    /// Public origin used in fypass URLs and for the Origin check, e.g. `https://id.example.com`.
    /// Defaults to `http://<listen address>`.
    #[arg(long, env = "FYPASS_PUBLIC_URL", value_parser = parse_origin, global = true)]
    pub public_url: Option<String>,

    /// Deadline for processing one request; past it the request is answered `REQUEST_TIMEOUT`
    /// and its writes are rolled back.
    #[arg(
        long,
        env = "FYPASS_REQUEST_TIMEOUT_MS",
        default_value_t = 10_000,
        global = true
    )]
    pub request_timeout_ms: u64,

    /// Lifetime of a login request (reqToken), in seconds.
    #[arg(
        long,
        env = "FYPASS_LOGIN_TTL_SECS",
        default_value_t = 600,
        global = true
    )]
    pub login_ttl_secs: u64,

    /// Lifetime of an access token, in seconds.
    #[arg(
        long,
        env = "FYPASS_TOKEN_TTL_SECS",
        default_value_t = 3600,
        global = true
    )]
    pub token_ttl_secs: u64,

    /// Lifetime of a refresh token, in seconds (each refresh gives a new one, for as long).
    #[arg(
        long,
        env = "FYPASS_REFRESH_TTL_SECS",
        default_value_t = 2_592_000,
        global = true
    )]
    pub refresh_ttl_secs: u64,

    /// Country calling code for WhatsApp numbers written with a leading 0.
    #[arg(
        long,
        env = "FYPASS_DEFAULT_COUNTRY_CODE",
        default_value_t = 62,
        global = true
    )]
    pub default_country_code: u16,

    /// Answer `INVALID_PASSWORD` instead of `USER_NOT_FOUND` for unknown users.
    #[arg(
        long,
        env = "FYPASS_HIDE_USER_EXISTENCE",
        default_value_t = false,
        global = true
    )]
    pub hide_user_existence: bool,

    /// Largest accepted request body, in bytes.
    #[arg(long, env = "FYPASS_BODY_LIMIT_BYTES", default_value_t = 64 * 1024, global = true)]
    pub body_limit_bytes: usize,

    /// Database connections (the read pool on SQLite, which always has one writer).
    #[arg(
        long,
        env = "FYPASS_DB_MAX_CONNECTIONS",
        default_value_t = 8,
        global = true
    )]
    pub db_max_connections: u32,

    /// Addresses of reverse proxies whose `X-Forwarded-For` is believed (comma-separated).
    /// Without any, the client address is the connection's peer.
    #[arg(
        long,
        env = "FYPASS_TRUSTED_PROXIES",
        value_delimiter = ',',
        global = true
    )]
    pub trusted_proxies: Vec<std::net::IpAddr>,

    /// Password hashes allowed to wait for a hashing thread (one thread per core); past
    /// that, sign-ins are refused at once with TOO_MANY_REQUESTS. Default: 4 per core.
    #[arg(long, env = "FYPASS_PASSWORD_QUEUE", global = true)]
    pub password_queue: Option<usize>,

    /// Accounts that one network (an IPv4 address or an IPv6 /64) may create per hour. Raise
    /// it for many people behind one address (a campus NAT, say).
    #[arg(
        long,
        env = "FYPASS_REGISTRATIONS_PER_HOUR",
        default_value_t = 10,
        global = true
    )]
    pub registrations_per_hour: i64,

    /// The other abuse limits of SPEC §13 (code sends, wrong codes, sign-in failures).
    #[command(flatten)]
    pub limits: crate::limits::Limits,

    /// Seconds a connection has to send a whole request head; an idle keep-alive connection
    /// is closed after as long.
    #[arg(
        long,
        env = "FYPASS_HEADER_TIMEOUT_SECS",
        default_value_t = 15,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true
    )]
    pub header_timeout_secs: u64,

    /// Open connections at most; past it new ones wait to be accepted.
    #[arg(
        long,
        env = "FYPASS_MAX_CONNECTIONS",
        default_value_t = 1024,
        global = true
    )]
    pub max_connections: usize,

    /// Open connections from one address at most (an IPv6 /64 counts as one address); one
    /// more from there is closed at once. Trusted proxies are not capped. Raise it for many
    /// people behind one address (a carrier-grade NAT, say).
    #[arg(
        long,
        env = "FYPASS_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = 128,
        global = true
    )]
    pub max_connections_per_address: usize,

    /// Where `/metrics` (Prometheus) is served: its own listener, so that the public address
    /// never shows it. `off` serves no metrics.
    #[arg(
        long,
        env = "FYPASS_METRICS_ADDR",
        default_value = "127.0.0.1:9464",
        value_parser = parse_metrics_addr,
        global = true
    )]
    pub metrics_addr: MetricsAddr,

    /// The SMTP server email codes leave through: `smtps://user:pass@host`,
    /// `smtp://user:pass@host:587?tls=required`, or `smtp://127.0.0.1:1025`. A plain `smtp://`
    /// URL is clear text only to this machine; to another host it means STARTTLS, required
    /// (port 587 unless given), unless it says `?tls=opportunistic`. Without it, email
    /// messages wait in the outbox.
    #[arg(long, env = "FYPASS_SMTP_URL", global = true)]
    pub smtp_url: Option<String>,

    /// The sender of email messages.
    #[arg(
        long,
        env = "FYPASS_MAIL_FROM",
        default_value = "fypass <no-reply@localhost>",
        global = true
    )]
    pub mail_from: String,

    /// The WhatsApp Cloud API's base URL (messages go to `{this}/{phone number id}/messages`).
    #[arg(
        long,
        env = "FYPASS_WHATSAPP_API_URL",
        default_value = "https://graph.facebook.com/v21.0",
        global = true
    )]
    pub whatsapp_api_url: String,

    /// The sending WhatsApp Business phone number's id. With the token, enables WhatsApp.
    #[arg(long, env = "FYPASS_WHATSAPP_PHONE_NUMBER_ID", global = true)]
    pub whatsapp_phone_number_id: Option<String>,

    /// The Cloud API's access token (sent as Bearer).
    #[arg(
        long,
        env = "FYPASS_WHATSAPP_TOKEN",
        global = true,
        hide_env_values = true
    )]
    pub whatsapp_token: Option<String>,

    /// The approved authentication template that carries the code.
    #[arg(
        long,
        env = "FYPASS_WHATSAPP_TEMPLATE",
        default_value = "fypass_code",
        global = true
    )]
    pub whatsapp_template: String,

    /// The approved template (no parameters) that tells a WhatsApp number it was replaced on
    /// its account.
    #[arg(
        long,
        env = "FYPASS_WHATSAPP_NOTICE_TEMPLATE",
        default_value = "fypass_number_changed",
        global = true
    )]
    pub whatsapp_notice_template: String,

    /// The template's language code.
    #[arg(
        long,
        env = "FYPASS_WHATSAPP_LANGUAGE",
        default_value = "en",
        global = true
    )]
    pub whatsapp_language: String,

    /// Whether people prove their email address or WhatsApp number: `off` (never asked),
    /// `optional` (a code after registration, which they may skip), `required` (a login
    /// request completes only once one of them is verified).
    #[arg(
        long,
        env = "FYPASS_VERIFICATION",
        default_value = "optional",
        value_parser = ["off", "optional", "required"],
        global = true
    )]
    pub verification: String,

    /// A secret (any text, at least 32 characters) from which fypass derives the key that
    /// encrypts its OpenID Connect signing keys in the database (AES-256-GCM). Without it
    /// they are stored unencrypted, and the server says so at start.
    #[arg(long, env = "FYPASS_SECRET_KEY", global = true)]
    pub secret_key: Option<String>,

    /// Seconds a new signing key from `fypass keys rotate` is published in the JWKS before it
    /// signs, so relying parties that cache the JWKS know it before they see it.
    #[arg(
        long,
        env = "FYPASS_KEY_PUBLISH_DELAY_SECS",
        default_value_t = 3600,
        global = true
    )]
    pub key_publish_delay_secs: u64,

    /// Log format on stderr: `text` or `json`.
    #[arg(long, env = "FYPASS_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"], global = true)]
    pub log_format: String,
}

/// What sits between fypass and PostgreSQL (`FYPASS_DATABASE_POOLER`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Pooler {
    /// PostgreSQL itself, or a pooler in session mode.
    #[default]
    None,
    /// A pooler in transaction mode (PgBouncer `pool_mode = transaction`).
    Transaction,
}

/// How strictly identifiers must be verified (`FYPASS_VERIFICATION`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verification {
    Off,
    Optional,
    Required,
}

impl Config {
    pub fn verification(&self) -> Verification {
        match self.verification.as_str() {
            "off" => Verification::Off,
            "required" => Verification::Required,
            _ => Verification::Optional,
        }
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// The public origin, without a trailing slash.
    pub fn public_origin(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
    }

    /// Whether the public URL names this machine (`localhost`, `127.0.0.1`, `[::1]`): a
    /// deployment anyone else can reach is not.
    pub fn public_is_loopback(&self) -> bool {
        match url::Url::parse(&self.public_origin())
            .ok()
            .and_then(|u| u.host().map(|h| h.to_owned()))
        {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        }
    }

    /// Whether browsers reach fypass over https (cookies get `Secure` and the `__Host-` prefix).
    pub fn is_https(&self) -> bool {
        self.public_origin().starts_with("https://")
    }

    /// The configuration with every default, as the tests start from.
    pub fn defaults() -> Self {
        #[derive(Parser)]
        struct Only {
            #[command(flatten)]
            config: Config,
        }
        Only::parse_from(["fypass"]).config
    }
}

/// The metrics listener's address, or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetricsAddr(pub Option<SocketAddr>);

fn parse_metrics_addr(s: &str) -> Result<MetricsAddr, String> {
    match s.trim() {
        "" | "off" => Ok(MetricsAddr(None)),
        addr => addr
            .parse()
            .map(|a| MetricsAddr(Some(a)))
            .map_err(|e| format!("must be an address such as 127.0.0.1:9464, or off ({e})")),
    }
}

/// Accepts `scheme://host[:port]` and normalizes away a trailing slash.
fn parse_origin(s: &str) -> Result<String, String> {
    let url = url::Url::parse(s).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("must be an http:// or https:// origin".into());
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err("must be an origin only (no path, query or fragment)".into());
    }
    Ok(url.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_url_is_an_origin() {
        assert_eq!(
            parse_origin("https://id.example.com/").unwrap(),
            "https://id.example.com"
        );
        assert_eq!(
            parse_origin("http://127.0.0.1:3000").unwrap(),
            "http://127.0.0.1:3000"
        );
        assert!(parse_origin("https://id.example.com/login").is_err());
        assert!(parse_origin("ftp://x").is_err());
    }

    #[test]
    fn loopback_public_urls() {
        let with = |url: &str| Config {
            public_url: Some(url.into()),
            ..Config::defaults()
        };
        assert!(with("http://127.0.0.1:3000").public_is_loopback());
        assert!(with("http://localhost:3000").public_is_loopback());
        assert!(with("http://[::1]:3000").public_is_loopback());
        assert!(!with("https://id.example.com").public_is_loopback());
        assert!(!with("http://10.0.0.5:3000").public_is_loopback());
    }
}
