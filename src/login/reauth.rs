//! Re-authentication. A change that would let whoever holds a session keep the account —
//! a new email address or WhatsApp number, a new passkey (and a second factor, later) —
//! needs the person to have proved who they are **in this browser session** within the last
//! [`REAUTH_WINDOW_SECS`](crate::users::REAUTH_WINDOW_SECS): a sign-in, their password typed again,
//! or one of their passkeys used. A session cookie alone (left signed in on a shared
//! computer, or stolen) is not enough.
//!
//! [`gate`] is the one check every such change calls (it sits here, below the passkeys and
//! `/account`, because adding a passkey calls it); `account::reauth::reauthenticate`
//! records a proof (`POST /api/v1/account/reauthenticate`, with a password or a passkey);
//! [`check_password`] is the password check of `/account`, which counts wrong passwords
//! exactly as the sign-in form does ([`throttle`]): a stolen session is no way around the
//! sign-in limits.

use super::throttle::{self, Attempt};
use crate::{
    error::{ApiError, ErrorCode},
    password,
    request::Caller,
    state::AppState,
    throttle::{Taken, network, take},
    users::{session, store::UserRow},
};

/// The guard of a change that needs a recent proof: the person signed in in this browser
/// (as `session::require_change`, saying `message` without a session), if they proved who
/// they are here within the window — or do it now with `password`. Otherwise
/// `REAUTHENTICATION_REQUIRED`, and the page asks for the password or a passkey.
pub async fn gate(
    state: &AppState,
    caller: &Caller,
    message: &str,
    password: Option<String>,
) -> Result<UserRow, ApiError> {
    let user = session::require_change(state, caller, message).await?;
    if let Some(password) = password.filter(|p| !p.is_empty()) {
        prove_with_password(state, caller, &user, password).await?;
        return Ok(user);
    }
    if session::proven_recently(state, caller).await? {
        Ok(user)
    } else {
        Err(ApiError::new(ErrorCode::ReauthenticationRequired))
    }
}

/// Checks `password` ([`check_password`]) and records the proof for this browser's session.
pub(crate) async fn prove_with_password(
    state: &AppState,
    caller: &Caller,
    user: &UserRow,
    password: String,
) -> Result<(), ApiError> {
    let proof = check_password(state, caller, user, password, "password").await?;
    let mut tx = state.db.begin().await?;
    proof.settle(&mut tx).await?;
    session::mark_reauthenticated(&mut tx, &state.config, caller).await?;
    tx.commit().await
}

/// A password that was right: its place in the sign-in counters is given back when the
/// change it allowed is written ([`Proof::settle`]), as a correct sign-in gives its back.
#[must_use = "a proof's counter places are given back in the transaction it allows"]
pub struct Proof(Taken);

impl Proof {
    pub async fn settle(self, tx: &mut crate::db::Tx<'_>) -> Result<(), ApiError> {
        self.0.refund(tx).await
    }
}

/// Checks that `password` (the form's `field`) is `user`'s, counting a wrong one as a failed
/// sign-in from this browser would count: `TOO_MANY_REQUESTS` past the limits, before any
/// hashing; `INVALID_PASSWORD` when wrong.
pub async fn check_password(
    state: &AppState,
    caller: &Caller,
    user: &UserRow,
    password: String,
    field: &str,
) -> Result<Proof, ApiError> {
    if password.chars().count() > password::MAX_CHARS {
        return Err(ApiError::invalid(
            field,
            crate::tr!(common.field.at_most_chars, n = password::MAX_CHARS),
        ));
    }
    let account = format!("user:{}", user.id);
    let network = network(caller.ip);
    let trusted = session::trusted_browser(state, caller, user.id).await?;
    let counters = throttle::sign_in(
        &Attempt {
            account: &account,
            network: &network,
            trusted_browser: trusted.as_deref(),
        },
        &state.config.limits,
    );
    let attempt = take(&state.db, &counters).await?;
    match state
        .passwords
        .verify(password, Some(user.password_hash.clone()))
        .await
    {
        Ok(true) => Ok(Proof(attempt)),
        Ok(false) => {
            attempt.keep();
            Err(ApiError::new(ErrorCode::InvalidPassword)
                .and_field(field, crate::tr!(account.msg.not_current)))
        }
        Err(busy) => {
            // Refused before any evaluation: the attempt must not count.
            attempt.give_back(&state.db).await?;
            Err(busy)
        }
    }
}
