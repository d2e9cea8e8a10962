//! Users: the people who sign in through fypass.
//!
//! * [`User`]: a person as the API shows them.
//! * Server side: `identifier` (email / WhatsApp number types), `password` (Argon2id on a
//!   bounded pool), `store` (the `users` table), `session` (the browser session cookie and
//!   the session guard) and `cli` (`fypass user ...`).
//!
//! The login flow that creates users and signs them in is in `crate::login`; the tokens
//! an app holds for a person are in `crate::tokens`.

#[cfg(feature = "ssr")]
pub mod cli;
#[cfg(feature = "ssr")]
pub mod identifier;
#[cfg(feature = "ssr")]
pub mod password;
#[cfg(feature = "ssr")]
pub mod session;
#[cfg(feature = "ssr")]
pub mod store;

use crate::{api::JsonBody, error::ApiError, status::Status};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

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
}

/// Signs this browser out (the sign-out button of every page; `ui::SignOutButton`).
#[server(prefix = "/_app", endpoint = "fypass/sign-out", input = JsonBody, client = crate::api::PageClient)]
pub async fn sign_out() -> Result<(), ApiError> {
    let (state, caller) = crate::request::Caller::current()?;
    let cookie = session::sign_out(&state, &caller).await?;
    crate::request::reply_cookie(cookie);
    Ok(())
}
