//! The rules of the second factor: the second step of a sign-in, and setting the factor up
//! or turning it off on `/account`. The server functions and the plain forms call these.

use super::{SecondFactorBody, SecondFactorView, TotpSetup, totp};
use crate::{
    db::now_ms,
    error::{ApiError, ErrorCode},
    login::reauth,
    login::{
        LoginStatus, Proof,
        flow::{self as login, Done},
        requests, step,
        throttle::{self, Attempt},
    },
    request::Caller,
    state::AppState,
    throttle::{network, take},
    users::{
        factor as store, session,
        store::{self as users, UserRow},
    },
};

fn sign_in_first() -> &'static str {
    crate::tr!(account.msg.sign_in_first)
}

fn unix_secs() -> u64 {
    (now_ms() / 1000) as u64
}

/// A code typed at the second step.
enum Typed {
    /// Six digits from the authenticator app.
    App(String),
    /// A recovery code, normalized.
    Recovery(String),
}

fn parse(input: &str) -> Result<Typed, ApiError> {
    if let Some(code) = totp::parse_code(input) {
        return Ok(Typed::App(code));
    }
    store::normalize_recovery_code(input)
        .map(Typed::Recovery)
        .ok_or_else(|| ApiError::invalid("code", crate::tr!(factors.msg.code_format)))
}

/// The second step: the code of this browser's waiting sign-in (its cookie), counted like a
/// password; a right one signs the browser in and completes the login request, exactly as
/// a passkey would have.
pub(crate) async fn second_step(
    state: &AppState,
    caller: &Caller,
    body: SecondFactorBody,
) -> Result<Done, ApiError> {
    session::check_origin(caller, &state.config)?;
    let waiting = step::current(&state.db, &state.config, caller)
        .await?
        .ok_or_else(|| {
            ApiError::with_message(
                ErrorCode::Unauthorized,
                crate::tr!(factors.msg.sign_in_again),
            )
        })?;
    // A reqToken named must be the request the first factor was for.
    if let Some(token) = body.req_token.as_deref().filter(|t| !t.is_empty()) {
        let named = requests::find(&state.db, token).await?.map(|r| r.id);
        if named.is_none() || named != waiting.request_id {
            return Err(ApiError::new(ErrorCode::FailedUpdateUserToken));
        }
    }
    let request = match waiting.request_id {
        Some(id) => Some(login::open_for_id(state, caller, id).await?),
        None => None,
    };
    let typed = parse(&body.code)?;
    let user = users::find(&state.db, waiting.user_id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized))?;
    if let Some(code) = users::refusal(user.status()) {
        return Err(ApiError::new(code));
    }
    // Everything of theirs was ended since the first factor was proven (a new password, a
    // recovery, "sign out everywhere", "this wasn't me"): that proof ended with it. A later
    // ending is `login::flow::finish`'s (`users::hold` of `user` as read here).
    if user
        .revoked_before
        .is_some_and(|ended| ended >= waiting.created_at)
    {
        return Err(ApiError::with_message(
            ErrorCode::Unauthorized,
            crate::tr!(factors.msg.sign_in_again),
        ));
    }

    // Counted as a password is: per account and network, the owner's browser apart.
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
    let attempt = take(&state.db, &counters).await.inspect_err(|e| {
        if e.is(ErrorCode::TooManyRequests) {
            login::record("throttled");
        }
    })?;

    let factor = store::factor(&state.db, user.id)
        .await?
        .filter(|f| f.confirmed);
    let mut tx = state.db.begin().await?;
    let right = match &typed {
        Typed::App(code) => {
            match factor.and_then(|f| totp::matching_step(&f.secret, code, unix_secs())) {
                // A code of a step already used (or of an earlier one) is a replay.
                Some(at) => store::spend_step(&mut tx, user.id, at).await?,
                None => false,
            }
        }
        Typed::Recovery(code) => store::spend_recovery_code(&mut tx, user.id, code).await?,
    };
    if !right {
        step::fail(&mut tx, waiting.id).await?;
        crate::activity::record(
            &mut tx,
            caller,
            user.id,
            crate::activity::Kind::SecondFactorFailed,
            request.as_ref().map(|r| r.client_id),
        )
        .await?;
        tx.commit().await?;
        attempt.keep();
        login::record("invalid_second_factor");
        return Err(ApiError::new(ErrorCode::InvalidCode)
            .and_field("code", crate::tr!(factors.msg.wrong_code)));
    }
    if !step::spend(&mut tx, waiting.id).await? {
        return Err(ApiError::with_message(
            ErrorCode::Unauthorized,
            crate::tr!(factors.msg.sign_in_again),
        ));
    }
    attempt.refund(&mut tx).await?;
    if matches!(typed, Typed::Recovery(_)) {
        crate::activity::record(
            &mut tx,
            caller,
            user.id,
            crate::activity::Kind::RecoveryCodeUsed,
            request.as_ref().map(|r| r.client_id),
        )
        .await?;
    }
    let mut done = login::finish(
        state,
        caller,
        tx,
        request.as_ref(),
        &user,
        LoginStatus::LoggedIn,
        "second_factor",
        Proof::SecondFactor,
    )
    .await?;
    done.cookies.push(step::clear(&state.config));
    Ok(done)
}

/// The label an authenticator app shows for the account: its email address, else number.
fn label(user: &UserRow) -> String {
    user.email
        .clone()
        .or_else(|| user.whatsapp.clone())
        .unwrap_or_else(|| user.name.clone())
}

/// Starts setting up an authenticator app: a new secret (replacing a setup under way).
pub async fn start(
    state: &AppState,
    caller: &Caller,
    password: Option<String>,
) -> Result<TotpSetup, ApiError> {
    let user = reauth::gate(state, caller, sign_in_first(), password).await?;
    let secret = totp::new_secret();
    if !store::begin_setup(&state.db, user.id, &secret).await? {
        return Err(ApiError::invalid(
            "code",
            crate::tr!(factors.msg.already_on),
        ));
    }
    Ok(totp::setup(&secret, &label(&user)))
}

/// Turns on the app being set up, with a code from it: ten new recovery codes, shown once.
/// This browser's session counts as two factors from now on, and every other browser
/// session of the person ends (each was proven with one factor: one left signed in on a
/// shared computer, or a thief's, would otherwise outlive the change). Apps' tokens stay:
/// `/account/activity` lists them, and ends them one by one.
pub async fn confirm(
    state: &AppState,
    caller: &Caller,
    code: &str,
    password: Option<String>,
) -> Result<Vec<String>, ApiError> {
    let user = reauth::gate(state, caller, sign_in_first(), password).await?;
    let code = totp::parse_code(code)
        .ok_or_else(|| ApiError::invalid("code", crate::tr!(factors.msg.six_digits)))?;
    let setup = store::factor(&state.db, user.id)
        .await?
        .filter(|f| !f.confirmed)
        .ok_or_else(|| ApiError::invalid("code", crate::tr!(factors.msg.start_again)))?;
    let at = totp::matching_step(&setup.secret, &code, unix_secs()).ok_or_else(|| {
        ApiError::new(ErrorCode::InvalidCode).and_field("code", crate::tr!(factors.msg.not_now))
    })?;
    let mut tx = state.db.begin().await?;
    // The person's row held: a sign-in finishing meanwhile either started its session
    // before (and it ends below) or sees the factor on and asks for it.
    users::hold(&mut tx, &user).await?;
    // The alert first: its "this wasn't me" link is then made no later than the app is on,
    // and it removes what was set up from its making on (`account::activity`).
    let alert = crate::activity::alerts::Alert::FactorChanged;
    crate::activity::alerts::send(&mut tx, &state.config, caller, &user, alert).await?;
    if !store::confirm(&mut tx, user.id, &setup.secret, at).await? {
        return Err(ApiError::invalid(
            "code",
            crate::tr!(factors.msg.start_again),
        ));
    }
    let codes = store::new_recovery_codes(&mut tx, user.id).await?;
    session::mark_strong(&mut tx, &state.config, caller).await?;
    let ended = session::revoke_others(&mut tx, &state.config, caller, user.id).await?;
    let added = crate::activity::Kind::FactorAdded;
    if ended > 0 {
        crate::activity::record_with(&mut tx, caller, user.id, added, "others_signed_out").await?;
    } else {
        crate::activity::record(&mut tx, caller, user.id, added, None).await?;
    }
    tx.commit().await?;
    state.courier.wake();
    Ok(codes)
}

/// Ten new recovery codes, shown once, in place of the old ones, which stop working at once
/// (the person used some, or fears someone saw them); the factor stays on. Needs the same
/// recent proof as turning it off, and the person is told as of any change to the factor.
pub async fn renew_codes(
    state: &AppState,
    caller: &Caller,
    password: Option<String>,
) -> Result<Vec<String>, ApiError> {
    let user = reauth::gate(state, caller, sign_in_first(), password).await?;
    let mut tx = state.db.begin().await?;
    users::hold(&mut tx, &user).await?;
    if !store::hold_on(&mut tx, user.id).await? {
        return Err(ApiError::with_message(
            ErrorCode::ValidationError,
            crate::tr!(factors.msg.not_on),
        ));
    }
    let alert = crate::activity::alerts::Alert::FactorChanged;
    crate::activity::alerts::send(&mut tx, &state.config, caller, &user, alert).await?;
    let codes = store::new_recovery_codes(&mut tx, user.id).await?;
    crate::activity::record(
        &mut tx,
        caller,
        user.id,
        crate::activity::Kind::RecoveryCodesRenewed,
        None,
    )
    .await?;
    tx.commit().await?;
    state.courier.wake();
    Ok(codes)
}

/// Turns the second factor off: the app and the recovery codes are removed.
pub async fn remove(
    state: &AppState,
    caller: &Caller,
    password: Option<String>,
) -> Result<(), ApiError> {
    let user = reauth::gate(state, caller, sign_in_first(), password).await?;
    let mut tx = state.db.begin().await?;
    if store::remove(&mut tx, user.id).await? {
        crate::activity::record(
            &mut tx,
            caller,
            user.id,
            crate::activity::Kind::FactorRemoved,
            None,
        )
        .await?;
        let alert = crate::activity::alerts::Alert::FactorChanged;
        crate::activity::alerts::send(&mut tx, &state.config, caller, &user, alert).await?;
    }
    tx.commit().await?;
    state.courier.wake();
    Ok(())
}

/// The second factor as `/account` shows it to `user` in this browser: a setup under way
/// only while the person's last proof of who they are is recent (whoever merely holds the
/// session does not see the secret).
pub async fn view(
    state: &AppState,
    caller: &Caller,
    user: &UserRow,
) -> Result<SecondFactorView, ApiError> {
    let Some(factor) = store::factor(&state.db, user.id).await? else {
        return Ok(SecondFactorView::default());
    };
    if factor.confirmed {
        return Ok(SecondFactorView {
            on: true,
            recovery_codes_left: store::recovery_codes_left(&state.db, user.id).await?,
            setup: None,
        });
    }
    let window_ms = crate::users::REAUTH_WINDOW_SECS as i64 * 1000;
    let recent =
        now_ms() - factor.created_at < window_ms && session::proven_recently(state, caller).await?;
    Ok(SecondFactorView {
        on: false,
        recovery_codes_left: 0,
        setup: recent.then(|| totp::setup(&factor.secret, &label(user))),
    })
}
