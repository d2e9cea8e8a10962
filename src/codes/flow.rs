//! The rules of codes: sending, recovering a password, signing in, verifying. The server
//! functions (JSON) and the plain-form handlers (`forms`) both call these.

use super::{
    CodeLoginBody, IdentifierKind, RecoveryCompleteBody, SEND_COOLDOWN_SECS,
    SENDS_PER_IDENTIFIER_HOUR, SENDS_PER_NETWORK_HOUR, SendCodeBody, Sent, Verified, VerifyBody,
    messages,
    store::{self, Purpose},
};
use crate::{
    courier::outbox,
    db::Tx,
    error::{ApiError, ErrorCode},
    login::{LoginStatus, flow as login},
    request::Caller,
    server::AppState,
    throttle::{Counter, Rule, network, take},
    users::{
        identifier::Identifier,
        password, session,
        store::{self as users, UserRow},
    },
};
use std::time::Duration;

fn parse_identifier(state: &AppState, input: &str) -> Result<Identifier, ApiError> {
    Identifier::parse(input, state.config.default_country_code)
        .map_err(|m| ApiError::invalid("identifier", m))
}

/// A code as typed: six digits (spaces and dashes people add are dropped).
fn parse_code(input: &str) -> Result<String, ApiError> {
    let code: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if code.len() == super::CODE_DIGITS && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(code)
    } else {
        Err(ApiError::invalid(
            "code",
            crate::tr!(codes.msg.digits, n = super::CODE_DIGITS),
        ))
    }
}

/// The counters a send passes: a cooldown and an hourly cap per identifier, and an hourly
/// cap per network — the same for identifiers nobody has, so they cannot be told apart.
fn send_counters(identifier: &Identifier, network: &str) -> Vec<Counter> {
    const HOUR: Duration = Duration::from_secs(3600);
    vec![
        Counter::new(
            format!("code:network:{network}"),
            Rule::Cap(SENDS_PER_NETWORK_HOUR),
            HOUR,
            crate::tr!(common.throttle.codes_network),
        ),
        Counter::new(
            format!("code:cooldown:{identifier}"),
            Rule::Cap(1),
            Duration::from_secs(SEND_COOLDOWN_SECS),
            crate::tr!(common.throttle.code_cooldown),
        ),
        Counter::new(
            format!("code:identifier:{identifier}"),
            Rule::Cap(SENDS_PER_IDENTIFIER_HOUR),
            HOUR,
            crate::tr!(common.throttle.codes_identifier),
        ),
    ]
}

/// Sends a code of `purpose` (recovery or sign-in) to `body.identifier`, if an active account
/// has it; the reply is the same either way.
pub async fn send(
    state: &AppState,
    caller: &Caller,
    purpose: Purpose,
    body: &SendCodeBody,
) -> Result<Sent, ApiError> {
    session::check_origin(caller, &state.config)?;
    match (&body.req_token, purpose) {
        (Some(token), _) => drop(login::open_for(state, caller, token).await?),
        (None, Purpose::SignIn) => {
            return Err(ApiError::invalid(
                "reqToken",
                crate::tr!(common.field.required),
            ));
        }
        (None, _) => {}
    }
    let identifier = parse_identifier(state, &body.identifier)?;
    take(&state.db, &send_counters(&identifier, &network(caller.ip)))
        .await?
        .keep();
    // The verified owner, or else the newest claim (the likeliest to be its real owner: an
    // impostor has to register first to block them).
    let owner = users::claimants(&state.db, &identifier)
        .await?
        .into_iter()
        .next()
        .filter(|u| users::refusal(u.status()).is_none());
    if let Some(user) = owner {
        let mut tx = state.db.begin().await?;
        send_in(&mut tx, purpose, &identifier, &user).await?;
        tx.commit().await?;
        state.courier.wake();
    }
    Ok(Sent {
        sent: true,
        retry_after: SEND_COOLDOWN_SECS,
    })
}

/// Stores a code of `purpose` for `user` and its message to `to`, in `tx`.
async fn send_in(
    tx: &mut Tx,
    purpose: Purpose,
    to: &Identifier,
    user: &UserRow,
) -> Result<(), ApiError> {
    let code = store::create(tx, purpose, to.as_str(), user.id).await?;
    outbox::enqueue(tx, &messages::message(purpose, to, &code)).await?;
    Ok(())
}

/// Sends a verification code to each of `user`'s unverified identifiers (at most one per
/// cooldown), in `tx`; returns those a code went to, or was sent to a moment ago.
pub async fn send_verification(tx: &mut Tx, user: &UserRow) -> Result<Vec<String>, ApiError> {
    let mut to = Vec::new();
    let claims = [
        (user.email.as_deref(), user.email_verified_at),
        (user.whatsapp.as_deref(), user.whatsapp_verified_at),
    ];
    for (value, verified) in claims {
        let (Some(value), None) = (value, verified) else {
            continue;
        };
        // Stored identifiers are normalized already (a WhatsApp number in E.164).
        let Ok(identifier) = Identifier::parse(value, 0) else {
            continue;
        };
        let cooldown = SEND_COOLDOWN_SECS as i64 * 1000;
        if !store::sent_within(tx, Purpose::Verify, value, user.id, cooldown).await? {
            send_in(tx, Purpose::Verify, &identifier, user).await?;
        }
        to.push(value.to_string());
    }
    Ok(to)
}

/// Sends a code to `identifier`, which is to replace `user`'s identifier of its kind once
/// they type the code (`/account`).
pub async fn send_change(
    state: &AppState,
    caller: &Caller,
    user: &UserRow,
    identifier: &Identifier,
) -> Result<Sent, ApiError> {
    take(&state.db, &send_counters(identifier, &network(caller.ip)))
        .await?
        .keep();
    let kind = match identifier {
        Identifier::Email(_) => "email",
        Identifier::Whatsapp(_) => "whatsapp",
    };
    let taken = users::claimants(&state.db, identifier)
        .await?
        .into_iter()
        .any(|u| u.id != user.id && u.verified(identifier));
    if taken {
        return Err(ApiError::new(ErrorCode::DuplicateKey)
            .and_field(kind, crate::tr!(codes.msg.verified_elsewhere)));
    }
    let mut tx = state.db.begin().await?;
    let purpose = if user.verified(identifier) || claims(user, identifier) {
        Purpose::Verify
    } else {
        Purpose::Change
    };
    send_in(&mut tx, purpose, identifier, user).await?;
    tx.commit().await?;
    state.courier.wake();
    Ok(Sent {
        sent: true,
        retry_after: SEND_COOLDOWN_SECS,
    })
}

/// Whether `identifier` is `user`'s current claim of its kind.
fn claims(user: &UserRow, identifier: &Identifier) -> bool {
    let current = match identifier {
        Identifier::Email(_) => user.email.as_deref(),
        Identifier::Whatsapp(_) => user.whatsapp.as_deref(),
    };
    current == Some(identifier.as_str())
}

/// `user` after `identifier` was verified for them (as `users::verify_identifier` stored it).
fn with_verified(mut user: UserRow, identifier: &Identifier) -> UserRow {
    let now = crate::db::now_ms();
    match identifier {
        Identifier::Email(e) => {
            user.email = Some(e.as_str().to_string());
            user.email_verified_at.get_or_insert(now);
        }
        Identifier::Whatsapp(w) => {
            user.whatsapp = Some(w.as_str().to_string());
            user.whatsapp_verified_at.get_or_insert(now);
        }
    }
    user
}

/// The active account a checked code belongs to: its status code when not active.
async fn owner(state: &AppState, code: &store::CodeRow) -> Result<UserRow, ApiError> {
    let user = users::find(&state.db, code.user_id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidCode))?;
    match users::refusal(user.status()) {
        Some(refused) => Err(ApiError::new(refused)),
        None => Ok(user),
    }
}

/// A new password with a recovery code: every session and token of the person is revoked,
/// this browser is signed in, and the app's login request (if any) completes.
pub async fn complete_recovery(
    state: &AppState,
    caller: &Caller,
    body: RecoveryCompleteBody,
) -> Result<login::Done, ApiError> {
    session::check_origin(caller, &state.config)?;
    let request = match body.req_token.as_deref() {
        Some(token) => Some(login::open_for(state, caller, token).await?),
        None => None,
    };
    let identifier = parse_identifier(state, &body.identifier);
    let code = parse_code(&body.code);
    let new_password = password::check_new(&body.new_password);
    let problems = [
        (
            "identifier",
            identifier
                .as_ref()
                .err()
                .map(|e| e.details[0].message.clone()),
        ),
        (
            "code",
            code.as_ref().err().map(|e| e.details[0].message.clone()),
        ),
        ("newPassword", new_password.err()),
    ];
    ApiError::check_fields(problems.into_iter().filter_map(|(f, m)| Some((f, m?))))?;
    let (identifier, code) = (identifier?, code?);
    let checked = store::check(&state.db, &[Purpose::Recovery], identifier.as_str(), &code).await?;
    let user = owner(state, &checked).await?;
    let hash = state.passwords.hash(body.new_password).await?;
    let mut tx = state.db.begin().await?;
    store::consume(&mut tx, checked.id).await?;
    users::set_password(&mut tx, user.id, &hash).await?;
    // Receiving the code proves the identifier.
    users::verify_identifier(&mut tx, user.id, &identifier, false).await?;
    crate::tokens::revoke_for_user(&mut tx, user.id, None).await?;
    session::revoke_all(&mut tx, user.id).await?;
    let user = with_verified(user, &identifier);
    login::finish(
        state,
        caller,
        tx,
        request.as_ref(),
        &user,
        LoginStatus::LoggedIn,
        "recovered",
    )
    .await
}

/// Signs in with a code, completing the app's login request.
pub async fn code_login(
    state: &AppState,
    caller: &Caller,
    body: CodeLoginBody,
) -> Result<login::Done, ApiError> {
    session::check_origin(caller, &state.config)?;
    let request = login::open_for(state, caller, &body.req_token).await?;
    let identifier = parse_identifier(state, &body.identifier)?;
    let code = parse_code(&body.code)?;
    let checked = store::check(&state.db, &[Purpose::SignIn], identifier.as_str(), &code).await?;
    let user = owner(state, &checked).await?;
    let mut tx = state.db.begin().await?;
    store::consume(&mut tx, checked.id).await?;
    users::verify_identifier(&mut tx, user.id, &identifier, false).await?;
    let user = with_verified(user, &identifier);
    login::finish(
        state,
        caller,
        tx,
        Some(&request),
        &user,
        LoginStatus::LoggedIn,
        "code",
    )
    .await
}

/// Verifies an identifier with the code sent to it (for one the account has, or for one
/// that is to replace it).
pub async fn verify(
    state: &AppState,
    caller: &Caller,
    body: VerifyBody,
) -> Result<Verified, ApiError> {
    session::check_origin(caller, &state.config)?;
    let identifier = parse_identifier(state, &body.identifier)?;
    let code = parse_code(&body.code)?;
    let checked = store::check(
        &state.db,
        &[Purpose::Verify, Purpose::Change],
        identifier.as_str(),
        &code,
    )
    .await?;
    let user = owner(state, &checked).await?;
    let mut tx = state.db.begin().await?;
    store::consume(&mut tx, checked.id).await?;
    let replace = checked.purpose == Purpose::Change.as_str();
    users::verify_identifier(&mut tx, user.id, &identifier, replace).await?;
    tx.commit().await?;
    Ok(Verified {
        verified: match identifier {
            Identifier::Email(_) => IdentifierKind::Email,
            Identifier::Whatsapp(_) => IdentifierKind::Whatsapp,
        },
    })
}
