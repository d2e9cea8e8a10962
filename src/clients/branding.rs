//! An app's own look on the pages fypass shows its users: its name, and the logo and
//! accent colour an admin sets with `fypass client set-branding`.
//!
//! A page about a login request shows the app that started it; `/devices` and `/account`
//! show the app whose login request opened the browser's session. A page with neither
//! shows fypass itself.

use serde::{Deserialize, Serialize};

/// How a page presents the app it is shown for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppLook {
    pub name: String,
    /// An https URL (see [`LogoUrl`]).
    pub logo_url: Option<String>,
    /// `#rrggbb` (see [`AccentColor`]).
    pub color: Option<String>,
}

#[cfg(feature = "ssr")]
pub use server::*;

#[cfg(feature = "ssr")]
mod server {
    use super::AppLook;
    use crate::{
        db::{Db, now_ms, with_reader},
        error::ApiError,
        secret,
    };

    /// A logo a browser may load on fypass's pages: an absolute `https` URL with a plain
    /// host and no credentials. The pages' Content-Security-Policy admits images from its
    /// origin only.
    ///
    /// The origin is written into that header, so the host must be what CSP's grammar calls
    /// a host: DNS labels of letters, digits and hyphens (an IDN in its `xn--` form), or an
    /// IPv4 address. URL parsing alone accepts far more in a host (`;`, `'`, `*`, ...), and
    /// `https://cdn.example;sandbox;` would end the directive and add its own to every page.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct LogoUrl(url::Url);

    impl LogoUrl {
        pub fn parse(s: &str) -> Result<LogoUrl, String> {
            let url = url::Url::parse(s.trim())
                .map_err(|e| format!("'{s}' is not an absolute URL: {e}"))?;
            if url.scheme() != "https" {
                return Err(format!("'{s}' must be an https:// URL"));
            }
            let plain_host = match url.host() {
                Some(url::Host::Domain(domain)) => domain.split('.').all(|label| {
                    !label.is_empty()
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                }),
                Some(url::Host::Ipv4(_)) => true,
                Some(url::Host::Ipv6(_)) | None => false,
            };
            if !plain_host {
                return Err(format!(
                    "'{s}' must have a plain host name (letters, digits, hyphens and dots)"
                ));
            }
            if !url.username().is_empty() || url.password().is_some() {
                return Err(format!("'{s}' must not carry a user name or password"));
            }
            if url.as_str().len() > 2048 {
                return Err("the logo URL must be at most 2048 characters".into());
            }
            Ok(LogoUrl(url))
        }

        pub fn as_str(&self) -> &str {
            self.0.as_str()
        }
    }

    /// The origin (`https://cdn.example.com`) of a logo URL, for the page's CSP, built from
    /// the parsed URL's scheme, plain host and port; `None` for anything that is not a valid
    /// logo URL (a value stored before these rules, say).
    pub fn logo_origin(logo_url: &str) -> Option<String> {
        LogoUrl::parse(logo_url)
            .ok()
            .map(|u| u.0.origin().ascii_serialization())
    }

    /// An accent colour: `#rgb` or `#rrggbb`, kept as lowercase `#rrggbb`.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct AccentColor(String);

    impl AccentColor {
        pub fn parse(s: &str) -> Result<AccentColor, String> {
            let hex = s
                .trim()
                .strip_prefix('#')
                .filter(|h| h.chars().all(|c| c.is_ascii_hexdigit()))
                .ok_or_else(|| format!("'{s}' is not a hex colour such as #0a7d5a"))?
                .to_ascii_lowercase();
            match hex.len() {
                6 => Ok(AccentColor(format!("#{hex}"))),
                3 => Ok(AccentColor(hex.chars().fold(
                    "#".to_string(),
                    |mut s, c| {
                        s.push(c);
                        s.push(c);
                        s
                    },
                ))),
                _ => Err(format!("'{s}' is not a hex colour such as #0a7d5a")),
            }
        }

        pub fn as_str(&self) -> &str {
            &self.0
        }

        /// Black or white, whichever reads better on this colour (WCAG relative luminance).
        pub fn text_on(&self) -> &'static str {
            let channel = |i: usize| {
                let v = u8::from_str_radix(&self.0[i..i + 2], 16).unwrap_or(0) as f64 / 255.0;
                if v <= 0.04045 {
                    v / 12.92
                } else {
                    ((v + 0.055) / 1.055).powf(2.4)
                }
            };
            let luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
            // Contrast with white (1.05 / (L + 0.05)) beats contrast with black
            // ((L + 0.05) / 0.05) below L ≈ 0.179.
            if luminance > 0.179 {
                "#000000"
            } else {
                "#ffffff"
            }
        }
    }

    type LookRow = (String, Option<String>, Option<String>);

    /// A stored look, with only a logo URL that is valid by today's rules (a database may
    /// hold one set before them).
    fn look((name, logo_url, color): LookRow) -> AppLook {
        AppLook {
            name,
            logo_url: logo_url.filter(|u| LogoUrl::parse(u).is_ok()),
            color,
        }
    }

    /// The app of the login request `req_token` and the language it asked for.
    pub async fn for_request(
        db: &Db,
        req_token: &str,
    ) -> Result<Option<(AppLook, Option<String>)>, ApiError> {
        let sql = "SELECT c.name, c.logo_url, c.accent_color, r.locale \
                   FROM login_requests r JOIN clients c ON c.id = r.client_id \
                   WHERE r.token_hash = $1";
        type Row = (String, Option<String>, Option<String>, Option<String>);
        let row: Option<Row> = with_reader!(db, |c| sqlx::query_as(sql)
            .bind(secret::hash(req_token))
            .fetch_optional(c)
            .await)?;
        Ok(row.map(|(name, logo, color, locale)| (look((name, logo, color)), locale)))
    }

    /// The app whose login request opened the session `session_token`, if it is live.
    pub async fn for_session(db: &Db, session_token: &str) -> Result<Option<AppLook>, ApiError> {
        let sql = "SELECT c.name, c.logo_url, c.accent_color \
                   FROM sessions s JOIN clients c ON c.id = s.client_id \
                   WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2";
        let row: Option<LookRow> = with_reader!(db, |c| sqlx::query_as(sql)
            .bind(secret::hash(session_token))
            .bind(now_ms())
            .fetch_optional(c)
            .await)?;
        Ok(row.map(look))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn logos_are_https_urls_with_a_host() {
            assert!(LogoUrl::parse("https://cdn.example.com/logo.svg").is_ok());
            assert!(LogoUrl::parse("http://cdn.example.com/logo.svg").is_err());
            assert!(LogoUrl::parse("https://user:pw@cdn.example.com/l.png").is_err());
            assert!(LogoUrl::parse("data:image/png;base64,AAAA").is_err());
            assert!(LogoUrl::parse("/logo.png").is_err());
            for bad in [
                "https://cdn.example;sandbox;/logo.png",
                "https://cdn.example%3Bsandbox/logo.png",
                "https://cdn.example'unsafe-inline'/l.png",
                "https://*.example.com/l.png",
                "https://[::1]/l.png",
                "https://a..b/l.png",
            ] {
                assert!(LogoUrl::parse(bad).is_err(), "{bad}");
                assert_eq!(logo_origin(bad), None, "{bad}");
            }
            assert!(LogoUrl::parse("https://xn--bcher-kva.example/l.png").is_ok());
            assert!(LogoUrl::parse("https://bücher.example/l.png").is_ok());
            assert!(LogoUrl::parse("https://192.0.2.10/l.png").is_ok());
            assert_eq!(
                logo_origin("https://cdn.example.com:8443/a/logo.svg").as_deref(),
                Some("https://cdn.example.com:8443")
            );
        }

        #[test]
        fn colours_are_hex_and_get_a_readable_text_colour() {
            assert_eq!(AccentColor::parse("#0A7D5A").unwrap().as_str(), "#0a7d5a");
            assert_eq!(AccentColor::parse("#fa0").unwrap().as_str(), "#ffaa00");
            assert!(AccentColor::parse("red").is_err());
            assert!(AccentColor::parse("#12345").is_err());
            assert!(AccentColor::parse("#12345g").is_err());
            assert!(AccentColor::parse("#123456;}body{").is_err());
            assert_eq!(AccentColor::parse("#ffeb3b").unwrap().text_on(), "#000000");
            assert_eq!(AccentColor::parse("#1e3a8a").unwrap().text_on(), "#ffffff");
        }
    }
}
