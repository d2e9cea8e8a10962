//! What the person does on the hosted pages with a password: sign in, register, and
//! "Continue as" when this browser is already signed in.

use super::app::open_for;
use super::complete::{commit, complete_verified, finish};
use super::{Done, record};
use crate::login::{Completion, LoginBody, LoginStatus, MAX_NAME_CHARS, RegisterBody, throttle};
use crate::{
    devices::check_text,
    error::{ApiError, ErrorCode},
    login::Proof,
    password,
    request::Caller,
    state::AppState,
    throttle::{network, take},
    users::{
        identifier::{Email, Identifier, WhatsappNumber},
        session,
        store::{self as users, NewUser, UserRow},
    },
};

/// The account if `password` is its password: one check (or one against a dummy hash when
/// there is no account, so an unknown identifier costs the same).
pub(super) async fn check_password(
    state: &AppState,
    account: Option<&UserRow>,
    password: String,
) -> Result<Option<UserRow>, ApiError> {
    let hash = account.map(|u| u.password_hash.clone());
    let right = state.passwords.verify(password, hash).await?;
    Ok(account.filter(|_| right).cloned())
}

/// The hosted login: reqToken, then input, then the brute-force budget, then the person
/// and their password, then their status (the order `/docs/api` gives for this route).
pub async fn login(state: &AppState, caller: &Caller, body: LoginBody) -> Result<Done, ApiError> {
    session::check_origin(caller, &state.config)?;
    let request = match body.req_token.as_deref() {
        Some(token) => Some(open_for(state, caller, token).await?),
        None => None,
    };
    let identifier = Identifier::parse(&body.identifier, state.config.default_country_code)
        .map_err(|m| ApiError::invalid("identifier", m))?;
    if body.password.is_empty() {
        return Err(ApiError::invalid(
            "password",
            crate::tr!(common.field.required),
        ));
    }
    if body.password.chars().count() > password::MAX_CHARS {
        return Err(ApiError::invalid(
            "password",
            crate::tr!(common.field.at_most_chars, n = password::MAX_CHARS),
        ));
    }

    // The one account that has the identifier (verified or not).
    let holder = users::find_by_identifier(&state.db, &identifier).await?;
    // One counter per person, whichever of their identifiers was typed.
    let (account, trusted) = match &holder {
        Some(one) => (
            format!("user:{}", one.id),
            session::trusted_browser(state, caller, one.id).await?,
        ),
        None => (format!("identifier:{identifier}"), None),
    };
    let network = network(caller.ip);
    let counters = throttle::sign_in(
        &throttle::Attempt {
            account: &account,
            network: &network,
            trusted_browser: trusted.as_deref(),
        },
        &state.config.limits,
    );
    let attempt = take(&state.db, &counters).await.inspect_err(|e| {
        if e.is(ErrorCode::TooManyRequests) {
            record("throttled");
        }
    })?;
    let user = match check_password(state, holder.as_ref(), body.password).await {
        Ok(user) => user,
        Err(busy) => {
            // Refused before any evaluation: the attempt must not count.
            attempt.give_back(&state.db).await?;
            return Err(busy);
        }
    };
    let user = match user {
        Some(user) => user,
        None if holder.is_none() => {
            record("user_not_found");
            return Err(if state.config.hide_user_existence {
                ApiError::new(ErrorCode::InvalidPassword)
            } else {
                ApiError::new(ErrorCode::UserNotFound)
            });
        }
        None => {
            record("invalid_password");
            if let Some(holder) = &holder {
                crate::activity::store::record_alone(
                    &state.db,
                    caller,
                    holder.id,
                    crate::activity::Kind::SignInFailed,
                    "password",
                    request.as_ref().map(|r| r.for_activity()).as_ref(),
                )
                .await?;
            }
            return Err(ApiError::new(ErrorCode::InvalidPassword));
        }
    };
    // The right password is not a guess: give the attempt back before anything else.
    let mut tx = state.db.begin().await?;
    attempt.refund(&mut tx).await?;
    if let Some(code) = users::refusal(user.status()) {
        tx.commit().await?;
        record("user_not_active");
        return Err(ApiError::new(code));
    }
    finish(
        state,
        caller,
        tx,
        request.as_ref(),
        &user,
        LoginStatus::LoggedIn,
        "logged_in",
        Proof::Password,
    )
    .await
}

/// The hosted registration: reqToken, then every field checked at once, then the
/// registration budget, then whether the email address or number is taken (after the
/// budget, so one network cannot test any number of addresses for accounts), then the
/// account.
pub async fn register(
    state: &AppState,
    caller: &Caller,
    body: RegisterBody,
) -> Result<Done, ApiError> {
    session::check_origin(caller, &state.config)?;
    let request = match body.req_token.as_deref() {
        Some(token) => Some(open_for(state, caller, token).await?),
        None => None,
    };
    let present = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let (email, whatsapp) = (present(&body.email), present(&body.whatsapp));
    let mut invalid: Vec<(&str, String)> = Vec::new();
    let name = body.name.trim();
    if let Err(m) = check_text(name, MAX_NAME_CHARS) {
        invalid.push((
            "name",
            if name.is_empty() {
                "is required".into()
            } else {
                m
            },
        ));
    }
    let email = email
        .map(|e| Email::parse(&e))
        .transpose()
        .unwrap_or_else(|m| {
            invalid.push(("email", m));
            None
        });
    let whatsapp = whatsapp
        .map(|w| WhatsappNumber::parse(&w, state.config.default_country_code))
        .transpose()
        .unwrap_or_else(|m| {
            invalid.push(("whatsapp", m));
            None
        });
    if present(&body.email).is_none() && present(&body.whatsapp).is_none() {
        invalid.push(("email", "give an email address or a WhatsApp number".into()));
        invalid.push((
            "whatsapp",
            "give a WhatsApp number or an email address".into(),
        ));
    }
    if let Err(m) = password::check_new(&body.password) {
        invalid.push(("password", m));
    }
    ApiError::check_fields(invalid)?;
    let new = NewUser {
        name,
        email: email.as_ref().map(Email::as_str),
        whatsapp: whatsapp.as_ref().map(WhatsappNumber::as_str),
        password_hash: "",
    };
    let identifiers: Vec<&str> = [new.email, new.whatsapp].into_iter().flatten().collect();
    let counters = throttle::registration(
        &network(caller.ip),
        state.config.registrations_per_hour,
        &state.config.limits,
        &identifiers,
    );
    // A refused attempt keeps its place: asking whether an address is taken is what the
    // budget is for.
    let attempt = take(&state.db, &counters).await?;
    // Taken identifiers are refused before any hashing (the insert checks again).
    users::check_free(&state.db, &new).await?;
    // Hash before the transaction: it is slow, and the transaction holds the write lock.
    let password_hash = match state.passwords.hash(body.password).await {
        Ok(hash) => hash,
        Err(busy) => {
            attempt.give_back(&state.db).await?;
            return Err(busy);
        }
    };
    let mut tx = state.db.begin().await?;
    let user = users::insert(
        &mut tx,
        NewUser {
            password_hash: &password_hash,
            ..new
        },
    )
    .await?;
    finish(
        state,
        caller,
        tx,
        request.as_ref(),
        &user,
        LoginStatus::Registered,
        "registered",
        Proof::Registration,
    )
    .await
}

/// "Continue as …": completes the request as the person signed in in this browser.
pub async fn continue_as(
    state: &AppState,
    caller: &Caller,
    token: &str,
) -> Result<Completion, ApiError> {
    let user = session::require_change(
        state,
        caller,
        "Sign in first: this browser has no fypass session.",
    )
    .await?;
    let request = open_for(state, caller, token).await?;
    if request.require_mfa && !session::is_strong(state, caller).await? {
        return Err(ApiError::new(ErrorCode::MfaRequired));
    }
    let mut tx = state.db.begin().await?;
    // The session was live when read; not if it was ended since with everything else.
    users::hold(&mut tx, &user).await?;
    let completion =
        complete_verified(state, &mut tx, Some(&request), &user, LoginStatus::LoggedIn).await?;
    commit(state, tx, "continued").await?;
    Ok(completion)
}
