//! The rules of codes: sending, recovering a password, signing in, verifying. The server
//! functions (JSON) and the plain-form handlers (`forms`) both call these.

use super::{
    CodeLoginBody, IdentifierKind, RecoveryCompleteBody, SendCodeBody, Sent, Verified, VerifyBody,
    recovery,
};
use crate::{
    courier::outbox,
    db::Tx,
    error::{ApiError, ErrorCode},
    limits::Limits,
    locale::Locale,
    login::{LoginStatus, flow as login},
    onetime::{
        messages, send_in,
        store::{self, For, Purpose},
    },
    password,
    request::Caller,
    state::AppState,
    throttle::{Counter, Rule, network, take},
    users::{
        identifier::Identifier,
        session,
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

/// Whose budget a send or a wrong code spends besides the identifier's own: the caller's
/// network — or, for the owner, their browser (`session::trusted_for`), so that one abuser
/// behind a carrier-grade NAT address cannot lock everyone else behind it out of their own
/// codes (SPEC §13: others' failures never stop a browser that signed in there before).
/// Strangers keep sharing their network's caps.
enum Budget {
    Network(String),
    Browser(String),
    /// A signed-in person typing a code sent for their own account.
    Account(uuid::Uuid),
}

impl Budget {
    fn key(&self) -> String {
        match self {
            Budget::Network(network) => network.clone(),
            Budget::Browser(key) => format!("browser:{key}"),
            Budget::Account(id) => format!("account:{id}"),
        }
    }

    /// The budget of `caller` for codes of `identifier`: their browser's when it is trusted
    /// for the account that has it, verified, else their network's.
    async fn of(
        state: &AppState,
        caller: &Caller,
        identifier: &Identifier,
    ) -> Result<Budget, ApiError> {
        Ok(
            match session::trusted_for(state, caller, identifier).await? {
                Some(key) => Budget::Browser(key),
                None => Budget::Network(network(caller.ip)),
            },
        )
    }
}

/// The counters a send passes: a cooldown and an hourly cap per identifier, and an hourly
/// cap per network (per browser for the owner: [`Budget`]) — the same for identifiers
/// nobody has, so they cannot be told apart.
fn send_counters(identifier: &Identifier, budget: &Budget, limits: &Limits) -> Vec<Counter> {
    const HOUR: Duration = Duration::from_secs(3600);
    vec![
        Counter::new(
            format!("code:network:{}", budget.key()),
            Rule::Cap(limits.code_sends_per_network_hour),
            HOUR,
            crate::tr!(common.throttle.codes_network),
        ),
        Counter::new(
            format!("code:cooldown:{identifier}"),
            Rule::Cap(1),
            Duration::from_secs(limits.code_send_cooldown_secs),
            crate::tr!(common.throttle.code_cooldown),
        ),
        Counter::new(
            format!("code:identifier:{identifier}"),
            Rule::Cap(limits.code_sends_per_identifier_hour),
            HOUR,
            crate::tr!(common.throttle.codes_identifier),
        ),
    ]
}

/// The counter a code check takes a place in: wrong codes from one network (or browser, or
/// signed-in account: [`Budget`]; a correct one gives its place back), whether or not the
/// identifier has an account. Wrong codes an hour from one budget (whatever code or
/// identifier they were for) are capped, so a stranger cannot void many people's codes, or
/// guess at many codes, from one address.
fn wrong_code_counter(budget: &Budget, limits: &Limits) -> Counter {
    Counter::new(
        format!("code:wrong:{}", budget.key()),
        Rule::Cap(limits.wrong_codes_per_network_hour),
        Duration::from_secs(3600),
        crate::tr!(common.throttle.wrong_codes),
    )
}

/// Checks `typed` against the latest code of `purposes` sent to `identifier` for the account
/// `whose` names (`store::check`): a wrong one counts against the caller's [`Budget`].
async fn check_code(
    state: &AppState,
    caller: &Caller,
    purposes: &[Purpose],
    identifier: &Identifier,
    whose: For,
    typed: &str,
) -> Result<store::CodeRow, ApiError> {
    let budget = match whose {
        For::Account(id) => Budget::Account(id),
        For::Holder => Budget::of(state, caller, identifier).await?,
    };
    let attempt = take(
        &state.db,
        &[wrong_code_counter(&budget, &state.config.limits)],
    )
    .await?;
    let checked = store::check(&state.db, purposes, identifier, whose, typed).await;
    if checked.is_ok() {
        attempt.give_back(&state.db).await?;
    } else {
        attempt.keep();
    }
    checked
}

/// Sends a code of `purpose` (recovery or sign-in) to `body.identifier`, if an active account
/// has it. The reply is the same either way, and comes as fast: whether an account has the
/// identifier is looked up, and its code stored, after the reply (`deliver_later`).
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
    let budget = Budget::of(state, caller, &identifier).await?;
    take(
        &state.db,
        &send_counters(&identifier, &budget, &state.config.limits),
    )
    .await?
    .keep();
    deliver_later(state, caller, crate::locale::current(), purpose, identifier);
    Ok(Sent {
        sent: true,
        retry_after: state.config.limits.code_send_cooldown_secs,
    })
}

/// Stores a code of `purpose` for the active account that has `identifier`, if any, and its
/// message (in `locale`), on a task of its own: the reply to the send does not wait for it,
/// so it takes the same time whether or not there is such an account (only the database
/// knows, and nobody sees how long it took). A failure is logged: the person asks again.
fn deliver_later(
    state: &AppState,
    caller: &Caller,
    locale: Locale,
    purpose: Purpose,
    identifier: Identifier,
) {
    let state = state.clone();
    let caller = caller.clone();
    tokio::spawn(async move {
        let stored = async {
            let holder = users::find_by_identifier(&state.db, &identifier)
                .await?
                .filter(|u| users::refusal(u.status()).is_none());
            let Some(user) = holder else {
                return Ok::<_, ApiError>(());
            };
            let mut tx = state.db.begin().await?;
            send_in(&mut tx, locale, purpose, &identifier, &user).await?;
            // Who asked for a code to the person's address is on their activity list.
            crate::activity::store::record_sign_in(
                &mut tx,
                &caller,
                user.id,
                crate::activity::Kind::CodeSent,
                purpose.as_str(),
                None,
            )
            .await?;
            tx.commit().await?;
            state.courier.wake();
            Ok(())
        };
        if let Err(error) = stored.await {
            tracing::warn!(
                purpose = purpose.as_str(),
                code = error.code.as_str(),
                "a code could not be stored"
            );
        }
    });
}

/// Stores a recovery code for `user` and its message to `to`, in `tx` (a "this wasn't me"
/// link starts a recovery: `activity::alerts`).
pub(crate) async fn send_recovery_in(
    tx: &mut Tx<'_>,
    to: &Identifier,
    user: &UserRow,
) -> Result<(), ApiError> {
    send_in(tx, crate::locale::current(), Purpose::Recovery, to, user).await
}

/// `DUPLICATE_KEY` on the `identifier` field, unless no account but `user_id` has it.
async fn refuse_if_held(
    state: &AppState,
    user_id: uuid::Uuid,
    identifier: &Identifier,
) -> Result<(), ApiError> {
    match users::find_by_identifier(&state.db, identifier).await? {
        Some(holder) if holder.id != user_id => {
            let message = match identifier {
                Identifier::Email(_) => crate::tr!(common.field.email_registered),
                Identifier::Whatsapp(_) => crate::tr!(common.field.whatsapp_registered),
            };
            Err(ApiError::new(ErrorCode::DuplicateKey).and_field("identifier", message))
        }
        _ => Ok(()),
    }
}

/// Sends a code to `identifier`, which is to replace `user`'s identifier of its kind once
/// they type the code (`/account`); one another account has is `DUPLICATE_KEY`.
pub async fn send_change(
    state: &AppState,
    caller: &Caller,
    user: &UserRow,
    identifier: &Identifier,
) -> Result<Sent, ApiError> {
    // A signed-in person's sends to new addresses stay on their network's budget: an
    // account is cheap to make, and a budget per account would multiply what one network
    // may send to addresses of its choosing.
    take(
        &state.db,
        &send_counters(
            identifier,
            &Budget::Network(network(caller.ip)),
            &state.config.limits,
        ),
    )
    .await?
    .keep();
    refuse_if_held(state, user.id, identifier).await?;
    let mut tx = state.db.begin().await?;
    let purpose = if user.claims(identifier) {
        Purpose::Verify
    } else {
        Purpose::Change
    };
    send_in(&mut tx, crate::locale::current(), purpose, identifier, user).await?;
    tx.commit().await?;
    state.courier.wake();
    Ok(Sent {
        sent: true,
        retry_after: state.config.limits.code_send_cooldown_secs,
    })
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

/// A new password with a recovery code for the account that has the identifier: what a
/// recovery removes is `codes::recovery`'s rule; this browser is signed in, and the app's
/// login request (if any) completes.
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
    let checked = check_code(
        state,
        caller,
        &[Purpose::Recovery],
        &identifier,
        For::Holder,
        &code,
    )
    .await?;
    let user = owner(state, &checked).await?;
    let hash = state.passwords.hash(body.new_password).await?;
    let mut tx = state.db.begin().await?;
    store::consume(&mut tx, checked.id).await?;
    let user = recovery::reset(&mut tx, &user, &identifier, &hash).await?;
    crate::activity::record(
        &mut tx,
        caller,
        user.id,
        crate::activity::Kind::Recovered,
        request.as_ref().map(|r| r.client_id),
    )
    .await?;
    crate::activity::alerts::send(
        &mut tx,
        &state.config,
        caller,
        &user,
        crate::activity::alerts::Alert::Recovered,
    )
    .await?;
    login::finish(
        state,
        caller,
        tx,
        request.as_ref(),
        &user,
        LoginStatus::LoggedIn,
        "recovered",
        crate::login::Proof::Recovery,
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
    let checked = check_code(
        state,
        caller,
        &[Purpose::SignIn],
        &identifier,
        For::Holder,
        &code,
    )
    .await?;
    let user = owner(state, &checked).await?;
    // Through an identifier never verified, the code proves it as a recovery code would:
    // the account is handed over by the same rule, with a password nobody knows (the person
    // sets one with a recovery code), so whoever registered it first keeps nothing.
    let unknown_password = if user.verified(&identifier) {
        None
    } else {
        let nobodys = crate::secret::issue("").plaintext;
        Some(state.passwords.hash(nobodys).await?)
    };
    let mut tx = state.db.begin().await?;
    store::consume(&mut tx, checked.id).await?;
    let user = match unknown_password {
        Some(hash) => recovery::reset(&mut tx, &user, &identifier, &hash).await?,
        None => user,
    };
    login::finish(
        state,
        caller,
        tx,
        Some(&request),
        &user,
        LoginStatus::LoggedIn,
        "code",
        crate::login::Proof::Code,
    )
    .await
}

/// Verifies an identifier with the code sent to it, for the person signed in in this browser
/// (the account that asked for the code): one the account has, or a new one, to replace its
/// own of that kind or to be its first — then the person is told ([`tell_change`]).
pub async fn verify(
    state: &AppState,
    caller: &Caller,
    body: VerifyBody,
) -> Result<Verified, ApiError> {
    let user =
        session::require_change(state, caller, crate::tr!(account.msg.sign_in_first)).await?;
    let identifier = parse_identifier(state, &body.identifier)?;
    let code = parse_code(&body.code)?;
    let checked = check_code(
        state,
        caller,
        &[Purpose::Verify, Purpose::Change],
        &identifier,
        For::Account(user.id),
        &code,
    )
    .await?;
    let replace = checked.purpose == Purpose::Change.as_str();
    if replace {
        refuse_if_held(state, user.id, &identifier).await?;
    }
    let mut tx = state.db.begin().await?;
    // The session was live when read: an identifier moves on no account whose holder was
    // signed out everywhere since (a recovery that handed the account over, say).
    users::hold(&mut tx, &user).await?;
    store::consume(&mut tx, checked.id).await?;
    // Read in the transaction: the identifier being replaced, as it is now.
    let now = users::find_in(&mut tx, user.id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidCode))?;
    // Whether the code lands a new identifier on the account (in place of its own of that
    // kind, if it had one), and the one it replaces.
    let changed = replace && !now.claims(&identifier);
    let old = now
        .of_kind(&identifier)
        .filter(|_| changed)
        .and_then(|old| Identifier::parse(old, 0).ok());
    // Told first: the alert's link is then made no later than the identifier is verified,
    // and it removes what was verified from its making on (`account::activity`).
    if changed {
        tell_change(&mut tx, state, caller, &now, &identifier, old.as_ref()).await?;
    }
    if !users::verify_identifier(&mut tx, user.id, &identifier, replace).await? {
        // Replaced meanwhile by another change: this code's identifier is not theirs now.
        return Err(ApiError::new(ErrorCode::InvalidCode));
    }
    if changed {
        crate::activity::record(
            &mut tx,
            caller,
            user.id,
            crate::activity::Kind::IdentifierChanged,
            None,
        )
        .await?;
    }
    tx.commit().await?;
    if changed {
        state.courier.wake();
    }
    Ok(Verified {
        verified: match identifier {
            Identifier::Email(_) => IdentifierKind::Email,
            Identifier::Whatsapp(_) => IdentifierKind::Whatsapp,
        },
    })
}

/// Tells the account `before` (as it was) that `new` was verified for it in place of `old`
/// (none: it had no identifier of that kind). A verified old address gets the alert, whose
/// link gives it back to the account (an intruder who replaced it cannot keep it, nor have
/// the recovery code sent to theirs). Otherwise the account gained a way to sign in and to
/// recover it that its verified address (of the other kind) was never asked about: that one
/// gets the alert, with its link — an intruder who added their own number would otherwise
/// keep a way back in unseen. An old one never verified may be a stranger's: it is only told.
async fn tell_change(
    tx: &mut crate::db::Tx<'_>,
    state: &AppState,
    caller: &Caller,
    before: &UserRow,
    new: &Identifier,
    old: Option<&Identifier>,
) -> Result<(), ApiError> {
    use crate::activity::alerts::{self, Alert};
    match old {
        Some(old) if before.verified(old) => {
            alerts::send_to(
                tx,
                &state.config,
                caller,
                before.id,
                Alert::IdentifierChanged,
                old,
            )
            .await
        }
        _ => {
            if let Some(old) = old {
                outbox::enqueue(tx, &messages::changed(crate::locale::current(), old)).await?;
            }
            alerts::send(tx, &state.config, caller, before, Alert::added(new)).await
        }
    }
}
