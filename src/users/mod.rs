//! Users: the people who sign in through fypass.
//!
//! * [`User`]: a person as the API shows them.
//! * Server side: `identifier` (email / WhatsApp number types), `password` (Argon2id on a
//!   bounded pool), `store` (the `users` table), `session` (the browser session cookie and
//!   the session guard), `recovery` (what a recovery removes) and `cli` (`fypass user ...`).
//!
//! The login flow that creates users and signs them in is in `crate::login`; the tokens
//! an app holds for a person are in `crate::tokens`.

#[cfg(feature = "ssr")]
pub mod factor;
#[cfg(feature = "ssr")]
pub mod identifier;
#[cfg(feature = "ssr")]
pub mod session;
#[cfg(feature = "ssr")]
pub mod store;

use crate::{api::JsonBody, error::ApiError, locale::Locale, status::Status};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// How long a proof of who the person is (a sign-in, their password typed again, a passkey
/// used) lets them change their email address or number, add a passkey or see a new second
/// factor's secret, in that browser (`session::proven_recently`, `login::reauth`).
pub const REAUTH_WINDOW_SECS: u64 = 300;

/// A person, as the API and the pages show them. Never their password hash.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whatsapp: Option<String>,
    pub status: Status,
    pub created_at: String,
    /// When the email address was verified (a code sent to it came back), or null.
    #[serde(default)]
    pub email_verified_at: Option<String>,
    /// When the WhatsApp number was verified, or null.
    #[serde(default)]
    pub whatsapp_verified_at: Option<String>,
}

impl User {
    /// How the pages address this person: their email, else their number.
    pub fn contact(&self) -> &str {
        self.email
            .as_deref()
            .or(self.whatsapp.as_deref())
            .unwrap_or_default()
    }

    /// [`User::contact`] as a person reading `locale` writes it.
    pub fn contact_for_display(&self, locale: Locale) -> String {
        identifier_for_display(self.contact(), locale)
    }
}

/// A stored identifier as people write it: an email as it is; an Indonesian mobile number
/// (`+6281234567890`) as `0812-3456-7890` for a reader of Bahasa Indonesia and
/// `+62 812-3456-7890` for others, grouped as libphonenumber groups them; any other number
/// as stored (E.164). Plain text work, so the server and the hydrating browser agree.
pub fn identifier_for_display(identifier: &str, locale: Locale) -> String {
    let Some(national) = identifier
        .strip_prefix("+628")
        .filter(|rest| rest.bytes().all(|b| b.is_ascii_digit()))
    else {
        return identifier.to_string();
    };
    // "8" + operator prefix (2 digits), then the subscriber number in two groups.
    let (prefix, subscriber) = national.split_at(national.len().min(2));
    let (first, second) = match subscriber.len() {
        8 => subscriber.split_at(4),
        7 => subscriber.split_at(4),
        6 => subscriber.split_at(3),
        _ => return identifier.to_string(),
    };
    match locale {
        Locale::id => format!("08{prefix}-{first}-{second}"),
        Locale::en => format!("+62 8{prefix}-{first}-{second}"),
    }
}

/// Signs this browser out (the sign-out button of every page; `ui::SignOutButton`).
#[server(prefix = "/_app", endpoint = "fypass/sign-out", input = JsonBody, client = crate::api::PageClient)]
pub async fn sign_out() -> Result<(), ApiError> {
    let (state, caller) = crate::request::Caller::current()?;
    let cookie = session::sign_out(&state, &caller).await?;
    crate::request::reply_cookie(cookie);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indonesian_numbers_read_nationally_in_indonesian() {
        let cases = [
            ("+6281234567890", "0812-3456-7890", "+62 812-3456-7890"),
            ("+628123456789", "0812-3456-789", "+62 812-3456-789"),
            ("+62811234567", "0811-234-567", "+62 811-234-567"),
        ];
        for (stored, id, en) in cases {
            assert_eq!(identifier_for_display(stored, Locale::id), id);
            assert_eq!(identifier_for_display(stored, Locale::en), en);
        }
        // Landlines, other countries and emails stay as stored.
        for other in ["+622150851234", "+14155550123", "ana@example.com"] {
            assert_eq!(identifier_for_display(other, Locale::id), other);
        }
    }
}
