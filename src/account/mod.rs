//! `/account`: what the signed-in person manages about themselves — their password, their
//! email address and WhatsApp number (a new one is verified before it replaces the old),
//! their passkeys, and signing out everywhere. Page endpoints (under `/_app`), guarded by
//! the browser session; changes that need a recent proof of who the person is go through
//! `login::reauth::gate`, and [`reauth`] records such a proof. The page is
//! `pages::account`. The security centre's plain forms are [`activity`] (ending a sign-in,
//! "this wasn't me", the export), and [`leaving`] deletes the account.

#[cfg(feature = "ssr")]
pub mod activity;
#[cfg(feature = "ssr")]
pub mod forms;
#[cfg(feature = "ssr")]
pub mod leaving;
#[cfg(feature = "ssr")]
pub mod reauth;

use crate::{api::JsonBody, error::ApiError, json_body, users::User};
use leptos::{prelude::*, server_fn::codec::GetUrl};
use serde::{Deserialize, Serialize};

pub use crate::users::REAUTH_WINDOW_SECS;

/// What `/account` shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub user: User,
    pub passkeys: Vec<crate::passkeys::PasskeyView>,
    /// Whether passkeys work at this address.
    pub passkeys_enabled: bool,
    pub second_factor: crate::factors::SecondFactorView,
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
        second_factor: crate::factors::flow::view(&state, &caller, &user).await?,
    })
}

/// Changes the password (the current one proves it is the person): every other session and
/// every token is revoked, and this browser gets a new session. With `remove_passkeys`, the
/// person's passkeys go too (someone who added one could still sign in with it).
#[server(prefix = "/_app", endpoint = "account/password", input = JsonBody, client = crate::api::PageClient)]
pub async fn change_password(
    current: String,
    new: String,
    #[server(default)] remove_passkeys: bool,
) -> Result<(), ApiError> {
    let (state, caller) = crate::request::Caller::current()?;
    let cookie = flow::change_password(&state, &caller, current, new, remove_passkeys).await?;
    crate::request::reply_cookie(cookie);
    Ok(())
}

/// Sends a code to a new (or unverified) email address or WhatsApp number of the person;
/// typing it (`POST /api/v1/fypass/verify`) verifies it, and a new one replaces the old. A
/// new one needs a recent proof of who the person is, or their `password` with it.
#[server(prefix = "/_app", endpoint = "account/identifier", input = JsonBody, client = crate::api::PageClient)]
pub async fn send_identifier_code(
    identifier: String,
    #[server(default)] password: Option<String>,
) -> Result<String, ApiError> {
    let (state, caller) = crate::request::Caller::current()?;
    flow::send_identifier_code(&state, &caller, &identifier, password).await
}

/// Prove who you are again: the password, or the answer to a passkey sign-in ceremony
/// started without a login request.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReauthenticateBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// From `POST /api/v1/fypass/passkeys/login/start` (without `reqToken`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ceremony_id: Option<String>,
    /// The `PublicKeyCredential`, as its `toJSON()` gives it.
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<serde_json::Value>,
}

/// `POST /api/v1/account/reauthenticate` — the person signed in in this browser proves who
/// they are again: for the next few minutes they may change their email address or number
/// and add passkeys here. Replies 204.
#[server(prefix = "/api/v1", endpoint = "account/reauthenticate", input = JsonBody, input_derive = (Clone, serde::Serialize), client = crate::api::PageClient)]
pub async fn reauthenticate(#[server(flatten)] body: ReauthenticateBody) -> Result<(), ApiError> {
    let (state, caller) = crate::request::Caller::current()?;
    reauth::reauthenticate(&state, &caller, body).await?;
    crate::request::reply_status(axum::http::StatusCode::NO_CONTENT);
    Ok(())
}
json_body!(Reauthenticate {
    body: ReauthenticateBody
});

/// Signs the person out everywhere: every browser session (this one too), every app's
/// tokens, and every sign-in an app has not collected yet; no browser is remembered as
/// theirs any more.
#[server(prefix = "/_app", endpoint = "account/sign-out-everywhere", input = JsonBody, client = crate::api::PageClient)]
pub async fn sign_out_everywhere() -> Result<(), ApiError> {
    let (state, caller) = crate::request::Caller::current()?;
    let cookie = flow::sign_out_everywhere(&state, &caller).await?;
    crate::request::reply_cookie(cookie);
    Ok(())
}

/// Deletes the signed-in person's account (after a recent proof of who they are, or their
/// `password` with it): see `leaving`.
#[server(prefix = "/_app", endpoint = "account/delete", input = crate::api::JsonBody, client = crate::api::PageClient)]
pub async fn delete_account(#[server(default)] password: Option<String>) -> Result<(), ApiError> {
    let (state, caller) = crate::request::Caller::current()?;
    let cookie = leaving::delete(&state, &caller, password).await?;
    crate::request::reply_cookie(cookie);
    Ok(())
}

#[cfg(feature = "ssr")]
pub(crate) mod flow {
    use crate::{
        error::ApiError,
        password,
        request::Caller,
        state::AppState,
        users::{identifier::Identifier, session, store as users},
    };
    use axum::http::HeaderValue;

    pub async fn change_password(
        state: &AppState,
        caller: &Caller,
        current: String,
        new: String,
        remove_passkeys: bool,
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
        let proof =
            crate::login::reauth::check_password(state, caller, &user, current, "current").await?;
        let hash = match state.passwords.hash(new).await {
            Ok(hash) => hash,
            Err(busy) => {
                let mut tx = state.db.begin().await?;
                proof.settle(&mut tx).await?;
                tx.commit().await?;
                return Err(busy);
            }
        };
        let app = session::app_of(state, caller).await?;
        let mut tx = state.db.begin().await?;
        // The session and the current password were checked against `user` as read: a
        // recovery since (which replaced both) wins, and this change is refused.
        users::hold(&mut tx, &user).await?;
        proof.settle(&mut tx).await?;
        users::set_password(&mut tx, user.id, &hash).await?;
        crate::tokens::revoke_for_user(&mut tx, user.id, None).await?;
        session::revoke_all(&mut tx, user.id).await?;
        if remove_passkeys {
            crate::passkeys::store::remove_all(&mut tx, user.id).await?;
        }
        // The new session is as strong as the one that changed the password.
        let strong = session::is_strong(state, caller).await?;
        let cookie = session::start(&mut tx, &state.config, caller, user.id, app, strong).await?;
        crate::activity::record(
            &mut tx,
            caller,
            user.id,
            crate::activity::Kind::PasswordChanged,
            None,
        )
        .await?;
        crate::activity::alerts::send(
            &mut tx,
            &state.config,
            caller,
            &user,
            crate::activity::alerts::Alert::PasswordChanged,
        )
        .await?;
        tx.commit().await?;
        Ok(cookie)
    }

    /// Returns the identifier as stored (normalized), which the code went to. A new one
    /// (not the person's current claim of its kind, which they may verify any time) needs a
    /// recent proof of who they are ([`crate::login::reauth::gate`]).
    pub async fn send_identifier_code(
        state: &AppState,
        caller: &Caller,
        input: &str,
        password: Option<String>,
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
        let current =
            [user.email.as_deref(), user.whatsapp.as_deref()].contains(&Some(identifier.as_str()));
        if !current {
            crate::login::reauth::gate(state, caller, super::sign_in_first(), password).await?;
        }
        crate::codes::flow::send_change(state, caller, &user, &identifier).await?;
        Ok(identifier.as_str().to_string())
    }

    /// Signs the person out everywhere ([`super::sign_out_everywhere`]); returns the cookie
    /// that clears this browser's session.
    pub async fn sign_out_everywhere(
        state: &AppState,
        caller: &Caller,
    ) -> Result<HeaderValue, ApiError> {
        let user = session::require_change(state, caller, super::sign_in_first()).await?;
        let mut tx = state.db.begin().await?;
        crate::tokens::revoke_for_user(&mut tx, user.id, None).await?;
        session::revoke_all(&mut tx, user.id).await?;
        session::forget_browsers(&mut tx, user.id).await?;
        crate::activity::record(
            &mut tx,
            caller,
            user.id,
            crate::activity::Kind::SignedOutEverywhere,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(session::clear_cookie(&state.config))
    }
}
