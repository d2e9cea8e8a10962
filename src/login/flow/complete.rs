//! Completing a sign-in: the browser session, the second step when one is due, and the
//! login request's completion that the app collects.

use super::{Done, record};
use crate::login::{
    Completion, LoginStatus,
    requests::{self, LoginRequestRow},
};
use crate::{
    config::Verification,
    error::{ApiError, ErrorCode},
    login::Proof,
    request::Caller,
    state::AppState,
    users::{
        session,
        store::{self as users, UserRow},
    },
};

/// Completes the login request (if any) for `user`, who just proved who they are in this
/// browser (`proof`): starts their session and remembers the browser. A registration also
/// sends a verification code to each identifier (unless verification is off); with
/// verification required, a person without a verified identifier gets codes and a `PENDING`
/// reply, and the request waits until they verify one (then "Continue as" completes it).
///
/// One factor is not enough for a person who has a second one: they get no session yet, but
/// a waiting second step (`login::step`) and a reply that asks for it. Nor for a request
/// that asks for a strong sign-in (`"require": "mfa"`) when the person has no second
/// factor: `MFA_REQUIRED`, after `tx` is committed (what the proof already did stands: a
/// recovery's new password, a counter's place given back).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn finish(
    state: &AppState,
    caller: &Caller,
    mut tx: crate::db::Tx<'_>,
    request: Option<&LoginRequestRow>,
    user: &UserRow,
    outcome: LoginStatus,
    metric: &'static str,
    proof: Proof,
) -> Result<Done, ApiError> {
    // `user` as read when they proved who they are: nothing may start for them if they
    // were signed out everywhere since (a recovery of the account, say).
    users::hold(&mut tx, user).await?;
    if !proof.is_strong() {
        if crate::users::factor::has_factor(&mut tx, user.id).await? {
            let cookie = crate::login::step::begin(
                &mut tx,
                &state.config,
                user.id,
                request.map(|r| r.id),
                proof,
            )
            .await?;
            tx.commit().await?;
            record("second_factor_asked");
            return Ok(Done {
                completion: Completion {
                    status: LoginStatus::Pending,
                    redirect_url: None,
                    verify: Vec::new(),
                    second_factor: true,
                },
                cookies: vec![cookie],
            });
        }
        if request.is_some_and(|r| r.require_mfa) {
            tx.commit().await?;
            record("mfa_required");
            return Err(ApiError::new(ErrorCode::MfaRequired));
        }
    }
    let completion = complete_verified(state, &mut tx, request, user, outcome).await?;
    // How the person proved who they are, for an ID token of this session (RFC 8176).
    let amr = match metric {
        "code" | "recovered" => "otp",
        "passkey" => "hwk",
        // The authenticator app's code after a first factor: two factors.
        "second_factor" => "mfa otp",
        _ => "pwd",
    };
    // A sign-in from a browser that never signed in to this account before: tell the person.
    if proof != Proof::Registration
        && session::trusted_browser(state, caller, user.id)
            .await?
            .is_none()
    {
        crate::activity::alerts::send(
            &mut tx,
            &state.config,
            caller,
            user,
            crate::activity::alerts::Alert::NewBrowser,
        )
        .await?;
    }
    let cookies = vec![
        session::start_by(
            &mut tx,
            &state.config,
            caller,
            user.id,
            request.map(|r| r.client_id),
            Some(amr),
            proof.is_strong(),
        )
        .await?,
        session::remember_browser(&mut tx, &state.config, caller, user.id).await?,
    ];
    crate::activity::record_sign_in(
        &mut tx,
        caller,
        user.id,
        crate::activity::Kind::SignedIn,
        proof.as_str(),
        request.map(|r| r.for_activity()).as_ref(),
    )
    .await?;
    commit(state, tx, metric).await?;
    Ok(Done {
        completion,
        cookies,
    })
}

/// Commits a completion and counts it under `metric` (`fypass_logins_total`); verification
/// codes and alerts written with it are sent now rather than at the courier's next round.
pub(super) async fn commit(
    state: &AppState,
    tx: crate::db::Tx<'_>,
    metric: &'static str,
) -> Result<(), ApiError> {
    tx.commit().await?;
    // Verification codes or an alert may wait in the outbox.
    state.courier.wake();
    record(metric);
    Ok(())
}

/// Completes the login request (if any) for `user`, as far as verification allows.
pub(super) async fn complete_verified(
    state: &AppState,
    tx: &mut crate::db::Tx<'_>,
    request: Option<&LoginRequestRow>,
    user: &UserRow,
    outcome: LoginStatus,
) -> Result<Completion, ApiError> {
    let mode = state.config.verification();
    let must_verify = mode == Verification::Required && !user.has_verified();
    let verify = if must_verify || (outcome == LoginStatus::Registered && mode != Verification::Off)
    {
        crate::onetime::send_verification(tx, user, &state.config.limits).await?
    } else {
        Vec::new()
    };
    if must_verify {
        return Ok(Completion {
            status: LoginStatus::Pending,
            redirect_url: None,
            verify,
            second_factor: false,
        });
    }
    let mut completion = complete(state, tx, request, user, outcome).await?;
    completion.verify = verify;
    Ok(completion)
}

/// Completes the login request (if any) for `user`.
pub(super) async fn complete(
    state: &AppState,
    tx: &mut crate::db::Tx<'_>,
    request: Option<&LoginRequestRow>,
    user: &UserRow,
    outcome: LoginStatus,
) -> Result<Completion, ApiError> {
    let Some(request) = request else {
        return Ok(Completion {
            status: outcome,
            redirect_url: None,
            verify: Vec::new(),
            second_factor: false,
        });
    };
    let device_id = match &request.device() {
        Some(info) => {
            crate::devices::store::save_for_login(tx, request.client_id, user.id, info).await?
        }
        None => None,
    };
    requests::complete(
        tx,
        request.id,
        user.id,
        outcome,
        device_id,
        state.config.login_ttl_secs,
    )
    .await?;
    Ok(Completion {
        status: outcome,
        redirect_url: request.redirect_url.clone(),
        verify: Vec::new(),
        second_factor: false,
    })
}
