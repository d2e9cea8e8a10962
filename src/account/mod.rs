//! `/account`: what the signed-in person manages about themselves — their password, their
//! email address and WhatsApp number (a new one is verified before it replaces the old),
//! and their passkeys. Page endpoints (under `/_app`), guarded by the browser session.

#[cfg(feature = "ssr")]
pub mod forms;
pub mod pages;

use crate::{api::JsonBody, error::ApiError, users::User};
use leptos::{prelude::*, server_fn::codec::GetUrl};
use serde::{Deserialize, Serialize};

/// What `/account` shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub user: User,
    pub passkeys: Vec<crate::passkeys::PasskeyView>,
    /// Whether passkeys work at this address.
    pub passkeys_enabled: bool,
}

#[cfg(feature = "ssr")]
fn sign_in_first() -> &'static str {
    crate::tr!(account.msg.sign_in_first)
}

/// The signed-in person's account; `UNAUTHORIZED` without a session.
#[server(prefix = "/_app", endpoint = "account", input = GetUrl, client = crate::api::PageClient)]
pub async fn get_account() -> Result<Account, ApiError> {
    let (state, caller) = crate::request::Caller::current()?;
    let user = crate::users::session::require(&state, &caller, sign_in_first()).await?;
    let passkeys = crate::passkeys::store::list(&state.db, user.id).await?;
    Ok(Account {
        user: user.view(),
        passkeys: passkeys.iter().map(|p| p.view()).collect(),
        passkeys_enabled: state.webauthn.is_some(),
    })
}

/// Changes the password (the current one proves it is the person): every other session and
/// every token is revoked, and this browser gets a new session.
#[server(prefix = "/_app", endpoint = "account/password", input = JsonBody, client = crate::api::PageClient)]
pub async fn change_password(current: String, new: String) -> Result<(), ApiError> {
    let (state, caller) = crate::request::Caller::current()?;
    let cookie = flow::change_password(&state, &caller, current, new).await?;
    crate::request::reply_cookie(cookie);
    Ok(())
}

/// Sends a code to a new (or unverified) email address or WhatsApp number of the person;
/// typing it (`POST /api/v1/fypass/verify`) verifies it, and a new one replaces the old.
#[server(prefix = "/_app", endpoint = "account/identifier", input = JsonBody, client = crate::api::PageClient)]
pub async fn send_identifier_code(identifier: String) -> Result<String, ApiError> {
    let (state, caller) = crate::request::Caller::current()?;
    flow::send_identifier_code(&state, &caller, &identifier).await
}

#[cfg(feature = "ssr")]
pub(crate) mod flow {
    use crate::{
        error::ApiError,
        request::Caller,
        server::AppState,
        users::{identifier::Identifier, password, session, store as users},
    };
    use axum::http::HeaderValue;

    pub async fn change_password(
        state: &AppState,
        caller: &Caller,
        current: String,
        new: String,
    ) -> Result<HeaderValue, ApiError> {
        let user = session::require_change(state, caller, super::sign_in_first()).await?;
        ApiError::check_fields(
            [
                (
                    "current",
                    current.is_empty().then(|| "is required".to_string()),
                ),
                ("new", password::check_new(&new).err()),
            ]
            .into_iter()
            .filter_map(|(f, m)| Some((f, m?))),
        )?;
        if !state
            .passwords
            .verify(current, Some(user.password_hash.clone()))
            .await?
        {
            return Err(ApiError::new(crate::error::ErrorCode::InvalidPassword)
                .and_field("current", crate::tr!(account.msg.not_current)));
        }
        let hash = state.passwords.hash(new).await?;
        let app = session::app_of(state, caller).await?;
        let mut tx = state.db.begin().await?;
        users::set_password(&mut tx, user.id, &hash).await?;
        crate::tokens::revoke_for_user(&mut tx, user.id, None).await?;
        session::revoke_all(&mut tx, user.id).await?;
        let cookie = session::start(&mut tx, &state.config, user.id, app).await?;
        tx.commit().await?;
        Ok(cookie)
    }

    /// Returns the identifier as stored (normalized), which the code went to.
    pub async fn send_identifier_code(
        state: &AppState,
        caller: &Caller,
        input: &str,
    ) -> Result<String, ApiError> {
        let user = session::require_change(state, caller, super::sign_in_first()).await?;
        let identifier = Identifier::parse(input, state.config.default_country_code)
            .map_err(|m| ApiError::invalid("identifier", m))?;
        if user.verified(&identifier) {
            return Err(ApiError::invalid(
                "identifier",
                crate::tr!(account.msg.already_verified),
            ));
        }
        crate::codes::flow::send_change(state, caller, &user, &identifier).await?;
        Ok(identifier.as_str().to_string())
    }
}
